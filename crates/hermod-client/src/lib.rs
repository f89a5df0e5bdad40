#![cfg_attr(feature = "axum", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "axum"),
    doc = "A client for Smart ID Messaging (Hermod). The crate's README, with its example, is the \
           documentation of builds with the default feature `axum` (the callback receiver)."
)]
//!
//! # Overview
//! - [`HermodConfig`]: the command URL (Hermod's base `https://host:port/hermod/`
//!   or Identity Manager's form ending in `/hermod/rest/command`), the API
//!   token ([`ApiToken`], `base64(client-id:key)` sent as `X-Api-Key`), the
//!   [`CommandTiming`] (whole seconds, timeout not past the lifespan; the
//!   stricter Identity Manager rules are idm-config's) and the
//!   [`HttpSettings`] (trust, proxy, timeouts; HTTPS required).
//! - [`HermodClient`]: [`HermodClient::builder`] adds the network seam
//!   ([`HermodClientBuilder::http_sender`], any [`HttpSend`]; defaults to the
//!   client built from the HTTP settings) and the [`Clock`].
//! - [`Command`]: typed bodies in the shapes of Nexus' documented samples
//!   ([`ProvisionCommand`] with [`KeyGenRequest`] and [`CertReq`],
//!   [`CertificateParams`], [`SignParams`] for sign and authenticate,
//!   [`PingParams`], the Desktop App's PIN reset); [`CommandDocument`]
//!   reads and writes whole documents. [`HermodClient::send`] returns
//!   Hermod's [`CommandAnswer`] with its [`Destination`]s, which give the
//!   [`DesktopLink`] and, for provisioning, the [`MobileLink`].
//! - [`Tracker`]: correlates [`Callback`]s by command id and external id
//!   (and checks their kind) and resolves one [`Pending`] future per command
//!   into an [`Outcome`]: the device's answer, or timed out, expired (or,
//!   with the opt-in session-start check, session never started); the
//!   caller's [`WaitOptions`] deadline ends the wait with
//!   [`Error::DeadlineReached`]. The clock is injectable
//!   ([`TrackerBuilder::clock`]). Commands, early callbacks and outcomes
//!   live in a [`FlowStore`] ([`TrackerBuilder::store`]; a private
//!   [`MemoryStore`] by default): replicas sharing one store (e.g.
//!   PostgreSQL through `smartid-postgres`) resolve each other's commands,
//!   write each outcome once, and survive restarts (`docs/replicas/hermod.md`).
//! - `CallbackReceiver` (feature `axum`, on by default): an axum
//!   router serving `/callback/{kind}` and `/rest/callback/{kind}` and the
//!   alive endpoints; HTTP Basic credentials are required (checked in
//!   constant time before the body is read) and bodies are limited to 64 KiB
//!   by default. Without the feature the crate does not depend on axum:
//!   feed callbacks to [`Tracker::deliver`] from your own server.
//! - A callback's `result` is the device's answer as Hermod relays it,
//!   unverified: see [`Callback`] for what to verify.
//! - [`check_alive`]: checks a callback URL's alive endpoint, reporting
//!   status, TLS problems and latency.
//!
//! Everything the public signatures use from smartid-core is re-exported
//! here (and the core itself as [`smartid_core`]): depending on
//! hermod-client is enough.
//!
//! ```
//! use hermod_client::{CommandTiming, HermodClient, HermodConfig, HttpSettings, Secret, SystemClock};
//!
//! let config = HermodConfig::builder("https://hermod.example.com:20400/hermod/rest/command")
//!     .client("prime1", Secret::new("key"))
//!     .timing(CommandTiming::from_secs(300, 120, 10)?)
//!     .http_settings(HttpSettings::new())
//!     .build()?;
//! let client = HermodClient::builder(config).clock(SystemClock).build()?;
//! assert_eq!(client.config().base_url(), "https://hermod.example.com:20400/hermod/");
//! # Ok::<(), hermod_client::Error>(())
//! ```
//!
//! # Errors
//! [`Error`] separates configuration problems ([`Error::InvalidConfig`],
//! every one at once), a refused API key ([`Error::Unauthorized`]),
//! Hermod's error answers ([`Error::Server`] with its [`ServerError`]
//! document: status, code, message, body), unreadable answers
//! ([`Error::InvalidResponse`]), the caller's deadline
//! ([`Error::DeadlineReached`]), timing rule violations ([`TimingError`]),
//! TLS/connection/timeout failures from smartid-core ([`Error::Http`]) and
//! the tracker's store ([`Error::Store`], [`Error::UnknownCommand`]).
//! No message contains the token, the key or a callback password.
//!
//! What of Hermod's protocol is documented and what is inferred (callback
//! bodies, error documents, states other than `IN_PROGRESS`) is listed in
//! `docs/hermod.md`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod alive;
mod answer;
mod callback;
mod certreq;
mod client;
mod command;
mod config;
mod deeplink;
mod error;
#[cfg(feature = "axum")]
mod receiver;
mod server_error;
mod timing;
mod token;
mod tracker;
mod vocab;

pub use alive::{AliveProblem, AliveReport, check_alive};
pub use answer::{CommandAnswer, Destination};
pub use callback::Callback;
pub use certreq::{CertReq, CertReqSubject, DummyKey, SubjectAttribute};
pub use client::{
    API_KEY_HEADER, HermodClient, HermodClientBuilder, SentCommand, TrackedCommand,
    build_command_request, parse_command_response,
};
pub use command::{
    AdminKey, CertificateParams, Command, CommandBody, CommandDocument, CommandHeader,
    EndPinResetParams, KeyFilter, KeyGenRequest, KeyTypePrio, PingParams, ProvisionCommand,
    ProvisionProfile, SignParams, StartPinResetParams, TEMPORARY_RECIPIENT, ToBeSigned,
};
pub use config::{HermodConfig, HermodConfigBuilder};
pub use deeplink::{DESKTOP_SCHEME, DesktopLink, MOBILE_SCHEME, MobileLink, MobileTarget};
pub use error::{Error, Result};
#[cfg(feature = "axum")]
pub use receiver::{
    CallbackReceiver, CallbackReceiverBuilder, CallbackStats, DEFAULT_CALLBACK_BODY_LIMIT,
    DangerousReceiverBuilder,
};
pub use server_error::ServerError;
pub use timing::{CommandTiming, DEFAULT_SESSION_START_TIMEOUT, TimingError};
pub use token::ApiToken;
pub use tracker::{
    Delivery, Outcome, Pending, STORE_FORMAT, STORE_NAMESPACE, Tracker, TrackerBuilder,
};
pub use vocab::{CommandKind, CommandState, CommandType};

pub use smartid_core;
pub use smartid_core::store::{FlowStore, MemoryStore, StoreError};
pub use smartid_core::{
    ClientIdentity, Clock, ConfigProblem, HttpRequest, HttpResponse, HttpSend, HttpSettings,
    RetryPolicy, Secret, SendFuture, Sleep, SystemClock, TrustRoots, TrustStore, UnexpectedAnswer,
    WaitOptions,
};

/// Entry points of the fuzz targets and of their corpus replay tests.
/// **Not part of the public API**: no stability promise.
#[doc(hidden)]
pub mod fuzzing;
