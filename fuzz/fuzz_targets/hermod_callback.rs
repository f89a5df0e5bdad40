#![no_main]
//! Fuzz target `hermod_callback`: the input goes through `hermod_client::fuzzing::hermod_callback`, the
//! function `crates/hermod-client/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| hermod_client::fuzzing::hermod_callback(data));
