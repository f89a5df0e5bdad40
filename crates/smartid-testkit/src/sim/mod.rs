//! The three simulators as one server, for other tools and languages (what
//! `smartid sim` runs), the way ACME clients use pebble: the test PKI and
//! credentials are written into a folder with a `sim.json` that describes
//! everything a client needs, and a control server on `127.0.0.1` serves a
//! JSON control API under `/control/` and, at `/`, a page listing the
//! requests that wait for a person, with Approve and Decline buttons.
//!
//! ```no_run
//! use smartid_testkit::sim::{SimOptions, SimServer};
//! # async fn run() -> smartid_testkit::Result<()> {
//! let server = SimServer::start(SimOptions::new("/path/to/folder")).await?;
//! println!("{}", server.sim_json_path().display());
//! println!("{}", server.control_url());
//! # Ok(()) }
//! ```
//!
//! The layout of `sim.json` and the control API are described in the
//! repository's `docs/sim.md`.

mod control;
mod page;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use smartid_core::Secret;
use tokio::task::JoinHandle;

use crate::audkenni::{self, AudkenniSimulator, hints};
use crate::dtrust::{self, DtrustSimulator};
use crate::error::{Result, TestkitError};
use crate::faults::{FaultSettings, Faults};
use crate::hermod::{ApiClient, DeviceBehavior, HermodSimulator};
use crate::pki::{Pkcs12Encryption, TestPki};

/// The API user `smartid sim` registers at its Hermod simulator.
pub const HERMOD_CLIENT_ID: &str = "smartid-sim";
/// The user name Hermod's callbacks carry (`callback-basic-auth`).
pub const HERMOD_CALLBACK_USER: &str = "smartid-sim-callback";
/// The password of the client PKCS#12 file (Identity Manager's default).
pub const DTRUST_P12_PASSWORD: &str = "123456";
/// The Hermod callback base URL until one is given (a receiver listening on
/// `http://localhost:8081`, as in the hermod_sign example).
pub const DEFAULT_HERMOD_CALLBACK_URL: &str = "http://localhost:8081";

/// Settings of [`SimServer`]. Ports 0 mean "a free port".
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimOptions {
    /// The folder for the PKI, credentials and `sim.json` (created if missing).
    pub dir: PathBuf,
    /// The Audkenni simulator's HTTPS port.
    pub audkenni_port: u16,
    /// The D-Trust simulator's HTTPS port (client certificate required).
    pub dtrust_port: u16,
    /// The Hermod simulator's HTTPS port.
    pub hermod_port: u16,
    /// The control API and page (plain HTTP).
    pub control_port: u16,
    /// Where Hermod POSTs callbacks (`{url}/callback/{kind}`); `http` or
    /// `https` (trusting the sim's CA). Defaults to
    /// [`DEFAULT_HERMOD_CALLBACK_URL`]; the control API changes it.
    pub hermod_callback_url: String,
    /// What Hermod's device does. Defaults to [`DeviceBehavior::manual`]:
    /// commands wait for the page or the control API.
    pub hermod_device: DeviceBehavior,
    /// How long Audkenni's approving and declining users take. Defaults to 2 s.
    pub audkenni_answer_after: Duration,
    /// The `interval` Audkenni announces, in seconds. Defaults to 1.
    pub audkenni_interval: u64,
    /// Fault injection at start. Defaults to off.
    pub faults: FaultSettings,
}

impl SimOptions {
    /// Defaults, writing into `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            audkenni_port: 0,
            dtrust_port: 0,
            hermod_port: 0,
            control_port: 0,
            hermod_callback_url: DEFAULT_HERMOD_CALLBACK_URL.into(),
            hermod_device: DeviceBehavior::manual(),
            audkenni_answer_after: Duration::from_secs(2),
            audkenni_interval: 1,
            faults: FaultSettings::default(),
        }
    }
}

/// The running simulators and their control server. Stops when dropped.
pub struct SimServer {
    shared: Arc<control::Shared>,
    control_url: String,
    sim_json_path: PathBuf,
    dir: PathBuf,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for SimServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimServer")
            .field("dir", &self.dir)
            .field("control_url", &self.control_url)
            .finish_non_exhaustive()
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    let _ = aws_lc_rs::rand::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Turns "address in use" on a chosen port into [`TestkitError::PortInUse`].
fn port_error(service: &'static str, port: u16) -> impl Fn(TestkitError) -> TestkitError {
    move |e| match e {
        TestkitError::Io(io) if io.kind() == std::io::ErrorKind::AddrInUse => {
            TestkitError::PortInUse { service, port }
        }
        other => other,
    }
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| TestkitError::File {
            path: parent.display().to_string(),
            source,
        })?;
    }
    std::fs::write(path, bytes).map_err(|source| TestkitError::File {
        path: path.display().to_string(),
        source,
    })
}

fn path_text(p: &Path) -> String {
    p.display().to_string()
}

impl SimServer {
    /// Generates the PKI, starts the three simulators and the control
    /// server, and writes the folder's files and `sim.json`.
    ///
    /// # Errors
    /// [`TestkitError::PortInUse`] when a chosen port is taken,
    /// [`TestkitError::File`] when the folder cannot be written, and the
    /// simulators' own errors.
    pub async fn start(options: SimOptions) -> Result<Self> {
        let dir = options.dir.clone();
        std::fs::create_dir_all(&dir).map_err(|source| TestkitError::File {
            path: path_text(&dir),
            source,
        })?;
        let faults = Faults::new(options.faults.clone());
        // Binding the control port first: nothing is started when it is taken.
        let control = tokio::net::TcpListener::bind(("127.0.0.1", options.control_port))
            .await
            .map_err(|e| port_error("control", options.control_port)(e.into()))?;
        let control_url = format!("http://127.0.0.1:{}/", control.local_addr()?.port());

        let audkenni = AudkenniSimulator::start(
            audkenni::SimConfig::with_answer_after(options.audkenni_answer_after)
                .interval(options.audkenni_interval)
                .port(options.audkenni_port)
                .faults(faults.clone()),
        )
        .await
        .map_err(port_error("audkenni", options.audkenni_port))?;

        let dtrust_config = dtrust::SimConfig {
            port: options.dtrust_port,
            faults: faults.clone(),
            ..Default::default()
        };
        let dtrust = DtrustSimulator::start_with(dtrust_config)
            .await
            .map_err(port_error("dtrust", options.dtrust_port))?;

        let pki = TestPki::generate()?;
        let hermod_key = Secret::new(format!("sim-key-{}", random_hex(8)));
        let callback_password = Secret::new(format!("sim-callback-{}", random_hex(8)));
        let hermod = HermodSimulator::builder(pki.localhost_server()?)
            .client(
                ApiClient::new(
                    HERMOD_CLIENT_ID,
                    hermod_key.clone(),
                    &options.hermod_callback_url,
                    pki.root_trust_store()?,
                )
                .callback_basic_auth(HERMOD_CALLBACK_USER, callback_password.clone()),
            )
            .device(options.hermod_device)
            .port(options.hermod_port)
            .faults(faults.clone())
            .plain_http_callbacks(true)
            .start()
            .await
            .map_err(port_error("hermod", options.hermod_port))?;

        // The files.
        let ca_pem = dir.join("ca.pem");
        write(
            &ca_pem,
            format!(
                "{}{}{}",
                pki.root_pem(),
                audkenni.tls_root_pem(),
                dtrust.server_ca_pem()
            ),
        )?;
        let signing_key = dir.join("audkenni").join("request-signing-key.pem");
        write(&signing_key, audkenni.client_key_pem())?;
        let signature_roots = dir.join("audkenni").join("signature-roots.pem");
        let roots: String = audkenni
            .signature_trust_anchors()
            .iter()
            .map(smartid_core::Certificate::to_pem)
            .collect();
        write(&signature_roots, roots)?;
        let p12 = dir.join("dtrust").join("client.p12");
        let identity = dtrust.issue_client_identity("smartid sim client")?;
        write(
            &p12,
            identity.to_pkcs12(
                &Secret::new(DTRUST_P12_PASSWORD),
                Pkcs12Encryption::Modern,
                "client",
            )?,
        )?;
        let dtrust_server_ca = dir.join("dtrust").join("server-ca.pem");
        write(&dtrust_server_ca, dtrust.server_ca_pem())?;
        let issuing_ca = dir.join("dtrust").join("issuing-ca.pem");
        write(&issuing_ca, dtrust.issuing_root_certificate().to_pem())?;
        let callback_server = pki.localhost_server()?;
        let callback_cert = dir.join("hermod").join("callback-tls-cert.pem");
        write(&callback_cert, callback_server.chain_pem())?;
        let callback_key = dir.join("hermod").join("callback-tls-key.pem");
        write(&callback_key, callback_server.key_pem())?;

        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let token = b64.encode(format!("{HERMOD_CLIENT_ID}:{}", hermod_key.expose_secret()));
        let device_key = b64.encode(hermod.device_public_key());
        let sim_json = json!({
            "dir": path_text(&dir),
            "ca_pem": path_text(&ca_pem),
            "control_url": control_url,
            "audkenni": {
                "issuer": audkenni.issuer(),
                "discovery_url": audkenni.discovery_url(),
                "client_id": audkenni.client_id(),
                "client_secret": audkenni.client_secret(),
                "request_signing_key_pem": path_text(&signing_key),
                "request_signing_alg": "RS256",
                "signature_roots_pem": path_text(&signature_roots),
                "interval": options.audkenni_interval,
                "answer_after_ms": options.audkenni_answer_after.as_millis() as u64,
                "hints": {
                    "approve": hints::APPROVES,
                    "decline": hints::DECLINES,
                    "silent": hints::NEVER_ANSWERS,
                    "unknown": hints::UNKNOWN,
                    "manual": hints::MANUAL,
                    "pin_blocked": hints::PIN_BLOCKED,
                    "revoked": hints::REVOKED,
                },
            },
            "dtrust": {
                "rest_url": dtrust.rest_url(),
                "soap_url": dtrust.soap_url(),
                "soap_namespace": dtrust.soap_namespace(),
                "soap_service": dtrust.soap_service(),
                "client_p12": path_text(&p12),
                "client_p12_password": DTRUST_P12_PASSWORD,
                "server_ca_pem": path_text(&dtrust_server_ca),
                "issuing_ca_pem": path_text(&issuing_ca),
            },
            "hermod": {
                "command_url": hermod.command_url(),
                "client_id": HERMOD_CLIENT_ID,
                "key": hermod_key.expose_secret(),
                "token": token,
                "callback_url": options.hermod_callback_url,
                "callback_user": HERMOD_CALLBACK_USER,
                "callback_password": callback_password.expose_secret(),
                "callback_tls_cert_pem": path_text(&callback_cert),
                "callback_tls_key_pem": path_text(&callback_key),
                "device": control::device_json(&options.hermod_device),
                "device_public_key_der_base64": device_key,
            },
        });
        let sim_json_path = dir.join("sim.json");
        let text = serde_json::to_string_pretty(&sim_json)
            .map_err(|e| TestkitError::Pki(format!("sim.json: {e}")))?;
        write(&sim_json_path, text + "\n")?;
        restrict(&sim_json_path);

        let shared = Arc::new(control::Shared {
            audkenni,
            dtrust,
            hermod,
            faults,
        });
        let app = control::router(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(control, app).await;
        });
        Ok(Self {
            shared,
            control_url,
            sim_json_path,
            dir,
            task,
        })
    }

    /// `http://127.0.0.1:PORT/`: the page, and the control API under `/control/`.
    pub fn control_url(&self) -> &str {
        &self.control_url
    }

    /// The folder written.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/sim.json`.
    pub fn sim_json_path(&self) -> &Path {
        &self.sim_json_path
    }

    /// The contents of `sim.json`.
    ///
    /// # Errors
    /// [`TestkitError::File`] when it cannot be read back.
    pub fn sim_json(&self) -> Result<Value> {
        let text =
            std::fs::read_to_string(&self.sim_json_path).map_err(|source| TestkitError::File {
                path: path_text(&self.sim_json_path),
                source,
            })?;
        serde_json::from_str(&text).map_err(|e| TestkitError::Pki(format!("sim.json: {e}")))
    }

    /// The Audkenni simulator.
    pub fn audkenni(&self) -> &AudkenniSimulator {
        &self.shared.audkenni
    }

    /// The D-Trust simulator.
    pub fn dtrust(&self) -> &DtrustSimulator {
        &self.shared.dtrust
    }

    /// The Hermod simulator.
    pub fn hermod(&self) -> &HermodSimulator {
        &self.shared.hermod
    }

    /// The fault switch shared by the three simulators.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }
}

/// The Hermod device of a mode name (`manual`, `approve`, `decline`, `fail`,
/// `never`, `never_opens`), answering `after_ms` after opening.
///
/// # Errors
/// A message naming the accepted modes.
pub fn parse_device_mode(mode: &str, after_ms: u64) -> std::result::Result<DeviceBehavior, String> {
    control::parse_device(&json!({ "reply": mode, "after_ms": after_ms }))
}

/// sim.json holds test credentials: readable by its owner only.
fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}
