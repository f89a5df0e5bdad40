//! From the D-Trust connector's configuration to a ready dtrust-client
//! configuration.

use std::path::Path;

use dtrust_client::{DtrustConfig, DtrustConfigBuilder, SoapService, Transport};
use smartid_core::{ClientIdentity, HttpSettings, ProxySettings, TrustStore};

use crate::bundle::{ContentKind, DtrustBundle, resolve_in_dir};
use crate::dtrust::{CheckOptions, DtrustConnectorConfig, DtrustTransport};
use crate::error::{Error, Result};

fn client_error(e: dtrust_client::Error) -> Error {
    Error::ClientConfig {
        client: "dtrust-client",
        message: e.to_string(),
    }
}

impl DtrustConnectorConfig {
    /// A dtrust-client builder with the transport (REST, or SOAP when
    /// `namespaceURI`/`localPart` are set), proxy, certificate templates
    /// (product names) and verified e-mail domains of this configuration,
    /// and the given identity and server trust. Adjust it (timeouts, issuing
    /// CA, password policy) and call `build`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `url` is missing, [`Error::Core`] when the
    /// proxy is unusable.
    pub fn dtrust_config_builder(
        &self,
        identity: ClientIdentity,
        server_trust: TrustStore,
    ) -> Result<DtrustConfigBuilder> {
        let Some(url) = self.url.clone() else {
            return Err(Error::Invalid(vec![crate::Diagnostic::error(
                "configuration",
                None,
                crate::Code::UrlMissing,
                "url is missing; set the D-Trust service URL",
            )]));
        };
        let transport = match &self.transport {
            DtrustTransport::Soap {
                namespace_uri,
                local_part,
            } => Transport::soap(
                url,
                SoapService::new(namespace_uri.clone(), local_part.clone()),
            ),
            _ => Transport::rest(url),
        };
        let mut http = HttpSettings::new();
        if let Some(proxy) = &self.proxy {
            http = http.proxy(ProxySettings::new(proxy.host.clone(), proxy.port)?);
        }
        let mut builder = DtrustConfig::builder(transport)
            .http_settings(http)
            .client_identity(identity)
            .server_trust(server_trust);
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
    /// [`Error::Invalid`] when a file is not named and not exactly one file
    /// of its kind is in `dir`, [`Error::Core`] when a file cannot be read
    /// or the PKCS#12 does not open, [`Error::ClientConfig`] when
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
            .map_err(client_error)
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
    /// [`Error::Invalid`] with every diagnostic when the bundle has errors,
    /// [`Error::ClientConfig`] when dtrust-client refuses the configuration.
    pub fn to_dtrust_config(&self, options: &CheckOptions) -> Result<DtrustConfig> {
        let checked = self.check(options);
        let diagnostics = checked.diagnostics.clone();
        let Some(config) = checked.into_result()? else {
            return Err(Error::Invalid(diagnostics));
        };
        let (Some(p12_name), Some(cer_name)) = (&config.p12_file, &config.server_certificate)
        else {
            return Err(Error::Invalid(diagnostics));
        };
        let (Some(p12), Some(cer)) = (self.file(p12_name), self.file(cer_name)) else {
            return Err(Error::Invalid(diagnostics));
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
            .map_err(client_error)
    }
}
