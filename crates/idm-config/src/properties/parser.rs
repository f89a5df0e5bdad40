//! Java's `.properties` syntax (the rules of `java.util.Properties.load`),
//! read into items that keep their raw text for byte-identical writing.

use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic};

/// One key/value pair as Java would load it, with the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    pub(crate) key: Arc<str>,
    pub(crate) value: String,
    pub(crate) line: usize,
}

impl Property {
    /// The key, unescaped.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value, unescaped, continuation lines joined.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The 1-based line the entry starts on.
    pub fn line(&self) -> usize {
        self.line
    }
}

/// Where an entry's value starts in its raw text, when that is on the
/// first physical line, so that an edit can keep indentation, key spelling
/// and separator.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prefix {
    /// Bytes of the raw text before the value.
    pub(crate) len: usize,
    /// The entry has no separator at all (`key` alone): an edit adds `=`.
    pub(crate) add_separator: bool,
}

/// What a logical line is.
#[derive(Clone, Debug)]
pub(crate) enum ItemKind {
    /// Empty, white space, or a lone continuation backslash.
    Blank,
    /// `#` or `!` comment.
    Comment,
    /// A key/value pair.
    Entry {
        property: Property,
        prefix: Option<Prefix>,
    },
}

/// The raw text of an item: a span of the parsed source, or new text.
#[derive(Clone, Debug)]
pub(crate) enum Raw {
    Span(usize, usize),
    Owned(String),
}

impl Raw {
    pub(crate) fn as_str<'a>(&'a self, source: &'a str) -> &'a str {
        match self {
            Self::Span(a, b) => source.get(*a..*b).unwrap_or_default(),
            Self::Owned(s) => s,
        }
    }
}

/// A logical line with the raw text of all its physical lines, terminators included.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub(crate) raw: Raw,
    pub(crate) kind: ItemKind,
}

/// Java's white space inside a line.
pub(crate) fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\u{c}'
}

fn is_ws_byte(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == 0x0c
}

/// A physical line as byte offsets: `start..content_end` is the content,
/// `content_end..end` the terminator (`\n`, `\r\n`, `\r` or nothing).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Line {
    start: usize,
    content_end: usize,
    end: usize,
}

/// Splits text into physical lines; `\n`, `\r\n` and a lone `\r` end a line, as in Java.
pub(crate) fn split_lines(text: &str) -> Vec<Line> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 32 + 1);
    let mut start = 0;
    while start < bytes.len() {
        let rest = bytes.get(start..).unwrap_or_default();
        match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(pos) => {
                let content_end = start + pos;
                let crlf = bytes.get(content_end) == Some(&b'\r')
                    && bytes.get(content_end + 1) == Some(&b'\n');
                let end = content_end + if crlf { 2 } else { 1 };
                out.push(Line {
                    start,
                    content_end,
                    end,
                });
                start = end;
            }
            None => {
                out.push(Line {
                    start,
                    content_end: bytes.len(),
                    end: bytes.len(),
                });
                start = bytes.len();
            }
        }
    }
    out
}

/// The number of physical lines of a text.
pub(crate) fn count_lines(text: &str) -> usize {
    split_lines(text).len()
}

/// Parses decoded text. Problems are reported against `file`.
pub(crate) fn parse(text: &str, file: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<Item> {
    let lines = split_lines(text);
    let content = |l: &Line| text.get(l.start..l.content_end).unwrap_or_default();
    let mut items = Vec::with_capacity(lines.len());
    let mut logical = String::new();
    let mut i = 0;
    while let Some(first) = lines.get(i) {
        let start = i;
        let line_text = content(first);
        let rest = line_text.trim_start_matches(is_ws);
        let leading_len = line_text.len() - rest.len();
        if rest.is_empty() || rest.starts_with('#') || rest.starts_with('!') {
            let kind = if rest.is_empty() {
                ItemKind::Blank
            } else {
                ItemKind::Comment
            };
            items.push(Item {
                raw: Raw::Span(first.start, first.end),
                kind,
            });
            i += 1;
            continue;
        }
        // Fast path: one physical line without any backslash.
        if !rest.contains('\\') {
            let (key_end, value_start, has_sep) = split_simple(rest.as_bytes());
            let key = Arc::from(rest.get(..key_end).unwrap_or_default());
            let value = rest.get(value_start..).unwrap_or_default().to_owned();
            items.push(Item {
                raw: Raw::Span(first.start, first.end),
                kind: ItemKind::Entry {
                    property: Property {
                        key,
                        value,
                        line: start + 1,
                    },
                    prefix: Some(Prefix {
                        len: leading_len + value_start,
                        add_separator: !has_sep && value_start == key_end,
                    }),
                },
            });
            i += 1;
            continue;
        }
        logical.clear();
        let mut first_segment_len = None;
        let mut segment = rest;
        let mut lone_backslash = false;
        loop {
            logical.push_str(segment);
            let trailing = segment.bytes().rev().take_while(|&b| b == b'\\').count();
            if trailing % 2 == 0 {
                break;
            }
            logical.pop();
            if first_segment_len.is_none() {
                first_segment_len = Some(logical.len());
            }
            if logical.is_empty() {
                // A line holding only `\`: Java starts a fresh logical line after it.
                lone_backslash = true;
                break;
            }
            if i + 1 >= lines.len() {
                diagnostics.push(Diagnostic::warning(
                    file,
                    Some(i + 1),
                    Code::ContinuationAtEnd,
                    "the file ends with a continuation backslash; Java drops it: remove the trailing `\\` or add the missing line",
                ));
                break;
            }
            i += 1;
            segment = lines
                .get(i)
                .map(|l| content(l).trim_start_matches(is_ws))
                .unwrap_or_default();
        }
        let raw_end = lines.get(i).map_or(text.len(), |l| l.end);
        let raw = Raw::Span(first.start, raw_end);
        i += 1;
        if lone_backslash
            && !(i == lines.len() && lines.get(i - 1).is_some_and(|l| l.end - l.content_end <= 1))
        {
            items.push(Item {
                raw,
                kind: ItemKind::Blank,
            });
            continue;
        }
        // Java quirk, kept for fidelity: a lone `\` on the last line, ended
        // by nothing or by a single `\n`/`\r`, loads as an empty key with an
        // empty value (Java's reader returns the empty line at end of input).
        // `logical` is then empty and the code below yields that entry.
        let line = start + 1;
        let first_len = first_segment_len.unwrap_or(logical.len());
        let (key_end, value_start) = split_key_value(logical.as_bytes());
        let key = unescape(
            logical.get(..key_end).unwrap_or_default(),
            file,
            line,
            diagnostics,
        );
        let value = unescape(
            logical.get(value_start..).unwrap_or_default(),
            file,
            line,
            diagnostics,
        );
        let prefix = (value_start <= first_len).then_some(Prefix {
            len: leading_len + value_start,
            add_separator: value_start == key_end,
        });
        items.push(Item {
            raw,
            kind: ItemKind::Entry {
                property: Property {
                    key: Arc::from(key),
                    value,
                    line,
                },
                prefix,
            },
        });
    }
    items
}

/// Java's key/value split on a line without backslashes:
/// returns (end of key, start of value, separator seen), in bytes.
fn split_simple(bytes: &[u8]) -> (usize, usize, bool) {
    let limit = bytes.len();
    let key_len = bytes
        .iter()
        .position(|&b| b == b'=' || b == b':' || is_ws_byte(b))
        .unwrap_or(limit);
    let mut has_sep = matches!(bytes.get(key_len), Some(b'=' | b':'));
    let mut value_start = if key_len < limit { key_len + 1 } else { limit };
    while let Some(&b) = bytes.get(value_start) {
        if !is_ws_byte(b) {
            if !has_sep && (b == b'=' || b == b':') {
                has_sep = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    (key_len, value_start, has_sep)
}

/// Java's key/value split: returns (end of key, start of value), in bytes
/// (separators, white space and backslashes are ASCII).
fn split_key_value(bytes: &[u8]) -> (usize, usize) {
    let limit = bytes.len();
    let mut key_len = 0;
    let mut value_start = limit;
    let mut has_sep = false;
    let mut preceding_backslash = false;
    for &b in bytes {
        if (b == b'=' || b == b':') && !preceding_backslash {
            value_start = key_len + 1;
            has_sep = true;
            break;
        } else if is_ws_byte(b) && !preceding_backslash {
            value_start = key_len + 1;
            break;
        }
        preceding_backslash = b == b'\\' && !preceding_backslash;
        key_len += 1;
    }
    while let Some(&b) = bytes.get(value_start) {
        if !is_ws_byte(b) {
            if !has_sep && (b == b'=' || b == b':') {
                has_sep = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    (key_len, value_start)
}

/// Java's `loadConvert`: `\t \n \r \f`, `\uXXXX`, and `\x` for any other x.
/// UTF-16 surrogate pairs written as two escapes are joined.
fn unescape(text: &str, file: &str, line: usize, diagnostics: &mut Vec<Diagnostic>) -> String {
    let Some(first) = text.find('\\') else {
        return text.to_owned();
    };
    let mut out = Utf16Joiner::with_capacity(text.len());
    out.push_str(text.get(..first).unwrap_or_default());
    let mut rest = text.get(first..).unwrap_or_default();
    while let Some(after) = rest.strip_prefix('\\') {
        let mut chars = after.chars();
        let consumed = match chars.next() {
            Some('u') => {
                let hex = after
                    .get(1..5)
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                match hex.and_then(|h| u16::from_str_radix(h, 16).ok()) {
                    Some(unit) => {
                        out.push_unit(unit);
                        5
                    }
                    None => {
                        diagnostics.push(Diagnostic::error(
                            file,
                            Some(line),
                            Code::MalformedUnicodeEscape,
                            // The text after `\u` is not shown: it may be part of a password.
                            "malformed \\uXXXX escape (`\\u` not followed by four hex digits): Java refuses to load this file; write four hex digits, or `\\\\u` for a literal backslash-u",
                        ));
                        out.push_str("\\u");
                        1
                    }
                }
            }
            Some(c) => {
                out.push_char(match c {
                    't' => '\t',
                    'n' => '\n',
                    'r' => '\r',
                    'f' => '\u{c}',
                    other => other,
                });
                c.len_utf8()
            }
            // The line reader never leaves an unescaped trailing backslash.
            None => 0,
        };
        let tail = after.get(consumed..).unwrap_or_default();
        let next = tail.find('\\').unwrap_or(tail.len());
        out.push_str(tail.get(..next).unwrap_or_default());
        rest = tail.get(next..).unwrap_or_default();
    }
    let (text, lone) = out.finish();
    if lone {
        diagnostics.push(Diagnostic::error(
            file,
            Some(line),
            Code::LoneSurrogate,
            "a \\uD800-\\uDFFF escape without its other half: write both halves of the surrogate pair (e.g. \\uD83D\\uDE00) or the character itself",
        ));
    }
    text
}

/// Builds a string from chars and UTF-16 units (from `\u` escapes), joining
/// surrogate pairs and replacing lone surrogates with U+FFFD.
struct Utf16Joiner {
    out: String,
    pending_high: Option<u16>,
    lone: bool,
}

impl Utf16Joiner {
    fn with_capacity(n: usize) -> Self {
        Self {
            out: String::with_capacity(n),
            pending_high: None,
            lone: false,
        }
    }

    fn flush_high(&mut self) {
        if self.pending_high.take().is_some() {
            self.out.push(char::REPLACEMENT_CHARACTER);
            self.lone = true;
        }
    }

    fn push_char(&mut self, c: char) {
        self.flush_high();
        self.out.push(c);
    }

    fn push_str(&mut self, s: &str) {
        if !s.is_empty() {
            self.flush_high();
            self.out.push_str(s);
        }
    }

    fn push_unit(&mut self, unit: u16) {
        match unit {
            0xD800..=0xDBFF => {
                self.flush_high();
                self.pending_high = Some(unit);
            }
            0xDC00..=0xDFFF => match self.pending_high.take() {
                Some(high) => {
                    let c =
                        0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                    self.out
                        .push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                None => {
                    self.out.push(char::REPLACEMENT_CHARACTER);
                    self.lone = true;
                }
            },
            _ => {
                self.flush_high();
                self.out
                    .push(char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
    }

    fn finish(mut self) -> (String, bool) {
        self.flush_high();
        (self.out, self.lone)
    }
}
