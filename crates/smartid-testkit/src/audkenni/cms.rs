//! Real CMS SignedData (RFC 5652) as Audkenni's SIM signing returns it:
//! SHA-256, attached content, signed attributes (contentType,
//! signingTime, messageDigest), RSA PKCS#1 v1.5 signature, the signer
//! certificate included.

use std::time::SystemTime;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode, Tag};
use x509_cert::attr::Attribute;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::error::{Result, TestkitError};
use crate::pki::TestIdentity;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

fn der_err(e: der::Error) -> TestkitError {
    TestkitError::Pki(format!("CMS encoding: {e}"))
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(der_err)?;
    Ok(Attribute { oid, values })
}

/// The text as UTF-16 big-endian bytes, as Audkenni signs binding messages.
pub(super) fn utf16be(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Signs `content` as a DER CMS SignedData with `signer`'s RSA key.
pub(super) fn sign(content: &[u8], signer: &TestIdentity, at: SystemTime) -> Result<Vec<u8>> {
    let cert = x509_cert::Certificate::from_der(signer.leaf_der()).map_err(der_err)?;
    let key = RsaKeyPair::from_pkcs8(signer.key_pkcs8_der())
        .map_err(|e| TestkitError::Pki(format!("signer key is not RSA: {e}")))?;
    let sha256 = AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: None,
    };
    let digest = digest::digest(&digest::SHA256, content);
    let mut attrs = SetOfVec::new();
    attrs
        .insert(attribute(
            ID_CONTENT_TYPE,
            Any::encode_from(&ID_DATA).map_err(der_err)?,
        )?)
        .map_err(der_err)?;
    let time = UtcTime::from_system_time(at).map_err(der_err)?;
    attrs
        .insert(attribute(
            ID_SIGNING_TIME,
            Any::encode_from(&time).map_err(der_err)?,
        )?)
        .map_err(der_err)?;
    let md = OctetString::new(digest.as_ref()).map_err(der_err)?;
    attrs
        .insert(attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&md).map_err(der_err)?,
        )?)
        .map_err(der_err)?;
    let signed = attrs.to_der().map_err(der_err)?;
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        &signed,
        &mut signature,
    )
    .map_err(|_| TestkitError::Pki("RSA signing failed".into()))?;
    let tbs = cert.tbs_certificate();
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: sha256.clone(),
        signed_attrs: Some(attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(Any::new(Tag::Null, Vec::<u8>::new()).map_err(der_err)?),
        },
        signature: OctetString::new(signature).map_err(der_err)?,
        unsigned_attrs: None,
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(sha256).map_err(der_err)?;
    let mut certs = SetOfVec::new();
    certs
        .insert(CertificateChoices::Certificate(cert))
        .map_err(der_err)?;
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(signer_info).map_err(der_err)?;
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: Some(Any::new(Tag::OctetString, content.to_vec()).map_err(der_err)?),
        },
        certificates: Some(CertificateSet(certs)),
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    let info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(der_err)?,
    };
    info.to_der().map_err(der_err)
}

/// A raw RSA PKCS#1 v1.5 signature of a SHA-256 or SHA-512 hash (`sim-sign-pkcs1`).
pub(super) fn sign_hash_pkcs1(hash: &[u8], signer: &TestIdentity) -> Result<Vec<u8>> {
    let key = RsaKeyPair::from_pkcs8(signer.key_pkcs8_der())
        .map_err(|e| TestkitError::Pki(format!("signer key is not RSA: {e}")))?;
    let (padding, alg): (&'static dyn aws_lc_rs::signature::RsaEncoding, _) = match hash.len() {
        32 => (&RSA_PKCS1_SHA256, &digest::SHA256),
        64 => (&aws_lc_rs::signature::RSA_PKCS1_SHA512, &digest::SHA512),
        n => {
            return Err(TestkitError::Pki(format!(
                "a {n}-byte hash is neither SHA-256 nor SHA-512"
            )));
        }
    };
    let digest = digest::Digest::import_less_safe(hash, alg)
        .map_err(|_| TestkitError::Pki("hash".into()))?;
    let mut signature = vec![0u8; key.public_modulus_len()];
    key.sign_digest(padding, &digest, &mut signature)
        .map_err(|_| TestkitError::Pki("RSA signing failed".into()))?;
    Ok(signature)
}
