//! The callback receiver over TLS: credentials, malformed bodies,
//! duplicates, unknown and early callbacks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use hermod_client::{
    CallbackReceiver, CommandKind, CommandState, CommandTiming, Outcome, TrackedCommand, Tracker,
};
use smartid_core::{HttpClient, HttpRequest, HttpSettings, Secret, TrustRoots};
use smartid_testkit::{ClientAuth, TestPki, TlsFront};

struct Setup {
    _front: TlsFront,
    url: String,
    http: HttpClient,
    receiver: CallbackReceiver,
}

async fn setup(receiver: CallbackReceiver) -> Setup {
    let pki = TestPki::generate().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Mounted inside an existing app under a prefix, as Identity Manager does.
    let app = axum_app(&receiver);
    tokio::spawn(async move { axum_serve(listener, app).await });
    let front = TlsFront::start(addr, &pki.localhost_server().unwrap(), ClientAuth::None)
        .await
        .unwrap();
    let settings = HttpSettings::new().trust(TrustRoots::Only(pki.root_trust_store().unwrap()));
    Setup {
        url: format!("{}/idm-operator/ws/hermod", front.url()),
        _front: front,
        http: HttpClient::new(&settings, "test").unwrap(),
        receiver,
    }
}

fn axum_app(receiver: &CallbackReceiver) -> axum::Router {
    axum::Router::new().nest("/idm-operator/ws/hermod", receiver.router())
}

async fn axum_serve(listener: tokio::net::TcpListener, app: axum::Router) {
    let _ = axum::serve(listener, app).await;
}

fn tracked(id: &str) -> TrackedCommand {
    TrackedCommand::new(
        id,
        Some(format!("ext-{id}")),
        CommandKind::Sign,
        CommandTiming::default(),
        SystemTime::now(),
    )
}

async fn post(s: &Setup, path: &str, body: &str, auth: Option<(&str, &str)>) -> u16 {
    let mut req = HttpRequest::post(format!("{}{path}", s.url))
        .body("application/json", body.as_bytes().to_vec());
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, &Secret::new(p));
    }
    s.http.send(req).await.unwrap().status()
}

const OK_AUTH: Option<(&str, &str)> = Some(("hermod", "s3cret"));

#[tokio::test]
async fn credentials_are_checked() {
    let tracker = Tracker::new();
    let s =
        setup(CallbackReceiver::new(tracker.clone()).basic_auth("hermod", &Secret::new("s3cret")))
            .await;
    let pending = tracker.track(tracked("1"));
    let body = r#"{"commandId":"1","state":"COMPLETED","result":{"ok":true}}"#;
    assert_eq!(post(&s, "/rest/callback/sign", body, None).await, 401);
    assert_eq!(
        post(&s, "/rest/callback/sign", body, Some(("hermod", "wrong"))).await,
        401
    );
    assert_eq!(
        post(&s, "/rest/callback/sign", body, Some(("other", "s3cret"))).await,
        401
    );
    assert_eq!(
        post(&s, "/rest/callback/sign", body, Some(("hermod", "s3cret2"))).await,
        401
    );
    assert_eq!(tracker.outcome("1"), None);
    assert_eq!(post(&s, "/rest/callback/sign", body, OK_AUTH).await, 200);
    let outcome = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .unwrap();
    assert_eq!(outcome.state(), CommandState::Completed);
    assert_eq!(s.receiver.stats().unauthorized, 4);
    // The alive endpoint needs no credentials.
    let alive = s
        .http
        .send(HttpRequest::get(format!("{}/callback/alive", s.url)))
        .await
        .unwrap();
    assert_eq!((alive.status(), alive.body().len()), (200, 0));
}

#[tokio::test]
async fn malformed_duplicate_unknown_and_early_callbacks() {
    let tracker = Tracker::new();
    let s =
        setup(CallbackReceiver::new(tracker.clone()).basic_auth("hermod", &Secret::new("s3cret")))
            .await;
    let pending = tracker.track(tracked("10"));
    for bad in ["{not json", "[]", r#"{"state":"COMPLETED"}"#, ""] {
        assert_eq!(
            post(&s, "/rest/callback/sign", bad, OK_AUTH).await,
            400,
            "{bad}"
        );
    }
    assert_eq!(
        post(
            &s,
            "/rest/callback/wipe",
            r#"{"commandId":"10","state":"COMPLETED"}"#,
            OK_AUTH
        )
        .await,
        404
    );
    // Progress, then the answer by external id, then the same answer again.
    assert_eq!(
        post(
            &s,
            "/rest/callback/sign",
            r#"{"commandId":"10","state":"STARTED"}"#,
            OK_AUTH
        )
        .await,
        200
    );
    let answer = r#"{"externalId":"ext-10","state":"COMPLETED","result":"MIIB"}"#;
    assert_eq!(post(&s, "/rest/callback/sign", answer, OK_AUTH).await, 200);
    assert_eq!(post(&s, "/rest/callback/sign", answer, OK_AUTH).await, 200);
    let Outcome::Answered(cb) = pending.await else {
        panic!()
    };
    assert_eq!(cb.result, Some(serde_json::json!("MIIB")));
    // A callback for a command not yet tracked is kept and applied when tracked.
    assert_eq!(
        post(
            &s,
            "/rest/callback/ping",
            r#"{"commandId":"11","state":"DECLINED"}"#,
            OK_AUTH
        )
        .await,
        200
    );
    assert_eq!(
        tracker.track(tracked("11")).await.state(),
        CommandState::Declined
    );
    let stats = s.receiver.stats();
    assert_eq!(
        (
            stats.malformed,
            stats.progress,
            stats.resolved,
            stats.duplicates,
            stats.early
        ),
        (5, 1, 1, 1, 1)
    );
}

#[tokio::test]
async fn full_early_store_asks_hermod_to_retry() {
    let tracker = Tracker::builder()
        .early_callbacks(1, Duration::from_secs(60))
        .build();
    let s = setup(CallbackReceiver::new(tracker)).await;
    assert_eq!(
        post(
            &s,
            "/rest/callback/sign",
            r#"{"commandId":"1","state":"COMPLETED"}"#,
            None
        )
        .await,
        200
    );
    let resp = s
        .http
        .send(
            HttpRequest::post(format!("{}/rest/callback/sign", s.url)).body(
                "application/json",
                br#"{"commandId":"2","state":"COMPLETED"}"#.to_vec(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.retry_after(), Some(Duration::from_secs(5)));
}
