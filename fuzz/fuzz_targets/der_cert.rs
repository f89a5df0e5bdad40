#![no_main]
//! Fuzz target `der_cert`: the input goes through `smartid_core::fuzzing::der_cert`, the
//! function `crates/smartid-core/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| smartid_core::fuzzing::der_cert(data));
