//! Several replicas sharing one flow store (and nothing else) against the
//! Audkenni simulator over real TLS: flows started on one replica end on
//! another, polled on the interval schedule by whichever poller holds the
//! lease, survive the restart of every replica, keep `slow_down` growth,
//! and complete from a ping reaching any replica. The simulator counts
//! (per auth_req_id, at arrival) every poll and every poll before the
//! interval.
//!
//! `SMARTID_REPLICA_SCALE=full` runs the big sizes (1,000 flows).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use audkenni_ciba::{
    Acr, AuthRequest, CibaClient, Error, ErrorCode, FLOW_NAMESPACE, JwsAlgorithm, PollerHandle,
    ProviderCode, WaitOptions,
};
use smartid_core::store::{FlowStore, MemoryStore, NewFlow, SealingKey, StoreError};
use smartid_core::{HttpSettings, Secret};
use smartid_testkit::FlakyStore;
use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig, hints};

const KEY: [u8; 32] = [42; 32];

fn full_scale() -> bool {
    std::env::var("SMARTID_REPLICA_SCALE").is_ok_and(|v| v == "full")
}

/// A small random source (no dependency): xorshift seeded from the clock.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        println!("rng seed {seed}");
        Self(seed | 1)
    }
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// One replica: its own client (its own HTTP client and connections), its
/// own poller, the shared store.
struct Replica {
    client: CibaClient,
    poller: Option<PollerHandle>,
}

async fn replica(
    sim: &AudkenniSimulator,
    store: Arc<dyn FlowStore>,
    name: &str,
    poller: bool,
) -> Replica {
    let client = common::builder(sim, JwsAlgorithm::Rs256)
        .http_settings(
            HttpSettings::new()
                .trust(smartid_core::TrustRoots::Only(
                    sim.tls_trust_store().unwrap(),
                ))
                .request_timeout(Duration::from_secs(5)),
        )
        .store(store)
        .sealing_key(SealingKey::from_bytes(&KEY).unwrap())
        .replica(name)
        .lease_length(Duration::from_secs(6))
        .outcome_recheck(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let poller = poller.then(|| client.poller().tick(Duration::from_millis(50)).spawn());
    Replica { client, poller }
}

async fn replicas(
    sim: &AudkenniSimulator,
    store: &Arc<dyn FlowStore>,
    generation: &str,
    pollers: bool,
) -> Vec<Replica> {
    let mut out = Vec::new();
    for name in ["a", "b", "c"] {
        out.push(replica(sim, store.clone(), &format!("{generation}-{name}"), pollers).await);
    }
    out
}

fn wait_options() -> WaitOptions {
    WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(120))
}

/// Every flow was answered exactly once by the provider, none was polled
/// before its interval (so no two replicas polled one slot), none after it
/// ended; at most `max_polls` polls each.
fn assert_provider_saw_clean_schedules(sim: &AudkenniSimulator, ids: &[String], max_polls: usize) {
    let counts = sim.all_poll_counts();
    for id in ids {
        let c = counts.get(id).expect("the simulator issued this id");
        assert_eq!(c.early, 0, "{id}: polled before the interval: {c:?}");
        assert_eq!(c.after_end, 0, "{id}: polled after it ended: {c:?}");
        assert_eq!(c.ended, 1, "{id}: not ended exactly once: {c:?}");
        assert!(c.polls <= max_polls, "{id}: {c:?}");
    }
    assert_eq!(sim.early_polls(), 0);
}

fn check_result(hint: &str, result: &Result<audkenni_ciba::Completed, Error>) {
    match (hint, result) {
        (hints::APPROVES, Ok(done)) => {
            assert_eq!(done.id_token.name.as_deref(), Some("Gervimaður Evrópa"));
        }
        (hints::DECLINES, Err(Error::Server(p))) => {
            assert_eq!(p.code, ErrorCode::AccessDenied);
            assert_eq!(p.provider_code, Some(ProviderCode::Mssp401));
        }
        (hint, other) => panic!("{hint}: unexpected {other:?}"),
    }
}

/// (a) Flows started on random replicas, finished on random replicas,
/// polled by three pollers (and by the waiters, under the same leases).
async fn many_flows_across_replicas(store: Arc<dyn FlowStore>, flows: usize) {
    let sim = AudkenniSimulator::start(
        SimConfig::with_answer_after(Duration::from_millis(1500))
            .interval(1)
            .expires_in(120),
    )
    .await
    .unwrap();
    let replicas = Arc::new(replicas(&sim, &store, "r", true).await);
    let mut rng = Rng::new();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    for i in 0..flows {
        let hint = if i % 3 == 0 {
            hints::DECLINES
        } else {
            hints::APPROVES
        };
        let (from, to) = (rng.below(3), rng.below(3));
        let replicas = replicas.clone();
        let gate = gate.clone();
        tasks.spawn(async move {
            let pending = {
                let _permit = gate.acquire().await.unwrap();
                replicas[from]
                    .client
                    .start(&AuthRequest::new(hint, Acr::SimAuth))
                    .await
                    .unwrap()
            };
            let id = pending.auth_req_id().to_owned();
            let result = replicas[to].client.finish_by_id(&id, &wait_options()).await;
            check_result(hint, &result);
            id
        });
    }
    let mut ids = Vec::new();
    while let Some(id) = tasks.join_next().await {
        ids.push(id.unwrap());
    }
    let elapsed = started.elapsed();
    assert_eq!(ids.len(), flows);
    // Answer after 1.5 s, interval 1 s: polls at about 1.25 and 2.5 s.
    assert_provider_saw_clean_schedules(&sim, &ids, 3);
    let polls: usize = sim.all_poll_counts().values().map(|c| c.polls).sum();
    // Every outcome is stored once, sealed.
    for id in &ids {
        let record = store.get(FLOW_NAMESPACE, id).await.unwrap().unwrap();
        assert!(record.outcome.is_some());
    }
    let mut reports = Vec::new();
    for r in Arc::try_unwrap(replicas).ok().unwrap() {
        reports.push(r.poller.unwrap().stop().await);
    }
    println!(
        "{flows} flows on 3 replicas in {elapsed:?}: {polls} polls, {} early, {:.1} flows/s; pollers: {reports:?}",
        sim.early_polls(),
        flows as f64 / elapsed.as_secs_f64()
    );
}

/// (b) Every replica stops (pollers killed or stopped, clients dropped)
/// mid-flow; new replicas on the same store finish every flow.
async fn every_replica_restarts(store: Arc<dyn FlowStore>, flows: usize) {
    // The users answer after every flow is started and the replicas are down.
    let answer_after = Duration::from_secs(if flows > 50 { 15 } else { 4 });
    let sim = AudkenniSimulator::start(
        SimConfig::with_answer_after(answer_after)
            .interval(1)
            .expires_in(120),
    )
    .await
    .unwrap();
    let before = Arc::new(replicas(&sim, &store, "old", true).await);
    let mut rng = Rng::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(16));
    let mut starting = tokio::task::JoinSet::new();
    for i in 0..flows {
        let hint = if i % 2 == 0 {
            hints::APPROVES
        } else {
            hints::DECLINES
        };
        let (before, gate, from) = (before.clone(), gate.clone(), rng.below(3));
        starting.spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let pending = before[from]
                .client
                .start(&AuthRequest::new(hint, Acr::SimAuth))
                .await
                .unwrap();
            (pending.auth_req_id().to_owned(), hint)
        });
    }
    let mut started = Vec::new();
    while let Some(flow) = starting.join_next().await {
        started.push(flow.unwrap());
    }
    let before = Arc::try_unwrap(before).ok().unwrap();
    // Let the pollers poll a little (the users answer later).
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert!(sim.polls() > 0, "the old pollers polled");
    for (i, r) in before.into_iter().enumerate() {
        let poller = r.poller.unwrap();
        if i == 0 {
            poller.stop().await;
        } else {
            poller.abort(); // as a crash: its leases stay until they expire
        }
        drop(r.client);
    }
    assert_eq!(
        store.waiting(FLOW_NAMESPACE, 10_000).await.unwrap().len(),
        flows,
        "every flow is still waiting in the store"
    );
    let after = replicas(&sim, &store, "new", true).await;
    let mut tasks = tokio::task::JoinSet::new();
    let after = Arc::new(after);
    for (id, hint) in started.clone() {
        let to = rng.below(3);
        let after = after.clone();
        tasks.spawn(async move {
            let result = after[to].client.finish_by_id(&id, &wait_options()).await;
            check_result(hint, &result);
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let ids: Vec<String> = started.into_iter().map(|(id, _)| id).collect();
    assert_provider_saw_clean_schedules(&sim, &ids, answer_after.as_secs() as usize + 2);
}

/// (c) A slow_down read by one replica's poller holds for the poll made by
/// another replica's poller.
async fn slow_down_growth_across_replicas(store: Arc<dyn FlowStore>) {
    let sim = AudkenniSimulator::start(
        SimConfig::with_answer_after(Duration::from_secs(2))
            .interval(1)
            .slow_down_at([1]),
    )
    .await
    .unwrap();
    let a = replica(&sim, store.clone(), "sd-a", false).await;
    let b = replica(&sim, store.clone(), "sd-b", true).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let p = a
            .client
            .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
            .await
            .unwrap();
        ids.push(p.auth_req_id().to_owned());
    }
    // B's poller makes every first poll (answered slow_down), then stops.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ids.iter().all(|id| sim.poll_counts(id).unwrap().polls == 1) {
        assert!(Instant::now() < deadline, "B never polled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.poller.unwrap().stop().await;
    assert_eq!(sim.slow_downs(), 5);
    let c = replica(&sim, store.clone(), "sd-c", false).await;
    for id in &ids {
        // C never saw the flow: the grown interval comes from the store.
        let resumed = c.client.resume(id).await.unwrap();
        assert_eq!(resumed.interval(), Duration::from_secs(6));
    }
    let c_poller = c.client.poller().tick(Duration::from_millis(50)).spawn();
    for id in &ids {
        let done = a.client.finish_by_id(id, &wait_options()).await.unwrap();
        assert_eq!(done.id_token.name.as_deref(), Some("Gervimaður Evrópa"));
        assert_eq!(sim.poll_counts(id).unwrap().polls, 2);
    }
    c_poller.stop().await;
    assert_provider_saw_clean_schedules(&sim, &ids, 2);
}

/// (d) Ping mode: the provider's ping reaches a random replica, which
/// fetches the tokens once; a waiter on any replica gets them.
async fn ping_across_replicas(store: Arc<dyn FlowStore>, flows: usize) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let callback = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ciba/ping"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&callback)
        .await;
    let sim = AudkenniSimulator::start(
        SimConfig::with_answer_after(Duration::from_millis(300))
            .interval(5)
            .notification_endpoint(format!("{}/ciba/ping", callback.uri())),
    )
    .await
    .unwrap();
    let replicas = Arc::new(replicas(&sim, &store, "ping", true).await);
    // The load balancer: every ping to a random replica, and once more to
    // another one (a retried ping).
    let done = Arc::new(AtomicBool::new(false));
    let forwarded = Arc::new(AtomicU64::new(0));
    let forwarder = {
        let (replicas, done, forwarded) = (replicas.clone(), done.clone(), forwarded.clone());
        tokio::spawn(async move {
            let mut rng = Rng::new();
            let mut seen = 0;
            while !done.load(Ordering::SeqCst) {
                let received = callback.received_requests().await.unwrap_or_default();
                for ping in &received[seen..] {
                    let auth = ping
                        .headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok());
                    for _ in 0..2 {
                        let r = &replicas[rng.below(3)];
                        r.client.handle_ping(auth, &ping.body).await.unwrap();
                    }
                    forwarded.fetch_add(1, Ordering::SeqCst);
                }
                seen = received.len();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut rng = Rng::new();
    let mut tasks = tokio::task::JoinSet::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(16));
    for i in 0..flows {
        let (from, to) = (rng.below(3), rng.below(3));
        let replicas = replicas.clone();
        let gate = gate.clone();
        tasks.spawn(async move {
            let token = Secret::new(format!("ping-token-{i}-{}", std::process::id()));
            let permit = gate.acquire().await.unwrap();
            let pending = replicas[from]
                .client
                .start(
                    &AuthRequest::new(hints::APPROVES, Acr::SimAuth)
                        .client_notification_token(token),
                )
                .await
                .unwrap();
            drop(permit);
            let id = pending.auth_req_id().to_owned();
            let done = replicas[to]
                .client
                .finish_by_id(&id, &wait_options())
                .await
                .unwrap();
            assert_eq!(done.id_token.name.as_deref(), Some("Gervimaður Evrópa"));
            id
        });
    }
    let mut ids = Vec::new();
    while let Some(id) = tasks.join_next().await {
        ids.push(id.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    forwarder.await.unwrap();
    for id in &ids {
        let c = sim.poll_counts(id).unwrap();
        // One token request, after the ping; no poller polled a ping flow.
        assert_eq!((c.polls, c.ended, c.after_end), (1, 1, 0), "{id}: {c:?}");
    }
    assert!(forwarded.load(Ordering::SeqCst) >= flows as u64);
    // A ping with an unknown token is refused, typed.
    let e = replicas[0]
        .client
        .handle_ping(
            Some("Bearer nobody-has-this-token"),
            br#"{"auth_req_id":"x"}"#,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidRequest {
                field: "authorization",
                ..
            }
        ),
        "{e}"
    );
}

/// A fresh PostgreSQL database, or `None` (skipped, with a message) without
/// `DATABASE_URL` outside CI.
async fn postgres(test: &str) -> Option<Arc<dyn FlowStore>> {
    let store = smartid_postgres::testing::store_for_test(test).await?;
    Some(Arc::new(store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_many_flows_across_three_replicas() {
    let Some(store) = postgres("audkenni_many").await else {
        return;
    };
    many_flows_across_replicas(store, if full_scale() { 1000 } else { 40 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_flows_survive_the_restart_of_every_replica() {
    let Some(store) = postgres("audkenni_restart").await else {
        return;
    };
    every_replica_restarts(store, if full_scale() { 200 } else { 12 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_slow_down_growth_is_kept_across_replicas() {
    let Some(store) = postgres("audkenni_slow_down").await else {
        return;
    };
    slow_down_growth_across_replicas(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ping_reaching_any_replica_completes_the_flow() {
    let Some(store) = postgres("audkenni_ping").await else {
        return;
    };
    ping_across_replicas(store, if full_scale() { 200 } else { 10 }).await;
}

fn memory() -> Arc<dyn FlowStore> {
    Arc::new(MemoryStore::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_many_flows_across_three_replicas() {
    many_flows_across_replicas(memory(), if full_scale() { 1000 } else { 120 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_flows_survive_the_restart_of_every_replica() {
    every_replica_restarts(memory(), if full_scale() { 200 } else { 24 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_slow_down_growth_is_kept_across_replicas() {
    slow_down_growth_across_replicas(memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_ping_reaching_any_replica_completes_the_flow() {
    ping_across_replicas(memory(), if full_scale() { 200 } else { 20 }).await;
}

/// (e) A store that is down gives `Error::Store`, never a panic; once it is
/// back, the flow is finished. Records of a newer format are refused;
/// tokens are never in the store in clear; a shared store needs a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_store_gives_a_typed_error_and_nothing_is_lost() {
    let sim = AudkenniSimulator::start(
        SimConfig::with_answer_after(Duration::from_millis(1200)).interval(1),
    )
    .await
    .unwrap();
    let failing = FlakyStore::default();
    let store: Arc<dyn FlowStore> = Arc::new(failing.clone());
    let a = replica(&sim, store.clone(), "f-a", false).await;
    let b = replica(&sim, store.clone(), "f-b", false).await;

    failing.set_down(true);
    let e = a
        .client
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Store(StoreError::Unavailable { .. })),
        "{e}"
    );
    assert!(
        e.to_string().contains("check that the store is reachable"),
        "{e}"
    );

    failing.set_down(false);
    let pending = a
        .client
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
        .await
        .unwrap();
    let id = pending.auth_req_id().to_owned();
    failing.set_down(true);
    let e = b
        .client
        .finish_by_id(&id, &wait_options())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Store(_)), "{e}");
    // A poller on a store that is down counts the failures and goes on.
    let poller = b.client.poller().tick(Duration::from_millis(20)).spawn();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let report = poller.stop().await;
    assert!(report.store_errors > 0, "{report:?}");
    assert!(
        report
            .last_error
            .unwrap()
            .contains("switched the store off")
    );
    // Back: the flow finishes on the other replica.
    failing.set_down(false);
    let done = b.client.finish_by_id(&id, &wait_options()).await.unwrap();
    assert_eq!(done.id_token.name.as_deref(), Some("Gervimaður Evrópa"));
    assert_provider_saw_clean_schedules(&sim, std::slice::from_ref(&id), 3);

    // The tokens are in the store only sealed.
    let record = store.get(FLOW_NAMESPACE, &id).await.unwrap().unwrap();
    let everything = [record.state.clone(), record.outcome.clone().unwrap()].concat();
    let text = String::from_utf8_lossy(&everything);
    for secret in [
        done.tokens.access_token().expose_secret(),
        done.tokens.unverified_id_token(),
    ] {
        assert!(!text.contains(secret), "a token is in the store in clear");
    }
    // A replica with another key cannot read the outcome: typed.
    let other = common::builder(&sim, JwsAlgorithm::Rs256)
        .store(store.clone())
        .sealing_key(SealingKey::from_bytes(&[1; 32]).unwrap())
        .build()
        .await
        .unwrap();
    let e = other.finish_by_id(&id, &wait_options()).await.unwrap_err();
    assert!(matches!(e, Error::Store(StoreError::Corrupt { .. })), "{e}");

    // A record written by a newer release: refused with what to do.
    let newer = NewFlow::new(
        FLOW_NAMESPACE,
        "from-the-future",
        2,
        b"{}".to_vec(),
        SystemTime::now(),
    );
    store.insert(newer).await.unwrap();
    let e = a.client.resume("from-the-future").await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Store(StoreError::Incompatible {
                found: 2,
                supported: 1,
                ..
            })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("upgrade"), "{e}");
    // An unknown flow.
    let e = a.client.resume("never-started").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidRequest {
                field: "auth_req_id",
                ..
            }
        ),
        "{e}"
    );

    // A shared store without a sealing key is refused at build.
    let e = common::builder(&sim, JwsAlgorithm::Rs256)
        .store(store.clone())
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidConfig(p) if p.iter().any(|p| p.field == "sealing_key")),
        "{e}"
    );
    // A lease not longer than the request timeout too.
    let e = common::builder(&sim, JwsAlgorithm::Rs256)
        .lease_length(Duration::from_secs(30))
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidConfig(p) if p.iter().any(|p| p.field == "lease_length")),
        "{e}"
    );
}

/// Two callers waiting for one flow (on one client, and on two clients of
/// one store, without pollers) poll it under the same leases: never twice
/// for one slot, and both get the outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_callers_waiting_for_one_flow_never_double_the_rate() {
    let sim = AudkenniSimulator::start(
        SimConfig::with_answer_after(Duration::from_millis(2500)).interval(1),
    )
    .await
    .unwrap();
    // The default store (the client's own).
    let client = common::builder(&sim, JwsAlgorithm::Rs256)
        .build()
        .await
        .unwrap();
    let mut first = client
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
        .await
        .unwrap();
    let mut second = first.clone();
    let options = wait_options();
    let (a, b) = tokio::join!(
        client.finish(&mut first, &options),
        client.finish(&mut second, &options)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.tokens.access_token().expose_secret(),
        b.tokens.access_token().expose_secret()
    );
    // Two clients sharing a MemoryStore (no key needed: in this process).
    let store = MemoryStore::new();
    let one = common::builder(&sim, JwsAlgorithm::Rs256)
        .store(store.clone())
        .build()
        .await
        .unwrap();
    let two = common::builder(&sim, JwsAlgorithm::Rs256)
        .store(store)
        .build()
        .await
        .unwrap();
    let pending = one
        .start(&AuthRequest::new(hints::DECLINES, Acr::SimAuth))
        .await
        .unwrap();
    let id = pending.auth_req_id().to_owned();
    let (a, b) = tokio::join!(
        one.finish_by_id(&id, &options),
        two.finish_by_id(&id, &options)
    );
    check_result(hints::DECLINES, &a);
    check_result(hints::DECLINES, &b);
    let ids: Vec<String> = vec![first.auth_req_id().to_owned(), id];
    // Users answer after 2.5 s, interval 1 s: at most three polls each, not six.
    assert_provider_saw_clean_schedules(&sim, &ids, 3);
}
