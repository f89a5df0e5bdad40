//! Hermod benchmarks, each a ratio of two things measured in the same run
//! (interleaved rounds, median; see `smartid_testkit::bench`):
//!
//! 1. `command`: client CPU per command (a sign command: build, send over
//!    TLS, read and parse the answer) of `HermodClient::send` against plain
//!    reqwest posting the same body (serialized from a hand-written serde
//!    struct, the same bytes) with the same headers and parsing the answer
//!    with serde_json. Server: the testkit's `HermodSimulator` on another
//!    thread (its device never answers, so no callbacks); the client runs on
//!    a current-thread runtime and only its thread's CPU is counted.
//! 2. `commands`: commands per second (wall time), 1,000 in flight, same
//!    two sides, same simulator.
//! 3. `callbacks`: callbacks per second (wall time) through
//!    `CallbackReceiver` (Basic authentication, parsing, delivery to the
//!    tracker of a registered command) against a bare axum handler that
//!    reads the body, both behind the testkit's `TlsFront` on another
//!    thread; the same load generator (reqwest, keep-alive connections,
//!    100 in flight) posts the same bodies to both.
//! 4. `tracker`: the tracker alone (register + deliver, no HTTP) against a
//!    mutex-guarded `HashMap` insert + remove, for scale.
//!
//! `cargo bench -p hermod-client --bench throughput` (an argument names
//! the parts to run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use hermod_client::{
    Callback, CallbackReceiver, Command, CommandKind, CommandState, CommandTiming, HermodClient,
    HermodConfig, KeyFilter, SignParams, ToBeSigned, TrackedCommand, Tracker,
};
use serde::{Deserialize, Serialize};
use smartid_core::{HttpSettings, Secret, TrustRoots};
use smartid_testkit::bench::{Comparison, Meter};
use smartid_testkit::hermod::{ApiClient, DeviceBehavior, HermodSimulator};
use smartid_testkit::{ClientAuth, TestPki, TlsFront};
use tokio::task::JoinSet;

const ROUNDS: usize = 41;
const IN_FLIGHT: usize = 1_000;
const CALLBACK_CONCURRENCY: usize = 100;
const CALLBACKS_PER_ROUND: usize = 2_000;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `setup` on a thread of its own with a current-thread runtime, sends
/// back what it returns, and keeps the runtime going until `stop` fires.
fn server_thread<T: Send + 'static, F>(
    setup: impl FnOnce() -> F + Send + 'static,
) -> (
    T,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
)
where
    F: std::future::Future<Output = (T, Box<dyn std::any::Any>)>,
{
    let (tx, rx) = mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        rt().block_on(async move {
            let (value, keep) = setup().await;
            tx.send(value).unwrap();
            let _ = stopped.await;
            drop(keep);
        });
    });
    (rx.recv().unwrap(), stop, thread)
}

// ---- commands ----

struct HermodServer {
    command_url: String,
    root_pem: String,
    trust: HttpSettings,
}

fn start_hermod() -> (
    HermodServer,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    server_thread(|| async {
        let pki = TestPki::generate().unwrap();
        let sim = HermodSimulator::builder(pki.localhost_server().unwrap())
            .client(ApiClient::new(
                "bench",
                Secret::new("k"),
                "https://localhost:9/unused",
                pki.root_trust_store().unwrap(),
            ))
            .device(DeviceBehavior::manual())
            .start()
            .await
            .unwrap();
        let server = HermodServer {
            command_url: sim.command_url(),
            root_pem: pki.root_pem(),
            trust: HttpSettings::new().trust(TrustRoots::Only(pki.root_trust_store().unwrap())),
        };
        (server, Box::new((sim, pki)) as Box<dyn std::any::Any>)
    })
}

fn sign_command() -> Command {
    Command::sign(
        SignParams::new(vec![ToBeSigned::text(
            "tbs",
            "Text to sign",
            "Text to sign",
        )])
        .describe(ToBeSigned::text(
            "requester",
            "Signing request from",
            "Personal",
        ))
        .filter(KeyFilter::new("eq", "key.type", "RSA")),
    )
}

#[derive(Serialize)]
struct RefCommand<'a> {
    #[serde(rename = "commandHeader")]
    header: RefHeader<'a>,
    #[serde(rename = "signCommand")]
    sign: RefSign<'a>,
}

#[derive(Serialize)]
struct RefHeader<'a> {
    lifespan: u64,
    timeout: u64,
    to: [&'a str; 1],
}

#[derive(Serialize)]
struct RefSign<'a> {
    params: RefParams<'a>,
}

#[derive(Serialize)]
struct RefParams<'a> {
    description: [RefItem<'a>; 1],
    filter: RefFilter<'a>,
    format: &'a str,
    mechanism: &'a str,
    tbs: [RefItem<'a>; 1],
}

#[derive(Serialize)]
struct RefItem<'a> {
    content_encoding: &'a str,
    content_type: &'a str,
    data: String,
    description: &'a str,
    key: &'a str,
    visible: bool,
}

#[derive(Serialize)]
struct RefFilter<'a> {
    op: &'a str,
    param: &'a str,
    value: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct RefAnswer {
    command_id: String,
    command_type: String,
    state: String,
    #[serde(default)]
    destinations: Vec<RefDestination>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct RefDestination {
    to: String,
    bid: String,
    uri: String,
    mid: String,
    location: Option<String>,
}

fn ref_body() -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let item = |key, description, text: &str| RefItem {
        content_encoding: "base64",
        content_type: "text/plain",
        data: b64.encode(text),
        description,
        key,
        visible: true,
    };
    serde_json::to_vec(&RefCommand {
        header: RefHeader {
            lifespan: 30,
            timeout: 30,
            to: ["@tmp"],
        },
        sign: RefSign {
            params: RefParams {
                description: [item("requester", "Signing request from", "Personal")],
                filter: RefFilter {
                    op: "eq",
                    param: "key.type",
                    value: "RSA",
                },
                format: "pkcs7",
                mechanism: "CKM_SHA256_RSA_PKCS",
                tbs: [item("tbs", "Text to sign", "Text to sign")],
            },
        },
    })
    .unwrap()
}

/// The hand-written client: reqwest configured as smartid-core's
/// HttpClient configures it, the API key header computed once.
struct RefClient {
    http: reqwest::Client,
    url: String,
    api_key: reqwest::header::HeaderValue,
}

fn reqwest_client(root_pem: &str, user_agent: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .min_tls_version(reqwest::tls::Version::TLS_1_2)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_only(vec![
            reqwest::Certificate::from_pem(root_pem.as_bytes()).unwrap(),
        ])
        .no_proxy()
        .build()
        .unwrap()
}

impl RefClient {
    fn new(server: &HermodServer) -> Self {
        let mut api_key = reqwest::header::HeaderValue::from_str(
            &base64::engine::general_purpose::STANDARD.encode("bench:k"),
        )
        .unwrap();
        api_key.set_sensitive(true);
        RefClient {
            http: reqwest_client(
                &server.root_pem,
                concat!(
                    "hermod-client/",
                    env!("CARGO_PKG_VERSION"),
                    " smartid-core/",
                    env!("CARGO_PKG_VERSION")
                ),
            ),
            url: format!("{}/sign", server.command_url),
            api_key,
        }
    }

    async fn send(&self) -> RefAnswer {
        let r = self
            .http
            .post(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header("X-Api-Key", self.api_key.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(ref_body())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let answer: RefAnswer = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert!(!answer.command_id.is_empty());
        answer
    }
}

fn ours_client(server: &HermodServer) -> HermodClient {
    let config = HermodConfig::builder(server.command_url.clone())
        .client("bench", Secret::new("k"))
        .timing(CommandTiming::from_secs(30, 30, 10).unwrap())
        .http_settings(server.trust.clone())
        .build()
        .unwrap();
    let body = hermod_client::build_command_request(&config, &sign_command()).unwrap();
    assert_eq!(
        body.body_bytes().unwrap(),
        &ref_body()[..],
        "ours and the reference must send the same body"
    );
    HermodClient::new(config).unwrap()
}

fn commands(parts: &[&str]) -> Vec<Comparison> {
    let (server, stop, thread) = start_hermod();
    let rt = rt();
    let ours = ours_client(&server);
    let reference = Arc::new(RefClient::new(&server));
    let command = Arc::new(sign_command());
    let mut out = Vec::new();
    if parts.contains(&"command") {
        out.push(Comparison::run(
            "Hermod command (client CPU)",
            Meter::ThreadCpu,
            ROUNDS,
            300,
            |n| {
                rt.block_on(async {
                    for _ in 0..n {
                        ours.send(&command).await.unwrap();
                    }
                })
            },
            |n| {
                rt.block_on(async {
                    for _ in 0..n {
                        reference.send().await;
                    }
                })
            },
        ));
    }
    if parts.contains(&"commands") {
        let ours_many = |n: u64| {
            rt.block_on(async {
                let mut set = JoinSet::new();
                for _ in 0..n {
                    let (client, command) = (ours.clone(), command.clone());
                    set.spawn(async move { client.send(&command).await.unwrap() });
                }
                while let Some(r) = set.join_next().await {
                    r.unwrap();
                }
            })
        };
        let ref_many = |n: u64| {
            rt.block_on(async {
                let mut set = JoinSet::new();
                for _ in 0..n {
                    let reference = reference.clone();
                    set.spawn(async move { reference.send().await });
                }
                while let Some(r) = set.join_next().await {
                    r.unwrap();
                }
            })
        };
        // Open the connections of both pools first (1,000 TLS handshakes
        // each), so that no measured round pays them.
        ours_many(IN_FLIGHT as u64);
        ref_many(IN_FLIGHT as u64);
        let c = Comparison::run(
            "Hermod commands, 1,000 in flight (wall)",
            Meter::Wall,
            ROUNDS,
            IN_FLIGHT as u64,
            ours_many,
            ref_many,
        );
        out.push(c);
    }
    drop(rt);
    let _ = stop.send(());
    thread.join().unwrap();
    out
}

// ---- callbacks ----

struct Fronts {
    receiver_url: String,
    bare_url: String,
    root_pem: String,
}

/// Both sides interleaved, or (`only`: `"ours"` / `"reference"`) one side
/// for a few rounds, for callgrind (`profile-callbacks-ours` and
/// `profile-callbacks-reference`), which then returns `None`.
fn callbacks(only: Option<&str>) -> Option<Comparison> {
    let tracker = Tracker::new();
    let receiver = CallbackReceiver::new(tracker.clone(), "cb", &Secret::new("pw")).unwrap();
    let ours_router = receiver.router();
    let bare_router = axum::Router::new().route(
        "/rest/callback/{kind}",
        axum::routing::post(|body: axum::body::Bytes| async move {
            std::hint::black_box(body);
            axum::http::StatusCode::OK
        }),
    );
    let (fronts, stop, thread) = server_thread(move || async move {
        let pki = TestPki::generate().unwrap();
        let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
        let mut urls = Vec::new();
        for router in [ours_router, bare_router] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
            let front = TlsFront::start(addr, &pki.localhost_server().unwrap(), ClientAuth::None)
                .await
                .unwrap();
            urls.push(format!("{}/rest/callback/sign", front.url()));
            keep.push(Box::new(front));
        }
        let fronts = Fronts {
            bare_url: urls.pop().unwrap(),
            receiver_url: urls.pop().unwrap(),
            root_pem: pki.root_pem(),
        };
        keep.push(Box::new(pki));
        (fronts, Box::new(keep) as Box<dyn std::any::Any>)
    });
    let rt = rt();
    let http = reqwest_client(&fronts.root_pem, "load-generator");
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("cb:pw")
    );
    let post_all = |url: &str, prefix: &str| {
        let bodies: Vec<Vec<u8>> = (0..CALLBACKS_PER_ROUND)
            .map(|i| {
                format!(
                    r#"{{"commandId":"{prefix}-{i}","state":"COMPLETED","result":{{"n":{i}}}}}"#
                )
                .into_bytes()
            })
            .collect();
        let bodies = Arc::new(std::sync::Mutex::new(bodies));
        let start = Instant::now();
        rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..CALLBACK_CONCURRENCY {
                let (http, url, auth, bodies) =
                    (http.clone(), url.to_owned(), auth.clone(), bodies.clone());
                set.spawn(async move {
                    loop {
                        let Some(body) = bodies.lock().unwrap().pop() else {
                            break;
                        };
                        let r = http
                            .post(&url)
                            .header(reqwest::header::AUTHORIZATION, &auth)
                            .header(reqwest::header::CONTENT_TYPE, "application/json")
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 200);
                        r.bytes().await.unwrap();
                    }
                });
            }
            while let Some(r) = set.join_next().await {
                r.unwrap();
            }
        });
        start.elapsed()
    };
    let timing = CommandTiming::default();
    let mut round_no = 0;
    let mut ours = |resolved_before: u64| {
        round_no += 1;
        let prefix = format!("r{round_no}");
        rt.block_on(async {
            for i in 0..CALLBACKS_PER_ROUND {
                let t = TrackedCommand::new(
                    format!("{prefix}-{i}"),
                    None,
                    CommandKind::Sign,
                    timing,
                    SystemTime::now(),
                );
                tracker.register(t).await.unwrap();
            }
        });
        let d = post_all(&fronts.receiver_url, &prefix);
        assert_eq!(
            receiver.stats().resolved,
            resolved_before + CALLBACKS_PER_ROUND as u64,
            "every callback resolves a tracked command"
        );
        d
    };
    let reference = || post_all(&fronts.bare_url, "bare");
    if let Some(side) = only {
        for _ in 0..3 {
            if side == "ours" {
                ours(receiver.stats().resolved);
            } else {
                reference();
            }
        }
        drop(rt);
        let _ = stop.send(());
        thread.join().unwrap();
        return None;
    }
    // Warm-up: the connections of the load generator to both fronts.
    ours(receiver.stats().resolved);
    reference();
    let mut pairs = Vec::new();
    for round in 0..ROUNDS {
        let before = receiver.stats().resolved;
        if round % 2 == 0 {
            let o = ours(before);
            pairs.push((o, reference()));
        } else {
            let r = reference();
            pairs.push((ours(before), r));
        }
    }
    drop(rt);
    let _ = stop.send(());
    thread.join().unwrap();
    Some(Comparison::from_rounds(
        "Hermod callbacks over TLS, 100 in flight (wall)",
        Meter::Wall,
        CALLBACKS_PER_ROUND as u64,
        pairs,
    ))
}

fn tracker_alone() -> Comparison {
    let rt = rt();
    let timing = CommandTiming::default();
    let tracker = Tracker::new();
    let map = std::sync::Mutex::new(std::collections::HashMap::<String, TrackedCommand>::new());
    let mut round = 0;
    Comparison::run(
        "tracker register+deliver vs HashMap (CPU)",
        Meter::ThreadCpu,
        ROUNDS,
        20_000,
        |n| {
            round += 1;
            rt.block_on(async {
                for i in 0..n {
                    let id = format!("t{round}-{i}");
                    let t = TrackedCommand::new(
                        id.clone(),
                        None,
                        CommandKind::Ping,
                        timing,
                        SystemTime::now(),
                    );
                    tracker.register(t).await.unwrap();
                    tracker
                        .deliver(Callback::new(id, CommandState::Completed))
                        .await
                        .unwrap();
                }
            })
        },
        |n| {
            for i in 0..n {
                let id = format!("m-{i}");
                let t = TrackedCommand::new(
                    id.clone(),
                    None,
                    CommandKind::Ping,
                    timing,
                    SystemTime::now(),
                );
                map.lock().unwrap().insert(id.clone(), t);
                std::hint::black_box(map.lock().unwrap().remove(&id));
            }
        },
    )
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let all = ["command", "commands", "callbacks", "tracker"];
    let parts: Vec<&str> = if args.is_empty() {
        all.to_vec()
    } else {
        all.iter()
            .copied()
            .filter(|p| args.iter().any(|a| a == p))
            .collect()
    };
    // `profile-callbacks-ours` / `profile-callbacks-reference`: one side of
    // the callbacks only, for callgrind.
    if let Some(side) = args
        .iter()
        .find_map(|a| a.strip_prefix("profile-callbacks-"))
    {
        callbacks(Some(side));
        return;
    }
    // `profile-ours` / `profile-reference`: one side only, for callgrind.
    if let Some(side) = args.iter().find_map(|a| a.strip_prefix("profile-")) {
        let (server, stop, thread) = start_hermod();
        let rt = rt();
        let ours = ours_client(&server);
        let reference = RefClient::new(&server);
        let command = sign_command();
        rt.block_on(async {
            for _ in 0..500 {
                if side == "ours" {
                    ours.send(&command).await.unwrap();
                } else {
                    reference.send().await;
                }
            }
        });
        drop(rt);
        let _ = stop.send(());
        thread.join().unwrap();
        return;
    }
    let mut rows = Vec::new();
    if parts.contains(&"command") || parts.contains(&"commands") {
        rows.extend(commands(&parts));
    }
    if parts.contains(&"callbacks") {
        rows.extend(callbacks(None));
    }
    if parts.contains(&"tracker") {
        rows.push(tracker_alone());
    }
    for c in &rows {
        println!("{}", c.report());
        if c.report().contains("(wall)") {
            println!(
                "{:<44} per second: ours {:.0}, reference {:.0}, ours/reference {:.3}",
                "",
                1.0 / c.ours_each().as_secs_f64(),
                1.0 / c.reference_each().as_secs_f64(),
                1.0 / c.ratio()
            );
        }
    }
}
