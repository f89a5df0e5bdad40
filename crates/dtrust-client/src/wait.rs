//! Waiting for issuance: the pending order (serializable), the clock seam,
//! and the poll loop.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::order::{OrderRequest, SubjectDn};
use crate::product::RequestKind;

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

/// The time source and sleeper of the wait loop; replace it in tests so
/// hours of waiting run in microseconds.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
    /// Sleeps for `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The real clock: `SystemTime::now` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The shortest time between two status queries.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(1);

/// How long and how often to wait.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up (with [`crate::Error::DeadlineExceeded`]) at this time.
    pub deadline: SystemTime,
    /// Time between status queries; a longer `Retry-After` hint from the
    /// server wins. Defaults to 60 seconds.
    pub poll_interval: Duration,
}

impl WaitOptions {
    /// Wait until `deadline`, polling every 60 seconds.
    pub fn until(deadline: SystemTime) -> Self {
        Self {
            deadline,
            poll_interval: Duration::from_secs(60),
        }
    }

    /// Wait for `duration` from now (by `clock`). A duration too large for
    /// the clock is capped at a century.
    pub fn for_duration(clock: &dyn Clock, duration: Duration) -> Self {
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
        let now = clock.now();
        let deadline = now
            .checked_add(duration)
            .or_else(|| now.checked_add(duration.min(CENTURY)))
            .unwrap_or(now);
        Self::until(deadline)
    }

    /// Sets the poll interval (at least 1 ms).
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(MIN_POLL_INTERVAL);
        self
    }

    /// How long to sleep after a pending answer with the server's `hint`.
    pub(crate) fn next_sleep(&self, now: SystemTime, hint: Option<Duration>) -> Option<Duration> {
        let left = self
            .deadline
            .duration_since(now)
            .ok()
            .filter(|d| !d.is_zero())?;
        // The field is public (and serde): keep the setter's floor here too,
        // so that a zero interval cannot turn the wait into a busy loop.
        let wanted = self
            .poll_interval
            .max(MIN_POLL_INTERVAL)
            .max(hint.unwrap_or_default());
        Some(wanted.min(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_hint_wins_and_the_deadline_caps() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let o = WaitOptions::until(t0 + Duration::from_secs(600))
            .poll_interval(Duration::from_secs(30));
        assert_eq!(o.next_sleep(t0, None), Some(Duration::from_secs(30)));
        assert_eq!(
            o.next_sleep(t0, Some(Duration::from_secs(120))),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            o.next_sleep(t0 + Duration::from_secs(590), None),
            Some(Duration::from_secs(10))
        );
        assert_eq!(o.next_sleep(t0 + Duration::from_secs(600), None), None);
        let mut zero = o;
        zero.poll_interval = Duration::ZERO;
        assert_eq!(zero.next_sleep(t0, None), Some(Duration::from_millis(1)));
    }

    #[test]
    fn huge_durations_are_capped_not_a_panic() {
        let o = WaitOptions::for_duration(&SystemClock, Duration::MAX);
        assert!(o.deadline > SystemTime::now() + Duration::from_secs(50 * 365 * 24 * 3600));
    }

    #[test]
    fn pending_orders_survive_serialization() {
        let mut p = PendingOrder::new("R-1", "ref");
        p.kind = Some(RequestKind::Pkcs12);
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"PKCS12\""));
        assert_eq!(serde_json::from_str::<PendingOrder>(&json).unwrap(), p);
    }
}
