//! Property-based tests of the writer and of in-place editing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use idm_config::{Encoding, PropertiesFile};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ a-zA-Z0-9=:#!\\\\\t\r\n\u{c}éÞð€😀]{0,12}",
    ]
}

fn map_of(file: &PropertiesFile) -> BTreeMap<String, String> {
    file.iter()
        .map(|p| (p.key().to_owned(), p.value().to_owned()))
        .collect()
}

/// A raw logical line: comment, blank, or an entry in one of Java's spellings.
fn raw_line() -> impl Strategy<Value = (Option<String>, String)> {
    let ending = prop_oneof![Just("\n"), Just("\r\n"), Just("\r")];
    let key = "[a-zA-Z][a-zA-Z0-9.]{0,8}";
    let value = "[a-zA-Z0-9 éÞ=:#!]{0,10}";
    let sep = prop_oneof![Just("="), Just(" = "), Just(":"), Just(" "), Just("\t:\t")];
    prop_oneof![
        ("[#!][^\r\n]{0,12}", ending.clone()).prop_map(|(c, e)| (None, format!("{c}{e}"))),
        ("[ \t]{0,3}", ending.clone()).prop_map(|(w, e)| (None, format!("{w}{e}"))),
        (
            "[ \t]{0,2}",
            key,
            sep,
            value,
            ending.clone(),
            prop::option::of(("[ \t]{0,3}", value))
        )
            .prop_map(|(lead, k, s, v, e, cont)| {
                let v = v.trim_start().to_owned();
                let raw = match cont {
                    Some((w, more)) => format!("{lead}{k}{s}{v}\\{e}{w}{more}{e}"),
                    None => format!("{lead}{k}{s}{v}{e}"),
                };
                (Some(k), raw)
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_parse_without_panic_and_write_back_identically(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let file = PropertiesFile::parse(&bytes, "any.properties");
        prop_assert_eq!(file.to_bytes(), bytes);
    }

    #[test]
    fn any_text_writes_back_identically(text in "[a-z =:#!\\\\\t\r\n\u{c}\u{feff}éÞ😀]{0,60}") {
        let file = PropertiesFile::parse(text.as_bytes(), "any.properties");
        prop_assert_eq!(file.to_bytes(), text.as_bytes());
    }

    #[test]
    fn any_map_written_and_parsed_again_is_equal(map in prop::collection::btree_map(text(), text(), 0..12)) {
        let mut file = PropertiesFile::new("gen.properties");
        for (k, v) in &map {
            file.set(k, v);
        }
        let again = PropertiesFile::parse(&file.to_bytes(), "gen.properties");
        prop_assert!(again.diagnostics().iter().all(|d| !d.is_error()), "{:?}", again.diagnostics());
        prop_assert_eq!(map_of(&again), map);
    }

    #[test]
    fn latin1_files_keep_their_encoding(map in prop::collection::btree_map(text(), text(), 0..8)) {
        let mut file = PropertiesFile::parse(b"# caf\xe9\n", "latin1.properties");
        prop_assert_eq!(file.encoding(), Encoding::Latin1);
        for (k, v) in &map {
            file.set(k, v);
        }
        let bytes = file.to_bytes();
        prop_assert!(bytes.starts_with(b"# caf\xe9\n"));
        let again = PropertiesFile::parse(&bytes, "latin1.properties");
        prop_assert_eq!(again.encoding(), Encoding::Latin1);
        prop_assert_eq!(map_of(&again), map);
    }

    #[test]
    fn editing_one_key_leaves_every_other_line_byte_identical(
        lines in prop::collection::vec(raw_line(), 1..25),
        pick in any::<prop::sample::Index>(),
        new_value in text(),
    ) {
        let original: String = lines.iter().map(|(_, raw)| raw.as_str()).collect();
        let file = PropertiesFile::parse_str(&original, "edit.properties");
        // The entry that wins for a key present in the file.
        let keys: Vec<&str> = lines.iter().filter_map(|(k, _)| k.as_deref()).collect();
        prop_assume!(!keys.is_empty());
        let key = keys[pick.index(keys.len())];
        let winner = lines.iter().rposition(|(k, _)| k.as_deref() == Some(key)).unwrap();

        let mut edited = file.clone();
        edited.set(key, &new_value);
        let out = edited.to_text();
        let before: String = lines[..winner].iter().map(|(_, r)| r.as_str()).collect();
        let after: String = lines[winner + 1..].iter().map(|(_, r)| r.as_str()).collect();
        prop_assert!(out.starts_with(&before), "lines before the edit changed");
        prop_assert!(out.ends_with(&after), "lines after the edit changed");
        let again = PropertiesFile::parse_str(&out, "edit.properties");
        prop_assert_eq!(again.get(key), Some(new_value.as_str()));
        let mut expected = map_of(&file);
        expected.insert(key.to_owned(), new_value.clone());
        prop_assert_eq!(map_of(&again), expected);
        // Unchanged file round-trips byte for byte.
        prop_assert_eq!(file.to_text(), original);
    }
}
