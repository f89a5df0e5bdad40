//! Replays the committed fuzz corpora (`tests/fuzz_corpus/<target>/`)
//! through the same `dtrust_client::fuzzing` functions the cargo-fuzz targets in
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
fn replay_dtrust_rest_answer() {
    replay(
        "dtrust_rest_answer",
        dtrust_client::fuzzing::dtrust_rest_answer,
    );
}

#[test]
fn replay_soap_envelope() {
    replay("soap_envelope", dtrust_client::fuzzing::soap_envelope);
}
