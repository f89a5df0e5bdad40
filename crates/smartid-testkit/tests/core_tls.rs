#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! smartid-core's HTTP client over real sockets and real TLS: mutual TLS
//! with PKCS#12 identities, wrong roots, wrong host names, plain-HTTP
//! refusal, status and size errors, timeouts.

use std::time::Duration;

use smartid_core::{
    ClientIdentity, Error, HttpClient, HttpRequest, HttpSettings, Secret, TrustRoots,
};
use smartid_testkit::{CertSpec, CertUsage, ClientAuth, Pkcs12Encryption, TestPki, TlsFront};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn backend() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/hello"))
        .respond_with(ResponseTemplate::new(200).set_body_string("hello over tls"))
        .mount(&server)
        .await;
    server
}

fn client(settings: &HttpSettings) -> HttpClient {
    HttpClient::new(settings, "core-tls-test/0").unwrap()
}

#[tokio::test]
async fn mutual_tls_with_pkcs12_identities() {
    let pki = TestPki::generate().unwrap();
    let backend = backend().await;
    let front = TlsFront::start(
        *backend.address(),
        &pki.localhost_server().unwrap(),
        ClientAuth::Required(vec![pki.root_der()]),
    )
    .await
    .unwrap();
    let password = Secret::new("123456");
    for encryption in [Pkcs12Encryption::Modern, Pkcs12Encryption::Legacy] {
        let p12 = pki
            .client("mTLS Client")
            .unwrap()
            .to_pkcs12(&password, encryption, "client")
            .unwrap();
        let identity = ClientIdentity::from_pkcs12_der(&p12, "client.p12", &password).unwrap();
        let settings = HttpSettings::new()
            .trust(TrustRoots::Only(pki.root_trust_store().unwrap()))
            .identity(identity);
        let response = client(&settings)
            .send(HttpRequest::get(format!("{}/hello", front.url())))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{encryption:?}");
        assert_eq!(response.text(), "hello over tls");
    }
    assert_eq!(front.handshakes_ok(), 2);
}

#[tokio::test]
async fn server_refuses_clients_without_or_with_a_foreign_certificate() {
    let pki = TestPki::generate().unwrap();
    let backend = backend().await;
    let front = TlsFront::start(
        *backend.address(),
        &pki.localhost_server().unwrap(),
        ClientAuth::Required(vec![pki.root_der()]),
    )
    .await
    .unwrap();
    let trust = TrustRoots::Only(pki.root_trust_store().unwrap());

    // No client certificate at all.
    let err = client(&HttpSettings::new().trust(trust.clone()))
        .send(HttpRequest::get(format!("{}/hello", front.url())))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    assert!(err.to_string().contains("client certificate"), "{err}");

    // A client certificate from another PKI.
    let stranger = TestPki::generate().unwrap().client("Stranger").unwrap();
    let settings = HttpSettings::new()
        .trust(trust)
        .identity(stranger.to_client_identity().unwrap());
    let err = client(&settings)
        .send(HttpRequest::get(format!("{}/hello", front.url())))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    assert_eq!(front.handshakes_ok(), 0);
    assert!(front.handshakes_failed() >= 2);
}

#[tokio::test]
async fn client_refuses_server_from_another_root_or_for_another_host() {
    let pki = TestPki::generate().unwrap();
    let backend = backend().await;
    let other = TestPki::generate().unwrap();
    let front = TlsFront::start(
        *backend.address(),
        &other.localhost_server().unwrap(),
        ClientAuth::None,
    )
    .await
    .unwrap();
    let settings = HttpSettings::new().trust(TrustRoots::Only(pki.root_trust_store().unwrap()));
    let err = client(&settings)
        .send(HttpRequest::get(format!("{}/hello", front.url())))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    assert!(err.to_string().contains("trusted root"), "{err}");

    // Right root, wrong name.
    let wrong_name = pki
        .intermediate()
        .issue(&CertSpec::new("elsewhere.example", CertUsage::Server).san("elsewhere.example"))
        .unwrap();
    let front = TlsFront::start(*backend.address(), &wrong_name, ClientAuth::None)
        .await
        .unwrap();
    let err = client(&settings)
        .send(HttpRequest::get(format!("{}/hello", front.url())))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    assert!(err.to_string().contains("host name"), "{err}");

    // Platform roots do not know the test PKI either.
    let right = TlsFront::start(
        *backend.address(),
        &pki.localhost_server().unwrap(),
        ClientAuth::None,
    )
    .await
    .unwrap();
    let err = client(&HttpSettings::new())
        .send(HttpRequest::get(format!("{}/hello", right.url())))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err}");
    // ... while platform roots plus the test root do.
    let plus = HttpSettings::new().trust(TrustRoots::PlatformPlus(pki.root_trust_store().unwrap()));
    let ok = client(&plus)
        .send(HttpRequest::get(format!("{}/hello", right.url())))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn plain_http_only_through_the_dangerous_switch() {
    let backend = backend().await;
    let url = format!("{}/hello", backend.uri());
    let err = client(&HttpSettings::new())
        .send(HttpRequest::get(&url))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidSetting { .. }), "{err}");
    let mut settings = HttpSettings::new();
    settings.dangerous().allow_plain_http();
    let ok = client(&settings)
        .send(HttpRequest::get(&url))
        .await
        .unwrap();
    assert_eq!(ok.text(), "hello over tls");
}

#[tokio::test]
async fn status_size_and_timeout_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/teapot"))
        .respond_with(ResponseTemplate::new(418).set_body_string("{\"error\":\"teapot\"}"))
        .mount(&server)
        .await;
    Mock::given(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 64 * 1024]))
        .mount(&server)
        .await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let mut settings = HttpSettings::new()
        .max_response_bytes(16 * 1024)
        .request_timeout(Duration::from_millis(300));
    settings.dangerous().allow_plain_http();
    let http = client(&settings);

    let resp = http
        .send(HttpRequest::get(format!(
            "{}/teapot?token=secret",
            server.uri()
        )))
        .await
        .unwrap();
    let err = resp.error_for_status().unwrap_err();
    assert!(
        matches!(err, Error::HttpStatus { status: 418, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("teapot") && !err.to_string().contains("token=secret"));

    let err = http
        .send(HttpRequest::get(format!("{}/big", server.uri())))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 16384, .. }),
        "{err}"
    );

    let err = http
        .send(HttpRequest::get(format!("{}/slow", server.uri())))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");

    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = http
        .send(HttpRequest::get(format!("http://127.0.0.1:{port}/")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
}

#[tokio::test]
async fn secret_headers_reach_the_server() {
    let server = MockServer::start().await;
    Mock::given(path("/auth"))
        .and(wiremock::matchers::header("X-Api-Key", "k3y"))
        .and(wiremock::matchers::header(
            "Authorization",
            "Basic dXNlcjpwdw==",
        ))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let mut settings = HttpSettings::new();
    settings.dangerous().allow_plain_http();
    let resp = client(&settings)
        .send(
            HttpRequest::post(format!("{}/auth", server.uri()))
                .secret_header("X-Api-Key", Secret::new("k3y"))
                .basic_auth("user", &Secret::new("pw")),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let received = server.received_requests().await.unwrap();
    let ua = received[0]
        .headers
        .get("user-agent")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ua.starts_with("core-tls-test/0 smartid-core/"), "{ua}");
}
