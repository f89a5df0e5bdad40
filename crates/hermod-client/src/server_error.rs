//! Hermod's error document, parsed.

use std::fmt;

use smartid_core::HttpResponse;

/// An error answer from Hermod: its status and the fields of its error
/// document, with the body kept.
///
/// Hermod's error document is not in the public record: the fields read
/// here (`code` from `code`/`errorCode`/`error`, `message` from
/// `message`/`errorMessage`/`description`/`detail`, a short plain-text body
/// as the message) are inferred, read leniently (strings or numbers), and
/// the raw body is kept for whatever else it says (see `docs/hermod.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerError {
    /// The URL the command was sent to (without credentials or query).
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// A machine-readable code, if the body has one.
    pub code: Option<String>,
    /// A human-readable message, if the body has one.
    pub message: Option<String>,
    /// The body as received (cut to 2 KiB).
    pub body: String,
}

const CODE_FIELDS: [&str; 3] = ["code", "errorCode", "error"];
const MESSAGE_FIELDS: [&str; 4] = ["message", "errorMessage", "description", "detail"];

impl ServerError {
    /// Reads an error answer (no I/O). Never fails: what cannot be read is
    /// left in [`ServerError::body`].
    pub fn from_response(response: &HttpResponse) -> Self {
        let body = response.body();
        let (code, message) = read_fields(body);
        Self {
            url: smartid_core::internal::redact_url(response.url()),
            status: response.status(),
            code,
            message,
            body: smartid_core::internal::body_snippet(body),
        }
    }

    /// `": code - message"`, or what of it there is, or empty.
    pub(crate) fn detail_suffix(&self) -> String {
        let parts: Vec<&str> = [self.code.as_deref(), self.message.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!(": {}", parts.join(" - "))
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Hermod at {} answered HTTP {}{}",
            self.url,
            self.status,
            self.detail_suffix()
        )
    }
}

impl std::error::Error for ServerError {}

fn text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn read_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        let first = |fields: &[&str]| fields.iter().find_map(|k| text(map.get(*k)));
        let code = first(&CODE_FIELDS);
        return (code, first(&MESSAGE_FIELDS));
    }
    let text = String::from_utf8_lossy(body).trim().to_owned();
    let message = (!text.is_empty() && text.len() <= 300 && !text.starts_with('<')).then_some(text);
    (None, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(
            status,
            vec![],
            body.as_bytes().to_vec(),
            "https://h/hermod/rest/command/sign",
        )
    }

    #[test]
    fn fields_are_read_leniently_and_the_body_kept() {
        let e = ServerError::from_response(&r(
            400,
            r#"{"error":"BAD_REQUEST","message":"timeout >= lifespan","extra":1}"#,
        ));
        assert_eq!(e.status, 400);
        assert_eq!(e.code.as_deref(), Some("BAD_REQUEST"));
        assert_eq!(e.message.as_deref(), Some("timeout >= lifespan"));
        assert!(e.body.contains("extra"));
        assert!(
            e.to_string()
                .contains("HTTP 400: BAD_REQUEST - timeout >= lifespan")
        );

        let e = ServerError::from_response(&r(409, r#"{"errorCode":42,"errorMessage":"busy"}"#));
        assert_eq!(
            (e.code.as_deref(), e.message.as_deref()),
            (Some("42"), Some("busy"))
        );

        let e = ServerError::from_response(&r(503, "Service Unavailable"));
        assert_eq!(e.code, None);
        assert_eq!(e.message.as_deref(), Some("Service Unavailable"));

        let e = ServerError::from_response(&r(500, "<html>oops</html>"));
        assert_eq!((e.code.as_ref(), e.message.as_ref()), (None, None));
        assert!(e.body.contains("oops"));
        assert_eq!(
            e.to_string(),
            "Hermod at https://h/hermod/rest/command/sign answered HTTP 500"
        );
    }
}
