//! Faults: a server that is down, slow, of a newer schema, a LISTEN
//! connection that is killed, a lease holder that dies; no secret in errors.
//! (Raw SQL here speaks plain TCP: DATABASE_URL is a local test server.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use smartid_core::SystemClock;
use smartid_core::store::{
    Completion, FlowStore, LeaseRequest, NewFlow, StoreError, StoreEvent, Update, wait_for_outcome,
};
use smartid_postgres::testing::{fresh_database_url, options_for_test};
use smartid_postgres::{PostgresOptions, PostgresStore, SCHEMA_VERSION};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

fn flow(id: &str) -> NewFlow {
    NewFlow::new("faults", id, 1, b"{}".to_vec(), SystemTime::now())
}

#[tokio::test]
async fn a_closed_port_is_unavailable_quickly_and_shows_no_password() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let started = Instant::now();
    let url = format!("postgres://smartid:hunter2-secret@127.0.0.1:{port}/flows");
    let err = PostgresStore::connect(&url, PostgresOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable { .. }),
        "a closed port is Unavailable: {err:?}"
    );
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(3), "quickly");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

#[tokio::test]
async fn a_missing_database_is_unavailable_and_credentials_never_show() {
    let Some(url) = fresh_database_url("faults_nodb").await else {
        return;
    };
    // Trust authentication ignores the password: it must still never show.
    let with_password = url.replacen(
        "postgres://postgres@",
        "postgres://postgres:hunter2-secret@",
        1,
    );
    let store = PostgresStore::connect(&with_password, options_for_test())
        .await
        .unwrap();
    let shown = format!("{store:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("postgres:"),
        "{shown}"
    );
    let missing = smartid_postgres_url_with_db(&with_password, "smartid_no_such_database");
    let err = PostgresStore::connect(&missing, PostgresOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

fn smartid_postgres_url_with_db(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, ""), |(b, q)| (b, q));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    if query.is_empty() {
        format!("{base}/{db}")
    } else {
        format!("{base}/{db}?{query}")
    }
}

/// A TCP forwarder to the server, to cut every connection at once.
struct Forwarder {
    port: u16,
    task: JoinHandle<()>,
}

impl Forwarder {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                links.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { port, task }
    }
}

fn host_port(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap().to_owned()
}

#[tokio::test]
async fn a_server_that_goes_away_is_unavailable_not_a_panic() {
    let Some(url) = fresh_database_url("faults_gone").await else {
        return;
    };
    PostgresStore::connect(&url, options_for_test())
        .await
        .unwrap();
    let forwarder = Forwarder::start(host_port(&url)).await;
    let via = url.replacen(
        &host_port(&url),
        &format!("127.0.0.1:{}", forwarder.port),
        1,
    );
    let options = PostgresOptions::new().connect_timeout(Duration::from_secs(2));
    let store = PostgresStore::connect(&via, options).await.unwrap();
    store.insert(flow("a")).await.unwrap();
    // The server goes away: every connection is cut and no new one is accepted.
    forwarder.task.abort();
    let _ = forwarder.task.await;
    let started = Instant::now();
    for _ in 0..3 {
        let err = store.get("faults", "a").await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = store
        .complete("faults", "a", b"x".to_vec(), SystemTime::now())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn a_statement_slower_than_the_timeout_is_a_timeout() {
    let Some(url) = fresh_database_url("faults_slow").await else {
        return;
    };
    let options = options_for_test().statement_timeout(Duration::from_millis(300));
    let store = PostgresStore::connect(&url, options).await.unwrap();
    store
        .insert(flow("locked").due(SystemTime::now()))
        .await
        .unwrap();
    store
        .insert(flow("free").due(SystemTime::now()))
        .await
        .unwrap();
    // A second connection holds the row's lock.
    let mut other = raw(&url).await;
    let tx = other.transaction().await.unwrap();
    tx.execute(
        "SELECT 1 FROM smartid_flows WHERE namespace = 'faults' AND id = 'locked' FOR UPDATE",
        &[],
    )
    .await
    .unwrap();
    let started = Instant::now();
    let err = store
        .complete("faults", "locked", b"x".to_vec(), SystemTime::now())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Timeout {
            after: Duration::from_millis(300)
        }
    );
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(5));
    let err = store
        .update("faults", "locked", 1, Update::due(None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Timeout { .. }), "{err:?}");
    // lease_due skips the locked row instead of waiting for it.
    let got = store
        .lease_due(LeaseRequest::new(
            "faults",
            "r",
            SystemTime::now(),
            Duration::from_secs(30),
            10,
        ))
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["free"]
    );
    tx.rollback().await.unwrap();
    // Once the lock is gone the outcome is written (nothing was lost).
    assert!(matches!(
        store
            .complete("faults", "locked", b"x".to_vec(), SystemTime::now())
            .await
            .unwrap(),
        Completion::Written(_)
    ));
}

#[tokio::test]
async fn a_schema_newer_than_known_is_incompatible_and_a_missing_one_says_migrate() {
    let Some(url) = fresh_database_url("faults_schema").await else {
        return;
    };
    let err = PostgresStore::connect(&url, PostgresOptions::new())
        .await
        .unwrap_err();
    let StoreError::Incompatible {
        found,
        supported,
        remedy,
        ..
    } = &err
    else {
        panic!("an empty database is Incompatible: {err:?}");
    };
    assert_eq!((*found, *supported), (0, SCHEMA_VERSION));
    assert!(remedy.contains("migrate()"), "{remedy}");

    let store = PostgresStore::connect(&url, options_for_test())
        .await
        .unwrap();
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    // Migrating again is a no-op.
    assert_eq!(store.migrate().await.unwrap(), SCHEMA_VERSION);
    let client = raw(&url).await;
    client
        .execute(
            "INSERT INTO smartid_schema_migrations (version, name) VALUES (99, 'from the future')",
            &[],
        )
        .await
        .unwrap();
    for options in [PostgresOptions::new(), options_for_test()] {
        let err = PostgresStore::connect(&url, options).await.unwrap_err();
        let StoreError::Incompatible {
            found,
            supported,
            remedy,
            ..
        } = &err
        else {
            panic!("a newer schema is Incompatible: {err:?}");
        };
        assert_eq!((*found, *supported), (99, SCHEMA_VERSION));
        assert!(remedy.contains("newer release"), "{remedy}");
    }
    assert!(matches!(
        store.migrate().await.unwrap_err(),
        StoreError::Incompatible { found: 99, .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_migrating_at_once_both_succeed() {
    let Some(url) = fresh_database_url("faults_migrate_race").await else {
        return;
    };
    let connects: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url, options_for_test()).await })
        })
        .collect();
    for c in connects {
        c.await.unwrap().unwrap();
    }
    let client = raw(&url).await;
    let n: i64 = client
        .query_one("SELECT count(*) FROM smartid_schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, i64::from(SCHEMA_VERSION), "each migration recorded once");
}

async fn listen_pids(admin: &tokio_postgres::Client) -> Vec<i32> {
    admin
        .query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'faults-waiter listen' \
             AND datname = current_database()",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, i32>(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_listen_connection_is_re_established_and_the_waiter_gets_its_outcome() {
    let Some(url) = fresh_database_url("faults_listen").await else {
        return;
    };
    let writer = PostgresStore::connect(&url, options_for_test())
        .await
        .unwrap();
    let waiter_options = options_for_test().application_name("faults-waiter");
    let waiter = Arc::new(PostgresStore::connect(&url, waiter_options).await.unwrap());
    writer.insert(flow("a")).await.unwrap();
    let mut events = waiter.subscribe();

    let admin = raw(&url).await;
    let before = listen_pids(&admin).await;
    assert_eq!(before.len(), 1, "one LISTEN connection per store");
    admin
        .execute("SELECT pg_terminate_backend($1)", &[&before[0]])
        .await
        .unwrap();
    // The subscriber is told that notifications may have been lost.
    let missed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(StoreEvent::Missed) = events.next().await {
                return;
            }
        }
    })
    .await;
    assert!(
        missed.is_ok(),
        "StoreEvent::Missed after the LISTEN connection died"
    );
    // ... and the connection comes back.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = listen_pids(&admin).await;
        if now.len() == 1 && now[0] != before[0] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the LISTEN connection was not re-established"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A waiter whose fallback is far longer than the test gets the outcome.
    let w = waiter.clone();
    let waiting = tokio::spawn(async move {
        wait_for_outcome(
            &*w,
            "faults",
            "a",
            None,
            &SystemClock,
            Duration::from_secs(600),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    writer
        .complete("faults", "a", b"done".to_vec(), SystemTime::now())
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the notification reached the re-established LISTEN")
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got.outcome.as_deref(), Some(&b"done"[..]));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_notification_reaches_another_replica_within_100_ms() {
    let Some(url) = fresh_database_url("faults_notify").await else {
        return;
    };
    let a = PostgresStore::connect(&url, options_for_test())
        .await
        .unwrap();
    let b = Arc::new(
        PostgresStore::connect(&url, options_for_test())
            .await
            .unwrap(),
    );
    let mut worst = Duration::ZERO;
    for i in 0..10 {
        let id = format!("n{i}");
        a.insert(flow(&id)).await.unwrap();
        let mut sub = b.subscribe();
        let started = Instant::now();
        a.complete("faults", &id, vec![], SystemTime::now())
            .await
            .unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(5), sub.next()).await {
                Ok(Some(StoreEvent::Completed { id: got, .. })) if got == id => break,
                Ok(Some(_)) => continue,
                other => panic!("no notification: {other:?}"),
            }
        }
        worst = worst.max(started.elapsed());
    }
    assert!(
        worst < Duration::from_millis(100),
        "slowest notification {worst:?}"
    );
}

#[tokio::test]
async fn a_lease_whose_holder_died_is_taken_over_after_expiry() {
    let Some(url) = fresh_database_url("faults_lease").await else {
        return;
    };
    let survivor = PostgresStore::connect(&url, options_for_test())
        .await
        .unwrap();
    {
        let dying = PostgresStore::connect(&url, options_for_test())
            .await
            .unwrap();
        dying
            .insert(flow("a").due(SystemTime::now()))
            .await
            .unwrap();
        let got = dying
            .lease_due(LeaseRequest::new(
                "faults",
                "dying",
                SystemTime::now(),
                Duration::from_millis(700),
                10,
            ))
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        // The holder dies here (its store, pool and connections gone).
    }
    let take = || {
        survivor.lease_due(LeaseRequest::new(
            "faults",
            "survivor",
            SystemTime::now(),
            Duration::from_secs(30),
            10,
        ))
    };
    assert!(take().await.unwrap().is_empty(), "not before the expiry");
    assert!(
        survivor
            .lease(
                "faults",
                "a",
                "survivor",
                SystemTime::now(),
                SystemTime::now() + Duration::from_secs(30)
            )
            .await
            .unwrap()
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got = take().await.unwrap();
    assert_eq!(got.len(), 1, "taken over after the expiry");
    assert!(got[0].is_leased_by("survivor", SystemTime::now()));
}

#[tokio::test]
async fn nul_characters_are_refused_with_a_typed_error() {
    let Some(url) = fresh_database_url("faults_nul").await else {
        return;
    };
    let store = PostgresStore::connect(&url, options_for_test())
        .await
        .unwrap();
    let err = store.insert(flow("a\0b")).await.unwrap_err();
    assert!(matches!(err, StoreError::Failed { .. }), "{err:?}");
    // A long id: the notification says Missed (over NOTIFY's 8000 bytes), the
    // outcome is written all the same.
    let long = "x".repeat(9000);
    store.insert(flow(&long)).await.unwrap();
    let mut sub = store.subscribe();
    assert!(matches!(
        store
            .complete("faults", &long, vec![], SystemTime::now())
            .await
            .unwrap(),
        Completion::Written(_)
    ));
    // The store tells its own subscribers directly; a `Missed` may come
    // first (the LISTEN connection being established in the background).
    let mut told = false;
    for _ in 0..4 {
        match tokio::time::timeout(Duration::from_secs(5), sub.next()).await {
            Ok(Some(StoreEvent::Completed { id, .. })) if id == long => {
                told = true;
                break;
            }
            Ok(Some(_)) => continue,
            other => panic!("no notification of the long id: {other:?}"),
        }
    }
    assert!(told, "the writer's own subscribers are told of the long id");
    // Another replica cannot be told which flow: it is told to read again.
    let other = PostgresStore::connect(&url, options_for_test())
        .await
        .unwrap();
    let long2 = "y".repeat(9000);
    store.insert(flow(&long2)).await.unwrap();
    let mut remote = other.subscribe();
    store
        .complete("faults", &long2, vec![], SystemTime::now())
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), remote.next()).await;
    assert_eq!(event, Ok(Some(StoreEvent::Missed)));
}
