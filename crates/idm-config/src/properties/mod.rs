//! `.properties` files: parsed with Java's rules, edited in place, written
//! back with unchanged lines byte-identical.

mod escape;
mod index;
mod parser;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic};
use index::KeyIndex;
pub use parser::Property;
use parser::{Item, ItemKind, Prefix, Raw};

const UTF8_BOM: &str = "\u{feff}";

/// The character encoding of a `.properties` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// UTF-8 (the default; a byte-order mark is kept if present).
    Utf8,
    /// ISO-8859-1, what Java's `Properties.load(InputStream)` reads; chosen
    /// when the bytes are not valid UTF-8.
    Latin1,
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Utf8 => "UTF-8",
            Self::Latin1 => "ISO-8859-1",
        })
    }
}

/// How to decode the bytes of a `.properties` file: the choice Java makes
/// by the method it is loaded with.
///
/// ```
/// use idm_config::{Encoding, PropertiesFile, ReadEncoding};
///
/// let utf8 = "name=J\u{f3}n\n".as_bytes();
/// // Properties.load(InputStream): every byte is one ISO-8859-1 character.
/// let latin1 = PropertiesFile::parse_with(utf8, "a.properties", ReadEncoding::Latin1);
/// assert_eq!(latin1.get("name"), Some("J\u{c3}\u{b3}n"));
/// // Properties.load(Reader) with a UTF-8 reader, and the default (detect).
/// let reader = PropertiesFile::parse_with(utf8, "a.properties", ReadEncoding::Utf8);
/// assert_eq!(reader.get("name"), Some("J\u{f3}n"));
/// assert_eq!(PropertiesFile::parse(utf8, "a.properties").encoding(), Encoding::Utf8);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReadEncoding {
    /// UTF-8 when the bytes are valid UTF-8, else ISO-8859-1. The default:
    /// right for files written by hand in either encoding, but a guess.
    #[default]
    Detect,
    /// ISO-8859-1, exactly what Java's `Properties.load(InputStream)` reads
    /// (the Identity Manager connector's likely way, see docs).
    Latin1,
    /// UTF-8, as `Properties.load(Reader)` with a UTF-8 reader: bytes that
    /// are not UTF-8 become U+FFFD (reported as P006).
    Utf8,
}

/// A `.properties` file: its entries as Java would load them, plus every
/// comment, blank line and line ending, so that it can be edited and
/// written back with the lines you did not touch byte-identical.
///
/// ```
/// use idm_config::PropertiesFile;
///
/// let mut file = PropertiesFile::parse(b"# D-Trust\nkeyArchive = Key archive\np12Password=123456\n", "dtrust.properties");
/// assert_eq!(file.get("keyArchive"), Some("Key archive"));
/// file.set("p12Password", "s3cr=t");
/// assert_eq!(file.to_bytes(), b"# D-Trust\nkeyArchive = Key archive\np12Password=s3cr\\=t\n");
/// ```
#[derive(Clone)]
pub struct PropertiesFile {
    name: String,
    encoding: Encoding,
    bom: bool,
    /// The text items' raw spans point into, followed by the decoded keys
    /// and values that parsed properties share (edited items own their
    /// text).
    source: Arc<String>,
    items: Vec<Item>,
    /// Key -> index in `items` of the entry that wins (keyed hashes, see
    /// `KeyIndex`).
    index: KeyIndex,
    diagnostics: Vec<Diagnostic>,
}

impl fmt::Debug for PropertiesFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be passwords: show only the keys.
        f.debug_struct("PropertiesFile")
            .field("name", &self.name)
            .field("encoding", &self.encoding)
            .field("keys", &self.iter().map(Property::key).collect::<Vec<_>>())
            .finish()
    }
}

impl PropertiesFile {
    /// Parses bytes with [`ReadEncoding::Detect`]: UTF-8 when they are
    /// valid UTF-8, ISO-8859-1 otherwise. `name` names the file in
    /// diagnostics. Parsing never fails: syntax problems are in
    /// [`PropertiesFile::diagnostics`].
    pub fn parse(bytes: &[u8], name: &str) -> Self {
        Self::parse_with(bytes, name, ReadEncoding::Detect)
    }

    /// Parses bytes decoded as `encoding` says; the file is written back in
    /// the encoding it was read in.
    pub fn parse_with(bytes: &[u8], name: &str, encoding: ReadEncoding) -> Self {
        let latin1 = || {
            // Every byte is one char; bytes from 0x80 take two in UTF-8.
            let mut text = String::with_capacity(bytes.len() + bytes.len() / 4);
            text.extend(bytes.iter().map(|&b| char::from(b)));
            Self::parse_text(&text, name, Encoding::Latin1, false)
        };
        match encoding {
            ReadEncoding::Latin1 => latin1(),
            ReadEncoding::Detect => match std::str::from_utf8(bytes) {
                Ok(text) => Self::parse_str(text, name),
                Err(_) => latin1(),
            },
            ReadEncoding::Utf8 => match String::from_utf8_lossy(bytes) {
                std::borrow::Cow::Borrowed(text) => Self::parse_str(text, name),
                std::borrow::Cow::Owned(text) => {
                    let first_bad = std::str::from_utf8(bytes)
                        .err()
                        .map(|e| e.valid_up_to())
                        .unwrap_or(0);
                    let line = 1 + bytes
                        .get(..first_bad)
                        .unwrap_or_default()
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count();
                    let mut file = Self::parse_str(&text, name);
                    file.diagnostics.push(Diagnostic::warning(
                        name,
                        Some(line),
                        Code::InvalidUtf8Replaced,
                        "bytes that are not UTF-8 were read as U+FFFD (as Java's UTF-8 reader does); the file is probably ISO-8859-1: read it as ISO-8859-1, or save it as UTF-8",
                    ));
                    file
                }
            },
        }
    }

    /// Parses text that is already decoded; it is written back as UTF-8.
    pub fn parse_str(text: &str, name: &str) -> Self {
        match text.strip_prefix(UTF8_BOM) {
            Some(rest) => Self::parse_text(rest, name, Encoding::Utf8, true),
            None => Self::parse_text(text, name, Encoding::Utf8, false),
        }
    }

    /// An empty file (written as UTF-8).
    pub fn new(name: &str) -> Self {
        Self::parse_text("", name, Encoding::Utf8, false)
    }

    /// Parses `text`, the decoded text, which the file then keeps (lines
    /// are spans of it) with the decoded keys and values after it.
    fn parse_text(text: &str, name: &str, encoding: Encoding, bom: bool) -> Self {
        let mut diagnostics = Vec::new();
        // Room for the decoded keys and values: none in most files, never
        // more than the text.
        let mut buf = String::with_capacity(text.len() + text.len() / 2 + 16);
        buf.push_str(text);
        let parsed = parser::parse(text, &mut buf, name, &mut diagnostics);
        if buf.capacity() - buf.len() > 4096 {
            buf.shrink_to_fit();
        }
        let source = Arc::new(buf);
        let mut items = parsed.items;
        for item in &mut items {
            if let ItemKind::Entry { property, .. } = &mut item.kind {
                property.attach(&source);
            }
        }
        let mut file = Self {
            name: name.to_owned(),
            encoding,
            bom,
            source,
            items,
            index: parsed.index,
            diagnostics,
        };
        if parsed.repeated {
            file.check_duplicates();
        }
        if encoding == Encoding::Utf8
            && let Some(first) = parsed.first_non_ascii_entry
        {
            file.check_non_ascii(first);
        }
        file
    }

    /// Rebuilds the key index; returns whether some key is repeated.
    fn reindex(&mut self) -> bool {
        self.index.rebuild(&self.items)
    }

    fn is_winner(&self, i: usize, key: &str) -> bool {
        self.index.get(&self.items, key) == Some(i)
    }

    fn check_duplicates(&mut self) {
        let mut found = Vec::new();
        for (i, item) in self.items.iter().enumerate() {
            let ItemKind::Entry { property: p, .. } = &item.kind else {
                continue;
            };
            if !self.is_winner(i, p.key())
                && let Some(winner) = self.property(p.key())
            {
                found.push(Diagnostic::warning(
                    &self.name,
                    Some(p.line()),
                    Code::DuplicateKey,
                    format!(
                        "`{}` is set again on line {}, which wins; remove one of the two",
                        p.key(),
                        winner.line()
                    ),
                ));
            }
        }
        self.diagnostics.extend(found);
    }

    /// Warns about the entry at `first` in `items`, the first whose text
    /// is not ASCII.
    fn check_non_ascii(&mut self, first: usize) {
        let first = self.items.get(first).and_then(|item| match &item.kind {
            ItemKind::Entry { property, .. } => Some(property),
            _ => None,
        });
        if let Some(p) = first {
            let d = Diagnostic::warning(
                &self.name,
                Some(p.line()),
                Code::NonAsciiUtf8,
                format!(
                    "`{}` holds non-ASCII characters stored as UTF-8; Java's Properties.load(InputStream) reads ISO-8859-1 and would garble them: write them as \\uXXXX escapes (e.g. \\u00F3 for ó)",
                    p.key()
                ),
            );
            self.diagnostics.push(d);
        }
    }

    /// The name given at parse time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The encoding the file was read in and will be written in.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Syntax problems found while parsing (malformed escapes, duplicate
    /// keys, non-ASCII UTF-8, a trailing continuation).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The value Java would load for `key` (the last one when repeated).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.property(key).map(Property::value)
    }

    /// The entry that wins for `key`, with its line.
    pub fn property(&self, key: &str) -> Option<&Property> {
        let item = self.items.get(self.index.get(&self.items, key)?)?;
        match &item.kind {
            ItemKind::Entry { property, .. } => Some(property),
            _ => None,
        }
    }

    /// Whether `key` is present (even with an empty value).
    pub fn contains_key(&self, key: &str) -> bool {
        self.property(key).is_some()
    }

    /// The entries Java would load (the last of repeated keys), in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Property> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match &item.kind {
                ItemKind::Entry { property, .. } if self.is_winner(i, property.key()) => {
                    Some(property)
                }
                _ => None,
            })
    }

    /// Every entry in file order, including those overridden by a later duplicate.
    pub fn all_entries(&self) -> impl Iterator<Item = &Property> {
        self.items.iter().filter_map(|item| match &item.kind {
            ItemKind::Entry { property, .. } => Some(property),
            _ => None,
        })
    }

    /// How many keys Java would load.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.all_entries().next().is_none()
    }

    /// Sets `key` to `value`. An existing entry (the winning one) is
    /// rewritten in place, keeping its indentation, key spelling and
    /// separator; otherwise the entry is appended. Every other line stays
    /// byte-identical. Characters the file's encoding cannot hold are
    /// written as `\uXXXX`.
    pub fn set(&mut self, key: &str, value: &str) {
        let max_char = self.max_char();
        let newline = self.newline().to_owned();
        let escaped_value = escape::escape_value(value, max_char);
        let target = self.index.get(&self.items, key);
        match target.and_then(|i| self.items.get_mut(i)) {
            Some(item) => {
                let raw = item.raw.as_str(&self.source);
                let ending = line_ending_of(raw).to_owned();
                if let ItemKind::Entry { property, prefix } = &mut item.kind {
                    let prefix_text = match *prefix {
                        Some(p) => {
                            let mut text = raw.get(..p.len).unwrap_or_default().to_owned();
                            if p.add_separator {
                                text.push('=');
                            }
                            text
                        }
                        None => format!("{}=", escape::escape_key(key, max_char)),
                    };
                    *prefix = Some(Prefix {
                        len: prefix_text.len(),
                        add_separator: false,
                    });
                    item.raw = Raw::Owned(format!("{prefix_text}{escaped_value}{ending}"));
                    property.set_value(value);
                }
            }
            None => {
                if let Some(last) = self.items.last_mut() {
                    let raw = last.raw.as_str(&self.source);
                    if !raw.is_empty() && line_ending_of(raw).is_empty() {
                        last.raw = Raw::Owned(format!("{raw}{newline}"));
                    }
                }
                let prefix = format!("{}=", escape::escape_key(key, max_char));
                self.items.push(Item {
                    raw: Raw::Owned(format!("{prefix}{escaped_value}{newline}")),
                    kind: ItemKind::Entry {
                        property: Property::new(key, value, 0),
                        prefix: Some(Prefix {
                            len: prefix.len(),
                            add_separator: false,
                        }),
                    },
                });
            }
        }
        self.renumber();
    }

    /// Removes every entry for `key` (with its continuation lines); returns
    /// how many were removed.
    pub fn remove(&mut self, key: &str) -> usize {
        let before = self.items.len();
        self.items.retain(
            |item| !matches!(&item.kind, ItemKind::Entry { property, .. } if property.key() == key),
        );
        let removed = before - self.items.len();
        self.renumber();
        removed
    }

    /// The file as text (without a byte-order mark).
    pub fn to_text(&self) -> String {
        self.items
            .iter()
            .map(|i| i.raw.as_str(&self.source))
            .collect()
    }

    /// The file as bytes in its encoding; unchanged lines are byte-identical
    /// to the input.
    pub fn to_bytes(&self) -> Vec<u8> {
        let text = self.to_text();
        match self.encoding {
            Encoding::Utf8 => {
                let mut out = Vec::with_capacity(text.len() + 3);
                if self.bom {
                    out.extend_from_slice(UTF8_BOM.as_bytes());
                }
                out.extend_from_slice(text.as_bytes());
                out
            }
            // Every char is <= U+00FF: read as Latin-1 or escaped by `set`.
            Encoding::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
        }
    }

    fn max_char(&self) -> u32 {
        match self.encoding {
            Encoding::Utf8 => 0x10FFFF,
            Encoding::Latin1 => 0xFF,
        }
    }

    /// The first line ending used in the file, `\n` when there is none.
    fn newline(&self) -> &'static str {
        let text = self
            .items
            .iter()
            .map(|i| line_ending_of(i.raw.as_str(&self.source)))
            .find(|e| !e.is_empty());
        match text {
            Some("\r\n") => "\r\n",
            Some("\r") => "\r",
            _ => "\n",
        }
    }

    fn renumber(&mut self) {
        let _ = self.reindex();
        let mut line = 1;
        for item in &mut self.items {
            if let ItemKind::Entry { property, .. } = &mut item.kind {
                property.line = line;
            }
            line += parser::count_lines(item.raw.as_str(&self.source));
        }
    }
}

/// The terminator of the last physical line of a raw item.
fn line_ending_of(raw: &str) -> &str {
    if raw.ends_with("\r\n") {
        "\r\n"
    } else if raw.ends_with('\n') {
        "\n"
    } else if raw.ends_with('\r') {
        "\r"
    } else {
        ""
    }
}
