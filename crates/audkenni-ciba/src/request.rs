//! The typed authentication/signing request and its signed request object.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::acr::Acr;
use crate::binding::{
    BindingContent, MAX_APP_BINDING_MESSAGE, MAX_APP_BINDING_MESSAGE_LONG, validate_message,
};
use crate::error::Error;
use crate::kennitala::Kennitala;
use crate::signature::SignedPayload;
use crate::signing_key::RequestSigningKey;

/// The scopes every Audkenni request carries.
pub const BASE_SCOPE: &str = "openid profile signature";

/// How long a request object is valid.
pub(crate) const REQUEST_OBJECT_LIFETIME: Duration = Duration::from_secs(300);

/// An authentication or signing request.
///
/// ```
/// use audkenni_ciba::{Acr, AuthRequest, BindingContent};
/// let request = AuthRequest::new("8422263", Acr::SimSign)
///     .binding_message("Sign the lease for Laugavegur 1")
///     .binding_content(BindingContent::sha256_of(b"%PDF-1.7 ..."))
///     .related_party("exampleclient");
/// assert_eq!(request.scope(), "openid profile signature RELATEDPARTY:exampleclient");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    login_hint: String,
    acr: Acr,
    related_party: Option<String>,
    extra_scopes: Vec<String>,
    binding_message: Option<String>,
    binding_message_long: Option<String>,
    confirmation_message: bool,
    vchoice: bool,
    binding_content: Option<BindingContent>,
    signs: Option<SignedPayload>,
    nexus_url: Option<String>,
    client_notification_token: Option<smartid_core::Secret>,
}

impl AuthRequest {
    /// A request for the user identified by `login_hint` with the method `acr`.
    ///
    /// SIM modes (`sim-*`, `sim`) take the user's mobile number (seed 004:
    /// it MUST be the mobile number): seven digits, written as Icelandic
    /// numbers are (`8422263`, `842 2263`, `842-2263`, `+354 842 2263`,
    /// `00354 8422263`, `3548422263`); it is sent as its seven digits, as
    /// in the seed's example. App modes (`app-*`) take the user's
    /// kennitala (checksum checked, sent as ten digits). Other methods send
    /// the hint as given. [`AuthRequest::validate`] refuses a kennitala in a
    /// SIM mode and a phone number in an app mode.
    pub fn new(login_hint: impl Into<String>, acr: Acr) -> Self {
        Self {
            login_hint: login_hint.into(),
            acr,
            related_party: None,
            extra_scopes: Vec::new(),
            binding_message: None,
            binding_message_long: None,
            confirmation_message: false,
            vchoice: false,
            binding_content: None,
            signs: None,
            nexus_url: None,
            client_notification_token: None,
        }
    }

    /// Asks for ping mode (CIBA Core 10.2): the provider calls the client
    /// notification endpoint registered for this client with this bearer
    /// token when the user has answered. Check the call with
    /// [`crate::parse_ping_notification`], then fetch the tokens with
    /// [`crate::CibaClient::fetch_tokens`]. Polling with
    /// [`crate::CibaClient::wait`] keeps working as a fallback.
    #[must_use]
    pub fn client_notification_token(mut self, token: smartid_core::Secret) -> Self {
        self.client_notification_token = Some(token);
        self
    }

    /// The text the user sees (at most 60 characters without line breaks in app modes).
    #[must_use]
    pub fn binding_message(mut self, message: impl Into<String>) -> Self {
        self.binding_message = Some(message.into());
        self
    }

    /// The longer text for app modes (`binding_message_long`, at most 200 characters).
    #[must_use]
    pub fn binding_message_long(mut self, message: impl Into<String>) -> Self {
        self.binding_message_long = Some(message.into());
        self
    }

    /// Asks the app to show a confirmation screen (`confirmation_message=true`).
    #[must_use]
    pub fn confirmation_message(mut self, on: bool) -> Self {
        self.confirmation_message = on;
        self
    }

    /// Asks the app to show three verification codes for the user to pick
    /// the right one from (`vchoice=true`; with
    /// [`AuthRequest::confirmation_message`] the choice is made in the
    /// prompt window). This has nothing to do with choosing a certificate:
    /// that is [`Acr::AppCertificateChoice`].
    #[must_use]
    pub fn vchoice(mut self, on: bool) -> Self {
        self.vchoice = on;
        self
    }

    /// Says what the user's signature is expected to cover, recorded in the
    /// [`crate::PendingAuth`] and checked by
    /// [`crate::CibaClient::finish_and_verify_signature`]: the displayed
    /// text in an explicit encoding (the seed's sample CMS: UTF-16BE), or
    /// the bytes of the binding content (seed 004: "the actual content that
    /// will be signed"). Defaults to none: the caller checks with
    /// [`crate::SignatureCheck`] expectations.
    #[must_use]
    pub fn signs(mut self, payload: SignedPayload) -> Self {
        self.signs = Some(payload);
        self
    }

    /// What gets signed (`binding_content`).
    #[must_use]
    pub fn binding_content(mut self, content: BindingContent) -> Self {
        self.binding_content = Some(content);
        self
    }

    /// The original relying party when this service signs on behalf of
    /// another (`RELATEDPARTY:<name>` right after the standard scopes).
    #[must_use]
    pub fn related_party(mut self, name: impl Into<String>) -> Self {
        self.related_party = Some(name.into());
        self
    }

    /// Adds a scope after the standard ones (and after `RELATEDPARTY`).
    #[must_use]
    pub fn scope_extra(mut self, scope: impl Into<String>) -> Self {
        self.extra_scopes.push(scope.into());
        self
    }

    /// The URL of the user's Nexus personal connection; required for `nexus-sign`.
    #[must_use]
    pub fn nexus_url(mut self, url: impl Into<String>) -> Self {
        self.nexus_url = Some(url.into());
        self
    }

    /// The client notification token (ping mode), if any.
    pub(crate) fn notification_token(&self) -> Option<&smartid_core::Secret> {
        self.client_notification_token.as_ref()
    }

    /// The login hint.
    pub fn login_hint(&self) -> &str {
        &self.login_hint
    }

    /// The method.
    pub fn acr(&self) -> &Acr {
        &self.acr
    }

    /// The binding message, if set.
    pub fn binding_message_text(&self) -> Option<&str> {
        self.binding_message.as_deref()
    }

    /// The binding content, if set.
    pub fn binding_content_value(&self) -> Option<&BindingContent> {
        self.binding_content.as_ref()
    }

    /// What the signature is expected to cover, if said.
    pub fn signed_payload(&self) -> Option<SignedPayload> {
        self.signs
    }

    /// The login hint as sent: SIM modes the seven digits of the mobile
    /// number, app modes the ten digits of the kennitala.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for `login_hint` when the hint does not
    /// fit the mode.
    pub fn wire_login_hint(&self) -> Result<String, Error> {
        let invalid = |message: String| Error::InvalidRequest {
            field: "login_hint",
            message,
        };
        if self.acr.is_sim() {
            if let Some(phone) = mobile_number(&self.login_hint) {
                return Ok(phone);
            }
            if Kennitala::parse(&self.login_hint).is_ok() {
                return Err(invalid(format!(
                    "the login hint is a kennitala, but {} needs the user's mobile number (seven digits, for example 8422263 or +354 842 2263)",
                    self.acr
                )));
            }
            return Err(invalid(format!(
                "{} needs the user's mobile number: seven digits, optionally with +354, 00354 or 354 before them and spaces or hyphens",
                self.acr
            )));
        }
        if self.acr.is_app() {
            return match Kennitala::parse(&self.login_hint) {
                Ok(kt) => Ok(kt.as_str().to_owned()),
                Err(Error::InvalidKennitala { reason, .. }) => Err(invalid(format!(
                    "{} needs the user's kennitala: {reason}",
                    self.acr
                ))),
                Err(e) => Err(e),
            };
        }
        Ok(self.login_hint.clone())
    }

    /// The scope parameter: `openid profile signature`, then
    /// `RELATEDPARTY:<name>` when set, then any extra scopes.
    pub fn scope(&self) -> String {
        let mut scope = String::from(BASE_SCOPE);
        if let Some(rp) = &self.related_party {
            scope.push_str(" RELATEDPARTY:");
            scope.push_str(rp);
        }
        for s in &self.extra_scopes {
            scope.push(' ');
            scope.push_str(s);
        }
        scope
    }

    /// Checks the request without sending it.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] naming the field: empty login hint, a
    /// binding message too long or with line breaks in app modes, a missing
    /// `nexus_url` for `nexus-sign`, a related party with spaces.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |field, message: &str| Error::InvalidRequest {
            field,
            message: message.to_owned(),
        };
        if self.login_hint.trim().is_empty() {
            return Err(invalid(
                "login_hint",
                "empty: give the phone number or the user's id",
            ));
        }
        self.wire_login_hint()?;
        let app = self.acr.is_app();
        if self.acr == Acr::AppCertificateChoice {
            for (field, set) in [
                ("binding_message", self.binding_message.as_deref()),
                (
                    "binding_content",
                    self.binding_content.as_ref().map(BindingContent::as_str),
                ),
            ] {
                if set.is_some_and(|v| !v.is_empty()) {
                    return Err(invalid(
                        field,
                        "app-certificate-choice sends it as an empty string: leave it unset",
                    ));
                }
            }
        }
        match self.signs {
            Some(SignedPayload::DisplayedText(_)) if self.binding_message.is_none() => {
                return Err(invalid(
                    "binding_message",
                    "signs(DisplayedText) needs the binding message: it is the text expected to be signed",
                ));
            }
            Some(SignedPayload::BindingContent)
                if self
                    .binding_content
                    .as_ref()
                    .is_none_or(|c| c.as_str().is_empty()) =>
            {
                return Err(invalid(
                    "binding_content",
                    "signs(BindingContent) needs a binding content: it is what is expected to be signed",
                ));
            }
            _ => {}
        }
        if let Some(m) = &self.binding_message {
            validate_message("binding_message", m, MAX_APP_BINDING_MESSAGE, app)?;
        }
        if let Some(m) = &self.binding_message_long {
            validate_message("binding_message_long", m, MAX_APP_BINDING_MESSAGE_LONG, app)?;
        }
        if self.acr == Acr::NexusSign
            && self
                .nexus_url
                .as_deref()
                .is_none_or(|u| u.trim().is_empty())
        {
            return Err(invalid(
                "nexus_url",
                "nexus-sign needs the URL of the user's Nexus personal connection: call .nexus_url(..)",
            ));
        }
        if let Some(u) = &self.nexus_url
            && url::Url::parse(u)
                .map(|u| u.scheme() != "https")
                .unwrap_or(true)
        {
            return Err(invalid("nexus_url", "must be an https URL"));
        }
        if let Some(t) = &self.client_notification_token
            && (t.expose_secret().len() < 16 || t.expose_secret().len() > 1024)
        {
            return Err(invalid(
                "client_notification_token",
                "must be 16 to 1024 characters (CIBA asks for at least 128 bits of entropy)",
            ));
        }
        if let Some(rp) = &self.related_party
            && (rp.is_empty() || rp.contains(char::is_whitespace))
        {
            return Err(invalid(
                "related_party",
                "must be one non-empty word without spaces",
            ));
        }
        if self.acr.returns_cms() && self.binding_message.is_none() && self.acr != Acr::NexusSign {
            return Err(invalid(
                "binding_message",
                "signing modes need a binding message: it is the text the user sees (and, for SIM signing, signs)",
            ));
        }
        Ok(())
    }

    /// The claims of the request object, at time `now`.
    pub(crate) fn claims<'a>(
        &'a self,
        client_id: &'a str,
        audience: &'a str,
        now: SystemTime,
        jti: String,
    ) -> RequestObjectClaims<'a> {
        let choice = self.acr == Acr::AppCertificateChoice;
        let iat = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        RequestObjectClaims {
            iss: client_id,
            aud: audience,
            iat,
            nbf: iat,
            exp: iat + REQUEST_OBJECT_LIFETIME.as_secs(),
            jti,
            login_hint: self
                .wire_login_hint()
                .unwrap_or_else(|_| self.login_hint.clone()),
            scope: self.scope(),
            acr_values: self.acr.as_str(),
            binding_message: if choice {
                Some("")
            } else {
                self.binding_message.as_deref()
            },
            binding_message_long: self.binding_message_long.as_deref(),
            confirmation_message: self.confirmation_message.then_some("true"),
            vchoice: self.vchoice.then_some("true"),
            binding_content: if choice {
                Some("")
            } else {
                self.binding_content.as_ref().map(BindingContent::as_str)
            },
            nexus_url: self.nexus_url.as_deref(),
            client_notification_token: self
                .client_notification_token
                .as_ref()
                .map(smartid_core::Secret::expose_secret),
        }
    }

    /// Validates and signs the request object.
    pub(crate) fn signed_request_object(
        &self,
        key: &RequestSigningKey,
        client_id: &str,
        audience: &str,
        now: SystemTime,
    ) -> Result<String, Error> {
        self.validate()?;
        key.sign(&self.claims(client_id, audience, now, random_id(now)))
    }
}

/// The request object's claims.
#[derive(Debug, Serialize)]
pub(crate) struct RequestObjectClaims<'a> {
    pub(crate) iss: &'a str,
    pub(crate) aud: &'a str,
    pub(crate) iat: u64,
    pub(crate) nbf: u64,
    pub(crate) exp: u64,
    pub(crate) jti: String,
    pub(crate) login_hint: String,
    pub(crate) scope: String,
    pub(crate) acr_values: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) binding_message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) binding_message_long: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) confirmation_message: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vchoice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) binding_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nexus_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_notification_token: Option<&'a str>,
}

/// An Icelandic mobile number as its seven digits, from the forms it is
/// written in: spaces, hyphens and non-breaking spaces are ignored, and a
/// `+354`, `00354` or (before seven digits) `354` prefix is dropped.
pub(crate) fn mobile_number(hint: &str) -> Option<String> {
    let compact: String = hint
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
        .collect();
    let digits = compact
        .strip_prefix("+354")
        .or_else(|| compact.strip_prefix("00354"))
        .or_else(|| {
            (compact.len() == 10)
                .then(|| compact.strip_prefix("354"))
                .flatten()
        })
        .unwrap_or(&compact);
    (digits.len() == 7 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.to_owned())
}

/// 128 random bits as hex, for `jti`.
pub(crate) fn random_id(now: SystemTime) -> String {
    let mut bytes = [0u8; 16];
    if !smartid_core::internal::fill_random(&mut bytes) {
        // The system RNG does not fail in practice; fall back to the clock.
        let nanos = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = nanos.to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing_key::JwsAlgorithm;
    use base64::Engine as _;

    use crate::test_keys::{ec_pem, rsa_pem};

    fn payload(jwt: &str) -> (serde_json::Value, serde_json::Value) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let dec = |p: &str| {
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .unwrap(),
            )
            .unwrap()
        };
        (dec(parts[0]), dec(parts[1]))
    }

    #[test]
    fn seed_example_scope_and_claims() {
        let req = AuthRequest::new("8422263", Acr::SimSign)
            .binding_message("binding display message")
            .binding_content(BindingContent::raw("binding content"))
            .related_party("clientname");
        assert_eq!(
            req.scope(),
            "openid profile signature RELATEDPARTY:clientname"
        );
        let issuer = "https://idp.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni";
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let claims =
            serde_json::to_value(req.claims("clientid", issuer, now, "j1".into())).unwrap();
        assert_eq!(claims["aud"], issuer);
        assert_eq!(claims["iss"], "clientid");
        assert_eq!(claims["acr_values"], "sim-sign");
        assert_eq!(claims["iat"], 1_700_000_000u64);
        assert_eq!(claims["nbf"], 1_700_000_000u64);
        assert_eq!(claims["exp"], 1_700_000_300u64);
        assert_eq!(claims["jti"], "j1");
        assert_eq!(claims["binding_content"], "binding content");
        assert!(claims.get("nexus_url").is_none());
        assert!(claims.get("vchoice").is_none());
    }

    #[test]
    fn the_documented_signing_request_is_what_the_client_sends() {
        // Golden: the "example full signing request" of "SIM Signing using CIBA".
        let golden: serde_json::Value = serde_json::from_str(include_str!(
            "../tests/fixtures/seed-request-object-claims.json"
        ))
        .unwrap();
        let req = AuthRequest::new("8422263", Acr::SimSign)
            .binding_message("binding display message")
            .binding_content(BindingContent::raw("binding content"))
            .related_party("clientname")
            .nexus_url(golden["nexus_url"].as_str().unwrap());
        req.validate().unwrap();
        let aud = golden["aud"].as_str().unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let sent = serde_json::to_value(req.claims("clientid", aud, now, "j".into())).unwrap();
        for (key, value) in golden.as_object().unwrap() {
            if key == "exp" {
                assert!(sent["exp"].is_u64());
                continue;
            }
            assert_eq!(&sent[key], value, "{key}");
        }
        // What the client adds beyond the sample: CIBA Core's iat, nbf, jti.
        let extra: Vec<&String> = sent
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !golden.as_object().unwrap().contains_key(*k))
            .collect();
        assert_eq!(extra, ["iat", "jti", "nbf"]);
    }

    #[test]
    fn signs_with_each_algorithm() {
        let now = SystemTime::now();
        let req = AuthRequest::new("0101303369", Acr::AppAuth)
            .binding_message("Login")
            .confirmation_message(true)
            .vchoice(true);
        let (rsa, ec) = (rsa_pem(), ec_pem());
        for (pem, alg) in [
            (&rsa, JwsAlgorithm::Rs256),
            (&rsa, JwsAlgorithm::Ps256),
            (&ec, JwsAlgorithm::Es256),
        ] {
            let key = RequestSigningKey::from_pem(pem.as_bytes(), alg)
                .unwrap()
                .with_kid("k1");
            let jwt = req
                .signed_request_object(&key, "cid", "https://idp", now)
                .unwrap();
            let (header, claims) = payload(&jwt);
            assert_eq!(header["alg"], alg.as_str());
            assert_eq!(header["typ"], "JWT");
            assert_eq!(header["kid"], "k1");
            assert_eq!(claims["confirmation_message"], "true");
            assert_eq!(claims["vchoice"], "true");
            assert_eq!(claims["jti"].as_str().unwrap().len(), 32);
        }
        assert!(RequestSigningKey::from_pem(ec.as_bytes(), JwsAlgorithm::Rs256).is_err());
        assert!(RequestSigningKey::from_pem(b"nonsense", JwsAlgorithm::Es256).is_err());
        let dbg = format!(
            "{:?}",
            RequestSigningKey::from_pem(rsa.as_bytes(), JwsAlgorithm::Rs256).unwrap()
        );
        assert!(dbg.contains("redacted") && !dbg.contains("MII"));
    }

    #[test]
    fn validation_errors_name_the_field() {
        let field = |r: AuthRequest| match r.validate() {
            Err(Error::InvalidRequest { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(AuthRequest::new(" ", Acr::SimAuth)), "login_hint");
        assert_eq!(
            field(AuthRequest::new("0101303369", Acr::AppSign).binding_message("x".repeat(61))),
            "binding_message"
        );
        assert_eq!(
            field(AuthRequest::new("0101303369", Acr::AppAuth).binding_message("two\nlines")),
            "binding_message"
        );
        assert_eq!(
            field(
                AuthRequest::new("0101303369", Acr::AppAuth).binding_message_long("y".repeat(201))
            ),
            "binding_message_long"
        );
        assert_eq!(field(AuthRequest::new("1", Acr::NexusSign)), "nexus_url");
        assert_eq!(
            field(AuthRequest::new("1", Acr::NexusSign).nexus_url("http://plain")),
            "nexus_url"
        );
        assert_eq!(
            field(AuthRequest::new("8422263", Acr::SimSign)),
            "binding_message"
        );
        assert_eq!(
            field(AuthRequest::new("8422263", Acr::SimAuth).related_party("two words")),
            "related_party"
        );
        assert!(
            AuthRequest::new("1", Acr::NexusSign)
                .nexus_url("https://ms.audkenni.is/x")
                .validate()
                .is_ok()
        );
        // SIM modes allow longer messages with line breaks.
        assert!(
            AuthRequest::new("8422263", Acr::SimSign)
                .binding_message("a\n".repeat(40))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn sim_modes_take_a_mobile_number_in_its_written_forms() {
        for written in [
            "8422263",
            "842 2263",
            "842-2263",
            "+354 842 2263",
            "+3548422263",
            "00354 842-2263",
            "3548422263",
            " 842\u{a0}2263 ",
        ] {
            let r = AuthRequest::new(written, Acr::SimAuth);
            assert_eq!(r.wire_login_hint().unwrap(), "8422263", "{written}");
            let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
            let claims = serde_json::to_value(r.claims("c", "https://i", now, "j".into())).unwrap();
            assert_eq!(claims["login_hint"], "8422263");
        }
        let err = AuthRequest::new("010130-3369", Acr::SimSign)
            .binding_message("m")
            .validate()
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(
            err,
            Error::InvalidRequest {
                field: "login_hint",
                ..
            }
        ));
        assert!(
            text.contains("is a kennitala") && text.contains("mobile number"),
            "{text}"
        );
        assert!(!text.contains("3369"), "{text}");
        for bad in ["842226", "84222633", "+45 8422263", "phone"] {
            assert!(
                AuthRequest::new(bad, Acr::SimAuth).validate().is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn app_modes_take_a_kennitala_with_its_checksum() {
        let r = AuthRequest::new("010130-3369", Acr::AppAuth);
        assert_eq!(r.wire_login_hint().unwrap(), "0101303369");
        let err = AuthRequest::new("0101303379", Acr::AppAuth)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("check digit"), "{err}");
        let err = AuthRequest::new("8422263", Acr::AppAuth)
            .validate()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidRequest {
                    field: "login_hint",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn vchoice_and_app_certificate_choice() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let r = AuthRequest::new("0101303369", Acr::AppAuth).vchoice(true);
        let c = serde_json::to_value(r.claims("c", "https://i", now, "j".into())).unwrap();
        assert_eq!(c["vchoice"], "true");
        // app-certificate-choice: binding_message and binding_content as "".
        let r = AuthRequest::new("0101303369", Acr::AppCertificateChoice);
        r.validate().unwrap();
        let c = serde_json::to_value(r.claims("c", "https://i", now, "j".into())).unwrap();
        assert_eq!(c["binding_message"], "");
        assert_eq!(c["binding_content"], "");
        assert!(c.get("vchoice").is_none());
        let err = AuthRequest::new("0101303369", Acr::AppCertificateChoice)
            .binding_message("Pick")
            .validate()
            .unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidRequest {
                field: "binding_message",
                ..
            }
        ));
    }
}
