//! Throughput with 1,000 commands in flight:
//! - commands per second sent to the Hermod simulator over TLS (answers received);
//! - callbacks per second from the simulator through the receiver to the
//!   tracker (all 1,000 futures resolved);
//! - callbacks per second POSTed straight to the receiver over TLS;
//! - the tracker alone (no HTTP), for comparison.
//!
//! `cargo bench -p hermod-client --bench throughput`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hermod_client::{
    Callback, CallbackReceiver, Command, CommandKind, CommandState, CommandTiming, HermodClient,
    HermodConfig, TrackedCommand, Tracker, WaitOptions,
};
use smartid_core::{HttpClient, HttpRequest, HttpSettings, Secret, TrustRoots};
use smartid_testkit::hermod::{ApiClient, DeviceBehavior, HermodSimulator};
use smartid_testkit::{ClientAuth, TestPki, TlsFront};
use tokio::task::JoinSet;

const IN_FLIGHT: usize = 1_000;

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

async fn bench() {
    let pki = TestPki::generate().unwrap();
    let trust = HttpSettings::new().trust(TrustRoots::Only(pki.root_trust_store().unwrap()));

    let tracker = Tracker::new();
    let receiver = CallbackReceiver::new(tracker.clone(), "cb", &Secret::new("pw")).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(receiver.clone().serve(listener));
    let front = TlsFront::start(addr, &pki.localhost_server().unwrap(), ClientAuth::None)
        .await
        .unwrap();

    // The device answers 2 s after each command: all 1,000 are in flight at once.
    let sim = HermodSimulator::builder(pki.localhost_server().unwrap())
        .client(
            ApiClient::new(
                "bench",
                Secret::new("k"),
                &front.url(),
                pki.root_trust_store().unwrap(),
            )
            .callback_basic_auth("cb", Secret::new("pw")),
        )
        .device(DeviceBehavior::answers_after(Duration::from_secs(2)).progress_callbacks(false))
        .start()
        .await
        .unwrap();
    let config = HermodConfig::builder(sim.command_url())
        .client("bench", Secret::new("k"))
        .timing(CommandTiming::from_secs(300, 120, 10).unwrap())
        .http_settings(trust.clone())
        .build()
        .unwrap();
    let client = HermodClient::new(config).unwrap();
    // Warm-up: TLS handshakes and pools.
    client.send(&Command::ping()).await.unwrap();

    // 1. Commands per second.
    let start = Instant::now();
    let mut sends = JoinSet::new();
    for i in 0..IN_FLIGHT {
        let client = client.clone();
        sends.spawn(async move {
            client
                .send(&Command::ping().external_id(format!("b-{i}")))
                .await
        });
    }
    let mut pendings = Vec::with_capacity(IN_FLIGHT);
    while let Some(r) = sends.join_next().await {
        pendings.push(tracker.track(r.unwrap().unwrap().tracked, &WaitOptions::new()));
    }
    let sent_in = start.elapsed();
    println!(
        "commands to the simulator over TLS: {IN_FLIGHT} in {sent_in:.2?} = {:.0} commands/s",
        rate(IN_FLIGHT, sent_in)
    );

    // 2. Simulator callbacks through the receiver: from the first answer due
    // (2 s after the first command) until all futures resolved.
    let wait_start = Instant::now();
    let mut waits = JoinSet::new();
    for p in pendings {
        waits.spawn(p);
    }
    let mut first_done: Option<Instant> = None;
    let mut completed = 0;
    while let Some(o) = waits.join_next().await {
        first_done.get_or_insert_with(Instant::now);
        if o.unwrap().unwrap().state() == CommandState::Completed {
            completed += 1;
        }
    }
    let first = first_done.unwrap_or(wait_start);
    let spread = first.elapsed();
    assert_eq!(completed, IN_FLIGHT);
    println!(
        "simulator callbacks through the receiver: {IN_FLIGHT} resolved within {spread:.2?} of the first = {:.0} callbacks/s (answers fall due over {sent_in:.2?})",
        rate(IN_FLIGHT, spread.max(Duration::from_millis(1)))
    );

    // 3. Callbacks POSTed straight to the receiver over TLS, 1,000 in flight.
    let http = HttpClient::new(&trust, "bench").unwrap();
    let timing = CommandTiming::default();
    let mut pendings = Vec::with_capacity(IN_FLIGHT);
    for i in 0..IN_FLIGHT {
        let t = TrackedCommand::new(
            format!("direct-{i}"),
            None,
            CommandKind::Sign,
            timing,
            SystemTime::now(),
        );
        pendings.push(tracker.track(t, &WaitOptions::new()));
    }
    let url = Arc::new(format!("{}/rest/callback/sign", front.url()));
    let start = Instant::now();
    let mut posts = JoinSet::new();
    for i in 0..IN_FLIGHT {
        let (http, url) = (http.clone(), url.clone());
        posts.spawn(async move {
            let body =
                format!(r#"{{"commandId":"direct-{i}","state":"COMPLETED","result":{{"n":{i}}}}}"#);
            let req = HttpRequest::post(url.as_str())
                .basic_auth("cb", &Secret::new("pw"))
                .body("application/json", body.into_bytes());
            http.send(req).await.unwrap().status()
        });
    }
    while let Some(s) = posts.join_next().await {
        assert_eq!(s.unwrap(), 200);
    }
    for p in pendings {
        assert_eq!(p.await.unwrap().state(), CommandState::Completed);
    }
    let direct = start.elapsed();
    println!(
        "callbacks POSTed to the receiver over TLS: {IN_FLIGHT} in {direct:.2?} = {:.0} callbacks/s",
        rate(IN_FLIGHT, direct)
    );

    // 4. The tracker alone.
    const N: usize = 100_000;
    let t = Tracker::new();
    let start = Instant::now();
    let mut pendings = Vec::with_capacity(N);
    for i in 0..N {
        let c = TrackedCommand::new(
            format!("mem-{i}"),
            None,
            CommandKind::Ping,
            timing,
            SystemTime::now(),
        );
        pendings.push(t.track(c, &WaitOptions::new()));
    }
    for i in 0..N {
        t.deliver(Callback::new(format!("mem-{i}"), CommandState::Completed))
            .await
            .unwrap();
    }
    for p in pendings {
        p.await.unwrap();
    }
    let mem = start.elapsed();
    println!(
        "tracker alone (track + deliver + await): {N} in {mem:.2?} = {:.0} callbacks/s; HTTP+TLS path is {:.1}x slower",
        rate(N, mem),
        rate(N, mem) / rate(IN_FLIGHT, direct)
    );
    let stats = receiver.stats();
    println!(
        "receiver stats: resolved {} duplicates {} unauthorized {}",
        stats.resolved, stats.duplicates, stats.unauthorized
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench());
}
