#![no_main]
//! Fuzz target `retry_after`: the input goes through `smartid_core::fuzzing::retry_after`, the
//! function `crates/smartid-core/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| smartid_core::fuzzing::retry_after(data));
