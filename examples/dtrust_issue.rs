//! Orders a certificate from D-Trust with a PKCS#10 request, waits for it,
//! fetches it and revokes it.
//!
//! ```text
//! cargo run --example dtrust_issue                      # bundled simulator, REST
//! cargo run --example dtrust_issue -- --transport soap  # bundled simulator, legacy SOAP
//! ```
//!
//! With `DTRUST_URL` set it talks to that service instead (REST base URL, or
//! SOAP endpoint with `--transport soap`), using:
//! - `DTRUST_P12`, `DTRUST_P12_PASSWORD` (default `123456`): the client identity;
//! - `DTRUST_SERVER_CERT`: the D-Trust server certificate (`.cer`);
//! - `DTRUST_PROXY` (optional, `host:port`);
//! - `DTRUST_PRODUCT` (optional; default: the first PKCS#10 product, EC preferred);
//! - `DTRUST_SOAP_NAMESPACE`, `DTRUST_SOAP_SERVICE` (SOAP only);
//! - `DTRUST_CN`, `DTRUST_ORG_ID`, `DTRUST_EMAIL` (optional subject data);
//! - `DTRUST_ISSUING_CA` (optional): D-Trust CA certificates the issued
//!   certificate must chain to.
//!
//! The last line on success is `issued subject=<dn> serial=<hex> revoked=yes`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use anyhow::{Context as _, bail};
use dtrust_client::{
    Clock, DtrustClient, DtrustConfig, DtrustConfigBuilder, GeneratedCsr, HttpSettings,
    IDM_DEFAULT_P12_PASSWORD, KeySpec, OrderRequest, PasswordPolicy, Product, ProxySettings,
    RequestKind, RevocationReason, Secret, SubjectDn, SystemClock, TrustStore, WaitOptions,
    generate_revocation_password,
};
use smartid_testkit::Pkcs12Encryption;
use smartid_testkit::dtrust::{DtrustSimulator, Release, SimConfig};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn transport_is_soap() -> anyhow::Result<bool> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut soap = false;
    let mut i = 0;
    while i < args.len() {
        let value = match args[i].as_str() {
            "--transport" => {
                i += 1;
                args.get(i)
                    .cloned()
                    .context("--transport needs a value: rest or soap")?
            }
            a if a.starts_with("--transport=") => a["--transport=".len()..].to_owned(),
            other => {
                bail!("unknown argument {other:?}; usage: dtrust_issue [--transport rest|soap]")
            }
        };
        soap = match value.as_str() {
            "soap" => true,
            "rest" => false,
            other => bail!("unknown transport {other:?}; use rest or soap"),
        };
        i += 1;
    }
    Ok(soap)
}

fn key_for(product: &Product) -> KeySpec {
    let sizes = &product.key_sizes;
    if sizes.is_empty() {
        KeySpec::Rsa3072
    } else if sizes.contains(&256) {
        KeySpec::EcP256
    } else if sizes.contains(&384) {
        KeySpec::EcP384
    } else if sizes.contains(&2048) {
        KeySpec::Rsa2048
    } else if sizes.contains(&3072) {
        KeySpec::Rsa3072
    } else {
        KeySpec::Rsa4096
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let soap = transport_is_soap()?;
    // Keeps the simulator (and its temporary files) alive until the end.
    let mut _simulator = None;
    let mut temp_files = Vec::new();
    let (builder, polling): (DtrustConfigBuilder, (Duration, Duration)) = match env("DTRUST_URL") {
        Some(url) => {
            let p12 = env("DTRUST_P12")
                .context("DTRUST_P12 (the client PKCS#12 file) is required with DTRUST_URL")?;
            let password = Secret::new(
                env("DTRUST_P12_PASSWORD").unwrap_or_else(|| IDM_DEFAULT_P12_PASSWORD.into()),
            );
            let cert = env("DTRUST_SERVER_CERT").context(
                "DTRUST_SERVER_CERT (the D-Trust server .cer) is required with DTRUST_URL",
            )?;
            let mut b = if soap {
                DtrustConfig::soap(
                    url,
                    env("DTRUST_SOAP_NAMESPACE")
                        .context("DTRUST_SOAP_NAMESPACE is required for SOAP")?,
                    env("DTRUST_SOAP_SERVICE")
                        .context("DTRUST_SOAP_SERVICE is required for SOAP")?,
                )
            } else {
                DtrustConfig::rest(url)
            };
            b = b
                .client_pkcs12_file(p12, password)
                .server_certificate_file(cert);
            if let Some(issuing) = env("DTRUST_ISSUING_CA") {
                b = b.issuing_ca_file(issuing);
            }
            if let Some(proxy) = env("DTRUST_PROXY") {
                let p = ProxySettings::parse(&proxy).context("DTRUST_PROXY must be host:port")?;
                b = b.http_settings(HttpSettings::new().proxy(p));
            }
            (b, (Duration::from_secs(4 * 3600), Duration::from_secs(60)))
        }
        None => {
            // Released after a few status queries, so that the wait is real.
            let mut sim_config = SimConfig::default();
            sim_config.release = Release::AfterPolls(3);
            let sim = DtrustSimulator::start_with(sim_config).await?;
            println!(
                "using the bundled D-Trust simulator at {}",
                if soap { sim.soap_url() } else { sim.rest_url() }
            );
            // The same files a real set-up has: a (2015-style, legacy-encrypted) client PKCS#12 and the server .cer.
            let dir = std::env::temp_dir().join(format!("dtrust-example-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let p12 = dir.join("client.p12");
            let cer = dir.join("server.cer");
            let password = Secret::new(IDM_DEFAULT_P12_PASSWORD);
            let identity = sim.issue_client_identity("neXus Technology GmbH")?;
            std::fs::write(
                &p12,
                identity.to_pkcs12(&password, Pkcs12Encryption::Legacy, "csm")?,
            )?;
            std::fs::write(&cer, sim.server_ca_pem())?;
            temp_files.push(dir);
            let b = if soap {
                DtrustConfig::soap(sim.soap_url(), sim.soap_namespace(), sim.soap_service())
            } else {
                DtrustConfig::rest(sim.rest_url())
            };
            let issuing = TrustStore::from_certificates([sim.issuing_root_certificate().clone()])?;
            let b = b
                .client_pkcs12_file(p12, password)
                .server_certificate_file(cer)
                .issuing_ca_trust(issuing);
            _simulator = Some(sim);
            (b, (Duration::from_secs(30), Duration::from_millis(200)))
        }
    };
    let client = DtrustClient::new(builder.build()?)?;
    println!("transport: {}", client.transport_name());

    let products = client.list_products().await?;
    for p in &products {
        let kinds: Vec<String> = p.request_kinds.iter().map(ToString::to_string).collect();
        println!(
            "product {} \"{}\" kinds={} key_sizes={:?}",
            p.id,
            p.name,
            kinds.join(","),
            p.key_sizes
        );
    }
    let product = match env("DTRUST_PRODUCT") {
        Some(id) => products
            .iter()
            .find(|p| p.id == id || p.name == id)
            .with_context(|| format!("product {id} is not released to this account"))?,
        None => products
            .iter()
            .filter(|p| p.accepts(&RequestKind::Pkcs10))
            .max_by_key(|p| p.key_sizes.iter().any(|k| *k == 256 || *k == 384))
            .context("no product accepts PKCS#10 requests")?,
    };

    let mut subject =
        SubjectDn::new(env("DTRUST_CN").unwrap_or_else(|| "smartid-example.example.de".into()));
    if let Some(org_id) = env("DTRUST_ORG_ID") {
        subject = subject.organisation_identifier(org_id);
    }
    let emails: Vec<String> = env("DTRUST_EMAIL").into_iter().collect();
    let key = key_for(product);
    let csr = GeneratedCsr::generate(Some(product), &subject, &emails, key)?;
    let revocation_password = generate_revocation_password(&PasswordPolicy::default())?;
    let mut order = OrderRequest::pkcs10(&product.id, subject, &csr.csr_der)
        .revocation_password(revocation_password.clone());
    for e in emails {
        order = order.email(e);
    }
    println!(
        "ordering product {} with a {:?} key, client reference {}",
        product.id,
        key,
        order.reference()
    );
    // The order carries our own password; submit would refuse one without.
    let pending = client.submit(&order).await?.into_pending();
    println!(
        "request {} submitted; pending order: {}",
        pending.request_id,
        serde_json::to_string(&pending)?
    );

    let (deadline, interval) = polling;
    let options = WaitOptions::new()
        .timeout_from(SystemClock.now(), deadline)
        .poll_interval(interval);
    let started = std::time::Instant::now();
    client.wait_for_issuance(&pending, &options).await?;
    println!(
        "issued after {:.1} s of waiting",
        started.elapsed().as_secs_f64()
    );
    // Checked by the client: chain, ordered subject, the CSR's public key.
    let issued = client.fetch_certificate(&pending).await?;
    if !issued.is_for_key(&csr.public_key_spki) {
        bail!("the issued certificate is not for the key of our request");
    }
    let cert = &issued.certificate;
    println!(
        "issued by {} valid until {}",
        cert.issuer(),
        cert.not_after_rfc3339()
    );
    client
        .revoke(
            cert.serial_hex(),
            &revocation_password,
            Some(RevocationReason::CessationOfOperation),
        )
        .await?;
    for dir in temp_files {
        let _ = std::fs::remove_dir_all(dir);
    }
    println!(
        "issued subject={} serial={} revoked=yes",
        cert.subject(),
        cert.serial_hex()
    );
    Ok(())
}

/// Logs to stderr at the level `SMARTID_LOG` names (`error`, `warn`, `info`,
/// `debug`, `trace`); nothing when it is unset.
fn init_logging() {
    // error, warn, info, debug or trace (tracing's own names); else no logs.
    let Some(level) = std::env::var("SMARTID_LOG")
        .ok()
        .and_then(|v| v.parse::<tracing::Level>().ok())
    else {
        return;
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}
