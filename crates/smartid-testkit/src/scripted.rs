//! Scripted HTTP answers, for testing a client's logic without a socket.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use smartid_core::{HttpRequest, HttpResponse, HttpSend, SendFuture};

enum Entry {
    Reply(u16, Vec<(String, String)>, Vec<u8>),
    Fail(smartid_core::Error),
}

/// An [`HttpSend`] that answers from a script, in order, and records every
/// request it was sent. Give it to a client's builder with
/// `.http_sender(..)`; when the script runs out it answers with a
/// `Transport` error naming the request.
///
/// ```
/// use smartid_core::{HttpRequest, HttpResponse, HttpSend};
/// use smartid_testkit::ScriptedSender;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let sender = ScriptedSender::new();
/// sender.push_json(400, r#"{"error":"authorization_pending"}"#);
/// let answer = sender.send(HttpRequest::post("https://idp/token")).await.unwrap();
/// assert_eq!(answer.status(), 400);
/// assert!(sender.send(HttpRequest::get("https://idp/x")).await.is_err());
/// assert_eq!(sender.requests().len(), 2);
/// # }
/// ```
#[derive(Clone, Default)]
pub struct ScriptedSender {
    inner: Arc<Mutex<Script>>,
}

#[derive(Default)]
struct Script {
    answers: VecDeque<Entry>,
    requests: Vec<HttpRequest>,
}

impl std::fmt::Debug for ScriptedSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let script = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("ScriptedSender")
            .field("answers_left", &script.answers.len())
            .field("requests", &script.requests.len())
            .finish()
    }
}

impl ScriptedSender {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a response with a JSON body (`Content-Type: application/json`).
    pub fn push_json(&self, status: u16, body: &str) -> &Self {
        self.push_response(
            status,
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
    }

    /// Adds a response with the given headers and body; its URL is the
    /// request's.
    pub fn push_response(&self, status: u16, headers: &[(&str, &str)], body: &[u8]) -> &Self {
        let headers = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.lock()
            .answers
            .push_back(Entry::Reply(status, headers, body.to_vec()));
        self
    }

    /// Adds a transport failure (a reset connection, a timeout, ...).
    pub fn push_error(&self, error: smartid_core::Error) -> &Self {
        self.lock().answers.push_back(Entry::Fail(error));
        self
    }

    /// Every request sent so far, in order.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.lock().requests.clone()
    }

    /// How many scripted answers are left.
    pub fn answers_left(&self) -> usize {
        self.lock().answers.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl HttpSend for ScriptedSender {
    fn send(&self, request: HttpRequest) -> SendFuture<'_> {
        let mut script = self.lock();
        let url = request.url().to_owned();
        script.requests.push(request);
        let answer = match script.answers.pop_front() {
            Some(Entry::Reply(status, headers, body)) => {
                Ok(HttpResponse::new(status, headers, body, &url))
            }
            Some(Entry::Fail(error)) => Err(error),
            None => Err(smartid_core::Error::Transport {
                url,
                message: "the script has no answer left for this request".into(),
            }),
        };
        Box::pin(std::future::ready(answer))
    }
}
