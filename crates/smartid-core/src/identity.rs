//! Client identities for mutual TLS.

use std::fmt;
use std::path::Path;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::keystore::key::PrivateKey;
use crate::keystore::{Keystore, KeystoreFormat, read_file};
use crate::secret::Secret;

/// A private key with its certificate chain, checked to belong together, for
/// mutual TLS.
///
/// `Debug` shows the chain's subjects, never the key.
///
/// ```no_run
/// use smartid_core::{ClientIdentity, Secret};
///
/// let id = ClientIdentity::from_pkcs12_file("client.p12", &Secret::new("123456"))?;
/// println!("{}", id.certificate().subject());
/// # Ok::<(), smartid_core::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientIdentity {
    chain: Vec<Certificate>,
    key: PrivateKey,
    source_name: String,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("source", &self.source_name)
            .field(
                "chain",
                &self
                    .chain
                    .iter()
                    .map(Certificate::subject)
                    .collect::<Vec<_>>(),
            )
            .field("key", &"[redacted]")
            .finish()
    }
}

impl ClientIdentity {
    pub(crate) fn from_parts(
        chain: Vec<Certificate>,
        key: PrivateKey,
        source_name: String,
    ) -> Self {
        Self {
            chain,
            key,
            source_name,
        }
    }

    /// Loads a PKCS#12 file (OpenSSL 3 default AES-256/PBKDF2, or legacy
    /// RC2/3DES as in older D-Trust files).
    ///
    /// # Errors
    /// [`Error::FileNotFound`], [`Error::WrongPassword`], [`Error::NoIdentity`],
    /// [`Error::KeyMismatch`], [`Error::UnsupportedFormat`].
    pub fn from_pkcs12_file(path: impl AsRef<Path>, password: &Secret) -> Result<Self> {
        let path = path.as_ref();
        let bytes = read_file(path)?;
        Self::from_pkcs12_der(&bytes, &path.display().to_string(), password)
    }

    /// Loads PKCS#12 bytes held in memory; `source_name` names them in errors.
    ///
    /// # Errors
    /// As [`ClientIdentity::from_pkcs12_file`].
    pub fn from_pkcs12_der(bytes: &[u8], source_name: &str, password: &Secret) -> Result<Self> {
        let ks = Keystore::from_bytes(bytes, source_name, Some(password))?;
        if ks.format() != KeystoreFormat::Pkcs12 {
            return Err(Error::UnsupportedFormat {
                source_name: source_name.to_owned(),
                detail: format!("expected a PKCS#12 file, found {}", ks.format()),
            });
        }
        Self::from_keystore(&ks, None)
    }

    /// Loads a PEM certificate chain (leaf first, or in any order) and a PEM
    /// private key (PKCS#8, PKCS#1 or SEC1, unencrypted). Both may be the same file.
    ///
    /// # Errors
    /// [`Error::FileNotFound`], [`Error::NoIdentity`], [`Error::KeyMismatch`],
    /// [`Error::InvalidKey`].
    pub fn from_pem_files(chain: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self> {
        let chain_bytes = read_file(chain.as_ref())?;
        let key_bytes = zeroize::Zeroizing::new(read_file(key.as_ref())?);
        Self::from_pem(
            &chain_bytes,
            &key_bytes,
            &key.as_ref().display().to_string(),
        )
    }

    /// Builds an identity from PEM text held in memory.
    ///
    /// # Errors
    /// As [`ClientIdentity::from_pem_files`].
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8], source_name: &str) -> Result<Self> {
        let mut joined =
            zeroize::Zeroizing::new(Vec::with_capacity(chain_pem.len() + key_pem.len() + 1));
        joined.extend_from_slice(key_pem);
        joined.push(b'\n');
        joined.extend_from_slice(chain_pem);
        let ks = Keystore::from_bytes(&joined, source_name, None)?;
        Self::from_keystore(&ks, None)
    }

    /// Takes the identity with the given alias, or the only identity, from a keystore.
    ///
    /// # Errors
    /// [`Error::NoIdentity`] when there is none (or none with that alias, or
    /// several and no alias was given), [`Error::KeyMismatch`].
    pub fn from_keystore(keystore: &Keystore, alias: Option<&str>) -> Result<Self> {
        let mut candidates = keystore
            .identities()
            .filter(|id| alias.is_none() || id.alias() == alias);
        let first = candidates.next().ok_or_else(|| Error::NoIdentity {
            source_name: keystore.source_name().to_owned(),
        })?;
        if alias.is_none() && candidates.next().is_some() {
            return Err(Error::InvalidSetting {
                field: "alias",
                message: format!(
                    "{} holds several private keys; name the one to use by its alias",
                    keystore.source_name()
                ),
            });
        }
        first.clone().into_client_identity()
    }

    /// The leaf certificate.
    pub fn certificate(&self) -> &Certificate {
        // The constructor guarantees a non-empty chain.
        &self.chain[0]
    }

    /// The chain, leaf first.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// Where the identity was loaded from.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// The private key as PKCS#8, PKCS#1 or SEC1 DER (see
    /// [`ClientIdentity::private_key_pem`] for the labelled form).
    ///
    /// This is an escape hatch for code that must hand the key to another
    /// library (a TLS server in tests, a signer); it exposes the secret.
    pub fn expose_private_key_der(&self) -> &[u8] {
        self.key.der.expose_secret()
    }

    /// The private key as PEM (labelled by its encoding), as a [`Secret`]:
    /// redacted in `Debug`, zeroized on drop.
    pub fn private_key_pem(&self) -> crate::Secret {
        let mut pem = self.key.to_pem();
        // Move the buffer out; the emptied `Zeroizing` has nothing to wipe.
        crate::Secret::new(std::mem::take(&mut *pem))
    }

    pub(crate) fn to_pem_bundle(&self) -> zeroize::Zeroizing<String> {
        let mut pem = self.key.to_pem();
        for cert in &self.chain {
            pem.push_str(&cert.to_pem());
        }
        pem
    }
}
