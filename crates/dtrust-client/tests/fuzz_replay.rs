//! Replays the committed fuzz corpora (`tests/fuzz_corpus/<target>/`)
//! through the same `dtrust_client::fuzzing` functions the cargo-fuzz targets in
//! `fuzz/` call, on the stable toolchain, so that every input the fuzzer
//! kept (seeds, and each crash found, minimized) keeps passing without
//! running the fuzzer. See docs/fuzzing.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Runs `entry` on every file of the target's committed corpus (see
/// `smartid_testkit::fuzz_corpus::replay`).
fn replay(target: &str, entry: fn(&[u8])) {
    smartid_testkit::fuzz_corpus::replay(env!("CARGO_MANIFEST_DIR"), target, entry);
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
