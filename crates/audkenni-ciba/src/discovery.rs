//! Provider metadata: from `/.well-known/openid-configuration`, or given.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The provider endpoints and facts the client uses.
///
/// The `issuer` is kept exactly as published (Audkenni's includes `:443`):
/// it is the request object's `aud` and must equal the id_token's `iss`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer identifier, verbatim.
    pub issuer: String,
    /// The backchannel authentication endpoint (`bc-authorize`).
    pub backchannel_authentication_endpoint: String,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The JWKS URI.
    pub jwks_uri: String,
    /// Supported token delivery modes (`poll`, `ping`, `push`), if published.
    #[serde(default)]
    pub backchannel_token_delivery_modes_supported: Vec<String>,
    /// Supported client authentication methods, if published.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Supported id_token signing algorithms, if published.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Supported acr values, if published.
    #[serde(default)]
    pub acr_values_supported: Vec<String>,
    /// Whether `request` objects are supported, if published.
    #[serde(default)]
    pub request_parameter_supported: Option<bool>,
}

impl ProviderMetadata {
    /// Metadata given explicitly (no discovery).
    pub fn new(
        issuer: impl Into<String>,
        backchannel_authentication_endpoint: impl Into<String>,
        token_endpoint: impl Into<String>,
        jwks_uri: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            backchannel_authentication_endpoint: backchannel_authentication_endpoint.into(),
            token_endpoint: token_endpoint.into(),
            jwks_uri: jwks_uri.into(),
            backchannel_token_delivery_modes_supported: Vec::new(),
            token_endpoint_auth_methods_supported: Vec::new(),
            id_token_signing_alg_values_supported: Vec::new(),
            acr_values_supported: Vec::new(),
            request_parameter_supported: None,
        }
    }

    /// Audkenni's layout under a base host: issuer
    /// `https://<host>:443/sso/oauth2/realms/root/realms/audkenni` and the
    /// endpoints below it (`bc-authorize`, `access_token`, `connect/jwk_uri`).
    pub fn audkenni(host: &str) -> Self {
        let base = format!("https://{host}:443/sso/oauth2/realms/root/realms/audkenni");
        let plain = format!("https://{host}/sso/oauth2/realms/root/realms/audkenni");
        Self::new(
            base,
            format!("{plain}/bc-authorize"),
            format!("{plain}/access_token"),
            format!("{plain}/connect/jwk_uri"),
        )
    }

    /// Parses a discovery document and checks that it belongs to `issuer`
    /// (compared as URLs, so a published `:443` matches an issuer given
    /// without it; the published string is kept).
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] when the document is not JSON, lacks an
    /// endpoint, or names another issuer.
    pub fn from_discovery_document(body: &[u8], issuer: &str, url: &str) -> Result<Self, Error> {
        let answer = smartid_core::HttpResponse::new(
            200,
            Vec::new(),
            body.to_vec(),
            &smartid_core::internal::redact_url(url),
        );
        let invalid = |message: String| {
            Error::InvalidResponse(smartid_core::UnexpectedAnswer::new(&answer, message))
        };
        let meta: Self = serde_json::from_slice(body).map_err(|e| {
            invalid(format!(
                "an OpenID discovery document (this is not a discovery document: {e})"
            ))
        })?;
        for (name, value) in [
            ("issuer", &meta.issuer),
            (
                "backchannel_authentication_endpoint",
                &meta.backchannel_authentication_endpoint,
            ),
            ("token_endpoint", &meta.token_endpoint),
            ("jwks_uri", &meta.jwks_uri),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(format!(
                    "{name} is empty; the provider does not publish CIBA"
                )));
            }
            if url::Url::parse(value).is_err() {
                return Err(invalid(format!("{name} {value:?} is not a URL")));
            }
        }
        if !same_issuer(&meta.issuer, issuer) {
            return Err(invalid(format!(
                "the document names issuer {:?}, not {issuer:?}; check the issuer URL",
                meta.issuer
            )));
        }
        if !meta.backchannel_token_delivery_modes_supported.is_empty()
            && !meta
                .backchannel_token_delivery_modes_supported
                .iter()
                .any(|m| m == "poll")
        {
            return Err(invalid(
                "the provider does not support the CIBA poll mode".into(),
            ));
        }
        Ok(meta)
    }
}

/// The discovery URL of an issuer.
pub(crate) fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Issuers compared as URLs (`:443` is the https default), trailing slash ignored.
fn same_issuer(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        url::Url::parse(s.trim_end_matches('/'))
            .map(|u| u.to_string().trim_end_matches('/').to_owned())
    };
    match (norm(a), norm(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDKENNI: &str = r#"{
        "issuer": "https://idp.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni",
        "backchannel_authentication_endpoint": "https://idp.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni/bc-authorize",
        "token_endpoint": "https://idp.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni/access_token",
        "jwks_uri": "https://idp.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni/connect/jwk_uri",
        "request_parameter_supported": true,
        "scopes_supported": ["signature", "openid", "profile"],
        "backchannel_token_delivery_modes_supported": ["poll"],
        "acr_values_supported": ["sim-sign", "app-auth"]
    }"#;

    #[test]
    fn keeps_the_issuer_with_port() {
        let m = ProviderMetadata::from_discovery_document(
            AUDKENNI.as_bytes(),
            "https://idp.audkenni.is/sso/oauth2/realms/root/realms/audkenni/",
            "https://idp.audkenni.is/x",
        )
        .unwrap();
        assert_eq!(
            m.issuer,
            "https://idp.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni"
        );
        assert_eq!(m.request_parameter_supported, Some(true));
        assert_eq!(m.acr_values_supported.len(), 2);
        assert_eq!(
            discovery_url("https://h/sso/"),
            "https://h/sso/.well-known/openid-configuration"
        );
        assert_eq!(
            ProviderMetadata::audkenni("idp.audkenni.is").issuer,
            m.issuer
        );
    }

    #[test]
    fn rejects_bad_documents() {
        let iss = "https://idp.audkenni.is/sso/oauth2/realms/root/realms/audkenni";
        let parse = |b: &str| {
            ProviderMetadata::from_discovery_document(b.as_bytes(), iss, "https://h")
                .unwrap_err()
                .to_string()
        };
        assert!(parse("<html>").contains("not a discovery document"));
        assert!(parse(r#"{"issuer":"x"}"#).contains("not a discovery document"));
        let other = AUDKENNI.replace("idp.audkenni.is:443/sso", "evil.example/sso");
        assert!(parse(&other).contains("names issuer"));
        let no_poll = AUDKENNI.replace(r#"["poll"]"#, r#"["push"]"#);
        assert!(parse(&no_poll).contains("poll"));
        let empty = AUDKENNI.replace("connect/jwk_uri", "").replace(
            r#""jwks_uri": "https://idp.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni/""#,
            r#""jwks_uri": """#,
        );
        assert!(parse(&empty).contains("jwks_uri"));
    }
}
