//! Fault injection shared by the simulators: connection resets, 5xx
//! answers, slow answers, truncated bodies, duplicated and reordered
//! Hermod callbacks, and D-Trust submissions whose answer is lost.
//!
//! One [`Faults`] handle is given to each simulator (Audkenni's
//! `SimConfig::faults`, D-Trust's `SimConfig::faults`, Hermod's
//! `HermodSimulatorBuilder::faults`); clones share the settings, the
//! seeded random generator and the counters, so switching them on one
//! handle switches them for every simulator holding a clone. Off by default.
//!
//! ```
//! use smartid_testkit::{FaultKind, FaultSettings, Faults};
//! let faults = Faults::default();
//! assert!(!faults.settings().enabled);
//! faults.set(FaultSettings::on(1.0, [FaultKind::ServerError]).seed(7));
//! assert!(faults.settings().enabled);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::future::Future as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultKind {
    /// The connection is reset (TCP RST) instead of an answer; the request
    /// is not processed.
    Reset,
    /// HTTP 503 with a short body instead of the answer; the request is not
    /// processed.
    ServerError,
    /// The answer is held back for [`FaultSettings::slow_delay`] (past a
    /// client's timeout), then sent.
    Slow,
    /// The answer announces its full `Content-Length` but only half of the
    /// body is sent before the connection is closed.
    Truncate,
    /// Hermod: a final callback is POSTed twice.
    DuplicateCallback,
    /// Hermod: the final callback is followed by a stale `STARTED` callback
    /// (the progress callback arrives after the end).
    ReorderCallbacks,
    /// D-Trust: a submission is stored (the order exists), then the
    /// connection is reset instead of the answer.
    LostSubmitAnswer,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 7] = [
        FaultKind::Reset,
        FaultKind::ServerError,
        FaultKind::Slow,
        FaultKind::Truncate,
        FaultKind::DuplicateCallback,
        FaultKind::ReorderCallbacks,
        FaultKind::LostSubmitAnswer,
    ];

    /// The name used in JSON (`reset`, `server_error`, `slow`, `truncate`,
    /// `duplicate_callback`, `reorder_callbacks`, `lost_submit_answer`).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Reset => "reset",
            FaultKind::ServerError => "server_error",
            FaultKind::Slow => "slow",
            FaultKind::Truncate => "truncate",
            FaultKind::DuplicateCallback => "duplicate_callback",
            FaultKind::ReorderCallbacks => "reorder_callbacks",
            FaultKind::LostSubmitAnswer => "lost_submit_answer",
        }
    }

    /// The kind of a name of [`FaultKind::name`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Fault settings. `Default`: off, rate 0.05, every kind, seed 1, slow
/// answers held 35 s.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FaultSettings {
    /// Whether faults are injected at all.
    pub enabled: bool,
    /// The probability (0.0 to 1.0) that one request (or one Hermod final
    /// callback) gets a fault.
    pub rate: f64,
    /// The kinds drawn from; a request gets only the kinds that apply to it.
    pub kinds: Vec<FaultKind>,
    /// The seed of the random generator: the same seed and the same
    /// sequence of requests give the same faults.
    pub seed: u64,
    /// How long [`FaultKind::Slow`] holds an answer back.
    pub slow_delay: Duration,
}

impl Default for FaultSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            rate: 0.05,
            kinds: FaultKind::ALL.to_vec(),
            seed: 1,
            slow_delay: Duration::from_secs(35),
        }
    }
}

impl FaultSettings {
    /// Faults on, at `rate`, of these kinds.
    pub fn on(rate: f64, kinds: impl IntoIterator<Item = FaultKind>) -> Self {
        Self {
            enabled: true,
            rate: rate.clamp(0.0, 1.0),
            kinds: kinds.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Sets the seed.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets how long slow answers are held back.
    #[must_use]
    pub fn slow_delay(mut self, delay: Duration) -> Self {
        self.slow_delay = delay;
        self
    }
}

#[derive(Debug)]
struct Inner {
    settings: FaultSettings,
    rng: u64,
    injected: BTreeMap<FaultKind, u64>,
    draws: u64,
}

/// A shared fault switch (see the module documentation). Clones share state.
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
}

impl Default for Faults {
    /// Off.
    fn default() -> Self {
        Self::new(FaultSettings::default())
    }
}

impl Faults {
    /// A switch with these settings.
    pub fn new(settings: FaultSettings) -> Self {
        let rng = settings.seed;
        Self {
            inner: Arc::new(Mutex::new(Inner {
                settings,
                rng,
                injected: BTreeMap::new(),
                draws: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces the settings and restarts the random generator from the seed.
    pub fn set(&self, settings: FaultSettings) {
        let mut g = self.lock();
        g.rng = settings.seed;
        g.settings = settings;
    }

    /// Switches faults off (the other settings are kept).
    pub fn disable(&self) {
        self.lock().settings.enabled = false;
    }

    /// The settings in force.
    pub fn settings(&self) -> FaultSettings {
        self.lock().settings.clone()
    }

    /// How many faults of each kind were injected so far.
    pub fn injected(&self) -> BTreeMap<FaultKind, u64> {
        self.lock().injected.clone()
    }

    /// How many decisions were drawn so far (requests and callbacks seen
    /// while faults were on).
    pub fn draws(&self) -> u64 {
        self.lock().draws
    }

    /// Draws a fault among `applicable` (those of the settings' kinds).
    pub(crate) fn pick(&self, applicable: &[FaultKind]) -> Option<FaultKind> {
        let mut g = self.lock();
        if !g.settings.enabled {
            return None;
        }
        let candidates: Vec<FaultKind> = g
            .settings
            .kinds
            .iter()
            .copied()
            .filter(|k| applicable.contains(k))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        g.draws += 1;
        let roll = splitmix(&mut g.rng);
        // 53 random bits as a number in [0, 1).
        let unit = (roll >> 11) as f64 / (1u64 << 53) as f64;
        if unit >= g.settings.rate {
            return None;
        }
        let index = (splitmix(&mut g.rng) % candidates.len() as u64) as usize;
        let kind = candidates.get(index).copied()?;
        *g.injected.entry(kind).or_insert(0) += 1;
        Some(kind)
    }

    pub(crate) fn slow_delay(&self) -> Duration {
        self.lock().settings.slow_delay
    }
}

/// SplitMix64: small, seedable, good enough for test faults.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The connections of a [`crate::TlsFront`] that a fault may reset, by the
/// address of their backend side (what the backend sees as peer).
#[derive(Debug, Clone, Default)]
pub(crate) struct Resets {
    map: Arc<Mutex<HashMap<SocketAddr, oneshot::Sender<()>>>>,
}

impl Resets {
    pub(crate) fn register(&self, backend_side: SocketAddr) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut m) = self.map.lock() {
            m.insert(backend_side, tx);
        }
        rx
    }

    pub(crate) fn forget(&self, backend_side: &SocketAddr) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(backend_side);
        }
    }

    /// Resets the client connection behind this backend peer.
    fn reset(&self, backend_side: &SocketAddr) -> bool {
        let tx = self
            .map
            .lock()
            .ok()
            .and_then(|mut m| m.remove(backend_side));
        tx.is_some_and(|tx| tx.send(()).is_ok())
    }
}

/// What one simulator's fault middleware needs.
#[derive(Debug, Clone)]
pub(crate) struct FaultLayer {
    pub(crate) faults: Faults,
    pub(crate) resets: Resets,
    /// D-Trust: which requests are submissions.
    pub(crate) submissions: bool,
}

const HTTP_KINDS: [FaultKind; 4] = [
    FaultKind::Reset,
    FaultKind::ServerError,
    FaultKind::Slow,
    FaultKind::Truncate,
];

/// Whether a D-Trust request is a submission (REST `POST /rest/v1/requests`,
/// SOAP `submitRequest`).
fn is_submission(method: &Method, path: &str, body: &[u8]) -> bool {
    method == Method::POST
        && (path == "/rest/v1/requests"
            || (path.starts_with("/soap/") && contains(body, b"submitRequest")))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn reset(layer: &FaultLayer, peer: SocketAddr) -> Response {
    if layer.resets.reset(&peer) {
        // The connection is being torn down: never answer.
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "fault injection: the connection could not be reset",
    )
        .into_response()
}

/// The fault middleware of a simulator's router.
pub(crate) async fn inject(
    State(layer): State<FaultLayer>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if !layer.faults.settings().enabled {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let mut applicable = HTTP_KINDS.to_vec();
    let request = if layer.submissions {
        let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response();
        };
        if is_submission(&parts.method, parts.uri.path(), &bytes) {
            applicable.push(FaultKind::LostSubmitAnswer);
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        Request::from_parts(parts, body)
    };
    match layer.faults.pick(&applicable) {
        Some(FaultKind::Reset) => reset(&layer, peer).await,
        Some(FaultKind::ServerError) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "fault injection: service unavailable",
        )
            .into_response(),
        Some(FaultKind::Slow) => {
            tokio::time::sleep(layer.faults.slow_delay()).await;
            next.run(request).await
        }
        Some(FaultKind::Truncate) => truncate(next.run(request).await).await,
        Some(FaultKind::LostSubmitAnswer) => {
            // The order is stored; its answer never reaches the client.
            let _ = next.run(request).await;
            reset(&layer, peer).await
        }
        _ => next.run(request).await,
    }
}

/// The response with its full `Content-Length` but half of its body: the
/// server closes the connection when the body ends early.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let full = bytes.len().max(2);
    let half = bytes.slice(..bytes.len() / 2);
    if let Ok(v) = HeaderValue::from_str(&full.to_string()) {
        parts.headers.insert(header::CONTENT_LENGTH, v);
    }
    // A body of unknown length that sends its half, pauses (the server
    // flushes what it has), then ends early: the server writes the announced
    // Content-Length and aborts the connection.
    let body = Body::from_stream(Truncated {
        half: Some(half),
        pause: Box::pin(tokio::time::sleep(Duration::from_millis(100))),
    });
    Response::from_parts(parts, body)
}

struct Truncated {
    half: Option<axum::body::Bytes>,
    pause: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl futures_core::Stream for Truncated {
    type Item = std::result::Result<axum::body::Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if let Some(half) = self.half.take() {
            return std::task::Poll::Ready(Some(Ok(half)));
        }
        self.pause.as_mut().poll(cx).map(|()| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let draw = |seed| {
            let f = Faults::new(FaultSettings::on(0.3, FaultKind::ALL).seed(seed));
            (0..200)
                .map(|_| f.pick(&HTTP_KINDS))
                .collect::<Vec<Option<FaultKind>>>()
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));
        let hits = draw(5).iter().filter(|k| k.is_some()).count();
        assert!((30..=90).contains(&hits), "{hits} faults in 200 at 0.3");
        assert!(draw(5).iter().flatten().all(|k| HTTP_KINDS.contains(k)));
    }

    #[test]
    fn off_and_inapplicable_kinds_draw_nothing() {
        let f = Faults::default();
        assert_eq!(f.pick(&HTTP_KINDS), None);
        f.set(FaultSettings::on(1.0, [FaultKind::DuplicateCallback]));
        assert_eq!(f.pick(&HTTP_KINDS), None);
        assert_eq!(
            f.pick(&[FaultKind::DuplicateCallback]),
            Some(FaultKind::DuplicateCallback)
        );
        assert_eq!(f.injected().get(&FaultKind::DuplicateCallback), Some(&1));
        assert_eq!(
            FaultKind::parse("lost_submit_answer"),
            Some(FaultKind::LostSubmitAnswer)
        );
        assert!(is_submission(
            &Method::POST,
            "/soap/X",
            b"<a:submitRequest>"
        ));
        assert!(!is_submission(&Method::GET, "/rest/v1/requests", b""));
    }
}
