//! The send path without a socket: the client's logic through
//! `.http_sender(ScriptedSender)`, with Hermod's documented answer, its
//! error answers and transport failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use hermod_client::{
    Command, CommandKind, CommandState, Error, HermodClient, HermodConfig, HttpSettings, Secret,
    SignParams, ToBeSigned,
};
use smartid_testkit::{ManualClock, ScriptedSender};

/// Nexus' documented synchronous answer (Personal Desktop client signing example).
const ANSWER: &str = include_str!("fixtures/command-answer.json");
const URL: &str = "https://hermod.example.com:20400/hermod/rest/command";

fn client(sender: &ScriptedSender, clock: ManualClock) -> HermodClient {
    let config = HermodConfig::builder(URL)
        .client("prime1", Secret::new("079b6a64d75b4e95"))
        .build()
        .unwrap();
    HermodClient::builder(config)
        .http_sender(sender.clone())
        .clock(clock)
        .build()
        .unwrap()
}

fn sign() -> Command {
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
        )),
    )
    .external_id("order-17")
}

#[tokio::test]
async fn a_sign_command_is_sent_and_the_documented_answer_read() {
    let sender = ScriptedSender::new();
    sender.push_json(200, ANSWER);
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let clock = ManualClock::new(start);
    let sent = client(&sender, clock).send(&sign()).await.unwrap();

    // What went out: one POST to the sign path with the key and the documented shape.
    let requests = sender.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.url(), format!("{URL}/sign"));
    assert_eq!(
        request.header_value("content-type"),
        Some("application/json")
    );
    assert!(!format!("{request:?}").contains("079b6a64d75b4e95"));
    let body: serde_json::Value = serde_json::from_slice(request.body_bytes().unwrap()).unwrap();
    assert_eq!(body["commandHeader"]["externalId"], "order-17");
    let params = &body["signCommand"]["params"];
    assert_eq!(params["tbs"][0]["content_encoding"], "base64");
    assert_eq!(params["description"][0]["key"], "requester");

    // What came back: Nexus' sample as it is (plain-http message box included).
    assert_eq!(sent.answer.command_id, "688");
    assert_eq!(sent.answer.state, CommandState::InProgress);
    assert!(sent.answer.desktop_link().unwrap().is_plain_http());
    assert_eq!(sent.tracked.command_id, "688");
    assert_eq!(sent.tracked.kind, CommandKind::Sign);
    assert_eq!(sent.tracked.external_id.as_deref(), Some("order-17"));
    // Stamped with the injected clock, not the system time.
    assert_eq!(sent.tracked.sent_at, start);
}

#[tokio::test]
async fn hermods_error_answer_is_parsed_into_the_server_error() {
    let sender = ScriptedSender::new();
    sender.push_json(
        400,
        r#"{"code":"INVALID_COMMAND","message":"tbs is missing","field":"tbs"}"#,
    );
    sender.push_json(401, r#"{"message":"invalid X-Api-Key"}"#);
    sender.push_response(502, &[], b"<html>Bad Gateway</html>");
    sender.push_json(200, r#"{"state":"IN_PROGRESS"}"#);
    let c = client(&sender, ManualClock::jumping_from_now());

    match c.send(&sign()).await.unwrap_err() {
        Error::Server(e) => {
            assert_eq!(e.status, 400);
            assert_eq!(e.code.as_deref(), Some("INVALID_COMMAND"));
            assert_eq!(e.message.as_deref(), Some("tbs is missing"));
            assert!(e.body.contains(r#""field":"tbs""#), "{}", e.body);
            assert_eq!(e.url, format!("{URL}/sign"));
        }
        other => panic!("{other:?}"),
    }
    let e = c.send(&sign()).await.unwrap_err();
    match &e {
        Error::Unauthorized { client_id, error } => {
            assert_eq!(client_id, "prime1");
            assert_eq!(error.status, 401);
            assert_eq!(error.message.as_deref(), Some("invalid X-Api-Key"));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("base64(client-id:key)"), "{e}");
    match c.send(&Command::ping()).await.unwrap_err() {
        Error::Server(e) => {
            assert_eq!((e.status, e.code, e.message), (502, None, None));
            assert!(e.body.contains("Bad Gateway"));
        }
        other => panic!("{other:?}"),
    }
    // A 2xx answer that is not a command answer.
    match c.send(&Command::ping()).await.unwrap_err() {
        Error::InvalidResponse(a) => {
            assert_eq!(a.status, 200);
            assert!(a.expected.contains("commandId"), "{a}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_transport_error_is_an_http_error_and_not_retried() {
    let sender = ScriptedSender::new();
    sender.push_error(smartid_core::Error::Connect {
        url: format!("{URL}/sign"),
        message: "connection reset".into(),
    });
    sender.push_json(200, ANSWER);
    let c = client(&sender, ManualClock::jumping_from_now());
    let e = c.send(&sign()).await.unwrap_err();
    assert!(
        matches!(&e, Error::Http(smartid_core::Error::Connect { message, .. }) if message == "connection reset"),
        "{e:?}"
    );
    // A command is not idempotent: one request, the second answer unused.
    assert_eq!(sender.requests().len(), 1);
    assert_eq!(sender.answers_left(), 1);
}

#[test]
fn the_client_builder_checks_the_url_against_its_http_settings() {
    let mut http = HttpSettings::new();
    http.dangerous().allow_plain_http();
    let config = HermodConfig::builder("http://127.0.0.1:1/hermod/")
        .client("prime1", Secret::new("k"))
        .http_settings(http)
        .build()
        .unwrap();
    let e = HermodClient::builder(config.clone())
        .http_settings(HttpSettings::new())
        .build()
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidConfig(p) if p[0].field == "base_url"),
        "{e:?}"
    );
    assert!(HermodClient::new(config).is_ok());
}
