//! Requests and responses: plain data, no I/O, so that the clients' request
//! building and response parsing can be tested without a socket.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// HTTP methods used by the clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

#[derive(Clone)]
enum HeaderValue {
    Plain(String),
    Secret(Secret),
}

/// A request to send with [`crate::HttpClient::send`].
///
/// Headers set with [`HttpRequest::secret_header`] or
/// [`HttpRequest::basic_auth`] are redacted in `Debug` and marked sensitive
/// on the wire.
#[derive(Clone)]
pub struct HttpRequest {
    pub(crate) method: Method,
    pub(crate) url: String,
    headers: Vec<(String, HeaderValue)>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) pool_timeout: Option<Duration>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<_> = self
            .headers
            .iter()
            .map(|(k, v)| match v {
                HeaderValue::Plain(v) => format!("{k}: {v}"),
                HeaderValue::Secret(_) => format!("{k}: [redacted]"),
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &crate::http::redact_url(&self.url))
            .field("headers", &headers)
            .field("body_bytes", &self.body.as_ref().map(Vec::len))
            .finish()
    }
}

impl HttpRequest {
    /// A request with the given method and URL.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout: None,
            pool_timeout: None,
        }
    }

    /// A GET request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// A POST request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .push((name.into(), HeaderValue::Plain(value.into())));
        self
    }

    /// Adds a header whose value is a secret (an API key, a token).
    #[must_use]
    pub fn secret_header(mut self, name: impl Into<String>, value: Secret) -> Self {
        self.headers.push((name.into(), HeaderValue::Secret(value)));
        self
    }

    /// Adds `Authorization: Basic base64(user:password)`.
    #[must_use]
    pub fn basic_auth(self, user: &str, password: &Secret) -> Self {
        let raw = zeroize::Zeroizing::new(format!("{user}:{}", password.expose_secret()));
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
        self.secret_header("Authorization", Secret::new(format!("Basic {encoded}")))
    }

    /// Adds `Authorization: Bearer <token>`.
    #[must_use]
    pub fn bearer_auth(self, token: &Secret) -> Self {
        self.secret_header(
            "Authorization",
            Secret::new(format!("Bearer {}", token.expose_secret())),
        )
    }

    /// Sets a body with its content type.
    #[must_use]
    pub fn body(self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let mut this = self.header("Content-Type", content_type);
        this.body = Some(body.into());
        this
    }

    /// Sets an `application/x-www-form-urlencoded` body.
    #[must_use]
    pub fn form(self, pairs: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body("application/x-www-form-urlencoded", body)
    }

    /// Sets a JSON body.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when `value` cannot be serialized.
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Self> {
        let body = serde_json::to_vec(value).map_err(|e| Error::InvalidSetting {
            field: "body",
            message: format!("cannot serialize the request body as JSON: {e}"),
        })?;
        Ok(self.body("application/json", body))
    }

    /// Overrides the client's request timeout for this request.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Overrides the client's pool timeout for this request: how long it
    /// waits for a free pooled connection before failing, unsent, with
    /// [`crate::Error::PoolBusy`].
    #[must_use]
    pub fn pool_timeout(mut self, timeout: Duration) -> Self {
        self.pool_timeout = Some(timeout);
        self
    }

    /// This request's own timeout, if it overrides the client's.
    pub fn timeout_value(&self) -> Option<Duration> {
        self.timeout
    }

    /// This request's own pool timeout, if it overrides the client's.
    pub fn pool_timeout_value(&self) -> Option<Duration> {
        self.pool_timeout
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The value of a header that is not secret (case-insensitive name).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(k, v)| match v {
            HeaderValue::Plain(v) if k.eq_ignore_ascii_case(name) => Some(v.as_str()),
            _ => None,
        })
    }

    /// The body, if any.
    pub fn body_bytes(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    pub(crate) fn header_pairs(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        self.headers.iter().map(|(k, v)| match v {
            HeaderValue::Plain(v) => (k.as_str(), v.as_str(), false),
            HeaderValue::Secret(s) => (k.as_str(), s.expose_secret(), true),
        })
    }
}

/// A response: status, headers and the whole body (bounded by
/// [`crate::HttpSettings::max_response_bytes`]).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    url: String,
}

impl HttpResponse {
    /// Builds a response (for tests of parsing code, and for the client).
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>, url: &str) -> Self {
        Self {
            status,
            headers,
            body,
            url: crate::http::redact_url(url),
        }
    }

    /// [`HttpResponse::new`] with a URL already redacted (by
    /// [`crate::http::redact_url`]): not parsed again.
    pub(crate) fn with_redacted_url(
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        redacted_url: String,
    ) -> Self {
        Self {
            status,
            headers,
            body,
            url: redacted_url,
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header value (case-insensitive name; the first one if repeated).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All headers.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The media type of `Content-Type`, lower-cased, without parameters.
    pub fn content_type(&self) -> Option<String> {
        self.header("content-type").map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Takes the body.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The URL the response came from (without credentials or query).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Parses the body as JSON.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] with the parser's message and the start of the body.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::InvalidResponse {
            url: self.url.clone(),
            message: format!(
                "expected JSON ({e}); status {}, content type {}, body starts: {}",
                self.status,
                self.content_type().unwrap_or_else(|| "none".into()),
                body_snippet(&self.body)
            ),
        })
    }

    /// `Retry-After` as a duration, when given in seconds (HTTP dates are
    /// converted relative to now).
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.header("retry-after")?.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        let when = httpdate_parse(value)?;
        Some(
            when.duration_since(std::time::SystemTime::now())
                .unwrap_or_default(),
        )
    }

    /// `Ok(self)` for 2xx, else [`Error::HttpStatus`] with the body.
    ///
    /// # Errors
    /// [`Error::HttpStatus`].
    pub fn error_for_status(self) -> Result<Self> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(Error::HttpStatus {
                url: self.url.clone(),
                status: self.status,
                body: body_snippet(&self.body),
            })
        }
    }
}

/// The start of a body for an error message: at most 2 KiB, lossy UTF-8,
/// with the total length when cut. Every client crate uses this one helper.
pub fn body_snippet(body: &[u8]) -> String {
    body_snippet_without(body, &[])
}

/// [`body_snippet`] of a body that may echo secrets the request carried:
/// every occurrence of each non-empty secret is replaced by `[redacted]`
/// in the whole body *before* it is cut, so that a secret straddling the
/// cut cannot leave its first characters behind.
pub fn body_snippet_without(body: &[u8], secrets: &[&str]) -> String {
    const MAX: usize = 2048;
    let mut text = String::from_utf8_lossy(body).into_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if text.contains(secret) {
            text = text.replace(secret, "[redacted]");
        }
    }
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes in all)", &text[..end], body.len())
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`). Every field is
/// range-checked before any arithmetic, so no input can overflow; anything
/// else (including years past 9999) is `None`.
fn httpdate_parse(s: &str) -> Option<std::time::SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let field = |text: &str, max_len: usize, range: std::ops::RangeInclusive<i64>| {
        if text.is_empty() || text.len() > max_len || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse::<i64>().ok().filter(|v| range.contains(v))
    };
    let day = field(parts[1], 2, 1..=31)?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])? as i64
        + 1;
    let year = field(parts[3], 4, 1970..=9999)?;
    let hms: Vec<&str> = parts[4].split(':').collect();
    if hms.len() != 3 {
        return None;
    }
    let hour = field(hms[0], 2, 0..=23)?;
    let minute = field(hms[1], 2, 0..=59)?;
    let second = field(hms[2], 2, 0..=60)?;
    // days_from_civil (H. Hinnant's public algorithm); with the ranges above
    // every intermediate value is far from i64's limits.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    let secs = u64::try_from(secs).ok()?;
    std::time::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let req = HttpRequest::post("https://u:pw@h/x?token=abc")
            .basic_auth("client", &Secret::new("s3cr3t-value"))
            .secret_header("X-Api-Key", Secret::new("api-key-value"));
        let dbg = format!("{req:?}");
        for leaked in ["s3cr3t", "api-key-value", "token=abc", ":pw@", "Y2xpZW50"] {
            assert!(!dbg.contains(leaked), "{leaked} in {dbg}");
        }
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let r = |v: &str| {
            HttpResponse::new(
                200,
                vec![("Retry-After".into(), v.into())],
                vec![],
                "https://h",
            )
            .retry_after()
        };
        assert_eq!(r("7"), Some(Duration::from_secs(7)));
        assert_eq!(r("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        assert_eq!(r("soon"), None);
        // Past the far future, huge or negative fields: ignored, never a panic
        // (this used to overflow in builds with overflow checks).
        for hostile in [
            "Sun, 06 Nov 99999999999999999 08:49:37 GMT",
            "Sun, 06 Nov 9223372036854775807 08:49:37 GMT",
            "Sun, 99999999999999 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 9999999999999:49:37 GMT",
            "Sun, -6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:-49:37 GMT",
            "Sun, 06 Nov +1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37:00 GMT",
        ] {
            assert_eq!(r(hostile), None, "{hostile}");
        }
        let far = r("Fri, 31 Dec 9999 23:59:59 GMT");
        assert!(far.is_some_and(|d| d > Duration::from_secs(200 * 365 * 86_400)));
        assert_eq!(
            httpdate_parse("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(std::time::UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
    }

    #[test]
    fn snippets_redact_before_cutting() {
        let password = "Sperr-Passwort-4711";
        // The password starts 5 bytes before the 2 KiB cut.
        let mut body = "x".repeat(2048 - 5);
        body.push_str(password);
        body.push_str(" and more");
        let plain = body_snippet(body.as_bytes());
        assert!(
            plain.contains("Sperr"),
            "the unredacted snippet shows the start"
        );
        let redacted = body_snippet_without(body.as_bytes(), &[password, ""]);
        assert!(!redacted.contains("Sperr"), "{redacted}");
        assert!(!redacted.contains("4711"));
        assert!(redacted.ends_with(&format!("... ({} bytes in all)", body.len())));
        // Short bodies are redacted too, and multi-byte text is cut on a char boundary.
        assert_eq!(body_snippet_without(b"pw=abc", &["abc"]), "pw=[redacted]");
        let wide = "\u{00f0}".repeat(2000);
        assert!(body_snippet(wide.as_bytes()).starts_with('\u{00f0}'));
    }

    #[test]
    fn json_errors_carry_status_and_body() {
        let resp = HttpResponse::new(
            502,
            vec![],
            b"<html>bad gateway</html>".to_vec(),
            "https://h/x",
        );
        let err = resp
            .json::<serde_json::Value>()
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("502") && e.contains("bad gateway")));
    }

    #[test]
    fn form_encoding() {
        let req = HttpRequest::post("https://h").form(&[("a", "x y"), ("b", "&=")]);
        assert_eq!(req.body_bytes(), Some(&b"a=x+y&b=%26%3D"[..]));
        assert_eq!(
            req.header_value("content-type"),
            Some("application/x-www-form-urlencoded")
        );
    }
}
