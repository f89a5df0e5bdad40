//! Benchmarks: SOAP (and, for comparison, REST) response parsing
//! throughput, and full order round trips against the simulator over
//! mutual TLS. Run with `cargo bench -p dtrust-client`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use base64::Engine as _;
use dtrust_client::{
    Clock, DtrustClient, DtrustConfig, GeneratedCsr, KeySpec, OrderRequest, PasswordPolicy,
    SubjectDn, SystemClock, WaitOptions, generate_revocation_password,
};
use smartid_testkit::TestPki;
use smartid_testkit::dtrust::DtrustSimulator;

const NS: &str = "http://ws.csm.d-trust.test/";

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

/// Runs `f` for about `budget`, returns (iterations, elapsed).
fn time_loop(budget: Duration, mut f: impl FnMut()) -> (u64, Duration) {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    (n, start.elapsed())
}

fn parsing() {
    let pki = TestPki::generate().unwrap();
    let cert = pki.client("bench").unwrap().leaf_der().to_vec();
    println!("== response parsing (certificate {} bytes DER)", cert.len());
    for chain in [1usize, 100, 5000] {
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
        let (n, t) = time_loop(Duration::from_secs(2), || {
            dtrust_client::__private::parse_soap_certificate_response(&soap, NS).unwrap();
        });
        let soap_mbs = (soap.len() as f64 * n as f64) / t.as_secs_f64() / 1e6;
        let (x, xt) = time_loop(Duration::from_secs(1), || {
            dtrust_client::__private::parse_xml_tree(&soap).unwrap();
        });
        let xml_mbs = (soap.len() as f64 * x as f64) / xt.as_secs_f64() / 1e6;
        let (m, u) = time_loop(Duration::from_secs(2), || {
            dtrust_client::__private::parse_rest_certificate_response(&rest).unwrap();
        });
        let rest_mbs = (rest.len() as f64 * m as f64) / u.as_secs_f64() / 1e6;
        println!(
            "SOAP {:>9} bytes: {:>8.1} MB/s ({:>8.1} us/response; XML tree alone {:>8.1} MB/s) | REST {:>9} bytes: {:>8.1} MB/s | SOAP/REST time per certificate: {:.2}x",
            soap.len(),
            soap_mbs,
            t.as_secs_f64() * 1e6 / n as f64,
            xml_mbs,
            rest.len(),
            rest_mbs,
            (t.as_secs_f64() / n as f64) / (u.as_secs_f64() / m as f64)
        );
    }
}

async fn round_trips() {
    let sim = DtrustSimulator::start().await.unwrap();
    let cer = std::env::temp_dir().join(format!("dtrust-bench-{}.cer", std::process::id()));
    std::fs::write(&cer, sim.server_ca_pem()).unwrap();
    let identity = sim
        .issue_client_identity("bench")
        .unwrap()
        .to_client_identity()
        .unwrap();
    println!(
        "== full order round trip (submit, wait, fetch, revoke; P-256 CSR made in the loop; mutual TLS)"
    );
    let mut per_order = Vec::new();
    for (label, builder) in [
        ("REST", DtrustConfig::rest(sim.rest_url())),
        (
            "SOAP 1.1",
            DtrustConfig::soap(sim.soap_url(), sim.soap_namespace(), sim.soap_service()),
        ),
    ] {
        let client = DtrustClient::new(
            builder
                .client_identity(identity.clone())
                .server_certificate_file(&cer)
                .build()
                .unwrap(),
        )
        .unwrap();
        client.list_products().await.unwrap(); // warm the connection pool
        let policy = PasswordPolicy::default();
        let n = 100;
        let start = Instant::now();
        for i in 0..n {
            let dn = SubjectDn::new(format!("bench-{i}.example.de"));
            let csr = GeneratedCsr::generate(None, &dn, &[], KeySpec::EcP256).unwrap();
            let password = generate_revocation_password(&policy).unwrap();
            let order = OrderRequest::pkcs10("1003", dn, &csr.csr_der)
                .revocation_password(password.clone());
            let pending = client.submit(&order).await.unwrap().into_pending();
            let options =
                WaitOptions::new().timeout_from(SystemClock.now(), Duration::from_secs(10));
            client.wait_for_issuance(&pending, &options).await.unwrap();
            let issued = client.fetch_certificate(&pending).await.unwrap();
            client
                .revoke(issued.certificate.serial_hex(), &password, None)
                .await
                .unwrap();
        }
        let t = start.elapsed();
        let ms = t.as_secs_f64() * 1e3 / f64::from(n);
        per_order.push(ms);
        println!(
            "{label:>8}: {n} orders in {:.2} s = {ms:.2} ms/order ({:.0} orders/s)",
            t.as_secs_f64(),
            f64::from(n) / t.as_secs_f64()
        );
    }
    if let [rest, soap] = per_order[..] {
        println!("SOAP/REST time per order: {:.2}x", soap / rest);
    }
    let _ = std::fs::remove_file(cer);
}

fn main() {
    parsing();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(round_trips());
}
