//! What the user sees (binding message) and what gets signed (binding content).

use crate::crypto::backend::digest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Longest `binding_message` the Audkenni app shows.
pub const MAX_APP_BINDING_MESSAGE: usize = 60;
/// Longest `binding_message_long` the Audkenni app shows.
pub const MAX_APP_BINDING_MESSAGE_LONG: usize = 200;

/// The hash algorithm of a [`BindingContent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-512 (64 bytes).
    Sha512,
}

impl HashAlgorithm {
    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }

    pub(crate) fn for_len(len: usize) -> Option<Self> {
        match len {
            32 => Some(Self::Sha256),
            64 => Some(Self::Sha512),
            _ => None,
        }
    }
}

/// The `binding_content` of a request: usually the base64 of a hash of the
/// document to sign (SHA-256 or SHA-512), or empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingContent {
    value: String,
    hash: Vec<u8>,
    algorithm: Option<HashAlgorithm>,
}

impl BindingContent {
    /// base64(SHA-256(`data`)).
    pub fn sha256_of(data: &[u8]) -> Self {
        Self::from_hash_bytes(HashAlgorithm::Sha256.digest(data), HashAlgorithm::Sha256)
    }

    /// base64(SHA-512(`data`)), as used for `app-auth` and the verification code.
    pub fn sha512_of(data: &[u8]) -> Self {
        Self::from_hash_bytes(HashAlgorithm::Sha512.digest(data), HashAlgorithm::Sha512)
    }

    /// base64(SHA-256(UTF-8 bytes of `text`)).
    pub fn sha256_of_text(text: &str) -> Self {
        Self::sha256_of(text.as_bytes())
    }

    /// base64(SHA-512(UTF-8 bytes of `text`)).
    pub fn sha512_of_text(text: &str) -> Self {
        Self::sha512_of(text.as_bytes())
    }

    /// A hash computed elsewhere (32 bytes: SHA-256, 64 bytes: SHA-512).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for any other length.
    pub fn from_hash(hash: &[u8]) -> Result<Self, Error> {
        let alg = HashAlgorithm::for_len(hash.len()).ok_or_else(|| Error::InvalidRequest {
            field: "binding_content",
            message: format!(
                "a hash of {} bytes is neither SHA-256 (32) nor SHA-512 (64)",
                hash.len()
            ),
        })?;
        Ok(Self::from_hash_bytes(hash.to_vec(), alg))
    }

    /// A value sent exactly as given (for providers that take free text).
    pub fn raw(value: impl Into<String>) -> Self {
        let value = value.into();
        let hash = STANDARD.decode(&value).unwrap_or_default();
        let algorithm = HashAlgorithm::for_len(hash.len());
        Self {
            value,
            hash: if algorithm.is_some() {
                hash
            } else {
                Vec::new()
            },
            algorithm,
        }
    }

    fn from_hash_bytes(hash: Vec<u8>, algorithm: HashAlgorithm) -> Self {
        Self {
            value: STANDARD.encode(&hash),
            hash,
            algorithm: Some(algorithm),
        }
    }

    /// The value sent in the request.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The hash bytes (empty for a raw value that is not a base64 hash).
    pub fn hash_bytes(&self) -> &[u8] {
        &self.hash
    }

    /// The hash algorithm, when the content is a hash.
    pub fn algorithm(&self) -> Option<HashAlgorithm> {
        self.algorithm
    }
}

/// Checks a binding message: at most `max` characters, and (for app modes)
/// no line breaks.
pub(crate) fn validate_message(
    field: &'static str,
    message: &str,
    max: usize,
    app: bool,
) -> Result<(), Error> {
    let chars = message.chars().count();
    if app && chars > max {
        return Err(Error::InvalidRequest {
            field,
            message: format!(
                "{chars} characters; the Audkenni app shows at most {max}: shorten it"
            ),
        });
    }
    if app && message.contains(['\n', '\r']) {
        return Err(Error::InvalidRequest {
            field,
            message: "line breaks are not allowed in app modes: use one line".into(),
        });
    }
    if message
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err(Error::InvalidRequest {
            field,
            message: "control characters are not allowed".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_base64_of_digest() {
        let c = BindingContent::sha256_of(b"abc");
        assert_eq!(c.as_str(), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
        assert_eq!(c.algorithm(), Some(HashAlgorithm::Sha256));
        let c = BindingContent::sha512_of(b"abc");
        assert_eq!(c.hash_bytes().len(), 64);
        assert_eq!(BindingContent::raw(c.as_str()), c);
        assert!(BindingContent::from_hash(&[0; 20]).is_err());
        assert_eq!(BindingContent::raw("binding content").hash_bytes(), b"");
    }

    #[test]
    fn app_binding_message_rules() {
        assert!(validate_message("binding_message", &"x".repeat(60), 60, true).is_ok());
        assert!(validate_message("binding_message", &"ð".repeat(60), 60, true).is_ok());
        assert!(validate_message("binding_message", &"x".repeat(61), 60, true).is_err());
        assert!(validate_message("binding_message", "a\nb", 60, true).is_err());
        assert!(validate_message("binding_message", "a\nb", 60, false).is_ok());
        assert!(validate_message("binding_message", &"x".repeat(61), 60, false).is_ok());
        assert!(validate_message("binding_message", "a\u{7}b", 60, false).is_err());
    }
}
