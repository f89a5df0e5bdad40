//! The compact JWS: its parts, its header, the algorithm allowlist.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use serde_json::Value;

use crate::error::IdTokenError;

/// The parts of a compact JWS, with the header fields that matter.
pub(crate) struct ParsedJws<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(super) signing_input: &'a str,
    pub(super) signature: &'a str,
    pub(crate) payload: Vec<u8>,
}

/// Splits a token and checks the algorithm against the allowlist.
pub(crate) fn parse_jws(token: &str) -> Result<ParsedJws<'_>, IdTokenError> {
    let malformed = |m: &str| IdTokenError::Malformed(m.to_owned());
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three dot-separated parts"));
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| malformed("the header is not base64url JSON"))?;
    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = match alg_name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        other => return Err(IdTokenError::AlgorithmNotAllowed(other.to_owned())),
    };
    if header.get("crit").is_some() {
        return Err(malformed("critical header parameters are not supported"));
    }
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| malformed("the payload is not base64url"))?;
    let signing_input = token.trim().get(..h.len() + 1 + p.len()).unwrap_or("");
    Ok(ParsedJws {
        alg,
        kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
        signing_input,
        signature: s,
        payload,
    })
}

/// Standard or URL-safe base64, padded or not.
pub(crate) fn decode_b64(s: &str) -> Option<Vec<u8>> {
    // Whitespace is skipped; most values have none, and need no copy.
    let owned: String;
    let s = if s.chars().any(char::is_whitespace) {
        owned = s.chars().filter(|c| !c.is_whitespace()).collect();
        owned.as_str()
    } else {
        s
    };
    STANDARD
        .decode(s)
        .ok()
        .or_else(|| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(s.trim_end_matches('='))
                .ok()
        })
        .or_else(|| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
}
