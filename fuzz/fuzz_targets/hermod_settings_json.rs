#![no_main]
//! Fuzz target `hermod_settings_json`: the input goes through `idm_config::fuzzing::hermod_settings_json`, the
//! function `crates/idm-config/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| idm_config::fuzzing::hermod_settings_json(data));
