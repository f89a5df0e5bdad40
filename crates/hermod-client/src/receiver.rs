//! The server side: an axum router that receives Hermod's callbacks and
//! feeds the [`Tracker`] (feature `callback-server`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use smartid_core::Secret;

use crate::callback::Callback;
use crate::tracker::{Delivery, Tracker};
use crate::vocab::CommandKind;

/// Counters of what the receiver did, for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackStats {
    /// Final callbacks that resolved a command.
    pub resolved: u64,
    /// Progress callbacks.
    pub progress: u64,
    /// Repeated callbacks, ignored.
    pub duplicates: u64,
    /// Callbacks after the command ended, ignored.
    pub late: u64,
    /// Callbacks for commands not tracked yet, kept.
    pub early: u64,
    /// Callbacks refused because the early store was full (503).
    pub refused: u64,
    /// Requests with missing or wrong credentials (401).
    pub unauthorized: u64,
    /// Bodies that are not a callback (400), or unknown paths (404).
    pub malformed: u64,
}

#[derive(Default)]
struct Counters {
    resolved: AtomicU64,
    progress: AtomicU64,
    duplicates: AtomicU64,
    late: AtomicU64,
    early: AtomicU64,
    refused: AtomicU64,
    unauthorized: AtomicU64,
    malformed: AtomicU64,
}

struct Inner {
    tracker: Tracker,
    /// `user:password`, compared in constant time.
    credentials: Option<Secret>,
    counters: Counters,
}

/// Receives Hermod's callbacks: `POST /rest/callback/{provision,certificate,authenticate,sign,ping}`
/// and the alive check `GET /callback/alive` (also `/rest/callback/alive`).
///
/// - With [`CallbackReceiver::basic_auth`], requests without the right HTTP
///   Basic credentials get 401 (compared in constant time).
/// - A callback is answered 200 when it resolved a command, reported
///   progress, repeated an earlier callback (idempotent), came late, or
///   arrived before its command was tracked (kept for a while); 400 for a
///   body that is not a callback; 503 with `Retry-After` when the store of
///   early callbacks is full.
///
/// Mount [`CallbackReceiver::router`] in an existing axum app (with
/// `Router::nest` under your callback base path), or run it alone with
/// [`CallbackReceiver::serve`].
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "callback-server")))]
pub struct CallbackReceiver {
    inner: Arc<Inner>,
}

impl fmt::Debug for CallbackReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackReceiver")
            .field("tracker", &self.inner.tracker)
            .field("basic_auth", &self.inner.credentials.is_some())
            .finish()
    }
}

impl CallbackReceiver {
    /// A receiver feeding `tracker`, without authentication.
    pub fn new(tracker: Tracker) -> Self {
        Self {
            inner: Arc::new(Inner {
                tracker,
                credentials: None,
                counters: Counters::default(),
            }),
        }
    }

    /// Requires HTTP Basic credentials: the user and password configured in
    /// Hermod's `callback-basic-auth` for this client.
    #[must_use]
    pub fn basic_auth(self, user: &str, password: &Secret) -> Self {
        Self {
            inner: Arc::new(Inner {
                tracker: self.inner.tracker.clone(),
                credentials: Some(Secret::new(format!("{user}:{}", password.expose_secret()))),
                counters: Counters::default(),
            }),
        }
    }

    /// The tracker fed by this receiver.
    pub fn tracker(&self) -> &Tracker {
        &self.inner.tracker
    }

    /// The counters so far.
    pub fn stats(&self) -> CallbackStats {
        let c = &self.inner.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CallbackStats {
            resolved: l(&c.resolved),
            progress: l(&c.progress),
            duplicates: l(&c.duplicates),
            late: l(&c.late),
            early: l(&c.early),
            refused: l(&c.refused),
            unauthorized: l(&c.unauthorized),
            malformed: l(&c.malformed),
        }
    }

    /// The axum router with the callback and alive routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/rest/callback/alive", get(alive))
            .route("/callback/alive", get(alive))
            .route("/rest/callback/{kind}", post(callback))
            .with_state(self.inner.clone())
    }

    /// Serves the router on a listener until the future is dropped.
    ///
    /// # Errors
    /// The listener's I/O error.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }
}

async fn alive() -> StatusCode {
    StatusCode::OK
}

async fn callback(
    State(inner): State<Arc<Inner>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let c = &inner.counters;
    if let Some(expected) = &inner.credentials
        && !authorized(&headers, expected)
    {
        c.unauthorized.fetch_add(1, Ordering::Relaxed);
        let mut resp = (
            StatusCode::UNAUTHORIZED,
            "wrong or missing callback credentials",
        )
            .into_response();
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"hermod-callback\""),
        );
        return resp;
    }
    let Some(kind) = CommandKind::from_path_segment(&kind) else {
        c.malformed.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::NOT_FOUND, "unknown callback type").into_response();
    };
    let cb = match Callback::from_json(Some(kind), &body) {
        Ok(cb) => cb,
        Err(e) => {
            c.malformed.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
    };
    let counter = match inner.tracker.deliver(cb) {
        Delivery::Resolved => &c.resolved,
        Delivery::Progress => &c.progress,
        Delivery::Duplicate => &c.duplicates,
        Delivery::Late => &c.late,
        Delivery::Early => &c.early,
        Delivery::Refused => {
            c.refused.fetch_add(1, Ordering::Relaxed);
            let mut resp = (
                StatusCode::SERVICE_UNAVAILABLE,
                "too many unmatched callbacks",
            )
                .into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return resp;
        }
    };
    counter.fetch_add(1, Ordering::Relaxed);
    StatusCode::OK.into_response()
}

/// Checks `Authorization: Basic ...` against `user:password` in constant time.
fn authorized(headers: &HeaderMap, expected: &Secret) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let decoded = zeroize::Zeroizing::new(decoded);
    constant_time_eq(&decoded, expected.expose_secret().as_bytes())
}

/// Compares in time that depends only on `expected`'s length.
fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(0);
        diff |= g ^ e;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"idm:pw", b"idm:pw"));
        assert!(!constant_time_eq(b"idm:pX", b"idm:pw"));
        assert!(!constant_time_eq(b"idm:p", b"idm:pw"));
        assert!(!constant_time_eq(b"idm:pw0", b"idm:pw"));
        assert!(!constant_time_eq(b"", b"idm:pw"));
    }

    #[test]
    fn basic_header_parsing() {
        let expected = Secret::new("idm:pw");
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            m
        };
        assert!(authorized(&h("Basic aWRtOnB3"), &expected));
        assert!(authorized(&h("basic  aWRtOnB3 "), &expected));
        assert!(!authorized(&h("Bearer aWRtOnB3"), &expected));
        assert!(!authorized(&h("Basic !!!"), &expected));
        assert!(!authorized(&HeaderMap::new(), &expected));
    }
}
