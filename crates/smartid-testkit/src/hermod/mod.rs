//! A Hermod-like Smart ID Messaging service over HTTPS, for testing
//! `hermod-client` and applications built on it without a Nexus installation.
//!
//! - `POST /hermod/rest/command/{provision,certificate,authenticate,sign,ping}`
//!   (and the inferred `startpinreset`, `endpinreset`) checks
//!   `X-Api-Key: base64(client-id:key)` (401 otherwise) and the body against
//!   the shapes of Nexus' documented samples (`commandHeader` with `timeout`
//!   not past `lifespan` and optional `to`; `description`/`tbs` items as
//!   objects; `keytypeprios` as objects; `certreq` base64 DER; 400 naming the
//!   field otherwise) and answers like Hermod:
//!   `{"commandId","destinations":[{"to","bid","mid","uri","location"}],"commandType","state":"IN_PROGRESS","fqdn"}`.
//! - `GET /hermod/rest/ms/{bid}/{mid}` shows a message box entry while the
//!   command is in it (until its timeout).
//! - A simulated device ([`DeviceBehavior`]) opens the command after a
//!   delay (or never), answers or declines after another delay (or never).
//!   The simulator POSTs callbacks to `{callback-url}/callback/{kind}`
//!   ([`ApiClient::callback_path`] changes the middle part) with the client's
//!   Basic credentials: `STARTED` when the device opens the command only if
//!   [`DeviceBehavior::progress_callbacks`] is on (off by default), then one
//!   final state: `COMPLETED` with a result, `DECLINED`,
//!   `FAILED` (with an `error`),
//!   `TIMEOUT` (never opened before the timeout) or `EXPIRED` (opened, not
//!   answered before the lifespan).
//! - Time can be compressed with [`HermodSimulatorBuilder::second`]: one
//!   protocol second of lifespan/timeout lasts that long.
//!
//! Device results are real signatures made with a key generated per
//! simulator: sign and authenticate give RSA PKCS#1 v1.5 SHA-256
//! (`CKM_SHA256_RSA_PKCS`) signatures of each `tbs` item's bytes; provision
//! gives an RS256 JWS over the nonce, user id and key ids; the public key
//! is [`HermodSimulator::device_public_key`] (PKCS#1 `RSAPublicKey` DER).
//!
//! ```no_run
//! use smartid_testkit::TestPki;
//! use smartid_testkit::hermod::{ApiClient, DeviceBehavior, HermodSimulator};
//! use smartid_core::Secret;
//! use std::time::Duration;
//!
//! # async fn run() -> smartid_testkit::Result<()> {
//! let pki = TestPki::generate()?;
//! let sim = HermodSimulator::builder(pki.localhost_server()?)
//!     .client(ApiClient::new("prime1", Secret::new("k3y"), "https://localhost:8443/cb", pki.root_trust_store()?))
//!     .device(DeviceBehavior::answers_after(Duration::from_millis(50)))
//!     .start()
//!     .await?;
//! println!("{}", sim.command_url());
//! # Ok(())
//! # }
//! ```

mod device;
mod server;
mod state;

use std::sync::Arc;
use std::time::Duration;

use smartid_core::{Secret, TrustStore};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::Result;
use crate::pki::TestIdentity;
use crate::tls::{ClientAuth, TlsFront};

pub use state::{CallbackCounts, CallbackRecord, SimCommand};

/// The default path between a client's callback URL and the kind:
/// callbacks go to `{callback-url}/callback/{kind}` (inferred from Hermod's
/// client template, whose `callback-url` already ends in `/rest`).
pub const DEFAULT_CALLBACK_PATH: &str = "/callback";

/// An API user of the simulator: Hermod's `allowed-clients` entry.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub(crate) client_id: String,
    pub(crate) key: Secret,
    pub(crate) callback_url: String,
    pub(crate) callback_basic_auth: Option<(String, Secret)>,
    pub(crate) callback_trust: TrustStore,
    pub(crate) callback_path: String,
}

impl ApiClient {
    /// A client id and key, with the callback base URL (https) and the
    /// roots that verify the callback receiver's certificate.
    pub fn new(
        client_id: &str,
        key: Secret,
        callback_url: &str,
        callback_trust: TrustStore,
    ) -> Self {
        Self {
            client_id: client_id.to_owned(),
            key,
            callback_url: callback_url.trim_end_matches('/').to_owned(),
            callback_basic_auth: None,
            callback_trust,
            callback_path: DEFAULT_CALLBACK_PATH.to_owned(),
        }
    }

    /// The path between the callback URL and the kind. Defaults to
    /// [`DEFAULT_CALLBACK_PATH`] (`/callback`, so callbacks go to
    /// `{callback-url}/callback/{kind}`); `/rest/callback` gives the
    /// other layout the record allows.
    #[must_use]
    pub fn callback_path(mut self, path: &str) -> Self {
        let trimmed = path.trim_matches('/');
        self.callback_path = if trimmed.is_empty() {
            String::new()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// HTTP Basic credentials sent with callbacks (`callback-basic-auth`).
    #[must_use]
    pub fn callback_basic_auth(mut self, user: &str, password: Secret) -> Self {
        self.callback_basic_auth = Some((user.to_owned(), password));
        self
    }
}

/// What the device does with a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceReply {
    /// Answers with a result (`COMPLETED`).
    Approve,
    /// The user declines (`DECLINED`).
    Decline,
    /// The device reports an error (`FAILED`, e.g. no matching key).
    Fail,
    /// Never answers.
    Never,
    /// Waits for a person: [`HermodSimulator::approve`] answers with a
    /// result (`COMPLETED`), [`HermodSimulator::decline`] declines
    /// (`DECLINED`); without a decision the command expires (`EXPIRED`).
    Manual,
}

/// The simulated device: when it opens a command and how it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceBehavior {
    /// Delay after the command is created until the device opens it; `None`
    /// = the user never starts the app.
    pub open_after: Option<Duration>,
    /// Delay after opening until the answer.
    pub answer_after: Duration,
    /// The answer.
    pub reply: DeviceReply,
    /// Whether a `STARTED` callback is sent when the device opens the
    /// command. Off by default: progress callbacks are not in the record.
    pub progress_callbacks: bool,
}

impl DeviceBehavior {
    /// Opens at once and approves after `delay`.
    pub fn answers_after(delay: Duration) -> Self {
        Self {
            open_after: Some(Duration::ZERO),
            answer_after: delay,
            reply: DeviceReply::Approve,
            progress_callbacks: false,
        }
    }

    /// Opens at once and declines after `delay`.
    pub fn declines_after(delay: Duration) -> Self {
        Self {
            reply: DeviceReply::Decline,
            ..Self::answers_after(delay)
        }
    }

    /// Opens at once and fails after `delay` (`FAILED` with an error).
    pub fn fails_after(delay: Duration) -> Self {
        Self {
            reply: DeviceReply::Fail,
            ..Self::answers_after(delay)
        }
    }

    /// Opens at once and waits for a person's decision ([`DeviceReply::Manual`]).
    pub fn manual() -> Self {
        Self {
            reply: DeviceReply::Manual,
            ..Self::answers_after(Duration::ZERO)
        }
    }

    /// Never opens the command.
    pub fn never_opens() -> Self {
        Self {
            open_after: None,
            ..Self::answers_after(Duration::ZERO)
        }
    }

    /// Opens after `delay` and never answers.
    pub fn opens_but_never_answers(delay: Duration) -> Self {
        Self {
            open_after: Some(delay),
            reply: DeviceReply::Never,
            ..Self::answers_after(Duration::ZERO)
        }
    }

    /// Opens after `delay` (instead of at once).
    #[must_use]
    pub fn opening_after(mut self, delay: Duration) -> Self {
        self.open_after = Some(delay);
        self
    }

    /// Switches the `STARTED` callbacks on or off.
    #[must_use]
    pub fn progress_callbacks(mut self, enabled: bool) -> Self {
        self.progress_callbacks = enabled;
        self
    }
}

impl Default for DeviceBehavior {
    /// Approves at once.
    fn default() -> Self {
        Self::answers_after(Duration::ZERO)
    }
}

/// Builder of [`HermodSimulator`].
#[derive(Debug)]
#[must_use]
pub struct HermodSimulatorBuilder {
    identity: TestIdentity,
    clients: Vec<ApiClient>,
    device: DeviceBehavior,
    second: Duration,
    first_command_id: u64,
    retries: (u32, Duration),
    port: u16,
    faults: crate::Faults,
    plain_http_callbacks: bool,
}

impl HermodSimulatorBuilder {
    /// Serves on `127.0.0.1:port`. Defaults to 0: a free port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Fault injection on the HTTPS endpoints and on callbacks, including
    /// [`crate::FaultKind::DuplicateCallback`] and
    /// [`crate::FaultKind::ReorderCallbacks`] (see [`crate::Faults`]).
    /// Defaults to off.
    pub fn faults(mut self, faults: crate::Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Allows callback URLs in plain `http` (for a receiver on loopback in
    /// tests). Defaults to false: `https` only.
    pub fn plain_http_callbacks(mut self, allow: bool) -> Self {
        self.plain_http_callbacks = allow;
        self
    }

    /// How many times a callback is POSTed at most (the first try
    /// included) while the receiver fails (5xx or no answer), and the
    /// backoff: attempt `n` waits `n * backoff` before the next. Defaults to
    /// 3 attempts with a 50 ms backoff. Hermod's own retry schedule is not
    /// in its public record (inferred: it retries failed callbacks).
    pub fn callback_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.retries = (attempts.max(1), backoff);
        self
    }

    /// Adds an API user.
    pub fn client(mut self, client: ApiClient) -> Self {
        self.clients.push(client);
        self
    }

    /// The device's behaviour. Defaults to approving at once.
    pub fn device(mut self, device: DeviceBehavior) -> Self {
        self.device = device;
        self
    }

    /// How long one protocol second (of lifespan and timeout) lasts.
    /// Defaults to one second.
    pub fn second(mut self, second: Duration) -> Self {
        self.second = second;
        self
    }

    /// The first command id. Defaults to 688.
    pub fn first_command_id(mut self, id: u64) -> Self {
        self.first_command_id = id;
        self
    }

    /// Starts the simulator on `127.0.0.1` behind a [`TlsFront`].
    ///
    /// # Errors
    /// I/O when no port can be bound, TLS for a bad identity, core errors
    /// when a callback trust store is refused.
    pub async fn start(self) -> Result<HermodSimulator> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let backend = listener.local_addr()?;
        let resets = crate::faults::Resets::default();
        let front = TlsFront::start_at(
            self.port,
            backend,
            &self.identity,
            ClientAuth::None,
            Some(resets.clone()),
        )
        .await?;
        let base_url = format!("{}/hermod/", front.url());
        if crate::secrets::recording() {
            use crate::secrets::{SecretKind, record};
            use base64::Engine as _;
            let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
            for c in &self.clients {
                let key = c.key.expose_secret();
                record(SecretKind::ApiKey, key);
                record(SecretKind::ApiKey, &b64(&format!("{}:{key}", c.client_id)));
                if let Some((user, password)) = &c.callback_basic_auth {
                    let both = format!("{user}:{}", password.expose_secret());
                    record(SecretKind::CallbackCredentials, password.expose_secret());
                    record(SecretKind::CallbackCredentials, &b64(&both));
                    record(SecretKind::CallbackCredentials, &both);
                }
            }
        }
        let state = Arc::new(state::SimState::new(
            self.clients,
            self.device,
            self.second,
            self.first_command_id,
            base_url,
            self.retries,
            self.faults.clone(),
            self.plain_http_callbacks,
        )?);
        let fault_layer = crate::faults::FaultLayer {
            faults: self.faults,
            resets,
            submissions: false,
        };
        let app = server::router(state.clone()).layer(axum::middleware::from_fn_with_state(
            fault_layer,
            crate::faults::inject,
        ));
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        Ok(HermodSimulator { front, state, task })
    }
}

/// A running simulator. Stops when dropped.
#[derive(Debug)]
pub struct HermodSimulator {
    front: TlsFront,
    state: Arc<state::SimState>,
    task: JoinHandle<()>,
}

impl HermodSimulator {
    /// A builder with the server identity (e.g. `pki.localhost_server()?`).
    pub fn builder(server_identity: TestIdentity) -> HermodSimulatorBuilder {
        HermodSimulatorBuilder {
            identity: server_identity,
            clients: Vec::new(),
            device: DeviceBehavior::default(),
            second: Duration::from_secs(1),
            first_command_id: 688,
            retries: (3, Duration::from_millis(50)),
            port: 0,
            faults: crate::Faults::default(),
            plain_http_callbacks: false,
        }
    }

    /// `https://localhost:PORT/hermod/`.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// `https://localhost:PORT/hermod/rest/command` (Identity Manager's form).
    pub fn command_url(&self) -> String {
        format!("{}rest/command", self.state.base_url)
    }

    /// The TLS front (handshake counters).
    pub fn front(&self) -> &TlsFront {
        &self.front
    }

    /// Changes the device's behaviour for commands created from now on.
    pub fn set_device(&self, device: DeviceBehavior) {
        self.state.set_device(device);
    }

    /// The commands received so far.
    pub fn commands(&self) -> Vec<SimCommand> {
        self.state.commands()
    }

    /// The callbacks sent so far, in order.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        self.state.callbacks()
    }

    /// How the callbacks went (POSTs, 200 answers, failures), counted by
    /// the simulator.
    pub fn callback_counts(&self) -> CallbackCounts {
        self.state.callback_counts()
    }

    /// A command as the simulator holds it now (its `state` is the one it
    /// reported or will report), if it knows it.
    pub fn command(&self, command_id: &str) -> Option<SimCommand> {
        self.state.command(command_id)
    }

    /// The commands waiting for a person's decision ([`DeviceReply::Manual`]),
    /// oldest first.
    pub fn pending_commands(&self) -> Vec<SimCommand> {
        self.state.waiting()
    }

    /// Approves a waiting command: the device answers with a result and the
    /// `COMPLETED` callback is sent. `false` when no such command waits.
    pub fn approve(&self, command_id: &str) -> bool {
        self.state.decide(command_id, true)
    }

    /// Declines a waiting command (`DECLINED` callback). `false` when no
    /// such command waits.
    pub fn decline(&self, command_id: &str) -> bool {
        self.state.decide(command_id, false)
    }

    /// Changes the callback URL of an API user (for callbacks sent from
    /// now on). `false` for an unknown client id.
    pub fn set_callback_url(&self, client_id: &str, callback_url: &str) -> bool {
        self.state.set_callback_url(client_id, callback_url)
    }

    /// The device's behaviour for new commands.
    pub fn device(&self) -> DeviceBehavior {
        self.state.device()
    }

    /// Requests refused for a missing or wrong API key.
    pub fn refused_api_keys(&self) -> usize {
        self.state.refused_api_keys()
    }

    /// The device key's public half (PKCS#1 `RSAPublicKey` DER), to verify
    /// the signatures in results.
    pub fn device_public_key(&self) -> Vec<u8> {
        self.state.signer.public_key_der()
    }

    /// Waits until `count` callbacks were sent (whatever their HTTP result),
    /// or `timeout` passes; returns the callbacks sent.
    pub async fn wait_for_callbacks(&self, count: usize, timeout: Duration) -> Vec<CallbackRecord> {
        let _ = tokio::time::timeout(timeout, self.state.wait_for_callbacks(count)).await;
        self.callbacks()
    }
}

impl Drop for HermodSimulator {
    fn drop(&mut self) {
        self.task.abort();
        self.state.shutdown();
    }
}
