//! Client authentication at the provider's endpoints.

use std::time::{SystemTime, UNIX_EPOCH};

use smartid_core::{HttpRequest, Secret};

use crate::error::Error;
use crate::request::random_id;
use crate::signing_key::RequestSigningKey;

/// How the client authenticates at bc-authorize and the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `Authorization: Basic base64(client_id:client_secret)` with the id
    /// and secret as they are, as Audkenni expects. The default.
    #[default]
    ClientSecretBasic,
    /// client_secret_basic with id and secret form-urlencoded first (RFC 6749 2.3.1).
    ClientSecretBasicFormEncoded,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A `client_assertion` JWT signed with the request-signing key (RFC 7523).
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    pub(crate) fn needs_secret(self) -> bool {
        !matches!(self, Self::PrivateKeyJwt)
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The parts of client authentication.
#[derive(Debug)]
pub(crate) struct ClientCredentials<'a> {
    pub(crate) method: ClientAuthMethod,
    pub(crate) client_id: &'a str,
    pub(crate) secret: Option<&'a Secret>,
    pub(crate) key: &'a RequestSigningKey,
    pub(crate) audience: &'a str,
}

/// A form POST to `url` with `pairs`, authenticated as configured.
pub(crate) fn authenticated_post(
    url: &str,
    pairs: &[(&str, &str)],
    creds: &ClientCredentials<'_>,
    now: SystemTime,
) -> Result<HttpRequest, Error> {
    let missing_secret = || {
        Error::config(
            "client_secret",
            "this client authentication method needs a client secret",
        )
    };
    let mut form: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    let mut request = HttpRequest::post(url).header("Accept", "application/json");
    match creds.method {
        ClientAuthMethod::ClientSecretBasic => {
            request = request.basic_auth(creds.client_id, creds.secret.ok_or_else(missing_secret)?);
        }
        ClientAuthMethod::ClientSecretBasicFormEncoded => {
            let secret = creds.secret.ok_or_else(missing_secret)?;
            let encoded = Secret::new(form_encode(secret.expose_secret()));
            request = request.basic_auth(&form_encode(creds.client_id), &encoded);
        }
        ClientAuthMethod::ClientSecretPost => {
            let secret = creds.secret.ok_or_else(missing_secret)?;
            form.push(("client_id", creds.client_id.to_owned()));
            form.push(("client_secret", secret.expose_secret().to_owned()));
        }
        ClientAuthMethod::PrivateKeyJwt => {
            let iat = now
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let assertion = creds.key.sign(&serde_json::json!({
                "iss": creds.client_id,
                "sub": creds.client_id,
                "aud": creds.audience,
                "jti": random_id(now),
                "iat": iat,
                "exp": iat + 60,
            }))?;
            form.push(("client_id", creds.client_id.to_owned()));
            form.push((
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
            ));
            form.push(("client_assertion", assertion));
        }
    }
    let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(request.form(&borrowed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing_key::JwsAlgorithm;
    use crate::test_keys::rsa_pem;

    fn key() -> RequestSigningKey {
        RequestSigningKey::from_pem(rsa_pem().as_bytes(), JwsAlgorithm::Rs256).unwrap()
    }

    fn basic(method: ClientAuthMethod, id: &str, secret: &str) -> String {
        let k = key();
        let s = Secret::new(secret);
        let creds = ClientCredentials {
            method,
            client_id: id,
            secret: Some(&s),
            key: &k,
            audience: "https://idp",
        };
        let req = authenticated_post(
            "https://idp/token",
            &[("a", "b")],
            &creds,
            SystemTime::now(),
        )
        .unwrap();
        // The Authorization header is secret: only visible through the body-free debug as redacted.
        assert!(!format!("{req:?}").contains(secret));
        String::from_utf8(req.body_bytes().unwrap().to_vec()).unwrap()
    }

    #[test]
    fn each_method_builds_its_form() {
        assert_eq!(
            basic(ClientAuthMethod::ClientSecretBasic, "c", "p:w&"),
            "a=b"
        );
        assert_eq!(
            basic(ClientAuthMethod::ClientSecretBasicFormEncoded, "c", "p:w&"),
            "a=b"
        );
        assert_eq!(
            basic(ClientAuthMethod::ClientSecretPost, "c", "p w"),
            "a=b&client_id=c&client_secret=p+w"
        );
        let k = key();
        let creds = ClientCredentials {
            method: ClientAuthMethod::PrivateKeyJwt,
            client_id: "c",
            secret: None,
            key: &k,
            audience: "https://idp",
        };
        let req = authenticated_post("https://idp/token", &[], &creds, SystemTime::now()).unwrap();
        let body = String::from_utf8(req.body_bytes().unwrap().to_vec()).unwrap();
        assert!(body.contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        ));
        assert!(body.contains("client_assertion=ey"));
        let creds = ClientCredentials {
            method: ClientAuthMethod::ClientSecretPost,
            ..creds
        };
        assert!(authenticated_post("https://idp/token", &[], &creds, SystemTime::now()).is_err());
    }

    #[test]
    fn form_encoding_of_basic_credentials() {
        assert_eq!(form_encode("p:w&x y"), "p%3Aw%26x+y");
    }
}
