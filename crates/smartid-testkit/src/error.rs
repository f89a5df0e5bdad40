//! The testkit's error type.

/// Errors of the testkit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// Certificate or key generation failed.
    #[error("test PKI: {0}")]
    Pki(String),
    /// A socket could not be bound or used.
    #[error("test server I/O: {0}")]
    Io(#[from] std::io::Error),
    /// TLS configuration failed.
    #[error("test server TLS: {0}")]
    Tls(String),
    /// A smartid-core operation failed.
    #[error(transparent)]
    Core(#[from] smartid_core::Error),
}

impl From<rcgen::Error> for TestkitError {
    fn from(e: rcgen::Error) -> Self {
        Self::Pki(e.to_string())
    }
}

/// Result with [`TestkitError`].
pub type Result<T, E = TestkitError> = std::result::Result<T, E>;
