//! D-Trust benchmarks, each a ratio of two things measured in the same run
//! (interleaved rounds, median; see `smartid_testkit::bench`):
//!
//! 1. CPU per complete REST order round trip (submit, status, fetch,
//!    revoke) of `DtrustClient` against the same requests sent with plain
//!    reqwest and parsed with serde_json as a careful hand-written client
//!    would (same URLs, headers, bodies, client certificate, rustls
//!    provider; the certificate's chain signatures, public key and subject
//!    checked, as ours does). Server: the testkit's `DtrustSimulator` on
//!    another thread, the same for both; the client runs on a current-thread
//!    runtime and only its thread's CPU is counted. The CSR and the
//!    revocation password are made once, outside the loop, for both.
//! 2. The same round trip over legacy SOAP 1.1, against ours over REST.
//! 3. Certificate response parsing, SOAP against REST.
//!
//! `cargo bench -p dtrust-client --bench dtrust_bench` (an argument
//! `rest`, `soap` or `parse` runs only that part).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;
use der::{Decode as _, Encode as _, Tagged as _};
use dtrust_client::{
    DtrustClient, DtrustConfig, GeneratedCsr, KeySpec, OrderRequest, PasswordPolicy, SubjectDn,
    TrustStore, generate_revocation_password,
};
use serde::{Deserialize, Serialize};
use smartid_core::{ClientIdentity, Secret};
use smartid_testkit::TestPki;
use smartid_testkit::bench::{Comparison, Meter};
use smartid_testkit::dtrust::DtrustSimulator;

const NS: &str = "http://ws.csm.d-trust.test/";
const ROUNDS: usize = 41;
const ORDERS_PER_ROUND: u64 = 60;
const CN: &str = "bench.example.de";
const PRODUCT: &str = "1003";
const CN_OID: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("2.5.4.3");

/// What the client side needs of the simulator running on its own thread.
struct Server {
    rest_url: String,
    soap_url: String,
    soap_namespace: String,
    soap_service: String,
    ca_pem: String,
    identity: ClientIdentity,
    identity_pem: String,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

fn start_server() -> Server {
    let (tx, rx) = mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let sim = DtrustSimulator::start().await.unwrap();
            let id = sim.issue_client_identity("bench").unwrap();
            tx.send((
                sim.rest_url(),
                sim.soap_url(),
                sim.soap_namespace(),
                sim.soap_service(),
                sim.server_ca_pem(),
                id.to_client_identity().unwrap(),
                format!("{}{}", id.key_pem(), id.chain_pem()),
            ))
            .unwrap();
            let _ = stopped.await;
            drop(sim);
        });
    });
    let (rest_url, soap_url, soap_namespace, soap_service, ca_pem, identity, identity_pem) =
        rx.recv().unwrap();
    Server {
        rest_url,
        soap_url,
        soap_namespace,
        soap_service,
        ca_pem,
        identity,
        identity_pem,
        stop,
        thread,
    }
}

/// What both sides order: made once, outside the measured loop.
struct Fixture {
    csr: GeneratedCsr,
    password: Secret,
}

async fn ours_round_trip(client: &DtrustClient, f: &Fixture) {
    let order = OrderRequest::pkcs10(PRODUCT, SubjectDn::new(CN), &f.csr.csr_der)
        .revocation_password(f.password.clone());
    let pending = client.submit(&order).await.unwrap().into_pending();
    let status = client.status(&pending.request_id).await.unwrap();
    assert_eq!(status.status, dtrust_client::RequestStatus::Issued);
    let issued = client.fetch_certificate(&pending).await.unwrap();
    client
        .revoke(issued.certificate.serial_hex(), &f.password, None)
        .await
        .unwrap();
}

// ---- the reference: plain reqwest + serde_json, written by hand ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefSubmit<'a> {
    product_id: &'a str,
    request_type: &'a str,
    client_reference: &'a str,
    subject: RefSubject<'a>,
    pkcs10: &'a str,
    revocation_password: &'a str,
}

#[derive(Serialize)]
struct RefSubject<'a> {
    #[serde(rename = "CN")]
    cn: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefReceipt {
    request_id: String,
}

#[derive(Deserialize)]
struct RefStatus {
    status: String,
}

#[derive(Deserialize)]
struct RefCertificate {
    certificate: String,
    #[serde(default)]
    chain: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefRevoke<'a> {
    revocation_password: &'a str,
}

#[derive(Deserialize)]
struct RefRevoked {
    revoked: bool,
}

struct Reference {
    http: reqwest::Client,
    base: String,
    /// The CSR, base64, and its SubjectPublicKeyInfo (known from key
    /// generation).
    csr_b64: String,
    spki: Vec<u8>,
    password: String,
}

fn reference_client(server: &Server) -> reqwest::Client {
    // As smartid-core's HttpClient configures reqwest: the same roots,
    // identity, TLS floor, timeouts, proxy and redirect policy.
    reqwest::Client::builder()
        .user_agent(concat!(
            "dtrust-client/",
            env!("CARGO_PKG_VERSION"),
            " smartid-core/",
            env!("CARGO_PKG_VERSION")
        ))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .min_tls_version(reqwest::tls::Version::TLS_1_2)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_only(vec![
            reqwest::Certificate::from_pem(server.ca_pem.as_bytes()).unwrap(),
        ])
        .identity(reqwest::Identity::from_pem(server.identity_pem.as_bytes()).unwrap())
        .no_proxy()
        .build()
        .unwrap()
}

async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> T {
    let r = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

async fn post_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
) -> T {
    let r = http
        .post(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

/// The contents of a DER TLV: (contents, whole TLV length).
fn tlv(der: &[u8]) -> Option<(&[u8], usize)> {
    let first = *der.get(1)?;
    let (len, head) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        let mut len = 0usize;
        for b in der.get(2..2 + n)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    Some((der.get(head..head + len)?, head + len))
}

/// Verifies that `child` (DER) is signed by `issuer`.
fn ref_signed_by(child: &[u8], c: &x509_cert::Certificate, issuer: &x509_cert::Certificate) {
    use aws_lc_rs::signature;
    let (outer, _) = tlv(child).unwrap();
    let (_, tbs_len) = tlv(outer).unwrap();
    let tbs = &outer[..tbs_len];
    let spki = issuer.tbs_certificate().subject_public_key_info();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    let alg: &dyn signature::VerificationAlgorithm = match (
        c.signature_algorithm().oid.to_string().as_str(),
        curve.as_deref(),
    ) {
        ("1.2.840.10045.4.3.2", Some("1.2.840.10045.3.1.7")) => &signature::ECDSA_P256_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", Some("1.3.132.0.34")) => &signature::ECDSA_P384_SHA384_ASN1,
        ("1.2.840.10045.4.3.2", Some("1.3.132.0.34")) => &signature::ECDSA_P384_SHA256_ASN1,
        ("1.2.840.113549.1.1.11", _) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (other, curve) => panic!("unexpected signature algorithm {other} {curve:?}"),
    };
    signature::UnparsedPublicKey::new(alg, spki.subject_public_key.raw_bytes())
        .verify(tbs, c.signature().raw_bytes())
        .unwrap();
}

impl Reference {
    async fn round_trip(&self, reference: &str) {
        // Submit.
        let body = serde_json::to_vec(&RefSubmit {
            product_id: PRODUCT,
            request_type: "PKCS10",
            client_reference: reference,
            subject: RefSubject { cn: CN },
            pkcs10: &self.csr_b64,
            revocation_password: &self.password,
        })
        .unwrap();
        let receipt: RefReceipt =
            post_json(&self.http, &format!("{}/requests", self.base), body).await;
        // Status.
        let status: RefStatus = get_json(
            &self.http,
            &format!("{}/requests/{}", self.base, receipt.request_id),
        )
        .await;
        assert_eq!(status.status, "ISSUED");
        // Certificate: decode, check the chain's signatures, the key and
        // the subject, as ours does.
        let doc: RefCertificate = get_json(
            &self.http,
            &format!("{}/requests/{}/certificate", self.base, receipt.request_id),
        )
        .await;
        let b64 = base64::engine::general_purpose::STANDARD;
        let leaf_der = b64.decode(&doc.certificate).unwrap();
        let chain_der: Vec<Vec<u8>> = doc.chain.iter().map(|c| b64.decode(c).unwrap()).collect();
        let leaf = x509_cert::Certificate::from_der(&leaf_der).unwrap();
        let chain: Vec<x509_cert::Certificate> = chain_der
            .iter()
            .map(|d| x509_cert::Certificate::from_der(d).unwrap())
            .collect();
        let mut current = (&leaf_der[..], &leaf);
        for (der, next) in chain_der.iter().zip(&chain) {
            assert_eq!(
                current.1.tbs_certificate().issuer(),
                next.tbs_certificate().subject()
            );
            ref_signed_by(current.0, current.1, next);
            current = (der, next);
        }
        let tbs = leaf.tbs_certificate();
        assert_eq!(
            tbs.subject_public_key_info().to_der().unwrap(),
            self.spki,
            "the certificate is for another key"
        );
        let cn_ok = tbs.subject().iter().any(|a| {
            a.oid == CN_OID
                && matches!(
                    a.value.tag(),
                    der::Tag::Utf8String | der::Tag::PrintableString
                )
                && a.value.value() == CN.as_bytes()
        });
        assert!(cn_ok, "the certificate is for another subject");
        let serial: String = tbs
            .serial_number()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        // Revoke.
        let body = serde_json::to_vec(&RefRevoke {
            revocation_password: &self.password,
        })
        .unwrap();
        let revoked: RefRevoked = post_json(
            &self.http,
            &format!("{}/certificates/{serial}/revocation", self.base),
            body,
        )
        .await;
        assert!(revoked.revoked);
    }
}

fn reference_id(i: u64) -> String {
    format!("ref-{}-{i}", std::process::id())
}

fn profile(server: &Server, rt: &tokio::runtime::Runtime, ours_side: bool) {
    let (fixture, ours, reference) = sides(server);
    rt.block_on(async {
        for i in 0..100 {
            if ours_side {
                ours_round_trip(&ours, &fixture).await;
            } else {
                reference.round_trip(&reference_id(i)).await;
            }
        }
    });
}

fn sides(server: &Server) -> (Fixture, DtrustClient, Reference) {
    let fixture = Fixture {
        csr: GeneratedCsr::generate(None, &SubjectDn::new(CN), &[], KeySpec::EcP256).unwrap(),
        password: generate_revocation_password(&PasswordPolicy::default()).unwrap(),
    };
    let trust = TrustStore::from_bytes(server.ca_pem.as_bytes(), "CA", None).unwrap();
    let build = |config: dtrust_client::DtrustConfigBuilder| {
        DtrustClient::new(
            config
                .client_identity(server.identity.clone())
                .server_trust(trust.clone())
                .build()
                .unwrap(),
        )
        .unwrap()
    };
    let ours = build(DtrustConfig::rest(server.rest_url.clone()));
    let reference = Reference {
        http: reference_client(server),
        base: server.rest_url.clone(),
        csr_b64: base64::engine::general_purpose::STANDARD.encode(&fixture.csr.csr_der),
        spki: fixture.csr.public_key_spki.clone(),
        password: fixture.password.expose_secret().to_owned(),
    };
    (fixture, ours, reference)
}

fn round_trips(server: &Server, rt: &tokio::runtime::Runtime, soap: bool) -> Vec<Comparison> {
    let (fixture, ours, reference) = sides(server);
    let trust = TrustStore::from_bytes(server.ca_pem.as_bytes(), "CA", None).unwrap();
    let build = |config: dtrust_client::DtrustConfigBuilder| {
        DtrustClient::new(
            config
                .client_identity(server.identity.clone())
                .server_trust(trust.clone())
                .build()
                .unwrap(),
        )
        .unwrap()
    };
    let mut next = 0u64;
    let mut out = Vec::new();
    if !soap {
        out.push(Comparison::run(
            "D-Trust REST round trip (client CPU)",
            Meter::ThreadCpu,
            ROUNDS,
            ORDERS_PER_ROUND,
            |n| {
                rt.block_on(async {
                    for _ in 0..n {
                        ours_round_trip(&ours, &fixture).await;
                    }
                })
            },
            |n| {
                rt.block_on(async {
                    for _ in 0..n {
                        next += 1;
                        reference.round_trip(&reference_id(next)).await;
                    }
                })
            },
        ));
    } else {
        let soap = build(DtrustConfig::soap(
            server.soap_url.clone(),
            server.soap_namespace.clone(),
            server.soap_service.clone(),
        ));
        out.push(Comparison::run(
            "D-Trust SOAP 1.1 vs REST round trip (ours)",
            Meter::ThreadCpu,
            ROUNDS,
            ORDERS_PER_ROUND,
            |n| {
                rt.block_on(async {
                    for _ in 0..n {
                        ours_round_trip(&soap, &fixture).await;
                    }
                })
            },
            |n| {
                rt.block_on(async {
                    for _ in 0..n {
                        ours_round_trip(&ours, &fixture).await;
                    }
                })
            },
        ));
    }
    out
}

fn wrapped(der: &[u8]) -> String {
    let s = base64::engine::general_purpose::STANDARD.encode(der);
    s.as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn soap_body(cert: &[u8], chain: usize) -> Vec<u8> {
    let mut inner = format!("<certificate>{}</certificate>", wrapped(cert));
    for _ in 0..chain {
        inner.push_str(&format!(
            "<chainCertificate>{}</chainCertificate>",
            wrapped(cert)
        ));
    }
    format!(
        r#"<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:getCertificateResponse xmlns:ns2="{NS}">{inner}</ns2:getCertificateResponse></S:Body></S:Envelope>"#
    )
    .into_bytes()
}

fn rest_body(cert: &[u8], chain: usize) -> Vec<u8> {
    let b = base64::engine::general_purpose::STANDARD.encode(cert);
    let chain: Vec<String> = (0..chain).map(|_| format!("\"{b}\"")).collect();
    format!(r#"{{"certificate":"{b}","chain":[{}]}}"#, chain.join(",")).into_bytes()
}

fn parsing() -> Vec<Comparison> {
    let pki = TestPki::generate().unwrap();
    let cert = pki.client("bench").unwrap().leaf_der().to_vec();
    let mut out = Vec::new();
    for (chain, per_round) in [(1usize, 2_000u64), (100, 40), (5000, 1)] {
        let soap = soap_body(&cert, chain);
        let rest = rest_body(&cert, chain);
        assert_eq!(
            dtrust_client::__private::parse_soap_certificate_response(&soap, NS).unwrap(),
            chain + 1
        );
        assert_eq!(
            dtrust_client::__private::parse_rest_certificate_response(&rest).unwrap(),
            chain + 1
        );
        out.push(Comparison::run(
            &format!("certificate parse, SOAP vs REST, {} certs", chain + 1),
            Meter::ThreadCpu,
            ROUNDS,
            per_round,
            |n| {
                for _ in 0..n {
                    dtrust_client::__private::parse_soap_certificate_response(&soap, NS).unwrap();
                }
            },
            |n| {
                for _ in 0..n {
                    dtrust_client::__private::parse_rest_certificate_response(&rest).unwrap();
                }
            },
        ));
    }
    out
}

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    // `profile-ours` / `profile-reference`: one side only, for callgrind.
    if let Some(side) = only.iter().find_map(|a| a.strip_prefix("profile-")) {
        let server = start_server();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        profile(&server, &rt, side == "ours");
        drop(rt);
        let _ = server.stop.send(());
        server.thread.join().unwrap();
        return;
    }
    let wants = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    if wants("rest") || wants("soap") {
        let server = start_server();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        if wants("rest") {
            for c in round_trips(&server, &rt, false) {
                println!("{}", c.report());
            }
        }
        if wants("soap") {
            for c in round_trips(&server, &rt, true) {
                println!("{}", c.report());
            }
        }
        drop(rt);
        let _ = server.stop.send(());
        server.thread.join().unwrap();
    }
    if wants("parse") {
        for c in parsing() {
            println!("{}", c.report());
        }
    }
}
