//! Three replicas of one service sharing nothing but a PostgreSQL database:
//! a Hermod command sent by replica A whose callback reaches replica B, a
//! CIBA flow started on A, polled by whichever of B and C holds its lease
//! and finished on C, and a D-Trust order journaled by A, which "dies"
//! before submitting, and resumed by B without ordering twice.
//!
//! Needs a PostgreSQL server (the schema is created by the migrations that
//! smartid-postgres ships):
//!
//! ```text
//! DATABASE_URL=postgres://user:password@127.0.0.1:5432/smartid cargo run --example replicas
//! ```
//!
//! The three services are the bundled simulators, over TLS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use audkenni_ciba::{Acr, AuthRequest, CibaClient, JwsAlgorithm, RequestSigningKey};
use dtrust_client::{
    DtrustClient, DtrustConfig, GeneratedCsr, KeySpec, OrderJournal, OrderOutcome, OrderRequest,
    SecretsInJournal, SubjectDn,
};
use hermod_client::{
    CallbackReceiver, Command, CommandTiming, HermodClient, HermodConfig, Outcome, SignParams,
    ToBeSigned, Tracker,
};
use smartid_core::store::{FlowStore, SealingKey};
use smartid_core::{HttpSettings, Secret, TrustRoots, TrustStore, WaitOptions};
use smartid_postgres::{PostgresOptions, PostgresStore};
use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig as AudkenniConfig, hints};
use smartid_testkit::dtrust::DtrustSimulator;
use smartid_testkit::hermod::{ApiClient, DeviceBehavior, HermodSimulator};
use smartid_testkit::{ClientAuth, TestPki, TlsFront};

const REPLICAS: [&str; 3] = ["replica-a", "replica-b", "replica-c"];

/// Unique per run, so that a database reused across runs never holds this
/// run's ids (the simulators number their commands from a fixed start).
fn run_id() -> u64 {
    smartid_core::unix_seconds(SystemTime::now()) * 1000 + u64::from(std::process::id() % 1000)
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let Some(url) = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        eprintln!(
            "DATABASE_URL is not set: this example needs a PostgreSQL server that the three \
             replicas share.\nRun it as\n  DATABASE_URL=postgres://user:password@127.0.0.1:5432/smartid \
             cargo run --example replicas\n(the database must exist; the example creates its tables \
             with the migrations of smartid-postgres). See docs/replicas.md."
        );
        return ExitCode::from(2);
    };
    match run(&url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// One replica's own connection pool: replicas share the database only.
async fn store(url: &str, name: &str) -> anyhow::Result<Arc<dyn FlowStore>> {
    let store = PostgresStore::connect(
        url,
        PostgresOptions::new()
            .migrate_on_connect(true)
            .pool_size(4)
            .application_name(name),
    )
    .await
    .context("cannot use the database at DATABASE_URL")?;
    Ok(Arc::new(store))
}

async fn run(url: &str) -> anyhow::Result<()> {
    let mut stores = Vec::new();
    for name in REPLICAS {
        stores.push(store(url, name).await?);
    }
    println!("three replicas connected to the database (each its own pool)");
    // The same sealing key on every replica (from your secret manager).
    let seal = [42u8; 32];

    let started = Instant::now();
    let run = run_id();
    hermod(&stores, run).await?;
    audkenni(&stores, &seal).await?;
    dtrust(&stores, &seal, run).await?;
    println!(
        "all three flows ended once, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn hermod(stores: &[Arc<dyn FlowStore>], run: u64) -> anyhow::Result<()> {
    let pki = TestPki::generate()?;
    let trust = pki.root_trust_store()?;
    let trackers: Vec<Tracker> = stores
        .iter()
        .zip(REPLICAS)
        .map(|(s, name)| {
            Tracker::builder()
                .store(s.clone())
                .replica_name(name)
                .build()
        })
        .collect();
    // Hermod posts every callback to one URL: here, replica B's receiver.
    let receiver_b = CallbackReceiver::new(
        trackers[1].clone(),
        "idm-callback",
        &Secret::new("callback-password"),
    )?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let backend = listener.local_addr()?;
    tokio::spawn(receiver_b.serve(listener));
    let front_b = TlsFront::start(backend, &pki.localhost_server()?, ClientAuth::None).await?;
    let sim = HermodSimulator::builder(pki.localhost_server()?)
        .client(
            ApiClient::new(
                "prime1",
                Secret::new("example-key"),
                &front_b.url(),
                trust.clone(),
            )
            .callback_basic_auth("idm-callback", Secret::new("callback-password")),
        )
        .device(DeviceBehavior::answers_after(Duration::from_millis(300)))
        .first_command_id(run)
        .start()
        .await?;
    let client_a = HermodClient::new(
        HermodConfig::builder(sim.command_url())
            .client("prime1", Secret::new("example-key"))
            .timing(CommandTiming::from_secs(300, 120, 10)?)
            .http_settings(HttpSettings::new().trust(TrustRoots::Only(trust)))
            .build()?,
    )?;
    let external_id = format!("order-{run}");
    let command = Command::sign(SignParams::new(vec![ToBeSigned::text(
        "order",
        "Purchase order",
        "I order 17 widgets.",
    )]))
    .external_id(&external_id);
    let sent = client_a.send(&command).await?;
    let id = sent.tracked.command_id.clone();
    println!("hermod:   replica-a sent command {id}; Hermod calls back replica-b");
    let outcome = trackers[0]
        .track(
            sent.tracked,
            &WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(30)),
        )
        .await?;
    let Outcome::Answered(callback) = &outcome else {
        bail!("hermod: expected the device's answer, got {outcome:?}");
    };
    println!("hermod:   replica-a's wait resolved: {}", callback.state);
    let by_external = trackers[2]
        .outcome_by_external_id(&external_id)
        .await?
        .context("replica-c cannot find the outcome by external id")?;
    println!(
        "hermod:   replica-c reads the same outcome by external id {external_id}: {}",
        by_external.state()
    );
    Ok(())
}

async fn audkenni(stores: &[Arc<dyn FlowStore>], seal: &[u8; 32]) -> anyhow::Result<()> {
    let sim = AudkenniSimulator::start(
        AudkenniConfig::with_answer_after(Duration::from_secs(2)).interval(1),
    )
    .await?;
    let mut clients = Vec::new();
    for (store, name) in stores.iter().zip(REPLICAS) {
        let client = CibaClient::builder(sim.issuer(), sim.client_id())
            .client_secret(Secret::new(sim.client_secret()))
            .signing_key(RequestSigningKey::from_pem(
                sim.client_key_pem().as_bytes(),
                JwsAlgorithm::Rs256,
            )?)
            .http_settings(HttpSettings::new().trust(TrustRoots::Only(sim.tls_trust_store()?)))
            .store(store.clone())
            .sealing_key(SealingKey::from_bytes(seal)?)
            .replica(name)
            .build()
            .await?;
        clients.push(client);
    }
    // Pollers on B and C; A only starts the flow.
    let pollers = [clients[1].poller().spawn(), clients[2].poller().spawn()];
    let pending = clients[0]
        .start(&AuthRequest::new(hints::APPROVES, Acr::SimAuth))
        .await?;
    let auth_req_id = pending.auth_req_id().to_owned();
    println!(
        "audkenni: replica-a started a CIBA flow; the pollers of replica-b and replica-c share it"
    );
    let done = clients[2]
        .finish_by_id(
            &auth_req_id,
            &WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(60)),
        )
        .await?;
    println!(
        "audkenni: replica-c finished it: id_token verified for {}",
        done.id_token.name.clone().unwrap_or_default()
    );
    for poller in pollers {
        poller.stop().await;
    }
    println!(
        "audkenni: the simulator saw {} poll(s), {} of them before the interval",
        sim.polls(),
        sim.early_polls()
    );
    Ok(())
}

async fn dtrust(stores: &[Arc<dyn FlowStore>], seal: &[u8; 32], run: u64) -> anyhow::Result<()> {
    let sim = DtrustSimulator::start().await?;
    let dir = std::env::temp_dir().join(format!("replicas-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let server_cer = dir.join("server.cer");
    std::fs::write(&server_cer, sim.server_ca_pem())?;
    let identity = sim.issue_client_identity("neXus Technology GmbH")?;
    let issuing = TrustStore::from_certificates([sim.issuing_root_certificate().clone()])?;
    let journal = |i: usize| -> anyhow::Result<OrderJournal> {
        let client = DtrustClient::new(
            DtrustConfig::rest(sim.rest_url())
                .server_certificate_file(&server_cer)
                .client_identity(identity.to_client_identity()?)
                .issuing_ca_trust(issuing.clone())
                .http_settings(HttpSettings::new().request_timeout(Duration::from_secs(2)))
                .build()?,
        )?;
        Ok(OrderJournal::builder(client, stores[i].clone())
            .replica(REPLICAS[i])
            .lease_length(Duration::from_secs(3))
            .poll_interval(Duration::from_millis(200))
            .secrets(SecretsInJournal::Sealed(Arc::new(SealingKey::from_bytes(
                seal,
            )?)))
            .build()?)
    };
    let reference = format!("replicas-example-{run}");
    let subject = SubjectDn::new("replicas.example.de");
    let csr = GeneratedCsr::generate(None, &subject, &[], KeySpec::EcP256)?;
    let order = OrderRequest::pkcs10("1003", subject, &csr.csr_der)
        .client_reference(&reference)
        .revocation_password(Secret::new("Kept-Sealed-42"));
    {
        let a = journal(0)?;
        let _prepared = a.prepare(&order).await?;
        println!("dtrust:   replica-a journaled order {reference}, then died before submitting");
    }
    let b = journal(1)?;
    let wait = WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(60));
    let outcome = b.resume(&reference, &wait).await?;
    let OrderOutcome::Issued { request_id, .. } = &outcome else {
        bail!("dtrust: expected an issued certificate, got {outcome:?}");
    };
    println!(
        "dtrust:   replica-b resumed it after replica-a's lease expired: issued as request {request_id}; \
         D-Trust holds {} order(s) for the reference",
        sim.orders_for_reference(&reference)
    );
    let _ = std::fs::remove_dir_all(&dir);
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
