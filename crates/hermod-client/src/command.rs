//! Typed commands: the `commandHeader` and one body per command type, in
//! the shapes of Nexus' documented samples.

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::certreq::CertReq;
use crate::error::{Error, Result};
use crate::timing::CommandTiming;
use crate::vocab::CommandKind;

/// The recipient Hermod documents for a device that is not known yet: the
/// message box is opened through the link handed to the user.
pub const TEMPORARY_RECIPIENT: &str = "@tmp";

/// `commandHeader`: lifespan and timeout in seconds, optional recipients
/// and an optional external id for correlation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CommandHeader {
    /// Lifespan in seconds.
    pub lifespan: u64,
    /// Timeout in seconds (may equal the lifespan).
    pub timeout: u64,
    /// Recipients, e.g. `["@tmp"]`. Optional: the documented provisioning
    /// samples omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    /// The caller's own id for the command, echoed in callbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Further fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CommandHeader {
    /// A header from a timing.
    pub fn new(
        timing: &CommandTiming,
        to: Option<Vec<String>>,
        external_id: Option<String>,
    ) -> Self {
        Self {
            lifespan: timing.lifespan().as_secs(),
            timeout: timing.timeout().as_secs(),
            to,
            external_id,
            extra: Map::new(),
        }
    }
}

/// One data item: an entry of `tbs` (what is signed) or of `description`
/// (what the user is told), both documented with the same shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToBeSigned {
    /// How `data` is encoded: `base64` in every documented sample.
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
    /// Text shown to the user (`text/plain`, visible), UTF-8 and
    /// `content_encoding: "base64"` as in the documented samples.
    pub fn text(
        key: impl Into<String>,
        description: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            content_encoding: "base64".into(),
            content_type: "text/plain".into(),
            data: base64::engine::general_purpose::STANDARD.encode(text.into()),
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

    /// The item's bytes: `data` decoded when `content_encoding` is `base64`,
    /// else `data`'s UTF-8 bytes. `None` for invalid base64.
    pub fn data_bytes(&self) -> Option<Vec<u8>> {
        if self.content_encoding.eq_ignore_ascii_case("base64") {
            base64::engine::general_purpose::STANDARD
                .decode(&self.data)
                .ok()
        } else {
            Some(self.data.as_bytes().to_vec())
        }
    }
}

/// Which key signs (`filter {op, param, value}`), e.g. the documented
/// `{"op":"eq","param":"key.type","value":"RSA"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeyFilter {
    /// The comparison.
    pub op: String,
    /// The key property compared.
    pub param: String,
    /// The value compared with.
    pub value: String,
    /// Further fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl KeyFilter {
    /// A filter.
    pub fn new(op: impl Into<String>, param: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            op: op.into(),
            param: param.into(),
            value: value.into(),
            extra: Map::new(),
        }
    }
}

/// `signCommand.params` (also used for authenticate, which Nexus describes
/// as a specific application of sign).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SignParams {
    /// Items describing the request to the user, shaped like `tbs` items
    /// (e.g. `requester` / "Signing request from").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub description: Vec<ToBeSigned>,
    /// Which key signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<KeyFilter>,
    /// The signature format: `pkcs7` (the default) or `jws`.
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
    /// PKCS#7 with `CKM_SHA256_RSA_PKCS` over the items, no description.
    pub fn new(tbs: Vec<ToBeSigned>) -> Self {
        Self {
            description: Vec::new(),
            filter: None,
            format: "pkcs7".into(),
            mechanism: "CKM_SHA256_RSA_PKCS".into(),
            tbs,
            extra: Map::new(),
        }
    }

    /// Adds a description item, e.g.
    /// `ToBeSigned::text("requester", "Signing request from", "Personal")`.
    #[must_use]
    pub fn describe(mut self, item: ToBeSigned) -> Self {
        self.description.push(item);
        self
    }

    /// Sets the key filter.
    #[must_use]
    pub fn filter(mut self, filter: KeyFilter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Sets the format (`pkcs7`, `jws`).
    #[must_use]
    pub fn format(mut self, format: impl Into<String>) -> Self {
        self.format = format.into();
        self
    }

    /// Sets the mechanism.
    #[must_use]
    pub fn mechanism(mut self, mechanism: impl Into<String>) -> Self {
        self.mechanism = mechanism.into();
        self
    }
}

/// One entry of `keytypeprios`: `{keytype, keylength, responsemechanism}`
/// (`keylength` a string, as documented).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeyTypePrio {
    /// The key type, e.g. `RSA`.
    pub keytype: String,
    /// The key length, e.g. `"2048"`.
    pub keylength: String,
    /// The mechanism of the device's answer, e.g. `RS256`.
    pub responsemechanism: String,
    /// Further fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl KeyTypePrio {
    /// A key type entry.
    pub fn new(
        keytype: impl Into<String>,
        keylength: impl Into<String>,
        responsemechanism: impl Into<String>,
    ) -> Self {
        Self {
            keytype: keytype.into(),
            keylength: keylength.into(),
            responsemechanism: responsemechanism.into(),
            extra: Map::new(),
        }
    }

    /// `{"keytype":"RSA","keylength":"<bits>","responsemechanism":"RS256"}`.
    pub fn rsa(bits: u32) -> Self {
        Self::new("RSA", bits.to_string(), "RS256")
    }
}

/// One key the device generates during provisioning (`keygenrequests`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeyGenRequest {
    /// The key's id in the profile, e.g. `signer`.
    pub keyid: String,
    /// The key usage, upper-case as documented (`SIG`); an open vocabulary.
    pub usage: String,
    /// Key types in order of preference.
    pub keytypeprios: Vec<KeyTypePrio>,
    /// Key storages in order of preference. Defaults to `["APP"]`.
    pub storageprios: Vec<String>,
    /// The key state. Defaults to `ACTIVE`.
    pub keystate: String,
    /// The PKCS#10 request with the subject and a dummy key, base64 DER
    /// (see [`CertReq`]).
    pub certreq: String,
    /// Further fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl KeyGenRequest {
    /// A key request with the documented defaults: RSA 2048 / RS256,
    /// storage `APP`, state `ACTIVE`. `usage` is upper-cased (`sig` → `SIG`).
    pub fn new(keyid: impl Into<String>, usage: &str, certreq: &CertReq) -> Self {
        Self {
            keyid: keyid.into(),
            usage: usage.to_ascii_uppercase(),
            keytypeprios: vec![KeyTypePrio::rsa(2048)],
            storageprios: vec!["APP".into()],
            keystate: "ACTIVE".into(),
            certreq: certreq.to_base64(),
            extra: Map::new(),
        }
    }

    /// Replaces the key types.
    #[must_use]
    pub fn keytypeprios(mut self, prios: Vec<KeyTypePrio>) -> Self {
        self.keytypeprios = prios;
        self
    }

    /// Replaces the storages.
    #[must_use]
    pub fn storageprios<I, S>(mut self, prios: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.storageprios = prios.into_iter().map(Into::into).collect();
        self
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
    /// The key that signs the device's answer. Defaults to `ATTESTATION`.
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
/// member and field names other than `smartcardid` are inferred).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CertificateParams {
    /// The profile on the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profileid: Option<String>,
    /// The smart card the certificates go to (Desktop App).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smartcardid: Option<String>,
    /// Base64 DER certificates, keyed by the `keyid` of the key they certify.
    pub certificates: Map<String, Value>,
    /// Further fields, sent as given (e.g. `desktopKeyProtectionLevel`).
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
            smartcardid: None,
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

    /// Targets a smart card (`smartcardid`).
    #[must_use]
    pub fn smartcard(mut self, smartcardid: impl Into<String>) -> Self {
        self.smartcardid = Some(smartcardid.into());
        self
    }
}

/// `pingCommand`: empty, or `params.deviceinfo` (`"true"`/`"false"`) to ask
/// the device for its information (operating system, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PingParams {
    /// Whether the device answers with its information; `None` sends no
    /// parameter.
    pub deviceinfo: Option<bool>,
    /// Further `params` fields, sent as given.
    pub extra: Map<String, Value>,
}

impl PingParams {
    /// A ping asking for the device information (`deviceinfo: "true"`).
    pub fn device_info() -> Self {
        Self {
            deviceinfo: Some(true),
            extra: Map::new(),
        }
    }
}

/// `Startpinreset`: starts a PIN reset of a smart card; the device answers
/// with a `nonce`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StartPinResetParams {
    /// The smart card.
    pub smartcardid: String,
    /// Further fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl StartPinResetParams {
    /// A PIN reset start for a card.
    pub fn new(smartcardid: impl Into<String>) -> Self {
        Self {
            smartcardid: smartcardid.into(),
            extra: Map::new(),
        }
    }
}

/// A smart card's new administrator key: exactly 48 lower-case hex
/// characters. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AdminKey(String);

impl AdminKey {
    /// Checks and wraps a key.
    ///
    /// # Errors
    /// [`Error::InvalidCommand`] unless it is 48 characters of `0-9a-f`.
    pub fn new(hex: impl Into<String>) -> Result<Self> {
        let hex = hex.into();
        let ok = hex.len() == 48 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !ok {
            return Err(Error::InvalidCommand(format!(
                "newadminkey must be exactly 48 lower-case hex characters (0-9, a-f); got {} characters{}",
                hex.chars().count(),
                if hex.bytes().any(|b| b.is_ascii_uppercase()) {
                    ", some upper-case"
                } else {
                    ""
                }
            )));
        }
        Ok(Self(hex))
    }

    /// The hex string.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminKey([redacted])")
    }
}

impl TryFrom<String> for AdminKey {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Self::new(s)
    }
}

impl From<AdminKey> for String {
    fn from(k: AdminKey) -> String {
        k.0
    }
}

/// `Endpinreset`: ends a PIN reset with the encrypted nonce, optionally
/// setting a new administrator key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EndPinResetParams {
    /// The smart card.
    pub smartcardid: String,
    /// The `Startpinreset` nonce, encrypted.
    pub encryptednonce: String,
    /// A new administrator key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newadminkey: Option<AdminKey>,
    /// Further fields, sent as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EndPinResetParams {
    /// A PIN reset end for a card.
    pub fn new(smartcardid: impl Into<String>, encryptednonce: impl Into<String>) -> Self {
        Self {
            smartcardid: smartcardid.into(),
            encryptednonce: encryptednonce.into(),
            newadminkey: None,
            extra: Map::new(),
        }
    }

    /// Sets a new administrator key.
    #[must_use]
    pub fn new_admin_key(mut self, key: AdminKey) -> Self {
        self.newadminkey = Some(key);
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
    /// `pingCommand` (`{}` or `{"params":{"deviceinfo":"true"}}`).
    Ping(PingParams),
    /// `startpinresetCommand.params` (member name inferred).
    StartPinReset(StartPinResetParams),
    /// `endpinresetCommand.params` (member name inferred).
    EndPinReset(EndPinResetParams),
}

impl CommandBody {
    /// The command's kind.
    pub fn kind(&self) -> CommandKind {
        match self {
            CommandBody::Provision(_) => CommandKind::Provision,
            CommandBody::Certificate(_) => CommandKind::Certificate,
            CommandBody::Authenticate(_) => CommandKind::Authenticate,
            CommandBody::Sign(_) => CommandKind::Sign,
            CommandBody::Ping(_) => CommandKind::Ping,
            CommandBody::StartPinReset(_) => CommandKind::StartPinReset,
            CommandBody::EndPinReset(_) => CommandKind::EndPinReset,
        }
    }

    /// The JSON member name of the body (`signCommand`, ...), or `None`
    /// for a kind this version does not know.
    pub fn member_name(kind: &CommandKind) -> Option<&'static str> {
        Some(match kind {
            CommandKind::Provision => "provCommand",
            CommandKind::Certificate => "certCommand",
            CommandKind::Authenticate => "authCommand",
            CommandKind::Sign => "signCommand",
            CommandKind::Ping => "pingCommand",
            CommandKind::StartPinReset => "startpinresetCommand",
            CommandKind::EndPinReset => "endpinresetCommand",
            _ => return None,
        })
    }

    fn to_value(&self) -> std::result::Result<Value, serde_json::Error> {
        let params = |v: Value| {
            let mut m = Map::new();
            m.insert("params".into(), v);
            Value::Object(m)
        };
        Ok(match self {
            CommandBody::Provision(p) => serde_json::to_value(p)?,
            CommandBody::Certificate(p) => params(serde_json::to_value(p)?),
            CommandBody::Authenticate(p) | CommandBody::Sign(p) => params(serde_json::to_value(p)?),
            CommandBody::Ping(p) => {
                let mut m = p.extra.clone();
                if let Some(d) = p.deviceinfo {
                    m.insert("deviceinfo".into(), Value::String(d.to_string()));
                }
                if m.is_empty() {
                    Value::Object(Map::new())
                } else {
                    params(Value::Object(m))
                }
            }
            CommandBody::StartPinReset(p) => params(serde_json::to_value(p)?),
            CommandBody::EndPinReset(p) => params(serde_json::to_value(p)?),
        })
    }

    /// Reads a body of `kind` from its member's value.
    fn from_value(kind: &CommandKind, name: &str, member: &Value) -> Result<Self> {
        let bad = |e: serde_json::Error| Error::InvalidCommand(format!("{name}: {e}"));
        let params = || -> Result<Value> {
            member
                .get("params")
                .cloned()
                .ok_or_else(|| Error::InvalidCommand(format!("{name}.params is missing")))
        };
        Ok(match kind {
            CommandKind::Provision => {
                CommandBody::Provision(serde_json::from_value(member.clone()).map_err(bad)?)
            }
            CommandKind::Certificate => {
                CommandBody::Certificate(serde_json::from_value(params()?).map_err(bad)?)
            }
            CommandKind::Authenticate => {
                CommandBody::Authenticate(serde_json::from_value(params()?).map_err(bad)?)
            }
            CommandKind::Sign => CommandBody::Sign(serde_json::from_value(params()?).map_err(bad)?),
            CommandKind::Ping => {
                let mut p = PingParams::default();
                match member.get("params") {
                    None => {}
                    Some(Value::Object(m)) => {
                        let mut m = m.clone();
                        p.deviceinfo = match m.remove("deviceinfo") {
                            None => None,
                            Some(Value::String(s)) if s == "true" => Some(true),
                            Some(Value::String(s)) if s == "false" => Some(false),
                            Some(other) => {
                                return Err(Error::InvalidCommand(format!(
                                    "pingCommand.params.deviceinfo must be \"true\" or \"false\", got {other}"
                                )));
                            }
                        };
                        p.extra = m;
                    }
                    Some(_) => {
                        return Err(Error::InvalidCommand(
                            "pingCommand.params must be an object".into(),
                        ));
                    }
                }
                CommandBody::Ping(p)
            }
            CommandKind::StartPinReset => {
                CommandBody::StartPinReset(serde_json::from_value(params()?).map_err(bad)?)
            }
            CommandKind::EndPinReset => {
                CommandBody::EndPinReset(serde_json::from_value(params()?).map_err(bad)?)
            }
            other => {
                return Err(Error::InvalidCommand(format!(
                    "commands of kind {other} cannot be read by this version"
                )));
            }
        })
    }
}

/// A whole command document: `{"commandHeader": {...}, "<member>": {...}}`.
/// Parses and writes the documented samples unchanged.
///
/// ```
/// use hermod_client::{CommandDocument, CommandKind};
///
/// let json = serde_json::json!({"commandHeader": {"lifespan": 30, "timeout": 30, "to": ["@tmp"]},
///     "pingCommand": {}});
/// let doc = CommandDocument::from_json(CommandKind::Ping, &json)?;
/// assert_eq!(doc.to_json(), json);
/// # Ok::<(), hermod_client::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandDocument {
    /// The header.
    pub header: CommandHeader,
    /// The body.
    pub body: CommandBody,
}

impl CommandDocument {
    /// Reads a command of `kind`.
    ///
    /// # Errors
    /// [`Error::InvalidCommand`] naming the member or field that is missing
    /// or has the wrong shape.
    pub fn from_json(kind: CommandKind, doc: &Value) -> Result<Self> {
        let header = doc
            .get("commandHeader")
            .ok_or_else(|| Error::InvalidCommand("commandHeader is missing".into()))?;
        let header: CommandHeader = serde_json::from_value(header.clone())
            .map_err(|e| Error::InvalidCommand(format!("commandHeader: {e}")))?;
        let name = CommandBody::member_name(&kind).ok_or_else(|| {
            Error::InvalidCommand(format!(
                "commands of kind {kind} cannot be read by this version"
            ))
        })?;
        let member = doc
            .get(name)
            .ok_or_else(|| Error::InvalidCommand(format!("{name} is missing")))?;
        let body = CommandBody::from_value(&kind, name, member)?;
        Ok(Self { header, body })
    }

    /// The JSON document.
    pub fn to_json(&self) -> Value {
        let mut doc = Map::new();
        doc.insert(
            "commandHeader".into(),
            serde_json::to_value(&self.header).unwrap_or(Value::Null),
        );
        doc.insert(
            // Every body variant is a known kind: the fallback is never used.
            CommandBody::member_name(&self.body.kind())
                .unwrap_or("command")
                .into(),
            self.body.to_value().unwrap_or(Value::Null),
        );
        Value::Object(doc)
    }
}

/// A command to send: the body, its recipients and an optional external id.
/// Lifespan and timeout come from the client's [`CommandTiming`].
///
/// ```
/// use hermod_client::{Command, SignParams, ToBeSigned};
///
/// let cmd = Command::sign(SignParams::new(vec![
///     ToBeSigned::text("tbs", "Text to sign", "I agree to contract 17"),
/// ]))
/// .external_id("order-17");
/// assert_eq!(cmd.kind().path_segment(), "sign");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    body: CommandBody,
    to: Option<Vec<String>>,
    external_id: Option<String>,
}

impl Command {
    /// A command with a body, to `@tmp`.
    pub fn new(body: CommandBody) -> Self {
        Self {
            body,
            to: Some(vec![TEMPORARY_RECIPIENT.into()]),
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

    /// A ping command without parameters.
    pub fn ping() -> Self {
        Self::new(CommandBody::Ping(PingParams::default()))
    }

    /// A ping command with parameters (e.g. [`PingParams::device_info`]).
    pub fn ping_with(params: PingParams) -> Self {
        Self::new(CommandBody::Ping(params))
    }

    /// A Desktop App `Startpinreset` command.
    pub fn start_pin_reset(params: StartPinResetParams) -> Self {
        Self::new(CommandBody::StartPinReset(params))
    }

    /// A Desktop App `Endpinreset` command.
    pub fn end_pin_reset(params: EndPinResetParams) -> Self {
        Self::new(CommandBody::EndPinReset(params))
    }

    /// Replaces the recipients (default `["@tmp"]`).
    #[must_use]
    pub fn to<I, S>(mut self, recipients: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.to = Some(recipients.into_iter().map(Into::into).collect());
        self
    }

    /// Sends no `to` in the header, as the documented provisioning samples.
    #[must_use]
    pub fn without_recipients(mut self) -> Self {
        self.to = None;
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

    /// The document sent to Hermod with this timing.
    pub fn document(&self, timing: &CommandTiming) -> CommandDocument {
        CommandDocument {
            header: CommandHeader::new(timing, self.to.clone(), self.external_id.clone()),
            body: self.body.clone(),
        }
    }

    /// The JSON document sent to Hermod.
    pub fn to_json(&self, timing: &CommandTiming) -> Value {
        self.document(timing).to_json()
    }

    /// The document sent to Hermod as a value that serializes straight to
    /// JSON: the same JSON as [`Command::to_json`] without building a
    /// `serde_json::Value` tree (members in declaration order, not sorted).
    pub(crate) fn wire(&self, timing: &CommandTiming) -> WireDocument<'_> {
        WireDocument {
            header: CommandHeader::new(timing, self.to.clone(), self.external_id.clone()),
            body: &self.body,
        }
    }
}

/// A command document serialized directly (see [`Command::wire`]).
pub(crate) struct WireDocument<'a> {
    header: CommandHeader,
    body: &'a CommandBody,
}

impl Serialize for WireDocument<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("commandHeader", &self.header)?;
        // Every body variant is a known kind: the fallback is never used.
        let name = CommandBody::member_name(&self.body.kind()).unwrap_or("command");
        m.serialize_entry(name, &WireBody(self.body))?;
        m.end()
    }
}

/// A body as [`CommandBody::to_value`] writes it.
struct WireBody<'a>(&'a CommandBody);

/// `{"params": inner}`.
struct WireParams<'a, T>(&'a T);

impl<T: Serialize> Serialize for WireParams<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("params", self.0)?;
        m.end()
    }
}

/// Ping parameters: the extra fields, then `deviceinfo` as a string.
struct WirePing<'a>(&'a PingParams);

impl Serialize for WirePing<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let p = self.0;
        let mut m = s.serialize_map(None)?;
        for (k, v) in &p.extra {
            if k != "deviceinfo" || p.deviceinfo.is_none() {
                m.serialize_entry(k, v)?;
            }
        }
        if let Some(d) = p.deviceinfo {
            m.serialize_entry("deviceinfo", if d { "true" } else { "false" })?;
        }
        m.end()
    }
}

impl Serialize for WireBody<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        match self.0 {
            CommandBody::Provision(p) => p.serialize(s),
            CommandBody::Certificate(p) => WireParams(p).serialize(s),
            CommandBody::Authenticate(p) | CommandBody::Sign(p) => WireParams(p).serialize(s),
            CommandBody::Ping(p) if p.deviceinfo.is_none() && p.extra.is_empty() => {
                s.serialize_map(Some(0))?.end()
            }
            CommandBody::Ping(p) => WireParams(&WirePing(p)).serialize(s),
            CommandBody::StartPinReset(p) => WireParams(p).serialize(s),
            CommandBody::EndPinReset(p) => WireParams(p).serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What goes on the wire is the document's JSON, for every body kind.
    #[test]
    fn the_wire_document_is_the_json_document() {
        let timing = CommandTiming::from_secs(300, 120, 10).unwrap();
        let mut ping_extra = PingParams::default();
        ping_extra.extra.insert("x".into(), Value::from(1));
        ping_extra
            .extra
            .insert("deviceinfo".into(), Value::from("ignored"));
        ping_extra.deviceinfo = Some(false);
        let mut ping_only_extra = PingParams::default();
        ping_only_extra.extra.insert("y".into(), Value::from("z"));
        let mut sign = SignParams::new(vec![ToBeSigned::text("tbs", "Text", "x")])
            .describe(ToBeSigned::text("requester", "From", "Personal"))
            .filter(KeyFilter::new("eq", "key.type", "RSA"));
        sign.extra
            .insert("more".into(), serde_json::json!({"a": [1, 2]}));
        let mut commands = vec![
            Command::sign(sign.clone()).external_id("e-1"),
            Command::ping(),
            Command::ping_with(PingParams::device_info()),
            Command::ping_with(ping_extra),
            Command::ping_with(ping_only_extra),
            Command::new(CommandBody::Authenticate(sign)).without_recipients(),
        ];
        for text in [
            include_str!("../tests/fixtures/sign-command.json"),
            include_str!("../tests/fixtures/provision-command.json"),
            include_str!("../tests/fixtures/provision-command-external-id.json"),
        ] {
            let json: Value = serde_json::from_str(text).unwrap();
            let kind = if json.get("provCommand").is_some() {
                CommandKind::Provision
            } else {
                CommandKind::Sign
            };
            let doc = CommandDocument::from_json(kind, &json).unwrap();
            commands.push(Command::new(doc.body));
        }
        for cmd in commands {
            let wire = serde_json::to_value(cmd.wire(&timing)).unwrap();
            assert_eq!(wire, cmd.to_json(&timing), "{cmd:?}");
        }
    }
    use crate::certreq::check_der_sequence;

    #[test]
    fn sign_command_matches_the_documented_shape() {
        let timing = CommandTiming::from_secs(30, 30, 10).unwrap();
        let cmd = Command::sign(
            SignParams::new(vec![ToBeSigned::text(
                "tbs",
                "Text to sign",
                "Text to sign",
            )])
            .describe(ToBeSigned::text(
                "requester",
                "Signing request from",
                "Personal",
            ))
            .filter(KeyFilter::new("eq", "key.type", "RSA")),
        );
        let json = cmd.to_json(&timing);
        assert_eq!(
            json,
            serde_json::json!({"commandHeader":{"lifespan":30,"timeout":30,"to":["@tmp"]},
             "signCommand":{"params":{
               "description":[{"content_encoding":"base64","content_type":"text/plain","data":"UGVyc29uYWw=","description":"Signing request from","key":"requester","visible":true}],
               "filter":{"op":"eq","param":"key.type","value":"RSA"},
               "format":"pkcs7","mechanism":"CKM_SHA256_RSA_PKCS",
               "tbs":[{"content_encoding":"base64","content_type":"text/plain","data":"VGV4dCB0byBzaWdu","description":"Text to sign","key":"tbs","visible":true}]}}})
        );
    }

    #[test]
    fn provision_command_matches_the_documented_shape() {
        let timing = CommandTiming::from_secs(1500, 1500, 10).unwrap();
        let req = CertReq::from_der(vec![0x30, 0x00]).unwrap();
        let cmd = Command::provision(ProvisionCommand::new(
            "123456789",
            "john.doe@nexusgroup.com",
            "nexus-hermod1",
            "TestProfile",
            vec![KeyGenRequest::new("signer", "sig", &req)],
        ))
        .without_recipients();
        let json = cmd.to_json(&timing);
        assert_eq!(
            json,
            serde_json::json!({"commandHeader":{"lifespan":1500,"timeout":1500},
             "provCommand":{"nonce":"123456789","userid":"john.doe@nexusgroup.com","responsesignaturekey":"ATTESTATION","responseformat":"jws",
               "profile":{"servername":"nexus-hermod1","name":"TestProfile","keygenrequests":[
                 {"keyid":"signer","usage":"SIG",
                  "keytypeprios":[{"keytype":"RSA","keylength":"2048","responsemechanism":"RS256"}],
                  "storageprios":["APP"],"keystate":"ACTIVE","certreq":"MAA="}]}}})
        );
        check_der_sequence(&[0x30, 0x00]).unwrap();
    }

    #[test]
    fn contradicted_shapes_do_not_parse() {
        let sign = serde_json::json!({"commandHeader":{"lifespan":30,"timeout":30},
            "signCommand":{"params":{"description":["Sign"],"format":"pkcs7","mechanism":"m","tbs":[]}}});
        let e = CommandDocument::from_json(CommandKind::Sign, &sign).unwrap_err();
        assert!(e.to_string().contains("signCommand"), "{e}");
        let prov = serde_json::json!({"commandHeader":{"lifespan":30,"timeout":30},
            "provCommand":{"nonce":"n","userid":"u","responsesignaturekey":"ATTESTATION","responseformat":"jws",
              "profile":{"servername":"s","name":"n","keygenrequests":[{"keyid":"k","usage":"SIG",
                "keytypeprios":["RSA2048"],"storageprios":["APP"],"keystate":"ACTIVE","certreq":"MAA="}]}}});
        assert!(CommandDocument::from_json(CommandKind::Provision, &prov).is_err());
        // The header's timing is not judged here (the wire allows timeout == lifespan).
        let ping =
            serde_json::json!({"commandHeader":{"lifespan":30,"timeout":30},"pingCommand":{}});
        assert!(CommandDocument::from_json(CommandKind::Ping, &ping).is_ok());
    }

    #[test]
    fn other_bodies() {
        let t = CommandTiming::default();
        assert_eq!(
            Command::ping().to_json(&t)["pingCommand"],
            serde_json::json!({})
        );
        assert_eq!(
            Command::ping_with(PingParams::device_info()).to_json(&t)["pingCommand"],
            serde_json::json!({"params": {"deviceinfo": "true"}})
        );
        let c = Command::certificate(
            CertificateParams::new([("sig", "MIIC")])
                .profile("p1")
                .smartcard("card-1"),
        )
        .to_json(&t);
        assert_eq!(c["certCommand"]["params"]["certificates"]["sig"], "MIIC");
        assert_eq!(c["certCommand"]["params"]["smartcardid"], "card-1");
        let a = Command::authenticate(SignParams::new(vec![]))
            .to(["device-1"])
            .to_json(&t);
        assert_eq!(a["commandHeader"]["to"], serde_json::json!(["device-1"]));
        assert!(a["authCommand"]["params"].is_object());
        let key = AdminKey::new("0123456789abcdef0123456789abcdef0123456789abcdef").unwrap();
        assert!(!format!("{key:?}").contains("0123"));
        let end =
            Command::end_pin_reset(EndPinResetParams::new("card-1", "ZW5j").new_admin_key(key))
                .to_json(&t);
        assert_eq!(
            end["endpinresetCommand"]["params"],
            serde_json::json!({"smartcardid":"card-1","encryptednonce":"ZW5j",
                "newadminkey":"0123456789abcdef0123456789abcdef0123456789abcdef"})
        );
        for bad in [
            "0123456789ABCDEF0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0123456789abcdeg",
        ] {
            assert!(AdminKey::new(bad).is_err(), "{bad}");
        }
        let mut bad = end.clone();
        bad["endpinresetCommand"]["params"]["newadminkey"] = "ABC".into();
        assert!(CommandDocument::from_json(CommandKind::EndPinReset, &bad).is_err());
        let start = Command::start_pin_reset(StartPinResetParams::new("card-1")).to_json(&t);
        assert_eq!(
            CommandDocument::from_json(CommandKind::StartPinReset, &start)
                .unwrap()
                .to_json(),
            start
        );
    }
}
