//! The client configuration: transport, URLs, identity, trust, proxy,
//! templates and checks.

use std::path::PathBuf;
use std::time::Duration;

use smartid_core::{ClientIdentity, HttpSettings, ProxySettings, Secret, TrustRoots, TrustStore};

use crate::error::{Error, Result};
use crate::password::PasswordPolicy;
use crate::templates::CertificateTemplates;

/// The default password of the Identity Manager connector's client
/// PKCS#12 (`p12Password`). Accepted like any other password.
pub const IDM_DEFAULT_P12_PASSWORD: &str = "123456";

/// The SOAP version of the legacy interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SoapVersion {
    /// SOAP 1.1 (`text/xml`, `SOAPAction` header). The default: JAX-WS's default binding.
    #[default]
    V11,
    /// SOAP 1.2 (`application/soap+xml`).
    V12,
}

/// What [`crate::DtrustClient::submit`] does with an order that carries no
/// revocation password. New orders never get a password derived from
/// their content (a CN is public: anyone could compute it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MissingRevocationPassword {
    /// Refuse the order with [`crate::Error::RevocationPasswordMissing`]
    /// before anything is sent. The default: the caller decides where the
    /// password is stored before it exists at D-Trust.
    #[default]
    Refuse,
    /// Generate a random password meeting the configured
    /// [`PasswordPolicy`] and return it in
    /// [`crate::Submission::generated_revocation_password`]: the caller must
    /// store it (it is the only way to revoke the certificate later).
    Generate,
}

/// How the client talks to D-Trust.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// The REST interface: the recommended one, and the only one D-Trust
    /// supports going forward.
    Rest {
        /// The base URL of the REST interface.
        base_url: String,
    },
    /// The legacy SOAP interface, being phased out by D-Trust and no longer
    /// enabled on new accounts. Migrate to REST.
    Soap {
        /// The endpoint URL.
        endpoint: String,
        /// The service namespace URI (the connector's `namespaceURI`, the WSDL targetNamespace).
        namespace_uri: String,
        /// The service name (the connector's `localPart`).
        local_part: String,
        /// SOAP 1.1 or 1.2.
        version: SoapVersion,
    },
}

/// A validated configuration; build it with [`DtrustConfig::rest`] or
/// [`DtrustConfig::soap`].
///
/// ```no_run
/// use dtrust_client::{DtrustConfig, IDM_DEFAULT_P12_PASSWORD};
/// use smartid_core::Secret;
///
/// let config = DtrustConfig::rest("https://dtrust.example/csm/rest")
///     .client_pkcs12_file("client.p12", Secret::new(IDM_DEFAULT_P12_PASSWORD))
///     .server_certificate_file("D-TRUST_SSL_Class_3_CA_1_2009.cer")
///     .proxy("proxy.internal", 3128)
///     .templates("Advanced SSL ID (RSA);Basic Device ID (ECC)")
///     .build()?;
/// # Ok::<(), dtrust_client::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DtrustConfig {
    pub(crate) transport: Transport,
    pub(crate) http: HttpSettings,
    pub(crate) templates: Option<CertificateTemplates>,
    pub(crate) issuing_ca_trust: Option<TrustStore>,
    pub(crate) verified_email_domains: Vec<String>,
    pub(crate) password_policy: PasswordPolicy,
    pub(crate) missing_revocation_password: MissingRevocationPassword,
    pub(crate) pre_send_checks: bool,
}

impl DtrustConfig {
    /// Starts a configuration for the REST interface at `base_url`.
    pub fn rest(base_url: impl Into<String>) -> DtrustConfigBuilder {
        DtrustConfigBuilder::new(TransportDraft::Rest(base_url.into()))
    }

    /// Starts a configuration for the legacy SOAP interface: the endpoint
    /// URL, the service namespace URI and the service name (`namespaceURI`
    /// and `localPart` of the connector). SOAP is being phased out: prefer
    /// [`DtrustConfig::rest`].
    pub fn soap(
        endpoint: impl Into<String>,
        namespace_uri: impl Into<String>,
        local_part: impl Into<String>,
    ) -> DtrustConfigBuilder {
        DtrustConfigBuilder::new(TransportDraft::Soap(
            endpoint.into(),
            namespace_uri.into(),
            local_part.into(),
        ))
    }

    /// The transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The HTTP settings (trust, identity, proxy, timeouts).
    pub fn http_settings(&self) -> &HttpSettings {
        &self.http
    }

    /// The certificate templates, when configured.
    pub fn templates(&self) -> Option<&CertificateTemplates> {
        self.templates.as_ref()
    }

    /// The D-Trust CAs issued certificates must chain to, when configured.
    pub fn issuing_ca_trust(&self) -> Option<&TrustStore> {
        self.issuing_ca_trust.as_ref()
    }

    /// The verified e-mail domains (empty: not checked before sending).
    pub fn verified_email_domains(&self) -> &[String] {
        &self.verified_email_domains
    }

    /// The revocation password policy.
    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.password_policy
    }

    /// What happens to orders without a revocation password.
    pub fn missing_revocation_password(&self) -> MissingRevocationPassword {
        self.missing_revocation_password
    }

    /// Whether orders are checked before sending.
    pub fn pre_send_checks(&self) -> bool {
        self.pre_send_checks
    }
}

#[derive(Debug, Clone)]
enum TransportDraft {
    Rest(String),
    Soap(String, String, String),
}

#[derive(Debug, Clone)]
enum IdentityDraft {
    None,
    Ready(ClientIdentity),
    File(PathBuf, Secret),
}

#[derive(Debug, Clone)]
enum TrustDraft {
    Platform,
    Store(TrustStore),
    File(PathBuf),
}

/// Builds a [`DtrustConfig`]; [`DtrustConfigBuilder::build`] checks
/// everything at once and lists every problem.
#[derive(Debug, Clone)]
#[must_use]
pub struct DtrustConfigBuilder {
    transport: TransportDraft,
    soap_version: SoapVersion,
    identity: IdentityDraft,
    trust: TrustDraft,
    proxy: Option<(String, u16)>,
    issuing: TrustDraft,
    templates: Option<String>,
    verified_email_domains: Vec<String>,
    password_policy: PasswordPolicy,
    missing_revocation_password: MissingRevocationPassword,
    pre_send_checks: bool,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    max_response_bytes: Option<usize>,
    allow_plain_http: bool,
}

/// Switches that weaken security, reached through [`DtrustConfigBuilder::dangerous`].
#[derive(Debug)]
pub struct DangerousDtrustConfig<'a> {
    builder: &'a mut DtrustConfigBuilder,
}

impl DangerousDtrustConfig<'_> {
    /// WARNING: allows plain `http://` URLs (for tests against a local mock
    /// only). Requests, revocation passwords and PKCS#12 files then travel
    /// unencrypted. Never in production.
    pub fn allow_plain_http(&mut self) -> &mut Self {
        self.builder.allow_plain_http = true;
        self
    }
}

impl DtrustConfigBuilder {
    fn new(transport: TransportDraft) -> Self {
        Self {
            transport,
            soap_version: SoapVersion::default(),
            identity: IdentityDraft::None,
            trust: TrustDraft::Platform,
            proxy: None,
            issuing: TrustDraft::Platform,
            templates: None,
            verified_email_domains: Vec::new(),
            password_policy: PasswordPolicy::default(),
            missing_revocation_password: MissingRevocationPassword::default(),
            pre_send_checks: true,
            connect_timeout: None,
            request_timeout: None,
            max_response_bytes: None,
            allow_plain_http: false,
        }
    }

    /// The SOAP version (SOAP only). Defaults to [`SoapVersion::V11`].
    pub fn soap_version(mut self, version: SoapVersion) -> Self {
        self.soap_version = version;
        self
    }

    /// The client identity for mutual TLS (required).
    pub fn client_identity(mut self, identity: ClientIdentity) -> Self {
        self.identity = IdentityDraft::Ready(identity);
        self
    }

    /// The client identity from a PKCS#12 file and its password (the
    /// connector's `p12Password`; see [`IDM_DEFAULT_P12_PASSWORD`]). Read by
    /// [`DtrustConfigBuilder::build`]; old RC2/3DES files are accepted.
    pub fn client_pkcs12_file(mut self, path: impl Into<PathBuf>, password: Secret) -> Self {
        self.identity = IdentityDraft::File(path.into(), password);
        self
    }

    /// Trust the D-Trust server through this certificate file (`.cer`, PEM
    /// or DER; the CA or the server certificate). Only these certificates
    /// are trusted. Defaults to the platform's roots.
    pub fn server_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.trust = TrustDraft::File(path.into());
        self
    }

    /// Trust only these certificates for the D-Trust server.
    pub fn server_trust(mut self, store: TrustStore) -> Self {
        self.trust = TrustDraft::Store(store);
        self
    }

    /// The D-Trust CA certificates (file: PEM, DER, PKCS#12 or JKS) that
    /// fetched certificates must chain to. Without it, the signatures along
    /// the chain the server returns are still verified, but not its end.
    pub fn issuing_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.issuing = TrustDraft::File(path.into());
        self
    }

    /// The D-Trust CA certificates fetched certificates must chain to.
    pub fn issuing_ca_trust(mut self, store: TrustStore) -> Self {
        self.issuing = TrustDraft::Store(store);
        self
    }

    /// An HTTP proxy (CONNECT; no proxy authentication).
    pub fn proxy(mut self, host: impl Into<String>, port: u16) -> Self {
        self.proxy = Some((host.into(), port));
        self
    }

    /// The `certificateTemplates` value (`;`-delimited), checked by `build`.
    pub fn templates(mut self, value: impl Into<String>) -> Self {
        self.templates = Some(value.into());
        self
    }

    /// The e-mail domains verified for the account (`example.com`, or
    /// `*.example.com` for the names below it; see
    /// [`crate::email_domain_matches`] for the rule). When set, orders with
    /// an e-mail of another domain are refused before sending. Defaults to
    /// none (not checked).
    pub fn verified_email_domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.verified_email_domains = domains
            .into_iter()
            .map(|d| d.into().trim().trim_start_matches('@').to_ascii_lowercase())
            .collect();
        self
    }

    /// The revocation password policy. Defaults to [`PasswordPolicy::default`].
    pub fn password_policy(mut self, policy: PasswordPolicy) -> Self {
        self.password_policy = policy;
        self
    }

    /// What to do with orders that carry no revocation password. Defaults
    /// to [`MissingRevocationPassword::Refuse`]. Applies whether or not
    /// [`DtrustConfigBuilder::pre_send_checks`] is on.
    pub fn missing_revocation_password(mut self, choice: MissingRevocationPassword) -> Self {
        self.missing_revocation_password = choice;
        self
    }

    /// Whether to check orders before sending. Defaults to `true`; turn
    /// off only to see D-Trust's own verdict.
    pub fn pre_send_checks(mut self, enabled: bool) -> Self {
        self.pre_send_checks = enabled;
        self
    }

    /// The connect timeout. Defaults to [`smartid_core::DEFAULT_CONNECT_TIMEOUT`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The timeout of each request. Defaults to [`smartid_core::DEFAULT_REQUEST_TIMEOUT`].
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// The largest response accepted. Defaults to
    /// [`smartid_core::DEFAULT_MAX_RESPONSE_BYTES`] (10 MiB).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// Switches that weaken security (plain HTTP for local tests).
    pub fn dangerous(&mut self) -> DangerousDtrustConfig<'_> {
        DangerousDtrustConfig { builder: self }
    }

    /// Checks everything and builds the configuration.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] listing every problem: URLs, SOAP namespace
    /// and service name, missing or unreadable identity, unreadable server
    /// certificate, proxy, templates, domains, password policy.
    pub fn build(self) -> Result<DtrustConfig> {
        let mut problems: Vec<String> = Vec::new();
        let mut http = HttpSettings::new();
        if self.allow_plain_http {
            http.dangerous().allow_plain_http();
        }
        let transport = match self.transport {
            TransportDraft::Rest(base) => {
                check_url(&http, "base_url", &base, &mut problems);
                Transport::Rest {
                    base_url: base.trim_end_matches('/').to_owned(),
                }
            }
            TransportDraft::Soap(endpoint, ns, local) => {
                check_url(&http, "endpoint", &endpoint, &mut problems);
                if ns.trim().is_empty() {
                    problems.push("namespace_uri: empty; set the service namespace URI (namespaceURI) of the SOAP service".into());
                } else if url::Url::parse(&ns).is_err() && !ns.starts_with("urn:") {
                    problems.push(format!("namespace_uri: {ns:?} is not a URI; use the WSDL targetNamespace, e.g. http://ws.example/"));
                }
                if !is_ncname(&local) {
                    problems.push(format!("local_part: {local:?} is not an XML name; use the SOAP service name (localPart) from the WSDL"));
                }
                Transport::Soap {
                    endpoint,
                    namespace_uri: ns,
                    local_part: local,
                    version: self.soap_version,
                }
            }
        };
        match self.identity {
            IdentityDraft::None => problems.push(
                "client identity: missing; D-Trust authenticates the account by its client certificate: \
                 set client_pkcs12_file(path, password)"
                    .into(),
            ),
            IdentityDraft::Ready(id) => http = http.identity(id),
            IdentityDraft::File(path, password) => match ClientIdentity::from_pkcs12_file(&path, &password) {
                Ok(id) => http = http.identity(id),
                Err(e) => problems.push(format!("client identity: {e}")),
            },
        }
        match self.trust {
            TrustDraft::Platform => {}
            TrustDraft::Store(store) => http = http.trust(TrustRoots::Only(store)),
            TrustDraft::File(path) => match TrustStore::from_path(&path, None) {
                Ok(store) => http = http.trust(TrustRoots::Only(store)),
                Err(e) => problems.push(format!("server certificate: {e}")),
            },
        }
        let issuing_ca_trust = match self.issuing {
            TrustDraft::Platform => None,
            TrustDraft::Store(store) => Some(store),
            TrustDraft::File(path) => match TrustStore::from_path(&path, None) {
                Ok(store) => Some(store),
                Err(e) => {
                    problems.push(format!("issuing CA: {e}"));
                    None
                }
            },
        };
        if let Some((host, port)) = self.proxy {
            match ProxySettings::new(host, port) {
                Ok(p) => http = http.proxy(p),
                Err(e) => problems.push(format!("proxy: {e}")),
            }
        }
        if let Some(t) = self.connect_timeout {
            http = http.connect_timeout(t);
        }
        if let Some(t) = self.request_timeout {
            http = http.request_timeout(t);
        }
        if let Some(n) = self.max_response_bytes {
            http = http.max_response_bytes(n);
        }
        let templates = match self.templates {
            None => None,
            Some(v) => match CertificateTemplates::parse(Some(&v)) {
                Ok(t) => Some(t),
                Err(e) => {
                    problems.push(e.to_string());
                    None
                }
            },
        };
        for d in &self.verified_email_domains {
            if let Err(message) = crate::domains::check_verified_domain(d) {
                problems.push(format!("verified_email_domains: {message}"));
            }
        }
        if let Err(e) = crate::generate_revocation_password(&self.password_policy) {
            problems.push(e.to_string());
        }
        if !problems.is_empty() {
            return Err(Error::InvalidConfig { problems });
        }
        Ok(DtrustConfig {
            transport,
            http,
            templates,
            issuing_ca_trust,
            verified_email_domains: self.verified_email_domains,
            password_policy: self.password_policy,
            missing_revocation_password: self.missing_revocation_password,
            pre_send_checks: self.pre_send_checks,
        })
    }
}

fn check_url(http: &HttpSettings, field: &'static str, url: &str, problems: &mut Vec<String>) {
    if let Err(e) = http.check_url(field, url) {
        problems.push(e.to_string());
    }
}

pub(crate) fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_lists_every_problem() {
        let err = DtrustConfig::soap("http://plain", "", "1bad name")
            .proxy("", 0)
            .templates(" ; ")
            .verified_email_domains(["example"])
            .build()
            .unwrap_err();
        let Error::InvalidConfig { problems } = err else {
            panic!("{err}")
        };
        let text = problems.join("\n");
        for needle in [
            "endpoint",
            "namespace_uri",
            "local_part",
            "client identity",
            "proxy",
            "fail to start",
            "verified_email_domains",
        ] {
            assert!(text.contains(needle), "{needle} missing in {text}");
        }
    }

    #[test]
    fn missing_p12_file_is_named() {
        let err = DtrustConfig::rest("https://h/rest")
            .client_pkcs12_file("/nonexistent/x.p12", Secret::new(IDM_DEFAULT_P12_PASSWORD))
            .build()
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.p12") && !err.contains("123456"), "{err}");
    }
}
