//! Sending commands: request building and answer parsing as plain
//! functions, and the client that sends them.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use smartid_core::{
    Clock, HttpClient, HttpRequest, HttpResponse, HttpSend, HttpSettings, SystemClock,
    deadline_after,
};

use crate::answer::CommandAnswer;
use crate::command::Command;
use crate::config::HermodConfig;
use crate::error::{Error, Result};
use crate::server_error::ServerError;
use crate::timing::CommandTiming;
use crate::vocab::CommandKind;

/// The header carrying `base64(client-id:key)`.
pub const API_KEY_HEADER: &str = "X-Api-Key";

/// What is needed to wait for a command's callback, also after a restart
/// (it is serde-serializable): ids, kind, timing and when it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrackedCommand {
    /// Hermod's command id.
    pub command_id: String,
    /// The external id sent in the header, if any.
    pub external_id: Option<String>,
    /// The kind.
    pub kind: CommandKind,
    /// The timing the command was sent with.
    pub timing: CommandTiming,
    /// When Hermod accepted the command.
    pub sent_at: SystemTime,
}

impl TrackedCommand {
    /// A tracked command (for commands sent elsewhere, or restored state).
    pub fn new(
        command_id: impl Into<String>,
        external_id: Option<String>,
        kind: CommandKind,
        timing: CommandTiming,
        sent_at: SystemTime,
    ) -> Self {
        Self {
            command_id: command_id.into(),
            external_id,
            kind,
            timing,
            sent_at,
        }
    }

    /// When the user must have started the session.
    pub fn session_start_deadline(&self) -> SystemTime {
        deadline_after(self.sent_at, self.timing.session_start_timeout())
    }

    /// When the command leaves the message box.
    pub fn timeout_deadline(&self) -> SystemTime {
        deadline_after(self.sent_at, self.timing.timeout())
    }

    /// When the command is removed from Hermod's history.
    pub fn lifespan_deadline(&self) -> SystemTime {
        deadline_after(self.sent_at, self.timing.lifespan())
    }
}

/// A command Hermod accepted: its answer (with the links for the user) and
/// the state to wait for its callback.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SentCommand {
    /// Hermod's answer.
    pub answer: CommandAnswer,
    /// What the tracker needs.
    pub tracked: TrackedCommand,
}

/// Builds the HTTP request for a command (no I/O).
pub fn build_command_request(config: &HermodConfig, command: &Command) -> Result<HttpRequest> {
    let request = HttpRequest::post(config.command_url(command.kind()))
        .header("Accept", "application/json")
        .secret_header(API_KEY_HEADER, config.token().to_base64())
        .json(&command.wire(config.timing()))?;
    Ok(request)
}

/// Interprets Hermod's response to a command (no I/O).
///
/// # Errors
/// [`Error::Unauthorized`] for 401/403, [`Error::Server`] with Hermod's
/// error document for other error statuses, [`Error::InvalidResponse`] for
/// a 2xx body that is not an answer.
pub fn parse_command_response(
    config: &HermodConfig,
    response: &HttpResponse,
) -> Result<CommandAnswer> {
    if response.is_success() {
        return CommandAnswer::from_response(response);
    }
    let error = ServerError::from_response(response);
    if error.status == 401 || error.status == 403 {
        return Err(Error::Unauthorized {
            client_id: config.token().client_id().to_owned(),
            error: Box::new(error),
        });
    }
    Err(Error::Server(error))
}

/// Sends commands to Hermod. Cheap to clone.
#[derive(Clone)]
pub struct HermodClient {
    config: HermodConfig,
    http: Arc<dyn HttpSend>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for HermodClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HermodClient")
            .field("config", &self.config)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// Builder of [`HermodClient`]: the network seam and the clock on top of a
/// validated [`HermodConfig`].
#[must_use]
pub struct HermodClientBuilder {
    config: HermodConfig,
    settings: Option<HttpSettings>,
    sender: Option<Arc<dyn HttpSend>>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for HermodClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HermodClientBuilder")
            .field("config", &self.config)
            .field("custom_sender", &self.sender.is_some())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl HermodClientBuilder {
    /// Trust, proxy, client identity and timeouts of the default sender.
    /// Defaults to the configuration's
    /// ([`crate::HermodConfigBuilder::http_settings`]); the command URL is
    /// checked against these settings again in [`HermodClientBuilder::build`].
    pub fn http_settings(mut self, settings: HttpSettings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// Sends through `sender` instead of the [`HttpClient`] built from the
    /// HTTP settings (a client of your own, a recorder, scripted answers in
    /// a test). The sender takes over what [`HttpClient`] enforces: HTTPS,
    /// certificate verification, timeouts, the response size limit.
    pub fn http_sender(mut self, sender: impl HttpSend) -> Self {
        self.sender = Some(Arc::new(sender));
        self
    }

    /// Stamps sent commands with this clock (give the tracker the same one,
    /// so that their deadlines agree). Defaults to [`SystemClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the command URL is not allowed by the
    /// HTTP settings given here (e.g. plain http without
    /// `dangerous().allow_plain_http()`); [`Error::Http`] when the TLS or
    /// proxy settings are refused.
    pub fn build(self) -> Result<HermodClient> {
        let mut config = self.config;
        if let Some(settings) = self.settings {
            settings
                .check_url("base_url", config.base_url())
                .map_err(|e| match e {
                    smartid_core::Error::InvalidSetting { message, .. } => {
                        Error::config("base_url", message)
                    }
                    other => Error::Http(other),
                })?;
            config.set_http_settings(settings);
        }
        let http: Arc<dyn HttpSend> = match self.sender {
            Some(sender) => sender,
            None => Arc::new(HttpClient::new(
                config.http_settings(),
                concat!("hermod-client/", env!("CARGO_PKG_VERSION")),
            )?),
        };
        Ok(HermodClient {
            config,
            http,
            clock: self.clock,
        })
    }
}

impl HermodClient {
    /// A client for a configuration, with the default sender and clock:
    /// `HermodClient::builder(config).build()`.
    ///
    /// # Errors
    /// [`Error::Http`] when the TLS or proxy settings are refused.
    pub fn new(config: HermodConfig) -> Result<Self> {
        Self::builder(config).build()
    }

    /// A builder, for a custom sender ([`HermodClientBuilder::http_sender`])
    /// or clock ([`HermodClientBuilder::clock`]).
    pub fn builder(config: HermodConfig) -> HermodClientBuilder {
        HermodClientBuilder {
            config,
            settings: None,
            sender: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HermodConfig {
        &self.config
    }

    /// Sends a command and returns Hermod's answer with the state to wait
    /// for its callback. Not retried: a command is not idempotent, and a
    /// retry after a lost answer would create a second command on the
    /// user's device.
    ///
    /// # Example
    /// ```
    /// use hermod_client::{Command, HermodClient, HermodConfig, Secret};
    /// use smartid_testkit::ScriptedSender;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hermod_client::Error> {
    /// let hermod = ScriptedSender::new();
    /// hermod.push_json(200, r#"{"commandId":"688","commandType":"PING","state":"IN_PROGRESS",
    ///     "destinations":[{"to":"@tmp","bid":"b1","mid":"m1",
    ///     "uri":"com.nexusgroup.plugout:///?url=https%3a%2f%2fh%2fhermod%2frest%2fms%2fb1&token=t1"}]}"#);
    /// let config = HermodConfig::builder("https://hermod.example.com:20400/hermod/rest/command")
    ///     .client("prime1", Secret::new("key"))
    ///     .build()?;
    /// let client = HermodClient::builder(config).http_sender(hermod.clone()).build()?;
    ///
    /// let sent = client.send(&Command::ping()).await?;
    /// assert_eq!(sent.tracked.command_id, "688");
    /// println!("open {}", sent.answer.desktop_link()?);
    /// assert_eq!(
    ///     hermod.requests()[0].url(),
    ///     "https://hermod.example.com:20400/hermod/rest/command/ping"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Unauthorized`] when the API key is refused, [`Error::Server`]
    /// with Hermod's error document for other error statuses,
    /// [`Error::InvalidResponse`] for an answer that cannot be read, and
    /// [`Error::Http`] for TLS, connection and timeout failures.
    #[tracing::instrument(name = "hermod.send", target = "hermod_client", level = "debug", skip_all, fields(kind = ?command.kind(), external_id = command.external_id_value().unwrap_or("")))]
    pub async fn send(&self, command: &Command) -> Result<SentCommand> {
        let request = build_command_request(&self.config, command)?;
        let response = self.http.send(request).await?;
        let answer = parse_command_response(&self.config, &response);
        match &answer {
            Ok(a) => {
                tracing::info!(target: "hermod_client", command_id = %a.command_id, "command sent")
            }
            Err(e) => {
                tracing::warn!(target: "hermod_client", status = response.status(), error_kind = crate::tracker::error_kind(e), "command refused")
            }
        }
        let answer = answer?;
        let tracked = TrackedCommand::new(
            answer.command_id.clone(),
            command.external_id_value().map(str::to_owned),
            command.kind(),
            *self.config.timing(),
            self.clock.now(),
        );
        Ok(SentCommand { answer, tracked })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{SignParams, ToBeSigned};
    use std::time::Duration;

    fn config() -> HermodConfig {
        HermodConfig::builder("https://h:20400/hermod/rest/command")
            .client("prime1", smartid_core::Secret::new("k3y"))
            .build()
            .unwrap()
    }

    #[test]
    fn request_carries_url_key_and_body() {
        let cmd = Command::sign(SignParams::new(vec![ToBeSigned::text("k", "d", "x")]));
        let req = build_command_request(&config(), &cmd).unwrap();
        assert_eq!(req.url(), "https://h:20400/hermod/rest/command/sign");
        assert_eq!(req.header_value("content-type"), Some("application/json"));
        // The API key is a secret header: not readable, not in Debug.
        assert_eq!(req.header_value(API_KEY_HEADER), None);
        assert!(!format!("{req:?}").contains("cHJpbWUx"));
        let body: serde_json::Value = serde_json::from_slice(req.body_bytes().unwrap()).unwrap();
        assert_eq!(body["commandHeader"]["lifespan"], 300);
    }

    #[test]
    fn huge_timings_give_far_deadlines_not_panics() {
        let timing = CommandTiming::from_secs(u64::MAX, u64::MAX - 1, u64::MAX - 2).unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let t = TrackedCommand::new("1", None, CommandKind::Sign, timing, now);
        for deadline in [
            t.session_start_deadline(),
            t.timeout_deadline(),
            t.lifespan_deadline(),
        ] {
            assert!(deadline > now + Duration::from_secs(50 * 365 * 24 * 3600));
        }
    }

    #[test]
    fn responses_map_to_typed_errors() {
        let c = config();
        let r = |status, body: &str| {
            HttpResponse::new(status, vec![], body.as_bytes().to_vec(), "https://h/x")
        };
        let e =
            parse_command_response(&c, &r(401, r#"{"message":"invalid api key"}"#)).unwrap_err();
        assert!(matches!(&e, Error::Unauthorized { error, .. } if error.status == 401));
        let text = e.to_string();
        assert!(
            text.contains("prime1")
                && text.contains("invalid api key")
                && text.contains("base64(client-id:key)")
        );
        let e = parse_command_response(
            &c,
            &r(
                400,
                r#"{"error":"BAD_REQUEST","message":"timeout >= lifespan"}"#,
            ),
        )
        .unwrap_err();
        assert!(
            matches!(&e, Error::Server(s) if s.status == 400 && s.code.as_deref() == Some("BAD_REQUEST"))
        );
        assert!(e.to_string().contains("BAD_REQUEST - timeout >= lifespan"));
        let e = parse_command_response(&c, &r(500, "<html>oops</html>")).unwrap_err();
        assert!(matches!(&e, Error::Server(s) if s.status == 500 && s.body.contains("oops")));
        let ok = parse_command_response(
            &c,
            &r(
                200,
                r#"{"commandId":"1","commandType":"PING","state":"IN_PROGRESS"}"#,
            ),
        )
        .unwrap();
        assert_eq!(ok.command_id, "1");
    }
}
