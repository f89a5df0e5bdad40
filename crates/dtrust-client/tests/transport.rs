//! Connection set-up against the simulator: a legacy (RC2/3DES) PKCS#12
//! client identity as D-Trust issued in 2015, refused identities and
//! servers, and a local CONNECT proxy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{T, builder, temp_dir};
use dtrust_client::{DtrustClient, Error, IDM_DEFAULT_P12_PASSWORD};
use smartid_core::{Secret, TrustStore};
use smartid_testkit::dtrust::DtrustSimulator;
use smartid_testkit::{ConnectProxy, Pkcs12Encryption, TestPki};

async fn legacy_p12_identity(t: T) {
    let sim = DtrustSimulator::start().await.unwrap();
    let id = sim.issue_client_identity("neXus Technology GmbH").unwrap();
    let password = Secret::new(IDM_DEFAULT_P12_PASSWORD);
    let p12 = id
        .to_pkcs12(&password, Pkcs12Encryption::Legacy, "csm")
        .unwrap();
    let path = temp_dir("p12").join("CSMWM447922870184925_neXus_Technology_GmbH_2015_SSL.p12");
    std::fs::write(&path, p12).unwrap();
    let config = builder(&sim, t)
        .client_pkcs12_file(&path, password)
        .build()
        .unwrap();
    let client = DtrustClient::new(config).unwrap();
    assert_eq!(client.list_products().await.unwrap().len(), 3);
    assert!(sim.tls_front().handshakes_ok() >= 1);

    // The wrong password names the file and never shows a password.
    let e = builder(&sim, t)
        .client_pkcs12_file(&path, Secret::new("654321"))
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("wrong password") && e.contains("2015_SSL.p12") && !e.contains("654321"),
        "{e}"
    );
}

#[tokio::test]
async fn legacy_p12_identity_rest() {
    legacy_p12_identity(T::Rest).await;
}

#[tokio::test]
async fn legacy_p12_identity_soap() {
    legacy_p12_identity(T::Soap11).await;
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused() {
    let sim = DtrustSimulator::start().await.unwrap();
    let stranger = TestPki::generate().unwrap().client("stranger").unwrap();
    let config = builder(&sim, T::Rest)
        .client_identity(stranger.to_client_identity().unwrap())
        .build()
        .unwrap();
    let e = DtrustClient::new(config)
        .unwrap()
        .list_products()
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Http(smartid_core::Error::Tls { .. })),
        "{e}"
    );
    assert!(sim.tls_front().handshakes_failed() >= 1);
}

#[tokio::test]
async fn a_server_outside_the_configured_trust_is_refused() {
    let sim = DtrustSimulator::start().await.unwrap();
    let other = TestPki::generate().unwrap();
    let id = sim.issue_client_identity("c").unwrap();
    let config = dtrust_client::DtrustConfig::rest(sim.rest_url())
        .client_identity(id.to_client_identity().unwrap())
        .server_trust(
            TrustStore::from_bytes(other.root_pem().as_bytes(), "other.cer", None).unwrap(),
        )
        .build()
        .unwrap();
    let e = DtrustClient::new(config)
        .unwrap()
        .list_products()
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Http(smartid_core::Error::Tls { .. })),
        "{e}"
    );
}

async fn through_proxy(t: T) {
    let sim = DtrustSimulator::start().await.unwrap();
    let proxy = ConnectProxy::start().await.unwrap();
    let id = sim.issue_client_identity("c").unwrap();
    let config = builder(&sim, t)
        .client_identity(id.to_client_identity().unwrap())
        .http_settings(
            dtrust_client::HttpSettings::new()
                .proxy(dtrust_client::ProxySettings::new(proxy.host(), proxy.port()).unwrap()),
        )
        .build()
        .unwrap();
    let client = DtrustClient::new(config).unwrap();
    assert_eq!(client.list_products().await.unwrap().len(), 3);
    let port = sim.tls_front().addr().port();
    let targets = proxy.connect_targets();
    assert!(
        targets.iter().any(|t| t.ends_with(&format!(":{port}"))),
        "{targets:?}"
    );
}

#[tokio::test]
async fn through_a_connect_proxy_rest() {
    through_proxy(T::Rest).await;
}

#[tokio::test]
async fn through_a_connect_proxy_soap() {
    through_proxy(T::Soap12).await;
}

#[tokio::test]
async fn fetched_certificates_must_chain_to_the_configured_issuing_ca() {
    let sim = DtrustSimulator::start().await.unwrap();
    let id = sim.issue_client_identity("c").unwrap();
    let stranger_ca = TestPki::generate().unwrap().root_trust_store().unwrap();
    let client = DtrustClient::new(
        builder(&sim, T::Rest)
            .client_identity(id.to_client_identity().unwrap())
            .issuing_ca_trust(stranger_ca)
            .build()
            .unwrap(),
    )
    .unwrap();
    let dn = dtrust_client::SubjectDn::new("a.example.de");
    let csr = dtrust_client::GeneratedCsr::generate(None, &dn, &[], dtrust_client::KeySpec::EcP256)
        .unwrap();
    let order = dtrust_client::OrderRequest::pkcs10("1003", dn, &csr.csr_der)
        .revocation_password(Secret::new("Abcdefgh12345"));
    let pending = client.submit(&order).await.unwrap().into_pending();
    let e = client.fetch_certificate(&pending).await.unwrap_err();
    assert!(matches!(e, Error::UntrustedCertificate { .. }), "{e}");
}

#[tokio::test]
async fn a_wrong_soap_service_name_is_reported_by_the_server() {
    let sim = DtrustSimulator::start().await.unwrap();
    let id = sim.issue_client_identity("c").unwrap();
    let cer = temp_dir("cer").join("server.cer");
    std::fs::write(&cer, sim.server_ca_pem()).unwrap();
    let config =
        dtrust_client::DtrustConfig::soap(sim.soap_url(), sim.soap_namespace(), "OtherService")
            .client_identity(id.to_client_identity().unwrap())
            .server_certificate_file(cer)
            .build()
            .unwrap();
    let e = DtrustClient::new(config)
        .unwrap()
        .list_products()
        .await
        .unwrap_err();
    let se = e.server_error().unwrap();
    assert!(se.message().contains("OtherService/getProducts"), "{e}");
}
