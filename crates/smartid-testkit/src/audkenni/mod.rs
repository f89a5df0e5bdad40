//! An Audkenni-like OpenID Connect CIBA provider over HTTPS, for tests and
//! examples: discovery, JWKS, `bc-authorize` and the token endpoint in poll
//! mode, with id_tokens carrying a real CMS signature made with a test
//! user certificate under a test "Islandsrot"-style root.
//!
//! ```no_run
//! use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig, hints};
//! # async fn run() -> smartid_testkit::Result<()> {
//! let sim = AudkenniSimulator::start(SimConfig::default()).await?;
//! println!("issuer {} client {}", sim.issuer(), sim.client_id());
//! // Log in as hints::APPROVES: that user approves after two seconds
//! // (`SimConfig::with_answer_after` changes the delay).
//! # Ok(())
//! # }
//! ```
//!
//! Behaviour per login hint (see [`hints`]): one user approves, one
//! declines (`access_denied` with `mssp_401`), one never answers (the
//! request expires), one has a blocked PIN (`mssp_402`), one approves with
//! a revoked certificate, and any other hint is an unknown user
//! (`access_denied` with `mssp_105`). Errors take the shape Audkenni's
//! "Error Codes" page documents: `{"error":"access_denied","error_description":"mssp_105"}`.
//! Polling faster than the interval gets `slow_down` (and the interval of
//! that request grows by 5 s).
//!
//! What the simulator insists on, from the public record: SIM modes take a
//! mobile number as `login_hint` (7 digits, optionally `+354`/`00354`/`354`,
//! spaces or hyphens), app modes a kennitala; `app-certificate-choice`
//! carries `binding_message` and `binding_content` as empty strings; the
//! request object may be written as Audkenni's own examples are (no
//! `iat`/`nbf`/`jti`, a fractional `exp`, no `kid`) and its `aud` must be
//! the announced issuer exactly.

mod cms;
mod pki;
mod server;
mod state;

use std::time::Duration;

use crate::pki::KeyAlgorithm;

pub use server::{AudkenniSimulator, BASE_PATH, PendingRequest};
pub use state::{PollCounts, normalize_phone};

/// The login hints (phone numbers) of the simulator's users.
pub mod hints {
    /// "Gervimaður Evrópa", 1203902019: approves after `answer_after`.
    pub const APPROVES: &str = "7700001";
    /// "Gervimaður Afríka", 0505853019: declines after `answer_after` (`access_denied`).
    pub const DECLINES: &str = "7700002";
    /// "Gervimaður Ástralía", 1711774059: never answers (`expired_token` at the end).
    pub const NEVER_ANSWERS: &str = "7700003";
    /// "Gervimaður Asía", 0101303369: the PIN is blocked (`access_denied`, `mssp_402`).
    pub const PIN_BLOCKED: &str = "7700004";
    /// "Gervimaður Suður-Ameríka", 0802882049: approves, but the certificate
    /// is on the simulator's CRL (see [`super::SimConfig::crl`]).
    pub const REVOKED: &str = "7700005";
    /// "Gervimaður Handvirkur", 0101902319: waits for a person, who
    /// approves or declines through [`super::AudkenniSimulator::approve`] /
    /// [`super::AudkenniSimulator::decline`] (or `smartid sim`'s page and
    /// control API); expires unanswered otherwise.
    pub const MANUAL: &str = "7700006";
    /// Not a user: bc-authorize answers `access_denied` with `mssp_105`.
    pub const UNKNOWN: &str = "7709999";
}

/// What the simulator signs in the PKCS#7 modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SimSignedContent {
    /// The binding message (the displayed text) in UTF-16 big-endian, as
    /// the seed's sample CMS. The default.
    #[default]
    TextUtf16Be,
    /// The binding message in UTF-16 little-endian.
    TextUtf16Le,
    /// The binding message in UTF-8.
    TextUtf8,
    /// The bytes of `binding_content` (base64-decoded: the hash), as seed
    /// 004's text reads ("the actual content that will be signed").
    BindingContent,
}

/// What a simulated user does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Behaviour {
    /// Approves (and signs) after the delay.
    Approve(Duration),
    /// Declines after the delay.
    Decline(Duration),
    /// Never answers.
    NeverAnswer,
    /// Fails after the delay with this Audkenni code (`access_denied`).
    Fail(Duration, &'static str),
    /// Waits for a person's decision ([`AudkenniSimulator::approve`],
    /// [`AudkenniSimulator::decline`]); expires without one.
    Manual,
}

/// A simulated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUser {
    /// The mobile number, the login hint of SIM modes (app modes use the kennitala).
    pub login_hint: String,
    /// The display name and certificate CN.
    pub name: String,
    /// The kennitala (certificate serialNumber and `nationalRegisterId`).
    pub kennitala: String,
    /// What the user does.
    pub behaviour: Behaviour,
}

/// How the simulator authenticates clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SimClientAuth {
    /// Accepts client_secret_basic (id and secret as they are), client_secret_post and private_key_jwt.
    #[default]
    Any,
    /// Accepts only client_secret_basic with form-urlencoded id and secret (RFC 6749 2.3.1).
    BasicFormEncoded,
}

/// Simulator settings. `Default` gives the three users of [`hints`],
/// `interval` 5 s, `expires_in` 120 s, answers after 2 s.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimConfig {
    /// The client id registered at the simulator.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The relying party key algorithm the simulator generates (RSA-2048 or ECDSA P-256).
    pub client_key: KeyAlgorithm,
    /// How clients authenticate.
    pub client_auth: SimClientAuth,
    /// The `interval` announced by bc-authorize, in seconds.
    pub interval: u64,
    /// The `expires_in` announced by bc-authorize, in seconds.
    pub expires_in: u64,
    /// The users.
    pub users: Vec<SimUser>,
    /// The client notification endpoint registered for ping mode (plain
    /// http allowed: loopback tests). Requests carrying a
    /// `client_notification_token` are refused without it.
    pub notification_endpoint: Option<String>,
    /// What the PKCS#7 modes sign. Defaults to the displayed text in UTF-16BE.
    pub signs: SimSignedContent,
    /// The `acr` claim of id_tokens: `Some(value)` for a fixed value (the
    /// default `"0"`, as in the seed's id_token), `None` to echo the
    /// requested acr_values.
    pub id_token_acr: Option<String>,
    /// Announce the issuer with this port spelled out (for example 443,
    /// as Audkenni's discovery does: `https://localhost:443/sso/...`)
    /// while serving on the loopback port; point the client's discovery at
    /// [`AudkenniSimulator::discovery_url`]. Defaults to none: the issuer
    /// is the real URL.
    pub announce_issuer_port: Option<u16>,
    /// Publish a CRL over plain http on loopback, named in every user
    /// certificate's CRL distribution point (the seed's certificate has
    /// one). Defaults to false: no distribution point.
    pub crl: bool,
    /// Kennitalas whose certificates the CRL lists as revoked. Defaults to
    /// the user of [`hints::REVOKED`].
    pub revoked: Vec<String>,
    /// Answer `slow_down` to these poll numbers (1-based) of every polled
    /// request, however slowly the client polls; the request's interval
    /// then grows by 5 s, as CIBA Core 11 says a client must apply to this
    /// and every later poll. Defaults to none (only polls faster than the
    /// interval, less 500 ms of jitter, get `slow_down`).
    pub slow_down_at: Vec<usize>,
    /// The port of the HTTPS endpoint on `127.0.0.1`. Defaults to 0: a free port.
    pub port: u16,
    /// Fault injection on the HTTPS endpoints (see [`crate::Faults`]). Defaults to off.
    pub faults: crate::Faults,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self::with_answer_after(Duration::from_secs(2))
    }
}

impl SimConfig {
    /// The default users, answering after `delay`.
    pub fn with_answer_after(delay: Duration) -> Self {
        let user = |hint: &str, name: &str, kt: &str, behaviour| SimUser {
            login_hint: hint.into(),
            name: name.into(),
            kennitala: kt.into(),
            behaviour,
        };
        Self {
            client_id: "smartid-test-client".into(),
            client_secret: "s3cr3t:with&chars".into(),
            client_key: KeyAlgorithm::Rsa2048,
            client_auth: SimClientAuth::Any,
            interval: 5,
            expires_in: 120,
            notification_endpoint: None,
            signs: SimSignedContent::default(),
            id_token_acr: Some("0".into()),
            announce_issuer_port: None,
            crl: false,
            revoked: vec!["0802882049".into()],
            slow_down_at: Vec::new(),
            port: 0,
            faults: crate::Faults::default(),
            users: vec![
                user(
                    hints::APPROVES,
                    "Gervimaður Evrópa",
                    "1203902019",
                    Behaviour::Approve(delay),
                ),
                user(
                    hints::DECLINES,
                    "Gervimaður Afríka",
                    "0505853019",
                    Behaviour::Decline(delay),
                ),
                user(
                    hints::NEVER_ANSWERS,
                    "Gervimaður Ástralía",
                    "1711774059",
                    Behaviour::NeverAnswer,
                ),
                user(
                    hints::PIN_BLOCKED,
                    "Gervimaður Asía",
                    "0101303369",
                    Behaviour::Fail(delay, "mssp_402"),
                ),
                user(
                    hints::REVOKED,
                    "Gervimaður Suður-Ameríka",
                    "0802882049",
                    Behaviour::Approve(delay),
                ),
                user(
                    hints::MANUAL,
                    "Gervimaður Handvirkur",
                    "0101902319",
                    Behaviour::Manual,
                ),
            ],
        }
    }

    /// Sets the interval in seconds.
    #[must_use]
    pub fn interval(mut self, secs: u64) -> Self {
        self.interval = secs;
        self
    }

    /// Sets `expires_in` in seconds.
    #[must_use]
    pub fn expires_in(mut self, secs: u64) -> Self {
        self.expires_in = secs;
        self
    }

    /// Sets the relying party key algorithm.
    #[must_use]
    pub fn client_key(mut self, key: KeyAlgorithm) -> Self {
        self.client_key = key;
        self
    }

    /// Registers the client notification endpoint (ping mode).
    #[must_use]
    pub fn notification_endpoint(mut self, url: impl Into<String>) -> Self {
        self.notification_endpoint = Some(url.into());
        self
    }

    /// Sets what the PKCS#7 modes sign.
    #[must_use]
    pub fn signs(mut self, content: SimSignedContent) -> Self {
        self.signs = content;
        self
    }

    /// Announces the issuer with this port spelled out (see [`SimConfig::announce_issuer_port`]).
    #[must_use]
    pub fn announce_issuer_port(mut self, port: u16) -> Self {
        self.announce_issuer_port = Some(port);
        self
    }

    /// Publishes a CRL (see [`SimConfig::crl`]).
    #[must_use]
    pub fn crl(mut self, on: bool) -> Self {
        self.crl = on;
        self
    }

    /// Sets the id_token's `acr` (see [`SimConfig::id_token_acr`]).
    #[must_use]
    pub fn id_token_acr(mut self, acr: Option<String>) -> Self {
        self.id_token_acr = acr;
        self
    }

    /// Answers `slow_down` to these poll numbers (see [`SimConfig::slow_down_at`]).
    #[must_use]
    pub fn slow_down_at(mut self, polls: impl IntoIterator<Item = usize>) -> Self {
        self.slow_down_at = polls.into_iter().collect();
        self
    }

    /// Serves on `127.0.0.1:port` (0: a free port).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Shares this fault switch (see [`crate::Faults`]).
    #[must_use]
    pub fn faults(mut self, faults: crate::Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Sets how clients authenticate.
    #[must_use]
    pub fn client_auth(mut self, auth: SimClientAuth) -> Self {
        self.client_auth = auth;
        self
    }
}
