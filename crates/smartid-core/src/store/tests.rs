use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::*;
use crate::SystemClock;

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn flow(id: &str) -> NewFlow {
    NewFlow::new(
        "ns",
        id,
        1,
        format!("{{\"id\":\"{id}\"}}").into_bytes(),
        t(0),
    )
}

#[tokio::test]
async fn insert_is_if_absent_by_id_and_alias() {
    let store = MemoryStore::new();
    assert!(
        matches!(store.insert(flow("a").alias("x")).await.unwrap(), Inserted::Created(r) if r.version == 1)
    );
    assert!(matches!(store.insert(flow("a")).await.unwrap(), Inserted::Exists(r) if r.id == "a"));
    assert!(
        matches!(store.insert(flow("b").alias("x")).await.unwrap(), Inserted::Exists(r) if r.id == "a")
    );
    assert_eq!(
        store.get_by_alias("ns", "x").await.unwrap().unwrap().id,
        "a"
    );
    assert!(store.get("ns", "b").await.unwrap().is_none());
    assert!(store.get("other", "a").await.unwrap().is_none());
}

#[tokio::test]
async fn update_is_compare_and_swap_and_ends_the_lease() {
    let store = MemoryStore::new();
    store.insert(flow("a").leased("r1", t(100))).await.unwrap();
    assert!(
        store
            .update("ns", "a", 7, Update::due(Some(t(5))))
            .await
            .unwrap()
            .is_none()
    );
    let next = store
        .update("ns", "a", 1, Update::state(2, b"{}".to_vec(), Some(t(5))))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (next.version, next.format, next.lease.clone()),
        (2, 2, None)
    );
    assert!(
        store
            .update("ns", "a", 1, Update::due(None))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn leases_go_to_one_holder_until_they_expire() {
    let store = MemoryStore::new();
    for (id, due) in [("late", t(20)), ("early", t(5)), ("later", t(50))] {
        store.insert(flow(id).due(due)).await.unwrap();
    }
    store.insert(flow("never")).await.unwrap();
    let lease =
        |holder: &str, now| LeaseRequest::new("ns", holder, now, Duration::from_secs(30), 10);
    let got: Vec<String> = store
        .lease_due(lease("r1", t(20)))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(got, ["early", "late"]);
    assert!(
        store
            .lease_due(lease("r2", t(21)))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .lease("ns", "early", "r2", t(21), t(60))
            .await
            .unwrap()
            .is_none()
    );
    // r1 died: after the expiry, r2 takes both over.
    let got: Vec<String> = store
        .lease_due(lease("r2", t(50)))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(got, ["early", "late", "later"]);
    let limited = store
        .lease_due(LeaseRequest::new(
            "ns",
            "r3",
            t(100),
            Duration::from_secs(1),
            1,
        ))
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
}

#[tokio::test]
async fn the_outcome_is_written_once_and_notified() {
    let store = MemoryStore::new();
    store.insert(flow("a").due(t(1))).await.unwrap();
    let mut sub = store.subscribe();
    let Completion::Written(done) = store
        .complete("ns", "a", b"one".to_vec(), t(2))
        .await
        .unwrap()
    else {
        panic!("first completion");
    };
    assert_eq!((done.due, done.completed), (None, Some(t(2))));
    assert_eq!(
        sub.next().await,
        Some(StoreEvent::Completed {
            namespace: "ns".into(),
            id: "a".into()
        })
    );
    let Completion::AlreadyDone(again) = store
        .complete("ns", "a", b"two".to_vec(), t(3))
        .await
        .unwrap()
    else {
        panic!("second completion");
    };
    assert_eq!(again.outcome.as_deref(), Some(&b"one"[..]));
    assert_eq!(
        store.complete("ns", "zz", vec![], t(3)).await.unwrap(),
        Completion::Missing
    );
    assert!(
        store
            .update("ns", "a", done.version, Update::due(None))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .lease_due(LeaseRequest::new(
                "ns",
                "r",
                t(9),
                Duration::from_secs(1),
                9
            ))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn namespaces_keep_their_records_apart() {
    let store = MemoryStore::new();
    let in_ns = |ns: &str, id: &str| {
        NewFlow::new(ns, id, 1, b"{}".to_vec(), t(0))
            .alias("same-alias")
            .due(t(1))
    };
    for ns in ["one", "two"] {
        assert!(matches!(
            store.insert(in_ns(ns, "id")).await.unwrap(),
            Inserted::Created(r) if r.namespace == ns
        ));
    }
    // The same id and alias in another namespace is another record.
    assert!(matches!(
        store
            .complete("one", "id", b"done".to_vec(), t(2))
            .await
            .unwrap(),
        Completion::Written(_)
    ));
    let two = store.get("two", "id").await.unwrap().unwrap();
    assert_eq!((two.outcome, two.version, two.due), (None, 1, Some(t(1))));
    assert_eq!(
        store
            .get_by_alias("two", "same-alias")
            .await
            .unwrap()
            .unwrap()
            .namespace,
        "two"
    );
    // Only the namespace asked for is leased, listed and pruned.
    let leased = store
        .lease_due(LeaseRequest::new(
            "two",
            "r",
            t(5),
            Duration::from_secs(9),
            9,
        ))
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].namespace, "two");
    assert!(
        store
            .lease_due(LeaseRequest::new(
                "one",
                "r",
                t(5),
                Duration::from_secs(9),
                9
            ))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.waiting("one", 9).await.unwrap().is_empty());
    assert_eq!(store.waiting("two", 9).await.unwrap().len(), 1);
    assert_eq!(store.prune("one", t(9), true, 9).await.unwrap(), 1);
    assert!(store.get("one", "id").await.unwrap().is_none());
    assert!(
        store
            .get_by_alias("one", "same-alias")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.get("two", "id").await.unwrap().is_some());
    assert!(store.remove("two", "id").await.unwrap());
    assert!(
        store
            .lease_due(LeaseRequest::new(
                "two",
                "r",
                t(50),
                Duration::from_secs(9),
                9
            ))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.get("nowhere", "id").await.unwrap().is_none());
    assert!(!store.remove("nowhere", "id").await.unwrap());
    assert_eq!(store.prune("nowhere", t(9), true, 9).await.unwrap(), 0);
}

#[tokio::test]
async fn waiting_remove_and_prune() {
    let store = MemoryStore::new();
    for id in ["a", "b", "c"] {
        store
            .insert(flow(id).alias(format!("alias-{id}")))
            .await
            .unwrap();
    }
    store.complete("ns", "b", vec![], t(1)).await.unwrap();
    let waiting: Vec<String> = store
        .waiting("ns", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(waiting, ["a", "c"]);
    assert_eq!(store.prune("ns", t(1), false, 10).await.unwrap(), 1);
    assert!(store.remove("ns", "a").await.unwrap());
    assert!(!store.remove("ns", "a").await.unwrap());
    assert!(store.get_by_alias("ns", "alias-a").await.unwrap().is_none());
    assert_eq!(store.prune("ns", t(1), true, 10).await.unwrap(), 1);
    assert!(store.waiting("ns", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn wait_for_outcome_wakes_on_the_notification() {
    let store = Arc::new(MemoryStore::new());
    store.insert(flow("a")).await.unwrap();
    let writer = store.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        writer
            .complete("ns", "a", b"ok".to_vec(), SystemTime::now())
            .await
            .unwrap();
    });
    let started = std::time::Instant::now();
    // A fallback far longer than the test: only the notification can wake it.
    let record = wait_for_outcome(
        &store,
        "ns",
        "a",
        None,
        &SystemClock,
        Duration::from_secs(600),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(record.outcome.as_deref(), Some(&b"ok"[..]));
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test]
async fn wait_for_outcome_ends_at_the_deadline_or_when_removed() {
    let store = MemoryStore::new();
    store.insert(flow("a")).await.unwrap();
    let deadline = SystemTime::now() + Duration::from_millis(30);
    let got = wait_for_outcome(
        &store,
        "ns",
        "a",
        Some(deadline),
        &SystemClock,
        Duration::from_millis(5),
    )
    .await
    .unwrap();
    assert!(got.is_none());
    assert!(
        wait_for_outcome(
            &store,
            "ns",
            "gone",
            None,
            &SystemClock,
            Duration::from_millis(5)
        )
        .await
        .unwrap()
        .is_none()
    );
}

#[test]
fn debug_shows_no_state_bytes() {
    let record = FlowRecord {
        namespace: "ns".into(),
        id: "a".into(),
        alias: Some("secret-token".into()),
        format: 1,
        state: b"revocation-password".to_vec(),
        version: 1,
        due: None,
        lease: None,
        outcome: Some(b"outcome-secret".to_vec()),
        created: t(0),
        completed: None,
    };
    let shown = format!("{record:?}");
    for secret in ["revocation-password", "outcome-secret", "secret-token"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn a_flow_subscription_is_woken_by_its_own_outcome_only() {
    let store = MemoryStore::new();
    for id in ["a", "b"] {
        store.insert(flow(id).due(t(1))).await.unwrap();
    }
    let mut a1 = store.subscribe_to("ns", "a");
    let mut a2 = store.subscribe_to("ns", "a");
    let mut b = store.subscribe_to("ns", "b");
    store
        .complete("ns", "a", b"one".to_vec(), t(2))
        .await
        .unwrap();
    let completed_a = Some(StoreEvent::Completed {
        namespace: "ns".into(),
        id: "a".into(),
    });
    // Written before the waits began: still seen, by every subscriber of a.
    assert_eq!(a1.next().await, completed_a);
    assert_eq!(a2.next().await, completed_a);
    let quiet = tokio::time::timeout(Duration::from_millis(50), b.next()).await;
    assert!(quiet.is_err(), "b was woken by a's outcome: {quiet:?}");
    // An outcome written while the subscriber waits wakes it.
    let waiting = tokio::spawn(async move { b.next().await });
    tokio::task::yield_now().await;
    store
        .complete("ns", "b", b"two".to_vec(), t(3))
        .await
        .unwrap();
    assert_eq!(
        waiting.await.unwrap(),
        Some(StoreEvent::Completed {
            namespace: "ns".into(),
            id: "b".into()
        })
    );
}

#[tokio::test]
async fn a_flow_subscription_hears_missed_and_leaves_no_entry_behind() {
    let notifier = Notifier::new(4);
    let mut one = notifier.subscribe_to("ns", "a");
    let other = notifier.subscribe_to("ns", "a");
    notifier.missed();
    assert_eq!(one.next().await, Some(StoreEvent::Missed));
    drop(one);
    drop(other);
    assert!(
        format!("{notifier:?}").contains("watched: 0"),
        "{notifier:?}"
    );
}

#[tokio::test]
async fn wait_for_outcome_sees_an_outcome_written_while_it_sleeps() {
    let store = MemoryStore::new();
    store.insert(flow("a").due(t(1))).await.unwrap();
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            // A fallback far away: only the notification can end this soon.
            wait_for_outcome(
                &store,
                "ns",
                "a",
                None,
                &crate::SystemClock,
                Duration::from_secs(3600),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    store
        .complete("ns", "a", b"one".to_vec(), t(2))
        .await
        .unwrap();
    let record = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("woken by the outcome")
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(record.outcome.as_deref(), Some(&b"one"[..]));
}
