//! The little X.509 reading the client needs, on the RustCrypto `x509-cert`
//! and `der` crates and aws-lc-rs: the raw SubjectPublicKeyInfo of a
//! PKCS#10 request, the subject attributes of a certificate, and the
//! verification of one certificate's signature by another's key.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use der::Decode as _;
use der::asn1::ObjectIdentifier;
use smartid_core::Certificate;

/// One DER TLV at the start of `input`: (whole TLV, contents, rest).
fn tlv(input: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (_, contents, rest) = smartid_core::internal::der_tlv(input)?;
    Some((input.get(..input.len() - rest.len())?, contents, rest))
}

/// The DER SubjectPublicKeyInfo of a PKCS#10 request, as it is encoded in
/// the request (CertificationRequest → CertificationRequestInfo →
/// version, subject, subjectPKInfo).
pub(crate) fn csr_spki(csr_der: &[u8]) -> Result<&[u8], String> {
    let bad = || "the CSR cannot be read as PKCS#10".to_owned();
    // Validates the whole structure first.
    x509_cert::request::CertReq::from_der(csr_der)
        .map_err(|e| format!("the CSR cannot be read as PKCS#10 ({e})"))?;
    let (_, outer, _) = tlv(csr_der).ok_or_else(bad)?;
    let (_, info, _) = tlv(outer).ok_or_else(bad)?;
    let (_, _, rest) = tlv(info).ok_or_else(bad)?; // version
    let (_, _, rest) = tlv(rest).ok_or_else(bad)?; // subject
    let (spki, _, _) = tlv(rest).ok_or_else(bad)?;
    Ok(spki)
}

/// The subject attributes of `cert`: (dotted OID, the value as text when it
/// is a string type), read from the borrowed fields smartid-core parses
/// (no owned tree of the certificate).
pub(crate) fn subject_attributes(
    cert: &Certificate,
) -> Result<Vec<(String, Option<String>)>, String> {
    let (_, fields) = smartid_core::internal::certificate_with_fields(cert.der(), "certificate")
        .map_err(|e| format!("the certificate cannot be parsed ({e})"))?;
    let mut out = Vec::new();
    fields.for_each_subject_attribute(|oid, tag, value| {
        let oid = ObjectIdentifier::from_bytes(oid)
            .map(|o| o.to_string())
            .unwrap_or_default();
        out.push((oid, smartid_core::internal::directory_string(tag, value)));
    });
    Ok(out)
}

const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// The verification algorithm for signature algorithm `sig` by a key of
/// curve `curve` (EC keys).
fn algorithm(
    sig: &str,
    curve: Option<ObjectIdentifier>,
) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match (sig, curve) {
        ("1.2.840.113549.1.1.11", _) => &signature::RSA_PKCS1_2048_8192_SHA256,
        ("1.2.840.113549.1.1.12", _) => &signature::RSA_PKCS1_2048_8192_SHA384,
        ("1.2.840.113549.1.1.13", _) => &signature::RSA_PKCS1_2048_8192_SHA512,
        ("1.2.840.10045.4.3.2", Some(P256)) => &signature::ECDSA_P256_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", Some(P256)) => &signature::ECDSA_P256_SHA384_ASN1,
        ("1.2.840.10045.4.3.4", Some(P256)) => &signature::ECDSA_P256_SHA512_ASN1,
        ("1.2.840.10045.4.3.2", Some(P384)) => &signature::ECDSA_P384_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", Some(P384)) => &signature::ECDSA_P384_SHA384_ASN1,
        ("1.2.840.10045.4.3.4", Some(P384)) => &signature::ECDSA_P384_SHA512_ASN1,
        ("1.2.840.10045.4.3.2", Some(P521)) => &signature::ECDSA_P521_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", Some(P521)) => &signature::ECDSA_P521_SHA384_ASN1,
        ("1.2.840.10045.4.3.4", Some(P521)) => &signature::ECDSA_P521_SHA512_ASN1,
        ("1.3.101.112", _) => &signature::ED25519,
        _ => return None,
    })
}

/// Verifies that `child`'s signature was made by `issuer`'s key.
pub(crate) fn verify_signed_by(child: &Certificate, issuer: &Certificate) -> Result<(), String> {
    // Both were parsed as X.509 when they were made (`Certificate::from_der`):
    // the parts needed here are sliced out of the DER, not parsed again.
    let not_der = || format!("{} is not DER", child.subject());
    let (_, outer, _) = tlv(child.der()).ok_or_else(not_der)?;
    let (tbs, _, rest) = tlv(outer).ok_or_else(not_der)?;
    let (_, sig_alg, rest) = tlv(rest).ok_or_else(not_der)?;
    let sig_oid = oid_at_start(sig_alg).ok_or_else(not_der)?;
    let sig = bit_string(rest).ok_or("the signature is not a whole number of bytes")?;
    let (curve, key) = spki_parts(issuer.subject_public_key_info())
        .ok_or("the issuer's public key is not a whole number of bytes")?;
    let sig_oid = sig_oid.to_string();
    let alg = algorithm(&sig_oid, curve).ok_or_else(|| {
        format!(
            "the signature algorithm {sig_oid} of {} is not supported",
            child.subject()
        )
    })?;
    UnparsedPublicKey::new(alg, key)
        .verify(tbs, sig)
        .map_err(|_| "the signature is wrong".to_owned())
}

/// The OID that opens `input` (an AlgorithmIdentifier's contents).
fn oid_at_start(input: &[u8]) -> Option<ObjectIdentifier> {
    if input.first() != Some(&0x06) {
        return None;
    }
    let (_, contents, _) = tlv(input)?;
    ObjectIdentifier::from_bytes(contents).ok()
}

/// The bytes of the BIT STRING that opens `input`, when it has no unused bits.
fn bit_string(input: &[u8]) -> Option<&[u8]> {
    if input.first() != Some(&0x03) {
        return None;
    }
    let (_, contents, _) = tlv(input)?;
    match contents.split_first() {
        Some((0, bits)) => Some(bits),
        _ => None,
    }
}

/// A SubjectPublicKeyInfo's curve (the algorithm's OID parameter, for EC
/// keys) and key bytes.
fn spki_parts(spki: &[u8]) -> Option<(Option<ObjectIdentifier>, &[u8])> {
    let (_, contents, _) = tlv(spki)?;
    let (_, alg, rest) = tlv(contents)?;
    let (_, _, params) = tlv(alg)?; // the algorithm OID
    let curve = oid_at_start(params);
    Some((curve, bit_string(rest)?))
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DnType, IsCa, KeyPair};

    use super::*;
    use crate::{GeneratedCsr, KeySpec, SubjectDn};

    fn ca_and_leaf(
        alg: &'static rcgen::SignatureAlgorithm,
        rsa: bool,
    ) -> (Certificate, Certificate) {
        let key = if rsa {
            KeyPair::generate_rsa_for(alg, rcgen::RsaKeySize::_2048).unwrap()
        } else {
            KeyPair::generate_for(alg).unwrap()
        };
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name.push(DnType::CommonName, "Test CA");
        ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&key).unwrap();
        let issuer = rcgen::Issuer::new(ca, &key);
        let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut leaf = CertificateParams::new(vec!["leaf.example.de".into()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "leaf.example.de");
        leaf.distinguished_name.push(DnType::CountryName, "DE");
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        (
            Certificate::from_der(ca_cert.der(), "ca").unwrap(),
            Certificate::from_der(leaf_cert.der(), "leaf").unwrap(),
        )
    }

    #[test]
    fn signatures_verify_for_rsa_and_ec_issuers_and_tampering_fails() {
        for (alg, rsa) in [
            (&rcgen::PKCS_RSA_SHA256, true),
            (&rcgen::PKCS_ECDSA_P256_SHA256, false),
            (&rcgen::PKCS_ECDSA_P384_SHA384, false),
        ] {
            let (ca, leaf) = ca_and_leaf(alg, rsa);
            verify_signed_by(&leaf, &ca).unwrap();
            verify_signed_by(&ca, &ca).unwrap();
            let e = verify_signed_by(&ca, &leaf).unwrap_err();
            assert!(e.contains("wrong") || e.contains("not supported"), "{e}");
            // One flipped bit in the signature (the last byte of the DER).
            let mut der = leaf.der().to_vec();
            if let Some(last) = der.last_mut() {
                *last ^= 1;
            }
            let tampered = Certificate::from_der(&der, "tampered").unwrap();
            assert!(verify_signed_by(&tampered, &ca).is_err());
        }
    }

    #[test]
    fn csr_key_and_subject_attributes_are_read() {
        let g = GeneratedCsr::generate(
            None,
            &SubjectDn::new("a.example.de").country("DE"),
            &[],
            KeySpec::EcP256,
        )
        .unwrap();
        assert_eq!(csr_spki(&g.csr_der).unwrap(), g.public_key_spki.as_slice());
        assert!(csr_spki(b"\x30\x03\x02\x01\x00").is_err());
        assert!(csr_spki(&g.csr_der[..g.csr_der.len() - 1]).is_err());
        let (_, leaf) = ca_and_leaf(&rcgen::PKCS_ECDSA_P256_SHA256, false);
        let attrs = subject_attributes(&leaf).unwrap();
        assert!(attrs.contains(&("2.5.4.3".into(), Some("leaf.example.de".into()))));
        assert!(attrs.contains(&("2.5.4.6".into(), Some("DE".into()))));
    }
}
