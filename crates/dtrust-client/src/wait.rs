//! Waiting for issuance: the pending order (serializable) and the poll
//! loop, on the core's wait toolkit ([`WaitOptions`], [`smartid_core::RetryPolicy`],
//! the client's [`smartid_core::Clock`]).

use std::time::Duration;

use smartid_core::{ConfigProblem, WaitOptions};

use crate::client::DtrustClient;
use crate::error::{Error, Result};
use crate::order::{OrderRequest, SubjectDn};
use crate::product::RequestKind;
use crate::status::{RequestStatus, StatusReport};

/// A submitted order, returned before any waiting. Serialize it to resume
/// the wait after a restart (it holds no secret).
///
/// It records what was ordered (the subject and, for PKCS#10 orders, the
/// hash of the CSR's public key), so that
/// [`crate::DtrustClient::fetch_certificate`] and
/// [`crate::DtrustClient::fetch_pkcs12`] can refuse a result issued for
/// another key or another subject.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct PendingOrder {
    /// D-Trust's request identifier.
    pub request_id: String,
    /// The client reference sent with the order.
    pub client_reference: String,
    /// The product ordered, when known.
    pub product_id: Option<String>,
    /// The request kind, when known.
    pub kind: Option<RequestKind>,
    /// When the order was submitted (seconds since the Unix epoch), when known.
    pub submitted_at_unix: Option<u64>,
    /// The subject ordered; the fetched certificate must carry it.
    #[serde(default)]
    pub subject: Option<SubjectDn>,
    /// SHA-256 (lower-case hex) of the DER SubjectPublicKeyInfo of the CSR
    /// (PKCS#10 orders); the fetched certificate must be for this key.
    #[serde(default)]
    pub public_key_sha256: Option<String>,
}

impl PendingOrder {
    /// A pending order known only by its identifiers (e.g. from
    /// [`crate::DtrustClient::find_by_client_reference`]).
    ///
    /// It records nothing of what was ordered: bind it to the order with
    /// [`PendingOrder::bound_to`] before fetching the result.
    pub fn new(request_id: impl Into<String>, client_reference: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
            client_reference: client_reference.into(),
            product_id: None,
            kind: None,
            submitted_at_unix: None,
            subject: None,
            public_key_sha256: None,
        }
    }

    /// The pending order of `order` with D-Trust's `request_id`, recording
    /// what was ordered (product, kind, subject, the CSR's public key).
    ///
    /// # Errors
    /// [`Error::InvalidOrder`] on field `csr` when a PKCS#10 order's CSR
    /// cannot be read.
    pub fn for_order(request_id: impl Into<String>, order: &OrderRequest) -> Result<Self> {
        Self::new(request_id, order.reference()).bound_to(order)
    }

    /// This pending order, recording what `order` asked for (e.g. after
    /// [`crate::DtrustClient::find_by_client_reference`]).
    ///
    /// # Errors
    /// [`Error::InvalidOrder`] on field `csr` when a PKCS#10 order's CSR
    /// cannot be read.
    pub fn bound_to(mut self, order: &OrderRequest) -> Result<Self> {
        self.product_id = Some(order.product_id().to_owned());
        self.kind = Some(order.kind().clone());
        self.subject = Some(order.subject().clone());
        self.public_key_sha256 = match (order.kind(), order.csr_der.as_deref()) {
            (RequestKind::Pkcs12, _) | (_, None) => None,
            (_, Some(csr)) => Some(crate::binding::csr_public_key_sha256(csr).map_err(
                |message| Error::InvalidOrder {
                    field: "csr",
                    message: format!("{message}: attach the DER or PEM of a PKCS#10 request"),
                },
            )?),
        };
        Ok(self)
    }
}

/// What [`crate::DtrustClient::submit`] returns: the pending order and, when
/// the client generated the revocation password
/// ([`crate::MissingRevocationPassword::Generate`]), that password.
///
/// Not serializable (it may hold a secret): store
/// [`Submission::pending`] as JSON and the password in your secret store.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use = "store the pending order, and the generated revocation password if there is one"]
pub struct Submission {
    /// The pending order (serializable, no secret).
    pub pending: PendingOrder,
    /// The revocation password the client generated for this order, when
    /// it did. Store it as a secret: without it the certificate cannot be
    /// revoked. `None` when the order carried the caller's password.
    pub generated_revocation_password: Option<smartid_core::Secret>,
}

impl Submission {
    /// The pending order.
    pub fn pending(&self) -> &PendingOrder {
        &self.pending
    }

    /// The request identifier.
    pub fn request_id(&self) -> &str {
        &self.pending.request_id
    }

    /// The pending order, dropping the generated password (if any): only
    /// after it is stored.
    pub fn into_pending(self) -> PendingOrder {
        self.pending
    }
}

impl DtrustClient {
    /// Waits until the request is issued, polling at
    /// `options.poll_interval` (or the server's longer `Retry-After` /
    /// `retryAfterSeconds` hint) until `options.deadline`, with the
    /// client's clock ([`crate::DtrustConfigBuilder::clock`]).
    ///
    /// Issuance can take hours or days, so a deadline is required: wait
    /// options without one are refused with [`Error::InvalidConfig`] on
    /// field `WaitOptions::deadline` before anything is sent.
    ///
    /// Transient failures while polling (connection failures, timeouts,
    /// answers 429 and 5xx that are not a D-Trust error document) are
    /// retried per `options.retry`: after the n-th failure in a row the
    /// loop sleeps the policy's backoff (doubling from
    /// `initial_backoff`, capped at `max_backoff`; a longer `Retry-After`
    /// wins up to that cap); after `max_consecutive_failures` failures in
    /// a row it ends with the last error. A pending answer resets the count.
    ///
    /// Cancel-safe: the loop only reads, so dropping the future loses
    /// nothing; wait again with the same [`PendingOrder`].
    ///
    /// # Example
    /// ```
    /// # use dtrust_client::{DtrustClient, DtrustConfig, PendingOrder, SystemClock, Clock, WaitOptions, RequestStatus};
    /// # use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = smartid_testkit::dtrust::DtrustSimulator::start().await?;
    /// # let config = DtrustConfig::rest(sim.rest_url())
    /// #     .client_identity(sim.issue_client_identity("Example GmbH")?.to_client_identity()?)
    /// #     .server_trust(dtrust_client::TrustStore::from_bytes(sim.server_ca_pem().as_bytes(), "CA", None)?)
    /// #     .build()?;
    /// # let client = DtrustClient::new(config)?;
    /// # let products = client.list_products().await?;
    /// # let product = products.iter().find(|p| p.key_sizes.contains(&256)).expect("EC");
    /// # let subject = dtrust_client::SubjectDn::new("www.example.de");
    /// # let csr = dtrust_client::GeneratedCsr::generate(Some(product), &subject, &[], dtrust_client::KeySpec::EcP256)?;
    /// # let order = dtrust_client::OrderRequest::pkcs10(&product.id, subject, &csr.csr_der)
    /// #     .revocation_password(dtrust_client::generate_revocation_password(&Default::default())?);
    /// # let pending: PendingOrder = client.submit(&order).await?.into_pending();
    /// let options = WaitOptions::new()
    ///     .timeout_from(SystemClock.now(), Duration::from_secs(4 * 3600))
    ///     .poll_interval(Duration::from_millis(50));
    /// let report = client.wait_for_issuance(&pending, &options).await?;
    /// assert_eq!(report.status, RequestStatus::Issued);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Rejected`], [`Error::DeadlineReached`] (the order stays
    /// valid), [`Error::NotIssued`] when it was revoked, [`Error::Server`],
    /// [`Error::InvalidConfig`] without a deadline, and the last transient
    /// error ([`Error::Http`], [`Error::InvalidResponse`]) past the retry budget.
    #[tracing::instrument(name = "dtrust.wait_for_issuance", target = "dtrust_client", level = "debug", skip_all, fields(request_id = %pending.request_id, client_reference = %pending.client_reference))]
    pub async fn wait_for_issuance(
        &self,
        pending: &PendingOrder,
        options: &WaitOptions,
    ) -> Result<StatusReport> {
        if options.deadline.is_none() {
            return Err(Error::InvalidConfig(vec![ConfigProblem::new(
                "WaitOptions::deadline",
                "missing; issuance can take hours or days: set a deadline \
                 (WaitOptions::until or WaitOptions::timeout_from)",
            )]));
        }
        let clock = self.clock();
        let id = &pending.request_id;
        let mut failures = 0u32;
        let mut last;
        loop {
            let sleep = match self.poll_status(id).await {
                Ok(report) => {
                    tracing::trace!(target: "dtrust_client", status = %report.status, "status polled");
                    failures = 0;
                    match report.status {
                        RequestStatus::Issued => {
                            tracing::info!(target: "dtrust_client", request_id = %id, "certificate issued");
                            return Ok(report);
                        }
                        RequestStatus::Rejected => {
                            return Err(Error::Rejected {
                                request_id: id.clone(),
                                reason: report.message.unwrap_or_default(),
                            });
                        }
                        RequestStatus::Revoked => {
                            return Err(Error::NotIssued {
                                request_id: id.clone(),
                                status: RequestStatus::Revoked.to_string(),
                            });
                        }
                        ref other => {
                            last = other.to_string();
                            options.next_sleep(
                                clock.now(),
                                options.poll_interval_value(),
                                report.retry_after,
                            )
                        }
                    }
                }
                Err((e, retry_after)) if transient(&e) => {
                    failures = failures.saturating_add(1);
                    tracing::debug!(target: "dtrust_client", failures, "transient failure of a status poll");
                    let Some(backoff) = options.retry.backoff(failures, retry_after) else {
                        return Err(e);
                    };
                    last = format!("unreachable ({e})");
                    options.next_sleep(clock.now(), backoff, None)
                }
                Err((e, _)) => return Err(e),
            };
            match sleep {
                Some(d) => clock.sleep(d).await,
                None => {
                    return Err(Error::DeadlineReached {
                        request_id: id.clone(),
                        last_status: last,
                    });
                }
            }
        }
    }

    /// One status query; a failure comes with the answer's `Retry-After`.
    async fn poll_status(&self, id: &str) -> Result<StatusReport, (Error, Option<Duration>)> {
        let r = self
            .send(self.wire.status(id))
            .await
            .map_err(|e| (e, None))?;
        self.wire.parse_status(&r).map_err(|e| (e, r.retry_after()))
    }
}

/// Whether a failed status query is worth retrying: the connection, a
/// timeout, a busy connection pool (the query was not sent), or an answer 429/5xx (not 501/505) that is not a D-Trust error
/// document (or is one with 429/503: the server asks to come back later).
pub(crate) fn transient(e: &Error) -> bool {
    let retryable = |status: u16| {
        status == 429 || (500..=599).contains(&status) && !matches!(status, 501 | 505)
    };
    match e {
        Error::Http(c) => matches!(
            c,
            smartid_core::Error::Timeout { .. }
                | smartid_core::Error::Transport { .. }
                | smartid_core::Error::Connect { .. }
                | smartid_core::Error::PoolBusy { .. }
        ),
        Error::InvalidResponse(a) => retryable(a.status),
        Error::Server(s) => matches!(s.status(), 429 | 503),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_orders_survive_serialization() {
        let mut p = PendingOrder::new("R-1", "ref");
        p.kind = Some(RequestKind::Pkcs12);
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"PKCS12\""));
        assert_eq!(serde_json::from_str::<PendingOrder>(&json).unwrap(), p);
    }
}
