//! The tour: every integration of the workspace, end to end, against the
//! bundled simulators, in a few seconds and with no set-up.
//!
//! ```text
//! cargo run --example tour
//! cargo run --example tour -- --login-hint 7700002   # the Audkenni user declines
//! ```
//!
//! What it does, one line per step:
//!
//! 1. starts the D-Trust (REST, mutual TLS), Hermod (with a callback
//!    receiver behind TLS) and Audkenni simulators on 127.0.0.1;
//! 2. writes, in a temporary folder, what an Identity Manager installation
//!    holds: the D-Trust connector bundle laid out as Nexus' page
//!    "Integrate Identity Manager with D-Trust connector" describes
//!    (`dtrust.properties`, the account's PKCS#12, the D-Trust server
//!    `.cer`), the Messaging Server entry and Hermod's client settings;
//! 3. reads them back and lints them with idm-config (errors fail the tour);
//! 4. builds the D-Trust client from the bundle, orders a certificate with
//!    a PKCS#10 request, waits for its release, fetches it (chain, subject
//!    and key checked) and revokes it, all over mutual TLS;
//! 5. builds the Hermod client from the Messaging Server entry, sends a
//!    sign command and receives Hermod's callback;
//! 6. runs an Audkenni CIBA signing flow and verifies the id_token, the CMS
//!    signature over the displayed text and the signer's certificate chain.
//!
//! Then a summary with the time of each step. The exit code is 0 when every
//! step passed and 1 otherwise (the failing step is named on the last
//! line); 2 for a wrong command line.
//!
//! Options:
//! - `--login-hint NUMBER`: the simulated Audkenni user to ask
//!   (`7700001` approves, the default; `7700002` declines; `7700003` never
//!   answers, so the wait ends at its deadline; `7700004` has a blocked
//!   PIN; `7709999` is unknown), to see how each answer looks to the caller.
//!
//! On a terminal the waits (D-Trust issuance, Hermod callback, CIBA poll)
//! show a spinner with the elapsed time and the deadline; otherwise they
//! print plain lines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use audkenni_ciba::{
    Acr, AuthRequest, BindingContent, CibaClient, JwsAlgorithm, RequestSigningKey, SignatureCheck,
};
use dtrust_client::{
    DtrustClient, GeneratedCsr, KeySpec, OrderRequest, PasswordPolicy, RequestKind,
    RevocationReason, SubjectDn, generate_revocation_password,
};
use hermod_client::{
    ApiToken, CallbackReceiver, Command, HermodClient, Outcome, SignParams, ToBeSigned, Tracker,
};
use idm_config::{
    CheckOptions, ClientIdentity, DtrustBundle, Linter, MessagingServerEntry, PropertiesFile,
    Secret, TrustRoots, TrustStore,
};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use smartid_core::{HttpSettings, WaitOptions};
use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig as AudkenniConfig, hints};
use smartid_testkit::dtrust::{DtrustSimulator, Release, SimConfig as DtrustConfig};
use smartid_testkit::hermod::{ApiClient, DeviceBehavior, HermodSimulator};
use smartid_testkit::{ClientAuth, Pkcs12Encryption, TestPki, TlsFront};

const USAGE: &str = "usage: tour [--login-hint NUMBER]";
/// The deadline of every wait in the tour (the simulators answer in about a second).
const WAIT_DEADLINE: Duration = Duration::from_secs(20);
const HERMOD_CLIENT_ID: &str = "prime1";
const CALLBACK_USER: &str = "idm-callback";
/// The D-Trust product the connector's `certificateTemplates` names.
const DTRUST_PRODUCT: &str = "Basic Device ID (ECC)";
const BINDING_MESSAGE: &str = "Samþykki leigusamning nr. 42";

/// How the waits show their progress.
#[derive(Clone, Copy)]
struct Progress {
    terminal: bool,
}

impl Progress {
    /// Runs `wait` while showing `label` with the elapsed time and the deadline.
    async fn wait<T>(self, label: &str, deadline: Duration, wait: impl Future<Output = T>) -> T {
        let deadline_secs = deadline.as_secs();
        if self.terminal {
            let style =
                ProgressStyle::with_template("  {spinner} {msg} {secs} (deadline {deadline})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner())
                    .with_key("secs", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.1} s", s.elapsed().as_secs_f64());
                    })
                    .with_key(
                        "deadline",
                        move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{deadline_secs} s");
                        },
                    );
            let bar = ProgressBar::new_spinner().with_style(style);
            bar.set_message(label.to_owned());
            bar.enable_steady_tick(Duration::from_millis(80));
            let out = wait.await;
            bar.finish_and_clear();
            out
        } else {
            println!("  … {label} (deadline {deadline_secs} s)");
            let started = Instant::now();
            let mut ticks = tokio::time::interval_at(
                tokio::time::Instant::now() + Duration::from_secs(1),
                Duration::from_secs(1),
            );
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    out = &mut wait => return out,
                    _ = ticks.tick() => println!(
                        "  … still waiting: {:.0} s of {deadline_secs} s",
                        started.elapsed().as_secs_f64()
                    ),
                }
            }
        }
    }
}

/// One finished (or failed) step.
struct StepRecord {
    name: String,
    ok: bool,
    elapsed: Duration,
}

/// The steps run so far, printed as they finish.
struct Tour {
    steps: Vec<StepRecord>,
    started: Instant,
    progress: Progress,
}

impl Tour {
    /// Records a step that started at `started`: prints its line, and turns
    /// a failure into an error naming the step.
    fn done<T>(
        &mut self,
        name: &str,
        started: Instant,
        result: anyhow::Result<(T, String)>,
    ) -> anyhow::Result<T> {
        let elapsed = started.elapsed();
        let ok = result.is_ok();
        self.steps.push(StepRecord {
            name: name.to_owned(),
            ok,
            elapsed,
        });
        match result {
            Ok((value, line)) => {
                println!("✔ {name}: {line} ({:.2} s)", elapsed.as_secs_f64());
                Ok(value)
            }
            Err(e) => {
                println!("✘ {name}: {e:#} ({:.2} s)", elapsed.as_secs_f64());
                Err(e.context(format!("step {} ({name}) failed", self.steps.len())))
            }
        }
    }

    fn summary(&self, failed: bool) {
        let width = self
            .steps
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        println!();
        println!("summary");
        println!(
            "  {:>2}  {:<width$}  {:<6}  {:>7}",
            "#", "step", "result", "time"
        );
        for (i, s) in self.steps.iter().enumerate() {
            println!(
                "  {:>2}  {:<width$}  {:<6}  {:>5.2} s",
                i + 1,
                s.name,
                if s.ok { "ok" } else { "FAILED" },
                s.elapsed.as_secs_f64()
            );
        }
        let passed = self.steps.iter().filter(|s| s.ok).count();
        println!(
            "      {:<width$}  {:<6}  {:>5.2} s",
            "total",
            if failed { "FAILED" } else { "ok" },
            self.started.elapsed().as_secs_f64()
        );
        println!(
            "{passed} of {} steps passed{}",
            self.steps.len(),
            if failed {
                ", the tour stopped at the failed step"
            } else {
                ""
            }
        );
    }
}

/// The folder with the Identity Manager files; removed when dropped.
struct TempFolder(PathBuf);

impl TempFolder {
    fn new() -> anyhow::Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let dir =
            std::env::temp_dir().join(format!("smartid-tour-{}-{nanos:08x}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        Ok(Self(dir))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The simulators and what the tour needs of them.
struct Simulators {
    dtrust: DtrustSimulator,
    hermod: HermodSimulator,
    audkenni: AudkenniSimulator,
    pki: TestPki,
    tracker: Tracker,
    callback_url: String,
    hermod_key: Secret,
    callback_password: Secret,
    // Keeps the callback receiver's TLS front running.
    _callback_front: TlsFront,
}

async fn start_simulators() -> anyhow::Result<(Simulators, String)> {
    // D-Trust releases an order after two status queries: a real wait.
    let mut dtrust_config = DtrustConfig::default();
    dtrust_config.release = Release::AfterPolls(2);
    let dtrust = DtrustSimulator::start_with(dtrust_config).await?;

    // The callback receiver: what Identity Manager's callback URL serves.
    let pki = TestPki::generate()?;
    let callback_password = Secret::new("tour-callback-password");
    let tracker = Tracker::new();
    let receiver = CallbackReceiver::new(tracker.clone(), CALLBACK_USER, &callback_password)?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let backend = listener.local_addr()?;
    tokio::spawn(receiver.serve(listener));
    let callback_front =
        TlsFront::start(backend, &pki.localhost_server()?, ClientAuth::None).await?;
    // The receiver serves `/callback/{kind}` at the root of this URL.
    let callback_url = callback_front.url();

    let hermod_key =
        Secret::new("079b6a64d75b4e9585bd0c24f36a7deba0ad03498ecf4d69b5766f24fa02e045");
    let hermod = HermodSimulator::builder(pki.localhost_server()?)
        .client(
            ApiClient::new(
                HERMOD_CLIENT_ID,
                hermod_key.clone(),
                &callback_url,
                pki.root_trust_store()?,
            )
            .callback_basic_auth(CALLBACK_USER, callback_password.clone()),
        )
        .device(DeviceBehavior::answers_after(Duration::from_millis(400)))
        .start()
        .await?;

    let audkenni = AudkenniSimulator::start(
        AudkenniConfig::with_answer_after(Duration::from_secs(1)).interval(1),
    )
    .await?;
    let line = format!(
        "D-Trust (REST, mutual TLS) at {}, Hermod at {}, Audkenni at {}",
        dtrust.rest_url(),
        hermod.command_url(),
        audkenni.issuer()
    );
    Ok((
        Simulators {
            dtrust,
            hermod,
            audkenni,
            pki,
            tracker,
            callback_url,
            hermod_key,
            callback_password,
            _callback_front: callback_front,
        },
        line,
    ))
}

/// The files of an Identity Manager installation, as Nexus' pages describe them.
struct IdmFiles {
    bundle: PathBuf,
    messaging: PathBuf,
    hermod_clients: PathBuf,
}

const P12_NAME: &str = "CSMWM447922870184925_neXus_Technology_GmbH_2015_SSL.p12";
const CER_NAME: &str = "D-TRUST_SSL_Class_3_CA_1_2009.cer";

fn write_idm_files(sims: &Simulators, folder: &TempFolder) -> anyhow::Result<(IdmFiles, String)> {
    // "Integrate Identity Manager with D-Trust connector": a zip with the
    // connector's properties, the account's PKCS#12 (a 2015 file: legacy
    // encryption, IDM's default password) and the D-Trust server certificate.
    let identity = sims.dtrust.issue_client_identity("neXus Technology GmbH")?;
    let p12_password = Secret::new(idm_config::DEFAULT_P12_PASSWORD);
    let p12 = identity.to_pkcs12(&p12_password, Pkcs12Encryption::Legacy, "csm")?;
    let properties = format!(
        "# D-Trust connector, REST interface (no namespaceURI/localPart)\n\
         url={}\n\
         p12File={P12_NAME}\n\
         p12Password={}\n\
         serverCertificate={CER_NAME}\n\
         certificateTemplates={DTRUST_PRODUCT}\n",
        sims.dtrust.rest_url(),
        p12_password.expose_secret(),
    );
    let properties = PropertiesFile::parse(properties.as_bytes(), "dtrust.properties");
    let bundle = DtrustBundle::from_parts(
        &properties,
        vec![
            (P12_NAME.to_owned(), p12),
            (CER_NAME.to_owned(), sims.dtrust.server_ca_der()),
        ],
    )?;
    let bundle_path = folder.path("dtrust-connector.zip");
    bundle.write_zip(&bundle_path)?;

    // "Integrate Identity Manager with Smart ID Messaging": the Messaging
    // Server entry (URL ending in `command`, base64(client-id:key),
    // lifespan > timeout > session start).
    let token = ApiToken::new(HERMOD_CLIENT_ID, sims.hermod_key.clone())?.to_base64();
    let entry = serde_json::json!({
        "name": "Hermod",
        "description": "Smart ID Messaging (the tour's simulator)",
        "url": sims.hermod.command_url(),
        "authenticationToken": token.expose_secret(),
        "lifespan": 300,
        "timeout": 120,
        "sessionStartTimeout": 10,
    });
    let messaging = folder.path("messaging-server.json");
    std::fs::write(&messaging, serde_json::to_string_pretty(&entry)?)?;

    // Hermod's side of the same client (kebab-case, as newer releases write it).
    let clients = serde_json::json!({
        "allowed-clients": [{
            "client-id": HERMOD_CLIENT_ID,
            "key": sims.hermod_key.expose_secret(),
            "callback-url": sims.callback_url,
            "callback-basic-auth": format!("{CALLBACK_USER}:{}", sims.callback_password.expose_secret()),
            "public-url": format!("{}rest/ms", sims.hermod.base_url()),
        }]
    });
    let hermod_clients = folder.path("hermod-clients.json");
    std::fs::write(&hermod_clients, serde_json::to_string_pretty(&clients)?)?;
    Ok((
        IdmFiles {
            bundle: bundle_path,
            messaging,
            hermod_clients,
        },
        "wrote dtrust-connector.zip (dtrust.properties, .p12, .cer), messaging-server.json \
         and hermod-clients.json to a temporary folder"
            .to_owned(),
    ))
}

fn check_options(sims: &Simulators) -> CheckOptions {
    CheckOptions::default().callback_credentials(CALLBACK_USER, &sims.callback_password)
}

fn lint(files: &IdmFiles, options: CheckOptions) -> anyhow::Result<((), String)> {
    let mut linter = Linter::new(options);
    let mut diagnostics = Vec::new();
    let paths = [&files.bundle, &files.messaging, &files.hermod_clients];
    for path in paths {
        let (_, found) = linter.lint_path(path)?;
        diagnostics.extend(found);
    }
    diagnostics.extend(linter.finish());
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    if !errors.is_empty() {
        bail!("{} error(s): {}", errors.len(), errors.join("; "));
    }
    let mut warnings: Vec<&str> = diagnostics.iter().map(|d| d.code.as_str()).collect();
    warnings.dedup();
    let warnings = if warnings.is_empty() {
        "no warning".to_owned()
    } else {
        format!("{} warning(s): {}", diagnostics.len(), warnings.join(", "))
    };
    Ok((
        (),
        format!(
            "read back and linted {} files (bundle, Messaging Server entry, Hermod clients; \
             entry and Hermod agree): 0 errors, {warnings}",
            paths.len()
        ),
    ))
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

async fn dtrust_client_from_bundle(
    sims: &Simulators,
    files: &IdmFiles,
) -> anyhow::Result<(DtrustClient, String)> {
    let bundle = DtrustBundle::open(&files.bundle)?;
    let config = bundle
        .check(&check_options(sims))
        .into_result()?
        .context("the bundle has no dtrust.properties")?;
    // The identity and the server trust are the bundle's own files.
    let p12_name = config.p12_file.clone().unwrap_or_default();
    let p12 = bundle
        .file(&p12_name)
        .with_context(|| format!("the bundle has no {p12_name}"))?;
    let identity = ClientIdentity::from_pkcs12_der(p12, &p12_name, &config.p12_password)?;
    let cer_name = config.server_certificate.clone().unwrap_or_default();
    let cer = bundle
        .file(&cer_name)
        .with_context(|| format!("the bundle has no {cer_name}"))?;
    let server_trust = TrustStore::from_bytes(cer, &cer_name, None)?;
    let subject = identity.certificate().subject().to_string();
    // What the bundle does not hold: the D-Trust CA that issued certificates
    // must chain to (a real deployment configures D-Trust's issuing CAs).
    let issuing = TrustStore::from_certificates([sims.dtrust.issuing_root_certificate().clone()])?;
    let client = DtrustClient::new(
        config
            .dtrust_config_builder(identity, server_trust)?
            .issuing_ca_trust(issuing)
            .build()?,
    )?;
    let products = client.list_products().await?;
    Ok((
        client,
        format!(
            "client built from {} ({}, identity {subject}); {} products listed over mutual TLS",
            name_of(&files.bundle),
            config.transport().map_or("no transport", |t| match t {
                dtrust_client::Transport::Rest { .. } => "REST",
                _ => "SOAP",
            }),
            products.len()
        ),
    ))
}

async fn dtrust_order(
    tour: &mut Tour,
    client: &DtrustClient,
    sims: &Simulators,
) -> anyhow::Result<()> {
    let t = Instant::now();
    let ordered = async {
        let products = client.list_products().await?;
        let product = products
            .iter()
            .find(|p| p.name == DTRUST_PRODUCT && p.accepts(&RequestKind::Pkcs10))
            .with_context(|| format!("{DTRUST_PRODUCT} is not released to the account"))?;
        let subject = SubjectDn::new("tour.example.de");
        let csr = GeneratedCsr::generate(Some(product), &subject, &[], KeySpec::EcP256)?;
        let password = generate_revocation_password(&PasswordPolicy::default())?;
        let order = OrderRequest::pkcs10(&product.id, subject, &csr.csr_der)
            .revocation_password(password.clone());
        let pending = client.submit(&order).await?.into_pending();
        let line = format!(
            "order {} for \"{}\" submitted with a P-256 PKCS#10 request",
            pending.request_id, product.name
        );
        anyhow::Ok(((pending, csr, password), line))
    }
    .await;
    let (pending, csr, password) = tour.done("D-Trust: order", t, ordered)?;

    let t = Instant::now();
    let options = WaitOptions::new()
        .timeout_from(SystemTime::now(), WAIT_DEADLINE)
        .poll_interval(Duration::from_millis(200));
    let waited = tour
        .progress
        .wait(
            &format!(
                "waiting for D-Trust to release order {}",
                pending.request_id
            ),
            WAIT_DEADLINE,
            client.wait_for_issuance(&pending, &options),
        )
        .await;
    let line = format!("order {} issued over mutual TLS", pending.request_id);
    tour.done(
        "D-Trust: issuance",
        t,
        waited.map(|_| ((), line)).map_err(Into::into),
    )?;

    let t = Instant::now();
    let fetched = async {
        // Checked by the client: the chain up to the D-Trust CA, the ordered subject, the key.
        let issued = client.fetch_certificate(&pending).await?;
        if !issued.is_for_key(&csr.public_key_spki) {
            bail!("the issued certificate is not for the key of the request");
        }
        let cert = issued.certificate;
        let line = format!(
            "certificate {} fetched: {}, issued by {}; chain, subject and key checked",
            cert.serial_hex(),
            cert.subject(),
            cert.issuer()
        );
        anyhow::Ok((cert, line))
    }
    .await;
    let cert = tour.done("D-Trust: fetch", t, fetched)?;

    let t = Instant::now();
    let revoked = async {
        client
            .revoke(
                cert.serial_hex(),
                &password,
                Some(RevocationReason::CessationOfOperation),
            )
            .await?;
        if !sims.dtrust.is_revoked(cert.serial_hex()) {
            bail!("D-Trust does not list {} as revoked", cert.serial_hex());
        }
        anyhow::Ok((
            (),
            format!(
                "certificate {} revoked with its revocation password",
                cert.serial_hex()
            ),
        ))
    }
    .await;
    tour.done("D-Trust: revoke", t, revoked)
}

async fn hermod(tour: &mut Tour, sims: &Simulators, files: &IdmFiles) -> anyhow::Result<()> {
    let t = Instant::now();
    let sent = async {
        let text = std::fs::read_to_string(&files.messaging)?;
        let entry = MessagingServerEntry::from_json(&text, &name_of(&files.messaging))
            .into_result()?
            .context("no Messaging Server entry")?;
        // Identity Manager trusts Hermod through its modified cacerts; here,
        // the simulator's root.
        let http = HttpSettings::new().trust(TrustRoots::Only(sims.pki.root_trust_store()?));
        let client = HermodClient::new(entry.to_hermod_config(http)?)?;
        let command = Command::sign(
            SignParams::new(vec![ToBeSigned::text(
                "order-17",
                "Purchase order 17",
                "I order 17 widgets for EUR 170.",
            )])
            .describe(ToBeSigned::text(
                "requester",
                "Signing request from",
                "The smartid tour",
            )),
        )
        .external_id("tour-order-17");
        let sent = client.send(&command).await?;
        let link = sent.answer.desktop_link()?;
        let line = format!(
            "client built from {}; sign command {} accepted ({}), Desktop App link {}…",
            name_of(&files.messaging),
            sent.answer.command_id,
            sent.answer.state,
            link.to_string().chars().take(40).collect::<String>()
        );
        anyhow::Ok((sent.tracked, line))
    }
    .await;
    let tracked = tour.done("Hermod: sign command", t, sent)?;

    let t = Instant::now();
    let id = tracked.command_id.clone();
    let options = WaitOptions::new().timeout_from(SystemTime::now(), WAIT_DEADLINE);
    let outcome = tour
        .progress
        .wait(
            &format!("waiting for Hermod's callback for command {id}"),
            WAIT_DEADLINE,
            sims.tracker.track(tracked, &options),
        )
        .await;
    let result = match outcome {
        Ok(Outcome::Answered(cb)) => {
            let signatures = cb
                .result
                .as_ref()
                .and_then(|r| r["signatures"].as_array().map(Vec::len))
                .unwrap_or(0);
            Ok((
                (),
                format!(
                    "callback for command {id} received at {}/callback/sign with Basic auth: {}, \
                     {signatures} signature(s)",
                    sims.callback_url, cb.state
                ),
            ))
        }
        Ok(other) => Err(anyhow::anyhow!(
            "command {id} ended without an answer: {}",
            other.state()
        )),
        Err(e) => Err(e.into()),
    };
    tour.done("Hermod: callback", t, result)
}

async fn audkenni(tour: &mut Tour, sims: &Simulators, login_hint: &str) -> anyhow::Result<()> {
    let sim = &sims.audkenni;
    let t = Instant::now();
    let content = BindingContent::sha256_of(BINDING_MESSAGE.as_bytes());
    let started = async {
        let client = CibaClient::builder(sim.issuer(), sim.client_id())
            .client_secret(Secret::new(sim.client_secret()))
            .signing_key(RequestSigningKey::from_pem(
                sim.client_key_pem().as_bytes(),
                JwsAlgorithm::Rs256,
            )?)
            .http_settings(HttpSettings::new().trust(TrustRoots::Only(sim.tls_trust_store()?)))
            .build()
            .await?;
        let request = AuthRequest::new(login_hint, Acr::SimSign)
            .binding_message(BINDING_MESSAGE)
            .binding_content(content.clone());
        let pending = client.start(&request).await?;
        let line = format!(
            "sim-sign request with a signed request object sent for {login_hint} (poll every {} s)",
            pending.interval().as_secs()
        );
        anyhow::Ok(((client, pending), line))
    }
    .await;
    let (client, mut pending) = tour.done("Audkenni: CIBA request", t, started)?;

    let t = Instant::now();
    let options = WaitOptions::new().timeout_from(SystemTime::now(), WAIT_DEADLINE);
    let polled = tour
        .progress
        .wait(
            &format!("waiting for the user at {login_hint} (CIBA poll)"),
            WAIT_DEADLINE,
            async {
                let tokens = client.wait(&mut pending, &options).await?;
                let id_token = client.verify_id_token(&tokens).await?;
                anyhow::Ok(id_token)
            },
        )
        .await;
    let id_token = tour.done(
        "Audkenni: id_token",
        t,
        polled.map(|token| {
            let line = format!(
                "user approved; id_token verified (signature from the JWKS, iss, aud, exp), sub={}",
                token.subject
            );
            (token, line)
        }),
    )?;

    let t = Instant::now();
    let verified = id_token
        .verify_signature(
            &SignatureCheck::with_trust_anchors(sim.signature_trust_anchors())
                .expect_text(BINDING_MESSAGE),
        )
        .map_err(anyhow::Error::from)
        .map(|v| {
            let line = format!(
                "CMS signature over \"{}\" verified; signer {} ({}), chain {}",
                v.signed_text().unwrap_or_default(),
                v.name,
                v.national_register_id,
                v.chain
            );
            ((), line)
        });
    tour.done("Audkenni: signature and chain", t, verified)
}

async fn run(tour: &mut Tour, login_hint: &str) -> anyhow::Result<()> {
    let t = Instant::now();
    let sims = start_simulators().await;
    let sims = tour.done("simulators", t, sims)?;

    let t = Instant::now();
    let folder = TempFolder::new()?;
    let files = write_idm_files(&sims, &folder);
    let files = tour.done("Identity Manager: files", t, files)?;

    let t = Instant::now();
    let linted = lint(&files, check_options(&sims));
    tour.done("Identity Manager: lint", t, linted)?;

    let t = Instant::now();
    let client = dtrust_client_from_bundle(&sims, &files).await;
    let client = tour.done("D-Trust: client", t, client)?;
    dtrust_order(tour, &client, &sims).await?;

    hermod(tour, &sims, &files).await?;
    audkenni(tour, &sims, login_hint).await
}

fn parse_args() -> Result<String, String> {
    let mut login_hint = hints::APPROVES.to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--login-hint" => match args.next() {
                Some(hint) if !hint.trim().is_empty() => login_hint = hint,
                _ => return Err("--login-hint needs a number, e.g. 7700002".to_owned()),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    Ok(login_hint)
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let login_hint = match parse_args() {
        Ok(hint) => hint,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut tour = Tour {
        steps: Vec::new(),
        started: Instant::now(),
        progress: Progress {
            terminal: std::io::stdout().is_terminal(),
        },
    };
    println!("smartid tour: the bundled simulators on 127.0.0.1, over real TLS, no set-up");
    let result = run(&mut tour, &login_hint).await;
    tour.summary(result.is_err());
    match result {
        Ok(()) => {
            println!("tour passed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("tour failed: {e:#}");
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
