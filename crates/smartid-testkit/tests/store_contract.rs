//! The FlowStore contract checks against the in-memory reference store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use smartid_core::store::{FlowStore, MemoryStore};
use smartid_testkit::store_contract;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_keeps_the_contract() {
    store_contract::check(Arc::new(MemoryStore::new()), "mem").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_clones_share_records_like_replicas() {
    let store = MemoryStore::new();
    let a: Arc<dyn FlowStore> = Arc::new(store.clone());
    let b: Arc<dyn FlowStore> = Arc::new(store);
    store_contract::check_shared(a, b, "mem").await;
}
