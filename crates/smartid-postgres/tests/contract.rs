//! The FlowStore contract (smartid-testkit's checks) against PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use smartid_core::store::FlowStore;
use smartid_postgres::PostgresStore;
use smartid_postgres::testing::{fresh_database_url, options_for_test, store_for_test};
use smartid_testkit::store_contract;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_keeps_the_contract() {
    let Some(store) = store_for_test("contract").await else {
        return;
    };
    store_contract::check(Arc::new(store), "pg").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_postgres_stores_on_one_database_act_as_replicas() {
    let Some(url) = fresh_database_url("shared").await else {
        return;
    };
    let a = PostgresStore::connect(&url, options_for_test())
        .await
        .unwrap();
    let b = PostgresStore::connect(&url, options_for_test())
        .await
        .unwrap();
    let (a, b): (Arc<dyn FlowStore>, Arc<dyn FlowStore>) = (Arc::new(a), Arc::new(b));
    store_contract::check_shared(a, b, "pg").await;
}
