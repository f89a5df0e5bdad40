//! dtrust-client's tracing, captured against the simulator over mutual TLS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{T, setup_with};
use dtrust_client::{
    Clock, GeneratedCsr, KeySpec, OrderRequest, PasswordPolicy, SubjectDn, SystemClock,
    WaitOptions, generate_revocation_password,
};
use smartid_testkit::dtrust::{Release, SimConfig};
use smartid_testkit::log_capture::{CapturedEvent, LogCapture};

fn find<'a>(events: &'a [CapturedEvent], message: &str) -> &'a CapturedEvent {
    events
        .iter()
        .find(|e| e.message == message)
        .unwrap_or_else(|| panic!("no event {message:?} in {events:#?}"))
}

#[tokio::test(flavor = "current_thread")]
async fn an_order_logs_submit_polls_issuance_and_revocation_without_its_password() {
    let capture = LogCapture::new();
    let _guard = capture.install();
    let mut cfg = SimConfig::default();
    cfg.release = Release::AfterPolls(2);
    let (_sim, client) = setup_with(T::Rest, cfg).await;
    let subject = SubjectDn::new("device-1.example.de")
        .organization("neXus Technology GmbH")
        .country("DE");
    let generated = GeneratedCsr::generate(None, &subject, &[], KeySpec::EcP256).unwrap();
    let revocation = generate_revocation_password(&PasswordPolicy::default()).unwrap();
    let order = OrderRequest::pkcs10("1003", subject, &generated.csr_der)
        .revocation_password(revocation.clone());
    let pending = client.submit(&order).await.unwrap().into_pending();
    let options = WaitOptions::new()
        .timeout_from(SystemClock.now(), Duration::from_secs(10))
        .poll_interval(Duration::from_millis(10));
    client.wait_for_issuance(&pending, &options).await.unwrap();
    let issued = client.fetch_certificate(&pending).await.unwrap();
    let serial = issued.certificate.serial_hex().to_owned();
    client.revoke(&serial, &revocation, None).await.unwrap();
    let events = capture.events();

    let submitted = find(&events, "order submitted");
    assert_eq!(submitted.level, "INFO");
    assert_eq!(submitted.target, "dtrust_client");
    assert_eq!(submitted.field("client_reference"), Some(order.reference()));
    assert_eq!(
        submitted.field("request_id"),
        Some(pending.request_id.as_str())
    );
    let polls: Vec<_> = events
        .iter()
        .filter(|e| e.message == "status polled")
        .collect();
    assert!(polls.len() >= 2, "{polls:#?}");
    assert_eq!(polls[0].level, "TRACE");
    assert!(
        polls[0]
            .spans
            .iter()
            .any(|s| s.name == "dtrust.wait_for_issuance"),
        "{:?}",
        polls[0]
    );
    assert_eq!(find(&events, "certificate issued").level, "INFO");
    let revoked = find(&events, "certificate revoked");
    assert_eq!(revoked.field("serial"), Some(serial.as_str()));
    // The exchanges are there, each with its status.
    assert!(
        events
            .iter()
            .filter(|e| e.target == "smartid_core::http" && e.message == "response received")
            .count()
            >= 5
    );
    // Never the revocation password nor the CSR's key.
    let pem = generated.private_key_pem();
    let key_b64_piece: String = pem
        .expose_secret()
        .lines()
        .find(|l| !l.starts_with("-----"))
        .unwrap()
        .chars()
        .take(40)
        .collect();
    for e in &events {
        let text = e.text();
        assert!(!text.contains(revocation.expose_secret()), "{text}");
        assert!(!text.contains(&key_b64_piece), "{text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
}
