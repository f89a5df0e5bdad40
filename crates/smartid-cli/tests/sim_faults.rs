//! Fault injection switched through the control API, each kind seen on the
//! wire by a client: resets, 5xx, slow answers past a timeout, truncated
//! bodies, duplicated and reordered Hermod callbacks, and a D-Trust
//! submission whose answer is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_common;

use std::time::{Duration, Instant};

use hermod_client::Outcome;
use serde_json::{Value, json};
use sim_common::*;
use smartid_core::{HttpClient, HttpRequest, HttpSettings, TrustRoots};
use smartid_testkit::sim::{HERMOD_CLIENT_ID, SimOptions, SimServer};

async fn start() -> (tempfile::TempDir, SimServer, Value) {
    let dir = tempfile::tempdir().unwrap();
    let server = SimServer::start(SimOptions::new(dir.path())).await.unwrap();
    let v = sim_json(dir.path());
    (dir, server, v)
}

async fn faults(v: &Value, doc: Value) {
    let (status, body) = control(v, "PUT", "/control/faults", Some(doc)).await;
    assert_eq!(status, 200, "{body}");
}

async fn injected(v: &Value, kind: &str) -> u64 {
    let (_, status) = control(v, "GET", "/control/status", None).await;
    status["faults"]["injected"][kind].as_u64().unwrap_or(0)
}

fn https(v: &Value, timeout: Duration) -> HttpClient {
    let settings = HttpSettings::new()
        .trust(TrustRoots::Only(trust(v)))
        .request_timeout(timeout);
    HttpClient::new(&settings, "sim-fault-test").unwrap()
}

async fn discovery(
    v: &Value,
    timeout: Duration,
) -> smartid_core::Result<smartid_core::HttpResponse> {
    https(v, timeout)
        .send(HttpRequest::get(s(v, "/audkenni/discovery_url")))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_server_error_and_truncate_reach_the_client() {
    let (_dir, _server, v) = start().await;
    let t = Duration::from_secs(10);
    assert_eq!(
        discovery(&v, t).await.unwrap().status(),
        200,
        "faults are off by default"
    );

    faults(
        &v,
        json!({"enabled": true, "rate": 1.0, "kinds": ["reset"]}),
    )
    .await;
    let err = discovery(&v, t).await.unwrap_err();
    let text = format!("{err} {err:?}").to_lowercase();
    assert!(text.contains("connection reset"), "{text}");
    assert_eq!(injected(&v, "reset").await, 1);

    faults(&v, json!({"kinds": ["server_error"]})).await;
    let resp = discovery(&v, t).await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(injected(&v, "server_error").await, 1);

    faults(&v, json!({"kinds": ["truncate"]})).await;
    let err = discovery(&v, t).await.unwrap_err();
    // The headers and half of the body arrived, then the connection closed.
    let text = format!("{err}");
    assert!(
        text.contains("body") && text.contains("end of file"),
        "{text}"
    );
    assert_eq!(injected(&v, "truncate").await, 1);

    faults(&v, json!({"enabled": false})).await;
    assert_eq!(discovery(&v, t).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_outlast_the_client_timeout() {
    let (_dir, _server, v) = start().await;
    faults(
        &v,
        json!({"enabled": true, "rate": 1.0, "kinds": ["slow"], "slow_ms": 1500}),
    )
    .await;
    let err = discovery(&v, Duration::from_millis(500)).await.unwrap_err();
    assert!(
        format!("{err} {err:?}").to_lowercase().contains("time"),
        "{err:?}"
    );
    let started = Instant::now();
    let resp = discovery(&v, Duration::from_secs(10)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(1400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_faults_on_the_wire() {
    let (_dir, _server, v) = start().await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        faults(
            &v,
            json!({"enabled": true, "rate": 0.5, "kinds": ["server_error"], "seed": 42}),
        )
        .await;
        let mut statuses = Vec::new();
        for _ in 0..16 {
            statuses.push(
                discovery(&v, Duration::from_secs(10))
                    .await
                    .unwrap()
                    .status(),
            );
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&503) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_settings_are_checked() {
    let (_dir, _server, v) = start().await;
    let (status, body) = control(
        &v,
        "PUT",
        "/control/faults",
        Some(json!({"kinds": ["boom"]})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("kinds"), "{body}");
    let (status, body) = control(&v, "PUT", "/control/faults", Some(json!({"rate": 3}))).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("rate"), "{body}");
    let (_, f) = control(&v, "GET", "/control/faults", None).await;
    assert_eq!(f["enabled"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_submit_answer_leaves_the_order_placed() {
    let (_dir, server, v) = start().await;
    faults(
        &v,
        json!({"enabled": true, "rate": 1.0, "kinds": ["lost_submit_answer"]}),
    )
    .await;
    let client = dtrust(&v);
    use dtrust_client::{
        GeneratedCsr, KeySpec, OrderRequest, PasswordPolicy, RequestKind, SubjectDn,
        generate_revocation_password,
    };
    let products = client.list_products().await.unwrap();
    let product = products
        .iter()
        .find(|p| p.accepts(&RequestKind::Pkcs10) && p.key_sizes.contains(&256))
        .unwrap();
    let subject = SubjectDn::new("lost.example.de");
    let csr = GeneratedCsr::generate(Some(product), &subject, &[], KeySpec::EcP256).unwrap();
    let password = generate_revocation_password(&PasswordPolicy::default()).unwrap();
    let order =
        OrderRequest::pkcs10(&product.id, subject, &csr.csr_der).revocation_password(password);
    let reference = order.reference().to_string();
    let result = client.submit(&order).await;
    assert_eq!(injected(&v, "lost_submit_answer").await, 1);
    // The order exists although its answer was lost; a client that recovers
    // finds it by its reference instead of ordering again.
    assert_eq!(server.dtrust().orders_for_reference(&reference), 1);
    assert_eq!(server.dtrust().duplicate_orders(), 0);
    println!("client saw: {:?}", result.as_ref().map(|_| "recovered"));
}

async fn hermod_with_callbacks(kind: &str) -> (Vec<(String, Option<u16>)>, Outcome) {
    let (_dir, server, v) = start().await;
    let (status, _) = control(
        &v,
        "PUT",
        "/control/hermod/device",
        Some(json!({"reply": "approve", "after_ms": 100})),
    )
    .await;
    assert_eq!(status, 200);
    let (tracker, url) = receiver(&v, 0);
    let (status, _) = control(
        &v,
        "PUT",
        "/control/hermod/callback-url",
        Some(json!({ "url": url })),
    )
    .await;
    assert_eq!(status, 200);
    faults(&v, json!({"enabled": true, "rate": 1.0, "kinds": [kind]})).await;
    let sent = hermod(&v).send(&sign_command("faults-1")).await.unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        tracker.track(sent.tracked, &hermod_client::WaitOptions::new()),
    )
    .await
    .unwrap()
    .unwrap();
    let records = server
        .hermod()
        .wait_for_callbacks(2, Duration::from_secs(10))
        .await;
    assert_eq!(injected(&v, kind).await, 1);
    let _ = HERMOD_CLIENT_ID;
    (
        records.into_iter().map(|r| (r.state, r.status)).collect(),
        outcome,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicated_callback_is_posted_twice() {
    let (records, outcome) = hermod_with_callbacks("duplicate_callback").await;
    assert_eq!(
        records,
        vec![
            ("COMPLETED".to_owned(), Some(200)),
            ("COMPLETED".to_owned(), Some(200))
        ]
    );
    assert!(matches!(outcome, Outcome::Answered(cb) if cb.state.to_string() == "COMPLETED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordered_callbacks_put_the_progress_callback_last() {
    let (records, outcome) = hermod_with_callbacks("reorder_callbacks").await;
    let states: Vec<&str> = records.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(states, ["COMPLETED", "STARTED"]);
    assert!(matches!(outcome, Outcome::Answered(cb) if cb.state.to_string() == "COMPLETED"));
}
