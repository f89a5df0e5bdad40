#![no_main]
//! Fuzz target `jwks`: the input goes through `audkenni_ciba::fuzzing::jwks`, the
//! function `crates/audkenni-ciba/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| audkenni_ciba::fuzzing::jwks(data));
