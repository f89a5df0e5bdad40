//! Trust anchors for server verification.

use std::path::Path;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::keystore::{Integrity, Keystore};
use crate::secret::Secret;

/// A non-empty set of trusted certificates, loaded from any keystore format.
///
/// A store that yields no certificate is an error, never an empty trust.
///
/// ```no_run
/// use smartid_core::{TrustRoots, TrustStore};
///
/// let store = TrustStore::from_path("dtrust-server.cer", None)?;
/// let roots = TrustRoots::Only(store);
/// # Ok::<(), smartid_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TrustStore {
    certificates: Vec<Certificate>,
    integrity: Integrity,
}

impl TrustStore {
    /// Loads the trusted certificates of a PEM bundle, a DER certificate, a
    /// PKCS#12 truststore, a JKS keystore or a directory of such files.
    ///
    /// # Errors
    /// Those of [`Keystore::open`], and [`Error::EmptyTrustStore`] when the
    /// source holds no trusted certificate.
    pub fn from_path(path: impl AsRef<Path>, password: Option<&Secret>) -> Result<Self> {
        Self::from_keystore(&Keystore::open(path, password)?)
    }

    /// Loads trusted certificates from bytes held in memory.
    ///
    /// # Errors
    /// As [`TrustStore::from_path`].
    pub fn from_bytes(bytes: &[u8], source_name: &str, password: Option<&Secret>) -> Result<Self> {
        Self::from_keystore(&Keystore::from_bytes(bytes, source_name, password)?)
    }

    /// Takes the trusted certificates of a loaded keystore.
    ///
    /// # Errors
    /// [`Error::EmptyTrustStore`] when it has none.
    pub fn from_keystore(keystore: &Keystore) -> Result<Self> {
        let mut certificates: Vec<Certificate> = Vec::new();
        for cert in keystore.trusted_certificates() {
            // Directories such as /etc/ssl/certs hold the same root several times.
            if !certificates.contains(cert) {
                certificates.push(cert.clone());
            }
        }
        if certificates.is_empty() {
            let hint = if keystore.identities().next().is_some() {
                "; it holds a private key, so it is a client keystore, not a truststore: \
                 give the CA certificates instead"
            } else {
                ""
            };
            return Err(Error::EmptyTrustStore {
                source_name: keystore.source_name().to_owned(),
                hint: hint.into(),
            });
        }
        Ok(Self {
            certificates,
            integrity: keystore.integrity(),
        })
    }

    /// Builds a store from certificates already loaded.
    ///
    /// # Errors
    /// [`Error::EmptyTrustStore`] when `certificates` is empty.
    pub fn from_certificates(certificates: impl IntoIterator<Item = Certificate>) -> Result<Self> {
        let certificates: Vec<_> = certificates.into_iter().collect();
        if certificates.is_empty() {
            return Err(Error::EmptyTrustStore {
                source_name: "the given certificates".into(),
                hint: String::new(),
            });
        }
        Ok(Self {
            certificates,
            integrity: Integrity::NotInFormat,
        })
    }

    /// Whether the files the store came from were checked against tampering
    /// (the weakest of its sources; see [`Integrity`]). A JKS truststore
    /// loaded without its password reports [`Integrity::NotChecked`].
    pub fn integrity(&self) -> Integrity {
        self.integrity
    }

    /// Adds the certificates of another store.
    pub fn extend(&mut self, other: TrustStore) {
        self.integrity = self.integrity.weakest(other.integrity);
        for cert in other.certificates {
            if !self.certificates.contains(&cert) {
                self.certificates.push(cert);
            }
        }
    }

    /// The trusted certificates.
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// How many certificates the store holds (never zero).
    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    /// Always false: an empty store cannot be built.
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }
}

/// Which roots verify a server's certificate.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum TrustRoots {
    /// The operating system's roots. The default.
    #[default]
    Platform,
    /// Only these roots (for D-Trust's server certificate, test CAs, pinning).
    Only(TrustStore),
    /// The operating system's roots plus these.
    PlatformPlus(TrustStore),
}
