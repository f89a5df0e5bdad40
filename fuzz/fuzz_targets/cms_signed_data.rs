#![no_main]
//! Fuzz target `cms_signed_data`: the input goes through `audkenni_ciba::fuzzing::cms_signed_data`, the
//! function `crates/audkenni-ciba/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| audkenni_ciba::fuzzing::cms_signed_data(data));
