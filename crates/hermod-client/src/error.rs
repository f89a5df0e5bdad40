//! The crate's error type.

/// Errors of the Hermod client.
///
/// Messages name the setting, URL or answer that was wrong and what to
/// change; they never contain the API key, the authentication token or a
/// callback password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is invalid.
    #[error("invalid Hermod setting {field}: {message}")]
    Config {
        /// The setting, e.g. `base_url`, `token`, `timing`.
        field: &'static str,
        /// What is wrong and what to change.
        message: String,
    },
    /// The command timing breaks a rule of the wire (whole seconds, timeout
    /// not past the lifespan).
    #[error("invalid command timing: {0}")]
    Timing(#[from] crate::TimingError),
    /// Hermod refused the API key (HTTP 401 or 403).
    #[error(
        "Hermod at {url} refused the API key of client {client_id:?} (HTTP {status}); check that the \
         authentication token is base64(client-id:key) of an API user in Hermod's allowed clients{detail}"
    )]
    Unauthorized {
        /// The command URL.
        url: String,
        /// The client id the token names (not secret).
        client_id: String,
        /// 401 or 403.
        status: u16,
        /// Hermod's error text, starting with ": ", or empty.
        detail: String,
    },
    /// Hermod answered with an error status.
    #[error("Hermod at {url} answered HTTP {status}{detail}")]
    Api {
        /// The command URL.
        url: String,
        /// The status code.
        status: u16,
        /// Hermod's error message, when its body carried one, starting with ": ".
        detail: String,
        /// The body as received (cut to 2 KiB).
        body: String,
    },
    /// Hermod's answer could not be understood.
    #[error("Hermod at {url} sent an answer this client cannot read: {message}")]
    InvalidAnswer {
        /// The URL.
        url: String,
        /// What was wrong, with the start of the body.
        message: String,
    },
    /// A command document or one of its parts has a shape the record
    /// contradicts, or a value it cannot carry.
    #[error("invalid Hermod command: {0}")]
    InvalidCommand(String),
    /// A deep link could not be parsed.
    #[error("not a Smart ID app link: {0}")]
    InvalidLink(String),
    /// A callback body could not be parsed.
    #[error("invalid Hermod callback: {0}")]
    InvalidCallback(String),
    /// TLS, connection, timeout or other HTTP failures, from smartid-core.
    #[error(transparent)]
    Core(#[from] smartid_core::Error),
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
