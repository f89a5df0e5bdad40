//! Correlates Hermod's callbacks with sent commands and resolves one future
//! per command with the device's answer or a timing outcome.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use smartid_core::{Clock, SystemClock, WaitOptions};
use tokio::sync::watch;

use crate::callback::Callback;
use crate::client::TrackedCommand;
use crate::error::{Error, Result};
use crate::vocab::{CommandKind, CommandState};

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
    /// A callback for a command not tracked (yet): kept for a while, since
    /// Hermod can call back before the command's answer was registered.
    Early,
    /// A callback for an unknown command while the store of early callbacks
    /// is full (by count or bytes): refused, Hermod should retry.
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

#[derive(Debug, Clone)]
enum Status {
    Waiting { session_started: bool },
    Done(Outcome),
}

struct Entry {
    tracked: TrackedCommand,
    status: Arc<watch::Sender<Status>>,
}

/// What is kept of a callback for a command not tracked yet: what
/// correlation needs (kind, state) and the body as received (compact bytes,
/// parsed again when the command is tracked), never the parsed JSON tree.
struct EarlyCallback {
    kind: Option<CommandKind>,
    state: CommandState,
    body: Box<[u8]>,
    received: SystemTime,
    cost: usize,
}

/// Bookkeeping bytes counted per early callback besides its body and key.
const EARLY_OVERHEAD: usize = 96;

struct State {
    entries: HashMap<String, Entry>,
    by_external: HashMap<String, String>,
    early: HashMap<String, EarlyCallback>,
    early_order: VecDeque<String>,
    early_bytes: usize,
    prune_at: usize,
}

impl Default for State {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            by_external: HashMap::new(),
            early: HashMap::new(),
            early_order: VecDeque::new(),
            early_bytes: 0,
            prune_at: 1024,
        }
    }
}

impl State {
    fn remove_early(&mut self, key: &str) -> Option<EarlyCallback> {
        let e = self.early.remove(key)?;
        self.early_bytes = self.early_bytes.saturating_sub(e.cost);
        Some(e)
    }
}

struct Shared {
    clock: Arc<dyn Clock>,
    session_start_check: bool,
    max_early: usize,
    max_early_bytes: usize,
    early_ttl: Duration,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent
        // in a way that matters more than losing the tracker: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Correlates callbacks with commands (by command id, then external id) and
/// resolves a [`Pending`] future per command.
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
/// Cheap to clone; clones share the state.
#[derive(Clone)]
pub struct Tracker {
    shared: Arc<Shared>,
}

impl fmt::Debug for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Tracker")
            .field("tracked", &state.entries.len())
            .field("early_callbacks", &state.early.len())
            .field("early_bytes", &state.early_bytes)
            .field("session_start_check", &self.shared.session_start_check)
            .finish()
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
    clock: Arc<dyn Clock>,
    session_start_check: bool,
    max_early: usize,
    max_early_bytes: usize,
    early_ttl: Duration,
}

impl fmt::Debug for TrackerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackerBuilder")
            .field("session_start_check", &self.session_start_check)
            .field("max_early", &self.max_early)
            .field("max_early_bytes", &self.max_early_bytes)
            .field("early_ttl", &self.early_ttl)
            .finish_non_exhaustive()
    }
}

impl TrackerBuilder {
    /// The clock of the deadlines (the commands' timing and the caller's
    /// [`WaitOptions::deadline`]) and of the early-callback expiry. Defaults
    /// to [`SystemClock`]; give the client the same one.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
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

    /// How many callbacks for untracked commands are kept, and for how long.
    /// Defaults to 10,000 for 5 minutes.
    pub fn early_callbacks(mut self, max: usize, ttl: Duration) -> Self {
        self.max_early = max;
        self.early_ttl = ttl;
        self
    }

    /// How many bytes the callbacks for untracked commands may take in all
    /// (their bodies as received, their keys and a fixed overhead each).
    /// Defaults to 8 MiB.
    pub fn early_callback_bytes(mut self, max_bytes: usize) -> Self {
        self.max_early_bytes = max_bytes;
        self
    }

    /// Builds the tracker.
    pub fn build(self) -> Tracker {
        Tracker {
            shared: Arc::new(Shared {
                clock: self.clock,
                session_start_check: self.session_start_check,
                max_early: self.max_early,
                max_early_bytes: self.max_early_bytes,
                early_ttl: self.early_ttl,
                state: Mutex::new(State::default()),
            }),
        }
    }
}

impl Tracker {
    /// A tracker on the system clock, session-start check off.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder.
    pub fn builder() -> TrackerBuilder {
        TrackerBuilder {
            clock: Arc::new(SystemClock),
            session_start_check: false,
            max_early: 10_000,
            max_early_bytes: 8 * 1024 * 1024,
            early_ttl: Duration::from_secs(300),
        }
    }

    /// Starts tracking a command and returns the future of its outcome,
    /// which ends at the latest at `options.deadline` with
    /// [`Error::DeadlineReached`] (the command stays tracked: wait again with
    /// [`Tracker::wait`]). Tracking a command again returns a future on the
    /// same state. A callback that arrived before is applied at once.
    ///
    /// Waiting involves no request to Hermod, so `options.retry` and
    /// `options.poll_interval` do not apply; the command's own deadlines
    /// (lifespan, and with the session-start check its timeouts) still end
    /// the wait with an [`Outcome`].
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
    /// let pending = tracker.track(tracked, &WaitOptions::new().timeout_from(now, Duration::from_secs(60)));
    ///
    /// // What the callback receiver does with Hermod's callback:
    /// let callback = Callback::from_json(
    ///     Some(CommandKind::Sign),
    ///     br#"{"commandId":"688","state":"COMPLETED","result":{"signatures":[]}}"#,
    /// )?;
    /// assert_eq!(tracker.deliver(callback), Delivery::Resolved);
    ///
    /// let outcome = pending.await?;
    /// assert!(matches!(outcome, Outcome::Answered(_)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn track(&self, tracked: TrackedCommand, options: &WaitOptions) -> Pending {
        let deadline = options.deadline_value();
        let mut state = self.shared.lock();
        // Amortized: a full scan only when the map doubled since the last one.
        if state.entries.len() >= state.prune_at {
            self.prune(&mut state);
            state.prune_at = (state.entries.len() * 2).max(1024);
        }
        let id = tracked.command_id.clone();
        if let Some(entry) = state.entries.get(&id) {
            return Pending::new(
                self.shared.clone(),
                entry.tracked.clone(),
                entry.status.clone(),
                deadline,
            );
        }
        let status = Arc::new(watch::Sender::new(Status::Waiting {
            session_started: false,
        }));
        if let Some(ext) = &tracked.external_id {
            state.by_external.insert(ext.clone(), id.clone());
        }
        let kind = tracked.kind.clone();
        let keys: Vec<String> = [Some(&id), tracked.external_id.as_ref()]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        let early: Vec<Callback> = keys
            .iter()
            .filter_map(|key| state.remove_early(key))
            // A callback that arrived on another kind's path is not this command's.
            .filter(|e| e.kind.as_ref().is_none_or(|k| *k == kind))
            .filter_map(|e| Callback::from_json(e.kind.clone(), &e.body).ok())
            .collect();
        state.entries.insert(
            id,
            Entry {
                tracked: tracked.clone(),
                status: status.clone(),
            },
        );
        drop(state);
        for cb in early {
            apply(&status, cb);
        }
        Pending::new(self.shared.clone(), tracked, status, deadline)
    }

    /// A future on a tracked command's outcome (e.g. after the first one was
    /// dropped or reached its deadline), ending at the latest at
    /// `options.deadline`; `None` when the command is not tracked.
    pub fn wait(&self, command_id: &str, options: &WaitOptions) -> Option<Pending> {
        let state = self.shared.lock();
        let entry = state.entries.get(command_id)?;
        Some(Pending::new(
            self.shared.clone(),
            entry.tracked.clone(),
            entry.status.clone(),
            options.deadline_value(),
        ))
    }

    /// The outcome of a command if it has ended.
    pub fn outcome(&self, command_id: &str) -> Option<Outcome> {
        let state = self.shared.lock();
        match &*state.entries.get(command_id)?.status.borrow() {
            Status::Done(o) => Some(o.clone()),
            Status::Waiting { .. } => None,
        }
    }

    /// The commands still waiting (for saving before a shutdown).
    pub fn waiting(&self) -> Vec<TrackedCommand> {
        let state = self.shared.lock();
        state
            .entries
            .values()
            .filter(|e| matches!(*e.status.borrow(), Status::Waiting { .. }))
            .map(|e| e.tracked.clone())
            .collect()
    }

    /// Records that the user started the session (the app opened the command).
    /// Returns `false` when the command is not tracked.
    pub fn mark_session_started(&self, command_id: &str) -> bool {
        let state = self.shared.lock();
        let Some(entry) = state.entries.get(command_id) else {
            return false;
        };
        entry.status.send_if_modified(|s| match s {
            Status::Waiting { session_started } if !*session_started => {
                *session_started = true;
                true
            }
            _ => false,
        });
        true
    }

    /// Stops tracking a command; its futures keep waiting for their deadlines.
    pub fn forget(&self, command_id: &str) {
        let mut state = self.shared.lock();
        if let Some(entry) = state.entries.remove(command_id)
            && let Some(ext) = entry.tracked.external_id
        {
            state.by_external.remove(&ext);
        }
    }

    /// Number of callbacks kept for commands not tracked yet, and the bytes
    /// they are counted as.
    pub fn early_usage(&self) -> (usize, usize) {
        let state = self.shared.lock();
        (state.early.len(), state.early_bytes)
    }

    /// Number of commands tracked (waiting or ended, until pruned after
    /// their lifespan).
    pub fn len(&self) -> usize {
        self.shared.lock().entries.len()
    }

    /// Whether no command is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Feeds a callback from an authenticated caller: resolves its command,
    /// or keeps it for a command not yet tracked.
    ///
    /// Only call this for callbacks whose sender you authenticated (the
    /// receiver does when it has credentials); otherwise use
    /// [`Tracker::deliver_unauthenticated`], so that a forged callback
    /// cannot be parked for a command tracked later.
    pub fn deliver(&self, callback: Callback) -> Delivery {
        self.deliver_inner(callback, None, true)
    }

    /// Feeds a callback from a caller that was not authenticated: it
    /// resolves a command already tracked, but is never kept for a command
    /// tracked later ([`Delivery::NotTracked`]).
    pub fn deliver_unauthenticated(&self, callback: Callback) -> Delivery {
        self.deliver_inner(callback, None, false)
    }

    pub(crate) fn deliver_inner(
        &self,
        callback: Callback,
        body: Option<&[u8]>,
        authenticated: bool,
    ) -> Delivery {
        let mut state = self.shared.lock();
        let id = callback
            .command_id
            .as_ref()
            .filter(|id| state.entries.contains_key(id.as_str()))
            .cloned()
            .or_else(|| {
                callback
                    .external_id
                    .as_ref()
                    .and_then(|ext| state.by_external.get(ext))
                    .cloned()
            });
        if let Some(entry) = id.and_then(|id| state.entries.get(&id)) {
            if let Some(got) = &callback.kind
                && *got != entry.tracked.kind
            {
                return Delivery::WrongKind {
                    expected: entry.tracked.kind.clone(),
                    got: got.clone(),
                };
            }
            let status = entry.status.clone();
            drop(state);
            return apply(&status, callback);
        }
        // Not tracked (yet).
        if !authenticated {
            return Delivery::NotTracked;
        }
        let Some(key) = callback
            .command_id
            .clone()
            .or_else(|| callback.external_id.clone())
        else {
            return Delivery::Refused;
        };
        let body: Box<[u8]> = match body {
            Some(b) => b.into(),
            None => match serde_json::to_vec(&callback.raw) {
                Ok(v) => v.into_boxed_slice(),
                Err(_) => return Delivery::Refused,
            },
        };
        let cost = body.len() + key.len() + EARLY_OVERHEAD;
        let now = self.shared.clock.now();
        self.prune_early(&mut state, now);
        let replaced = match state.early.get(&key) {
            Some(existing) => {
                if existing.state == callback.state || existing.state.is_final() {
                    return Delivery::Duplicate;
                }
                existing.cost
            }
            None => 0,
        };
        let bytes_after = state
            .early_bytes
            .saturating_sub(replaced)
            .saturating_add(cost);
        if bytes_after > self.shared.max_early_bytes
            || (replaced == 0 && state.early.len() >= self.shared.max_early)
        {
            return Delivery::Refused;
        }
        if replaced == 0 {
            state.early_order.push_back(key.clone());
        }
        state.early_bytes = bytes_after;
        state.early.insert(
            key,
            EarlyCallback {
                kind: callback.kind.clone(),
                state: callback.state,
                body,
                received: now,
                cost,
            },
        );
        Delivery::Early
    }

    fn prune_early(&self, state: &mut State, now: SystemTime) {
        while let Some(key) = state.early_order.front() {
            let expired = match state.early.get(key) {
                Some(e) => {
                    now.duration_since(e.received).unwrap_or_default() > self.shared.early_ttl
                }
                None => true,
            };
            if !expired {
                break;
            }
            if let Some(key) = state.early_order.pop_front() {
                state.remove_early(&key);
            }
        }
    }

    /// Drops commands whose lifespan passed. Those still waiting (their
    /// futures were dropped, so nothing resolved them) end as
    /// [`Outcome::Expired`] first, as their deadlines say.
    fn prune(&self, state: &mut State) {
        let now = self.shared.clock.now();
        let gone: Vec<String> = state
            .entries
            .iter()
            .filter(|(_, e)| e.tracked.lifespan_deadline() <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for id in gone {
            if let Some(entry) = state.entries.remove(&id) {
                entry.status.send_if_modified(|s| match s {
                    Status::Waiting { .. } => {
                        *s = Status::Done(Outcome::Expired);
                        true
                    }
                    Status::Done(_) => false,
                });
                if let Some(ext) = entry.tracked.external_id
                    && state.by_external.get(&ext) == Some(&id)
                {
                    state.by_external.remove(&ext);
                }
            }
        }
        self.prune_early(state, now);
    }
}

fn apply(status: &watch::Sender<Status>, callback: Callback) -> Delivery {
    let mut result = Delivery::Late;
    status.send_if_modified(|s| match s {
        Status::Waiting { session_started } => {
            if callback.state.is_final() {
                *s = Status::Done(outcome_of(callback));
                result = Delivery::Resolved;
                true
            } else {
                result = Delivery::Progress;
                let changed = !*session_started;
                *session_started = true;
                changed
            }
        }
        Status::Done(done) => {
            let same = match done {
                Outcome::Answered(prev) => {
                    prev.state == callback.state && prev.result == callback.result
                }
                Outcome::TimedOut => callback.state == CommandState::Timeout,
                Outcome::Expired => callback.state == CommandState::Expired,
                Outcome::SessionNotStarted => false,
            };
            result = if same || !callback.state.is_final() {
                Delivery::Duplicate
            } else {
                Delivery::Late
            };
            false
        }
    });
    result
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
/// when the caller's deadline passed first. Dropping it cancels nothing:
/// the tracker keeps the command, and [`Tracker::wait`] gives a new future.
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
    fn new(
        shared: Arc<Shared>,
        tracked: TrackedCommand,
        status: Arc<watch::Sender<Status>>,
        deadline: Option<SystemTime>,
    ) -> Self {
        let command_id = tracked.command_id.clone();
        let inner = Box::pin(async move {
            let mut rx = status.subscribe();
            loop {
                let started = match &*rx.borrow_and_update() {
                    Status::Done(o) => return Ok(o.clone()),
                    Status::Waiting { session_started } => *session_started,
                };
                let check = shared.session_start_check;
                let now = shared.clock.now();
                if let Some(outcome) = local_outcome(&tracked, started, check, now) {
                    status.send_if_modified(|s| match s {
                        Status::Waiting { .. } => {
                            *s = Status::Done(outcome.clone());
                            true
                        }
                        Status::Done(_) => false,
                    });
                    continue;
                }
                // The command's own deadlines first: at the same moment its
                // outcome wins over the caller's deadline.
                let own = next_deadline(&tracked, started, check);
                if deadline.is_some_and(|d| now >= d) {
                    return Err(Error::DeadlineReached {
                        command_id: tracked.command_id.clone(),
                    });
                }
                let wake = deadline.map_or(own, |d| d.min(own));
                let sleep = shared.clock.sleep_until(wake);
                tokio::select! {
                    _ = rx.changed() => {}
                    () = sleep => {}
                }
            }
        });
        Self { command_id, inner }
    }

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
