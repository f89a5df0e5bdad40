//! The one place where reqwest and rustls are configured.

use std::error::Error as StdError;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::http::request::{HttpRequest, HttpResponse, Method};
use crate::http::settings::HttpSettings;
use crate::trust::TrustRoots;

/// An HTTPS client built from [`HttpSettings`]: TLS 1.2 or newer, the
/// configured roots and client identity, proxy, timeouts, a user agent
/// naming the calling crate, and bounded response bodies. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
    settings: HttpSettings,
    /// One permit per pooled connection, shared by the clones.
    connections: std::sync::Arc<tokio::sync::Semaphore>,
}

impl HttpClient {
    /// Builds a client. `product` names the calling crate and version, e.g.
    /// `"dtrust-client/0.1.0"`; the user agent becomes
    /// `"<product> smartid-core/<version>"`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when the TLS or proxy settings are rejected.
    pub fn new(settings: &HttpSettings, product: &str) -> Result<Self> {
        crate::crypto::ensure_process_provider();
        let user_agent = format!("{product} smartid-core/{}", env!("CARGO_PKG_VERSION"));
        let mut builder = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .min_tls_version(reqwest::tls::Version::TLS_1_2)
            .https_only(!settings.allow_plain_http)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(settings.max_connections);
        builder = match &settings.trust {
            TrustRoots::Platform => builder,
            TrustRoots::Only(store) => {
                builder.tls_certs_only(to_reqwest_certs(store.certificates())?)
            }
            TrustRoots::PlatformPlus(store) => {
                builder.tls_certs_merge(to_reqwest_certs(store.certificates())?)
            }
        };
        if let Some(identity) = &settings.identity {
            let pem = identity.to_pem_bundle();
            let id =
                reqwest::Identity::from_pem(pem.as_bytes()).map_err(|e| Error::InvalidKey {
                    source_name: identity.source_name().to_owned(),
                    detail: format!("the TLS library refused the client identity ({e})"),
                })?;
            builder = builder.identity(id);
        }
        builder = match &settings.proxy {
            Some(proxy) => {
                let url = format!("http://{}:{}", host_for_url(proxy.host()), proxy.port());
                let mut p = reqwest::Proxy::all(&url).map_err(|e| Error::InvalidSetting {
                    field: "proxy",
                    message: format!("{url} is not a usable proxy ({e})"),
                })?;
                if !proxy.no_proxy().is_empty() {
                    p = p.no_proxy(reqwest::NoProxy::from_string(&proxy.no_proxy().join(",")));
                }
                builder.proxy(p)
            }
            None if settings.use_env_proxy => builder,
            None => builder.no_proxy(),
        };
        let inner = builder.build().map_err(|e| Error::InvalidSetting {
            field: "tls",
            message: format!("cannot build the HTTP client: {}", chain_text(&e)),
        })?;
        Ok(Self {
            inner,
            settings: settings.clone(),
            connections: std::sync::Arc::new(tokio::sync::Semaphore::new(settings.max_connections)),
        })
    }

    /// The settings the client was built from.
    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Sends a request and reads the whole response, whatever its status
    /// (use [`HttpResponse::error_for_status`] to turn non-2xx into errors).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] for a URL that is not https (unless allowed),
    /// [`Error::Tls`], [`Error::Connect`], [`Error::Timeout`], [`Error::PoolBusy`],
    /// [`Error::Transport`], [`Error::BodyTooLarge`].
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        crate::http::HttpSend::send(self, request).await
    }

    /// [`HttpClient::send`] without its tracing.
    pub(crate) async fn exchange(&self, request: HttpRequest) -> Result<HttpResponse> {
        let url = self.settings.check_url("url", &request.url)?;
        let shown = crate::http::redact_parsed(&url);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let timeout = request.timeout.unwrap_or(self.settings.request_timeout);
        let mut builder = self.inner.request(method, url);
        for (name, value, sensitive) in request.header_pairs() {
            let mut value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                Error::InvalidSetting {
                    field: "header",
                    message: format!(
                        "the value of header {name} has characters HTTP does not allow"
                    ),
                }
            })?;
            value.set_sensitive(sensitive);
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        // One exchange per connection: the permit is held until the body is
        // read, so no more than max_connections are in use. Waiting for
        // it has its own bound; the request's timeout starts once it is
        // held, so a request that waited its turn is not cut short after
        // it was sent (which would lose its answer, and its connection).
        let _permit = match self.connections.try_acquire() {
            Ok(permit) => permit,
            // None free: wait for one, with the pool timeout's own bound
            // (the timer is only set up here, where there is a wait).
            Err(_) => {
                let wait = request.pool_timeout.unwrap_or(self.settings.pool_timeout);
                tokio::time::timeout(wait, self.connections.acquire())
                    .await
                    .map_err(|_| Error::PoolBusy {
                        url: shown.clone(),
                        max_connections: self.settings.max_connections,
                        waited: wait,
                    })?
                    .map_err(|_| Error::Transport {
                        url: shown.clone(),
                        message: "the client's connection pool is closed".to_owned(),
                    })?
            }
        };
        let builder = builder.timeout(timeout);
        let mut response = builder
            .send()
            .await
            .map_err(|e| map_error(&e, &shown, timeout))?;
        let status = response.status().as_u16();
        let mut headers = Vec::with_capacity(response.headers().len());
        headers.extend(response.headers().iter().map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        }));
        let limit = self.settings.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(Error::BodyTooLarge { url: shown, limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| map_error(&e, &shown, timeout))?
        {
            if body.len() + chunk.len() > limit {
                return Err(Error::BodyTooLarge { url: shown, limit });
            }
            body.extend_from_slice(&chunk);
        }
        drop(response);
        // The connection goes back to the pool from hyper's own tasks, a few
        // scheduler turns after the body's end. When every permit is taken
        // (another exchange may be waiting for this one), giving them those
        // turns before the permit passes on lets the next exchange find the
        // connection idle instead of opening (and handshaking) one of its
        // own. With permits to spare nobody waits for this one, and a turn
        // of the scheduler costs a poll of the IO driver: no yield.
        if self.connections.available_permits() == 0 {
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
        }
        Ok(HttpResponse::with_redacted_url(
            status, headers, body, shown,
        ))
    }
}

fn host_for_url(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn to_reqwest_certs(certs: &[crate::Certificate]) -> Result<Vec<reqwest::Certificate>> {
    certs
        .iter()
        .map(|c| {
            reqwest::Certificate::from_der(c.der()).map_err(|e| Error::InvalidSetting {
                field: "trust",
                message: format!(
                    "the TLS library refused the certificate {} ({e})",
                    c.subject()
                ),
            })
        })
        .collect()
}

/// The messages of an error and all its sources, joined.
fn chain_text(e: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// Finds a rustls error in the chain. It travels inside (nested)
/// `io::Error`s, whose `source()` skips the wrapped error itself, so those
/// are unwrapped with `get_ref()`.
fn find_rustls_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        cur = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => err.source(),
        };
    }
    None
}

fn tls_hint(e: &rustls::Error) -> String {
    use rustls::{AlertDescription as A, CertificateError as C, Error as R};
    let hint = match e {
        R::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            "the server's certificate does not chain to a trusted root; add the issuing CA \
             to the trust store (TrustRoots::Only or PlatformPlus)"
        }
        R::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the server's certificate is not issued for this host name; use the host name \
             the certificate names"
        }
        R::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the server's certificate has expired"
        }
        R::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "the server's certificate is not valid yet; check the clock"
        }
        R::InvalidCertificate(C::Revoked) => "the server's certificate is revoked",
        R::AlertReceived(A::CertificateRequired) => {
            "the server requires a client certificate; configure a client identity"
        }
        R::AlertReceived(A::BadCertificate | A::UnknownCA | A::CertificateUnknown) => {
            "the server refused our client certificate; check that it is the one the \
             service registered and that the server trusts its issuer"
        }
        R::AlertReceived(A::HandshakeFailure) => {
            "the server refused the handshake: no common protocol version or cipher, or a \
             client certificate is required"
        }
        R::AlertReceived(A::ProtocolVersion) => {
            "no common TLS version; TLS 1.2 is the minimum this client accepts"
        }
        R::InvalidCertificate(_) => "the server's certificate is invalid",
        _ => "the TLS handshake failed",
    };
    format!("{hint} ({e})")
}

fn map_error(e: &reqwest::Error, url: &str, timeout: Duration) -> Error {
    if let Some(tls) = find_rustls_error(e) {
        return Error::Tls {
            url: url.to_owned(),
            message: tls_hint(tls),
        };
    }
    let text = chain_text(e);
    if e.is_timeout() || text.contains("timed out") {
        return Error::Timeout {
            url: url.to_owned(),
            after: timeout,
        };
    }
    // A server that closes the connection during the handshake. Some servers
    // do that when they want a client certificate, but a busy one does it
    // too: a broken exchange, not a certificate that failed verification,
    // so a transient `Connect` (retried under the caller's policy) that
    // still names the likely cause.
    if text.contains("tls handshake eof")
        || text.contains("peer closed connection without sending TLS close_notify")
    {
        return Error::Connect {
            url: url.to_owned(),
            message: format!(
                "the server closed the connection during the TLS handshake; it may require \
                 a client certificate or refuse ours ({text})"
            ),
        };
    }
    if e.is_connect() {
        return Error::Connect {
            url: url.to_owned(),
            message: text,
        };
    }
    Error::Transport {
        url: url.to_owned(),
        message: text,
    }
}
