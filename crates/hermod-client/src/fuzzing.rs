//! Entry points for the fuzz targets in `fuzz/` and for the replay of their
//! committed corpora (`tests/fuzz_replay.rs`). **Not part of the public
//! API**: no stability promise. Each function runs its input through the
//! public parsers a caller runs on Hermod's answers and callbacks, and
//! renders what comes out, so that a panic anywhere on that path shows.

use smartid_core::HttpResponse;

use crate::{Callback, CommandAnswer, CommandKind, HermodConfig, ServerError};

/// The HTTP statuses the first input byte of [`hermod_answer`] chooses
/// from (byte modulo length).
pub const STATUSES: [u16; 8] = [200, 201, 202, 400, 401, 403, 404, 500];

fn show<T: std::fmt::Debug>(result: crate::Result<T>) {
    match result {
        Ok(v) => {
            let _ = format!("{v:?}");
        }
        Err(e) => {
            let _ = format!("{e} {e:?}");
        }
    }
}

/// An answer to a command: the first byte picks the status
/// (`STATUSES`), the rest is the body. Runs
/// [`crate::parse_command_response`], [`CommandAnswer::from_json`], the
/// Desktop and Mobile App links of the answer, and
/// [`ServerError::from_response`].
pub fn hermod_answer(data: &[u8]) {
    let (status, body) = match data.split_first() {
        Some((first, rest)) => (STATUSES[usize::from(*first) % STATUSES.len()], rest),
        None => (200, data),
    };
    let url = "https://hermod.fuzz.invalid/hermod/rest/command/sign";
    let response = HttpResponse::new(
        status,
        vec![("Content-Type".into(), "application/json".into())],
        body.to_vec(),
        url,
    );
    if let Ok(config) = HermodConfig::builder("https://hermod.fuzz.invalid/hermod/rest/command")
        .token_base64("ZnV6ejpmdXp6LWtleQ==")
        .build()
    {
        show(crate::parse_command_response(&config, &response));
    }
    match CommandAnswer::from_json(body, url) {
        Ok(answer) => {
            let _ = format!("{answer:?}");
            show(answer.desktop_link());
            show(answer.mobile_link("Fuzz", Some("https://fuzz.invalid/done")));
            show(answer.mobile_link("", None));
        }
        Err(e) => {
            let _ = format!("{e}");
        }
    }
    let error = ServerError::from_response(&response);
    let _ = format!("{error} {error:?}");
}

/// A callback body, read as each known kind and as an unknown one; its
/// first line also as a callback path segment.
pub fn hermod_callback(data: &[u8]) {
    let mut kinds: Vec<Option<CommandKind>> = vec![None];
    kinds.extend(CommandKind::KNOWN.iter().cloned().map(Some));
    for kind in kinds {
        match Callback::from_json(kind, data) {
            Ok(callback) => {
                let _ = format!("{callback:?}");
                let _ = serde_json::to_string(&callback);
                let _ = callback.state.is_final();
            }
            Err(e) => {
                let _ = format!("{e} {e:?}");
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    let first = text.lines().next().unwrap_or_default();
    let _ = CommandKind::from_path_segment(first).map(|k| k.command_type());
}

/// The callback receiver's `Authorization` check: the input is the header
/// value, checked against fixed Basic credentials (`fuzz:fuzz-password`).
#[cfg(feature = "axum")]
pub fn hermod_callback_auth(data: &[u8]) {
    use axum::http::{HeaderMap, HeaderValue, header};
    let expected = smartid_core::Secret::new("fuzz:fuzz-password");
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(data) {
        headers.insert(header::AUTHORIZATION, value);
    }
    let _ = crate::receiver::authorized(&headers, &expected);
}
