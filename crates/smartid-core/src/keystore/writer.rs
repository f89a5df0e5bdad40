//! Adding trusted certificates to a Java truststore (JKS or PKCS#12), the
//! step "import the new CA certificate in the new cacerts file" of the
//! Identity Manager setup, so that the file works as
//! `-Djavax.net.ssl.trustStore`.
//!
//! Existing entries are kept byte for byte: a JKS file keeps every entry
//! record as it was (private keys included) and gets a new integrity digest;
//! a PKCS#12 file keeps every `ContentInfo` of its authenticated safe as it
//! was (encrypted key and certificate bags included) and gets one more,
//! holding the new certificate bags, and a new MAC. Nothing is decrypted, so
//! nothing can be dropped or re-encrypted differently.
//!
//! Each new PKCS#12 certificate bag carries a `friendlyName` (the alias) and
//! Oracle's trusted-key-usage attribute (2.16.840.1.113894.746875.1.1 with
//! `anyExtendedKeyUsage`): without it keytool does not list the certificate
//! as a `trustedCertEntry` and Java's `PKCS12KeyStore` does not trust it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::crypto::backend::{digest, hmac};

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::keystore::der::der_tlv;
use crate::keystore::{Keystore, KeystoreEntry, KeystoreFormat, io_error, jks};
use crate::secret::Secret;

/// An entry already in the file: its alias and, for a trusted certificate,
/// the certificate's DER.
type OldEntry = (Option<String>, Option<Vec<u8>>);

/// MAC iterations for PKCS#12 files written here (keytool's default).
const PKCS12_MAC_ITERATIONS: u32 = 10_000;

/// What [`KeystoreUpdate::write`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeystoreUpdateReport {
    /// The format of the file written.
    pub format: KeystoreFormat,
    /// Whether the file was created (it did not exist).
    pub created: bool,
    /// How many entries the file held before, all kept.
    pub kept_entries: usize,
    /// The aliases added, in order.
    pub added: Vec<String>,
    /// Whether the file has an integrity digest or MAC keyed with the
    /// password (always for JKS; for PKCS#12 when a password was given).
    pub integrity_protected: bool,
    /// New entries whose certificate the file already trusted, as (new
    /// alias, existing alias): added anyway, as keytool does when told to.
    pub already_trusted: Vec<(String, String)>,
}

/// Adds trusted-certificate entries to a JKS or PKCS#12 keystore, creating
/// it when missing, and writes it atomically (a temporary file in the same
/// folder, flushed to disk, renamed over the original, whose permissions it
/// keeps).
///
/// ```no_run
/// use smartid_core::{Certificate, KeystoreUpdate, Secret};
///
/// let pem = std::fs::read("new-ca.pem")?;
/// let ca = Certificate::all_from_pem(&pem, "new-ca.pem")?.remove(0);
/// let report = KeystoreUpdate::new("modified-cacerts")
///     .password(Secret::new("changeit"))
///     .add_trusted("new-ca", ca)
///     .write()?;
/// println!("added {:?}", report.added);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct KeystoreUpdate {
    path: PathBuf,
    password: Option<Secret>,
    format: Option<KeystoreFormat>,
    add: Vec<(String, Certificate)>,
}

impl KeystoreUpdate {
    /// An update of the keystore at `path` (which need not exist yet).
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_owned(),
            password: None,
            format: None,
            add: Vec::new(),
        }
    }

    /// The store password. Needed for JKS (its integrity digest is keyed
    /// with it) and for a PKCS#12 file with a MAC; without it a new PKCS#12
    /// file has no MAC (as the JDK 18+ password-less `cacerts`). An empty
    /// password counts as none for PKCS#12.
    pub fn password(mut self, password: Secret) -> Self {
        self.password = Some(password);
        self
    }

    /// The format: [`KeystoreFormat::Jks`] or [`KeystoreFormat::Pkcs12`].
    /// Defaults to the existing file's format, else PKCS#12. An existing
    /// file in another format is an error (it is never converted).
    pub fn format(mut self, format: KeystoreFormat) -> Self {
        self.format = Some(format);
        self
    }

    /// A certificate to add as a trusted entry under `alias`.
    pub fn add_trusted(mut self, alias: impl Into<String>, certificate: Certificate) -> Self {
        self.add.push((alias.into(), certificate));
        self
    }

    /// Reads the keystore (when it exists), checks the aliases and writes
    /// the result.
    ///
    /// # Errors
    /// [`Error::DuplicateAlias`] when an alias is taken (by the file or by
    /// two new entries); [`Error::PasswordRequired`] for a PKCS#12 file
    /// with a MAC and no password; [`Error::WrongPassword`];
    /// [`Error::KeystoreNotWritable`] for JKS without a password, when the
    /// file is in another format or
    /// uses a structure this writer cannot extend without changing it;
    /// [`Error::Io`] when the folder cannot be written.
    pub fn write(self) -> Result<KeystoreUpdateReport> {
        let source_name = self.path.display().to_string();
        // A symbolic link (the JDK's lib/security/cacerts often is one) is
        // followed: the file it points to is replaced, the link stays.
        let path = match std::fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                std::fs::canonicalize(&self.path).map_err(|e| io_error(&source_name, &e))?
            }
            _ => self.path.clone(),
        };
        let not_writable = |detail: String| Error::KeystoreNotWritable {
            source_name: source_name.clone(),
            detail,
        };
        if let Some(f) = self.format
            && f != KeystoreFormat::Jks
            && f != KeystoreFormat::Pkcs12
        {
            return Err(not_writable(format!(
                "{f} is not a keystore format this tool writes; choose jks or pkcs12"
            )));
        }
        if self.add.is_empty() {
            return Err(not_writable("no certificate to add".into()));
        }
        let existing = match std::fs::symlink_metadata(&path) {
            Ok(_) => Some(super::read_file(&path)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(&source_name, &e)),
        };
        let password = self.password.as_ref();
        // What the file holds: per entry the alias and, for a trusted
        // certificate, its DER. A JKS file is walked, its digest checked,
        // and nothing decrypted (a private key under another password than
        // the store's stays as it is); PKCS#12 is read by the reader.
        let (format, old): (KeystoreFormat, Vec<OldEntry>) = match &existing {
            Some(bytes) if bytes.starts_with(&jks::MAGIC_JKS) => {
                let Some(pw) = password else {
                    return Err(jks_needs_password(&source_name));
                };
                let layout = jks_layout(bytes, &source_name)?;
                let body_len = 12 + layout.records.len();
                if jks_digest(pw.expose_secret(), &bytes[..body_len]) != layout.digest {
                    return Err(Error::WrongPassword {
                        source_name: source_name.clone(),
                    });
                }
                let entries = layout
                    .entries
                    .into_iter()
                    .map(|(alias, der)| (Some(alias), der.map(<[u8]>::to_vec)))
                    .collect();
                (KeystoreFormat::Jks, entries)
            }
            Some(bytes) => {
                let ks = Keystore::from_bytes(bytes, &source_name, password)?;
                let entries = ks
                    .entries()
                    .iter()
                    .map(|e| match e {
                        KeystoreEntry::TrustedCertificate { alias, certificate } => {
                            (alias.clone(), Some(certificate.der().to_vec()))
                        }
                        KeystoreEntry::Identity(id) => (id.alias().map(str::to_owned), None),
                    })
                    .collect();
                (ks.format(), entries)
            }
            None => (self.format.unwrap_or(KeystoreFormat::Pkcs12), Vec::new()),
        };
        if format != KeystoreFormat::Jks && format != KeystoreFormat::Pkcs12 {
            return Err(not_writable(format!(
                "the file is {format}, not a JKS or PKCS#12 keystore; give a keystore path \
                 (a new one is created when missing)"
            )));
        }
        if let Some(wanted) = self.format
            && existing.is_some()
            && wanted != format
        {
            return Err(not_writable(format!(
                "the file is {format}, not {wanted}; leave out the format to keep it, or \
                 convert it with keytool -importkeystore"
            )));
        }
        let fold = |alias: &str| {
            if format == KeystoreFormat::Jks {
                alias.to_lowercase()
            } else {
                alias.to_owned()
            }
        };
        let mut taken: Vec<String> = old
            .iter()
            .filter_map(|(alias, _)| alias.as_deref())
            .map(str::to_lowercase)
            .collect();
        let mut new_entries = Vec::new();
        let mut already_trusted = Vec::new();
        for (alias, cert) in &self.add {
            let same = old.iter().find_map(|(old_alias, der)| {
                (der.as_deref() == Some(cert.der())).then(|| old_alias.clone().unwrap_or_default())
            });
            if let Some(old_alias) = same {
                already_trusted.push((fold(alias), old_alias));
            }
            let alias = fold(alias);
            if alias.is_empty() || alias.chars().any(|c| c == '\0' || u32::from(c) > 0xFFFF) {
                return Err(not_writable(format!(
                    "the alias {alias:?} is empty or has characters Java keystores cannot hold"
                )));
            }
            if taken.contains(&alias.to_lowercase()) {
                return Err(Error::DuplicateAlias {
                    source_name: source_name.clone(),
                    alias,
                });
            }
            taken.push(alias.to_lowercase());
            new_entries.push((alias, cert));
        }
        let password = password
            .map(Secret::expose_secret)
            .filter(|p| !(p.is_empty() && format == KeystoreFormat::Pkcs12));
        let bytes = match format {
            KeystoreFormat::Jks => {
                let Some(pw) = password else {
                    return Err(jks_needs_password(&source_name));
                };
                jks_with(existing.as_deref(), &new_entries, pw, &source_name)?
            }
            _ => {
                let had_mac = existing
                    .as_deref()
                    .is_some_and(crate::keystore::der::has_pfx_mac);
                if had_mac && password.is_none() {
                    return Err(Error::PasswordRequired {
                        source_name: source_name.clone(),
                    });
                }
                pkcs12_with(existing.as_deref(), &new_entries, password, &source_name)?
            }
        };
        // The result must read back with every old entry and the new ones.
        let kept = old.len();
        let reread = match format {
            KeystoreFormat::Jks => jks_layout(&bytes, &source_name)?.entries.len(),
            _ => Keystore::from_bytes(&bytes, &source_name, self.password.as_ref())?
                .entries()
                .len(),
        };
        if reread != kept + new_entries.len() {
            return Err(not_writable(
                "the updated keystore did not read back with every entry; nothing was written"
                    .into(),
            ));
        }
        write_atomically(&path, &bytes)?;
        Ok(KeystoreUpdateReport {
            format,
            created: existing.is_none(),
            kept_entries: kept,
            added: new_entries.into_iter().map(|(a, _)| a).collect(),
            integrity_protected: password.is_some(),
            already_trusted,
        })
    }
}

/// Writes `bytes` to a temporary file next to `path`, flushes it to disk,
/// gives it the original's permissions and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let source_name = path.display().to_string();
    let io = |e: std::io::Error| io_error(&source_name, &e);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keystore".into());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let temp = dir.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(io)?;
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions()).map_err(io)?;
        }
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        std::fs::rename(&temp, path).map_err(io)?;
        // Make the rename itself durable (best effort: not every platform
        // can open a directory).
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

// ---------------------------------------------------------------- JKS

fn jks_needs_password(source_name: &str) -> Error {
    Error::KeystoreNotWritable {
        source_name: source_name.to_owned(),
        detail: "a JKS keystore's integrity digest is keyed with the store password: pass the \
                 password (or write PKCS#12, which may go without one)"
            .into(),
    }
}

fn jks_damaged(source_name: &str) -> Error {
    Error::KeystoreNotWritable {
        source_name: source_name.to_owned(),
        detail: "the JKS structure could not be walked; nothing was written".into(),
    }
}

/// A JKS file's layout, walked without decrypting anything.
struct JksLayout<'a> {
    version: u32,
    count: u32,
    /// The bytes of all entry records.
    records: &'a [u8],
    /// The stored integrity digest (after the records).
    digest: &'a [u8],
    /// Per entry: the alias and, for a trusted certificate, its DER.
    entries: Vec<(String, Option<&'a [u8]>)>,
}

fn jks_layout<'a>(data: &'a [u8], source_name: &str) -> Result<JksLayout<'a>> {
    let damaged = || jks_damaged(source_name);
    let take = |pos: &mut usize, n: usize| -> Result<&'a [u8]> {
        let end = pos.checked_add(n).filter(|e| *e <= data.len());
        let end = end.ok_or_else(damaged)?;
        let out = data.get(*pos..end).ok_or_else(damaged)?;
        *pos = end;
        Ok(out)
    };
    let u32_at = |pos: &mut usize| -> Result<u32> {
        let b = take(pos, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let utf = |pos: &mut usize| -> Result<&'a [u8]> {
        let b = take(pos, 2)?;
        take(pos, u16::from_be_bytes([b[0], b[1]]) as usize)
    };
    let mut pos = 0;
    if take(&mut pos, 4)? != jks::MAGIC_JKS {
        return Err(damaged());
    }
    let version = u32_at(&mut pos)?;
    let count = u32_at(&mut pos)?;
    let start = pos;
    let cert = |pos: &mut usize| -> Result<&'a [u8]> {
        if version == 2 {
            utf(pos)?;
        }
        let n = u32_at(pos)? as usize;
        take(pos, n)
    };
    let mut entries = Vec::new();
    for _ in 0..count {
        let tag = u32_at(&mut pos)?;
        let alias = String::from_utf8_lossy(utf(&mut pos)?).into_owned();
        take(&mut pos, 8)?;
        match tag {
            1 => {
                let n = u32_at(&mut pos)? as usize;
                take(&mut pos, n)?;
                for _ in 0..u32_at(&mut pos)? {
                    cert(&mut pos)?;
                }
                entries.push((alias, None));
            }
            2 => {
                let der = cert(&mut pos)?;
                entries.push((alias, Some(der)));
            }
            _ => return Err(damaged()),
        }
    }
    let records = data.get(start..pos).ok_or_else(damaged)?;
    let digest = take(&mut pos, 20)?;
    Ok(JksLayout {
        version,
        count,
        records,
        digest,
        entries,
    })
}

/// The JKS integrity digest of `body` (everything before the digest).
fn jks_digest(password: &str, body: &[u8]) -> Vec<u8> {
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    let pw: zeroize::Zeroizing<Vec<u8>> = zeroize::Zeroizing::new(
        password
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect(),
    );
    ctx.update(&pw);
    ctx.update(b"Mighty Aphrodite");
    ctx.update(body);
    ctx.finish().as_ref().to_vec()
}

fn jks_with(
    existing: Option<&[u8]>,
    add: &[(String, &Certificate)],
    password: &str,
    source_name: &str,
) -> Result<Vec<u8>> {
    let (count, records) = match existing {
        Some(data) => {
            let JksLayout {
                version,
                count,
                records,
                ..
            } = jks_layout(data, source_name)?;
            if version != 2 {
                return Err(Error::KeystoreNotWritable {
                    source_name: source_name.to_owned(),
                    detail: format!(
                        "a JKS version {version} file; convert it with keytool -importkeystore \
                         -deststoretype pkcs12"
                    ),
                });
            }
            (count, records)
        }
        None => (0, &[][..]),
    };
    let added = u32::try_from(add.len()).map_err(|_| jks_damaged(source_name))?;
    let mut out = Vec::with_capacity(records.len() + 64 + add.len() * 2048);
    out.extend(jks::MAGIC_JKS);
    out.extend(2u32.to_be_bytes());
    out.extend(
        count
            .checked_add(added)
            .ok_or_else(|| jks_damaged(source_name))?
            .to_be_bytes(),
    );
    out.extend(records);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    for (alias, cert) in add {
        out.extend(2u32.to_be_bytes());
        let alias = alias.as_bytes();
        let alias_len = u16::try_from(alias.len()).map_err(|_| Error::KeystoreNotWritable {
            source_name: source_name.to_owned(),
            detail: "the alias is longer than 65535 bytes".into(),
        })?;
        out.extend(alias_len.to_be_bytes());
        out.extend(alias);
        out.extend(now.to_be_bytes());
        out.extend(5u16.to_be_bytes());
        out.extend(b"X.509");
        let der = cert.der();
        let der_len = u32::try_from(der.len()).map_err(|_| jks_damaged(source_name))?;
        out.extend(der_len.to_be_bytes());
        out.extend(der);
    }
    let digest = jks_digest(password, &out);
    out.extend(digest);
    Ok(out)
}

// ---------------------------------------------------------------- PKCS#12

/// DER encodes one TLV.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend(&bytes[skip..]);
    }
    out.extend(content);
    out
}

/// The DER content bytes of an object identifier given by its arcs.
fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut push = |mut v: u64| {
        let mut tmp = vec![(v & 0x7F) as u8];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | (v & 0x7F) as u8);
            v >>= 7;
        }
        out.extend(tmp.iter().rev());
    };
    if let [a, b, rest @ ..] = arcs {
        push(a * 40 + b);
        for arc in rest {
            push(*arc);
        }
    }
    out
}

const OID_DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 1];
const OID_CERT_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 3];
const OID_X509_CERT: &[u64] = &[1, 2, 840, 113549, 1, 9, 22, 1];
const OID_FRIENDLY_NAME: &[u64] = &[1, 2, 840, 113549, 1, 9, 20];
const OID_ORACLE_TRUSTED_KEY_USAGE: &[u64] = &[2, 16, 840, 1, 113894, 746875, 1, 1];
const OID_ANY_EXTENDED_KEY_USAGE: &[u64] = &[2, 5, 29, 37, 0];
const OID_SHA256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];

fn pkcs12_damaged(source_name: &str, what: &str) -> Error {
    Error::KeystoreNotWritable {
        source_name: source_name.to_owned(),
        detail: format!(
            "{what}; this tool only extends DER PKCS#12 files with a password-integrity \
             authenticated safe (as keytool and OpenSSL write them); use keytool -importcert"
        ),
    }
}

/// The contents (the `ContentInfo` elements, as bytes) of the authenticated
/// safe of a PFX.
fn pfx_safe_contents<'a>(data: &'a [u8], source_name: &str) -> Result<&'a [u8]> {
    let bad = |what: &str| pkcs12_damaged(source_name, what);
    let (0x30, pfx, _) = der_tlv(data).ok_or_else(|| bad("unreadable PFX"))? else {
        return Err(bad("the PFX is not a SEQUENCE"));
    };
    let (0x02, _, rest) = der_tlv(pfx).ok_or_else(|| bad("no version"))? else {
        return Err(bad("no version"));
    };
    let (0x30, content_info, _) = der_tlv(rest).ok_or_else(|| bad("no authSafe"))? else {
        return Err(bad("no authSafe"));
    };
    let (0x06, content_type, rest) = der_tlv(content_info).ok_or_else(|| bad("no content type"))?
    else {
        return Err(bad("no content type"));
    };
    if content_type != oid(OID_DATA) {
        return Err(bad(
            "the authenticated safe is signed (public-key integrity)",
        ));
    }
    let (0xA0, explicit, _) = der_tlv(rest).ok_or_else(|| bad("no content"))? else {
        return Err(bad("no content"));
    };
    let (0x04, safe, _) = der_tlv(explicit).ok_or_else(|| bad("BER-encoded content"))? else {
        return Err(bad("a constructed (BER) OCTET STRING"));
    };
    let (0x30, items, _) = der_tlv(safe).ok_or_else(|| bad("unreadable authenticated safe"))?
    else {
        return Err(bad("the authenticated safe is not a SEQUENCE"));
    };
    Ok(items)
}

fn cert_safe_bag(alias: &str, cert: &Certificate) -> Vec<u8> {
    let bmp: Vec<u8> = alias.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
    let friendly = tlv(
        0x30,
        &[
            tlv(0x06, &oid(OID_FRIENDLY_NAME)),
            tlv(0x31, &tlv(0x1E, &bmp)),
        ]
        .concat(),
    );
    let trusted = tlv(
        0x30,
        &[
            tlv(0x06, &oid(OID_ORACLE_TRUSTED_KEY_USAGE)),
            tlv(0x31, &tlv(0x06, &oid(OID_ANY_EXTENDED_KEY_USAGE))),
        ]
        .concat(),
    );
    // DER: the elements of a SET OF in ascending order of their encodings.
    let mut attributes = [friendly, trusted];
    attributes.sort();
    let cert_bag = tlv(
        0x30,
        &[
            tlv(0x06, &oid(OID_X509_CERT)),
            tlv(0xA0, &tlv(0x04, cert.der())),
        ]
        .concat(),
    );
    tlv(
        0x30,
        &[
            tlv(0x06, &oid(OID_CERT_BAG)),
            tlv(0xA0, &cert_bag),
            tlv(0x31, &attributes.concat()),
        ]
        .concat(),
    )
}

/// RFC 7292 appendix B.2 key derivation with SHA-256 (ID 3: MAC key), for
/// an output of one hash length.
fn pkcs12_mac_key(password: &str, salt: &[u8], iterations: u32) -> zeroize::Zeroizing<Vec<u8>> {
    const V: usize = 64;
    let mut pw: zeroize::Zeroizing<Vec<u8>> = zeroize::Zeroizing::new(
        password
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect(),
    );
    pw.extend([0, 0]);
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            return Vec::new();
        }
        let n = V * src.len().div_ceil(V);
        src.iter().copied().cycle().take(n).collect()
    };
    let mut input = zeroize::Zeroizing::new(vec![3u8; V]);
    input.extend(fill(salt));
    input.extend(fill(&pw).iter());
    let mut a = digest::digest(&digest::SHA256, &input).as_ref().to_vec();
    for _ in 1..iterations {
        a = digest::digest(&digest::SHA256, &a).as_ref().to_vec();
    }
    zeroize::Zeroizing::new(a)
}

fn pkcs12_with(
    existing: Option<&[u8]>,
    add: &[(String, &Certificate)],
    password: Option<&str>,
    source_name: &str,
) -> Result<Vec<u8>> {
    let kept = match existing {
        Some(data) => pfx_safe_contents(data, source_name)?,
        None => &[],
    };
    let bags: Vec<u8> = add
        .iter()
        .flat_map(|(alias, cert)| cert_safe_bag(alias, cert))
        .collect();
    let new_info = tlv(
        0x30,
        &[
            tlv(0x06, &oid(OID_DATA)),
            tlv(0xA0, &tlv(0x04, &tlv(0x30, &bags))),
        ]
        .concat(),
    );
    let auth_safe = tlv(0x30, &[kept, &new_info].concat());
    let content_info = tlv(
        0x30,
        &[tlv(0x06, &oid(OID_DATA)), tlv(0xA0, &tlv(0x04, &auth_safe))].concat(),
    );
    let mut pfx = [tlv(0x02, &[3]), content_info].concat();
    if let Some(pw) = password {
        let mut salt = [0u8; 20];
        if !crate::crypto::fill_random(&mut salt) {
            return Err(Error::KeystoreNotWritable {
                source_name: source_name.to_owned(),
                detail: "no random bytes for the MAC salt".into(),
            });
        }
        let key = pkcs12_mac_key(pw, &salt, PKCS12_MAC_ITERATIONS);
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), &auth_safe);
        let digest_info = tlv(
            0x30,
            &[
                tlv(
                    0x30,
                    &[tlv(0x06, &oid(OID_SHA256)), tlv(0x05, &[])].concat(),
                ),
                tlv(0x04, tag.as_ref()),
            ]
            .concat(),
        );
        let iterations = PKCS12_MAC_ITERATIONS.to_be_bytes();
        let skip = iterations.iter().take_while(|b| **b == 0).count();
        let mut int = iterations[skip..].to_vec();
        if int.first().is_some_and(|b| b & 0x80 != 0) {
            int.insert(0, 0);
        }
        pfx.extend(tlv(
            0x30,
            &[digest_info, tlv(0x04, &salt), tlv(0x02, &int)].concat(),
        ));
    }
    Ok(tlv(0x30, &pfx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_encode_as_in_the_standards() {
        assert_eq!(
            oid(OID_DATA),
            [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01]
        );
        assert_eq!(
            oid(OID_ORACLE_TRUSTED_KEY_USAGE),
            [
                0x60, 0x86, 0x48, 0x01, 0x86, 0xF9, 0x66, 0xAD, 0xCA, 0x7B, 0x01, 0x01
            ]
        );
        assert_eq!(oid(OID_ANY_EXTENDED_KEY_USAGE), [0x55, 0x1D, 0x25, 0x00]);
    }

    #[test]
    fn long_lengths_encode_minimally() {
        assert_eq!(tlv(0x04, &[0; 0x80])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(tlv(0x04, &[0; 0x100])[..4], [0x04, 0x82, 0x01, 0x00]);
    }

    #[test]
    fn hostile_jks_structures_are_refused_not_panicked_on() {
        let mut data = jks::MAGIC_JKS.to_vec();
        data.extend(2u32.to_be_bytes());
        data.extend(u32::MAX.to_be_bytes());
        for n in 0..data.len() {
            assert!(jks_layout(&data[..n], "t").is_err());
        }
        assert!(jks_layout(&data, "t").is_err());
    }

    #[test]
    fn hostile_pfx_structures_are_refused_not_panicked_on() {
        let cases: [&[u8]; 4] = [&[], &[0x30, 0x00], &[0x30, 0x03, 0x02, 0x01, 0x03], &[0x04]];
        for case in cases {
            assert!(pfx_safe_contents(case, "t").is_err());
        }
    }
}
