//! The one network seam: send an [`HttpRequest`], get an [`HttpResponse`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::Result;
use crate::http::client::HttpClient;
use crate::http::request::{HttpRequest, HttpResponse};

/// The future [`HttpSend::send`] returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse>> + Send + 'a>>;

/// Sends one HTTP request and reads its whole answer. Every client sends
/// through this seam: by default the [`HttpClient`] built from its
/// `HttpSettings`, or whatever its builder was given with `.http_sender(..)`
/// (a client of your own, a recorder, scripted answers in a test).
///
/// [`HttpClient`] implements it, and so does every closure
/// `Fn(HttpRequest) -> impl Future<Output = Result<HttpResponse>>`:
///
/// ```
/// use smartid_core::{HttpRequest, HttpResponse, HttpSend};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), smartid_core::Error> {
/// let scripted = |request: HttpRequest| async move {
///     Ok(HttpResponse::new(200, vec![], b"{}".to_vec(), request.url()))
/// };
/// let answer = scripted.send(HttpRequest::get("https://example.com/x")).await?;
/// assert_eq!(answer.status(), 200);
/// # Ok(())
/// # }
/// ```
///
/// A sender of your own takes over what [`HttpClient`] enforces: HTTPS only,
/// certificate verification, timeouts and the response size limit.
pub trait HttpSend: Send + Sync + 'static {
    /// Sends `request`; the answer is returned whatever its status.
    ///
    /// # Errors
    /// Transport errors as [`crate::Error`] (`Connect`, `Tls`, `Timeout`,
    /// `Transport`, `BodyTooLarge`, ...).
    fn send(&self, request: HttpRequest) -> SendFuture<'_>;
}

impl HttpSend for HttpClient {
    fn send(&self, request: HttpRequest) -> SendFuture<'_> {
        // Untraced, this is the exchange's future boxed once.
        crate::http::trace::traced(request, move |r| self.exchange(r))
    }
}

impl<F, Fut> HttpSend for F
where
    F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<HttpResponse>> + Send + 'static,
{
    fn send(&self, request: HttpRequest) -> SendFuture<'_> {
        Box::pin(self(request))
    }
}

/// The clients hold their sender as an `Arc<dyn HttpSend>`: this is where
/// every request of theirs passes, so the exchange is traced here (span
/// `http`, target `smartid_core::http`, see docs/tracing.md), once even when
/// the inner sender is an [`HttpClient`] that traces too.
impl<T: HttpSend + ?Sized> HttpSend for Arc<T> {
    fn send(&self, request: HttpRequest) -> SendFuture<'_> {
        if !crate::http::trace::wanted() {
            // The inner sender's own future: not boxed a second time.
            return (**self).send(request);
        }
        crate::http::trace::traced(request, move |r| (**self).send(r))
    }
}
