//! The relying party's key that signs request objects (and client assertions).

use std::fmt;

use std::sync::Arc;

use base64::Engine as _;
#[cfg(any(test, feature = "aws-lc-rs"))]
use jsonwebtoken::EncodingKey;
use serde::Serialize;

use crate::error::Error;

/// The JWS algorithm of the relying party's signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum JwsAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Audkenni's default).
    #[default]
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// ECDSA P-256 with SHA-256.
    Es256,
}

impl JwsAlgorithm {
    /// The JOSE name (`RS256`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
        }
    }
}

use crate::crypto::backend;
use backend::signature::{EcdsaKeyPair, RsaEncoding, RsaKeyPair};

/// Installs jsonwebtoken's aws-lc-rs provider once (an already installed
/// provider is fine). Tests and the fuzzing entry points only: the client
/// signs and verifies with its own backend.
#[cfg(any(test, feature = "aws-lc-rs"))]
pub(crate) fn ensure_jwt_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    });
}

/// The OID of rsaEncryption (PKCS#1), the algorithm of an RSA PKCS#8 key.
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// Reads the first private key of `pem` (with rustls-pki-types) and gives
/// jsonwebtoken the DER it signs with: PKCS#1 for RSA, PKCS#8 for ECDSA.
/// Tests and the fuzzing entry points only.
#[cfg(any(test, feature = "aws-lc-rs"))]
pub(crate) fn encoding_key(pem: &[u8], algorithm: JwsAlgorithm) -> Result<EncodingKey, String> {
    use rustls_pki_types::PrivateKeyDer;
    use rustls_pki_types::pem::PemObject;
    let der = PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("no private key: {e}"))?;
    match (algorithm, &der) {
        (JwsAlgorithm::Rs256 | JwsAlgorithm::Ps256, PrivateKeyDer::Pkcs1(k)) => {
            Ok(EncodingKey::from_rsa_der(k.secret_pkcs1_der()))
        }
        (JwsAlgorithm::Rs256 | JwsAlgorithm::Ps256, PrivateKeyDer::Pkcs8(k)) => {
            pkcs8_rsa_key(k.secret_pkcs8_der())
                .map(|pkcs1| EncodingKey::from_rsa_der(&pkcs1))
                .ok_or_else(|| "the PKCS#8 key is not an RSA key".to_owned())
        }
        (JwsAlgorithm::Es256, PrivateKeyDer::Pkcs8(_) | PrivateKeyDer::Sec1(_)) => {
            use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
            let pair = EcdsaKeyPair::from_private_key_der(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                der.secret_der(),
            )
            .map_err(|e| format!("not a P-256 key: {e}"))?;
            let pkcs8 = pair
                .to_pkcs8v1()
                .map_err(|_| "the P-256 key cannot be encoded".to_owned())?;
            Ok(EncodingKey::from_ec_der(pkcs8.as_ref()))
        }
        _ => Err("the key type does not match the algorithm".into()),
    }
}

/// The PKCS#1 `RSAPrivateKey` inside an RSA PKCS#8 `PrivateKeyInfo`.
fn pkcs8_rsa_key(pkcs8: &[u8]) -> Option<Vec<u8>> {
    use der::asn1::{ObjectIdentifier, OctetStringRef};
    use der::{Decode, Reader, SliceReader};
    let mut reader = SliceReader::new(pkcs8).ok()?;
    let (oid, key) = reader
        .sequence(|r| {
            let _version = u8::decode(r)?;
            let oid = r.sequence(|alg| {
                let oid: ObjectIdentifier = ObjectIdentifier::decode(alg)?;
                // The NULL parameters (or none).
                let _ = alg.read_slice(alg.remaining_len())?;
                Ok::<_, der::Error>(oid)
            })?;
            let key = <&OctetStringRef>::decode(r)?.as_bytes().to_vec();
            // Attributes and the public key (PKCS#8 v2) may follow.
            let _ = r.read_slice(r.remaining_len())?;
            Ok::<_, der::Error>((oid, key))
        })
        .ok()?;
    (oid.to_string() == RSA_ENCRYPTION).then_some(key)
}

/// The relying party's private key with its algorithm and optional `kid`.
/// `Debug` never shows the key.
#[derive(Clone)]
pub struct RequestSigningKey {
    key: Signer,
    algorithm: JwsAlgorithm,
    kid: Option<String>,
}

/// The key, parsed once and held by the crypto backend (its RSA blinding set up
/// once): signing does not re-read DER per request object.
#[derive(Clone)]
enum Signer {
    Rsa(Arc<RsaKeyPair>, &'static dyn RsaEncoding),
    Ecdsa(Arc<EcdsaKeyPair>),
}

impl Signer {
    fn from_pem(pem: &[u8], algorithm: JwsAlgorithm) -> Result<Signer, String> {
        use rustls_pki_types::PrivateKeyDer;
        use rustls_pki_types::pem::PemObject;
        let der = PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("no private key: {e}"))?;
        let rsa = |pair: Result<RsaKeyPair, backend::error::KeyRejected>| {
            let encoding: &'static dyn RsaEncoding = if algorithm == JwsAlgorithm::Ps256 {
                &backend::signature::RSA_PSS_SHA256
            } else {
                &backend::signature::RSA_PKCS1_SHA256
            };
            pair.map(|p| Signer::Rsa(Arc::new(p), encoding))
                .map_err(|e| format!("not a usable RSA key: {e}"))
        };
        match (algorithm, &der) {
            (JwsAlgorithm::Rs256 | JwsAlgorithm::Ps256, PrivateKeyDer::Pkcs1(k)) => {
                rsa(RsaKeyPair::from_der(k.secret_pkcs1_der()))
            }
            (JwsAlgorithm::Rs256 | JwsAlgorithm::Ps256, PrivateKeyDer::Pkcs8(k)) => {
                if pkcs8_rsa_key(k.secret_pkcs8_der()).is_none() {
                    return Err("the PKCS#8 key is not an RSA key".to_owned());
                }
                rsa(RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()))
            }
            (JwsAlgorithm::Es256, PrivateKeyDer::Pkcs8(_) | PrivateKeyDer::Sec1(_)) => {
                crate::crypto::ecdsa_p256_key(&der).map(|p| Signer::Ecdsa(Arc::new(p)))
            }
            _ => Err("the key type does not match the algorithm".into()),
        }
    }

    /// The JWS signature of `input` (fixed-size r||s for ECDSA, as JWS wants).
    fn sign(&self, input: &[u8]) -> Option<Vec<u8>> {
        let rng = backend::rand::SystemRandom::new();
        match self {
            Signer::Rsa(pair, encoding) => {
                let mut sig = vec![0u8; crate::crypto::rsa_signature_len(pair)];
                pair.sign(*encoding, &rng, input, &mut sig).ok()?;
                Some(sig)
            }
            Signer::Ecdsa(pair) => Some(pair.sign(&rng, input).ok()?.as_ref().to_vec()),
        }
    }
}

/// The protected header of the relying party's JWS.
#[derive(Serialize)]
struct JwsHeader<'a> {
    typ: &'static str,
    alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

impl fmt::Debug for RequestSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl RequestSigningKey {
    /// Reads a PEM private key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE
    /// KEY`, or SEC1 `EC PRIVATE KEY`) for the algorithm.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the PEM holds no key of the algorithm's type.
    pub fn from_pem(pem: &[u8], algorithm: JwsAlgorithm) -> Result<Self, Error> {
        let key = Signer::from_pem(pem, algorithm).map_err(|why| {
            Error::config(
                "signing_key",
                format!(
                    "not a PEM {} private key ({why}); RS256/PS256 need an RSA key, ES256 a P-256 key",
                    algorithm.as_str()
                ),
            )
        })?;
        let this = Self {
            key,
            algorithm,
            kid: None,
        };
        // Prove the key works now rather than at the first request.
        this.sign(&serde_json::json!({"probe": true}))?;
        Ok(this)
    }

    /// Sets the `kid` header of signed request objects.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The algorithm.
    pub fn algorithm(&self) -> JwsAlgorithm {
        self.algorithm
    }

    /// The `kid`, if set.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Signs claims as a compact JWS with header `{"typ":"JWT","alg":..,"kid":..}`.
    pub(crate) fn sign<T: Serialize>(&self, claims: &T) -> Result<String, Error> {
        let failed = |why: &str| {
            Error::config(
                "signing_key",
                format!(
                    "signing with the {} key failed: {why}",
                    self.algorithm.as_str()
                ),
            )
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = serde_json::to_vec(&JwsHeader {
            typ: "JWT",
            alg: self.algorithm.as_str(),
            kid: self.kid.as_deref(),
        })
        .map_err(|e| failed(&e.to_string()))?;
        let payload = serde_json::to_vec(claims).map_err(|e| failed(&e.to_string()))?;
        let mut jws = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 360);
        b64.encode_string(&header, &mut jws);
        jws.push('.');
        b64.encode_string(&payload, &mut jws);
        let signature = self
            .key
            .sign(jws.as_bytes())
            .ok_or_else(|| failed("the crypto library refused"))?;
        jws.push('.');
        b64.encode_string(&signature, &mut jws);
        Ok(jws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys::{ec_pem, rsa_pem};
    use aws_lc_rs::encoding::AsDer as _;
    use rustls_pki_types::PrivatePkcs8KeyDer;
    use rustls_pki_types::pem::PemObject as _;
    use smartid_core::internal::pem_encode;

    fn pkcs8_der(pem: &str) -> Vec<u8> {
        PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .secret_pkcs8_der()
            .to_vec()
    }

    #[test]
    fn every_pem_key_form_signs_and_a_wrong_type_is_refused() {
        // PKCS#8 RSA, for RS256 and PS256.
        for alg in [JwsAlgorithm::Rs256, JwsAlgorithm::Ps256] {
            assert!(RequestSigningKey::from_pem(rsa_pem().as_bytes(), alg).is_ok());
        }
        // PKCS#1 `RSA PRIVATE KEY`: the inner key of the PKCS#8 one.
        let pkcs1 = pkcs8_rsa_key(&pkcs8_der(&rsa_pem())).unwrap();
        let pem = pem_encode("RSA PRIVATE KEY", &pkcs1);
        assert!(RequestSigningKey::from_pem(pem.as_bytes(), JwsAlgorithm::Rs256).is_ok());
        // PKCS#8 and SEC1 `EC PRIVATE KEY` for ES256.
        assert!(RequestSigningKey::from_pem(ec_pem().as_bytes(), JwsAlgorithm::Es256).is_ok());
        let pair = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &pkcs8_der(&ec_pem()),
        )
        .unwrap();
        let sec1 = pair.private_key().as_der().unwrap();
        let pem = pem_encode("EC PRIVATE KEY", sec1.as_ref());
        assert!(RequestSigningKey::from_pem(pem.as_bytes(), JwsAlgorithm::Es256).is_ok());
        // The wrong key type, or no key, says what to give.
        for (pem, alg) in [
            (rsa_pem(), JwsAlgorithm::Es256),
            (ec_pem(), JwsAlgorithm::Rs256),
            ("not a pem".to_owned(), JwsAlgorithm::Rs256),
        ] {
            let e = RequestSigningKey::from_pem(pem.as_bytes(), alg).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidConfig(p) if p[0].field == "signing_key"),
                "{e}"
            );
            assert!(e.to_string().contains("private key"), "{e}");
        }
        // An EC PKCS#8 is not mistaken for RSA.
        assert_eq!(pkcs8_rsa_key(&pkcs8_der(&ec_pem())), None);
    }

    #[test]
    fn signatures_verify_with_the_public_key_for_every_algorithm() {
        use jsonwebtoken::jwk::Jwk;
        use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
        ensure_jwt_provider();
        for (pem, alg, jwt_alg) in [
            (rsa_pem(), JwsAlgorithm::Rs256, Algorithm::RS256),
            (rsa_pem(), JwsAlgorithm::Ps256, Algorithm::PS256),
            (ec_pem(), JwsAlgorithm::Es256, Algorithm::ES256),
        ] {
            let key = RequestSigningKey::from_pem(pem.as_bytes(), alg)
                .unwrap()
                .with_kid("rp-1");
            let jws = key
                .sign(&serde_json::json!({"iss": "rp", "aud": "op", "exp": 4_000_000_000u64}))
                .unwrap();
            let header = decode_header(&jws).unwrap();
            assert_eq!(header.alg, jwt_alg);
            assert_eq!(header.typ.as_deref(), Some("JWT"));
            assert_eq!(header.kid.as_deref(), Some("rp-1"));
            let enc = encoding_key(pem.as_bytes(), alg).unwrap();
            let public =
                DecodingKey::from_jwk(&Jwk::from_encoding_key(&enc, jwt_alg).unwrap()).unwrap();
            let mut v = Validation::new(jwt_alg);
            v.set_audience(&["op"]);
            let claims = decode::<serde_json::Value>(&jws, &public, &v)
                .unwrap()
                .claims;
            assert_eq!(claims["iss"], "rp");
            // A changed payload does not verify.
            let mut parts: Vec<&str> = jws.split('.').collect();
            let other = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(br#"{"iss":"evil","aud":"op","exp":4000000000}"#);
            parts[1] = &other;
            assert!(decode::<serde_json::Value>(&parts.join("."), &public, &v).is_err());
        }
    }
}
