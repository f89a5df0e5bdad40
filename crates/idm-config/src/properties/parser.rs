//! Java's `.properties` syntax (the rules of `java.util.Properties.load`),
//! read into items that keep their raw text for byte-identical writing.

use std::fmt;

use crate::diagnostic::{Code, Diagnostic};

/// One key/value pair as Java would load it, with the line it starts on.
/// `Debug` shows the key and the line, not the value (it may be a password).
#[derive(Clone, PartialEq, Eq)]
pub struct Property {
    /// The key followed by the value: one allocation for both.
    text: String,
    key_len: usize,
    pub(crate) line: usize,
}

impl Property {
    pub(crate) fn new(key: &str, value: &str, line: usize) -> Self {
        let mut text = String::with_capacity(key.len() + value.len());
        text.push_str(key);
        text.push_str(value);
        Self {
            text,
            key_len: key.len(),
            line,
        }
    }

    /// The key, unescaped.
    pub fn key(&self) -> &str {
        self.text.get(..self.key_len).unwrap_or_default()
    }

    /// The value, unescaped, continuation lines joined.
    pub fn value(&self) -> &str {
        self.text.get(self.key_len..).unwrap_or_default()
    }

    /// The 1-based line the entry starts on.
    pub fn line(&self) -> usize {
        self.line
    }

    pub(crate) fn set_value(&mut self, value: &str) {
        self.text.truncate(self.key_len);
        self.text.push_str(value);
    }
}

impl fmt::Debug for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Property")
            .field("key", &self.key())
            .field("value", &"[redacted]")
            .field("line", &self.line)
            .finish()
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
fn is_ws_byte(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == 0x0c
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A mask with the high bit set in each byte of `word` that equals `byte`.
/// Only the lowest set bit is exact (a borrow may mark higher bytes), which
/// is all a search for the first match needs.
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Eight bytes from `at` as a little-endian word, if there are eight.
fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let chunk: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// The offset of the first `\n` or `\r` at or after `from`, or the length.
/// Eight bytes at a time: this loop is most of the time spent on a file.
fn find_line_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(w) = word_at(bytes, i) {
        let m = bytes_equal(w, b'\n') | bytes_equal(w, b'\r');
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'\n' || b == b'\r' {
            return i;
        }
        i += 1;
    }
    i
}

/// Whether `bytes` holds a backslash, eight bytes at a time.
fn has_backslash(bytes: &[u8]) -> bool {
    let mut i = 0;
    while let Some(w) = word_at(bytes, i) {
        if bytes_equal(w, b'\\') != 0 {
            return true;
        }
        i += 8;
    }
    bytes.get(i..).is_some_and(|tail| tail.contains(&b'\\'))
}

/// The physical line starting at `start`: (end of its content, end of its
/// terminator). `\n`, `\r\n` and a lone `\r` end a line, as in Java.
fn line_at(bytes: &[u8], start: usize) -> (usize, usize) {
    let content_end = find_line_end(bytes, start);
    let end = match bytes.get(content_end) {
        None => content_end,
        Some(b'\r') if bytes.get(content_end + 1) == Some(&b'\n') => content_end + 2,
        Some(_) => content_end + 1,
    };
    (content_end, end)
}

/// `text` without its leading Java white space (ASCII, so any cut is a
/// char boundary).
fn trim_ws_start(text: &str) -> &str {
    let n = text.bytes().take_while(|&b| is_ws_byte(b)).count();
    text.get(n..).unwrap_or_default()
}

/// The number of physical lines of a text.
pub(crate) fn count_lines(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let mut n = 0;
    while pos < bytes.len() {
        pos = line_at(bytes, pos).1;
        n += 1;
    }
    n
}

/// Parses decoded text in one pass over its bytes. Problems are reported
/// against `file`.
pub(crate) fn parse(text: &str, file: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<Item> {
    let bytes = text.as_bytes();
    let len = bytes.len();
    // About one item per 40 bytes in real files; a guess, not a limit.
    let mut items = Vec::with_capacity(len / 40 + 1);
    let mut logical = String::new();
    let mut pos = 0;
    // Physical lines before `pos`.
    let mut line_no = 0;
    while pos < len {
        let start = pos;
        let (content_end, end) = line_at(bytes, start);
        line_no += 1;
        let line_text = text.get(start..content_end).unwrap_or_default();
        let rest = trim_ws_start(line_text);
        let leading_len = line_text.len() - rest.len();
        match rest.as_bytes().first() {
            None | Some(b'#' | b'!') => {
                items.push(Item {
                    raw: Raw::Span(start, end),
                    kind: if rest.is_empty() {
                        ItemKind::Blank
                    } else {
                        ItemKind::Comment
                    },
                });
                pos = end;
                continue;
            }
            Some(_) => {}
        }
        // Fast path: one physical line without any backslash.
        if !has_backslash(rest.as_bytes()) {
            let (key_end, value_start, has_sep) = split_simple(rest.as_bytes());
            items.push(Item {
                raw: Raw::Span(start, end),
                kind: ItemKind::Entry {
                    property: Property::new(
                        rest.get(..key_end).unwrap_or_default(),
                        rest.get(value_start..).unwrap_or_default(),
                        line_no,
                    ),
                    prefix: Some(Prefix {
                        len: leading_len + value_start,
                        add_separator: !has_sep && value_start == key_end,
                    }),
                },
            });
            pos = end;
            continue;
        }
        let first_line = line_no;
        if trailing_backslashes(rest).is_multiple_of(2) {
            // Escapes but no continuation: decode straight from the line.
            let raw = Raw::Span(start, end);
            pos = end;
            items.push(entry(
                rest,
                rest.len(),
                leading_len,
                first_line,
                raw,
                file,
                diagnostics,
            ));
            continue;
        }
        // A continuation: join the physical lines into `logical`.
        logical.clear();
        let mut first_segment_len = None;
        let mut segment = rest;
        let mut lone_backslash = false;
        let mut cur_content_end = content_end;
        let mut cur_end = end;
        loop {
            logical.push_str(segment);
            if trailing_backslashes(segment).is_multiple_of(2) {
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
            if cur_end >= len {
                diagnostics.push(Diagnostic::warning(
                    file,
                    Some(line_no),
                    Code::ContinuationAtEnd,
                    "the file ends with a continuation backslash; Java drops it: remove the trailing `\\` or add the missing line",
                ));
                break;
            }
            let next_start = cur_end;
            (cur_content_end, cur_end) = line_at(bytes, next_start);
            line_no += 1;
            segment = trim_ws_start(text.get(next_start..cur_content_end).unwrap_or_default());
        }
        let raw = Raw::Span(start, cur_end);
        pos = cur_end;
        if lone_backslash && !(cur_end == len && cur_end - cur_content_end <= 1) {
            items.push(Item {
                raw,
                kind: ItemKind::Blank,
            });
            continue;
        }
        // Java quirk, kept for fidelity: a lone `\` on the last line, ended
        // by nothing or by a single `\n`/`\r`, loads as an empty key with an
        // empty value (Java's reader returns the empty line at end of input).
        // `logical` is then empty and `entry` yields that entry.
        let first_len = first_segment_len.unwrap_or(logical.len());
        items.push(entry(
            &logical,
            first_len,
            leading_len,
            first_line,
            raw,
            file,
            diagnostics,
        ));
    }
    items
}

/// How many backslashes end `s`.
fn trailing_backslashes(s: &str) -> usize {
    s.bytes().rev().take_while(|&b| b == b'\\').count()
}

/// An entry from a logical line (continuations joined, leading white space
/// of the first line removed) that may hold escapes. `first_len` is how
/// many of its bytes came from the first physical line.
#[allow(clippy::too_many_arguments)]
fn entry(
    logical: &str,
    first_len: usize,
    leading_len: usize,
    line: usize,
    raw: Raw,
    file: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Item {
    let (key_end, value_start) = split_key_value(logical.as_bytes());
    let key_text = logical.get(..key_end).unwrap_or_default();
    let value_text = logical.get(value_start..).unwrap_or_default();
    // Decoding never makes text longer.
    let mut text = String::with_capacity(key_text.len() + value_text.len());
    unescape_into(key_text, &mut text, file, line, diagnostics);
    let key_len = text.len();
    unescape_into(value_text, &mut text, file, line, diagnostics);
    let prefix = (value_start <= first_len).then_some(Prefix {
        len: leading_len + value_start,
        add_separator: value_start == key_end,
    });
    Item {
        raw,
        kind: ItemKind::Entry {
            property: Property {
                text,
                key_len,
                line,
            },
            prefix,
        },
    }
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

/// Java's `loadConvert`, appending to `out`: `\t \n \r \f`, `\uXXXX`, and
/// `\x` for any other x. UTF-16 surrogate pairs written as two escapes are
/// joined.
fn unescape_into(
    text: &str,
    out: &mut String,
    file: &str,
    line: usize,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let bytes = text.as_bytes();
    let mut out = Utf16Joiner::new(out);
    // `done..` is neither copied nor decoded yet.
    let mut done = 0;
    while let Some(at) = bytes
        .get(done..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\\'))
        .map(|p| done + p)
    {
        out.push_str(text.get(done..at).unwrap_or_default());
        let consumed = match bytes.get(at + 1) {
            Some(b'u') => match bytes.get(at + 2..at + 6).and_then(hex4) {
                Some(unit) => {
                    out.push_unit(unit);
                    6
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
                    2
                }
            },
            Some(&b) if b.is_ascii() => {
                out.push_char(match b {
                    b't' => '\t',
                    b'n' => '\n',
                    b'r' => '\r',
                    b'f' => '\u{c}',
                    other => char::from(other),
                });
                2
            }
            // `\` before a non-ASCII character: the character itself.
            Some(_) => match text.get(at + 1..).and_then(|t| t.chars().next()) {
                Some(c) => {
                    out.push_char(c);
                    1 + c.len_utf8()
                }
                None => 1,
            },
            // The line reader never leaves an unescaped trailing backslash;
            // were there one, it would be dropped.
            None => 1,
        };
        done = at + consumed;
    }
    out.push_str(text.get(done..).unwrap_or_default());
    if out.finish() {
        diagnostics.push(Diagnostic::error(
            file,
            Some(line),
            Code::LoneSurrogate,
            "a \\uD800-\\uDFFF escape without its other half: write both halves of the surrogate pair (e.g. \\uD83D\\uDE00) or the character itself",
        ));
    }
}

/// Four hex digits as a UTF-16 unit.
fn hex4(digits: &[u8]) -> Option<u16> {
    digits.iter().try_fold(0u16, |acc, &b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        Some(acc << 4 | u16::from(d))
    })
}

/// Appends chars and UTF-16 units (from `\u` escapes) to a string, joining
/// surrogate pairs and replacing lone surrogates with U+FFFD.
struct Utf16Joiner<'a> {
    out: &'a mut String,
    pending_high: Option<u16>,
    lone: bool,
}

impl<'a> Utf16Joiner<'a> {
    fn new(out: &'a mut String) -> Self {
        Self {
            out,
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

    /// Ends the text; returns whether a lone surrogate was replaced.
    fn finish(mut self) -> bool {
        self.flush_high();
        self.lone
    }
}
