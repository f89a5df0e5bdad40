//! A client for Smart ID Messaging (Hermod): start commands (provision,
//! certificate, authenticate, sign, ping) for a user's Smart ID Desktop App
//! or Mobile App, hand the user a link that opens the app, and get the
//! device's answer through Hermod's callback.
//!
//! ```no_run
//! use hermod_client::{Command, CommandTiming, HermodClient, HermodConfig, SignParams, ToBeSigned, Tracker};
//!
//! # async fn run() -> Result<(), hermod_client::Error> {
//! let config = HermodConfig::builder("https://hermod.example.com:20400/hermod/rest/command")
//!     .token_base64(std::env::var("HERMOD_TOKEN").unwrap_or_default())
//!     .timing(CommandTiming::from_secs(300, 120, 10)?)
//!     .build()?;
//! let client = HermodClient::new(config)?;
//! let tracker = Tracker::new(); // fed by the callback receiver
//!
//! let sent = client
//!     .send(&Command::sign(
//!         SignParams::new(vec![ToBeSigned::text("tbs", "Contract 17", "I agree to contract 17")])
//!             .describe(ToBeSigned::text("requester", "Signing request from", "Example shop")),
//!     ))
//!     .await?;
//! println!("open {}", sent.answer.desktop_link()?);
//! let outcome = tracker.track(sent.tracked).await;
//! println!("{}", outcome.state());
//! # Ok(())
//! # }
//! ```
//!
//! # Overview
//! - [`HermodConfig`]: the command URL (Hermod's base `https://host:port/hermod/`
//!   or Identity Manager's form ending in `/hermod/rest/command`), the API
//!   token ([`ApiToken`], `base64(client-id:key)` sent as `X-Api-Key`), the
//!   [`CommandTiming`] (whole seconds, timeout not past the lifespan; the
//!   stricter Identity Manager rules are idm-config's) and the
//!   [`smartid_core::HttpSettings`] (trust, proxy, timeouts; HTTPS required).
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
//!   with the opt-in session-start check, session never started). The
//!   clock is injectable ([`Clock`], [`ManualClock`]); [`TrackedCommand`] is
//!   serde so that another process can resume the wait.
//! - `CallbackReceiver` (feature `callback-server`, on by default): an axum
//!   router serving `/callback/{kind}` and `/rest/callback/{kind}` and the
//!   alive endpoints; HTTP Basic credentials are required (checked in
//!   constant time before the body is read) and bodies are limited to 64 KiB
//!   by default.
//! - A callback's `result` is the device's answer as Hermod relays it,
//!   unverified: see [`Callback`] for what to verify.
//! - [`check_alive`]: checks a callback URL's alive endpoint, reporting
//!   status, TLS problems and latency.
//!
//! # Errors
//! [`Error`] separates a refused API key ([`Error::Unauthorized`]), Hermod's
//! error answers ([`Error::Api`] with its message and body), unreadable
//! answers, timing rule violations ([`TimingError`]) and TLS/connection/
//! timeout failures from smartid-core ([`Error::Core`]). No message contains
//! the token, the key or a callback password.
//!
//! What of Hermod's protocol is documented and what is inferred (callback
//! bodies, states other than `IN_PROGRESS`) is listed in `docs/hermod.md`.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod alive;
mod answer;
mod callback;
mod certreq;
mod client;
mod clock;
mod command;
mod config;
mod deeplink;
mod error;
#[cfg(feature = "callback-server")]
mod receiver;
mod timing;
mod token;
mod tracker;
mod vocab;

pub use alive::{AliveProblem, AliveReport, check_alive};
pub use answer::{CommandAnswer, Destination};
pub use callback::Callback;
pub use certreq::{CertReq, CertReqSubject, DummyKey, SubjectAttribute};
pub use client::{
    API_KEY_HEADER, HermodClient, SentCommand, TrackedCommand, build_command_request,
    parse_command_response,
};
pub use clock::{Clock, ManualClock, Sleep, SystemClock};
pub use command::{
    AdminKey, CertificateParams, Command, CommandBody, CommandDocument, CommandHeader,
    EndPinResetParams, KeyFilter, KeyGenRequest, KeyTypePrio, PingParams, ProvisionCommand,
    ProvisionProfile, SignParams, StartPinResetParams, TEMPORARY_RECIPIENT, ToBeSigned,
};
pub use config::{HermodConfig, HermodConfigBuilder};
pub use deeplink::{DESKTOP_SCHEME, DesktopLink, MOBILE_SCHEME, MobileLink, MobileTarget};
pub use error::{Error, Result};
#[cfg(feature = "callback-server")]
pub use receiver::{
    CallbackReceiver, CallbackReceiverBuilder, CallbackStats, DEFAULT_CALLBACK_BODY_LIMIT,
    DangerousReceiverBuilder,
};
pub use timing::{CommandTiming, DEFAULT_SESSION_START_TIMEOUT, TimingError};
pub use token::ApiToken;
pub use tracker::{Delivery, Outcome, Pending, Tracker, TrackerBuilder};
pub use vocab::{CommandKind, CommandState, CommandType};
