//! The token endpoint's successful answer.

use std::fmt;

use serde::Deserialize;
use smartid_core::{HttpResponse, Secret};

use crate::error::Error;
use crate::response::{check_json, invalid_without_body};

/// The tokens of a finished flow. The id_token is only available verified
/// (see [`crate::CibaClient::verify_id_token`]) or, by name, unverified.
#[derive(Clone)]
pub struct Tokens {
    access_token: Secret,
    token_type: String,
    expires_in: Option<u64>,
    refresh_token: Option<Secret>,
    id_token: String,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("id_token", &"[redacted]")
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
    refresh_token: Option<String>,
    id_token: Option<String>,
}

impl Tokens {
    pub(crate) fn from_response(response: &HttpResponse) -> Result<Self, Error> {
        // No error shows the body (or serde's excerpt of it): it may hold tokens.
        let invalid = |what: &str| invalid_without_body(response, what);
        if check_json(response).is_err() {
            return Err(invalid(
                "expected JSON but the content type is not application/json",
            ));
        }
        let a: TokenAnswer = serde_json::from_slice(response.body()).map_err(|e| {
            invalid(&format!(
                "not a JSON token response ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        let access_token = a
            .access_token
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("access_token is missing"))?;
        let id_token = a
            .id_token
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("id_token is missing (the scope must include openid)"))?;
        Ok(Self {
            access_token: Secret::new(access_token),
            token_type: a.token_type.unwrap_or_else(|| "Bearer".into()),
            expires_in: a.expires_in.and_then(|v| v.as_u64()),
            refresh_token: a.refresh_token.map(Secret::new),
            id_token,
        })
    }

    /// The access token.
    pub fn access_token(&self) -> &Secret {
        &self.access_token
    }

    /// The token type (normally `Bearer`).
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// The access token's lifetime in seconds, if given.
    pub fn expires_in(&self) -> Option<u64> {
        self.expires_in
    }

    /// The refresh token, if any.
    pub fn refresh_token(&self) -> Option<&Secret> {
        self.refresh_token.as_ref()
    }

    /// The raw id_token, NOT verified. Prefer [`crate::CibaClient::verify_id_token`].
    pub fn unverified_id_token(&self) -> &str {
        &self.id_token
    }

    /// The tokens as JSON, to be sealed before they are stored.
    pub(crate) fn to_secret_json(&self) -> Result<Secret, Error> {
        let value = serde_json::json!({
            "access_token": self.access_token.expose_secret(),
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token.as_ref().map(Secret::expose_secret),
            "id_token": self.id_token,
        });
        serde_json::to_string(&value)
            .map(Secret::new)
            .map_err(|_| Error::InvalidRequest {
                field: "tokens",
                message: "the tokens could not be encoded for the store".into(),
            })
    }

    /// The tokens from what [`Tokens::to_secret_json`] wrote (opened).
    pub(crate) fn from_secret_json(bytes: &[u8]) -> Option<Self> {
        let a: TokenAnswer = serde_json::from_slice(bytes).ok()?;
        Some(Self {
            access_token: Secret::new(a.access_token.filter(|s| !s.is_empty())?),
            token_type: a.token_type.unwrap_or_else(|| "Bearer".into()),
            expires_in: a.expires_in.and_then(|v| v.as_u64()),
            refresh_token: a.refresh_token.map(Secret::new),
            id_token: a.id_token.filter(|s| !s.is_empty())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_show_the_tokens() {
        for (ct, body) in [
            (
                "application/json",
                r#"{"access_token":"SECRET-AT","refresh_token":"SECRET-RT","token_type":"Bearer"}"#,
            ),
            (
                "text/plain",
                r#"{"access_token":"SECRET-AT","id_token":"SECRET-ID"}"#,
            ),
            ("application/json", r#""SECRET-AT""#),
            (
                "application/json",
                r#"{"access_token":"SECRET-AT","id_token":["SECRET-ID"]}"#,
            ),
        ] {
            let r = HttpResponse::new(
                200,
                vec![("content-type".into(), ct.into())],
                body.into(),
                "https://idp/access_token",
            );
            let e = Tokens::from_response(&r).unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("SECRET"), "{shown}");
            assert!(shown.contains("HTTP 200"), "{shown}");
        }
    }
}
