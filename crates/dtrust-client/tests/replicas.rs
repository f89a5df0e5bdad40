//! The order journal across replicas: three replicas (each its own
//! DtrustClient, HTTP client and lease holder) share one store and order
//! from the D-Trust simulator over mutual TLS; the submitting replica is
//! "killed" at random points (every operation it has in flight, and every
//! later one, hangs forever and its tasks are dropped), restarted as a new
//! replica, and the others resume its orders. The simulator counts the
//! orders per client reference and the duplicates.
//!
//! Size: 40 orders in memory and 20 on PostgreSQL by default;
//! `SMARTID_REPLICA_SCALE=full` runs 200 on each. The PostgreSQL variant
//! needs `DATABASE_URL` (skipped, saying so, without it outside CI).
//! `SMARTID_REPLICA_SEED=<n>` replays a run (the seed is printed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::{T, account};
use dtrust_client::smartid_core::store::{
    Completion, FlowRecord, FlowStore, Inserted, LeaseRequest, MemoryStore, NewFlow, SealingKey,
    StoreError, StoreFuture, Subscription, Update,
};
use dtrust_client::{
    DtrustClient, Error, GeneratedCsr, HttpRequest, HttpSend, HttpSettings, JOURNAL_NAMESPACE,
    JournalState, KeySpec, Method, MissingRevocationPassword, OrderJournal, OrderOutcome,
    OrderRequest, Progress, SecretsInJournal, SendFuture, SubjectDn, WaitOptions,
};
use smartid_core::{HttpClient, Secret};
use smartid_testkit::dtrust::{DtrustSimulator, Release, RepeatedReference, SimConfig};

const ECC: &str = "1003";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const LEASE: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------------------
// Killing a replica.

/// Where a replica dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum KillPoint {
    /// In the journal write (the insert never happens).
    BeforeJournal,
    /// After the journal write, before the submission is sent.
    BeforeSubmit,
    /// D-Trust accepted the submission; the answer is lost.
    AnswerLost,
    /// The answer was read, the request id not yet journaled.
    BeforeRequestIdJournaled,
    /// During the status wait.
    DuringStatusWait,
}

const POINTS: [KillPoint; 5] = [
    KillPoint::BeforeJournal,
    KillPoint::BeforeSubmit,
    KillPoint::AnswerLost,
    KillPoint::BeforeRequestIdJournaled,
    KillPoint::DuringStatusWait,
];

/// One replica incarnation's fate: die at the `countdown`-th hit of `point`.
struct Kill {
    point: Option<KillPoint>,
    countdown: AtomicU32,
    dead: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Kill {
    fn new(point: Option<KillPoint>, countdown: u32) -> Arc<Self> {
        Arc::new(Self {
            point,
            countdown: AtomicU32::new(countdown.max(1)),
            dead: AtomicBool::new(false),
            notify: tokio::sync::Notify::new(),
        })
    }

    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// Whether this hit of `point` kills the replica (or it is dead already).
    fn hit(&self, point: KillPoint) -> bool {
        if self.point == Some(point) && self.countdown.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.dead.store(true, Ordering::SeqCst);
            self.notify.notify_waiters();
        }
        self.is_dead()
    }

    async fn killed(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_dead() {
                return;
            }
            notified.await;
        }
    }
}

/// The replica's HTTP client, killable.
struct KillingHttp {
    inner: HttpClient,
    kill: Arc<Kill>,
}

impl HttpSend for KillingHttp {
    fn send(&self, request: HttpRequest) -> SendFuture<'_> {
        Box::pin(async move {
            let url = request.url().to_owned();
            let submit = request.method() == Method::Post && url.ends_with("/requests");
            let status = request.method() == Method::Get
                && url.contains("/requests/")
                && !url.ends_with("/certificate")
                && !url.ends_with("/pkcs12");
            if self.kill.is_dead()
                || (submit && self.kill.hit(KillPoint::BeforeSubmit))
                || (status && self.kill.hit(KillPoint::DuringStatusWait))
            {
                return std::future::pending().await;
            }
            let answer = self.inner.send(request).await;
            if self.kill.is_dead() || (submit && self.kill.hit(KillPoint::AnswerLost)) {
                return std::future::pending().await;
            }
            answer
        })
    }
}

/// Counts the outcomes written per entry (the proof of "exactly once" on
/// the store's side); shared by all replicas.
#[derive(Clone)]
struct CountingStore {
    inner: Arc<dyn FlowStore>,
    written: Arc<Mutex<HashMap<String, usize>>>,
}

impl CountingStore {
    fn new(inner: Arc<dyn FlowStore>) -> Self {
        Self {
            inner,
            written: Arc::default(),
        }
    }

    /// The same counters over another connection to the same store (a
    /// replica's own pool).
    fn over(&self, inner: Arc<dyn FlowStore>) -> Self {
        Self {
            inner,
            written: self.written.clone(),
        }
    }

    fn written(&self) -> HashMap<String, usize> {
        self.written.lock().unwrap().clone()
    }
}

/// The replica's view of the store, killable.
struct KillingStore {
    inner: CountingStore,
    kill: Arc<Kill>,
    /// Every update fails (a store that went down after the insert).
    fail_updates: bool,
}

fn hang<'a, T: Send + 'a>() -> StoreFuture<'a, T> {
    Box::pin(std::future::pending())
}

macro_rules! alive {
    ($self:ident, $call:expr) => {{
        if $self.kill.is_dead() {
            return hang();
        }
        let kill = $self.kill.clone();
        let fut = $call;
        Box::pin(async move {
            let r = fut.await;
            if kill.is_dead() {
                return std::future::pending().await;
            }
            r
        })
    }};
}

impl FlowStore for CountingStore {
    fn insert(&self, flow: NewFlow) -> StoreFuture<'_, Inserted> {
        self.inner.insert(flow)
    }
    fn get<'a>(&'a self, ns: &'a str, id: &'a str) -> StoreFuture<'a, Option<FlowRecord>> {
        self.inner.get(ns, id)
    }
    fn get_by_alias<'a>(&'a self, ns: &'a str, a: &'a str) -> StoreFuture<'a, Option<FlowRecord>> {
        self.inner.get_by_alias(ns, a)
    }
    fn update<'a>(
        &'a self,
        ns: &'a str,
        id: &'a str,
        v: u64,
        u: Update,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        self.inner.update(ns, id, v, u)
    }
    fn complete<'a>(
        &'a self,
        ns: &'a str,
        id: &'a str,
        outcome: Vec<u8>,
        now: SystemTime,
    ) -> StoreFuture<'a, Completion> {
        Box::pin(async move {
            let c = self.inner.complete(ns, id, outcome, now).await?;
            if matches!(c, Completion::Written(_)) {
                *self
                    .written
                    .lock()
                    .unwrap()
                    .entry(id.to_owned())
                    .or_insert(0) += 1;
            }
            Ok(c)
        })
    }
    fn lease_due(&self, r: LeaseRequest) -> StoreFuture<'_, Vec<FlowRecord>> {
        self.inner.lease_due(r)
    }
    fn lease<'a>(
        &'a self,
        ns: &'a str,
        id: &'a str,
        h: &'a str,
        now: SystemTime,
        until: SystemTime,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        self.inner.lease(ns, id, h, now, until)
    }
    fn waiting<'a>(&'a self, ns: &'a str, limit: usize) -> StoreFuture<'a, Vec<FlowRecord>> {
        self.inner.waiting(ns, limit)
    }
    fn remove<'a>(&'a self, ns: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        self.inner.remove(ns, id)
    }
    fn prune<'a>(
        &'a self,
        ns: &'a str,
        before: SystemTime,
        w: bool,
        limit: usize,
    ) -> StoreFuture<'a, u64> {
        self.inner.prune(ns, before, w, limit)
    }
    fn subscribe(&self) -> Subscription {
        self.inner.subscribe()
    }
}

impl FlowStore for KillingStore {
    fn insert(&self, flow: NewFlow) -> StoreFuture<'_, Inserted> {
        if self.kill.hit(KillPoint::BeforeJournal) {
            return hang();
        }
        alive!(self, self.inner.insert(flow))
    }
    fn get<'a>(&'a self, ns: &'a str, id: &'a str) -> StoreFuture<'a, Option<FlowRecord>> {
        alive!(self, self.inner.get(ns, id))
    }
    fn get_by_alias<'a>(&'a self, ns: &'a str, a: &'a str) -> StoreFuture<'a, Option<FlowRecord>> {
        alive!(self, self.inner.get_by_alias(ns, a))
    }
    fn update<'a>(
        &'a self,
        ns: &'a str,
        id: &'a str,
        v: u64,
        u: Update,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        if self.kill.is_dead() {
            return hang();
        }
        if self.fail_updates {
            return Box::pin(std::future::ready(Err(StoreError::Unavailable {
                reason: "the database went away (test)".into(),
            })));
        }
        let kill = self.kill.clone();
        Box::pin(async move {
            let journals_request_id = u
                .state
                .as_ref()
                .is_some_and(|(_, s)| contains(s, b"\"state\":\"submitted\""));
            if journals_request_id {
                let before = self.inner.get(ns, id).await?;
                let first = before.is_some_and(|r| contains(&r.state, b"\"state\":\"prepared\""));
                if first && kill.hit(KillPoint::BeforeRequestIdJournaled) {
                    return std::future::pending().await;
                }
            }
            let r = self.inner.update(ns, id, v, u).await;
            if kill.is_dead() {
                return std::future::pending().await;
            }
            r
        })
    }
    fn complete<'a>(
        &'a self,
        ns: &'a str,
        id: &'a str,
        outcome: Vec<u8>,
        now: SystemTime,
    ) -> StoreFuture<'a, Completion> {
        alive!(self, self.inner.complete(ns, id, outcome, now))
    }
    fn lease_due(&self, r: LeaseRequest) -> StoreFuture<'_, Vec<FlowRecord>> {
        alive!(self, self.inner.lease_due(r))
    }
    fn lease<'a>(
        &'a self,
        ns: &'a str,
        id: &'a str,
        h: &'a str,
        now: SystemTime,
        until: SystemTime,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        alive!(self, self.inner.lease(ns, id, h, now, until))
    }
    fn waiting<'a>(&'a self, ns: &'a str, limit: usize) -> StoreFuture<'a, Vec<FlowRecord>> {
        alive!(self, self.inner.waiting(ns, limit))
    }
    fn remove<'a>(&'a self, ns: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        alive!(self, self.inner.remove(ns, id))
    }
    fn prune<'a>(
        &'a self,
        ns: &'a str,
        before: SystemTime,
        w: bool,
        limit: usize,
    ) -> StoreFuture<'a, u64> {
        alive!(self, self.inner.prune(ns, before, w, limit))
    }
    fn subscribe(&self) -> Subscription {
        self.inner.subscribe()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------
// The scenario.

/// A small deterministic random source (the seed is printed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What an order must end as.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Issued { cn: String },
    Rejected { reason: String },
    Refused { code: &'static str },
}

struct Spec {
    order: OrderRequest,
    expect: Expect,
}

fn sim_config() -> SimConfig {
    let mut config = SimConfig::default();
    // Two status queries before issuance: every order has a status wait.
    config.release = Release::AfterPolls(2);
    // Strict: a repeated reference would really be a second order.
    config.repeated_reference = RepeatedReference::PlaceAnother;
    config
}

/// A replica's journal: its own identity, HTTP client, DtrustClient and
/// lease holder name, over `store` seen through `kill`.
fn replica(
    sim: &DtrustSimulator,
    store: &CountingStore,
    name: &str,
    kill: &Arc<Kill>,
    secrets: &SecretsInJournal,
) -> OrderJournal {
    replica_with(sim, store, name, kill, secrets, false)
}

fn replica_with(
    sim: &DtrustSimulator,
    store: &CountingStore,
    name: &str,
    kill: &Arc<Kill>,
    secrets: &SecretsInJournal,
    fail_updates: bool,
) -> OrderJournal {
    let settings = HttpSettings::new().request_timeout(REQUEST_TIMEOUT);
    let plain = account(sim, T::Rest)
        .http_settings(settings.clone())
        .build()
        .unwrap();
    let http = HttpClient::new(plain.http_settings(), "replica-test").unwrap();
    let config = account(sim, T::Rest)
        .http_settings(settings)
        .http_sender(KillingHttp {
            inner: http,
            kill: kill.clone(),
        })
        .missing_revocation_password(MissingRevocationPassword::Generate)
        .build()
        .unwrap();
    let client = DtrustClient::new(config).unwrap();
    let killing: Arc<dyn FlowStore> = Arc::new(KillingStore {
        inner: store.clone(),
        kill: kill.clone(),
        fail_updates,
    });
    OrderJournal::builder(client, killing)
        .replica(name)
        .lease_length(LEASE)
        .poll_interval(Duration::from_millis(40))
        .retry(
            dtrust_client::RetryPolicy::new(3)
                .backoff_between(Duration::from_millis(100), Duration::from_millis(500)),
        )
        .secrets(secrets.clone())
        .build()
        .unwrap()
}

/// Shared by the replicas: the callers' queue and the kill plan.
struct Ctx {
    queue: Mutex<VecDeque<usize>>,
    specs: Vec<Spec>,
    kills_left: AtomicUsize,
    fired: Mutex<BTreeMap<KillPoint, usize>>,
    /// Incarnations running with a plan to die at each point.
    planned: Mutex<BTreeMap<KillPoint, usize>>,
    /// Every order has its outcome in the store (set by the monitor).
    done: AtomicBool,
    /// How many have (the monitor's last count).
    finished: AtomicUsize,
    rng: Mutex<Rng>,
    total: usize,
}

impl Ctx {
    /// The next incarnation's fate: first each point once (a point not
    /// yet fired is planned again until it fires), then random while kills
    /// are left.
    fn plan(&self) -> (Option<KillPoint>, u32) {
        let fired = self.fired.lock().unwrap();
        let mut planned = self.planned.lock().unwrap();
        let mut rng = self.rng.lock().unwrap();
        let countdown = 1 + u32::try_from(rng.below(3)).unwrap();
        let unfired = |p: &&KillPoint| !fired.contains_key(*p);
        let point = POINTS
            .iter()
            .filter(unfired)
            .find(|p| planned.get(*p).copied().unwrap_or(0) == 0)
            .or_else(|| {
                (self.kills_left.load(Ordering::SeqCst) > 0)
                    .then(|| &POINTS[usize::try_from(rng.below(5)).unwrap()])
            })
            .or_else(|| POINTS.iter().find(unfired))
            .copied();
        if let Some(p) = point {
            *planned.entry(p).or_insert(0) += 1;
        }
        (point, countdown)
    }

    fn unplan(&self, point: Option<KillPoint>) {
        if let Some(p) = point
            && let Some(n) = self.planned.lock().unwrap().get_mut(&p)
        {
            *n = n.saturating_sub(1);
        }
    }
}

/// Opens a replica's own connection to the shared store (for PostgreSQL a
/// new pool; in memory a clone sharing the records).
type Connect = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Arc<dyn FlowStore>> + Send>>
        + Send
        + Sync,
>;

/// Runs `specs` through three replicas, each incarnation with its own
/// connection to the store (`connect`); `store` observes. Returns the run's
/// kill counts.
async fn three_replicas(
    sim: Arc<DtrustSimulator>,
    store: CountingStore,
    connect: Connect,
    specs: Vec<Spec>,
    max_kills: usize,
    secrets: SecretsInJournal,
    seed: u64,
) -> (BTreeMap<KillPoint, usize>, Arc<Ctx>) {
    let ctx = Arc::new(Ctx {
        queue: Mutex::new((0..specs.len()).collect()),
        total: specs.len(),
        specs,
        kills_left: AtomicUsize::new(max_kills),
        fired: Mutex::default(),
        planned: Mutex::default(),
        done: AtomicBool::new(false),
        finished: AtomicUsize::new(0),
        rng: Mutex::new(Rng(seed | 1)),
    });
    let mut tasks = Vec::new();
    for slot in 0..3 {
        let (ctx, sim, store, secrets) = (ctx.clone(), sim.clone(), store.clone(), secrets.clone());
        let connect = connect.clone();
        tasks.push(tokio::spawn(async move {
            for generation in 0.. {
                if ctx.done.load(Ordering::SeqCst) {
                    break;
                }
                let (point, countdown) = ctx.plan();
                let kill = Kill::new(point, countdown);
                let name = format!("replica-{slot}-gen-{generation}");
                let own = store.over(connect().await);
                let journal = replica(&sim, &own, &name, &kill, &secrets);
                let taken: Arc<Mutex<Vec<usize>>> = Arc::default();
                let work = run_incarnation(&ctx, &store, &journal, &taken);
                tokio::select! {
                    () = kill.killed() => {
                        let p = point.unwrap();
                        *ctx.fired.lock().unwrap().entry(p).or_insert(0) += 1;
                        let _ = ctx.kills_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |k| k.checked_sub(1));
                        // The callers whose order was never journaled retry
                        // (on whichever replica takes it); journaled ones are
                        // left to the replicas' resumers.
                        let taken = std::mem::take(&mut *taken.lock().unwrap());
                        for i in taken {
                            let reference = ctx.specs[i].order.reference();
                            if store.get(JOURNAL_NAMESPACE, reference).await.unwrap().is_none() {
                                ctx.queue.lock().unwrap().push_back(i);
                            }
                        }
                    }
                    () = work => {}
                }
                ctx.unplan(point);
            }
        }));
    }
    // The monitor reads the store (not the replicas' counters: a replica
    // killed while its write was on the way to the database never learns
    // that it was written).
    let monitor = {
        let (ctx, store) = (ctx.clone(), store.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let mut finished = 0;
                for spec in &ctx.specs {
                    let r = store.get(JOURNAL_NAMESPACE, spec.order.reference()).await;
                    if r.is_ok_and(|r| r.is_some_and(|r| r.outcome.is_some())) {
                        finished += 1;
                    }
                }
                ctx.finished.store(finished, Ordering::SeqCst);
                if finished == ctx.total {
                    ctx.done.store(true, Ordering::SeqCst);
                    return;
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(240);
    for t in tasks {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, t).await {
            Ok(r) => r.unwrap(),
            Err(_) => {
                let queued = ctx.queue.lock().unwrap().len();
                let now = SystemTime::now();
                for r in store.waiting(JOURNAL_NAMESPACE, 100).await.unwrap() {
                    eprintln!(
                        "still waiting: {} v{} due in {:?} lease {:?} (now {now:?}) state {}",
                        r.id,
                        r.version,
                        r.due.map(|d| d.duration_since(now)),
                        r.lease,
                        String::from_utf8_lossy(&r.state)
                    );
                }
                panic!(
                    "the replicas did not finish every order in time: {} of {} finished, {queued} queued (seed {seed})",
                    ctx.finished.load(Ordering::SeqCst),
                    ctx.total,
                )
            }
        }
    }
    monitor.await.unwrap();
    let fired = ctx.fired.lock().unwrap().clone();
    (fired, ctx)
}

/// One incarnation: three callers placing orders, and a resumer.
async fn run_incarnation(
    ctx: &Arc<Ctx>,
    store: &CountingStore,
    journal: &OrderJournal,
    taken: &Arc<Mutex<Vec<usize>>>,
) {
    let caller = || async {
        loop {
            let next = ctx.queue.lock().unwrap().pop_front();
            let Some(i) = next else {
                if ctx.done.load(Ordering::SeqCst) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            taken.lock().unwrap().push(i);
            let wait = WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(120));
            // The caller sees its outcome, or an error: the order stays
            // journaled either way and ends once.
            let reference = ctx.specs[i].order.reference();
            let r = journal.order(&ctx.specs[i].order, &wait).await;
            if r.is_err()
                && store
                    .get(JOURNAL_NAMESPACE, reference)
                    .await
                    .ok()
                    .flatten()
                    .is_none()
            {
                // Not journaled (the store failed): the caller tries again.
                ctx.queue.lock().unwrap().push_back(i);
            }
            if debug() {
                eprintln!(
                    "{} ordered {}: {:?}",
                    journal.replica(),
                    ctx.specs[i].order.reference(),
                    r.as_ref()
                        .map(|r| r.outcome.request_id().map(str::to_owned))
                );
            }
            taken.lock().unwrap().retain(|t| *t != i);
        }
    };
    let resumer = async {
        while !ctx.done.load(Ordering::SeqCst) {
            match journal.resume_due(8).await {
                Ok(list) if debug() => {
                    for r in list {
                        eprintln!(
                            "{} resumed {}: {:?}",
                            journal.replica(),
                            r.reference,
                            r.result
                        );
                    }
                }
                Err(e) if debug() => eprintln!("{} resume_due: {e}", journal.replica()),
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::join!(caller(), caller(), caller(), resumer);
}

fn debug() -> bool {
    std::env::var_os("SMARTID_REPLICA_DEBUG").is_some()
}

/// 200 orders with `SMARTID_REPLICA_SCALE=full`, else `default`.
fn scale(default: usize) -> usize {
    match std::env::var("SMARTID_REPLICA_SCALE").as_deref() {
        Ok("full") => 200,
        _ => default,
    }
}

fn seed() -> u64 {
    std::env::var("SMARTID_REPLICA_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

/// `n` orders: PKCS#10 and PKCS#12, with the caller's or a generated
/// password; every 10th rejected on review, every 17th for a product the
/// account does not have (refused at submission).
fn specs(sim: &DtrustSimulator, n: usize, tag: &str) -> Vec<Spec> {
    (0..n)
        .map(|i| {
            let cn = format!("replica-{tag}-{i}.example.de");
            let subject = SubjectDn::new(&cn);
            let reference = format!("{tag}-{i:04}");
            let (product, expect) = if i % 17 == 16 {
                (
                    "9999",
                    Expect::Refused {
                        code: "PRODUCT_UNKNOWN",
                    },
                )
            } else if i % 10 == 9 {
                let reason = format!("review of {reference}: not approved");
                sim.reject_on_review(&reference, &reason);
                (ECC, Expect::Rejected { reason })
            } else {
                (ECC, Expect::Issued { cn: cn.clone() })
            };
            let mut order = if i % 3 == 2 {
                OrderRequest::pkcs12(product, subject)
            } else {
                let csr = GeneratedCsr::generate(None, &subject, &[], KeySpec::EcP256).unwrap();
                OrderRequest::pkcs10(product, subject, &csr.csr_der)
            }
            .client_reference(&reference);
            if i % 2 == 0 {
                order = order.revocation_password(Secret::new(format!("Caller-{i}-Pw9x")));
            }
            Spec { order, expect }
        })
        .collect()
}

/// Every order ended once, as expected; D-Trust has each at most once.
async fn check(
    sim: &DtrustSimulator,
    store: &CountingStore,
    ctx: &Ctx,
    secrets: &SecretsInJournal,
    exact: bool,
) -> usize {
    let written = store.written();
    let probe = Kill::new(None, 1);
    let reader = replica(sim, store, "reader", &probe, secrets);
    let mut resumed_not_placed = 0;
    for spec in &ctx.specs {
        let reference = spec.order.reference();
        // A replica killed while its write was on the way never learned it
        // was written (PostgreSQL): at most once as seen by the replicas,
        // exactly once in memory, and the store holds the outcome.
        let n = written.get(reference).copied().unwrap_or(0);
        assert!(
            n == 1 || (n == 0 && !exact),
            "{reference}: outcome written {n} times"
        );
        let entry = reader.entry(reference).await.unwrap().unwrap();
        assert_eq!(entry.state, JournalState::Finished);
        let outcome = entry.outcome.unwrap();
        match (&spec.expect, &outcome) {
            (Expect::Issued { cn }, OrderOutcome::Issued { certificate, .. }) => {
                assert!(
                    certificate.certificate.subject().contains(cn.as_str()),
                    "{reference}: {}",
                    certificate.certificate.subject()
                );
            }
            (Expect::Rejected { reason }, OrderOutcome::Rejected { reason: r, .. }) => {
                assert_eq!(r, reason);
            }
            (Expect::Refused { code }, OrderOutcome::Refused(e)) => assert_eq!(e.code(), *code),
            (_, OrderOutcome::NotPlaced { .. })
                if matches!(secrets, SecretsInJournal::ReturnOnly) =>
            {
                assert_eq!(sim.orders_for_reference(reference), 0);
                resumed_not_placed += 1;
            }
            (e, o) => panic!("{reference}: expected {e:?}, got {o:?}"),
        }
    }
    assert_eq!(
        sim.duplicate_orders(),
        0,
        "the simulator saw duplicate orders"
    );
    for (reference, n) in sim.orders_per_reference() {
        assert_eq!(n, 1, "{reference} ordered {n} times");
    }
    resumed_not_placed
}

async fn kill_run(connect: Connect, n: usize, label: &str, exact: bool) {
    let seed = seed();
    let sim = Arc::new(DtrustSimulator::start_with(sim_config()).await.unwrap());
    let store = CountingStore::new(connect().await);
    let specs = specs(&sim, n, label);
    let (key, _) = SealingKey::generate().unwrap();
    let secrets = SecretsInJournal::Sealed(Arc::new(key));
    let started = Instant::now();
    let (fired, ctx) = three_replicas(
        sim.clone(),
        store.clone(),
        connect,
        specs,
        (n / 4).max(POINTS.len()),
        secrets.clone(),
        seed,
    )
    .await;
    let elapsed = started.elapsed();
    check(&sim, &store, &ctx, &secrets, exact).await;
    let kills: usize = fired.values().sum();
    println!(
        "{label}: {n} orders through 3 replicas in {elapsed:?}, seed {seed}: {kills} kills {fired:?}; \
         D-Trust: {} orders, {} submissions, {} duplicates",
        sim.orders(),
        sim.submissions_received(),
        sim.duplicate_orders()
    );
    for p in POINTS {
        assert!(
            fired.contains_key(&p),
            "kill point {p:?} never fired (seed {seed})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_killed_at_random_points_lose_no_order_and_order_none_twice_memory() {
    let store = MemoryStore::new();
    let connect: Connect = Arc::new(move || {
        let store = store.clone();
        Box::pin(async move { Arc::new(store) as Arc<dyn FlowStore> })
    });
    kill_run(connect, scale(40), "mem", true).await;
}

/// The same on PostgreSQL: every replica incarnation has its own pool (and
/// notification connection) to one database. Skipped, saying so, without
/// `DATABASE_URL` outside CI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_killed_at_random_points_lose_no_order_and_order_none_twice_postgres() {
    let Some(url) = smartid_postgres::testing::fresh_database_url("dtrust_replicas").await else {
        return;
    };
    let connect: Connect = Arc::new(move || {
        let url = url.clone();
        Box::pin(async move {
            let store = smartid_postgres::PostgresStore::connect(
                &url,
                smartid_postgres::testing::options_for_test().pool_size(4),
            )
            .await
            .expect("the test database");
            Arc::new(store) as Arc<dyn FlowStore>
        })
    });
    kill_run(connect, scale(20), "pg", false).await;
}

/// ReturnOnly: an order killed before D-Trust received it cannot be sent by
/// another replica (the password is not in the journal): it ends NotPlaced,
/// never ordered; one killed after it reached D-Trust is found by
/// reference and issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_only_orders_killed_before_submit_end_not_placed_and_others_resume() {
    let sim = Arc::new(DtrustSimulator::start_with(sim_config()).await.unwrap());
    let store = CountingStore::new(Arc::new(MemoryStore::new()));
    let secrets = SecretsInJournal::ReturnOnly;
    for (point, reference) in [
        (KillPoint::BeforeSubmit, "ro-before-submit"),
        (KillPoint::AnswerLost, "ro-answer-lost"),
        (KillPoint::BeforeRequestIdJournaled, "ro-before-id"),
        (KillPoint::DuringStatusWait, "ro-status"),
    ] {
        let kill = Kill::new(Some(point), 1);
        let a = replica(&sim, &store, &format!("a-{reference}"), &kill, &secrets);
        let subject = SubjectDn::new(format!("{reference}.example.de"));
        let csr = GeneratedCsr::generate(None, &subject, &[], KeySpec::EcP256).unwrap();
        let order = OrderRequest::pkcs10(ECC, subject, &csr.csr_der)
            .client_reference(reference)
            .revocation_password(Secret::new("Kept-By-Caller-7"));
        let wait = WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(60));
        tokio::select! {
            () = kill.killed() => {}
            r = a.order(&order, &wait) => panic!("{reference}: not killed: {r:?}"),
        }
        let b = replica(
            &sim,
            &store,
            &format!("b-{reference}"),
            &Kill::new(None, 1),
            &secrets,
        );
        // Nothing to take while the dead replica's lease holds.
        let early = b.resume_due(10).await.unwrap();
        assert!(
            early.iter().all(|r| r.reference != reference),
            "{reference}: taken before the lease expired"
        );
        let outcome = b.resume(reference, &wait).await.unwrap();
        match (point, &outcome) {
            (KillPoint::BeforeSubmit, OrderOutcome::NotPlaced { reason }) => {
                assert!(reason.contains("ReturnOnly"), "{reason}");
                assert_eq!(sim.orders_for_reference(reference), 0);
            }
            (_, OrderOutcome::Issued { .. }) if point != KillPoint::BeforeSubmit => {
                assert_eq!(sim.orders_for_reference(reference), 1);
            }
            _ => panic!("{reference}: {outcome:?}"),
        }
        assert!(matches!(
            b.revocation_password(reference).await,
            Err(Error::SecretNotInJournal { .. })
        ));
    }
    assert_eq!(sim.duplicate_orders(), 0);
    assert!(store.written().values().all(|n| *n == 1));
}

// ---------------------------------------------------------------------------
// Secrets, formats, failing stores.

/// Every stored byte of every entry (state and outcome) is scanned for the
/// revocation passwords and the PKCS#12 (file and transport password), in
/// clear, base64 or hex: none is there, in either mode. Sealed, a resumed
/// order is sent with the sealed password and revoked with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_stored_in_clear_and_sealed_ones_serve_a_resumed_order() {
    let sim = Arc::new(DtrustSimulator::start_with(sim_config()).await.unwrap());
    let (key, _) = SealingKey::generate().unwrap();
    for (mode, secrets) in [
        ("return-only", SecretsInJournal::ReturnOnly),
        ("sealed", SecretsInJournal::Sealed(Arc::new(key))),
    ] {
        let base = Arc::new(MemoryStore::new());
        let store = CountingStore::new(base.clone());
        let alive = Kill::new(None, 1);
        let journal = replica(&sim, &store, &format!("{mode}-a"), &alive, &secrets);
        let wait = WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(60));
        let mut secrets_seen: Vec<String> = Vec::new();
        let mut references = Vec::new();
        for (i, kind) in ["p10", "p12", "p12-generated"].iter().enumerate() {
            let reference = format!("{mode}-{kind}");
            let subject = SubjectDn::new(format!("{reference}.example.de"));
            let mut order = if *kind == "p10" {
                let csr = GeneratedCsr::generate(None, &subject, &[], KeySpec::EcP256).unwrap();
                OrderRequest::pkcs10(ECC, subject, &csr.csr_der)
            } else {
                OrderRequest::pkcs12(ECC, subject)
            }
            .client_reference(&reference);
            if i < 2 {
                let pw = format!("Secret-{mode}-{i}-Zq");
                secrets_seen.push(pw.clone());
                order = order.revocation_password(Secret::new(pw));
            }
            let result = journal.order(&order, &wait).await.unwrap();
            if let Some(pw) = &result.generated_revocation_password {
                secrets_seen.push(pw.expose_secret().to_owned());
            }
            match result.outcome {
                OrderOutcome::Issued { pkcs12, .. } => {
                    if *kind != "p10" {
                        let p12 = pkcs12.expect("the replica that fetched it returns it");
                        secrets_seen.push(p12.password.expose_secret().to_owned());
                        secrets_seen.push(base64(p12.pkcs12.expose_secret()));
                    }
                }
                o => panic!("{reference}: {o:?}"),
            }
            references.push(reference);
        }
        // A second replica reads the outcome: the PKCS#12 only when sealed.
        let reader = replica(&sim, &store, &format!("{mode}-b"), &alive, &secrets);
        let read = reader.outcome(&references[1]).await.unwrap().unwrap();
        let OrderOutcome::Issued { pkcs12, .. } = read else {
            panic!("{read:?}")
        };
        assert_eq!(pkcs12.is_some(), mode == "sealed", "{mode}");
        // Scan every stored byte.
        for reference in &references {
            let r = base
                .get(JOURNAL_NAMESPACE, reference)
                .await
                .unwrap()
                .unwrap();
            let mut bytes = r.state.clone();
            bytes.extend_from_slice(r.outcome.as_deref().unwrap_or_default());
            for s in &secrets_seen {
                for form in [s.clone(), base64(s.as_bytes()), hex(s.as_bytes())] {
                    assert!(
                        !contains(&bytes, form.as_bytes()),
                        "{mode}: {reference} stores a secret"
                    );
                }
            }
            assert!(!format!("{r:?}").contains("Secret-"));
        }
        match mode {
            "sealed" => {
                let pw = reader.revocation_password(&references[0]).await.unwrap();
                assert_eq!(pw.expose_secret(), "Secret-sealed-0-Zq");
                let OrderOutcome::Issued { certificate, .. } =
                    reader.outcome(&references[0]).await.unwrap().unwrap()
                else {
                    panic!()
                };
                reader
                    .client()
                    .revoke(certificate.certificate.serial_hex(), &pw, None)
                    .await
                    .unwrap();
                assert!(sim.is_revoked(certificate.certificate.serial_hex()));
            }
            _ => assert!(matches!(
                reader.revocation_password(&references[0]).await,
                Err(Error::SecretNotInJournal { .. })
            )),
        }
    }
    // Sealed: an order killed before submit is sent by another replica with
    // the sealed password (D-Trust gets the caller's password).
    let (key, _) = SealingKey::generate().unwrap();
    let secrets = SecretsInJournal::Sealed(Arc::new(key));
    let store = CountingStore::new(Arc::new(MemoryStore::new()));
    let kill = Kill::new(Some(KillPoint::BeforeSubmit), 1);
    let a = replica(&sim, &store, "sealed-dies", &kill, &secrets);
    let order = OrderRequest::pkcs12(ECC, SubjectDn::new("sealed-resume.example.de"))
        .client_reference("sealed-resume")
        .revocation_password(Secret::new("Resumed-With-Sealed-1"));
    let wait = WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(60));
    tokio::select! {
        () = kill.killed() => {}
        r = a.order(&order, &wait) => panic!("not killed: {r:?}"),
    }
    assert_eq!(sim.orders_for_reference("sealed-resume"), 0);
    let b = replica(
        &sim,
        &store,
        "sealed-resumes",
        &Kill::new(None, 1),
        &secrets,
    );
    let outcome = b.resume("sealed-resume", &wait).await.unwrap();
    assert!(
        matches!(
            outcome,
            OrderOutcome::Issued {
                pkcs12: Some(_),
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(sim.orders_for_reference("sealed-resume"), 1);
    assert_eq!(
        sim.received_revocation_passwords()
            .last()
            .cloned()
            .flatten()
            .as_deref(),
        Some("Resumed-With-Sealed-1")
    );
    // Another key cannot open it: a typed store error, no panic.
    let (other, _) = SealingKey::generate().unwrap();
    let c = replica(
        &sim,
        &store,
        "other-key",
        &Kill::new(None, 1),
        &SecretsInJournal::Sealed(Arc::new(other)),
    );
    assert!(matches!(
        c.revocation_password("sealed-resume").await,
        Err(Error::Store { .. })
    ));
}

fn base64(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An entry written by a newer release is refused with a clear error,
/// left as it is, and blocks a new order under its reference; nothing is
/// sent to D-Trust.
#[tokio::test]
async fn entries_of_a_newer_format_are_refused_and_left_untouched() {
    let sim = DtrustSimulator::start_with(sim_config()).await.unwrap();
    let base = Arc::new(MemoryStore::new());
    let store = CountingStore::new(base.clone());
    let journal = replica(
        &sim,
        &store,
        "r",
        &Kill::new(None, 1),
        &SecretsInJournal::ReturnOnly,
    );
    let now = SystemTime::now();
    let state = br#"{"format":2,"reference":"from-the-future","something":"new"}"#.to_vec();
    base.insert(NewFlow::new(JOURNAL_NAMESPACE, "from-the-future", 2, state.clone(), now).due(now))
        .await
        .unwrap();
    let e = journal.entry("from-the-future").await.unwrap_err();
    let Error::Store {
        source: StoreError::Incompatible {
            found, supported, ..
        },
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!((*found, *supported), (2, dtrust_client::JOURNAL_FORMAT));
    let message = e.to_string();
    assert!(message.contains("newer release"), "{message}");
    // The resumer reports it and leaves the state as it is.
    let resumed = journal.resume_due(10).await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert!(matches!(resumed[0].result, Err(Error::Store { .. })));
    let after = base
        .get(JOURNAL_NAMESPACE, "from-the-future")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((after.format, after.state.clone()), (2, state));
    // A new order under that reference is refused before anything is sent.
    let order = OrderRequest::pkcs12(ECC, SubjectDn::new("x.example.de"))
        .client_reference("from-the-future")
        .revocation_password(Secret::new("Some-Password-1"));
    let e = journal.prepare(&order).await.unwrap_err();
    assert!(matches!(e, Error::Store { .. }), "{e:?}");
    // A state that says another format than its record is refused too.
    let odd = br#"{"format":7}"#.to_vec();
    base.insert(NewFlow::new(JOURNAL_NAMESPACE, "odd", 1, odd, now))
        .await
        .unwrap();
    assert!(matches!(
        journal.entry("odd").await,
        Err(Error::Store { .. })
    ));
    assert_eq!(sim.submissions_received(), 0);
}

/// A store that is down.
struct DownStore;

fn down<'a, T: Send + 'a>() -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(Err(StoreError::Unavailable {
        reason: "connection refused (test)".into(),
    })))
}

impl FlowStore for DownStore {
    fn insert(&self, _: NewFlow) -> StoreFuture<'_, Inserted> {
        down()
    }
    fn get<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, Option<FlowRecord>> {
        down()
    }
    fn get_by_alias<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, Option<FlowRecord>> {
        down()
    }
    fn update<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: u64,
        _: Update,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        down()
    }
    fn complete<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: Vec<u8>,
        _: SystemTime,
    ) -> StoreFuture<'a, Completion> {
        down()
    }
    fn lease_due(&self, _: LeaseRequest) -> StoreFuture<'_, Vec<FlowRecord>> {
        down()
    }
    fn lease<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
        _: SystemTime,
        _: SystemTime,
    ) -> StoreFuture<'a, Option<FlowRecord>> {
        down()
    }
    fn waiting<'a>(&'a self, _: &'a str, _: usize) -> StoreFuture<'a, Vec<FlowRecord>> {
        down()
    }
    fn remove<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, bool> {
        down()
    }
    fn prune<'a>(&'a self, _: &'a str, _: SystemTime, _: bool, _: usize) -> StoreFuture<'a, u64> {
        down()
    }
    fn subscribe(&self) -> Subscription {
        smartid_core::store::Notifier::new(1).subscribe()
    }
}

/// No order is placed without a journal entry: a store that is down gives
/// `Error::Store` and D-Trust receives nothing.
#[tokio::test]
async fn a_failing_store_is_a_typed_error_before_anything_is_ordered() {
    let sim = DtrustSimulator::start().await.unwrap();
    let client = DtrustClient::new(account(&sim, T::Rest).build().unwrap()).unwrap();
    let journal = OrderJournal::builder(client, Arc::new(DownStore))
        .build()
        .unwrap();
    let order = OrderRequest::pkcs12(ECC, SubjectDn::new("down.example.de"))
        .revocation_password(Secret::new("Down-Store-Pw-1"));
    let wait = WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(10));
    let e = journal.order(&order, &wait).await.unwrap_err();
    let Error::Store {
        source: StoreError::Unavailable { .. },
        client_reference,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(client_reference, order.reference());
    let message = e.to_string();
    assert!(message.contains("check the store"), "{message}");
    assert!(!message.contains("Down-Store-Pw-1"));
    assert_eq!(sim.submissions_received(), 0);
    assert_eq!(sim.orders(), 0);
    assert!(matches!(
        journal.resume_due(5).await,
        Err(Error::Store { .. })
    ));
}

/// The store fails after the order was placed (the request id cannot be
/// journaled): a typed error for the caller, and the order is not lost:
/// another replica finds it by reference after the lease and finishes it,
/// without a second order.
#[tokio::test]
async fn a_store_failing_after_the_submission_loses_nothing_and_orders_nothing_twice() {
    let sim = DtrustSimulator::start_with(sim_config()).await.unwrap();
    let store = CountingStore::new(Arc::new(MemoryStore::new()));
    let secrets = SecretsInJournal::ReturnOnly;
    let a = replica_with(&sim, &store, "a", &Kill::new(None, 1), &secrets, true);
    let order = OrderRequest::pkcs12(ECC, SubjectDn::new("store-down.example.de"))
        .client_reference("store-down")
        .revocation_password(Secret::new("Store-Down-Pw-1"));
    let wait = WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(30));
    let e = a.order(&order, &wait).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Store {
                source: StoreError::Unavailable { .. },
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.to_string().contains("Store-Down-Pw-1"));
    assert_eq!(sim.orders_for_reference("store-down"), 1);
    let b = replica(&sim, &store, "b", &Kill::new(None, 1), &secrets);
    let outcome = b.resume("store-down", &wait).await.unwrap();
    assert!(
        matches!(outcome, OrderOutcome::Issued { .. }),
        "{outcome:?}"
    );
    assert_eq!(sim.orders_for_reference("store-down"), 1);
    assert_eq!(sim.duplicate_orders(), 0);
    assert_eq!(store.written().get("store-down"), Some(&1));
}

/// A replica that prepared an order and comes back after its lease
/// expired does not send it without a look-up when someone else has taken
/// the entry meanwhile (here: B sent it, the answer was lost, B died).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_preparer_does_not_order_what_another_replica_sent() {
    let sim = DtrustSimulator::start_with(sim_config()).await.unwrap();
    let store = CountingStore::new(Arc::new(MemoryStore::new()));
    let (key, _) = SealingKey::generate().unwrap();
    let secrets = SecretsInJournal::Sealed(Arc::new(key));
    let a = replica(&sim, &store, "a", &Kill::new(None, 1), &secrets);
    let order = OrderRequest::pkcs12(ECC, SubjectDn::new("late.example.de"))
        .client_reference("late")
        .revocation_password(Secret::new("Late-Preparer-Pw-1"));
    let prepared = a.prepare(&order).await.unwrap();
    tokio::time::sleep(LEASE + Duration::from_millis(200)).await;
    let kill = Kill::new(Some(KillPoint::AnswerLost), 1);
    let b = replica(&sim, &store, "b", &kill, &secrets);
    let wait = WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(60));
    tokio::select! {
        () = kill.killed() => {}
        r = b.resume("late", &wait) => panic!("not killed: {r:?}"),
    }
    assert_eq!(sim.orders_for_reference("late"), 1);
    tokio::time::sleep(LEASE + Duration::from_millis(200)).await;
    let outcome = a.run(prepared, &wait).await.unwrap();
    assert!(
        matches!(outcome, OrderOutcome::Issued { .. }),
        "{outcome:?}"
    );
    assert_eq!(sim.orders_for_reference("late"), 1);
    assert_eq!(sim.duplicate_orders(), 0);
    assert_eq!(sim.submissions_received(), 1);
}

/// The lease must outlast a request: a journal whose lease is not longer
/// than the HTTP timeout is refused at build.
#[tokio::test]
async fn a_lease_shorter_than_the_request_timeout_is_refused() {
    let sim = DtrustSimulator::start().await.unwrap();
    let client = DtrustClient::new(
        account(&sim, T::Rest)
            .http_settings(HttpSettings::new().request_timeout(Duration::from_secs(30)))
            .build()
            .unwrap(),
    )
    .unwrap();
    let e = OrderJournal::builder(client, Arc::new(MemoryStore::new()))
        .lease_length(Duration::from_secs(30))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("lease_length"), "{e}");
}

/// The same reference prepared twice is one order; another order under a
/// used reference is refused.
#[tokio::test]
async fn a_reference_is_journaled_once() {
    let sim = DtrustSimulator::start_with(sim_config()).await.unwrap();
    let store = CountingStore::new(Arc::new(MemoryStore::new()));
    let journal = replica(
        &sim,
        &store,
        "r",
        &Kill::new(None, 1),
        &SecretsInJournal::ReturnOnly,
    );
    let order = OrderRequest::pkcs12(ECC, SubjectDn::new("once.example.de"))
        .client_reference("once")
        .revocation_password(Secret::new("Once-Only-Pw-1"));
    let wait = WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(30));
    let first = journal.order(&order, &wait).await.unwrap();
    let again = journal.order(&order, &wait).await.unwrap();
    assert_eq!(first.outcome.request_id(), again.outcome.request_id());
    assert_eq!(sim.orders_for_reference("once"), 1);
    assert_eq!(sim.submissions_received(), 1);
    let other = OrderRequest::pkcs12(ECC, SubjectDn::new("other.example.de"))
        .client_reference("once")
        .revocation_password(Secret::new("Once-Only-Pw-1"));
    let e = journal.prepare(&other).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidOrder {
                field: "client_reference",
                ..
            }
        ),
        "{e:?}"
    );
    // Without a reference of the caller's, each order gets a new one.
    let a = OrderRequest::pkcs12(ECC, SubjectDn::new("a.example.de"));
    let b = OrderRequest::pkcs12(ECC, SubjectDn::new("a.example.de"));
    assert_ne!(a.reference(), b.reference());
}

/// The simulator records an order when it accepts the submission, even
/// when the client never reads the answer, and counts a second order for
/// one reference as a duplicate in both settings.
#[tokio::test]
async fn simulator_counts_unread_orders_and_duplicates() {
    for repeated in [
        RepeatedReference::ReturnExisting,
        RepeatedReference::PlaceAnother,
    ] {
        let mut config = SimConfig::default();
        config.repeated_reference = repeated;
        let sim = DtrustSimulator::start_with(config).await.unwrap();
        let client = DtrustClient::new(
            account(&sim, T::Rest)
                .http_settings(HttpSettings::new().request_timeout(Duration::from_millis(300)))
                .build()
                .unwrap(),
        )
        .unwrap();
        sim.delay_next_submit_response(Duration::from_secs(5));
        let order = OrderRequest::pkcs12(ECC, SubjectDn::new("unread.example.de"))
            .client_reference("unread")
            .revocation_password(Secret::new("Unread-Answer-1"));
        // The first answer is never read (the client gives up after 300 ms);
        // the client's own recovery then finds the order by reference.
        let submission = client.submit(&order).await.unwrap();
        assert_eq!(sim.orders_for_reference("unread"), 1, "{repeated:?}");
        assert_eq!(sim.duplicate_orders(), 0, "{repeated:?}");
        // A careless second submission is a duplicate.
        let _ = client.submit(&order).await;
        assert_eq!(sim.duplicate_orders(), 1, "{repeated:?}");
        let expected = match repeated {
            RepeatedReference::PlaceAnother => 2,
            _ => 1,
        };
        assert_eq!(sim.orders_for_reference("unread"), expected, "{repeated:?}");
        assert!(!submission.request_id().is_empty());
    }
}

#[allow(dead_code)]
fn _progress_is_public(p: &Progress) -> bool {
    matches!(p, Progress::Waiting { .. })
}
