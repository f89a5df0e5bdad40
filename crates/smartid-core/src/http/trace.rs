//! The tracing of the HTTP seam: one span and one event per exchange.
//!
//! Shown: method, host, path, status, elapsed time. Never the query string,
//! the user info of the URL, a header or a body.

use std::future::Future;
use std::time::Instant;

use tracing::Instrument;

use crate::error::{Error, Result};
use crate::http::request::{HttpRequest, HttpResponse, Method};

/// The target of the seam's spans and events.
const TARGET: &str = "smartid_core::http";

/// The name of the span of one exchange.
const SPAN: &str = "http";

std::thread_local! {
    /// Set while an exchange's future is being polled on this thread.
    static IN_EXCHANGE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this runs inside a traced exchange: a sender that wraps another
/// sender (the clients' `Arc` around the `HttpClient`) traces once. The
/// inner sender's future is created and polled within the outer one's poll,
/// on the same thread, so a flag set during that poll says so whatever the
/// subscriber.
fn in_exchange() -> bool {
    IN_EXCHANGE.with(std::cell::Cell::get)
}

/// Polls `F` with [`IN_EXCHANGE`] set.
struct Flagged<F>(std::pin::Pin<Box<F>>);

impl<F: Future> Future for Flagged<F> {
    type Output = F::Output;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let before = IN_EXCHANGE.with(|f| f.replace(true));
        let out = self.0.as_mut().poll(cx);
        IN_EXCHANGE.with(|f| f.set(before));
        out
    }
}

fn method_name(method: Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
    }
}

/// Host and path of a URL, without user info, port-less if absent, query or
/// fragment.
pub(crate) fn host_and_path(url: &str) -> (String, String) {
    match url::Url::parse(url) {
        Ok(u) => {
            let host = match (u.host_str(), u.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                (None, _) => String::new(),
            };
            (host, u.path().to_owned())
        }
        Err(_) => (String::from("(not a URL)"), String::new()),
    }
}

/// The name of an error's kind, for logs.
pub(crate) fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::Tls { .. } => "tls",
        Error::Connect { .. } => "connect",
        Error::Timeout { .. } => "timeout",
        Error::PoolBusy { .. } => "pool_busy",
        Error::Transport { .. } => "transport",
        Error::BodyTooLarge { .. } => "body_too_large",
        Error::InvalidSetting { .. } => "invalid_setting",
        Error::HttpStatus { .. } => "http_status",
        Error::InvalidResponse { .. } => "invalid_response",
        _ => "other",
    }
}

/// Whether an exchange started here is traced: a subscriber wants the
/// seam's spans, and this is not inside a traced exchange already. When it
/// is not, a sender hands out its own future instead of [`traced`] boxing it
/// once more.
pub(crate) fn wanted() -> bool {
    !in_exchange() && tracing::enabled!(target: TARGET, tracing::Level::DEBUG)
}

/// Runs `send(request)` inside an exchange span and reports its outcome.
/// Without a subscriber (or when already inside an exchange) it is `send`
/// itself.
pub(crate) fn traced<'a, F, Fut>(
    request: HttpRequest,
    send: F,
) -> std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse>> + Send + 'a>>
where
    F: FnOnce(HttpRequest) -> Fut + Send + 'a,
    Fut: Future<Output = Result<HttpResponse>> + Send + 'a,
{
    if !wanted() {
        return Box::pin(send(request));
    }
    let (host, path) = host_and_path(request.url());
    let span = tracing::debug_span!(
        target: TARGET,
        SPAN,
        method = method_name(request.method()),
        host = %host,
        path = %path,
    );
    Box::pin(Flagged(Box::pin(
        async move {
            tracing::trace!(target: TARGET, "request sent");
            let start = Instant::now();
            let result = send(request).await;
            let elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
            match &result {
                Ok(response) => tracing::debug!(
                    target: TARGET,
                    status = response.status(),
                    elapsed_ms,
                    "response received"
                ),
                Err(e @ (Error::Tls { .. } | Error::InvalidSetting { .. })) => tracing::warn!(
                    target: TARGET,
                    error_kind = error_kind(e),
                    elapsed_ms,
                    "request refused before an answer"
                ),
                Err(e) => tracing::debug!(
                    target: TARGET,
                    error_kind = error_kind(e),
                    elapsed_ms,
                    "request failed without an answer"
                ),
            }
            result
        }
        .instrument(span),
    )))
}

#[cfg(test)]
mod tests {
    use super::host_and_path;

    #[test]
    fn host_and_path_drop_credentials_and_query() {
        assert_eq!(
            host_and_path("https://user:pw@host:8443/a/b?token=x#f"),
            ("host:8443".to_owned(), "/a/b".to_owned())
        );
        assert_eq!(
            host_and_path("https://idp.example/token"),
            ("idp.example".to_owned(), "/token".to_owned())
        );
        assert_eq!(host_and_path("no url?secret").1, "");
    }
}
