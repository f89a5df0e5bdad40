//! Key pairs and PKCS#10 requests.

use std::fmt;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};
use smartid_core::SecretBytes;

use crate::error::{Error, Result};
use crate::order::SubjectDn;
use crate::product::Product;

/// The key algorithm and size of a generated key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySpec {
    /// RSA 2048 bits, SHA-256.
    Rsa2048,
    /// RSA 3072 bits, SHA-256.
    Rsa3072,
    /// RSA 4096 bits, SHA-256.
    Rsa4096,
    /// ECDSA P-256, SHA-256.
    EcP256,
    /// ECDSA P-384, SHA-384.
    EcP384,
}

impl KeySpec {
    /// The size in bits (curve size for EC keys).
    pub fn bits(self) -> u32 {
        match self {
            Self::Rsa2048 => 2048,
            Self::Rsa3072 => 3072,
            Self::Rsa4096 => 4096,
            Self::EcP256 => 256,
            Self::EcP384 => 384,
        }
    }

    fn generate(self) -> Result<KeyPair> {
        use rcgen::RsaKeySize;
        let r = match self {
            Self::Rsa2048 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048),
            Self::Rsa3072 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_3072),
            Self::Rsa4096 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_4096),
            Self::EcP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            Self::EcP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        };
        r.map_err(|e| Error::KeyGeneration {
            message: e.to_string(),
        })
    }
}

/// A generated key pair with its PKCS#10 request.
pub struct GeneratedCsr {
    /// The PKCS#10 request, DER.
    pub csr_der: Vec<u8>,
    /// The private key, PKCS#8 DER.
    pub private_key_pkcs8: SecretBytes,
    /// The key's algorithm and size.
    pub key: KeySpec,
    /// The public key, DER SubjectPublicKeyInfo.
    pub public_key_spki: Vec<u8>,
}

impl fmt::Debug for GeneratedCsr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedCsr")
            .field("csr_bytes", &self.csr_der.len())
            .field("private_key_pkcs8", &self.private_key_pkcs8)
            .field("key", &self.key)
            .finish()
    }
}

impl GeneratedCsr {
    /// Generates a key pair of `key` and a CSR for `subject` with the
    /// e-mail addresses as rfc822Name SANs. When `product` lists key sizes,
    /// `key` must be one of them.
    ///
    /// # Errors
    /// [`Error::InvalidOrder`] when the key size does not fit the product or
    /// an attribute cannot be encoded; [`Error::KeyGeneration`].
    ///
    /// ```
    /// use dtrust_client::{GeneratedCsr, KeySpec, SubjectDn};
    /// let csr = GeneratedCsr::generate(None, &SubjectDn::new("device-1"), &["ops@example.de".into()], KeySpec::EcP256)?;
    /// assert!(!csr.csr_der.is_empty());
    /// # Ok::<(), dtrust_client::Error>(())
    /// ```
    pub fn generate(
        product: Option<&Product>,
        subject: &SubjectDn,
        emails: &[String],
        key: KeySpec,
    ) -> Result<Self> {
        if let Some(p) = product
            && !p.key_sizes.is_empty()
            && !p.key_sizes.contains(&key.bits())
        {
            return Err(Error::InvalidOrder {
                field: "key",
                message: format!(
                    "{} bits do not fit product {} ({}), which allows {:?}",
                    key.bits(),
                    p.id,
                    p.name,
                    p.key_sizes
                ),
            });
        }
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        for (name, value) in subject.attributes() {
            dn.push(dn_type(name), value);
        }
        params.distinguished_name = dn;
        for e in emails {
            let ia5 = e.as_str().try_into().map_err(|_| Error::InvalidOrder {
                field: "emails",
                message: format!("{e:?} is not an ASCII e-mail address"),
            })?;
            params.subject_alt_names.push(SanType::Rfc822Name(ia5));
        }
        let key_pair = key.generate()?;
        let csr = params
            .serialize_request(&key_pair)
            .map_err(|e| Error::KeyGeneration {
                message: e.to_string(),
            })?;
        Ok(Self {
            csr_der: csr.der().to_vec(),
            private_key_pkcs8: SecretBytes::new(key_pair.serialize_der()),
            key,
            public_key_spki: rcgen::PublicKeyData::subject_public_key_info(&key_pair),
        })
    }

    /// The private key as PKCS#8 PEM.
    pub fn private_key_pem(&self) -> smartid_core::Secret {
        smartid_core::Secret::new(smartid_core::internal::pem_encode(
            "PRIVATE KEY",
            self.private_key_pkcs8.expose_secret(),
        ))
    }
}

fn dn_type(name: &str) -> DnType {
    match name {
        "C" => DnType::CountryName,
        "ST" => DnType::StateOrProvinceName,
        "L" => DnType::LocalityName,
        "O" => DnType::OrganizationName,
        "OU" => DnType::OrganizationalUnitName,
        "CN" => DnType::CommonName,
        "organizationIdentifier" => DnType::CustomDnType(vec![2, 5, 4, 97]),
        "serialNumber" => DnType::CustomDnType(vec![2, 5, 4, 5]),
        _ => DnType::CustomDnType(vec![1, 2, 840, 113_549, 1, 9, 1]),
    }
}

/// A CSR given as PEM becomes DER; anything else is kept as is.
pub(crate) fn csr_to_der(csr: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(csr) else {
        return csr.to_vec();
    };
    let Some(start) = text.find("-----BEGIN") else {
        return csr.to_vec();
    };
    let body: String = text
        .get(start..)
        .unwrap_or_default()
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .unwrap_or_else(|_| csr.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_size_must_fit_the_product() {
        let mut p = Product::new("1", "Basic SSL ID (RSA)");
        p.key_sizes = vec![3072, 4096];
        let e = GeneratedCsr::generate(Some(&p), &SubjectDn::new("x"), &[], KeySpec::EcP256)
            .unwrap_err();
        assert!(e.to_string().contains("256 bits do not fit"), "{e}");
    }

    #[test]
    fn ec_csr_round_trips_through_pem() {
        let g = GeneratedCsr::generate(
            None,
            &SubjectDn::new("a")
                .organisation_identifier("NTRDE-HRB1")
                .email_address("a@b.de"),
            &["a@b.de".into()],
            KeySpec::EcP384,
        )
        .unwrap();
        let pem = smartid_core::internal::pem_encode("CERTIFICATE REQUEST", &g.csr_der);
        assert_eq!(csr_to_der(pem.as_bytes()), g.csr_der);
        assert!(!format!("{g:?}").contains("BEGIN"));
    }
}
