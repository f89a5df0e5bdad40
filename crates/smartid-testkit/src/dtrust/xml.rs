//! The simulator's XML reader: quick-xml's `NsReader`, namespaces resolved
//! to URIs, no DTDs, only the predefined entities and character references,
//! bounded depth and element count.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// Deepest nesting accepted (a SOAP answer needs well under 10).
pub(crate) const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document.
pub(crate) const MAX_ELEMENTS: usize = 100_000;

/// An element: namespace URI, local name, text content (concatenated, not
/// trimmed) and child elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) ns: Option<String>,
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
}

impl Element {
    /// Whether this element is `{ns}name`.
    pub(crate) fn is(&self, ns: &str, name: &str) -> bool {
        self.name == name && self.ns.as_deref() == Some(ns)
    }

    /// The first child `{ns}name` or unqualified `name` (children of JAX-WS
    /// operations are often unqualified).
    pub(crate) fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name == name && (c.ns.is_none() || c.ns.as_deref() == Some(ns)))
    }

    /// All children named `name` in `ns` or in no namespace.
    pub(crate) fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children
            .iter()
            .filter(move |c| c.name == name && (c.ns.is_none() || c.ns.as_deref() == Some(ns)))
    }

    /// The first element child.
    pub(crate) fn first_child(&self) -> Option<&Element> {
        self.children.first()
    }

    /// The trimmed text of child `name`.
    pub(crate) fn child_text(&self, ns: &str, name: &str) -> Option<String> {
        self.child(ns, name).map(|c| c.text.trim().to_owned())
    }
}

/// Parses a whole document into its root element.
pub(crate) fn parse(input: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(input).map_err(|e| format!("not UTF-8 ({e})"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let pos = reader.buffer_position();
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("malformed XML after byte {pos}: {e}"))?;
        let ns = match &resolved {
            ResolveResult::Bound(ns) => Some(ns.as_ref().to_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(p) => {
                return Err(format!("undeclared namespace prefix {p:?}"));
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
                    return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
                }
                if count > MAX_ELEMENTS {
                    return Err(format!("more than {MAX_ELEMENTS} elements"));
                }
                stack.push(Element {
                    ns,
                    name: local_name(e.local_name().as_ref()),
                    ..Element::default()
                });
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(format!("more than {MAX_ELEMENTS} elements"));
                }
                let el = Element {
                    ns,
                    name: local_name(e.local_name().as_ref()),
                    ..Element::default()
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
                                ));
                            }
                        }
                    }
                    Err(e) => return Err(format!("invalid character reference: {e}")),
                };
                push_text(&mut stack, &resolved)?;
            }
            Event::DocType(_) => {
                return Err(
                    "a DOCTYPE is not allowed in a SOAP message (no DTDs, no entity definitions)"
                        .into(),
                );
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err("the document ends before its elements are closed".into());
    }
    root.ok_or_else(|| "no XML element found".into())
}

fn local_name(name: &str) -> String {
    name.to_owned()
}

fn push_text(stack: &mut [Element], s: &str) -> Result<(), String> {
    match stack.last_mut() {
        Some(el) => {
            el.text.push_str(s);
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err("text outside the root element".into()),
    }
}

/// Escapes text for element content.
pub(crate) fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}
