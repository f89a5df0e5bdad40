//! A small, bounded XML tree reader for SOAP messages, shared by the
//! clients that speak SOAP and by the simulators of their services.
//!
//! Namespaces are resolved to URIs (compare with [`XmlElement::is`], never
//! by prefix); DOCTYPEs are refused, so there are no DTDs and no entity
//! definitions; only the five predefined entities and character references
//! are expanded; depth and element count are bounded. Text is kept as sent
//! (not trimmed).
//!
//! ```
//! use smartid_core::internal::xml;
//!
//! let root = xml::parse(br#"<s:Envelope xmlns:s="urn:e"><s:Body>a &amp; b</s:Body></s:Envelope>"#)?;
//! assert!(root.is("urn:e", "Envelope"));
//! assert_eq!(root.child_text("urn:e", "Body").as_deref(), Some("a & b"));
//! # Ok::<(), smartid_core::internal::xml::XmlError>(())
//! ```

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// Deepest nesting accepted (a SOAP message needs well under 10).
pub const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 100_000;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError(String);

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for XmlError {}

impl From<String> for XmlError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<&str> for XmlError {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

impl From<XmlError> for String {
    fn from(e: XmlError) -> Self {
        e.0
    }
}

/// An element: namespace URI, local name, text content (concatenated, not
/// trimmed) and child elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct XmlElement {
    /// The namespace URI, `None` for an element in no namespace.
    pub ns: Option<String>,
    /// The local name.
    pub name: String,
    /// The text content, concatenated, entities resolved, not trimmed.
    pub text: String,
    /// The child elements in document order.
    pub children: Vec<XmlElement>,
}

impl XmlElement {
    /// Whether this element is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.name == name && self.ns.as_deref() == Some(ns)
    }

    /// The first child `{ns}name` or unqualified `name` (children of JAX-WS
    /// operations are often unqualified).
    pub fn child(&self, ns: &str, name: &str) -> Option<&XmlElement> {
        self.children
            .iter()
            .find(|c| c.name == name && (c.ns.is_none() || c.ns.as_deref() == Some(ns)))
    }

    /// All children named `name` in `ns` or in no namespace.
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a XmlElement> + 'a {
        self.children
            .iter()
            .filter(move |c| c.name == name && (c.ns.is_none() || c.ns.as_deref() == Some(ns)))
    }

    /// The first element child.
    pub fn first_child(&self) -> Option<&XmlElement> {
        self.children.first()
    }

    /// The trimmed text of child `name`.
    pub fn child_text(&self, ns: &str, name: &str) -> Option<String> {
        self.child(ns, name).map(|c| c.text.trim().to_owned())
    }

    /// The first descendant (depth first) with this local name, in any namespace.
    pub fn descendant(&self, name: &str) -> Option<&XmlElement> {
        for c in &self.children {
            if c.name == name {
                return Some(c);
            }
            if let Some(d) = c.descendant(name) {
                return Some(d);
            }
        }
        None
    }
}

/// Parses a whole document into its root element.
///
/// # Errors
/// [`XmlError`] for input that is not UTF-8, malformed, has a DOCTYPE, an
/// entity other than the predefined ones, an undeclared prefix, nesting
/// deeper than [`MAX_DEPTH`] or more than [`MAX_ELEMENTS`] elements.
pub fn parse(input: &[u8]) -> Result<XmlElement, XmlError> {
    let text = std::str::from_utf8(input).map_err(|e| XmlError(format!("not UTF-8 ({e})")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<XmlElement> = Vec::new();
    let mut root: Option<XmlElement> = None;
    let mut count = 0usize;
    loop {
        let pos = reader.buffer_position();
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| XmlError(format!("malformed XML after byte {pos}: {e}")))?;
        let ns = match &resolved {
            ResolveResult::Bound(ns) => Some(ns.as_ref().to_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(p) => {
                return Err(format!("undeclared namespace prefix {p:?}").into());
            }
        };
        match event {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err("content after the root element".into());
            }
            Event::Start(e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("nesting deeper than {MAX_DEPTH} levels").into());
                }
                if count > MAX_ELEMENTS {
                    return Err(format!("more than {MAX_ELEMENTS} elements").into());
                }
                stack.push(XmlElement {
                    ns,
                    name: local_name(e.local_name().as_ref()),
                    ..XmlElement::default()
                });
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(format!("more than {MAX_ELEMENTS} elements").into());
                }
                let el = XmlElement {
                    ns,
                    name: local_name(e.local_name().as_ref()),
                    ..XmlElement::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err("unbalanced end tag".into());
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                push_text(&mut stack, &s)?;
            }
            Event::CData(t) => {
                let s = t.xml10_content();
                push_text(&mut stack, &s)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.xml10_content();
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(v) => v.to_owned(),
                            None => {
                                return Err(format!(
                                    "entity reference &{name}; is not allowed (only the predefined XML entities)"
                                )
                                .into());
                            }
                        }
                    }
                    Err(e) => return Err(format!("invalid character reference: {e}").into()),
                };
                push_text(&mut stack, &resolved)?;
            }
            Event::DocType(_) => {
                return Err("a DOCTYPE is not allowed (no DTDs, no entity definitions)".into());
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err("malformed XML: the document ends before its elements are closed".into());
    }
    root.ok_or_else(|| "no XML element found".into())
}

fn local_name(name: &str) -> String {
    name.to_owned()
}

fn push_text(stack: &mut [XmlElement], s: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(el) => {
            el.text.push_str(s);
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err("text outside the root element".into()),
    }
}

/// Escapes text for element content and attribute values.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_matched_by_uri() {
        let doc = br#"<a:Envelope xmlns:a="urn:x"><b:x xmlns:b="urn:y">1 &amp; &#50;</b:x><y/></a:Envelope>"#;
        let root = parse(doc).unwrap();
        assert!(root.is("urn:x", "Envelope"));
        let x = root.first_child().unwrap();
        assert!(x.is("urn:y", "x"));
        assert_eq!(x.text, "1 & 2");
        assert_eq!(root.children[1].ns, None);
    }

    #[test]
    fn hostile_documents_are_refused() {
        let lol = br#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><r>&b;</r>"#;
        assert!(parse(lol).unwrap_err().to_string().contains("DOCTYPE"));
        assert!(
            parse(b"<r>&ext;</r>")
                .unwrap_err()
                .to_string()
                .contains("&ext;")
        );
        let deep = "<a>".repeat(10_000);
        assert!(
            parse(deep.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("deeper")
        );
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a>").is_err());
        assert!(parse(b"<p:a/>").unwrap_err().to_string().contains("prefix"));
        assert!(parse(b"<a/><b/>").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
        assert!(parse(b"").is_err());
        let many = format!("<r>{}</r>", "<e/>".repeat(MAX_ELEMENTS + 1));
        assert!(
            parse(many.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("elements")
        );
    }
}
