//! One-pass linting of files of any supported kind, as `idm_lint` does.

use std::path::Path;

use crate::agreement::{check_agreement, check_callback_credentials};
use crate::bundle::{DtrustBundle, ZipLimits};
use crate::certificate_manager::check_certificate_manager_properties;
use crate::diagnostic::{Code, Diagnostic};
use crate::dtrust::{CheckOptions, DtrustConnectorConfig, keys};
use crate::error::Error;
use crate::hermod::HermodClients;
use crate::messaging::MessagingServerEntry;
use crate::properties::PropertiesFile;

/// What a file was recognised as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// The D-Trust connector's properties.
    DtrustProperties,
    /// `Nexus_CM.properties` of the Certificate Manager connector.
    CertificateManagerProperties,
    /// Another `.properties` file (syntax checks only).
    Properties,
    /// A D-Trust connector bundle (`.zip`).
    DtrustBundle,
    /// A Messaging Server entry (JSON).
    MessagingServer,
    /// Hermod's client settings (JSON).
    HermodClients,
}

const DTRUST_KEYS: &[&str] = &[
    keys::CERTIFICATE_TEMPLATES,
    keys::P12_PASSWORD,
    keys::P12_FILE,
    keys::SERVER_CERTIFICATE,
    keys::NAMESPACE_URI,
    keys::LOCAL_PART,
    keys::KEY_ARCHIVE,
];

/// Most bytes read from a `.properties` or `.json` file by [`Linter::lint_path`].
pub const MAX_TEXT_FILE_BYTES: u64 = 4 << 20;

/// Lints files one by one and, at the end, checks that the Messaging Server
/// entries and Hermod client settings given agree with each other.
///
/// # Example
/// ```
/// use idm_config::{CheckOptions, Code, FileKind, Linter};
///
/// let mut linter = Linter::new(CheckOptions::default());
/// let (kind, diagnostics) = linter.lint_properties(
///     b"url=https://dtrust.example/rest\ncertificateTemplates=Basic SSL ID (RSA)|CN=CN=x\n",
///     "dtrust.properties",
/// );
/// assert_eq!(kind, FileKind::DtrustProperties);
/// assert_eq!(diagnostics[0].code, Code::TemplateCnContainsCn);
///
/// // Identity Manager's entry and Hermod's clients disagree on the key.
/// linter.lint_json(br#"{"name": "Hermod", "url": "https://hermod.example/hermod/rest/command",
///   "authenticationToken": "cHJpbWUxOnNlY3JldA==", "lifespan": 600, "timeout": 300}"#, "entry.json");
/// linter.lint_json(br#"{"allowed-clients": [{"client-id": "prime1", "key": "other",
///   "callback-url": "https://idm.example/idm-operator/ws/hermod"}]}"#, "hermod.json");
/// let across = linter.finish();
/// assert_eq!(across[0].code, Code::AgreementKeyMismatch);
/// ```
#[derive(Debug, Default)]
pub struct Linter {
    options: CheckOptions,
    entries: Vec<(String, MessagingServerEntry)>,
    hermods: Vec<(String, HermodClients)>,
}

fn kind_of_properties(name: &str, file: &PropertiesFile) -> FileKind {
    let lower = name.to_ascii_lowercase();
    if lower.contains("nexus_cm")
        || (file.contains_key(keys::CA_TOKEN_PROCEDURE_IMPORT_CERT)
            && !file.contains_key(keys::CERTIFICATE_TEMPLATES))
    {
        FileKind::CertificateManagerProperties
    } else if lower.contains("dtrust")
        || lower.contains("d-trust")
        || DTRUST_KEYS.iter().any(|k| file.contains_key(k))
    {
        FileKind::DtrustProperties
    } else {
        FileKind::Properties
    }
}

impl Linter {
    /// A linter with these check options.
    pub fn new(options: CheckOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    /// Lints a file by its extension (`.properties`, `.zip`, `.json`) and
    /// content. Problems in the file are diagnostics.
    ///
    /// The file is read with a bound ([`MAX_TEXT_FILE_BYTES`], or the zip
    /// limit for a bundle) and only when it is a regular file.
    ///
    /// # Example
    /// ```
    /// use idm_config::{CheckOptions, FileKind, Linter};
    ///
    /// let path = std::env::temp_dir().join(format!("idm-lint-doc-{}.properties", std::process::id()));
    /// std::fs::write(&path, "url=https://dtrust.example/rest\ncertificateTemplates=\n")?;
    /// let (kind, diagnostics) = Linter::new(CheckOptions::default()).lint_path(&path)?;
    /// std::fs::remove_file(&path)?;
    /// assert_eq!(kind, FileKind::DtrustProperties);
    /// assert!(diagnostics[0].to_string().contains(".properties:2: error[D002]: "));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Http`] when the path cannot be read, is not a regular file
    /// (a FIFO, a device, a directory) or is too large; [`Error::Io`] when
    /// its kind is not supported.
    pub fn lint_path(&mut self, path: &Path) -> Result<(FileKind, Vec<Diagnostic>), Error> {
        let name = path.display().to_string();
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        // Bounded, and only regular files: a FIFO or `/dev/zero` given by
        // mistake (or by an attacker) must not hang or exhaust memory.
        let limit = if ext == "zip" {
            ZipLimits::default().max_total_bytes
        } else {
            MAX_TEXT_FILE_BYTES
        };
        let bytes = smartid_core::read_regular_file(path, limit)?;
        match ext.as_str() {
            "properties" => Ok(self.lint_properties(&bytes, &name)),
            "zip" => Ok((FileKind::DtrustBundle, self.lint_bundle(&bytes, &name))),
            "json" => Ok(self.lint_json(&bytes, &name)),
            _ => Err(Error::Io {
                path: name,
                message: "unsupported file type; give .properties, .zip (D-Trust bundle) or .json (Messaging Server entry or Hermod clients)".to_owned(),
            }),
        }
    }

    /// Lints `.properties` bytes.
    pub fn lint_properties(&mut self, bytes: &[u8], name: &str) -> (FileKind, Vec<Diagnostic>) {
        let file = PropertiesFile::parse_with(bytes, name, self.options.properties_encoding);
        let kind = kind_of_properties(name, &file);
        let diagnostics = match kind {
            FileKind::CertificateManagerProperties => check_certificate_manager_properties(&file),
            FileKind::DtrustProperties => {
                DtrustConnectorConfig::from_properties(&file, &self.options).diagnostics
            }
            _ => file.diagnostics().to_vec(),
        };
        (kind, diagnostics)
    }

    /// Lints a D-Trust bundle held in memory; an unreadable or unsafe zip
    /// is one error diagnostic.
    pub fn lint_bundle(&mut self, bytes: &[u8], name: &str) -> Vec<Diagnostic> {
        match DtrustBundle::read(bytes, name) {
            Ok(bundle) => bundle.check(&self.options).diagnostics,
            Err(e) => {
                let code = match &e {
                    Error::UnsafeEntryName { .. } => Code::BundleUnsafeEntry,
                    Error::ZipLimit { .. } => Code::BundleTooLarge,
                    _ => Code::BundleUnreadable,
                };
                let message = e.to_string();
                let message = message
                    .strip_prefix(&format!("{name}: "))
                    .unwrap_or(&message)
                    .to_owned();
                vec![Diagnostic::error(name, None, code, message)]
            }
        }
    }

    /// Lints JSON: a Messaging Server entry or Hermod's client settings,
    /// recognised by their fields.
    pub fn lint_json(&mut self, bytes: &[u8], name: &str) -> (FileKind, Vec<Diagnostic>) {
        let text = String::from_utf8_lossy(bytes);
        let value: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let is_hermod = match &value {
            Some(serde_json::Value::Array(_)) => true,
            Some(serde_json::Value::Object(o)) => [
                "allowed-clients",
                "allowedClients",
                "client-id",
                "clientId",
                "callback-url",
                "callbackUrl",
            ]
            .iter()
            .any(|k| o.contains_key(*k)),
            _ => false,
        };
        if is_hermod {
            let checked = HermodClients::from_json(&text, name);
            let mut diagnostics = checked.diagnostics;
            if let Some((user, password)) = &self.options.callback_credentials {
                diagnostics.extend(check_callback_credentials(
                    &checked.value,
                    name,
                    None,
                    user,
                    password,
                ));
            }
            self.hermods.push((name.to_owned(), checked.value));
            (FileKind::HermodClients, diagnostics)
        } else {
            let checked = MessagingServerEntry::from_json(&text, name);
            if let Some(entry) = checked.value {
                self.entries.push((name.to_owned(), entry));
            }
            (FileKind::MessagingServer, checked.diagnostics)
        }
    }

    /// The cross-file checks: each Messaging Server entry against each
    /// Hermod client file given.
    pub fn finish(self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (entry_file, entry) in &self.entries {
            for (hermod_file, hermod) in &self.hermods {
                out.extend(check_agreement(entry, entry_file, hermod, hermod_file));
            }
        }
        out
    }
}
