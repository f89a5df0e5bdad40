//! The crate's error type.

use smartid_core::ConfigProblem;

use crate::diagnostic::Diagnostic;

/// Errors of idm-config: reading files and bundles, and building client
/// configurations from a configuration that still has errors.
///
/// The variant names are those of every crate of the workspace:
/// [`Error::InvalidConfig`] lists every configuration problem at once,
/// [`Error::Http`] carries smartid-core's errors, and the clients' own
/// errors stay typed as [`Error::Dtrust`] and [`Error::Hermod`] (and as
/// this error's [`source`](std::error::Error::source)).
///
/// No message ever contains a password or key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration has errors: one problem per error diagnostic
    /// (warnings are left out), each printed as the linter prints it.
    ///
    /// A problem's `field` says where: `FILE:LINE` (or `FILE`) for a
    /// diagnostic, else the key or the setting. Its `message` starts with
    /// the severity and the stable code, e.g. `error[D004]: ...`. For the
    /// typed [`Diagnostic`]s, with warnings, check first
    /// ([`DtrustBundle::check`](crate::DtrustBundle::check),
    /// [`MessagingServerEntry::check`](crate::MessagingServerEntry::check)).
    #[error("configuration has {} error(s): {}", .0.len(), ConfigProblem::join(.0))]
    InvalidConfig(Vec<ConfigProblem>),
    /// An error of smartid-core: reading a file, a keystore or a
    /// certificate (the same variant as in every client crate, where it
    /// also carries transport and TLS errors).
    #[error(transparent)]
    Http(#[from] smartid_core::Error),
    /// dtrust-client refused the configuration built from the files.
    #[error("dtrust-client refused the configuration: {0}")]
    Dtrust(#[from] dtrust_client::Error),
    /// hermod-client refused the configuration built from the entry.
    #[error("hermod-client refused the configuration: {0}")]
    Hermod(#[from] hermod_client::Error),
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
    /// Refusing to overwrite or to write outside the target directory.
    #[error("{path}: {message}")]
    UnsafeTarget {
        /// The path.
        path: String,
        /// Why it was refused.
        message: String,
    },
}

impl Error {
    /// [`Error::InvalidConfig`] with the error diagnostics of `diagnostics`.
    pub(crate) fn invalid(diagnostics: &[Diagnostic]) -> Self {
        Self::InvalidConfig(
            diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(ConfigProblem::from)
                .collect(),
        )
    }
}

impl From<&Diagnostic> for ConfigProblem {
    /// `field` is `FILE:LINE` (or `FILE`), `message` is
    /// `severity[CODE]: message`: displayed, the same line as the
    /// diagnostic's.
    fn from(d: &Diagnostic) -> Self {
        let field = match d.line {
            Some(line) => format!("{}:{line}", d.file),
            None => d.file.clone(),
        };
        ConfigProblem::new(field, format!("{}[{}]: {}", d.severity, d.code, d.message))
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Code;

    #[test]
    fn a_problem_prints_as_its_diagnostic_and_warnings_are_left_out() {
        let error = Diagnostic::error("d.properties", Some(4), Code::SoapKeyEmpty, "remove it");
        let warning = Diagnostic::warning("d.properties", None, Code::UrlMissing, "add it");
        assert_eq!(ConfigProblem::from(&error).to_string(), error.to_string());
        assert_eq!(
            ConfigProblem::from(&warning).to_string(),
            warning.to_string()
        );
        let Error::InvalidConfig(problems) = Error::invalid(&[warning, error.clone()]) else {
            unreachable!()
        };
        assert_eq!(problems, [ConfigProblem::from(&error)]);
        assert_eq!(problems[0].field, "d.properties:4");
    }
}
