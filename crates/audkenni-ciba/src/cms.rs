//! CMS SignedData verification (RFC 5652): messageDigest and the signature
//! over the signed attributes, with the signer certificate from the message.

use std::time::SystemTime;

use crate::crypto::backend::digest;
use crate::crypto::backend::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use der::asn1::{IntRef, ObjectIdentifier, OctetStringRef};
use der::{Any, AnyRef, Decode, Reader, SliceReader, Tag, TagNumber, Tagged};
use smartid_core::Certificate;
use smartid_core::internal::{CertificateFields, certificate_with_fields, check_name};
use x509_cert::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

use crate::error::SignatureError;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
/// id-ce-subjectKeyIdentifier (2.5.29.14), its content octets.
const SUBJECT_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x0e];
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const CURVE_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const CURVE_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// A CMS SignedData whose signature verified: the signed content, the
/// signer's certificate (as carried in the message) and the signing time
/// attribute when present. The certificate is NOT yet checked against any
/// trust anchor or time; see [`crate::SignatureCheck`].
pub(crate) struct VerifiedCms<'a> {
    pub(crate) content: Vec<u8>,
    /// The signer's certificate; its DER is the bytes as carried (what its
    /// issuer signed), not re-encoded.
    pub(crate) signer: Certificate,
    /// The signer's fields, borrowed from the message.
    pub(crate) signer_fields: CertificateFields<'a>,
    pub(crate) other_certificates: Vec<&'a [u8]>,
    pub(crate) signing_time: Option<SystemTime>,
}

fn malformed(what: impl Into<String>) -> SignatureError {
    SignatureError::Malformed(what.into())
}

const fn context(number: u32, constructed: bool) -> Tag {
    Tag::ContextSpecific {
        constructed,
        number: TagNumber(number),
    }
}

/// Verifies a DER CMS SignedData with attached content.
///
/// The message is read in one borrowing pass (RFC 5652 5.1 to 5.3) with
/// `der`'s readers: no owned tree of attributes and certificates is built,
/// and each certificate is parsed once, by smartid-core.
pub(crate) fn verify_signed_data(der_bytes: &[u8]) -> Result<VerifiedCms<'_>, SignatureError> {
    let content = signed_data_content(der_bytes)?;
    let sd = SignedDataParts::decode(content)
        .map_err(|e| malformed(format!("invalid SignedData ({e})")))?;
    let econtent = sd.econtent.ok_or_else(|| {
        SignatureError::Unsupported("detached content (no eContent in the SignedData)".into())
    })?;
    if econtent.tag() != Tag::OctetString {
        return Err(malformed(format!(
            "eContent is not an OCTET STRING (its tag is {})",
            econtent.tag()
        )));
    }
    let content = econtent.value();
    let signer_info = match (sd.signer_infos.first(), sd.signer_infos.get(1)) {
        (Some(s), None) => s,
        (None, _) => return Err(malformed("no SignerInfo")),
        (Some(_), Some(_)) => {
            return Err(SignatureError::Unsupported(
                "more than one SignerInfo".into(),
            ));
        }
    };
    let mut certificates = Vec::with_capacity(sd.certificates.len());
    for der in &sd.certificates {
        let (cert, fields) = certificate_with_fields(der, "a certificate of the SignedData")
            .map_err(|e| malformed(format!("invalid SignedData ({e})")))?;
        certificates.push((der, cert, fields));
    }
    let signer_at = certificates
        .iter()
        .position(|(_, _, fields)| signer_info.sid.identifies(fields))
        .ok_or_else(|| {
            malformed("the signer's certificate is not in the SignedData's certificates")
        })?;
    let digest_alg = digest_algorithm(&signer_info.digest_alg)?;
    let (signed_bytes, signing_time) =
        check_signed_attributes(signer_info, &sd.econtent_type, digest_alg, content)?;
    let (_, signer, signer_fields) = certificates.swap_remove(signer_at);
    verify_raw_signature(
        signer_fields.subject_public_key_info(),
        &signer_info.signature_alg,
        digest_alg,
        &signed_bytes,
        Some(signer_info.signature),
    )?;
    Ok(VerifiedCms {
        content: content.to_vec(),
        signer,
        signer_fields,
        other_certificates: certificates.into_iter().map(|(der, _, _)| *der).collect(),
        signing_time,
    })
}

/// `ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }`
/// holding SignedData: the content (nothing may follow the ContentInfo).
fn signed_data_content(der_bytes: &[u8]) -> Result<AnyRef<'_>, SignatureError> {
    let read = || -> Result<(ObjectIdentifier, AnyRef<'_>), der::Error> {
        let mut outer = SliceReader::new(der_bytes)?;
        let info = sequence(outer.decode()?)?;
        outer.finish()?;
        let mut r = SliceReader::new(info)?;
        let content_type: ObjectIdentifier = r.decode()?;
        let explicit: AnyRef<'_> = r.decode()?;
        r.finish()?;
        explicit.tag().assert_eq(context(0, true))?;
        let mut inner = SliceReader::new(explicit.value())?;
        let content: AnyRef<'_> = inner.decode()?;
        inner.finish()?;
        Ok((content_type, content))
    };
    let (content_type, content) =
        read().map_err(|e| malformed(format!("not a DER CMS ContentInfo ({e})")))?;
    if content_type != ID_SIGNED_DATA {
        return Err(malformed(format!(
            "content type {content_type} is not SignedData"
        )));
    }
    Ok(content)
}

/// The contents of a SEQUENCE.
fn sequence(any: AnyRef<'_>) -> Result<&[u8], der::Error> {
    any.tag().assert_eq(Tag::Sequence)?;
    Ok(any.value())
}

/// `CMSVersion ::= INTEGER { v0(0), v1(1), v2(2), v3(3), v4(4), v5(5) }`.
fn cms_version(r: &mut SliceReader<'_>) -> Result<u8, der::Error> {
    let v: u8 = r.decode()?;
    if v > 5 {
        return Err(Tag::Integer.value_error().into());
    }
    Ok(v)
}

/// A SignedData (RFC 5652 5.1) read field by field, borrowing from the
/// message.
struct SignedDataParts<'a> {
    econtent_type: ObjectIdentifier,
    /// The eContent inside its `[0] EXPLICIT`.
    econtent: Option<AnyRef<'a>>,
    /// The certificates (the `certificate` choice), each its whole DER.
    certificates: Vec<&'a [u8]>,
    signer_infos: Vec<SignerInfoRef<'a>>,
}

impl<'a> SignedDataParts<'a> {
    fn decode(any: AnyRef<'a>) -> Result<Self, der::Error> {
        let mut r = SliceReader::new(sequence(any)?)?;
        cms_version(&mut r)?;
        // digestAlgorithms: SET OF AlgorithmIdentifier (checked, not used:
        // the SignerInfo names its own).
        let digests: AnyRef<'a> = r.decode()?;
        digests.tag().assert_eq(Tag::Set)?;
        let mut d = SliceReader::new(digests.value())?;
        while !d.is_finished() {
            d.decode::<AlgorithmIdentifierRef<'a>>()?;
        }
        // EncapsulatedContentInfo ::= SEQUENCE { eContentType OID,
        //   eContent [0] EXPLICIT OCTET STRING OPTIONAL }
        let mut e = SliceReader::new(sequence(r.decode()?)?)?;
        let econtent_type: ObjectIdentifier = e.decode()?;
        let econtent = if e.is_finished() {
            None
        } else {
            let explicit: AnyRef<'a> = e.decode()?;
            explicit.tag().assert_eq(context(0, true))?;
            let mut inner = SliceReader::new(explicit.value())?;
            let content: AnyRef<'a> = inner.decode()?;
            inner.finish()?;
            Some(content)
        };
        e.finish()?;
        let mut certificates = Vec::new();
        if !r.is_finished() && Tag::peek(&r)? == context(0, true) {
            let set: AnyRef<'a> = r.decode()?;
            let mut certs = SliceReader::new(set.value())?;
            while !certs.is_finished() {
                let tlv = certs.tlv_bytes()?;
                if Tag::peek(&SliceReader::new(tlv)?)? == Tag::Sequence {
                    certificates.push(tlv);
                } else {
                    // The other choices are checked, not used.
                    cms::cert::CertificateChoices::from_der(tlv)?;
                }
            }
        }
        if !r.is_finished() && Tag::peek(&r)? == context(1, true) {
            let crls: AnyRef<'a> = r.decode()?;
            Any::new(Tag::Set, crls.value())?
                .decode_as::<cms::revocation::RevocationInfoChoices>()?;
        }
        let set: AnyRef<'a> = r.decode()?;
        set.tag().assert_eq(Tag::Set)?;
        r.finish()?;
        let mut infos = SliceReader::new(set.value())?;
        let mut signer_infos = Vec::with_capacity(1);
        while !infos.is_finished() {
            signer_infos.push(SignerInfoRef::decode(infos.decode()?)?);
        }
        Ok(Self {
            econtent_type,
            econtent,
            certificates,
            signer_infos,
        })
    }
}

/// How a SignerInfo names its certificate.
enum SignerId<'a> {
    /// The issuer Name (its whole DER) and the serial number's octets.
    IssuerAndSerial { issuer: &'a [u8], serial: &'a [u8] },
    /// The subjectKeyIdentifier's octets.
    KeyId(&'a [u8]),
}

impl SignerId<'_> {
    /// Whether `cert` is the certificate named. Names are compared as
    /// encoded (DER has one encoding of a name; a signer that wrote its
    /// issuer otherwise than the certificate does is not matched).
    fn identifies(&self, cert: &CertificateFields<'_>) -> bool {
        match self {
            Self::IssuerAndSerial { issuer, serial } => {
                cert.issuer_der() == *issuer && cert.serial() == *serial
            }
            Self::KeyId(id) => matches!(
                cert.extension(SUBJECT_KEY_IDENTIFIER),
                Ok(Some((_, value))) if <&OctetStringRef>::from_der(value)
                    .is_ok_and(|ski| ski.as_bytes() == *id)
            ),
        }
    }
}

/// A SignerInfo (RFC 5652 5.3), borrowing from the message.
struct SignerInfoRef<'a> {
    sid: SignerId<'a>,
    digest_alg: ObjectIdentifier,
    /// `[0] IMPLICIT SET OF Attribute`: its whole TLV as in the message,
    /// and the attributes read from it.
    signed_attrs: Option<(&'a [u8], SignedAttributes<'a>)>,
    signature_alg: ObjectIdentifier,
    signature: &'a [u8],
}

impl<'a> SignerInfoRef<'a> {
    fn decode(any: AnyRef<'a>) -> Result<Self, der::Error> {
        let mut r = SliceReader::new(sequence(any)?)?;
        cms_version(&mut r)?;
        let sid: AnyRef<'a> = r.decode()?;
        let sid = if sid.tag() == Tag::Sequence {
            // IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER }
            let mut i = SliceReader::new(sid.value())?;
            let issuer = i.tlv_bytes()?;
            check_name(issuer).map_err(|_| Tag::Sequence.value_error())?;
            let serial: IntRef<'a> = i.decode()?;
            i.finish()?;
            SignerId::IssuerAndSerial {
                issuer,
                serial: serial.as_bytes(),
            }
        } else {
            // [0] IMPLICIT SubjectKeyIdentifier (an OCTET STRING)
            sid.tag().assert_eq(context(0, false))?;
            SignerId::KeyId(sid.value())
        };
        let digest_alg = r.decode::<AlgorithmIdentifierRef<'a>>()?.oid;
        let signed_attrs = if !r.is_finished() && Tag::peek(&r)? == context(0, true) {
            let whole = r.tlv_bytes()?;
            let attrs: AnyRef<'a> = AnyRef::from_der(whole)?;
            let mut read = SignedAttributes::default();
            for_each_attribute(attrs.value(), |oid, values| read.note(oid, values))?;
            Some((whole, read))
        } else {
            None
        };
        let signature_alg = r.decode::<AlgorithmIdentifierRef<'a>>()?.oid;
        let signature: &'a OctetStringRef = r.decode()?;
        if !r.is_finished() && Tag::peek(&r)? == context(1, true) {
            let unsigned: AnyRef<'a> = r.decode()?;
            for_each_attribute(unsigned.value(), |_, _| Ok(()))?;
        }
        r.finish()?;
        Ok(Self {
            sid,
            digest_alg,
            signed_attrs,
            signature_alg,
            signature: signature.as_bytes(),
        })
    }
}

/// One signed attribute the verification reads: how often it occurs, and
/// its value when it has exactly one.
#[derive(Default)]
struct Occurrences<'a> {
    count: usize,
    value: Option<AnyRef<'a>>,
}

impl<'a> Occurrences<'a> {
    /// `None` when absent; an error unless it occurs once with one value.
    fn single(&self, oid: ObjectIdentifier) -> Result<Option<AnyRef<'a>>, SignatureError> {
        match (self.count, self.value) {
            (0, _) => Ok(None),
            (1, Some(value)) => Ok(Some(value)),
            _ => Err(malformed(format!(
                "signed attribute {oid} must occur once with one value"
            ))),
        }
    }
}

/// The signed attributes the verification reads (RFC 5652 11.1 to 11.3).
#[derive(Default)]
struct SignedAttributes<'a> {
    content_type: Occurrences<'a>,
    message_digest: Occurrences<'a>,
    signing_time: Occurrences<'a>,
}

impl<'a> SignedAttributes<'a> {
    fn note(&mut self, oid: ObjectIdentifier, values: &'a [u8]) -> Result<(), der::Error> {
        let slot = match oid {
            ID_CONTENT_TYPE => &mut self.content_type,
            ID_MESSAGE_DIGEST => &mut self.message_digest,
            ID_SIGNING_TIME => &mut self.signing_time,
            _ => return Ok(()),
        };
        slot.count += 1;
        let mut v = SliceReader::new(values)?;
        let value: AnyRef<'a> = v.decode()?;
        slot.value = v.is_finished().then_some(value);
        Ok(())
    }
}

/// Calls `f(type, values)` for each `Attribute ::= SEQUENCE { attrType OID,
/// attrValues SET OF AttributeValue }` in `contents` (a SET OF's contents),
/// `values` being the contents of the SET.
fn for_each_attribute<'a>(
    contents: &'a [u8],
    mut f: impl FnMut(ObjectIdentifier, &'a [u8]) -> Result<(), der::Error>,
) -> Result<(), der::Error> {
    let mut r = SliceReader::new(contents)?;
    while !r.is_finished() {
        let mut a = SliceReader::new(sequence(r.decode()?)?)?;
        let oid: ObjectIdentifier = a.decode()?;
        let values: AnyRef<'a> = a.decode()?;
        values.tag().assert_eq(Tag::Set)?;
        a.finish()?;
        let mut v = SliceReader::new(values.value())?;
        while !v.is_finished() {
            v.decode::<AnyRef<'a>>()?;
        }
        f(oid, values.value())?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
pub(crate) enum DigestAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlg {
    pub(crate) fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }
    }
}

fn digest_algorithm(oid: &ObjectIdentifier) -> Result<DigestAlg, SignatureError> {
    match *oid {
        ID_SHA256 => Ok(DigestAlg::Sha256),
        ID_SHA384 => Ok(DigestAlg::Sha384),
        ID_SHA512 => Ok(DigestAlg::Sha512),
        other => Err(SignatureError::Unsupported(format!(
            "digest algorithm {other} (SHA-256, SHA-384 and SHA-512 are supported)"
        ))),
    }
}

/// Checks contentType and messageDigest, and returns the bytes the
/// signature covers and the signing time. The signature covers the signed
/// attributes exactly as they appear in the message, re-tagged from
/// `[0] IMPLICIT` to SET (RFC 5652 5.4); re-encoding parsed attributes is
/// not the same, since decoding sorts a SET OF and attributes a signer did
/// not sort would no longer match. Without signed attributes it covers the
/// content.
fn check_signed_attributes(
    si: &SignerInfoRef<'_>,
    econtent_type: &ObjectIdentifier,
    alg: DigestAlg,
    content: &[u8],
) -> Result<(Vec<u8>, Option<SystemTime>), SignatureError> {
    let Some((whole, attrs)) = &si.signed_attrs else {
        return Ok((content.to_vec(), None));
    };
    let ct = attrs
        .content_type
        .single(ID_CONTENT_TYPE)?
        .ok_or_else(|| malformed("no contentType signed attribute"))?;
    let ct: ObjectIdentifier = ct
        .decode_as()
        .map_err(|e| malformed(format!("contentType attribute ({e})")))?;
    if &ct != econtent_type {
        return Err(malformed(
            "the contentType attribute differs from the eContentType",
        ));
    }
    let md = attrs
        .message_digest
        .single(ID_MESSAGE_DIGEST)?
        .ok_or_else(|| malformed("no messageDigest signed attribute"))?;
    let md: &OctetStringRef = md
        .decode_as()
        .map_err(|e| malformed(format!("messageDigest attribute ({e})")))?;
    let actual = digest::digest(alg.algorithm(), content);
    if md.as_bytes() != actual.as_ref() {
        return Err(SignatureError::DigestMismatch);
    }
    let signing_time = match attrs.signing_time.single(ID_SIGNING_TIME)? {
        Some(t) => Some(
            t.decode_as::<x509_cert::time::Time>()
                .map_err(|e| malformed(format!("signingTime attribute ({e})")))?
                .to_system_time(),
        ),
        None => None,
    };
    let mut signed = whole.to_vec();
    if let Some(tag) = signed.first_mut() {
        *tag = 0x31; // SET
    }
    Ok((signed, signing_time))
}

/// Verifies `signature` over `message` with the certificate's public key.
pub(crate) fn verify_raw_signature(
    spki_der: &[u8],
    sig_alg: &ObjectIdentifier,
    digest_alg: DigestAlg,
    message: &[u8],
    signature: Option<&[u8]>,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or_else(|| malformed("empty signature"))?;
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| malformed(format!("the certificate's public key ({e})")))?;
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| malformed("the certificate's public key is not a whole number of bytes"))?;
    let algorithm: &'static dyn VerificationAlgorithm = match (*sig_alg, spki.algorithm.oid) {
        (RSA_ENCRYPTION | SHA256_WITH_RSA | SHA384_WITH_RSA | SHA512_WITH_RSA, RSA_ENCRYPTION) => {
            match (sig_alg, digest_alg) {
                (&SHA384_WITH_RSA, _) | (&RSA_ENCRYPTION, DigestAlg::Sha384) => {
                    &signature::RSA_PKCS1_2048_8192_SHA384
                }
                (&SHA512_WITH_RSA, _) | (&RSA_ENCRYPTION, DigestAlg::Sha512) => {
                    &signature::RSA_PKCS1_2048_8192_SHA512
                }
                _ => &signature::RSA_PKCS1_2048_8192_SHA256,
            }
        }
        (ECDSA_SHA256 | ECDSA_SHA384, EC_PUBLIC_KEY) => {
            let curve: Option<ObjectIdentifier> =
                spki.algorithm.parameters.and_then(|p| p.decode_as().ok());
            match (*sig_alg, curve) {
                (ECDSA_SHA256, Some(CURVE_P256)) => &signature::ECDSA_P256_SHA256_ASN1,
                (ECDSA_SHA384, Some(CURVE_P256)) => &signature::ECDSA_P256_SHA384_ASN1,
                (ECDSA_SHA256, Some(CURVE_P384)) => &signature::ECDSA_P384_SHA256_ASN1,
                (ECDSA_SHA384, Some(CURVE_P384)) => &signature::ECDSA_P384_SHA384_ASN1,
                _ => return Err(SignatureError::Unsupported("ECDSA curve".into())),
            }
        }
        (alg, key) => {
            return Err(SignatureError::Unsupported(format!(
                "signature algorithm {alg} with key type {key}"
            )));
        }
    };
    UnparsedPublicKey::new(algorithm, key_bytes)
        .verify(message, signature)
        .map_err(|_| SignatureError::BadSignature)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use base64::Engine as _;
    use der::Encode as _;
    use der::asn1::OctetString;
    use x509_cert::Certificate as X509;

    pub(crate) fn seed_der() -> Vec<u8> {
        let b64 = include_str!("../tests/fixtures/seed-signature.b64");
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap()
    }

    #[test]
    fn seed_cms_verifies() {
        let seed = seed_der();
        let v = verify_signed_data(&seed).unwrap();
        let text: Vec<u16> = v
            .content
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(String::from_utf16(&text).unwrap(), "Login to Audkenni");
        assert!(v.signing_time.is_none());
        assert!(v.other_certificates.is_empty());
    }

    #[test]
    fn every_tampered_byte_of_content_or_signature_is_rejected() {
        let der = seed_der();
        // Content: "Login to Audkenni" in UTF-16BE follows the 0x04 0x22 header.
        let content_at = der
            .windows(4)
            .position(|w| w == [0x00, 0x4c, 0x00, 0x6f])
            .unwrap();
        for i in content_at..content_at + 34 {
            let mut t = der.clone();
            t[i] ^= 0x01;
            assert!(
                matches!(verify_signed_data(&t), Err(SignatureError::DigestMismatch)),
                "byte {i}"
            );
        }
        // The RSA signature is the last 256 bytes.
        for i in der.len() - 256..der.len() {
            let mut t = der.clone();
            t[i] ^= 0x80;
            assert!(
                matches!(verify_signed_data(&t), Err(SignatureError::BadSignature)),
                "byte {i}"
            );
        }
        // The messageDigest attribute value.
        let md_at = der.windows(2).position(|w| w == [0x1f, 0x8f]).unwrap();
        let mut t = der.clone();
        t[md_at] ^= 0x01;
        assert!(verify_signed_data(&t).is_err());
    }

    /// DER TLV with a short or long-form length.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else if len < 0x100 {
            out.extend([0x81, len as u8]);
        } else {
            out.extend([0x82, (len >> 8) as u8, len as u8]);
        }
        out.extend_from_slice(content);
        out
    }

    /// A CMS SignedData (ECDSA P-256) whose signed attributes are encoded
    /// in the given order; `signed_order` is the order of the SET that is
    /// signed, `sent_order` the order put in the message.
    fn cms_with_attribute_order(signed_order: [usize; 2], sent_order: [usize; 2]) -> Vec<u8> {
        cms_signed_by(
            &test_signer("Order"),
            b"Sign this",
            signed_order,
            sent_order,
        )
    }

    /// A signing certificate named `{name} Signer` from a root `{name} CA`.
    fn test_signer(name: &str) -> smartid_testkit::TestIdentity {
        let ca = smartid_testkit::TestCa::new_root(&format!("{name} CA"), "Test").unwrap();
        ca.issue(&smartid_testkit::CertSpec::new(
            &format!("{name} Signer"),
            smartid_testkit::CertUsage::Signing,
        ))
        .unwrap()
    }

    /// A CMS SignedData (ECDSA P-256) over `content` made with `signer`.
    pub(crate) fn cms_signed_by(
        signer: &smartid_testkit::TestIdentity,
        content: &[u8],
        signed_order: [usize; 2],
        sent_order: [usize; 2],
    ) -> Vec<u8> {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
        use cms::cert::IssuerAndSerialNumber;
        const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");

        let cert = X509::from_der(signer.leaf_der()).unwrap();
        let oid = |o: ObjectIdentifier| o.to_der().unwrap();
        let md = OctetString::new(digest::digest(&digest::SHA256, content).as_ref())
            .unwrap()
            .to_der()
            .unwrap();
        // messageDigest (30 2f ...) sorts after contentType (30 18 ...) in DER.
        let attrs = [
            tlv(
                0x30,
                &[oid(ID_CONTENT_TYPE), tlv(0x31, &oid(ID_DATA))].concat(),
            ),
            tlv(0x30, &[oid(ID_MESSAGE_DIGEST), tlv(0x31, &md)].concat()),
        ];
        let joined =
            |order: [usize; 2]| [attrs[order[0]].clone(), attrs[order[1]].clone()].concat();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, signer.key_pkcs8_der())
            .unwrap();
        let sig = key
            .sign(&SystemRandom::new(), &tlv(0x31, &joined(signed_order)))
            .unwrap();
        let sha256 = tlv(0x30, &oid(ID_SHA256));
        let tbs = cert.tbs_certificate();
        let sid = IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }
        .to_der()
        .unwrap();
        let signer_info = tlv(
            0x30,
            &[
                vec![0x02, 0x01, 0x01],
                sid,
                sha256.clone(),
                tlv(0xa0, &joined(sent_order)),
                tlv(0x30, &oid(ECDSA_SHA256)),
                tlv(0x04, sig.as_ref()),
            ]
            .concat(),
        );
        let signed_data = tlv(
            0x30,
            &[
                vec![0x02, 0x01, 0x01],
                tlv(0x31, &sha256),
                tlv(
                    0x30,
                    &[oid(ID_DATA), tlv(0xa0, &tlv(0x04, content))].concat(),
                ),
                tlv(0xa0, signer.leaf_der()),
                tlv(0x31, &signer_info),
            ]
            .concat(),
        );
        tlv(
            0x30,
            &[oid(ID_SIGNED_DATA), tlv(0xa0, &signed_data)].concat(),
        )
    }

    #[test]
    fn signed_attributes_are_verified_as_encoded_not_as_re_sorted() {
        // DER order: verifies.
        let cms = cms_with_attribute_order([0, 1], [0, 1]);
        let v = verify_signed_data(&cms).unwrap();
        assert_eq!(v.content, b"Sign this");
        // A signer that did not sort its attributes signed them in the order
        // sent (OpenSSL verifies over that encoding): must verify too.
        let cms = cms_with_attribute_order([1, 0], [1, 0]);
        let v = verify_signed_data(&cms).unwrap();
        assert_eq!(v.content, b"Sign this");
        // The signature covers the bytes sent: a reordering is not what was signed.
        assert!(matches!(
            verify_signed_data(&cms_with_attribute_order([0, 1], [1, 0])),
            Err(SignatureError::BadSignature)
        ));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for input in [&b""[..], b"\x30\x03\x02\x01\x01", b"not der at all"] {
            assert!(matches!(
                verify_signed_data(input),
                Err(SignatureError::Malformed(_))
            ));
        }
        let der = seed_der();
        for cut in [1, 10, 100, der.len() / 2, der.len() - 1] {
            assert!(verify_signed_data(&der[..cut]).is_err());
        }
    }

    /// What a reading of a SignedData yields: the content, the certificates
    /// (DER), and per SignerInfo the digest algorithm, the signature and
    /// whether it has signed attributes.
    type Read = (Vec<u8>, Vec<Vec<u8>>, Vec<(String, Vec<u8>, bool)>);

    fn ours(der: &[u8]) -> Option<Read> {
        let sd = SignedDataParts::decode(signed_data_content(der).ok()?).ok()?;
        for cert in &sd.certificates {
            certificate_with_fields(cert, "test").ok()?;
        }
        let content = match sd.econtent {
            Some(c) if c.tag() == Tag::OctetString => c.value().to_vec(),
            Some(_) => return None,
            None => Vec::new(),
        };
        let infos = sd
            .signer_infos
            .iter()
            .map(|si| {
                (
                    si.digest_alg.to_string(),
                    si.signature.to_vec(),
                    si.signed_attrs.is_some(),
                )
            })
            .collect();
        // As the cms crate gives them: re-encoded (x509-cert leaves out a
        // version 1 written out, for one).
        let certs = sd
            .certificates
            .iter()
            .map(|c| {
                let c =
                    X509::from_der(c).expect("smartid-core read a certificate x509-cert refuses");
                c.to_der().unwrap()
            })
            .collect();
        Some((content, certs, infos))
    }

    /// The same read through the cms crate's owned types (what this module
    /// used before it read the message in one borrowing pass, with the
    /// signer then parsed by smartid-core).
    fn reference(der: &[u8]) -> Option<Read> {
        let info = cms::content_info::ContentInfo::from_der(der).ok()?;
        if info.content_type != ID_SIGNED_DATA {
            return None;
        }
        let sd: cms::signed_data::SignedData = info.content.decode_as().ok()?;
        let content = match &sd.encap_content_info.econtent {
            Some(c) => c.decode_as::<OctetString>().ok()?.into_bytes().into_vec(),
            None => Vec::new(),
        };
        let mut certs = Vec::new();
        for choice in sd.certificates.iter().flat_map(|s| s.0.iter()) {
            if let cms::cert::CertificateChoices::Certificate(c) = choice {
                // smartid-core also reads basic constraints, as x509-cert
                // reads them (held to that by its own differential test).
                c.tbs_certificate()
                    .get_extension::<x509_cert::ext::pkix::BasicConstraints>()
                    .ok()?;
                certs.push(c.to_der().ok()?);
            }
        }
        let infos = sd
            .signer_infos
            .0
            .iter()
            .map(|si| {
                (
                    si.digest_alg.oid.to_string(),
                    si.signature.as_bytes().to_vec(),
                    si.signed_attrs.is_some(),
                )
            })
            .collect();
        Some((content, certs, infos))
    }

    /// The borrowing reader accepts what the cms crate accepts and reads
    /// the same, on the seed and on a message of ours, and on every
    /// one-byte change of them (nine other values per byte) and every cut:
    /// 27,862 inputs, 19,617 read.
    #[test]
    fn reads_what_the_cms_crate_reads_and_refuses_what_it_refuses() {
        let signer = test_signer("Diff");
        let (mut inputs, mut accepted) = (0, 0);
        for der in [
            seed_der(),
            cms_signed_by(&signer, b"Sign this", [0, 1], [0, 1]),
        ] {
            let mut check = |bytes: &[u8], what: &str| {
                let (a, b) = (ours(bytes), reference(bytes));
                assert!(
                    a == b,
                    "{what}: ours {}, the cms crate {}",
                    if a.is_some() {
                        "reads it"
                    } else {
                        "refuses it"
                    },
                    if b.is_some() {
                        "reads it"
                    } else {
                        "refuses it"
                    },
                );
                inputs += 1;
                accepted += usize::from(a.is_some());
            };
            assert!(ours(&der).is_some());
            check(&der, "unchanged");
            for i in 0..der.len() {
                for x in [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff] {
                    let mut changed = der.clone();
                    changed[i] ^= x;
                    check(
                        &changed,
                        &format!("byte {i} (0x{:02x}) xor 0x{x:02x}", der[i]),
                    );
                }
                check(&der[..i], &format!("cut at {i}"));
            }
        }
        assert!(inputs > 10_000 && accepted > 1_000, "{inputs} {accepted}");
    }
}
