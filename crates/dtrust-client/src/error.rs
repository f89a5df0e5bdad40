//! The crate's error type.

use smartid_core::{ConfigProblem, UnexpectedAnswer};

use crate::server_error::ServerError;

/// Errors of the D-Trust client.
///
/// No message ever contains a password (revocation, PKCS#12 or keystore) or
/// a private key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Loading a keystore or trust store, or an HTTP exchange, failed
    /// (transport and local TLS/keystore errors from the core).
    #[error(transparent)]
    Http(#[from] smartid_core::Error),
    /// The configuration (or the wait options) is invalid; every problem
    /// found is listed, each with its field and what to change.
    #[error("invalid D-Trust configuration: {}", ConfigProblem::join(.0))]
    InvalidConfig(Vec<ConfigProblem>),
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
    Server(ServerError),
    /// The answer could not be understood: the URL, the status, the start
    /// of the body (at most 2 KiB, passwords the request carried redacted;
    /// not shown at all for PKCS#12 answers, which carry the key and its
    /// transport password) and what was expected (naming the operation).
    #[error("D-Trust: {0}")]
    InvalidResponse(UnexpectedAnswer),
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
    /// The caller's deadline passed while the request was still pending.
    /// The request is still valid at D-Trust: keep the
    /// [`crate::PendingOrder`] and wait again later.
    #[error(
        "request {request_id} was still {last_status} at the deadline; keep the pending order and wait again later"
    )]
    DeadlineReached {
        /// The request identifier.
        request_id: String,
        /// The last status seen.
        last_status: String,
    },
    /// The order has no revocation password and the client is configured
    /// to refuse such orders (the default,
    /// [`crate::MissingRevocationPassword::Refuse`]). Nothing was sent.
    #[error(
        "order {client_reference} has no revocation password: generate one \
         (generate_revocation_password), store it as a secret and attach it with \
         OrderRequest::revocation_password, or configure the client to generate and return one \
         (DtrustConfigBuilder::missing_revocation_password(MissingRevocationPassword::Generate))"
    )]
    RevocationPasswordMissing {
        /// The client reference of the order.
        client_reference: String,
    },
    /// Whether D-Trust placed the order is unknown: the answer to the
    /// submission was lost (timeout, broken connection, a gateway's 502 or
    /// 504) and the look-up by client reference could not confirm it (see
    /// `reason`). The client adopted nothing and did not send the order
    /// again. Do NOT submit a new order: look the reference up again later
    /// with [`crate::DtrustClient::find_by_client_reference`], or find the
    /// request in the D-Trust portal, and adopt a request only if it
    /// carries this client reference.
    #[error(
        "the outcome of order {client_reference} is unknown ({reason}: {cause}); do not re-order: \
         look client reference {client_reference} up again later (find_by_client_reference) or \
         check the D-Trust portal, and adopt only a request that carries this reference"
    )]
    SubmitOutcomeUnknown {
        /// The client reference of the order.
        client_reference: String,
        /// Why the look-up could not confirm the order.
        reason: OutcomeUnknownReason,
        /// What failed, in words.
        cause: String,
    },
    /// What was fetched is not what was ordered: a certificate for another
    /// public key than the CSR's, another subject than the ordered one, or a
    /// PKCS#12 whose key does not match its certificate. Do not use it.
    #[error(
        "the result of request {request_id} is not what was ordered ({mismatch}): {message}; do \
         not use it: check that the request id belongs to this order, and report it to D-Trust"
    )]
    NotAsOrdered {
        /// The request identifier.
        request_id: String,
        /// What differs.
        mismatch: Mismatch,
        /// The details.
        message: String,
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
    /// The order journal's store failed (down, slow, or an entry this
    /// release cannot read). When it fails before an order is written,
    /// nothing is sent; an order already placed at D-Trust is never lost:
    /// its entry stays `Prepared` and is resumed by reference after the
    /// lease.
    #[error(
        "the D-Trust order journal could not {operation} (order {client_reference}): {source}; \
         check the store (reachable, migrated, same release on every replica): no order is \
         placed without a journal entry, and a placed one is resumed by its reference"
    )]
    Store {
        /// What the journal was doing.
        operation: &'static str,
        /// The client reference of the order.
        client_reference: String,
        /// The store's error.
        #[source]
        source: smartid_core::store::StoreError,
    },
    /// The journal does not hold this secret (it was returned to the caller
    /// only, [`crate::SecretsInJournal::ReturnOnly`]): use the copy you kept.
    #[error(
        "the order journal does not hold the {what} of order {client_reference} \
         (SecretsInJournal::ReturnOnly returns secrets to the caller only): use the copy you kept"
    )]
    SecretNotInJournal {
        /// The client reference of the order.
        client_reference: String,
        /// Which secret.
        what: &'static str,
    },
    /// Generating a key pair or a PKCS#10 request failed.
    #[error("cannot generate the key pair or CSR: {message}")]
    KeyGeneration {
        /// What failed.
        message: String,
    },
}

/// Why the outcome of a submission is unknown (see
/// [`Error::SubmitOutcomeUnknown`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutcomeUnknownReason {
    /// The look-up by client reference failed (connection, timeout, error answer).
    LookupFailed,
    /// The look-up answered with requests that do not name their client
    /// reference, so none can be confirmed as ours.
    ReferenceNotEchoed {
        /// How many requests the look-up returned.
        results: usize,
    },
    /// The look-up answered with several requests carrying our reference.
    SeveralMatches {
        /// How many carried it.
        matches: usize,
    },
    /// The look-up answered only with requests of other client references
    /// (the server ignored the filter), so "not found" cannot be trusted.
    OtherReferencesOnly {
        /// How many requests the look-up returned.
        results: usize,
    },
    /// The look-up found nothing, the order was sent once more with the
    /// same reference, and that answer was lost too.
    ResendLost,
}

impl std::fmt::Display for OutcomeUnknownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LookupFailed => f.write_str("the look-up by client reference failed"),
            Self::ReferenceNotEchoed { results } => write!(
                f,
                "the look-up returned {results} request(s) without their client reference"
            ),
            Self::SeveralMatches { matches } => write!(
                f,
                "the look-up returned {matches} requests with this client reference"
            ),
            Self::OtherReferencesOnly { results } => write!(
                f,
                "the look-up returned {results} request(s) of other client references only"
            ),
            Self::ResendLost => f.write_str("the one re-send's answer was lost too"),
        }
    }
}

/// What differs between a fetched result and its order (see [`Error::NotAsOrdered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mismatch {
    /// The certificate's public key is not the CSR's.
    PublicKey,
    /// The certificate's subject is not the ordered one.
    Subject,
    /// The PKCS#12's private key does not match its certificate.
    Pkcs12Key,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::PublicKey => "another public key",
            Self::Subject => "another subject",
            Self::Pkcs12Key => "the PKCS#12 key does not match its certificate",
        })
    }
}

impl From<ServerError> for Error {
    fn from(e: ServerError) -> Self {
        Self::Server(e)
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

/// The start of the body shown for PKCS#12 answers: never their content.
pub(crate) const PKCS12_BODY_NOT_SHOWN: &str =
    "[not shown: a PKCS#12 answer carries the key and its transport password";

impl Error {
    /// The same error with every occurrence of `secret` (a password the
    /// request carried, in case the server echoed it) replaced, the body
    /// excerpt made again from the whole `body` of the answer with the
    /// secret redacted *before* it is cut (so that a password straddling
    /// the 2 KiB cut leaves nothing behind).
    pub(crate) fn without_secret(self, secret: &str, r: &smartid_core::HttpResponse) -> Self {
        if secret.is_empty() {
            return self;
        }
        match self {
            Self::Server(e) => Self::Server(e.without_secret(secret, r.body())),
            Self::InvalidResponse(answer) => {
                let expected = answer.expected.replace(secret, REDACTED);
                if answer.body.starts_with(PKCS12_BODY_NOT_SHOWN) {
                    let mut answer = answer;
                    answer.expected = expected;
                    Self::InvalidResponse(answer)
                } else {
                    Self::InvalidResponse(UnexpectedAnswer::redacting(r, expected, &[secret]))
                }
            }
            other => other,
        }
    }

    /// The HTTP status of an answer that could not be read.
    pub(crate) fn unreadable_status(&self) -> Option<u16> {
        match self {
            Self::InvalidResponse(a) => Some(a.status),
            _ => None,
        }
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
