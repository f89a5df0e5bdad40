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
}

impl fmt::Debug for HermodClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HermodClientSettings")
            .field("client_id", &self.client_id)
            .field("key", &self.key)
            .field("callback_url", &self.callback_url)
            .field("callback_basic_auth", &self.callback_basic_auth)
            .field("public_url", &self.public_url)
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
                smartid_core::redact_url(value)
            ),
        ));
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
                Some(u) => check_https(&mut ctx, "callback-url", u, Code::HermodCallbackNotHttps, "set Identity Manager's HTTPS callback base URL (this project requires HTTPS for callbacks)"),
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
            if let (Some(client_id), Some(key)) = (client_id, key) {
                result.allowed_clients.push(HermodClientSettings {
                    client_id,
                    key,
                    callback_url,
                    callback_basic_auth: basic,
                    public_url,
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
