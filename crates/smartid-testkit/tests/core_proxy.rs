#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! smartid-core through a real local CONNECT proxy.

use smartid_core::{HttpClient, HttpRequest, HttpSettings, ProxySettings, TrustRoots};
use smartid_testkit::{ClientAuth, ConnectProxy, TestPki, TlsFront};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn https_through_connect_proxy_and_no_proxy_bypass() {
    let pki = TestPki::generate().unwrap();
    let backend = MockServer::start().await;
    Mock::given(path("/via"))
        .respond_with(ResponseTemplate::new(200).set_body_string("tunnelled"))
        .mount(&backend)
        .await;
    let front = TlsFront::start(
        *backend.address(),
        &pki.localhost_server().unwrap(),
        ClientAuth::None,
    )
    .await
    .unwrap();
    let proxy = ConnectProxy::start().await.unwrap();
    let trust = TrustRoots::Only(pki.root_trust_store().unwrap());

    let settings = HttpSettings::new()
        .trust(trust.clone())
        .proxy(ProxySettings::new(proxy.host(), proxy.port()).unwrap());
    let http = HttpClient::new(&settings, "proxy-test/0").unwrap();
    let resp = http
        .send(HttpRequest::get(format!("{}/via", front.url())))
        .await
        .unwrap();
    assert_eq!(resp.text(), "tunnelled");
    assert_eq!(
        proxy.connect_targets(),
        vec![format!("localhost:{}", front.addr().port())]
    );

    // The same request with localhost in the no-proxy list goes direct.
    let settings = HttpSettings::new().trust(trust).proxy(
        ProxySettings::new(proxy.host(), proxy.port())
            .unwrap()
            .no_proxy_hosts(["localhost"]),
    );
    let http = HttpClient::new(&settings, "proxy-test/0").unwrap();
    let resp = http
        .send(HttpRequest::get(format!("{}/via", front.url())))
        .await
        .unwrap();
    assert_eq!(resp.text(), "tunnelled");
    assert_eq!(proxy.connect_targets().len(), 1, "no second CONNECT");
}

#[tokio::test]
async fn dead_proxy_is_a_connect_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let settings = HttpSettings::new().proxy(ProxySettings::new("127.0.0.1", port).unwrap());
    let err = HttpClient::new(&settings, "proxy-test/0")
        .unwrap()
        .send(HttpRequest::get("https://localhost:9/"))
        .await
        .unwrap_err();
    assert!(matches!(err, smartid_core::Error::Connect { .. }), "{err}");
}
