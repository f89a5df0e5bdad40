//! Correlates Hermod's callbacks with sent commands and resolves one future
//! per command with the device's answer or a timing outcome.
//!
//! The flow store ([`FlowStore`], namespace [`STORE_NAMESPACE`]) is the
//! source of truth: one record per command (id = Hermod's command id, alias
//! = the external id) holds the tracked command, an early callback if one
//! came first, and the outcome, written once. Replicas sharing the store
//! share every command.

mod stored;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use smartid_core::store::{
    Completion, FlowRecord, FlowStore, Inserted, MemoryStore, NewFlow, StoreError, StoreFuture,
    Update, wait_for_outcome,
};
use smartid_core::{Clock, SystemClock, WaitOptions};

use crate::callback::Callback;
use crate::client::TrackedCommand;
use crate::error::{Error, Result};
use crate::vocab::{CommandKind, CommandState};

use stored::{StoredEarly, StoredState, callback_outcome_bytes, outcome_bytes, read_outcome};

/// The store namespace of the tracker's records.
pub const STORE_NAMESPACE: &str = "hermod";

/// The format version of the tracker's record state (`format` in the JSON
/// and in the record): this release writes it and reads it and older ones;
/// a newer one is refused with [`StoreError::Incompatible`].
pub const STORE_FORMAT: u32 = stored::STATE_FORMAT;

/// The id of the record of an early callback that names only an external id.
const EXTERNAL_PREFIX: &str = "~external:";

/// Bookkeeping bytes counted per early callback besides its body and key.
const EARLY_OVERHEAD: usize = 96;

/// How long a replica holds a record it is removing (an expired early
/// callback); others leave the record alone meanwhile.
const CLEANUP_LEASE: Duration = Duration::from_secs(10);

/// How many records one sweep looks at.
const SWEEP_LIMIT: usize = 500;

/// How many times an operation is retried on a concurrent change.
const CONTENTION_RETRIES: usize = 16;

/// How a command ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// Hermod reported a final state with the device's result: `COMPLETED`,
    /// `DECLINED`, `FAILED`, `CANCELLED` or a state this version does not know.
    Answered(Callback),
    /// The session-start timeout passed and the user never started the app
    /// (the pop-up was ignored or cancelled).
    SessionNotStarted,
    /// The timeout passed with the command still unopened in the message box
    /// (or Hermod reported `TIMEOUT`).
    TimedOut,
    /// The lifespan passed without an answer (or Hermod reported `EXPIRED`).
    Expired,
}

impl Outcome {
    /// The state: the callback's, or `TIMEOUT`/`EXPIRED`, or the unknown
    /// state `SESSION_NOT_STARTED`.
    pub fn state(&self) -> CommandState {
        match self {
            Outcome::Answered(cb) => cb.state.clone(),
            Outcome::SessionNotStarted => CommandState::Other("SESSION_NOT_STARTED".into()),
            Outcome::TimedOut => CommandState::Timeout,
            Outcome::Expired => CommandState::Expired,
        }
    }

    /// The callback, for [`Outcome::Answered`].
    pub fn callback(&self) -> Option<&Callback> {
        match self {
            Outcome::Answered(cb) => Some(cb),
            _ => None,
        }
    }
}

/// Logs what the tracker did with a callback (see docs/tracing.md).
pub(crate) fn log_delivery(
    command_id: Option<&str>,
    authenticated: bool,
    delivery: &Result<Delivery>,
) {
    let command_id = command_id.unwrap_or("");
    match delivery {
        Ok(Delivery::Resolved) => {
            tracing::info!(target: "hermod_client", command_id, authenticated, "callback delivered: the command's outcome is stored")
        }
        Ok(Delivery::Progress) => {
            tracing::debug!(target: "hermod_client", command_id, authenticated, "progress callback: the session has started")
        }
        Ok(Delivery::Duplicate) => {
            tracing::debug!(target: "hermod_client", command_id, "duplicate callback ignored")
        }
        Ok(Delivery::Late) => {
            tracing::debug!(target: "hermod_client", command_id, "stale callback ignored: the command already ended")
        }
        Ok(Delivery::Early) => {
            tracing::debug!(target: "hermod_client", command_id, "early callback kept for a command not tracked yet")
        }
        Ok(Delivery::WrongKind { expected, got }) => {
            tracing::warn!(target: "hermod_client", command_id, expected = ?expected, got = ?got, "callback of the wrong kind ignored")
        }
        Ok(other) => {
            tracing::warn!(target: "hermod_client", command_id, authenticated, delivery = ?other, "callback refused; Hermod should retry")
        }
        Err(e) => {
            tracing::warn!(target: "hermod_client", command_id, error_kind = error_kind(e), "callback could not be stored; Hermod should retry")
        }
    }
}

/// The kind of an error, for logs.
pub(crate) fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::Store(_) => "store",
        Error::Unauthorized { .. } => "unauthorized",
        Error::Server(_) => "server",
        Error::InvalidResponse(_) => "invalid_response",
        Error::Http(_) => "http",
        _ => "other",
    }
}

/// What the tracker did with a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// A final answer that resolved a waiting command.
    Resolved,
    /// A progress report (`IN_PROGRESS`, `STARTED`): the session has started.
    Progress,
    /// The same final callback again: ignored.
    Duplicate,
    /// A callback after the command already ended (locally timed out, or a
    /// different final state): ignored.
    Late,
    /// A callback for a command not tracked (yet): kept in the store for a
    /// while, since Hermod can call back before the command's answer was
    /// registered; the replica that tracks the command applies it.
    Early,
    /// A callback for an unknown command while this tracker's allowance of
    /// early callbacks is used up (by count or bytes, within the early
    /// callbacks' time to live), or a record busy being cleaned up: refused,
    /// Hermod should retry.
    Refused,
    /// A callback for a command not tracked (yet) from a caller that was not
    /// authenticated: not kept (only authenticated callers may park a
    /// callback for a command tracked later), Hermod should retry.
    NotTracked,
    /// The callback's kind (the path it arrived on) is not the tracked
    /// command's kind: ignored.
    WrongKind {
        /// The kind of the tracked command.
        expected: CommandKind,
        /// The kind the callback arrived as.
        got: CommandKind,
    },
}

/// The early callbacks this tracker parked, for its allowance (count and
/// bytes within the time to live) and for removing them once expired.
#[derive(Default)]
struct Local {
    early: HashMap<String, (SystemTime, usize)>,
    early_order: VecDeque<String>,
    early_bytes: usize,
    next_sweep: Option<SystemTime>,
}

impl Local {
    fn release(&mut self, key: &str) {
        if let Some((_, cost)) = self.early.remove(key) {
            self.early_bytes = self.early_bytes.saturating_sub(cost);
        }
    }

    /// Forgets the entries past `ttl`; returns their keys (to remove from
    /// the store if still unclaimed).
    fn expire(&mut self, now: SystemTime, ttl: Duration) -> Vec<String> {
        let mut gone = Vec::new();
        while let Some(key) = self.early_order.front() {
            let expired = match self.early.get(key) {
                Some((received, _)) => now.duration_since(*received).unwrap_or_default() > ttl,
                None => true,
            };
            if !expired {
                break;
            }
            if let Some(key) = self.early_order.pop_front()
                && self.early.contains_key(&key)
            {
                self.release(&key);
                gone.push(key);
            }
        }
        gone
    }
}

struct Shared {
    store: Arc<dyn FlowStore>,
    clock: Arc<dyn Clock>,
    holder: String,
    session_start_check: bool,
    max_early: usize,
    max_early_bytes: usize,
    early_ttl: Duration,
    fallback: Duration,
    store_timeout: Duration,
    retention: Duration,
    sweep_every: Duration,
    local: Mutex<Local>,
}

impl Shared {
    fn local(&self) -> MutexGuard<'_, Local> {
        // The bookkeeping stays usable after a panic elsewhere.
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One store operation, bounded by the store timeout.
    async fn io<T>(&self, op: StoreFuture<'_, T>) -> Result<T> {
        match tokio::time::timeout(self.store_timeout, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Error::Store(e)),
            Err(_) => Err(Error::Store(StoreError::Timeout {
                after: self.store_timeout,
            })),
        }
    }

    fn early_is_valid(&self, early: &StoredEarly, kind: &CommandKind, now: SystemTime) -> bool {
        let fresh = now
            .duration_since(early.received.to_system())
            .unwrap_or_default()
            <= self.early_ttl;
        fresh && early.callback.kind().is_none_or(|k| k == kind)
    }

    fn leased_by_other(&self, record: &FlowRecord, now: SystemTime) -> bool {
        record.is_leased_at(now) && !record.is_leased_by(&self.holder, now)
    }
}

/// Correlates callbacks with commands (by command id, then external id) and
/// resolves a [`Pending`] future per command, through a [`FlowStore`]
/// shared by every replica of a service ([`TrackerBuilder::store`]; a
/// private [`MemoryStore`] by default).
///
/// - A callback received by any replica resolves [`Tracker::track`] and
///   [`Tracker::wait`] on any other (the store's notification, with a
///   polling fallback, [`TrackerBuilder::notification_fallback`]).
/// - An outcome is written once: a repeated callback is
///   [`Delivery::Duplicate`], a different final state afterwards
///   [`Delivery::Late`].
/// - A callback for a command not tracked yet (authenticated callers only)
///   is kept in the command's record; the replica that tracks the command
///   applies it, whichever of the two comes first.
/// - The deadlines are computed from the stored send time, so they hold
///   across restarts; [`Tracker::outcome`] and
///   [`Tracker::outcome_by_external_id`] answer for commands sent by any
///   replica.
///
/// Deadlines come from each command's [`TrackedCommand`] timing on the
/// tracker's [`Clock`]:
/// - only when switched on with [`TrackerBuilder::session_start_check`] (off
///   by default: progress callbacks are not in Hermod's public record): no
///   sign of the session by the session-start timeout ends as
///   [`Outcome::SessionNotStarted`], and still no sign at the timeout as
///   [`Outcome::TimedOut`] (a progress callback or
///   [`Tracker::mark_session_started`] is the sign);
/// - unanswered at the lifespan: [`Outcome::Expired`];
/// - Hermod's `TIMEOUT` and `EXPIRED` callbacks end the wait as
///   [`Outcome::TimedOut`] and [`Outcome::Expired`] whatever the settings.
///
/// The waiter that sees a deadline pass writes that outcome; when another
/// outcome was written first, that one is returned. Give every replica the
/// same settings.
///
/// Cheap to clone; clones share the state.
#[derive(Clone)]
pub struct Tracker {
    shared: Arc<Shared>,
}

impl fmt::Debug for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.shared.local();
        f.debug_struct("Tracker")
            .field("replica", &self.shared.holder)
            .field("early_callbacks", &local.early.len())
            .field("early_bytes", &local.early_bytes)
            .field("session_start_check", &self.shared.session_start_check)
            .finish_non_exhaustive()
    }
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}

/// Builder of [`Tracker`].
#[must_use]
pub struct TrackerBuilder {
    store: Option<Arc<dyn FlowStore>>,
    clock: Arc<dyn Clock>,
    replica: Option<String>,
    session_start_check: bool,
    max_early: usize,
    max_early_bytes: usize,
    early_ttl: Duration,
    fallback: Duration,
    store_timeout: Duration,
    retention: Duration,
}

impl fmt::Debug for TrackerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackerBuilder")
            .field("shared_store", &self.store.is_some())
            .field("replica", &self.replica)
            .field("session_start_check", &self.session_start_check)
            .field("max_early", &self.max_early)
            .field("max_early_bytes", &self.max_early_bytes)
            .field("early_ttl", &self.early_ttl)
            .field("notification_fallback", &self.fallback)
            .field("store_timeout", &self.store_timeout)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

static REPLICAS: AtomicU64 = AtomicU64::new(0);

fn replica_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "hermod-{}-{}-{nanos:x}",
        std::process::id(),
        REPLICAS.fetch_add(1, Ordering::Relaxed)
    )
}

impl TrackerBuilder {
    /// The store of tracked commands, early callbacks and outcomes: give
    /// every replica of a service the same one (e.g. a PostgreSQL store) so
    /// that a callback reaching any replica resolves the command wherever
    /// it is waited for. Defaults to a private [`MemoryStore`] (this
    /// tracker and its clones only; nothing survives a restart). An
    /// `Arc<dyn FlowStore>` is a store too.
    pub fn store(mut self, store: impl FlowStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The clock of the deadlines (the commands' timing and the caller's
    /// [`WaitOptions::deadline`]) and of the early-callback expiry. Defaults
    /// to [`SystemClock`]; give the client the same one.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// This replica's name in the store's leases (unique among replicas).
    /// Defaults to one made of the process id, a counter and the time.
    pub fn replica_name(mut self, name: impl Into<String>) -> Self {
        self.replica = Some(name.into());
        self
    }

    /// Whether a command whose session has not visibly started (no progress
    /// callback, no [`Tracker::mark_session_started`]) by the session-start
    /// timeout ends as [`Outcome::SessionNotStarted`]. Defaults to `false`:
    /// Hermod's public record shows no progress callbacks, so turn it on
    /// only when yours sends them or your application marks the start.
    pub fn session_start_check(mut self, enabled: bool) -> Self {
        self.session_start_check = enabled;
        self
    }

    /// How many callbacks for untracked commands this tracker parks within
    /// `ttl`, and how long they are kept (an older one is not applied, and
    /// is removed from the store). Defaults to 10,000 for 5 minutes. The
    /// allowance is per tracker: with N replicas the store holds at most N
    /// times as many.
    pub fn early_callbacks(mut self, max: usize, ttl: Duration) -> Self {
        self.max_early = max;
        self.early_ttl = ttl;
        self
    }

    /// How many bytes the callbacks this tracker parks for untracked
    /// commands may take within their time to live (their bodies as
    /// received, their keys and a fixed overhead each); a larger body alone
    /// is refused. Defaults to 8 MiB.
    pub fn early_callback_bytes(mut self, max_bytes: usize) -> Self {
        self.max_early_bytes = max_bytes;
        self
    }

    /// How often a waiter reads its command's record again when no
    /// notification came (notifications can be lost). Defaults to 1 s.
    pub fn notification_fallback(mut self, period: Duration) -> Self {
        self.fallback = period.max(Duration::from_millis(1));
        self
    }

    /// How long one store operation may take before it fails with
    /// [`StoreError::Timeout`] (the receiver then answers 503). Defaults to
    /// 5 s.
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.store_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long records of ended commands are kept (for
    /// [`Tracker::outcome`]) before the tracker prunes them, counted from
    /// the record's creation: keep it longer than your commands' lifespan
    /// (a record pruned while a replica still waits leaves that waiter to
    /// the deadlines alone). Defaults to 1 hour.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Builds the tracker.
    pub fn build(self) -> Tracker {
        Tracker {
            shared: Arc::new(Shared {
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                clock: self.clock,
                holder: self.replica.unwrap_or_else(replica_name),
                session_start_check: self.session_start_check,
                max_early: self.max_early,
                max_early_bytes: self.max_early_bytes,
                early_ttl: self.early_ttl,
                fallback: self.fallback,
                store_timeout: self.store_timeout,
                retention: self.retention,
                sweep_every: Duration::from_secs(60),
                local: Mutex::new(Local::default()),
            }),
        }
    }
}

/// What a lookup found.
enum Found {
    Tracked(FlowRecord, StoredState),
    Early(FlowRecord, StoredState),
    None,
}

impl Tracker {
    /// A tracker on the system clock and a private in-memory store,
    /// session-start check off.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder.
    pub fn builder() -> TrackerBuilder {
        TrackerBuilder {
            store: None,
            clock: Arc::new(SystemClock),
            replica: None,
            session_start_check: false,
            max_early: 10_000,
            max_early_bytes: 8 * 1024 * 1024,
            early_ttl: Duration::from_secs(300),
            fallback: Duration::from_secs(1),
            store_timeout: Duration::from_secs(5),
            retention: Duration::from_secs(3600),
        }
    }

    /// This tracker's replica name (the holder of its leases).
    pub fn replica_name(&self) -> &str {
        &self.shared.holder
    }

    /// Stores a command as tracked, without waiting for its outcome; a
    /// callback that arrived before (on any replica) is applied. Storing it
    /// again changes nothing.
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn register(&self, tracked: TrackedCommand) -> Result<()> {
        self.claim(&tracked).await
    }

    /// Tracks a command and returns the future of its outcome: when first
    /// polled it stores the command ([`Tracker::register`]), then waits. It
    /// ends at the latest at `options.deadline` with
    /// [`Error::DeadlineReached`] (the command stays tracked: wait again with
    /// [`Tracker::wait`], on any replica). Tracking a command again waits
    /// on the same record. A callback that arrived before is applied.
    ///
    /// Waiting involves no request to Hermod, so `options.retry` and
    /// `options.poll_interval` do not apply; the command's own deadlines
    /// (lifespan, and with the session-start check its timeouts) still end
    /// the wait with an [`Outcome`]. A store failure ends it with
    /// [`Error::Store`] (the command stays tracked).
    ///
    /// # Example
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use hermod_client::{
    ///     Callback, CommandKind, CommandTiming, Delivery, Outcome, TrackedCommand, Tracker,
    ///     WaitOptions,
    /// };
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hermod_client::Error> {
    /// let tracker = Tracker::new();
    /// let now = SystemTime::now();
    /// let tracked = TrackedCommand::new("688", None, CommandKind::Sign, CommandTiming::default(), now);
    /// tracker.register(tracked.clone()).await?;
    ///
    /// // What the callback receiver does with Hermod's callback:
    /// let callback = Callback::from_json(
    ///     Some(CommandKind::Sign),
    ///     br#"{"commandId":"688","state":"COMPLETED","result":{"signatures":[]}}"#,
    /// )?;
    /// assert_eq!(tracker.deliver(callback).await?, Delivery::Resolved);
    ///
    /// let options = WaitOptions::new().timeout_from(now, Duration::from_secs(60));
    /// let outcome = tracker.track(tracked, &options).await?;
    /// assert!(matches!(outcome, Outcome::Answered(_)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn track(&self, tracked: TrackedCommand, options: &WaitOptions) -> Pending {
        let deadline = options.deadline_value();
        let tracker = self.clone();
        let command_id = tracked.command_id.clone();
        let id = command_id.clone();
        Pending {
            command_id,
            inner: Box::pin(async move {
                tracker.claim(&tracked).await?;
                tracker.wait_loop(&id, Some(tracked), deadline).await
            }),
        }
    }

    /// A future on a tracked command's outcome, whichever replica sent or
    /// tracked it (e.g. after the first future was dropped, reached its
    /// deadline, or its replica restarted), ending at the latest at
    /// `options.deadline`.
    ///
    /// The future ends with [`Error::UnknownCommand`] when no replica
    /// tracks the command (or its record was pruned).
    pub fn wait(&self, command_id: &str, options: &WaitOptions) -> Pending {
        let deadline = options.deadline_value();
        let tracker = self.clone();
        let id = command_id.to_owned();
        Pending {
            command_id: id.clone(),
            inner: Box::pin(async move { tracker.wait_loop(&id, None, deadline).await }),
        }
    }

    /// The outcome of a command, tracked by any replica, if it has ended
    /// (a deadline that passed is written as the outcome now); `None` while
    /// it waits, or when no record of it exists.
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn outcome(&self, command_id: &str) -> Result<Option<Outcome>> {
        let record = self
            .shared
            .io(self.shared.store.get(STORE_NAMESPACE, command_id))
            .await?;
        match record {
            Some(record) => self.resolve_now(record).await,
            None => Ok(None),
        }
    }

    /// The outcome of the command sent with this external id, as
    /// [`Tracker::outcome`].
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn outcome_by_external_id(&self, external_id: &str) -> Result<Option<Outcome>> {
        let record = self
            .shared
            .io(self.shared.store.get_by_alias(STORE_NAMESPACE, external_id))
            .await?;
        match record {
            Some(record) => self.resolve_now(record).await,
            None => Ok(None),
        }
    }

    /// The command id tracked under an external id, if any.
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn command_id_of(&self, external_id: &str) -> Result<Option<String>> {
        let record = self
            .shared
            .io(self.shared.store.get_by_alias(STORE_NAMESPACE, external_id))
            .await?;
        Ok(record
            .filter(|r| !r.id.starts_with(EXTERNAL_PREFIX))
            .map(|r| r.id))
    }

    /// The commands still waiting, tracked by any replica (up to 10,000,
    /// oldest first). Commands whose deadline passed get that outcome now
    /// and are not listed.
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn waiting(&self) -> Result<Vec<TrackedCommand>> {
        let records = self
            .shared
            .io(self.shared.store.waiting(STORE_NAMESPACE, 10_000))
            .await?;
        let now = self.shared.clock.now();
        let mut out = Vec::new();
        for record in records {
            let state = StoredState::read(&record)?;
            let Some(command) = &state.command else {
                continue;
            };
            let tracked = command.to_tracked(&record)?;
            match local_outcome(
                &tracked,
                state.session_started,
                self.shared.session_start_check,
                now,
            ) {
                Some(outcome) => {
                    self.write_outcome(&record.id, &outcome).await?;
                }
                None => out.push(tracked),
            }
        }
        Ok(out)
    }

    /// Records that the user started the session (the app opened the
    /// command). Returns `false` when no replica tracks the command.
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn mark_session_started(&self, command_id: &str) -> Result<bool> {
        for _ in 0..CONTENTION_RETRIES {
            let Some(record) = self
                .shared
                .io(self.shared.store.get(STORE_NAMESPACE, command_id))
                .await?
            else {
                return Ok(false);
            };
            let mut state = StoredState::read(&record)?;
            if state.command.is_none() {
                return Ok(false);
            }
            if record.outcome.is_some() || state.session_started {
                return Ok(true);
            }
            state.session_started = true;
            let update = Update::state(STORE_FORMAT, state.to_bytes(), None);
            if self
                .shared
                .io(self
                    .shared
                    .store
                    .update(STORE_NAMESPACE, command_id, record.version, update))
                .await?
                .is_some()
            {
                return Ok(true);
            }
        }
        Err(contention(command_id))
    }

    /// Deletes a command's record from the store (for every replica); its
    /// futures keep waiting for their deadlines.
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn forget(&self, command_id: &str) -> Result<()> {
        self.shared
            .io(self.shared.store.remove(STORE_NAMESPACE, command_id))
            .await?;
        self.shared.local().release(command_id);
        Ok(())
    }

    /// Number of callbacks this tracker parked for commands not tracked
    /// yet (within their time to live, and not claimed here since), and the
    /// bytes they are counted as.
    pub fn early_usage(&self) -> (usize, usize) {
        let local = self.shared.local();
        (local.early.len(), local.early_bytes)
    }

    /// Feeds a callback from an authenticated caller: resolves its command,
    /// or keeps it for a command not yet tracked.
    ///
    /// Only call this for callbacks whose sender you authenticated (the
    /// receiver does when it has credentials); otherwise use
    /// [`Tracker::deliver_unauthenticated`], so that a forged callback
    /// cannot be parked for a command tracked later.
    ///
    /// # Errors
    /// [`Error::Store`] when the outcome (or the early callback) could not
    /// be stored: answer Hermod with a 5xx so that it retries, never 200.
    pub async fn deliver(&self, callback: Callback) -> Result<Delivery> {
        let command_id = callback.command_id.clone();
        let delivery = self.deliver_inner(callback, None, true).await;
        log_delivery(command_id.as_deref(), true, &delivery);
        delivery
    }

    /// Feeds a callback from a caller that was not authenticated: it
    /// resolves a command already tracked, but is never kept for a command
    /// tracked later ([`Delivery::NotTracked`]).
    ///
    /// # Errors
    /// As [`Tracker::deliver`].
    pub async fn deliver_unauthenticated(&self, callback: Callback) -> Result<Delivery> {
        let command_id = callback.command_id.clone();
        let delivery = self.deliver_inner(callback, None, false).await;
        log_delivery(command_id.as_deref(), false, &delivery);
        delivery
    }

    pub(crate) async fn deliver_inner(
        &self,
        callback: Callback,
        body: Option<&[u8]>,
        authenticated: bool,
    ) -> Result<Delivery> {
        let sh = &self.shared;
        self.housekeeping().await;
        for _ in 0..CONTENTION_RETRIES {
            let now = sh.clock.now();
            match self.find(&callback).await? {
                Found::Tracked(record, state) => {
                    let Some(command) = &state.command else {
                        continue;
                    };
                    if let Some(got) = &callback.kind
                        && got != command.kind()
                    {
                        return Ok(Delivery::WrongKind {
                            expected: command.kind().clone(),
                            got: got.clone(),
                        });
                    }
                    if record.outcome.is_some() {
                        return compare(&record, &callback);
                    }
                    if callback.state.is_final() {
                        match sh
                            .io(sh.store.complete(
                                STORE_NAMESPACE,
                                &record.id,
                                callback_outcome_bytes(&callback),
                                now,
                            ))
                            .await?
                        {
                            Completion::Written(_) => return Ok(Delivery::Resolved),
                            Completion::AlreadyDone(done) => return compare(&done, &callback),
                            Completion::Missing => continue,
                            _ => continue,
                        }
                    }
                    if state.session_started {
                        return Ok(Delivery::Progress);
                    }
                    let mut next = state.clone();
                    next.session_started = true;
                    let update = Update::state(STORE_FORMAT, next.to_bytes(), None);
                    if sh
                        .io(sh
                            .store
                            .update(STORE_NAMESPACE, &record.id, record.version, update))
                        .await?
                        .is_some()
                    {
                        return Ok(Delivery::Progress);
                    }
                }
                Found::Early(record, state) => {
                    if !authenticated {
                        return Ok(Delivery::NotTracked);
                    }
                    if sh.leased_by_other(&record, now) {
                        // Being removed as expired: Hermod retries.
                        return Ok(Delivery::Refused);
                    }
                    if let Some(existing) = &state.early {
                        let fresh = now
                            .duration_since(existing.received.to_system())
                            .unwrap_or_default()
                            <= sh.early_ttl;
                        if fresh
                            && (*existing.callback.state() == callback.state
                                || existing.callback.state().is_final())
                        {
                            return Ok(Delivery::Duplicate);
                        }
                    }
                    let Some(cost) = self.reserve(&record.id, &callback, body, now) else {
                        return Ok(Delivery::Refused);
                    };
                    let mut next = StoredState::early(&callback, now);
                    next.session_started |= state.session_started;
                    let update = Update::state(STORE_FORMAT, next.to_bytes(), None);
                    match sh
                        .io(sh
                            .store
                            .update(STORE_NAMESPACE, &record.id, record.version, update))
                        .await
                    {
                        Ok(Some(_)) => return Ok(Delivery::Early),
                        Ok(None) => self.unreserve(&record.id, cost),
                        Err(e) => {
                            self.unreserve(&record.id, cost);
                            return Err(e);
                        }
                    }
                }
                Found::None => {
                    if !authenticated {
                        return Ok(Delivery::NotTracked);
                    }
                    let key = match (&callback.command_id, &callback.external_id) {
                        (Some(id), _) => id.clone(),
                        (None, Some(ext)) => format!("{EXTERNAL_PREFIX}{ext}"),
                        (None, None) => return Ok(Delivery::Refused),
                    };
                    let Some(cost) = self.reserve(&key, &callback, body, now) else {
                        return Ok(Delivery::Refused);
                    };
                    let state = StoredState::early(&callback, now);
                    let mut flow =
                        NewFlow::new(STORE_NAMESPACE, &key, STORE_FORMAT, state.to_bytes(), now);
                    if let Some(ext) = &callback.external_id {
                        flow = flow.alias(ext);
                    }
                    match sh.io(sh.store.insert(flow)).await {
                        Ok(Inserted::Created(_)) => return Ok(Delivery::Early),
                        Ok(Inserted::Exists(existing)) if existing.id != key => {
                            // The external id names another record: park under
                            // the command id alone.
                            let flow = NewFlow::new(
                                STORE_NAMESPACE,
                                &key,
                                STORE_FORMAT,
                                state.to_bytes(),
                                now,
                            );
                            match sh.io(sh.store.insert(flow)).await {
                                Ok(Inserted::Created(_)) => return Ok(Delivery::Early),
                                Ok(_) => self.unreserve(&key, cost),
                                Err(e) => {
                                    self.unreserve(&key, cost);
                                    return Err(e);
                                }
                            }
                        }
                        Ok(_) => self.unreserve(&key, cost),
                        Err(e) => {
                            self.unreserve(&key, cost);
                            return Err(e);
                        }
                    }
                }
            }
        }
        // Changed under us every time: Hermod retries.
        Ok(Delivery::Refused)
    }

    /// The record a callback is for: by command id, then by external id.
    async fn find(&self, callback: &Callback) -> Result<Found> {
        let sh = &self.shared;
        let mut record = None;
        if let Some(id) = &callback.command_id {
            record = sh.io(sh.store.get(STORE_NAMESPACE, id)).await?;
        }
        if record.is_none()
            && let Some(ext) = &callback.external_id
        {
            record = sh.io(sh.store.get_by_alias(STORE_NAMESPACE, ext)).await?;
            // An early record of another command id is not this callback's.
            if let Some(r) = &record
                && callback.command_id.is_some()
                && !r.id.starts_with(EXTERNAL_PREFIX)
                && StoredState::read(r)?.command.is_none()
            {
                record = None;
            }
        }
        let Some(record) = record else {
            return Ok(Found::None);
        };
        let state = StoredState::read(&record)?;
        Ok(if state.command.is_some() {
            Found::Tracked(record, state)
        } else {
            Found::Early(record, state)
        })
    }

    /// Counts an early callback against this tracker's allowance; `None`
    /// when it does not fit.
    fn reserve(
        &self,
        key: &str,
        callback: &Callback,
        body: Option<&[u8]>,
        now: SystemTime,
    ) -> Option<usize> {
        let sh = &self.shared;
        let body_len = match body {
            Some(b) => b.len(),
            None => serde_json::to_vec(&callback.raw).map(|v| v.len()).ok()?,
        };
        let cost = body_len + key.len() + EARLY_OVERHEAD;
        let mut local = sh.local();
        let replaced = local.early.get(key).map_or(0, |(_, c)| *c);
        let bytes_after = local
            .early_bytes
            .saturating_sub(replaced)
            .saturating_add(cost);
        if bytes_after > sh.max_early_bytes || (replaced == 0 && local.early.len() >= sh.max_early)
        {
            return None;
        }
        if replaced == 0 {
            local.early_order.push_back(key.to_owned());
        }
        local.early_bytes = bytes_after;
        local.early.insert(key.to_owned(), (now, cost));
        Some(cost)
    }

    fn unreserve(&self, key: &str, cost: usize) {
        let mut local = self.shared.local();
        if local.early.get(key).is_some_and(|(_, c)| *c == cost) {
            local.release(key);
        }
    }

    /// Stores the command as tracked, claiming an early record if one
    /// exists, and applies its early callback.
    async fn claim(&self, tracked: &TrackedCommand) -> Result<()> {
        let sh = &self.shared;
        self.housekeeping().await;
        let id = tracked.command_id.as_str();
        let mut use_alias = tracked.external_id.is_some();
        // An early callback moved here from a record keyed by the external id.
        let mut carried: Option<StoredEarly> = None;
        let mut waited = 0usize;
        for _ in 0..(CONTENTION_RETRIES + 400) {
            let now = sh.clock.now();
            let mut state = StoredState::tracked(tracked);
            if let Some(early) = &carried {
                state.session_started = !early.callback.state().is_final();
                state.early = Some(early.clone());
            }
            let mut flow = NewFlow::new(STORE_NAMESPACE, id, STORE_FORMAT, state.to_bytes(), now);
            if use_alias && let Some(ext) = &tracked.external_id {
                flow = flow.alias(ext);
            }
            match sh.io(sh.store.insert(flow)).await? {
                Inserted::Created(record) => {
                    sh.local().release(id);
                    return self.settle(record).await.map(drop);
                }
                Inserted::Exists(record) if record.id == id => {
                    let existing = StoredState::read(&record)?;
                    if existing.command.is_some() {
                        // Tracked already (here or on another replica).
                        return self.settle(record).await.map(drop);
                    }
                    if sh.leased_by_other(&record, now) && waited < 400 {
                        // Being removed as expired; the removal is quick.
                        waited += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    let mut next = StoredState::tracked(tracked);
                    next.session_started = existing.session_started;
                    next.early = existing
                        .early
                        .filter(|e| sh.early_is_valid(e, &tracked.kind, now));
                    let update = Update::state(STORE_FORMAT, next.to_bytes(), None);
                    if let Some(claimed) = sh
                        .io(sh.store.update(STORE_NAMESPACE, id, record.version, update))
                        .await?
                    {
                        sh.local().release(id);
                        return self.settle(claimed).await.map(drop);
                    }
                }
                Inserted::Exists(record) => {
                    // The external id is another record's.
                    let existing = StoredState::read(&record)?;
                    let alias_only = record.id.starts_with(EXTERNAL_PREFIX)
                        && existing.command.is_none()
                        && carried.is_none();
                    if !alias_only {
                        use_alias = false;
                        continue;
                    }
                    // An early callback that named only the external id:
                    // take it over (under a lease, so that nobody else
                    // does), then create this command's record with it.
                    let until = now + CLEANUP_LEASE;
                    let Some(leased) = sh
                        .io(sh
                            .store
                            .lease(STORE_NAMESPACE, &record.id, &sh.holder, now, until))
                        .await?
                    else {
                        waited += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    };
                    let leased_state = StoredState::read(&leased)?;
                    carried = leased_state
                        .early
                        .filter(|e| sh.early_is_valid(e, &tracked.kind, now));
                    sh.io(sh.store.remove(STORE_NAMESPACE, &leased.id)).await?;
                    sh.local().release(&leased.id);
                }
                _ => continue,
            }
        }
        Err(contention(id))
    }

    /// Applies a claimed record's early callback if it has no outcome yet
    /// (also finishes a claim whose replica died before applying it).
    async fn settle(&self, record: FlowRecord) -> Result<FlowRecord> {
        let sh = &self.shared;
        if record.outcome.is_some() {
            return Ok(record);
        }
        let state = StoredState::read(&record)?;
        let (Some(command), Some(early)) = (&state.command, &state.early) else {
            return Ok(record);
        };
        let now = sh.clock.now();
        if !early.callback.state().is_final() || !sh.early_is_valid(early, command.kind(), now) {
            return Ok(record);
        }
        let outcome = outcome_of(early.callback.to_callback());
        match sh
            .io(sh
                .store
                .complete(STORE_NAMESPACE, &record.id, outcome_bytes(&outcome), now))
            .await?
        {
            Completion::Written(r) | Completion::AlreadyDone(r) => Ok(r),
            _ => Ok(record),
        }
    }

    /// Writes a timing outcome (once); the outcome that won.
    async fn write_outcome(&self, id: &str, outcome: &Outcome) -> Result<Option<Outcome>> {
        let sh = &self.shared;
        let now = sh.clock.now();
        match sh
            .io(sh
                .store
                .complete(STORE_NAMESPACE, id, outcome_bytes(outcome), now))
            .await?
        {
            Completion::Written(_) => Ok(Some(outcome.clone())),
            Completion::AlreadyDone(record) => read_outcome(&record),
            _ => Ok(None),
        }
    }

    /// The outcome of a record now: the stored one, or the one its
    /// deadlines give (written).
    async fn resolve_now(&self, record: FlowRecord) -> Result<Option<Outcome>> {
        let record = self.settle(record).await?;
        if record.outcome.is_some() {
            return read_outcome(&record);
        }
        let state = StoredState::read(&record)?;
        let Some(command) = &state.command else {
            return Ok(None);
        };
        let tracked = command.to_tracked(&record)?;
        let now = self.shared.clock.now();
        match local_outcome(
            &tracked,
            state.session_started,
            self.shared.session_start_check,
            now,
        ) {
            Some(outcome) => self.write_outcome(&record.id, &outcome).await,
            None => Ok(None),
        }
    }

    async fn wait_loop(
        &self,
        id: &str,
        mut known: Option<TrackedCommand>,
        deadline: Option<SystemTime>,
    ) -> Result<Outcome> {
        let sh = &self.shared;
        let check = sh.session_start_check;
        loop {
            let record = sh.io(sh.store.get(STORE_NAMESPACE, id)).await?;
            let Some(record) = record else {
                // Forgotten or pruned: the deadlines alone end the wait.
                return match known {
                    Some(t) => self.wait_by_clock(&t, deadline).await,
                    None => Err(Error::UnknownCommand {
                        command_id: id.to_owned(),
                    }),
                };
            };
            let record = self.settle(record).await?;
            if let Some(outcome) = read_outcome(&record)? {
                return Ok(outcome);
            }
            let state = StoredState::read(&record)?;
            let Some(command) = &state.command else {
                return Err(Error::UnknownCommand {
                    command_id: id.to_owned(),
                });
            };
            let tracked = command.to_tracked(&record)?;
            let started = state.session_started;
            let now = sh.clock.now();
            if let Some(outcome) = local_outcome(&tracked, started, check, now) {
                if let Some(won) = self.write_outcome(id, &outcome).await? {
                    return Ok(won);
                }
                continue;
            }
            // The command's own deadlines first: at the same moment its
            // outcome wins over the caller's deadline.
            if deadline.is_some_and(|d| now >= d) {
                return Err(Error::DeadlineReached {
                    command_id: id.to_owned(),
                });
            }
            let own = next_deadline(&tracked, started, check);
            let wake = deadline.map_or(own, |d| d.min(own));
            known = Some(tracked);
            let waited = wait_for_outcome(
                sh.store.as_ref(),
                STORE_NAMESPACE,
                id,
                Some(wake),
                sh.clock.as_ref(),
                sh.fallback,
            )
            .await
            .map_err(Error::Store)?;
            if let Some(record) = waited
                && let Some(outcome) = read_outcome(&record)?
            {
                return Ok(outcome);
            }
        }
    }

    async fn wait_by_clock(
        &self,
        tracked: &TrackedCommand,
        deadline: Option<SystemTime>,
    ) -> Result<Outcome> {
        let sh = &self.shared;
        loop {
            let now = sh.clock.now();
            if let Some(outcome) = local_outcome(tracked, false, sh.session_start_check, now) {
                return Ok(outcome);
            }
            if deadline.is_some_and(|d| now >= d) {
                return Err(Error::DeadlineReached {
                    command_id: tracked.command_id.clone(),
                });
            }
            let own = next_deadline(tracked, false, sh.session_start_check);
            sh.clock
                .sleep_until(deadline.map_or(own, |d| d.min(own)))
                .await;
        }
    }

    /// Removes this tracker's expired early callbacks from the store and,
    /// every minute, writes the outcomes of commands whose deadlines passed
    /// unwatched, removes orphaned expired early callbacks and prunes
    /// records past the retention. Failures are left for the next time.
    async fn housekeeping(&self) {
        let sh = &self.shared;
        let now = sh.clock.now();
        let (expired, sweep) = {
            let mut local = sh.local();
            let expired = local.expire(now, sh.early_ttl);
            let sweep = local.next_sweep.is_none_or(|at| now >= at);
            if sweep {
                local.next_sweep = Some(now + sh.sweep_every);
            }
            (expired, sweep)
        };
        for key in expired {
            if let Ok(Some(record)) = sh.io(sh.store.get(STORE_NAMESPACE, &key)).await {
                let _ = self.remove_if_expired_early(record, now).await;
            }
        }
        if !sweep {
            return;
        }
        let Ok(records) = sh.io(sh.store.waiting(STORE_NAMESPACE, SWEEP_LIMIT)).await else {
            return;
        };
        for record in records {
            let Ok(state) = StoredState::read(&record) else {
                continue;
            };
            match &state.command {
                Some(command) => {
                    let Ok(tracked) = command.to_tracked(&record) else {
                        continue;
                    };
                    if let Some(outcome) =
                        local_outcome(&tracked, state.session_started, sh.session_start_check, now)
                    {
                        let _ = self.write_outcome(&record.id, &outcome).await;
                    }
                }
                None => {
                    let _ = self.remove_if_expired_early(record, now).await;
                }
            }
        }
        if let Some(before) = now.checked_sub(sh.retention) {
            let _ = sh
                .io(sh.store.prune(STORE_NAMESPACE, before, false, SWEEP_LIMIT))
                .await;
        }
    }

    /// Removes an early record whose callback's time to live passed, under
    /// a lease so that a replica claiming it meanwhile is not overrun.
    async fn remove_if_expired_early(&self, record: FlowRecord, now: SystemTime) -> Result<()> {
        let sh = &self.shared;
        let expired = |r: &FlowRecord| -> bool {
            StoredState::read(r).is_ok_and(|s| {
                s.command.is_none()
                    && s.early.as_ref().is_none_or(|e| {
                        now.duration_since(e.received.to_system())
                            .unwrap_or_default()
                            > sh.early_ttl
                    })
            })
        };
        if record.outcome.is_some() || !expired(&record) {
            return Ok(());
        }
        let until = now + CLEANUP_LEASE;
        let Some(leased) = sh
            .io(sh
                .store
                .lease(STORE_NAMESPACE, &record.id, &sh.holder, now, until))
            .await?
        else {
            return Ok(());
        };
        if leased.state == record.state && expired(&leased) {
            sh.io(sh.store.remove(STORE_NAMESPACE, &leased.id)).await?;
        } else {
            // Changed meanwhile: give the record back.
            let _ = sh
                .io(sh.store.update(
                    STORE_NAMESPACE,
                    &leased.id,
                    leased.version,
                    Update::due(leased.due),
                ))
                .await?;
        }
        Ok(())
    }
}

fn contention(id: &str) -> Error {
    Error::Store(StoreError::Failed {
        reason: format!(
            "the record of Hermod command {id} kept changing while it was updated; try again"
        ),
    })
}

/// What a callback for a command that already ended is.
fn compare(record: &FlowRecord, callback: &Callback) -> Result<Delivery> {
    let Some(done) = read_outcome(record)? else {
        return Ok(Delivery::Late);
    };
    let same = match &done {
        Outcome::Answered(prev) => prev.state == callback.state && prev.result == callback.result,
        Outcome::TimedOut => callback.state == CommandState::Timeout,
        Outcome::Expired => callback.state == CommandState::Expired,
        Outcome::SessionNotStarted => false,
    };
    Ok(if same || !callback.state.is_final() {
        Delivery::Duplicate
    } else {
        Delivery::Late
    })
}

fn outcome_of(callback: Callback) -> Outcome {
    match callback.state {
        CommandState::Timeout => Outcome::TimedOut,
        CommandState::Expired => Outcome::Expired,
        _ => Outcome::Answered(callback),
    }
}

/// The outcome a command has reached by `now` from its deadlines alone.
///
/// Without the session-start check (the default) the tracker cannot know
/// whether the device fetched the command (that needs progress callbacks,
/// which are not in the record), so only the lifespan ends the wait
/// locally; an unopened command ends by Hermod's `TIMEOUT` callback.
fn local_outcome(
    t: &TrackedCommand,
    started: bool,
    check_session: bool,
    now: SystemTime,
) -> Option<Outcome> {
    if now >= t.lifespan_deadline() {
        return Some(Outcome::Expired);
    }
    if !started && check_session {
        if now >= t.session_start_deadline() {
            return Some(Outcome::SessionNotStarted);
        }
        if now >= t.timeout_deadline() {
            return Some(Outcome::TimedOut);
        }
    }
    None
}

fn next_deadline(t: &TrackedCommand, started: bool, check_session: bool) -> SystemTime {
    if started || !check_session {
        t.lifespan_deadline()
    } else {
        t.session_start_deadline().min(t.timeout_deadline())
    }
}

/// The future of a command's [`Outcome`], or [`Error::DeadlineReached`]
/// when the caller's deadline passed first, or [`Error::Store`] when the
/// store failed. Dropping it cancels nothing: the store keeps the command,
/// and [`Tracker::wait`] (on any replica) gives a new future.
pub struct Pending {
    command_id: String,
    inner: Pin<Box<dyn Future<Output = Result<Outcome>> + Send>>,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("command_id", &self.command_id)
            .finish()
    }
}

impl Pending {
    /// The command id.
    pub fn command_id(&self) -> &str {
        &self.command_id
    }
}

impl Future for Pending {
    type Output = Result<Outcome>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Outcome>> {
        self.inner.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests;
