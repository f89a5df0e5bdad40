//! The crate's error type.

use smartid_core::{ConfigProblem, UnexpectedAnswer};

use crate::server_error::ServerError;

/// Errors of the Hermod client.
///
/// Messages name the setting, URL or answer that was wrong and what to
/// change; they never contain the API key, the authentication token or a
/// callback password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Configuration values are invalid: every problem found, each with the
    /// setting (`base_url`, `token`, `callback_basic_auth`, ...) and what to
    /// change.
    #[error("invalid Hermod configuration: {}", ConfigProblem::join(.0))]
    InvalidConfig(Vec<ConfigProblem>),
    /// The command timing breaks a rule of the wire (whole seconds, timeout
    /// not past the lifespan).
    #[error("invalid command timing: {0}")]
    Timing(#[from] crate::TimingError),
    /// Hermod refused the API key (HTTP 401 or 403); `error` is Hermod's
    /// error document.
    #[error(
        "Hermod at {url} refused the API key of client {client_id:?} (HTTP {status}); check that the \
         authentication token is base64(client-id:key) of an API user in Hermod's allowed clients{detail}",
        url = .error.url,
        status = .error.status,
        detail = .error.detail_suffix()
    )]
    Unauthorized {
        /// The client id the token names (not secret).
        client_id: String,
        /// Hermod's answer, parsed (boxed: it keeps the error type small).
        error: Box<ServerError>,
    },
    /// Hermod answered with an error status: its error document, parsed.
    #[error("{0}")]
    Server(ServerError),
    /// Hermod's answer could not be read (URL, status, the start of the
    /// body and what was expected).
    #[error("Hermod's answer could not be read: {0}")]
    InvalidResponse(UnexpectedAnswer),
    /// The caller's deadline ([`crate::WaitOptions::deadline`]) passed before
    /// the command ended. The command stays tracked: wait again with
    /// [`crate::Tracker::wait`] or [`crate::Tracker::track`].
    #[error(
        "the deadline passed before Hermod's callback for command {command_id} came; the command \
         is still tracked and can be waited for again"
    )]
    DeadlineReached {
        /// Hermod's command id.
        command_id: String,
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
    /// The flow store of the [`crate::Tracker`] (tracked commands, early
    /// callbacks, outcomes) failed: unreachable or slow
    /// ([`smartid_core::store::StoreError::is_transient`]: try again; a
    /// callback receiver answers 503 so that Hermod retries), a record of a
    /// newer release, or an unreadable record. Never holds a record's state.
    #[error("the Hermod tracker's flow store failed: {0}")]
    Store(#[from] smartid_core::store::StoreError),
    /// No replica tracks this command (no record in the store, or it was
    /// pruned after the tracker's retention).
    #[error(
        "command {command_id} is not tracked (no record of it in the flow store): track it          first, or its record was pruned after the retention period"
    )]
    UnknownCommand {
        /// Hermod's command id.
        command_id: String,
    },
    /// TLS, connection, timeout or other HTTP failures, and local TLS or
    /// keystore errors, from smartid-core.
    #[error(transparent)]
    Http(#[from] smartid_core::Error),
}

impl Error {
    /// One configuration problem.
    pub(crate) fn config(field: &str, message: impl Into<String>) -> Self {
        Error::InvalidConfig(vec![ConfigProblem::new(field, message)])
    }

    /// The configuration problems, for [`Error::InvalidConfig`] (empty
    /// otherwise).
    pub fn config_problems(&self) -> &[ConfigProblem] {
        match self {
            Error::InvalidConfig(problems) => problems,
            _ => &[],
        }
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
