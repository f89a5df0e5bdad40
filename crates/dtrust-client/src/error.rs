//! The crate's error type.

use crate::server_error::ServerError;

/// Errors of the D-Trust client.
///
/// No message ever contains a password (revocation, PKCS#12 or keystore) or
/// a private key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Loading a keystore or trust store, or an HTTP exchange, failed.
    #[error(transparent)]
    Core(#[from] smartid_core::Error),
    /// The configuration is invalid; every problem found is listed.
    #[error("invalid D-Trust configuration: {}", problems.join("; "))]
    InvalidConfig {
        /// One line per problem, each naming the setting and what to change.
        problems: Vec<String>,
    },
    /// The `certificateTemplates` value is unusable.
    #[error("invalid certificateTemplates: {message}")]
    InvalidTemplates {
        /// What is wrong and what to change.
        message: String,
    },
    /// A check before sending found a problem D-Trust would reject (or the
    /// Identity Manager connector would have failed on).
    #[error("invalid order, field {field}: {message}")]
    InvalidOrder {
        /// The field of the order, e.g. `subject.common_name`.
        field: &'static str,
        /// What is wrong and what to change.
        message: String,
    },
    /// D-Trust refused the request with an error code (REST error document
    /// or SOAP fault).
    #[error(transparent)]
    Server(Box<ServerError>),
    /// The answer could not be understood.
    #[error(
        "D-Trust {operation}: unexpected response (HTTP {status}): {message}; body starts: {body}"
    )]
    InvalidResponse {
        /// The operation, e.g. `submit`.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        message: String,
        /// The start of the body (at most 2 KiB); not shown for PKCS#12
        /// answers, which carry the key and its transport password.
        body: String,
    },
    /// The server answered with MTOM/XOP (`multipart/related`), which this
    /// client does not accept.
    #[error(
        "D-Trust {operation}: the server answered with MTOM/XOP ({content_type}); this client accepts only inline base64 SOAP messages: disable MTOM for this endpoint"
    )]
    MtomNotSupported {
        /// The operation.
        operation: &'static str,
        /// The content type received.
        content_type: String,
    },
    /// The request was rejected during D-Trust's review.
    #[error("D-Trust rejected request {request_id}: {reason}")]
    Rejected {
        /// The request identifier.
        request_id: String,
        /// The reason given by D-Trust (may be empty).
        reason: String,
    },
    /// The certificate or PKCS#12 was asked for before it was issued.
    #[error("request {request_id} is not issued yet (status {status}); wait for issuance first")]
    NotIssued {
        /// The request identifier.
        request_id: String,
        /// The status reported.
        status: String,
    },
    /// The deadline passed while the request was still pending. The request
    /// is still valid at D-Trust: keep the [`crate::PendingOrder`] and wait again later.
    #[error(
        "request {request_id} was still {last_status} at the deadline; keep the pending order and wait again later"
    )]
    DeadlineExceeded {
        /// The request identifier.
        request_id: String,
        /// The last status seen.
        last_status: String,
    },
    /// The submission's outcome is unknown (the connection failed after the
    /// request may have reached D-Trust) and the look-up by client reference
    /// also failed. Do NOT submit a new order: look the reference up again
    /// with [`crate::DtrustClient::find_by_client_reference`] later.
    #[error(
        "the outcome of order {client_reference} is unknown ({cause}); do not re-order: look up client reference {client_reference} later"
    )]
    SubmitOutcomeUnknown {
        /// The client reference of the order.
        client_reference: String,
        /// What failed.
        cause: String,
    },
    /// The issued certificate's chain does not verify (a signature fails,
    /// names do not chain, or it does not end at a configured D-Trust CA).
    #[error(
        "the certificate of request {request_id} does not verify: {message}; check the issuing CA configuration, or report it to D-Trust"
    )]
    UntrustedCertificate {
        /// The request identifier.
        request_id: String,
        /// What failed.
        message: String,
    },
    /// Generating a key pair or a PKCS#10 request failed.
    #[error("cannot generate the key pair or CSR: {message}")]
    KeyGeneration {
        /// What failed.
        message: String,
    },
}

impl From<ServerError> for Error {
    fn from(e: ServerError) -> Self {
        Self::Server(Box::new(e))
    }
}

impl Error {
    /// The typed server error, when D-Trust refused the request.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            Self::Server(e) => Some(e),
            _ => None,
        }
    }
}

/// What replaces a secret echoed by the server.
pub(crate) const REDACTED: &str = "[redacted]";

impl Error {
    /// The same error with every occurrence of `secret` (a password the
    /// request carried) replaced, in case the server echoed it.
    pub(crate) fn without_secret(self, secret: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        match self {
            Self::Server(e) => Self::Server(Box::new(e.without_secret(secret))),
            Self::InvalidResponse {
                operation,
                status,
                message,
                body,
            } => Self::InvalidResponse {
                operation,
                status,
                message: message.replace(secret, REDACTED),
                body: body.replace(secret, REDACTED),
            },
            other => other,
        }
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
