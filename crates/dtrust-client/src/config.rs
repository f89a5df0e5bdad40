//! The client configuration: transport, HTTP settings, identity, trust,
//! sender and clock, templates and checks.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use smartid_core::{
    ClientIdentity, Clock, ConfigProblem, HttpSend, HttpSettings, Secret, SystemClock, TrustRoots,
    TrustStore,
};

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

/// The SOAP service of the legacy interface: its qualified name (the
/// connector's `namespaceURI` and `localPart`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SoapService {
    /// The service namespace URI (the connector's `namespaceURI`, the WSDL targetNamespace).
    pub namespace_uri: String,
    /// The service name (the connector's `localPart`).
    pub local_part: String,
}

impl SoapService {
    /// The service `{namespace_uri}local_part`.
    pub fn new(namespace_uri: impl Into<String>, local_part: impl Into<String>) -> Self {
        Self {
            namespace_uri: namespace_uri.into(),
            local_part: local_part.into(),
        }
    }
}

/// How the client talks to D-Trust: one value, dispatched once to the
/// wire mapping of that transport.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// The REST interface: the recommended one, and the only one D-Trust
    /// supports going forward.
    Rest {
        /// The base URL of the REST interface.
        url: String,
    },
    /// The legacy SOAP interface, being phased out by D-Trust and no longer
    /// enabled on new accounts. Migrate to REST.
    Soap {
        /// The endpoint URL.
        endpoint: String,
        /// The service's qualified name.
        service: SoapService,
        /// SOAP 1.1 or 1.2.
        version: SoapVersion,
    },
}

impl Transport {
    /// REST at `url`.
    pub fn rest(url: impl Into<String>) -> Self {
        Self::Rest { url: url.into() }
    }

    /// SOAP 1.1 (the default version) at `endpoint` for `service`.
    pub fn soap(endpoint: impl Into<String>, service: SoapService) -> Self {
        Self::Soap {
            endpoint: endpoint.into(),
            service,
            version: SoapVersion::default(),
        }
    }

    /// `"REST"` or `"SOAP"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Rest { .. } => "REST",
            Self::Soap { .. } => "SOAP",
        }
    }
}

/// A validated configuration; build it with [`DtrustConfig::rest`],
/// [`DtrustConfig::soap`] or [`DtrustConfig::builder`].
///
/// ```no_run
/// use dtrust_client::{DtrustConfig, HttpSettings, ProxySettings, Secret, IDM_DEFAULT_P12_PASSWORD};
///
/// let config = DtrustConfig::rest("https://dtrust.example/csm/rest")
///     .http_settings(HttpSettings::new().proxy(ProxySettings::new("proxy.internal", 3128)?))
///     .client_pkcs12_file("client.p12", Secret::new(IDM_DEFAULT_P12_PASSWORD))
///     .server_certificate_file("D-TRUST_SSL_Class_3_CA_1_2009.cer")
///     .templates("Advanced SSL ID (RSA);Basic Device ID (ECC)")
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct DtrustConfig {
    pub(crate) transport: Transport,
    pub(crate) http: HttpSettings,
    pub(crate) sender: Option<Arc<dyn HttpSend>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) templates: Option<CertificateTemplates>,
    pub(crate) issuing_ca_trust: Option<TrustStore>,
    pub(crate) verified_email_domains: Vec<String>,
    pub(crate) password_policy: PasswordPolicy,
    pub(crate) missing_revocation_password: MissingRevocationPassword,
    pub(crate) pre_send_checks: bool,
}

impl fmt::Debug for DtrustConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtrustConfig")
            .field("transport", &self.transport)
            .field("http", &self.http)
            .field("custom_sender", &self.sender.is_some())
            .field("clock", &self.clock)
            .field("templates", &self.templates)
            .field("issuing_ca_trust", &self.issuing_ca_trust)
            .field("verified_email_domains", &self.verified_email_domains)
            .field("password_policy", &self.password_policy)
            .field(
                "missing_revocation_password",
                &self.missing_revocation_password,
            )
            .field("pre_send_checks", &self.pre_send_checks)
            .finish()
    }
}

impl DtrustConfig {
    /// Starts a configuration for `transport`.
    pub fn builder(transport: Transport) -> DtrustConfigBuilder {
        DtrustConfigBuilder::new(transport)
    }

    /// Starts a configuration for the REST interface at `url`.
    pub fn rest(url: impl Into<String>) -> DtrustConfigBuilder {
        Self::builder(Transport::rest(url))
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
        Self::builder(Transport::soap(
            endpoint,
            SoapService::new(namespace_uri, local_part),
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
enum IdentityDraft {
    FromSettings,
    Ready(ClientIdentity),
    File(PathBuf, Secret),
}

#[derive(Debug, Clone)]
enum TrustDraft {
    Unset,
    Store(TrustStore),
    File(PathBuf),
}

/// Builds a [`DtrustConfig`]; [`DtrustConfigBuilder::build`] checks
/// everything at once and lists every problem.
#[derive(Clone)]
#[must_use]
pub struct DtrustConfigBuilder {
    transport: Transport,
    http: HttpSettings,
    sender: Option<Arc<dyn HttpSend>>,
    clock: Arc<dyn Clock>,
    identity: IdentityDraft,
    trust: TrustDraft,
    issuing: TrustDraft,
    templates: Option<String>,
    verified_email_domains: Vec<String>,
    password_policy: PasswordPolicy,
    missing_revocation_password: MissingRevocationPassword,
    pre_send_checks: bool,
}

impl fmt::Debug for DtrustConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtrustConfigBuilder")
            .field("transport", &self.transport)
            .field("http", &self.http)
            .field("custom_sender", &self.sender.is_some())
            .field("clock", &self.clock)
            .field("identity", &self.identity)
            .field("trust", &self.trust)
            .finish_non_exhaustive()
    }
}

impl DtrustConfigBuilder {
    fn new(transport: Transport) -> Self {
        Self {
            transport,
            http: HttpSettings::new(),
            sender: None,
            clock: Arc::new(SystemClock),
            identity: IdentityDraft::FromSettings,
            trust: TrustDraft::Unset,
            issuing: TrustDraft::Unset,
            templates: None,
            verified_email_domains: Vec::new(),
            password_policy: PasswordPolicy::default(),
            missing_revocation_password: MissingRevocationPassword::default(),
            pre_send_checks: true,
        }
    }

    /// The HTTP settings: proxy, timeouts, response limit, and the
    /// `dangerous` switches (plain HTTP for local tests). Defaults to
    /// [`HttpSettings::new`]. The identity and server trust set with
    /// [`DtrustConfigBuilder::client_pkcs12_file`],
    /// [`DtrustConfigBuilder::client_identity`],
    /// [`DtrustConfigBuilder::server_certificate_file`] or
    /// [`DtrustConfigBuilder::server_trust`] win over those of `settings`.
    pub fn http_settings(mut self, settings: HttpSettings) -> Self {
        self.http = settings;
        self
    }

    /// Sends every request through `sender` instead of the HTTP client
    /// built from the settings (for tests with scripted answers, or a
    /// transport of your own). Defaults to the [`smartid_core::HttpClient`]
    /// built from [`DtrustConfigBuilder::http_settings`] by
    /// [`crate::DtrustClient::new`], user agent `dtrust-client/<version>`.
    pub fn http_sender(mut self, sender: impl HttpSend) -> Self {
        self.sender = Some(Arc::new(sender));
        self
    }

    /// The clock of the client: the time recorded in pending orders, the
    /// deadline checks and the sleeps of
    /// [`crate::DtrustClient::wait_for_issuance`]. Defaults to [`SystemClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The SOAP version (SOAP only; ignored for REST). Defaults to [`SoapVersion::V11`].
    pub fn soap_version(mut self, version: SoapVersion) -> Self {
        if let Transport::Soap { version: v, .. } = &mut self.transport {
            *v = version;
        }
        self
    }

    /// The client identity for mutual TLS (required, here or in the HTTP settings).
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
    /// are trusted. Defaults to the trust of the HTTP settings (the
    /// platform's roots).
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

    /// Checks everything and builds the configuration.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] listing every problem, each with its field:
    /// URLs, SOAP namespace and service name, missing or unreadable
    /// identity, unreadable server certificate, templates, domains,
    /// password policy.
    pub fn build(self) -> Result<DtrustConfig> {
        let mut problems: Vec<ConfigProblem> = Vec::new();
        let mut http = self.http;
        match &self.transport {
            Transport::Rest { url } => check_url(&http, "url", url, &mut problems),
            Transport::Soap {
                endpoint, service, ..
            } => {
                check_url(&http, "endpoint", endpoint, &mut problems);
                let ns = &service.namespace_uri;
                if ns.trim().is_empty() {
                    problems.push(ConfigProblem::new(
                        "namespace_uri",
                        "empty; set the service namespace URI (namespaceURI) of the SOAP service",
                    ));
                } else if url::Url::parse(ns).is_err() && !ns.starts_with("urn:") {
                    problems.push(ConfigProblem::new(
                        "namespace_uri",
                        format!(
                            "{ns:?} is not a URI; use the WSDL targetNamespace, e.g. http://ws.example/"
                        ),
                    ));
                }
                if !is_ncname(&service.local_part) {
                    problems.push(ConfigProblem::new(
                        "local_part",
                        format!(
                            "{:?} is not an XML name; use the SOAP service name (localPart) from the WSDL",
                            service.local_part
                        ),
                    ));
                }
            }
        }
        let transport = match self.transport {
            Transport::Rest { url } => Transport::Rest {
                url: url.trim_end_matches('/').to_owned(),
            },
            other => other,
        };
        match self.identity {
            IdentityDraft::FromSettings if http.identity_value().is_some() => {}
            IdentityDraft::FromSettings => problems.push(ConfigProblem::new(
                "client_identity",
                "missing; D-Trust authenticates the account by its client certificate: \
                 set client_pkcs12_file(path, password)",
            )),
            IdentityDraft::Ready(id) => http = http.identity(id),
            IdentityDraft::File(path, password) => {
                match ClientIdentity::from_pkcs12_file(&path, &password) {
                    Ok(id) => http = http.identity(id),
                    Err(e) => problems.push(ConfigProblem::new("client_identity", e.to_string())),
                }
            }
        }
        match self.trust {
            TrustDraft::Unset => {}
            TrustDraft::Store(store) => http = http.trust(TrustRoots::Only(store)),
            TrustDraft::File(path) => match TrustStore::from_path(&path, None) {
                Ok(store) => http = http.trust(TrustRoots::Only(store)),
                Err(e) => problems.push(ConfigProblem::new("server_certificate", e.to_string())),
            },
        }
        let issuing_ca_trust = match self.issuing {
            TrustDraft::Unset => None,
            TrustDraft::Store(store) => Some(store),
            TrustDraft::File(path) => match TrustStore::from_path(&path, None) {
                Ok(store) => Some(store),
                Err(e) => {
                    problems.push(ConfigProblem::new("issuing_ca", e.to_string()));
                    None
                }
            },
        };
        let templates = match self.templates {
            None => None,
            Some(v) => match CertificateTemplates::parse(Some(&v)) {
                Ok(t) => Some(t),
                Err(e) => {
                    problems.push(ConfigProblem::new("templates", e.to_string()));
                    None
                }
            },
        };
        for d in &self.verified_email_domains {
            if let Err(message) = crate::domains::check_verified_domain(d) {
                problems.push(ConfigProblem::new("verified_email_domains", message));
            }
        }
        match crate::generate_revocation_password(&self.password_policy) {
            Ok(_) => {}
            Err(Error::InvalidConfig(found)) => problems.extend(found),
            Err(e) => problems.push(ConfigProblem::new("password_policy", e.to_string())),
        }
        if !problems.is_empty() {
            return Err(Error::InvalidConfig(problems));
        }
        Ok(DtrustConfig {
            transport,
            http,
            sender: self.sender,
            clock: self.clock,
            templates,
            issuing_ca_trust,
            verified_email_domains: self.verified_email_domains,
            password_policy: self.password_policy,
            missing_revocation_password: self.missing_revocation_password,
            pre_send_checks: self.pre_send_checks,
        })
    }
}

fn check_url(
    http: &HttpSettings,
    field: &'static str,
    url: &str,
    problems: &mut Vec<ConfigProblem>,
) {
    if let Err(e) = http.check_url(field, url) {
        problems.push(ConfigProblem::new(field, e.to_string()));
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
            .templates(" ; ")
            .verified_email_domains(["example"])
            .build()
            .unwrap_err();
        let Error::InvalidConfig(problems) = err else {
            panic!("{err}")
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for needle in [
            "endpoint",
            "namespace_uri",
            "local_part",
            "client_identity",
            "templates",
            "verified_email_domains",
        ] {
            assert!(fields.contains(&needle), "{needle} missing in {problems:?}");
        }
        let text = ConfigProblem::join(&problems);
        assert!(text.contains("fail to start"), "{text}");
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

    #[test]
    fn plain_http_follows_the_http_settings() {
        let mut settings = HttpSettings::new();
        let err = DtrustConfig::rest("http://127.0.0.1:1/rest")
            .http_settings(settings.clone())
            .build()
            .unwrap_err();
        let Error::InvalidConfig(problems) = err else {
            panic!("{err}")
        };
        assert!(problems.iter().any(|p| p.field == "url"), "{problems:?}");
        settings.dangerous().allow_plain_http();
        let err = DtrustConfig::rest("http://127.0.0.1:1/rest")
            .http_settings(settings)
            .build()
            .unwrap_err();
        let Error::InvalidConfig(problems) = err else {
            panic!("{err}")
        };
        assert!(problems.iter().all(|p| p.field != "url"), "{problems:?}");
    }

    #[test]
    fn identity_from_the_settings_is_accepted_and_the_builder_wins() {
        let pki = smartid_testkit::TestPki::generate().unwrap();
        let from_settings = pki
            .client("settings")
            .unwrap()
            .to_client_identity()
            .unwrap();
        let from_builder = pki.client("builder").unwrap().to_client_identity().unwrap();
        let config = DtrustConfig::rest("https://h/rest/")
            .http_settings(HttpSettings::new().identity(from_settings.clone()))
            .build()
            .unwrap();
        assert_eq!(
            config.transport(),
            &Transport::Rest {
                url: "https://h/rest".into()
            }
        );
        let subject = |c: &DtrustConfig| {
            c.http_settings()
                .identity_value()
                .and_then(|i| i.chain().first().map(|c| c.subject().to_owned()))
                .unwrap_or_default()
        };
        assert!(
            subject(&config).contains("settings"),
            "{}",
            subject(&config)
        );
        let config = DtrustConfig::rest("https://h/rest")
            .client_identity(from_builder)
            .http_settings(HttpSettings::new().identity(from_settings))
            .build()
            .unwrap();
        assert!(subject(&config).contains("builder"), "{}", subject(&config));
    }
}
