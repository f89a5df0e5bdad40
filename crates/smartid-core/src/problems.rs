//! Building blocks of every crate's error vocabulary: a configuration
//! problem, and an answer that could not be read.

use std::fmt;

use crate::http::{HttpResponse, body_snippet_without};

/// One thing wrong with a configuration: which field, and what to change.
/// Every client's `Error::InvalidConfig` carries a list of these, so that a
/// builder reports all problems at once.
///
/// ```
/// let p = smartid_core::ConfigProblem::new("client_id", "must not be empty");
/// assert_eq!(p.to_string(), "client_id: must not be empty");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigProblem {
    /// The field, as the builder or the configuration file names it.
    pub field: String,
    /// What is wrong and what to change.
    pub message: String,
}

impl ConfigProblem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Joins problems for one error message: `a: x; b: y`.
    pub fn join(problems: &[ConfigProblem]) -> String {
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// An answer that could not be read as what was expected: the URL (no
/// credentials, no query), the HTTP status, the start of the body (secrets
/// the request carried redacted), and what was expected. Every client's
/// `Error::InvalidResponse` carries one.
///
/// ```
/// use smartid_core::{HttpResponse, UnexpectedAnswer};
///
/// let r = HttpResponse::new(502, vec![], b"<html>bad gateway</html>".to_vec(), "https://h/x");
/// let e = UnexpectedAnswer::new(&r, "a JSON token answer");
/// assert!(e.to_string().contains("502") && e.to_string().contains("bad gateway"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnexpectedAnswer {
    /// The URL, without credentials or query.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The start of the body (at most 2 KiB).
    pub body: String,
    /// What was expected, and what was wrong with the answer.
    pub expected: String,
}

impl UnexpectedAnswer {
    /// Describes `response`, which is not `expected`.
    pub fn new(response: &HttpResponse, expected: impl Into<String>) -> Self {
        Self::redacting(response, expected, &[])
    }

    /// The same, with every occurrence of each of `secrets` (values the
    /// request carried that a server may echo) redacted before the body is
    /// cut.
    pub fn redacting(
        response: &HttpResponse,
        expected: impl Into<String>,
        secrets: &[&str],
    ) -> Self {
        Self {
            url: response.url().to_owned(),
            status: response.status(),
            body: body_snippet_without(response.body(), secrets),
            expected: expected.into(),
        }
    }
}

impl fmt::Display for UnexpectedAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unexpected answer from {} (HTTP {}): expected {}; body starts: {}",
            self.url, self.status, self.expected, self.body
        )
    }
}
