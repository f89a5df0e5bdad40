//! Escaping for writing keys and values the way Java's `Properties.store` does.

/// Escapes a key: every space, separators, comment starters, backslashes
/// and control characters. Characters above `max_char` become `\uXXXX`
/// (UTF-16 units), so a file can stay ISO-8859-1 or ASCII.
pub(crate) fn escape_key(key: &str, max_char: u32) -> String {
    escape(key, true, max_char)
}

/// Escapes a value: as a key, except that only a leading space is escaped.
pub(crate) fn escape_value(value: &str, max_char: u32) -> String {
    escape(value, false, max_char)
}

fn escape(s: &str, is_key: bool, max_char: u32) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for (i, c) in s.chars().enumerate() {
        match c {
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            '=' | ':' | '#' | '!' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' || (c as u32) > max_char => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_java_store() {
        assert_eq!(escape_key("a b=c:d", 0x10FFFF), "a\\ b\\=c\\:d");
        assert_eq!(
            escape_value(" lead and inner ", 0x10FFFF),
            "\\ lead and inner "
        );
        assert_eq!(escape_value("#!\\\t\n", 0x10FFFF), "\\#\\!\\\\\\t\\n");
        assert_eq!(escape_value("Jón", 0xFF), "Jón");
        assert_eq!(escape_value("Jón", 0x7F), "J\\u00F3n");
        assert_eq!(escape_value("😀", 0xFF), "\\uD83D\\uDE00");
        assert_eq!(escape_value("\u{1}", 0x10FFFF), "\\u0001");
    }
}
