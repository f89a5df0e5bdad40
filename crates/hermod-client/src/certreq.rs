//! The `certreq` of a provisioning key request: a PKCS#10 request with the
//! right subject and a dummy key, which the device replaces with the key it
//! generates before it signs the request.

use std::fmt;

use base64::Engine as _;

use crate::error::{Error, Result};

/// The dummy key of a [`CertReq`] made by [`CertReq::with_dummy_key`]. The
/// record does not say which algorithm the dummy key must have (inferred);
/// the device replaces it either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DummyKey {
    /// RSA 2048 bits, the key type of the documented `keytypeprios`.
    /// The default.
    #[default]
    Rsa2048,
    /// ECDSA P-256 (faster to make).
    EcP256,
}

/// One attribute of a request's subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectAttribute {
    /// `CN`
    CommonName,
    /// `O`
    Organization,
    /// `OU`
    OrganizationalUnit,
    /// `C`
    Country,
    /// `L`
    Locality,
    /// `ST`
    State,
    /// `serialNumber`
    SerialNumber,
    /// `emailAddress` (PKCS#9), as some profiles still put it in the subject.
    EmailAddress,
}

/// The subject of a request made by [`CertReq::with_dummy_key`], in order.
///
/// ```
/// use hermod_client::CertReqSubject;
///
/// let subject = CertReqSubject::new().common_name("John Doe").organization("Nexus");
/// assert_eq!(subject.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct CertReqSubject {
    entries: Vec<(SubjectAttribute, String)>,
}

impl CertReqSubject {
    /// An empty subject.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an attribute.
    pub fn attribute(mut self, attribute: SubjectAttribute, value: impl Into<String>) -> Self {
        self.entries.push((attribute, value.into()));
        self
    }

    /// Adds `CN`.
    pub fn common_name(self, value: impl Into<String>) -> Self {
        self.attribute(SubjectAttribute::CommonName, value)
    }

    /// Adds `O`.
    pub fn organization(self, value: impl Into<String>) -> Self {
        self.attribute(SubjectAttribute::Organization, value)
    }

    /// Adds `OU`.
    pub fn organizational_unit(self, value: impl Into<String>) -> Self {
        self.attribute(SubjectAttribute::OrganizationalUnit, value)
    }

    /// Adds `C` (two letters).
    pub fn country(self, value: impl Into<String>) -> Self {
        self.attribute(SubjectAttribute::Country, value)
    }

    /// Adds `serialNumber`.
    pub fn serial_number(self, value: impl Into<String>) -> Self {
        self.attribute(SubjectAttribute::SerialNumber, value)
    }

    /// Adds `emailAddress`.
    pub fn email_address(self, value: impl Into<String>) -> Self {
        self.attribute(SubjectAttribute::EmailAddress, value)
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the subject has no attribute.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A DER PKCS#10 request for a provisioning key (`keygenrequests[].certreq`,
/// sent base64-encoded).
///
/// Either take the caller's own request ([`CertReq::from_der`]) or make one
/// from a subject with a throwaway key ([`CertReq::with_dummy_key`]).
///
/// ```
/// use hermod_client::{CertReq, CertReqSubject, DummyKey};
///
/// let req = CertReq::with_dummy_key(&CertReqSubject::new().common_name("John Doe"), DummyKey::EcP256)?;
/// assert_eq!(req.der()[0], 0x30);
/// let again = CertReq::from_der(req.der().to_vec())?;
/// assert_eq!(again.to_base64(), req.to_base64());
/// # Ok::<(), hermod_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CertReq {
    der: Vec<u8>,
}

impl fmt::Debug for CertReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertReq")
            .field("der_bytes", &self.der.len())
            .finish()
    }
}

impl CertReq {
    /// The caller's DER PKCS#10 request. Only the outer structure is
    /// checked (one DER SEQUENCE, nothing after it).
    ///
    /// # Errors
    /// [`Error::InvalidCommand`] when the bytes are not one DER SEQUENCE
    /// (for example PEM text: give the DER bytes).
    pub fn from_der(der: Vec<u8>) -> Result<Self> {
        check_der_sequence(&der).map_err(|m| {
            Error::InvalidCommand(format!(
                "certreq is not a DER PKCS#10 request ({m}); give the DER bytes, not PEM"
            ))
        })?;
        Ok(Self { der })
    }

    /// A request for `subject` signed with a freshly made dummy key, which
    /// is thrown away at once (the device puts its own key in).
    ///
    /// # Errors
    /// [`Error::InvalidCommand`] for an empty subject or one the request
    /// cannot carry, and when no key can be made.
    pub fn with_dummy_key(subject: &CertReqSubject, key: DummyKey) -> Result<Self> {
        use rcgen::{DistinguishedName, DnType, KeyPair};
        if subject.is_empty() {
            return Err(Error::InvalidCommand(
                "the certreq subject is empty; give at least a common name".into(),
            ));
        }
        let mut dn = DistinguishedName::new();
        for (attr, value) in &subject.entries {
            let ty = match attr {
                SubjectAttribute::CommonName => DnType::CommonName,
                SubjectAttribute::Organization => DnType::OrganizationName,
                SubjectAttribute::OrganizationalUnit => DnType::OrganizationalUnitName,
                SubjectAttribute::Country => DnType::CountryName,
                SubjectAttribute::Locality => DnType::LocalityName,
                SubjectAttribute::State => DnType::StateOrProvinceName,
                SubjectAttribute::SerialNumber => DnType::CustomDnType(vec![2, 5, 4, 5]),
                SubjectAttribute::EmailAddress => {
                    DnType::CustomDnType(vec![1, 2, 840, 113_549, 1, 9, 1])
                }
            };
            dn.push(ty, value.as_str());
        }
        let pair = match key {
            DummyKey::Rsa2048 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
            }
            DummyKey::EcP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        }
        .map_err(|e| Error::InvalidCommand(format!("cannot make the dummy key: {e}")))?;
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = dn;
        let csr = params
            .serialize_request(&pair)
            .map_err(|e| Error::InvalidCommand(format!("cannot make the certreq: {e}")))?;
        Ok(Self {
            der: csr.der().to_vec(),
        })
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Base64 (standard alphabet, padded), as `certreq` carries it.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }
}

/// Checks that `der` is exactly one DER SEQUENCE with a consistent length.
pub(crate) fn check_der_sequence(der: &[u8]) -> std::result::Result<(), &'static str> {
    let (&tag, rest) = der.split_first().ok_or("it is empty")?;
    if tag != 0x30 {
        return Err("it does not start with a SEQUENCE");
    }
    let (&first, rest) = rest.split_first().ok_or("it is cut after the tag")?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("its length is malformed");
        }
        let (bytes, rest) = rest.split_at(n);
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    if rest.len() != len {
        return Err("its length does not match the bytes given");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_checks() {
        assert!(CertReq::from_der(vec![]).is_err());
        assert!(CertReq::from_der(b"-----BEGIN CERTIFICATE REQUEST-----".to_vec()).is_err());
        assert!(CertReq::from_der(vec![0x30, 0x03, 1, 2]).is_err());
        assert!(CertReq::from_der(vec![0x30, 0x02, 1, 2, 3]).is_err());
        assert!(CertReq::from_der(vec![0x30, 0x02, 1, 2]).is_ok());
        assert!(CertReq::from_der(vec![0x30, 0x81, 0x01, 9]).is_ok());
        assert!(CertReq::from_der(vec![0x30, 0x85, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn dummy_key_request_carries_the_subject() {
        let subject = CertReqSubject::new()
            .common_name("John Doe")
            .organization("Nexus")
            .email_address("john.doe@nexusgroup.com");
        let req = CertReq::with_dummy_key(&subject, DummyKey::EcP256).unwrap();
        check_der_sequence(req.der()).unwrap();
        let der = req.der();
        let contains = |needle: &[u8]| der.windows(needle.len()).any(|w| w == needle);
        assert!(
            contains(b"John Doe") && contains(b"Nexus") && contains(b"john.doe@nexusgroup.com")
        );
        assert!(CertReq::with_dummy_key(&CertReqSubject::new(), DummyKey::EcP256).is_err());
        assert!(!format!("{req:?}").contains("MII"));
    }
}
