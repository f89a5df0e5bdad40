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
    /// A chosen port is taken on 127.0.0.1.
    #[error(
        "the {service} port {port} is already in use on 127.0.0.1: choose another port (for example --{service}-port 0 for a free one) or stop the program listening there"
    )]
    PortInUse {
        /// Which listener (`audkenni`, `dtrust`, `hermod`, `control`).
        service: &'static str,
        /// The port.
        port: u16,
    },
    /// A file or folder could not be written or read.
    #[error("cannot write or read {path}: {source}; check that the folder exists and is writable")]
    File {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
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
