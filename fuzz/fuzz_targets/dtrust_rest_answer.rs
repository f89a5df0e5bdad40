#![no_main]
//! Fuzz target `dtrust_rest_answer`: the input goes through `dtrust_client::fuzzing::dtrust_rest_answer`, the
//! function `crates/dtrust-client/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| dtrust_client::fuzzing::dtrust_rest_answer(data));
