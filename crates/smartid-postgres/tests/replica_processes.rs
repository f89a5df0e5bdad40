//! Three worker processes (this test binary run again in the child role)
//! lease due flows from one database, work on each and complete it; one is
//! killed with SIGKILL mid-run. Every flow ends exactly once.
//!
//! Side table `work_log`: one row per piece of work started (a flow whose
//! worker died is worked on again after its lease expires) and `written`:
//! one row per `Completion::Written` a worker saw (written after the
//! completion, so the killed worker may miss its last one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime};

use smartid_core::store::{Completion, FlowStore, LeaseRequest, NewFlow};
use smartid_postgres::PostgresStore;
use smartid_postgres::testing::{fresh_database_url, options_for_test};

const CHILD_ENV: &str = "SMARTID_PG_REPLICA_CHILD";
const CHILD_TEST: &str = "replica_worker_child";
const NS: &str = "replicas";
const FLOWS: usize = 300;
const LEASE: Duration = Duration::from_millis(1500);

async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

fn spawn_worker(url: &str, name: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            CHILD_TEST,
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_ENV, format!("{name} {url}"))
        .spawn()
        .unwrap()
}

/// The child role: does nothing unless started by the parent.
#[tokio::test]
#[ignore = "the worker role of three_worker_processes_one_killed_every_flow_ends_once"]
async fn replica_worker_child() {
    let Ok(role) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (name, url) = role.split_once(' ').unwrap();
    let store = PostgresStore::connect(url, options_for_test())
        .await
        .unwrap();
    let log = raw(url).await;
    loop {
        let now = SystemTime::now();
        let leased = store
            .lease_due(LeaseRequest::new(NS, name, now, LEASE, 5))
            .await
            .unwrap();
        if leased.is_empty() {
            if store.waiting(NS, 1).await.unwrap().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        for flow in leased {
            log.execute(
                "INSERT INTO work_log (id, worker) VALUES ($1, $2)",
                &[&flow.id, &name],
            )
            .await
            .unwrap();
            // The work.
            tokio::time::sleep(Duration::from_millis(15)).await;
            let outcome = format!("done by {name}").into_bytes();
            match store
                .complete(NS, &flow.id, outcome, SystemTime::now())
                .await
                .unwrap()
            {
                Completion::Written(_) => {
                    log.execute(
                        "INSERT INTO written (id, worker) VALUES ($1, $2)",
                        &[&flow.id, &name],
                    )
                    .await
                    .unwrap();
                }
                Completion::AlreadyDone(_) => {}
                other => panic!("{}: {other:?}", flow.id),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_worker_processes_one_killed_every_flow_ends_once() {
    let Some(url) = fresh_database_url("replica_processes").await else {
        return;
    };
    let store = PostgresStore::connect(&url, options_for_test())
        .await
        .unwrap();
    let client = raw(&url).await;
    client
        .batch_execute(
            "CREATE TABLE work_log (id text NOT NULL, worker text NOT NULL);
             CREATE TABLE written (id text NOT NULL, worker text NOT NULL);",
        )
        .await
        .unwrap();
    let now = SystemTime::now();
    for i in 0..FLOWS {
        store
            .insert(NewFlow::new(NS, format!("flow-{i:04}"), 1, b"{}".to_vec(), now).due(now))
            .await
            .unwrap();
    }
    let started = Instant::now();
    let mut workers: Vec<Child> = ["w0", "w1", "w2"]
        .iter()
        .map(|name| spawn_worker(&url, name))
        .collect();
    // Kill w0 once the run is well under way (w0 has written some).
    loop {
        let n: i64 = client
            .query_one("SELECT count(*) FROM written WHERE worker = 'w0'", &[])
            .await
            .unwrap()
            .get(0);
        if n >= 10 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "w0 wrote nothing in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    workers[0].kill().unwrap(); // SIGKILL
    workers[0].wait().unwrap();
    let killed_at = Instant::now();
    for w in &mut workers[1..] {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = w.try_wait().unwrap() {
                assert!(status.success(), "a surviving worker failed: {status}");
                break;
            }
            if Instant::now() > deadline {
                let _ = w.kill();
                panic!("a surviving worker did not finish in 90 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // Every flow has exactly one outcome; no Written twice.
    assert!(
        store.waiting(NS, 10).await.unwrap().is_empty(),
        "flows left waiting"
    );
    let mut written: HashMap<String, Vec<String>> = HashMap::new();
    for row in client
        .query("SELECT id, worker FROM written", &[])
        .await
        .unwrap()
    {
        written.entry(row.get(0)).or_default().push(row.get(1));
    }
    let mut by_worker: HashMap<String, usize> = HashMap::new();
    for i in 0..FLOWS {
        let id = format!("flow-{i:04}");
        let record = store.get(NS, &id).await.unwrap().unwrap();
        let outcome = String::from_utf8(record.outcome.expect("an outcome")).unwrap();
        let worker = outcome.trim_start_matches("done by ").to_owned();
        match written.get(&id).map(Vec::as_slice) {
            Some([w]) => assert_eq!(*w, worker, "{id}: the outcome is the Written one"),
            // The killed worker completed it and died before logging.
            None => assert_eq!(worker, "w0", "{id} has an outcome nobody wrote"),
            Some(more) => panic!("{id} was Written {} times: {more:?}", more.len()),
        }
        *by_worker.entry(worker).or_default() += 1;
    }
    let work: i64 = client
        .query_one("SELECT count(*) FROM work_log", &[])
        .await
        .unwrap()
        .get(0);
    let redone: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT id FROM work_log GROUP BY id HAVING count(*) > 1) x",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    eprintln!(
        "replica processes: {FLOWS} flows, outcomes by worker {by_worker:?}, {work} pieces of work, \
         {redone} flows worked on again after w0 was killed, finished {:?} after the kill",
        killed_at.elapsed()
    );
    assert!(work >= FLOWS as i64);
}
