//! The alive check of a callback URL (Identity Manager's
//! `/idm-operator/ws/hermod/callback/alive`).

use std::time::{Duration, Instant};

use smartid_core::{HttpClient, HttpRequest, HttpSettings};

use crate::error::{Error, Result};

/// Why an alive check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AliveProblem {
    /// The endpoint answered with a non-2xx status.
    Status(u16),
    /// The TLS handshake failed; the message says what to check (trust store, host name).
    Tls(String),
    /// No connection could be made.
    Connect(String),
    /// No answer within the request timeout.
    Timeout,
    /// Another HTTP failure.
    Other(String),
}

/// The result of [`check_alive`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AliveReport {
    /// The URL checked.
    pub url: String,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// Time until the answer or the failure.
    pub latency: Duration,
    /// What went wrong, if anything.
    pub problem: Option<AliveProblem>,
}

impl AliveReport {
    /// Whether the endpoint answered with 2xx.
    pub fn is_alive(&self) -> bool {
        self.problem.is_none()
    }
}

/// The alive URL for a callback URL: kept when it already ends in `alive`,
/// else `{url}/callback/alive` (Identity Manager's layout).
fn alive_url(settings: &HttpSettings, url: &str) -> Result<String> {
    let mut parsed = settings
        .check_url("alive_url", url.trim())
        .map_err(|e| match e {
            smartid_core::Error::InvalidSetting { message, .. } => {
                Error::config("alive_url", message)
            }
            other => Error::Http(other),
        })?;
    let path = parsed.path().trim_end_matches('/').to_owned();
    if !path.ends_with("/alive") {
        parsed.set_path(&format!("{path}/callback/alive"));
    }
    Ok(parsed.to_string())
}

/// GETs the alive endpoint of a callback URL and reports status, latency
/// and TLS or connection problems. Pass the alive URL itself (e.g.
/// `https://idm:8443/idm-operator/ws/hermod/callback/alive`) or the callback
/// base (`https://idm:8443/idm-operator/ws/hermod`, to which
/// `/callback/alive` is appended).
///
/// # Errors
/// [`Error::InvalidConfig`] for a URL that is not https (unless dangerously
/// allowed), [`Error::Http`] when the HTTP settings are refused. Network
/// failures are not errors: they are in the report.
pub async fn check_alive(settings: &HttpSettings, url: &str) -> Result<AliveReport> {
    let url = alive_url(settings, url)?;
    let client = HttpClient::new(
        settings,
        concat!("hermod-client/", env!("CARGO_PKG_VERSION")),
    )?;
    let start = Instant::now();
    let result = client.send(HttpRequest::get(url.clone())).await;
    let latency = start.elapsed();
    let (status, problem) = match result {
        Ok(resp) if resp.is_success() => (Some(resp.status()), None),
        Ok(resp) => (
            Some(resp.status()),
            Some(AliveProblem::Status(resp.status())),
        ),
        Err(e) => (None, Some(problem_of(e))),
    };
    Ok(AliveReport {
        url: smartid_core::internal::redact_url(&url),
        status,
        latency,
        problem,
    })
}

fn problem_of(e: smartid_core::Error) -> AliveProblem {
    match e {
        smartid_core::Error::Tls { message, .. } => AliveProblem::Tls(message),
        smartid_core::Error::Connect { message, .. } => AliveProblem::Connect(message),
        smartid_core::Error::Timeout { .. } => AliveProblem::Timeout,
        other => AliveProblem::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alive_url_forms() {
        let s = HttpSettings::new();
        assert_eq!(
            alive_url(&s, "https://idm:8443/idm-operator/ws/hermod/callback/alive").unwrap(),
            "https://idm:8443/idm-operator/ws/hermod/callback/alive"
        );
        assert_eq!(
            alive_url(&s, "https://idm:8443/idm-operator/ws/hermod/").unwrap(),
            "https://idm:8443/idm-operator/ws/hermod/callback/alive"
        );
        assert!(alive_url(&s, "http://idm/alive").is_err());
    }
}
