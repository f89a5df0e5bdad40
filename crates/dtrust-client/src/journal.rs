//! The order journal: D-Trust orders kept in a [`FlowStore`] so that a
//! service with several replicas, which restart on every deploy, never loses
//! an order and never places one twice.
//!
//! The journal writes the order (reference, product, subject, CSR, state
//! `Prepared`) *before* submitting it, under a lease held by the submitting
//! replica, and the request id right after D-Trust's answer. A replica that
//! dies at any point leaves an entry whose lease expires; another replica
//! then takes it ([`OrderJournal::resume_due`] or [`OrderJournal::resume`]),
//! looks the order up at D-Trust by its client reference and continues
//! (status wait, fetch). It orders only when D-Trust answers that no order
//! carries the reference, and then under its own lease. The outcome is
//! written once.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use smartid_core::store::{
    Completion, FlowRecord, FlowStore, Inserted, LeaseRequest, NewFlow, SealingKey, StoreError,
    Update,
};
use smartid_core::{Certificate, ConfigProblem, RetryPolicy, Secret, SecretBytes, WaitOptions};

use crate::checks::{check_missing_password, check_order};
use crate::client::{DtrustClient, SubmitAttempt};
use crate::error::{Error, Result};
use crate::order::{OrderRequest, SubjectDn};
use crate::password::{generate_revocation_password, random_reference};
use crate::product::RequestKind;
use crate::server_error::ServerError;
use crate::status::{IssuedCertificate, IssuedPkcs12, RequestStatus};
use crate::wait::{PendingOrder, transient};

/// The store namespace of the journal's entries.
pub const JOURNAL_NAMESPACE: &str = "dtrust";

/// The format of the entries this release writes (state and outcome). An
/// entry of a newer format is refused ([`Error::Store`] with
/// [`StoreError::Incompatible`]), never guessed at.
pub const JOURNAL_FORMAT: u32 = 1;

/// What the journal does with the secrets of an order: the revocation
/// password, and the PKCS#12 D-Trust made (with its transport password).
/// Nothing secret is ever stored in clear.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum SecretsInJournal {
    /// Secrets go to the caller only and are never stored (the default).
    /// Keep the revocation password yourself (the caller's, or the one
    /// [`PreparedOrder::generated_revocation_password`] returns *before*
    /// submitting). Consequences: an order whose replica died before
    /// D-Trust received it cannot be sent by another replica (it ends
    /// [`OrderOutcome::NotPlaced`]); a resumed PKCS#12 order's outcome
    /// carries no PKCS#12 (fetch it again with
    /// [`DtrustClient::fetch_pkcs12`] and [`JournalEntry::pending_order`]);
    /// [`OrderJournal::revocation_password`] has nothing to return.
    #[default]
    ReturnOnly,
    /// Secrets are sealed with this key (AES-256-GCM, bound to the entry's
    /// namespace and id) and stored: any replica holding the key can
    /// submit a resumed order, open the PKCS#12 and revoke.
    Sealed(Arc<SealingKey>),
}

impl fmt::Debug for SecretsInJournal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReturnOnly => f.write_str("ReturnOnly"),
            Self::Sealed(_) => f.write_str("Sealed([redacted])"),
        }
    }
}

/// Where a journaled order stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JournalState {
    /// Written, not (known to be) received by D-Trust.
    Prepared,
    /// D-Trust has the order under this request id.
    Submitted {
        /// D-Trust's request identifier.
        request_id: String,
    },
    /// The outcome is written ([`JournalEntry::outcome`]).
    Finished,
}

/// How a journaled order ended (written once, [`FlowStore::complete`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum OrderOutcome {
    /// Issued and fetched; the certificate was checked as
    /// [`DtrustClient::fetch_certificate`] does.
    Issued {
        /// D-Trust's request identifier.
        request_id: String,
        /// The certificate and its chain.
        certificate: IssuedCertificate,
        /// The PKCS#12 D-Trust made (PKCS#12 orders), when this replica
        /// fetched it or the journal holds it sealed.
        pkcs12: Option<IssuedPkcs12>,
    },
    /// Rejected during D-Trust's review.
    Rejected {
        /// D-Trust's request identifier.
        request_id: String,
        /// D-Trust's reason (may be empty).
        reason: String,
    },
    /// D-Trust refused the submission with an error code (nothing ordered).
    Refused(ServerError),
    /// The certificate was revoked before it was fetched.
    Revoked {
        /// D-Trust's request identifier.
        request_id: String,
    },
    /// D-Trust has no order with this reference and the journal cannot
    /// send it: the replica died before D-Trust received it, and the
    /// revocation password was not journaled ([`SecretsInJournal::ReturnOnly`]).
    /// Nothing was ordered; order again (with a new reference).
    NotPlaced {
        /// Why.
        reason: String,
    },
    /// The look-up by reference could not confirm the order (see
    /// [`Error::SubmitOutcomeUnknown`]); nothing was adopted or re-sent.
    /// Check the D-Trust portal.
    Unconfirmed {
        /// Why, in words.
        message: String,
    },
    /// The result could not be used (not what was ordered, a chain that
    /// does not verify, an answer D-Trust gives for no valid request).
    Failed {
        /// D-Trust's request identifier, when known.
        request_id: Option<String>,
        /// What failed.
        message: String,
    },
}

impl OrderOutcome {
    /// D-Trust's request identifier, when there is one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Issued { request_id, .. }
            | Self::Rejected { request_id, .. }
            | Self::Revoked { request_id } => Some(request_id),
            Self::Failed { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The certificate, when issued.
    pub fn certificate(&self) -> Option<&IssuedCertificate> {
        match self {
            Self::Issued { certificate, .. } => Some(certificate),
            _ => None,
        }
    }
}

/// An order as the journal holds it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JournalEntry {
    /// The client reference (the entry's id).
    pub reference: String,
    /// The product.
    pub product_id: String,
    /// The request kind.
    pub kind: RequestKind,
    /// The subject ordered.
    pub subject: SubjectDn,
    /// Where it stands.
    pub state: JournalState,
    /// When it was written.
    pub created: SystemTime,
    /// When D-Trust's request id was journaled.
    pub submitted: Option<SystemTime>,
    /// When the state last changed.
    pub updated: SystemTime,
    /// Whether the revocation password is in the journal (sealed).
    pub revocation_password_sealed: bool,
    /// The outcome, once written.
    pub outcome: Option<OrderOutcome>,
    public_key_sha256: Option<String>,
}

impl JournalEntry {
    /// The pending order (to fetch or check by hand), once D-Trust has a
    /// request id for it.
    pub fn pending_order(&self) -> Option<PendingOrder> {
        let request_id = match (&self.state, &self.outcome) {
            (JournalState::Submitted { request_id }, _) => request_id.clone(),
            (_, Some(o)) => o.request_id()?.to_owned(),
            _ => return None,
        };
        let mut p = PendingOrder::new(request_id, &self.reference);
        p.product_id = Some(self.product_id.clone());
        p.kind = Some(self.kind.clone());
        p.subject = Some(self.subject.clone());
        p.public_key_sha256 = self.public_key_sha256.clone();
        p.submitted_at_unix = self.submitted.map(smartid_core::unix_seconds);
        Some(p)
    }
}

/// An order written to the journal, leased to this replica
/// ([`OrderJournal::prepare`]); run it with [`OrderJournal::run`].
#[must_use = "run the prepared order (OrderJournal::run), or another replica resumes it after the lease"]
pub struct PreparedOrder {
    reference: String,
    /// The revocation password the client generated for this order
    /// ([`crate::MissingRevocationPassword::Generate`]); store it *now*,
    /// before [`OrderJournal::run`] sends the order.
    pub generated_revocation_password: Option<Secret>,
    password: Option<Secret>,
    /// The version of the entry this call created (`None`: it existed).
    created: Option<u64>,
}

impl fmt::Debug for PreparedOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedOrder")
            .field("reference", &self.reference)
            .field(
                "generated_revocation_password",
                &self.generated_revocation_password,
            )
            .field("existing", &self.created.is_none())
            .finish_non_exhaustive()
    }
}

impl PreparedOrder {
    /// The client reference (the journal entry's id).
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// Whether the journal already had this order (the same reference and
    /// the same order): nothing new was written, and running it continues
    /// the existing entry.
    pub fn is_existing(&self) -> bool {
        self.created.is_none()
    }
}

/// What [`OrderJournal::order`] returns.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OrderResult {
    /// The client reference.
    pub reference: String,
    /// How the order ended.
    pub outcome: OrderOutcome,
    /// The revocation password the client generated, if it did (store it).
    pub generated_revocation_password: Option<Secret>,
}

/// What one resumed entry came to ([`OrderJournal::resume_due`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct Resumed {
    /// The client reference.
    pub reference: String,
    /// Where it stands now, or why it could not be advanced (it stays in
    /// the journal and is taken again when due).
    pub result: Result<Progress>,
}

/// Where a resumed entry stands after this replica worked on it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Progress {
    /// The outcome is written.
    Finished(Box<OrderOutcome>),
    /// Waiting at D-Trust (or for a retry); due again at `next`.
    Waiting {
        /// When it is due again.
        next: SystemTime,
    },
    /// Another replica holds it now.
    HandedOver,
}

/// Builds an [`OrderJournal`] ([`OrderJournal::builder`]).
pub struct OrderJournalBuilder {
    client: DtrustClient,
    store: Arc<dyn FlowStore>,
    replica: Option<String>,
    lease: Duration,
    secrets: SecretsInJournal,
    poll_interval: Duration,
    retry: RetryPolicy,
}

impl fmt::Debug for OrderJournalBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderJournalBuilder")
            .field("replica", &self.replica)
            .field("lease", &self.lease)
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

impl OrderJournalBuilder {
    /// This replica's name in leases, unique among the replicas sharing the
    /// store (default: random, new on every start).
    #[must_use]
    pub fn replica(mut self, name: impl Into<String>) -> Self {
        self.replica = Some(name.into());
        self
    }

    /// How long a replica holds an entry while it works on it (default 90
    /// s). Must be longer than the HTTP request timeout: a submission still
    /// in flight when the lease expires could otherwise be ordered again.
    #[must_use]
    pub fn lease_length(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// What is done with the secrets (default [`SecretsInJournal::ReturnOnly`]).
    #[must_use]
    pub fn secrets(mut self, secrets: SecretsInJournal) -> Self {
        self.secrets = secrets;
        self
    }

    /// The status poll interval while D-Trust reviews (default 60 s; a
    /// longer `Retry-After` from the server wins).
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The backoff after failures (transient errors, lost answers); past
    /// its `max_consecutive_failures` the longest backoff is kept: a
    /// journaled order is never given up.
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The journal.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field: a lease not longer than
    /// the HTTP request timeout, an empty replica name, a zero poll interval.
    pub fn build(self) -> Result<OrderJournal> {
        let mut problems = Vec::new();
        let timeout = self.client.config().http_settings().request_timeout_value();
        if self.lease <= timeout {
            problems.push(ConfigProblem::new(
                "OrderJournalBuilder::lease_length",
                format!(
                    "{:?} is not longer than the HTTP request timeout {timeout:?}: a submission \
                     still in flight when the lease expires could be ordered again; make the lease \
                     longer than the timeout (with a margin)",
                    self.lease
                ),
            ));
        }
        if self.replica.as_deref().is_some_and(|r| r.trim().is_empty()) {
            problems.push(ConfigProblem::new(
                "OrderJournalBuilder::replica",
                "empty; name each replica uniquely (e.g. the host name), or leave it unset",
            ));
        }
        if self.poll_interval.is_zero() {
            problems.push(ConfigProblem::new(
                "OrderJournalBuilder::poll_interval",
                "zero; poll D-Trust's status at most every few seconds",
            ));
        }
        if !problems.is_empty() {
            return Err(Error::InvalidConfig(problems));
        }
        Ok(OrderJournal {
            inner: Arc::new(Inner {
                replica: self
                    .replica
                    .unwrap_or_else(|| format!("replica-{}", random_reference())),
                client: self.client,
                store: self.store,
                lease: self.lease,
                secrets: self.secrets,
                poll_interval: self.poll_interval,
                retry: self.retry,
            }),
        })
    }
}

/// D-Trust orders journaled in a [`FlowStore`] (see the module docs of
/// `docs/replicas/dtrust.md`): one per replica, all sharing the store.
/// Cheap to clone.
///
/// Without a journal, [`DtrustClient`] keeps working as before (the order's
/// identifiers live in the caller's variables).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use dtrust_client::{
///     DtrustClient, DtrustConfig, GeneratedCsr, KeySpec, OrderJournal, OrderOutcome,
///     OrderRequest, SubjectDn, TrustStore, WaitOptions, generate_revocation_password,
/// };
/// use dtrust_client::smartid_core::store::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = smartid_testkit::dtrust::DtrustSimulator::start().await?;
/// # let identity = sim.issue_client_identity("Example GmbH")?.to_client_identity()?;
/// # let server_ca = TrustStore::from_bytes(sim.server_ca_pem().as_bytes(), "CA", None)?;
/// let client = DtrustClient::new(
///     DtrustConfig::rest(sim.rest_url()).client_identity(identity).server_trust(server_ca).build()?,
/// )?;
/// let store = Arc::new(MemoryStore::new()); // smartid-postgres for several replicas
/// let journal = OrderJournal::builder(client, store).replica("web-1").build()?;
///
/// let subject = SubjectDn::new("www.example.de");
/// let csr = GeneratedCsr::generate(None, &subject, &[], KeySpec::EcP256)?;
/// let password = generate_revocation_password(&Default::default())?; // keep it
/// let order = OrderRequest::pkcs10("1003", subject, &csr.csr_der).revocation_password(password);
/// let wait = WaitOptions::new()
///     .timeout_from(std::time::SystemTime::now(), Duration::from_secs(60))
///     .poll_interval(Duration::from_millis(50));
/// let result = journal.order(&order, &wait).await?;
/// assert!(matches!(result.outcome, OrderOutcome::Issued { .. }));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct OrderJournal {
    inner: Arc<Inner>,
}

struct Inner {
    client: DtrustClient,
    store: Arc<dyn FlowStore>,
    replica: String,
    lease: Duration,
    secrets: SecretsInJournal,
    poll_interval: Duration,
    retry: RetryPolicy,
}

impl fmt::Debug for OrderJournal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderJournal")
            .field("replica", &self.inner.replica)
            .field("lease", &self.inner.lease)
            .field("secrets", &self.inner.secrets)
            .field("poll_interval", &self.inner.poll_interval)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// The stored form (JSON, format JOURNAL_FORMAT). Only public data, and what
// was sealed.

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredOrder {
    format: u32,
    reference: String,
    product_id: String,
    kind: RequestKind,
    subject: SubjectDn,
    /// The CSR (public), base64 DER.
    #[serde(default)]
    csr: Option<String>,
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    public_key_sha256: Option<String>,
    /// The revocation password sealed for this entry, base64; `None` when
    /// it was returned to the caller only.
    #[serde(default)]
    revocation_password_sealed: Option<String>,
    phase: StoredPhase,
    created_ms: u64,
    #[serde(default)]
    submitted_ms: Option<u64>,
    updated_ms: u64,
    /// Failures in a row (for the backoff).
    #[serde(default)]
    failures: u32,
}

#[derive(serde::Serialize, serde::Deserialize, Clone, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "snake_case")]
enum StoredPhase {
    Prepared,
    Submitted { request_id: String },
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredOutcome {
    format: u32,
    finished_ms: u64,
    outcome: StoredResult,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum StoredResult {
    Issued {
        request_id: String,
        certificate: String,
        chain: Vec<String>,
        /// The PKCS#12 and its transport password, each sealed, base64.
        #[serde(default)]
        pkcs12_sealed: Option<(String, String)>,
    },
    Rejected {
        request_id: String,
        reason: String,
    },
    Refused {
        code: String,
        message: String,
        status: u16,
    },
    Revoked {
        request_id: String,
    },
    NotPlaced {
        reason: String,
    },
    Unconfirmed {
        message: String,
    },
    Failed {
        request_id: Option<String>,
        message: String,
    },
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(s: &str) -> std::result::Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| "a base64 field does not decode".to_owned())
}

fn ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn from_ms(v: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(v)
}

/// One step's result.
enum Step {
    /// The state changed and the lease ended: lease again and go on.
    Continue,
    Waiting(SystemTime),
    Finished(Box<OrderOutcome>),
    HandedOver,
}

impl OrderJournal {
    /// A builder for the journal of `client`'s orders in `store`.
    pub fn builder(client: DtrustClient, store: Arc<dyn FlowStore>) -> OrderJournalBuilder {
        OrderJournalBuilder {
            client,
            store,
            replica: None,
            lease: Duration::from_secs(90),
            secrets: SecretsInJournal::default(),
            poll_interval: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }

    /// This replica's name in leases.
    pub fn replica(&self) -> &str {
        &self.inner.replica
    }

    /// The client.
    pub fn client(&self) -> &DtrustClient {
        &self.inner.client
    }

    fn now(&self) -> SystemTime {
        self.inner.client.clock().now()
    }

    fn store_error(what: &'static str, reference: &str) -> impl FnOnce(StoreError) -> Error {
        let reference = reference.to_owned();
        move |source| Error::Store {
            operation: what,
            client_reference: reference,
            source,
        }
    }

    fn context(reference: &str, purpose: &str) -> Vec<u8> {
        format!("{JOURNAL_NAMESPACE}/{reference}/{purpose}").into_bytes()
    }

    /// Writes `order` to the journal (state `Prepared`, leased to this
    /// replica) before anything is sent. The revocation password is the
    /// order's, or, without one and with
    /// [`crate::MissingRevocationPassword::Generate`], a random one returned
    /// in [`PreparedOrder::generated_revocation_password`]; it is sealed
    /// into the entry only with [`SecretsInJournal::Sealed`].
    ///
    /// An entry with the same reference and the same order is taken as it
    /// is ([`PreparedOrder::is_existing`]): running it continues that entry
    /// and never orders twice.
    ///
    /// # Errors
    /// The checks of [`DtrustClient::check_order`]; [`Error::Store`] when
    /// the entry cannot be written (nothing is sent); [`Error::InvalidOrder`]
    /// on field `client_reference` when the journal holds another order
    /// under this reference.
    pub async fn prepare(&self, order: &OrderRequest) -> Result<PreparedOrder> {
        let client = &self.inner.client;
        if client.config.pre_send_checks {
            check_order(&client.config, order)?;
        }
        let (password, generated) = match &order.revocation_password {
            Some(p) => (p.clone(), None),
            None => {
                check_missing_password(&client.config, order)?;
                let p = generate_revocation_password(&client.config.password_policy)?;
                (p.clone(), Some(p))
            }
        };
        let reference = order.reference().to_owned();
        let bound = PendingOrder::for_order(String::new(), order)?;
        let now = self.now();
        let sealed = match &self.inner.secrets {
            SecretsInJournal::ReturnOnly => None,
            SecretsInJournal::Sealed(key) => Some(b64(&key
                .seal(
                    &Self::context(&reference, "revocation-password"),
                    password.expose_secret().as_bytes(),
                )
                .map_err(Self::store_error(
                    "seal the revocation password",
                    &reference,
                ))?)),
        };
        let stored = StoredOrder {
            format: JOURNAL_FORMAT,
            reference: reference.clone(),
            product_id: order.product_id.clone(),
            kind: order.kind.clone(),
            subject: order.subject.clone(),
            csr: order.csr_der.as_deref().map(b64),
            emails: order.emails.clone(),
            public_key_sha256: bound.public_key_sha256,
            revocation_password_sealed: sealed,
            phase: StoredPhase::Prepared,
            created_ms: ms(now),
            submitted_ms: None,
            updated_ms: ms(now),
            failures: 0,
        };
        let flow = NewFlow::new(
            JOURNAL_NAMESPACE,
            &reference,
            JOURNAL_FORMAT,
            encode(&stored),
            now,
        )
        .due(now)
        .leased(&self.inner.replica, now + self.inner.lease);
        let inserted = self
            .inner
            .store
            .insert(flow)
            .await
            .map_err(Self::store_error(
                "write the order before submitting it",
                &reference,
            ))?;
        let created = match inserted {
            Inserted::Created(record) => Some(record.version),
            Inserted::Exists(record) => {
                let other = decode_state(&record)?;
                let same = other.product_id == stored.product_id
                    && other.kind == stored.kind
                    && other.subject == stored.subject
                    && other.csr == stored.csr
                    && other.emails == stored.emails;
                if !same {
                    return Err(Error::InvalidOrder {
                        field: "client_reference",
                        message: format!(
                            "the order journal holds another order under reference {reference}; \
                             use a new reference for a new order"
                        ),
                    });
                }
                None
            }
            _ => None,
        };
        let existing = created.is_none();
        Ok(PreparedOrder {
            reference,
            // For an existing entry, only the caller's own password (a
            // password generated now may not be the one D-Trust has).
            generated_revocation_password: if existing { None } else { generated },
            password: if existing {
                order.revocation_password.clone()
            } else {
                Some(password)
            },
            created,
        })
    }

    /// Runs a prepared order to its end on this replica: submits it (an
    /// entry this replica just wrote is sent at once; any other is first
    /// looked up by reference), journals the request id, waits for
    /// issuance (polling at the journal's interval), fetches and checks the
    /// result and writes the outcome once. When another replica holds the
    /// entry, waits for its outcome (and takes the entry over when that
    /// replica's lease expires).
    ///
    /// Cancel-safe: dropping the future leaves the entry to be resumed
    /// after the lease.
    ///
    /// Transient faults (connection failures, timeouts, truncated answers,
    /// 429 and 5xx) are retried under the journal's
    /// [`OrderJournalBuilder::retry`] policy, the entry kept.
    ///
    /// # Errors
    /// [`Error::DeadlineReached`] at `wait`'s deadline (the entry stays in
    /// the journal and is resumed by whoever takes it); the last transient
    /// fault once the retry policy gives up; [`Error::Store`]
    /// (nothing is lost: an order placed at D-Trust is found again by
    /// reference); [`Error::InvalidConfig`] without a deadline.
    pub async fn run(&self, prepared: PreparedOrder, wait: &WaitOptions) -> Result<OrderOutcome> {
        self.drive(
            &prepared.reference,
            prepared.password,
            prepared.created,
            wait,
        )
        .await
    }

    /// [`OrderJournal::prepare`] and [`OrderJournal::run`].
    ///
    /// # Errors
    /// As the two.
    pub async fn order(&self, order: &OrderRequest, wait: &WaitOptions) -> Result<OrderResult> {
        require_deadline(wait)?;
        let prepared = self.prepare(order).await?;
        let reference = prepared.reference.clone();
        let generated = prepared.generated_revocation_password.clone();
        let outcome = self.run(prepared, wait).await?;
        Ok(OrderResult {
            reference,
            outcome,
            generated_revocation_password: generated,
        })
    }

    /// Takes the journal entry `reference` (when no other replica holds it)
    /// and runs it to its end as [`OrderJournal::run`] does, looking the
    /// order up by reference first.
    ///
    /// # Errors
    /// As [`OrderJournal::run`]; [`Error::InvalidOrder`] on field
    /// `client_reference` when the journal has no such entry.
    pub async fn resume(&self, reference: &str, wait: &WaitOptions) -> Result<OrderOutcome> {
        self.drive(reference, None, None, wait).await
    }

    /// Takes up to `limit` entries that are due and not held by a live
    /// replica (their holder's lease expired: it died or was stopped), and
    /// advances each as far as it goes now: looked up by reference, sent
    /// when D-Trust has no order with the reference, polled, fetched, the
    /// outcome written; an order still in review is left due at its next
    /// poll. Call it periodically on every replica (every few seconds).
    ///
    /// # Errors
    /// [`Error::Store`] when the store cannot lease; the errors of single
    /// entries are in [`Resumed::result`].
    pub async fn resume_due(&self, limit: usize) -> Result<Vec<Resumed>> {
        let now = self.now();
        let leased = self
            .inner
            .store
            .lease_due(LeaseRequest::new(
                JOURNAL_NAMESPACE,
                &self.inner.replica,
                now,
                self.inner.lease,
                limit,
            ))
            .await
            .map_err(Self::store_error("take due orders", "(due orders)"))?;
        let mut out = Vec::with_capacity(leased.len());
        for record in leased {
            let reference = record.id.clone();
            tracing::debug!(target: "dtrust_client", client_reference = %reference, "resuming a due journaled order");
            let result = self.advance(record, None, false).await;
            out.push(Resumed { reference, result });
        }
        Ok(out)
    }

    /// The entry `reference`, if the journal has it.
    ///
    /// # Errors
    /// [`Error::Store`], also for an entry of a newer format.
    pub async fn entry(&self, reference: &str) -> Result<Option<JournalEntry>> {
        let record = self
            .inner
            .store
            .get(JOURNAL_NAMESPACE, reference)
            .await
            .map_err(Self::store_error("read the order", reference))?;
        record.map(|r| self.entry_of(&r)).transpose()
    }

    /// The outcome of `reference`, once written.
    ///
    /// # Errors
    /// As [`OrderJournal::entry`].
    pub async fn outcome(&self, reference: &str) -> Result<Option<OrderOutcome>> {
        Ok(self.entry(reference).await?.and_then(|e| e.outcome))
    }

    /// Waits until the outcome of `reference` is written (by any replica)
    /// or `deadline` passes (`Ok(None)`).
    ///
    /// # Errors
    /// As [`OrderJournal::entry`].
    pub async fn wait_for_outcome(
        &self,
        reference: &str,
        deadline: Option<SystemTime>,
    ) -> Result<Option<OrderOutcome>> {
        let record = smartid_core::store::wait_for_outcome(
            &*self.inner.store,
            JOURNAL_NAMESPACE,
            reference,
            deadline,
            self.inner.client.clock(),
            self.inner.poll_interval.min(Duration::from_secs(5)),
        )
        .await
        .map_err(Self::store_error("wait for the outcome", reference))?;
        match record {
            Some(r) => Ok(self.entry_of(&r)?.outcome),
            None => Ok(None),
        }
    }

    /// The revocation password sealed in the entry `reference`
    /// ([`SecretsInJournal::Sealed`]).
    ///
    /// # Errors
    /// [`Error::SecretNotInJournal`] when the journal does not hold it
    /// ([`SecretsInJournal::ReturnOnly`], or the entry was written so);
    /// [`Error::Store`] when the key does not open it (another key).
    pub async fn revocation_password(&self, reference: &str) -> Result<Secret> {
        let record = self
            .inner
            .store
            .get(JOURNAL_NAMESPACE, reference)
            .await
            .map_err(Self::store_error("read the order", reference))?
            .ok_or_else(|| not_journaled(reference))?;
        let stored = decode_state(&record)?;
        self.open_password(&stored)?
            .ok_or_else(|| Error::SecretNotInJournal {
                client_reference: reference.to_owned(),
                what: "revocation password",
            })
    }

    fn open_password(&self, stored: &StoredOrder) -> Result<Option<Secret>> {
        let (SecretsInJournal::Sealed(key), Some(sealed)) =
            (&self.inner.secrets, &stored.revocation_password_sealed)
        else {
            return Ok(None);
        };
        let err = Self::store_error("open the sealed revocation password", &stored.reference);
        let bytes = unb64(sealed).map_err(|reason| corrupt(&stored.reference, reason))?;
        let plain = key
            .open(
                &Self::context(&stored.reference, "revocation-password"),
                &bytes,
            )
            .map_err(err)?;
        let text = String::from_utf8(plain.expose_secret().to_vec())
            .map_err(|_| corrupt(&stored.reference, "the sealed password is not text".into()))?;
        Ok(Some(Secret::new(text)))
    }

    fn entry_of(&self, record: &FlowRecord) -> Result<JournalEntry> {
        let stored = decode_state(record)?;
        let outcome = match &record.outcome {
            Some(bytes) => Some(self.decode_outcome(&record.id, bytes)?),
            None => None,
        };
        let state = match (&outcome, &stored.phase) {
            (Some(_), _) => JournalState::Finished,
            (None, StoredPhase::Prepared) => JournalState::Prepared,
            (None, StoredPhase::Submitted { request_id }) => JournalState::Submitted {
                request_id: request_id.clone(),
            },
        };
        Ok(JournalEntry {
            reference: stored.reference,
            product_id: stored.product_id,
            kind: stored.kind,
            subject: stored.subject,
            state,
            created: from_ms(stored.created_ms),
            submitted: stored.submitted_ms.map(from_ms),
            updated: from_ms(stored.updated_ms),
            revocation_password_sealed: stored.revocation_password_sealed.is_some(),
            outcome,
            public_key_sha256: stored.public_key_sha256,
        })
    }

    /// Leases `reference` and runs it to its end (see [`OrderJournal::run`]).
    #[tracing::instrument(name = "dtrust.order", target = "dtrust_client", level = "debug", skip_all, fields(client_reference = %reference, resumed = created.is_none()))]
    async fn drive(
        &self,
        reference: &str,
        password: Option<Secret>,
        mut created: Option<u64>,
        wait: &WaitOptions,
    ) -> Result<OrderOutcome> {
        require_deadline(wait)?;
        let deadline = wait.deadline;
        let store = &self.inner.store;
        let clock = self.inner.client.clock();
        // Transient faults in a row (reset, timeout, 5xx): ridden out under
        // the retry policy, the entry kept and due after a backoff.
        let mut transient_failures = 0u32;
        loop {
            let now = self.now();
            let leased = store
                .lease(
                    JOURNAL_NAMESPACE,
                    reference,
                    &self.inner.replica,
                    now,
                    now + self.inner.lease,
                )
                .await
                .map_err(Self::store_error("lease the order", reference))?;
            let next = match leased {
                Some(record) => {
                    // Sent without a look-up only when nobody else has
                    // touched the entry since this replica created it.
                    let fresh = created.is_some_and(|v| record.version == v + 1);
                    tracing::debug!(target: "dtrust_client", fresh, "journal entry leased");
                    match self.advance(record, password.clone(), fresh).await {
                        Ok(Progress::Finished(outcome)) => {
                            tracing::info!(target: "dtrust_client", client_reference = %reference, "journaled order finished");
                            return Ok(*outcome);
                        }
                        Ok(Progress::Waiting { next }) => {
                            transient_failures = 0;
                            Some(next)
                        }
                        Ok(Progress::HandedOver) => None,
                        Err(e) if transient(&e) => {
                            transient_failures = transient_failures.saturating_add(1);
                            match self.inner.retry.backoff(transient_failures, None) {
                                Some(backoff) => {
                                    tracing::debug!(target: "dtrust_client", client_reference = %reference, failures = transient_failures, backoff_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX), "journal rides out a transient fault");
                                    Some(self.now() + backoff)
                                }
                                None => {
                                    tracing::warn!(target: "dtrust_client", client_reference = %reference, failures = transient_failures, "journal gives up after transient faults");
                                    return Err(e);
                                }
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
                None => {
                    let record = store
                        .get(JOURNAL_NAMESPACE, reference)
                        .await
                        .map_err(Self::store_error("read the order", reference))?
                        .ok_or_else(|| not_journaled(reference))?;
                    if record.outcome.is_some() {
                        return self
                            .entry_of(&record)?
                            .outcome
                            .ok_or_else(|| not_journaled(reference));
                    }
                    // Another replica holds it: wait for its outcome, or
                    // for its lease to expire.
                    let until = record.lease.as_ref().map(|(_, u)| *u);
                    Some(until.into_iter().chain(record.due).max().unwrap_or(now))
                }
            };
            created = None;
            let next = next.unwrap_or(now + self.inner.poll_interval);
            let wake = deadline.map_or(next, |d| d.min(next));
            if let Some(outcome) = self.wait_for_outcome(reference, Some(wake)).await? {
                return Ok(outcome);
            }
            if deadline.is_some_and(|d| clock.now() >= d) {
                let entry = self.entry(reference).await?;
                let (request_id, last_status) = match entry.map(|e| e.state) {
                    Some(JournalState::Submitted { request_id }) => {
                        (request_id, "PENDING (journaled)".to_owned())
                    }
                    _ => (
                        reference.to_owned(),
                        "not yet submitted (journaled)".to_owned(),
                    ),
                };
                return Err(Error::DeadlineReached {
                    request_id,
                    last_status,
                });
            }
        }
    }

    /// Works on a leased record until it is finished, waiting, or handed over.
    async fn advance(
        &self,
        mut record: FlowRecord,
        password: Option<Secret>,
        mut fresh: bool,
    ) -> Result<Progress> {
        loop {
            let step = self.step(&record, password.clone(), fresh).await;
            fresh = false;
            let step = match step {
                Ok(step) => step,
                Err(e) => {
                    // Keep the entry, due after a backoff (the lease ends).
                    // An entry this release cannot read waits the longest backoff.
                    let failures = decode_state(&record).map_or(u32::MAX, |s| s.failures + 1);
                    tracing::warn!(target: "dtrust_client", client_reference = %record.id, failures, "journal step failed; the entry stays due after a backoff");
                    let next = self.now() + self.backoff(failures, None);
                    let _ = self.release_failed(&record, next).await;
                    return Err(e);
                }
            };
            match step {
                Step::Finished(outcome) => return Ok(Progress::Finished(outcome)),
                Step::Waiting(next) => return Ok(Progress::Waiting { next }),
                Step::HandedOver => return Ok(Progress::HandedOver),
                Step::Continue => {
                    let now = self.now();
                    match self
                        .inner
                        .store
                        .lease(
                            JOURNAL_NAMESPACE,
                            &record.id,
                            &self.inner.replica,
                            now,
                            now + self.inner.lease,
                        )
                        .await
                        .map_err(Self::store_error("lease the order", &record.id))?
                    {
                        Some(r) => record = r,
                        None => return Ok(Progress::HandedOver),
                    }
                }
            }
        }
    }

    fn backoff(&self, failures: u32, hint: Option<Duration>) -> Duration {
        let retry = &self.inner.retry;
        retry
            .backoff(failures.max(1), hint)
            .unwrap_or_else(|| hint.map_or(retry.max_backoff, |h| h.max(retry.max_backoff)))
    }

    /// Counts a failure in the entry and makes it due at `next`.
    async fn release_failed(&self, record: &FlowRecord, next: SystemTime) -> Result<()> {
        let update = match decode_state(record) {
            Ok(mut s) => {
                s.failures = s.failures.saturating_add(1);
                s.updated_ms = ms(self.now());
                Update::state(JOURNAL_FORMAT, encode(&s), Some(next))
            }
            // A newer format: keep its state as it is.
            Err(_) => Update::due(Some(next)),
        };
        self.inner
            .store
            .update(JOURNAL_NAMESPACE, &record.id, record.version, update)
            .await
            .map_err(Self::store_error("keep the order for a retry", &record.id))?;
        Ok(())
    }

    /// Writes `stored` (the lease ends), due at `due`; `false` when another
    /// replica changed the entry meanwhile (it holds it now).
    async fn save(
        &self,
        record: &FlowRecord,
        stored: &StoredOrder,
        due: SystemTime,
    ) -> Result<bool> {
        Ok(self
            .inner
            .store
            .update(
                JOURNAL_NAMESPACE,
                &record.id,
                record.version,
                Update::state(JOURNAL_FORMAT, encode(stored), Some(due)),
            )
            .await
            .map_err(Self::store_error("journal the order's state", &record.id))?
            .is_some())
    }

    /// Writes the outcome once and returns it (the one written first when
    /// another replica was quicker).
    async fn finish(
        &self,
        record: &FlowRecord,
        outcome: OrderOutcome,
        stored: StoredResult,
    ) -> Result<Step> {
        let now = self.now();
        let bytes = serde_json::to_vec(&StoredOutcome {
            format: JOURNAL_FORMAT,
            finished_ms: ms(now),
            outcome: stored,
        })
        .unwrap_or_default();
        match self
            .inner
            .store
            .complete(JOURNAL_NAMESPACE, &record.id, bytes, now)
            .await
            .map_err(Self::store_error("write the order's outcome", &record.id))?
        {
            Completion::Written(_) => Ok(Step::Finished(Box::new(outcome))),
            Completion::AlreadyDone(r) => Ok(Step::Finished(Box::new(
                self.entry_of(&r)?
                    .outcome
                    .ok_or_else(|| not_journaled(&record.id))?,
            ))),
            _ => Err(not_journaled(&record.id)),
        }
    }

    /// One unit of work on a leased record.
    async fn step(
        &self,
        record: &FlowRecord,
        password: Option<Secret>,
        fresh: bool,
    ) -> Result<Step> {
        let mut stored = decode_state(record)?;
        let client = &self.inner.client;
        let reference = stored.reference.clone();
        match stored.phase.clone() {
            StoredPhase::Prepared => {
                if !fresh {
                    match client.find_by_client_reference(&reference).await {
                        Ok(Some(found)) => {
                            return self.submitted(record, stored, found.request_id).await;
                        }
                        Ok(None) => {}
                        Err(e @ Error::SubmitOutcomeUnknown { .. }) => {
                            let message = e.to_string();
                            return self
                                .finish(
                                    record,
                                    OrderOutcome::Unconfirmed {
                                        message: message.clone(),
                                    },
                                    StoredResult::Unconfirmed { message },
                                )
                                .await;
                        }
                        Err(e) => return Err(e),
                    }
                }
                // D-Trust has no order with this reference: send it, under
                // a lease renewed now (a full lease for the request).
                // The sealed password is the one the entry was prepared
                // with; the caller's copy serves when nothing is sealed.
                let password = match self.open_password(&stored)? {
                    Some(p) => p,
                    None => match password {
                        Some(p) => p,
                        None => {
                            let reason = format!(
                                "D-Trust has no order with reference {reference} and the journal \
                                 does not hold its revocation password (SecretsInJournal::ReturnOnly): \
                                 the replica that prepared it stopped before D-Trust received it; \
                                 nothing was ordered, order again with a new reference"
                            );
                            return self
                                .finish(
                                    record,
                                    OrderOutcome::NotPlaced {
                                        reason: reason.clone(),
                                    },
                                    StoredResult::NotPlaced { reason },
                                )
                                .await;
                        }
                    },
                };
                let now = self.now();
                let Some(renewed) = self
                    .inner
                    .store
                    .lease(
                        JOURNAL_NAMESPACE,
                        &record.id,
                        &self.inner.replica,
                        now,
                        now + self.inner.lease,
                    )
                    .await
                    .map_err(Self::store_error(
                        "renew the lease before submitting",
                        &reference,
                    ))?
                else {
                    return Ok(Step::HandedOver);
                };
                if renewed.version != record.version + 1 {
                    // Another replica took the entry since this one read it
                    // (it may have sent the order): read it again and look
                    // the reference up before sending anything.
                    return Ok(Step::Continue);
                }
                let record = renewed;
                let order = order_of(&stored)?.revocation_password(password);
                // Waiting for a busy pool must not outlast the lease, or
                // another replica could send the order too: the wait is what
                // the lease leaves after the whole request timeout (and a
                // second), at most the pool timeout.
                let settings = client.config().http_settings();
                let pool_wait = self
                    .inner
                    .lease
                    .saturating_sub(settings.request_timeout_value() + Duration::from_secs(1))
                    .min(settings.pool_timeout_value());
                match client.submit_once(&order, pool_wait).await {
                    Ok(SubmitAttempt::Placed(request_id)) => {
                        self.submitted(&record, stored, request_id).await
                    }
                    Ok(SubmitAttempt::Unknown(_cause)) => {
                        // The answer was lost: look the reference up once
                        // the request has surely settled (after a lease).
                        stored.failures = stored.failures.saturating_add(1);
                        stored.updated_ms = ms(self.now());
                        let next = self.now() + self.inner.lease;
                        Ok(if self.save(&record, &stored, next).await? {
                            Step::Waiting(next)
                        } else {
                            Step::HandedOver
                        })
                    }
                    Err(Error::Server(e)) if !transient(&Error::Server(e.clone())) => {
                        self.finish(
                            &record,
                            OrderOutcome::Refused(e.clone()),
                            StoredResult::Refused {
                                code: e.code().to_owned(),
                                message: e.message().to_owned(),
                                status: e.status(),
                            },
                        )
                        .await
                    }
                    Err(e) => {
                        // Not sent, or refused for now: the next attempt
                        // looks the reference up first.
                        let next = self.now() + self.backoff(stored.failures + 1, None);
                        stored.failures = stored.failures.saturating_add(1);
                        stored.updated_ms = ms(self.now());
                        let _ = self.save(&record, &stored, next).await;
                        Err(e)
                    }
                }
            }
            StoredPhase::Submitted { request_id } => self.poll(record, stored, request_id).await,
        }
    }

    /// Journals D-Trust's request id and goes on.
    async fn submitted(
        &self,
        record: &FlowRecord,
        mut stored: StoredOrder,
        request_id: String,
    ) -> Result<Step> {
        let now = self.now();
        stored.phase = StoredPhase::Submitted { request_id };
        stored.submitted_ms = Some(ms(now));
        stored.updated_ms = ms(now);
        stored.failures = 0;
        Ok(if self.save(record, &stored, now).await? {
            Step::Continue
        } else {
            Step::HandedOver
        })
    }

    /// One status query; on issuance the fetch and the outcome.
    async fn poll(
        &self,
        record: &FlowRecord,
        mut stored: StoredOrder,
        request_id: String,
    ) -> Result<Step> {
        let client = &self.inner.client;
        let failed = |message: String| {
            (
                OrderOutcome::Failed {
                    request_id: Some(request_id.clone()),
                    message: message.clone(),
                },
                StoredResult::Failed {
                    request_id: Some(request_id.clone()),
                    message,
                },
            )
        };
        let report = match client.status(&request_id).await {
            Ok(r) => r,
            Err(e) if transient(&e) => {
                let next = self.now() + self.backoff(stored.failures + 1, None);
                stored.failures = stored.failures.saturating_add(1);
                stored.updated_ms = ms(self.now());
                let _ = self.save(record, &stored, next).await;
                return Err(e);
            }
            Err(e) => {
                let (o, s) = failed(format!("the status query failed: {e}"));
                return self.finish(record, o, s).await;
            }
        };
        match report.status {
            RequestStatus::Issued => {}
            RequestStatus::Rejected => {
                let reason = report.message.unwrap_or_default();
                return self
                    .finish(
                        record,
                        OrderOutcome::Rejected {
                            request_id: request_id.clone(),
                            reason: reason.clone(),
                        },
                        StoredResult::Rejected { request_id, reason },
                    )
                    .await;
            }
            RequestStatus::Revoked => {
                return self
                    .finish(
                        record,
                        OrderOutcome::Revoked {
                            request_id: request_id.clone(),
                        },
                        StoredResult::Revoked { request_id },
                    )
                    .await;
            }
            _ => {
                let now = self.now();
                let wait = report.retry_after.map_or(self.inner.poll_interval, |h| {
                    h.max(self.inner.poll_interval)
                });
                let next = now + wait;
                stored.failures = 0;
                stored.updated_ms = ms(now);
                return Ok(if self.save(record, &stored, next).await? {
                    Step::Waiting(next)
                } else {
                    Step::HandedOver
                });
            }
        }
        let pending = self
            .entry_of(record)?
            .pending_order()
            .ok_or_else(|| not_journaled(&record.id))?;
        let fetched = if stored.kind == RequestKind::Pkcs12 {
            client.fetch_pkcs12(&pending).await.and_then(|p12| {
                let identity = p12.to_identity("D-Trust PKCS#12")?;
                let (leaf, chain) = identity
                    .chain()
                    .split_first()
                    .map(|(l, c)| (l.clone(), c.to_vec()))
                    .ok_or_else(|| Error::UntrustedCertificate {
                        request_id: request_id.clone(),
                        message: "the PKCS#12 holds no certificate".into(),
                    })?;
                Ok((
                    IssuedCertificate {
                        certificate: leaf,
                        chain,
                    },
                    Some(p12),
                ))
            })
        } else {
            client.fetch_certificate(&pending).await.map(|c| (c, None))
        };
        let (certificate, pkcs12) = match fetched {
            Ok(f) => f,
            Err(e) if transient(&e) => {
                let next = self.now() + self.backoff(stored.failures + 1, None);
                stored.failures = stored.failures.saturating_add(1);
                stored.updated_ms = ms(self.now());
                let _ = self.save(record, &stored, next).await;
                return Err(e);
            }
            Err(e) => {
                let (o, s) = failed(e.to_string());
                return self.finish(record, o, s).await;
            }
        };
        let pkcs12_sealed = match (&self.inner.secrets, &pkcs12) {
            (SecretsInJournal::Sealed(key), Some(p12)) => {
                let err = || Self::store_error("seal the PKCS#12", &stored.reference);
                let file = key
                    .seal(
                        &Self::context(&stored.reference, "pkcs12"),
                        p12.pkcs12.expose_secret(),
                    )
                    .map_err(err())?;
                let pass = key
                    .seal(
                        &Self::context(&stored.reference, "pkcs12-password"),
                        p12.password.expose_secret().as_bytes(),
                    )
                    .map_err(err())?;
                Some((b64(&file), b64(&pass)))
            }
            _ => None,
        };
        let stored_result = StoredResult::Issued {
            request_id: request_id.clone(),
            certificate: b64(certificate.certificate.der()),
            chain: certificate.chain.iter().map(|c| b64(c.der())).collect(),
            pkcs12_sealed,
        };
        self.finish(
            record,
            OrderOutcome::Issued {
                request_id,
                certificate,
                pkcs12,
            },
            stored_result,
        )
        .await
    }

    fn decode_outcome(&self, reference: &str, bytes: &[u8]) -> Result<OrderOutcome> {
        #[derive(serde::Deserialize)]
        struct Head {
            format: u32,
        }
        let head: Head = serde_json::from_slice(bytes)
            .map_err(|_| corrupt(reference, "the outcome is not JSON with a format".into()))?;
        check_format(reference, head.format, "the outcome")?;
        let stored: StoredOutcome = serde_json::from_slice(bytes)
            .map_err(|e| corrupt(reference, format!("the outcome does not decode: {e}")))?;
        let bad = |why: String| corrupt(reference, why);
        let cert = |b: &str| -> Result<Certificate> {
            Certificate::from_der(&unb64(b).map_err(bad)?, "journaled certificate")
                .map_err(|e| corrupt(reference, format!("a certificate does not decode: {e}")))
        };
        Ok(match stored.outcome {
            StoredResult::Issued {
                request_id,
                certificate,
                chain,
                pkcs12_sealed,
            } => {
                let certificate = IssuedCertificate {
                    certificate: cert(&certificate)?,
                    chain: chain.iter().map(|c| cert(c)).collect::<Result<_>>()?,
                };
                let pkcs12 = match (&self.inner.secrets, pkcs12_sealed) {
                    (SecretsInJournal::Sealed(key), Some((file, pass))) => {
                        let err = || Self::store_error("open the sealed PKCS#12", reference);
                        let file = key
                            .open(
                                &Self::context(reference, "pkcs12"),
                                &unb64(&file).map_err(bad)?,
                            )
                            .map_err(err())?;
                        let pass = key
                            .open(
                                &Self::context(reference, "pkcs12-password"),
                                &unb64(&pass).map_err(bad)?,
                            )
                            .map_err(err())?;
                        let pass = String::from_utf8(pass.expose_secret().to_vec())
                            .map_err(|_| bad("the sealed PKCS#12 password is not text".into()))?;
                        Some(IssuedPkcs12 {
                            pkcs12: SecretBytes::new(file.expose_secret().to_vec()),
                            password: Secret::new(pass),
                        })
                    }
                    _ => None,
                };
                OrderOutcome::Issued {
                    request_id,
                    certificate,
                    pkcs12,
                }
            }
            StoredResult::Rejected { request_id, reason } => {
                OrderOutcome::Rejected { request_id, reason }
            }
            StoredResult::Refused {
                code,
                message,
                status,
            } => OrderOutcome::Refused(ServerError::new(&code, &message, status, "")),
            StoredResult::Revoked { request_id } => OrderOutcome::Revoked { request_id },
            StoredResult::NotPlaced { reason } => OrderOutcome::NotPlaced { reason },
            StoredResult::Unconfirmed { message } => OrderOutcome::Unconfirmed { message },
            StoredResult::Failed {
                request_id,
                message,
            } => OrderOutcome::Failed {
                request_id,
                message,
            },
        })
    }
}

fn require_deadline(wait: &WaitOptions) -> Result<()> {
    if wait.deadline.is_none() {
        return Err(Error::InvalidConfig(vec![ConfigProblem::new(
            "WaitOptions::deadline",
            "missing; issuance can take hours or days: set a deadline \
             (WaitOptions::until or WaitOptions::timeout_from); the order stays journaled after it",
        )]));
    }
    Ok(())
}

fn encode(stored: &StoredOrder) -> Vec<u8> {
    // Plain data (strings, numbers): serialization cannot fail.
    serde_json::to_vec(stored).unwrap_or_default()
}

fn not_journaled(reference: &str) -> Error {
    Error::InvalidOrder {
        field: "client_reference",
        message: format!(
            "the order journal has no order with reference {reference} (never written, or removed)"
        ),
    }
}

fn corrupt(reference: &str, reason: String) -> Error {
    Error::Store {
        operation: "read the order",
        client_reference: reference.to_owned(),
        source: StoreError::Corrupt {
            namespace: JOURNAL_NAMESPACE.into(),
            id: reference.to_owned(),
            reason,
        },
    }
}

fn check_format(reference: &str, found: u32, what: &str) -> Result<()> {
    if found == JOURNAL_FORMAT {
        return Ok(());
    }
    Err(Error::Store {
        operation: "read the order",
        client_reference: reference.to_owned(),
        source: StoreError::Incompatible {
            what: format!("{what} of D-Trust order {reference}"),
            found,
            supported: JOURNAL_FORMAT,
            remedy: if found > JOURNAL_FORMAT {
                "it was written by a newer release of dtrust-client: run that release (or newer) \
                 on every replica; this one leaves the entry untouched"
                    .into()
            } else {
                "no release wrote this format: the entry is not a D-Trust order journal entry"
                    .into()
            },
        },
    })
}

/// The journaled order's state, refusing formats this release does not read.
fn decode_state(record: &FlowRecord) -> Result<StoredOrder> {
    check_format(&record.id, record.format, "the journal entry")?;
    let stored: StoredOrder = serde_json::from_slice(&record.state)
        .map_err(|e| corrupt(&record.id, format!("the state does not decode: {e}")))?;
    check_format(&record.id, stored.format, "the journal entry")?;
    Ok(stored)
}

/// The order as it was prepared (without its password).
fn order_of(stored: &StoredOrder) -> Result<OrderRequest> {
    let mut order = OrderRequest::new(
        stored.product_id.clone(),
        stored.kind.clone(),
        stored.subject.clone(),
    )
    .client_reference(stored.reference.clone());
    if let Some(csr) = &stored.csr {
        order.csr_der = Some(unb64(csr).map_err(|r| corrupt(&stored.reference, r))?);
    }
    order.emails.clone_from(&stored.emails);
    Ok(order)
}
