//! Request status and issued results.

use std::fmt;
use std::time::Duration;

use smartid_core::{Certificate, ClientIdentity, Secret, SecretBytes};

smartid_core::vocabulary! {
    /// Where a certificate request stands (the wire's `status`).
    pub enum RequestStatus {
        /// Waiting for D-Trust's review and release.
        Pending = "PENDING",
        /// Issued: fetch the certificate or the PKCS#12.
        Issued = "ISSUED",
        /// Rejected during review.
        Rejected = "REJECTED",
        /// The certificate was revoked.
        Revoked = "REVOKED",
    }
}

impl RequestStatus {
    /// Parses the wire name, white space trimmed and with the synonyms
    /// servers use (`IN_PROGRESS` and `WAITING` for pending, `COMPLETED` for
    /// issued; inferred); anything else is kept as [`RequestStatus::Other`].
    pub fn from_wire(s: &str) -> Self {
        let s = s.trim();
        match s.to_ascii_uppercase().as_str() {
            "IN_PROGRESS" | "WAITING" => Self::Pending,
            "COMPLETED" => Self::Issued,
            _ => Self::parse(s),
        }
    }
}

/// The answer to a status query.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusReport {
    /// The request identifier.
    pub request_id: String,
    /// The status.
    pub status: RequestStatus,
    /// How long the server asks the client to wait before asking again.
    pub retry_after: Option<Duration>,
    /// A message from the server (e.g. the reason of a rejection).
    pub message: Option<String>,
}

/// An issued certificate with its chain.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuedCertificate {
    /// The certificate.
    pub certificate: Certificate,
    /// The issuing CA certificates, issuer first (may be empty).
    pub chain: Vec<Certificate>,
}

impl IssuedCertificate {
    /// Whether the certificate is for this public key (DER
    /// SubjectPublicKeyInfo, e.g. [`crate::GeneratedCsr::public_key_spki`]).
    pub fn is_for_key(&self, public_key_spki: &[u8]) -> bool {
        self.certificate.subject_public_key_info() == public_key_spki
    }

    /// Whether the certificate was issued by the first chain certificate
    /// (by name; signatures are verified by whoever relies on the
    /// certificate, with D-Trust's CA as trust anchor).
    pub fn issuer_is_in_chain(&self) -> bool {
        self.chain
            .first()
            .is_some_and(|ca| ca.subject() == self.certificate.issuer())
    }
}

/// A PKCS#12 made by D-Trust, with the password protecting it.
#[derive(Clone)]
pub struct IssuedPkcs12 {
    /// The PKCS#12 file's bytes.
    pub pkcs12: SecretBytes,
    /// The transport password of the PKCS#12.
    pub password: Secret,
}

impl IssuedPkcs12 {
    /// Opens the PKCS#12 as a client identity (checks password, key and certificate).
    ///
    /// # Errors
    /// [`crate::Error::Http`] when the PKCS#12 cannot be opened.
    pub fn to_identity(&self, name: &str) -> crate::Result<ClientIdentity> {
        Ok(ClientIdentity::from_pkcs12_der(
            self.pkcs12.expose_secret(),
            name,
            &self.password,
        )?)
    }
}

impl fmt::Debug for IssuedPkcs12 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedPkcs12")
            .field("pkcs12", &self.pkcs12)
            .field("password", &self.password)
            .finish()
    }
}

/// Why a certificate is revoked (RFC 5280 reason codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationReason {
    /// unspecified
    Unspecified,
    /// keyCompromise
    KeyCompromise,
    /// affiliationChanged
    AffiliationChanged,
    /// superseded
    Superseded,
    /// cessationOfOperation
    CessationOfOperation,
}

impl RevocationReason {
    /// The wire name (the RFC 5280 name).
    pub fn as_wire(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "keyCompromise",
            Self::AffiliationChanged => "affiliationChanged",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
        }
    }
}
