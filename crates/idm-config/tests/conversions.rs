//! End to end: files as Identity Manager holds them, converted into client
//! configurations that talk to the testkit's D-Trust and Hermod simulators
//! over real TLS (mutual TLS for D-Trust).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use idm_config::{
    CheckOptions, Code, DtrustBundle, DtrustConnectorConfig, Error, HermodClients,
    MessagingServerEntry, PropertiesFile, check_agreement,
};
use smartid_core::{HttpSettings, Secret, TrustRoots};
use smartid_testkit::dtrust::DtrustSimulator;
use smartid_testkit::hermod::{ApiClient, DeviceBehavior, HermodSimulator};
use smartid_testkit::{Pkcs12Encryption, TestPki};

/// A bundle as an operator would upload it, for the simulator's account.
fn bundle_for(sim: &DtrustSimulator, extra: &str, password: &str) -> DtrustBundle {
    let identity = sim
        .issue_client_identity("IDM D-Trust connector Þór")
        .unwrap();
    // A 2015-style D-Trust file: legacy RC2/3DES PKCS#12.
    let p12 = identity
        .to_pkcs12(&Secret::new(password), Pkcs12Encryption::Legacy, "client")
        .unwrap();
    let text = format!(
        "# D-Trust connector\nurl={}\np12File=CSMWM447922870184925_neXus_Technology_GmbH_2015_SSL.p12\np12Password={password}\nserverCertificate=D-TRUST_SSL_Class_3_CA_1_2009.cer\ncertificateTemplates=Basic SSL ID (RSA)|CN=${{cn}},E=pki@example.de;Basic Device ID (ECC)\nverifiedEmailDomains=example.de\n{extra}",
        sim.rest_url()
    );
    let props = PropertiesFile::parse(text.as_bytes(), "dtrust.properties");
    DtrustBundle::from_parts(
        &props,
        vec![
            (
                "CSMWM447922870184925_neXus_Technology_GmbH_2015_SSL.p12".into(),
                p12,
            ),
            (
                "D-TRUST_SSL_Class_3_CA_1_2009.cer".into(),
                sim.server_ca_der(),
            ),
        ],
    )
    .unwrap()
}

#[tokio::test]
async fn rest_bundle_becomes_a_working_dtrust_client() {
    let sim = DtrustSimulator::start().await.unwrap();
    let zip = bundle_for(&sim, "", "s3cret").to_zip().unwrap();
    let bundle = DtrustBundle::read(&zip, "upload.zip").unwrap();
    let config = bundle.to_dtrust_config(&CheckOptions::default()).unwrap();
    assert!(matches!(
        config.transport(),
        dtrust_client::Transport::Rest { .. }
    ));
    assert_eq!(
        config.templates().unwrap().names(),
        ["Basic SSL ID (RSA)", "Basic Device ID (ECC)"]
    );
    assert_eq!(config.verified_email_domains(), ["example.de"]);
    let client = dtrust_client::DtrustClient::new(config).unwrap();
    let products = client.list_products().await.unwrap();
    assert!(
        products.iter().any(|p| p.name == "Basic Device ID (ECC)"),
        "{products:?}"
    );
}

#[tokio::test]
async fn soap_keys_select_the_soap_transport() {
    let sim = DtrustSimulator::start().await.unwrap();
    let extra = format!(
        "namespaceURI={}\nlocalPart={}\n",
        sim.soap_namespace(),
        sim.soap_service()
    );
    let mut bundle_props = bundle_for(&sim, &extra, "123456").properties().unwrap();
    bundle_props.set("url", &sim.soap_url());
    let identity = sim.issue_client_identity("soap").unwrap();
    let p12 = identity
        .to_pkcs12(&Secret::new("123456"), Pkcs12Encryption::Modern, "client")
        .unwrap();
    let props = PropertiesFile::parse(&bundle_props.to_bytes(), "dtrust.properties");
    let bundle = DtrustBundle::from_parts(
        &props,
        vec![
            (
                "CSMWM447922870184925_neXus_Technology_GmbH_2015_SSL.p12".into(),
                p12,
            ),
            (
                "D-TRUST_SSL_Class_3_CA_1_2009.cer".into(),
                sim.server_ca_der(),
            ),
        ],
    )
    .unwrap();
    let checked = bundle.check(&CheckOptions::default());
    // The simulator's client certificates are short-lived: B005 may warn too.
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    assert!(
        checked
            .diagnostics
            .iter()
            .any(|d| d.code == Code::SoapDeprecated)
    );
    let config = bundle.to_dtrust_config(&CheckOptions::default()).unwrap();
    assert!(matches!(
        config.transport(),
        dtrust_client::Transport::Soap { .. }
    ));
    let client = dtrust_client::DtrustClient::new(config).unwrap();
    assert!(!client.list_products().await.unwrap().is_empty());
}

#[tokio::test]
async fn extracted_bundle_converts_from_a_directory() {
    let sim = DtrustSimulator::start().await.unwrap();
    let bundle = bundle_for(&sim, "", "s3cret");
    let dir = std::env::temp_dir().join(format!("idm-config-conv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    bundle.extract_to(&dir).unwrap();
    let props = PropertiesFile::parse(
        &std::fs::read(dir.join("dtrust.properties")).unwrap(),
        "dtrust.properties",
    );
    let checked = DtrustConnectorConfig::from_properties(&props, &CheckOptions::default());
    let config = checked
        .into_result()
        .unwrap()
        .to_dtrust_config_in(&dir)
        .unwrap();
    let client = dtrust_client::DtrustClient::new(config).unwrap();
    assert!(!client.list_products().await.unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bundle_with_errors_is_not_converted() {
    let sim = DtrustSimulator::start().await.unwrap();
    let mut props = bundle_for(&sim, "", "s3cret").properties().unwrap();
    props.set("p12Password", "wrong");
    let bundle = DtrustBundle::from_parts(
        &PropertiesFile::parse(&props.to_bytes(), "dtrust.properties"),
        vec![
            (
                "CSMWM447922870184925_neXus_Technology_GmbH_2015_SSL.p12".into(),
                sim.issue_client_identity("x")
                    .unwrap()
                    .to_pkcs12(&Secret::new("s3cret"), Pkcs12Encryption::Modern, "c")
                    .unwrap(),
            ),
            (
                "D-TRUST_SSL_Class_3_CA_1_2009.cer".into(),
                sim.server_ca_der(),
            ),
        ],
    )
    .unwrap();
    match bundle.to_dtrust_config(&CheckOptions::default()) {
        Err(Error::InvalidConfig(problems)) => {
            let wrong = problems
                .iter()
                .find(|p| p.message.starts_with("error[B002]: "))
                .expect("the wrong password is reported");
            assert!(wrong.field.ends_with("!dtrust.properties:4"), "{wrong}");
            assert!(!wrong.to_string().contains("wrong"), "no password: {wrong}");
            assert!(
                problems.iter().all(|p| p.message.starts_with("error[")),
                "warnings are left out: {problems:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_configuration_dtrust_client_refuses_keeps_its_error_as_the_source() {
    let sim = DtrustSimulator::start().await.unwrap();
    // `localhost` passes the bundle's checks, but dtrust-client wants a
    // domain name (the second line wins, with a duplicate-key warning).
    let bundle = bundle_for(
        &sim,
        "verifiedEmailDomains=example.de;localhost\n",
        "s3cret",
    );
    let err = bundle
        .to_dtrust_config(&CheckOptions::default())
        .unwrap_err();
    let Error::Dtrust(inner) = &err else {
        panic!("{err:?}")
    };
    assert!(inner.to_string().contains("localhost"), "{inner}");
    let source = std::error::Error::source(&err).expect("a source");
    assert!(source.downcast_ref::<dtrust_client::Error>().is_some());
}

#[test]
fn a_configuration_hermod_client_refuses_keeps_its_error_as_the_source() {
    // Credentials in the URL pass the entry's checks; hermod-client refuses them.
    let entry = MessagingServerEntry::new(
        "Hermod",
        "https://user:pw@hermod.example/hermod/rest/command",
        Secret::new("cHJpbWUxOmtleQ=="),
        600,
        300,
    );
    assert!(entry.check("entry").iter().all(|d| !d.is_error()));
    let err = entry.to_hermod_config(HttpSettings::new()).unwrap_err();
    assert!(matches!(err, Error::Hermod(_)), "{err:?}");
    let source = std::error::Error::source(&err).expect("a source");
    assert!(source.downcast_ref::<hermod_client::Error>().is_some());
    assert!(!err.to_string().contains("pw@"), "{err}");
}

#[test]
fn a_connector_file_without_url_names_the_key() {
    let file = PropertiesFile::parse(b"certificateTemplates=A\n", "dtrust.properties");
    let config = DtrustConnectorConfig::from_properties(&file, &CheckOptions::default())
        .into_result()
        .unwrap();
    let pki = TestPki::generate().unwrap();
    let err = config
        .dtrust_config_builder(
            pki.client("c").unwrap().to_client_identity().unwrap(),
            pki.root_trust_store().unwrap(),
        )
        .unwrap_err();
    match err {
        Error::InvalidConfig(problems) => {
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].field, "url");
            assert!(problems[0].message.starts_with("error[D006]: "));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn messaging_server_entry_becomes_a_working_hermod_client() {
    let pki = TestPki::generate().unwrap();
    let key = "079b6a64d75b4e9585bd0c24f36a7deba0ad03498ecf4d69b5766f24fa02e045";
    let sim = HermodSimulator::builder(pki.localhost_server().unwrap())
        .client(ApiClient::new(
            "prime1",
            Secret::new(key),
            "https://localhost:1/idm-operator/ws/hermod",
            pki.root_trust_store().unwrap(),
        ))
        .device(DeviceBehavior::never_opens())
        .start()
        .await
        .unwrap();

    // Hermod's side, as its configuration file holds it (older camelCase spelling).
    let hermod_json = format!(
        r#"{{"allowedClients": [{{"clientId": "prime1", "key": "{key}", "callbackUrl": "https://localhost:1/idm-operator/ws/hermod", "publicUrl": "{}rest/ms"}}]}}"#,
        sim.base_url()
    );
    let hermod = HermodClients::from_json(&hermod_json, "hermod.json");
    assert!(hermod.diagnostics.is_empty(), "{:#?}", hermod.diagnostics);

    // Identity Manager's side.
    let entry_json = format!(
        r#"{{"name": "Hermod", "url": "{}", "authenticationToken": "cHJpbWUxOjA3OWI2YTY0ZDc1YjRlOTU4NWJkMGMyNGYzNmE3ZGViYTBhZDAzNDk4ZWNmNGQ2OWI1NzY2ZjI0ZmEwMmUwNDU=", "lifespan": 600, "timeout": 300}}"#,
        sim.command_url()
    );
    let checked = MessagingServerEntry::from_json(&entry_json, "messaging.json");
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let entry = checked.value.unwrap();
    assert!(check_agreement(&entry, "messaging.json", &hermod.value, "hermod.json").is_empty());

    let http = HttpSettings::new().trust(TrustRoots::Only(pki.root_trust_store().unwrap()));
    let config = entry.to_hermod_config(http).unwrap();
    assert_eq!(config.token().client_id(), "prime1");
    assert_eq!(
        config.timing().session_start_timeout(),
        Duration::from_secs(10)
    );
    let client = hermod_client::HermodClient::new(config).unwrap();
    let sent = client.send(&hermod_client::Command::ping()).await.unwrap();
    assert!(!sent.answer.destinations.is_empty());
    assert_eq!(sim.commands().len(), 1);
    assert_eq!(sim.refused_api_keys(), 0);

    // A wrong key: the agreement check says so before Hermod refuses it.
    let mut wrong = entry.clone();
    wrong.authentication_token = Secret::new("cHJpbWUxOndyb25n"); // prime1:wrong
    let d = check_agreement(&wrong, "messaging.json", &hermod.value, "hermod.json");
    assert_eq!(d[0].code, Code::AgreementKeyMismatch);
    let http = HttpSettings::new().trust(TrustRoots::Only(pki.root_trust_store().unwrap()));
    let refused = hermod_client::HermodClient::new(wrong.to_hermod_config(http).unwrap())
        .unwrap()
        .send(&hermod_client::Command::ping())
        .await;
    assert!(refused.is_err());
    assert_eq!(sim.refused_api_keys(), 1);
}

#[test]
fn invalid_entry_is_not_converted() {
    let entry = MessagingServerEntry::new(
        "Hermod",
        "http://hermod.example/hermod/rest/command",
        Secret::new("cHJpbWUxOmtleQ=="),
        60,
        120,
    );
    match entry.to_hermod_config(HttpSettings::new()) {
        Err(Error::InvalidConfig(problems)) => {
            let codes: Vec<_> = problems.iter().map(|p| &p.message[..11]).collect();
            assert_eq!(codes, ["error[M002]", "error[M007]"]);
            assert!(problems.iter().all(|p| p.field == "Messaging Server entry"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn proxy_and_soap_service_reach_the_dtrust_configuration() {
    let file = PropertiesFile::parse(
        b"url=https://dtrust.example/soap\nnamespaceURI=http://ws.example/\nlocalPart=CertService\nproxyHost=proxy.internal\nproxyPort=3128\ncertificateTemplates=A;B;A\n",
        "dtrust.properties",
    );
    let connector = DtrustConnectorConfig::from_properties(&file, &CheckOptions::default()).value;
    let pki = TestPki::generate().unwrap();
    let config = connector
        .dtrust_config_builder(
            pki.client("c").unwrap().to_client_identity().unwrap(),
            pki.root_trust_store().unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        config.transport(),
        &dtrust_client::Transport::soap(
            "https://dtrust.example/soap",
            dtrust_client::SoapService::new("http://ws.example/", "CertService"),
        )
    );
    let proxy = config.http_settings().proxy_value().expect("the proxy");
    assert_eq!((proxy.host(), proxy.port()), ("proxy.internal", 3128));
    assert!(config.http_settings().identity_value().is_some());
    assert!(matches!(
        config.http_settings().trust_value(),
        TrustRoots::Only(_)
    ));

    // A proxy host the HTTP settings refuse is a configuration problem naming the key.
    let file = PropertiesFile::parse(
        b"url=https://dtrust.example/rest\nproxyHost=http://proxy.internal\nproxyPort=3128\ncertificateTemplates=A\n",
        "dtrust.properties",
    );
    let connector = DtrustConnectorConfig::from_properties(&file, &CheckOptions::default()).value;
    match connector.dtrust_config_builder(
        pki.client("c").unwrap().to_client_identity().unwrap(),
        pki.root_trust_store().unwrap(),
    ) {
        Err(Error::InvalidConfig(problems)) => assert_eq!(problems[0].field, "proxyHost"),
        other => panic!("{other:?}"),
    }
}
