//! The CIBA client's tracing, captured against the simulator over real TLS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, SystemTime};

use audkenni_ciba::{Acr, AuthRequest, Error, JwsAlgorithm, WaitOptions};
use common::{JumpClock, builder};
use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig, hints};
use smartid_testkit::log_capture::{CapturedEvent, LogCapture};

fn fast() -> SimConfig {
    SimConfig::with_answer_after(Duration::from_millis(1500)).interval(1)
}

fn find<'a>(events: &'a [CapturedEvent], message: &str) -> &'a CapturedEvent {
    events
        .iter()
        .find(|e| e.message == message)
        .unwrap_or_else(|| panic!("no event {message:?} in {events:#?}"))
}

#[tokio::test(flavor = "current_thread")]
async fn a_flow_logs_its_id_masked_hint_requests_and_outcome() {
    let capture = LogCapture::new();
    let _guard = capture.install();
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let mut pending = client
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
        .await
        .unwrap();
    let done = client
        .finish(&mut pending, &WaitOptions::default())
        .await
        .unwrap();
    let events = capture.events();

    let started = find(&events, "CIBA flow started: bc-authorize accepted");
    assert_eq!(started.level, "INFO");
    assert_eq!(started.target, "audkenni_ciba");
    let flow = started.field("flow").unwrap().to_owned();
    assert!(flow.starts_with("ciba-") && flow.len() == 17, "{flow}");
    assert_eq!(started.field("login_hint"), Some("77*****"));

    let ended = find(&events, "CIBA flow ended: the user answered");
    assert_eq!(ended.level, "INFO");
    assert_eq!(ended.field("flow"), Some(flow.as_str()));
    assert_eq!(ended.field("outcome"), Some("tokens"));

    let kennitala = done
        .id_token
        .national_register_id
        .as_ref()
        .unwrap()
        .as_str();
    let verified = find(&events, "id_token verified");
    assert_eq!(
        verified.field("national_register_id"),
        Some(format!("{}-****", &kennitala[..6]).as_str())
    );

    // Each exchange: method, host and path in the seam's span, and status.
    let bc = events
        .iter()
        .find(|e| {
            e.message == "response received"
                && e.field("path")
                    .is_some_and(|p| p.ends_with("/bc-authorize"))
        })
        .unwrap_or_else(|| panic!("no bc-authorize exchange in {events:#?}"));
    assert_eq!(bc.level, "DEBUG");
    // Once per exchange, though the client's Arc<dyn HttpSend> wraps an
    // HttpClient that traces too.
    let exchanges = events
        .iter()
        .filter(|e| {
            e.message == "response received"
                && e.field("path")
                    .is_some_and(|p| p.ends_with("/bc-authorize"))
        })
        .count();
    assert_eq!(exchanges, 1, "{events:#?}");
    assert_eq!(
        bc.spans.iter().filter(|s| s.name == "http").count(),
        1,
        "{bc:?}"
    );
    assert_eq!(bc.target, "smartid_core::http");
    assert_eq!(bc.field("method"), Some("POST"));
    assert_eq!(bc.field("status"), Some("200"));
    assert!(
        bc.field("host").unwrap().starts_with("localhost:"),
        "{bc:?}"
    );
    assert!(bc.field("elapsed_ms").is_some());
    assert!(
        events
            .iter()
            .any(|e| e.message == "polling the token endpoint" && e.level == "TRACE")
    );

    // No secret and no whole identifier anywhere.
    let secrets = [
        pending.auth_req_id().to_owned(),
        sim.client_secret().to_owned(),
        done.tokens.access_token().expose_secret().to_owned(),
        done.tokens.unverified_id_token().to_owned(),
        hints::APPROVES.to_owned(),
        kennitala.to_owned(),
    ];
    for e in &events {
        let text = e.text();
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret in {text}");
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn slow_down_and_the_deadline_are_logged() {
    let capture = LogCapture::new();
    let _guard = capture.install();
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256)
        .clock(JumpClock::default())
        .build()
        .await
        .unwrap();
    let mut pending = client
        .start(&AuthRequest::new(hints::NEVER_ANSWERS, Acr::SimAuth))
        .await
        .unwrap();
    let deadline = SystemTime::now() + Duration::from_secs(20);
    let err = client
        .wait(&mut pending, &WaitOptions::default().deadline(deadline))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DeadlineReached), "{err}");
    let events = capture.events();
    let slow = find(&events, "slow_down: the poll interval grows");
    assert_eq!(slow.level, "DEBUG");
    assert_eq!(slow.field("interval_s"), Some("6"));
    assert!(events.iter().any(|e| e.message == "next poll scheduled"));
}
