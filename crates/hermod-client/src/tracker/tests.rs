use std::time::{Duration, SystemTime};

use super::*;
use crate::timing::CommandTiming;
use crate::vocab::CommandKind;
use smartid_testkit::ManualClock;

/// Tracks with no caller deadline: the future of the outcome alone.
async fn track(
    tracker: &Tracker,
    command: TrackedCommand,
) -> impl Future<Output = Outcome> + Send + 'static {
    tracker.register(command.clone()).await.unwrap();
    let pending = tracker.track(command, &WaitOptions::new());
    async move {
        match pending.await {
            Ok(outcome) => outcome,
            Err(e) => panic!("no deadline was set, yet: {e}"),
        }
    }
}

fn setup(check: bool) -> (ManualClock, Tracker) {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000));
    let tracker = Tracker::builder()
        .clock(clock.clone())
        .session_start_check(check)
        .build();
    (clock, tracker)
}

fn cmd(clock: &ManualClock, id: &str, ext: Option<&str>) -> TrackedCommand {
    TrackedCommand::new(
        id,
        ext.map(str::to_owned),
        CommandKind::Sign,
        CommandTiming::from_secs(60, 30, 10).unwrap(),
        clock.now(),
    )
}

async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn callback_resolves_by_command_id_and_duplicates_are_ignored() {
    let (clock, tracker) = setup(true);
    let pending = track(&tracker, cmd(&clock, "688", None)).await;
    let mut cb = Callback::new("688", CommandState::Completed);
    cb.result = Some(serde_json::json!({"signature": "MIIB"}));
    assert_eq!(
        tracker.deliver(cb.clone()).await.unwrap(),
        Delivery::Resolved
    );
    assert_eq!(
        tracker.deliver(cb.clone()).await.unwrap(),
        Delivery::Duplicate
    );
    let outcome = pending.await;
    assert_eq!(outcome, Outcome::Answered(cb));
    // A second future on the same command sees the same outcome.
    assert!(matches!(
        tracker.wait("688", &WaitOptions::new()).await.unwrap(),
        Outcome::Answered(_)
    ));
    let declined = Callback::new("688", CommandState::Declined);
    assert_eq!(tracker.deliver(declined).await.unwrap(), Delivery::Late);
}

#[tokio::test]
async fn callback_resolves_by_external_id() {
    let (clock, tracker) = setup(true);
    let pending = track(&tracker, cmd(&clock, "1", Some("order-9"))).await;
    let mut cb = Callback::new("x", CommandState::Declined);
    cb.command_id = None;
    cb.external_id = Some("order-9".into());
    assert_eq!(tracker.deliver(cb).await.unwrap(), Delivery::Resolved);
    assert_eq!(pending.await.state(), CommandState::Declined);
}

#[tokio::test]
async fn early_callbacks_are_kept_until_tracked() {
    let (clock, tracker) = setup(true);
    assert_eq!(
        tracker
            .deliver(Callback::new("7", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Early
    );
    assert_eq!(
        tracker
            .deliver(Callback::new("7", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Duplicate
    );
    let outcome = track(&tracker, cmd(&clock, "7", None)).await.await;
    assert_eq!(outcome.state(), CommandState::Completed);
}

#[tokio::test]
async fn early_store_is_bounded_and_expires() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
    let tracker = Tracker::builder()
        .clock(clock.clone())
        .early_callbacks(2, Duration::from_secs(10))
        .build();
    assert_eq!(
        tracker
            .deliver(Callback::new("a", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Early
    );
    assert_eq!(
        tracker
            .deliver(Callback::new("b", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Early
    );
    assert_eq!(
        tracker
            .deliver(Callback::new("c", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Refused
    );
    clock.advance(Duration::from_secs(11));
    assert_eq!(
        tracker
            .deliver(Callback::new("c", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Early
    );
}

#[tokio::test]
async fn session_never_started() {
    let (clock, tracker) = setup(true);
    let pending = tokio::spawn(track(&tracker, cmd(&clock, "1", None)).await);
    settle().await;
    clock.advance(Duration::from_secs(9));
    settle().await;
    assert!(!pending.is_finished());
    clock.advance(Duration::from_secs(1));
    assert_eq!(pending.await.unwrap(), Outcome::SessionNotStarted);
    assert_eq!(
        tracker.outcome("1").await.unwrap(),
        Some(Outcome::SessionNotStarted)
    );
    // The device answering afterwards is late.
    assert_eq!(
        tracker
            .deliver(Callback::new("1", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Late
    );
}

#[tokio::test]
async fn without_progress_callbacks_only_hermod_or_the_lifespan_ends_the_wait() {
    // The default: nothing depends on progress callbacks. Past the session
    // start and the timeout the device may still have the command.
    let (clock, tracker) = setup(false);
    let pending = tokio::spawn(track(&tracker, cmd(&clock, "1", None)).await);
    settle().await;
    clock.advance(Duration::from_secs(45));
    settle().await;
    assert!(!pending.is_finished());
    assert_eq!(
        tracker
            .deliver(Callback::new("1", CommandState::Timeout))
            .await
            .unwrap(),
        Delivery::Resolved
    );
    assert_eq!(pending.await.unwrap(), Outcome::TimedOut);
    let other = tokio::spawn(track(&tracker, cmd(&clock, "2", None)).await);
    settle().await;
    clock.advance(Duration::from_secs(60));
    assert_eq!(other.await.unwrap(), Outcome::Expired);
    assert!(!Tracker::new().shared.session_start_check);
}

#[tokio::test]
async fn callbacks_of_another_kind_are_ignored() {
    let (clock, tracker) = setup(false);
    let pending = track(&tracker, cmd(&clock, "5", None)).await;
    let mut ping = Callback::new("5", CommandState::Completed);
    ping.kind = Some(CommandKind::Ping);
    assert_eq!(
        tracker.deliver(ping.clone()).await.unwrap(),
        Delivery::WrongKind {
            expected: CommandKind::Sign,
            got: CommandKind::Ping
        }
    );
    assert_eq!(tracker.outcome("5").await.unwrap(), None);
    // Kept early on the wrong path, it is not applied when tracked either.
    assert_eq!(
        tracker
            .deliver({
                let mut p = ping.clone();
                p.command_id = Some("6".into());
                p
            })
            .await
            .unwrap(),
        Delivery::Early
    );
    let six = tokio::spawn(track(&tracker, cmd(&clock, "6", None)).await);
    settle().await;
    assert!(!six.is_finished());
    assert_eq!(tracker.early_usage().0, 0);
    let mut sign = Callback::new("5", CommandState::Completed);
    sign.kind = Some(CommandKind::Sign);
    assert_eq!(tracker.deliver(sign).await.unwrap(), Delivery::Resolved);
    assert_eq!(pending.await.state(), CommandState::Completed);
}

#[tokio::test]
async fn unauthenticated_callbacks_are_never_kept_early() {
    let (clock, tracker) = setup(false);
    assert_eq!(
        tracker
            .deliver_unauthenticated(Callback::new("9", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::NotTracked
    );
    assert_eq!(tracker.early_usage(), (0, 0));
    let pending = tokio::spawn(track(&tracker, cmd(&clock, "9", None)).await);
    settle().await;
    assert!(!pending.is_finished());
    // Once tracked, the same path resolves.
    assert_eq!(
        tracker
            .deliver_unauthenticated(Callback::new("9", CommandState::Declined))
            .await
            .unwrap(),
        Delivery::Resolved
    );
    assert_eq!(pending.await.unwrap().state(), CommandState::Declined);
}

#[tokio::test]
async fn early_store_is_bounded_by_bytes() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
    let tracker = Tracker::builder()
        .clock(clock.clone())
        .early_callbacks(1_000_000, Duration::from_secs(60))
        .early_callback_bytes(256 * 1024)
        .build();
    let big = "x".repeat(60 * 1024);
    let mut kept = 0;
    let mut refused = 0;
    for i in 0..50 {
        let mut cb = Callback::new(i.to_string(), CommandState::Completed);
        cb.raw["result"] = serde_json::Value::String(big.clone());
        match tracker.deliver(cb).await.unwrap() {
            Delivery::Early => kept += 1,
            Delivery::Refused => refused += 1,
            other => panic!("{other:?}"),
        }
        assert!(tracker.early_usage().1 <= 256 * 1024);
    }
    assert_eq!((kept, refused), (4, 46));
    // Small callbacks still fit in what is left.
    assert_eq!(
        tracker
            .deliver(Callback::new("small", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Early
    );
    // Tracking one frees its bytes; its result survived the compact store.
    let before = tracker.early_usage().1;
    let outcome = track(&tracker, cmd(&clock, "0", None)).await.await;
    assert_eq!(
        outcome.callback().unwrap().raw["result"]
            .as_str()
            .map(str::len),
        Some(big.len())
    );
    assert!(tracker.early_usage().1 < before - 60 * 1024);
}

#[tokio::test]
async fn started_session_waits_until_the_lifespan() {
    let (clock, tracker) = setup(true);
    let pending = tokio::spawn(track(&tracker, cmd(&clock, "1", None)).await);
    settle().await;
    clock.advance(Duration::from_secs(5));
    assert_eq!(
        tracker
            .deliver(Callback::new("1", CommandState::Started))
            .await
            .unwrap(),
        Delivery::Progress
    );
    settle().await;
    // Past the session start and the timeout: still waiting, the device has it.
    clock.advance(Duration::from_secs(40));
    settle().await;
    assert!(!pending.is_finished());
    clock.advance(Duration::from_secs(15));
    assert_eq!(pending.await.unwrap(), Outcome::Expired);
}

#[tokio::test]
async fn answer_after_the_timeout_from_an_opened_session_counts() {
    let (clock, tracker) = setup(true);
    let pending = tokio::spawn(track(&tracker, cmd(&clock, "1", None)).await);
    assert!(tracker.mark_session_started("1").await.unwrap());
    clock.advance(Duration::from_secs(45));
    settle().await;
    assert_eq!(
        tracker
            .deliver(Callback::new("1", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Resolved
    );
    assert_eq!(pending.await.unwrap().state(), CommandState::Completed);
}

#[tokio::test]
async fn hermod_timeout_and_expiry_callbacks_map_to_outcomes() {
    let (clock, tracker) = setup(true);
    let a = track(&tracker, cmd(&clock, "a", None)).await;
    let b = track(&tracker, cmd(&clock, "b", None)).await;
    assert_eq!(
        tracker
            .deliver(Callback::new("a", CommandState::Timeout))
            .await
            .unwrap(),
        Delivery::Resolved
    );
    assert_eq!(
        tracker
            .deliver(Callback::new("b", CommandState::Expired))
            .await
            .unwrap(),
        Delivery::Resolved
    );
    assert_eq!(
        tracker
            .deliver(Callback::new("b", CommandState::Expired))
            .await
            .unwrap(),
        Delivery::Duplicate
    );
    assert_eq!(a.await, Outcome::TimedOut);
    assert_eq!(b.await, Outcome::Expired);
}

#[tokio::test]
async fn dropped_future_can_be_resumed_and_state_serializes() {
    let (clock, tracker) = setup(true);
    let t = cmd(&clock, "42", Some("e"));
    drop(track(&tracker, t.clone()).await);
    let saved = serde_json::to_string(&tracker.waiting().await.unwrap()).unwrap();
    let restored: Vec<TrackedCommand> = serde_json::from_str(&saved).unwrap();
    assert_eq!(restored, vec![t.clone()]);
    // Another tracker (another process) picks it up.
    let other = Tracker::builder().clock(clock.clone()).build();
    let pending = track(&other, restored[0].clone()).await;
    other
        .deliver(Callback::new("42", CommandState::Completed))
        .await
        .unwrap();
    assert_eq!(pending.await.state(), CommandState::Completed);
    tracker.forget("42").await.unwrap();
    assert!(tracker.waiting().await.unwrap().is_empty());
    assert_eq!(tracker.outcome("42").await.unwrap(), None);
}

#[tokio::test]
async fn abandoned_commands_are_pruned_after_their_lifespan() {
    let (clock, tracker) = setup(true);
    let kept = track(&tracker, cmd(&clock, "0", Some("e0"))).await;
    // Futures dropped at once: nothing resolves these commands.
    for i in 1..1024 {
        drop(
            track(
                &tracker,
                cmd(&clock, &i.to_string(), Some(&format!("e{i}"))),
            )
            .await,
        );
    }
    assert_eq!(tracker.waiting().await.unwrap().len(), 1024);
    clock.advance(Duration::from_secs(61));
    drop(track(&tracker, cmd(&clock, "new", None)).await);
    // Past their lifespan they are no longer waiting: each got its outcome.
    assert_eq!(tracker.waiting().await.unwrap().len(), 1);
    assert_eq!(tracker.outcome("77").await.unwrap(), Some(Outcome::Expired));
    assert_eq!(
        tracker.outcome_by_external_id("e78").await.unwrap(),
        Some(Outcome::Expired)
    );
    // A future still held on an expired command ends as its deadline says.
    assert_eq!(kept.await, Outcome::Expired);
}

#[tokio::test]
async fn the_callers_deadline_ends_the_wait_and_the_command_stays_tracked() {
    let (clock, tracker) = setup(false);
    let start = clock.now();
    let options = WaitOptions::new().timeout_from(start, Duration::from_secs(20));
    let pending = tokio::spawn(tracker.track(cmd(&clock, "d1", None), &options));
    settle().await;
    clock.advance(Duration::from_secs(19));
    settle().await;
    assert!(!pending.is_finished());
    clock.advance(Duration::from_secs(1));
    match pending.await.unwrap() {
        Err(Error::DeadlineReached { command_id }) => assert_eq!(command_id, "d1"),
        other => panic!("{other:?}"),
    }
    // Resumable: the command is still waiting, and a later callback resolves it.
    assert_eq!(tracker.waiting().await.unwrap().len(), 1);
    let again = tracker.wait("d1", &WaitOptions::new());
    assert_eq!(
        tracker
            .deliver(Callback::new("d1", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Resolved
    );
    assert!(matches!(again.await, Ok(Outcome::Answered(_))));
    // A deadline already past ends at once; an outcome already reached wins.
    let past = WaitOptions::until(start);
    assert!(matches!(
        tracker.track(cmd(&clock, "d2", None), &past).await,
        Err(Error::DeadlineReached { .. })
    ));
    assert!(matches!(
        tracker.wait("d1", &past).await,
        Ok(Outcome::Answered(_))
    ));
}

#[tokio::test]
async fn early_callbacks_expire_on_the_trackers_clock() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000));
    let tracker = Tracker::builder()
        .clock(clock.clone())
        .early_callbacks(10, Duration::from_secs(300))
        .build();
    assert_eq!(
        tracker
            .deliver(Callback::new("e1", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Early
    );
    clock.advance(Duration::from_secs(301));
    // Pruned when the next early callback arrives, by the injected clock.
    assert_eq!(
        tracker
            .deliver(Callback::new("e2", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Early
    );
    assert_eq!(tracker.early_usage().0, 1);
    let late = tracker.track(cmd(&clock, "e1", None), &WaitOptions::until(clock.now()));
    assert!(matches!(late.await, Err(Error::DeadlineReached { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_callback_and_track_on_two_replicas_give_one_outcome_whatever_the_order() {
    let store = MemoryStore::new();
    let a = Tracker::builder().store(store.clone()).build();
    let b = Tracker::builder().store(store.clone()).build();
    let now = SystemTime::now();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let id = format!("race-{i}");
        let t = TrackedCommand::new(
            &id,
            Some(format!("ext-{i}")),
            CommandKind::Sign,
            CommandTiming::default(),
            now,
        );
        let (a, b) = (a.clone(), b.clone());
        tasks.push(tokio::spawn(async move {
            let mut cb = Callback::new(&id, CommandState::Completed);
            cb.external_id = Some(format!("ext-{i}"));
            let deliver = tokio::spawn({
                let b = b.clone();
                async move { b.deliver(cb).await.unwrap() }
            });
            if i % 3 == 0 {
                // The callback first, for sure; otherwise a race.
                while !deliver.is_finished() {
                    tokio::task::yield_now().await;
                }
            }
            let outcome = a.track(t, &WaitOptions::new()).await.unwrap();
            (deliver.await.unwrap(), outcome)
        }));
    }
    let (mut resolved, mut early) = (0, 0);
    for t in tasks {
        let (delivery, outcome) = t.await.unwrap();
        match delivery {
            Delivery::Resolved => resolved += 1,
            Delivery::Early => early += 1,
            other => panic!("{other:?}"),
        }
        assert_eq!(outcome.state(), CommandState::Completed);
    }
    assert_eq!(resolved + early, 300);
    assert!(early >= 100, "{early} early");
    println!("race: {resolved} resolved, {early} early");
    for i in 0..300 {
        assert_eq!(
            b.outcome_by_external_id(&format!("ext-{i}"))
                .await
                .unwrap()
                .map(|o| o.state()),
            Some(CommandState::Completed)
        );
    }
}

#[tokio::test]
async fn expired_early_callbacks_are_removed_from_the_shared_store() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000));
    let store = MemoryStore::new();
    let a = Tracker::builder()
        .store(store.clone())
        .clock(clock.clone())
        .early_callbacks(10, Duration::from_secs(30))
        .build();
    assert_eq!(
        a.deliver(Callback::new("x1", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Early
    );
    assert!(store.get(STORE_NAMESPACE, "x1").await.unwrap().is_some());
    clock.advance(Duration::from_secs(31));
    // The next callback makes the tracker remove what expired.
    assert_eq!(
        a.deliver(Callback::new("x2", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Early
    );
    assert!(store.get(STORE_NAMESPACE, "x1").await.unwrap().is_none());
    // A record being removed (leased by another replica) is left alone:
    // a callback for it is refused (Hermod retries) and tracking waits.
    let lease_until = clock.now() + Duration::from_secs(5);
    store
        .lease(
            STORE_NAMESPACE,
            "x2",
            "someone-else",
            clock.now(),
            lease_until,
        )
        .await
        .unwrap()
        .unwrap();
    let mut again = Callback::new("x2", CommandState::Declined);
    again.kind = None;
    assert_eq!(a.deliver(again).await.unwrap(), Delivery::Refused);
}

#[tokio::test]
async fn an_early_callback_naming_only_the_external_id_is_applied_when_tracked() {
    let store = MemoryStore::new();
    let a = Tracker::builder().store(store.clone()).build();
    let b = Tracker::builder().store(store.clone()).build();
    let mut cb = Callback::new("ignored", CommandState::Declined);
    cb.command_id = None;
    cb.external_id = Some("order-77".into());
    assert_eq!(b.deliver(cb).await.unwrap(), Delivery::Early);
    let t = TrackedCommand::new(
        "77",
        Some("order-77".into()),
        CommandKind::Sign,
        CommandTiming::default(),
        SystemTime::now(),
    );
    let outcome = a.track(t, &WaitOptions::new()).await.unwrap();
    assert_eq!(outcome.state(), CommandState::Declined);
    assert_eq!(
        b.command_id_of("order-77").await.unwrap().as_deref(),
        Some("77")
    );
    assert_eq!(
        b.outcome_by_external_id("order-77").await.unwrap(),
        Some(outcome)
    );
}

#[tokio::test]
async fn records_of_a_newer_format_are_refused_with_a_clear_error() {
    let store = MemoryStore::new();
    let tracker = Tracker::builder().store(store.clone()).build();
    store
        .insert(NewFlow::new(
            STORE_NAMESPACE,
            "future",
            STORE_FORMAT + 1,
            br#"{"format":2}"#.to_vec(),
            SystemTime::now(),
        ))
        .await
        .unwrap();
    let err = tracker.outcome("future").await.unwrap_err();
    assert!(
        matches!(&err, Error::Store(StoreError::Incompatible { found, .. }) if *found == STORE_FORMAT + 1),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer hermod-client"), "{err}");
    store
        .insert(NewFlow::new(
            STORE_NAMESPACE,
            "garbage",
            STORE_FORMAT,
            b"not json".to_vec(),
            SystemTime::now(),
        ))
        .await
        .unwrap();
    assert!(matches!(
        tracker
            .deliver(Callback::new("garbage", CommandState::Completed))
            .await,
        Err(Error::Store(StoreError::Corrupt { .. }))
    ));
}
