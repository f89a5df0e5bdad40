//! Replays the committed fuzz corpora (`tests/fuzz_corpus/<target>/`)
//! through the same `audkenni_ciba::fuzzing` functions the cargo-fuzz targets in
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
fn replay_ciba_answer() {
    replay("ciba_answer", audkenni_ciba::fuzzing::ciba_answer);
}

#[test]
fn replay_id_token() {
    replay("id_token", audkenni_ciba::fuzzing::id_token);
}

#[test]
fn replay_jwks() {
    replay("jwks", audkenni_ciba::fuzzing::jwks);
}

#[test]
fn replay_cms_signed_data() {
    replay("cms_signed_data", audkenni_ciba::fuzzing::cms_signed_data);
}

/// The CMS seeds are SignedData the client verifies (signature and signed
/// attributes), so that the fuzzer starts past the ASN.1 reader.
#[test]
fn the_cms_seeds_verify_without_a_chain_check() {
    use std::time::{Duration, UNIX_EPOCH};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus/cms_signed_data");
    let [sample_time, fixture_time] = audkenni_ciba::fuzzing::CMS_TIMES;
    for (file, time) in [
        ("seed-00-audkenni-sample", sample_time),
        ("seed-01-openssl-rsa", fixture_time),
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let at = UNIX_EPOCH + Duration::from_secs(time);
        let check = audkenni_ciba::SignatureCheck::without_chain_check().at(at);
        audkenni_ciba::verify_cms(&bytes, &check).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}
