//! The relying party's key that signs request objects (and client assertions).

use std::fmt;

use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;

use crate::error::Error;

/// The JWS algorithm of the relying party's signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum JwsAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Audkenni's default).
    #[default]
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// ECDSA P-256 with SHA-256.
    Es256,
}

impl JwsAlgorithm {
    /// The JOSE name (`RS256`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
        }
    }

    fn to_jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
            Self::Ps256 => jsonwebtoken::Algorithm::PS256,
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}

/// Installs jsonwebtoken's aws-lc-rs provider once (an already installed
/// provider is fine).
pub(crate) fn ensure_jwt_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    });
}

/// The relying party's private key with its algorithm and optional `kid`.
/// `Debug` never shows the key.
#[derive(Clone)]
pub struct RequestSigningKey {
    key: EncodingKey,
    algorithm: JwsAlgorithm,
    kid: Option<String>,
}

impl fmt::Debug for RequestSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl RequestSigningKey {
    /// Reads a PEM private key (PKCS#8, or PKCS#1 `RSA PRIVATE KEY`, or
    /// SEC1 `EC PRIVATE KEY`) for the algorithm.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the PEM holds no key of the algorithm's type.
    pub fn from_pem(pem: &[u8], algorithm: JwsAlgorithm) -> Result<Self, Error> {
        ensure_jwt_provider();
        let key = match algorithm {
            JwsAlgorithm::Rs256 | JwsAlgorithm::Ps256 => EncodingKey::from_rsa_pem(pem),
            JwsAlgorithm::Es256 => EncodingKey::from_ec_pem(pem),
        }
        .map_err(|e| Error::InvalidConfig {
            field: "signing_key",
            message: format!(
                "not a PEM {} private key ({e}); RS256/PS256 need an RSA key, ES256 a P-256 key",
                algorithm.as_str()
            ),
        })?;
        let this = Self {
            key,
            algorithm,
            kid: None,
        };
        // Prove the key works now rather than at the first request.
        this.sign(&serde_json::json!({"probe": true}))?;
        Ok(this)
    }

    /// Sets the `kid` header of signed request objects.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The algorithm.
    pub fn algorithm(&self) -> JwsAlgorithm {
        self.algorithm
    }

    /// The `kid`, if set.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Signs claims as a compact JWS with header `{"typ":"JWT","alg":..,"kid":..}`.
    pub(crate) fn sign<T: Serialize>(&self, claims: &T) -> Result<String, Error> {
        ensure_jwt_provider();
        let mut header = Header::new(self.algorithm.to_jwt());
        header.typ = Some("JWT".into());
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| Error::InvalidConfig {
            field: "signing_key",
            message: format!(
                "signing with the {} key failed: {e}",
                self.algorithm.as_str()
            ),
        })
    }
}
