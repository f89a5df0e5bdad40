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
    // Whitespace is skipped; most values have none, and need no copy. The
    // usual text is ASCII, filtered byte by byte (`char::is_whitespace` on
    // ASCII is exactly `is_space` below); other text char by char.
    let owned: Vec<u8>;
    let b = if s.is_ascii() {
        if s.bytes().any(is_space) {
            owned = s.bytes().filter(|b| !is_space(*b)).collect();
            &owned[..]
        } else {
            s.as_bytes()
        }
    } else if s.chars().any(char::is_whitespace) {
        owned = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .into_bytes();
        &owned[..]
    } else {
        s.as_bytes()
    };
    let unpadded = || {
        let end = b.iter().rposition(|c| *c != b'=').map_or(0, |i| i + 1);
        b.get(..end).unwrap_or_default()
    };
    STANDARD
        .decode(b)
        .ok()
        .or_else(|| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(unpadded())
                .ok()
        })
        .or_else(|| URL_SAFE_NO_PAD.decode(unpadded()).ok())
}

/// The ASCII characters `char::is_whitespace` accepts (with the vertical
/// tab, which `u8::is_ascii_whitespace` leaves out).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

#[cfg(test)]
mod tests {
    use super::decode_b64;

    #[test]
    fn base64_in_every_accepted_form_decodes_to_the_same_bytes() {
        let want = b"\xfb\xff\x00smartid?".to_vec();
        for text in [
            "+/8Ac21hcnRpZD8=",
            "+/8Ac21hcnRpZD8",
            "-_8Ac21hcnRpZD8",
            "-_8Ac21hcnRpZD8=",
            "+/8Ac21h\r\ncnRpZD8=\n",
            " +/8A\tc21h\x0bcnRp\x0cZD8=",
            "+/8Ac21h\u{a0}cnRpZD8=\u{2028}",
        ] {
            assert_eq!(decode_b64(text), Some(want.clone()), "{text:?}");
        }
        for bad in ["+/8Ac21hcnRpZD8*", "é", "+/8Ac21h\u{200b}cnRpZD8="] {
            assert_eq!(decode_b64(bad), None, "{bad:?}");
        }
        assert_eq!(decode_b64(""), Some(Vec::new()));
        assert_eq!(decode_b64("===="), Some(Vec::new()));
    }
}
