//! The simulator's state: API users, commands, message boxes, the device
//! key and the log of callbacks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::signature::KeyPair as _;
use serde::Serialize;
use smartid_core::{HttpClient, HttpSettings, TrustRoots};
use tokio::sync::{oneshot, watch};

use super::{ApiClient, DeviceBehavior};
use crate::error::{Result, TestkitError};

/// A command as the simulator holds it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SimCommand {
    /// The command id.
    pub command_id: String,
    /// The API user that sent it.
    pub client_id: String,
    /// `provision`, `certificate`, `authenticate`, `sign` or `ping`.
    pub kind: String,
    /// The header's `externalId`.
    pub external_id: Option<String>,
    /// The header's lifespan in seconds.
    pub lifespan: u64,
    /// The header's timeout in seconds.
    pub timeout: u64,
    /// The first destination's message box id.
    pub bid: String,
    /// The first destination's message id.
    pub mid: String,
    /// `IN_PROGRESS`, `STARTED`, `COMPLETED`, `DECLINED`, `TIMEOUT` or `EXPIRED`.
    pub state: String,
    /// The command document as received.
    pub body: serde_json::Value,
}

/// One callback POSTed by the simulator.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CallbackRecord {
    /// The command id.
    pub command_id: String,
    /// The URL posted to.
    pub url: String,
    /// The state reported.
    pub state: String,
    /// The body sent.
    pub body: serde_json::Value,
    /// The receiver's last HTTP status, if it answered.
    pub status: Option<u16>,
    /// The last transport error, if any.
    pub error: Option<String>,
    /// How many attempts were made (failed and 5xx deliveries are retried).
    pub attempts: u32,
}

pub(crate) struct ClientEntry {
    pub(crate) api: ApiClient,
    pub(crate) http: HttpClient,
    /// The callback base URL in force (starts as `api.callback_url`).
    pub(crate) callback_url: Mutex<String>,
}

pub(crate) struct Signer {
    key: aws_lc_rs::rsa::KeyPair,
    rng: aws_lc_rs::rand::SystemRandom,
}

impl Signer {
    fn generate() -> Result<Self> {
        let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| TestkitError::Pki("cannot generate the device's RSA key".into()))?;
        Ok(Self {
            key,
            rng: aws_lc_rs::rand::SystemRandom::new(),
        })
    }

    /// RSA PKCS#1 v1.5 with SHA-256 (`CKM_SHA256_RSA_PKCS`).
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0; self.key.public_modulus_len()];
        match self.key.sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &self.rng,
            message,
            &mut sig,
        ) {
            Ok(()) => sig,
            Err(_) => Vec::new(),
        }
    }

    pub(crate) fn public_key_der(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    pub(crate) fn uuid(&self) -> String {
        let mut b = [0u8; 16];
        let _ = self.rng.fill(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

struct Live {
    command: SimCommand,
    in_box_until: Instant,
}

pub(crate) struct SimState {
    pub(crate) base_url: String,
    pub(crate) clients: Vec<ClientEntry>,
    device: Mutex<DeviceBehavior>,
    pub(crate) second: Duration,
    next_id: AtomicU64,
    commands: Mutex<HashMap<String, Live>>,
    boxes: Mutex<HashMap<(String, String), String>>,
    callbacks: Mutex<Vec<CallbackRecord>>,
    callback_count: watch::Sender<usize>,
    refused: AtomicUsize,
    pub(crate) signer: Signer,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) retries: (u32, Duration),
    pub(crate) counts: Counts,
    pub(crate) faults: crate::Faults,
    /// Manual commands waiting for a decision.
    decisions: Mutex<HashMap<String, oneshot::Sender<bool>>>,
}

/// The simulator's own counters of callback deliveries.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) attempts: AtomicU64,
    pub(crate) ok: AtomicU64,
    pub(crate) other_status: AtomicU64,
    pub(crate) server_errors: AtomicU64,
    pub(crate) transport_errors: AtomicU64,
}

/// How the simulator's callbacks went, counted by the simulator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CallbackCounts {
    /// Callbacks (one per state reported), whatever their result.
    pub callbacks: u64,
    /// HTTP POSTs made (a callback is retried after 5xx or a transport error).
    pub attempts: u64,
    /// POSTs answered 200.
    pub ok: u64,
    /// POSTs answered with another status below 500.
    pub other_status: u64,
    /// POSTs answered 5xx.
    pub server_errors: u64,
    /// POSTs that failed before an answer (connection, TLS, timeout).
    pub transport_errors: u64,
    /// Callbacks whose last attempt was not answered 200.
    pub undelivered: u64,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("base_url", &self.base_url)
            .field("clients", &self.clients.len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SimState {
    // One call site (the builder), which names every argument.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        clients: Vec<ApiClient>,
        device: DeviceBehavior,
        second: Duration,
        first_id: u64,
        base_url: String,
        retries: (u32, Duration),
        faults: crate::Faults,
        plain_http_callbacks: bool,
    ) -> Result<Self> {
        let clients = clients
            .into_iter()
            .map(|api| {
                let mut settings = HttpSettings::new()
                    .trust(TrustRoots::Only(api.callback_trust.clone()))
                    .request_timeout(Duration::from_secs(10));
                if plain_http_callbacks {
                    settings.dangerous().allow_plain_http();
                }
                let http = HttpClient::new(
                    &settings,
                    concat!("hermod-simulator/", env!("CARGO_PKG_VERSION")),
                )?;
                let callback_url = Mutex::new(api.callback_url.clone());
                Ok(ClientEntry {
                    api,
                    http,
                    callback_url,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            base_url,
            clients,
            device: Mutex::new(device),
            second,
            next_id: AtomicU64::new(first_id),
            commands: Mutex::new(HashMap::new()),
            boxes: Mutex::new(HashMap::new()),
            callbacks: Mutex::new(Vec::new()),
            callback_count: watch::Sender::new(0),
            refused: AtomicUsize::new(0),
            signer: Signer::generate()?,
            shutdown: watch::Sender::new(false),
            retries,
            counts: Counts::default(),
            faults,
            decisions: Mutex::new(HashMap::new()),
        })
    }

    /// Registers a manual command; the receiver gets the decision.
    pub(crate) fn await_decision(&self, command_id: &str) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        lock(&self.decisions).insert(command_id.to_owned(), tx);
        rx
    }

    pub(crate) fn forget_decision(&self, command_id: &str) {
        lock(&self.decisions).remove(command_id);
    }

    pub(crate) fn decide(&self, command_id: &str, approve: bool) -> bool {
        let tx = lock(&self.decisions).remove(command_id);
        tx.is_some_and(|tx| tx.send(approve).is_ok())
    }

    /// The manual commands waiting for a decision, oldest first.
    pub(crate) fn waiting(&self) -> Vec<SimCommand> {
        let ids: Vec<String> = lock(&self.decisions).keys().cloned().collect();
        let mut v: Vec<SimCommand> = ids.iter().filter_map(|id| self.command(id)).collect();
        v.sort_by_key(|c| c.command_id.parse::<u64>().unwrap_or(u64::MAX));
        v
    }

    pub(crate) fn set_callback_url(&self, client_id: &str, url: &str) -> bool {
        match self.clients.iter().find(|c| c.api.client_id == client_id) {
            Some(c) => {
                *lock(&c.callback_url) = url.trim_end_matches('/').to_owned();
                true
            }
            None => false,
        }
    }

    pub(crate) fn device(&self) -> DeviceBehavior {
        *lock(&self.device)
    }

    pub(crate) fn set_device(&self, device: DeviceBehavior) {
        *lock(&self.device) = device;
    }

    pub(crate) fn next_command_id(&self) -> String {
        self.next_id.fetch_add(1, Ordering::SeqCst).to_string()
    }

    pub(crate) fn refuse(&self) {
        self.refused.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn refused_api_keys(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    /// Seconds of the protocol in simulated time.
    pub(crate) fn scaled(&self, secs: u64) -> Duration {
        self.second
            .saturating_mul(u32::try_from(secs).unwrap_or(u32::MAX))
    }

    pub(crate) fn insert(&self, command: SimCommand) {
        let in_box_until = Instant::now() + self.scaled(command.timeout);
        lock(&self.boxes).insert(
            (command.bid.clone(), command.mid.clone()),
            command.command_id.clone(),
        );
        lock(&self.commands).insert(
            command.command_id.clone(),
            Live {
                command,
                in_box_until,
            },
        );
    }

    pub(crate) fn set_state(&self, command_id: &str, state: &str) {
        if let Some(live) = lock(&self.commands).get_mut(command_id) {
            live.command.state = state.to_owned();
        }
    }

    /// The command in a message box, while it is there.
    pub(crate) fn in_box(&self, bid: &str, mid: &str) -> Option<SimCommand> {
        let id = lock(&self.boxes)
            .get(&(bid.to_owned(), mid.to_owned()))
            .cloned()?;
        let commands = lock(&self.commands);
        let live = commands.get(&id)?;
        let open = matches!(live.command.state.as_str(), "IN_PROGRESS" | "STARTED");
        (open && Instant::now() < live.in_box_until).then(|| live.command.clone())
    }

    pub(crate) fn commands(&self) -> Vec<SimCommand> {
        let mut v: Vec<SimCommand> = lock(&self.commands)
            .values()
            .map(|l| l.command.clone())
            .collect();
        v.sort_by_key(|c| c.command_id.parse::<u64>().unwrap_or(u64::MAX));
        v
    }

    pub(crate) fn record_callback(&self, record: CallbackRecord) {
        let n = {
            let mut log = lock(&self.callbacks);
            log.push(record);
            log.len()
        };
        self.callback_count.send_replace(n);
    }

    pub(crate) fn callback_counts(&self) -> CallbackCounts {
        let l = |a: &AtomicU64| a.load(Ordering::SeqCst);
        let log = lock(&self.callbacks);
        CallbackCounts {
            callbacks: log.len() as u64,
            attempts: l(&self.counts.attempts),
            ok: l(&self.counts.ok),
            other_status: l(&self.counts.other_status),
            server_errors: l(&self.counts.server_errors),
            transport_errors: l(&self.counts.transport_errors),
            undelivered: log.iter().filter(|r| r.status != Some(200)).count() as u64,
        }
    }

    /// The command's current state, if the simulator knows it.
    pub(crate) fn command(&self, command_id: &str) -> Option<SimCommand> {
        lock(&self.commands)
            .get(command_id)
            .map(|l| l.command.clone())
    }

    pub(crate) fn callbacks(&self) -> Vec<CallbackRecord> {
        lock(&self.callbacks).clone()
    }

    pub(crate) async fn wait_for_callbacks(&self, count: usize) {
        let mut rx = self.callback_count.subscribe();
        let _ = rx.wait_for(|n| *n >= count).await;
    }

    pub(crate) fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}
