//! The verified signature: CMS (PKCS#7 modes) or raw PKCS#1
//! (`sim-sign-pkcs1`), the signer's certificate, chain and time checks, and
//! the signed content.

use std::fmt;
use std::time::SystemTime;

use der::Decode;
use serde::{Deserialize, Serialize};
use smartid_core::Certificate;
use smartid_core::internal::{CertificateFields, certificate_with_fields, directory_string};
use x509_cert::spki::SubjectPublicKeyInfoRef;

use crate::binding::{BindingContent, HashAlgorithm};
use crate::chain::{CrlOutcome, check_chain};
use crate::cms::verify_signed_data;
use crate::error::SignatureError;
use crate::kennitala::Kennitala;

/// id-at-commonName (2.5.4.3), id-at-serialNumber (2.5.4.5), id-ce-keyUsage
/// (2.5.29.15) and id-ce-extKeyUsage (2.5.29.37): their content octets.
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_SERIAL_NUMBER: &[u8] = &[0x55, 0x04, 0x05];
const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];

/// What a signature is checked against: trust anchors for the signer's
/// certificate chain (or an explicit opt-out), the time of the check, the
/// rule for the certificate's extended key usage, revocation (CRLs), and
/// optionally the content the relying party asked to be signed.
///
/// ```
/// use audkenni_ciba::SignatureCheck;
/// use std::time::{Duration, UNIX_EPOCH};
/// let check = SignatureCheck::without_chain_check()
///     .at(UNIX_EPOCH + Duration::from_secs(1_575_010_961))
///     .expect_text("Login to Audkenni"); // UTF-16BE, as Audkenni signs
/// # let _ = check;
/// ```
#[derive(Debug, Clone, Default)]
pub struct SignatureCheck {
    anchors: Vec<Certificate>,
    skip_chain: bool,
    at: Option<SystemTime>,
    expected: Option<Expected>,
    /// What the pending flow recorded (set by the client), checked too.
    recorded: Option<Expected>,
    text_encoding: TextEncoding,
    eku: EkuPolicy,
    crls: Vec<Vec<u8>>,
    fetch_crl: bool,
    require_revocation: bool,
    /// Why a CRL fetch gave nothing (set by the client).
    crl_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expected {
    Text(String, TextEncoding),
    Bytes(Vec<u8>),
}

impl Expected {
    fn matches(&self, content: &SignedContent) -> bool {
        match self {
            Self::Text(t, enc) => content.matches_text(t, *enc),
            Self::Bytes(b) => content.bytes() == b.as_slice(),
        }
    }
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
    /// period, key usage and names are still checked. Revocation cannot be
    /// checked without the chain (a CRL is verified against the issuer).
    pub fn without_chain_check() -> Self {
        Self {
            skip_chain: true,
            ..Self::default()
        }
    }

    /// Checks validity (and CRLs) at this time instead of now (for archived
    /// signatures). Defaults to the client's clock when a
    /// [`crate::CibaClient`] verifies, else the system time.
    #[must_use]
    pub fn at(mut self, at: SystemTime) -> Self {
        self.at = Some(at);
        self
    }

    /// Requires the signed content to be exactly this text in UTF-16
    /// big-endian (what Audkenni signs; no byte order mark). For another
    /// encoding, use [`SignatureCheck::expect_text_in`]. Nothing is guessed:
    /// content that is the text in another encoding does not match.
    #[must_use]
    pub fn expect_text(self, text: impl Into<String>) -> Self {
        self.expect_text_in(text, TextEncoding::Utf16Be)
    }

    /// Requires the signed content to be exactly this text in `encoding`
    /// (no byte order mark); [`VerifiedSignature::signed_text`] then decodes
    /// with it.
    #[must_use]
    pub fn expect_text_in(mut self, text: impl Into<String>, encoding: TextEncoding) -> Self {
        self.expected = Some(Expected::Text(text.into(), encoding));
        self.text_encoding = encoding;
        self
    }

    /// Requires the signed content to be exactly these bytes.
    #[must_use]
    pub fn expect_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.expected = Some(Expected::Bytes(bytes.into()));
        self
    }

    /// Requires the signed content to be exactly the hash bytes of
    /// `content` (its `binding_content`, base64-decoded); for a raw value
    /// that is not a base64 hash, its bytes as sent.
    #[must_use]
    pub fn expect_hash(mut self, content: BindingContent) -> Self {
        self.expected = Some(Expected::Bytes(binding_bytes(&content)));
        self
    }

    /// The encoding [`VerifiedSignature::signed_text`] decodes with when no
    /// text is expected. Defaults to UTF-16BE.
    #[must_use]
    pub fn text_encoding(mut self, encoding: TextEncoding) -> Self {
        self.text_encoding = encoding;
        self
    }

    /// The rule for the signer certificate's extended key usage. Defaults
    /// to [`EkuPolicy::SigningOrClientAuth`].
    #[must_use]
    pub fn extended_key_usage(mut self, policy: EkuPolicy) -> Self {
        self.eku = policy;
        self
    }

    /// Checks revocation against this CRL (DER or PEM), verified against
    /// the signer's issuer. May be called several times.
    #[must_use]
    pub fn crl(mut self, crl: impl Into<Vec<u8>>) -> Self {
        let crl = crl.into();
        let der = if crl.starts_with(b"-----") {
            pem_body(&crl).unwrap_or(crl)
        } else {
            crl
        };
        self.crls.push(der);
        self
    }

    /// Fetches the CRL from the signer certificate's CRL distribution point
    /// (through the client's HTTP settings; plain http allowed, since the
    /// CRL is signed). Only [`crate::CibaClient::verify_signature`] and
    /// [`crate::CibaClient::finish_and_verify_signature`] fetch; the
    /// synchronous verifiers report [`RevocationStatus::Unavailable`].
    #[must_use]
    pub fn fetch_crl(mut self, on: bool) -> Self {
        self.fetch_crl = on;
        self
    }

    /// Makes an unavailable revocation status an error
    /// ([`SignatureError::RevocationUnavailable`]) instead of a result.
    /// Defaults to false.
    #[must_use]
    pub fn require_revocation_check(mut self, on: bool) -> Self {
        self.require_revocation = on;
        self
    }

    pub(crate) fn wants_crl_fetch(&self) -> bool {
        self.fetch_crl
    }

    pub(crate) fn has_expectation(&self) -> bool {
        self.expected.is_some() || self.recorded.is_some()
    }

    pub(crate) fn with_fetched_crl(mut self, result: Result<Vec<u8>, String>) -> Self {
        match result {
            Ok(der) => self.crls.push(der),
            Err(note) => self.crl_note = Some(note),
        }
        self
    }

    pub(crate) fn with_recorded(mut self, recorded: Option<Expected>) -> Self {
        if let Some(Expected::Text(_, enc)) = &recorded
            && !matches!(self.expected, Some(Expected::Text(..)))
        {
            self.text_encoding = *enc;
        }
        self.recorded = recorded;
        self
    }

    /// The time of the check: the one set with [`SignatureCheck::at`], else
    /// `now` (the client's clock when a [`crate::CibaClient`] verifies).
    pub(crate) fn at_or(mut self, now: SystemTime) -> Self {
        self.at.get_or_insert(now);
        self
    }

    fn time(&self) -> SystemTime {
        self.at
            .unwrap_or_else(|| smartid_core::Clock::now(&smartid_core::SystemClock))
    }
}

/// The base64 body of the first PEM block.
fn pem_body(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let b64: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect::<String>()
        .split_whitespace()
        .collect();
    crate::id_token::decode_b64(&b64)
}

/// The bytes a binding content stands for: the hash, or the value as sent.
pub(crate) fn binding_bytes(content: &BindingContent) -> Vec<u8> {
    if content.hash_bytes().is_empty() {
        content.as_str().as_bytes().to_vec()
    } else {
        content.hash_bytes().to_vec()
    }
}

/// What a relying party expects the user's signature to cover, recorded
/// with the request ([`crate::AuthRequest::signs`]) and checked by
/// [`crate::CibaClient::finish_and_verify_signature`].
///
/// Audkenni's record allows both readings: seed 004 says `binding_content`
/// "is the actual content that will be signed", while its sample CMS signs
/// the displayed text in UTF-16BE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SignedPayload {
    /// The binding message (the text the user saw) in this encoding.
    DisplayedText(TextEncoding),
    /// The bytes of the binding content (the hash, base64-decoded).
    BindingContent,
}

impl SignedPayload {
    /// The displayed text in UTF-16BE, as the seed's sample CMS.
    pub const DISPLAYED_TEXT_UTF16BE: Self = Self::DisplayedText(TextEncoding::Utf16Be);
}

/// The rule for the signer certificate's extended key usage (EKU). An
/// absent EKU extension always passes (RFC 5280 4.2.1.12).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EkuPolicy {
    /// The EKU, when present, contains clientAuth (what Audkenni's
    /// certificates carry, the seed's included), emailProtection,
    /// documentSigning (1.3.6.1.5.5.7.3.36) or anyExtendedKeyUsage. The default.
    #[default]
    SigningOrClientAuth,
    /// The EKU, when present, contains clientAuth.
    ClientAuth,
    /// The EKU is present and contains this OID (dotted, for example `1.3.6.1.5.5.7.3.4`).
    Require(String),
    /// The EKU is not checked.
    NotChecked,
}

impl EkuPolicy {
    pub(crate) fn accepts(&self, present: Option<&[String]>) -> bool {
        const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
        let has = |oid: &str| present.is_some_and(|p| p.iter().any(|x| x == oid));
        match self {
            Self::NotChecked => true,
            Self::Require(oid) => has(oid),
            _ if present.is_none() => true,
            Self::ClientAuth => has(CLIENT_AUTH),
            Self::SigningOrClientAuth => [
                CLIENT_AUTH,
                "1.3.6.1.5.5.7.3.4",
                "1.3.6.1.5.5.7.3.36",
                "2.5.29.37.0",
            ]
            .iter()
            .any(|o| has(o)),
        }
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

/// The signer certificate's revocation status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationStatus {
    /// A CRL from the issuer, valid at the time of the check (thisUpdate
    /// not after it, nextUpdate after it), does not list the certificate.
    NotRevoked {
        /// The CRL's thisUpdate.
        crl_this_update: SystemTime,
    },
    /// No CRL was given and none was asked for (the default).
    NotChecked,
    /// A check was asked for but no usable CRL was available: why.
    Unavailable(String),
}

/// A text encoding of signed content. Never guessed: the caller names it,
/// UTF-16BE (what Audkenni signs) by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TextEncoding {
    /// UTF-16 big-endian, no byte order mark (what Audkenni's signing produces).
    #[default]
    Utf16Be,
    /// UTF-16 little-endian, no byte order mark.
    Utf16Le,
    /// UTF-8, no byte order mark.
    Utf8,
}

impl TextEncoding {
    /// `text` in this encoding.
    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Self::Utf16Be => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            Self::Utf16Le => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            Self::Utf8 => text.as_bytes().to_vec(),
        }
    }

    /// `bytes` decoded in this encoding; `None` when they are not valid in it.
    pub fn decode(self, bytes: &[u8]) -> Option<String> {
        let utf16 = |be: bool| {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| {
                    let pair = [c[0], c[1]];
                    if be {
                        u16::from_be_bytes(pair)
                    } else {
                        u16::from_le_bytes(pair)
                    }
                })
                .collect();
            String::from_utf16(&units).ok()
        };
        match self {
            Self::Utf16Be => utf16(true),
            Self::Utf16Le => utf16(false),
            Self::Utf8 => std::str::from_utf8(bytes).ok().map(str::to_owned),
        }
    }
}

/// The bytes that were signed.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedContent(Vec<u8>);

impl fmt::Debug for SignedContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignedContent({} bytes)", self.0.len())
    }
}

impl SignedContent {
    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The content decoded as text in `encoding`; `None` when it is not valid in it.
    pub fn text(&self, encoding: TextEncoding) -> Option<String> {
        encoding.decode(&self.0)
    }

    /// Whether the content is exactly `text` in `encoding`.
    pub fn matches_text(&self, text: &str, encoding: TextEncoding) -> bool {
        self.0 == encoding.encode(text)
    }
}

/// A verified signature and the verified facts about its signer.
///
/// `Debug` shows no full kennitala (the signer's subject is left out).
#[derive(Clone)]
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
    /// The encoding [`VerifiedSignature::signed_text`] decodes with: the
    /// expected text's, or [`SignatureCheck::text_encoding`] (UTF-16BE by default).
    pub text_encoding: TextEncoding,
    /// Whether the chain was checked.
    pub chain: ChainStatus,
    /// The signer certificate's revocation status.
    pub revocation: RevocationStatus,
    /// The CMS signingTime attribute, when present.
    pub signing_time: Option<SystemTime>,
}

impl fmt::Debug for VerifiedSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedSignature")
            .field("signer_issuer", &self.signer.issuer())
            .field("name", &"[redacted]")
            .field("national_register_id", &self.national_register_id)
            .field("content", &self.content)
            .field("text_encoding", &self.text_encoding)
            .field("chain", &self.chain)
            .field("revocation", &self.revocation)
            .field("signing_time", &self.signing_time)
            .finish_non_exhaustive()
    }
}

impl VerifiedSignature {
    /// The signed content as text in [`VerifiedSignature::text_encoding`]
    /// (never guessed); `None` when it is not valid text in that encoding.
    pub fn signed_text(&self) -> Option<String> {
        self.content.text(self.text_encoding)
    }
}

/// Verifies a CMS SignedData (DER) with attached content: messageDigest,
/// the signature over the signed attributes, the signer certificate's
/// validity at the time of the check, its key usage (digitalSignature or
/// nonRepudiation), its chain (unless opted out) with the extended key
/// usage rule, revocation against the given CRLs, and the expected content
/// if one is given.
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
        cms.signer,
        &cms.signer_fields,
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
    let (cert, fields) = certificate_with_fields(certificate_der, "signer certificate")
        .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    let hash = signed.hash_bytes();
    let algorithm = match signed.algorithm() {
        Some(HashAlgorithm::Sha256) => crate::crypto::PrehashAlgorithm::Sha256,
        Some(HashAlgorithm::Sha512) => crate::crypto::PrehashAlgorithm::Sha512,
        None => {
            return Err(SignatureError::Unsupported(
                "the binding content is not a SHA-256 or SHA-512 hash".into(),
            ));
        }
    };
    let spki = SubjectPublicKeyInfoRef::from_der(fields.subject_public_key_info())
        .map_err(|e| SignatureError::Malformed(format!("public key ({e})")))?;
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| SignatureError::Malformed("public key".into()))?;
    if !crate::crypto::verify_rsa_pkcs1_prehashed(key, algorithm, hash, signature) {
        return Err(SignatureError::BadSignature);
    }
    finish(
        cert,
        &fields,
        &[],
        SignedContent(hash.to_vec()),
        None,
        check,
    )
}

/// The checks after the signature: `fields` are `signer`'s.
fn finish(
    signer: Certificate,
    fields: &CertificateFields<'_>,
    extra: &[&[u8]],
    content: SignedContent,
    signing_time: Option<SystemTime>,
    check: &SignatureCheck,
) -> Result<VerifiedSignature, SignatureError> {
    let at = check.time();
    if !signer.is_valid_at(at) {
        return Err(SignatureError::CertificateNotValidAt {
            at: rfc3339(at),
            not_before: signer.not_before_rfc3339(),
            not_after: signer.not_after_rfc3339(),
        });
    }
    let usage = certificate_usage(fields)?;
    if let Some(ku) = usage.key_usage
        && !ku.digital_signature()
        && !ku.non_repudiation()
    {
        return Err(SignatureError::KeyUsage(
            "the signer certificate's keyUsage allows neither digitalSignature nor nonRepudiation"
                .into(),
        ));
    }
    if !check.eku.accepts(usage.extended_key_usage.as_deref()) {
        return Err(SignatureError::KeyUsage(format!(
            "the signer certificate's extended key usage {:?} is not allowed by {:?}",
            usage.extended_key_usage.unwrap_or_default(),
            check.eku
        )));
    }
    let (chain, revocation) = if check.skip_chain {
        let revocation = if check.crls.is_empty() && !check.fetch_crl {
            RevocationStatus::NotChecked
        } else {
            RevocationStatus::Unavailable(
                "the chain was not checked, and a CRL is verified against the issuer of the chain"
                    .into(),
            )
        };
        (ChainStatus::Unchecked, revocation)
    } else {
        let (crls, newest) = match usable_crls(check, at) {
            Ok((crls, newest)) => (crls, Ok(newest)),
            Err(why) => (Vec::new(), Err(why)),
        };
        let outcome = check_chain(signer.der(), &check.anchors, extra, at, &crls)?;
        let revocation = match (outcome, newest) {
            (CrlOutcome::NotRevoked, Ok(this_update)) => RevocationStatus::NotRevoked {
                crl_this_update: this_update,
            },
            (CrlOutcome::Unusable(why), _) => RevocationStatus::Unavailable(why),
            (_, Err(Some(why))) => RevocationStatus::Unavailable(why),
            (_, _) => RevocationStatus::NotChecked,
        };
        (ChainStatus::Checked, revocation)
    };
    if check.require_revocation {
        match &revocation {
            RevocationStatus::NotRevoked { .. } => {}
            RevocationStatus::Unavailable(why) => {
                return Err(SignatureError::RevocationUnavailable(why.clone()));
            }
            RevocationStatus::NotChecked => {
                return Err(SignatureError::RevocationUnavailable(
                    "no CRL was given or fetched: pass one with SignatureCheck::crl or ask for fetch_crl".into(),
                ));
            }
        }
    }
    let (cn, serial) = names_of(fields);
    let name =
        cn.ok_or_else(|| SignatureError::Malformed("the signer certificate has no CN".into()))?;
    let serial = serial.ok_or_else(|| {
        SignatureError::Malformed(
            "the signer certificate has no subject serialNumber (kennitala)".into(),
        )
    })?;
    let national_register_id = Kennitala::parse(&serial)
        .map_err(|e| SignatureError::Malformed(format!("signer certificate serialNumber: {e}")))?;
    for expected in [&check.expected, &check.recorded].into_iter().flatten() {
        if !expected.matches(&content) {
            return Err(SignatureError::ContentMismatch);
        }
    }
    Ok(VerifiedSignature {
        signer,
        name,
        national_register_id,
        content,
        text_encoding: check.text_encoding,
        chain,
        revocation,
        signing_time,
    })
}

/// The CRLs usable at `at` (thisUpdate not after it; nextUpdate is
/// enforced by the path check) and the newest thisUpdate among them, or
/// why there are none (`None`: none asked for).
fn usable_crls(
    check: &SignatureCheck,
    at: SystemTime,
) -> Result<(Vec<Vec<u8>>, SystemTime), Option<String>> {
    if check.crls.is_empty() {
        return Err(match (&check.crl_note, check.fetch_crl) {
            (Some(note), _) => Some(note.clone()),
            (None, true) => Some(
                "fetching the CRL needs CibaClient::verify_signature or finish_and_verify_signature"
                    .into(),
            ),
            (None, false) => None,
        });
    }
    let mut usable = Vec::new();
    let mut newest = std::time::UNIX_EPOCH;
    let mut why = Vec::new();
    for der in &check.crls {
        match x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der) {
            Ok(list) => {
                let this_update = list.tbs_cert_list.this_update.to_system_time();
                if this_update > at {
                    why.push(format!(
                        "a CRL's thisUpdate {} is after the time checked {}",
                        rfc3339(this_update),
                        rfc3339(at)
                    ));
                } else {
                    newest = newest.max(this_update);
                    usable.push(der.clone());
                }
            }
            Err(e) => why.push(format!("a CRL cannot be parsed ({e})")),
        }
    }
    if usable.is_empty() {
        Err(Some(why.join("; ")))
    } else {
        Ok((usable, newest))
    }
}

struct CertificateUsage {
    key_usage: Option<x509_cert::ext::pkix::KeyUsage>,
    extended_key_usage: Option<Vec<String>>,
}

fn certificate_usage(cert: &CertificateFields<'_>) -> Result<CertificateUsage, SignatureError> {
    let extension = |oid: &[u8], name: &str| {
        cert.extension(oid)
            .map_err(|()| SignatureError::Malformed(format!("{name} extension (occurs twice)")))
    };
    let key_usage = extension(KEY_USAGE, "keyUsage")?
        .map(|(_, value)| x509_cert::ext::pkix::KeyUsage::from_der(value))
        .transpose()
        .map_err(|e| SignatureError::Malformed(format!("keyUsage extension ({e})")))?;
    let extended_key_usage = extension(EXTENDED_KEY_USAGE, "extendedKeyUsage")?
        .map(|(_, value)| x509_cert::ext::pkix::ExtendedKeyUsage::from_der(value))
        .transpose()
        .map_err(|e| SignatureError::Malformed(format!("extendedKeyUsage extension ({e})")))?
        .map(|eku| eku.0.iter().map(ToString::to_string).collect());
    Ok(CertificateUsage {
        key_usage,
        extended_key_usage,
    })
}

/// The subject's CN and serialNumber.
pub(crate) fn subject_names(
    der: &[u8],
) -> Result<(Option<String>, Option<String>), SignatureError> {
    let (_, fields) = certificate_with_fields(der, "certificate")
        .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    Ok(names_of(&fields))
}

/// [`subject_names`] of a parsed certificate (the last of each, as read).
fn names_of(cert: &CertificateFields<'_>) -> (Option<String>, Option<String>) {
    let mut cn = None;
    let mut serial = None;
    cert.for_each_subject_attribute(|oid, tag, value| {
        if oid == OID_CN {
            cn = directory_string(tag, value);
        } else if oid == OID_SERIAL_NUMBER {
            serial = directory_string(tag, value);
        }
    });
    (cn, serial)
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
        let b64 = include_str!("../tests/fixtures/seed-signature.b64");
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
            v.content.text(TextEncoding::Utf16Be).as_deref(),
            Some("Login to Audkenni")
        );
        assert_eq!(v.signed_text().as_deref(), Some("Login to Audkenni"));
        assert_eq!(v.revocation, RevocationStatus::NotChecked);
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
                let seed = seed();
                let info = verify_signed_data(&seed).unwrap();
                info.signer.der().to_vec()
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
    fn text_matching_uses_the_named_encoding_only() {
        for enc in [
            TextEncoding::Utf16Be,
            TextEncoding::Utf16Le,
            TextEncoding::Utf8,
        ] {
            let c = SignedContent(enc.encode("Halló"));
            assert!(c.matches_text("Halló", enc));
            assert!(!c.matches_text("Hallo", enc));
            assert_eq!(c.text(enc).as_deref(), Some("Halló"));
        }
        // The same text in another encoding is not a match.
        let be = SignedContent(TextEncoding::Utf16Be.encode("Halló"));
        assert!(!be.matches_text("Halló", TextEncoding::Utf16Le));
        assert!(!be.matches_text("Halló", TextEncoding::Utf8));
        // A byte order mark is not silently accepted.
        let mut bom = vec![0xFE, 0xFF];
        bom.extend(TextEncoding::Utf16Be.encode("Halló"));
        assert!(!SignedContent(bom).matches_text("Halló", TextEncoding::Utf16Be));
        assert!(
            SignedContent(vec![0xff, 0x00, 0x01])
                .text(TextEncoding::Utf16Be)
                .is_none()
        );
    }

    #[test]
    fn one_signature_never_matches_two_texts() {
        // UTF-16BE of this CJK text is byte for byte UTF-16LE of "Pay 1000 ISK":
        // the old matcher accepted it as that text.
        let pay = "Pay 1000 ISK";
        let cjk = TextEncoding::Utf16Be
            .decode(&TextEncoding::Utf16Le.encode(pay))
            .unwrap();
        assert!(
            cjk.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{cjk}"
        );
        let signed = SignedContent(TextEncoding::Utf16Be.encode(&cjk));
        assert!(!signed.matches_text(pay, TextEncoding::Utf16Be));
        assert!(signed.matches_text(&cjk, TextEncoding::Utf16Be));
        assert_ne!(signed.text(TextEncoding::Utf16Be).as_deref(), Some(pay));
    }

    #[test]
    fn eku_policies() {
        let client = vec!["1.3.6.1.5.5.7.3.2".to_owned()];
        let server = vec!["1.3.6.1.5.5.7.3.1".to_owned()];
        let email = vec!["1.3.6.1.5.5.7.3.4".to_owned()];
        let d = EkuPolicy::default();
        assert!(d.accepts(Some(&client)) && d.accepts(Some(&email)) && d.accepts(None));
        assert!(!d.accepts(Some(&server)));
        assert!(EkuPolicy::ClientAuth.accepts(Some(&client)));
        assert!(!EkuPolicy::ClientAuth.accepts(Some(&email)));
        assert!(EkuPolicy::NotChecked.accepts(Some(&server)));
        let req = EkuPolicy::Require("1.3.6.1.5.5.7.3.4".into());
        assert!(req.accepts(Some(&email)) && !req.accepts(None) && !req.accepts(Some(&client)));
    }

    mod usage_and_revocation {
        use super::*;
        use smartid_testkit::{CertSpec, CertUsage, TestCa, TestIdentity};

        fn signer(ca: &TestCa, usage: CertUsage) -> TestIdentity {
            ca.issue(
                &CertSpec::new("Gervimaður Test", usage)
                    .subject_attribute("serialNumber", "0101303369"),
            )
            .unwrap()
        }

        fn cms(id: &TestIdentity) -> Vec<u8> {
            crate::cms::tests::cms_signed_by(id, b"Sign this", [0, 1], [0, 1])
        }

        #[test]
        fn key_usage_must_allow_signing() {
            let ca = TestCa::new_root("KU CA", "Test").unwrap();
            let enc = signer(&ca, CertUsage::Encryption);
            let check = SignatureCheck::with_trust_anchors([ca.certificate().clone()]);
            let err = verify_cms(&cms(&enc), &check).unwrap_err();
            assert!(
                matches!(&err, SignatureError::KeyUsage(m) if m.contains("keyUsage")),
                "{err}"
            );
            assert!(verify_cms(&cms(&signer(&ca, CertUsage::Signing)), &check).is_ok());
        }

        #[test]
        fn the_eku_rule_is_a_setting_whose_default_accepts_client_auth() {
            let ca = TestCa::new_root("EKU CA", "Test").unwrap();
            let anchors = [ca.certificate().clone()];
            // clientAuth, as the seed's certificate: accepted by default.
            let client = signer(&ca, CertUsage::Signing);
            assert!(
                verify_cms(
                    &cms(&client),
                    &SignatureCheck::with_trust_anchors(anchors.clone())
                )
                .is_ok()
            );
            // serverAuth only: refused by default, accepted when the caller says so.
            let server = signer(&ca, CertUsage::Server);
            let err = verify_cms(
                &cms(&server),
                &SignatureCheck::with_trust_anchors(anchors.clone()),
            )
            .unwrap_err();
            assert!(matches!(err, SignatureError::KeyUsage(_)), "{err}");
            let relaxed = SignatureCheck::with_trust_anchors(anchors.clone())
                .extended_key_usage(EkuPolicy::NotChecked);
            assert!(verify_cms(&cms(&server), &relaxed).is_ok());
            let required = SignatureCheck::with_trust_anchors(anchors)
                .extended_key_usage(EkuPolicy::Require("1.3.6.1.5.5.7.3.1".into()));
            assert!(verify_cms(&cms(&server), &required).is_ok());
            assert!(verify_cms(&cms(&client), &required).is_err());
        }

        #[test]
        fn a_supplied_crl_is_checked_against_the_issuer_and_the_time() {
            let ca = TestCa::new_root("CRL CA", "Test").unwrap();
            let anchors = [ca.certificate().clone()];
            let good = signer(&ca, CertUsage::Signing);
            let bad = signer(&ca, CertUsage::Signing);
            let now = SystemTime::now();
            let hour = Duration::from_secs(3600);
            let crl = ca.crl(&[bad.leaf_der()], now - hour, now + hour).unwrap();
            let check = SignatureCheck::with_trust_anchors(anchors.clone()).crl(crl.clone());
            let v = verify_cms(&cms(&good), &check).unwrap();
            assert!(
                matches!(v.revocation, RevocationStatus::NotRevoked { .. }),
                "{:?}",
                v.revocation
            );
            assert_eq!(
                verify_cms(&cms(&bad), &check).unwrap_err(),
                SignatureError::Revoked
            );
            // PEM works too.
            let pem = smartid_core::internal::pem_encode("X509 CRL", &crl);
            let check = SignatureCheck::with_trust_anchors(anchors.clone()).crl(pem.into_bytes());
            assert_eq!(
                verify_cms(&cms(&bad), &check).unwrap_err(),
                SignatureError::Revoked
            );

            let status = |crl: Vec<u8>, at: SystemTime| {
                verify_cms(
                    &cms(&bad),
                    &SignatureCheck::with_trust_anchors(anchors.clone())
                        .crl(crl)
                        .at(at),
                )
                .map(|v| v.revocation)
            };
            // thisUpdate after the time checked: not usable.
            let later = ca
                .crl(&[bad.leaf_der()], now + hour, now + 2 * hour)
                .unwrap();
            assert!(
                matches!(status(later, now), Ok(RevocationStatus::Unavailable(ref m)) if m.contains("thisUpdate")),
            );
            // nextUpdate passed at the time checked: not usable.
            let stale = ca
                .crl(&[bad.leaf_der()], now - 2 * hour, now - hour)
                .unwrap();
            assert!(
                matches!(status(stale, now), Ok(RevocationStatus::Unavailable(ref m)) if m.contains("nextUpdate")),
            );
            // Same issuer name, another key: its signature does not verify.
            let forger = TestCa::new_root("CRL CA", "Test").unwrap();
            let forged = forger.crl(&[], now - hour, now + hour).unwrap();
            assert!(
                matches!(status(forged.clone(), now), Ok(RevocationStatus::Unavailable(ref m)) if m.contains("signature")),
            );
            // Required: unavailable is an error, typed.
            let err = verify_cms(
                &cms(&good),
                &SignatureCheck::with_trust_anchors(anchors.clone())
                    .crl(forged)
                    .require_revocation_check(true),
            )
            .unwrap_err();
            assert!(
                matches!(err, SignatureError::RevocationUnavailable(_)),
                "{err}"
            );
            let err = verify_cms(
                &cms(&good),
                &SignatureCheck::with_trust_anchors(anchors).require_revocation_check(true),
            )
            .unwrap_err();
            assert!(
                matches!(err, SignatureError::RevocationUnavailable(_)),
                "{err}"
            );
        }
    }
}
