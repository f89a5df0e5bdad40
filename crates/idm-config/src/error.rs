//! The crate's error type.

use crate::diagnostic::Diagnostic;

/// Errors of idm-config: reading files and bundles, and building client
/// configurations from a configuration that still has errors.
///
/// No message ever contains a password or key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of smartid-core (reading a keystore or certificate).
    #[error(transparent)]
    Core(#[from] smartid_core::Error),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// What the operating system said.
        message: String,
    },
    /// The zip archive cannot be read.
    #[error(
        "{source_name}: not a readable zip archive ({message}); upload the complete file again"
    )]
    Zip {
        /// The archive.
        source_name: String,
        /// What was wrong.
        message: String,
    },
    /// An entry name that could write outside the target directory.
    #[error(
        "{source_name}: unsafe entry name `{entry}` (absolute or leaving the archive's folder); rebuild the zip with plain file names"
    )]
    UnsafeEntryName {
        /// The archive.
        source_name: String,
        /// The entry name as stored.
        entry: String,
    },
    /// The archive exceeds the size or entry-count limits (a zip bomb or the wrong file).
    #[error("{source_name}: {message}; a D-Trust bundle holds three small files")]
    ZipLimit {
        /// The archive.
        source_name: String,
        /// Which limit was exceeded.
        message: String,
    },
    /// The input is not valid JSON of the expected shape.
    #[error("{source_name}: {message}")]
    Json {
        /// The file.
        source_name: String,
        /// What was wrong.
        message: String,
    },
    /// The configuration has errors; each is a diagnostic.
    #[error("configuration has {} error(s); first: {}", .0.iter().filter(|d| d.is_error()).count(), .0.iter().find(|d| d.is_error()).map(ToString::to_string).unwrap_or_default())]
    Invalid(Vec<Diagnostic>),
    /// A client crate (dtrust-client, hermod-client) refused the configuration built from the files.
    #[error("{client} refused the configuration: {message}")]
    ClientConfig {
        /// The client crate.
        client: &'static str,
        /// What it said.
        message: String,
    },
    /// Refusing to overwrite or to write outside the target directory.
    #[error("{path}: {message}")]
    UnsafeTarget {
        /// The path.
        path: String,
        /// Why it was refused.
        message: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
