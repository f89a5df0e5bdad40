//! The server side: an axum router that receives Hermod's callbacks and
//! feeds the [`Tracker`] (feature `axum`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use smartid_core::Secret;

use crate::callback::Callback;
use crate::error::{Error, Result};
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
    /// Callbacks for untracked commands not kept (early store full, or an
    /// unauthenticated receiver), answered 503.
    pub refused: u64,
    /// Requests with missing or wrong credentials (401).
    pub unauthorized: u64,
    /// Bodies that are not a callback (400), or unknown paths (404).
    pub malformed: u64,
    /// Bodies over the limit (413), refused before parsing.
    pub too_large: u64,
    /// Callbacks whose path kind is not the tracked command's (400).
    pub wrong_kind: u64,
    /// Callbacks that could not be stored (the flow store failed): 503
    /// when it was down or slow, 500 for an unreadable or newer record.
    pub store_errors: u64,
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
    too_large: AtomicU64,
    wrong_kind: AtomicU64,
    store_errors: AtomicU64,
}

/// The default body limit of the callback routes: 64 KiB.
pub const DEFAULT_CALLBACK_BODY_LIMIT: usize = 64 * 1024;

struct Inner {
    tracker: Tracker,
    /// `user:password`, compared in constant time; `None` only when built
    /// through [`DangerousReceiverBuilder::allow_unauthenticated`].
    credentials: Option<Secret>,
    body_limit: usize,
    counters: Counters,
}

/// Receives Hermod's callbacks: `POST {base}/callback/{kind}` and
/// `POST {base}/rest/callback/{kind}` (kind `provision`, `certificate`,
/// `authenticate`, `sign`, `ping`, ...), and the alive check
/// `GET {base}/callback/alive` (also `{base}/rest/callback/alive`).
///
/// - HTTP Basic credentials are required (the user and password configured
///   in Hermod's `callback-basic-auth`), compared in constant time, and
///   checked before the body is read: 401 otherwise.
/// - The body is limited by the receiver itself ([`DEFAULT_CALLBACK_BODY_LIMIT`],
///   [`CallbackReceiverBuilder::body_limit`]), whatever the host
///   application's limits: 413 beyond it, before anything is parsed.
/// - A callback is answered 200 when it resolved a command, reported
///   progress, repeated an earlier callback (idempotent), came late, or
///   arrived before its command was tracked (kept for a while, bounded by
///   count and bytes); 400 for a body that is not a callback or whose path
///   kind is not the command's; 503 with `Retry-After` when the allowance
///   of early callbacks is used up, and when the tracker's flow store is
///   down or slow (500 for an unreadable record): never 200 for an outcome
///   that was not stored, so Hermod retries.
///
/// A callback's [`Callback::result`] is the device's answer as Hermod relays
/// it: verify it before acting on it (see [`Callback`]).
///
/// Mount [`CallbackReceiver::router`] in an existing axum app (with
/// `Router::nest` under your callback base path), or run it alone with
/// [`CallbackReceiver::serve`].
///
/// ```
/// use hermod_client::{CallbackReceiver, Tracker};
/// use smartid_core::Secret;
///
/// let receiver = CallbackReceiver::new(Tracker::new(), "idm-callback", &Secret::new("pw"))?;
/// let app = axum::Router::new().nest("/idm-operator/ws/hermod", receiver.router());
/// # drop(app);
/// assert!(CallbackReceiver::new(Tracker::new(), "idm-callback", &Secret::new("")).is_err());
/// # Ok::<(), hermod_client::Error>(())
/// ```
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub struct CallbackReceiver {
    inner: Arc<Inner>,
}

impl fmt::Debug for CallbackReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackReceiver")
            .field("tracker", &self.inner.tracker)
            .field("basic_auth", &self.inner.credentials.is_some())
            .field("body_limit", &self.inner.body_limit)
            .finish()
    }
}

/// Builder of [`CallbackReceiver`]; [`CallbackReceiverBuilder::build`]
/// refuses a receiver without credentials unless dangerously allowed.
#[must_use]
pub struct CallbackReceiverBuilder {
    tracker: Tracker,
    credentials: Option<(String, Secret)>,
    allow_unauthenticated: bool,
    body_limit: usize,
}

impl fmt::Debug for CallbackReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackReceiverBuilder")
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .field("allow_unauthenticated", &self.allow_unauthenticated)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl CallbackReceiverBuilder {
    /// The HTTP Basic credentials Hermod sends (`callback-basic-auth` of
    /// this client in Hermod's configuration). Required.
    pub fn basic_auth(mut self, user: &str, password: &Secret) -> Self {
        self.credentials = Some((user.to_owned(), password.clone()));
        self
    }

    /// The largest callback body accepted, in bytes. Defaults to
    /// [`DEFAULT_CALLBACK_BODY_LIMIT`] (64 KiB). Applies to the receiver's
    /// own routes, independent of the host application's limits.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Settings that weaken the receiver's security.
    pub fn dangerous(self) -> DangerousReceiverBuilder {
        DangerousReceiverBuilder { builder: self }
    }

    /// Validates and builds.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] with every problem: (field
    /// `callback_basic_auth`) no credentials (unless dangerously allowed), an
    /// empty user or password, or a user containing `:`; (field
    /// `body_limit`) a zero limit.
    pub fn build(self) -> Result<CallbackReceiver> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, message: &str| {
            problems.push(smartid_core::ConfigProblem::new(field, message));
        };
        if self.body_limit == 0 {
            bad(
                "body_limit",
                "the callback body limit is 0; give at least a few KiB",
            );
        }
        let auth = "callback_basic_auth";
        let credentials = match self.credentials {
            Some((user, password)) => {
                if user.is_empty() {
                    bad(
                        auth,
                        "the callback user is empty; use the user of Hermod's callback-basic-auth",
                    );
                }
                if user.contains(':') {
                    bad(
                        auth,
                        "the callback user contains ':', which HTTP Basic auth cannot carry",
                    );
                }
                if password.expose_secret().is_empty() {
                    bad(
                        auth,
                        "the callback password is empty; use the password of Hermod's callback-basic-auth",
                    );
                }
                Some(Secret::new(format!("{user}:{}", password.expose_secret())))
            }
            None if self.allow_unauthenticated => None,
            None => {
                bad(
                    auth,
                    "no callback credentials: give the user and password of Hermod's \
                     callback-basic-auth for this client (an unauthenticated receiver needs \
                     .dangerous().allow_unauthenticated())",
                );
                None
            }
        };
        if !problems.is_empty() {
            return Err(Error::InvalidConfig(problems));
        }
        Ok(CallbackReceiver {
            inner: Arc::new(Inner {
                tracker: self.tracker,
                credentials,
                body_limit: self.body_limit,
                counters: Counters::default(),
            }),
        })
    }
}

/// Dangerous settings of a [`CallbackReceiverBuilder`].
#[must_use]
pub struct DangerousReceiverBuilder {
    builder: CallbackReceiverBuilder,
}

impl fmt::Debug for DangerousReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.builder.fmt(f)
    }
}

impl DangerousReceiverBuilder {
    /// Accepts callbacks without credentials when none are given.
    ///
    /// **WARNING**: anyone who can reach the receiver can then post a
    /// callback that resolves a tracked command with a result of their
    /// choosing (command ids are small sequential numbers, easy to guess).
    /// Such a receiver never keeps a callback for a command not tracked
    /// yet. Use it only behind something that authenticates Hermod (mutual
    /// TLS, a private network) or in tests.
    pub fn allow_unauthenticated(mut self) -> CallbackReceiverBuilder {
        self.builder.allow_unauthenticated = true;
        self.builder
    }
}

impl CallbackReceiver {
    /// A receiver feeding `tracker` that requires Hermod's
    /// `callback-basic-auth` credentials.
    ///
    /// # Errors
    /// As [`CallbackReceiverBuilder::build`].
    pub fn new(tracker: Tracker, user: &str, password: &Secret) -> Result<Self> {
        Self::builder(tracker).basic_auth(user, password).build()
    }

    /// A builder (credentials, body limit, dangerous settings).
    pub fn builder(tracker: Tracker) -> CallbackReceiverBuilder {
        CallbackReceiverBuilder {
            tracker,
            credentials: None,
            allow_unauthenticated: false,
            body_limit: DEFAULT_CALLBACK_BODY_LIMIT,
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
            too_large: l(&c.too_large),
            wrong_kind: l(&c.wrong_kind),
            store_errors: l(&c.store_errors),
        }
    }

    /// The axum router with the callback and alive routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/rest/callback/alive", get(alive))
            .route("/callback/alive", get(alive))
            .route("/rest/callback/{kind}", post(callback))
            .route("/callback/{kind}", post(callback))
            .with_state(self.inner.clone())
    }

    /// Serves the router on a bound listener until the future is dropped
    /// (call it inside a tokio runtime; the listener is made non-blocking).
    /// To mount the routes in an application of your own, use
    /// [`CallbackReceiver::router`] instead.
    ///
    /// # Errors
    /// The listener's I/O error.
    pub async fn serve(self, listener: std::net::TcpListener) -> std::io::Result<()> {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, self.router()).await
    }
}

async fn alive() -> StatusCode {
    StatusCode::OK
}

fn too_large(inner: &Inner) -> Response {
    inner.counters.too_large.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the callback body is larger than {} bytes",
            inner.body_limit
        ),
    )
        .into_response()
}

async fn callback(
    State(inner): State<Arc<Inner>>,
    Path(kind): Path<String>,
    request: Request,
) -> Response {
    let c = &inner.counters;
    // Credentials first: nothing of the body is read for a stranger.
    if let Some(expected) = &inner.credentials
        && !authorized(request.headers(), expected)
    {
        c.unauthorized.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(target: "hermod_client", path_kind = %kind, "callback refused: wrong or missing credentials");
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
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > inner.body_limit as u64) {
        return too_large(&inner);
    }
    let Ok(body) = axum::body::to_bytes(request.into_body(), inner.body_limit).await else {
        return too_large(&inner);
    };
    let cb = match Callback::from_json(Some(kind), &body) {
        Ok(cb) => cb,
        Err(e) => {
            c.malformed.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
    };
    let authenticated = inner.credentials.is_some();
    let command_id = cb.command_id.clone();
    tracing::debug!(target: "hermod_client", command_id = command_id.as_deref().unwrap_or(""), kind = ?cb.kind, state = ?cb.state, authenticated, "callback received");
    let delivery = inner
        .tracker
        .deliver_inner(cb, Some(&body), authenticated)
        .await;
    crate::tracker::log_delivery(command_id.as_deref(), authenticated, &delivery);
    let delivery = match delivery {
        Ok(delivery) => delivery,
        Err(e) => {
            // Never 200 for an outcome that is not stored: Hermod retries.
            c.store_errors.fetch_add(1, Ordering::Relaxed);
            let transient = matches!(&e, Error::Store(s) if s.is_transient());
            let status = if transient {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            let mut resp =
                (status, "the callback could not be stored; retry later").into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return resp;
        }
    };
    let counter = match delivery {
        Delivery::Resolved => &c.resolved,
        Delivery::Progress => &c.progress,
        Delivery::Duplicate => &c.duplicates,
        Delivery::Late => &c.late,
        Delivery::Early => &c.early,
        Delivery::WrongKind { expected, got } => {
            c.wrong_kind.fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::BAD_REQUEST,
                format!("a {got} callback for a {expected} command; ignored"),
            )
                .into_response();
        }
        Delivery::Refused | Delivery::NotTracked => {
            c.refused.fetch_add(1, Ordering::Relaxed);
            let mut resp = (
                StatusCode::SERVICE_UNAVAILABLE,
                "the command is not tracked (yet); retry later",
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
pub(crate) fn authorized(headers: &HeaderMap, expected: &Secret) -> bool {
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
