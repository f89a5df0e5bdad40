#![doc = include_str!("../README.md")]
//!
//! The crate re-exports what its signatures use (the client crates
//! [`dtrust_client`] and [`hermod_client`], [`smartid_core`] and its
//! [`Secret`], [`HttpSettings`], [`TrustRoots`], [`TrustStore`],
//! [`ClientIdentity`], [`ConfigProblem`]): depending on idm-config alone is
//! enough.
//!
//! # Overview
//! - [`PropertiesFile`]: Java `.properties` with Java's rules (comments `#`
//!   and `!`, separators `=` `:` and white space, continuations, `\uXXXX`,
//!   escaped separators in keys, last duplicate wins), checked against
//!   `java.util.Properties` itself in the test suite. Comments, order, line
//!   numbers and line endings are kept: [`PropertiesFile::set`] rewrites one
//!   entry and leaves every other line byte-identical. The encoding is an
//!   explicit [`ReadEncoding`]: ISO-8859-1 as Java's
//!   `Properties.load(InputStream)`, UTF-8 as `load(Reader)`, or detect (the
//!   default).
//! - [`DtrustConnectorConfig`]: the D-Trust connector's properties, typed and
//!   checked (REST vs legacy SOAP, `certificateTemplates`, key backup, proxy,
//!   unknown keys). [`CertificateTemplate`] checks the troubleshooting cases
//!   of the seed (`CN=` inside the CN; e-mail domains not verified).
//! - [`DtrustBundle`]: the zip uploaded to Identity Manager Admin, read with
//!   limits ([`ZipLimits`]: no path traversal, no zip bomb), its files found
//!   by content under any names, checked (the PKCS#12 opens with
//!   `p12Password` and holds a matching key, certificates not expired, the
//!   `.cer` is a certificate), and written or extracted atomically.
//! - [`check_certificate_manager_properties`] checks `Nexus_CM.properties`.
//! - [`MessagingServerEntry`] (Identity Manager -> Hermod) and
//!   [`HermodClients`] (Hermod's per-client settings, with the
//!   [`ContentProvider`]), [`check_agreement`] between the two, and
//!   [`check_callback_credentials`] against the callback receiver's.
//! - [`Linter`]: all of the above by file, as the `idm_lint` example uses it.
//! - Conversions into ready client configurations:
//!   [`DtrustBundle::to_dtrust_config`] / [`DtrustConnectorConfig::to_dtrust_config_in`]
//!   (a [`dtrust_client::DtrustConfig`] built on the one
//!   [`dtrust_client::Transport`] value that
//!   [`DtrustConnectorConfig::transport`] gives: REST, or SOAP when
//!   `namespaceURI`/`localPart` are set) and
//!   [`MessagingServerEntry::to_hermod_config`] (a
//!   [`hermod_client::HermodConfig`]). idm-config uses hermod-client without
//!   its `axum` feature: no web framework in its tree.
//!
//! # Example: a D-Trust connector file
//! ```
//! use idm_config::{CheckOptions, Code, DtrustConnectorConfig, PropertiesFile};
//!
//! let text = "url=https://dtrust.example/rest\n\
//!             p12File=client.p12\n\
//!             serverCertificate=D-TRUST_SSL_Class_3_CA_1_2009.cer\n\
//!             namespaceURI=\n\
//!             certificateTemplates=\n";
//! let file = PropertiesFile::parse(text.as_bytes(), "dtrust.properties");
//! let checked = DtrustConnectorConfig::from_properties(&file, &CheckOptions::default());
//! for d in &checked.diagnostics {
//!     println!("{d}"); // dtrust.properties:4: error[D004]: namespaceURI is present but empty; ...
//! }
//! let codes: Vec<Code> = checked.diagnostics.iter().map(|d| d.code).collect();
//! assert_eq!(codes, [Code::SoapKeyEmpty, Code::TemplatesEmpty]);
//! ```
//!
//! # Diagnostics
//! Checks return every problem at once as [`Diagnostic`]s: file, line where
//! there is one, [`Severity`], a stable [`Code`] (listed with examples in
//! `docs/idm-config.md`) and a message that says what to change. Secrets
//! (passwords, keys, tokens) never appear in a diagnostic, an error or a
//! `Debug` output.
//!
//! # Errors
//! Reading files and zips fails with [`Error`]. A configuration with
//! errors turns into [`Error::InvalidConfig`] (one [`ConfigProblem`] per
//! error diagnostic, printed as the linter prints it) through
//! [`Checked::into_result`] and the conversions; what the client crates
//! refuse stays their typed error, as [`Error::Dtrust`] and
//! [`Error::Hermod`] and as the error's source; smartid-core's errors
//! (files, keystores, certificates) are [`Error::Http`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod agreement;
mod bundle;
mod certificate_manager;
mod checked;
mod diagnostic;
mod dtrust;
mod error;
mod hermod;
mod json_util;
mod lint;
mod messaging;
mod properties;
mod templates;
mod to_dtrust;
mod to_hermod;

pub use agreement::{check_agreement, check_callback_credentials};
pub use bundle::{DtrustBundle, ZipLimits};
pub use certificate_manager::check_certificate_manager_properties;
pub use checked::Checked;
pub use diagnostic::{Code, Diagnostic, Severity, has_errors};
pub use dtrust::{CheckOptions, DEFAULT_P12_PASSWORD, DtrustConnectorConfig, ProxyConfig, keys};
pub use error::{Error, Result};
pub use hermod::{ContentProvider, HermodClientSettings, HermodClients};
pub use lint::{FileKind, Linter, MAX_TEXT_FILE_BYTES};
pub use messaging::{DEFAULT_SESSION_START_TIMEOUT_SECS, MessagingServerEntry};
pub use properties::{Encoding, PropertiesFile, Property, ReadEncoding};
pub use templates::CertificateTemplate;

/// dtrust-client, whose configuration the D-Trust conversions build.
pub use dtrust_client;
/// hermod-client, whose configuration [`MessagingServerEntry::to_hermod_config`] builds.
pub use hermod_client;
/// The core crate, for what this crate does not re-export.
pub use smartid_core;
pub use smartid_core::{
    ClientIdentity, ConfigProblem, HttpSettings, Secret, TrustRoots, TrustStore,
};

/// Entry points of the fuzz targets and of their corpus replay tests.
/// **Not part of the public API**: no stability promise.
#[doc(hidden)]
pub mod fuzzing;
