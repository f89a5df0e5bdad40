#![no_main]
//! Fuzz target `pkcs12`: the input goes through `smartid_core::fuzzing::pkcs12`, the
//! function `crates/smartid-core/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| smartid_core::fuzzing::pkcs12(data));
