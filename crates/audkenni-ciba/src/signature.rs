//! The verified signature: CMS (PKCS#7 modes) or raw PKCS#1
//! (`sim-sign-pkcs1`), the signer's certificate, chain and time checks, and
//! the signed content.

use std::fmt;
use std::time::SystemTime;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use der::asn1::ObjectIdentifier;
use der::{Decode, Tag, Tagged};
use smartid_core::Certificate;
use x509_cert::Certificate as X509;

use crate::binding::{BindingContent, HashAlgorithm};
use crate::chain::check_chain;
use crate::cms::verify_signed_data;
use crate::error::SignatureError;
use crate::kennitala::Kennitala;

const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");

/// What a signature is checked against: trust anchors for the signer's
/// certificate chain (or an explicit opt-out), the time of the check, and
/// optionally the content the relying party asked to be signed.
///
/// ```
/// use audkenni_ciba::SignatureCheck;
/// use std::time::{Duration, UNIX_EPOCH};
/// let check = SignatureCheck::without_chain_check()
///     .at(UNIX_EPOCH + Duration::from_secs(1_575_010_961))
///     .expect_text("Login to Audkenni");
/// # let _ = check;
/// ```
#[derive(Debug, Clone, Default)]
pub struct SignatureCheck {
    anchors: Vec<Certificate>,
    skip_chain: bool,
    at: Option<SystemTime>,
    expected: Option<Expected>,
}

#[derive(Debug, Clone)]
enum Expected {
    Text(String),
    Bytes(Vec<u8>),
    Hash(BindingContent),
}

impl SignatureCheck {
    /// Checks the chain to these trust anchors: roots (self-issued) and,
    /// optionally, intermediates. Audkenni's "Islandsrot 2021" (production)
    /// and "IslandsrotTest2021" (test) are the usual roots.
    pub fn with_trust_anchors(anchors: impl IntoIterator<Item = Certificate>) -> Self {
        Self {
            anchors: anchors.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Does NOT check the signer's certificate chain: the result says
    /// [`ChainStatus::Unchecked`]. The signature, the certificate's validity
    /// period and the names are still checked.
    pub fn without_chain_check() -> Self {
        Self {
            skip_chain: true,
            ..Self::default()
        }
    }

    /// Checks validity at this time instead of now (for archived signatures).
    #[must_use]
    pub fn at(mut self, at: SystemTime) -> Self {
        self.at = Some(at);
        self
    }

    /// Requires the signed content to be this text (UTF-16BE, UTF-16LE or UTF-8).
    #[must_use]
    pub fn expect_text(mut self, text: impl Into<String>) -> Self {
        self.expected = Some(Expected::Text(text.into()));
        self
    }

    /// Requires the signed content to be exactly these bytes.
    #[must_use]
    pub fn expect_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.expected = Some(Expected::Bytes(bytes.into()));
        self
    }

    /// Requires the signed content to be this hash (raw, or as its base64 text).
    #[must_use]
    pub fn expect_hash(mut self, content: BindingContent) -> Self {
        self.expected = Some(Expected::Hash(content));
        self
    }

    fn time(&self) -> SystemTime {
        self.at.unwrap_or_else(SystemTime::now)
    }
}

/// Whether the signer's certificate chain was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainStatus {
    /// The chain to one of the given trust anchors was built and checked at the time of the check.
    Checked,
    /// The caller opted out with [`SignatureCheck::without_chain_check`].
    Unchecked,
}

impl fmt::Display for ChainStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Checked => "checked",
            Self::Unchecked => "unchecked",
        })
    }
}

/// The text encoding found in signed content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextEncoding {
    /// UTF-16 big-endian (what Audkenni's SIM signing produces).
    Utf16Be,
    /// UTF-16 little-endian.
    Utf16Le,
    /// UTF-8.
    Utf8,
}

/// The bytes that were signed.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedContent(Vec<u8>);

impl fmt::Debug for SignedContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text() {
            Some((text, enc)) => write!(f, "SignedContent({enc:?} {text:?})"),
            None => write!(f, "SignedContent({} bytes)", self.0.len()),
        }
    }
}

impl SignedContent {
    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The content as text with its encoding: UTF-16 (with a BOM, or
    /// recognised by its zero bytes) or UTF-8. `None` for binary content.
    pub fn text(&self) -> Option<(String, TextEncoding)> {
        let b = &self.0;
        let utf16 = |be: bool, skip: usize| -> Option<String> {
            let body = b.get(skip..)?;
            if !body.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = body
                .chunks_exact(2)
                .map(|c| {
                    if be {
                        u16::from_be_bytes([c[0], c[1]])
                    } else {
                        u16::from_le_bytes([c[0], c[1]])
                    }
                })
                .collect();
            let s = String::from_utf16(&units).ok()?;
            (!s.chars().any(|c| c.is_control() && !c.is_whitespace())).then_some(s)
        };
        if b.starts_with(&[0xFE, 0xFF]) {
            return utf16(true, 2).map(|s| (s, TextEncoding::Utf16Be));
        }
        if b.starts_with(&[0xFF, 0xFE]) {
            return utf16(false, 2).map(|s| (s, TextEncoding::Utf16Le));
        }
        if b.len() >= 2 && b.len().is_multiple_of(2) {
            let pairs = b.len() / 2;
            let even_zero = b.iter().step_by(2).filter(|x| **x == 0).count();
            let odd_zero = b.iter().skip(1).step_by(2).filter(|x| **x == 0).count();
            if even_zero * 2 > pairs && odd_zero == 0 {
                return utf16(true, 0).map(|s| (s, TextEncoding::Utf16Be));
            }
            if odd_zero * 2 > pairs && even_zero == 0 {
                return utf16(false, 0).map(|s| (s, TextEncoding::Utf16Le));
            }
        }
        let s = std::str::from_utf8(b.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(b)).ok()?;
        (!s.contains('\0') && !s.chars().any(|c| c.is_control() && !c.is_whitespace()))
            .then(|| (s.to_owned(), TextEncoding::Utf8))
    }

    /// Whether the content is `text` in UTF-16BE, UTF-16LE or UTF-8 (BOM optional).
    pub fn matches_text(&self, text: &str) -> bool {
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let b = self.0.as_slice();
        b == be.as_slice()
            || b == le.as_slice()
            || b == text.as_bytes()
            || b.strip_prefix(&[0xFE, 0xFF]) == Some(be.as_slice())
            || b.strip_prefix(&[0xFF, 0xFE]) == Some(le.as_slice())
            || b.strip_prefix(&[0xEF, 0xBB, 0xBF]) == Some(text.as_bytes())
    }

    /// Whether the content is the hash of `content` (its raw bytes or its
    /// base64 text), or hashes to it.
    pub fn matches_hash(&self, content: &BindingContent) -> bool {
        let hash = content.hash_bytes();
        if !hash.is_empty() && self.0 == hash {
            return true;
        }
        if self.matches_text(content.as_str()) && !content.as_str().is_empty() {
            return true;
        }
        match content.algorithm() {
            Some(alg) if !hash.is_empty() => alg.digest(&self.0) == hash,
            _ => false,
        }
    }
}

/// A verified signature and the verified facts about its signer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedSignature {
    /// The signer's certificate.
    pub signer: Certificate,
    /// The certificate's common name (checked equal to the id_token's `name`
    /// when verified from an id_token).
    pub name: String,
    /// The certificate's subject serialNumber (checked equal to
    /// `nationalRegisterId` when verified from an id_token).
    pub national_register_id: Kennitala,
    /// The signed content (for PKCS#1 signatures: the signed hash).
    pub content: SignedContent,
    /// Whether the chain was checked.
    pub chain: ChainStatus,
    /// The CMS signingTime attribute, when present.
    pub signing_time: Option<SystemTime>,
}

impl VerifiedSignature {
    /// The signed content as text, if it is text.
    pub fn signed_text(&self) -> Option<String> {
        self.content.text().map(|(t, _)| t)
    }
}

/// Verifies a CMS SignedData (DER) with attached content: messageDigest,
/// the signature over the signed attributes, the signer certificate's
/// validity at the time of the check, its chain (unless opted out), and
/// the expected content if one is given.
///
/// The signer's name and kennitala come from the certificate (CN and
/// subject serialNumber). Use [`crate::VerifiedIdToken::verify_signature`]
/// to also tie them to an id_token.
///
/// # Errors
/// [`SignatureError`] saying which check failed.
pub fn verify_cms(
    cms_der: &[u8],
    check: &SignatureCheck,
) -> Result<VerifiedSignature, SignatureError> {
    let cms = verify_signed_data(cms_der)?;
    let content = SignedContent(cms.content);
    finish(
        &cms.signer_der,
        &cms.other_certificates,
        content,
        cms.signing_time,
        check,
    )
}

/// Verifies a raw PKCS#1 v1.5 RSA signature (`sim-sign-pkcs1`) of the hash
/// in `signed` (SHA-256 or SHA-512, by its length) made with
/// `certificate_der`'s key, then the certificate as in [`verify_cms`].
///
/// # Errors
/// [`SignatureError`] saying which check failed.
pub fn verify_pkcs1(
    signature: &[u8],
    certificate_der: &[u8],
    signed: &BindingContent,
    check: &SignatureCheck,
) -> Result<VerifiedSignature, SignatureError> {
    let cert = X509::from_der(certificate_der)
        .map_err(|e| SignatureError::Malformed(format!("certificate ({e})")))?;
    let hash = signed.hash_bytes();
    let (alg, dig) = match signed.algorithm() {
        Some(HashAlgorithm::Sha256) => (&signature::RSA_PKCS1_2048_8192_SHA256, &digest::SHA256),
        Some(HashAlgorithm::Sha512) => (&signature::RSA_PKCS1_2048_8192_SHA512, &digest::SHA512),
        None => {
            return Err(SignatureError::Unsupported(
                "the binding content is not a SHA-256 or SHA-512 hash".into(),
            ));
        }
    };
    let digest = digest::Digest::import_less_safe(hash, dig)
        .map_err(|_| SignatureError::Malformed("hash length".into()))?;
    let key = cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| SignatureError::Malformed("public key".into()))?;
    UnparsedPublicKey::new(alg, key)
        .verify_digest(&digest, signature)
        .map_err(|_| SignatureError::BadSignature)?;
    finish(
        certificate_der,
        &[],
        SignedContent(hash.to_vec()),
        None,
        check,
    )
}

fn finish(
    signer_der: &[u8],
    extra: &[Vec<u8>],
    content: SignedContent,
    signing_time: Option<SystemTime>,
    check: &SignatureCheck,
) -> Result<VerifiedSignature, SignatureError> {
    let signer = Certificate::from_der(signer_der, "signer certificate")
        .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    let at = check.time();
    if !signer.is_valid_at(at) {
        return Err(SignatureError::CertificateNotValidAt {
            at: rfc3339(at),
            not_before: signer.not_before_rfc3339(),
            not_after: signer.not_after_rfc3339(),
        });
    }
    let chain = if check.skip_chain {
        ChainStatus::Unchecked
    } else {
        check_chain(signer_der, &check.anchors, extra, at)?;
        ChainStatus::Checked
    };
    let (cn, serial) = subject_names(signer_der)?;
    let name =
        cn.ok_or_else(|| SignatureError::Malformed("the signer certificate has no CN".into()))?;
    let serial = serial.ok_or_else(|| {
        SignatureError::Malformed(
            "the signer certificate has no subject serialNumber (kennitala)".into(),
        )
    })?;
    let national_register_id = Kennitala::parse(&serial)
        .map_err(|e| SignatureError::Malformed(format!("signer certificate serialNumber: {e}")))?;
    let ok = match &check.expected {
        None => true,
        Some(Expected::Text(t)) => content.matches_text(t),
        Some(Expected::Bytes(b)) => content.bytes() == b.as_slice(),
        Some(Expected::Hash(h)) => content.matches_hash(h),
    };
    if !ok {
        return Err(SignatureError::ContentMismatch);
    }
    Ok(VerifiedSignature {
        signer,
        name,
        national_register_id,
        content,
        chain,
        signing_time,
    })
}

/// The subject's CN and serialNumber.
pub(crate) fn subject_names(
    der: &[u8],
) -> Result<(Option<String>, Option<String>), SignatureError> {
    let cert =
        X509::from_der(der).map_err(|e| SignatureError::Malformed(format!("certificate ({e})")))?;
    let mut cn = None;
    let mut serial = None;
    for atv in cert.tbs_certificate().subject().iter() {
        if atv.oid == OID_CN {
            cn = directory_string(&atv.value);
        } else if atv.oid == OID_SERIAL_NUMBER {
            serial = directory_string(&atv.value);
        }
    }
    Ok((cn, serial))
}

fn directory_string(any: &der::Any) -> Option<String> {
    let v = any.value();
    match any.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
            String::from_utf8(v.to_vec()).ok()
        }
        Tag::TeletexString => Some(v.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = v
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    x509_cert::time::Time::try_from(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .map(|t| t.to_string())
        .unwrap_or_else(|_| format!("{secs} s since the epoch"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use std::time::{Duration, UNIX_EPOCH};

    fn seed() -> Vec<u8> {
        let b64 = include_str!("../../../tests/fixtures/audkenni/seed-signature.b64");
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap()
    }
    const SEED_TIME: u64 = 1_575_010_961; // the seed id_token's iat, 2019-11-29

    #[test]
    fn seed_signature_verifies_at_2019_11_29() {
        let check = SignatureCheck::without_chain_check()
            .at(UNIX_EPOCH + Duration::from_secs(SEED_TIME))
            .expect_text("Login to Audkenni");
        let v = verify_cms(&seed(), &check).unwrap();
        assert_eq!(v.name, "Gervimaður Asía");
        assert_eq!(v.national_register_id.as_str(), "0101303369");
        assert_eq!(v.chain, ChainStatus::Unchecked);
        assert_eq!(
            v.content.text(),
            Some(("Login to Audkenni".into(), TextEncoding::Utf16Be))
        );
        assert!(v.signer.issuer().contains("Fullgilt audkenni profun test"));
    }

    #[test]
    fn seed_signature_fails_after_expiry_and_on_wrong_content() {
        let after = UNIX_EPOCH + Duration::from_secs(1_729_100_000); // 2024-10-16
        let err =
            verify_cms(&seed(), &SignatureCheck::without_chain_check().at(after)).unwrap_err();
        assert!(
            matches!(err, SignatureError::CertificateNotValidAt { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("2024-10-15"), "{err}");
        let err = verify_cms(
            &seed(),
            &SignatureCheck::without_chain_check()
                .at(UNIX_EPOCH + Duration::from_secs(SEED_TIME))
                .expect_text("Login to Audkenni!"),
        )
        .unwrap_err();
        assert_eq!(err, SignatureError::ContentMismatch);
    }

    #[test]
    fn seed_chain_is_not_checkable_without_the_test_ca() {
        // A trust anchor that did not issue the certificate: no path.
        let other = Certificate::from_der(
            &{
                let info = verify_signed_data(&seed()).unwrap();
                info.signer_der
            },
            "self",
        )
        .unwrap();
        let check = SignatureCheck::with_trust_anchors([other])
            .at(UNIX_EPOCH + Duration::from_secs(SEED_TIME));
        assert!(matches!(
            verify_cms(&seed(), &check),
            Err(SignatureError::Chain(_))
        ));
        // And no anchors at all is a chain error too, not a silent pass.
        let none =
            SignatureCheck::with_trust_anchors([]).at(UNIX_EPOCH + Duration::from_secs(SEED_TIME));
        assert!(matches!(
            verify_cms(&seed(), &none),
            Err(SignatureError::Chain(_))
        ));
    }

    #[test]
    fn text_detection() {
        let be: Vec<u8> = "Halló".encode_utf16().flat_map(u16::to_be_bytes).collect();
        let le: Vec<u8> = "Halló".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(
            SignedContent(be.clone()).text().unwrap().1,
            TextEncoding::Utf16Be
        );
        assert_eq!(
            SignedContent(le.clone()).text().unwrap(),
            ("Halló".into(), TextEncoding::Utf16Le)
        );
        assert_eq!(
            SignedContent("Halló".into()).text().unwrap().1,
            TextEncoding::Utf8
        );
        assert!(SignedContent(vec![0xff, 0x00, 0x01]).text().is_none());
        for b in [be, le, "Halló".as_bytes().to_vec()] {
            assert!(SignedContent(b.clone()).matches_text("Halló"));
            assert!(!SignedContent(b).matches_text("Hallo"));
        }
        let hash = BindingContent::sha256_of(b"doc");
        assert!(SignedContent(hash.hash_bytes().to_vec()).matches_hash(&hash));
        assert!(SignedContent(b"doc".to_vec()).matches_hash(&hash));
        assert!(!SignedContent(b"dox".to_vec()).matches_hash(&hash));
    }
}
