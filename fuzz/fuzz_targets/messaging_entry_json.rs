#![no_main]
//! Fuzz target `messaging_entry_json`: the input goes through `idm_config::fuzzing::messaging_entry_json`, the
//! function `crates/idm-config/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| idm_config::fuzzing::messaging_entry_json(data));
