//! The D-Trust connector's properties file (`dtrust.properties`), read into a
//! typed model and checked.

use std::fmt;
use std::time::{Duration, SystemTime};

use smartid_core::Secret;

use crate::checked::Checked;
use crate::diagnostic::{Code, Diagnostic};
use crate::properties::{PropertiesFile, ReadEncoding};
use crate::templates::{CertificateTemplate, Location, check_templates};

/// The keys of the D-Trust connector file, as named by the seed or chosen by
/// this project (see `docs/idm-config.md`).
pub mod keys {
    /// D-Trust service URL: REST base URL, or SOAP endpoint (this project's name).
    pub const URL: &str = "url";
    /// File name of the client PKCS#12 inside the bundle (this project's name).
    pub const P12_FILE: &str = "p12File";
    /// Password of the client PKCS#12 (seed; default 123456).
    pub const P12_PASSWORD: &str = "p12Password";
    /// File name of the D-Trust server certificate inside the bundle (this project's name).
    pub const SERVER_CERTIFICATE: &str = "serverCertificate";
    /// SOAP only: the service's WSDL target namespace (seed).
    pub const NAMESPACE_URI: &str = "namespaceURI";
    /// SOAP only: the service name (seed).
    pub const LOCAL_PART: &str = "localPart";
    /// HTTP proxy host (this project's name).
    pub const PROXY_HOST: &str = "proxyHost";
    /// HTTP proxy port (this project's name).
    pub const PROXY_PORT: &str = "proxyPort";
    /// Name of the Certificate Manager connector used for key backup (seed).
    pub const KEY_ARCHIVE: &str = "keyArchive";
    /// Prefix of the product -> CM token procedure mapping:
    /// `tokenProcedure.<product>=<procedure>` (this project's name).
    pub const TOKEN_PROCEDURE_PREFIX: &str = "tokenProcedure.";
    /// The semicolon-delimited certificate templates (seed; required).
    pub const CERTIFICATE_TEMPLATES: &str = "certificateTemplates";
    /// The e-mail domains verified at D-Trust, `;` or `,` separated; read
    /// only by this crate's checks (this project's name).
    pub const VERIFIED_EMAIL_DOMAINS: &str = "verifiedEmailDomains";
    /// Seed 003, key backup step 5 ("extend for the connector"): the CM
    /// token procedure for importing the certificate; usually in
    /// `Nexus_CM.properties`, accepted in the D-Trust file too.
    pub const CA_TOKEN_PROCEDURE_IMPORT_CERT: &str = "caTokenProcedureImportCert";

    /// Spellings read for the service URL, first wins (inferred: the seed
    /// mentions "the new URL for the REST interface" but its example line
    /// is not public).
    pub const URL_ALIASES: &[&str] = &[
        URL,
        "URL",
        "serviceUrl",
        "serviceURL",
        "restUrl",
        "baseUrl",
        "endpoint",
        "endpointUrl",
        "dtrustUrl",
        "wsdlUrl",
        "wsdlLocation",
    ];
    /// Spellings read for the PKCS#12 file name (inferred; the seed says
    /// the properties hold the "P12 file path"). Optional: the PKCS#12 is
    /// found by content.
    pub const P12_FILE_ALIASES: &[&str] = &[
        P12_FILE,
        "p12Path",
        "p12FilePath",
        "p12FileName",
        "p12",
        "keyStore",
        "keystore",
        "keyStoreFile",
        "clientKeystore",
    ];
    /// Spellings read for the server certificate file name (inferred).
    /// Optional: the certificate is found by content.
    pub const SERVER_CERTIFICATE_ALIASES: &[&str] = &[
        SERVER_CERTIFICATE,
        "serverCert",
        "serverCertificateFile",
        "serverCertificatePath",
        "sslCertificate",
        "trustCertificate",
        "caCertificate",
    ];
    /// Spellings read for the proxy host (inferred; the seed names only
    /// "hostname / IP of the proxy").
    pub const PROXY_HOST_ALIASES: &[&str] = &[
        PROXY_HOST,
        "proxyhost",
        "proxy.host",
        "proxyHostname",
        "https.proxyHost",
        "http.proxyHost",
    ];
    /// Spellings read for the proxy port (inferred).
    pub const PROXY_PORT_ALIASES: &[&str] = &[
        PROXY_PORT,
        "proxyport",
        "proxy.port",
        "https.proxyPort",
        "http.proxyPort",
    ];
    /// Prefixes read for the product -> token procedure mapping (inferred);
    /// a key that is exactly a product of `certificateTemplates` is read as
    /// a mapping too.
    pub const TOKEN_PROCEDURE_PREFIXES: &[&str] = &[
        TOKEN_PROCEDURE_PREFIX,
        "tokenprocedure.",
        "tokenProcedures.",
        "cmTokenProcedure.",
        "product.",
    ];
    /// Spellings read for the verified e-mail domains (this project's own key).
    pub const VERIFIED_EMAIL_DOMAINS_ALIASES: &[&str] =
        &[VERIFIED_EMAIL_DOMAINS, "verifiedDomains", "emailDomains"];
}

/// The first spelling of `aliases` present in `file`.
pub(crate) fn find_key(file: &PropertiesFile, aliases: &[&'static str]) -> Option<&'static str> {
    aliases.iter().copied().find(|k| file.contains_key(k))
}

/// The product and prefix spelling when `key` is a mapping key.
fn mapping_product(key: &str) -> Option<&str> {
    keys::TOKEN_PROCEDURE_PREFIXES
        .iter()
        .find_map(|prefix| key.strip_prefix(prefix))
}

/// The default PKCS#12 password of the Identity Manager D-Trust connector.
pub const DEFAULT_P12_PASSWORD: &str = "123456";

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

/// Which D-Trust interface the connector uses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtrustTransport {
    /// REST: `namespaceURI` and `localPart` absent. The supported interface.
    Rest,
    /// Legacy SOAP: both `namespaceURI` and `localPart` set. Being phased out.
    Soap {
        /// WSDL target namespace.
        namespace_uri: String,
        /// Service name.
        local_part: String,
    },
}

/// An HTTP proxy (the connector supports no proxy authentication).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// Host name or IP address.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// The D-Trust connector configuration, as read from its properties file.
#[derive(Clone)]
#[non_exhaustive]
pub struct DtrustConnectorConfig {
    /// The service URL (`url`).
    pub url: Option<String>,
    /// REST or SOAP, from the presence of `namespaceURI`/`localPart`.
    pub transport: DtrustTransport,
    /// The client PKCS#12's file name in the bundle (`p12File`).
    pub p12_file: Option<String>,
    /// The PKCS#12 password (`p12Password`, default 123456).
    pub p12_password: Secret,
    /// The server certificate's file name in the bundle (`serverCertificate`).
    pub server_certificate: Option<String>,
    /// The HTTP proxy (`proxyHost`, `proxyPort`).
    pub proxy: Option<ProxyConfig>,
    /// The Certificate Manager connector for key backup (`keyArchive`).
    pub key_archive: Option<String>,
    /// D-Trust product -> CM token procedure (`tokenProcedure.<product>`), in file order.
    pub token_procedures: Vec<(String, String)>,
    /// The certificate templates (`certificateTemplates`).
    pub certificate_templates: Vec<CertificateTemplate>,
    /// Verified e-mail domains (`verifiedEmailDomains` plus the options').
    pub verified_email_domains: Vec<String>,
}

impl fmt::Debug for DtrustConnectorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtrustConnectorConfig")
            .field("url", &self.url)
            .field("transport", &self.transport)
            .field("p12_file", &self.p12_file)
            .field("p12_password", &self.p12_password)
            .field("server_certificate", &self.server_certificate)
            .field("proxy", &self.proxy)
            .field("key_archive", &self.key_archive)
            .field("token_procedures", &self.token_procedures)
            .field("certificate_templates", &self.certificate_templates)
            .field("verified_email_domains", &self.verified_email_domains)
            .finish()
    }
}

const KNOWN_KEYS: &[&str] = &[
    keys::URL,
    keys::P12_FILE,
    keys::P12_PASSWORD,
    keys::SERVER_CERTIFICATE,
    keys::NAMESPACE_URI,
    keys::LOCAL_PART,
    keys::PROXY_HOST,
    keys::PROXY_PORT,
    keys::KEY_ARCHIVE,
    keys::CERTIFICATE_TEMPLATES,
    keys::VERIFIED_EMAIL_DOMAINS,
    keys::CA_TOKEN_PROCEDURE_IMPORT_CERT,
];

const ALIAS_LISTS: &[&[&str]] = &[
    keys::URL_ALIASES,
    keys::P12_FILE_ALIASES,
    keys::SERVER_CERTIFICATE_ALIASES,
    keys::PROXY_HOST_ALIASES,
    keys::PROXY_PORT_ALIASES,
    keys::VERIFIED_EMAIL_DOMAINS_ALIASES,
];

fn is_known_key(key: &str) -> bool {
    KNOWN_KEYS.contains(&key) || ALIAS_LISTS.iter().any(|list| list.contains(&key))
}

const PROXY_AUTH_KEYS: &[&str] = &[
    "proxyUser",
    "proxyUsername",
    "proxyUserName",
    "proxyPassword",
    "proxyAuth",
];

struct Reader<'a> {
    file: &'a PropertiesFile,
    out: Vec<Diagnostic>,
}

impl Reader<'_> {
    fn line(&self, key: &str) -> Option<usize> {
        self.file.property(key).map(|p| p.line())
    }

    fn error(&mut self, key: &str, code: Code, message: impl Into<String>) {
        let line = self.line(key);
        self.out
            .push(Diagnostic::error(self.file.name(), line, code, message));
    }

    fn warning(&mut self, key: &str, code: Code, message: impl Into<String>) {
        let line = self.line(key);
        self.out
            .push(Diagnostic::warning(self.file.name(), line, code, message));
    }

    /// The value under the first spelling of `aliases` present, with that
    /// spelling; a warning when several spellings are present.
    fn find(&mut self, aliases: &[&'static str]) -> Option<(&'static str, String)> {
        let present: Vec<&'static str> = aliases
            .iter()
            .copied()
            .filter(|k| self.file.contains_key(k))
            .collect();
        let key = *present.first()?;
        if let Some(other) = present.get(1) {
            self.warning(
                other,
                Code::KeySpelledTwice,
                format!(
                    "`{key}` and `{other}` name the same setting; `{key}` is used: keep only one"
                ),
            );
        }
        Some((
            key,
            self.file.get(key).unwrap_or_default().trim().to_owned(),
        ))
    }

    /// An optional file name: `None` when absent; present but empty is a
    /// warning (the file is then found by content).
    fn file_name(&mut self, aliases: &[&'static str], code: Code, what: &str) -> Option<String> {
        let (key, value) = self.find(aliases)?;
        if value.is_empty() {
            self.warning(
                key,
                code,
                format!("{key} is empty and ignored; the {what} is found in the zip by its content: remove the line or name the file"),
            );
            return None;
        }
        if !is_plain_file_name(&value) {
            self.warning(
                key,
                Code::FileNameNotPlain,
                format!("{key} `{value}` is not a plain file name; the files sit at the top level of the zip, so only the last part of the path is used"),
            );
        }
        Some(value)
    }
}

/// Whether `name` is a plain file name (no folder, no `..`, not absolute).
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !(name.len() >= 2 && name.as_bytes().get(1) == Some(&b':'))
}

impl DtrustConnectorConfig {
    /// Reads and checks a D-Trust connector properties file. Every problem
    /// is reported at once; the value is filled as far as possible.
    pub fn from_properties(file: &PropertiesFile, options: &CheckOptions) -> Checked<Self> {
        let mut r = Reader {
            file,
            out: Vec::new(),
        };

        let url = match r.find(keys::URL_ALIASES) {
            None => {
                r.out.push(Diagnostic::warning(
                    file.name(),
                    None,
                    Code::UrlMissing,
                    format!(
                        "no D-Trust service URL found (looked for {}); the bundle is checked without it, but a client cannot be built: add `url=https://...` (the connector's own key name is not public)",
                        keys::URL_ALIASES.join(", ")
                    ),
                ));
                None
            }
            Some((key, v)) if v.is_empty() => {
                r.error(
                    key,
                    Code::UrlMissing,
                    format!("{key} is empty; set it to the D-Trust service URL (https://...)"),
                );
                None
            }
            Some((key, u)) => {
                match url::Url::parse(&u) {
                    Ok(parsed) if parsed.scheme() == "https" && parsed.host().is_some() => {}
                    Ok(parsed) => r.error(
                        key,
                        Code::UrlInvalid,
                        format!(
                            "{key} must be https:// with a host (found scheme `{}`); D-Trust is reached over mutual TLS",
                            parsed.scheme()
                        ),
                    ),
                    Err(e) => r.error(
                        key,
                        Code::UrlInvalid,
                        format!("{key} is not an absolute URL ({e}); write e.g. https://host/path"),
                    ),
                }
                Some(u)
            }
        };

        let transport = read_transport(&mut r);

        let p12_file = r.file_name(
            keys::P12_FILE_ALIASES,
            Code::P12FileMissing,
            "client PKCS#12",
        );
        let server_certificate = r.file_name(
            keys::SERVER_CERTIFICATE_ALIASES,
            Code::ServerCertificateMissing,
            "D-Trust server certificate",
        );

        let p12_password = match file.get(keys::P12_PASSWORD) {
            Some("") => {
                r.error(
                    keys::P12_PASSWORD,
                    Code::P12PasswordEmpty,
                    "p12Password is empty; set it to the PKCS#12 password, or remove the line to use the default",
                );
                Secret::new("")
            }
            Some(p) => Secret::new(p),
            None => Secret::new(DEFAULT_P12_PASSWORD),
        };

        let proxy = read_proxy(&mut r);

        for key in PROXY_AUTH_KEYS {
            if file.contains_key(key) {
                r.error(
                    key,
                    Code::ProxyAuthUnsupported,
                    format!("{key}: the D-Trust connector does not support proxy authentication; use a proxy that needs none and remove the line"),
                );
            }
        }

        let mut verified_email_domains = options.verified_email_domains.clone();
        if let Some((_, list)) = r.find(keys::VERIFIED_EMAIL_DOMAINS_ALIASES) {
            verified_email_domains.extend(
                list.split([';', ','])
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned),
            );
        }

        let certificate_templates = match file.property(keys::CERTIFICATE_TEMPLATES) {
            None => {
                r.out.push(Diagnostic::error(
                    file.name(),
                    None,
                    Code::TemplatesMissing,
                    "certificateTemplates is missing: the D-Trust connector would fail to start when Tomcat deploys it; add certificateTemplates=<product>;<product>...",
                ));
                Vec::new()
            }
            Some(p) if p.value().trim().is_empty() => {
                r.error(
                    keys::CERTIFICATE_TEMPLATES,
                    Code::TemplatesEmpty,
                    "certificateTemplates is empty: the D-Trust connector would fail to start when Tomcat deploys it; list the templates separated by `;`",
                );
                Vec::new()
            }
            Some(p) => {
                let at = Location {
                    file: file.name(),
                    line: Some(p.line()),
                };
                check_templates(p.value(), &at, &verified_email_domains, &mut r.out)
            }
        };

        let key_archive = match file.get(keys::KEY_ARCHIVE).map(str::trim) {
            Some("") => {
                r.error(
                    keys::KEY_ARCHIVE,
                    Code::KeyArchiveEmpty,
                    "keyArchive is empty; name the Certificate Manager connector for key backup, or remove the line",
                );
                None
            }
            other => other.map(str::to_owned),
        };
        let mut token_procedures = Vec::new();
        let is_product = |key: &str| {
            certificate_templates
                .iter()
                .any(|t: &CertificateTemplate| t.product == key)
        };
        let mappings: Vec<_> = file
            .iter()
            .filter_map(|p| {
                mapping_product(p.key())
                    .or_else(|| is_product(p.key()).then_some(p.key()))
                    .map(|product| {
                        (
                            p.key().to_owned(),
                            product.to_owned(),
                            p.value().trim().to_owned(),
                        )
                    })
            })
            .collect();
        let first_mapping_key = mappings.first().map(|m| m.0.clone());
        for (key, product, procedure) in mappings {
            if product.trim().is_empty() || procedure.is_empty() {
                r.error(
                    &key,
                    Code::KeyArchiveEmpty,
                    format!("`{key}` needs a product after `tokenProcedure.` and a CM token procedure as value, e.g. tokenProcedure.Advanced\\ SSL\\ ID\\ (RSA)=DTrust import"),
                );
                continue;
            }
            token_procedures.push((product, procedure));
        }
        if key_archive.is_none()
            && !token_procedures.is_empty()
            && !file.contains_key(keys::KEY_ARCHIVE)
        {
            let first = first_mapping_key.clone().unwrap_or_default();
            r.warning(
                &first,
                Code::MappingWithoutKeyArchive,
                "product to token procedure mappings are only used for key backup, but keyArchive is not set; add keyArchive=<CM connector> or remove the mappings",
            );
        }
        if key_archive.is_some() && token_procedures.is_empty() {
            r.warning(
                keys::KEY_ARCHIVE,
                Code::KeyArchiveWithoutMapping,
                "keyArchive is set but no product is mapped to a CM token procedure; add tokenProcedure.<product>=<procedure> for each product whose keys are backed up",
            );
        }

        for p in file.iter() {
            let key = p.key();
            if is_known_key(key)
                || PROXY_AUTH_KEYS.contains(&key)
                || mapping_product(key).is_some()
                || certificate_templates.iter().any(|t| t.product == key)
            {
                continue;
            }
            let message = if let Some(suggestion) = suggest(key) {
                format!("unknown key `{key}` (ignored); did you mean `{suggestion}`?")
            } else {
                format!(
                    "unknown key `{key}` (ignored by these checks); see docs/idm-config.md for the keys read"
                )
            };
            r.out.push(Diagnostic::warning(
                file.name(),
                Some(p.line()),
                Code::UnknownKey,
                message,
            ));
        }

        let mut diagnostics: Vec<Diagnostic> = file.diagnostics().to_vec();
        diagnostics.extend(r.out);
        diagnostics.sort_by_key(|d| d.line.unwrap_or(0));
        Checked::new(
            Self {
                url,
                transport,
                p12_file,
                p12_password,
                server_certificate,
                proxy,
                key_archive,
                token_procedures,
                certificate_templates,
                verified_email_domains,
            },
            diagnostics,
        )
    }

    /// Writes this configuration as a new properties file (REST or SOAP
    /// keys as the transport says; the password only when it is not the default).
    pub fn to_properties(&self, name: &str) -> PropertiesFile {
        let mut f = PropertiesFile::new(name);
        if let Some(u) = &self.url {
            f.set(keys::URL, u);
        }
        if let DtrustTransport::Soap {
            namespace_uri,
            local_part,
        } = &self.transport
        {
            f.set(keys::NAMESPACE_URI, namespace_uri);
            f.set(keys::LOCAL_PART, local_part);
        }
        if let Some(p) = &self.p12_file {
            f.set(keys::P12_FILE, p);
        }
        if self.p12_password.expose_secret() != DEFAULT_P12_PASSWORD {
            f.set(keys::P12_PASSWORD, self.p12_password.expose_secret());
        }
        if let Some(s) = &self.server_certificate {
            f.set(keys::SERVER_CERTIFICATE, s);
        }
        if let Some(p) = &self.proxy {
            f.set(keys::PROXY_HOST, &p.host);
            f.set(keys::PROXY_PORT, &p.port.to_string());
        }
        if let Some(k) = &self.key_archive {
            f.set(keys::KEY_ARCHIVE, k);
        }
        for (product, procedure) in &self.token_procedures {
            f.set(
                &format!("{}{product}", keys::TOKEN_PROCEDURE_PREFIX),
                procedure,
            );
        }
        let templates: Vec<String> = self
            .certificate_templates
            .iter()
            .map(CertificateTemplate::to_spec)
            .collect();
        f.set(keys::CERTIFICATE_TEMPLATES, &templates.join(";"));
        f
    }
}

fn read_transport(r: &mut Reader<'_>) -> DtrustTransport {
    let ns = r
        .file
        .get(keys::NAMESPACE_URI)
        .map(str::trim)
        .map(str::to_owned);
    let lp = r
        .file
        .get(keys::LOCAL_PART)
        .map(str::trim)
        .map(str::to_owned);
    for (key, v) in [(keys::NAMESPACE_URI, &ns), (keys::LOCAL_PART, &lp)] {
        if v.as_deref() == Some("") {
            r.error(
                key,
                Code::SoapKeyEmpty,
                format!("{key} is present but empty; for the REST interface you MUST NOT set it: remove the line entirely (for SOAP give its value)"),
            );
        }
    }
    match (ns.filter(|s| !s.is_empty()), lp.filter(|s| !s.is_empty())) {
        (Some(namespace_uri), Some(local_part)) => {
            r.warning(
                keys::NAMESPACE_URI,
                Code::SoapDeprecated,
                "namespaceURI and localPart select the legacy SOAP interface, which D-Trust is phasing out and no longer enables for new accounts; move to REST: remove both lines and set the REST url",
            );
            DtrustTransport::Soap {
                namespace_uri,
                local_part,
            }
        }
        (Some(_), None) => {
            r.error(
                keys::NAMESPACE_URI,
                Code::SoapHalfConfigured,
                "namespaceURI is set without localPart; for REST remove namespaceURI, for legacy SOAP add localPart",
            );
            DtrustTransport::Rest
        }
        (None, Some(_)) => {
            r.error(
                keys::LOCAL_PART,
                Code::SoapHalfConfigured,
                "localPart is set without namespaceURI; for REST remove localPart, for legacy SOAP add namespaceURI",
            );
            DtrustTransport::Rest
        }
        (None, None) => DtrustTransport::Rest,
    }
}

fn read_proxy(r: &mut Reader<'_>) -> Option<ProxyConfig> {
    let host = r
        .find(keys::PROXY_HOST_ALIASES)
        .filter(|(_, h)| !h.is_empty());
    let port = r
        .find(keys::PROXY_PORT_ALIASES)
        .filter(|(_, p)| !p.is_empty());
    match (host, port) {
        (None, None) => None,
        (Some((key, _)), None) => {
            r.error(
                key,
                Code::ProxyIncomplete,
                format!("{key} is set without a proxy port; add proxyPort=<port> or remove {key}"),
            );
            None
        }
        (None, Some((key, _))) => {
            r.error(
                key,
                Code::ProxyIncomplete,
                format!("{key} is set without a proxy host; add proxyHost=<host> or remove {key}"),
            );
            None
        }
        (Some((_, host)), Some((key, port))) => match port.parse::<u16>() {
            Ok(p) if p > 0 => Some(ProxyConfig { host, port: p }),
            _ => {
                r.error(
                    key,
                    Code::ProxyPortInvalid,
                    format!("{key} `{port}` is not a port number; write a number from 1 to 65535"),
                );
                None
            }
        },
    }
}

/// A known key close to `key` (case or a small typo).
fn suggest(key: &str) -> Option<&'static str> {
    KNOWN_KEYS
        .iter()
        .copied()
        .chain([keys::TOKEN_PROCEDURE_PREFIX])
        .find(|k| {
            k.eq_ignore_ascii_case(key)
                || edit_distance(&k.to_ascii_lowercase(), &key.to_ascii_lowercase()) <= 2
        })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(usize::MAX - 1) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(usize::MAX - 1) + 1;
            let ins = cur.get(j).copied().unwrap_or(usize::MAX - 1) + 1;
            if let Some(slot) = cur.get_mut(j + 1) {
                *slot = sub.min(del).min(ins);
            }
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion() {
        assert_eq!(suggest("p12Pasword"), Some(keys::P12_PASSWORD));
        assert_eq!(suggest("NAMESPACEURI"), Some(keys::NAMESPACE_URI));
        assert_eq!(suggest("somethingElse"), None);
    }

    #[test]
    fn written_config_reads_back_the_same() {
        let text = "url=https://d/rest\nnamespaceURI=http://ns/\nlocalPart=Svc\np12File=c.p12\np12Password=pw=1\nserverCertificate=s.cer\nproxyHost=p\nproxyPort=8080\nkeyArchive=Key archive\ntokenProcedure.Advanced\\ SSL\\ ID\\ (RSA)=Imp\ncertificateTemplates=A|CN=x\\\\, y,E=a@example.com|email:b@example.com;B\n";
        let file = PropertiesFile::parse(text.as_bytes(), "d.properties");
        let c = DtrustConnectorConfig::from_properties(&file, &CheckOptions::default());
        assert_eq!(
            c.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
            [Code::SoapDeprecated]
        );
        let written = c.value.to_properties("d.properties");
        let again =
            DtrustConnectorConfig::from_properties(&written, &CheckOptions::default()).value;
        assert_eq!(again.transport, c.value.transport);
        assert_eq!(again.p12_password, c.value.p12_password);
        assert_eq!(
            again.token_procedures,
            [("Advanced SSL ID (RSA)".to_owned(), "Imp".to_owned())]
        );
        assert_eq!(again.certificate_templates, c.value.certificate_templates);
        assert_eq!(again.proxy, c.value.proxy);
        assert!(!format!("{again:?}").contains("pw=1"));
    }
}
