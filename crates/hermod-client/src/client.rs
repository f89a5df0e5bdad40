//! Sending commands: request building and answer parsing as plain
//! functions, and the client that sends them.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use smartid_core::{HttpClient, HttpRequest, HttpResponse};

use crate::answer::CommandAnswer;
use crate::clock::{Clock, SystemClock};
use crate::command::Command;
use crate::config::HermodConfig;
use crate::error::{Error, Result};
use crate::timing::CommandTiming;
use crate::vocab::CommandKind;
use smartid_core::internal::body_snippet as snippet;

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
        after(self.sent_at, self.timing.session_start_timeout())
    }

    /// When the command leaves the message box.
    pub fn timeout_deadline(&self) -> SystemTime {
        after(self.sent_at, self.timing.timeout())
    }

    /// When the command is removed from Hermod's history.
    pub fn lifespan_deadline(&self) -> SystemTime {
        after(self.sent_at, self.timing.lifespan())
    }
}

/// `start + wait`, without the panic of `+` when a (valid but huge) timing
/// or a restored `sent_at` would overflow: such deadlines end up a century
/// away, which is never for a command.
fn after(start: SystemTime, wait: Duration) -> SystemTime {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    start
        .checked_add(wait)
        .or_else(|| start.checked_add(wait.min(CENTURY)))
        .unwrap_or(start)
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
        .json(&command.to_json(config.timing()))?;
    Ok(request)
}

/// Interprets Hermod's response to a command (no I/O).
///
/// # Errors
/// [`Error::Unauthorized`] for 401/403, [`Error::Api`] for other error
/// statuses, [`Error::InvalidAnswer`] for a 2xx body that is not an answer.
pub fn parse_command_response(
    config: &HermodConfig,
    response: &HttpResponse,
) -> Result<CommandAnswer> {
    let status = response.status();
    let url = response.url().to_owned();
    if response.is_success() {
        return CommandAnswer::from_json(response.body(), &url);
    }
    let detail = error_detail(response.body())
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    if status == 401 || status == 403 {
        return Err(Error::Unauthorized {
            url,
            client_id: config.token().client_id().to_owned(),
            status,
            detail,
        });
    }
    Err(Error::Api {
        url,
        status,
        detail,
        body: snippet(response.body()),
    })
}

/// A message from an error body: JSON `message`/`error`/`errorMessage`/
/// `description`/`detail`, or short plain text.
fn error_detail(body: &[u8]) -> Option<String> {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        let parts: Vec<String> = [
            "error",
            "errorCode",
            "message",
            "errorMessage",
            "description",
            "detail",
        ]
        .iter()
        .filter_map(|k| match map.get(*k) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .collect();
        return (!parts.is_empty()).then(|| parts.join(" - "));
    }
    let text = String::from_utf8_lossy(body).trim().to_owned();
    (!text.is_empty() && text.len() <= 300 && !text.starts_with('<')).then_some(text)
}

/// Sends commands to Hermod. Cheap to clone.
#[derive(Clone)]
pub struct HermodClient {
    config: HermodConfig,
    http: HttpClient,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for HermodClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HermodClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HermodClient {
    /// A client for a configuration.
    ///
    /// # Errors
    /// [`Error::Core`] when the TLS or proxy settings are refused.
    pub fn new(config: HermodConfig) -> Result<Self> {
        let http = HttpClient::new(
            config.http(),
            concat!("hermod-client/", env!("CARGO_PKG_VERSION")),
        )?;
        Ok(Self {
            config,
            http,
            clock: Arc::new(SystemClock),
        })
    }

    /// Stamps sent commands with this clock (the tracker's, so that their
    /// deadlines agree). Defaults to [`SystemClock`].
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
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
    /// # Errors
    /// [`Error::Unauthorized`] when the API key is refused, [`Error::Api`]
    /// for other error statuses, [`Error::InvalidAnswer`], and
    /// [`Error::Core`] for TLS, connection and timeout failures.
    pub async fn send(&self, command: &Command) -> Result<SentCommand> {
        let request = build_command_request(&self.config, command)?;
        let response = self.http.send(request).await?;
        let answer = parse_command_response(&self.config, &response)?;
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
        let now = SystemTime::now();
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
        assert!(matches!(e, Error::Unauthorized { status: 401, .. }));
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
        assert!(matches!(&e, Error::Api { status: 400, .. }));
        assert!(e.to_string().contains("BAD_REQUEST - timeout >= lifespan"));
        let e = parse_command_response(&c, &r(500, "<html>oops</html>")).unwrap_err();
        assert!(matches!(&e, Error::Api { status: 500, body, .. } if body.contains("oops")));
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
