//! Shared checks of provider answers.

use smartid_core::{HttpResponse, UnexpectedAnswer};

use crate::error::Error;

fn expected(response: &HttpResponse, what: &str) -> String {
    format!(
        "{what} (content type {})",
        response.content_type().unwrap_or_else(|| "none".into())
    )
}

/// An [`Error::InvalidResponse`] with the status, content type and the start of the body.
pub(crate) fn invalid(response: &HttpResponse, what: &str) -> Error {
    Error::InvalidResponse(UnexpectedAnswer::new(response, expected(response, what)))
}

/// An [`Error::InvalidResponse`] with the status and content type but not
/// the body, for answers that may carry tokens.
pub(crate) fn invalid_without_body(response: &HttpResponse, what: &str) -> Error {
    let empty = HttpResponse::new(response.status(), Vec::new(), Vec::new(), response.url());
    let mut answer = UnexpectedAnswer::new(&empty, expected(response, what));
    answer.body = "(not shown: it may hold tokens)".into();
    Error::InvalidResponse(answer)
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
