//! Java's `.properties` syntax (the rules of `java.util.Properties.load`),
//! read into items that keep their raw text for byte-identical writing.
//!
//! One pass over the bytes. Keys and values that need no decoding are spans
//! of the file's text; decoded ones are appended after the text in the same
//! buffer, so a parse allocates no string per entry: every parsed
//! [`Property`] shares that one buffer.

use std::fmt;
use std::sync::Arc;

use super::index::KeyIndex;
use crate::diagnostic::{Code, Diagnostic};

/// One key/value pair as Java would load it, with the line it starts on.
/// `Debug` shows the key and the line, not the value (it may be a password).
#[derive(Clone)]
pub struct Property {
    /// The text `key` and `value` are byte ranges of: the parsed file's
    /// buffer (its text, then the decoded keys and values), or an own
    /// buffer for an entry set by `set`. `None` only while parsing.
    buf: Option<Arc<String>>,
    key: (usize, usize),
    value: (usize, usize),
    pub(crate) line: usize,
}

impl Property {
    pub(crate) fn new(key: &str, value: &str, line: usize) -> Self {
        let mut text = String::with_capacity(key.len() + value.len());
        text.push_str(key);
        text.push_str(value);
        Self {
            key: (0, key.len()),
            value: (key.len(), text.len()),
            buf: Some(Arc::new(text)),
            line,
        }
    }

    /// A parsed entry whose key and value are ranges of the buffer that
    /// [`Property::attach`] gives it once parsing is done.
    fn spans(key: (usize, usize), value: (usize, usize), line: usize) -> Self {
        Self {
            buf: None,
            key,
            value,
            line,
        }
    }

    /// Gives a parsed entry the buffer its ranges point into.
    pub(crate) fn attach(&mut self, buf: &Arc<String>) {
        if self.buf.is_none() {
            self.buf = Some(Arc::clone(buf));
        }
    }

    fn slice(&self, (start, end): (usize, usize)) -> &str {
        self.buf
            .as_deref()
            .and_then(|b| b.get(start..end))
            .unwrap_or_default()
    }

    /// The key, unescaped.
    pub fn key(&self) -> &str {
        self.slice(self.key)
    }

    /// The value, unescaped, continuation lines joined.
    pub fn value(&self) -> &str {
        self.slice(self.value)
    }

    /// The 1-based line the entry starts on.
    pub fn line(&self) -> usize {
        self.line
    }

    pub(crate) fn set_value(&mut self, value: &str) {
        *self = Self::new(self.key(), value, self.line);
    }
}

impl PartialEq for Property {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key() && self.value() == other.value() && self.line == other.line
    }
}

impl Eq for Property {}

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

/// Byte classes of the key scan (`CLASS`): Java's white space inside a
/// line, the key/value separators, line terminators, the backslash.
const WS: u8 = 1;
const SEP: u8 = 2;
const EOL: u8 = 4;
const BACKSLASH: u8 = 8;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b' ' as usize] = WS;
    t[b'\t' as usize] = WS;
    t[0x0c] = WS;
    t[b'=' as usize] = SEP;
    t[b':' as usize] = SEP;
    t[b'\n' as usize] = EOL;
    t[b'\r' as usize] = EOL;
    t[b'\\' as usize] = BACKSLASH;
    t
};

fn class(b: u8) -> u8 {
    CLASS[usize::from(b)]
}

/// Java's white space inside a line.
fn is_ws_byte(b: u8) -> bool {
    class(b) == WS
}

/// Hex digit values; 1 << 40 for a byte that is not one.
static HEX: [u64; 256] = {
    let mut t = [1u64 << 40; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u64;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u64;
        t[b'A' as usize + i] = 10 + i as u64;
        i += 1;
    }
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A mask with the high bit set in each byte of `word` that equals `byte`:
/// every such byte is marked, but a borrow may also mark a byte above a
/// marked one (only the lowest mark is exact).
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// A mask with the high bit set in each byte of `word` below `limit`
/// (at most 0x7F, so that a byte below it stays marked when the byte under
/// it borrows): marked as by `bytes_equal`, the lowest mark exact.
fn bytes_below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS
}

/// Whether `b` ends a line.
fn is_eol(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// Candidates for `\n` and `\r`: every byte below 0x0E (a tab or another
/// control character is a false one, which `is_eol` turns down). One
/// subtraction instead of two comparisons.
fn eol_marks(word: u64) -> u64 {
    bytes_below(word, 0x0E)
}

/// The offset of the first byte at or after `from` for which `stop` holds,
/// or the length, and whether a byte before it is not ASCII. Eight bytes at
/// a time: `marks` marks (as `bytes_equal` does) at least every byte of a
/// word for which `stop` holds; each mark from the lowest is checked with
/// `stop`, so a false one only costs that check.
#[inline(always)]
fn find_stop(
    bytes: &[u8],
    from: usize,
    marks: impl Fn(u64) -> u64,
    stop: impl Fn(u8) -> bool,
) -> (usize, bool) {
    let mut at = from;
    let mut seen = 0u64;
    while let Some(word) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*word);
        let mut m = marks(w);
        while m != 0 {
            // A mark is a byte's high bit: index < 8, the shifts < 64.
            let index = m.trailing_zeros() / 8;
            if stop((w >> (8 * index)) as u8) {
                let before = w & ((1u64 << (8 * index)) - 1);
                return (at + index as usize, (seen | before) & HIGHS != 0);
            }
            m &= m - 1;
        }
        seen |= w;
        at += 8;
    }
    let mut high = 0u8;
    while let Some(&b) = bytes.get(at) {
        if stop(b) {
            break;
        }
        high |= b;
        at += 1;
    }
    (at, seen & HIGHS != 0 || high >= 0x80)
}

/// The offset of the first `\n` or `\r` at or after `from`, or the length.
fn find_line_end(bytes: &[u8], from: usize) -> usize {
    find_stop(bytes, from, eol_marks, is_eol).0
}

/// The offset of the first byte at or after `from` that is `\n`, `\r` or,
/// with `BACKSLASH`, `\`, or the length; and whether a byte before it and
/// after `from` is not ASCII.
fn scan<const BACKSLASH: bool>(bytes: &[u8], from: usize) -> (usize, bool) {
    if BACKSLASH {
        find_stop(
            bytes,
            from,
            |w| eol_marks(w) | bytes_equal(w, b'\\'),
            |b| is_eol(b) || b == b'\\',
        )
    } else {
        find_stop(bytes, from, eol_marks, is_eol)
    }
}

/// The offset of the first backslash at or after `from`.
fn find_backslash(bytes: &[u8], from: usize) -> Option<usize> {
    let (at, _) = find_stop(bytes, from, |w| bytes_equal(w, b'\\'), |b| b == b'\\');
    (at < bytes.len()).then_some(at)
}

/// The end of a key at or after `from`: the offset of the first byte of a
/// class (white space, separator, line end, backslash) or the length, that
/// class (`EOL` at the end), and whether a byte before it is not ASCII.
/// White space and line ends are all below 0x21 (so are other control
/// characters: false marks).
#[inline(always)]
fn key_end(bytes: &[u8], from: usize) -> (usize, u8, bool) {
    let (end, high) = find_stop(
        bytes,
        from,
        |w| {
            bytes_below(w, 0x21)
                | bytes_equal(w, b'=')
                | bytes_equal(w, b':')
                | bytes_equal(w, b'\\')
        },
        |b| class(b) != 0,
    );
    (end, bytes.get(end).map_or(EOL, |&b| class(b)), high)
}

/// The end of the terminator of a line whose content ends at `content_end`.
/// `\n`, `\r\n` and a lone `\r` end a line, as in Java.
fn terminator_end(bytes: &[u8], content_end: usize) -> usize {
    match bytes.get(content_end) {
        None => content_end,
        Some(b'\r') if bytes.get(content_end + 1) == Some(&b'\n') => content_end + 2,
        Some(_) => content_end + 1,
    }
}

/// The physical line starting at `start`: (end of its content, end of its
/// terminator).
fn line_at(bytes: &[u8], start: usize) -> (usize, usize) {
    let content_end = find_line_end(bytes, start);
    (content_end, terminator_end(bytes, content_end))
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

/// What [`parse`] finds.
pub(crate) struct Parsed {
    pub(crate) items: Vec<Item>,
    /// The index in `items` of the first entry whose raw text is not ASCII.
    pub(crate) first_non_ascii_entry: Option<usize>,
    /// Each key's winning entry, built as the entries are read (their keys
    /// are then at hand).
    pub(crate) index: KeyIndex,
    /// Whether some key is repeated.
    pub(crate) repeated: bool,
}

/// Parses decoded text in one pass over its bytes. `buf` starts with
/// `text` (the spans of items and properties are offsets into both);
/// decoded keys and values are appended to it. Once `buf` holds everything,
/// each property is given it with [`Property::attach`]. Problems are
/// reported against `file`.
pub(crate) fn parse(
    text: &str,
    buf: &mut String,
    file: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Parsed {
    parse_in::<false>(text, buf, file, diagnostics)
}

/// [`parse`] with every line that holds a backslash taken by the general
/// path (joined, split, then decoded), none by the shortcuts that decode
/// straight from the line: both must give the same result.
#[cfg(test)]
pub(crate) fn parse_general(
    text: &str,
    buf: &mut String,
    file: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Parsed {
    parse_in::<true>(text, buf, file, diagnostics)
}

/// [`parse`]; with `GENERAL`, [`parse_general`].
fn parse_in<const GENERAL: bool>(
    text: &str,
    buf: &mut String,
    file: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Parsed {
    debug_assert!(buf.starts_with(text));
    // About one item per 40 bytes in real files, two in three of them
    // entries; guesses, not limits.
    let items = text.len() / 40 + 1;
    let mut parser = Parser::<GENERAL> {
        text,
        out: buf,
        file,
        diagnostics,
        items: Vec::with_capacity(items),
        index: KeyIndex::with_capacity(items / 3 * 2),
        repeated: false,
        logical: String::new(),
        line_no: 0,
        first_non_ascii_entry: None,
    };
    let mut pos = 0;
    while pos < text.len() {
        pos = parser.line(pos);
    }
    Parsed {
        items: parser.items,
        first_non_ascii_entry: parser.first_non_ascii_entry,
        index: parser.index,
        repeated: parser.repeated,
    }
}

struct Parser<'a, const GENERAL: bool> {
    text: &'a str,
    /// The buffer decoded text goes to, after the text.
    out: &'a mut String,
    file: &'a str,
    diagnostics: &'a mut Vec<Diagnostic>,
    items: Vec<Item>,
    index: KeyIndex,
    repeated: bool,
    /// Continuation lines joined (reused).
    logical: String,
    /// Physical lines started so far.
    line_no: usize,
    first_non_ascii_entry: Option<usize>,
}

impl<const GENERAL: bool> Parser<'_, GENERAL> {
    /// Warns of a continuation backslash on the file's last line.
    fn continuation_at_end(&mut self) {
        self.diagnostics.push(Diagnostic::warning(
            self.file,
            Some(self.line_no),
            Code::ContinuationAtEnd,
            "the file ends with a continuation backslash; Java drops it: remove the trailing `\\` or add the missing line",
        ));
    }

    /// Reads the logical line starting at `start`; returns where the next
    /// one starts.
    fn line(&mut self, start: usize) -> usize {
        let bytes = self.text.as_bytes();
        self.line_no += 1;
        let mut i = start;
        while bytes.get(i).is_some_and(|&b| is_ws_byte(b)) {
            i += 1;
        }
        match bytes.get(i) {
            None | Some(b'\n' | b'\r') => {
                let end = terminator_end(bytes, i);
                self.push_other(start, end, ItemKind::Blank);
                return end;
            }
            Some(b'#' | b'!') => {
                let end = terminator_end(bytes, find_line_end(bytes, i + 1));
                self.push_other(start, end, ItemKind::Comment);
                return end;
            }
            Some(_) => {}
        }
        if GENERAL {
            let (backslash, high) = scan::<true>(bytes, i);
            if bytes.get(backslash) == Some(&b'\\') {
                return self.escaped(start, i, backslash, None, high);
            }
        }
        // The key: up to white space, a separator, the line's end or a
        // backslash.
        let (mut key_end, mut stop, key_high) = key_end(bytes, i);
        let mut non_ascii = key_high;
        let from = self.out.len();
        let reported = self.diagnostics.len();
        let mut key = (i, key_end);
        // The key's first backslash, where the general path starts if this
        // line needs it.
        let key_backslash = (stop == BACKSLASH).then_some(key_end);
        if let Some(backslash) = key_backslash {
            // Escapes in the key: decode it from the line, unless the line
            // continues in it.
            let decoded = unescape::<KEY>(
                self.text,
                i,
                backslash,
                self.out,
                self.file,
                self.line_no,
                self.diagnostics,
            );
            let Some((end, key_high)) = decoded else {
                self.out.truncate(from);
                self.diagnostics.truncate(reported);
                return self.escaped(start, i, backslash, None, non_ascii);
            };
            non_ascii |= key_high;
            key = (from, self.out.len());
            key_end = end;
            stop = bytes.get(end).map_or(EOL, |&b| class(b));
        }
        // White space and at most one separator, as Java skips them.
        let mut value_start = key_end;
        if stop & (WS | SEP) != 0 {
            value_start = skip_separator(bytes, key_end + 1, stop == SEP);
        }
        let (mut content_end, value_high) = scan::<true>(bytes, value_start);
        let before_backslash = non_ascii || value_high;
        non_ascii = before_backslash;
        let mut value = (value_start, content_end);
        if bytes.get(content_end) == Some(&b'\\') {
            if !matches!(bytes.get(content_end + 1), None | Some(b'\n' | b'\r')) {
                // Escapes in the value: decode it to the line's end, unless
                // the line turns out to continue.
                let value_from = self.out.len();
                let decoded = unescape::<LINE>(
                    self.text,
                    value_start,
                    content_end,
                    self.out,
                    self.file,
                    self.line_no,
                    self.diagnostics,
                );
                if let Some((line_end, line_high)) = decoded {
                    non_ascii |= line_high;
                    content_end = line_end;
                    value = (value_from, self.out.len());
                }
            } else if key_backslash.is_none() && value_start < content_end {
                // A continuation (the value's first backslash, alone before
                // the line's end), the value already begun: only the value
                // is joined.
                return self.continued_value(
                    start,
                    (i, key_end, value_start),
                    content_end,
                    content_end + 1,
                    terminator_end(bytes, content_end + 1),
                    non_ascii,
                );
            }
            if bytes.get(content_end) == Some(&b'\\') {
                // The line continues: the general path, from the line's
                // first backslash, with nothing decoded or reported kept.
                self.out.truncate(from);
                self.diagnostics.truncate(reported);
                return match key_backslash {
                    Some(backslash) => self.escaped(start, i, backslash, None, key_high),
                    None => self.escaped(
                        start,
                        i,
                        content_end,
                        Some((key_end, value_start)),
                        before_backslash,
                    ),
                };
            }
        }
        let end = terminator_end(bytes, content_end);
        let property = Property::spans(key, value, self.line_no);
        let prefix = Some(Prefix {
            len: value_start - start,
            add_separator: value_start == key_end,
        });
        self.push_entry(start, end, property, prefix, non_ascii);
        end
    }

    fn push_other(&mut self, start: usize, end: usize, kind: ItemKind) {
        self.items.push(Item {
            raw: Raw::Span(start, end),
            kind,
        });
    }

    fn push_entry(
        &mut self,
        start: usize,
        end: usize,
        property: Property,
        prefix: Option<Prefix>,
        non_ascii: bool,
    ) {
        if non_ascii && self.first_non_ascii_entry.is_none() {
            self.first_non_ascii_entry = Some(self.items.len());
        }
        // Keys, parsed or decoded, are ranges of `out` (the text first).
        let (items, out) = (&self.items, self.out.as_bytes());
        let key = out.get(property.key.0..property.key.1).unwrap_or_default();
        self.repeated |= self
            .index
            .insert(key, items.len(), |i| match &items.get(i)?.kind {
                ItemKind::Entry { property: p, .. } => out.get(p.key.0..p.key.1),
                _ => None,
            });
        self.items.push(Item {
            raw: Raw::Span(start, end),
            kind: ItemKind::Entry { property, prefix },
        });
    }

    /// A line with a backslash at `backslash`, its key starting at `key_start`
    /// after white space from `start`. `split` is (end of key, start of
    /// value) when the backslash comes after both; `non_ascii` whether a
    /// byte before the backslash is not ASCII.
    fn escaped(
        &mut self,
        start: usize,
        key_start: usize,
        backslash: usize,
        split: Option<(usize, usize)>,
        mut non_ascii: bool,
    ) -> usize {
        let text = self.text;
        let bytes = text.as_bytes();
        let len = bytes.len();
        let (content_end, high) = scan::<false>(bytes, backslash);
        non_ascii |= high;
        let end = terminator_end(bytes, content_end);
        let first_line = self.line_no;
        let leading_len = key_start - start;
        let rest = text.get(key_start..content_end).unwrap_or_default();
        let continued = !trailing_backslashes(rest).is_multiple_of(2);
        match split {
            // The value starts before the continuation backslash: the
            // split is the line's, only the value is joined.
            Some((key_end, value_start)) if continued && value_start + 1 < content_end => {
                return self.continued_value(
                    start,
                    (key_start, key_end, value_start),
                    backslash,
                    content_end,
                    end,
                    non_ascii,
                );
            }
            _ => {}
        }
        if !continued {
            // Escapes but no continuation: decode straight from the line.
            let (key_end, value_start) = match split {
                Some((k, v)) => (k - key_start, v - key_start),
                None => split_key_value(rest.as_bytes()),
            };
            let property = self.decode_entry(
                rest,
                Some(key_start),
                rest.len(),
                (key_end, value_start),
                first_line,
            );
            let prefix = Some(Prefix {
                len: leading_len + value_start,
                add_separator: value_start == key_end,
            });
            self.push_entry(start, end, property, prefix, non_ascii);
            return end;
        }
        // A continuation: join the physical lines into `logical`.
        let mut logical = std::mem::take(&mut self.logical);
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
                self.continuation_at_end();
                break;
            }
            let next_start = cur_end;
            let (next_content_end, high) = scan::<false>(bytes, next_start);
            non_ascii |= high;
            cur_content_end = next_content_end;
            cur_end = terminator_end(bytes, next_content_end);
            self.line_no += 1;
            segment = trim_ws_start(text.get(next_start..cur_content_end).unwrap_or_default());
        }
        let result = if lone_backslash && !(cur_end == len && cur_end - cur_content_end <= 1) {
            self.push_other(start, cur_end, ItemKind::Blank);
            cur_end
        } else {
            // Java quirk, kept for fidelity: a lone `\` on the last line, ended
            // by nothing or by a single `\n`/`\r`, loads as an empty key with an
            // empty value (Java's reader returns the empty line at end of input).
            // `logical` is then empty and yields that entry.
            let first_len = first_segment_len.unwrap_or(logical.len());
            let (key_end, value_start) = split_key_value(logical.as_bytes());
            // The first `first_len` bytes of `logical` are the text's from `key_start`.
            let property = self.decode_entry(
                &logical,
                Some(key_start),
                first_len,
                (key_end, value_start),
                first_line,
            );
            let prefix = (value_start <= first_len).then_some(Prefix {
                len: leading_len + value_start,
                add_separator: value_start == key_end,
            });
            self.push_entry(start, cur_end, property, prefix, non_ascii);
            cur_end
        };
        self.logical = logical;
        result
    }

    /// An entry continued on the next lines whose key (`key_start..key_end`)
    /// and value start (`value_start`) are on its first line, before the
    /// continuation backslash; its first backslash is at `backslash`, its
    /// first line ends at `content_end` (terminator at `end`). The value's
    /// lines are joined onto `out`, then decoded if they hold escapes.
    fn continued_value(
        &mut self,
        start: usize,
        (key_start, key_end, value_start): (usize, usize, usize),
        backslash: usize,
        content_end: usize,
        end: usize,
        mut non_ascii: bool,
    ) -> usize {
        let text = self.text;
        let bytes = text.as_bytes();
        let len = bytes.len();
        let first_line = self.line_no;
        let from = self.out.len();
        // A backslash before the continuation one is an escape.
        let mut escapes = backslash + 1 < content_end;
        self.out
            .push_str(text.get(value_start..content_end - 1).unwrap_or_default());
        let mut cur_end = end;
        loop {
            if cur_end >= len {
                self.continuation_at_end();
                break;
            }
            let mut next_start = cur_end;
            while bytes.get(next_start).is_some_and(|&b| is_ws_byte(b)) {
                next_start += 1;
            }
            let (stop, high) = scan::<true>(bytes, next_start);
            non_ascii |= high;
            let (line_end, more) = if bytes.get(stop) != Some(&b'\\') {
                (stop, false)
            } else if matches!(bytes.get(stop + 1), None | Some(b'\n' | b'\r')) {
                // The line's only backslash, a continuation.
                (stop + 1, true)
            } else {
                let (line_end, more_high) = scan::<false>(bytes, stop);
                non_ascii |= more_high;
                let segment = text.get(next_start..line_end).unwrap_or_default();
                let more = !trailing_backslashes(segment).is_multiple_of(2);
                escapes |= stop < line_end - usize::from(more);
                (line_end, more)
            };
            cur_end = terminator_end(bytes, line_end);
            self.line_no += 1;
            let kept = line_end - usize::from(more);
            self.out
                .push_str(text.get(next_start..kept).unwrap_or_default());
            if !more {
                break;
            }
        }
        if escapes {
            let mut logical = std::mem::take(&mut self.logical);
            logical.clear();
            logical.push_str(self.out.get(from..).unwrap_or_default());
            self.out.truncate(from);
            match find_backslash(logical.as_bytes(), 0) {
                Some(first) => unescape_into(
                    &logical,
                    first,
                    self.out,
                    self.file,
                    first_line,
                    self.diagnostics,
                ),
                None => self.out.push_str(&logical),
            }
            self.logical = logical;
        }
        let property = Property::spans((key_start, key_end), (from, self.out.len()), first_line);
        let prefix = Some(Prefix {
            len: value_start - start,
            add_separator: value_start == key_end,
        });
        self.push_entry(start, cur_end, property, prefix, non_ascii);
        cur_end
    }

    /// The property of a logical line `logical` (leading white space
    /// removed) split at (end of key, start of value), starting on physical
    /// line `line`. Its first `mapped` bytes are the text's from `at` (when
    /// `at` is given).
    fn decode_entry(
        &mut self,
        logical: &str,
        at: Option<usize>,
        mapped: usize,
        (key_end, value_start): (usize, usize),
        line: usize,
    ) -> Property {
        let key = self.decode_part(logical, 0, key_end, at, mapped, line);
        let value = self.decode_part(logical, value_start, logical.len(), at, mapped, line);
        Property::spans(key, value, line)
    }

    /// Bytes `from..to` of `logical` (starting on `line`), unescaped: a span of the text when they
    /// need no decoding and are the text's, else decoded onto `out`.
    fn decode_part(
        &mut self,
        logical: &str,
        from: usize,
        to: usize,
        at: Option<usize>,
        mapped: usize,
        line: usize,
    ) -> (usize, usize) {
        let part = logical.get(from..to).unwrap_or_default();
        let start = self.out.len();
        match find_backslash(part.as_bytes(), 0) {
            Some(first) => {
                unescape_into(part, first, self.out, self.file, line, self.diagnostics);
            }
            None => match at {
                Some(at) if to <= mapped => return (at + from, at + to),
                _ => self.out.push_str(part),
            },
        }
        (start, self.out.len())
    }
}

/// How many backslashes end `s`.
fn trailing_backslashes(s: &str) -> usize {
    s.bytes().rev().take_while(|&b| b == b'\\').count()
}

/// Java's key/value split: returns (end of key, start of value), in bytes
/// (separators, white space and backslashes are ASCII).
fn split_key_value(bytes: &[u8]) -> (usize, usize) {
    let limit = bytes.len();
    let mut key_len = limit;
    let mut value_start = limit;
    let mut has_sep = false;
    let mut preceding_backslash = false;
    for (n, &b) in bytes.iter().enumerate() {
        if preceding_backslash {
            preceding_backslash = false;
            continue;
        }
        let c = class(b);
        if c & (SEP | WS) != 0 {
            key_len = n;
            value_start = n + 1;
            has_sep = c == SEP;
            break;
        }
        preceding_backslash = c == BACKSLASH;
    }
    (key_len, skip_separator(bytes, value_start, has_sep))
}

/// The start of the value: from `at`, white space and (unless `has_sep`)
/// one `=` or `:` skipped, as Java skips them.
fn skip_separator(bytes: &[u8], mut at: usize, mut has_sep: bool) -> usize {
    while let Some(&b) = bytes.get(at) {
        let c = class(b);
        if c == SEP && !has_sep {
            has_sep = true;
        } else if c != WS {
            break;
        }
        at += 1;
    }
    at
}

/// Four hex digits at `at` as a UTF-16 unit.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    let [a, b, c, d] = digits.map(|x| HEX[usize::from(x)]);
    // A byte that is no digit has bit 40 set, still above bit 16 shifted.
    let unit = a << 12 | b << 8 | c << 4 | d;
    u32::try_from(unit).ok().filter(|&u| u <= 0xFFFF)
}

/// Java's `loadConvert` of `text`, whose first backslash is at `first`,
/// appended to `out`: `\t \n \r \f`, `\uXXXX`, and `\x` for any other x.
/// UTF-16 surrogate pairs written as two escapes are joined; a lone
/// surrogate becomes U+FFFD (and one diagnostic). Text between escapes is
/// copied in runs.
fn unescape_into(
    text: &str,
    first: usize,
    out: &mut String,
    file: &str,
    line: usize,
    diagnostics: &mut Vec<Diagnostic>,
) {
    // Decoding never makes text longer.
    out.reserve(text.len());
    let _ = unescape::<WHOLE>(text, 0, first, out, file, line, diagnostics);
}

/// Where [`unescape`] stops: at the end of the text it is given.
const WHOLE: u8 = 0;
/// At the end of the physical line (a value decoded from its line).
const LINE: u8 = 1;
/// At the first white space, separator or line end that is not escaped (a
/// key decoded from its line).
const KEY: u8 = 2;

/// [`unescape_into`] of `text` from `start`, whose first backslash is at
/// `first`, up to where `MODE` says; returns that end (for `KEY` the byte
/// that ends the key, or the text's length) and whether a byte decoded was
/// not ASCII. With `LINE` or `KEY`, `None` when the line ends with a
/// continuation backslash first (what was decoded and reported is then to
/// be dropped).
///
/// Text between escapes is copied in runs, one `push_str` each; an escape
/// that stands for the character after the backslash (`\:`, `\\`, `\ `...)
/// starts the next run at that character, so it costs no copy of its own.
#[inline(never)]
fn unescape<const MODE: u8>(
    text: &str,
    start: usize,
    first: usize,
    out: &mut String,
    file: &str,
    line: usize,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(usize, bool)> {
    const REPLACEMENT: char = char::REPLACEMENT_CHARACTER;
    let bytes = text.as_bytes();
    // A high surrogate waiting for its low half (0: none).
    let mut high = 0u32;
    let mut lone = false;
    let mut non_ascii = false;
    // Text from `run` to the next escape is copied as it is.
    let mut run = start;
    // A backslash is at `at`.
    let mut at = first;
    let end = loop {
        if at > run {
            flush_high(out, &mut high, &mut lone);
            out.push_str(text.get(run..at).unwrap_or_default());
        }
        // Where the search for the next escape starts.
        let from = match bytes.get(at + 1) {
            Some(b'u') => match hex4(bytes, at + 2) {
                Some(unit) => {
                    match unit {
                        0xD800..=0xDBFF => {
                            flush_high(out, &mut high, &mut lone);
                            high = unit;
                        }
                        0xDC00..=0xDFFF if high != 0 => {
                            let c = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00);
                            out.push(char::from_u32(c).unwrap_or(REPLACEMENT));
                            high = 0;
                        }
                        0xDC00..=0xDFFF => {
                            out.push(REPLACEMENT);
                            lone = true;
                        }
                        _ => {
                            flush_high(out, &mut high, &mut lone);
                            out.push(char::from_u32(unit).unwrap_or(REPLACEMENT));
                        }
                    }
                    run = at + 6;
                    at + 6
                }
                None => {
                    diagnostics.push(Diagnostic::error(
                        file,
                        Some(line),
                        Code::MalformedUnicodeEscape,
                        // The text after `\u` is not shown: it may be part of a password.
                        "malformed \\uXXXX escape (`\\u` not followed by four hex digits): Java refuses to load this file; write four hex digits, or `\\\\u` for a literal backslash-u",
                    ));
                    flush_high(out, &mut high, &mut lone);
                    out.push_str("\\u");
                    run = at + 2;
                    at + 2
                }
            },
            // The line continues: not for a decoder of one line.
            None | Some(b'\n' | b'\r') if MODE != WHOLE => return None,
            Some(&b @ (b't' | b'n' | b'r' | b'f')) => {
                flush_high(out, &mut high, &mut lone);
                out.push(match b {
                    b't' => '\t',
                    b'n' => '\n',
                    b'r' => '\r',
                    _ => '\u{c}',
                });
                run = at + 2;
                at + 2
            }
            // Any other character stands for itself: the next run starts
            // with it (a non-ASCII one is whole: its other bytes are all
            // >= 0x80, none a backslash or a stop).
            Some(&b) => {
                flush_high(out, &mut high, &mut lone);
                non_ascii |= b >= 0x80;
                run = at + 1;
                at + 2
            }
            // A trailing backslash (only in a whole text) is dropped.
            None => {
                run = at + 1;
                break text.len();
            }
        };
        if bytes.get(from) == Some(&b'\\') {
            // Escapes one after the other (`\u00F3\u00F0`): no search.
            at = from;
            continue;
        }
        match MODE {
            LINE => {
                let (stop, h) = scan::<true>(bytes, from);
                non_ascii |= h;
                if bytes.get(stop) != Some(&b'\\') {
                    break stop;
                }
                at = stop;
            }
            KEY => {
                let (stop, c, h) = key_end(bytes, from);
                non_ascii |= h;
                if c != BACKSLASH {
                    break stop;
                }
                at = stop;
            }
            _ => match find_backslash(bytes, from) {
                Some(next) => at = next,
                None => break text.len(),
            },
        }
    };
    if end > run {
        flush_high(out, &mut high, &mut lone);
        out.push_str(text.get(run..end).unwrap_or_default());
    }
    flush_high(out, &mut high, &mut lone);
    if lone {
        diagnostics.push(Diagnostic::error(
            file,
            Some(line),
            Code::LoneSurrogate,
            "a \\uD800-\\uDFFF escape without its other half: write both halves of the surrogate pair (e.g. \\uD83D\\uDE00) or the character itself",
        ));
    }
    Some((end, non_ascii))
}

/// Ends a waiting high surrogate (`high`, 0 for none) as U+FFFD.
fn flush_high(out: &mut String, high: &mut u32, lone: &mut bool) {
    if *high != 0 {
        out.push(char::REPLACEMENT_CHARACTER);
        *lone = true;
        *high = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `scan`, `find_line_end`, `find_backslash` and `key_end` work a word
    /// at a time from marks that may be false (a tab or another control
    /// character among the line-end candidates): each against the obvious
    /// byte-by-byte search, from every start, on text where every such
    /// byte falls at every offset of a word.
    #[test]
    fn word_scans_agree_with_byte_scans() {
        let alphabet: &[u8] = b"ab \t\x0c\x0b\x01\x00\x0e\x1f\x20\x21=:\\\n\r#\xc3\xa9\x80\xff9";
        let mut seed = 0x5ca1_ab1e_u64;
        for round in 0..3000 {
            let len = round % 40;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    alphabet[(seed >> 33) as usize % alphabet.len()]
                })
                .collect();
            for from in 0..=len {
                let rest = &bytes[from..];
                let first = |stop: &dyn Fn(u8) -> bool| {
                    let n = rest.iter().position(|&b| stop(b)).unwrap_or(rest.len());
                    (from + n, rest[..n].iter().any(|&b| b >= 0x80))
                };
                let eol = first(&is_eol);
                let eol_or_backslash = first(&|b| is_eol(b) || b == b'\\');
                assert_eq!(scan::<false>(&bytes, from), eol, "{bytes:?} from {from}");
                assert_eq!(
                    scan::<true>(&bytes, from),
                    eol_or_backslash,
                    "{bytes:?} from {from}"
                );
                assert_eq!(find_line_end(&bytes, from), eol.0, "{bytes:?} from {from}");
                let backslash = first(&|b| b == b'\\').0;
                assert_eq!(
                    find_backslash(&bytes, from),
                    (backslash < len).then_some(backslash),
                    "{bytes:?} from {from}"
                );
                let (end, high) = first(&|b| class(b) != 0);
                let stop = bytes.get(end).map_or(EOL, |&b| class(b));
                assert_eq!(
                    key_end(&bytes, from),
                    (end, stop, high),
                    "{bytes:?} from {from}"
                );
            }
        }
    }
}
