//! Replays the committed fuzz corpora (`tests/fuzz_corpus/<target>/`)
//! through the same `hermod_client::fuzzing` functions the cargo-fuzz targets in
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
fn replay_hermod_answer() {
    replay("hermod_answer", hermod_client::fuzzing::hermod_answer);
}

#[test]
fn replay_hermod_callback() {
    replay("hermod_callback", hermod_client::fuzzing::hermod_callback);
}

#[cfg(feature = "axum")]
#[test]
fn replay_hermod_callback_auth() {
    replay(
        "hermod_callback_auth",
        hermod_client::fuzzing::hermod_callback_auth,
    );
}
