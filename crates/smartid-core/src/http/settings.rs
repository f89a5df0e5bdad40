//! HTTP settings shared by every smartid client.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::identity::ClientIdentity;
use crate::trust::TrustRoots;

/// Default connect timeout: 10 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default timeout of a whole request: 30 seconds.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default longest wait for a free pooled connection: 30 seconds.
pub const DEFAULT_POOL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default largest accepted response body: 10 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 10 * 1024 * 1024;

/// The default of [`HttpSettings::max_connections`]: at most this many
/// exchanges of one client (and its clones) in flight at a time, so about
/// this many connections, each opened with one TLS handshake and then kept.
pub const DEFAULT_MAX_CONNECTIONS: usize = 32;

/// An HTTP(S) proxy reached with `CONNECT`, given as host and port, as in
/// Identity Manager (no proxy authentication).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    host: String,
    port: u16,
    no_proxy: Vec<String>,
}

impl ProxySettings {
    /// A proxy at `host:port`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] for an empty host, a host with a scheme,
    /// path, credentials or spaces, or port 0.
    pub fn new(host: impl Into<String>, port: u16) -> Result<Self> {
        let host = host.into();
        let bad = |message: String| Error::InvalidSetting {
            field: "proxy",
            message,
        };
        if host.is_empty() {
            return Err(bad("the proxy host is empty".into()));
        }
        if host.contains("://")
            || host.contains('/')
            || host.contains('@')
            || host.contains(char::is_whitespace)
        {
            return Err(bad(format!(
                "give the proxy host name alone (like proxy.example.com), not {host:?}; \
                 proxy authentication is not supported"
            )));
        }
        if port == 0 {
            return Err(bad("the proxy port must be 1 to 65535".into()));
        }
        Ok(Self {
            host,
            port,
            no_proxy: Vec::new(),
        })
    }

    /// Parses `host:port` (as in `DTRUST_PROXY=proxy.example.com:3128`).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when the text is not `host:port`.
    pub fn parse(host_port: &str) -> Result<Self> {
        let (host, port) = host_port
            .rsplit_once(':')
            .ok_or_else(|| Error::InvalidSetting {
                field: "proxy",
                message: format!("expected host:port, got {host_port:?}"),
            })?;
        let port = port.parse().map_err(|_| Error::InvalidSetting {
            field: "proxy",
            message: format!("the port in {host_port:?} is not a number from 1 to 65535"),
        })?;
        Self::new(host.trim_start_matches('[').trim_end_matches(']'), port)
    }

    /// Hosts reached directly, bypassing the proxy (names, `.domain`
    /// suffixes, IP addresses or CIDR ranges, as in `NO_PROXY`).
    #[must_use]
    pub fn no_proxy_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.no_proxy.extend(hosts.into_iter().map(Into::into));
        self
    }

    /// The proxy host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Hosts that bypass the proxy.
    pub fn no_proxy(&self) -> &[String] {
        &self.no_proxy
    }
}

/// Connection settings of every smartid client: timeouts, proxy, trust,
/// client identity for mutual TLS, and the response size limit.
///
/// TLS 1.2 is the minimum version and HTTPS is required; plain HTTP only
/// through [`HttpSettings::dangerous`].
///
/// ```
/// use std::time::Duration;
/// use smartid_core::{HttpSettings, ProxySettings};
///
/// let settings = HttpSettings::new()
///     .request_timeout(Duration::from_secs(60))
///     .proxy(ProxySettings::new("proxy.example.com", 3128)?);
/// assert_eq!(settings.connect_timeout_value(), Duration::from_secs(10));
/// assert_eq!(settings.pool_timeout_value(), Duration::from_secs(30));
/// # Ok::<(), smartid_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) pool_timeout: Duration,
    pub(crate) proxy: Option<ProxySettings>,
    pub(crate) use_env_proxy: bool,
    pub(crate) trust: TrustRoots,
    pub(crate) identity: Option<ClientIdentity>,
    pub(crate) max_response_bytes: usize,
    pub(crate) max_connections: usize,
    pub(crate) allow_plain_http: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            pool_timeout: DEFAULT_POOL_TIMEOUT,
            proxy: None,
            use_env_proxy: false,
            trust: TrustRoots::Platform,
            identity: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            allow_plain_http: false,
        }
    }
}

impl HttpSettings {
    /// The defaults: 10 s connect timeout, 30 s request timeout, 30 s pool
    /// timeout, no proxy
    /// (environment variables such as `HTTPS_PROXY` are ignored unless
    /// [`HttpSettings::proxy_from_environment`] is set), platform roots, no
    /// client identity, 10 MiB response limit, 32 connections.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the connect timeout. Defaults to 10 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the timeout of a whole exchange, from sending the request to
    /// the end of the answer's body, connecting included. The time spent
    /// waiting for a free pooled connection does not count (see
    /// [`HttpSettings::pool_timeout`]), so a request that waited its turn
    /// still gets the whole timeout once it is sent. Defaults to 30 s.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long a request waits for one of the
    /// [`max_connections`](HttpSettings::max_connections) to be free. Past
    /// it the request fails with [`Error::PoolBusy`] without having been
    /// sent, so retrying it cannot do anything twice. Defaults to 30 s.
    #[must_use]
    pub fn pool_timeout(mut self, timeout: Duration) -> Self {
        self.pool_timeout = timeout;
        self
    }

    /// Sends every request through this proxy (except the no-proxy hosts).
    #[must_use]
    pub fn proxy(mut self, proxy: ProxySettings) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Uses the `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` environment variables
    /// when no explicit proxy is set. Off by default, so that a service's
    /// behaviour does not change with its environment unnoticed.
    #[must_use]
    pub fn proxy_from_environment(mut self, enabled: bool) -> Self {
        self.use_env_proxy = enabled;
        self
    }

    /// Which roots verify servers. Defaults to [`TrustRoots::Platform`].
    #[must_use]
    pub fn trust(mut self, trust: TrustRoots) -> Self {
        self.trust = trust;
        self
    }

    /// The identity presented to servers that ask for a client certificate.
    #[must_use]
    pub fn identity(mut self, identity: ClientIdentity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// The largest response body accepted. Defaults to 10 MiB.
    #[must_use]
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The size of the connection pool: at most `n` exchanges in flight at
    /// a time (more wait their turn, up to the pool timeout), so about `n`
    /// connections and `n` TLS handshakes while the provider keeps them
    /// open, however many flows share the client. HTTP/1.1 carries one
    /// exchange per connection. Now and then an exchange that starts just
    /// as another's connection is on its way back to the pool opens one
    /// more; at most `n` are kept idle, so the extra one is closed again.
    /// Defaults to 32; 0 counts as 1.
    #[must_use]
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// The connection pool size in force.
    pub fn max_connections_value(&self) -> usize {
        self.max_connections
    }

    /// Switches that weaken security, for local testing only.
    pub fn dangerous(&mut self) -> DangerousHttpSettings<'_> {
        DangerousHttpSettings { settings: self }
    }

    /// The connect timeout in force.
    pub fn connect_timeout_value(&self) -> Duration {
        self.connect_timeout
    }

    /// The request timeout in force.
    pub fn request_timeout_value(&self) -> Duration {
        self.request_timeout
    }

    /// The pool timeout in force.
    pub fn pool_timeout_value(&self) -> Duration {
        self.pool_timeout
    }

    /// The proxy, if any.
    pub fn proxy_value(&self) -> Option<&ProxySettings> {
        self.proxy.as_ref()
    }

    /// The trust roots.
    pub fn trust_value(&self) -> &TrustRoots {
        &self.trust
    }

    /// The client identity, if any.
    pub fn identity_value(&self) -> Option<&ClientIdentity> {
        self.identity.as_ref()
    }

    /// Whether plain `http://` URLs are allowed (see [`DangerousHttpSettings`]).
    pub fn allows_plain_http(&self) -> bool {
        self.allow_plain_http
    }

    /// Checks that `url` is an absolute `https://` URL (or `http://` when
    /// allowed by the dangerous switch) and returns it parsed.
    ///
    /// For the smartid crates only (hidden, no stability promise): it returns
    /// a `url::Url`, a dependency type.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming `field`.
    #[doc(hidden)]
    pub fn check_url(&self, field: &'static str, url: &str) -> Result<url::Url> {
        let parsed = url::Url::parse(url).map_err(|e| Error::InvalidSetting {
            field,
            message: format!(
                "{:?} is not an absolute URL ({e})",
                crate::http::redact_url(url)
            ),
        })?;
        match parsed.scheme() {
            "https" => Ok(parsed),
            "http" if self.allow_plain_http => Ok(parsed),
            "http" => Err(Error::InvalidSetting {
                field,
                message: format!(
                    "{} uses plain http; use https (plain http is only allowed for local \
                     testing, through HttpSettings::dangerous().allow_plain_http())",
                    crate::http::redact_url(url)
                ),
            }),
            other => Err(Error::InvalidSetting {
                field,
                message: format!("unsupported URL scheme {other:?}; use https"),
            }),
        }
    }
}

/// Switches that weaken security. Reached through [`HttpSettings::dangerous`].
pub struct DangerousHttpSettings<'a> {
    settings: &'a mut HttpSettings,
}

impl DangerousHttpSettings<'_> {
    /// WARNING: allows plain `http://` URLs, sending requests, credentials
    /// and answers unencrypted. For local testing against a simulator only;
    /// never in production.
    pub fn allow_plain_http(&mut self) -> &mut Self {
        self.settings.allow_plain_http = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_validation() {
        assert!(ProxySettings::new("proxy.local", 3128).is_ok());
        assert!(ProxySettings::new("", 3128).is_err());
        assert!(ProxySettings::new("http://proxy", 3128).is_err());
        assert!(ProxySettings::new("user:pw@proxy", 3128).is_err());
        assert!(ProxySettings::new("proxy", 0).is_err());
        let p = ProxySettings::parse("proxy.local:8080").ok();
        assert_eq!(
            p.map(|p| (p.host().to_owned(), p.port())),
            Some(("proxy.local".into(), 8080))
        );
        assert!(ProxySettings::parse("proxy.local").is_err());
        assert!(ProxySettings::parse("proxy.local:http").is_err());
        assert!(ProxySettings::parse("[::1]:3128").is_ok());
    }

    #[test]
    fn https_required_unless_dangerously_allowed() {
        let mut s = HttpSettings::new();
        assert!(s.check_url("url", "https://example.com/x").is_ok());
        let err = s
            .check_url("url", "http://example.com/x")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("allow_plain_http")));
        assert!(s.check_url("url", "ftp://example.com").is_err());
        assert!(s.check_url("url", "not a url").is_err());
        s.dangerous().allow_plain_http();
        assert!(s.check_url("url", "http://example.com/x").is_ok());
    }
}
