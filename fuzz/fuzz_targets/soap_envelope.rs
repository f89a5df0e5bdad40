#![no_main]
//! Fuzz target `soap_envelope`: the input goes through `dtrust_client::fuzzing::soap_envelope`, the
//! function `crates/dtrust-client/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| dtrust_client::fuzzing::soap_envelope(data));
