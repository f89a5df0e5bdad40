//! The client's logic on scripted answers, through the builder's
//! `.http_sender(..)` and `.clock(..)`: no socket, no sleeping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use dtrust_client::{
    Clock, DtrustClient, DtrustConfig, Error, Method, OrderRequest, PendingOrder, RequestStatus,
    RetryPolicy, RevocationReason, Secret, SubjectDn, WaitOptions,
};
use smartid_testkit::{ManualClock, ScriptedSender, TestPki};

const BASE: &str = "https://dtrust.test/rest";

fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn client(sender: &ScriptedSender, clock: &ManualClock) -> DtrustClient {
    let identity = TestPki::generate()
        .unwrap()
        .client("c")
        .unwrap()
        .to_client_identity()
        .unwrap();
    let config = DtrustConfig::rest(BASE)
        .client_identity(identity)
        .http_sender(sender.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    DtrustClient::new(config).unwrap()
}

fn order() -> OrderRequest {
    OrderRequest::pkcs12("1003", SubjectDn::new("seam.example.de"))
        .revocation_password(Secret::new("Rv-Seam-Password-1!"))
}

fn options(clock: &ManualClock) -> WaitOptions {
    WaitOptions::new()
        .timeout_from(clock.now(), Duration::from_secs(3600))
        .poll_interval(Duration::from_secs(60))
}

const PENDING: &str = r#"{"requestId":"R-7","status":"PENDING"}"#;
const ISSUED: &str = r#"{"requestId":"R-7","status":"ISSUED"}"#;

#[tokio::test]
async fn a_lost_submit_answer_whose_lookup_echoes_the_reference_is_adopted() {
    let sender = ScriptedSender::new();
    let clock = ManualClock::jumping(start());
    let client = client(&sender, &clock);
    let order = order();
    sender.push_response(
        502,
        &[("content-type", "text/html")],
        b"<html>Bad Gateway</html>",
    );
    sender.push_json(
        200,
        &format!(
            r#"{{"requests":[{{"requestId":"R-7","status":"PENDING","clientReference":"{}"}}]}}"#,
            order.reference()
        ),
    );
    let submission = client.submit(&order).await.unwrap();
    assert_eq!(submission.request_id(), "R-7");
    assert_eq!(submission.pending().submitted_at_unix, Some(1_800_000_000));
    let requests = sender.requests();
    assert_eq!(requests.len(), 2, "submit, look-up, and no second order");
    assert_eq!(requests[0].method(), Method::Post);
    assert_eq!(requests[0].url(), format!("{BASE}/requests"));
    assert_eq!(requests[1].method(), Method::Get);
    assert!(
        requests[1]
            .url()
            .starts_with(&format!("{BASE}/requests?clientReference=")),
        "{}",
        requests[1].url()
    );
}

#[tokio::test]
async fn a_lost_submit_answer_whose_lookup_names_no_reference_is_not_adopted() {
    let sender = ScriptedSender::new();
    let clock = ManualClock::jumping(start());
    let client = client(&sender, &clock);
    sender.push_response(504, &[], b"gateway timeout");
    sender.push_json(
        200,
        r#"{"requests":[{"requestId":"R-7","status":"PENDING"}]}"#,
    );
    let e = client.submit(&order()).await.unwrap_err();
    assert!(matches!(e, Error::SubmitOutcomeUnknown { .. }), "{e}");
    assert_eq!(sender.requests().len(), 2);
}

#[tokio::test]
async fn transient_failures_are_retried_with_retry_after_honoured() {
    let sender = ScriptedSender::new();
    let clock = ManualClock::jumping(start());
    let client = client(&sender, &clock);
    for _ in 0..2 {
        sender.push_response(503, &[("Retry-After", "7")], b"<html>busy</html>");
    }
    sender.push_json(200, ISSUED);
    let report = client
        .wait_for_issuance(&PendingOrder::new("R-7", "ref"), &options(&clock))
        .await
        .unwrap();
    assert_eq!(report.status, RequestStatus::Issued);
    assert_eq!(clock.sleeps(), [Duration::from_secs(7); 2]);
    assert_eq!(sender.requests().len(), 3);
}

#[tokio::test]
async fn a_pending_answer_resets_the_failure_count_and_the_interval_applies() {
    let sender = ScriptedSender::new();
    let clock = ManualClock::jumping(start());
    let client = client(&sender, &clock);
    sender.push_response(503, &[], b"busy");
    sender.push_json(200, PENDING);
    sender.push_response(503, &[], b"busy");
    sender.push_json(200, ISSUED);
    client
        .wait_for_issuance(
            &PendingOrder::new("R-7", "ref"),
            &options(&clock).retry(RetryPolicy::new(1)),
        )
        .await
        .unwrap();
    let s = Duration::from_secs;
    assert_eq!(clock.sleeps(), [s(1), s(60), s(1)]);
}

#[tokio::test]
async fn failures_past_the_retry_budget_end_with_the_error() {
    let sender = ScriptedSender::new();
    let clock = ManualClock::jumping(start());
    let client = client(&sender, &clock);
    sender.push_error(smartid_core::Error::Connect {
        url: format!("{BASE}/requests/R-7"),
        message: "connection refused".into(),
    });
    for _ in 0..2 {
        sender.push_response(503, &[], b"<html>maintenance</html>");
    }
    sender.push_json(200, ISSUED); // never reached
    let options = options(&clock).retry(
        RetryPolicy::new(2).backoff_between(Duration::from_secs(2), Duration::from_secs(30)),
    );
    let e = client
        .wait_for_issuance(&PendingOrder::new("R-7", "ref"), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidResponse(ref a) if a.status == 503 && a.body.contains("maintenance")),
        "{e}"
    );
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(2), Duration::from_secs(4)]
    );
    assert_eq!(sender.answers_left(), 1);
}

#[tokio::test]
async fn the_deadline_cuts_the_backoff_and_ends_the_wait() {
    let sender = ScriptedSender::new();
    let clock = ManualClock::jumping(start());
    let client = client(&sender, &clock);
    for _ in 0..3 {
        sender.push_json(200, PENDING);
    }
    let options = WaitOptions::new()
        .timeout_from(clock.now(), Duration::from_secs(100))
        .poll_interval(Duration::from_secs(60));
    let e = client
        .wait_for_issuance(&PendingOrder::new("R-7", "ref"), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::DeadlineReached { ref request_id, .. } if request_id == "R-7"),
        "{e}"
    );
    let s = Duration::from_secs;
    assert_eq!(clock.sleeps(), [s(60), s(40)]);
}

#[tokio::test]
async fn a_wait_without_a_deadline_is_refused_before_sending() {
    let sender = ScriptedSender::new();
    let clock = ManualClock::jumping(start());
    let client = client(&sender, &clock);
    let e = client
        .wait_for_issuance(&PendingOrder::new("R-7", "ref"), &WaitOptions::new())
        .await
        .unwrap_err();
    match e {
        Error::InvalidConfig(problems) => {
            assert_eq!(problems[0].field, "WaitOptions::deadline");
        }
        other => panic!("{other}"),
    }
    assert!(sender.requests().is_empty());
}

#[tokio::test]
async fn revocation_sends_serial_and_password_and_redacts_an_echo() {
    let sender = ScriptedSender::new();
    let clock = ManualClock::jumping(start());
    let client = client(&sender, &clock);
    let password = Secret::new("Rv-Seam-Password-1!");
    sender.push_json(200, r#"{"revoked":true}"#);
    client
        .revoke("0a:1b", &password, Some(RevocationReason::Superseded))
        .await
        .unwrap();
    let requests = sender.requests();
    assert_eq!(
        requests[0].url(),
        format!("{BASE}/certificates/0A1B/revocation")
    );
    let body: serde_json::Value =
        serde_json::from_slice(requests[0].body_bytes().unwrap()).unwrap();
    assert_eq!(body["revocationPassword"], "Rv-Seam-Password-1!");
    assert_eq!(body["reason"], "superseded");

    // A server that quotes the wrong password back: never in the error.
    sender.push_json(
        403,
        r#"{"errorCode":"WRONG_REVOCATION_PASSWORD","message":"Rv-Seam-Password-1! is wrong"}"#,
    );
    let e = client.revoke("0A1B", &password, None).await.unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(matches!(e, Error::Server(_)), "{text}");
    assert!(!text.contains("Rv-Seam-Password-1!"), "{text}");
    // An unreadable answer quoting it: redacted before the cut.
    sender.push_response(200, &[], b"<html>Rv-Seam-Password-1!</html>");
    let e = client.revoke("0A1B", &password, None).await.unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(matches!(e, Error::InvalidResponse(_)), "{text}");
    assert!(!text.contains("Rv-Seam-Password-1!"), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
}

#[tokio::test]
async fn a_journal_submit_waits_for_a_busy_pool_only_within_its_lease() {
    use dtrust_client::OrderJournal;
    use smartid_core::store::MemoryStore;
    let sender = ScriptedSender::new();
    let clock = ManualClock::jumping(start());
    let client = client(&sender, &clock);
    // Every connection busy: the submit fails without being sent.
    sender.push_error(smartid_core::Error::PoolBusy {
        url: format!("{BASE}/requests"),
        max_connections: 32,
        waited: Duration::from_secs(9),
    });
    let journal = OrderJournal::builder(client, std::sync::Arc::new(MemoryStore::new()))
        .lease_length(Duration::from_secs(40))
        .retry(RetryPolicy::new(0))
        .build()
        .unwrap();
    let order = order();
    let e = journal.order(&order, &options(&clock)).await.unwrap_err();
    assert!(
        matches!(e, Error::Http(smartid_core::Error::PoolBusy { .. })),
        "{e:?}"
    );
    let requests = sender.requests();
    let submit = requests
        .iter()
        .find(|r| r.method() == Method::Post)
        .expect("a submit");
    // The lease (40 s) less the request timeout (30 s) and a second: after
    // that wait another replica may take the order over.
    assert_eq!(submit.pool_timeout_value(), Some(Duration::from_secs(9)));
    // Nothing was sent, so nothing is unknown: the order stays journalled,
    // to be looked up and sent again.
    let entry = journal.entry(order.reference()).await.unwrap();
    assert!(entry.is_some(), "the order left the journal");
}
