#![no_main]
//! Fuzz target `connector_zip`: the input goes through `idm_config::fuzzing::connector_zip`, the
//! function `crates/idm-config/tests/fuzz_replay.rs` replays the committed
//! corpus with.

libfuzzer_sys::fuzz_target!(|data: &[u8]| idm_config::fuzzing::connector_zip(data));
