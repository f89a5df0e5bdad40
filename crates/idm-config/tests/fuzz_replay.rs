//! Replays the committed fuzz corpora (`tests/fuzz_corpus/<target>/`)
//! through the same `idm_config::fuzzing` functions the cargo-fuzz targets in
//! `fuzz/` call, on the stable toolchain, so that every input the fuzzer
//! kept (seeds, and each crash found, minimized) keeps passing without
//! running the fuzzer. See docs/fuzzing.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

/// Runs `entry` on every file of the target's committed corpus (see
/// `smartid_testkit::fuzz_corpus::replay`).
fn replay(target: &str, entry: fn(&[u8])) {
    smartid_testkit::fuzz_corpus::replay(env!("CARGO_MANIFEST_DIR"), target, entry);
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
