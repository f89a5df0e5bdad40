//! Options of the checks.

use std::time::{Duration, SystemTime};

use smartid_core::Secret;

use crate::properties::ReadEncoding;

/// Options of the checks.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CheckOptions {
    /// The time certificates are checked against. Defaults to now.
    pub now: SystemTime,
    /// Warn when a certificate expires within this time. Defaults to 30 days.
    pub expiry_warning: Duration,
    /// E-mail domains verified at D-Trust, in addition to the file's
    /// `verifiedEmailDomains`. Empty (the default) with no such key means
    /// no domain check.
    pub verified_email_domains: Vec<String>,
    /// How `.properties` bytes are decoded (by the linter and inside
    /// bundles). Defaults to [`ReadEncoding::Detect`].
    pub properties_encoding: ReadEncoding,
    /// The user and password the callback receiver for Hermod is
    /// configured with (Identity Manager's user for Hermod, seed 000), to
    /// compare with Hermod's `callback-basic-auth`. Defaults to none.
    pub callback_credentials: Option<(String, Secret)>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            now: SystemTime::now(),
            expiry_warning: Duration::from_secs(30 * 24 * 3600),
            verified_email_domains: Vec::new(),
            properties_encoding: ReadEncoding::Detect,
            callback_credentials: None,
        }
    }
}

impl CheckOptions {
    /// Checks against `now` instead of the current time.
    pub fn at(mut self, now: SystemTime) -> Self {
        self.now = now;
        self
    }

    /// Decodes `.properties` bytes as `encoding` says.
    pub fn properties_encoding(mut self, encoding: ReadEncoding) -> Self {
        self.properties_encoding = encoding;
        self
    }

    /// The credentials of the callback receiver, checked against Hermod's
    /// `callback-basic-auth` when Hermod's settings are linted.
    pub fn callback_credentials(mut self, user: &str, password: &Secret) -> Self {
        self.callback_credentials = Some((user.to_owned(), password.clone()));
        self
    }

    /// Adds verified e-mail domains (`example.com`, or `*.example.com` for subdomains).
    pub fn verified_email_domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.verified_email_domains
            .extend(domains.into_iter().map(Into::into));
        self
    }
}
