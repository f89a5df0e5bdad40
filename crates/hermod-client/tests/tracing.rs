//! hermod-client's tracing, captured: a command sent to the simulator over
//! TLS, its callback received and delivered, a forged callback refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{CB_PASSWORD, CB_USER, EnvOptions, KEY, env};
use hermod_client::{Command, Outcome, SignParams, ToBeSigned};
use smartid_core::{HttpClient, HttpRequest, Secret};
use smartid_testkit::log_capture::{CapturedEvent, LogCapture};

fn find<'a>(events: &'a [CapturedEvent], message: &str) -> &'a CapturedEvent {
    events
        .iter()
        .find(|e| e.message == message)
        .unwrap_or_else(|| panic!("no event {message:?} in {events:#?}"))
}

#[tokio::test(flavor = "current_thread")]
async fn send_callback_and_refusal_are_logged_without_credentials() {
    let capture = LogCapture::new();
    let _guard = capture.install();
    let e = env(EnvOptions::default()).await;
    let command = Command::sign(SignParams::new(vec![ToBeSigned::text(
        "doc1", "Contract", "I agree",
    )]))
    .external_id("ext-trace-1");
    let sent = e.client.send(&command).await.unwrap();
    let command_id = sent.answer.command_id.clone();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        common::track(&e.tracker, sent.tracked).await,
    )
    .await
    .unwrap();
    assert!(matches!(outcome, Outcome::Answered(_)), "{outcome:?}");

    // A forged callback: wrong password.
    let forged_password = "not-the-callback-password";
    let http = HttpClient::new(&e.trust, "test").unwrap();
    let status = http
        .send(
            HttpRequest::post(format!("{}/callback/sign", e.receiver_front.url()))
                .body("application/json", b"{}".to_vec())
                .basic_auth(CB_USER, &Secret::new(forged_password)),
        )
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    let events = capture.events();

    let sent_event = find(&events, "command sent");
    assert_eq!(sent_event.level, "INFO");
    assert_eq!(sent_event.target, "hermod_client");
    assert_eq!(sent_event.field("command_id"), Some(command_id.as_str()));
    assert_eq!(sent_event.field("external_id"), Some("ext-trace-1"));
    assert_eq!(sent_event.field("kind"), Some("Sign"));

    let received = find(&events, "callback received");
    assert_eq!(received.level, "DEBUG");
    assert_eq!(received.field("command_id"), Some(command_id.as_str()));
    assert_eq!(received.field("authenticated"), Some("true"));
    let delivered = find(
        &events,
        "callback delivered: the command's outcome is stored",
    );
    assert_eq!(delivered.level, "INFO");
    assert_eq!(delivered.field("command_id"), Some(command_id.as_str()));

    let refused = find(&events, "callback refused: wrong or missing credentials");
    assert_eq!(refused.level, "WARN");

    // The command's exchange went through the seam.
    assert!(events.iter().any(|ev| {
        ev.target == "smartid_core::http"
            && ev.field("method") == Some("POST")
            && ev.field("status").is_some()
    }));

    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let secrets = [
        KEY.to_owned(),
        b64(&format!("{}:{KEY}", common::CLIENT_ID)),
        CB_PASSWORD.to_owned(),
        b64(&format!("{CB_USER}:{CB_PASSWORD}")),
        forged_password.to_owned(),
        b64(&format!("{CB_USER}:{forged_password}")),
    ];
    for ev in &events {
        let text = ev.text();
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret in {text}");
        }
        assert!(
            !text.to_ascii_lowercase().contains("authorization"),
            "{text}"
        );
    }
}
