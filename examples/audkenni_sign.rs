//! Signs a text with Audkenni over CIBA and prints the verified result.
//!
//! Without environment it runs against the bundled simulator (over TLS).
//! With `AUDKENNI_ISSUER` set it talks to that provider, configured by
//! `AUDKENNI_CLIENT_ID`, `AUDKENNI_CLIENT_SECRET`, `AUDKENNI_SIGNING_KEY`
//! (PEM path), `AUDKENNI_TRUST` (optional TLS trust store path),
//! `AUDKENNI_SIGNATURE_ROOTS` (optional PEM bundle of trust anchors for the
//! signer's chain, intermediates allowed), `AUDKENNI_LOGIN_HINT`,
//! `AUDKENNI_ACR` (default sim-sign) and `AUDKENNI_BINDING_MESSAGE`.
//!
//! The last line on success:
//! `verified name=<name> nationalRegisterId=<kennitala> signed_text=<text> chain=<checked|unchecked>`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use audkenni_ciba::{
    Acr, AuthRequest, BindingContent, Certificate, ChainStatus, CibaClient, HttpSettings,
    JwsAlgorithm, RequestSigningKey, Secret, SignatureCheck, TrustRoots, TrustStore, WaitOptions,
};
use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig, hints};

struct Setup {
    client: CibaClient,
    login_hint: String,
    acr: Acr,
    message: String,
    anchors: Option<Vec<Certificate>>,
    // Keeps the simulator running while the flow runs.
    _simulator: Option<AudkenniSimulator>,
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set (needed with AUDKENNI_ISSUER)"))
}

async fn from_environment(issuer: String) -> anyhow::Result<Setup> {
    let key_path = env("AUDKENNI_SIGNING_KEY")?;
    let pem = std::fs::read(&key_path).with_context(|| format!("cannot read {key_path}"))?;
    let algorithm = if String::from_utf8_lossy(&pem).contains("EC PRIVATE KEY") {
        JwsAlgorithm::Es256
    } else {
        JwsAlgorithm::Rs256
    };
    let mut settings = HttpSettings::new();
    if let Ok(trust) = std::env::var("AUDKENNI_TRUST") {
        settings = settings.trust(TrustRoots::PlatformPlus(TrustStore::from_path(
            &trust, None,
        )?));
    }
    let client = CibaClient::builder(issuer, env("AUDKENNI_CLIENT_ID")?)
        .client_secret(Secret::new(env("AUDKENNI_CLIENT_SECRET")?))
        .signing_key(RequestSigningKey::from_pem(&pem, algorithm)?)
        .http_settings(settings)
        .build()
        .await?;
    let anchors = match std::env::var("AUDKENNI_SIGNATURE_ROOTS") {
        Ok(path) => {
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {path}"))?;
            Some(Certificate::all_from_pem(&bytes, &path)?)
        }
        Err(_) => None,
    };
    Ok(Setup {
        client,
        login_hint: env("AUDKENNI_LOGIN_HINT")?,
        acr: Acr::parse(&std::env::var("AUDKENNI_ACR").unwrap_or_else(|_| "sim-sign".into())),
        message: std::env::var("AUDKENNI_BINDING_MESSAGE")
            .unwrap_or_else(|_| "Login to Audkenni".into()),
        anchors,
        _simulator: None,
    })
}

async fn with_simulator() -> anyhow::Result<Setup> {
    let sim =
        AudkenniSimulator::start(SimConfig::with_answer_after(Duration::from_secs(2)).interval(1))
            .await?;
    println!("simulator running at {}", sim.issuer());
    let client = CibaClient::builder(sim.issuer(), sim.client_id())
        .client_secret(Secret::new(sim.client_secret()))
        .signing_key(RequestSigningKey::from_pem(
            sim.client_key_pem().as_bytes(),
            JwsAlgorithm::Rs256,
        )?)
        .http_settings(HttpSettings::new().trust(TrustRoots::Only(sim.tls_trust_store()?)))
        .build()
        .await?;
    Ok(Setup {
        client,
        login_hint: std::env::var("AUDKENNI_LOGIN_HINT").unwrap_or_else(|_| hints::APPROVES.into()),
        acr: Acr::parse(&std::env::var("AUDKENNI_ACR").unwrap_or_else(|_| "sim-sign".into())),
        message: std::env::var("AUDKENNI_BINDING_MESSAGE")
            .unwrap_or_else(|_| "Samþykki leigusamning nr. 42".into()),
        anchors: Some(sim.signature_trust_anchors()),
        _simulator: Some(sim),
    })
}

async fn run() -> anyhow::Result<String> {
    let setup = match std::env::var("AUDKENNI_ISSUER") {
        Ok(issuer) => from_environment(issuer).await?,
        Err(_) => with_simulator().await?,
    };
    let content = BindingContent::sha256_of(setup.message.as_bytes());
    let request = AuthRequest::new(&setup.login_hint, setup.acr.clone())
        .binding_message(&setup.message)
        .binding_content(content.clone());
    let mut pending = setup.client.start(&request).await?;
    println!(
        "request sent to {} ({}); waiting for the user (expires in {} s)",
        setup.login_hint,
        setup.acr,
        pending
            .expires_at()
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
            .as_secs()
    );
    let done = setup
        .client
        .finish(&mut pending, &WaitOptions::new())
        .await?;
    let token = &done.id_token;
    println!(
        "id_token verified: sub={} acr={} auditTrackingId={}",
        token.subject,
        token.acr.as_ref().map(Acr::as_str).unwrap_or("-"),
        token.audit_tracking_id.as_deref().unwrap_or("-")
    );
    let check = match setup.anchors {
        Some(anchors) => SignatureCheck::with_trust_anchors(anchors),
        None => SignatureCheck::without_chain_check(),
    };
    let (name, kennitala, text, chain) = if setup.acr.returns_pkcs1() {
        let v = token.verify_pkcs1_signature(&content, &check)?;
        (
            v.name,
            v.national_register_id,
            content.as_str().to_owned(),
            v.chain,
        )
    } else if token.signature.is_some() {
        let v = token.verify_signature(&check.expect_text(&setup.message))?;
        let text = v.signed_text().unwrap_or_default();
        (v.name, v.national_register_id, text, v.chain)
    } else {
        token.check_certificate_names()?;
        let name = token.name.clone().unwrap_or_default();
        let kt = token
            .national_register_id
            .clone()
            .context("the id_token has no nationalRegisterId")?;
        (name, kt, String::new(), ChainStatus::Unchecked)
    };
    Ok(format!(
        "verified name={name} nationalRegisterId={kennitala} signed_text={text} chain={chain}"
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    match run().await {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
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
