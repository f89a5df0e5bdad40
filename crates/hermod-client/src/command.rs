//! Typed commands: the `commandHeader` and one body per command type.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::timing::CommandTiming;
use crate::vocab::CommandKind;

/// The recipient Hermod documents for a device that is not known yet: the
/// message box is opened through the link handed to the user.
pub const TEMPORARY_RECIPIENT: &str = "@tmp";

/// `commandHeader`: lifespan and timeout in seconds, recipients and an
/// optional external id for correlation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CommandHeader {
    /// Lifespan in seconds.
    pub lifespan: u64,
    /// Timeout in seconds.
    pub timeout: u64,
    /// Recipients, e.g. `["@tmp"]`.
    pub to: Vec<String>,
    /// The caller's own id for the command, echoed in callbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl CommandHeader {
    /// A header from a validated timing.
    pub fn new(timing: &CommandTiming, to: Vec<String>, external_id: Option<String>) -> Self {
        Self {
            lifespan: timing.lifespan().as_secs(),
            timeout: timing.timeout().as_secs(),
            to,
            external_id,
        }
    }
}

/// One data item to sign (`tbs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToBeSigned {
    /// How `data` is encoded, e.g. `base64` or `none`.
    pub content_encoding: String,
    /// The media type of the data, e.g. `text/plain`.
    pub content_type: String,
    /// The data.
    pub data: String,
    /// What the user sees about this item.
    pub description: String,
    /// The item's key, referenced in the answer.
    pub key: String,
    /// Whether the app shows the data to the user.
    pub visible: bool,
    /// Further fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ToBeSigned {
    /// Text shown to the user and signed (`content_encoding` `none`,
    /// `text/plain`, visible).
    pub fn text(
        key: impl Into<String>,
        description: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            content_encoding: "none".into(),
            content_type: "text/plain".into(),
            data: text.into(),
            description: description.into(),
            key: key.into(),
            visible: true,
            extra: Map::new(),
        }
    }

    /// Binary data, base64-encoded, not shown.
    pub fn binary(
        key: impl Into<String>,
        description: impl Into<String>,
        content_type: impl Into<String>,
        data: &[u8],
    ) -> Self {
        use base64::Engine as _;
        Self {
            content_encoding: "base64".into(),
            content_type: content_type.into(),
            data: base64::engine::general_purpose::STANDARD.encode(data),
            description: description.into(),
            key: key.into(),
            visible: false,
            extra: Map::new(),
        }
    }
}

/// Which key signs (`filter {op, param, value}`), e.g. `op: "eq"`,
/// `param: "usage"`, `value: "sign"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeyFilter {
    /// The comparison.
    pub op: String,
    /// The key property compared.
    pub param: String,
    /// The value compared with.
    pub value: String,
}

impl KeyFilter {
    /// A filter.
    pub fn new(op: impl Into<String>, param: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            op: op.into(),
            param: param.into(),
            value: value.into(),
        }
    }
}

/// `signCommand.params` (also used for authenticate, which Nexus describes
/// as a specific application of sign).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SignParams {
    /// Lines describing the operation to the user.
    pub description: Vec<String>,
    /// Which key signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<KeyFilter>,
    /// The signature format. Defaults to `pkcs7`.
    pub format: String,
    /// The PKCS#11 mechanism. Defaults to `CKM_SHA256_RSA_PKCS`.
    pub mechanism: String,
    /// The data to sign.
    pub tbs: Vec<ToBeSigned>,
    /// Further fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SignParams {
    /// PKCS#7 with `CKM_SHA256_RSA_PKCS` over the items.
    pub fn new(description: impl Into<String>, tbs: Vec<ToBeSigned>) -> Self {
        Self {
            description: vec![description.into()],
            filter: None,
            format: "pkcs7".into(),
            mechanism: "CKM_SHA256_RSA_PKCS".into(),
            tbs,
            extra: Map::new(),
        }
    }

    /// Sets the key filter.
    #[must_use]
    pub fn filter(mut self, filter: KeyFilter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Sets the format (e.g. `jws`, `pkcs7`, `raw`).
    #[must_use]
    pub fn format(mut self, format: impl Into<String>) -> Self {
        self.format = format.into();
        self
    }
}

/// One key the device generates during provisioning (`keygenrequests`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeyGenRequest {
    /// The key's id in the profile.
    pub keyid: String,
    /// The key usage, e.g. `sign`, `auth`, `enc`.
    pub usage: String,
    /// Key types in order of preference, e.g. `["RSA2048"]`.
    pub keytypeprios: Vec<String>,
    /// Key storages in order of preference.
    pub storageprios: Vec<String>,
    /// The key state, e.g. `active`.
    pub keystate: String,
    /// The PKCS#10 request template (base64).
    pub certreq: String,
    /// Further fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl KeyGenRequest {
    /// A key request.
    pub fn new(
        keyid: impl Into<String>,
        usage: impl Into<String>,
        certreq: impl Into<String>,
    ) -> Self {
        Self {
            keyid: keyid.into(),
            usage: usage.into(),
            keytypeprios: vec!["RSA2048".into()],
            storageprios: vec!["hardware".into(), "software".into()],
            keystate: "active".into(),
            certreq: certreq.into(),
            extra: Map::new(),
        }
    }
}

/// `provCommand.profile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProvisionProfile {
    /// The server name shown to the user.
    pub servername: String,
    /// The profile name shown to the user.
    pub name: String,
    /// The keys to generate.
    pub keygenrequests: Vec<KeyGenRequest>,
    /// Further fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `provCommand`: a new or updated profile on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProvisionCommand {
    /// A fresh nonce, signed back by the device.
    pub nonce: String,
    /// The user's id on the messaging server (often the e-mail address).
    pub userid: String,
    /// The attestation key set that signs the device's answer. Defaults to `ATTESTATION`.
    pub responsesignaturekey: String,
    /// The answer format. Defaults to `jws`.
    pub responseformat: String,
    /// The profile.
    pub profile: ProvisionProfile,
    /// Further fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProvisionCommand {
    /// A provisioning command with `ATTESTATION` and `jws`.
    pub fn new(
        nonce: impl Into<String>,
        userid: impl Into<String>,
        servername: impl Into<String>,
        profile_name: impl Into<String>,
        keygenrequests: Vec<KeyGenRequest>,
    ) -> Self {
        Self {
            nonce: nonce.into(),
            userid: userid.into(),
            responsesignaturekey: "ATTESTATION".into(),
            responseformat: "jws".into(),
            profile: ProvisionProfile {
                servername: servername.into(),
                name: profile_name.into(),
                keygenrequests,
                extra: Map::new(),
            },
            extra: Map::new(),
        }
    }
}

/// Certificates to install in a profile (body `certCommand.params`; the
/// field names are inferred, see docs/hermod.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CertificateParams {
    /// The profile on the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profileid: Option<String>,
    /// Base64 DER certificates, keyed by the `keyid` of the key they certify.
    pub certificates: Map<String, Value>,
    /// Further fields, sent as given (e.g. `smartcardid`, `desktopKeyProtectionLevel`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CertificateParams {
    /// Certificates by key id.
    pub fn new<I, K, V>(certificates: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            profileid: None,
            certificates: certificates
                .into_iter()
                .map(|(k, v)| (k.into(), Value::String(v.into())))
                .collect(),
            extra: Map::new(),
        }
    }

    /// Targets a profile.
    #[must_use]
    pub fn profile(mut self, profileid: impl Into<String>) -> Self {
        self.profileid = Some(profileid.into());
        self
    }
}

/// The typed body of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandBody {
    /// `provCommand`.
    Provision(ProvisionCommand),
    /// `certCommand.params`.
    Certificate(CertificateParams),
    /// `authCommand.params` (sign parameters).
    Authenticate(SignParams),
    /// `signCommand.params`.
    Sign(SignParams),
    /// `pingCommand` (empty).
    Ping,
}

impl CommandBody {
    /// The command's kind.
    pub fn kind(&self) -> CommandKind {
        match self {
            CommandBody::Provision(_) => CommandKind::Provision,
            CommandBody::Certificate(_) => CommandKind::Certificate,
            CommandBody::Authenticate(_) => CommandKind::Authenticate,
            CommandBody::Sign(_) => CommandKind::Sign,
            CommandBody::Ping => CommandKind::Ping,
        }
    }

    /// The JSON member name of the body.
    pub fn member_name(kind: CommandKind) -> &'static str {
        match kind {
            CommandKind::Provision => "provCommand",
            CommandKind::Certificate => "certCommand",
            CommandKind::Authenticate => "authCommand",
            CommandKind::Sign => "signCommand",
            CommandKind::Ping => "pingCommand",
        }
    }

    fn to_value(&self) -> Result<Value, serde_json::Error> {
        let params = |v: Value| {
            let mut m = Map::new();
            m.insert("params".into(), v);
            Value::Object(m)
        };
        Ok(match self {
            CommandBody::Provision(p) => serde_json::to_value(p)?,
            CommandBody::Certificate(p) => params(serde_json::to_value(p)?),
            CommandBody::Authenticate(p) | CommandBody::Sign(p) => params(serde_json::to_value(p)?),
            CommandBody::Ping => Value::Object(Map::new()),
        })
    }
}

/// A command to send: the body, its recipients and an optional external id.
/// Lifespan and timeout come from the client's [`CommandTiming`].
///
/// ```
/// use hermod_client::{Command, SignParams, ToBeSigned};
///
/// let cmd = Command::sign(SignParams::new("Sign the contract", vec![
///     ToBeSigned::text("doc1", "Contract 17", "I agree to contract 17"),
/// ]))
/// .external_id("order-17");
/// assert_eq!(cmd.kind().path_segment(), "sign");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    body: CommandBody,
    to: Vec<String>,
    external_id: Option<String>,
}

impl Command {
    /// A command with a body, to `@tmp`.
    pub fn new(body: CommandBody) -> Self {
        Self {
            body,
            to: vec![TEMPORARY_RECIPIENT.into()],
            external_id: None,
        }
    }

    /// A provisioning command.
    pub fn provision(command: ProvisionCommand) -> Self {
        Self::new(CommandBody::Provision(command))
    }

    /// A certificate command.
    pub fn certificate(params: CertificateParams) -> Self {
        Self::new(CommandBody::Certificate(params))
    }

    /// An authenticate command.
    pub fn authenticate(params: SignParams) -> Self {
        Self::new(CommandBody::Authenticate(params))
    }

    /// A sign command.
    pub fn sign(params: SignParams) -> Self {
        Self::new(CommandBody::Sign(params))
    }

    /// A ping command.
    pub fn ping() -> Self {
        Self::new(CommandBody::Ping)
    }

    /// Replaces the recipients (default `["@tmp"]`).
    #[must_use]
    pub fn to<I, S>(mut self, recipients: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.to = recipients.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the external id Hermod echoes in the callback.
    #[must_use]
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into());
        self
    }

    /// The kind.
    pub fn kind(&self) -> CommandKind {
        self.body.kind()
    }

    /// The body.
    pub fn body(&self) -> &CommandBody {
        &self.body
    }

    /// The external id, if set.
    pub fn external_id_value(&self) -> Option<&str> {
        self.external_id.as_deref()
    }

    /// The JSON document sent to Hermod.
    pub fn to_json(&self, timing: &CommandTiming) -> Value {
        let header = CommandHeader::new(timing, self.to.clone(), self.external_id.clone());
        let mut doc = Map::new();
        doc.insert(
            "commandHeader".into(),
            serde_json::to_value(header).unwrap_or(Value::Null),
        );
        doc.insert(
            CommandBody::member_name(self.kind()).into(),
            self.body.to_value().unwrap_or(Value::Null),
        );
        Value::Object(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_command_matches_the_documented_shape() {
        let timing = CommandTiming::from_secs(300, 120, 10).unwrap();
        let cmd = Command::sign(
            SignParams::new("Sign", vec![ToBeSigned::text("k1", "Doc", "hello")])
                .filter(KeyFilter::new("eq", "usage", "sign")),
        )
        .external_id("ext-1");
        let json = cmd.to_json(&timing);
        assert_eq!(
            json["commandHeader"],
            serde_json::json!({"lifespan": 300, "timeout": 120, "to": ["@tmp"], "externalId": "ext-1"})
        );
        let params = &json["signCommand"]["params"];
        assert_eq!(params["format"], "pkcs7");
        assert_eq!(params["mechanism"], "CKM_SHA256_RSA_PKCS");
        assert_eq!(params["description"], serde_json::json!(["Sign"]));
        assert_eq!(params["filter"]["param"], "usage");
        assert_eq!(
            params["tbs"][0],
            serde_json::json!({"content_encoding": "none", "content_type": "text/plain",
                "data": "hello", "description": "Doc", "key": "k1", "visible": true})
        );
    }

    #[test]
    fn provision_command_matches_the_documented_shape() {
        let timing = CommandTiming::default();
        let cmd = Command::provision(ProvisionCommand::new(
            "n0nce",
            "jon@example.com",
            "Smart ID",
            "Work",
            vec![KeyGenRequest::new("sig", "sign", "MIIB")],
        ));
        let json = cmd.to_json(&timing);
        assert!(json["commandHeader"].get("externalId").is_none());
        let p = &json["provCommand"];
        assert_eq!(p["responsesignaturekey"], "ATTESTATION");
        assert_eq!(p["responseformat"], "jws");
        assert_eq!(p["profile"]["servername"], "Smart ID");
        let k = &p["profile"]["keygenrequests"][0];
        for field in [
            "keyid",
            "usage",
            "keytypeprios",
            "storageprios",
            "keystate",
            "certreq",
        ] {
            assert!(k.get(field).is_some(), "{field}");
        }
        let back: ProvisionCommand = serde_json::from_value(p.clone()).unwrap();
        assert_eq!(back.userid, "jon@example.com");
    }

    #[test]
    fn other_bodies() {
        let t = CommandTiming::default();
        assert_eq!(
            Command::ping().to_json(&t)["pingCommand"],
            serde_json::json!({})
        );
        let c = Command::certificate(CertificateParams::new([("sig", "MIIC")]).profile("p1"))
            .to_json(&t);
        assert_eq!(c["certCommand"]["params"]["certificates"]["sig"], "MIIC");
        let a = Command::authenticate(SignParams::new("Log in", vec![]))
            .to(["device-1"])
            .to_json(&t);
        assert_eq!(a["commandHeader"]["to"], serde_json::json!(["device-1"]));
        assert!(a["authCommand"]["params"].is_object());
    }
}
