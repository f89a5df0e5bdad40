//! The zip bundle uploaded to Identity Manager Admin for the D-Trust
//! connector: the properties file, the client PKCS#12 and the D-Trust
//! server `.cer`. Read with size limits, checked, and written from parts.

use std::fmt;
use std::io::{Cursor, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use smartid_core::{Certificate, ClientIdentity, Secret};

use crate::checked::Checked;
use crate::diagnostic::{Code, Diagnostic};
use crate::dtrust::{CheckOptions, DtrustConnectorConfig, keys};
use crate::error::{Error, Result};
use crate::properties::{PropertiesFile, ReadEncoding};

/// Limits applied when reading a zip, against zip bombs and wrong uploads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ZipLimits {
    /// Most entries (files and folders). Defaults to 32.
    pub max_entries: usize,
    /// Most bytes of one entry once uncompressed. Defaults to 4 MiB.
    pub max_entry_bytes: u64,
    /// Most bytes of all entries once uncompressed. Defaults to 16 MiB.
    pub max_total_bytes: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self {
            max_entries: 32,
            max_entry_bytes: 4 << 20,
            max_total_bytes: 16 << 20,
        }
    }
}

impl ZipLimits {
    /// Sets the most entries.
    pub fn max_entries(mut self, n: usize) -> Self {
        self.max_entries = n;
        self
    }

    /// Sets the most bytes of one entry.
    pub fn max_entry_bytes(mut self, n: u64) -> Self {
        self.max_entry_bytes = n;
        self
    }

    /// Sets the most bytes of all entries.
    pub fn max_total_bytes(mut self, n: u64) -> Self {
        self.max_total_bytes = n;
        self
    }
}

/// A D-Trust connector bundle: the zip's files, in archive order.
///
/// ```
/// use idm_config::{DtrustBundle, PropertiesFile};
///
/// let props = PropertiesFile::parse(b"certificateTemplates=Advanced SSL ID (RSA)\n", "dtrust.properties");
/// let bundle = DtrustBundle::from_parts(&props, vec![("client.p12".into(), vec![1, 2, 3])])?;
/// let zip = bundle.to_zip()?;
/// let again = DtrustBundle::read(&zip, "upload.zip")?;
/// assert_eq!(again.file("client.p12"), Some(&[1u8, 2, 3][..]));
/// # Ok::<(), idm_config::Error>(())
/// ```
#[derive(Clone)]
pub struct DtrustBundle {
    source_name: String,
    entries: Vec<(String, Vec<u8>)>,
}

impl fmt::Debug for DtrustBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtrustBundle")
            .field("source", &self.source_name)
            .field(
                "entries",
                &self
                    .entries
                    .iter()
                    .map(|(n, b)| (n, b.len()))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Checks a zip entry name: relative, no `..`, no drive, no backslash, no NUL.
fn check_entry_name(name: &str, source_name: &str) -> Result<()> {
    let unsafe_name = || Error::UnsafeEntryName {
        source_name: source_name.to_owned(),
        entry: name.escape_debug().to_string(),
    };
    if name.is_empty()
        || name.starts_with('/')
        || name.contains(['\\', '\0'])
        || name.as_bytes().get(1) == Some(&b':')
    {
        return Err(unsafe_name());
    }
    for component in Path::new(name).components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            _ => return Err(unsafe_name()),
        }
    }
    if name.split('/').any(|c| c == "..") {
        return Err(unsafe_name());
    }
    Ok(())
}

fn too_big(source_name: &str, len: u64, limits: &ZipLimits) -> Error {
    Error::ZipLimit {
        source_name: source_name.to_owned(),
        message: format!(
            "the archive is {len} bytes, more than the limit of {} bytes",
            limits.max_total_bytes
        ),
    }
}

fn zip_error(source_name: &str, e: impl fmt::Display) -> Error {
    Error::Zip {
        source_name: source_name.to_owned(),
        message: e.to_string(),
    }
}

impl DtrustBundle {
    /// Reads a zip held in memory with the default [`ZipLimits`].
    ///
    /// # Errors
    /// [`Error::Zip`] for a damaged or truncated archive or an encrypted
    /// entry, [`Error::UnsafeEntryName`] for absolute or `..` names,
    /// [`Error::ZipLimit`] when a limit is exceeded.
    pub fn read(bytes: &[u8], source_name: &str) -> Result<Self> {
        Self::read_with_limits(bytes, source_name, &ZipLimits::default())
    }

    /// Reads a zip file with the default [`ZipLimits`].
    ///
    /// # Errors
    /// As [`DtrustBundle::open_with_limits`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_limits(path, &ZipLimits::default())
    }

    /// Reads a zip file: only a regular file (no FIFO, device or
    /// directory), at most `limits.max_total_bytes` of it.
    ///
    /// # Errors
    /// [`Error::Http`] when the file cannot be read, is not a regular file
    /// or is larger than the limit, else as [`DtrustBundle::read`].
    pub fn open_with_limits(path: impl AsRef<Path>, limits: &ZipLimits) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = smartid_core::read_regular_file(path, limits.max_total_bytes)?;
        Self::read_with_limits(&bytes, &name, limits)
    }

    /// Reads a zip held in memory. Sizes are counted while decompressing,
    /// never taken from the headers.
    ///
    /// # Errors
    /// As [`DtrustBundle::read`].
    pub fn read_with_limits(bytes: &[u8], source_name: &str, limits: &ZipLimits) -> Result<Self> {
        if bytes.len() as u64 > limits.max_total_bytes {
            return Err(too_big(source_name, bytes.len() as u64, limits));
        }
        let mut archive =
            zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| zip_error(source_name, e))?;
        if archive.len() > limits.max_entries {
            return Err(Error::ZipLimit {
                source_name: source_name.to_owned(),
                message: format!(
                    "{} entries, more than the limit of {}",
                    archive.len(),
                    limits.max_entries
                ),
            });
        }
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        let mut total: u64 = 0;
        for index in 0..archive.len() {
            let mut file = archive
                .by_index(index)
                .map_err(|e| zip_error(source_name, e))?;
            let name = String::from_utf8_lossy(file.name_raw()).into_owned();
            check_entry_name(&name, source_name)?;
            if file.is_dir() {
                continue;
            }
            if file.encrypted() {
                return Err(zip_error(
                    source_name,
                    format!("entry `{name}` is encrypted; zip it without a password"),
                ));
            }
            if entries.iter().any(|(n, _)| *n == name) {
                return Err(zip_error(
                    source_name,
                    format!("entry `{name}` appears twice"),
                ));
            }
            let allowed = limits
                .max_entry_bytes
                .min(limits.max_total_bytes.saturating_sub(total));
            let mut data = Vec::new();
            (&mut file)
                .take(allowed.saturating_add(1))
                .read_to_end(&mut data)
                .map_err(|e| zip_error(source_name, format!("entry `{name}`: {e}")))?;
            let len = data.len() as u64;
            if len > allowed {
                return Err(Error::ZipLimit {
                    source_name: source_name.to_owned(),
                    message: format!(
                        "entry `{name}` expands beyond the limit ({} bytes per entry, {} in total): refusing a possible zip bomb",
                        limits.max_entry_bytes, limits.max_total_bytes
                    ),
                });
            }
            total += len;
            entries.push((name, data));
        }
        Ok(Self {
            source_name: source_name.to_owned(),
            entries,
        })
    }

    /// Builds a bundle from a properties file (stored under its name) and
    /// other files (the PKCS#12 and the `.cer`).
    ///
    /// # Errors
    /// [`Error::UnsafeEntryName`] when a name is not a plain file name.
    pub fn from_parts(properties: &PropertiesFile, files: Vec<(String, Vec<u8>)>) -> Result<Self> {
        let mut entries = vec![(properties.name().to_owned(), properties.to_bytes())];
        entries.extend(files);
        for (name, _) in &entries {
            if !crate::dtrust::is_plain_file_name(name) {
                return Err(Error::UnsafeEntryName {
                    source_name: "bundle".to_owned(),
                    entry: name.clone(),
                });
            }
        }
        Ok(Self {
            source_name: "bundle".to_owned(),
            entries,
        })
    }

    /// The name given when reading.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Entry names, in archive order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    /// An entry's bytes.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }

    /// The entries that hold the properties: those named `.properties`,
    /// or, when none is, the text entries (found by content).
    fn properties_entries(&self) -> Vec<&(String, Vec<u8>)> {
        let named: Vec<_> = self
            .entries
            .iter()
            .filter(|(n, _)| n.to_ascii_lowercase().ends_with(".properties"))
            .collect();
        if !named.is_empty() {
            return named;
        }
        self.entries
            .iter()
            .filter(|(n, b)| content_kind(n, b) == ContentKind::Text)
            .collect()
    }

    /// The bundle's properties file (the first `.properties` entry), named
    /// `ZIP!ENTRY` in diagnostics, read with [`ReadEncoding::Detect`].
    pub fn properties(&self) -> Option<PropertiesFile> {
        self.properties_with(ReadEncoding::Detect)
    }

    /// The bundle's properties file, decoded as `encoding` says.
    pub fn properties_with(&self, encoding: ReadEncoding) -> Option<PropertiesFile> {
        self.properties_entries().first().map(|(n, b)| {
            PropertiesFile::parse_with(b, &format!("{}!{n}", self.source_name), encoding)
        })
    }

    /// The zip as bytes (deflate).
    ///
    /// # Errors
    /// [`Error::Zip`] if the archive cannot be built.
    pub fn to_zip(&self) -> Result<Vec<u8>> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in &self.entries {
            writer
                .start_file(name.as_str(), options)
                .map_err(|e| zip_error(name, e))?;
            writer.write_all(data).map_err(|e| zip_error(name, e))?;
        }
        let cursor = writer.finish().map_err(|e| zip_error("bundle", e))?;
        Ok(cursor.into_inner())
    }

    /// Writes the zip to a new file, atomically: the bytes go to a
    /// temporary file in the same directory, which is then linked into
    /// place only if `path` does not exist yet. A failed or interrupted run
    /// leaves no file at `path`, so it can simply be retried.
    ///
    /// # Errors
    /// [`Error::UnsafeTarget`] when the file exists, [`Error::Io`].
    pub fn write_zip(&self, path: impl AsRef<Path>) -> Result<()> {
        let bytes = self.to_zip()?;
        let path = path.as_ref();
        let parent = parent_dir(path);
        let (tmp, mut file) = create_temp(&parent, |p| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(p)
        })?;
        let staged = file
            .write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error(path, &e));
        drop(file);
        let result = staged.and_then(|()| publish(&tmp, path, false));
        // After a successful hard link the temporary name is only a second
        // name; after a failure it is the partial output. Either way it goes.
        let _ = std::fs::remove_file(&tmp);
        result
    }

    /// Extracts every entry into `dir`, a new directory created by this
    /// call, and returns the paths written. The files are written into a
    /// temporary directory next to `dir`, which is renamed to `dir` once
    /// everything is on disk: `dir` appears complete or not at all, and a
    /// failed run leaves nothing that blocks a retry. Nothing is written
    /// outside it, and entries in sub-folders are refused.
    ///
    /// # Errors
    /// [`Error::UnsafeEntryName`], [`Error::UnsafeTarget`] when `dir`
    /// exists, [`Error::Io`].
    pub fn extract_to(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        for (name, _) in &self.entries {
            check_entry_name(name, &self.source_name)?;
            if !crate::dtrust::is_plain_file_name(name) {
                return Err(Error::UnsafeEntryName {
                    source_name: self.source_name.clone(),
                    entry: name.clone(),
                });
            }
        }
        if std::fs::symlink_metadata(dir).is_ok() {
            return Err(already_exists(dir));
        }
        let parent = parent_dir(dir);
        let (tmp, ()) = create_temp(&parent, |p| std::fs::create_dir(p))?;
        let staged = self
            .entries
            .iter()
            .try_for_each(|(name, data)| write_new(&tmp.join(name), data));
        let result = staged.and_then(|()| publish(&tmp, dir, true));
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result?;
        Ok(self.entries.iter().map(|(n, _)| dir.join(n)).collect())
    }

    /// Checks the bundle: the properties file (every D-Trust rule), the
    /// client PKCS#12 and the D-Trust server certificate, that the PKCS#12
    /// opens with `p12Password` and holds a key matching its certificate,
    /// certificate expiry (warning 30 days before), and files nothing
    /// refers to.
    ///
    /// The files are found by their content, whatever they are called
    /// (e.g. the seed's `CSMWM447922870184925_neXus_Technology_GmbH_2015_SSL.p12`
    /// and `D-TRUST_SSL_Class_3_CA_1_2009.cer`): a PKCS#12, a certificate
    /// (DER or PEM), and the properties (the `.properties` entry, or the
    /// one text file). A file name key (`p12File`, `serverCertificate` or
    /// an alias) is optional; when present it must name a file in the zip.
    /// The returned configuration has `p12_file` and `server_certificate`
    /// set to the files used.
    pub fn check(&self, options: &CheckOptions) -> Checked<Option<DtrustConnectorConfig>> {
        let mut out = Vec::new();
        let props = self.properties_entries();
        let Some((props_name, _)) = props.first() else {
            out.push(Diagnostic::error(
                &self.source_name,
                None,
                Code::BundleNoProperties,
                format!(
                    "no .properties file in the zip (found: {}); add the D-Trust connector properties file",
                    self.names().collect::<Vec<_>>().join(", ")
                ),
            ));
            return Checked::new(None, out);
        };
        if props.len() > 1 {
            out.push(Diagnostic::error(
                &self.source_name,
                None,
                Code::BundleSeveralProperties,
                format!(
                    "{} properties files in the zip ({}); keep only the D-Trust connector's (Nexus_CM.properties belongs to the Certificate Manager connector)",
                    props.len(),
                    props.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let Some(file) = self.properties_with(options.properties_encoding) else {
            return Checked::new(None, out);
        };
        let checked = DtrustConnectorConfig::from_properties(&file, options);
        out.extend(checked.diagnostics);
        let mut config = checked.value;
        let mut referenced = vec![props_name.clone()];

        let p12 = self.locate(
            &file,
            keys::P12_FILE_ALIASES,
            config.p12_file.as_deref(),
            ContentKind::Pkcs12,
            &mut out,
        );
        if let Some((p12_name, bytes)) = p12 {
            referenced.push(p12_name.to_owned());
            self.check_p12(
                &file,
                p12_name,
                bytes,
                &config.p12_password,
                options,
                &mut out,
            );
            config.p12_file = Some(p12_name.to_owned());
        }
        let cer = self.locate(
            &file,
            keys::SERVER_CERTIFICATE_ALIASES,
            config.server_certificate.as_deref(),
            ContentKind::Certificate,
            &mut out,
        );
        if let Some((cer_name, bytes)) = cer {
            referenced.push(cer_name.to_owned());
            self.check_server_cert(cer_name, bytes, options, &mut out);
            config.server_certificate = Some(cer_name.to_owned());
        }
        for name in self.names() {
            if !referenced.iter().any(|r| r == name) {
                out.push(Diagnostic::warning(
                    &self.source_name,
                    None,
                    Code::BundleExtraFile,
                    format!("`{name}` is in the zip but is not the properties, the client PKCS#12 or the server certificate; remove it"),
                ));
            }
        }
        Checked::new(Some(config), out)
    }

    /// The entry for one role: the one a key names, or else the one entry
    /// whose content is of `kind`.
    fn locate<'a>(
        &'a self,
        file: &PropertiesFile,
        aliases: &[&'static str],
        named: Option<&str>,
        kind: ContentKind,
        out: &mut Vec<Diagnostic>,
    ) -> Option<(&'a str, &'a [u8])> {
        let what = match kind {
            ContentKind::Pkcs12 => "client PKCS#12",
            _ => "D-Trust server certificate",
        };
        if let Some(name) = named {
            let key = crate::dtrust::find_key(file, aliases).unwrap_or(aliases[0]);
            return self.lookup(file, key, name, out);
        }
        let found: Vec<&(String, Vec<u8>)> = self
            .entries
            .iter()
            .filter(|(n, b)| content_kind(n, b) == kind)
            .collect();
        match found.as_slice() {
            [(name, bytes)] => Some((name.as_str(), bytes.as_slice())),
            [] => {
                let code = match kind {
                    ContentKind::Pkcs12 => Code::BundleNoKeystore,
                    _ => Code::BundleNoServerCertificate,
                };
                out.push(Diagnostic::error(
                    &self.source_name,
                    None,
                    code,
                    format!(
                        "no {what} in the zip (files are recognised by content; found: {}); add it",
                        self.names().collect::<Vec<_>>().join(", ")
                    ),
                ));
                None
            }
            several => {
                let key = aliases[0];
                out.push(Diagnostic::error(
                    &self.source_name,
                    None,
                    Code::BundleAmbiguous,
                    format!(
                        "{} files could be the {what} ({}); keep one, or name it with {key}=",
                        several.len(),
                        several
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                None
            }
        }
    }

    fn lookup<'a>(
        &'a self,
        file: &PropertiesFile,
        key: &str,
        name: &str,
        out: &mut Vec<Diagnostic>,
    ) -> Option<(&'a str, &'a [u8])> {
        // A path names the file by its last part (the files sit at the top level).
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        if let Some((n, b)) = self.entries.iter().find(|(n, _)| n == name || n == base) {
            return Some((n.as_str(), b.as_slice()));
        }
        let hint = self
            .names()
            .find(|n| n.rsplit('/').next() == Some(base) || n.eq_ignore_ascii_case(base))
            .map(|n| {
                format!("; the zip has `{n}`: put the file at the top level with exactly that name")
            })
            .unwrap_or_else(|| {
                format!(
                    "; the zip holds: {}",
                    self.names().collect::<Vec<_>>().join(", ")
                )
            });
        out.push(Diagnostic::error(
            file.name(),
            file.property(key).map(|p| p.line()),
            Code::BundleFileMissing,
            format!("{key} names `{name}`, which is not in the zip{hint}; or remove the line: the file is then found by its content"),
        ));
        None
    }

    fn entry_label(&self, name: &str) -> String {
        format!("{}!{name}", self.source_name)
    }

    fn check_p12(
        &self,
        file: &PropertiesFile,
        name: &str,
        bytes: &[u8],
        password: &Secret,
        options: &CheckOptions,
        out: &mut Vec<Diagnostic>,
    ) {
        let label = self.entry_label(name);
        let line = file
            .property(keys::P12_PASSWORD)
            .or_else(|| {
                crate::dtrust::find_key(file, keys::P12_FILE_ALIASES).and_then(|k| file.property(k))
            })
            .map(|p| p.line());
        match ClientIdentity::from_pkcs12_der(bytes, &label, password) {
            Ok(identity) => {
                let cert = identity.certificate();
                check_validity(
                    &label,
                    "client certificate",
                    cert,
                    options,
                    Code::BundleClientExpired,
                    Code::BundleClientExpired,
                    Code::BundleClientExpiring,
                    out,
                );
            }
            Err(
                smartid_core::Error::WrongPassword { .. }
                | smartid_core::Error::PasswordRequired { .. },
            ) => {
                let which = if file.contains_key(keys::P12_PASSWORD) {
                    "p12Password"
                } else {
                    "the default password 123456 (p12Password is not set)"
                };
                out.push(Diagnostic::error(
                    file.name(),
                    line,
                    Code::BundleWrongPassword,
                    format!("`{name}` does not open with {which}: the PKCS#12's integrity check failed; set p12Password to the password the file was exported with"),
                ));
            }
            Err(e) => out.push(Diagnostic::error(
                &label,
                None,
                Code::BundleNoIdentity,
                format!("not a usable client keystore: {e}"),
            )),
        }
    }

    fn check_server_cert(
        &self,
        name: &str,
        bytes: &[u8],
        options: &CheckOptions,
        out: &mut Vec<Diagnostic>,
    ) {
        let label = self.entry_label(name);
        let parsed = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            Certificate::all_from_pem(bytes, &label).and_then(|mut v| {
                if v.is_empty() {
                    Err(smartid_core::Error::NotACertificate {
                        source_name: label.clone(),
                        detail: "no CERTIFICATE block".to_owned(),
                    })
                } else {
                    Ok(v.remove(0))
                }
            })
        } else {
            Certificate::from_der(bytes, &label)
        };
        match parsed {
            Ok(cert) => check_validity(&label, "server certificate", &cert, options, Code::BundleServerExpired, Code::BundleServerExpired, Code::BundleServerExpiring, out),
            Err(e) => out.push(Diagnostic::error(
                &label,
                None,
                Code::BundleServerNotCertificate,
                format!("the D-Trust server certificate is not a certificate ({e}); export the D-Trust CA certificate as .cer (DER or PEM)"),
            )),
        }
    }
}

/// The file in `dir` for one role: `named` when given, else the one regular
/// file whose content is of `kind` (as in a bundle, for an extracted one).
pub(crate) fn resolve_in_dir(
    dir: &Path,
    named: Option<&str>,
    kind: ContentKind,
) -> Result<PathBuf> {
    if let Some(name) = named {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        return Ok(dir.join(base));
    }
    let what = match kind {
        ContentKind::Pkcs12 => "client PKCS#12",
        _ => "D-Trust server certificate",
    };
    let limits = ZipLimits::default();
    let mut found = Vec::new();
    let listing = std::fs::read_dir(dir).map_err(|e| io_error(dir, &e))?;
    for entry in listing.take(limits.max_entries.saturating_mul(4)) {
        let entry = entry.map_err(|e| io_error(dir, &e))?;
        let path = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let Ok(bytes) = smartid_core::read_regular_file(&path, limits.max_entry_bytes) else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        if content_kind(&name, &bytes) == kind {
            found.push(path);
        }
    }
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        n => Err(Error::invalid(&[Diagnostic::error(
            &dir.display().to_string(),
            None,
            if n == 0 {
                match kind {
                    ContentKind::Pkcs12 => Code::BundleNoKeystore,
                    _ => Code::BundleNoServerCertificate,
                }
            } else {
                Code::BundleAmbiguous
            },
            format!(
                "{n} files in the directory could be the {what}; keep exactly one, or name it in the properties"
            ),
        )])),
    }
}

/// What an entry is, judged by its bytes, not its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContentKind {
    /// A PKCS#12 PFX: SEQUENCE { INTEGER 3, ContentInfo ... }.
    Pkcs12,
    /// An X.509 certificate, DER or PEM.
    Certificate,
    /// Text (the properties): UTF-8 or ISO-8859-1 without NUL.
    Text,
    /// Anything else.
    Other,
}

/// One DER TLV with a single-byte tag: (tag, content).
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8])> {
    smartid_core::internal::der_tlv(input).map(|(tag, content, _)| (tag, content))
}

fn content_kind(name: &str, bytes: &[u8]) -> ContentKind {
    if let Some((0x30, content)) = der_tlv(bytes) {
        if let Some((0x02, [3])) = der_tlv(content) {
            return ContentKind::Pkcs12;
        }
        if Certificate::from_der(bytes, name).is_ok() {
            return ContentKind::Certificate;
        }
        return ContentKind::Other;
    }
    if bytes
        .windows(27)
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return ContentKind::Certificate;
    }
    if !bytes.is_empty() && !bytes.contains(&0) && !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return ContentKind::Text;
    }
    ContentKind::Other
}

#[allow(clippy::too_many_arguments)]
fn check_validity(
    label: &str,
    what: &str,
    cert: &Certificate,
    options: &CheckOptions,
    expired: Code,
    not_yet: Code,
    expiring: Code,
    out: &mut Vec<Diagnostic>,
) {
    let now = options.now;
    if cert.not_after() < now {
        out.push(Diagnostic::error(
            label,
            None,
            expired,
            format!(
                "the {what} `{}` expired on {}; get a new one from D-Trust",
                cert.subject(),
                cert.not_after_rfc3339()
            ),
        ));
    } else if cert.not_before() > now {
        out.push(Diagnostic::error(
            label,
            None,
            not_yet,
            format!(
                "the {what} `{}` is not valid before {}; check the system clock or wait",
                cert.subject(),
                cert.not_before_rfc3339()
            ),
        ));
    } else if cert.not_after()
        < now
            .checked_add(options.expiry_warning)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    {
        out.push(Diagnostic::warning(
            label,
            None,
            expiring,
            format!(
                "the {what} `{}` expires on {}; renew it before then",
                cert.subject(),
                cert.not_after_rfc3339()
            ),
        ));
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn already_exists(path: &Path) -> Error {
    Error::UnsafeTarget {
        path: path.display().to_string(),
        message: "already exists; refusing to overwrite".to_owned(),
    }
}

/// The directory holding `path` (`.` for a bare name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates a fresh temporary file or folder in `dir` with `make`, trying
/// new names while one exists (e.g. left by a crashed run).
fn create_temp<T>(dir: &Path, make: impl Fn(&Path) -> std::io::Result<T>) -> Result<(PathBuf, T)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(
            ".idm-config-tmp-{}-{nanos:x}-{n}",
            std::process::id()
        ));
        match make(&tmp) {
            Ok(v) => return Ok((tmp, v)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error(&tmp, &e)),
        }
    }
    Err(Error::Io {
        path: dir.display().to_string(),
        message: "could not create a temporary name".to_owned(),
    })
}

/// Moves a finished temporary file or folder to `target`, never replacing
/// what is there. Files are hard-linked (fails if `target` exists); where
/// the file system has no hard links, and for folders, `target` is checked
/// and the temporary renamed.
fn publish(tmp: &Path, target: &Path, is_dir: bool) -> Result<()> {
    if !is_dir {
        match std::fs::hard_link(tmp, target) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(already_exists(target));
            }
            Err(_) => {}
        }
    }
    if std::fs::symlink_metadata(target).is_ok() {
        return Err(already_exists(target));
    }
    std::fs::rename(tmp, target).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists
            || e.kind() == std::io::ErrorKind::DirectoryNotEmpty
        {
            already_exists(target)
        } else {
            io_error(target, &e)
        }
    })
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::UnsafeTarget {
                    path: path.display().to_string(),
                    message: "already exists; refusing to overwrite".to_owned(),
                }
            } else {
                io(e)
            }
        })?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}
