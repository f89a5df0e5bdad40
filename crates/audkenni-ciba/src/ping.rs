//! Ping mode (CIBA Core 10.2): the provider's call to the client
//! notification endpoint, checked without I/O.

use serde::Deserialize;
use smartid_core::Secret;

use crate::error::Error;

/// Checks a ping notification received on the client notification
/// endpoint: `Authorization: Bearer <client_notification_token>` must be the
/// token sent with the request (compared in constant time), and the JSON
/// body must carry the `auth_req_id`, which is returned.
///
/// ```
/// use audkenni_ciba::parse_ping_notification;
/// use smartid_core::Secret;
/// let token = Secret::new("8d67dc78-7faa-4d41-aabd-67707b374255");
/// let id = parse_ping_notification(
///     Some("Bearer 8d67dc78-7faa-4d41-aabd-67707b374255"),
///     br#"{"auth_req_id":"1c266114-a1be-4252-8ad1-04986c5b9ac1"}"#,
///     &token,
/// )?;
/// assert_eq!(id, "1c266114-a1be-4252-8ad1-04986c5b9ac1");
/// # Ok::<(), audkenni_ciba::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidRequest`] (field `authorization`) for a missing or wrong
/// token; [`Error::InvalidRequest`] (field `body`) for a body without an
/// `auth_req_id`. Answer such calls with 401 or 400.
pub fn parse_ping_notification(
    authorization: Option<&str>,
    body: &[u8],
    expected_token: &Secret,
) -> Result<String, Error> {
    let presented = bearer_token(authorization)?;
    let expected = expected_token.expose_secret().as_bytes();
    if !crate::crypto::same_secret(presented.as_bytes(), expected) {
        return Err(Error::InvalidRequest {
            field: "authorization",
            message: "the ping's Bearer token is not the client_notification_token of the request"
                .into(),
        });
    }
    ping_auth_req_id(body)
}

/// The Bearer token of a ping's `Authorization` header.
pub(crate) fn bearer_token(authorization: Option<&str>) -> Result<&str, Error> {
    authorization
        .and_then(|h| {
            let (scheme, token) = h.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::InvalidRequest {
            field: "authorization",
            message: "the ping carries no Bearer token".into(),
        })
}

/// The `auth_req_id` of a ping's JSON body.
pub(crate) fn ping_auth_req_id(body: &[u8]) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct Ping {
        auth_req_id: String,
    }
    let ping: Ping = serde_json::from_slice(body).map_err(|e| Error::InvalidRequest {
        field: "body",
        message: format!("not a ping notification ({e})"),
    })?;
    if ping.auth_req_id.trim().is_empty() {
        return Err(Error::InvalidRequest {
            field: "body",
            message: "auth_req_id is empty".into(),
        });
    }
    Ok(ping.auth_req_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_tokens_and_bodies() {
        let t = Secret::new("0123456789abcdef0123");
        let body = br#"{"auth_req_id":"r1"}"#;
        assert_eq!(
            parse_ping_notification(Some("bearer 0123456789abcdef0123"), body, &t).unwrap(),
            "r1"
        );
        for auth in [
            None,
            Some("Basic abc"),
            Some("Bearer 0123456789abcdef0124"),
            Some("Bearer"),
        ] {
            let e = parse_ping_notification(auth, body, &t).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidRequest {
                        field: "authorization",
                        ..
                    }
                ),
                "{auth:?}"
            );
            assert!(!e.to_string().contains("0123456789abcdef0123"));
        }
        for b in [&b"{}"[..], b"nope", br#"{"auth_req_id":""}"#] {
            assert!(matches!(
                parse_ping_notification(Some("Bearer 0123456789abcdef0123"), b, &t),
                Err(Error::InvalidRequest { field: "body", .. })
            ));
        }
    }
}
