//! The simulator holds the client to Audkenni's public record, over real
//! TLS: documented error shapes, request objects as Audkenni writes them,
//! the login hint per mode, the `:443` issuer, what is signed, revocation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use audkenni_ciba::{
    Acr, AuthRequest, BindingContent, CibaClient, Error, ErrorCode, JwsAlgorithm, ProviderCode,
    RequestSigningKey, RevocationStatus, SignatureCheck, SignatureError, SignedPayload,
    TextEncoding, WaitOptions,
};
use base64::Engine as _;
use common::builder;
use serde_json::{Value, json};
use smartid_core::{HttpClient, HttpRequest, HttpSettings, Secret, TrustRoots};
use smartid_testkit::audkenni::{AudkenniSimulator, BASE_PATH, SimConfig, SimSignedContent, hints};

fn fast() -> SimConfig {
    SimConfig::with_answer_after(Duration::from_millis(1200)).interval(1)
}

/// Posts a request object signed with the simulator's registered key, with
/// exactly the given header and claims, as Audkenni's examples do
/// (client_secret_basic, id and secret not form-encoded).
async fn post_request_object(
    sim: &AudkenniSimulator,
    claims: &Value,
    kid: Option<&str>,
) -> (u16, Value) {
    let key = common::rsa_encoding_key(sim.client_key_pem());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    let jwt = jsonwebtoken::encode(&header, claims, &key).unwrap();
    let http = HttpClient::new(
        &HttpSettings::new().trust(TrustRoots::Only(sim.tls_trust_store().unwrap())),
        "test",
    )
    .unwrap();
    let url = sim
        .discovery_url()
        .replace("/.well-known/openid-configuration", "/bc-authorize");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        sim.client_id(),
        sim.client_secret()
    ));
    let response = http
        .send(
            HttpRequest::post(url)
                .secret_header("Authorization", Secret::new(format!("Basic {basic}")))
                .form(&[("request", &jwt)]),
        )
        .await
        .unwrap();
    (
        response.status(),
        serde_json::from_slice(response.body()).unwrap_or(Value::Null),
    )
}

fn audkenni_style_claims(sim: &AudkenniSimulator, login_hint: &str, acr: &str) -> Value {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 300.122;
    // As Audkenni's own example: no iat, nbf or jti; a fractional exp.
    json!({
        "login_hint": login_hint,
        "scope": "openid profile signature",
        "acr_values": acr,
        "iss": sim.client_id(),
        "aud": sim.issuer(),
        "exp": exp,
        "binding_message": "binding display message",
        "binding_content": "binding content",
    })
}

#[tokio::test]
async fn request_objects_as_audkenni_writes_them_are_accepted() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    let claims = audkenni_style_claims(&sim, hints::APPROVES, "sim-sign");
    let (status, body) = post_request_object(&sim, &claims, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["auth_req_id"].is_string(), "{body}");
    // The phone number as people write it is accepted too.
    let claims = audkenni_style_claims(&sim, "+354 770-0001", "sim-auth");
    assert_eq!(post_request_object(&sim, &claims, None).await.0, 200);
}

#[tokio::test]
async fn the_simulator_insists_on_the_documented_shapes() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    // SIM modes: a mobile number, never a kennitala.
    let claims = audkenni_style_claims(&sim, "1203902019", "sim-sign");
    let (status, body) = post_request_object(&sim, &claims, None).await;
    assert_eq!(status, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("login_hint"),
        "{body}"
    );
    // App modes: a kennitala.
    let claims = audkenni_style_claims(&sim, hints::APPROVES, "app-auth");
    let (status, body) = post_request_object(&sim, &claims, None).await;
    assert_eq!(status, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("kennitala"),
        "{body}"
    );
    // app-certificate-choice: binding_message and binding_content as "".
    let claims = audkenni_style_claims(&sim, "1203902019", "app-certificate-choice");
    let (status, body) = post_request_object(&sim, &claims, None).await;
    assert_eq!(status, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("binding_message"),
        "{body}"
    );
    let mut empty = audkenni_style_claims(&sim, "1203902019", "app-certificate-choice");
    empty["binding_message"] = json!("");
    empty["binding_content"] = json!("");
    assert_eq!(post_request_object(&sim, &empty, None).await.0, 200);
    // Unknown user: the documented error shape.
    let claims = audkenni_style_claims(&sim, hints::UNKNOWN, "sim-auth");
    let (status, body) = post_request_object(&sim, &claims, None).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "access_denied", "error_description": "mssp_105"})
    );
}

#[tokio::test]
async fn the_documented_answers_and_requests_are_golden() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    // The error document of Audkenni's Error Codes page, byte for byte as a JSON value.
    let golden: Value =
        serde_json::from_str(include_str!("fixtures/error-access-denied-mssp_105.json")).unwrap();
    let claims = audkenni_style_claims(&sim, hints::UNKNOWN, "sim-auth");
    let (status, body) = post_request_object(&sim, &claims, None).await;
    assert_eq!((status, body), (400, golden));
    // The example signing request of "SIM Signing using CIBA", addressed to
    // this simulator (its aud, its client id, an exp in the future).
    let mut claims: Value =
        serde_json::from_str(include_str!("fixtures/seed-request-object-claims.json")).unwrap();
    claims["login_hint"] = json!(hints::APPROVES);
    claims["iss"] = json!(sim.client_id());
    claims["aud"] = json!(sim.issuer());
    claims["exp"] = json!(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 300
    );
    let (status, body) = post_request_object(&sim, &claims, None).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_issuer_spelling_out_443_runs_end_to_end() {
    let sim = AudkenniSimulator::start(fast().announce_issuer_port(443))
        .await
        .unwrap();
    let announced = format!("https://localhost:443{BASE_PATH}");
    assert_eq!(sim.issuer(), announced);
    // The user configures the issuer as usually written (no port); the
    // discovery document names it with :443, and the client keeps that.
    let key =
        RequestSigningKey::from_pem(sim.client_key_pem().as_bytes(), JwsAlgorithm::Rs256).unwrap();
    let client = CibaClient::builder(format!("https://localhost{BASE_PATH}"), sim.client_id())
        .discovery_url(sim.discovery_url())
        .client_secret(Secret::new(sim.client_secret()))
        .signing_key(key)
        .http_settings(HttpSettings::new().trust(TrustRoots::Only(sim.tls_trust_store().unwrap())))
        .build()
        .await
        .unwrap();
    assert_eq!(client.metadata().issuer, announced);
    let mut pending = client
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
        .await
        .unwrap();
    let done = client
        .finish(&mut pending, &WaitOptions::default())
        .await
        .unwrap();
    assert_eq!(done.id_token.issuer, announced);
    // A request object whose aud drops the :443 is refused by the simulator.
    let mut claims = audkenni_style_claims(&sim, hints::APPROVES, "sim-auth");
    claims["aud"] = json!(format!("https://localhost{BASE_PATH}"));
    let (status, body) = post_request_object(&sim, &claims, None).await;
    assert_eq!(status, 400);
    assert!(
        body["error_description"].as_str().unwrap().contains(":443"),
        "{body}"
    );
}

#[tokio::test]
async fn provider_codes_are_typed_for_each_failure() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let mut pending = client
        .start(&AuthRequest::new(hints::PIN_BLOCKED, Acr::SimAuth))
        .await
        .unwrap();
    let err = client
        .finish(&mut pending, &WaitOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server(p) if p.code == ErrorCode::AccessDenied && p.provider_code == Some(ProviderCode::Mssp402)),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("the user's PIN is blocked"),
        "{err}"
    );
    // An app-mode user the simulator does not know: audkenni_404.
    let err = client
        .start(&AuthRequest::new("0101303360", Acr::AppAuth))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server(p) if p.provider_code == Some(ProviderCode::Audkenni404)),
        "{err}"
    );
}

#[tokio::test]
async fn a_signature_over_cjk_text_does_not_verify_as_pay_1000_isk() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    // The UTF-16BE of this text is byte for byte the UTF-16LE of "Pay 1000 ISK".
    let cjk = TextEncoding::Utf16Be
        .decode(&TextEncoding::Utf16Le.encode("Pay 1000 ISK"))
        .unwrap();
    let request = AuthRequest::new(hints::APPROVES, Acr::SimSign)
        .binding_message(&cjk)
        .signs(SignedPayload::DISPLAYED_TEXT_UTF16BE);
    let mut pending = client.start(&request).await.unwrap();
    let anchors = sim.signature_trust_anchors();
    let done = client
        .finish_and_verify_signature(
            &mut pending,
            &WaitOptions::default(),
            &SignatureCheck::with_trust_anchors(anchors.clone()),
        )
        .await
        .unwrap();
    let signed = done.signature.as_ref().unwrap();
    assert_eq!(signed.signed_text().as_deref(), Some(cjk.as_str()));
    let err = done
        .id_token
        .verify_signature(
            &SignatureCheck::with_trust_anchors(anchors.clone()).expect_text("Pay 1000 ISK"),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Signature(SignatureError::ContentMismatch)),
        "{err}"
    );
    // Only a caller who names UTF-16LE gets that reading: nothing is guessed.
    let le = done
        .id_token
        .verify_signature(
            &SignatureCheck::with_trust_anchors(anchors)
                .expect_text_in("Pay 1000 ISK", TextEncoding::Utf16Le),
        )
        .unwrap();
    assert_eq!(le.text_encoding, TextEncoding::Utf16Le);
    // Debug of the result shows no full kennitala.
    assert!(!format!("{le:?}").contains("1203902019"), "{le:?}");
}

#[tokio::test]
async fn what_is_signed_is_recorded_and_checked_by_finish() {
    let content = BindingContent::sha256_of(b"%PDF-1.7 the lease");
    let request = |signs| {
        AuthRequest::new(hints::APPROVES, Acr::SimSign)
            .binding_message("Sign the lease")
            .binding_content(content.clone())
            .signs(signs)
    };
    // The simulator signs the binding content (seed 004's reading).
    let sim = AudkenniSimulator::start(fast().signs(SimSignedContent::BindingContent))
        .await
        .unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let check = SignatureCheck::with_trust_anchors(sim.signature_trust_anchors());
    let pending = client
        .start(&request(SignedPayload::BindingContent))
        .await
        .unwrap();
    assert_eq!(pending.signs(), Some(SignedPayload::BindingContent));
    // The handle is stored and resumed: the expectation travels with it.
    let mut pending: audkenni_ciba::PendingAuth =
        serde_json::from_str(&serde_json::to_string(&pending).unwrap()).unwrap();
    let done = client
        .finish_and_verify_signature(&mut pending, &WaitOptions::default(), &check)
        .await
        .unwrap();
    assert_eq!(
        done.signature.unwrap().content.bytes(),
        content.hash_bytes()
    );
    // Expecting the displayed text when the hash was signed: refused.
    let mut pending = client
        .start(&request(SignedPayload::DISPLAYED_TEXT_UTF16BE))
        .await
        .unwrap();
    let err = client
        .finish_and_verify_signature(&mut pending, &WaitOptions::default(), &check)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Signature(SignatureError::ContentMismatch)),
        "{err}"
    );
    // Nothing said about what is signed: refused before waiting.
    let mut pending = client
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimSign).binding_message("m"))
        .await
        .unwrap();
    let err = client
        .finish_and_verify_signature(&mut pending, &WaitOptions::default(), &check)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidRequest { field: "signs", .. }),
        "{err}"
    );

    // The simulator signs the text in UTF-8: only an explicit UTF-8 expectation matches.
    let sim = AudkenniSimulator::start(fast().signs(SimSignedContent::TextUtf8))
        .await
        .unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let check = SignatureCheck::with_trust_anchors(sim.signature_trust_anchors());
    let mut pending = client
        .start(&request(SignedPayload::DisplayedText(TextEncoding::Utf8)))
        .await
        .unwrap();
    let done = client
        .finish_and_verify_signature(&mut pending, &WaitOptions::default(), &check)
        .await
        .unwrap();
    assert_eq!(
        done.signature.unwrap().signed_text().as_deref(),
        Some("Sign the lease")
    );
    let err = done
        .id_token
        .verify_signature(&check.clone().expect_text("Sign the lease"))
        .unwrap_err();
    assert!(
        matches!(err, Error::Signature(SignatureError::ContentMismatch)),
        "{err}"
    );
}

#[tokio::test]
async fn pkcs1_answers_carry_document_nr_and_app_modes_take_their_shapes() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let content = BindingContent::sha512_of(b"doc");
    let mut pending = client
        .start(
            &AuthRequest::new(hints::APPROVES, Acr::SimSignPkcs1)
                .binding_message("Sign")
                .binding_content(content.clone())
                .signs(SignedPayload::BindingContent),
        )
        .await
        .unwrap();
    let done = client
        .finish_and_verify_signature(
            &mut pending,
            &WaitOptions::default(),
            &SignatureCheck::with_trust_anchors(sim.signature_trust_anchors()),
        )
        .await
        .unwrap();
    assert_eq!(done.id_token.claims["documentNr"], "na");
    assert_eq!(
        done.signature.unwrap().content.bytes(),
        content.hash_bytes()
    );
    // app-certificate-choice: the simulator insists on "" for both fields.
    let mut pending = client
        .start(&AuthRequest::new("120390-2019", Acr::AppCertificateChoice))
        .await
        .unwrap();
    client
        .finish(&mut pending, &WaitOptions::default())
        .await
        .unwrap();
    // vchoice with app-auth.
    let mut pending = client
        .start(
            &AuthRequest::new("1203902019", Acr::AppAuth)
                .binding_content(BindingContent::sha512_of(b"login"))
                .vchoice(true)
                .confirmation_message(true),
        )
        .await
        .unwrap();
    client
        .finish(&mut pending, &WaitOptions::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn revocation_from_the_crl_distribution_point_over_loopback() {
    let sim = AudkenniSimulator::start(fast().crl(true)).await.unwrap();
    assert!(sim.crl_url().unwrap().starts_with("http://127.0.0.1:"));
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let check = SignatureCheck::with_trust_anchors(sim.signature_trust_anchors()).fetch_crl(true);
    let sign = |hint: &'static str| {
        let client = client.clone();
        let check = check.clone();
        async move {
            let mut pending = client
                .start(
                    &AuthRequest::new(hint, Acr::SimSign)
                        .binding_message("Sign")
                        .signs(SignedPayload::DISPLAYED_TEXT_UTF16BE),
                )
                .await
                .unwrap();
            client
                .finish_and_verify_signature(&mut pending, &WaitOptions::default(), &check)
                .await
        }
    };
    let (good, revoked) = tokio::join!(sign(hints::APPROVES), sign(hints::REVOKED));
    let good = good.unwrap();
    assert!(
        matches!(
            good.signature.as_ref().unwrap().revocation,
            RevocationStatus::NotRevoked { .. }
        ),
        "{:?}",
        good.signature
    );
    let err = revoked.unwrap_err();
    assert!(
        matches!(err, Error::Signature(SignatureError::Revoked)),
        "{err}"
    );
    assert!(sim.crl_fetches() >= 2);
    // The same through verify_signature, and with the CRL supplied by the caller.
    let v = client
        .verify_signature(&good.id_token, &check)
        .await
        .unwrap();
    assert!(matches!(v.revocation, RevocationStatus::NotRevoked { .. }));
    let supplied = SignatureCheck::with_trust_anchors(sim.signature_trust_anchors())
        .crl(sim.crl_der().unwrap().to_vec());
    let v = good.id_token.verify_signature(&supplied).unwrap();
    assert!(matches!(v.revocation, RevocationStatus::NotRevoked { .. }));

    // No distribution point: a clear typed result, or an error when required.
    let plain = AudkenniSimulator::start(fast()).await.unwrap();
    let client = builder(&plain, JwsAlgorithm::Rs256).build().await.unwrap();
    let mut pending = client
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimSign).binding_message("Sign"))
        .await
        .unwrap();
    let done = client
        .finish(&mut pending, &WaitOptions::default())
        .await
        .unwrap();
    let check = SignatureCheck::with_trust_anchors(plain.signature_trust_anchors())
        .expect_text("Sign")
        .fetch_crl(true);
    let v = client
        .verify_signature(&done.id_token, &check)
        .await
        .unwrap();
    assert!(
        matches!(&v.revocation, RevocationStatus::Unavailable(why) if why.contains("distribution point")),
        "{:?}",
        v.revocation
    );
    let err = client
        .verify_signature(&done.id_token, &check.require_revocation_check(true))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Signature(SignatureError::RevocationUnavailable(_))
        ),
        "{err}"
    );
}
