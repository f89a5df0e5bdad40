//! The in-memory store: this process only, nothing survives a restart.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use super::record::{
    Completion, FlowRecord, Inserted, LeaseRequest, NewFlow, Notifier, StoreError, Subscription,
    Update,
};
use super::{FlowStore, StoreFuture};

/// The records of every namespace, each namespace its own maps, so that a
/// lookup by `(namespace, id)` borrows its keys instead of allocating them.
#[derive(Default)]
struct State {
    spaces: HashMap<String, Space>,
}

/// One namespace's records.
#[derive(Default)]
struct Space {
    records: HashMap<String, FlowRecord>,
    /// alias -> id.
    aliases: HashMap<String, String>,
    /// `(due, id)` of records without an outcome that have a due time.
    due: BTreeSet<(SystemTime, String)>,
}

impl State {
    fn space(&self, namespace: &str) -> Option<&Space> {
        self.spaces.get(namespace)
    }

    fn space_mut(&mut self, namespace: &str) -> Option<&mut Space> {
        self.spaces.get_mut(namespace)
    }

    /// The namespace's maps, made on first use (only inserts make them).
    fn space_or_new(&mut self, namespace: &str) -> &mut Space {
        self.spaces.entry(namespace.to_owned()).or_default()
    }

    fn len(&self) -> usize {
        self.spaces.values().map(|s| s.records.len()).sum()
    }
}

impl Space {
    fn unindex_due(&mut self, due: Option<SystemTime>, id: &str) {
        if let Some(due) = due {
            self.due.remove(&(due, id.to_owned()));
        }
    }

    fn index_due(&mut self, record: &FlowRecord) {
        if let (Some(due), None) = (record.due, &record.outcome) {
            self.due.insert((due, record.id.clone()));
        }
    }

    /// Removes a record with its due-time and alias entries.
    fn take(&mut self, id: &str) -> Option<FlowRecord> {
        let record = self.records.remove(id)?;
        self.unindex_due(record.due, &record.id);
        if let Some(alias) = &record.alias {
            self.aliases.remove(alias);
        }
        Some(record)
    }
}

/// A [`FlowStore`] in this process's memory: what every client uses unless
/// given another. Cheap to clone (clones share the records), so that several
/// clients in one process, or the replicas of a test, share one store.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use smartid_core::store::{Completion, FlowStore, Inserted, LeaseRequest, MemoryStore, NewFlow};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), smartid_core::store::StoreError> {
/// let store = MemoryStore::new();
/// let now = SystemTime::now();
/// let created = store.insert(NewFlow::new("demo", "flow-1", 1, b"{}".to_vec(), now).due(now)).await?;
/// assert!(matches!(created, Inserted::Created(_)));
///
/// // One replica takes the due flow; another finds nothing to take.
/// let taken = store.lease_due(LeaseRequest::new("demo", "replica-a", now, Duration::from_secs(30), 10)).await?;
/// assert_eq!(taken.len(), 1);
/// let none = store.lease_due(LeaseRequest::new("demo", "replica-b", now, Duration::from_secs(30), 10)).await?;
/// assert!(none.is_empty());
///
/// // The outcome is written once.
/// assert!(matches!(store.complete("demo", "flow-1", b"done".to_vec(), now).await?, Completion::Written(_)));
/// assert!(matches!(store.complete("demo", "flow-1", b"again".to_vec(), now).await?, Completion::AlreadyDone(_)));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    notifier: Notifier,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.lock().len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a record half written
        // (a change is field assignments, then the index; nothing between
        // them can panic), so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take_lease(record: &mut FlowRecord, holder: &str, until: SystemTime) -> FlowRecord {
        record.lease = Some((holder.to_owned(), until));
        record.version += 1;
        record.clone()
    }
}

fn ready<'a, T: Send + 'a>(value: Result<T, StoreError>) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl FlowStore for MemoryStore {
    fn insert(&self, flow: NewFlow) -> StoreFuture<'_, Inserted> {
        let mut state = self.lock();
        let space = state.space_or_new(&flow.namespace);
        if let Some(existing) = space.records.get(&flow.id) {
            return ready(Ok(Inserted::Exists(existing.clone())));
        }
        if let Some(alias) = &flow.alias
            && let Some(other) = space.aliases.get(alias)
            && let Some(existing) = space.records.get(other)
        {
            return ready(Ok(Inserted::Exists(existing.clone())));
        }
        let record = FlowRecord {
            namespace: flow.namespace,
            id: flow.id,
            alias: flow.alias,
            format: flow.format,
            state: flow.state,
            version: 1,
            due: flow.due,
            lease: flow.lease,
            outcome: None,
            created: flow.created,
            completed: None,
        };
        if let Some(alias) = &record.alias {
            space.aliases.insert(alias.clone(), record.id.clone());
        }
        space.index_due(&record);
        space.records.insert(record.id.clone(), record.clone());
        ready(Ok(Inserted::Created(record)))
    }

    fn get<'a>(&'a self, namespace: &'a str, id: &'a str) -> StoreFuture<'a, Option<FlowRecord>> {
        let state = self.lock();
        let found = state
            .space(namespace)
            .and_then(|space| space.records.get(id))
            .cloned();
        ready(Ok(found))
    }

    fn get_by_alias<'a>(
        &'a self,
        namespace: &'a str,
        alias: &'a str,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        let state = self.lock();
        let found = state
            .space(namespace)
            .and_then(|space| {
                let id = space.aliases.get(alias)?;
                space.records.get(id)
            })
            .cloned();
        ready(Ok(found))
    }

    fn update<'a>(
        &'a self,
        namespace: &'a str,
        id: &'a str,
        expected_version: u64,
        update: Update,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        let mut state = self.lock();
        let Some(space) = state.space_mut(namespace) else {
            return ready(Ok(None));
        };
        let Some(current) = space.records.get_mut(id) else {
            return ready(Ok(None));
        };
        if current.version != expected_version || current.outcome.is_some() {
            return ready(Ok(None));
        }
        let old_due = current.due;
        if let Some((format, bytes)) = update.state {
            current.format = format;
            current.state = bytes;
        }
        current.due = update.due;
        current.lease = None;
        current.version += 1;
        let next = current.clone();
        if old_due != next.due {
            space.unindex_due(old_due, id);
            space.index_due(&next);
        }
        ready(Ok(Some(next)))
    }

    fn complete<'a>(
        &'a self,
        namespace: &'a str,
        id: &'a str,
        outcome: Vec<u8>,
        now: SystemTime,
    ) -> StoreFuture<'a, Completion> {
        let mut state = self.lock();
        let Some(space) = state.space_mut(namespace) else {
            return ready(Ok(Completion::Missing));
        };
        let Some(current) = space.records.get_mut(id) else {
            return ready(Ok(Completion::Missing));
        };
        if current.outcome.is_some() {
            return ready(Ok(Completion::AlreadyDone(current.clone())));
        }
        let old_due = current.due.take();
        current.outcome = Some(outcome);
        current.completed = Some(now);
        current.lease = None;
        current.version += 1;
        let written = current.clone();
        space.unindex_due(old_due, id);
        drop(state);
        self.notifier.completed(namespace, id);
        ready(Ok(Completion::Written(written)))
    }

    fn lease_due(&self, request: LeaseRequest) -> StoreFuture<'_, Vec<FlowRecord>> {
        let mut state = self.lock();
        let Some(space) = state.space_mut(&request.namespace) else {
            return ready(Ok(Vec::new()));
        };
        let candidates: Vec<String> = space
            .due
            .range((SystemTime::UNIX_EPOCH, String::new())..)
            .take_while(|(due, _)| *due <= request.now)
            .map(|(_, id)| id.clone())
            .collect();
        let mut leased = Vec::new();
        for id in candidates {
            if leased.len() >= request.limit {
                break;
            }
            if let Some(record) = space.records.get_mut(&id)
                && !record.is_leased_at(request.now)
            {
                leased.push(Self::take_lease(record, &request.holder, request.until));
            }
        }
        ready(Ok(leased))
    }

    fn lease<'a>(
        &'a self,
        namespace: &'a str,
        id: &'a str,
        holder: &'a str,
        now: SystemTime,
        until: SystemTime,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        let mut state = self.lock();
        let Some(record) = state
            .space_mut(namespace)
            .and_then(|space| space.records.get_mut(id))
        else {
            return ready(Ok(None));
        };
        let held_by_other = record
            .lease
            .as_ref()
            .is_some_and(|(h, u)| h != holder && *u > now);
        if record.outcome.is_some() || held_by_other {
            return ready(Ok(None));
        }
        ready(Ok(Some(Self::take_lease(record, holder, until))))
    }

    fn waiting<'a>(&'a self, namespace: &'a str, limit: usize) -> StoreFuture<'a, Vec<FlowRecord>> {
        let state = self.lock();
        let Some(space) = state.space(namespace) else {
            return ready(Ok(Vec::new()));
        };
        let mut found: Vec<&FlowRecord> = space
            .records
            .values()
            .filter(|r| r.outcome.is_none())
            .collect();
        found.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        found.truncate(limit);
        let found = found.into_iter().cloned().collect();
        ready(Ok(found))
    }

    fn remove<'a>(&'a self, namespace: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        let removed = self
            .lock()
            .space_mut(namespace)
            .and_then(|space| space.take(id))
            .is_some();
        ready(Ok(removed))
    }

    fn prune<'a>(
        &'a self,
        namespace: &'a str,
        before: SystemTime,
        include_waiting: bool,
        limit: usize,
    ) -> StoreFuture<'a, u64> {
        let mut state = self.lock();
        let Some(space) = state.space_mut(namespace) else {
            return ready(Ok(0));
        };
        let ids: Vec<String> = space
            .records
            .values()
            .filter(|r| r.created < before && (include_waiting || r.outcome.is_some()))
            .map(|r| r.id.clone())
            .take(limit)
            .collect();
        let removed = ids.iter().filter(|id| space.take(id).is_some()).count();
        ready(Ok(removed as u64))
    }

    fn subscribe(&self) -> Subscription {
        self.notifier.subscribe()
    }

    fn subscribe_to(&self, namespace: &str, id: &str) -> Subscription {
        self.notifier.subscribe_to(namespace, id)
    }
}
