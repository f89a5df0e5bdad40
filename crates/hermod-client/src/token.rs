//! The API key sent in `X-Api-Key`: `base64(client-id:key)`, which
//! Identity Manager stores as the "Authentication token".

use std::fmt;

use base64::Engine as _;
use smartid_core::Secret;

use crate::error::{Error, Result};

/// An API user's credentials at Hermod: the client id and its key.
///
/// `Debug` shows the client id only; the key and the token are never printed.
///
/// ```
/// use hermod_client::ApiToken;
///
/// // The example token from Identity Manager's documentation.
/// let token = ApiToken::from_base64(
///     "cHJpbWUxOjA3OWI2YTY0ZDc1YjRlOTU4NWJkMGMyNGYzNmE3ZGViYTBhZDAzNDk4ZWNmNGQ2OWI1NzY2ZjI0ZmEwMmUwNDU=",
/// )?;
/// assert_eq!(token.client_id(), "prime1");
/// # Ok::<(), hermod_client::Error>(())
/// ```
#[derive(Clone)]
pub struct ApiToken {
    client_id: String,
    key: Secret,
    /// `base64(client-id:key)`, encoded once: every command sends it.
    header: Secret,
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("client_id", &self.client_id)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl ApiToken {
    /// Credentials from the client id and key of Hermod's `allowed-clients` entry.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] (field `token`) when the client id is empty or
    /// contains `:` (the separator of the token), or the key is empty.
    pub fn new(client_id: impl Into<String>, key: Secret) -> Result<Self> {
        let client_id = client_id.into();
        if client_id.trim().is_empty() {
            return Err(bad(
                "the client id is empty; use the client-id of Hermod's allowed-clients entry",
            ));
        }
        if client_id.contains(':') {
            return Err(bad(
                "the client id contains ':', which separates client id and key in the token; \
                 use the client-id of Hermod's allowed-clients entry",
            ));
        }
        if client_id.chars().any(char::is_control) {
            return Err(bad("the client id contains control characters"));
        }
        if key.expose_secret().is_empty() {
            return Err(bad(
                "the key is empty; use the key of Hermod's allowed-clients entry",
            ));
        }
        if key.expose_secret().chars().any(char::is_control) {
            return Err(bad(
                "the key contains control characters (a line break copied with it?)",
            ));
        }
        let raw = Secret::new(format!("{client_id}:{}", key.expose_secret()));
        let header =
            Secret::new(base64::engine::general_purpose::STANDARD.encode(raw.expose_secret()));
        Ok(Self {
            client_id,
            key,
            header,
        })
    }

    /// Decodes a ready token `base64(client-id:key)`, as Identity Manager
    /// stores it. Surrounding white space is ignored; standard and URL-safe
    /// alphabets, with or without padding, are accepted.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] (field `token`) when the text is not base64, not
    /// UTF-8, has no `:` or has an empty client id or key. The message never
    /// contains the token.
    pub fn from_base64(token: &str) -> Result<Self> {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let text = token.trim();
        if text.is_empty() {
            return Err(bad("the authentication token is empty"));
        }
        let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or_else(|| {
                bad("the authentication token is not base64; it must be base64(client-id:key)")
            })?;
        let decoded = Secret::new(String::from_utf8(decoded).map_err(|_| {
            bad("the decoded authentication token is not UTF-8 text; it must be base64(client-id:key)")
        })?);
        let (id, key) = decoded.expose_secret().split_once(':').ok_or_else(|| {
            bad("the decoded authentication token has no ':'; it must be base64(client-id:key)")
        })?;
        Self::new(id, Secret::new(key))
    }

    /// The client id (not secret).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The key.
    pub fn key(&self) -> &Secret {
        &self.key
    }

    /// The header value `base64(client-id:key)`, as a secret.
    pub fn to_base64(&self) -> Secret {
        self.header.clone()
    }
}

fn bad(message: &str) -> Error {
    Error::config("token", message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_TOKEN: &str = "cHJpbWUxOjA3OWI2YTY0ZDc1YjRlOTU4NWJkMGMyNGYzNmE3ZGViYTBhZDAzNDk4ZWNmNGQ2OWI1NzY2ZjI0ZmEwMmUwNDU=";

    #[test]
    fn seed_token_decodes_and_round_trips() {
        let t = ApiToken::from_base64(&format!("  {SEED_TOKEN}\n")).unwrap();
        assert_eq!(t.client_id(), "prime1");
        assert_eq!(
            t.key().expose_secret(),
            "079b6a64d75b4e9585bd0c24f36a7deba0ad03498ecf4d69b5766f24fa02e045"
        );
        assert_eq!(t.to_base64().expose_secret(), SEED_TOKEN);
        let unpadded = SEED_TOKEN.trim_end_matches('=');
        assert_eq!(
            ApiToken::from_base64(unpadded).unwrap().client_id(),
            "prime1"
        );
    }

    #[test]
    fn bad_tokens_are_refused_without_leaking() {
        let err = |t: &str| ApiToken::from_base64(t).unwrap_err().to_string();
        assert!(err("").contains("empty"));
        assert!(err("not base64!!").contains("not base64"));
        // "prime1-no-colon"
        assert!(err("cHJpbWUxLW5vLWNvbG9u").contains("no ':'"));
        // ":key"
        assert!(err("OmtleQ==").contains("client id is empty"));
        // "id:"
        assert!(err("aWQ6").contains("key is empty"));
        // invalid UTF-8
        assert!(err("/w==").contains("UTF-8"));
        let dbg = format!("{:?}", ApiToken::from_base64(SEED_TOKEN).unwrap());
        assert!(dbg.contains("prime1") && !dbg.contains("079b6a64"));
    }

    #[test]
    fn new_validates_parts() {
        assert!(ApiToken::new("a:b", Secret::new("k")).is_err());
        assert!(ApiToken::new("client", Secret::new("k\n")).is_err());
        assert!(ApiToken::new("client", Secret::new("k")).is_ok());
    }
}
