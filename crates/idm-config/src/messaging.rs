//! Identity Manager's Messaging Server entry (Home > Messaging Server): how
//! Identity Manager reaches Smart ID Messaging (Hermod).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use smartid_core::Secret;

use crate::checked::Checked;
use crate::diagnostic::{Code, Diagnostic};
use crate::json_util::{as_text, field, line_of};

/// Default of "Timeout for SessionStart" in seconds.
pub const DEFAULT_SESSION_START_TIMEOUT_SECS: u64 = 10;

fn default_session_start() -> u64 {
    DEFAULT_SESSION_START_TIMEOUT_SECS
}

/// A Messaging Server entry of Identity Manager Admin.
///
/// In JSON the fields are `name`, `description`, `url`,
/// `authenticationToken`, `lifespan`, `timeout` and `sessionStartTimeout`
/// (durations in seconds).
///
/// ```
/// use idm_config::MessagingServerEntry;
///
/// let entry = MessagingServerEntry::from_json(r#"{
///   "name": "Hermod", "url": "https://hermod.example:20400/hermod/rest/command",
///   "authenticationToken": "cHJpbWUxOnNlY3JldA==", "lifespan": 600, "timeout": 300
/// }"#, "messaging.json").into_result()?.expect("an entry");
/// assert_eq!(entry.client_id().as_deref(), Some("prime1"));
/// assert_eq!(entry.session_start_timeout().as_secs(), 10);
/// # Ok::<(), idm_config::Error>(())
/// ```
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MessagingServerEntry {
    /// Name shown in Identity Manager Admin.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Hermod's command URL, HTTPS, ending in `command`
    /// (e.g. `https://host:port/hermod/rest/command`).
    pub url: String,
    /// `base64(client-id:key)`, sent as Hermod's `X-Api-Key`. Written back
    /// when the entry is serialized (it is the entry's own content).
    #[serde(with = "smartid_core::expose_secret_serde")]
    pub authentication_token: Secret,
    /// Lifespan of a command in seconds.
    pub lifespan: u64,
    /// Timeout of a command in seconds (shorter than the lifespan).
    pub timeout: u64,
    /// Timeout for SessionStart in seconds (shorter than the timeout). Defaults to 10.
    #[serde(default = "default_session_start")]
    pub session_start_timeout: u64,
}

impl fmt::Debug for MessagingServerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessagingServerEntry")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("url", &self.url)
            .field("client_id", &self.client_id())
            .field("authentication_token", &self.authentication_token)
            .field("lifespan", &self.lifespan)
            .field("timeout", &self.timeout)
            .field("session_start_timeout", &self.session_start_timeout)
            .finish()
    }
}

/// Decodes `base64(client-id:key)`; `None` when it is not that shape.
pub(crate) fn decode_token(token: &str) -> Result<(String, Secret), Code> {
    let cleaned: String = token.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&cleaned)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&cleaned))
        .map_err(|_| Code::TokenNotBase64)?;
    let text = String::from_utf8(bytes).map_err(|_| Code::TokenNotClientIdKey)?;
    let text = Secret::new(text);
    match text.expose_secret().split_once(':') {
        Some((id, key)) if !id.is_empty() && !key.is_empty() => {
            Ok((id.to_owned(), Secret::new(key)))
        }
        _ => Err(Code::TokenNotClientIdKey),
    }
}

impl MessagingServerEntry {
    /// An entry with the default SessionStart timeout.
    pub fn new(
        name: &str,
        url: &str,
        authentication_token: Secret,
        lifespan: u64,
        timeout: u64,
    ) -> Self {
        Self {
            name: name.to_owned(),
            description: String::new(),
            url: url.to_owned(),
            authentication_token,
            lifespan,
            timeout,
            session_start_timeout: DEFAULT_SESSION_START_TIMEOUT_SECS,
        }
    }

    /// The client id inside the token, when the token decodes.
    pub fn client_id(&self) -> Option<String> {
        decode_token(self.authentication_token.expose_secret())
            .ok()
            .map(|(id, _)| id)
    }

    /// The client id and key inside the token, when the token decodes.
    pub fn credentials(&self) -> Option<(String, Secret)> {
        decode_token(self.authentication_token.expose_secret()).ok()
    }

    /// Lifespan.
    pub fn lifespan(&self) -> Duration {
        Duration::from_secs(self.lifespan)
    }

    /// Timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// Timeout for SessionStart.
    pub fn session_start_timeout(&self) -> Duration {
        Duration::from_secs(self.session_start_timeout)
    }

    /// Reads an entry from JSON and checks it; missing fields and wrong
    /// types are reported together with the other problems.
    pub fn from_json(text: &str, source_name: &str) -> Checked<Option<Self>> {
        let mut out = Vec::new();
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                out.push(Diagnostic::error(
                    source_name,
                    Some(e.line()),
                    Code::MessagingJson,
                    format!("not valid JSON: {e}"),
                ));
                return Checked::new(None, out);
            }
        };
        let Some(obj) = value.as_object() else {
            out.push(Diagnostic::error(source_name, Some(1), Code::MessagingJson, "a Messaging Server entry is a JSON object with name, url, authenticationToken, lifespan, timeout"));
            return Checked::new(None, out);
        };
        let mut text_field = |names: &[&'static str], required: bool| -> Option<String> {
            match field(obj, names) {
                Some((n, v)) => match as_text(v) {
                    Some(s) => Some(s),
                    None => {
                        out.push(Diagnostic::error(
                            source_name,
                            line_of(text, n),
                            Code::MessagingJson,
                            format!("`{n}` must be a string"),
                        ));
                        None
                    }
                },
                None if required => {
                    out.push(Diagnostic::error(
                        source_name,
                        None,
                        Code::MessagingFieldMissing,
                        format!(
                            "`{}` is missing; add it",
                            names.first().copied().unwrap_or_default()
                        ),
                    ));
                    None
                }
                None => None,
            }
        };
        let name = text_field(&["name"], true);
        let description = text_field(&["description"], false).unwrap_or_default();
        let url = text_field(&["url", "URL"], true);
        let token = text_field(&["authenticationToken", "authentication_token"], true);
        let mut seconds = |names: &[&'static str], default: Option<u64>| -> Option<u64> {
            match field(obj, names) {
                Some((n, v)) => {
                    let parsed = v
                        .as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
                    if parsed.is_none() {
                        out.push(Diagnostic::error(
                            source_name,
                            line_of(text, n),
                            Code::MessagingJson,
                            format!("`{n}` must be a whole number of seconds"),
                        ));
                    }
                    parsed
                }
                None => {
                    if default.is_none() {
                        out.push(Diagnostic::error(
                            source_name,
                            None,
                            Code::MessagingFieldMissing,
                            format!(
                                "`{}` is missing; add it in seconds",
                                names.first().copied().unwrap_or_default()
                            ),
                        ));
                    }
                    default
                }
            }
        };
        let lifespan = seconds(&["lifespan"], None);
        let timeout = seconds(&["timeout"], None);
        let session_start = seconds(
            &[
                "sessionStartTimeout",
                "session_start_timeout",
                "timeoutForSessionStart",
            ],
            Some(DEFAULT_SESSION_START_TIMEOUT_SECS),
        );
        let entry = match (name, url, token, lifespan, timeout, session_start) {
            (
                Some(name),
                Some(url),
                Some(token),
                Some(lifespan),
                Some(timeout),
                Some(session_start_timeout),
            ) => {
                let entry = Self {
                    name,
                    description,
                    url,
                    authentication_token: Secret::new(token),
                    lifespan,
                    timeout,
                    session_start_timeout,
                };
                out.extend(entry.check_at(source_name, Some(text)));
                Some(entry)
            }
            _ => None,
        };
        Checked::new(entry, out)
    }

    /// Checks the entry: URL HTTPS and ending in `command`, token
    /// `base64(client-id:key)`, SessionStart < timeout < lifespan, no zero.
    pub fn check(&self, source_name: &str) -> Vec<Diagnostic> {
        self.check_at(source_name, None)
    }

    fn check_at(&self, file: &str, text: Option<&str>) -> Vec<Diagnostic> {
        let line = |f: &str| text.and_then(|t| line_of(t, f));
        let mut out = Vec::new();
        if self.name.trim().is_empty() {
            out.push(Diagnostic::error(
                file,
                line("name"),
                Code::MessagingFieldMissing,
                "name is empty; give the Messaging Server a name",
            ));
        }
        match url::Url::parse(self.url.trim()) {
            Err(e) => out.push(Diagnostic::error(file, line("url"), Code::MessagingUrlInvalid, format!("url is not an absolute URL ({e}); write https://<hermod-host>:<port>/hermod/rest/command"))),
            Ok(u) => {
                if u.scheme() != "https" {
                    out.push(Diagnostic::error(file, line("url"), Code::MessagingUrlNotHttps, format!("url uses `{}`; Smart ID Messaging must be reached over HTTPS: use https:// and Hermod's HTTPS port", u.scheme())));
                }
                if !u.path().trim_end_matches('/').ends_with("command") {
                    out.push(Diagnostic::error(file, line("url"), Code::MessagingUrlNotCommand, format!("url path `{}` does not end in `command`; use Hermod's command URL, e.g. https://<host>:<port>/hermod/rest/command", u.path())));
                }
            }
        }
        match decode_token(self.authentication_token.expose_secret()) {
            Ok(_) => {}
            Err(Code::TokenNotBase64) => out.push(Diagnostic::error(file, line("authenticationToken"), Code::TokenNotBase64, "authenticationToken is not base64; enter base64(client-id:key) with the client id and key of the Hermod client")),
            Err(_) => out.push(Diagnostic::error(file, line("authenticationToken"), Code::TokenNotClientIdKey, "authenticationToken decodes, but not to `client-id:key` with both parts non-empty; enter base64(client-id:key)")),
        }
        for (f, v) in [
            ("lifespan", self.lifespan),
            ("timeout", self.timeout),
            ("sessionStartTimeout", self.session_start_timeout),
        ] {
            if v == 0 {
                out.push(Diagnostic::error(
                    file,
                    line(f),
                    Code::DurationZero,
                    format!("{f} is 0 seconds; give a positive number of seconds"),
                ));
            }
        }
        if self.timeout >= self.lifespan {
            out.push(Diagnostic::error(file, line("timeout"), Code::TimeoutNotBelowLifespan, format!("timeout ({} s) must be shorter than lifespan ({} s): after the timeout the command stays pollable until the lifespan ends; lower the timeout or raise the lifespan", self.timeout, self.lifespan)));
        }
        if self.session_start_timeout >= self.timeout {
            out.push(Diagnostic::error(file, line("sessionStartTimeout"), Code::SessionStartNotBelowTimeout, format!("sessionStartTimeout ({} s) must be shorter than timeout ({} s); the default is 10 s", self.session_start_timeout, self.timeout)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_TOKEN: &str = "cHJpbWUxOjA3OWI2YTY0ZDc1YjRlOTU4NWJkMGMyNGYzNmE3ZGViYTBhZDAzNDk4ZWNmNGQ2OWI1NzY2ZjI0ZmEwMmUwNDU=";

    #[test]
    fn seed_token_decodes_to_prime1() {
        let (id, key) = decode_token(SEED_TOKEN).unwrap();
        assert_eq!(id, "prime1");
        assert_eq!(
            key.expose_secret(),
            "079b6a64d75b4e9585bd0c24f36a7deba0ad03498ecf4d69b5766f24fa02e045"
        );
        assert_eq!(decode_token("cHJpbWUx"), Err(Code::TokenNotClientIdKey));
        assert_eq!(decode_token("not base64!"), Err(Code::TokenNotBase64));
        assert_eq!(decode_token("OmtleQ=="), Err(Code::TokenNotClientIdKey)); // ":key"
    }

    #[test]
    fn defaults_serde_and_no_secret_in_debug_or_diagnostics() {
        let json = format!(
            r#"{{"name":"H","url":"https://h/hermod/rest/command","authenticationToken":"{SEED_TOKEN}","lifespan":10,"timeout":10}}"#
        );
        let entry: MessagingServerEntry = serde_json::from_str(&json).unwrap();
        assert_eq!(entry.session_start_timeout, 10);
        let d = entry.check("m.json");
        assert_eq!(
            d.iter().map(|d| d.code).collect::<Vec<_>>(),
            [
                Code::TimeoutNotBelowLifespan,
                Code::SessionStartNotBelowTimeout
            ]
        );
        let all = format!("{entry:?} {d:?}");
        assert!(
            !all.contains("079b6a64") && !all.contains(SEED_TOKEN),
            "{all}"
        );
        assert!(all.contains("prime1"));
        let back = serde_json::to_value(&entry).unwrap();
        assert_eq!(back["sessionStartTimeout"], 10);
    }

    #[test]
    fn json_reports_everything_missing_at_once() {
        let c =
            MessagingServerEntry::from_json(r#"{"description": "x", "lifespan": "abc"}"#, "m.json");
        assert!(c.value.is_none());
        let codes: Vec<_> = c.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [
                Code::MessagingFieldMissing,
                Code::MessagingFieldMissing,
                Code::MessagingFieldMissing,
                Code::MessagingJson,
                Code::MessagingFieldMissing
            ]
        );
        assert_eq!(c.diagnostics[3].line, Some(1));
    }
}
