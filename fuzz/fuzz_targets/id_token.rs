#![no_main]
//! Fuzz target `id_token`: the input goes through `audkenni_ciba::fuzzing::id_token`, the
//! function `crates/audkenni-ciba/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| audkenni_ciba::fuzzing::id_token(data));
