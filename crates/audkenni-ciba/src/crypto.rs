//! The crypto backend: aws-lc-rs (feature `aws-lc-rs`, the default) or ring
//! (feature `ring`, used when both are enabled). The crate names
//! `crate::crypto::backend::...` where the two libraries share an API, and
//! the functions here where they differ.

#[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
pub(crate) use aws_lc_rs as backend;
#[cfg(feature = "ring")]
pub(crate) use ring as backend;

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "audkenni-ciba needs a crypto backend: enable its `aws-lc-rs` feature (the default) or its `ring` feature"
);

use backend::digest;
use backend::signature;

/// Whether two secrets are equal, in time that does not depend on where
/// they differ: their SHA-256 digests are compared (a difference in the
/// digests says nothing an attacker can steer about the secret).
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let (da, db) = (
        digest::digest(&digest::SHA256, a),
        digest::digest(&digest::SHA256, b),
    );
    da.as_ref() == db.as_ref()
}

/// A public key prepared once for one algorithm (what the JWKS cache keeps).
#[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
pub(crate) struct PreparedKey(signature::ParsedPublicKey);

/// A public key prepared once for one algorithm (what the JWKS cache keeps).
/// ring has no parsed-key type: the components are kept and checked per use.
#[cfg(feature = "ring")]
pub(crate) enum PreparedKey {
    Rsa(
        signature::RsaPublicKeyComponents<Vec<u8>>,
        &'static signature::RsaParameters,
    ),
    Ec(signature::UnparsedPublicKey<Vec<u8>>),
}

impl PreparedKey {
    /// An RSA key from its modulus and exponent (big-endian bytes).
    pub(crate) fn rsa(
        n: Vec<u8>,
        e: Vec<u8>,
        params: &'static signature::RsaParameters,
    ) -> Option<Self> {
        let components = signature::RsaPublicKeyComponents { n, e };
        #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
        return components.to_parsed_public_key(params).ok().map(Self);
        #[cfg(feature = "ring")]
        Some(Self::Rsa(components, params))
    }

    /// An EC key from its uncompressed point.
    pub(crate) fn ec(
        algorithm: &'static signature::EcdsaVerificationAlgorithm,
        point: Vec<u8>,
    ) -> Option<Self> {
        #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
        return signature::ParsedPublicKey::new(algorithm, point)
            .ok()
            .map(Self);
        #[cfg(feature = "ring")]
        Some(Self::Ec(signature::UnparsedPublicKey::new(
            algorithm, point,
        )))
    }

    /// Whether `signature` is a valid signature of `message` with this key.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
        return self.0.verify_sig(message, signature).is_ok();
        #[cfg(feature = "ring")]
        match self {
            Self::Rsa(components, params) => components.verify(params, message, signature).is_ok(),
            Self::Ec(key) => key.verify(message, signature).is_ok(),
        }
    }
}

/// The P-256 signing key of a PKCS#8 or SEC1 DER key.
pub(crate) fn ecdsa_p256_key(
    der: &rustls_pki_types::PrivateKeyDer<'_>,
) -> Result<signature::EcdsaKeyPair, String> {
    let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
    return signature::EcdsaKeyPair::from_private_key_der(alg, der.secret_der())
        .map_err(|e| format!("not a P-256 key: {e}"));
    #[cfg(feature = "ring")]
    {
        use rustls_pki_types::PrivateKeyDer;
        let rng = backend::rand::SystemRandom::new();
        let pkcs8 = match der {
            PrivateKeyDer::Pkcs8(k) => k.secret_pkcs8_der().to_vec(),
            PrivateKeyDer::Sec1(k) => sec1_to_pkcs8(k.secret_sec1_der())
                .ok_or_else(|| "the SEC1 key cannot be read".to_owned())?,
            _ => return Err("not an EC key".into()),
        };
        signature::EcdsaKeyPair::from_pkcs8(alg, &pkcs8, &rng)
            .map_err(|e| format!("not a P-256 key: {e}"))
    }
}

/// The PKCS#8 `PrivateKeyInfo` (id-ecPublicKey, prime256v1) around a SEC1
/// `ECPrivateKey`, which is how ring reads EC keys.
#[cfg(feature = "ring")]
fn sec1_to_pkcs8(sec1: &[u8]) -> Option<Vec<u8>> {
    use der::Encode as _;
    use der::asn1::{ObjectIdentifier, OctetStringRef};
    const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    let mut algorithm = Vec::new();
    EC_PUBLIC_KEY.encode_to_vec(&mut algorithm).ok()?;
    PRIME256V1.encode_to_vec(&mut algorithm).ok()?;
    let mut body = Vec::new();
    0u8.encode_to_vec(&mut body).ok()?;
    der::Header::new(
        der::Tag::Sequence,
        der::Length::try_from(algorithm.len()).ok()?,
    )
    .encode_to_vec(&mut body)
    .ok()?;
    body.extend_from_slice(&algorithm);
    OctetStringRef::new(sec1)
        .ok()?
        .encode_to_vec(&mut body)
        .ok()?;
    let mut out = Vec::new();
    der::Header::new(der::Tag::Sequence, der::Length::try_from(body.len()).ok()?)
        .encode_to_vec(&mut out)
        .ok()?;
    out.extend_from_slice(&body);
    Some(out)
}

/// The length of the RSA signatures `pair` makes (its modulus length).
pub(crate) fn rsa_signature_len(pair: &signature::RsaKeyPair) -> usize {
    #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
    return pair.public_modulus_len();
    #[cfg(feature = "ring")]
    pair.public().modulus_len()
}

/// The hash of a pre-hashed PKCS#1 v1.5 signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrehashAlgorithm {
    Sha256,
    Sha512,
}

/// Verifies an RSASSA-PKCS1-v1_5 signature over a hash given as it is
/// (the message itself is not known), with an RSA key of 2,048 to 8,192
/// bits given as the `RSAPublicKey` DER of a certificate.
pub(crate) fn verify_rsa_pkcs1_prehashed(
    rsa_public_key: &[u8],
    algorithm: PrehashAlgorithm,
    hash: &[u8],
    signature: &[u8],
) -> bool {
    #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
    {
        let (alg, dig) = match algorithm {
            PrehashAlgorithm::Sha256 => (&signature::RSA_PKCS1_2048_8192_SHA256, &digest::SHA256),
            PrehashAlgorithm::Sha512 => (&signature::RSA_PKCS1_2048_8192_SHA512, &digest::SHA512),
        };
        let Ok(digest) = digest::Digest::import_less_safe(hash, dig) else {
            return false;
        };
        signature::UnparsedPublicKey::new(alg, rsa_public_key)
            .verify_digest(&digest, signature)
            .is_ok()
    }
    #[cfg(feature = "ring")]
    prehashed::verify(rsa_public_key, algorithm, hash, signature)
}

/// ring verifies PKCS#1 v1.5 only over a message: for a hash given as it
/// is, the public-key operation is done here and the whole encoded block
/// compared with the one expected (RFC 8017 8.2.2, by re-encoding rather
/// than parsing the decrypted block).
#[cfg(feature = "ring")]
mod prehashed {
    use super::PrehashAlgorithm;
    use der::asn1::UintRef;
    use der::{Decode as _, Reader as _, SliceReader};
    use num_bigint::BigUint;

    /// The DER `DigestInfo` before the hash (RFC 8017 9.2, note 1).
    const SHA256_PREFIX: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    const SHA512_PREFIX: [u8; 19] = [
        0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
        0x05, 0x00, 0x04, 0x40,
    ];

    pub(super) fn verify(
        rsa_public_key: &[u8],
        algorithm: PrehashAlgorithm,
        hash: &[u8],
        signature: &[u8],
    ) -> bool {
        let (prefix, hash_len) = match algorithm {
            PrehashAlgorithm::Sha256 => (&SHA256_PREFIX, 32),
            PrehashAlgorithm::Sha512 => (&SHA512_PREFIX, 64),
        };
        if hash.len() != hash_len {
            return false;
        }
        let Some((n, e)) = read_key(rsa_public_key) else {
            return false;
        };
        let k = n.bits().div_ceil(8) as usize;
        // The same key sizes as ring's RSA_PKCS1_2048_8192 parameters.
        if !(2048..=8192).contains(&n.bits()) || signature.len() != k {
            return false;
        }
        let s = BigUint::from_bytes_be(signature);
        if s >= n {
            return false;
        }
        let m = s.modpow(&e, &n).to_bytes_be();
        let t_len = prefix.len() + hash_len;
        if k < t_len + 11 {
            return false;
        }
        // EM = 0x00 || 0x01 || PS (0xff...) || 0x00 || T
        let mut expected = Vec::with_capacity(k);
        expected.extend_from_slice(&[0x00, 0x01]);
        expected.resize(k - t_len - 1, 0xff);
        expected.push(0x00);
        expected.extend_from_slice(prefix);
        expected.extend_from_slice(hash);
        // m lacks the leading zero byte of EM.
        expected.get(1..) == Some(m.as_slice())
    }

    /// The modulus and public exponent of an `RSAPublicKey`; the exponent
    /// odd and at least 3, as ring requires.
    fn read_key(der: &[u8]) -> Option<(BigUint, BigUint)> {
        let mut reader = SliceReader::new(der).ok()?;
        let (n, e) = reader
            .sequence(|r| {
                let n = UintRef::decode(r)?;
                let e = UintRef::decode(r)?;
                Ok::<_, der::Error>((
                    BigUint::from_bytes_be(n.as_bytes()),
                    BigUint::from_bytes_be(e.as_bytes()),
                ))
            })
            .ok()?;
        if !reader.is_finished() {
            return None;
        }
        (e >= BigUint::from(3u8) && e.bit(0) && e.bits() <= 33).then_some((n, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RSA_PKCS1_SHA512, RsaKeyPair};

    /// aws-lc-rs (a dev-dependency) signs; the crate's backend verifies.
    #[test]
    fn prehashed_pkcs1_signatures_verify_and_tampering_is_refused() {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let other = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let public = pair.public_key().as_ref().to_vec();
        let message = b"Samthykki leigusamning nr. 42";
        let rng = aws_lc_rs::rand::SystemRandom::new();
        for (alg, encoding, hash) in [
            (
                PrehashAlgorithm::Sha256,
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::digest::SHA256,
            ),
            (
                PrehashAlgorithm::Sha512,
                &RSA_PKCS1_SHA512,
                &aws_lc_rs::digest::SHA512,
            ),
        ] {
            let mut sig = vec![0u8; pair.public_modulus_len()];
            pair.sign(encoding, &rng, message, &mut sig).unwrap();
            let digest = aws_lc_rs::digest::digest(hash, message);
            let digest = digest.as_ref();
            assert!(verify_rsa_pkcs1_prehashed(&public, alg, digest, &sig));

            let mut bad_hash = digest.to_vec();
            bad_hash[3] ^= 1;
            assert!(!verify_rsa_pkcs1_prehashed(&public, alg, &bad_hash, &sig));
            let mut bad_sig = sig.clone();
            bad_sig[100] ^= 1;
            assert!(!verify_rsa_pkcs1_prehashed(&public, alg, digest, &bad_sig));
            assert!(!verify_rsa_pkcs1_prehashed(&public, alg, digest, &sig[1..]));
            assert!(!verify_rsa_pkcs1_prehashed(
                &public,
                alg,
                &digest[1..],
                &sig
            ));
            let wrong_alg = match alg {
                PrehashAlgorithm::Sha256 => PrehashAlgorithm::Sha512,
                PrehashAlgorithm::Sha512 => PrehashAlgorithm::Sha256,
            };
            assert!(!verify_rsa_pkcs1_prehashed(
                &public, wrong_alg, digest, &sig
            ));
            let other_key = other.public_key().as_ref();
            assert!(!verify_rsa_pkcs1_prehashed(other_key, alg, digest, &sig));
            assert!(!verify_rsa_pkcs1_prehashed(
                b"\x30\x03\x02\x01\x05",
                alg,
                digest,
                &sig
            ));
            assert!(!verify_rsa_pkcs1_prehashed(&[], alg, digest, &sig));
        }
    }

    #[test]
    fn secrets_compare_equal_only_when_equal() {
        assert!(same_secret(b"token-1", b"token-1"));
        assert!(!same_secret(b"token-1", b"token-2"));
        assert!(!same_secret(b"token-1", b"token-10"));
        assert!(!same_secret(b"", b"x"));
    }
}
