//! What PostgreSQL adds per flow, against the in-memory store.
//!
//! `DATABASE_URL=postgres://... cargo bench -p smartid-postgres --bench store`
//!
//! - latency: one flow's insert, then its completion by one replica and the
//!   wait (`wait_for_outcome`) of another replica until it sees the outcome;
//! - throughput: outcomes per second when 8 tasks lease due flows in
//!   batches of 20 and complete them.
//!
//! Rounds interleave the two stores; the table shows the medians of the
//! rounds and the ratio. `SMARTID_BENCH_ROUNDS` (5), `SMARTID_BENCH_FLOWS`
//! (1000) change the sizes. Without `DATABASE_URL` it says so and exits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use smartid_core::SystemClock;
use smartid_core::store::{FlowStore, LeaseRequest, MemoryStore, NewFlow, wait_for_outcome};
use smartid_postgres::PostgresStore;
use smartid_postgres::testing::{fresh_database_url, options_for_test};

type Store = Arc<dyn FlowStore>;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

/// Median round trip of `n` flows, in microseconds.
async fn latency(writer: &Store, waiter: &Store, ns: &str, n: usize) -> f64 {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("lat-{i}");
        let started = Instant::now();
        writer
            .insert(NewFlow::new(
                ns,
                &id,
                1,
                b"{\"k\":1}".to_vec(),
                SystemTime::now(),
            ))
            .await
            .unwrap();
        let w = waiter.clone();
        let (ns2, id2) = (ns.to_owned(), id.clone());
        let waiting = tokio::spawn(async move {
            wait_for_outcome(&*w, &ns2, &id2, None, &SystemClock, Duration::from_secs(5)).await
        });
        writer
            .complete(ns, &id, b"{\"ok\":true}".to_vec(), SystemTime::now())
            .await
            .unwrap();
        let got = waiting.await.unwrap().unwrap();
        assert!(got.is_some_and(|r| r.outcome.is_some()));
        samples.push(started.elapsed().as_secs_f64() * 1e6);
    }
    median(samples)
}

/// Outcomes per second through 8 leasing tasks.
async fn throughput(store: &Store, ns: &str, flows: usize) -> f64 {
    let now = SystemTime::now();
    for i in 0..flows {
        store
            .insert(NewFlow::new(ns, format!("tp-{i}"), 1, b"{}".to_vec(), now).due(now))
            .await
            .unwrap();
    }
    let started = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            let ns = ns.to_owned();
            tokio::spawn(async move {
                let mut done = 0usize;
                loop {
                    let leased = store
                        .lease_due(LeaseRequest::new(
                            &ns,
                            format!("task-{t}"),
                            SystemTime::now(),
                            Duration::from_secs(60),
                            20,
                        ))
                        .await
                        .unwrap();
                    if leased.is_empty() {
                        return done;
                    }
                    for r in leased {
                        store
                            .complete(&ns, &r.id, b"{}".to_vec(), SystemTime::now())
                            .await
                            .unwrap();
                        done += 1;
                    }
                }
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, flows);
    flows as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::var("DATABASE_URL").map_or(true, |v| v.trim().is_empty()) {
        println!(
            "skipped: DATABASE_URL is not set; run: DATABASE_URL=postgres://user@host:port/db cargo bench -p smartid-postgres --bench store"
        );
        return;
    }
    let rounds = env_usize("SMARTID_BENCH_ROUNDS", 5);
    let flows = env_usize("SMARTID_BENCH_FLOWS", 1000);
    let lat_n = (flows / 5).max(10);
    let url = fresh_database_url("bench").await.expect("DATABASE_URL");
    let pg_a: Store = Arc::new(
        PostgresStore::connect(&url, options_for_test())
            .await
            .unwrap(),
    );
    let pg_b: Store = Arc::new(
        PostgresStore::connect(&url, options_for_test())
            .await
            .unwrap(),
    );
    let mem = MemoryStore::new();
    let mem_a: Store = Arc::new(mem.clone());
    let mem_b: Store = Arc::new(mem);

    let (mut ml, mut pl, mut mt, mut pt) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let ns = format!("bench{round}");
        ml.push(latency(&mem_a, &mem_b, &format!("{ns}.lat"), lat_n).await);
        pl.push(latency(&pg_a, &pg_b, &format!("{ns}.lat"), lat_n).await);
        mt.push(throughput(&mem_a, &format!("{ns}.tp"), flows).await);
        pt.push(throughput(&pg_a, &format!("{ns}.tp"), flows).await);
        eprintln!("round {}/{rounds} done", round + 1);
    }
    let (ml, pl, mt, pt) = (median(ml), median(pl), median(mt), median(pt));
    println!("smartid-postgres store benchmark: {rounds} interleaved rounds, medians");
    println!(
        "  latency: {lat_n} flows a round (insert, complete on replica A, wait_for_outcome on replica B)"
    );
    println!(
        "  throughput: {flows} due flows a round, 8 tasks leasing 20 at a time and completing"
    );
    println!();
    println!("| measure                     | memory     | postgres   | postgres / memory |");
    println!("|-----------------------------|------------|------------|-------------------|");
    println!(
        "| round trip per flow (us)    | {ml:>10.1} | {pl:>10.1} | {:>17.1} |",
        pl / ml.max(f64::MIN_POSITIVE)
    );
    println!(
        "| outcomes per second         | {mt:>10.0} | {pt:>10.0} | {:>17.3} |",
        pt / mt.max(f64::MIN_POSITIVE)
    );
    println!();
    println!(
        "added latency per flow through PostgreSQL: {:.2} ms",
        (pl - ml) / 1000.0
    );
}
