//! The provider's OAuth 2.0 / CIBA error documents, typed.

use std::fmt;

use serde::Deserialize;
use smartid_core::HttpResponse;

use crate::provider_code::ProviderCode;

smartid_core::vocabulary! {
    /// An error code from the provider (RFC 6749 5.2, CIBA Core 11 and 13).
    pub enum ErrorCode {
        /// `authorization_pending`: the user has not answered yet (not an error while polling).
        AuthorizationPending = "authorization_pending",
        /// `slow_down`: poll less often (the interval grows by 5 s).
        SlowDown = "slow_down",
        /// `expired_token`: the auth_req_id expired before the user answered.
        ExpiredToken = "expired_token",
        /// `access_denied`: the user declined (or the provider refused).
        AccessDenied = "access_denied",
        /// `invalid_grant`: the auth_req_id is invalid or already used.
        InvalidGrant = "invalid_grant",
        /// `unknown_user_id`: no user for the login hint.
        UnknownUserId = "unknown_user_id",
        /// `invalid_binding_message`: the binding message was refused.
        InvalidBindingMessage = "invalid_binding_message",
        /// `invalid_request`: a parameter is missing or malformed.
        InvalidRequest = "invalid_request",
        /// `invalid_client`: client authentication failed.
        InvalidClient = "invalid_client",
        /// `unauthorized_client`: the client may not use CIBA or this mode.
        UnauthorizedClient = "unauthorized_client",
        /// `invalid_scope`.
        InvalidScope = "invalid_scope",
        /// `expired_login_hint_token`.
        ExpiredLoginHintToken = "expired_login_hint_token",
        /// `missing_user_code`: the user code is required and missing.
        MissingUserCode = "missing_user_code",
        /// `invalid_user_code`: the user code is wrong.
        InvalidUserCode = "invalid_user_code",
        /// `transaction_failed`.
        TransactionFailed = "transaction_failed",
    }
}

impl ErrorCode {
    fn meaning(&self) -> &'static str {
        match self {
            Self::AuthorizationPending => "the user has not answered yet",
            Self::SlowDown => "polling too fast",
            Self::ExpiredToken => {
                "the request expired before the user answered; start a new request"
            }
            Self::AccessDenied => {
                "access denied: the user declined or the provider refused (Audkenni names its reason in error_description)"
            }
            Self::InvalidGrant => "the auth_req_id is invalid, used or expired",
            Self::UnknownUserId => {
                "no user with an eID for this login hint; check the phone number or id"
            }
            Self::InvalidBindingMessage => "the provider refused the binding message",
            Self::InvalidRequest => "the provider refused the request as malformed",
            Self::InvalidClient => {
                "client authentication failed; check the client id, secret and authentication method"
            }
            Self::UnauthorizedClient => "this client may not use this grant or mode",
            Self::InvalidScope => "the scope was refused",
            Self::ExpiredLoginHintToken => "the login hint token expired",
            Self::MissingUserCode => "the user code is missing",
            Self::InvalidUserCode => "the user code is wrong",
            Self::TransactionFailed => "the provider could not complete the transaction",
            Self::Other(_) => "the provider reported an error",
        }
    }
}

/// An error document from the provider: code, description, HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderError {
    /// The error code.
    pub code: ErrorCode,
    /// `error_description`, as sent (Audkenni puts its own code, such as `mssp_105`, here).
    pub description: Option<String>,
    /// Audkenni's code read from the description (bare, as documented, or
    /// with text around it), when there is one.
    pub provider_code: Option<ProviderCode>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The endpoint that answered.
    pub url: String,
}

impl ProviderError {
    /// The Audkenni `mssp_*` code in the description (for example
    /// `mssp_105`), if any. [`ProviderError::provider_code`] has every
    /// Audkenni code, typed.
    pub fn mssp_code(&self) -> Option<&str> {
        self.provider_code
            .as_ref()
            .map(ProviderCode::as_str)
            .filter(|c| c.starts_with("mssp_"))
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.provider_code
            && !matches!(p, ProviderCode::Other(_))
        {
            write!(f, "{} ({p}): {}", p.meaning(), p.remedy())?;
            write!(f, " (error {}", self.code)?;
            if let Some(d) = &self.description
                && d.trim() != p.as_str()
            {
                write!(f, ": {d}")?;
            }
            return write!(f, "; HTTP {} from {})", self.status, self.url);
        }
        write!(f, "{} ({}", self.code.meaning(), self.code)?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        write!(f, "; HTTP {} from {})", self.status, self.url)
    }
}

impl std::error::Error for ProviderError {}

#[derive(Deserialize)]
struct ErrorDocument {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// The error document of a non-2xx answer, if the body is one.
pub(crate) fn parse_error_document(response: &HttpResponse) -> Option<ProviderError> {
    if response.is_success() {
        return None;
    }
    let doc: ErrorDocument = serde_json::from_slice(response.body()).ok()?;
    if doc.error.is_empty() {
        return None;
    }
    Some(ProviderError {
        code: ErrorCode::parse(&doc.error),
        provider_code: doc
            .error_description
            .as_deref()
            .and_then(ProviderCode::find_in),
        description: doc.error_description,
        status: response.status(),
        url: response.url().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(
            status,
            vec![("content-type".into(), "application/json".into())],
            body.as_bytes().to_vec(),
            "https://idp/access_token",
        )
    }

    #[test]
    fn maps_every_ciba_code() {
        for (wire, code) in [
            ("authorization_pending", ErrorCode::AuthorizationPending),
            ("slow_down", ErrorCode::SlowDown),
            ("expired_token", ErrorCode::ExpiredToken),
            ("access_denied", ErrorCode::AccessDenied),
            ("invalid_grant", ErrorCode::InvalidGrant),
            ("unknown_user_id", ErrorCode::UnknownUserId),
            ("invalid_binding_message", ErrorCode::InvalidBindingMessage),
            ("invalid_client", ErrorCode::InvalidClient),
            ("transaction_failed", ErrorCode::TransactionFailed),
        ] {
            let e = parse_error_document(&resp(400, &format!(r#"{{"error":"{wire}"}}"#))).unwrap();
            assert_eq!(e.code, code);
            assert_eq!(e.code.as_str(), wire);
        }
        let e = parse_error_document(&resp(400, r#"{"error":"weird_thing"}"#)).unwrap();
        assert_eq!(e.code, ErrorCode::Other("weird_thing".into()));
    }

    #[test]
    fn the_documented_shape_gives_the_typed_code_and_says_what_happened() {
        // Audkenni's Error Codes page: the code IS the description (golden).
        let e = parse_error_document(&resp(
            400,
            include_str!("../tests/fixtures/error-access-denied-mssp_105.json"),
        ))
        .unwrap();
        assert_eq!(e.code, ErrorCode::AccessDenied);
        assert_eq!(e.provider_code, Some(ProviderCode::Mssp105));
        assert_eq!(e.mssp_code(), Some("mssp_105"));
        let text = e.to_string();
        assert!(
            text.starts_with("no valid ID for that phone number (mssp_105)"),
            "{text}"
        );
        assert!(!text.contains("denied by user"), "{text}");
        // With text around it.
        let e = parse_error_document(&resp(
            400,
            r#"{"error":"access_denied","error_description":"mssp_401: The user cancelled"}"#,
        ))
        .unwrap();
        assert_eq!(e.provider_code, Some(ProviderCode::Mssp401));
        assert!(e.to_string().starts_with("the user cancelled"), "{e}");
        let e = parse_error_document(&resp(
            400,
            r#"{"error":"access_denied","error_description":"InvalidClientId"}"#,
        ))
        .unwrap();
        assert_eq!(e.provider_code, Some(ProviderCode::InvalidClientId));
        assert_eq!(e.mssp_code(), None);
        // access_denied without a code never claims the user declined.
        let denied = parse_error_document(&resp(400, r#"{"error":"access_denied"}"#)).unwrap();
        assert_eq!(denied.provider_code, None);
        assert!(!denied.to_string().contains("denied by user"), "{denied}");
        assert!(
            denied
                .to_string()
                .contains("declined or the provider refused")
        );
    }

    #[test]
    fn non_documents_are_not_errors_documents() {
        assert!(parse_error_document(&resp(500, "<html>")).is_none());
        assert!(parse_error_document(&resp(400, r#"{"error":""}"#)).is_none());
        assert!(parse_error_document(&resp(200, r#"{"error":"access_denied"}"#)).is_none());
    }
}
