//! The store seam for pending work: where a flow's state lives while it
//! waits (a Hermod command for its callback, a CIBA flow for its next poll,
//! a D-Trust order for its answer), so that a service with several replicas
//! and restarts on every deploy loses nothing and does nothing twice.
//!
//! A [`FlowStore`] keeps one record per flow, named by a namespace (the
//! client's: `"hermod"`, `"audkenni"`, `"dtrust"`) and an id. A record has:
//! - a **state**: bytes the client wrote (JSON) with the version of its
//!   format, changed only by compare-and-swap on the record's
//!   [`version`](FlowRecord::version);
//! - an optional **alias**, a second key unique in the namespace (Hermod's
//!   external id, a ping-mode notification token, a D-Trust order reference);
//! - a **due time** and a **lease**: [`FlowStore::lease_due`] hands each due
//!   flow to exactly one caller until the lease expires (a holder that died is
//!   replaced after the expiry);
//! - an **outcome**, written at most once ([`FlowStore::complete`]); every
//!   subscriber is told ([`FlowStore::subscribe`]), and [`wait_for_outcome`]
//!   waits for it with a polling fallback for notifications that were lost.
//!
//! [`MemoryStore`] keeps everything in this process (the default of every
//! client: nothing to set up, nothing survives a restart); the
//! `smartid-postgres` crate keeps it in PostgreSQL. Another engine implements
//! [`FlowStore`]: the contract of each method is written on it, and
//! [`MemoryStore`] is its reference.
//!
//! Times are the callers' ([`crate::Clock`]): replicas' clocks are expected to
//! agree to well within a lease's length (NTP).

mod memory;
mod record;
mod seal;
mod wait;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

pub use memory::MemoryStore;
pub use record::{
    Completion, FlowRecord, Inserted, LeaseRequest, NewFlow, Notifier, StoreError, StoreEvent,
    Subscription, Update,
};
pub use seal::SealingKey;
pub use wait::wait_for_outcome;

/// The future every [`FlowStore`] method returns.
pub type StoreFuture<'a, T> =
    Pin<Box<dyn Future<Output = std::result::Result<T, StoreError>> + Send + 'a>>;

/// Where pending flows are kept. Every method is atomic on its own: two
/// replicas calling at the same time see one of the two orders, never a mix.
///
/// Implementations must keep the contract written on each method;
/// [`MemoryStore`] is the reference and the crate's tests describe it.
pub trait FlowStore: Send + Sync + 'static {
    /// Creates the record if no record `(namespace, id)` exists (and no record
    /// of the namespace has the same alias); otherwise changes nothing and
    /// returns the existing record ([`Inserted::Exists`]), the one with that
    /// id, else the one with that alias.
    fn insert(&self, flow: NewFlow) -> StoreFuture<'_, Inserted>;

    /// The record `(namespace, id)`, if any.
    fn get<'a>(&'a self, namespace: &'a str, id: &'a str) -> StoreFuture<'a, Option<FlowRecord>>;

    /// The record of `namespace` whose alias is `alias`, if any.
    fn get_by_alias<'a>(
        &'a self,
        namespace: &'a str,
        alias: &'a str,
    ) -> StoreFuture<'a, Option<FlowRecord>>;

    /// Applies `update` if the record exists, has no outcome and its version
    /// is `expected_version`: the version grows by one and the new record is
    /// returned. Otherwise nothing changes and `None` is returned (read the
    /// record again to see why). An update always ends the record's lease.
    fn update<'a>(
        &'a self,
        namespace: &'a str,
        id: &'a str,
        expected_version: u64,
        update: Update,
    ) -> StoreFuture<'a, Option<FlowRecord>>;

    /// Writes the outcome if the record has none yet: clears its due time and
    /// lease, grows its version and tells subscribers ([`Completion::Written`]).
    /// When an outcome was written before, nothing changes and that outcome is
    /// returned ([`Completion::AlreadyDone`]); the two may be equal (a
    /// duplicate) or not (a late answer). [`Completion::Missing`] when there
    /// is no such record.
    fn complete<'a>(
        &'a self,
        namespace: &'a str,
        id: &'a str,
        outcome: Vec<u8>,
        now: SystemTime,
    ) -> StoreFuture<'a, Completion>;

    /// Leases up to `request.limit` records of `request.namespace` that have
    /// no outcome, a due time at or before `request.now` and no lease or an
    /// expired one (`until <= now`), earliest due first: each gets the lease
    /// `(request.holder, request.until)` and a new version, and is returned.
    /// Two concurrent calls never return the same record.
    fn lease_due(&self, request: LeaseRequest) -> StoreFuture<'_, Vec<FlowRecord>>;

    /// Leases the record `(namespace, id)` if it has no outcome and no
    /// unexpired lease of another holder (due time not considered): the
    /// leased record, or `None`.
    fn lease<'a>(
        &'a self,
        namespace: &'a str,
        id: &'a str,
        holder: &'a str,
        now: SystemTime,
        until: SystemTime,
    ) -> StoreFuture<'a, Option<FlowRecord>>;

    /// Records of `namespace` without an outcome, oldest first, at most
    /// `limit` (for listing what is still waiting).
    fn waiting<'a>(&'a self, namespace: &'a str, limit: usize) -> StoreFuture<'a, Vec<FlowRecord>>;

    /// Deletes the record; `true` if there was one.
    fn remove<'a>(&'a self, namespace: &'a str, id: &'a str) -> StoreFuture<'a, bool>;

    /// Deletes up to `limit` records of `namespace` created before `before`
    /// (those with an outcome, and with `include_waiting` also those without);
    /// returns how many were deleted.
    fn prune<'a>(
        &'a self,
        namespace: &'a str,
        before: SystemTime,
        include_waiting: bool,
        limit: usize,
    ) -> StoreFuture<'a, u64>;

    /// A subscription to outcomes written from now on, by this process or
    /// (for a shared store) any other.
    fn subscribe(&self) -> Subscription;

    /// A subscription to the outcome of `(namespace, id)` written from now
    /// on: it reports at least [`StoreEvent::Completed`] for that flow and
    /// [`StoreEvent::Missed`]; it may report other flows too. What
    /// [`wait_for_outcome`] uses. The default is [`FlowStore::subscribe`]
    /// (every outcome: correct, but each one wakes every waiter);
    /// [`MemoryStore`] wakes only the flow's own subscribers
    /// ([`Notifier::subscribe_to`]).
    fn subscribe_to(&self, namespace: &str, id: &str) -> Subscription {
        let _ = (namespace, id);
        self.subscribe()
    }
}

impl<T: FlowStore + ?Sized> FlowStore for Arc<T> {
    fn insert(&self, flow: NewFlow) -> StoreFuture<'_, Inserted> {
        (**self).insert(flow)
    }
    fn get<'a>(&'a self, namespace: &'a str, id: &'a str) -> StoreFuture<'a, Option<FlowRecord>> {
        (**self).get(namespace, id)
    }
    fn get_by_alias<'a>(
        &'a self,
        namespace: &'a str,
        alias: &'a str,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        (**self).get_by_alias(namespace, alias)
    }
    fn update<'a>(
        &'a self,
        namespace: &'a str,
        id: &'a str,
        expected_version: u64,
        update: Update,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        (**self).update(namespace, id, expected_version, update)
    }
    fn complete<'a>(
        &'a self,
        namespace: &'a str,
        id: &'a str,
        outcome: Vec<u8>,
        now: SystemTime,
    ) -> StoreFuture<'a, Completion> {
        (**self).complete(namespace, id, outcome, now)
    }
    fn lease_due(&self, request: LeaseRequest) -> StoreFuture<'_, Vec<FlowRecord>> {
        (**self).lease_due(request)
    }
    fn lease<'a>(
        &'a self,
        namespace: &'a str,
        id: &'a str,
        holder: &'a str,
        now: SystemTime,
        until: SystemTime,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        (**self).lease(namespace, id, holder, now, until)
    }
    fn waiting<'a>(&'a self, namespace: &'a str, limit: usize) -> StoreFuture<'a, Vec<FlowRecord>> {
        (**self).waiting(namespace, limit)
    }
    fn remove<'a>(&'a self, namespace: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        (**self).remove(namespace, id)
    }
    fn prune<'a>(
        &'a self,
        namespace: &'a str,
        before: SystemTime,
        include_waiting: bool,
        limit: usize,
    ) -> StoreFuture<'a, u64> {
        (**self).prune(namespace, before, include_waiting, limit)
    }
    fn subscribe(&self) -> Subscription {
        (**self).subscribe()
    }
    fn subscribe_to(&self, namespace: &str, id: &str) -> Subscription {
        (**self).subscribe_to(namespace, id)
    }
}

#[cfg(test)]
mod tests;
