//! End-to-end: hermod-client against the Hermod simulator over TLS, with
//! callbacks POSTed back over TLS to the callback receiver.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use common::{EnvOptions, env};
use hermod_client::{
    AdminKey, CertReq, CertReqSubject, CertificateParams, Command, CommandKind, CommandState,
    CommandTiming, DummyKey, EndPinResetParams, Error, HermodClient, HermodConfig, KeyGenRequest,
    MobileLink, Outcome, PingParams, ProvisionCommand, SignParams, StartPinResetParams, ToBeSigned,
    check_alive,
};
use smartid_core::{HttpClient, HttpRequest, HttpSettings, Secret};
use smartid_testkit::hermod::DeviceBehavior;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn command(kind: CommandKind) -> Command {
    let tbs = vec![
        ToBeSigned::text("doc1", "Contract 17", "I agree to contract 17"),
        ToBeSigned::binary(
            "doc2",
            "Attachment",
            "application/pdf",
            b"%PDF-1.7 attachment",
        ),
    ];
    match kind {
        CommandKind::Provision => {
            let req = CertReq::with_dummy_key(
                &CertReqSubject::new().common_name("Jon Jonsson"),
                DummyKey::EcP256,
            )
            .unwrap();
            Command::provision(ProvisionCommand::new(
                "nonce-123",
                "jon@example.com",
                "Smart ID",
                "Work",
                vec![
                    KeyGenRequest::new("sig", "SIG", &req),
                    KeyGenRequest::new("auth", "AUT", &req),
                ],
            ))
            .without_recipients()
        }
        CommandKind::Certificate => Command::certificate(
            CertificateParams::new([("sig", "MIIC1"), ("auth", "MIIC2")]).smartcard("card-1"),
        ),
        CommandKind::Authenticate => Command::authenticate(
            SignParams::new(tbs).describe(ToBeSigned::text("requester", "Request from", "Shop")),
        ),
        CommandKind::Sign => Command::sign(SignParams::new(tbs).describe(ToBeSigned::text(
            "requester",
            "Signing request from",
            "Shop",
        ))),
        CommandKind::StartPinReset => Command::start_pin_reset(StartPinResetParams::new("card-1")),
        CommandKind::EndPinReset => Command::end_pin_reset(
            EndPinResetParams::new("card-1", "ZW5jcnlwdGVk").new_admin_key(
                AdminKey::new("00112233445566778899aabbccddeeff0011223344556677").unwrap(),
            ),
        ),
        _ => Command::ping_with(PingParams::device_info()),
    }
}

#[tokio::test]
async fn every_command_type_round_trips_with_its_callback() {
    let e = env(EnvOptions::default()).await;
    let public_key = e.sim.device_public_key();
    for kind in CommandKind::KNOWN.iter().cloned() {
        let sent = e
            .client
            .send(&command(kind.clone()).external_id(format!("ext-{kind}")))
            .await
            .unwrap();
        assert_eq!(sent.answer.state, CommandState::InProgress);
        assert_eq!(sent.answer.command_type, kind.command_type());
        let link = sent.answer.desktop_link().unwrap();
        assert!(link.message_box_url().starts_with(&e.sim.base_url()));
        let outcome = tokio::time::timeout(
            Duration::from_secs(10),
            common::track(&e.tracker, sent.tracked).await,
        )
        .await
        .unwrap();
        let Outcome::Answered(cb) = outcome else {
            panic!("{kind}: {outcome:?}")
        };
        assert_eq!(cb.state, CommandState::Completed, "{kind}");
        assert_eq!(cb.kind.as_ref(), Some(&kind));
        assert_eq!(
            cb.command_id.as_deref(),
            Some(sent.answer.command_id.as_str())
        );
        assert_eq!(
            cb.external_id.as_deref(),
            Some(format!("ext-{kind}").as_str())
        );
        let result = cb.result.unwrap();
        match kind {
            CommandKind::Sign | CommandKind::Authenticate => {
                // The device's signatures verify over the data sent.
                let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public_key);
                let sigs = result["signatures"].as_array().unwrap();
                assert_eq!(sigs.len(), 2);
                let s1 = B64.decode(sigs[0]["signature"].as_str().unwrap()).unwrap();
                key.verify(b"I agree to contract 17", &s1).unwrap();
                let s2 = B64.decode(sigs[1]["signature"].as_str().unwrap()).unwrap();
                key.verify(b"%PDF-1.7 attachment", &s2).unwrap();
                assert!(key.verify(b"something else", &s1).is_err());
            }
            CommandKind::Provision => {
                let jws = result["jws"].as_str().unwrap();
                let (input, sig) = jws.rsplit_once('.').unwrap();
                let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(sig)
                    .unwrap();
                UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public_key)
                    .verify(input.as_bytes(), &sig)
                    .unwrap();
                let payload = input.split('.').nth(1).unwrap();
                let payload: serde_json::Value = serde_json::from_slice(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(payload)
                        .unwrap(),
                )
                .unwrap();
                assert_eq!(payload["nonce"], "nonce-123");
                assert_eq!(payload["keys"], serde_json::json!(["sig", "auth"]));
            }
            CommandKind::Certificate => {
                assert_eq!(result["installed"], serde_json::json!(["auth", "sig"]))
            }
            CommandKind::StartPinReset => assert!(result["nonce"].is_string()),
            CommandKind::EndPinReset => assert_eq!(result["reset"], true),
            _ => {
                assert_eq!(result["pong"], true);
                assert!(result["deviceinfo"]["os"].is_string(), "{result}");
            }
        }
    }
    // The simulator saw the documented header and bodies.
    let cmds = e.sim.commands();
    assert_eq!(cmds.len(), CommandKind::KNOWN.len());
    let sign = cmds.iter().find(|c| c.kind == "sign").unwrap();
    assert_eq!(
        sign.body["commandHeader"]["to"],
        serde_json::json!(["@tmp"])
    );
    assert_eq!(sign.body["commandHeader"]["lifespan"], 60);
    assert_eq!(
        sign.body["signCommand"]["params"]["mechanism"],
        "CKM_SHA256_RSA_PKCS"
    );
    let prov = cmds.iter().find(|c| c.kind == "provision").unwrap();
    assert!(prov.body["commandHeader"].get("to").is_none());
    // Final callbacks only (no progress callbacks by default), on
    // {callback-url}/callback/{kind}, all accepted with the Basic credentials.
    let n = CommandKind::KNOWN.len();
    let callbacks = e.sim.wait_for_callbacks(n, Duration::from_secs(5)).await;
    assert_eq!(callbacks.len(), n);
    assert!(
        callbacks.iter().all(|c| c.status == Some(200)
            && c.url
                .starts_with(&format!("{}/callback/", e.receiver_front.url()))),
        "{callbacks:?}"
    );
    let stats = e.receiver.stats();
    // On a busy machine the simulator may call back before the command's
    // answer is registered: that callback is kept as early and applied when
    // the command is tracked (answered 200 all the same).
    assert_eq!(
        (
            stats.resolved + stats.early,
            stats.progress,
            stats.unauthorized
        ),
        (n as u64, 0, 0),
        "{stats:?}"
    );
}

#[tokio::test]
async fn wrong_api_key_is_refused() {
    let e = env(EnvOptions::default()).await;
    let config = HermodConfig::builder(e.sim.base_url())
        .client(common::CLIENT_ID, Secret::new("wrong-key"))
        .http_settings(e.trust.clone())
        .build()
        .unwrap();
    let err = HermodClient::new(config)
        .unwrap()
        .send(&Command::ping())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unauthorized { error, .. } if error.status == 401),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("prime1")
            && text.contains("invalid X-Api-Key")
            && !text.contains("wrong-key"),
        "{text}"
    );
    // The seed's token format for an unknown client is refused too.
    let config = HermodConfig::builder(e.sim.command_url())
        .token_base64("cHJpbWUxOjA3OWI2YTY0ZDc1YjRlOTU4NWJkMGMyNGYzNmE3ZGViYTBhZDAzNDk4ZWNmNGQ2OWI1NzY2ZjI0ZmEwMmUwNDU=")
        .http_settings(e.trust.clone())
        .build()
        .unwrap();
    // (same client id and key as the simulator's: accepted)
    assert!(
        HermodClient::new(config)
            .unwrap()
            .send(&Command::ping())
            .await
            .is_ok()
    );
    assert_eq!(e.sim.refused_api_keys(), 1);
    assert_eq!(e.sim.commands().len(), 1);
}

#[tokio::test]
async fn hermod_error_answers_are_typed() {
    let e = env(EnvOptions::default()).await;
    // Bypass the client's own checks to see Hermod's 400s.
    let http = HttpClient::new(&e.trust, "test").unwrap();
    let cases = [
        (
            "sign",
            serde_json::json!({"commandHeader": {"lifespan": 30, "timeout": 60, "to": ["@tmp"]}, "signCommand": {"params": {"tbs": []}}}),
            "commandHeader.timeout (60) is past commandHeader.lifespan (30)",
        ),
        (
            "sign",
            serde_json::json!({"signCommand": {}}),
            "commandHeader is missing",
        ),
        (
            "sign",
            serde_json::json!({"commandHeader": {"lifespan": 60, "timeout": 30, "to": ["@tmp"]}}),
            "signCommand is missing",
        ),
        (
            "provision",
            serde_json::json!({"commandHeader": {"lifespan": 60, "timeout": 30, "to": []}, "provCommand": {}}),
            "must name at least one recipient",
        ),
        (
            "sign",
            serde_json::json!({"commandHeader": {"lifespan": 60, "timeout": 30, "to": ["@tmp"]}, "signCommand": {"params": {"tbs": [{"key": "k"}]}}}),
            "signCommand.params.tbs[0].content_type is missing",
        ),
    ];
    for (kind, doc, expected) in cases {
        let req = HttpRequest::post(format!("{}/{kind}", e.sim.command_url()))
            .secret_header("X-Api-Key", e.client.config().token().to_base64())
            .json(&doc)
            .unwrap();
        let resp = http.send(req).await.unwrap();
        let err = hermod_client::parse_command_response(e.client.config(), &resp).unwrap_err();
        assert!(
            matches!(&err, Error::Server(s) if s.status == 400),
            "{err:?}"
        );
        assert!(err.to_string().contains(expected), "{err}");
    }
    assert!(e.sim.commands().is_empty());
}

#[tokio::test]
async fn untrusted_hermod_is_a_tls_error() {
    let e = env(EnvOptions::default()).await;
    let other = smartid_testkit::TestPki::generate().unwrap();
    let config = HermodConfig::builder(e.sim.command_url())
        .client(common::CLIENT_ID, Secret::new(common::KEY))
        .http_settings(HttpSettings::new().trust(smartid_core::TrustRoots::Only(
            other.root_trust_store().unwrap(),
        )))
        .build()
        .unwrap();
    let err = HermodClient::new(config)
        .unwrap()
        .send(&Command::ping())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Http(smartid_core::Error::Tls { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("trust store"), "{err}");
}

#[tokio::test]
async fn declined_by_the_user() {
    let e = env(EnvOptions {
        device: DeviceBehavior::declines_after(Duration::from_millis(10)),
        ..EnvOptions::default()
    })
    .await;
    let sent = e.client.send(&command(CommandKind::Sign)).await.unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        common::track(&e.tracker, sent.tracked).await,
    )
    .await
    .unwrap();
    assert_eq!(outcome.state(), CommandState::Declined);
    assert!(outcome.callback().unwrap().result.is_none());
}

#[tokio::test]
async fn device_failure_is_reported() {
    let e = env(EnvOptions {
        device: DeviceBehavior::fails_after(Duration::from_millis(10)),
        ..EnvOptions::default()
    })
    .await;
    let sent = e
        .client
        .send(&command(CommandKind::Authenticate))
        .await
        .unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        common::track(&e.tracker, sent.tracked).await,
    )
    .await
    .unwrap();
    assert_eq!(outcome.state(), CommandState::Failed);
    assert_eq!(
        outcome.callback().unwrap().result.as_ref().unwrap()["error"],
        "NO_MATCHING_KEY"
    );
}

#[tokio::test]
async fn timed_out_in_the_message_box() {
    // The user never opens the app; no session-start check (as with a Hermod
    // that sends no progress callbacks): Hermod's TIMEOUT callback ends it.
    let e = env(EnvOptions {
        device: DeviceBehavior::never_opens(),
        session_start_check: false,
        second: Duration::from_millis(100),
        timing: CommandTiming::from_secs(20, 10, 2).unwrap(),
        ..EnvOptions::default()
    })
    .await;
    let sent = e.client.send(&Command::ping()).await.unwrap();
    let location = sent.answer.destinations[0].location.clone();
    // While in the box, the message is readable at its location.
    let http = HttpClient::new(&e.trust, "test").unwrap();
    assert_eq!(
        http.send(HttpRequest::get(location.clone()))
            .await
            .unwrap()
            .status(),
        200
    );
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        common::track(&e.tracker, sent.tracked).await,
    )
    .await
    .unwrap();
    assert_eq!(outcome, Outcome::TimedOut);
    let cbs = e.sim.wait_for_callbacks(1, Duration::from_secs(5)).await;
    assert_eq!(cbs[0].state, "TIMEOUT");
    assert_eq!(
        http.send(HttpRequest::get(location))
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn session_never_started() {
    // The user ignores the pop-up: with the session-start check turned on,
    // its timeout ends the wait before Hermod's timeout; the later TIMEOUT
    // callback is late.
    let e = env(EnvOptions {
        device: DeviceBehavior::never_opens(),
        timing: CommandTiming::from_secs(20, 10, 2).unwrap(),
        session_start_check: true,
        ..EnvOptions::default()
    })
    .await;
    let sent = e.client.send(&Command::ping()).await.unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        common::track(&e.tracker, sent.tracked).await,
    )
    .await
    .unwrap();
    assert_eq!(outcome, Outcome::SessionNotStarted);
    e.sim.wait_for_callbacks(1, Duration::from_secs(5)).await;
    assert_eq!(e.receiver.stats().late, 1);
}

#[tokio::test]
async fn opened_but_unanswered_expires_at_the_lifespan() {
    let e = env(EnvOptions {
        device: DeviceBehavior::opens_but_never_answers(Duration::from_millis(10))
            .progress_callbacks(true),
        timing: CommandTiming::from_secs(20, 10, 8).unwrap(),
        ..EnvOptions::default()
    })
    .await;
    let sent = e.client.send(&command(CommandKind::Sign)).await.unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        common::track(&e.tracker, sent.tracked).await,
    )
    .await
    .unwrap();
    assert_eq!(outcome, Outcome::Expired);
    let states: Vec<String> = e
        .sim
        .wait_for_callbacks(2, Duration::from_secs(5))
        .await
        .into_iter()
        .map(|c| c.state)
        .collect();
    assert_eq!(states, ["STARTED", "EXPIRED"]);
}

#[tokio::test]
async fn answer_after_the_timeout_counts_when_the_session_started() {
    // Opened at once, answered after the timeout (6 s) but well before the
    // lifespan (20 s); one protocol second lasts 100 ms.
    let e = env(EnvOptions {
        device: DeviceBehavior::answers_after(Duration::from_millis(800)),
        second: Duration::from_millis(100),
        timing: CommandTiming::from_secs(20, 6, 5).unwrap(),
        ..EnvOptions::default()
    })
    .await;
    let sent = e.client.send(&Command::ping()).await.unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        common::track(&e.tracker, sent.tracked).await,
    )
    .await
    .unwrap();
    assert_eq!(outcome.state(), CommandState::Completed);
}

#[tokio::test]
async fn wrong_callback_credentials_are_refused() {
    let e = env(EnvOptions {
        callback_password: "not-the-password",
        ..EnvOptions::default()
    })
    .await;
    let sent = e.client.send(&Command::ping()).await.unwrap();
    let cbs = e.sim.wait_for_callbacks(1, Duration::from_secs(5)).await;
    assert!(cbs.iter().all(|c| c.status == Some(401)), "{cbs:?}");
    assert_eq!(e.receiver.stats().unauthorized, 1);
    assert_eq!(
        e.tracker.outcome(&sent.answer.command_id).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn callbacks_on_the_rest_layout_are_received_too() {
    let e = env(EnvOptions {
        callback_path: "/rest/callback",
        ..EnvOptions::default()
    })
    .await;
    let sent = e.client.send(&Command::ping()).await.unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        common::track(&e.tracker, sent.tracked).await,
    )
    .await
    .unwrap();
    assert_eq!(outcome.state(), CommandState::Completed);
    let cbs = e.sim.wait_for_callbacks(1, Duration::from_secs(5)).await;
    assert!(cbs[0].url.ends_with("/rest/callback/ping"), "{cbs:?}");
}

#[tokio::test]
async fn mobile_links_and_alive_checks() {
    let e = env(EnvOptions::default()).await;
    // Sign and authentication messages get no Mobile App link.
    let sign = e.client.send(&command(CommandKind::Sign)).await.unwrap();
    assert!(sign.answer.mobile_link("Smart ID", None).is_err());
    let sent = e
        .client
        .send(&command(CommandKind::Provision))
        .await
        .unwrap();
    let dest = &sent.answer.destinations[0];
    let link = sent
        .answer
        .mobile_link("Smart ID", Some("https://app.example/done"))
        .unwrap();
    let parsed = MobileLink::parse(&link.to_string()).unwrap();
    assert_eq!(parsed, link);
    assert!(link.to_string().starts_with(&format!(
        "personal://localhost:{}/hermod/rest/ms/{}/{}?",
        e.sim.front().addr().port(),
        dest.bid,
        dest.mid
    )));

    let report = check_alive(&e.trust, &e.receiver_front.url())
        .await
        .unwrap();
    assert!(report.is_alive(), "{report:?}");
    assert_eq!(report.status, Some(200));
    assert!(report.url.ends_with("/callback/alive"));
    let sdk = link.clone().with_scheme("mybank").unwrap();
    assert!(sdk.to_string().starts_with("mybank://localhost:"));
    let report = check_alive(
        &e.trust,
        &format!("{}/rest/callback/alive", e.receiver_front.url()),
    )
    .await
    .unwrap();
    assert!(report.is_alive());
    // Hermod itself has no alive endpoint: a status problem.
    let report = check_alive(&e.trust, &e.sim.base_url()).await.unwrap();
    assert_eq!(
        report.problem,
        Some(hermod_client::AliveProblem::Status(404))
    );
    // Untrusted certificate: a TLS problem that says what to check.
    let report = check_alive(&HttpSettings::new(), &e.receiver_front.url())
        .await
        .unwrap();
    assert!(
        matches!(&report.problem, Some(hermod_client::AliveProblem::Tls(m)) if m.contains("trust")),
        "{report:?}"
    );
    // Nothing listening: a connection problem.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let report = check_alive(&e.trust, &format!("https://127.0.0.1:{port}/cb"))
        .await
        .unwrap();
    assert!(
        matches!(
            report.problem,
            Some(hermod_client::AliveProblem::Connect(_))
        ),
        "{report:?}"
    );
}

#[tokio::test]
async fn commands_go_through_a_connect_proxy() {
    let e = env(EnvOptions::default()).await;
    let proxy = smartid_testkit::ConnectProxy::start().await.unwrap();
    let settings = e
        .trust
        .clone()
        .proxy(smartid_core::ProxySettings::new(proxy.host(), proxy.port()).unwrap());
    let config = HermodConfig::builder(e.sim.command_url())
        .client(common::CLIENT_ID, Secret::new(common::KEY))
        .http_settings(settings)
        .build()
        .unwrap();
    let sent = HermodClient::new(config)
        .unwrap()
        .send(&Command::ping())
        .await
        .unwrap();
    assert_eq!(sent.answer.command_type, CommandKind::Ping.command_type());
    let port = e.sim.front().addr().port();
    assert!(
        proxy
            .connect_targets()
            .iter()
            .any(|t| t.ends_with(&format!(":{port}"))),
        "{:?}",
        proxy.connect_targets()
    );
}

#[tokio::test]
async fn silent_hermod_is_a_timeout() {
    // A server that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let config = HermodConfig::builder(format!("https://127.0.0.1:{port}/hermod/"))
        .client(common::CLIENT_ID, Secret::new(common::KEY))
        .http_settings(HttpSettings::new().request_timeout(Duration::from_millis(300)))
        .build()
        .unwrap();
    let err = HermodClient::new(config)
        .unwrap()
        .send(&Command::ping())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Http(smartid_core::Error::Timeout { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("raise the timeout"), "{err}");
}

#[tokio::test]
async fn the_client_builders_http_settings_are_the_ones_used() {
    let e = env(EnvOptions::default()).await;
    // The configuration trusts the platform roots only: Hermod's test CA is refused...
    let config = HermodConfig::builder(e.sim.command_url())
        .client(common::CLIENT_ID, Secret::new(common::KEY))
        .build()
        .unwrap();
    let err = HermodClient::new(config.clone())
        .unwrap()
        .send(&Command::ping())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Http(smartid_core::Error::Tls { .. })),
        "{err:?}"
    );
    // ...and the client builder's settings, trusting it, replace them.
    let client = HermodClient::builder(config)
        .http_settings(e.trust.clone())
        .build()
        .unwrap();
    assert!(client.send(&Command::ping()).await.is_ok());
    assert_eq!(e.sim.commands().len(), 1);
}
