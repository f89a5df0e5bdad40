//! CMS SignedData verification (RFC 5652): messageDigest and the signature
//! over the signed attributes, with the signer certificate from the message.

use std::time::SystemTime;

use crate::crypto::backend::digest;
use crate::crypto::backend::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use cms::content_info::ContentInfo;
use cms::signed_data::{SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, AnyRef, Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};
use x509_cert::Certificate as X509;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use crate::error::SignatureError;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
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
/// signer's certificate (DER, as carried in the message) and the signing
/// time attribute when present. The certificate is NOT yet checked against
/// any trust anchor or time; see [`crate::SignatureCheck`].
#[derive(Debug, Clone)]
pub(crate) struct VerifiedCms {
    pub(crate) content: Vec<u8>,
    pub(crate) signer_der: Vec<u8>,
    /// `signer_der` parsed.
    pub(crate) signer: X509,
    pub(crate) other_certificates: Vec<Vec<u8>>,
    pub(crate) signing_time: Option<SystemTime>,
}

fn malformed(what: impl Into<String>) -> SignatureError {
    SignatureError::Malformed(what.into())
}

/// Verifies a DER CMS SignedData with attached content.
pub(crate) fn verify_signed_data(der_bytes: &[u8]) -> Result<VerifiedCms, SignatureError> {
    let info = ContentInfo::from_der(der_bytes)
        .map_err(|e| malformed(format!("not a DER CMS ContentInfo ({e})")))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(malformed(format!(
            "content type {} is not SignedData",
            info.content_type
        )));
    }
    let sd = SignedDataParts::decode(&info.content)
        .map_err(|e| malformed(format!("invalid SignedData ({e})")))?;
    let econtent = sd.encap_content_info.econtent.as_ref().ok_or_else(|| {
        SignatureError::Unsupported("detached content (no eContent in the SignedData)".into())
    })?;
    let content = octets(econtent)?;
    let mut signers = sd.signer_infos.0.iter();
    let signer_info = match (signers.next(), signers.next()) {
        (Some(s), None) => s,
        (None, _) => return Err(malformed("no SignerInfo")),
        (Some(_), Some(_)) => {
            return Err(SignatureError::Unsupported(
                "more than one SignerInfo".into(),
            ));
        }
    };
    let signer_at = find_signer(&sd.certificates, &signer_info.sid)?;
    let digest_alg = digest_algorithm(&signer_info.digest_alg.oid)?;
    let raw_attrs = raw_signed_attributes(der_bytes)
        .map_err(|e| malformed(format!("cannot locate the signed attributes ({e})")))?;
    let (signed_bytes, signing_time) = check_signed_attributes(
        signer_info,
        raw_attrs,
        &sd.encap_content_info.econtent_type,
        digest_alg,
        &content,
    )?;
    let mut certificates = sd.certificates;
    let (signer_raw, signer) = certificates.swap_remove(signer_at);
    verify_raw_signature(
        &signer,
        &signer_info.signature_algorithm.oid,
        digest_alg,
        &signed_bytes,
        Some(signer_info.signature.as_bytes()),
    )?;
    Ok(VerifiedCms {
        content,
        // The bytes as carried (what the issuer signed), not re-encoded.
        signer_der: signer_raw.to_vec(),
        signer,
        other_certificates: certificates
            .into_iter()
            .map(|(raw, _)| raw.to_vec())
            .collect(),
        signing_time,
    })
}

/// A SignedData decoded field by field (RFC 5652 5.1), as the `cms`
/// crate's `SignedData` decodes it, except that each certificate is
/// decoded once from its own bytes, which are kept: the signer's are the
/// bytes its issuer signed, with no re-encoding.
struct SignedDataParts<'a> {
    encap_content_info: cms::signed_data::EncapsulatedContentInfo,
    /// The certificates (the `certificate` choice), as carried and parsed.
    certificates: Vec<(&'a [u8], X509)>,
    signer_infos: cms::signed_data::SignerInfos,
}

impl<'a> SignedDataParts<'a> {
    fn decode(any: &'a Any) -> Result<Self, der::Error> {
        if any.tag() != Tag::Sequence {
            return Err(der::Error::from(der::ErrorKind::TagUnexpected {
                expected: Some(Tag::Sequence),
                actual: any.tag(),
            }));
        }
        let context = |number: u32| Tag::ContextSpecific {
            constructed: true,
            number: TagNumber(number),
        };
        let mut r = SliceReader::new(any.value())?;
        let _version: cms::content_info::CmsVersion = r.decode()?;
        let _digests: cms::signed_data::DigestAlgorithmIdentifiers = r.decode()?;
        let encap_content_info = r.decode()?;
        let mut certificates = Vec::new();
        if !r.is_finished() && Tag::peek(&r)? == context(0) {
            let set: AnyRef<'a> = r.decode()?;
            let mut certs = SliceReader::new(set.value())?;
            while !certs.is_finished() {
                let tlv = certs.tlv_bytes()?;
                if Tag::peek(&SliceReader::new(tlv)?)? == Tag::Sequence {
                    certificates.push((tlv, X509::from_der(tlv)?));
                } else {
                    // The other choices are checked, not used.
                    cms::cert::CertificateChoices::from_der(tlv)?;
                }
            }
        }
        if !r.is_finished() && Tag::peek(&r)? == context(1) {
            let crls: AnyRef<'a> = r.decode()?;
            Any::new(Tag::Set, crls.value())?
                .decode_as::<cms::revocation::RevocationInfoChoices>()?;
        }
        let signer_infos = r.decode()?;
        r.finish()?;
        Ok(Self {
            encap_content_info,
            certificates,
            signer_infos,
        })
    }
}

fn octets(any: &Any) -> Result<Vec<u8>, SignatureError> {
    if any.tag() == Tag::OctetString {
        Ok(any.value().to_vec())
    } else {
        let os: OctetString = any
            .decode_as()
            .map_err(|e| malformed(format!("eContent is not an OCTET STRING ({e})")))?;
        Ok(os.into_bytes().into_vec())
    }
}

/// The index of the signer's certificate.
fn find_signer(certs: &[(&[u8], X509)], sid: &SignerIdentifier) -> Result<usize, SignatureError> {
    let found = certs.iter().position(|(_, c)| match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            let tbs = c.tbs_certificate();
            tbs.issuer() == &isn.issuer && tbs.serial_number() == &isn.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => matches!(
            c.tbs_certificate().get_extension::<SubjectKeyIdentifier>(),
            Ok(Some((_, found))) if &found == ski
        ),
    });
    found.ok_or_else(|| {
        malformed("the signer's certificate is not in the SignedData's certificates")
    })
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

/// The signedAttrs of the (single) SignerInfo exactly as they appear in
/// `der_bytes`, re-tagged from `[0] IMPLICIT` to SET: the encoding the
/// signer signed (RFC 5652 5.4). Re-encoding the parsed attributes is not
/// the same: decoding sorts a SET OF, so attributes a signer did not sort
/// would no longer match the signature.
fn raw_signed_attributes(der_bytes: &[u8]) -> Result<Option<Vec<u8>>, der::Error> {
    fn inner(any: AnyRef<'_>) -> Result<SliceReader<'_>, der::Error> {
        SliceReader::new(any.value())
    }
    // ContentInfo: contentType, [0] EXPLICIT SignedData.
    let mut info = inner(AnyRef::from_der(der_bytes)?)?;
    info.decode::<AnyRef<'_>>()?;
    let explicit: AnyRef<'_> = info.decode()?;
    // SignedData: version, digestAlgorithms, encapContentInfo,
    // [0] certificates and [1] crls (optional), signerInfos (a SET).
    let mut sd = inner(AnyRef::from_der(explicit.value())?)?;
    for _ in 0..3 {
        sd.decode::<AnyRef<'_>>()?;
    }
    let signer_infos = loop {
        let next: AnyRef<'_> = sd.decode()?;
        if next.tag() == Tag::Set {
            break next;
        }
    };
    let mut signer_infos = inner(signer_infos)?;
    // SignerInfo: version, sid, digestAlgorithm, [0] IMPLICIT signedAttrs (optional).
    let mut si = inner(signer_infos.decode()?)?;
    for _ in 0..3 {
        si.decode::<AnyRef<'_>>()?;
    }
    if si.is_finished() {
        return Ok(None);
    }
    let attrs: AnyRef<'_> = si.decode()?;
    let signed_attrs_tag = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(0),
    };
    if attrs.tag() != signed_attrs_tag {
        return Ok(None);
    }
    Ok(Some(Any::new(Tag::Set, attrs.value())?.to_der()?))
}

/// Checks contentType and messageDigest, and returns the bytes the
/// signature covers (the signed attributes as a DER SET, re-tagged from
/// their encoding in the message, or the content).
fn check_signed_attributes(
    si: &SignerInfo,
    raw_attrs: Option<Vec<u8>>,
    econtent_type: &ObjectIdentifier,
    alg: DigestAlg,
    content: &[u8],
) -> Result<(Vec<u8>, Option<SystemTime>), SignatureError> {
    let Some(attrs) = &si.signed_attrs else {
        return Ok((content.to_vec(), None));
    };
    let single = |oid: ObjectIdentifier| -> Result<Option<&Any>, SignatureError> {
        let mut found = attrs.iter().filter(|a| a.oid == oid);
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some(a), None) if a.values.len() == 1 => Ok(a.values.iter().next()),
            _ => Err(malformed(format!(
                "signed attribute {oid} must occur once with one value"
            ))),
        }
    };
    let ct =
        single(ID_CONTENT_TYPE)?.ok_or_else(|| malformed("no contentType signed attribute"))?;
    let ct: ObjectIdentifier = ct
        .decode_as()
        .map_err(|e| malformed(format!("contentType attribute ({e})")))?;
    if &ct != econtent_type {
        return Err(malformed(
            "the contentType attribute differs from the eContentType",
        ));
    }
    let md =
        single(ID_MESSAGE_DIGEST)?.ok_or_else(|| malformed("no messageDigest signed attribute"))?;
    let md: OctetString = md
        .decode_as()
        .map_err(|e| malformed(format!("messageDigest attribute ({e})")))?;
    let actual = digest::digest(alg.algorithm(), content);
    if md.as_bytes() != actual.as_ref() {
        return Err(SignatureError::DigestMismatch);
    }
    let signing_time = match single(ID_SIGNING_TIME)? {
        Some(t) => Some(
            t.decode_as::<x509_cert::time::Time>()
                .map_err(|e| malformed(format!("signingTime attribute ({e})")))?
                .to_system_time(),
        ),
        None => None,
    };
    let signed = raw_attrs.ok_or_else(|| malformed("cannot locate the signed attributes"))?;
    Ok((signed, signing_time))
}

/// Verifies `signature` over `message` with the certificate's public key.
pub(crate) fn verify_raw_signature(
    cert: &X509,
    sig_alg: &ObjectIdentifier,
    digest_alg: DigestAlg,
    message: &[u8],
    signature: Option<&[u8]>,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or_else(|| malformed("empty signature"))?;
    let spki = cert.tbs_certificate().subject_public_key_info();
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
            let curve: Option<ObjectIdentifier> = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as().ok());
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

    pub(crate) fn seed_der() -> Vec<u8> {
        let b64 = include_str!("../tests/fixtures/seed-signature.b64");
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap()
    }

    #[test]
    fn seed_cms_verifies() {
        let v = verify_signed_data(&seed_der()).unwrap();
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
        let ca = smartid_testkit::TestCa::new_root("Order CA", "Test").unwrap();
        let signer = ca
            .issue(&smartid_testkit::CertSpec::new(
                "Order Signer",
                smartid_testkit::CertUsage::Signing,
            ))
            .unwrap();
        cms_signed_by(&signer, b"Sign this", signed_order, sent_order)
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
        let v = verify_signed_data(&cms_with_attribute_order([0, 1], [0, 1])).unwrap();
        assert_eq!(v.content, b"Sign this");
        // A signer that did not sort its attributes signed them in the order
        // sent (OpenSSL verifies over that encoding): must verify too.
        let v = verify_signed_data(&cms_with_attribute_order([1, 0], [1, 0])).unwrap();
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
}
