//! Replicas sharing nothing but a flow store, against the Hermod simulator
//! over real TLS: each replica has its own HermodClient, Tracker,
//! CallbackReceiver and port; the simulator's callback URL is a TCP
//! forwarder that sends each incoming connection to a random replica.
//!
//! Every scenario is generic over the store and runs with `MemoryStore`;
//! the PostgreSQL variants (`pg_*`) run when `DATABASE_URL` is set.
//! `SMARTID_REPLICA_SCALE=full` runs 1,000 commands instead of 150.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use hermod_client::{
    CallbackReceiver, CallbackStats, Clock, Command, CommandKind, CommandState, CommandTiming,
    Delivery, FlowStore, HermodClient, HermodConfig, MemoryStore, Outcome, SignParams, ToBeSigned,
    TrackedCommand, Tracker, WaitOptions,
};
use smartid_core::{HttpClient, HttpRequest, HttpSettings, Secret, TrustRoots};
use smartid_testkit::hermod::{ApiClient, DeviceBehavior, HermodSimulator};
use smartid_testkit::{ClientAuth, FlakyStore, ManualClock, TestPki, TlsFront};
use tokio::task::JoinHandle;

use common::{CB_PASSWORD, CB_USER, CLIENT_ID, KEY};

fn scale() -> usize {
    match std::env::var("SMARTID_REPLICA_SCALE").as_deref() {
        Ok("full") => 1000,
        _ => 150,
    }
}

/// A small xorshift generator (no dependency for randomness).
struct Rng(AtomicU64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(AtomicU64::new(seed | 1))
    }

    fn below(&self, n: usize) -> usize {
        let mut x = self.0.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.store(x, Ordering::Relaxed);
        (x % n as u64) as usize
    }
}

fn seed() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Forwards each incoming TCP connection to one of the targets, chosen at
/// random (TLS passes through: the replica terminates it).
struct Forwarder {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<SocketAddr>>>,
    connections: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Forwarder {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let targets: Arc<Mutex<Vec<SocketAddr>>> = Arc::default();
        let connections = Arc::new(AtomicU64::new(0));
        let rng = Arc::new(Rng::new(seed()));
        let (t, c) = (targets.clone(), connections.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let choice = {
                    let targets = t.lock().unwrap();
                    (!targets.is_empty()).then(|| targets[rng.below(targets.len())])
                };
                let Some(target) = choice else { continue };
                c.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self {
            addr,
            targets,
            connections,
            task,
        }
    }

    fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    fn set_targets(&self, targets: Vec<SocketAddr>) {
        *self.targets.lock().unwrap() = targets;
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One replica: its own client, tracker, receiver and TLS port.
struct Replica {
    client: HermodClient,
    tracker: Tracker,
    receiver: CallbackReceiver,
    front: TlsFront,
    task: JoinHandle<std::io::Result<()>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct World {
    pki: TestPki,
    sim: HermodSimulator,
    forwarder: Forwarder,
    replicas: Vec<Replica>,
    /// One store handle per replica and more (separate pools for
    /// PostgreSQL), all on the same records.
    stores: Stores,
}

/// Handles on one store: clones of a `MemoryStore`, or separate
/// connections (pools) to one PostgreSQL database.
type Stores = Vec<Arc<dyn FlowStore>>;

fn memory() -> Stores {
    let store = MemoryStore::new();
    (0..5)
        .map(|_| Arc::new(store.clone()) as Arc<dyn FlowStore>)
        .collect()
}

/// Five separate `PostgresStore`s (each its own pool and listener) on one
/// fresh database; `None` (test skipped) without `DATABASE_URL`.
async fn postgres(test: &str) -> Option<Stores> {
    postgres_with_url(test).await.map(|(_, stores)| stores)
}

async fn postgres_with_url(test: &str) -> Option<(String, Stores)> {
    let url = smartid_postgres::testing::fresh_database_url(test).await?;
    let mut stores: Stores = Vec::new();
    for _ in 0..5 {
        let store = smartid_postgres::PostgresStore::connect(
            &url,
            smartid_postgres::testing::options_for_test(),
        )
        .await
        .unwrap_or_else(|e| panic!("{test}: {e}"));
        stores.push(Arc::new(store));
    }
    Some((url, stores))
}

fn tracker_for(store: &Arc<dyn FlowStore>, name: &str) -> Tracker {
    tracker_with(store, name, Duration::from_millis(250))
}

fn tracker_with(store: &Arc<dyn FlowStore>, name: &str, fallback: Duration) -> Tracker {
    Tracker::builder()
        .store(store.clone())
        .replica_name(name)
        .notification_fallback(fallback)
        .build()
}

async fn replica(pki: &TestPki, sim_url: &str, tracker: Tracker) -> Replica {
    let receiver =
        CallbackReceiver::new(tracker.clone(), CB_USER, &Secret::new(CB_PASSWORD)).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let backend = listener.local_addr().unwrap();
    let task = tokio::spawn(receiver.clone().serve(listener));
    let front = TlsFront::start(backend, &pki.localhost_server().unwrap(), ClientAuth::None)
        .await
        .unwrap();
    let trust = HttpSettings::new().trust(TrustRoots::Only(pki.root_trust_store().unwrap()));
    let config = HermodConfig::builder(sim_url)
        .client(CLIENT_ID, Secret::new(KEY))
        .timing(CommandTiming::from_secs(300, 120, 10).unwrap())
        .http_settings(trust)
        .build()
        .unwrap();
    Replica {
        client: HermodClient::new(config).unwrap(),
        tracker,
        receiver,
        front,
        task,
    }
}

async fn world(stores: Stores, device: DeviceBehavior, retries: (u32, Duration)) -> World {
    world_with(stores, device, retries, Duration::from_millis(250)).await
}

async fn world_with(
    stores: Stores,
    device: DeviceBehavior,
    retries: (u32, Duration),
    fallback: Duration,
) -> World {
    let pki = TestPki::generate().unwrap();
    let forwarder = Forwarder::start().await;
    let api = ApiClient::new(
        CLIENT_ID,
        Secret::new(KEY),
        &forwarder.url(),
        pki.root_trust_store().unwrap(),
    )
    .callback_basic_auth(CB_USER, Secret::new(CB_PASSWORD));
    let sim = HermodSimulator::builder(pki.localhost_server().unwrap())
        .client(api)
        .device(device)
        .callback_retries(retries.0, retries.1)
        .start()
        .await
        .unwrap();
    let mut replicas = Vec::new();
    for (i, store) in stores.iter().take(3).enumerate() {
        let tracker = tracker_with(store, &format!("replica-{i}"), fallback);
        replicas.push(replica(&pki, &sim.command_url(), tracker).await);
    }
    forwarder.set_targets(replicas.iter().map(|r| r.front.addr()).collect());
    World {
        pki,
        sim,
        forwarder,
        replicas,
        stores,
    }
}

fn sign_command(i: usize, external: bool) -> Command {
    let mut command = Command::sign(SignParams::new(vec![ToBeSigned::text(
        "tbs",
        "Contract",
        format!("contract {i}"),
    )]));
    if external {
        command = command.external_id(format!("order-{i}"));
    }
    command
}

fn total(stats: impl Iterator<Item = CallbackStats>) -> CallbackStats {
    stats.fold(CallbackStats::default(), |mut a, s| {
        a.resolved += s.resolved;
        a.early += s.early;
        a.duplicates += s.duplicates;
        a.late += s.late;
        a.refused += s.refused;
        a.store_errors += s.store_errors;
        a.progress += s.progress;
        a
    })
}

/// The outcome is the one the simulator reported for the command.
fn check_outcome(sim: &HermodSimulator, id: &str, outcome: &Outcome) {
    let command = sim
        .command(id)
        .unwrap_or_else(|| panic!("the simulator has no command {id}"));
    assert_eq!(outcome.state().as_str(), command.state, "command {id}");
    let sent: Vec<_> = sim
        .callbacks()
        .into_iter()
        .filter(|c| c.command_id == id)
        .collect();
    assert_eq!(sent.len(), 1, "one callback per command ({id})");
    if let Outcome::Answered(cb) = outcome {
        assert_eq!(
            cb.raw, sent[0].body,
            "the callback the simulator sent ({id})"
        );
    }
}

// ---------------------------------------------------------------- (a)

async fn many_commands(store: Stores, n: usize) {
    let started = Instant::now();
    let w = world(
        store,
        DeviceBehavior::answers_after(Duration::ZERO),
        (3, Duration::from_millis(50)),
    )
    .await;
    let w = Arc::new(w);
    // The device's answer changes all the time: approve at once (the
    // callback often comes before track()), decline, fail, approve later.
    let stop = Arc::new(AtomicBool::new(false));
    let toggler = {
        let (w, stop) = (w.clone(), stop.clone());
        tokio::spawn(async move {
            let devices = [
                DeviceBehavior::answers_after(Duration::ZERO),
                DeviceBehavior::declines_after(Duration::from_millis(5)),
                DeviceBehavior::fails_after(Duration::ZERO),
                DeviceBehavior::answers_after(Duration::from_millis(30)),
            ];
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                w.sim.set_device(devices[i % devices.len()]);
                i += 1;
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        })
    };
    let rng = Arc::new(Rng::new(seed()));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(48));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (w, rng, semaphore) = (w.clone(), rng.clone(), semaphore.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await.unwrap();
            let r = rng.below(3);
            let replica = &w.replicas[r];
            let sent = replica
                .client
                .send(&sign_command(i, i % 2 == 0))
                .await
                .unwrap();
            let id = sent.answer.command_id.clone();
            if i % 4 == 0 {
                // Late to track: the callback often comes first (early).
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            let options =
                WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(60));
            let outcome = replica.tracker.track(sent.tracked, &options).await.unwrap();
            (id, r, outcome)
        }));
    }
    let mut outcomes: HashMap<String, (usize, Outcome)> = HashMap::new();
    for t in tasks {
        let (id, r, outcome) = t.await.unwrap();
        assert!(
            outcomes.insert(id, (r, outcome)).is_none(),
            "a command id twice"
        );
    }
    stop.store(true, Ordering::Relaxed);
    toggler.await.unwrap();
    let callbacks = w.sim.wait_for_callbacks(n, Duration::from_secs(30)).await;
    assert_eq!(callbacks.len(), n);
    assert_eq!(outcomes.len(), n, "every command resolved");
    let counts = w.sim.callback_counts();
    let mut by_state: HashMap<String, usize> = HashMap::new();
    for (id, (r, outcome)) in &outcomes {
        check_outcome(&w.sim, id, outcome);
        *by_state
            .entry(outcome.state().as_str().to_owned())
            .or_default() += 1;
        // Any other replica reads the same outcome.
        let other = &w.replicas[(r + 1) % 3].tracker;
        assert_eq!(other.outcome(id).await.unwrap().as_ref(), Some(outcome));
    }
    let stats = total(w.replicas.iter().map(|r| r.receiver.stats()));
    let per_replica: Vec<u64> = w
        .replicas
        .iter()
        .map(|r| {
            let s = r.receiver.stats();
            s.resolved + s.early
        })
        .collect();
    println!(
        "replicas: {n} commands in {:.2?}; simulator: {} callbacks, {} POSTs, {} answered 200, \
         {} 5xx, {} transport errors, {} undelivered; receivers: {} resolved, {} early, {} \
         duplicates, {} late, {} refused, {} store errors; callbacks per replica {per_replica:?}; \
         {} forwarded connections; states {by_state:?}",
        started.elapsed(),
        counts.callbacks,
        counts.attempts,
        counts.ok,
        counts.server_errors,
        counts.transport_errors,
        counts.undelivered,
        stats.resolved,
        stats.early,
        stats.duplicates,
        stats.late,
        stats.refused,
        stats.store_errors,
        w.forwarder.connections.load(Ordering::Relaxed),
    );
    // The simulator counts: one callback per command, every one 200 at once.
    assert_eq!(counts.callbacks, n as u64);
    assert_eq!(counts.ok, n as u64, "{counts:?}");
    assert_eq!(counts.undelivered, 0);
    // Exactly one outcome per callback: resolved or parked early (and
    // applied by the tracking replica), nothing twice.
    assert_eq!(stats.resolved + stats.early, n as u64, "{stats:?}");
    assert_eq!(
        stats.duplicates + stats.late + stats.refused + stats.store_errors,
        0
    );
    assert!(by_state.len() >= 2, "mixed answers: {by_state:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_three_replicas_every_command_resolves_exactly_once() {
    many_commands(memory(), scale()).await;
}

// ---------------------------------------------------------------- latency

/// From a callback's 200 on one replica to the future on another replica
/// resolving; returns (median, max).
/// Cross-replica latencies, sorted.
struct Latency {
    /// From the callback's 200 (read by the poster) to the other replica's
    /// future resolving; zero when it resolved before the 200 was read.
    after_200: Vec<Duration>,
    /// From sending the callback to the other replica's future resolving
    /// (the HTTP round trip included).
    after_post: Vec<Duration>,
    /// How many resolved before the 200 was read.
    before_200: usize,
}

impl Latency {
    fn report(&self, store: &str) {
        let m = |v: &[Duration]| (v[v.len() / 2], v[v.len() - 1]);
        let (a_med, a_max) = m(&self.after_200);
        let (p_med, p_max) = m(&self.after_post);
        println!(
            "{store}: callback on replica 1 -> future on replica 0, {} samples: after the 200 median \
             {a_med:?} max {a_max:?} ({} resolved before the 200 was read); after sending the \
             callback median {p_med:?} max {p_max:?}",
            self.after_200.len(),
            self.before_200
        );
    }
}

async fn cross_replica_latency(store: Stores, samples: usize) -> Latency {
    // A fallback far longer than the bound: only the notification can
    // resolve the future in time.
    let w = world_with(
        store,
        DeviceBehavior::never_opens(),
        (3, Duration::from_millis(50)),
        Duration::from_secs(30),
    )
    .await;
    let http = HttpClient::new(
        &HttpSettings::new().trust(TrustRoots::Only(w.pki.root_trust_store().unwrap())),
        "replica-test",
    )
    .unwrap();
    let mut latency = Latency {
        after_200: Vec::new(),
        after_post: Vec::new(),
        before_200: 0,
    };
    for i in 0..samples {
        let id = format!("lat-{i}-{}", seed() % 1_000_000);
        let tracked = TrackedCommand::new(
            &id,
            None,
            CommandKind::Sign,
            CommandTiming::from_secs(300, 120, 10).unwrap(),
            SystemTime::now(),
        );
        let waiter = &w.replicas[0].tracker;
        waiter.register(tracked.clone()).await.unwrap();
        let pending = waiter.track(tracked, &WaitOptions::new());
        let resolved = tokio::spawn(async move {
            let outcome = pending.await.unwrap();
            (Instant::now(), outcome)
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let url = format!("{}/callback/sign", w.replicas[1].front.url());
        let body = serde_json::json!({"commandId": id, "state": "COMPLETED", "result": {"n": i}});
        let request = HttpRequest::post(url)
            .basic_auth(CB_USER, &Secret::new(CB_PASSWORD))
            .json(&body)
            .unwrap();
        let posted = Instant::now();
        let response = http.send(request).await.unwrap();
        let answered = Instant::now();
        assert_eq!(response.status(), 200);
        let (at, outcome) = tokio::time::timeout(Duration::from_secs(5), resolved)
            .await
            .expect("the other replica's future resolves")
            .unwrap();
        assert_eq!(outcome.state(), CommandState::Completed);
        if at < answered {
            latency.before_200 += 1;
        }
        latency
            .after_200
            .push(at.saturating_duration_since(answered));
        latency
            .after_post
            .push(at.saturating_duration_since(posted));
    }
    latency.after_200.sort();
    latency.after_post.sort();
    let max = latency.after_200[samples - 1];
    assert!(
        max < Duration::from_secs(2),
        "cross-replica latency {max:?}"
    );
    latency
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_a_callback_on_one_replica_resolves_the_wait_on_another() {
    cross_replica_latency(memory(), 20).await.report("memory");
}

// ---------------------------------------------------------------- (b)

async fn restart(store: Stores) {
    let n = 30;
    let mut w = world(
        store,
        DeviceBehavior::answers_after(Duration::from_millis(400)),
        (3, Duration::from_millis(50)),
    )
    .await;
    // Replica 0 sends and tracks, then dies with everything outstanding.
    let mut sent_ids = Vec::new();
    let mut futures = Vec::new();
    for i in 0..n {
        let sent = w.replicas[0]
            .client
            .send(&sign_command(i, true))
            .await
            .unwrap();
        sent_ids.push((sent.answer.command_id.clone(), format!("order-{i}")));
        w.replicas[0]
            .tracker
            .register(sent.tracked.clone())
            .await
            .unwrap();
        futures.push(tokio::spawn(
            w.replicas[0]
                .tracker
                .track(sent.tracked, &WaitOptions::new()),
        ));
    }
    w.forwarder
        .set_targets(w.replicas[1..].iter().map(|r| r.front.addr()).collect());
    for f in futures {
        f.abort();
    }
    let dead = w.replicas.remove(0);
    // Callbacks it served before it died count too (under load some arrive
    // before the forwarder is pointed at the others).
    let dead_receiver = dead.receiver.clone();
    drop(dead);
    // A restarted replica: a new tracker on the same store.
    let fresh = tracker_for(&w.stores[3], "replica-0-restarted");
    // It can wait on a command it did not send.
    let (first_id, _) = sent_ids[0].clone();
    let waited = tokio::spawn(fresh.wait(&first_id, &WaitOptions::new()));
    let callbacks = w.sim.wait_for_callbacks(n, Duration::from_secs(20)).await;
    assert_eq!(callbacks.len(), n);
    assert!(
        callbacks.iter().all(|c| c.status == Some(200)),
        "{callbacks:?}"
    );
    let waited = tokio::time::timeout(Duration::from_secs(5), waited)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    check_outcome(&w.sim, &first_id, &waited);
    for (id, ext) in &sent_ids {
        let by_id = fresh.outcome(id).await.unwrap().expect("an outcome by id");
        check_outcome(&w.sim, id, &by_id);
        let by_ext = fresh
            .outcome_by_external_id(ext)
            .await
            .unwrap()
            .expect("an outcome by external id");
        assert_eq!(by_ext, by_id);
        assert_eq!(
            fresh.command_id_of(ext).await.unwrap().as_deref(),
            Some(id.as_str())
        );
    }
    let stats = total(
        w.replicas
            .iter()
            .map(|r| r.receiver.stats())
            .chain([dead_receiver.stats()]),
    );
    assert_eq!(stats.resolved, n as u64, "{stats:?}");
    assert!(fresh.waiting().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_a_restarted_replica_gets_outcomes_by_id_and_external_id() {
    restart(memory()).await;
}

// ---------------------------------------------------------------- (c)

async fn timing_across_restart(stores: Stores) {
    let next = AtomicU64::new(0);
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000));
    let timing = CommandTiming::from_secs(60, 30, 10).unwrap();
    let suffix = seed() % 1_000_000;
    let id = |name: &str| format!("{name}-{suffix}");
    let build = |check: bool| {
        Tracker::builder()
            .store(stores[next.fetch_add(1, Ordering::Relaxed) as usize % stores.len()].clone())
            .clock(clock.clone())
            .session_start_check(check)
            .build()
    };
    let before = build(true);
    let t = |name: &str| {
        TrackedCommand::new(
            id(name),
            Some(id(&format!("ext-{name}"))),
            CommandKind::Sign,
            timing,
            clock.now(),
        )
    };
    for name in ["unopened", "expiring", "opened"] {
        before.register(t(name)).await.unwrap();
    }
    assert!(before.mark_session_started(&id("opened")).await.unwrap());
    drop(before);
    // Restarted: the deadlines come from the stored send time.
    clock.advance(Duration::from_secs(11));
    let after = build(true);
    assert_eq!(
        after.outcome(&id("unopened")).await.unwrap(),
        Some(Outcome::SessionNotStarted)
    );
    assert_eq!(after.outcome(&id("opened")).await.unwrap(), None);
    let waiter = tokio::spawn(after.wait(&id("expiring"), &WaitOptions::new()));
    // A second restarted replica waits on the same command.
    let other = build(true);
    let other_waiter = tokio::spawn(other.wait(&id("expiring"), &WaitOptions::new()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    // "expiring" had no sign of the session either: it ended at 10 s.
    clock.advance(Duration::from_secs(50));
    let a = waiter.await.unwrap().unwrap();
    let b = other_waiter.await.unwrap().unwrap();
    assert_eq!(a, Outcome::SessionNotStarted);
    assert_eq!(a, b, "one outcome for both waiters");
    // The opened one expires at its lifespan (60 s after sending).
    assert_eq!(
        after.outcome(&id("opened")).await.unwrap(),
        Some(Outcome::Expired)
    );
    assert_eq!(
        other
            .outcome_by_external_id(&id("ext-opened"))
            .await
            .unwrap(),
        Some(Outcome::Expired)
    );
    // The device answering afterwards is late, and acknowledged.
    assert_eq!(
        other
            .deliver(hermod_client::Callback::new(
                id("opened"),
                CommandState::Completed
            ))
            .await
            .unwrap(),
        Delivery::Late
    );
    // Without the session-start check the lifespan alone counts.
    let plain = build(false);
    plain
        .register(TrackedCommand::new(
            id("plain"),
            None,
            CommandKind::Sign,
            timing,
            clock.now(),
        ))
        .await
        .unwrap();
    drop(plain);
    clock.advance(Duration::from_secs(45));
    let plain = build(false);
    assert_eq!(plain.outcome(&id("plain")).await.unwrap(), None);
    clock.advance(Duration::from_secs(15));
    assert_eq!(
        plain.outcome(&id("plain")).await.unwrap(),
        Some(Outcome::Expired)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_timing_outcomes_come_from_the_stored_send_time() {
    timing_across_restart(memory()).await;
}

// ---------------------------------------------------------------- (d)

async fn store_failure(inner: Stores) {
    let n = 10;
    let down = FlakyStore::default();
    let flaky: Stores = inner
        .iter()
        .map(|s| Arc::new(down.over(s.clone())) as Arc<dyn FlowStore>)
        .collect();
    let w = world(
        flaky,
        // Late enough that every command is sent before the store goes
        // down, and retried long enough to outlast the outage under load.
        DeviceBehavior::answers_after(Duration::from_millis(1500)),
        (400, Duration::from_millis(25)),
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..n {
        let replica = &w.replicas[i % 3];
        let sent = replica.client.send(&sign_command(i, false)).await.unwrap();
        replica.tracker.register(sent.tracked).await.unwrap();
        ids.push(sent.answer.command_id);
    }
    down.set_down(true);
    // Every callback is refused with 503 while the store is down...
    let deadline = Instant::now() + Duration::from_secs(10);
    while w.sim.callback_counts().server_errors < 2 * n as u64 {
        assert!(Instant::now() < deadline, "{:?}", w.sim.callback_counts());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let during = w.sim.callback_counts();
    assert_eq!(
        during.ok, 0,
        "never 200 for an outcome not stored: {during:?}"
    );
    // ...and stored by Hermod's retry once it is back.
    down.set_down(false);
    let callbacks = w.sim.wait_for_callbacks(n, Duration::from_secs(20)).await;
    assert_eq!(callbacks.len(), n);
    let counts = w.sim.callback_counts();
    assert_eq!(counts.ok, n as u64, "{counts:?}");
    assert_eq!(counts.undelivered, 0, "{counts:?}");
    assert!(callbacks.iter().all(|c| c.attempts > 1), "{callbacks:?}");
    let stats = total(w.replicas.iter().map(|r| r.receiver.stats()));
    assert_eq!(stats.resolved, n as u64);
    assert_eq!(
        stats.store_errors, counts.server_errors,
        "{stats:?} {counts:?}"
    );
    // The outcomes are in the store itself.
    let reader = tracker_for(&inner[4], "reader");
    for id in &ids {
        let outcome = reader.outcome(id).await.unwrap().expect("stored");
        check_outcome(&w.sim, id, &outcome);
    }
    println!("store failure: {counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_a_store_failure_answers_503_and_hermods_retry_succeeds() {
    store_failure(memory()).await;
}

#[tokio::test]
async fn store_errors_are_typed_and_never_200() {
    let down = FlakyStore::default();
    down.set_down(true);
    let tracker = Tracker::builder().store(down.clone()).build();
    let err = tracker
        .deliver(hermod_client::Callback::new("1", CommandState::Completed))
        .await
        .unwrap_err();
    match &err {
        hermod_client::Error::Store(e) => assert!(e.is_transient()),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("flow store"), "{err}");
    let tracked = TrackedCommand::new(
        "1",
        None,
        CommandKind::Sign,
        CommandTiming::default(),
        SystemTime::now(),
    );
    assert!(matches!(
        tracker.track(tracked.clone(), &WaitOptions::new()).await,
        Err(hermod_client::Error::Store(_))
    ));
    down.set_down(false);
    tracker.register(tracked).await.unwrap();
    assert_eq!(
        tracker
            .deliver(hermod_client::Callback::new("1", CommandState::Completed))
            .await
            .unwrap(),
        Delivery::Resolved
    );
}

// ---------------------------------------------------------------- early races

/// A callback on one replica and `track()` on another at the same moment
/// (or the callback surely first): one outcome each, whatever the order.
async fn early_race(stores: Stores, n: usize) {
    let a = tracker_for(&stores[0], "race-a");
    let b = tracker_for(&stores[1], "race-b");
    let suffix = seed() % 1_000_000;
    let mut tasks = Vec::new();
    for i in 0..n {
        let id = format!("race-{suffix}-{i}");
        let ext = format!("race-ext-{suffix}-{i}");
        let tracked = TrackedCommand::new(
            &id,
            Some(ext.clone()),
            CommandKind::Sign,
            CommandTiming::default(),
            SystemTime::now(),
        );
        let (a, b) = (a.clone(), b.clone());
        tasks.push(tokio::spawn(async move {
            let mut cb = hermod_client::Callback::new(&id, CommandState::Declined);
            cb.external_id = Some(ext);
            let deliver = tokio::spawn(async move { b.deliver(cb).await.unwrap() });
            if i % 3 == 0 {
                while !deliver.is_finished() {
                    tokio::task::yield_now().await;
                }
            }
            let outcome = a.track(tracked, &WaitOptions::new()).await.unwrap();
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
        assert_eq!(outcome.state(), CommandState::Declined);
    }
    println!("early race: {resolved} resolved, {early} early");
    assert_eq!(resolved + early, n);
    assert!(early >= n / 3, "{early}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_early_callback_and_track_on_two_replicas_give_one_outcome() {
    early_race(memory(), 300).await;
}

// ---------------------------------------------------------------- PostgreSQL

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_early_callback_and_track_on_two_replicas_give_one_outcome() {
    let Some(stores) = postgres("hermod_replicas_race").await else {
        return;
    };
    early_race(stores, 150).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_three_replicas_every_command_resolves_exactly_once() {
    let Some(stores) = postgres("hermod_replicas_many").await else {
        return;
    };
    many_commands(stores, scale()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_a_callback_on_one_replica_resolves_the_wait_on_another_through_notify() {
    let Some(stores) = postgres("hermod_replicas_latency").await else {
        return;
    };
    cross_replica_latency(stores, 50)
        .await
        .report("postgres (LISTEN/NOTIFY)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_a_restarted_replica_gets_outcomes_by_id_and_external_id() {
    let Some(stores) = postgres("hermod_replicas_restart").await else {
        return;
    };
    restart(stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_timing_outcomes_come_from_the_stored_send_time() {
    let Some(stores) = postgres("hermod_replicas_timing").await else {
        return;
    };
    timing_across_restart(stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_a_store_failure_answers_503_and_hermods_retry_succeeds() {
    let Some(stores) = postgres("hermod_replicas_failure").await else {
        return;
    };
    store_failure(stores).await;
}

// ---------------------------------------------------------------- OS processes

const CHILD_ENV: &str = "HERMOD_REPLICA_CHILD_DATABASE";

/// Not a test of its own: the replica that
/// `pg_a_replica_in_another_process_serves_callbacks_and_dies` runs in a
/// child process (this test binary, filtered to this function). Returns at
/// once unless that process set its database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_replica_process() {
    let Ok(url) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = smartid_postgres::PostgresStore::connect(
        &url,
        smartid_postgres::testing::options_for_test(),
    )
    .await
    .unwrap();
    let store: Arc<dyn FlowStore> = Arc::new(store);
    let tracker = tracker_for(&store, "child-process");
    let receiver = CallbackReceiver::new(tracker, CB_USER, &Secret::new(CB_PASSWORD)).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    println!("REPLICA_PORT={}", listener.local_addr().unwrap().port());
    receiver.serve(listener).await.unwrap();
}

/// Kills the child process when dropped.
struct ChildReplica(std::process::Child);

impl Drop for ChildReplica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn child_replica(url: &str) -> (ChildReplica, u16) {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_replica_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, url)
        .stdout(std::process::Stdio::piped())
        .stderr(
            std::fs::File::create(std::env::temp_dir().join("hermod-child-replica.log"))
                .map_or_else(|_| std::process::Stdio::null(), std::process::Stdio::from),
        )
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = ChildReplica(child);
    let port = tokio::task::spawn_blocking(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.ok()?;
            // The harness prints "test child_replica_process ... " first.
            if let Some((_, port)) = line.split_once("REPLICA_PORT=") {
                return port.trim().parse::<u16>().ok();
            }
        }
        None
    });
    let port = tokio::time::timeout(Duration::from_secs(60), port)
        .await
        .expect("the child replica starts")
        .unwrap()
        .expect("the child replica prints its port");
    (guard, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_a_replica_in_another_process_serves_callbacks_and_dies() {
    let Some((url, stores)) = postgres_with_url("hermod_replicas_process").await else {
        return;
    };
    let n = 120;
    let w = Arc::new(
        world(
            stores,
            DeviceBehavior::answers_after(Duration::from_millis(5)),
            (10, Duration::from_millis(50)),
        )
        .await,
    );
    // A fourth replica in its own OS process, behind its own TLS port.
    let (child, port) = child_replica(&url).await;
    let child_front = TlsFront::start(
        SocketAddr::from(([127, 0, 0, 1], port)),
        &w.pki.localhost_server().unwrap(),
        ClientAuth::None,
    )
    .await
    .unwrap();
    let mut targets: Vec<SocketAddr> = w.replicas.iter().map(|r| r.front.addr()).collect();
    // The child takes half of the connections while it lives.
    targets.extend([child_front.addr(); 3]);
    w.forwarder.set_targets(targets);
    let rng = Rng::new(seed());
    let mut tasks = Vec::new();
    let mut child = Some(child);
    for i in 0..n {
        if i == 2 * n / 3 {
            // The child dies (SIGKILL) with callbacks in flight.
            w.forwarder
                .set_targets(w.replicas.iter().map(|r| r.front.addr()).collect());
            drop(child.take());
        }
        let r = rng.below(3);
        let w2 = w.clone();
        let sent = w.replicas[r]
            .client
            .send(&sign_command(i, true))
            .await
            .unwrap();
        tasks.push(tokio::spawn(async move {
            let id = sent.answer.command_id.clone();
            let options =
                WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(60));
            let outcome = w2.replicas[r]
                .tracker
                .track(sent.tracked, &options)
                .await
                .unwrap();
            (id, outcome)
        }));
    }
    let mut outcomes = HashMap::new();
    for t in tasks {
        let (id, outcome) = t.await.unwrap();
        assert!(outcomes.insert(id, outcome).is_none());
    }
    let callbacks = w.sim.wait_for_callbacks(n, Duration::from_secs(30)).await;
    assert_eq!(callbacks.len(), n);
    for (id, outcome) in &outcomes {
        check_outcome(&w.sim, id, outcome);
    }
    let counts = w.sim.callback_counts();
    let stats = total(w.replicas.iter().map(|r| r.receiver.stats()));
    let in_process = stats.resolved + stats.early;
    println!(
        "processes: {n} commands; simulator {counts:?}; in-process replicas stored {in_process}, \
         the child process {}",
        n as u64 - in_process
    );
    assert_eq!(counts.ok, n as u64, "{counts:?}");
    assert_eq!(counts.undelivered, 0);
    // A callback the child stored but whose 200 died with it comes again:
    // a duplicate, acknowledged. Never a second outcome.
    assert_eq!(stats.late, 0, "{stats:?}");
    assert!(in_process < n as u64, "the child process served callbacks");
}
