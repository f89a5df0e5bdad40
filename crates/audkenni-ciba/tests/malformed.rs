//! Malformed provider answers (wiremock over plain http on 127.0.0.1):
//! each gives a clear, typed error, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use audkenni_ciba::{
    Acr, AuthRequest, CibaClient, Error, IdTokenError, JwsAlgorithm, ProviderMetadata,
    RequestSigningKey, WaitOptions,
};
use common::JumpClock;
use smartid_core::{HttpSettings, Secret};
use smartid_testkit::{CertSpec, CertUsage, KeyAlgorithm, TestCa};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn rp_key() -> RequestSigningKey {
    let ca = TestCa::new_root("rp", "rp").unwrap();
    let id = ca
        .issue(&CertSpec::new("rp", CertUsage::Client).key(KeyAlgorithm::EcdsaP256))
        .unwrap();
    RequestSigningKey::from_pem(id.key_pem().as_bytes(), JwsAlgorithm::Es256).unwrap()
}

fn settings() -> HttpSettings {
    let mut s = HttpSettings::new()
        .max_response_bytes(64 * 1024)
        .request_timeout(Duration::from_secs(5));
    s.dangerous().allow_plain_http();
    s
}

async fn client(server: &MockServer) -> CibaClient {
    let base = server.uri();
    CibaClient::builder(&base, "cid")
        .client_secret(Secret::new("secret"))
        .signing_key(rp_key())
        .http_settings(settings())
        .clock(JumpClock::default())
        .metadata(ProviderMetadata::new(
            &base,
            format!("{base}/bc-authorize"),
            format!("{base}/access_token"),
            format!("{base}/jwks"),
        ))
        .build()
        .await
        .unwrap()
}

fn request() -> AuthRequest {
    AuthRequest::new("7700001", Acr::SimAuth)
}

async fn start_with(answer: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bc-authorize"))
        .respond_with(answer)
        .mount(&server)
        .await;
    client(&server).await.start(&request()).await.unwrap_err()
}

#[tokio::test]
async fn bc_authorize_answers_that_are_not_json() {
    let e =
        start_with(ResponseTemplate::new(200).set_body_raw("<html>hi</html>", "text/html")).await;
    assert!(
        matches!(&e, Error::InvalidResponse(a) if a.to_string().contains("content type")),
        "{e}"
    );
    let e =
        start_with(ResponseTemplate::new(200).set_body_raw("{not json", "application/json")).await;
    assert!(
        matches!(&e, Error::InvalidResponse(a) if a.to_string().contains("not a JSON object")),
        "{e}"
    );
    let e = start_with(
        ResponseTemplate::new(502).set_body_raw("<html>Bad Gateway</html>", "text/html"),
    )
    .await;
    assert!(
        matches!(&e, Error::InvalidResponse(a) if a.to_string().contains("502") && a.to_string().contains("Bad Gateway")),
        "{e}"
    );
}

#[tokio::test]
async fn bc_authorize_answers_with_missing_fields() {
    let e =
        start_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"expires_in": 60})))
            .await;
    assert!(e.to_string().contains("auth_req_id"), "{e}");
    let e = start_with(
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"auth_req_id": "x"})),
    )
    .await;
    assert!(e.to_string().contains("expires_in"), "{e}");
    let e = start_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([1, 2]))).await;
    assert!(matches!(e, Error::InvalidResponse { .. }), "{e}");
}

#[tokio::test]
async fn huge_bodies_are_refused() {
    let huge = format!(
        "{{\"auth_req_id\":\"{}\",\"expires_in\":60}}",
        "a".repeat(200_000)
    );
    let e = start_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json")).await;
    assert!(
        matches!(e, Error::Http(smartid_core::Error::BodyTooLarge { .. })),
        "{e}"
    );
}

async fn started(server: &MockServer) -> (CibaClient, audkenni_ciba::PendingAuth) {
    Mock::given(method("POST"))
        .and(path("/bc-authorize"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"auth_req_id": "r1", "expires_in": 60, "interval": 1}),
        ))
        .mount(server)
        .await;
    let c = client(server).await;
    let p = c.start(&request()).await.unwrap();
    (c, p)
}

#[tokio::test]
async fn token_answers_that_are_wrong() {
    for (answer, expect) in [
        (
            ResponseTemplate::new(200).set_body_raw("ok", "text/plain"),
            "content type",
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token_type": "Bearer"})),
            "access_token",
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token": "a"})),
            "id_token",
        ),
        (
            ResponseTemplate::new(403).set_body_raw("<html>forbidden</html>", "text/html"),
            "403",
        ),
    ] {
        let server = MockServer::start().await;
        let (c, mut p) = started(&server).await;
        Mock::given(method("POST"))
            .and(path("/access_token"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let e = c.wait(&mut p, &WaitOptions::default()).await.unwrap_err();
        assert!(e.to_string().contains(expect), "{expect}: {e}");
    }
}

#[tokio::test]
async fn repeated_server_errors_end_in_poll_failed() {
    let server = MockServer::start().await;
    let (c, mut p) = started(&server).await;
    Mock::given(method("POST"))
        .and(path("/access_token"))
        .respond_with(ResponseTemplate::new(503).set_body_raw("busy", "text/plain"))
        .mount(&server)
        .await;
    let mut options = WaitOptions::default();
    options.retry.max_consecutive_failures = 3;
    let e = c.wait(&mut p, &options).await.unwrap_err();
    assert!(matches!(e, Error::PollFailed { attempts: 4, .. }), "{e}");
    assert_eq!(server.received_requests().await.unwrap().len(), 5); // 1 start + 4 polls
}

#[tokio::test]
async fn bad_id_tokens_and_jwks() {
    // A token whose header names kid "k1", and a JWKS without it or not JSON.
    let header = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0"; // {"alg":"RS256","kid":"k1"}
    let token = format!("{header}.e30.c2ln");
    for (jwks, check) in [
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"keys": []})),
            "kid",
        ),
        (
            ResponseTemplate::new(200).set_body_raw("<html>", "text/html"),
            "content type",
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"nokeys": 1})),
            "not a JWKS",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(jwks)
            .mount(&server)
            .await;
        let c = client(&server).await;
        let e = c.verify_id_token_str(&token, None).await.unwrap_err();
        assert!(e.to_string().contains(check), "{check}: {e}");
    }
    let server = MockServer::start().await;
    let c = client(&server).await;
    let e = c
        .verify_id_token_str("eyJhbGciOiJub25lIn0.e30.", None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::IdToken(IdTokenError::AlgorithmNotAllowed(_))),
        "{e}"
    );
    let e = c.verify_id_token_str("garbage", None).await.unwrap_err();
    assert!(
        matches!(e, Error::IdToken(IdTokenError::Malformed(_))),
        "{e}"
    );
}

#[tokio::test]
async fn bad_discovery_documents() {
    for (doc, check) in [
        (
            ResponseTemplate::new(200).set_body_raw("<html>", "text/html"),
            "content type",
        ),
        (
            ResponseTemplate::new(404).set_body_raw("nope", "text/plain"),
            "404",
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"issuer": "x"})),
            "not a discovery document",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(doc)
            .mount(&server)
            .await;
        let e = CibaClient::builder(server.uri(), "cid")
            .client_secret(Secret::new("s"))
            .signing_key(rp_key())
            .http_settings(settings())
            .build()
            .await
            .unwrap_err();
        assert!(e.to_string().contains(check), "{check}: {e}");
    }
}
