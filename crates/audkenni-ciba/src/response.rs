//! Shared checks of provider answers.

use smartid_core::HttpResponse;

use crate::error::Error;

/// An [`Error::InvalidResponse`] with the status, content type and the start of the body.
pub(crate) fn invalid(response: &HttpResponse, what: &str) -> Error {
    let body = response.body();
    let cut = body.get(..300).unwrap_or(body);
    Error::InvalidResponse {
        url: response.url().to_owned(),
        message: format!(
            "{what} (HTTP {}, content type {}, body starts: {:?})",
            response.status(),
            response.content_type().unwrap_or_else(|| "none".into()),
            String::from_utf8_lossy(cut)
        ),
    }
}

/// An [`Error::InvalidResponse`] with the status and content type but not
/// the body, for answers that may carry tokens.
pub(crate) fn invalid_without_body(response: &HttpResponse, what: &str) -> Error {
    Error::InvalidResponse {
        url: response.url().to_owned(),
        message: format!(
            "{what} (HTTP {}, content type {}; body not shown, it may hold tokens)",
            response.status(),
            response.content_type().unwrap_or_else(|| "none".into()),
        ),
    }
}

/// Requires a JSON content type (`application/json` or `application/*+json`).
pub(crate) fn check_json(response: &HttpResponse) -> Result<(), Error> {
    match response.content_type() {
        Some(ct)
            if ct == "application/json"
                || (ct.starts_with("application/") && ct.ends_with("+json")) =>
        {
            Ok(())
        }
        _ => Err(invalid(
            response,
            "expected JSON but the content type is not application/json",
        )),
    }
}
