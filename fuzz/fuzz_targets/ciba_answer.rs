#![no_main]
//! Fuzz target `ciba_answer`: the input goes through `audkenni_ciba::fuzzing::ciba_answer`, the
//! function `crates/audkenni-ciba/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| audkenni_ciba::fuzzing::ciba_answer(data));
