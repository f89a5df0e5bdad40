//! Replays the committed fuzz corpora (`tests/fuzz_corpus/<target>/`)
//! through the same `audkenni_ciba::fuzzing` functions the cargo-fuzz targets in
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
