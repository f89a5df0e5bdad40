//! Keystores: any file (or directory) of certificates and keys, recognised by
//! content, not by file name.

pub(crate) mod der;
pub use der::der_tlv;
pub(crate) mod jks;
pub(crate) mod key;
pub(crate) mod pem;
pub(crate) mod pkcs12;
mod writer;
pub use writer::{KeystoreUpdate, KeystoreUpdateReport};

use std::fmt;
use std::path::Path;

use rustls_pki_types::pem::SectionKind;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::identity::ClientIdentity;
use crate::secret::Secret;
use key::{KeyEncoding, PrivateKey};

/// Files larger than this are refused before parsing.
pub(crate) const MAX_KEYSTORE_BYTES: u64 = 32 * 1024 * 1024;

/// The format a keystore was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeystoreFormat {
    /// PEM text: certificates, possibly with a private key.
    Pem,
    /// One DER-encoded X.509 certificate (a binary `.cer`/`.crt`).
    Der,
    /// PKCS#12 (`.p12`, `.pfx`, modern `cacerts`).
    Pkcs12,
    /// Java JKS (classic `cacerts`, older keytool keystores).
    Jks,
    /// A directory of certificate files.
    Directory,
}

impl fmt::Display for KeystoreFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pem => "PEM",
            Self::Der => "DER certificate",
            Self::Pkcs12 => "PKCS#12",
            Self::Jks => "JKS",
            Self::Directory => "directory",
        })
    }
}

/// Whether a keystore's contents were checked against tampering when it was
/// loaded.
///
/// JKS files carry a password-keyed digest over the whole file, and PKCS#12
/// files usually a password-keyed MAC: both are checked only when the
/// password is given. Java loads a JKS truststore without a password too
/// (`-Djavax.net.ssl.trustStorePassword` unset) and then skips the check, as
/// this library does; pass the password where it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Integrity {
    /// The digest or MAC was verified with the password given.
    Verified,
    /// The format can carry a digest or MAC but it was not checked: a JKS
    /// file loaded without its password, or a PKCS#12 file without a MAC
    /// (such as the password-less JDK 18+ `cacerts`). Anyone who could write
    /// the file could have changed it unnoticed.
    NotChecked,
    /// The format has no integrity protection of its own (PEM, DER); trust
    /// rests on who can write the file.
    NotInFormat,
}

impl Integrity {
    /// The weaker of two: for a store assembled from several sources.
    pub fn weakest(self, other: Self) -> Self {
        use Integrity::*;
        match (self, other) {
            (NotChecked, _) | (_, NotChecked) => NotChecked,
            (NotInFormat, _) | (_, NotInFormat) => NotInFormat,
            _ => Verified,
        }
    }
}

impl fmt::Display for Integrity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Verified => "verified with the password",
            Self::NotChecked => "not checked (no password given, or no MAC in the file)",
            Self::NotInFormat => "none in this format",
        })
    }
}

/// One entry of a [`Keystore`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeystoreEntry {
    /// A certificate to trust.
    TrustedCertificate {
        /// The alias (friendly name), when the format has one.
        alias: Option<String>,
        /// The certificate.
        certificate: Certificate,
    },
    /// A private key with its certificate chain.
    Identity(IdentityEntry),
}

/// A private key with its certificate chain, as found in a keystore.
#[derive(Clone)]
pub struct IdentityEntry {
    alias: Option<String>,
    chain: Vec<Certificate>,
    key: PrivateKey,
    key_matches: bool,
    source_name: String,
}

impl fmt::Debug for IdentityEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityEntry")
            .field("alias", &self.alias)
            .field("chain", &self.chain)
            .field("key", &"[redacted]")
            .field("key_matches", &self.key_matches)
            .finish()
    }
}

impl IdentityEntry {
    /// The alias (friendly name), when the format has one.
    pub fn alias(&self) -> Option<&str> {
        self.alias.as_deref()
    }

    /// The chain, leaf first. Empty when the key has no certificate.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// Whether the private key is the key of the leaf certificate.
    pub fn key_matches(&self) -> bool {
        self.key_matches
    }

    /// Turns the entry into a client identity for mutual TLS.
    ///
    /// # Errors
    /// [`Error::KeyMismatch`] when the key is not the leaf's key,
    /// [`Error::NoIdentity`] when there is no certificate.
    pub fn into_client_identity(self) -> Result<ClientIdentity> {
        let Some(leaf) = self.chain.first() else {
            return Err(Error::NoIdentity {
                source_name: self.source_name,
            });
        };
        if !self.key_matches {
            return Err(Error::KeyMismatch {
                source_name: self.source_name,
                subject: leaf.subject().to_owned(),
            });
        }
        Ok(ClientIdentity::from_parts(
            self.chain,
            self.key,
            self.source_name,
        ))
    }
}

/// The certificates and keys of one file or directory.
///
/// ```no_run
/// use smartid_core::{Keystore, KeystoreEntry, Secret};
///
/// let ks = Keystore::open("cacerts", Some(&Secret::new("changeit")))?;
/// for entry in ks.entries() {
///     if let KeystoreEntry::TrustedCertificate { certificate, .. } = entry {
///         println!("{}", certificate.subject());
///     }
/// }
/// # Ok::<(), smartid_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Keystore {
    source_name: String,
    format: KeystoreFormat,
    integrity: Integrity,
    entries: Vec<KeystoreEntry>,
}

impl Keystore {
    /// Loads a PEM file, DER certificate, PKCS#12 file, JKS keystore or a
    /// directory of such files (not recursive; files that are no keystore
    /// are skipped). The format is recognised from the content.
    ///
    /// `password` is needed for PKCS#12 files with a MAC and for keys in JKS
    /// files; without one, JKS integrity is not checked (as Java does) and
    /// password-less PKCS#12 files (the JDK 18+ `cacerts`) load.
    ///
    /// # Errors
    /// [`Error::FileNotFound`], [`Error::WrongPassword`],
    /// [`Error::PasswordRequired`], [`Error::UnsupportedFormat`],
    /// [`Error::NotACertificate`] and others, each naming the file.
    pub fn open(path: impl AsRef<Path>, password: Option<&Secret>) -> Result<Self> {
        let path = path.as_ref();
        let source_name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| io_error(&source_name, &e))?;
        if meta.is_dir() {
            return Self::open_dir(path, password);
        }
        let bytes = read_file(path)?;
        Self::from_bytes(&bytes, &source_name, password)
    }

    fn open_dir(path: &Path, password: Option<&Secret>) -> Result<Self> {
        let source_name = path.display().to_string();
        let mut files = std::fs::read_dir(path)
            .map_err(|e| io_error(&source_name, &e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect::<Vec<_>>();
        files.sort();
        let mut entries = Vec::new();
        let mut integrity = Integrity::Verified;
        let mut any = false;
        for file in files {
            match Self::open(&file, password) {
                Ok(ks) => {
                    integrity = integrity.weakest(ks.integrity);
                    any = true;
                    entries.extend(ks.entries);
                }
                Err(Error::UnsupportedFormat { .. } | Error::NotACertificate { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Self {
            source_name,
            format: KeystoreFormat::Directory,
            integrity: if any {
                integrity
            } else {
                Integrity::NotInFormat
            },
            entries,
        })
    }

    /// Parses a keystore held in memory. `source_name` names it in errors.
    ///
    /// # Errors
    /// As [`Keystore::open`].
    pub fn from_bytes(bytes: &[u8], source_name: &str, password: Option<&Secret>) -> Result<Self> {
        let password = password.map(Secret::expose_secret);
        let unsupported = |detail: &str| Error::UnsupportedFormat {
            source_name: source_name.to_owned(),
            detail: detail.to_owned(),
        };
        if bytes.is_empty() {
            return Err(unsupported("the file is empty"));
        }
        let (format, integrity, entries) = if bytes.starts_with(&jks::MAGIC_JKS) {
            let integrity = if password.is_some() {
                Integrity::Verified
            } else {
                Integrity::NotChecked
            };
            (
                KeystoreFormat::Jks,
                integrity,
                from_jks(bytes, password, source_name)?,
            )
        } else if bytes.starts_with(&jks::MAGIC_JCEKS) {
            return Err(unsupported(
                "a JCEKS keystore; convert it with keytool -importkeystore -deststoretype pkcs12",
            ));
        } else if pem::looks_like_pem(bytes) {
            (
                KeystoreFormat::Pem,
                Integrity::NotInFormat,
                from_pem(bytes, source_name)?,
            )
        } else if der::looks_like_pfx(bytes) {
            let (keys, certs) = pkcs12::parse(bytes, password, source_name)?;
            // p12-keystore verifies a MAC whenever the file has one (a wrong
            // or missing password fails above).
            let integrity = if der::has_pfx_mac(bytes) {
                Integrity::Verified
            } else {
                Integrity::NotChecked
            };
            (
                KeystoreFormat::Pkcs12,
                integrity,
                assemble(keys, certs, source_name)?,
            )
        } else if bytes.first() == Some(&0x30) {
            let cert = Certificate::from_der(bytes, source_name).map_err(|_| {
                unsupported("binary DER data that is neither an X.509 certificate nor PKCS#12")
            })?;
            (
                KeystoreFormat::Der,
                Integrity::NotInFormat,
                vec![KeystoreEntry::TrustedCertificate {
                    alias: None,
                    certificate: cert,
                }],
            )
        } else {
            return Err(unsupported(
                "no PEM header, no DER structure, no JKS magic number",
            ));
        };
        Ok(Self {
            source_name: source_name.to_owned(),
            format,
            integrity,
            entries,
        })
    }

    /// Where the keystore came from.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// The recognised format.
    pub fn format(&self) -> KeystoreFormat {
        self.format
    }

    /// Whether the contents were checked against tampering (see [`Integrity`]).
    pub fn integrity(&self) -> Integrity {
        self.integrity
    }

    /// All entries, in file order.
    pub fn entries(&self) -> &[KeystoreEntry] {
        &self.entries
    }

    /// The trusted certificates (not the chains of identities).
    pub fn trusted_certificates(&self) -> impl Iterator<Item = &Certificate> {
        self.entries.iter().filter_map(|e| match e {
            KeystoreEntry::TrustedCertificate { certificate, .. } => Some(certificate),
            KeystoreEntry::Identity(_) => None,
        })
    }

    /// The identities (keys with chains).
    pub fn identities(&self) -> impl Iterator<Item = &IdentityEntry> {
        self.entries.iter().filter_map(|e| match e {
            KeystoreEntry::Identity(id) => Some(id),
            KeystoreEntry::TrustedCertificate { .. } => None,
        })
    }
}

pub(crate) fn io_error(source_name: &str, e: &std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::FileNotFound {
            source_name: source_name.to_owned(),
            cwd: std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| "the working directory".into()),
        }
    } else {
        Error::Io {
            source_name: source_name.to_owned(),
            message: e.to_string(),
        }
    }
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    crate::fs::read_regular_file(path, MAX_KEYSTORE_BYTES)
}

fn from_jks(bytes: &[u8], password: Option<&str>, source_name: &str) -> Result<Vec<KeystoreEntry>> {
    let mut keys = Vec::new();
    let mut certs = Vec::new();
    for entry in jks::parse(bytes, password, source_name)? {
        match entry {
            jks::JksEntry::Trusted { alias, cert_der } => certs.push(pkcs12::RawCert {
                alias: Some(alias),
                local_key_id: None,
                cert: Certificate::from_der(&cert_der, source_name)?,
            }),
            jks::JksEntry::Key {
                alias,
                key,
                chain_der,
            } => {
                let chain = chain_der
                    .iter()
                    .map(|der| Certificate::from_der(der, source_name))
                    .collect::<Result<Vec<_>>>()?;
                let key_matches = match chain.first() {
                    Some(leaf) => key.matches(leaf).map_err(|detail| Error::InvalidKey {
                        source_name: source_name.to_owned(),
                        detail,
                    })?,
                    None => false,
                };
                keys.push(KeystoreEntry::Identity(IdentityEntry {
                    alias: Some(alias),
                    chain,
                    key,
                    key_matches,
                    source_name: source_name.to_owned(),
                }));
            }
        }
    }
    keys.extend(
        certs
            .into_iter()
            .map(|c| KeystoreEntry::TrustedCertificate {
                alias: c.alias,
                certificate: c.cert,
            }),
    );
    Ok(keys)
}

fn from_pem(bytes: &[u8], source_name: &str) -> Result<Vec<KeystoreEntry>> {
    let mut keys = Vec::new();
    let mut certs = Vec::new();
    for block in pem::parse_blocks(bytes, source_name)? {
        let encoding = match block.kind {
            SectionKind::Certificate => {
                certs.push(pkcs12::RawCert {
                    alias: None,
                    local_key_id: None,
                    cert: Certificate::from_der(&block.der, source_name)?,
                });
                continue;
            }
            SectionKind::PrivateKey => KeyEncoding::Pkcs8,
            SectionKind::RsaPrivateKey => KeyEncoding::Pkcs1,
            SectionKind::EcPrivateKey => KeyEncoding::Sec1,
            _ => continue,
        };
        keys.push(pkcs12::RawKey {
            alias: None,
            local_key_id: None,
            key: PrivateKey {
                der: crate::secret::SecretBytes::new(block.der),
                encoding,
            },
        });
    }
    if keys.is_empty() && certs.is_empty() {
        return Err(Error::NotACertificate {
            source_name: source_name.to_owned(),
            detail: "the PEM text has no CERTIFICATE or PRIVATE KEY block".into(),
        });
    }
    assemble(keys, certs, source_name)
}

/// Links keys to their certificates (by local key id, else by public key),
/// builds chains by issuer name, and lists every other certificate as trusted.
fn assemble(
    keys: Vec<pkcs12::RawKey>,
    certs: Vec<pkcs12::RawCert>,
    source_name: &str,
) -> Result<Vec<KeystoreEntry>> {
    let mut used = vec![false; certs.len()];
    let mut entries = Vec::new();
    for raw in keys {
        let by_id = raw.local_key_id.as_ref().and_then(|id| {
            certs
                .iter()
                .position(|c| c.local_key_id.as_ref() == Some(id))
        });
        let leaf_index = match by_id {
            Some(i) => Some(i),
            None => {
                let mut found = None;
                for (i, c) in certs.iter().enumerate() {
                    if raw
                        .key
                        .matches(&c.cert)
                        .map_err(|detail| Error::InvalidKey {
                            source_name: source_name.to_owned(),
                            detail,
                        })?
                    {
                        found = Some(i);
                        break;
                    }
                }
                // No certificate carries this key: take the first end-entity
                // certificate as the intended leaf, so that the mismatch is reported.
                found
                    .or_else(|| certs.iter().position(|c| !c.cert.is_ca()))
                    .or(if certs.is_empty() { None } else { Some(0) })
            }
        };
        let mut chain = Vec::new();
        if let Some(mut i) = leaf_index {
            loop {
                used[i] = true;
                chain.push(certs[i].cert.clone());
                let current = &certs[i].cert;
                if current.subject() == current.issuer() {
                    break;
                }
                let next = certs
                    .iter()
                    .enumerate()
                    .position(|(j, c)| !used[j] && c.cert.subject() == current.issuer());
                match next {
                    Some(j) => i = j,
                    None => break,
                }
            }
        }
        let key_matches = match chain.first() {
            Some(leaf) => raw.key.matches(leaf).map_err(|detail| Error::InvalidKey {
                source_name: source_name.to_owned(),
                detail,
            })?,
            None => false,
        };
        let alias = raw
            .alias
            .or_else(|| leaf_index.and_then(|i| certs[i].alias.clone()));
        entries.push(KeystoreEntry::Identity(IdentityEntry {
            alias,
            chain,
            key: raw.key,
            key_matches,
            source_name: source_name.to_owned(),
        }));
    }
    for (c, used) in certs.into_iter().zip(used) {
        if !used {
            entries.push(KeystoreEntry::TrustedCertificate {
                alias: c.alias,
                certificate: c.cert,
            });
        }
    }
    Ok(entries)
}
