//! Smart ID Messaging (Hermod)'s per-client settings: the client Identity
//! Manager uses, as configured on the Hermod side.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use smartid_core::Secret;

use crate::checked::Checked;
use crate::diagnostic::{Code, Diagnostic};
use crate::json_util::{as_text, line_of};

/// One API client of Hermod (an application server such as Identity Manager).
///
/// Reads both spellings: kebab-case (`client-id`, `key`, `callback-url`,
/// `callback-basic-auth`, `public-url`; newer releases) and camelCase
/// (`clientId`, `callbackUrl`, `callbackBasicAuth`, `publicUrl`; older ones).
/// Writes kebab-case.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct HermodClientSettings {
    /// The client id.
    #[serde(alias = "clientId")]
    pub client_id: String,
    /// The client's API key. Written back when the settings are serialized
    /// (this is a configuration file's own content).
    #[serde(with = "smartid_core::expose_secret_serde")]
    pub key: Secret,
    /// The client's callback base URL (Identity Manager's), HTTPS.
    #[serde(
        alias = "callbackUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub callback_url: Option<String>,
    /// `user:password` Hermod sends as HTTP Basic auth on callbacks.
    #[serde(
        alias = "callbackBasicAuth",
        default,
        skip_serializing_if = "Option::is_none",
        with = "smartid_core::expose_secret_serde::option"
    )]
    pub callback_basic_auth: Option<Secret>,
    /// Hermod's message-box endpoint handed to devices, HTTPS.
    #[serde(alias = "publicUrl", default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// The external content provider Hermod fetches visual data from
    /// (`content-provider-url` with an optional basic-auth user and password).
    #[serde(
        alias = "contentProvider",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub content_provider: Option<ContentProvider>,
}

/// Hermod's per-client content provider: where visual data is fetched from,
/// with the basic-auth credentials Hermod sends there.
///
/// Documented (Nexus, "Add API user and callback URL in Hermod"): the
/// setting `content-provider-url`, and that a user and password can be set
/// when the content provider requires basic authentication. Inferred: how
/// the credentials are spelt; [`HermodClients::from_json`] reads a
/// `user:pwd` string or a `{user, pwd}` object under
/// `content-provider-basic-auth`, and flat `content-provider-user` /
/// `content-provider-pwd` (also `username`/`password`, and camelCase).
/// Serialized as `{"url", "user", "pwd"}` under `content-provider`.
#[derive(Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContentProvider {
    /// The content provider's URL.
    pub url: String,
    /// The basic-auth user, when the content provider requires one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The basic-auth password. Written back when serialized (it is the
    /// configuration file's own content); never in `Debug`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "smartid_core::expose_secret_serde::option"
    )]
    pub pwd: Option<Secret>,
}

impl ContentProvider {
    /// A content provider without credentials.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            user: None,
            pwd: None,
        }
    }

    /// With basic-auth credentials.
    pub fn with_basic_auth(mut self, user: impl Into<String>, pwd: Secret) -> Self {
        self.user = Some(user.into());
        self.pwd = Some(pwd);
        self
    }
}

impl fmt::Debug for ContentProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentProvider")
            .field("url", &smartid_core::internal::redact_url(&self.url))
            .field("user", &self.user)
            .field("pwd", &self.pwd)
            .finish()
    }
}

impl fmt::Debug for HermodClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HermodClientSettings")
            .field("client_id", &self.client_id)
            .field("key", &self.key)
            .field("callback_url", &self.callback_url)
            .field("callback_basic_auth", &self.callback_basic_auth)
            .field("public_url", &self.public_url)
            .field("content_provider", &self.content_provider)
            .finish()
    }
}

/// Hermod's clients as read from its configuration (`allowed-clients` /
/// `allowedClients`), with an optional global `public-url`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct HermodClients {
    /// Global `public-url`, when set outside the clients.
    #[serde(alias = "publicUrl", default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// The clients.
    #[serde(alias = "allowedClients", default)]
    pub allowed_clients: Vec<HermodClientSettings>,
}

const FIELDS: &[(&str, &str)] = &[
    ("client-id", "clientId"),
    ("key", "key"),
    ("callback-url", "callbackUrl"),
    ("callback-basic-auth", "callbackBasicAuth"),
    ("public-url", "publicUrl"),
];

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    out: Vec<Diagnostic>,
}

impl Ctx<'_> {
    /// Reads a field in either spelling; kebab-case wins when both are present.
    fn get(
        &mut self,
        obj: &Map<String, Value>,
        kebab: &'static str,
        camel: &'static str,
    ) -> Option<String> {
        let k = obj.get(kebab);
        let c = if camel == kebab { None } else { obj.get(camel) };
        if k.is_some() && c.is_some() {
            self.out.push(Diagnostic::warning(
                self.file,
                line_of(self.text, camel),
                Code::HermodBothSpellings,
                format!("both `{kebab}` and `{camel}` are set; `{kebab}` is used: keep only one spelling"),
            ));
        }
        let (name, v) = match (k, c) {
            (Some(v), _) => (kebab, v),
            (None, Some(v)) => (camel, v),
            (None, None) => return None,
        };
        self.text_value(name, v)
    }

    /// `v` as text, or an error diagnostic naming `name`.
    fn text_value(&mut self, name: &str, v: &Value) -> Option<String> {
        let text = as_text(v);
        if text.is_none() {
            self.out.push(Diagnostic::error(
                self.file,
                line_of(self.text, name),
                Code::HermodJson,
                format!("`{name}` must be a string"),
            ));
        }
        text
    }
}

fn check_https(ctx: &mut Ctx<'_>, name: &str, value: &str, code: Code, why: &str) {
    let ok =
        url::Url::parse(value.trim()).is_ok_and(|u| u.scheme() == "https" && u.host().is_some());
    if !ok {
        ctx.out.push(Diagnostic::error(
            ctx.file,
            line_of(ctx.text, name),
            code,
            format!(
                "{name} `{}` is not an https:// URL; {why}",
                smartid_core::internal::redact_url(value)
            ),
        ));
    }
}

/// An `http(s)://` URL with a host; plain HTTP is a warning (`why` says
/// what it costs), anything else an error.
fn check_http_allowed(ctx: &mut Ctx<'_>, name: &str, value: &str, code: Code, why: &str) {
    match url::Url::parse(value.trim()) {
        Ok(u) if u.scheme() == "https" && u.host().is_some() => {}
        Ok(u) if u.scheme() == "http" && u.host().is_some() => {
            ctx.out.push(Diagnostic::warning(
                ctx.file,
                line_of(ctx.text, name),
                code,
                format!(
                    "{name} `{}` uses plain HTTP; {why}",
                    smartid_core::internal::redact_url(value)
                ),
            ));
        }
        _ => ctx.out.push(Diagnostic::error(
            ctx.file,
            line_of(ctx.text, name),
            code,
            format!(
                "{name} `{}` is not an absolute http(s):// URL with a host; write e.g. https://host:port/path",
                smartid_core::internal::redact_url(value)
            ),
        )),
    }
}

impl HermodClients {
    /// Reads and checks Hermod's client settings from JSON: an object with
    /// `allowed-clients` (or `allowedClients`), a list of clients, or a
    /// single client object.
    pub fn from_json(text: &str, source_name: &str) -> Checked<Self> {
        let mut ctx = Ctx {
            file: source_name,
            text,
            out: Vec::new(),
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                ctx.out.push(Diagnostic::error(
                    source_name,
                    Some(e.line()),
                    Code::HermodJson,
                    format!("not valid JSON: {e}"),
                ));
                return Checked::new(Self::default(), ctx.out);
            }
        };
        let mut result = Self::default();
        let clients: Vec<Value> = match &value {
            Value::Array(list) => list.clone(),
            Value::Object(obj)
                if obj.contains_key("allowed-clients") || obj.contains_key("allowedClients") =>
            {
                result.public_url = ctx.get(obj, "public-url", "publicUrl");
                ctx.get_list(obj).unwrap_or_default()
            }
            Value::Object(_) => vec![value.clone()],
            _ => {
                ctx.out.push(Diagnostic::error(source_name, Some(1), Code::HermodJson, "expected an object with allowed-clients, a list of clients, or one client object"));
                return Checked::new(result, ctx.out);
            }
        };
        if let Some(u) = result.public_url.clone() {
            check_https(
                &mut ctx,
                "public-url",
                &u,
                Code::HermodPublicUrlNotHttps,
                "the Smart ID Mobile and Desktop apps refuse HTTP",
            );
        }
        for client in &clients {
            let Some(obj) = client.as_object() else {
                ctx.out.push(Diagnostic::error(
                    source_name,
                    None,
                    Code::HermodJson,
                    "each client must be a JSON object",
                ));
                continue;
            };
            let mut values: Vec<Option<String>> = Vec::new();
            for (kebab, camel) in FIELDS {
                values.push(ctx.get(obj, kebab, camel));
            }
            let mut it = values.into_iter();
            let (client_id, key, callback_url, basic, public_url) = (
                it.next().flatten(),
                it.next().flatten().map(Secret::new),
                it.next().flatten(),
                it.next().flatten().map(Secret::new),
                it.next().flatten(),
            );
            let label = client_id.clone().unwrap_or_else(|| "(no id)".to_owned());
            if client_id.as_deref().is_none_or(str::is_empty)
                || key.as_ref().is_none_or(Secret::is_empty)
            {
                let missing = if client_id.as_deref().is_none_or(str::is_empty) {
                    "client-id"
                } else {
                    "key"
                };
                ctx.out.push(Diagnostic::error(source_name, line_of(text, "client-id").or_else(|| line_of(text, "clientId")), Code::HermodClientIncomplete, format!("client `{label}` has no {missing}; every API client needs client-id and key")));
            }
            match &callback_url {
                None => ctx.out.push(Diagnostic::error(source_name, None, Code::HermodCallbackMissing, format!("client `{label}` has no callback-url; set it to Identity Manager's callback base URL (https://...)"))),
                Some(u) => check_http_allowed(&mut ctx, "callback-url", u, Code::HermodCallbackNotHttps, "seed 000 allows HTTP callbacks to Identity Manager but recommends HTTPS: the callback's basic-auth password and the device's answer travel in clear"),
            }
            if let Some(u) = &public_url {
                check_https(
                    &mut ctx,
                    "public-url",
                    u,
                    Code::HermodPublicUrlNotHttps,
                    "the Smart ID Mobile and Desktop apps refuse HTTP",
                );
            }
            if let Some(b) = &basic
                && !b
                    .expose_secret()
                    .split_once(':')
                    .is_some_and(|(u, p)| !u.is_empty() && !p.is_empty())
            {
                ctx.out.push(Diagnostic::error(source_name, line_of(text, "callback-basic-auth").or_else(|| line_of(text, "callbackBasicAuth")), Code::HermodBasicAuthInvalid, format!("client `{label}`: callback-basic-auth must be `user:password` (the Identity Manager user created for Hermod)")));
            }
            let content_provider = ctx.content_provider(obj, &label);
            if let (Some(client_id), Some(key)) = (client_id, key) {
                result.allowed_clients.push(HermodClientSettings {
                    client_id,
                    key,
                    callback_url,
                    callback_basic_auth: basic,
                    public_url,
                    content_provider,
                });
            }
        }
        Checked::new(result, ctx.out)
    }

    /// The client with this id.
    pub fn client(&self, client_id: &str) -> Option<&HermodClientSettings> {
        self.allowed_clients
            .iter()
            .find(|c| c.client_id == client_id)
    }
}

impl Ctx<'_> {
    /// The first of `names` present as a string.
    fn text_of(&mut self, obj: &Map<String, Value>, names: &[&'static str]) -> Option<String> {
        let (name, v) = crate::json_util::field(obj, names)?;
        self.text_value(name, v)
    }

    /// `content-provider-url` and its basic-auth user and password, in the
    /// spellings described on [`ContentProvider`].
    fn content_provider(
        &mut self,
        obj: &Map<String, Value>,
        label: &str,
    ) -> Option<ContentProvider> {
        const URL: &[&str] = &["content-provider-url", "contentProviderUrl"];
        const AUTH: &[&str] = &["content-provider-basic-auth", "contentProviderBasicAuth"];
        const USER: &[&str] = &[
            "content-provider-user",
            "content-provider-username",
            "contentProviderUser",
            "contentProviderUsername",
        ];
        const PWD: &[&str] = &[
            "content-provider-pwd",
            "content-provider-password",
            "contentProviderPwd",
            "contentProviderPassword",
        ];
        let nested = crate::json_util::field(obj, &["content-provider", "contentProvider"])
            .and_then(|(_, v)| v.as_object());
        let url = match nested {
            Some(n) => self.text_of(n, &["url"]),
            None => None,
        }
        .or_else(|| self.text_of(obj, URL));
        let mut user = nested
            .and_then(|n| self.text_of(n, &["user", "username"]))
            .or_else(|| self.text_of(obj, USER));
        let mut pwd = nested
            .and_then(|n| self.text_of(n, &["pwd", "password"]))
            .or_else(|| self.text_of(obj, PWD));
        match crate::json_util::field(obj, AUTH) {
            Some((_, Value::String(pair))) => match pair.split_once(':') {
                Some((u, p)) => {
                    user = user.or_else(|| Some(u.to_owned()));
                    pwd = pwd.or_else(|| Some(p.to_owned()));
                }
                None => user = user.or_else(|| Some(pair.clone())),
            },
            Some((_, Value::Object(o))) => {
                user = user.or_else(|| self.text_of(o, &["user", "username"]));
                pwd = pwd.or_else(|| self.text_of(o, &["pwd", "password"]));
            }
            Some((name, _)) => self.out.push(Diagnostic::error(
                self.file,
                line_of(self.text, name),
                Code::HermodJson,
                format!("`{name}` must be `user:pwd` or an object with user and pwd"),
            )),
            None => {}
        }
        let user = user.filter(|u| !u.is_empty());
        let pwd = pwd.filter(|p| !p.is_empty()).map(Secret::new);
        let line = line_of(self.text, "content-provider")
            .or_else(|| line_of(self.text, "contentProvider"));
        let Some(url) = url else {
            if user.is_some() || pwd.is_some() {
                self.out.push(Diagnostic::error(
                    self.file,
                    line,
                    Code::HermodContentProvider,
                    format!("client `{label}`: content provider credentials without content-provider-url; add the URL or remove the credentials"),
                ));
            }
            return None;
        };
        let name = if nested.is_some() {
            "content-provider"
        } else {
            "content-provider-url"
        };
        let why = if user.is_some() || pwd.is_some() {
            "the basic-auth password would travel in clear: use https://"
        } else {
            "use https:// where the content provider offers it"
        };
        match url::Url::parse(url.trim()) {
            Ok(u) if u.scheme() == "http" && (user.is_some() || pwd.is_some()) => {
                self.out.push(Diagnostic::error(
                    self.file,
                    line,
                    Code::HermodContentProvider,
                    format!(
                        "client `{label}`: {name} `{}` uses plain HTTP; {why}",
                        smartid_core::internal::redact_url(&url)
                    ),
                ));
            }
            _ => check_http_allowed(self, name, &url, Code::HermodContentProvider, why),
        }
        if user.is_some() != pwd.is_some() {
            self.out.push(Diagnostic::error(
                self.file,
                line,
                Code::HermodContentProvider,
                format!("client `{label}`: the content provider's basic auth needs both a user and a pwd; set both or neither"),
            ));
        }
        Some(ContentProvider { url, user, pwd })
    }

    fn get_list(&mut self, obj: &Map<String, Value>) -> Option<Vec<Value>> {
        let (name, v) = match (obj.get("allowed-clients"), obj.get("allowedClients")) {
            (Some(k), Some(_)) => {
                self.out.push(Diagnostic::warning(self.file, line_of(self.text, "allowedClients"), Code::HermodBothSpellings, "both `allowed-clients` and `allowedClients` are set; `allowed-clients` is used: keep only one"));
                ("allowed-clients", k)
            }
            (Some(k), None) => ("allowed-clients", k),
            (None, Some(c)) => ("allowedClients", c),
            (None, None) => return None,
        };
        match v {
            Value::Array(list) => Some(list.clone()),
            _ => {
                self.out.push(Diagnostic::error(
                    self.file,
                    line_of(self.text, name),
                    Code::HermodJson,
                    format!("`{name}` must be a list of clients"),
                ));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_and_shapes() {
        let single = HermodClients::from_json(
            r#"{"client-id": "a", "clientId": "b", "key": "k", "callback-url": "https://idm/x"}"#,
            "h.json",
        );
        assert_eq!(single.value.allowed_clients[0].client_id, "a");
        assert_eq!(single.diagnostics[0].code, Code::HermodBothSpellings);
        let list = HermodClients::from_json(
            r#"[{"clientId": "a", "key": "k", "callbackUrl": "https://idm/x", "callbackBasicAuth": "u:p"}]"#,
            "h.json",
        );
        assert!(list.diagnostics.is_empty(), "{:?}", list.diagnostics);
        let c = &list.value.allowed_clients[0];
        assert_eq!(
            c.callback_basic_auth.as_ref().unwrap().expose_secret(),
            "u:p"
        );
        assert!(!format!("{:?}", list.value).contains("u:p"));
        // Writes kebab-case.
        let out = serde_json::to_string(&list.value).unwrap();
        assert!(
            out.contains("\"allowed-clients\"") && out.contains("\"callback-url\""),
            "{out}"
        );
    }

    #[test]
    fn global_public_url_must_be_https() {
        let c = HermodClients::from_json(
            r#"{"public-url": "http://hermod/ms", "allowed-clients": []}"#,
            "h.json",
        );
        assert_eq!(c.diagnostics[0].code, Code::HermodPublicUrlNotHttps);
        assert_eq!(c.diagnostics[0].line, Some(1));
    }
}
