//! The client's logic through the network seam, no socket: scripted
//! answers (`ScriptedSender`) through `.http_sender(..)` and a manual clock
//! through `.clock(..)`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use audkenni_ciba::Clock as _;
use audkenni_ciba::{
    Acr, AuthRequest, CibaClient, Error, ErrorCode, JwsAlgorithm, ProviderMetadata,
    RequestSigningKey, RetryPolicy, Secret, WaitOptions,
};
use smartid_testkit::{CertSpec, CertUsage, KeyAlgorithm, ManualClock, ScriptedSender, TestCa};

const T0: u64 = 1_800_000_000;
const ISSUER: &str = "https://idp.example:443/sso/oauth2/realms/root/realms/audkenni";
const BC: &str = "https://idp.example/bc-authorize";
const TOKEN: &str = "https://idp.example/access_token";

fn rp_key() -> RequestSigningKey {
    let ca = TestCa::new_root("rp", "rp").unwrap();
    let id = ca
        .issue(&CertSpec::new("rp", CertUsage::Client).key(KeyAlgorithm::EcdsaP256))
        .unwrap();
    RequestSigningKey::from_pem(id.key_pem().as_bytes(), JwsAlgorithm::Es256).unwrap()
}

async fn client(sender: &ScriptedSender, clock: &ManualClock) -> CibaClient {
    CibaClient::builder(ISSUER, "cid")
        .client_secret(Secret::new("s3cret"))
        .signing_key(rp_key())
        .metadata(ProviderMetadata::new(
            ISSUER,
            BC,
            TOKEN,
            "https://idp.example/jwks",
        ))
        .http_sender(sender.clone())
        .clock(clock.clone())
        .build()
        .await
        .unwrap()
}

fn body(request: &audkenni_ciba::HttpRequest) -> String {
    String::from_utf8(request.body_bytes().unwrap_or_default().to_vec()).unwrap()
}

#[tokio::test]
async fn the_poll_loop_runs_on_scripted_answers_and_the_injected_clock() {
    let start = UNIX_EPOCH + Duration::from_secs(T0);
    let clock = ManualClock::jumping(start);
    let sender = ScriptedSender::new();
    sender.push_json(
        200,
        r#"{"auth_req_id":"req-1","expires_in":300,"interval":5}"#,
    );
    sender.push_json(400, r#"{"error":"authorization_pending"}"#);
    sender.push_json(400, r#"{"error":"slow_down"}"#);
    sender.push_response(
        503,
        &[("content-type", "text/html"), ("retry-after", "25")],
        b"<html>maintenance</html>",
    );
    sender.push_json(
        200,
        r#"{"access_token":"at","token_type":"Bearer","id_token":"a.b.c"}"#,
    );
    let client = client(&sender, &clock).await;

    let mut pending = client
        .start(&AuthRequest::new("1234567", Acr::SimAuth))
        .await
        .unwrap();
    assert_eq!(pending.auth_req_id(), "req-1");
    let tokens = client
        .wait(&mut pending, &WaitOptions::new())
        .await
        .unwrap();
    assert_eq!(tokens.unverified_id_token(), "a.b.c");

    // 5 s (the interval) to the first poll, 5 s after authorization_pending,
    // 10 s after slow_down (+SLOW_DOWN_STEP), then the 503's Retry-After of
    // 25 s (longer than the interval and the first backoff); each counted
    // from the previous answer plus the client's margin of 250 ms.
    let sleeps: Vec<u128> = clock.sleeps().iter().map(Duration::as_millis).collect();
    assert_eq!(sleeps, [5250, 5250, 10250, 25250]);
    assert_eq!(clock.now(), start + Duration::from_millis(46_000));

    let requests = sender.requests();
    assert_eq!(requests.len(), 5);
    assert_eq!(requests[0].url(), BC);
    assert!(
        body(&requests[0]).starts_with("request="),
        "{}",
        body(&requests[0])
    );
    for poll in &requests[1..] {
        assert_eq!(poll.url(), TOKEN);
        let form = body(poll);
        assert!(
            form.contains("grant_type=urn%3Aopenid%3Aparams%3Agrant-type%3Aciba"),
            "{form}"
        );
        assert!(form.contains("auth_req_id=req-1"), "{form}");
        assert_eq!(poll.header_value("accept"), Some("application/json"));
        // client_secret_basic: the secret is in the (secret) header, never the form.
        assert!(
            !form.contains("s3cret") && !form.contains("client_secret"),
            "{form}"
        );
    }
    assert_eq!(sender.answers_left(), 0);
}

#[tokio::test]
async fn transient_failures_are_bounded_by_the_retry_policy() {
    let clock = ManualClock::jumping(UNIX_EPOCH + Duration::from_secs(T0));
    let sender = ScriptedSender::new();
    sender.push_json(200, r#"{"auth_req_id":"r","expires_in":600,"interval":1}"#);
    for _ in 0..3 {
        sender.push_response(502, &[], b"bad gateway");
    }
    let client = client(&sender, &clock).await;
    let mut pending = client
        .start(&AuthRequest::new("1234567", Acr::SimAuth))
        .await
        .unwrap();
    let options = WaitOptions::new().retry(RetryPolicy::new(2));
    let err = client.wait(&mut pending, &options).await.unwrap_err();
    assert!(
        matches!(err, Error::PollFailed { attempts: 3, .. }),
        "{err}"
    );
    // 1 s interval, then the backoffs 1 s and 2 s (never under the interval).
    let sleeps: Vec<u64> = clock.sleeps().iter().map(Duration::as_secs).collect();
    assert_eq!(sleeps, [1, 1, 2]);
}

#[tokio::test]
async fn the_deadline_is_read_from_the_injected_clock() {
    let start: SystemTime = UNIX_EPOCH + Duration::from_secs(T0);
    let clock = ManualClock::jumping(start);
    let sender = ScriptedSender::new();
    sender.push_json(200, r#"{"auth_req_id":"r","expires_in":600,"interval":5}"#);
    sender.push_json(400, r#"{"error":"authorization_pending"}"#);
    let client = client(&sender, &clock).await;
    let mut pending = client
        .start(&AuthRequest::new("1234567", Acr::SimAuth))
        .await
        .unwrap();
    let options = WaitOptions::new().timeout_from(clock.now(), Duration::from_secs(8));
    let err = client.wait(&mut pending, &options).await.unwrap_err();
    assert!(matches!(err, Error::DeadlineReached), "{err}");
    assert_eq!(sender.requests().len(), 2, "one poll, then the deadline");

    // A provider error ends the flow typed, as Error::Server.
    sender.push_json(
        400,
        r#"{"error":"access_denied","error_description":"mssp_401"}"#,
    );
    let err = client
        .wait(&mut pending, &WaitOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server(e) if e.code == ErrorCode::AccessDenied),
        "{err}"
    );
}

#[tokio::test]
async fn the_crl_is_fetched_through_the_same_sender_even_over_plain_http() {
    let clock = ManualClock::jumping(UNIX_EPOCH + Duration::from_secs(T0));
    let sender = ScriptedSender::new();
    let client = client(&sender, &clock).await;
    let ca = TestCa::new_root("ca", "ca").unwrap();
    let signer = ca
        .issue(
            &CertSpec::new("signer", CertUsage::Client)
                .crl_distribution_point("http://crl.example/ca.crl"),
        )
        .unwrap();
    sender.push_response(200, &[("content-type", "application/pkix-crl")], b"CRL");
    let crl = client
        .fetch_crl(&signer.certificate().unwrap())
        .await
        .unwrap();
    assert_eq!(crl, b"CRL");
    let requests = sender.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url(), "http://crl.example/ca.crl");

    // A failing distribution point says why, typed.
    sender.push_response(404, &[], b"");
    let err = client
        .fetch_crl(&signer.certificate().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Signature(audkenni_ciba::SignatureError::RevocationUnavailable(m)) if m.contains("404")),
        "{err}"
    );
}

#[tokio::test]
async fn discovery_and_plain_http_endpoints_are_checked_against_the_settings() {
    let sender = ScriptedSender::new();
    sender.push_json(
        200,
        &serde_json::json!({
            "issuer": ISSUER,
            "backchannel_authentication_endpoint": "http://idp.example/bc-authorize",
            "token_endpoint": TOKEN,
            "jwks_uri": "http://idp.example/jwks",
        })
        .to_string(),
    );
    let err = CibaClient::builder(ISSUER, "")
        .signing_key(rp_key())
        .http_sender(sender.clone())
        .build()
        .await
        .unwrap_err();
    // Every problem at once, before anything is sent.
    let Error::InvalidConfig(problems) = &err else {
        panic!("{err}")
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["client_id", "client_secret"], "{err}");
    assert!(sender.requests().is_empty());

    // The discovery document goes through the sender; its plain-http
    // endpoints are refused even though the default client would allow
    // plain http for CRLs.
    let err = CibaClient::builder(ISSUER, "cid")
        .client_secret(Secret::new("s"))
        .signing_key(rp_key())
        .http_sender(sender.clone())
        .build()
        .await
        .unwrap_err();
    let Error::InvalidConfig(problems) = &err else {
        panic!("{err}")
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        ["backchannel_authentication_endpoint", "jwks_uri"],
        "{err}"
    );
    let requests = sender.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].url(),
        format!("{ISSUER}/.well-known/openid-configuration")
    );
}

#[tokio::test]
async fn the_jwks_is_fetched_through_the_sender() {
    let clock = ManualClock::jumping(UNIX_EPOCH + Duration::from_secs(T0));
    let sender = ScriptedSender::new();
    let client = client(&sender, &clock).await;
    sender.push_response(503, &[("content-type", "text/html")], b"<html>down</html>");
    // {"alg":"RS256","kid":"k1"} . {} . "sig"
    let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.c2ln";
    let err = client.verify_id_token_str(token, None).await.unwrap_err();
    let Error::InvalidResponse(answer) = &err else {
        panic!("{err}")
    };
    assert_eq!(answer.status, 503);
    assert_eq!(answer.url, "https://idp.example/jwks");
    let requests = sender.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url(), "https://idp.example/jwks");
}

/// Starts and finishes one flow on scripted answers (one poll, 5.25 s later).
async fn finish_one(client: &CibaClient, sender: &ScriptedSender, id: &str) {
    sender.push_json(
        200,
        &format!(r#"{{"auth_req_id":"{id}","expires_in":300,"interval":5}}"#),
    );
    sender.push_json(
        200,
        r#"{"access_token":"at","token_type":"Bearer","id_token":"a.b.c"}"#,
    );
    let mut pending = client
        .start(&AuthRequest::new("1234567", Acr::SimAuth))
        .await
        .unwrap();
    client
        .wait(&mut pending, &WaitOptions::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn ended_flows_leave_the_private_store_after_15_minutes_pruned_at_most_once_a_minute() {
    let clock = ManualClock::jumping(UNIX_EPOCH + Duration::from_secs(T0));
    let sender = ScriptedSender::new();
    let client = client(&sender, &clock).await;
    finish_one(&client, &sender, "a").await; // created at T0; the first prune
    clock.advance(Duration::from_secs(14 * 60 + 30));
    finish_one(&client, &sender, "b").await; // a prune: "a" is 14:35 old, kept
    assert!(client.resume("a").await.is_ok());
    clock.advance(Duration::from_secs(40));
    // "a" is now past 15 minutes, but the last prune was 45 s ago: none now.
    finish_one(&client, &sender, "c").await;
    assert!(client.resume("a").await.is_ok());
    clock.advance(Duration::from_secs(30));
    // 80 s after the last prune: "a" goes, "b" and "c" stay.
    finish_one(&client, &sender, "d").await;
    assert!(matches!(
        client.resume("a").await,
        Err(Error::InvalidRequest {
            field: "auth_req_id",
            ..
        })
    ));
    assert!(client.resume("b").await.is_ok());
    assert!(client.resume("c").await.is_ok());
}
