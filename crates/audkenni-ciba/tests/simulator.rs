//! End-to-end flows against the Audkenni simulator over real TLS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, SystemTime};

use audkenni_ciba::{
    Acr, AuthRequest, BindingContent, ChainStatus, ClientAuthMethod, Error, ErrorCode,
    JwsAlgorithm, PendingAuth, ProviderCode, RequestSigningKey, SignatureCheck, SignatureError,
    WaitOptions, verification_code,
};
use common::{JumpClock, builder};
use smartid_core::{HttpSettings, Secret, TrustRoots};
use smartid_testkit::KeyAlgorithm;
use smartid_testkit::audkenni::{AudkenniSimulator, SimClientAuth, SimConfig, hints};

fn fast() -> SimConfig {
    SimConfig::with_answer_after(Duration::from_millis(1500)).interval(1)
}

#[tokio::test]
async fn sim_sign_approved_gives_verified_signature_with_checked_chain() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    assert_eq!(client.metadata().issuer, sim.issuer());
    let message = "Undirrita leigusamning fyrir Laugaveg 1";
    let request = AuthRequest::new(hints::APPROVES, Acr::SimSign)
        .binding_message(message)
        .binding_content(BindingContent::sha256_of(b"the lease"))
        .related_party("exampleclient");
    let mut pending = client.start(&request).await.unwrap();
    assert_eq!(pending.interval(), Duration::from_secs(1));
    let done = client
        .finish(&mut pending, &WaitOptions::default())
        .await
        .unwrap();
    let token = &done.id_token;
    assert_eq!(token.name.as_deref(), Some("Gervimaður Evrópa"));
    assert_eq!(
        token.national_register_id.as_ref().unwrap().as_str(),
        "1203902019"
    );
    // As the seed's id_token: acr "0", not the requested value.
    assert_eq!(token.acr, Some(Acr::Other("0".into())));

    let anchors = sim.signature_trust_anchors();
    let signed = token
        .verify_signature(&SignatureCheck::with_trust_anchors(anchors.clone()).expect_text(message))
        .unwrap();
    assert_eq!(signed.chain, ChainStatus::Checked);
    assert_eq!(signed.name, "Gervimaður Evrópa");
    assert_eq!(signed.national_register_id.as_str(), "1203902019");
    assert_eq!(signed.signed_text().as_deref(), Some(message));
    assert!(signed.signing_time.is_some());
    assert_eq!(
        sim.slow_downs(),
        0,
        "the client polled faster than the interval"
    );

    // Something else was asked to be signed: rejected.
    let other = token.verify_signature(
        &SignatureCheck::with_trust_anchors(anchors.clone()).expect_text("Another text"),
    );
    assert!(matches!(
        other,
        Err(Error::Signature(SignatureError::ContentMismatch))
    ));
    // The root alone is not enough (the CMS carries only the user certificate).
    let root_only =
        token.verify_signature(&SignatureCheck::with_trust_anchors([sim.signature_root()]));
    assert!(
        matches!(root_only, Err(Error::Signature(SignatureError::Chain(_)))),
        "{root_only:?}"
    );
    // Anchors of another PKI: no chain.
    let stranger = smartid_testkit::TestPki::generate().unwrap();
    let foreign = token.verify_signature(&SignatureCheck::with_trust_anchors([stranger
        .root()
        .certificate()
        .clone()]));
    assert!(matches!(
        foreign,
        Err(Error::Signature(SignatureError::Chain(_)))
    ));
    // After the certificate's validity (30 days): rejected.
    let later = SystemTime::now() + Duration::from_secs(60 * 86_400);
    let expired = token.verify_signature(&SignatureCheck::with_trust_anchors(anchors).at(later));
    assert!(matches!(
        expired,
        Err(Error::Signature(
            SignatureError::CertificateNotValidAt { .. }
        ))
    ));
}

#[tokio::test]
async fn declined_is_access_denied_with_description() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let mut pending = client
        .start(&AuthRequest::new(hints::DECLINES, Acr::SimSign).binding_message("Sign this"))
        .await
        .unwrap();
    let err = client
        .finish(&mut pending, &WaitOptions::default())
        .await
        .unwrap_err();
    match &err {
        Error::Server(p) => {
            assert_eq!(p.code, ErrorCode::AccessDenied);
            assert_eq!(p.provider_code, Some(ProviderCode::Mssp401));
            assert_eq!(p.description.as_deref(), Some("mssp_401"));
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().starts_with("the user cancelled"), "{err}");
}

#[tokio::test]
async fn never_answered_request_expires() {
    let sim = AudkenniSimulator::start(fast().expires_in(3))
        .await
        .unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let mut pending = client
        .start(&AuthRequest::new(hints::NEVER_ANSWERS, Acr::SimAuth))
        .await
        .unwrap();
    let err = client
        .finish(&mut pending, &WaitOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Expired { .. })
            || matches!(&err, Error::Server(p) if p.code == ErrorCode::ExpiredToken),
        "{err}"
    );
    assert!(sim.polls() >= 1);
}

#[tokio::test]
async fn unknown_phone_is_a_typed_error_at_start() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let err = client
        .start(&AuthRequest::new(hints::UNKNOWN, Acr::SimAuth))
        .await
        .unwrap_err();
    // Audkenni's documented shape: access_denied with the code as description.
    assert!(
        matches!(&err, Error::Server(p) if p.code == ErrorCode::AccessDenied && p.provider_code == Some(ProviderCode::Mssp105)),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("no valid ID for that phone number"),
        "{err}"
    );
    assert!(!err.to_string().contains("denied by user"), "{err}");
}

#[tokio::test]
async fn polling_too_fast_gets_slow_down_and_the_interval_grows() {
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
    // The clock jumps instead of sleeping, so the simulator sees polls
    // arriving at once: slow_down, and the client adds 5 s each time.
    let deadline = SystemTime::now() + Duration::from_secs(20);
    let err = client
        .wait(&mut pending, &WaitOptions::default().deadline(deadline))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DeadlineReached), "{err}");
    assert!(sim.slow_downs() >= 2, "{} slow_downs", sim.slow_downs());
    assert_eq!(
        pending.interval(),
        Duration::from_secs(1 + 5 * sim.slow_downs() as u64)
    );
}

#[tokio::test]
async fn a_flow_started_on_one_instance_finishes_on_another() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    let first = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let pending = first
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimSign).binding_message("Resume me"))
        .await
        .unwrap();
    let stored = serde_json::to_string(&pending).unwrap();
    drop(first);
    let second = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let mut resumed: PendingAuth = serde_json::from_str(&stored).unwrap();
    assert_eq!(resumed.binding_message(), Some("Resume me"));
    let done = second
        .finish(&mut resumed, &WaitOptions::default())
        .await
        .unwrap();
    let text = resumed.binding_message().unwrap();
    let v = done
        .id_token
        .verify_signature(
            &SignatureCheck::with_trust_anchors(sim.signature_trust_anchors()).expect_text(text),
        )
        .unwrap();
    assert_eq!(v.signed_text().as_deref(), Some("Resume me"));
    // Waiting again on the same client gives the stored outcome, without a poll.
    let polls = sim.polls();
    let mut again: PendingAuth = serde_json::from_str(&stored).unwrap();
    let tokens = second
        .wait(&mut again, &WaitOptions::default())
        .await
        .unwrap();
    assert_eq!(
        tokens.unverified_id_token(),
        done.tokens.unverified_id_token()
    );
    assert_eq!(sim.polls(), polls);
    // At the provider the auth_req_id is spent: polling it again (a client
    // that does not share the store) is invalid_grant.
    let third = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let err = third
        .wait(&mut again, &WaitOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server(p) if p.code == ErrorCode::InvalidGrant),
        "{err}"
    );
}

#[tokio::test]
async fn es256_request_objects_with_private_key_jwt_app_auth() {
    let sim = AudkenniSimulator::start(fast().client_key(KeyAlgorithm::EcdsaP256))
        .await
        .unwrap();
    let client = builder(&sim, JwsAlgorithm::Es256)
        .client_auth(ClientAuthMethod::PrivateKeyJwt)
        .build()
        .await
        .unwrap();
    let content = BindingContent::sha512_of(b"login nonce 42");
    let code = verification_code(content.hash_bytes());
    assert_eq!(code.len(), 4);
    let mut pending = client
        .start(
            &AuthRequest::new("1203902019", Acr::AppAuth)
                .binding_message(format!("Code {code}"))
                .binding_content(content),
        )
        .await
        .unwrap();
    let done = client
        .finish(&mut pending, &WaitOptions::default())
        .await
        .unwrap();
    assert_eq!(done.id_token.acr, Some(Acr::Other("0".into())));
    assert!(done.id_token.signature.is_none());
    done.id_token.check_certificate_names().unwrap();
}

#[tokio::test]
async fn ps256_with_client_secret_post() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    let client = builder(&sim, JwsAlgorithm::Ps256)
        .client_auth(ClientAuthMethod::ClientSecretPost)
        .build()
        .await
        .unwrap();
    let mut pending = client
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
        .await
        .unwrap();
    let done = client
        .finish(&mut pending, &WaitOptions::default())
        .await
        .unwrap();
    assert_eq!(done.id_token.name.as_deref(), Some("Gervimaður Evrópa"));
}

#[tokio::test]
async fn form_encoded_basic_credentials_when_the_provider_wants_them() {
    let sim = AudkenniSimulator::start(fast().client_auth(SimClientAuth::BasicFormEncoded))
        .await
        .unwrap();
    // The secret has ':' and '&': as-is Basic credentials are refused...
    let plain = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let err = plain
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server(p) if p.code == ErrorCode::InvalidClient && p.status == 401),
        "{err}"
    );
    // ...form-urlencoded ones are accepted.
    let encoded = builder(&sim, JwsAlgorithm::Rs256)
        .client_auth(ClientAuthMethod::ClientSecretBasicFormEncoded)
        .build()
        .await
        .unwrap();
    assert!(
        encoded
            .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn sim_sign_pkcs1_verifies_the_raw_signature() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    for content in [
        BindingContent::sha256_of(b"contract v1"),
        BindingContent::sha512_of(b"contract v1"),
    ] {
        let mut pending = client
            .start(
                &AuthRequest::new(hints::APPROVES, Acr::SimSignPkcs1)
                    .binding_message("Sign contract")
                    .binding_content(content.clone()),
            )
            .await
            .unwrap();
        let done = client
            .finish(&mut pending, &WaitOptions::default())
            .await
            .unwrap();
        let check = SignatureCheck::with_trust_anchors(sim.signature_trust_anchors());
        let v = done
            .id_token
            .verify_pkcs1_signature(&content, &check)
            .unwrap();
        assert_eq!(v.content.bytes(), content.hash_bytes());
        let wrong = BindingContent::sha256_of(b"contract v2");
        let wrong = if content.hash_bytes().len() == 64 {
            BindingContent::sha512_of(b"contract v2")
        } else {
            wrong
        };
        assert!(matches!(
            done.id_token.verify_pkcs1_signature(&wrong, &check),
            Err(Error::Signature(SignatureError::BadSignature))
        ));
    }
}

#[tokio::test]
async fn refused_credentials_keys_and_requests() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    // Wrong secret.
    let wrong_secret = builder(&sim, JwsAlgorithm::Rs256)
        .client_secret(Secret::new("nope"))
        .build()
        .await
        .unwrap();
    let err = wrong_secret
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server(p) if p.code == ErrorCode::InvalidClient),
        "{err}"
    );
    // A request object signed with a key the provider does not know.
    let other = AudkenniSimulator::start(fast()).await.unwrap();
    let wrong_key = builder(&sim, JwsAlgorithm::Rs256)
        .signing_key(
            RequestSigningKey::from_pem(other.client_key_pem().as_bytes(), JwsAlgorithm::Rs256)
                .unwrap(),
        )
        .build()
        .await
        .unwrap();
    let err = wrong_key
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server(p) if p.code == ErrorCode::InvalidRequest),
        "{err}"
    );
    // Invalid requests never leave the client.
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let before = sim.started();
    let err = client
        .start(&AuthRequest::new("1203902019", Acr::AppSign).binding_message("x".repeat(61)))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidRequest {
            field: "binding_message",
            ..
        }
    ));
    let err = client
        .start(&AuthRequest::new(hints::APPROVES, Acr::NexusSign).binding_message("m"))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidRequest {
            field: "nexus_url",
            ..
        }
    ));
    assert_eq!(sim.started(), before);
    // A resumed handle from another provider is refused.
    let mut foreign = other_pending(&other).await;
    let err = client
        .wait(&mut foreign, &WaitOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidRequest {
            field: "pending",
            ..
        }
    ));
}

async fn other_pending(sim: &AudkenniSimulator) -> PendingAuth {
    let c = builder(sim, JwsAlgorithm::Rs256).build().await.unwrap();
    c.start(&AuthRequest::new(hints::NEVER_ANSWERS, Acr::SimAuth))
        .await
        .unwrap()
}

#[tokio::test]
async fn tls_is_verified() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    // Trusting another root: the handshake fails, typed.
    let stranger = smartid_testkit::TestPki::generate().unwrap();
    let err = builder(&sim, JwsAlgorithm::Rs256)
        .http_settings(
            HttpSettings::new().trust(TrustRoots::Only(stranger.root_trust_store().unwrap())),
        )
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Http(smartid_core::Error::Tls { .. })),
        "{err}"
    );
    // Plain http is refused before any connection.
    let err =
        audkenni_ciba::CibaClient::builder(sim.issuer().replace("https", "http"), sim.client_id())
            .client_secret(Secret::new(sim.client_secret()))
            .signing_key(
                RequestSigningKey::from_pem(sim.client_key_pem().as_bytes(), JwsAlgorithm::Rs256)
                    .unwrap(),
            )
            .build()
            .await
            .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConfig(problems) if problems.iter().any(|p| p.field == "issuer")),
        "{err}"
    );
}

#[tokio::test]
async fn rotated_provider_keys_are_fetched_once_and_rate_limited() {
    let sim = AudkenniSimulator::start(fast()).await.unwrap();
    // One client may refetch at once, the other keeps the default 60 s limit.
    let eager = builder(&sim, JwsAlgorithm::Rs256)
        .jwks_refetch_interval(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let strict = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let tokens = |client: audkenni_ciba::CibaClient| async move {
        let mut p = client
            .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
            .await
            .unwrap();
        client.wait(&mut p, &WaitOptions::default()).await.unwrap()
    };
    let before = tokens(eager.clone()).await;
    eager.verify_id_token(&before).await.unwrap();
    strict.verify_id_token(&before).await.unwrap();

    sim.rotate_id_token_key().unwrap();
    assert_eq!(sim.id_token_kid(), "sim-key-2");
    let after = tokens(eager.clone()).await;
    // The eager client sees an unknown kid, refetches the JWKS once, and verifies.
    let v = eager.verify_id_token(&after).await.unwrap();
    assert_eq!(v.subject, "sim-1203902019");
    // The strict client fetched less than 60 s ago: no refetch, unknown key.
    let err = strict.verify_id_token(&after).await.unwrap_err();
    assert!(
        matches!(&err, Error::IdToken(audkenni_ciba::IdTokenError::UnknownKey(Some(k))) if k == "sim-key-2"),
        "{err}"
    );
    // Tokens signed with the old key still verify (it is still published).
    eager.verify_id_token(&before).await.unwrap();
}

#[tokio::test]
async fn ping_mode_notifies_then_one_token_request() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let callback = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ciba/ping"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&callback)
        .await;
    let sim = AudkenniSimulator::start(
        SimConfig::with_answer_after(Duration::from_millis(300))
            .interval(5)
            .notification_endpoint(format!("{}/ciba/ping", callback.uri())),
    )
    .await
    .unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256).build().await.unwrap();
    let token = Secret::new("ping-token-0123456789abcdef");
    let pending = client
        .start(
            &AuthRequest::new(hints::APPROVES, Acr::SimSign)
                .binding_message("Ping me")
                .client_notification_token(token.clone()),
        )
        .await
        .unwrap();
    // Wait for the provider's ping (well before the 5 s poll interval).
    let ping = loop {
        let received = callback.received_requests().await.unwrap();
        if let Some(r) = received.first() {
            break r.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let auth = ping
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let id = audkenni_ciba::parse_ping_notification(auth, &ping.body, &token).unwrap();
    assert_eq!(id, pending.auth_req_id());
    let tokens = client.fetch_tokens(&pending).await.unwrap();
    let verified = client.verify_id_token(&tokens).await.unwrap();
    let signed = verified
        .verify_signature(
            &SignatureCheck::with_trust_anchors(sim.signature_trust_anchors())
                .expect_text("Ping me"),
        )
        .unwrap();
    assert_eq!(signed.name, "Gervimaður Evrópa");
    assert_eq!(sim.polls(), 1);
    // A ping with another token is refused.
    assert!(
        audkenni_ciba::parse_ping_notification(
            auth,
            &ping.body,
            &Secret::new("another-token-0123456789")
        )
        .is_err()
    );
    // Without a registered endpoint the provider refuses ping requests.
    let no_ping = AudkenniSimulator::start(fast()).await.unwrap();
    let c = builder(&no_ping, JwsAlgorithm::Rs256)
        .build()
        .await
        .unwrap();
    let err = c
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth).client_notification_token(token))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server(p) if p.code == ErrorCode::InvalidRequest),
        "{err}"
    );
}

/// A poll held past the client's timeout (the simulator's `slow` fault):
/// the client's retry comes at least an interval after the failed one, so
/// the simulator counts no early poll and sends no `slow_down`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_held_past_the_timeout_is_not_followed_by_an_early_poll() {
    use smartid_testkit::{FaultKind, FaultSettings, Faults};
    let faults = Faults::default();
    let sim = AudkenniSimulator::start(fast().expires_in(30).faults(faults.clone()))
        .await
        .unwrap();
    let client = builder(&sim, JwsAlgorithm::Rs256)
        .http_settings(
            HttpSettings::new()
                .trust(TrustRoots::Only(sim.tls_trust_store().unwrap()))
                .request_timeout(Duration::from_millis(1000)),
        )
        .build()
        .await
        .unwrap();
    let mut pending = client
        .start(&AuthRequest::new(hints::NEVER_ANSWERS, Acr::SimAuth))
        .await
        .unwrap();
    // The first poll (one interval after the answer) is held 1.5 s, past
    // the 1 s timeout; then faults are off again.
    faults.set(FaultSettings::on(1.0, [FaultKind::Slow]).slow_delay(Duration::from_millis(1500)));
    let switch = faults.clone();
    tokio::spawn(async move {
        while switch.injected().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        switch.disable();
    });
    let deadline = SystemTime::now() + Duration::from_secs(6);
    let err = client
        .wait(&mut pending, &WaitOptions::default().deadline(deadline))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DeadlineReached), "{err}");
    assert_eq!(faults.injected().get(&FaultKind::Slow), Some(&1));
    let counts = sim.poll_counts(pending.auth_req_id()).unwrap();
    assert!(counts.polls >= 2, "{counts:?}");
    assert_eq!(counts.early, 0, "{counts:?}");
    assert_eq!(counts.slow_downs, 0, "{counts:?}");
}
