//! The values that cross the store seam.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, broadcast};

/// One flow's record, as read from the store.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlowRecord {
    /// The client's namespace (`"hermod"`, `"audkenni"`, `"dtrust"`, ...).
    pub namespace: String,
    /// The flow's id, unique in the namespace.
    pub id: String,
    /// A second key, unique in the namespace when set.
    pub alias: Option<String>,
    /// The version of the state's format, the client's to interpret (a
    /// record written by an older release is migrated or refused by it).
    pub format: u32,
    /// The state the client wrote (JSON). May hold what the client sealed,
    /// never a secret in clear: clients decide what they put here.
    pub state: Vec<u8>,
    /// Grows by one with every change: the compare-and-swap token.
    pub version: u64,
    /// When the flow wants work next ([`super::FlowStore::lease_due`]).
    pub due: Option<SystemTime>,
    /// Who holds the flow and until when.
    pub lease: Option<(String, SystemTime)>,
    /// The outcome, once written (written at most once).
    pub outcome: Option<Vec<u8>>,
    /// When the record was created.
    pub created: SystemTime,
    /// When the outcome was written.
    pub completed: Option<SystemTime>,
}

impl fmt::Debug for FlowRecord {
    // The state and outcome are the clients' bytes: only their sizes here.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowRecord")
            .field("namespace", &self.namespace)
            .field("id", &self.id)
            .field("alias", &self.alias.as_ref().map(|_| "<set>"))
            .field("format", &self.format)
            .field("state_bytes", &self.state.len())
            .field("version", &self.version)
            .field("due", &self.due)
            .field("lease", &self.lease)
            .field("outcome_bytes", &self.outcome.as_ref().map(Vec::len))
            .field("created", &self.created)
            .field("completed", &self.completed)
            .finish()
    }
}

impl FlowRecord {
    /// A record as a [`super::FlowStore`] implementation reads it back: the
    /// given keys, state, version and creation time, no alias, due time,
    /// lease or outcome (set the public fields for those). For store
    /// implementations outside this crate; clients read records, they do
    /// not make them.
    pub fn new(
        namespace: impl Into<String>,
        id: impl Into<String>,
        format: u32,
        state: Vec<u8>,
        version: u64,
        created: SystemTime,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            id: id.into(),
            alias: None,
            format,
            state,
            version,
            due: None,
            lease: None,
            outcome: None,
            created,
            completed: None,
        }
    }

    /// Whether the lease is held by someone (anyone) at `now`.
    pub fn is_leased_at(&self, now: SystemTime) -> bool {
        self.lease.as_ref().is_some_and(|(_, until)| *until > now)
    }

    /// Whether `holder` holds the lease at `now`.
    pub fn is_leased_by(&self, holder: &str, now: SystemTime) -> bool {
        self.lease
            .as_ref()
            .is_some_and(|(h, until)| h == holder && *until > now)
    }
}

/// A record to create ([`super::FlowStore::insert`]).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewFlow {
    /// The namespace.
    pub namespace: String,
    /// The id.
    pub id: String,
    /// The alias, if any.
    pub alias: Option<String>,
    /// The state format's version.
    pub format: u32,
    /// The state.
    pub state: Vec<u8>,
    /// The first due time.
    pub due: Option<SystemTime>,
    /// A lease taken with the creation (the creator works on it first).
    pub lease: Option<(String, SystemTime)>,
    /// The creation time.
    pub created: SystemTime,
}

impl fmt::Debug for NewFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewFlow")
            .field("namespace", &self.namespace)
            .field("id", &self.id)
            .field("alias", &self.alias.as_ref().map(|_| "<set>"))
            .field("format", &self.format)
            .field("state_bytes", &self.state.len())
            .field("due", &self.due)
            .field("lease", &self.lease)
            .field("created", &self.created)
            .finish()
    }
}

impl NewFlow {
    /// A record with `state` in format `format`, created at `created`, with
    /// no alias, due time or lease.
    pub fn new(
        namespace: impl Into<String>,
        id: impl Into<String>,
        format: u32,
        state: Vec<u8>,
        created: SystemTime,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            id: id.into(),
            alias: None,
            format,
            state,
            due: None,
            lease: None,
            created,
        }
    }

    /// Sets the alias.
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.alias = Some(alias.into());
        self
    }

    /// Sets the first due time.
    pub fn due(mut self, due: SystemTime) -> Self {
        self.due = Some(due);
        self
    }

    /// Takes the lease for `holder` until `until` with the creation.
    pub fn leased(mut self, holder: impl Into<String>, until: SystemTime) -> Self {
        self.lease = Some((holder.into(), until));
        self
    }
}

/// What [`super::FlowStore::insert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inserted {
    /// The record was created with this version.
    Created(FlowRecord),
    /// A record with the id (or the alias) existed: it is unchanged.
    Exists(FlowRecord),
}

/// A change to a record's state ([`super::FlowStore::update`]). The lease
/// always ends with it.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Update {
    /// The new state and its format, or `None` to keep them.
    pub state: Option<(u32, Vec<u8>)>,
    /// The new due time (`None`: no longer due).
    pub due: Option<SystemTime>,
}

impl fmt::Debug for Update {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Update")
            .field("state_bytes", &self.state.as_ref().map(|(_, s)| s.len()))
            .field("due", &self.due)
            .finish()
    }
}

impl Update {
    /// Keeps the state, sets the due time (or clears it with `None`).
    pub fn due(due: Option<SystemTime>) -> Self {
        Self { state: None, due }
    }

    /// A new state in `format`, and the due time.
    pub fn state(format: u32, state: Vec<u8>, due: Option<SystemTime>) -> Self {
        Self {
            state: Some((format, state)),
            due,
        }
    }
}

/// What [`super::FlowStore::complete`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Completion {
    /// This call wrote the outcome (the record as it is now).
    Written(FlowRecord),
    /// An outcome was written before (the record, with that outcome).
    AlreadyDone(FlowRecord),
    /// No such record.
    Missing,
}

/// Which due flows to lease ([`super::FlowStore::lease_due`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseRequest {
    /// The namespace.
    pub namespace: String,
    /// Who takes the leases (a replica's name, unique among replicas).
    pub holder: String,
    /// The time: flows due at or before it, leases expired at it.
    pub now: SystemTime,
    /// Until when the leases hold.
    pub until: SystemTime,
    /// At most this many flows.
    pub limit: usize,
}

impl LeaseRequest {
    /// Up to `limit` flows of `namespace` due at `now`, leased to `holder`
    /// for `length`.
    pub fn new(
        namespace: impl Into<String>,
        holder: impl Into<String>,
        now: SystemTime,
        length: Duration,
        limit: usize,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            holder: holder.into(),
            now,
            until: now + length,
            limit,
        }
    }
}

/// Why the store could not do what was asked. Never holds a flow's state or
/// a connection's password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or refused the connection (down,
    /// wrong address, wrong credentials, pool exhausted).
    #[error("the flow store is unavailable: {reason}")]
    Unavailable {
        /// What happened, without credentials.
        reason: String,
    },
    /// The store did not answer in time.
    #[error("the flow store did not answer within {after:?}")]
    Timeout {
        /// The time allowed.
        after: Duration,
    },
    /// The store answered with an error.
    #[error("the flow store refused the operation: {reason}")]
    Failed {
        /// What the store said.
        reason: String,
    },
    /// The store's schema (or a record's format) is not one this version
    /// reads: run the migrations of a matching release, or upgrade.
    #[error("{what} is at version {found}, this release reads up to version {supported}: {remedy}")]
    Incompatible {
        /// What has the version (the schema, a namespace's records).
        what: String,
        /// The version found.
        found: u32,
        /// The newest version this release reads.
        supported: u32,
        /// What to do.
        remedy: String,
    },
    /// A record could not be read (its state does not decode).
    #[error("the stored flow {namespace}/{id} cannot be read: {reason}")]
    Corrupt {
        /// The namespace.
        namespace: String,
        /// The flow's id.
        id: String,
        /// Why (never the state itself).
        reason: String,
    },
}

impl StoreError {
    /// Whether trying again later may succeed (the store was down or slow).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Timeout { .. })
    }
}

/// What a [`Subscription`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreEvent {
    /// An outcome was written for `(namespace, id)`.
    Completed {
        /// The namespace.
        namespace: String,
        /// The flow's id.
        id: String,
    },
    /// Notifications may have been lost (the subscriber fell behind, or the
    /// store's notification channel was re-established): read again what
    /// you wait for.
    Missed,
}

/// Fans out the store's notifications to every [`Subscription`]; what a
/// [`super::FlowStore`] implementation uses for [`super::FlowStore::subscribe`]
/// and [`super::FlowStore::subscribe_to`].
///
/// A subscription to every outcome ([`Notifier::subscribe`]) goes through a
/// broadcast channel; a subscription to one flow ([`Notifier::subscribe_to`])
/// is woken only by that flow's outcome (and by [`Notifier::missed`]), so that
/// N waiters and N outcomes cost N wake-ups, not N².
#[derive(Clone)]
pub struct Notifier {
    sender: Arc<broadcast::Sender<StoreEvent>>,
    watchers: Arc<Mutex<HashMap<u64, Arc<Watch>>>>,
}

/// What the subscriptions to one flow (or to flows whose keys hash alike)
/// share: a counter of events and the tasks waiting for the next.
#[derive(Default)]
struct Watch {
    completed: AtomicU64,
    missed: AtomicU64,
    notify: Notify,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("subscribers", &self.sender.receiver_count())
            .field("watched", &self.lock_watchers().len())
            .finish()
    }
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new(4096)
    }
}

/// The watch table, locked. Nothing is left half done under this lock: a
/// poisoned one is usable.
fn lock_table(table: &Mutex<HashMap<u64, Arc<Watch>>>) -> MutexGuard<'_, HashMap<u64, Arc<Watch>>> {
    table.lock().unwrap_or_else(|e| e.into_inner())
}

/// The key of one flow in the watch table (a collision only wakes a
/// subscriber that then reads its record and finds no outcome).
fn watch_key(namespace: &str, id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    namespace.hash(&mut h);
    id.hash(&mut h);
    h.finish()
}

impl Notifier {
    /// A notifier keeping up to `capacity` events for slow subscribers
    /// (a subscriber further behind gets [`StoreEvent::Missed`]).
    pub fn new(capacity: usize) -> Self {
        Self {
            sender: Arc::new(broadcast::channel(capacity.max(1)).0),
            watchers: Arc::default(),
        }
    }

    fn lock_watchers(&self) -> MutexGuard<'_, HashMap<u64, Arc<Watch>>> {
        lock_table(&self.watchers)
    }

    /// Tells every subscriber that `(namespace, id)` has its outcome.
    pub fn completed(&self, namespace: &str, id: &str) {
        if self.sender.receiver_count() > 0 {
            let _ = self.sender.send(StoreEvent::Completed {
                namespace: namespace.to_owned(),
                id: id.to_owned(),
            });
        }
        // Under the lock, so that a subscriber's drop sees the true count.
        if let Some(watch) = self.lock_watchers().get(&watch_key(namespace, id)) {
            watch.completed.fetch_add(1, Ordering::SeqCst);
            watch.notify.notify_waiters();
        }
    }

    /// Tells every subscriber that notifications may have been lost.
    pub fn missed(&self) {
        let _ = self.sender.send(StoreEvent::Missed);
        for watch in self.lock_watchers().values() {
            watch.missed.fetch_add(1, Ordering::SeqCst);
            watch.notify.notify_waiters();
        }
    }

    /// A new subscription to every outcome.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            inner: Inner::All(self.sender.subscribe()),
        }
    }

    /// A new subscription to the outcome of `(namespace, id)` only: it
    /// reports [`StoreEvent::Completed`] for that flow, or
    /// [`StoreEvent::Missed`].
    pub fn subscribe_to(&self, namespace: &str, id: &str) -> Subscription {
        let key = watch_key(namespace, id);
        let watch = self.lock_watchers().entry(key).or_default().clone();
        let seen = (
            watch.completed.load(Ordering::SeqCst),
            watch.missed.load(Ordering::SeqCst),
        );
        Subscription {
            inner: Inner::One(Box::new(One {
                watchers: self.watchers.clone(),
                key,
                watch,
                seen,
                namespace: namespace.to_owned(),
                id: id.to_owned(),
            })),
        }
    }
}

/// Outcomes written since the subscription was made
/// ([`super::FlowStore::subscribe`], [`super::FlowStore::subscribe_to`]).
pub struct Subscription {
    inner: Inner,
}

enum Inner {
    All(broadcast::Receiver<StoreEvent>),
    One(Box<One>),
}

struct One {
    watchers: Arc<Mutex<HashMap<u64, Arc<Watch>>>>,
    key: u64,
    watch: Arc<Watch>,
    /// The counts of completions and misses this subscriber has reported.
    seen: (u64, u64),
    namespace: String,
    id: String,
}

impl Drop for One {
    fn drop(&mut self) {
        let mut watchers = lock_table(&self.watchers);
        // The table's reference and this one: the last subscriber leaves.
        if Arc::strong_count(&self.watch) == 2 {
            watchers.remove(&self.key);
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Subscription {
    /// The next event. A subscription to every outcome gives `None` when
    /// the store is gone (no notifier left); one to a single flow then waits
    /// on, so wait for it with a timeout as [`super::wait_for_outcome`] does.
    pub async fn next(&mut self) -> Option<StoreEvent> {
        match &mut self.inner {
            Inner::All(receiver) => match receiver.recv().await {
                Ok(event) => Some(event),
                Err(broadcast::error::RecvError::Lagged(_)) => Some(StoreEvent::Missed),
                Err(broadcast::error::RecvError::Closed) => None,
            },
            Inner::One(one) => {
                loop {
                    let notified = one.watch.notify.notified();
                    tokio::pin!(notified);
                    // Registered before the counter is read: an event
                    // between the two still wakes this task.
                    notified.as_mut().enable();
                    let missed = one.watch.missed.load(Ordering::SeqCst);
                    if missed != one.seen.1 {
                        one.seen.1 = missed;
                        return Some(StoreEvent::Missed);
                    }
                    let completed = one.watch.completed.load(Ordering::SeqCst);
                    if completed != one.seen.0 {
                        one.seen.0 = completed;
                        // (Or a flow whose key hashes alike: the subscriber
                        // reads its record and finds no outcome.)
                        return Some(StoreEvent::Completed {
                            namespace: one.namespace.clone(),
                            id: one.id.clone(),
                        });
                    }
                    notified.await;
                }
            }
        }
    }
}
