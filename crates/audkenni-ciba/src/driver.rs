//! Flows through the store: start stores the flow, one poll at a time under
//! a lease (so that replicas, pollers and waiters never poll one flow twice
//! for the same slot), the result written once and delivered to whichever
//! replica waits.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use smartid_core::store::{
    Completion, FlowRecord, FlowStore, Inserted, NewFlow, SealingKey, StoreError, Update,
    wait_for_outcome,
};
use smartid_core::{HttpResponse, RetryPolicy, WaitOptions, poll_delay, unix_seconds};

use crate::client::{CIBA_GRANT_TYPE, CibaClient};
use crate::client_auth::authenticated_post;
use crate::error::Error;
use crate::flow::{FLOW_FORMAT, FLOW_NAMESPACE, StoredFlow, StoredOutcome, token_alias};
use crate::pending::PendingAuth;
use crate::ping::{bearer_token, ping_auth_req_id};
use crate::poll::{PollOutcome, classify};
use crate::tokens::Tokens;

/// The store side of a client.
pub(crate) struct Flows {
    pub(crate) store: Arc<dyn FlowStore>,
    /// The client's own MemoryStore: nobody else can see its records.
    pub(crate) private: bool,
    pub(crate) replica: String,
    pub(crate) lease: Duration,
    /// The HTTP request timeout and pool timeout in force: a poll waits for
    /// a pooled connection only while its lease still covers the request.
    pub(crate) request_timeout: Duration,
    pub(crate) pool_timeout: Duration,
    pub(crate) margin: Duration,
    pub(crate) recheck: Duration,
    pub(crate) key: Arc<SealingKey>,
    pub(crate) waiters: AtomicU64,
    /// When a private store was last pruned (Unix milliseconds; 0: never).
    pub(crate) pruned_at: AtomicU64,
}

impl fmt::Debug for Flows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flows")
            .field("replica", &self.replica)
            .field("private", &self.private)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl Flows {
    /// A lease holder name unique to one task of this replica.
    pub(crate) fn holder(&self, role: &str) -> String {
        let n = self.waiters.fetch_add(1, Ordering::Relaxed);
        format!("{}/{role}-{n}", self.replica)
    }
}

/// How long a private store keeps ended flows.
const PRIVATE_RETENTION: Duration = Duration::from_secs(15 * 60);

/// How often a private store is pruned at most: a prune reads every record,
/// so pruning on every delivery costs N² with N flows ending together.
const PRIVATE_PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Records a prune deletes at a time (and batches per prune at most).
const PRUNE_BATCH: usize = 1000;
const PRUNE_BATCHES: usize = 100;

/// What one poll under a lease did.
#[allow(
    clippy::large_enum_variant,
    reason = "a short-lived return value, matched at once"
)]
pub(crate) enum Step {
    /// The flow ended (the outcome is stored, unless `stored` says why not).
    Ended {
        result: Result<Tokens, Error>,
        stored: Result<(), Error>,
    },
    /// The flow goes on: its new schedule is stored.
    Continues(PendingAuth),
    /// The record changed under this holder (its lease had expired and
    /// another holder took the flow): nothing was written.
    Lost,
}

/// What [`CibaClient::step`] found.
#[allow(
    clippy::large_enum_variant,
    reason = "a short-lived return value, matched at once"
)]
enum Next {
    /// The flow ended: deliver this.
    Done(Result<Tokens, Error>),
    /// Wait for the outcome until then, reading it again every `recheck`.
    Sleep {
        until: SystemTime,
        recheck: Duration,
    },
    /// Look again at once.
    Again,
}

/// The kind of an error, for logs (its message may hold a national id).
pub(crate) fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::Http(_) => "http",
        Error::InvalidConfig(_) => "invalid_config",
        Error::InvalidRequest { .. } => "invalid_request",
        Error::Server(_) => "provider_error",
        Error::InvalidResponse(_) => "invalid_response",
        Error::Expired { .. } => "expired",
        Error::DeadlineReached => "deadline_reached",
        Error::PollFailed { .. } => "poll_failed",
        Error::TokensLost { .. } => "tokens_lost",
        Error::IdToken(_) => "id_token",
        Error::Signature(_) => "signature",
        Error::Store(_) => "store",
        Error::FlowFailed { .. } => "flow_failed",
        Error::InvalidKennitala { .. } => "invalid_kennitala",
    }
}

fn store_err(e: StoreError) -> Error {
    Error::Store(e)
}

impl CibaClient {
    fn flows(&self) -> &Flows {
        &self.inner.flows
    }

    /// Sends one token request for `auth_req_id`.
    pub(crate) async fn token_request(
        &self,
        auth_req_id: &str,
        leased_until: Option<SystemTime>,
    ) -> Result<HttpResponse, smartid_core::Error> {
        let now = self.inner.clock.now();
        let request = authenticated_post(
            &self.inner.metadata.token_endpoint,
            &[
                ("grant_type", CIBA_GRANT_TYPE),
                ("auth_req_id", auth_req_id),
            ],
            &self.credentials(),
            now,
        )
        .map_err(|e| smartid_core::Error::InvalidSetting {
            field: "client_auth",
            message: e.to_string(),
        })?;
        // Waiting for a busy pool must not outlast the lease: another
        // replica could take the flow over and poll it too. What the lease
        // leaves after the whole request timeout (and a second) is the wait.
        let flows = self.flows();
        let wait = leased_until.map_or(flows.pool_timeout, |until| {
            until
                .duration_since(now)
                .unwrap_or_default()
                .saturating_sub(flows.request_timeout + Duration::from_secs(1))
                .min(flows.pool_timeout)
        });
        self.inner.http.send(request.pool_timeout(wait)).await
    }

    /// Stores a started flow (due at its first poll).
    pub(crate) async fn store_started(
        &self,
        pending: &PendingAuth,
        alias: Option<String>,
    ) -> Result<(), Error> {
        let flow = StoredFlow {
            format: FLOW_FORMAT,
            pending: pending.clone(),
            ping: alias.is_some(),
            failures: 0,
        };
        let now = self.inner.clock.now();
        let mut new = NewFlow::new(
            FLOW_NAMESPACE,
            pending.auth_req_id(),
            FLOW_FORMAT,
            flow.encode()?,
            now,
        )
        .due(flow.due());
        if let Some(alias) = alias {
            new = new.alias(alias);
        }
        match self.flows().store.insert(new).await.map_err(store_err)? {
            Inserted::Created(_) => Ok(()),
            Inserted::Exists(existing) if existing.id == pending.auth_req_id() => {
                Err(Error::InvalidRequest {
                    field: "auth_req_id",
                    message: "the provider returned an auth_req_id that is already stored".into(),
                })
            }
            Inserted::Exists(_) => Err(Error::InvalidRequest {
                field: "client_notification_token",
                message: "another stored flow uses the same client_notification_token: use a new random token per request".into(),
            }),
            _ => Err(Error::Store(StoreError::Failed {
                reason: "the store answered the insert with something this release does not know"
                    .into(),
            })),
        }
    }

    /// Refuses a notification token that a stored flow already uses (before
    /// anything is sent).
    pub(crate) async fn check_alias_free(&self, alias: &str) -> Result<(), Error> {
        if self
            .flows()
            .store
            .get_by_alias(FLOW_NAMESPACE, alias)
            .await
            .map_err(store_err)?
            .is_some()
        {
            return Err(Error::InvalidRequest {
                field: "client_notification_token",
                message: "another stored flow uses the same client_notification_token: use a new random token per request".into(),
            });
        }
        Ok(())
    }

    /// The stored flow `auth_req_id` as a [`PendingAuth`], to finish it on
    /// this replica (which may never have seen it).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] (field `auth_req_id`) when the store has
    /// no such flow; [`Error::Store`].
    pub async fn resume(&self, auth_req_id: &str) -> Result<PendingAuth, Error> {
        let record = self
            .flows()
            .store
            .get(FLOW_NAMESPACE, auth_req_id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| unknown_flow(auth_req_id))?;
        Ok(StoredFlow::decode(&record)?.pending)
    }

    /// Writes how a flow ended (sealed tokens or the error), retrying a
    /// transient store failure a few times.
    async fn end(&self, record: &FlowRecord, result: Result<Tokens, Error>) -> Step {
        let flow = crate::flow::flow_id(&record.id);
        match &result {
            Ok(_) => {
                tracing::info!(target: "audkenni_ciba", flow = %flow, outcome = "tokens", "CIBA flow ended: the user answered")
            }
            Err(Error::Server(e)) => {
                tracing::info!(target: "audkenni_ciba", flow = %flow, outcome = "provider_error", error = %e.code, "CIBA flow ended with the provider's error")
            }
            Err(e) => {
                tracing::warn!(target: "audkenni_ciba", flow = %flow, outcome = crate::driver::error_kind(e), "CIBA flow ended without tokens")
            }
        }
        let stored = self.write_outcome(record, &result).await;
        match stored {
            // Someone else wrote an outcome first: deliver that one.
            Ok(Some(other)) => Step::Ended {
                result: StoredOutcome::decode(&other, &self.flows().key),
                stored: Ok(()),
            },
            Ok(None) => Step::Ended {
                result,
                stored: Ok(()),
            },
            Err(e) => Step::Ended {
                result,
                stored: Err(e),
            },
        }
    }

    async fn write_outcome(
        &self,
        record: &FlowRecord,
        result: &Result<Tokens, Error>,
    ) -> Result<Option<FlowRecord>, Error> {
        let bytes = StoredOutcome::encode(&record.id, result, &self.flows().key)?;
        let mut attempt = 0u32;
        loop {
            let now = self.inner.clock.now();
            match self
                .flows()
                .store
                .complete(FLOW_NAMESPACE, &record.id, bytes.clone(), now)
                .await
            {
                Ok(Completion::Written(_) | Completion::Missing) => return Ok(None),
                Ok(Completion::AlreadyDone(other)) => return Ok(Some(other)),
                Ok(_) => return Ok(None),
                Err(e) if e.is_transient() && attempt < 3 => {
                    attempt += 1;
                    self.inner
                        .clock
                        .sleep(Duration::from_millis(100 << attempt))
                        .await;
                }
                Err(e) => return Err(store_err(e)),
            }
        }
    }

    /// One poll of `record`, whose lease this task holds: sends one token
    /// request (or none, when the flow has expired) and writes the result:
    /// the outcome, or the next poll time measured from the answer.
    pub(crate) async fn poll_leased(
        &self,
        record: FlowRecord,
        retry: &RetryPolicy,
        pinged: bool,
    ) -> Result<Step, Error> {
        let mut flow = StoredFlow::decode(&record)?;
        let now = self.inner.clock.now();
        let expires_at = flow.pending.expires_at();
        if now >= expires_at {
            return Ok(self
                .end(
                    &record,
                    Err(Error::Expired {
                        expired_at: unix_seconds(expires_at),
                    }),
                )
                .await);
        }
        if pinged {
            // The ping came: from now on the flow is fetched like a polled one.
            flow.ping = false;
        } else if flow.ping {
            // Not due before the ping or the expiry: give the lease back.
            return self.reschedule(&record, &flow).await;
        }
        let interval = flow.pending.interval();
        tracing::trace!(target: "audkenni_ciba", flow = %crate::flow::flow_id(&record.id), interval_s = interval.as_secs(), "polling the token endpoint");
        let leased_until = record.lease.as_ref().map(|(_, until)| *until);
        let answer = self.token_request(&record.id, leased_until).await;
        let answered = self.inner.clock.now();
        let from = answered
            .checked_add(self.flows().margin)
            .unwrap_or(answered);
        match classify(answer) {
            PollOutcome::Done(tokens) => return Ok(self.end(&record, Ok(tokens)).await),
            // After a failed poll, invalid_grant means the lost answer
            // carried the tokens: say so, not "unknown auth_req_id".
            PollOutcome::Fatal(Error::Server(p))
                if flow.failures > 0 && p.code == crate::ErrorCode::InvalidGrant =>
            {
                let lost = Error::TokensLost {
                    failed_polls: flow.failures,
                };
                return Ok(self.end(&record, Err(lost)).await);
            }
            PollOutcome::Fatal(e) => return Ok(self.end(&record, Err(e)).await),
            PollOutcome::Pending(retry_after) => {
                tracing::trace!(target: "audkenni_ciba", flow = %crate::flow::flow_id(&record.id), "authorization_pending");
                flow.failures = 0;
                flow.pending
                    .schedule_next(from, poll_delay(interval, retry_after));
            }
            PollOutcome::SlowDown(retry_after) => {
                flow.failures = 0;
                flow.pending.slow_down();
                let interval = flow.pending.interval();
                tracing::debug!(target: "audkenni_ciba", flow = %crate::flow::flow_id(&record.id), interval_s = interval.as_secs(), "slow_down: the poll interval grows");
                flow.pending
                    .schedule_next(from, poll_delay(interval, retry_after));
            }
            PollOutcome::NotSent(error) => {
                // Every pooled connection stayed busy: the provider saw
                // nothing, so this is neither a failure nor a poll. Come
                // back one interval later, which also eases the load.
                tracing::debug!(target: "audkenni_ciba", flow = %crate::flow::flow_id(&record.id), error = %error, "poll not sent: the connection pool is busy");
                flow.pending.schedule_next(from, interval);
            }
            PollOutcome::Transient(error, retry_after) => {
                flow.failures = flow.failures.saturating_add(1);
                tracing::debug!(target: "audkenni_ciba", flow = %crate::flow::flow_id(&record.id), failures = flow.failures, "transient failure of a poll");
                let Some(backoff) = retry.backoff(flow.failures, retry_after) else {
                    let failed = Error::PollFailed {
                        attempts: flow.failures,
                        last: Box::new(error),
                    };
                    return Ok(self.end(&record, Err(failed)).await);
                };
                // Never earlier than the provider's interval.
                flow.pending
                    .schedule_next(from, poll_delay(interval, Some(backoff)));
            }
        }
        self.reschedule(&record, &flow).await
    }

    async fn reschedule(&self, record: &FlowRecord, flow: &StoredFlow) -> Result<Step, Error> {
        let update = Update::state(FLOW_FORMAT, flow.encode()?, Some(flow.due()));
        let mut attempt = 0u32;
        loop {
            match self
                .flows()
                .store
                .update(FLOW_NAMESPACE, &record.id, record.version, update.clone())
                .await
            {
                Ok(Some(_)) => return Ok(Step::Continues(flow.pending.clone())),
                Ok(None) => return Ok(Step::Lost),
                Err(e) if e.is_transient() && attempt < 3 => {
                    attempt += 1;
                    self.inner
                        .clock
                        .sleep(Duration::from_millis(100 << attempt))
                        .await;
                }
                Err(e) => return Err(store_err(e)),
            }
        }
    }

    /// Waits for the flow `auth_req_id` to end, polling it when it is due
    /// and no other replica holds it. `local` (the caller's handle) is
    /// stored if the store has no such flow, and kept up to date.
    ///
    /// What a sleeping flow holds is this loop and the wait for its outcome:
    /// reading the record, deciding and polling happen in [`Self::step`],
    /// boxed, whose states exist only while it runs.
    pub(crate) async fn wait_stored(
        &self,
        auth_req_id: &str,
        mut local: Option<&mut PendingAuth>,
        options: &WaitOptions,
    ) -> Result<Tokens, Error> {
        loop {
            let (until, recheck) =
                match Box::pin(self.step(auth_req_id, &mut local, options)).await? {
                    Next::Done(result) => return result,
                    Next::Again => continue,
                    Next::Sleep { until, recheck } => (until, recheck),
                };
            let flows = self.flows();
            let clock = self.inner.clock.as_ref();
            wait_for_outcome(
                flows.store.as_ref(),
                FLOW_NAMESPACE,
                auth_req_id,
                Some(until),
                clock,
                recheck,
            )
            .await
            .map_err(store_err)?;
            if clock_is_past(options, clock.now()) {
                // One last look: the outcome may have come at the deadline.
                let ended = flows
                    .store
                    .get(FLOW_NAMESPACE, auth_req_id)
                    .await
                    .map_err(store_err)?
                    .is_some_and(|r| r.outcome.is_some());
                if !ended {
                    return Err(Error::DeadlineReached);
                }
            }
        }
    }

    /// One look at the stored flow: its outcome, how long to sleep, or one
    /// poll under a lease.
    async fn step(
        &self,
        auth_req_id: &str,
        local: &mut Option<&mut PendingAuth>,
        options: &WaitOptions,
    ) -> Result<Next, Error> {
        let flows = self.flows();
        let clock = self.inner.clock.as_ref();
        let record = match flows
            .store
            .get(FLOW_NAMESPACE, auth_req_id)
            .await
            .map_err(store_err)?
        {
            Some(r) => r,
            None => match local.as_deref() {
                Some(p) => {
                    self.store_started(p, None).await.or_else(|e| match e {
                        // Inserted meanwhile by someone else: read it.
                        Error::InvalidRequest { .. } => Ok(()),
                        e => Err(e),
                    })?;
                    return Ok(Next::Again);
                }
                None => return Err(unknown_flow(auth_req_id)),
            },
        };
        if record.outcome.is_some() {
            let result = StoredOutcome::decode(&record, &flows.key);
            self.delivered(auth_req_id).await;
            return Ok(Next::Done(result));
        }
        let flow = StoredFlow::decode(&record)?;
        if let Some(p) = local.as_deref_mut() {
            *p = flow.pending.clone();
        }
        let now = clock.now();
        let due = record.due.unwrap_or_else(|| flow.due());
        let leased_until = record
            .lease
            .as_ref()
            .map(|(_, until)| *until)
            .filter(|until| *until > now);
        let at = due.max(leased_until.unwrap_or(due)).max(now);
        if at > now {
            // Nobody else ends a private polled flow: say at once what
            // waiting would end in.
            let alone = flows.private && !flow.ping;
            if alone && flow.pending.next_poll_at() >= flow.pending.expires_at() {
                let expired = Err(Error::Expired {
                    expired_at: unix_seconds(flow.pending.expires_at()),
                });
                // Stored as ended, so that it is pruned like the others.
                let _ = self.write_outcome(&record, &expired).await;
                self.delivered(auth_req_id).await;
                return Ok(Next::Done(expired));
            }
            if options.is_past_deadline(at) && (alone || clock_is_past(options, now)) {
                return Err(Error::DeadlineReached);
            }
            let until = options.deadline_value().map_or(at, |d| d.min(at));
            // A private store's notifications are never lost: one sleep.
            let recheck = if flows.private {
                until.duration_since(now).unwrap_or_default()
            } else {
                flows.recheck
            };
            return Ok(Next::Sleep { until, recheck });
        }
        if options.is_past_deadline(now) {
            return Err(Error::DeadlineReached);
        }
        let holder = flows.holder("wait");
        let until = now + flows.lease;
        let Some(leased) = flows
            .store
            .lease(FLOW_NAMESPACE, auth_req_id, &holder, now, until)
            .await
            .map_err(store_err)?
        else {
            return Ok(Next::Again);
        };
        if leased.due.is_some_and(|d| d > now) {
            // Rescheduled meanwhile: give the lease back.
            let _ = flows
                .store
                .update(
                    FLOW_NAMESPACE,
                    auth_req_id,
                    leased.version,
                    Update::due(leased.due),
                )
                .await;
            return Ok(Next::Again);
        }
        if let Some(p) = local.as_deref_mut() {
            // Cancel safety of the caller's copy: if this future is
            // dropped while the poll is in flight, a resumed wait still
            // keeps the interval.
            p.schedule_next(now, p.interval());
        }
        match self.poll_leased(leased, &options.retry, false).await? {
            // The result goes to this caller even if the store could not
            // take it (the provider hands tokens out once); waiters
            // elsewhere then see the provider's answer to a later poll.
            Step::Ended { result, .. } => {
                self.delivered(auth_req_id).await;
                Ok(Next::Done(result))
            }
            Step::Continues(p) => {
                if let Some(l) = local.as_deref_mut() {
                    *l = p;
                }
                Ok(Next::Again)
            }
            Step::Lost => Ok(Next::Again),
        }
    }

    /// A private store has no poller to prune it: ended flows older than
    /// [`PRIVATE_RETENTION`] go when another is delivered, at most once per
    /// [`PRIVATE_PRUNE_EVERY`] (a concurrent waiter of the same flow still
    /// reads its outcome meanwhile).
    async fn delivered(&self, _auth_req_id: &str) {
        let flows = self.flows();
        if !flows.private {
            return;
        }
        let now = self.inner.clock.now();
        let Some(before) = now.checked_sub(PRIVATE_RETENTION) else {
            return;
        };
        let now_ms = u64::try_from(unix_millis(now)).unwrap_or(u64::MAX).max(1);
        let last = flows.pruned_at.load(Ordering::Relaxed);
        let every = u64::try_from(PRIVATE_PRUNE_EVERY.as_millis()).unwrap_or(u64::MAX);
        if last != 0 && now_ms.saturating_sub(last) < every {
            return;
        }
        if flows
            .pruned_at
            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return; // another delivery prunes
        }
        for _ in 0..PRUNE_BATCHES {
            match flows
                .store
                .prune(FLOW_NAMESPACE, before, false, PRUNE_BATCH)
                .await
            {
                Ok(n) if n as usize >= PRUNE_BATCH => {}
                _ => break,
            }
        }
    }

    /// Ping mode through the store: checks a ping received by this replica
    /// (whichever replica started the flow), fetches the tokens once under
    /// a lease and stores the outcome, which every waiter then receives.
    /// Returns the `auth_req_id`; answer the provider 204.
    ///
    /// The flow is found by a hash of the Bearer token (the token itself is
    /// never stored), and the ping's `auth_req_id` must be that flow's.
    /// A repeated ping, or one for a flow another replica is fetching, is
    /// accepted and changes nothing.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] (field `authorization`: no flow has this
    /// token; field `body`: not a ping, or another flow's `auth_req_id`):
    /// answer 401 or 400. [`Error::Store`]: answer 503 so that the provider
    /// may try again.
    pub async fn handle_ping(
        &self,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<String, Error> {
        let token = bearer_token(authorization)?;
        let auth_req_id = ping_auth_req_id(body)?;
        let flows = self.flows();
        let record = flows
            .store
            .get_by_alias(FLOW_NAMESPACE, &token_alias(token))
            .await
            .map_err(store_err)?
            .ok_or_else(|| Error::InvalidRequest {
                field: "authorization",
                message: "no stored flow has this client_notification_token".into(),
            })?;
        if record.id != auth_req_id {
            return Err(Error::InvalidRequest {
                field: "body",
                message: "the ping's auth_req_id is not the flow of its token".into(),
            });
        }
        if record.outcome.is_some() {
            return Ok(auth_req_id);
        }
        let now = self.inner.clock.now();
        let holder = flows.holder("ping");
        let Some(leased) = flows
            .store
            .lease(
                FLOW_NAMESPACE,
                &auth_req_id,
                &holder,
                now,
                now + flows.lease,
            )
            .await
            .map_err(store_err)?
        else {
            return Ok(auth_req_id);
        };
        match self
            .poll_leased(leased, &RetryPolicy::default(), true)
            .await?
        {
            Step::Ended { stored, .. } => stored?,
            Step::Continues(_) | Step::Lost => {}
        }
        Ok(auth_req_id)
    }
}

fn unix_millis(t: SystemTime) -> u128 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

fn clock_is_past(options: &WaitOptions, now: SystemTime) -> bool {
    options.deadline_value().is_some_and(|d| now >= d)
}

fn unknown_flow(auth_req_id: &str) -> Error {
    Error::InvalidRequest {
        field: "auth_req_id",
        message: format!(
            "no stored flow {auth_req_id:?}: it was never started with this store, or it was pruned"
        ),
    }
}
