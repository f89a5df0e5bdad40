//! From the D-Trust connector's configuration to a ready dtrust-client
//! configuration.

use std::path::Path;

use dtrust_client::{DtrustConfig, DtrustConfigBuilder};
use smartid_core::{
    ClientIdentity, ConfigProblem, HttpSettings, ProxySettings, TrustRoots, TrustStore,
};

use crate::bundle::{ContentKind, DtrustBundle, resolve_in_dir};
use crate::dtrust::keys;
use crate::dtrust::{CheckOptions, DtrustConnectorConfig};
use crate::error::{Error, Result};

impl DtrustConnectorConfig {
    /// The HTTP settings of this configuration: `identity` for mutual TLS,
    /// only `server_trust` trusted for the server (the bundle's `.cer`),
    /// and the proxy (`proxyHost`, `proxyPort`). Add timeouts to them
    /// before passing them to
    /// [`DtrustConfigBuilder::http_settings`](dtrust_client::DtrustConfigBuilder::http_settings).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the proxy host is not a host name.
    pub fn http_settings(
        &self,
        identity: ClientIdentity,
        server_trust: TrustStore,
    ) -> Result<HttpSettings> {
        let mut http = HttpSettings::new()
            .identity(identity)
            .trust(TrustRoots::Only(server_trust));
        if let Some(proxy) = &self.proxy {
            let proxy =
                ProxySettings::new(proxy.host.clone(), proxy.port).map_err(|e| match e {
                    smartid_core::Error::InvalidSetting { message, .. } => {
                        Error::InvalidConfig(vec![ConfigProblem::new(keys::PROXY_HOST, message)])
                    }
                    other => Error::Http(other),
                })?;
            http = http.proxy(proxy);
        }
        Ok(http)
    }

    /// A dtrust-client builder for this configuration: its
    /// [`transport`](DtrustConnectorConfig::transport) (REST, or SOAP when
    /// `namespaceURI`/`localPart` are set), its
    /// [`http_settings`](DtrustConnectorConfig::http_settings) (the given
    /// identity and server trust, the proxy), the certificate templates
    /// (product names) and the verified e-mail domains. Adjust it (issuing
    /// CA, password policy, clock) and call `build`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `url` is missing or the proxy host is
    /// not a host name.
    pub fn dtrust_config_builder(
        &self,
        identity: ClientIdentity,
        server_trust: TrustStore,
    ) -> Result<DtrustConfigBuilder> {
        let Some(transport) = self.transport() else {
            return Err(Error::InvalidConfig(vec![ConfigProblem::new(
                keys::URL,
                format!(
                    "error[{}]: missing; set it to the D-Trust service URL (https://...)",
                    crate::Code::UrlMissing
                ),
            )]));
        };
        let mut builder = DtrustConfig::builder(transport)
            .http_settings(self.http_settings(identity, server_trust)?);
        let mut products: Vec<&str> = Vec::new();
        for t in &self.certificate_templates {
            if !products.contains(&t.product.as_str()) {
                products.push(&t.product);
            }
        }
        if !products.is_empty() {
            builder = builder.templates(products.join(";"));
        }
        if !self.verified_email_domains.is_empty() {
            builder = builder.verified_email_domains(self.verified_email_domains.iter().cloned());
        }
        Ok(builder)
    }

    /// Builds the dtrust-client configuration with the PKCS#12 and the
    /// server certificate read from `dir` (e.g. an extracted bundle): the
    /// files `p12File` and `serverCertificate` name, or, when a name is not
    /// given, the one file of that kind found by content.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when a file is not named and not exactly one
    /// file of its kind is in `dir`, [`Error::Http`] when a file cannot be
    /// read or the PKCS#12 does not open, [`Error::Dtrust`] when
    /// dtrust-client refuses the configuration.
    pub fn to_dtrust_config_in(&self, dir: impl AsRef<Path>) -> Result<DtrustConfig> {
        let dir = dir.as_ref();
        let p12 = resolve_in_dir(dir, self.p12_file.as_deref(), ContentKind::Pkcs12)?;
        let cer = resolve_in_dir(
            dir,
            self.server_certificate.as_deref(),
            ContentKind::Certificate,
        )?;
        let identity = ClientIdentity::from_pkcs12_file(p12, &self.p12_password)?;
        let trust = TrustStore::from_path(cer, None)?;
        self.dtrust_config_builder(identity, trust)?
            .build()
            .map_err(Error::from)
    }
}

impl DtrustBundle {
    /// Checks the bundle and, when there is no error, builds a ready
    /// dtrust-client configuration from it: transport from
    /// `namespaceURI`/`localPart`, the PKCS#12 as the mutual-TLS identity,
    /// only the bundle's `.cer` trusted for the server, proxy, templates and
    /// verified domains.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] with every error diagnostic when the bundle
    /// has errors, [`Error::Dtrust`] when dtrust-client refuses the
    /// configuration.
    pub fn to_dtrust_config(&self, options: &CheckOptions) -> Result<DtrustConfig> {
        let checked = self.check(options);
        let Some(config) = checked.into_result()? else {
            return Err(missing_file(self, "properties", "no .properties file"));
        };
        let Some((p12_name, p12)) = bundle_file(self, config.p12_file.as_deref()) else {
            return Err(missing_file(self, keys::P12_FILE, "no client PKCS#12"));
        };
        let Some((cer_name, cer)) = bundle_file(self, config.server_certificate.as_deref()) else {
            return Err(missing_file(
                self,
                keys::SERVER_CERTIFICATE,
                "no D-Trust server certificate",
            ));
        };
        let identity = ClientIdentity::from_pkcs12_der(
            p12,
            &format!("{}!{p12_name}", self.source_name()),
            &config.p12_password,
        )?;
        let trust =
            TrustStore::from_bytes(cer, &format!("{}!{cer_name}", self.source_name()), None)?;
        config
            .dtrust_config_builder(identity, trust)?
            .build()
            .map_err(Error::from)
    }
}

/// The bundle's file `name` (resolved by [`DtrustBundle::check`]).
fn bundle_file<'a>(bundle: &'a DtrustBundle, name: Option<&'a str>) -> Option<(&'a str, &'a [u8])> {
    let name = name?;
    Some((name, bundle.file(name)?))
}

/// A file the check resolved is not there (not expected once the check
/// found no error).
fn missing_file(bundle: &DtrustBundle, field: &str, what: &str) -> Error {
    Error::InvalidConfig(vec![ConfigProblem::new(
        field,
        format!("{what} in {}; add it to the zip", bundle.source_name()),
    )])
}
