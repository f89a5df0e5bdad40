//! Nexus' documented samples (tests/fixtures): each parses into the typed
//! model and writes back to the same JSON value; the Hermod simulator
//! accepts each command over TLS and refuses, naming the field, the shapes
//! the record contradicts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{EnvOptions, env};
use hermod_client::{
    CommandAnswer, CommandBody, CommandDocument, CommandKind, CommandState, CommandType, Error,
};
use serde_json::Value;
use smartid_core::{HttpClient, HttpRequest};

const SIGN: &str = include_str!("fixtures/sign-command.json");
const PROVISION: &str = include_str!("fixtures/provision-command.json");
const PROVISION_EXTERNAL_ID: &str = include_str!("fixtures/provision-command-external-id.json");
const ANSWER: &str = include_str!("fixtures/command-answer.json");

fn commands() -> [(CommandKind, &'static str); 3] {
    [
        (CommandKind::Sign, SIGN),
        (CommandKind::Provision, PROVISION),
        (CommandKind::Provision, PROVISION_EXTERNAL_ID),
    ]
}

#[test]
fn documented_commands_round_trip_through_the_typed_model() {
    for (kind, text) in commands() {
        let json: Value = serde_json::from_str(text).unwrap();
        let doc = CommandDocument::from_json(kind.clone(), &json).unwrap();
        assert_eq!(doc.to_json(), json, "{kind}");
        assert_eq!(doc.body.kind(), kind);
    }
    let sign = CommandDocument::from_json(CommandKind::Sign, &serde_json::from_str(SIGN).unwrap())
        .unwrap();
    assert_eq!(sign.header.lifespan, sign.header.timeout);
    let CommandBody::Sign(params) = &sign.body else {
        panic!()
    };
    assert_eq!(params.description[0].key, "requester");
    assert_eq!(params.tbs[0].data_bytes().unwrap(), b"Text to sign");
    let prov = CommandDocument::from_json(
        CommandKind::Provision,
        &serde_json::from_str(PROVISION_EXTERNAL_ID).unwrap(),
    )
    .unwrap();
    assert_eq!(prov.header.external_id.as_deref(), Some("my-id"));
    assert_eq!(prov.header.to, None);
    let CommandBody::Provision(p) = &prov.body else {
        panic!()
    };
    let key = &p.profile.keygenrequests[0];
    assert_eq!(
        (
            key.usage.as_str(),
            key.keytypeprios[0].keylength.as_str(),
            key.storageprios[0].as_str(),
            key.keystate.as_str()
        ),
        ("SIG", "2048", "APP", "ACTIVE")
    );
    hermod_client::CertReq::from_der(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &key.certreq).unwrap(),
    )
    .unwrap();
}

#[test]
fn documented_answer_parses_with_its_http_message_box() {
    let answer = CommandAnswer::from_json(ANSWER.as_bytes(), "https://h").unwrap();
    assert_eq!(answer.command_id, "688");
    assert_eq!(answer.command_type, CommandType::Sign);
    assert_eq!(answer.state, CommandState::InProgress);
    let json: Value = serde_json::from_str(ANSWER).unwrap();
    assert_eq!(serde_json::to_value(&answer).unwrap(), json);
    // Lower-case escapes decode; http is reported, not refused.
    let link = answer.desktop_link().unwrap();
    assert_eq!(
        link.message_box_url(),
        "http://nexus-cod1.ad.nexusgroup.com:20401/hermod/rest/ms/5f0c2b1e-8a47-4c1d-9e3a-2b6d7f8e9a01"
    );
    assert_eq!(link.token(), "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f");
    assert!(link.is_plain_http());
    // The link written back opens the same message box.
    let again = hermod_client::DesktopLink::parse(&link.to_string()).unwrap();
    assert_eq!(again, link);
    // A sign answer gets no Mobile App link (provisioning only).
    assert!(matches!(
        answer.mobile_link("t", None),
        Err(Error::InvalidLink(_))
    ));
    let dbg = format!("{answer:?}");
    assert!(
        !dbg.contains("c3d4e5f6") && !dbg.contains("/rest/ms/") && !dbg.contains("5f0c2b1e"),
        "{dbg}"
    );
}

async fn post_raw(e: &common::Env, kind: &str, doc: &Value) -> (u16, String) {
    let http = HttpClient::new(&e.trust, "test").unwrap();
    let req = HttpRequest::post(format!("{}/{kind}", e.sim.command_url()))
        .secret_header("X-Api-Key", e.client.config().token().to_base64())
        .json(doc)
        .unwrap();
    let resp = http.send(req).await.unwrap();
    (
        resp.status(),
        String::from_utf8_lossy(resp.body()).into_owned(),
    )
}

#[tokio::test]
async fn the_simulator_accepts_every_documented_command() {
    let e = env(EnvOptions::default()).await;
    for (kind, text) in commands() {
        let json: Value = serde_json::from_str(text).unwrap();
        let (status, body) = post_raw(&e, kind.path_segment(), &json).await;
        assert_eq!(status, 200, "{kind}: {body}");
        let answer = CommandAnswer::from_json(body.as_bytes(), "sim").unwrap();
        assert_eq!(answer.command_type, kind.command_type());
        assert!(answer.desktop_link().is_ok());
    }
    assert_eq!(e.sim.commands().len(), 3);
}

#[tokio::test]
async fn the_simulator_refuses_shapes_the_record_contradicts() {
    let e = env(EnvOptions::default()).await;
    let sign: Value = serde_json::from_str(SIGN).unwrap();
    let prov: Value = serde_json::from_str(PROVISION).unwrap();
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    let mut v = prov.clone();
    v["provCommand"]["profile"]["keygenrequests"][0]["keytypeprios"] =
        serde_json::json!(["RSA2048"]);
    cases.push((
        "provision",
        v,
        "provCommand.profile.keygenrequests[0].keytypeprios[0] must be an object",
    ));
    let mut v = prov.clone();
    v["provCommand"]["profile"]["keygenrequests"][0]["keytypeprios"][0]["keylength"] = 2048.into();
    cases.push(("provision", v, "keytypeprios[0].keylength must be a string"));
    let mut v = prov.clone();
    v["provCommand"]["profile"]["keygenrequests"][0]["usage"] = "sign".into();
    cases.push((
        "provision",
        v,
        "keygenrequests[0].usage \"sign\" must be upper-case",
    ));
    let mut v = prov.clone();
    v["provCommand"]["profile"]["keygenrequests"][0]["certreq"] = "MIIBcsr0".into();
    cases.push((
        "provision",
        v,
        "keygenrequests[0].certreq is not a base64 DER PKCS#10",
    ));
    let mut v = sign.clone();
    v["signCommand"]["params"]["description"] = serde_json::json!(["Sign the contract"]);
    cases.push((
        "sign",
        v,
        "signCommand.params.description[0] must be an object",
    ));
    let mut v = sign.clone();
    v["signCommand"]["params"]["tbs"][0]["visible"] = "true".into();
    cases.push((
        "sign",
        v,
        "signCommand.params.tbs[0].visible must be a boolean",
    ));
    let mut v = sign.clone();
    v["commandHeader"]["timeout"] = 60.into();
    cases.push((
        "sign",
        v,
        "commandHeader.timeout (60) is past commandHeader.lifespan (30)",
    ));
    let mut v = sign.clone();
    v["signCommand"]["params"]["format"] = "raw".into();
    cases.push(("sign", v, "signCommand.params.format"));
    cases.push((
        "endpinreset",
        serde_json::json!({"commandHeader": {"lifespan": 30, "timeout": 30},
            "endpinresetCommand": {"params": {"smartcardid": "c", "encryptednonce": "n", "newadminkey": "ABCDEF"}}}),
        "endpinresetCommand.params.newadminkey must be 48 lower-case hex characters",
    ));
    cases.push((
        "ping",
        serde_json::json!({"commandHeader": {"lifespan": 30, "timeout": 30},
            "pingCommand": {"params": {"deviceinfo": true}}}),
        "pingCommand.params.deviceinfo must be \"true\" or \"false\"",
    ));
    for (kind, doc, expected) in cases {
        let (status, body) = post_raw(&e, kind, &doc).await;
        assert_eq!(status, 400, "{expected}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(expected), "{expected}: {message}");
    }
    assert!(e.sim.commands().is_empty());
}
