//! The callback receiver over TLS: credentials, body limits, malformed
//! bodies, duplicates, kinds, unknown and early callbacks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use hermod_client::{
    CallbackReceiver, CommandKind, CommandState, CommandTiming, Error, Outcome, TrackedCommand,
    Tracker,
};
use smartid_core::{HttpClient, HttpRequest, HttpSettings, Secret, TrustRoots};
use smartid_testkit::{ClientAuth, TestPki, TlsFront};

/// Stores the command as tracked, then returns the future of its outcome
/// (no caller deadline).
async fn track(
    tracker: &Tracker,
    command: TrackedCommand,
) -> impl std::future::Future<Output = Outcome> + Send + 'static {
    tracker.register(command.clone()).await.unwrap();
    let pending = tracker.track(command, &hermod_client::WaitOptions::new());
    async move {
        match pending.await {
            Ok(outcome) => outcome,
            Err(e) => panic!("no deadline was set, yet: {e}"),
        }
    }
}

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
    tracked_as(id, CommandKind::Sign)
}

fn tracked_as(id: &str, kind: CommandKind) -> TrackedCommand {
    TrackedCommand::new(
        id,
        Some(format!("ext-{id}")),
        kind,
        CommandTiming::default(),
        SystemTime::now(),
    )
}

fn receiver(tracker: &Tracker) -> CallbackReceiver {
    CallbackReceiver::new(tracker.clone(), "hermod", &Secret::new("s3cret")).unwrap()
}

async fn post(s: &Setup, path: &str, body: &str, auth: Option<(&str, &str)>) -> u16 {
    let mut req = HttpRequest::post(format!("{}{path}", s.url))
        .body("application/json", body.as_bytes().to_vec());
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, &Secret::new(p));
    }
    s.http.send(req).await.unwrap().status()
}

/// For bodies the receiver refuses without reading: the status, or `None`
/// when the server closed the connection while the client was still sending
/// (a race the client may lose; the counters say why it was refused).
async fn post_refused(
    s: &Setup,
    path: &str,
    body: &str,
    auth: Option<(&str, &str)>,
) -> Option<u16> {
    let mut req = HttpRequest::post(format!("{}{path}", s.url))
        .body("application/json", body.as_bytes().to_vec());
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, &Secret::new(p));
    }
    match s.http.send(req).await {
        Ok(resp) => Some(resp.status()),
        Err(smartid_core::Error::Transport { .. }) => None,
        Err(e) => panic!("{e}"),
    }
}

const OK_AUTH: Option<(&str, &str)> = Some(("hermod", "s3cret"));

#[tokio::test]
async fn credentials_are_checked() {
    let tracker = Tracker::new();
    let s = setup(receiver(&tracker)).await;
    let pending = track(&tracker, tracked("1")).await;
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
    assert_eq!(tracker.outcome("1").await.unwrap(), None);
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
    let s = setup(receiver(&tracker)).await;
    let pending = track(&tracker, tracked("10")).await;
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
    // Progress, then the answer by external id, then the same answer again
    // (on both path layouts).
    assert_eq!(
        post(
            &s,
            "/callback/sign",
            r#"{"commandId":"10","state":"STARTED"}"#,
            OK_AUTH
        )
        .await,
        200
    );
    let answer = r#"{"externalId":"ext-10","state":"COMPLETED","result":"MIIB"}"#;
    assert_eq!(post(&s, "/callback/sign", answer, OK_AUTH).await, 200);
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
        track(&tracker, tracked_as("11", CommandKind::Ping))
            .await
            .await
            .state(),
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
    let s = setup(receiver(&tracker)).await;
    assert_eq!(
        post(
            &s,
            "/callback/sign",
            r#"{"commandId":"1","state":"COMPLETED"}"#,
            OK_AUTH
        )
        .await,
        200
    );
    let resp = s
        .http
        .send(
            HttpRequest::post(format!("{}/callback/sign", s.url))
                .body(
                    "application/json",
                    br#"{"commandId":"2","state":"COMPLETED"}"#.to_vec(),
                )
                .basic_auth("hermod", &Secret::new("s3cret")),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.retry_after(), Some(Duration::from_secs(5)));
}

#[test]
fn credentials_are_required_to_build_a_receiver() {
    let t = Tracker::new();
    let e = CallbackReceiver::builder(t.clone()).build().unwrap_err();
    assert!(matches!(&e, Error::InvalidConfig(p) if p[0].field == "callback_basic_auth"));
    assert!(e.to_string().contains("dangerous"), "{e}");
    // Every problem at once.
    let e = CallbackReceiver::builder(t.clone())
        .basic_auth("a:b", &Secret::new(""))
        .body_limit(0)
        .build()
        .unwrap_err();
    let fields: Vec<&str> = e
        .config_problems()
        .iter()
        .map(|p| p.field.as_str())
        .collect();
    assert_eq!(
        fields,
        ["body_limit", "callback_basic_auth", "callback_basic_auth"],
        "{e}"
    );
    for (user, pw) in [("", "pw"), ("hermod", ""), ("a:b", "pw")] {
        let e = CallbackReceiver::new(t.clone(), user, &Secret::new(pw)).unwrap_err();
        assert!(matches!(e, Error::InvalidConfig(_)), "{user:?} {pw:?}");
        assert!(!e.to_string().contains("pw"), "{e}");
    }
    assert!(
        CallbackReceiver::builder(t.clone())
            .dangerous()
            .allow_unauthenticated()
            .build()
            .is_ok()
    );
    let r = CallbackReceiver::new(t, "hermod", &Secret::new("s3cret-pw")).unwrap();
    assert!(!format!("{r:?}").contains("s3cret-pw"));
}

#[tokio::test]
async fn forged_early_callback_does_not_resolve_a_later_command() {
    // With credentials: the forger gets 401 and nothing is kept.
    let tracker = Tracker::new();
    let s = setup(receiver(&tracker)).await;
    let forged = r#"{"commandId":"688","state":"COMPLETED","result":{"signature":"forged"}}"#;
    assert_eq!(post(&s, "/callback/sign", forged, None).await, 401);
    assert_eq!(tracker.early_usage(), (0, 0));
    let pending = track(&tracker, tracked("688")).await;
    let genuine = r#"{"commandId":"688","state":"COMPLETED","result":{"signature":"genuine"}}"#;
    assert_eq!(post(&s, "/callback/sign", genuine, OK_AUTH).await, 200);
    let Outcome::Answered(cb) = pending.await else {
        panic!()
    };
    assert_eq!(cb.result.unwrap()["signature"], "genuine");

    // A dangerously unauthenticated receiver never keeps an early callback:
    // the forgery gets 503, and the genuine callback resolves the command.
    let tracker = Tracker::new();
    let s = setup(
        CallbackReceiver::builder(tracker.clone())
            .dangerous()
            .allow_unauthenticated()
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(post(&s, "/callback/sign", forged, None).await, 503);
    assert_eq!(tracker.early_usage(), (0, 0));
    let pending = track(&tracker, tracked("688")).await;
    assert_eq!(post(&s, "/callback/sign", genuine, None).await, 200);
    let Outcome::Answered(cb) = pending.await else {
        panic!()
    };
    assert_eq!(cb.result.unwrap()["signature"], "genuine");
}

#[tokio::test]
async fn callback_kind_must_match_the_command() {
    let tracker = Tracker::new();
    let s = setup(receiver(&tracker)).await;
    let pending = track(&tracker, tracked_as("20", CommandKind::Provision)).await;
    let body = r#"{"commandId":"20","state":"COMPLETED","result":"eyJ"}"#;
    assert_eq!(post(&s, "/callback/ping", body, OK_AUTH).await, 400);
    assert_eq!(tracker.outcome("20").await.unwrap(), None);
    assert_eq!(s.receiver.stats().wrong_kind, 1);
    assert_eq!(post(&s, "/callback/provision", body, OK_AUTH).await, 200);
    assert_eq!(pending.await.state(), CommandState::Completed);
}

#[tokio::test]
async fn big_bodies_are_refused_before_parsing() {
    let tracker = Tracker::new();
    let s = setup(receiver(&tracker)).await;
    // 1.9 MB of JSON that would parse: refused with 413, never parsed.
    let big = format!(
        r#"{{"commandId":"1","state":"COMPLETED","result":"{}"}}"#,
        "A".repeat(1_900_000)
    );
    assert!(matches!(
        post_refused(&s, "/callback/sign", &big, OK_AUTH).await,
        Some(413) | None
    ));
    // Without credentials it is a 401 first: the body is not looked at.
    assert!(matches!(
        post_refused(&s, "/callback/sign", &big, None).await,
        Some(401) | None
    ));
    let stats = s.receiver.stats();
    assert_eq!(
        (
            stats.too_large,
            stats.unauthorized,
            stats.malformed,
            stats.early
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(tracker.early_usage(), (0, 0));
    // A body just under 64 KiB is fine; the limit is configurable.
    let ok = format!(
        r#"{{"commandId":"2","state":"COMPLETED","result":"{}"}}"#,
        "A".repeat(60 * 1024)
    );
    assert_eq!(post(&s, "/callback/sign", &ok, OK_AUTH).await, 200);
    let small = setup(
        CallbackReceiver::builder(Tracker::new())
            .basic_auth("hermod", &Secret::new("s3cret"))
            .body_limit(1024)
            .build()
            .unwrap(),
    )
    .await;
    assert!(matches!(
        post_refused(&small, "/callback/sign", &ok, OK_AUTH).await,
        Some(413) | None
    ));
    assert_eq!(small.receiver.stats().too_large, 1);
    // The host application's own (larger) limit does not widen ours, and a
    // chunked body without Content-Length is cut at the limit too.
    let r = receiver(&Tracker::new());
    let response = tower_call(
        axum::Router::new()
            .nest("/cb", r.router())
            .layer(axum::extract::DefaultBodyLimit::max(10 * 1024 * 1024)),
        &format!(
            r#"{{"commandId":"3","state":"COMPLETED","result":"{}"}}"#,
            "A".repeat(1_900_000)
        ),
    )
    .await;
    assert_eq!(response, 413);
    assert_eq!(r.stats().too_large, 1);
    assert_eq!(r.stats().malformed, 0);
}

async fn tower_call(app: axum::Router, body: &str) -> u16 {
    use base64::Engine as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum_serve(listener, app).await });
    let auth = base64::engine::general_purpose::STANDARD.encode("hermod:s3cret");
    let request = format!(
        "POST /cb/callback/sign HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Sends only the request head (a large declared body that never comes) and
/// returns the status, or 0 when no answer came within 2 s.
async fn head_only(app: axum::Router, auth: Option<&str>) -> u16 {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum_serve(listener, app).await });
    let auth = auth
        .map(|a| {
            format!(
                "Authorization: Basic {}\r\n",
                base64::engine::general_purpose::STANDARD.encode(a)
            )
        })
        .unwrap_or_default();
    let head = format!(
        "POST /cb/callback/sign HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: 1900000\r\n\r\n"
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 512];
    match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await {
        Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n])
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

#[tokio::test]
async fn credentials_and_size_are_judged_before_the_body_arrives() {
    let r = receiver(&Tracker::new());
    let app = || axum::Router::new().nest("/cb", r.router());
    // No credentials: 401 without waiting for the 1.9 MB that never comes.
    assert_eq!(head_only(app(), None).await, 401);
    // Right credentials, declared size over the limit: 413 at once.
    assert_eq!(head_only(app(), Some("hermod:s3cret")).await, 413);
    assert_eq!(r.stats().unauthorized, 1);
    assert_eq!(r.stats().too_large, 1);
}
