//! The pending request handle (serializable, to finish on another instance)
//! and the parsing of the bc-authorize answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use smartid_core::HttpResponse;

use crate::acr::Acr;
use crate::binding::BindingContent;
use crate::error::Error;
use crate::provider_error::parse_error_document;
use crate::response::{check_json, invalid};
use crate::signature::{Expected, SignedPayload, binding_bytes};

/// The polling interval when the provider does not send one (CIBA Core 7.3).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
use smartid_core::SLOW_DOWN_STEP;

/// A started request: the `auth_req_id`, when it expires, the current
/// polling interval and the earliest time of the next poll, plus what was
/// asked (to check the result against).
///
/// It is `Serialize`/`Deserialize`: a service can start a flow on one
/// instance, store the handle, and finish it on another with
/// [`crate::CibaClient::wait`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuth {
    auth_req_id: String,
    issuer: String,
    expires_at: u64,
    interval_secs: u64,
    next_poll_at_ms: u64,
    acr: Acr,
    #[serde(default)]
    binding_message: Option<String>,
    #[serde(default)]
    binding_content: Option<BindingContent>,
    /// What the signature is expected to cover ([`crate::AuthRequest::signs`]).
    #[serde(default)]
    signs: Option<SignedPayload>,
}

/// The latest time a handle holds (9999-12-31T23:59:59Z): times from the
/// provider or from a stored handle are clamped to it, since
/// `SystemTime + Duration` panics past the platform's range.
const MAX_UNIX_SECS: u64 = 253_402_300_799;

fn at_unix_secs(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.min(MAX_UNIX_SECS))
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[derive(Deserialize)]
struct BcAuthorizeAnswer {
    auth_req_id: Option<String>,
    expires_in: Option<serde_json::Value>,
    interval: Option<serde_json::Value>,
}

fn as_secs(v: &serde_json::Value) -> Option<u64> {
    match v {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.ceil() as u64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl PendingAuth {
    /// Parses the bc-authorize answer received at `now`.
    pub(crate) fn from_response(
        response: &HttpResponse,
        issuer: &str,
        now: SystemTime,
        acr: Acr,
        binding_message: Option<String>,
        binding_content: Option<BindingContent>,
        signs: Option<SignedPayload>,
    ) -> Result<Self, Error> {
        if let Some(e) = parse_error_document(response) {
            return Err(e.into());
        }
        if !response.is_success() {
            return Err(invalid(
                response,
                "HTTP error without an OAuth error document",
            ));
        }
        check_json(response)?;
        let answer: BcAuthorizeAnswer = serde_json::from_slice(response.body())
            .map_err(|e| invalid(response, &format!("not a JSON object ({e})")))?;
        let auth_req_id = answer
            .auth_req_id
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| invalid(response, "auth_req_id is missing or empty"))?;
        let expires_in = answer
            .expires_in
            .as_ref()
            .and_then(as_secs)
            .filter(|s| *s > 0)
            .ok_or_else(|| invalid(response, "expires_in is missing or not a positive number"))?;
        let interval = match &answer.interval {
            None | Some(serde_json::Value::Null) => DEFAULT_INTERVAL.as_secs(),
            Some(v) => as_secs(v).ok_or_else(|| invalid(response, "interval is not a number"))?,
        };
        Ok(Self {
            auth_req_id,
            issuer: issuer.to_owned(),
            expires_at: unix_secs(now).saturating_add(expires_in),
            interval_secs: interval.max(1),
            next_poll_at_ms: unix_ms(now).saturating_add(interval.max(1).saturating_mul(1000)),
            acr,
            binding_message,
            binding_content,
            signs,
        })
    }

    /// The provider's `auth_req_id`.
    pub fn auth_req_id(&self) -> &str {
        &self.auth_req_id
    }

    /// The issuer the request was made to.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// When the request expires.
    pub fn expires_at(&self) -> SystemTime {
        at_unix_secs(self.expires_at)
    }

    /// The current polling interval (grows by 5 s on every `slow_down`).
    pub fn interval(&self) -> Duration {
        // At least 1 s, as when parsed, even from an edited stored handle.
        Duration::from_secs(self.interval_secs.max(1))
    }

    /// The earliest time of the next poll.
    pub fn next_poll_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.next_poll_at_ms.min(MAX_UNIX_SECS * 1000))
    }

    /// The method requested.
    pub fn acr(&self) -> &Acr {
        &self.acr
    }

    /// The binding message sent (what the user saw; for SIM signing, what is signed).
    pub fn binding_message(&self) -> Option<&str> {
        self.binding_message.as_deref()
    }

    /// The binding content sent.
    pub fn binding_content(&self) -> Option<&BindingContent> {
        self.binding_content.as_ref()
    }

    /// What the signature is expected to cover, as the request said.
    pub fn signs(&self) -> Option<SignedPayload> {
        self.signs
    }

    /// The expected signed content, from what was recorded.
    pub(crate) fn expected_content(&self) -> Option<Expected> {
        match self.signs? {
            SignedPayload::DisplayedText(enc) => {
                Some(Expected::Text(self.binding_message.clone()?, enc))
            }
            SignedPayload::BindingContent => Some(Expected::Bytes(binding_bytes(
                self.binding_content.as_ref()?,
            ))),
        }
    }

    pub(crate) fn slow_down(&mut self) {
        self.interval_secs = self.interval_secs.saturating_add(SLOW_DOWN_STEP.as_secs());
    }

    pub(crate) fn schedule_next(&mut self, polled_at: SystemTime, delay: Duration) {
        let at = polled_at
            .checked_add(delay)
            .unwrap_or_else(|| at_unix_secs(MAX_UNIX_SECS));
        self.next_poll_at_ms = unix_ms(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, ct: &str, body: &str) -> HttpResponse {
        HttpResponse::new(
            status,
            vec![("Content-Type".into(), ct.into())],
            body.into(),
            "https://idp/bc-authorize",
        )
    }

    fn parse(r: &HttpResponse) -> Result<PendingAuth, Error> {
        PendingAuth::from_response(
            r,
            "https://idp",
            UNIX_EPOCH + Duration::from_secs(1000),
            Acr::SimSign,
            None,
            None,
            None,
        )
    }

    #[test]
    fn parses_and_defaults_interval() {
        let p = parse(&resp(
            200,
            "application/json",
            r#"{"auth_req_id":"abc","expires_in":120}"#,
        ))
        .unwrap();
        assert_eq!(p.auth_req_id(), "abc");
        assert_eq!(p.interval(), Duration::from_secs(5));
        assert_eq!(p.expires_at(), UNIX_EPOCH + Duration::from_secs(1120));
        assert_eq!(p.next_poll_at(), UNIX_EPOCH + Duration::from_secs(1005));
        let p = parse(&resp(
            200,
            "application/json;charset=UTF-8",
            r#"{"auth_req_id":"abc","expires_in":"60","interval":2}"#,
        ))
        .unwrap();
        assert_eq!(p.interval(), Duration::from_secs(2));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<PendingAuth>(&json).unwrap(), p);
    }

    #[test]
    fn huge_numbers_from_the_provider_or_a_stored_handle_do_not_panic() {
        let max = u64::MAX;
        let mut p = parse(&resp(
            200,
            "application/json",
            &format!(r#"{{"auth_req_id":"a","expires_in":{max},"interval":{max}}}"#),
        ))
        .unwrap();
        assert!(p.expires_at() > UNIX_EPOCH + Duration::from_secs(1000));
        assert!(p.next_poll_at() > UNIX_EPOCH + Duration::from_secs(1000));
        p.slow_down();
        p.schedule_next(UNIX_EPOCH + Duration::from_secs(1000), p.interval());
        p.schedule_next(UNIX_EPOCH + Duration::from_secs(2_000), Duration::MAX);
        assert!(p.next_poll_at() >= p.expires_at());
        let mut stored = serde_json::to_value(&p).unwrap();
        stored["expires_at"] = max.into();
        stored["next_poll_at_ms"] = max.into();
        stored["interval_secs"] = 0.into();
        let resumed: PendingAuth = serde_json::from_value(stored).unwrap();
        let _ = (resumed.expires_at(), resumed.next_poll_at());
        assert_eq!(resumed.interval(), Duration::from_secs(1));
    }

    #[test]
    fn malformed_answers_are_clear_errors() {
        let msg = |r: HttpResponse| parse(&r).unwrap_err().to_string();
        assert!(
            msg(resp(200, "application/json", r#"{"expires_in":120}"#)).contains("auth_req_id")
        );
        assert!(
            msg(resp(200, "application/json", r#"{"auth_req_id":"a"}"#)).contains("expires_in")
        );
        assert!(
            msg(resp(
                200,
                "application/json",
                r#"{"auth_req_id":"a","expires_in":5,"interval":"x"}"#
            ))
            .contains("interval")
        );
        assert!(msg(resp(200, "application/json", "nope")).contains("not a JSON object"));
        assert!(msg(resp(200, "text/html", "<html>")).contains("content type"));
        assert!(msg(resp(502, "text/html", "<html>bad gateway</html>")).contains("502"));
        let e = parse(&resp(
            400,
            "application/json",
            r#"{"error":"access_denied","error_description":"mssp_105"}"#,
        ))
        .unwrap_err();
        assert!(
            matches!(e, Error::Server(ref p) if p.code == crate::ErrorCode::AccessDenied && p.provider_code == Some(crate::ProviderCode::Mssp105))
        );
    }
}
