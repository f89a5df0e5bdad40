//! Replays the committed fuzz corpora (`tests/fuzz_corpus/<target>/`)
//! through the same `smartid_core::fuzzing` functions the cargo-fuzz targets in
//! `fuzz/` call, on the stable toolchain, so that every input the fuzzer
//! kept (seeds, and each crash found, minimized) keeps passing without
//! running the fuzzer. See docs/fuzzing.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

/// Runs `entry` on every file of the target's corpus; fails when the
/// corpus is missing or empty, or when `entry` panics on a file (the
/// panic message names it).
fn replay(target: &str, entry: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fuzz_corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| entry(&data));
        assert!(outcome.is_ok(), "{target}: {} panicked", file.display());
    }
}

#[test]
fn replay_pkcs12() {
    replay("pkcs12", smartid_core::fuzzing::pkcs12);
}

#[test]
fn replay_jks() {
    replay("jks", smartid_core::fuzzing::jks);
}

#[test]
fn replay_pem() {
    replay("pem", smartid_core::fuzzing::pem);
}

#[test]
fn replay_der_cert() {
    replay("der_cert", smartid_core::fuzzing::der_cert);
}

#[test]
fn replay_retry_after() {
    replay("retry_after", smartid_core::fuzzing::retry_after);
}

/// The structured seeds open with the passwords the entry points use, so
/// that the fuzzer starts past the MAC and format checks.
#[test]
fn the_keystore_seeds_open_with_the_entry_points_passwords() {
    use smartid_core::fuzzing::SEED_PASSWORDS;
    use smartid_core::{Keystore, KeystoreFormat, Secret};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus");
    for (file, password, format) in [
        (
            "pkcs12/seed-client-openssl3.p12",
            SEED_PASSWORDS[0],
            KeystoreFormat::Pkcs12,
        ),
        (
            "pkcs12/seed-keystore-keytool.p12",
            SEED_PASSWORDS[1],
            KeystoreFormat::Pkcs12,
        ),
        (
            "jks/seed-keystore.jks",
            SEED_PASSWORDS[1],
            KeystoreFormat::Jks,
        ),
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let store = Keystore::from_bytes(&bytes, file, Some(&Secret::new(password)))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(store.format(), format, "{file}");
        assert!(store.identities().count() > 0, "{file}");
    }
}
