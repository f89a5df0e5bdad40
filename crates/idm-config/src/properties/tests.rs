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
