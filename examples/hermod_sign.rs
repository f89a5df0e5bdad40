//! Sends a sign command to Smart ID Messaging (Hermod), prints the link that
//! opens Smart ID Desktop App, waits for Hermod's callback and prints the result.
//!
//! With no environment it runs against the bundled Hermod simulator (over
//! TLS, with a callback receiver over TLS):
//!
//! ```text
//! cargo run --example hermod_sign
//! ```
//!
//! Against a real Hermod:
//!
//! ```text
//! HERMOD_URL=https://hermod.example.com:20400/hermod/rest/command \
//! HERMOD_TOKEN=<base64(client-id:key)>      # or HERMOD_CLIENT_ID + HERMOD_KEY
//! HERMOD_TRUST=hermod-ca.pem                # optional; PEM, DER, PKCS#12 or JKS
//! HERMOD_CALLBACK_LISTEN=0.0.0.0:8081       # where Hermod's callback-url points (plain HTTP;
//!                                           # put a TLS terminator in front)
//! HERMOD_CALLBACK_USER=... HERMOD_CALLBACK_PASSWORD=...   # required: Hermod's callback-basic-auth
//! HERMOD_SESSION_START_CHECK=1              # optional: end the wait after the session-start
//!                                           # timeout if no progress callback came (only for a
//!                                           # Hermod that sends progress callbacks)
//! cargo run --example hermod_sign
//! ```
//!
//! The last line on success is `callback command=<id> state=<state>`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use anyhow::{Context, bail};
use hermod_client::{
    CallbackReceiver, Command, CommandTiming, HermodClient, HermodConfig, HttpSettings, Outcome,
    Secret, SignParams, ToBeSigned, Tracker, TrustRoots, TrustStore, WaitOptions,
};
use smartid_testkit::hermod::{ApiClient, DeviceBehavior, HermodSimulator};
use smartid_testkit::{ClientAuth, TestPki, TlsFront};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    let command = Command::sign(
        SignParams::new(vec![ToBeSigned::text(
            "order-17",
            "Purchase order 17",
            "I order 17 widgets for EUR 170.",
        )])
        .describe(ToBeSigned::text(
            "requester",
            "Signing request from",
            "Example shop",
        )),
    )
    .external_id("order-17");

    match env("HERMOD_URL") {
        Some(url) => real(&url, command).await,
        None => simulated(command).await,
    }
}

/// Against the bundled simulator: everything on 127.0.0.1 over TLS.
async fn simulated(command: Command) -> anyhow::Result<()> {
    println!("HERMOD_URL not set: using the bundled Hermod simulator");
    let pki = TestPki::generate()?;
    let trust = pki.root_trust_store()?;

    // The callback receiver (what Identity Manager's callback URL serves), behind TLS.
    let tracker = Tracker::new();
    let receiver = CallbackReceiver::new(
        tracker.clone(),
        "idm-callback",
        &Secret::new("callback-password"),
    )?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let backend = listener.local_addr()?;
    tokio::spawn(receiver.clone().serve(listener));
    let receiver_front =
        TlsFront::start(backend, &pki.localhost_server()?, ClientAuth::None).await?;
    println!("callback receiver at {}", receiver_front.url());

    // Hermod, with this client registered and a device that answers after 0.5 s.
    let sim = HermodSimulator::builder(pki.localhost_server()?)
        .client(
            ApiClient::new(
                "prime1",
                Secret::new("example-key"),
                &receiver_front.url(),
                trust.clone(),
            )
            .callback_basic_auth("idm-callback", Secret::new("callback-password")),
        )
        .device(DeviceBehavior::answers_after(Duration::from_millis(500)))
        .start()
        .await?;
    println!("Hermod simulator at {}", sim.command_url());

    let config = HermodConfig::builder(sim.command_url())
        .client("prime1", Secret::new("example-key"))
        .timing(CommandTiming::from_secs(300, 120, 10)?)
        .http_settings(HttpSettings::new().trust(TrustRoots::Only(trust)))
        .build()?;
    let client = HermodClient::new(config)?;
    run(&client, &tracker, command).await
}

/// Against a real Hermod, receiving callbacks on `HERMOD_CALLBACK_LISTEN`.
async fn real(url: &str, command: Command) -> anyhow::Result<()> {
    let mut http = HttpSettings::new();
    if let Some(path) = env("HERMOD_TRUST") {
        let store =
            TrustStore::from_path(&path, None).with_context(|| format!("HERMOD_TRUST={path}"))?;
        http = http.trust(TrustRoots::Only(store));
    }
    let builder = HermodConfig::builder(url).http_settings(http);
    let builder = match (
        env("HERMOD_TOKEN"),
        env("HERMOD_CLIENT_ID"),
        env("HERMOD_KEY"),
    ) {
        (Some(token), _, _) => builder.token_base64(token),
        (None, Some(id), Some(key)) => builder.client(id, Secret::new(key)),
        _ => bail!("set HERMOD_TOKEN, or HERMOD_CLIENT_ID and HERMOD_KEY"),
    };
    let client = HermodClient::new(builder.build()?)?;

    let listen = env("HERMOD_CALLBACK_LISTEN").context(
        "set HERMOD_CALLBACK_LISTEN (e.g. 0.0.0.0:8081) to the address Hermod's callback-url reaches",
    )?;
    let check = env("HERMOD_SESSION_START_CHECK").is_some_and(|v| v == "1" || v == "true");
    let tracker = Tracker::builder().session_start_check(check).build();
    let (Some(user), Some(password)) =
        (env("HERMOD_CALLBACK_USER"), env("HERMOD_CALLBACK_PASSWORD"))
    else {
        bail!(
            "set HERMOD_CALLBACK_USER and HERMOD_CALLBACK_PASSWORD to Hermod's callback-basic-auth \
             for this client: callbacks without credentials are refused"
        );
    };
    let receiver = CallbackReceiver::new(tracker.clone(), &user, &Secret::new(password))?;
    let listener = std::net::TcpListener::bind(&listen)
        .with_context(|| format!("cannot listen on HERMOD_CALLBACK_LISTEN={listen}"))?;
    println!("receiving callbacks on http://{listen}/callback/<kind> (and /rest/callback/<kind>)");
    tokio::spawn(receiver.serve(listener));
    run(&client, &tracker, command).await
}

async fn run(client: &HermodClient, tracker: &Tracker, command: Command) -> anyhow::Result<()> {
    let sent = client.send(&command).await?;
    println!(
        "command {} accepted ({}, {})",
        sent.answer.command_id, sent.answer.command_type, sent.answer.state
    );
    let link = sent.answer.desktop_link()?;
    if link.is_plain_http() {
        println!("warning: the message box is plain http; the Smart ID apps refuse http");
    }
    println!("Desktop App link: {link}");
    // The Mobile App opens provisioning links only (Nexus documents sign and
    // authentication links as not implemented there).
    if let Ok(mobile) = sent.answer.mobile_link("Sign the purchase order", None) {
        println!("Mobile App link:  {mobile}");
    }
    let id = sent.tracked.command_id.clone();
    println!(
        "waiting for the callback (lifespan {:?})...",
        sent.tracked.timing.lifespan()
    );
    // No deadline of our own: the command's lifespan ends the wait.
    let outcome = tracker.track(sent.tracked, &WaitOptions::new()).await?;
    match &outcome {
        Outcome::Answered(cb) => {
            if let Some(result) = &cb.result {
                let signatures = result["signatures"].as_array().map_or(0, Vec::len);
                println!(
                    "device result: {signatures} signature(s), mechanism {}",
                    result["mechanism"]
                );
            }
        }
        Outcome::SessionNotStarted => {
            println!("the user did not start Smart ID Desktop App in time")
        }
        Outcome::TimedOut => println!("the command timed out in the message box"),
        Outcome::Expired => println!("the command expired without an answer"),
        other => println!("{other:?}"),
    }
    println!("callback command={id} state={}", outcome.state());
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
