//! Private keys held in memory, and the check that a key belongs to a certificate.

use std::fmt;

use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};

use crate::cert::{Certificate, pem_encode};
use crate::secret::SecretBytes;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyEncoding {
    Pkcs8,
    Pkcs1,
    Sec1,
}

/// A private key; zeroized on drop, never printed.
#[derive(Clone)]
pub(crate) struct PrivateKey {
    pub(crate) der: SecretBytes,
    pub(crate) encoding: KeyEncoding,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey([redacted])")
    }
}

impl PrivateKey {
    pub(crate) fn pkcs8(der: Vec<u8>) -> Self {
        Self {
            der: SecretBytes::new(der),
            encoding: KeyEncoding::Pkcs8,
        }
    }

    pub(crate) fn to_pki(&self) -> PrivateKeyDer<'static> {
        let der = self.der.expose_secret().to_vec();
        match self.encoding {
            KeyEncoding::Pkcs8 => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)),
            KeyEncoding::Pkcs1 => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)),
            KeyEncoding::Sec1 => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der)),
        }
    }

    pub(crate) fn to_pem(&self) -> zeroize::Zeroizing<String> {
        let label = match self.encoding {
            KeyEncoding::Pkcs8 => "PRIVATE KEY",
            KeyEncoding::Pkcs1 => "RSA PRIVATE KEY",
            KeyEncoding::Sec1 => "EC PRIVATE KEY",
        };
        zeroize::Zeroizing::new(pem_encode(label, self.der.expose_secret()))
    }

    /// Whether this key is the key of `leaf`. `Err` carries why the key
    /// could not be read at all.
    pub(crate) fn matches(&self, leaf: &Certificate) -> Result<bool, String> {
        let provider = crate::crypto::rustls_provider();
        let signing_key = provider
            .key_provider
            .load_private_key(self.to_pki())
            .map_err(|e| format!("the key cannot be loaded ({e})"))?;
        let key_spki = signing_key
            .public_key()
            .ok_or_else(|| "the key's public half cannot be derived".to_owned())?;
        Ok(key_spki.as_ref() == leaf.subject_public_key_info())
    }
}
