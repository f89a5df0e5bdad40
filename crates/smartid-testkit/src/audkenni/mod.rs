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
//! declines, one never answers (the request expires), and any other hint is
//! an unknown user (`unknown_user_id`, `mssp_105`). Polling faster than the
//! interval gets `slow_down` (and the interval of that request grows by 5 s).

mod cms;
mod pki;
mod server;
mod state;

use std::time::Duration;

use crate::pki::KeyAlgorithm;

pub use server::{AudkenniSimulator, BASE_PATH};

/// The login hints (phone numbers) of the simulator's users.
pub mod hints {
    /// "Gervimaður Evrópa", 1203902019: approves after `answer_after`.
    pub const APPROVES: &str = "7700001";
    /// "Gervimaður Afríka", 0505853019: declines after `answer_after` (`access_denied`).
    pub const DECLINES: &str = "7700002";
    /// "Gervimaður Ástralía", 1711774059: never answers (`expired_token` at the end).
    pub const NEVER_ANSWERS: &str = "7700003";
    /// Not a user: bc-authorize answers `unknown_user_id` with `mssp_105`.
    pub const UNKNOWN: &str = "7709999";
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
}

/// A simulated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUser {
    /// The phone number used as login hint (the kennitala works too).
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

    /// Sets how clients authenticate.
    #[must_use]
    pub fn client_auth(mut self, auth: SimClientAuth) -> Self {
        self.client_auth = auth;
        self
    }
}
