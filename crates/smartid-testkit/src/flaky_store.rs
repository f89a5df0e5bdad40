//! A flow store that goes down on demand, for testing what a client does
//! when its database is unreachable.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use smartid_core::store::{
    Completion, FlowRecord, FlowStore, Inserted, LeaseRequest, MemoryStore, NewFlow, StoreError,
    StoreFuture, Subscription, Update,
};

/// Wraps a [`FlowStore`]: while [`FlakyStore::set_down`] is on, every call
/// fails with [`StoreError::Unavailable`] (as a database that went down);
/// otherwise calls go to the wrapped store. Clones share the store and the
/// switch.
///
/// ```
/// use smartid_core::store::FlowStore;
/// use smartid_testkit::FlakyStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = FlakyStore::default();
/// store.set_down(true);
/// assert!(store.get("ns", "id").await.unwrap_err().is_transient());
/// store.set_down(false);
/// assert!(store.get("ns", "id").await.unwrap().is_none());
/// # }
/// ```
#[derive(Clone)]
pub struct FlakyStore {
    inner: Arc<dyn FlowStore>,
    down: Arc<AtomicBool>,
}

impl fmt::Debug for FlakyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlakyStore")
            .field("down", &self.is_down())
            .finish_non_exhaustive()
    }
}

impl Default for FlakyStore {
    /// Over a new [`MemoryStore`], up.
    fn default() -> Self {
        Self::new(MemoryStore::new())
    }
}

impl FlakyStore {
    /// Wraps `inner`, up.
    pub fn new(inner: impl FlowStore) -> Self {
        Self {
            inner: Arc::new(inner),
            down: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Wraps another store (say, a replica's own connection pool) behind
    /// the same switch as this one.
    pub fn over(&self, inner: impl FlowStore) -> Self {
        Self {
            inner: Arc::new(inner),
            down: self.down.clone(),
        }
    }

    /// Switches the store off (`true`) or on again.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Whether the store is switched off.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::SeqCst)
    }

    fn fail<'a, T: Send + 'a>(&self) -> Option<StoreFuture<'a, T>> {
        self.is_down().then(|| {
            Box::pin(std::future::ready(Err(StoreError::Unavailable {
                reason: "the test switched the store off".into(),
            }))) as StoreFuture<'a, T>
        })
    }
}

impl FlowStore for FlakyStore {
    fn insert(&self, flow: NewFlow) -> StoreFuture<'_, Inserted> {
        self.fail().unwrap_or_else(|| self.inner.insert(flow))
    }
    fn get<'a>(&'a self, ns: &'a str, id: &'a str) -> StoreFuture<'a, Option<FlowRecord>> {
        self.fail().unwrap_or_else(|| self.inner.get(ns, id))
    }
    fn get_by_alias<'a>(
        &'a self,
        ns: &'a str,
        alias: &'a str,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        self.fail()
            .unwrap_or_else(|| self.inner.get_by_alias(ns, alias))
    }
    fn update<'a>(
        &'a self,
        ns: &'a str,
        id: &'a str,
        version: u64,
        update: Update,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        self.fail()
            .unwrap_or_else(|| self.inner.update(ns, id, version, update))
    }
    fn complete<'a>(
        &'a self,
        ns: &'a str,
        id: &'a str,
        outcome: Vec<u8>,
        now: SystemTime,
    ) -> StoreFuture<'a, Completion> {
        self.fail()
            .unwrap_or_else(|| self.inner.complete(ns, id, outcome, now))
    }
    fn lease_due(&self, request: LeaseRequest) -> StoreFuture<'_, Vec<FlowRecord>> {
        self.fail().unwrap_or_else(|| self.inner.lease_due(request))
    }
    fn lease<'a>(
        &'a self,
        ns: &'a str,
        id: &'a str,
        holder: &'a str,
        now: SystemTime,
        until: SystemTime,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        self.fail()
            .unwrap_or_else(|| self.inner.lease(ns, id, holder, now, until))
    }
    fn waiting<'a>(&'a self, ns: &'a str, limit: usize) -> StoreFuture<'a, Vec<FlowRecord>> {
        self.fail().unwrap_or_else(|| self.inner.waiting(ns, limit))
    }
    fn remove<'a>(&'a self, ns: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        self.fail().unwrap_or_else(|| self.inner.remove(ns, id))
    }
    fn prune<'a>(
        &'a self,
        ns: &'a str,
        before: SystemTime,
        include_waiting: bool,
        limit: usize,
    ) -> StoreFuture<'a, u64> {
        self.fail()
            .unwrap_or_else(|| self.inner.prune(ns, before, include_waiting, limit))
    }
    fn subscribe(&self) -> Subscription {
        self.inner.subscribe()
    }
    fn subscribe_to(&self, namespace: &str, id: &str) -> Subscription {
        self.inner.subscribe_to(namespace, id)
    }
}
