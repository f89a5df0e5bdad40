//! Replays the committed fuzz corpora (`tests/fuzz_corpus/<target>/`)
//! through the same `idm_config::fuzzing` functions the cargo-fuzz targets in
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
fn replay_properties() {
    replay("properties", idm_config::fuzzing::properties);
}

#[test]
fn replay_connector_zip() {
    replay("connector_zip", idm_config::fuzzing::connector_zip);
}

#[test]
fn replay_messaging_entry_json() {
    replay(
        "messaging_entry_json",
        idm_config::fuzzing::messaging_entry_json,
    );
}

#[test]
fn replay_hermod_settings_json() {
    replay(
        "hermod_settings_json",
        idm_config::fuzzing::hermod_settings_json,
    );
}

/// The connector-zip seed is a bundle whose check passes, so that the
/// fuzzer starts inside the bundle checks, not at the zip reader's door.
#[test]
fn the_ok_bundle_seed_reads_and_checks() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_corpus/connector_zip/seed-ok-bundle.zip");
    let bytes = std::fs::read(path).unwrap();
    let bundle = idm_config::DtrustBundle::read(&bytes, "seed-ok-bundle.zip").unwrap();
    assert!(bundle.names().count() >= 3);
    assert!(bundle.properties().is_some());
}
