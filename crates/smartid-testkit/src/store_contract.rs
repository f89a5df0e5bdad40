//! The contract of [`FlowStore`], as checks any implementation runs against
//! itself: [`check`] runs them all (the in-memory store in this crate's
//! tests, PostgreSQL in smartid-postgres's). Each check uses its own
//! namespaces under the one given, so a shared database can hold several runs.
//!
//! The checks panic (with what was expected) on a broken contract: they are
//! test code. Times are whole seconds past 2027, so that a store keeping
//! microseconds returns them unchanged.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use smartid_core::SystemClock;
use smartid_core::store::{
    Completion, FlowRecord, FlowStore, Inserted, LeaseRequest, NewFlow, StoreEvent, Update,
    wait_for_outcome,
};

/// `secs` seconds after a fixed instant (2027-01-15).
pub fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn flow(ns: &str, id: &str) -> NewFlow {
    NewFlow::new(ns, id, 1, format!("{{\"id\":\"{id}\"}}").into_bytes(), t(0))
}

fn ids(records: &[FlowRecord]) -> Vec<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

type Store = Arc<dyn FlowStore>;

/// Every check, on `store`, in namespaces starting with `namespace`.
pub async fn check(store: Store, namespace: &str) {
    insert_is_if_absent(&store, &format!("{namespace}.insert")).await;
    records_round_trip(&store, &format!("{namespace}.fields")).await;
    update_is_compare_and_swap(&store, &format!("{namespace}.update")).await;
    complete_writes_once(&store, &format!("{namespace}.complete")).await;
    lease_due_hands_out_each_due_flow_once(&store, &format!("{namespace}.due")).await;
    lease_one(&store, &format!("{namespace}.lease")).await;
    waiting_remove_prune(&store, &format!("{namespace}.prune")).await;
    wait_for_outcome_is_woken(&store, &format!("{namespace}.wait")).await;
    concurrent_leases_are_exclusive(&store, &format!("{namespace}.cleases"), 200, 8).await;
    concurrent_completions_write_once(&store, &format!("{namespace}.ccomplete"), 8).await;
    concurrent_inserts_and_updates(&store, &format!("{namespace}.cinsert"), 8).await;
}

/// Two handles on one shared store (two replicas): leases exclusive across
/// them, an outcome written through one is notified to the other's
/// subscribers.
pub async fn check_shared(a: Store, b: Store, namespace: &str) {
    let ns = &format!("{namespace}.shared");
    for i in 0..20 {
        a.insert(flow(ns, &format!("f{i:02}")).due(t(1)))
            .await
            .unwrap();
    }
    let (la, lb) = tokio::join!(
        a.lease_due(LeaseRequest::new(
            ns,
            "ra",
            t(5),
            Duration::from_secs(60),
            15
        )),
        b.lease_due(LeaseRequest::new(
            ns,
            "rb",
            t(5),
            Duration::from_secs(60),
            15
        )),
    );
    let (la, lb) = (la.unwrap(), lb.unwrap());
    let mut all = ids(&la);
    all.extend(ids(&lb));
    all.sort();
    all.dedup();
    assert_eq!(
        all.len(),
        la.len() + lb.len(),
        "a flow leased to both replicas"
    );
    assert_eq!(all.len(), 20, "every due flow leased by one of the two");

    let mut sub = b.subscribe();
    let Completion::Written(_) = a.complete(ns, "f00", b"ok".to_vec(), t(6)).await.unwrap() else {
        panic!("the first completion must be Written");
    };
    let event = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match sub.next().await {
                Some(StoreEvent::Completed { namespace, id })
                    if namespace == *ns && id == "f00" =>
                {
                    return true;
                }
                Some(_) => continue,
                None => return false,
            }
        }
    })
    .await;
    assert_eq!(
        event,
        Ok(true),
        "the other replica's subscriber is told about the outcome"
    );
    let seen = b.get(ns, "f00").await.unwrap().unwrap();
    assert_eq!(seen.outcome.as_deref(), Some(&b"ok"[..]));
}

/// `insert` creates once, by id and by alias.
pub async fn insert_is_if_absent(store: &Store, ns: &str) {
    let Inserted::Created(first) = store.insert(flow(ns, "a").alias("x")).await.unwrap() else {
        panic!("a new record is Created");
    };
    assert_eq!(first.version, 1);
    let mut other = flow(ns, "a");
    other.state = b"changed".to_vec();
    let Inserted::Exists(existing) = store.insert(other).await.unwrap() else {
        panic!("the same id again is Exists");
    };
    assert_eq!(existing, first, "the existing record is unchanged");
    let Inserted::Exists(by_alias) = store.insert(flow(ns, "b").alias("x")).await.unwrap() else {
        panic!("the same alias again is Exists");
    };
    assert_eq!(by_alias.id, "a");
    assert_eq!(store.get_by_alias(ns, "x").await.unwrap().unwrap().id, "a");
    assert!(store.get(ns, "b").await.unwrap().is_none());
    assert!(
        store
            .get(&format!("{ns}.other"), "a")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_by_alias(&format!("{ns}.other"), "x")
            .await
            .unwrap()
            .is_none()
    );
    // The same id and alias in another namespace is another record.
    assert!(matches!(
        store
            .insert(flow(&format!("{ns}.other"), "a").alias("x"))
            .await
            .unwrap(),
        Inserted::Created(_)
    ));
    // Records without alias do not collide.
    assert!(matches!(
        store.insert(flow(ns, "c")).await.unwrap(),
        Inserted::Created(_)
    ));
    assert!(matches!(
        store.insert(flow(ns, "d")).await.unwrap(),
        Inserted::Created(_)
    ));
}

/// Every field comes back as written.
pub async fn records_round_trip(store: &Store, ns: &str) {
    let state: Vec<u8> = (0..=255u8).collect();
    let mut new = NewFlow::new(ns, "ïd/with spaces:and'quotes\"", 7, state.clone(), t(3))
        .alias("alias-ü")
        .due(t(10))
        .leased("holder-1", t(40));
    new.format = u32::MAX;
    let Inserted::Created(created) = store.insert(new).await.unwrap() else {
        panic!("Created");
    };
    let read = store
        .get(ns, "ïd/with spaces:and'quotes\"")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, created);
    assert_eq!(read.namespace, ns);
    assert_eq!(read.alias.as_deref(), Some("alias-ü"));
    assert_eq!(read.format, u32::MAX);
    assert_eq!(read.state, state);
    assert_eq!(read.version, 1);
    assert_eq!(read.due, Some(t(10)));
    assert_eq!(read.lease, Some(("holder-1".to_owned(), t(40))));
    assert_eq!((read.outcome, read.completed), (None, None));
    assert_eq!(read.created, t(3));
    // Times before 1970 and far ahead, and an empty state.
    let early = SystemTime::UNIX_EPOCH - Duration::from_secs(86_400);
    let late = SystemTime::UNIX_EPOCH + Duration::from_secs(4_000_000_000);
    let Inserted::Created(r) = store
        .insert(NewFlow::new(ns, "times", 0, Vec::new(), early).due(late))
        .await
        .unwrap()
    else {
        panic!("Created");
    };
    assert_eq!((r.created, r.due, r.state.len()), (early, Some(late), 0));
}

/// `update` is compare-and-swap on the version and ends the lease.
pub async fn update_is_compare_and_swap(store: &Store, ns: &str) {
    store
        .insert(flow(ns, "a").leased("r1", t(100)).due(t(1)))
        .await
        .unwrap();
    assert!(
        store
            .update(ns, "a", 7, Update::due(Some(t(5))))
            .await
            .unwrap()
            .is_none(),
        "a wrong version changes nothing"
    );
    assert_eq!(store.get(ns, "a").await.unwrap().unwrap().version, 1);
    let next = store
        .update(
            ns,
            "a",
            1,
            Update::state(2, b"{\"n\":2}".to_vec(), Some(t(5))),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (next.version, next.format, next.lease.clone(), next.due),
        (2, 2, None, Some(t(5)))
    );
    assert_eq!(next.state, b"{\"n\":2}");
    assert_eq!(store.get(ns, "a").await.unwrap().unwrap(), next);
    assert!(
        store
            .update(ns, "a", 1, Update::due(None))
            .await
            .unwrap()
            .is_none(),
        "the old version again changes nothing"
    );
    let kept = store
        .update(ns, "a", 2, Update::due(None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (kept.version, kept.format, kept.due),
        (3, 2, None),
        "Update::due keeps the state"
    );
    assert_eq!(kept.state, b"{\"n\":2}");
    assert!(
        store
            .update(ns, "missing", 1, Update::due(None))
            .await
            .unwrap()
            .is_none()
    );
    store
        .complete(ns, "a", b"done".to_vec(), t(6))
        .await
        .unwrap();
    assert!(
        store
            .update(ns, "a", 4, Update::due(Some(t(9))))
            .await
            .unwrap()
            .is_none(),
        "a record with an outcome is not updated"
    );
}

async fn next_completed(sub: &mut smartid_core::store::Subscription, ns: &str, id: &str) -> bool {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match sub.next().await {
                Some(StoreEvent::Completed { namespace, id: i }) if namespace == ns && i == id => {
                    return true;
                }
                Some(_) => continue,
                None => return false,
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// `complete` writes the outcome once, clears due and lease, notifies.
pub async fn complete_writes_once(store: &Store, ns: &str) {
    store
        .insert(flow(ns, "a").due(t(1)).leased("r", t(50)))
        .await
        .unwrap();
    let mut sub = store.subscribe();
    let Completion::Written(done) = store
        .complete(ns, "a", b"one".to_vec(), t(2))
        .await
        .unwrap()
    else {
        panic!("the first completion is Written");
    };
    assert_eq!(
        (done.due, done.completed, done.lease.clone(), done.version),
        (None, Some(t(2)), None, 2)
    );
    assert_eq!(done.outcome.as_deref(), Some(&b"one"[..]));
    assert!(
        next_completed(&mut sub, ns, "a").await,
        "subscribers are told"
    );
    let Completion::AlreadyDone(again) = store
        .complete(ns, "a", b"two".to_vec(), t(3))
        .await
        .unwrap()
    else {
        panic!("the second completion is AlreadyDone");
    };
    assert_eq!(again, done, "the first outcome stays");
    assert_eq!(
        store.complete(ns, "zz", vec![], t(3)).await.unwrap(),
        Completion::Missing
    );
    assert_eq!(store.get(ns, "a").await.unwrap().unwrap(), done);
}

/// `lease_due`: due flows without outcome or live lease, earliest first,
/// each to one caller until the lease expires.
pub async fn lease_due_hands_out_each_due_flow_once(store: &Store, ns: &str) {
    for (id, due) in [("late", t(20)), ("early", t(5)), ("later", t(50))] {
        store.insert(flow(ns, id).due(due)).await.unwrap();
    }
    store.insert(flow(ns, "never")).await.unwrap();
    store.insert(flow(ns, "done").due(t(1))).await.unwrap();
    store.complete(ns, "done", vec![], t(1)).await.unwrap();
    store
        .insert(flow(ns, "held").due(t(1)).leased("r0", t(30)))
        .await
        .unwrap();
    store
        .insert(flow(&format!("{ns}.other"), "x").due(t(1)))
        .await
        .unwrap();
    let lease = |holder: &str, now| LeaseRequest::new(ns, holder, now, Duration::from_secs(30), 10);
    let got = store.lease_due(lease("r1", t(20))).await.unwrap();
    assert_eq!(
        ids(&got),
        ["early", "late"],
        "due at or before now, earliest first"
    );
    for r in &got {
        assert_eq!(r.lease, Some(("r1".to_owned(), t(50))));
        assert_eq!(r.version, 2, "a lease grows the version");
        assert_eq!(store.get(ns, &r.id).await.unwrap().as_ref(), Some(r));
    }
    assert!(
        store
            .lease_due(lease("r2", t(21)))
            .await
            .unwrap()
            .is_empty()
    );
    // r0's lease expired at 30, r1's at 50.
    let got = store.lease_due(lease("r2", t(30))).await.unwrap();
    assert_eq!(
        ids(&got),
        ["held"],
        "an expired lease (until <= now) is taken over"
    );
    let got = store.lease_due(lease("r2", t(50))).await.unwrap();
    assert_eq!(ids(&got), ["early", "late", "later"]);
    let limited = store
        .lease_due(LeaseRequest::new(
            ns,
            "r3",
            t(100),
            Duration::from_secs(1),
            1,
        ))
        .await
        .unwrap();
    assert_eq!(ids(&limited), ["held"]);
    let none = store
        .lease_due(LeaseRequest::new(
            ns,
            "r3",
            t(100),
            Duration::from_secs(1),
            0,
        ))
        .await
        .unwrap();
    assert!(none.is_empty(), "limit 0 leases nothing");
    // An update with a new due time ends the lease: due again then.
    let early = store.get(ns, "early").await.unwrap().unwrap();
    store
        .update(ns, "early", early.version, Update::due(Some(t(60))))
        .await
        .unwrap()
        .unwrap();
    let got = store
        .lease_due(LeaseRequest::new(
            ns,
            "r4",
            t(60),
            Duration::from_secs(10),
            10,
        ))
        .await
        .unwrap();
    assert!(ids(&got).contains(&"early".to_owned()));
}

/// `lease` of one record.
pub async fn lease_one(store: &Store, ns: &str) {
    store.insert(flow(ns, "a")).await.unwrap();
    let r = store
        .lease(ns, "a", "r1", t(1), t(10))
        .await
        .unwrap()
        .expect("a record without due time can be leased");
    assert_eq!(
        (r.lease.clone(), r.version),
        (Some(("r1".to_owned(), t(10))), 2)
    );
    assert!(
        store
            .lease(ns, "a", "r2", t(5), t(20))
            .await
            .unwrap()
            .is_none(),
        "another holder's live lease"
    );
    let renewed = store
        .lease(ns, "a", "r1", t(5), t(20))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        renewed.lease,
        Some(("r1".to_owned(), t(20))),
        "the holder renews"
    );
    let taken = store
        .lease(ns, "a", "r2", t(20), t(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        taken.lease,
        Some(("r2".to_owned(), t(30))),
        "taken over after expiry"
    );
    assert!(
        store
            .lease(ns, "missing", "r1", t(1), t(2))
            .await
            .unwrap()
            .is_none()
    );
    store.complete(ns, "a", vec![], t(21)).await.unwrap();
    assert!(
        store
            .lease(ns, "a", "r2", t(40), t(50))
            .await
            .unwrap()
            .is_none(),
        "a record with an outcome"
    );
}

/// `waiting`, `remove` and `prune`.
pub async fn waiting_remove_prune(store: &Store, ns: &str) {
    for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
        let mut f = flow(ns, id).alias(format!("alias-{id}"));
        f.created = t(i as u64);
        store.insert(f).await.unwrap();
    }
    store.complete(ns, "b", vec![], t(5)).await.unwrap();
    assert_eq!(ids(&store.waiting(ns, 10).await.unwrap()), ["a", "c"]);
    assert_eq!(ids(&store.waiting(ns, 1).await.unwrap()), ["a"]);
    assert_eq!(
        store.prune(ns, t(10), false, 10).await.unwrap(),
        1,
        "only records with an outcome"
    );
    assert!(store.get(ns, "b").await.unwrap().is_none());
    assert!(store.remove(ns, "a").await.unwrap());
    assert!(!store.remove(ns, "a").await.unwrap());
    assert!(store.get_by_alias(ns, "alias-a").await.unwrap().is_none());
    assert!(
        matches!(
            store
                .insert({
                    let mut f = flow(ns, "a2").alias("alias-a");
                    f.created = t(5);
                    f
                })
                .await
                .unwrap(),
            Inserted::Created(_)
        ),
        "a removed record's alias is free"
    );
    assert_eq!(
        store.prune(ns, t(2), true, 10).await.unwrap(),
        0,
        "created before `before` only"
    );
    assert_eq!(
        store.prune(ns, t(10), true, 1).await.unwrap(),
        1,
        "at most limit"
    );
    assert_eq!(store.prune(ns, t(10), true, 10).await.unwrap(), 1);
    assert!(store.waiting(ns, 10).await.unwrap().is_empty());
    assert_eq!(store.prune(ns, t(10), true, 10).await.unwrap(), 0);
}

/// [`wait_for_outcome`] on this store wakes on the notification (the
/// fallback is far longer than the test).
pub async fn wait_for_outcome_is_woken(store: &Store, ns: &str) {
    store.insert(flow(ns, "a")).await.unwrap();
    let writer = store.clone();
    let ns_owned = ns.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer
            .complete(&ns_owned, "a", b"ok".to_vec(), t(9))
            .await
            .unwrap();
    });
    let started = std::time::Instant::now();
    let record = tokio::time::timeout(
        Duration::from_secs(30),
        wait_for_outcome(
            &**store,
            ns,
            "a",
            None,
            &SystemClock,
            Duration::from_secs(600),
        ),
    )
    .await
    .expect("woken by the notification, not the 600 s fallback")
    .unwrap()
    .unwrap();
    assert_eq!(record.outcome.as_deref(), Some(&b"ok"[..]));
    assert!(started.elapsed() < Duration::from_secs(30));
    let gone = wait_for_outcome(
        &**store,
        ns,
        "missing",
        None,
        &SystemClock,
        Duration::from_millis(10),
    )
    .await
    .unwrap();
    assert!(gone.is_none());
}

/// `tasks` tasks lease `flows` due flows in small batches until none is
/// left: each flow leased exactly once.
pub async fn concurrent_leases_are_exclusive(store: &Store, ns: &str, flows: usize, tasks: usize) {
    for i in 0..flows {
        store
            .insert(flow(ns, &format!("f{i:04}")).due(t((i % 17) as u64)))
            .await
            .unwrap();
    }
    let mut handles = Vec::new();
    for task in 0..tasks {
        let store = store.clone();
        let ns = ns.to_owned();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = store
                    .lease_due(LeaseRequest::new(
                        &ns,
                        format!("task-{task}"),
                        t(100),
                        Duration::from_secs(3600),
                        7,
                    ))
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                for r in got {
                    assert_eq!(
                        r.lease.as_ref().map(|l| l.0.as_str()),
                        Some(&*format!("task-{task}"))
                    );
                    mine.push(r.id);
                }
            }
        }));
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for h in handles {
        for id in h.await.unwrap() {
            *counts.entry(id).or_default() += 1;
        }
    }
    assert_eq!(counts.len(), flows, "every due flow was leased");
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "leased more than once: {doubled:?}");
}

/// `tasks` tasks complete the same flow with different outcomes: exactly one
/// `Written`, every other `AlreadyDone` with the winner's outcome.
pub async fn concurrent_completions_write_once(store: &Store, ns: &str, tasks: usize) {
    for round in 0..5 {
        let id = format!("c{round}");
        store.insert(flow(ns, &id).due(t(1))).await.unwrap();
        let mut handles = Vec::new();
        for task in 0..tasks {
            let store = store.clone();
            let (ns, id) = (ns.to_owned(), id.clone());
            handles.push(tokio::spawn(async move {
                store
                    .complete(&ns, &id, format!("outcome-{task}").into_bytes(), t(2))
                    .await
                    .unwrap()
            }));
        }
        let mut written = Vec::new();
        let mut already = Vec::new();
        for h in handles {
            match h.await.unwrap() {
                Completion::Written(r) => written.push(r),
                Completion::AlreadyDone(r) => already.push(r),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(written.len(), 1, "exactly one completion is Written");
        let winner = written[0].outcome.clone();
        assert!(
            already.iter().all(|r| r.outcome == winner),
            "AlreadyDone shows the first outcome"
        );
        assert_eq!(store.get(ns, &id).await.unwrap().unwrap().outcome, winner);
    }
}

/// Concurrent inserts of one id: one `Created`; concurrent updates from one
/// version: one succeeds.
pub async fn concurrent_inserts_and_updates(store: &Store, ns: &str, tasks: usize) {
    let mut handles = Vec::new();
    for task in 0..tasks {
        let store = store.clone();
        let ns = ns.to_owned();
        handles.push(tokio::spawn(async move {
            // Half by id, half by alias.
            let id = if task % 2 == 0 {
                "same".to_owned()
            } else {
                format!("other-{task}")
            };
            store
                .insert(flow(&ns, &id).alias("one-alias"))
                .await
                .unwrap()
        }));
    }
    let mut created = 0;
    for h in handles {
        if let Inserted::Created(_) = h.await.unwrap() {
            created += 1;
        }
    }
    assert_eq!(created, 1, "one insert creates, the others find it");
    let current = store.get_by_alias(ns, "one-alias").await.unwrap().unwrap();
    let mut handles = Vec::new();
    for task in 0..tasks {
        let store = store.clone();
        let (ns, id, version) = (ns.to_owned(), current.id.clone(), current.version);
        handles.push(tokio::spawn(async move {
            store
                .update(
                    &ns,
                    &id,
                    version,
                    Update::state(1, format!("{task}").into_bytes(), None),
                )
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for h in handles {
        if h.await.unwrap().is_some() {
            won += 1;
        }
    }
    assert_eq!(won, 1, "one compare-and-swap wins");
}
