//! The D-Trust connector's properties file (`dtrust.properties`), read into a
//! typed model and checked.
//!
//! One file per concept: the service URL, the transport, the bundle's files,
//! the proxy, the certificate templates, key backup and unknown keys, each
//! with its checks; [`DtrustConnectorConfig::from_properties`] reads them in
//! that order.

use std::fmt;

use dtrust_client::{SoapService, Transport};
use smartid_core::Secret;

use crate::checked::Checked;
use crate::properties::PropertiesFile;
use crate::templates::CertificateTemplate;

mod bundle_files;
mod certificate_templates;
mod key_backup;
pub mod keys;
mod options;
mod proxy;
mod reader;
mod service_url;
#[cfg(test)]
mod tests;
mod transport;
mod unknown_keys;

pub use bundle_files::DEFAULT_P12_PASSWORD;
pub use options::CheckOptions;
pub use proxy::ProxyConfig;
pub(crate) use reader::{find_key, is_plain_file_name};

use bundle_files::BundleFiles;
use key_backup::KeyBackup;
use reader::Reader;

/// The D-Trust connector configuration, as read from its properties file.
#[derive(Clone)]
#[non_exhaustive]
pub struct DtrustConnectorConfig {
    /// The service URL (`url`).
    pub url: Option<String>,
    /// The legacy SOAP service (`namespaceURI` and `localPart`); `None`
    /// for REST, the supported interface. See
    /// [`DtrustConnectorConfig::transport`].
    pub soap_service: Option<SoapService>,
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
            .field("soap_service", &self.soap_service)
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

impl DtrustConnectorConfig {
    /// Reads and checks a D-Trust connector properties file. Every problem
    /// is reported at once; the value is filled as far as possible.
    ///
    /// ```
    /// use idm_config::dtrust_client::Transport;
    /// use idm_config::{CheckOptions, Code, DtrustConnectorConfig, PropertiesFile};
    ///
    /// let file = PropertiesFile::parse(
    ///     b"url=https://dtrust.example/rest\nproxyHost=proxy.example\ncertificateTemplates=Advanced SSL ID (RSA)\n",
    ///     "dtrust.properties",
    /// );
    /// let checked = DtrustConnectorConfig::from_properties(&file, &CheckOptions::default());
    /// assert_eq!(
    ///     checked.value.transport(),
    ///     Some(Transport::rest("https://dtrust.example/rest"))
    /// );
    /// assert_eq!(checked.diagnostics[0].code, Code::ProxyIncomplete);
    /// assert_eq!(checked.diagnostics[0].line, Some(2));
    /// ```
    pub fn from_properties(file: &PropertiesFile, options: &CheckOptions) -> Checked<Self> {
        let mut r = Reader::new(file);
        let url = service_url::read_url(&mut r);
        let soap_service = transport::read_soap_service(&mut r);
        let BundleFiles {
            p12_file,
            p12_password,
            server_certificate,
        } = bundle_files::read_bundle_files(&mut r);
        let proxy = proxy::read_proxy(&mut r);
        let verified_email_domains = certificate_templates::read_verified_domains(&mut r, options);
        let certificate_templates =
            certificate_templates::read_templates(&mut r, &verified_email_domains);
        let KeyBackup {
            key_archive,
            token_procedures,
        } = key_backup::read_key_backup(&mut r, &certificate_templates);
        unknown_keys::check_unknown_keys(&mut r, &certificate_templates);
        Checked::new(
            Self {
                url,
                soap_service,
                p12_file,
                p12_password,
                server_certificate,
                proxy,
                key_archive,
                token_procedures,
                certificate_templates,
                verified_email_domains,
            },
            r.finish(),
        )
    }

    /// The D-Trust transport this configuration selects, as dtrust-client
    /// takes it: REST at `url`, or, with `namespaceURI` and `localPart`,
    /// the legacy SOAP service at `url` (SOAP 1.1, JAX-WS's default
    /// binding). `None` when `url` is missing.
    ///
    /// ```
    /// use idm_config::dtrust_client::{SoapService, Transport};
    /// use idm_config::{CheckOptions, DtrustConnectorConfig, PropertiesFile};
    ///
    /// let file = PropertiesFile::parse(
    ///     b"url=https://dtrust.example/soap\nnamespaceURI=http://ws.example/\nlocalPart=CertService\n",
    ///     "dtrust.properties",
    /// );
    /// let config = DtrustConnectorConfig::from_properties(&file, &CheckOptions::default()).value;
    /// assert_eq!(
    ///     config.transport(),
    ///     Some(Transport::soap(
    ///         "https://dtrust.example/soap",
    ///         SoapService::new("http://ws.example/", "CertService"),
    ///     ))
    /// );
    /// ```
    pub fn transport(&self) -> Option<Transport> {
        let url = self.url.clone()?;
        Some(match &self.soap_service {
            Some(service) => Transport::soap(url, service.clone()),
            None => Transport::rest(url),
        })
    }

    /// Writes this configuration as a new properties file (REST or SOAP
    /// keys as the transport says; the password only when it is not the default).
    pub fn to_properties(&self, name: &str) -> PropertiesFile {
        let mut f = PropertiesFile::new(name);
        if let Some(u) = &self.url {
            f.set(keys::URL, u);
        }
        if let Some(service) = &self.soap_service {
            f.set(keys::NAMESPACE_URI, &service.namespace_uri);
            f.set(keys::LOCAL_PART, &service.local_part);
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
