//! The client's configuration: Hermod's URL, the API token, command timing
//! and HTTP settings.

use smartid_core::{HttpSettings, Secret};

use crate::error::{Error, Result};
use crate::timing::CommandTiming;
use crate::token::ApiToken;
use crate::vocab::CommandKind;

/// A validated client configuration. Build it with [`HermodConfig::builder`].
///
/// ```
/// use hermod_client::{CommandTiming, HermodConfig};
///
/// let config = HermodConfig::builder("https://hermod.example.com:20400/hermod/rest/command")
///     .token_base64("cHJpbWUxOjA3OWI2YTY0ZDc1YjRlOTU4NWJkMGMyNGYzNmE3ZGViYTBhZDAzNDk4ZWNmNGQ2OWI1NzY2ZjI0ZmEwMmUwNDU=")
///     .timing(CommandTiming::from_secs(300, 120, 10)?)
///     .build()?;
/// assert_eq!(config.base_url(), "https://hermod.example.com:20400/hermod/");
/// assert_eq!(
///     config.command_url(hermod_client::CommandKind::Sign),
///     "https://hermod.example.com:20400/hermod/rest/command/sign"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct HermodConfig {
    base_url: String,
    token: ApiToken,
    timing: CommandTiming,
    http: HttpSettings,
}

impl HermodConfig {
    /// Starts a configuration for Hermod at `url`: either the base
    /// (`https://host:port/hermod/`) or Identity Manager's "Messaging Server"
    /// URL ending in `/hermod/rest/command`.
    pub fn builder(url: impl Into<String>) -> HermodConfigBuilder {
        HermodConfigBuilder {
            url: url.into(),
            token: None,
            client_id: None,
            key: None,
            timing: None,
            http: HttpSettings::new(),
        }
    }

    /// The base URL, ending in `/` (e.g. `https://host:20400/hermod/`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `{base}rest/command/{kind}`.
    pub fn command_url(&self, kind: CommandKind) -> String {
        const PATH: &str = "rest/command/";
        let segment = kind.path_segment();
        let mut url = String::with_capacity(self.base_url.len() + PATH.len() + segment.len());
        url.push_str(&self.base_url);
        url.push_str(PATH);
        url.push_str(segment);
        url
    }

    /// The API credentials.
    pub fn token(&self) -> &ApiToken {
        &self.token
    }

    /// The command timing.
    pub fn timing(&self) -> &CommandTiming {
        &self.timing
    }

    /// The HTTP settings.
    pub fn http_settings(&self) -> &HttpSettings {
        &self.http
    }

    pub(crate) fn set_http_settings(&mut self, settings: HttpSettings) {
        self.http = settings;
    }
}

/// Builder of [`HermodConfig`]; [`HermodConfigBuilder::build`] validates everything at once.
#[derive(Debug)]
#[must_use]
pub struct HermodConfigBuilder {
    url: String,
    token: Option<Secret>,
    client_id: Option<String>,
    key: Option<Secret>,
    timing: Option<CommandTiming>,
    http: HttpSettings,
}

impl HermodConfigBuilder {
    /// The ready token `base64(client-id:key)` (Identity Manager's "Authentication token").
    pub fn token_base64(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token.into()));
        self
    }

    /// The client id and key of Hermod's `allowed-clients` entry.
    pub fn client(mut self, client_id: impl Into<String>, key: Secret) -> Self {
        self.client_id = Some(client_id.into());
        self.key = Some(key);
        self
    }

    /// The command timing. Defaults to [`CommandTiming::default`] (300 s, 120 s, 10 s).
    pub fn timing(mut self, timing: CommandTiming) -> Self {
        self.timing = Some(timing);
        self
    }

    /// Trust, proxy, client identity and timeouts. Defaults to
    /// [`HttpSettings::new`] (platform roots, no proxy, HTTPS only).
    pub fn http_settings(mut self, settings: HttpSettings) -> Self {
        self.http = settings;
        self
    }

    /// Validates and builds.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] with every problem found: a URL that is not
    /// https (unless the HTTP settings dangerously allow http), has
    /// credentials, a query or an unexpected path (field `base_url`); a
    /// missing, invalid or doubly given token (field `token`).
    pub fn build(self) -> Result<HermodConfig> {
        let base_url = normalize_base(&self.http, &self.url);
        let token = match (self.token, self.client_id, self.key) {
            (Some(_), Some(_), _) => Err(Error::config(
                "token",
                "both a ready token and a client id/key were given; give one of them",
            )),
            (Some(token), None, _) => ApiToken::from_base64(token.expose_secret()),
            (None, Some(id), Some(key)) => ApiToken::new(id, key),
            _ => Err(Error::config(
                "token",
                "no API credentials: give the authentication token (base64 of client-id:key) or \
                 the client id and key",
            )),
        };
        match (base_url, token) {
            (Ok(base_url), Ok(token)) => Ok(HermodConfig {
                base_url,
                token,
                timing: self.timing.unwrap_or_default(),
                http: self.http,
            }),
            (base_url, token) => {
                let mut problems = Vec::new();
                for error in [base_url.err(), token.err()].into_iter().flatten() {
                    match error {
                        Error::InvalidConfig(found) => problems.extend(found),
                        other => problems.push(smartid_core::ConfigProblem::new(
                            "http_settings",
                            other.to_string(),
                        )),
                    }
                }
                Err(Error::InvalidConfig(problems))
            }
        }
    }
}

/// `https://h/hermod`, `https://h/hermod/`, `https://h/hermod/rest/command[/]`
/// all become `https://h/hermod/`.
fn normalize_base(http: &HttpSettings, url: &str) -> Result<String> {
    let bad = |message: String| Error::config("base_url", message);
    let mut parsed = http
        .check_url("base_url", url.trim())
        .map_err(|e| match e {
            smartid_core::Error::InvalidSetting { message, .. } => bad(message),
            other => Error::Http(other),
        })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(
            "the URL carries credentials; remove them and give the API token separately".into(),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad(format!(
            "{} has a query or fragment; give the base URL (https://host:port/hermod/) or the command URL ending in /hermod/rest/command",
            smartid_core::internal::redact_url(url)
        )));
    }
    let path = parsed.path().trim_end_matches('/').to_owned();
    let base_path = if let Some(p) = path.strip_suffix("/rest/command") {
        p.to_owned()
    } else if CommandKind::KNOWN
        .iter()
        .any(|k| path.ends_with(&format!("/rest/command/{}", k.path_segment())))
    {
        return Err(bad(format!(
            "{} names one command; give the base URL (https://host:port/hermod/) or the URL ending in /rest/command",
            smartid_core::internal::redact_url(url)
        )));
    } else if path.ends_with("/rest") {
        return Err(bad(format!(
            "{} ends in /rest; give the base URL (https://host:port/hermod/) or the URL ending in /rest/command",
            smartid_core::internal::redact_url(url)
        )));
    } else {
        path
    };
    parsed.set_path(&format!("{base_path}/"));
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_TOKEN: &str = "cHJpbWUxOjA3OWI2YTY0ZDc1YjRlOTU4NWJkMGMyNGYzNmE3ZGViYTBhZDAzNDk4ZWNmNGQ2OWI1NzY2ZjI0ZmEwMmUwNDU=";

    fn base(url: &str) -> Result<String> {
        HermodConfig::builder(url)
            .token_base64(SEED_TOKEN)
            .build()
            .map(|c| c.base_url().to_owned())
    }

    #[test]
    fn both_url_forms_are_accepted() {
        for url in [
            "https://h:20400/hermod",
            "https://h:20400/hermod/",
            "https://h:20400/hermod/rest/command",
            " https://h:20400/hermod/rest/command/ ",
        ] {
            assert_eq!(base(url).unwrap(), "https://h:20400/hermod/", "{url}");
        }
        assert_eq!(base("https://h/").unwrap(), "https://h/");
    }

    #[test]
    fn bad_urls_say_what_to_give() {
        let e = |u: &str| base(u).unwrap_err().to_string();
        assert!(e("http://h/hermod").contains("https"));
        assert!(e("https://u:p@h/hermod").contains("credentials"));
        assert!(e("https://h/hermod/rest/command/sign").contains("one command"));
        assert!(e("https://h/hermod?x=1").contains("query"));
        assert!(e("hermod").contains("base_url"));
        let mut http = HttpSettings::new();
        http.dangerous().allow_plain_http();
        let c = HermodConfig::builder("http://127.0.0.1:1/hermod/rest/command")
            .token_base64(SEED_TOKEN)
            .http_settings(http)
            .build()
            .unwrap();
        assert_eq!(
            c.command_url(CommandKind::Ping),
            "http://127.0.0.1:1/hermod/rest/command/ping"
        );
    }

    #[test]
    fn token_rules() {
        assert!(
            HermodConfig::builder("https://h/hermod")
                .build()
                .unwrap_err()
                .to_string()
                .contains("no API credentials")
        );
        let both = HermodConfig::builder("https://h/hermod")
            .token_base64(SEED_TOKEN)
            .client("prime1", Secret::new("k"))
            .build();
        assert!(both.unwrap_err().to_string().contains("one of them"));
        // Every problem at once.
        let e = HermodConfig::builder("http://h/hermod?x=1")
            .build()
            .unwrap_err();
        let fields: Vec<&str> = e
            .config_problems()
            .iter()
            .map(|p| p.field.as_str())
            .collect();
        assert_eq!(fields, ["base_url", "token"], "{e}");
        let c = HermodConfig::builder("https://h/hermod")
            .client(
                "prime1",
                Secret::new("079b6a64d75b4e9585bd0c24f36a7deba0ad03498ecf4d69b5766f24fa02e045"),
            )
            .build()
            .unwrap();
        assert_eq!(c.token().to_base64().expose_secret(), SEED_TOKEN);
        assert!(!format!("{c:?}").contains("079b6a64"));
    }
}
