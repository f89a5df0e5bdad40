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

type Key = (String, String);

#[derive(Default)]
struct State {
    records: HashMap<Key, FlowRecord>,
    aliases: HashMap<Key, String>,
    /// `(namespace, due, id)` of records without an outcome that have a due time.
    due: BTreeSet<(String, SystemTime, String)>,
}

impl State {
    fn unindex_due(&mut self, record: &FlowRecord) {
        if let Some(due) = record.due {
            self.due
                .remove(&(record.namespace.clone(), due, record.id.clone()));
        }
    }

    /// Removes a record with its due-time and alias entries.
    fn take(&mut self, namespace: &str, id: &str) -> Option<FlowRecord> {
        let record = self
            .records
            .remove(&(namespace.to_owned(), id.to_owned()))?;
        self.unindex_due(&record);
        if let Some(alias) = &record.alias {
            self.aliases
                .remove(&(record.namespace.clone(), alias.clone()));
        }
        Some(record)
    }

    fn index_due(&mut self, record: &FlowRecord) {
        if let (Some(due), None) = (record.due, &record.outcome) {
            self.due
                .insert((record.namespace.clone(), due, record.id.clone()));
        }
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
            .field("records", &self.lock().records.len())
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
        // (every change is made on a copy first), so a poisoned lock is usable.
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
        let key = (flow.namespace.clone(), flow.id.clone());
        if let Some(existing) = state.records.get(&key) {
            return ready(Ok(Inserted::Exists(existing.clone())));
        }
        if let Some(alias) = &flow.alias
            && let Some(other) = state.aliases.get(&(flow.namespace.clone(), alias.clone()))
            && let Some(existing) = state.records.get(&(flow.namespace.clone(), other.clone()))
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
            state
                .aliases
                .insert((record.namespace.clone(), alias.clone()), record.id.clone());
        }
        state.index_due(&record);
        state.records.insert(key, record.clone());
        ready(Ok(Inserted::Created(record)))
    }

    fn get<'a>(&'a self, namespace: &'a str, id: &'a str) -> StoreFuture<'a, Option<FlowRecord>> {
        let state = self.lock();
        ready(Ok(state
            .records
            .get(&(namespace.to_owned(), id.to_owned()))
            .cloned()))
    }

    fn get_by_alias<'a>(
        &'a self,
        namespace: &'a str,
        alias: &'a str,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        let state = self.lock();
        let found = state
            .aliases
            .get(&(namespace.to_owned(), alias.to_owned()))
            .and_then(|id| state.records.get(&(namespace.to_owned(), id.clone())))
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
        let key = (namespace.to_owned(), id.to_owned());
        let Some(current) = state.records.get(&key) else {
            return ready(Ok(None));
        };
        if current.version != expected_version || current.outcome.is_some() {
            return ready(Ok(None));
        }
        let mut next = current.clone();
        if let Some((format, bytes)) = update.state {
            next.format = format;
            next.state = bytes;
        }
        next.due = update.due;
        next.lease = None;
        next.version += 1;
        let old = current.clone();
        state.unindex_due(&old);
        state.index_due(&next);
        state.records.insert(key, next.clone());
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
        let key = (namespace.to_owned(), id.to_owned());
        let Some(current) = state.records.get(&key) else {
            return ready(Ok(Completion::Missing));
        };
        if current.outcome.is_some() {
            return ready(Ok(Completion::AlreadyDone(current.clone())));
        }
        let old = current.clone();
        let mut next = old.clone();
        next.outcome = Some(outcome);
        next.completed = Some(now);
        next.due = None;
        next.lease = None;
        next.version += 1;
        state.unindex_due(&old);
        state.records.insert(key, next.clone());
        drop(state);
        self.notifier.completed(namespace, id);
        ready(Ok(Completion::Written(next)))
    }

    fn lease_due(&self, request: LeaseRequest) -> StoreFuture<'_, Vec<FlowRecord>> {
        let mut state = self.lock();
        let ns = request.namespace;
        let candidates: Vec<String> = state
            .due
            .range((ns.clone(), SystemTime::UNIX_EPOCH, String::new())..)
            .take_while(|(n, due, _)| *n == ns && *due <= request.now)
            .map(|(_, _, id)| id.clone())
            .collect();
        let mut leased = Vec::new();
        for id in candidates {
            if leased.len() >= request.limit {
                break;
            }
            if let Some(record) = state.records.get_mut(&(ns.clone(), id))
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
            .records
            .get_mut(&(namespace.to_owned(), id.to_owned()))
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
        let mut found: Vec<FlowRecord> = state
            .records
            .values()
            .filter(|r| r.namespace == namespace && r.outcome.is_none())
            .cloned()
            .collect();
        found.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        found.truncate(limit);
        ready(Ok(found))
    }

    fn remove<'a>(&'a self, namespace: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        ready(Ok(self.lock().take(namespace, id).is_some()))
    }

    fn prune<'a>(
        &'a self,
        namespace: &'a str,
        before: SystemTime,
        include_waiting: bool,
        limit: usize,
    ) -> StoreFuture<'a, u64> {
        let mut state = self.lock();
        let ids: Vec<String> = state
            .records
            .values()
            .filter(|r| {
                r.namespace == namespace
                    && r.created < before
                    && (include_waiting || r.outcome.is_some())
            })
            .map(|r| r.id.clone())
            .take(limit)
            .collect();
        let removed = ids
            .iter()
            .filter(|id| state.take(namespace, id).is_some())
            .count();
        ready(Ok(removed as u64))
    }

    fn subscribe(&self) -> Subscription {
        self.notifier.subscribe()
    }

    fn subscribe_to(&self, namespace: &str, id: &str) -> Subscription {
        self.notifier.subscribe_to(namespace, id)
    }
}
