//! Clients configured from nothing but `sim.json`, shared by the sim tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use smartid_core::{HttpClient, HttpRequest, HttpSettings, Secret, TrustRoots, TrustStore};

/// Reads `DIR/sim.json`.
pub(crate) fn sim_json(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("sim.json")).expect("sim.json");
    serde_json::from_str(&text).expect("sim.json is JSON")
}

pub(crate) fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("sim.json has no {pointer}"))
}

/// The trust store of `ca_pem`.
pub(crate) fn trust(v: &Value) -> TrustStore {
    TrustStore::from_path(s(v, "/ca_pem"), None).unwrap()
}

/// An Audkenni CIBA client from sim.json.
pub(crate) async fn ciba(v: &Value) -> audkenni_ciba::CibaClient {
    use audkenni_ciba::{CibaClient, JwsAlgorithm, RequestSigningKey};
    let pem = std::fs::read(s(v, "/audkenni/request_signing_key_pem")).unwrap();
    CibaClient::builder(s(v, "/audkenni/issuer"), s(v, "/audkenni/client_id"))
        .client_secret(Secret::new(s(v, "/audkenni/client_secret")))
        .signing_key(RequestSigningKey::from_pem(&pem, JwsAlgorithm::Rs256).unwrap())
        .http_settings(HttpSettings::new().trust(TrustRoots::Only(trust(v))))
        .build()
        .await
        .unwrap()
}

/// A D-Trust REST client from sim.json (mTLS with the p12).
pub(crate) fn dtrust(v: &Value) -> dtrust_client::DtrustClient {
    use dtrust_client::{DtrustClient, DtrustConfig};
    let config = DtrustConfig::rest(s(v, "/dtrust/rest_url"))
        .client_pkcs12_file(
            s(v, "/dtrust/client_p12"),
            Secret::new(s(v, "/dtrust/client_p12_password")),
        )
        .server_certificate_file(s(v, "/ca_pem"))
        .issuing_ca_file(s(v, "/dtrust/issuing_ca_pem"))
        .build()
        .unwrap();
    DtrustClient::new(config).unwrap()
}

/// A Hermod client from sim.json.
pub(crate) fn hermod(v: &Value) -> hermod_client::HermodClient {
    use hermod_client::{CommandTiming, HermodClient, HermodConfig};
    let config = HermodConfig::builder(s(v, "/hermod/command_url"))
        .token_base64(s(v, "/hermod/token"))
        .timing(CommandTiming::from_secs(120, 60, 10).unwrap())
        .http_settings(HttpSettings::new().trust(TrustRoots::Only(trust(v))))
        .build()
        .unwrap();
    HermodClient::new(config).unwrap()
}

/// A callback receiver (plain HTTP on 127.0.0.1) with sim.json's
/// credentials; returns its tracker and base URL.
pub(crate) fn receiver(v: &Value, port: u16) -> (hermod_client::Tracker, String) {
    use hermod_client::{CallbackReceiver, Tracker};
    let tracker = Tracker::new();
    let receiver = CallbackReceiver::new(
        tracker.clone(),
        s(v, "/hermod/callback_user"),
        &Secret::new(s(v, "/hermod/callback_password")),
    )
    .unwrap();
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(receiver.serve(listener));
    (tracker, url)
}

/// A sign command.
pub(crate) fn sign_command(external_id: &str) -> hermod_client::Command {
    use hermod_client::{Command, SignParams, ToBeSigned};
    Command::sign(SignParams::new(vec![ToBeSigned::text(
        "doc-1", "Document", "I agree.",
    )]))
    .external_id(external_id)
}

/// A plain-HTTP client for the control API.
pub(crate) fn control_client() -> HttpClient {
    let mut settings = HttpSettings::new().request_timeout(Duration::from_secs(20));
    settings.dangerous().allow_plain_http();
    HttpClient::new(&settings, "sim-test").unwrap()
}

/// Calls the control API: `(status, JSON body or Null)`.
pub(crate) async fn control(
    v: &Value,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{}", s(v, "/control_url").trim_end_matches('/'), path);
    let request = match method {
        "GET" => HttpRequest::get(url),
        "PUT" => HttpRequest::new(smartid_core::Method::Put, url),
        _ => HttpRequest::post(url),
    };
    let request = match body {
        Some(b) => request.json(&b).unwrap(),
        None => request,
    };
    let resp = control_client().send(request).await.unwrap();
    let json = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
    (resp.status(), json)
}

/// Polls `f` until it is true or `timeout` passes.
pub(crate) async fn eventually(timeout: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < end {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Orders a certificate with PKCS#10 over REST and waits for it; returns
/// the issued certificate's serial.
pub(crate) async fn dtrust_order(client: &dtrust_client::DtrustClient, cn: &str) -> String {
    use dtrust_client::{
        Clock as _, GeneratedCsr, KeySpec, OrderRequest, PasswordPolicy, RequestKind, SubjectDn,
        SystemClock, WaitOptions, generate_revocation_password,
    };
    let products = client.list_products().await.unwrap();
    let product = products
        .iter()
        .find(|p| p.accepts(&RequestKind::Pkcs10) && p.key_sizes.contains(&256))
        .expect("a PKCS#10 ECC product");
    let subject = SubjectDn::new(cn);
    let csr = GeneratedCsr::generate(Some(product), &subject, &[], KeySpec::EcP256).unwrap();
    let password = generate_revocation_password(&PasswordPolicy::default()).unwrap();
    let order =
        OrderRequest::pkcs10(&product.id, subject, &csr.csr_der).revocation_password(password);
    let pending = client.submit(&order).await.unwrap().into_pending();
    let options = WaitOptions::new()
        .timeout_from(SystemClock.now(), Duration::from_secs(30))
        .poll_interval(Duration::from_millis(200));
    client.wait_for_issuance(&pending, &options).await.unwrap();
    let issued = client.fetch_certificate(&pending).await.unwrap();
    assert!(issued.is_for_key(&csr.public_key_spki));
    issued.certificate.serial_hex().to_owned()
}
