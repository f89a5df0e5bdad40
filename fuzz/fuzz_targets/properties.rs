#![no_main]
//! Fuzz target `properties`: the input goes through `idm_config::fuzzing::properties`, the
//! function `crates/idm-config/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| idm_config::fuzzing::properties(data));
