use super::*;

fn parse(text: &str) -> PropertiesFile {
    PropertiesFile::parse_str(text, "t.properties")
}

fn pairs(file: &PropertiesFile) -> Vec<(String, String)> {
    file.iter()
        .map(|p| (p.key().to_owned(), p.value().to_owned()))
        .collect()
}

#[test]
fn java_rules_separators_and_whitespace() {
    let f = parse("a=1\nb:2\nc 3\n  d  =  4  \ne\t:\t5\nf\ng=\n\\:h\\=i=6\nj \\ k = 7\n");
    let expected = [
        ("a", "1"),
        ("b", "2"),
        ("c", "3"),
        ("d", "4  "),
        ("e", "5"),
        ("f", ""),
        ("g", ""),
        (":h=i", "6"),
        ("j", "\\ k = 7"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).replace("\\ ", " ")))
        .collect();
    assert_eq!(pairs(&f), expected);
}

#[test]
fn comments_continuations_and_escapes() {
    let text =
        "# comment\n  ! also\nkey = one \\\n      two\\\n three\nu=\\u00F3\\t\\x\nlast=end\\";
    let f = parse(text);
    assert_eq!(f.get("key"), Some("one twothree"));
    assert_eq!(f.get("u"), Some("ó\tx"));
    assert_eq!(f.get("last"), Some("end"));
    assert_eq!(f.property("u").map(Property::line), Some(6));
    assert!(
        f.diagnostics()
            .iter()
            .any(|d| d.code == Code::ContinuationAtEnd)
    );
    assert_eq!(f.to_text(), text);
}

#[test]
fn comment_marker_after_continuation_is_content() {
    let f = parse("a=x\\\n#not a comment\n");
    assert_eq!(f.get("a"), Some("x#not a comment"));
}

#[test]
fn lone_backslash_line_starts_fresh() {
    let f = parse("\\\n#comment\nk=v\n");
    assert_eq!(pairs(&f), vec![("k".to_owned(), "v".to_owned())]);
}

#[test]
fn crlf_and_cr_line_endings() {
    let text = "a=1\r\nb=2\\\r\n  3\rc=4";
    let f = parse(text);
    assert_eq!(f.get("b"), Some("23"));
    assert_eq!(f.get("c"), Some("4"));
    assert_eq!(f.property("c").map(Property::line), Some(4));
    assert_eq!(f.to_text(), text);
}

#[test]
fn duplicate_last_wins_with_warning() {
    let f = parse("a=1\nb=2\na=3\n");
    assert_eq!(f.get("a"), Some("3"));
    assert_eq!(f.len(), 2);
    let d: Vec<_> = f
        .diagnostics()
        .iter()
        .filter(|d| d.code == Code::DuplicateKey)
        .collect();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].line, Some(1));
}

#[test]
fn malformed_and_surrogate_escapes() {
    let f = parse("a=\\u12G4\nb=\\uD83D\\uDE00\nc=\\uD83D\n");
    assert!(
        f.diagnostics()
            .iter()
            .any(|d| d.code == Code::MalformedUnicodeEscape && d.line == Some(1))
    );
    assert_eq!(f.get("b"), Some("😀"));
    assert!(
        f.diagnostics()
            .iter()
            .any(|d| d.code == Code::LoneSurrogate && d.line == Some(3))
    );
}

#[test]
fn latin1_fallback_round_trips() {
    let bytes = b"name=J\xf3n M\xfcller\n# \xe9\n";
    let mut f = PropertiesFile::parse(bytes, "l.properties");
    assert_eq!(f.encoding(), Encoding::Latin1);
    assert_eq!(f.get("name"), Some("Jón Müller"));
    assert_eq!(f.to_bytes(), bytes);
    f.set("city", "Reykjavík Þ €");
    assert_eq!(
        f.to_bytes(),
        b"name=J\xf3n M\xfcller\n# \xe9\ncity=Reykjav\xedk \xde \\u20AC\n".to_vec()
    );
    let again = PropertiesFile::parse(&f.to_bytes(), "l.properties");
    assert_eq!(again.get("city"), Some("Reykjavík Þ €"));
}

#[test]
fn utf8_with_bom_round_trips_and_warns_non_ascii() {
    let bytes = "\u{feff}name=Jón\n".as_bytes();
    let f = PropertiesFile::parse(bytes, "u.properties");
    assert_eq!(f.encoding(), Encoding::Utf8);
    assert_eq!(f.get("name"), Some("Jón"));
    assert_eq!(f.to_bytes(), bytes);
    assert!(f.diagnostics().iter().any(|d| d.code == Code::NonAsciiUtf8));
}

#[test]
fn set_keeps_prefix_and_other_lines() {
    let mut f = parse("# c\n  key  :  old\\\n   more\nother=x\r\nbare\n");
    f.set("key", "new value");
    f.set("bare", "v");
    f.set("added key", " lead");
    assert_eq!(
        f.to_text(),
        "# c\n  key  :  new value\nother=x\r\nbare=v\nadded\\ key=\\ lead\n"
    );
    assert_eq!(f.property("other").map(Property::line), Some(3));
    let again = parse(&f.to_text());
    assert_eq!(again.get("added key"), Some(" lead"));
    assert_eq!(again.get("key"), Some("new value"));
}

#[test]
fn set_on_file_without_final_newline_and_remove() {
    let mut f = parse("a=1\r\nb=2");
    f.set("c", "3");
    assert_eq!(f.to_text(), "a=1\r\nb=2\r\nc=3\r\n");
    assert_eq!(f.remove("b"), 1);
    assert_eq!(f.to_text(), "a=1\r\nc=3\r\n");
    assert!(!f.contains_key("b"));
}

#[test]
fn debug_shows_no_values() {
    let f = parse("p12Password=topsecret\n");
    assert!(!format!("{f:?}").contains("topsecret"));
}

#[test]
fn malformed_escape_message_shows_no_value_text() {
    let f = parse("p12Password=se\\uZZcret\n");
    let d = f
        .diagnostics()
        .iter()
        .find(|d| d.code == Code::MalformedUnicodeEscape)
        .unwrap();
    assert_eq!(d.line, Some(1));
    assert!(!d.message.contains("ZZcr"), "{}", d.message);
}

#[test]
fn explicit_encodings_read_as_java_does() {
    let utf8 = "a=J\u{f3}n\n".as_bytes();
    let latin1 = b"a=J\xf3n\nb=\xe9\n";
    // load(InputStream): bytes are characters, no UTF-8 warning.
    let f = PropertiesFile::parse_with(utf8, "t", ReadEncoding::Latin1);
    assert_eq!(f.get("a"), Some("J\u{c3}\u{b3}n"));
    assert_eq!(f.encoding(), Encoding::Latin1);
    assert!(f.diagnostics().is_empty());
    assert_eq!(f.to_bytes(), utf8);
    // load(Reader) in UTF-8: invalid bytes become U+FFFD, reported with the line.
    let f = PropertiesFile::parse_with(latin1, "t", ReadEncoding::Utf8);
    assert_eq!(f.get("a"), Some("J\u{fffd}n"));
    let d: Vec<_> = f.diagnostics().iter().map(|d| (d.code, d.line)).collect();
    assert!(d.contains(&(Code::InvalidUtf8Replaced, Some(1))), "{d:?}");
    // Detect: the default.
    assert_eq!(PropertiesFile::parse(latin1, "t").get("b"), Some("\u{e9}"));
    assert_eq!(ReadEncoding::default(), ReadEncoding::Detect);
}

// Edges of the byte-scanning parser: terminators and backslashes at every
// offset of the 8-byte words it scans, CRLF / lone CR, continuations at the
// end of the file, malformed `\u` escapes, both encodings.

#[test]
fn terminators_and_escapes_at_every_word_offset() {
    for n in 0..40 {
        let filler = "x".repeat(n);
        for term in ["\n", "\r\n", "\r"] {
            let text = format!("k={filler}{term}a{filler}=1{term}# c{filler}{term}b=2");
            let f = parse(&text);
            assert_eq!(f.get("k"), Some(filler.as_str()), "{text:?}");
            assert_eq!(f.get(&format!("a{filler}")), Some("1"), "{text:?}");
            assert_eq!(f.property("b").map(Property::line), Some(4), "{text:?}");
            assert_eq!(f.to_text(), text);
        }
        let text = format!("k={filler}\\ty{filler}\\\n  z\nw{filler}\\=v=1\n");
        let f = parse(&text);
        assert_eq!(
            f.get("k"),
            Some(format!("{filler}\ty{filler}z").as_str()),
            "{text:?}"
        );
        assert_eq!(f.get(&format!("w{filler}=v")), Some("1"), "{text:?}");
        assert_eq!(
            f.property(&format!("w{filler}=v")).map(Property::line),
            Some(3)
        );
    }
}

#[test]
fn crlf_continuations_and_lone_cr_count_lines() {
    let text = "a=1\\\r\n  2\\\r\n\t3\r\nb=x\\\r  y\rc=\\\n\r\nd=4";
    let f = parse(text);
    assert_eq!(f.get("a"), Some("123"));
    assert_eq!(f.get("b"), Some("xy"));
    // A continuation onto an empty line ends the value there.
    assert_eq!(f.get("c"), Some(""));
    assert_eq!(f.property("b").map(Property::line), Some(4));
    assert_eq!(f.property("c").map(Property::line), Some(6));
    assert_eq!(f.property("d").map(Property::line), Some(8));
    assert_eq!(f.to_text(), text);
}

#[test]
fn continuation_at_end_of_file_in_each_form() {
    for (text, value, line) in [
        ("a=x\\", "x", 1),
        ("a=x\\\n", "x", 1),
        ("a=x\\\r\n", "x", 1),
        ("q=1\na=x\\\n  y\\\r", "xy", 3),
    ] {
        let f = parse(text);
        assert_eq!(f.get("a"), Some(value), "{text:?}");
        let d: Vec<_> = f
            .diagnostics()
            .iter()
            .filter(|d| d.code == Code::ContinuationAtEnd)
            .map(|d| d.line)
            .collect();
        assert_eq!(d, vec![Some(line)], "{text:?}");
        assert_eq!(f.to_text(), text);
    }
    // An escaped backslash at the end is no continuation.
    let f = parse("a=x\\\\");
    assert_eq!(f.get("a"), Some("x\\"));
    assert!(f.diagnostics().is_empty());
}

#[test]
fn malformed_unicode_escapes_in_keys_and_values() {
    for (text, key, value) in [
        ("a=\\u", "a", "\\u"),
        ("a=\\u12", "a", "\\u12"),
        ("a=\\u00g1z", "a", "\\u00g1z"),
        ("a=\\u00\u{e9}1", "a", "\\u00\u{e9}1"),
        ("k\\u12=v", "k\\u12", "v"),
    ] {
        let f = parse(text);
        assert_eq!(f.get(key), Some(value), "{text:?}");
        assert!(
            f.diagnostics()
                .iter()
                .any(|d| d.code == Code::MalformedUnicodeEscape && d.line == Some(1)),
            "{text:?}"
        );
    }
    // Upper and lower case hex, a backslash before a non-ASCII character.
    let f = parse("a=\\u00E9\\u00e9\\\u{fe}\\\u{1f600}\n");
    assert_eq!(f.get("a"), Some("\u{e9}\u{e9}\u{fe}\u{1f600}"));
    assert!(
        !f.diagnostics()
            .iter()
            .any(|d| d.code == Code::MalformedUnicodeEscape)
    );
}

#[test]
fn escapes_and_plain_entries_decode_alike_in_both_encodings() {
    let utf8 = "k\\ 1=J\u{f3}n \\u00DE\nk2 = plain \u{f3}\n".as_bytes();
    let f = PropertiesFile::parse(utf8, "u");
    assert_eq!(f.encoding(), Encoding::Utf8);
    assert_eq!(f.get("k 1"), Some("J\u{f3}n \u{de}"));
    assert_eq!(f.get("k2"), Some("plain \u{f3}"));
    let latin1 = b"k\\ 1=J\xf3n \\u00DE\nk2 = plain \xf3\n";
    let f = PropertiesFile::parse(latin1, "l");
    assert_eq!(f.encoding(), Encoding::Latin1);
    assert_eq!(f.get("k 1"), Some("J\u{f3}n \u{de}"));
    assert_eq!(f.get("k2"), Some("plain \u{f3}"));
    assert_eq!(f.to_bytes(), latin1);
}

#[test]
fn index_finds_every_key_and_the_last_duplicate() {
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!("key{i}=v{i}\n"));
    }
    text.push_str("key7=again\n");
    let f = parse(&text);
    assert_eq!(f.len(), 3000);
    for i in 0..3000 {
        let want = if i == 7 {
            "again".to_owned()
        } else {
            format!("v{i}")
        };
        assert_eq!(f.get(&format!("key{i}")), Some(want.as_str()));
    }
    assert_eq!(f.get("key3000"), None);
    assert_eq!(f.iter().count(), 3000);
    assert_eq!(f.all_entries().count(), 3001);
    assert!(PropertiesFile::new("e").get("x").is_none());
}

#[test]
fn property_debug_shows_key_not_value() {
    let f = parse("p12Password=topsecret\n");
    let p = f.property("p12Password").unwrap();
    let debug = format!("{p:?}");
    assert!(debug.contains("p12Password"), "{debug}");
    assert!(!debug.contains("topsecret"), "{debug}");
}

// The parser decodes a value straight from its line and only joins lines
// when it meets a continuation: both ways must give Java's result, with
// each problem reported once.
#[test]
fn escapes_before_and_across_continuations() {
    let f = parse(
        "a=\\u00F3 \\\n  b\nc = x\\u00\\\n  F3y\nd=\\uZZ \\\n  e\nf=\\uD83D\\\n\\uDE00\ng=J\\u00F3n\\\\\n",
    );
    assert_eq!(f.get("a"), Some("ó b"));
    assert_eq!(f.get("c"), Some("xóy"));
    assert_eq!(f.get("d"), Some("\\uZZ e"));
    assert_eq!(f.get("f"), Some("😀"));
    assert_eq!(f.get("g"), Some("Jón\\"));
    assert_eq!(f.property("g").map(Property::line), Some(9));
    let codes: Vec<_> = f.diagnostics().iter().map(|d| (d.code, d.line)).collect();
    assert_eq!(codes, [(Code::MalformedUnicodeEscape, Some(5))]);
}

/// Everything a parse gives (items, properties with their prefixes,
/// diagnostics, the first non-ASCII entry), as text; with `general`, with
/// every line that holds a backslash taken by the general path.
fn describe(text: &str, general: bool) -> String {
    use std::fmt::Write;
    let mut buf = text.to_owned();
    let mut diagnostics = Vec::new();
    let parsed = if general {
        parser::parse_general(text, &mut buf, "d.properties", &mut diagnostics)
    } else {
        parser::parse(text, &mut buf, "d.properties", &mut diagnostics)
    };
    let buf = Arc::new(buf);
    let mut out = String::new();
    for mut item in parsed.items {
        let raw = item.raw.as_str(&buf).to_owned();
        match &mut item.kind {
            ItemKind::Entry { property, prefix } => {
                property.attach(&buf);
                let prefix = prefix.map(|p| (p.len, p.add_separator));
                let _ = writeln!(
                    out,
                    "entry {raw:?}: {:?} = {:?}, line {}, prefix {prefix:?}",
                    property.key(),
                    property.value(),
                    property.line(),
                );
            }
            ItemKind::Blank => {
                let _ = writeln!(out, "blank {raw:?}");
            }
            ItemKind::Comment => {
                let _ = writeln!(out, "comment {raw:?}");
            }
        }
    }
    let _ = writeln!(out, "{diagnostics:?}");
    let _ = writeln!(
        out,
        "first non-ASCII entry {:?}",
        parsed.first_non_ascii_entry
    );
    out
}

const FRAGMENTS: &[&str] = &[
    "a",
    "key",
    "x",
    "é",
    "Þ",
    "😀",
    " ",
    "  ",
    "\t",
    "\u{c}",
    "=",
    ":",
    "#",
    "!",
    "\\",
    "\\\\",
    "\\ ",
    "\\=",
    "\\:",
    "\\#",
    "\\t",
    "\\n",
    "\\r",
    "\\f",
    "\\x",
    "\\é",
    "\\😀",
    "\\u00e9",
    "\\u00E9\\u00F0",
    "\\u20AC",
    "\\uD83D\\uDE00",
    "\\uD83D",
    "\\uDE00",
    "\\uD83Dz",
    "\\u12",
    "\\u12 =",
    "\\u",
    "\\u00g1",
    "\n",
    "\r\n",
    "\r",
    "\\\n",
    "\\\r\n",
    "\\\r",
    "\\\\\\\n",
    "\\\n  ",
    "\n#",
    "\n!",
    "\n ",
    "x=y",
    "k\\:1=",
    "v\\u00F3 ",
    "0123456789abcdef",
];

// The shortcuts (a key or a value decoded straight from its line, a value
// joined alone across continuation lines) against the general path, on
// generated lines full of escapes, separators and continuations.
#[test]
fn shortcuts_agree_with_the_general_path() {
    let mut seed = 0x0dd_ba11_u64;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    for _ in 0..20_000 {
        let mut text = String::new();
        for _ in 0..1 + next(24) {
            text.push_str(FRAGMENTS[next(FRAGMENTS.len())]);
        }
        assert_eq!(describe(&text, false), describe(&text, true), "{text:?}");
    }
    // The bench's lines and their neighbours.
    for text in [
        "name.1=J\\u00F3n \\u00DE\\u00F3r M\\u00fcller 1\n",
        "long.3 = first part \\\n    second part \\\n    third part 3\n",
        "path\\:4\\ x : C\\:\\\\dir\\\\file4.p12\n",
        "path\\:4\\ x \\\n : C\\:\\\\dir\\\\file4.p12\n",
        "k\\u0041\\\n=v",
        "k\\=a=b\\u00\\\nF3\\\\",
        "k\\ =\\\\\\",
    ] {
        assert_eq!(describe(text, false), describe(text, true), "{text:?}");
    }
}

// The key index is built as the entries are read; rebuilt from the items
// afterwards (as an edit rebuilds it) it must be the same: the same number
// of keys, the same winner for each, the same answer to "repeated".
#[test]
fn index_built_while_parsing_is_the_rebuilt_one() {
    let mut seed = 0x1dea_u64;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    for round in 0..3000 {
        let mut text = String::new();
        for _ in 0..1 + next(40) {
            text.push_str(FRAGMENTS[next(FRAGMENTS.len())]);
            if next(3) == 0 {
                // Few distinct keys, so that many repeat.
                text.push_str(&format!("\nk{}=v\n", next(1 + round % 50)));
            }
        }
        let parsed = parse(&text);
        let mut rebuilt = parsed.clone();
        let repeated = rebuilt.reindex();
        assert_eq!(parsed.len(), rebuilt.len(), "{text:?}");
        let duplicates = parsed
            .diagnostics()
            .iter()
            .any(|d| d.code == Code::DuplicateKey);
        assert_eq!(duplicates, repeated, "{text:?}");
        for p in parsed.all_entries() {
            assert_eq!(
                parsed.index.get(&parsed.items, p.key()),
                rebuilt.index.get(&rebuilt.items, p.key()),
                "{text:?}"
            );
        }
    }
}

proptest::proptest! {
    #[test]
    fn shortcuts_agree_with_the_general_path_on_any_text(
        parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..30)
    ) {
        let text = parts.concat();
        proptest::prop_assert_eq!(describe(&text, false), describe(&text, true));
    }
}
