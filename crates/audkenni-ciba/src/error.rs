//! The crate's error type.

use std::fmt;

use smartid_core::{ConfigProblem, UnexpectedAnswer};

use crate::provider_error::ProviderError;

/// Errors of the CIBA client and of the verifiers.
///
/// Messages say what went wrong and what to change; none carries a secret
/// (client secret, private key, tokens).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Transport, TLS, trust store or HTTP settings failure (from smartid-core).
    #[error(transparent)]
    Http(#[from] smartid_core::Error),
    /// The client configuration is invalid: every problem found, each with
    /// the field and what to change.
    #[error("invalid configuration: {}", ConfigProblem::join(.0))]
    InvalidConfig(Vec<ConfigProblem>),
    /// The authentication or signing request is invalid; nothing was sent.
    #[error("invalid request {field}: {message}")]
    InvalidRequest {
        /// The request field.
        field: &'static str,
        /// What to change.
        message: String,
    },
    /// The provider answered with an OAuth/CIBA error document, typed
    /// (with Audkenni's own [`crate::ProviderCode`] when it sent one).
    #[error(transparent)]
    Server(#[from] ProviderError),
    /// The provider's answer could not be understood: the URL, the HTTP
    /// status, the start of the body (not for token answers, whose body may
    /// hold tokens) and what was expected.
    #[error("{0}")]
    InvalidResponse(UnexpectedAnswer),
    /// The authentication request expired (its `expires_in` passed) before the user answered.
    #[error(
        "the authentication request expired before the user answered (auth_req_id expired at {expired_at} s since the epoch); start a new request"
    )]
    Expired {
        /// When the request expired, in seconds since the Unix epoch.
        expired_at: u64,
    },
    /// The caller's deadline passed before the user answered; the request may still be pending.
    #[error(
        "the caller's deadline passed before the user answered; the request is still pending at the provider and can be resumed with the same handle until it expires"
    )]
    DeadlineReached,
    /// A token request failed after it was sent (a timeout, a broken
    /// connection, a 5xx) and the next poll was answered `invalid_grant`:
    /// the provider most likely handed the tokens out in the answer that
    /// was lost, and it hands them out only once. The user's approval
    /// cannot be recovered; start a new request.
    #[error(
        "the answer of a token request was lost ({failed_polls} failed poll(s) in a row), then the provider answered invalid_grant: it most likely handed the tokens out in the lost answer and hands them out only once; start a new authentication request"
    )]
    TokensLost {
        /// Failed polls just before the `invalid_grant`.
        failed_polls: u32,
    },
    /// Polling failed repeatedly with transport errors or server errors.
    #[error("giving up after {attempts} failed polls of the token endpoint; last error: {last}")]
    PollFailed {
        /// How many polls failed in a row.
        attempts: u32,
        /// The last failure.
        last: Box<Error>,
    },
    /// The id_token failed validation.
    #[error("id_token rejected: {0}")]
    IdToken(IdTokenError),
    /// The signature (CMS or PKCS#1) failed verification.
    #[error("signature rejected: {0}")]
    Signature(SignatureError),
    /// The flow store failed (down, slow, or a record this release cannot
    /// read). The flow itself is unchanged at the provider: once the store
    /// is back, [`crate::CibaClient::finish_by_id`] resumes it.
    #[error(
        "the CIBA flow store failed: {0}; check that the store is reachable and that every replica runs a release that reads its records"
    )]
    Store(smartid_core::store::StoreError),
    /// The flow ended on a replica with an error that is not a provider
    /// error document (what that replica saw, as text).
    #[error("the flow ended with an error: {message}")]
    FlowFailed {
        /// The error, as the replica that ended the flow wrote it (never a secret).
        message: String,
    },
    /// A kennitala (Icelandic national id) is malformed or fails its checksum.
    #[error("invalid kennitala {value:?}: {reason}")]
    InvalidKennitala {
        /// The value as given, all but its first six characters masked.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl Error {
    /// An [`Error::InvalidConfig`] with one problem.
    pub(crate) fn config(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidConfig(vec![ConfigProblem::new(field, message)])
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an id_token was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Not a three-part compact JWS, or a part is not valid base64url/JSON.
    Malformed(String),
    /// The `alg` is not on the allowlist (`none` and HMAC never are).
    AlgorithmNotAllowed(String),
    /// No JWKS key matches the token's `kid` (after one refetch).
    UnknownKey(Option<String>),
    /// The signature does not verify with the key.
    BadSignature,
    /// `iss` differs from the issuer.
    WrongIssuer {
        /// The configured issuer.
        expected: String,
        /// The token's issuer.
        found: String,
    },
    /// `aud` does not contain the client id.
    WrongAudience(String),
    /// `azp` is present and is not the client id (or missing with several audiences).
    WrongAuthorizedParty(String),
    /// `exp` has passed (beyond the leeway).
    Expired {
        /// The token's `exp`.
        exp: u64,
        /// The time of the check, seconds since the epoch.
        now: u64,
    },
    /// `iat` lies in the future (beyond the leeway).
    IssuedInFuture {
        /// The token's `iat`.
        iat: u64,
        /// The time of the check, seconds since the epoch.
        now: u64,
    },
    /// `at_hash` does not match the access token.
    AtHashMismatch,
    /// A required claim is missing or has the wrong type.
    MissingClaim(&'static str),
    /// The provider's JWKS could not be fetched (and the refetch interval
    /// has not passed since the failed attempt): why.
    JwksUnavailable(String),
}

impl fmt::Display for IdTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "malformed token: {m}"),
            Self::AlgorithmNotAllowed(a) => write!(
                f,
                "algorithm {a} is not allowed (allowed: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384; never none or HMAC)"
            ),
            Self::UnknownKey(kid) => write!(
                f,
                "no key in the provider's JWKS matches kid {}; the provider may have rotated keys",
                kid.as_deref().unwrap_or("(none)")
            ),
            Self::BadSignature => {
                write!(f, "the signature does not verify with the provider's key")
            }
            Self::WrongIssuer { expected, found } => {
                write!(f, "iss is {found:?}, expected exactly {expected:?}")
            }
            Self::WrongAudience(aud) => write!(f, "aud {aud} does not contain this client's id"),
            Self::WrongAuthorizedParty(azp) => write!(f, "azp {azp:?} is not this client's id"),
            Self::Expired { exp, now } => write!(
                f,
                "expired at {exp}, now {now} (seconds since the epoch); check the clock or the leeway"
            ),
            Self::IssuedInFuture { iat, now } => write!(
                f,
                "issued in the future (iat {iat}, now {now}); check the clock or the leeway"
            ),
            Self::AtHashMismatch => write!(f, "at_hash does not match the access token"),
            Self::MissingClaim(c) => write!(f, "claim {c} is missing or has the wrong type"),
            Self::JwksUnavailable(why) => write!(
                f,
                "the provider's JWKS is unavailable ({why}); it is fetched again after the refetch interval"
            ),
        }
    }
}

/// Why a signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// The claim is missing, not base64 or not a CMS SignedData.
    Malformed(String),
    /// Something the verifier does not support (algorithm, detached content...).
    Unsupported(String),
    /// The messageDigest attribute does not match the content.
    DigestMismatch,
    /// The RSA/ECDSA signature does not verify with the signer's key.
    BadSignature,
    /// The signer certificate differs from the id_token's `certificate` claim.
    CertificateMismatch,
    /// The signer certificate is not valid at the time of the check.
    CertificateNotValidAt {
        /// The time checked, RFC 3339.
        at: String,
        /// The certificate's validity, RFC 3339.
        not_before: String,
        /// The certificate's validity, RFC 3339.
        not_after: String,
    },
    /// No chain to the given trust anchors.
    Chain(String),
    /// The certificate's CN is not the id_token's `name`.
    NameMismatch {
        /// The id_token's `name`.
        claimed: String,
        /// The certificate's CN.
        certificate: String,
    },
    /// The certificate's subject serialNumber is not the `nationalRegisterId`.
    NationalIdMismatch {
        /// The id_token's `nationalRegisterId`.
        claimed: String,
        /// The certificate's subject serialNumber.
        certificate: String,
    },
    /// The signed content is not what the relying party asked to be signed.
    ContentMismatch,
    /// The signer certificate's key usage or extended key usage does not allow signing.
    KeyUsage(String),
    /// A CRL from the issuer lists the signer certificate as revoked.
    Revoked,
    /// A revocation check was required but no usable CRL was available.
    RevocationUnavailable(String),
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "malformed signature: {m}"),
            Self::Unsupported(m) => write!(f, "unsupported: {m}"),
            Self::DigestMismatch => write!(
                f,
                "the messageDigest attribute does not match the signed content (content altered)"
            ),
            Self::BadSignature => write!(
                f,
                "the signature does not verify with the signer certificate's key"
            ),
            Self::CertificateMismatch => write!(
                f,
                "the signer certificate is not the certificate in the id_token"
            ),
            Self::CertificateNotValidAt {
                at,
                not_before,
                not_after,
            } => write!(
                f,
                "the signer certificate is not valid at {at} (valid {not_before} to {not_after})"
            ),
            Self::Chain(m) => write!(
                f,
                "the signer certificate does not chain to the given trust anchors: {m}"
            ),
            Self::NameMismatch {
                claimed,
                certificate,
            } => write!(
                f,
                "the certificate's CN {certificate:?} is not the id_token's name {claimed:?}"
            ),
            Self::NationalIdMismatch {
                claimed,
                certificate,
            } => write!(
                f,
                "the certificate's serialNumber {certificate:?} is not the id_token's nationalRegisterId {claimed:?}"
            ),
            Self::ContentMismatch => {
                write!(f, "the signed content is not what was asked to be signed")
            }
            Self::KeyUsage(m) => write!(f, "{m}"),
            Self::Revoked => write!(
                f,
                "the signer certificate is revoked (listed on its issuer's CRL)"
            ),
            Self::RevocationUnavailable(m) => write!(
                f,
                "the signer certificate's revocation status is unknown: {m}"
            ),
        }
    }
}

impl std::error::Error for IdTokenError {}

impl std::error::Error for SignatureError {}

impl From<IdTokenError> for Error {
    fn from(e: IdTokenError) -> Self {
        Self::IdToken(e)
    }
}

impl From<SignatureError> for Error {
    fn from(e: SignatureError) -> Self {
        Self::Signature(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_error_types_are_std_errors() {
        // `verify_cms(..)?` must work in a function returning Box<dyn Error>.
        fn boxed(e: impl std::error::Error + Send + Sync + 'static) -> Box<dyn std::error::Error> {
            Box::new(e)
        }
        assert!(
            boxed(SignatureError::ContentMismatch)
                .to_string()
                .contains("not what was asked")
        );
        assert!(
            boxed(IdTokenError::BadSignature)
                .to_string()
                .contains("does not verify")
        );
    }
}
