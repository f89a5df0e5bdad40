//! Hermod's synchronous answer to a command.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::deeplink::{DesktopLink, MobileLink};
use crate::error::{Error, Result};
use crate::vocab::{CommandState, CommandType};

/// Where a command was delivered: one message box per recipient.
///
/// `Debug` shows the recipient and the host, but neither `uri` (it carries
/// the message-box token) nor the box and message ids of `bid`, `mid` and
/// `location`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Destination {
    /// The recipient, e.g. `@tmp`.
    pub to: String,
    /// The message box id.
    pub bid: String,
    /// The message id.
    pub mid: String,
    /// The Desktop App link (`com.nexusgroup.plugout:///?url=...&token=...`),
    /// a secret of the message box.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uri: String,
    /// The message's URL at Hermod (`.../hermod/rest/ms/<bid>/<mid>`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// Fields this version does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = url::Url::parse(&self.location)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| format!("{}://{h}/[redacted]", u.scheme()))
            })
            .unwrap_or_else(|| "[redacted]".into());
        f.debug_struct("Destination")
            .field("to", &self.to)
            .field("bid", &"[redacted]")
            .field("mid", &"[redacted]")
            .field("uri", &"[redacted]")
            .field("location", &location)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Destination {
    /// The Desktop App link, parsed.
    ///
    /// # Errors
    /// [`Error::InvalidLink`] when `uri` is not a `com.nexusgroup.plugout:` link.
    pub fn desktop_link(&self) -> Result<DesktopLink> {
        DesktopLink::parse(&self.uri)
    }
}

/// The answer to a new command (HTTP 200):
/// `{"commandId":"688","destinations":[...],"commandType":"SIGN","state":"IN_PROGRESS","fqdn":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CommandAnswer {
    /// Hermod's id of the command (a number sent as a string; numbers are accepted too).
    #[serde(deserialize_with = "string_or_number")]
    pub command_id: String,
    /// One entry per recipient.
    #[serde(default)]
    pub destinations: Vec<Destination>,
    /// The command type.
    pub command_type: CommandType,
    /// The state, `IN_PROGRESS` for a new command.
    pub state: CommandState,
    /// The Hermod host that handled the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// Fields this version does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CommandAnswer {
    /// Parses an answer body received from `url` (as a 2xx answer).
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] naming what is missing, with the start of the body.
    pub fn from_json(body: &[u8], url: &str) -> Result<Self> {
        Self::parse(body).map_err(|expected| {
            let response = smartid_core::HttpResponse::new(200, vec![], body.to_vec(), url);
            Error::InvalidResponse(smartid_core::UnexpectedAnswer::new(&response, expected))
        })
    }

    /// Parses Hermod's answer to a command (its status is not checked here).
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] naming what is missing, with the status
    /// and the start of the body.
    pub fn from_response(response: &smartid_core::HttpResponse) -> Result<Self> {
        Self::parse(response.body()).map_err(|expected| {
            Error::InvalidResponse(smartid_core::UnexpectedAnswer::new(response, expected))
        })
    }

    fn parse(body: &[u8]) -> std::result::Result<Self, String> {
        let answer: Self = serde_json::from_slice(body)
            .map_err(|e| format!("a command answer with commandId, commandType and state ({e})"))?;
        if answer.command_id.is_empty() {
            return Err("a command answer with a non-empty commandId".into());
        }
        Ok(answer)
    }

    /// The first destination's Desktop App link.
    ///
    /// # Errors
    /// [`Error::InvalidLink`] when there is no destination or its `uri` is not a link.
    pub fn desktop_link(&self) -> Result<DesktopLink> {
        self.destinations
            .first()
            .ok_or_else(|| Error::InvalidLink("the answer has no destination".into()))?
            .desktop_link()
    }

    /// A Mobile App link (`personal://<host>/hermod/rest/ms/<bid>/<mid>?title=..&redirect=..`)
    /// to the first destination of a provisioning command, with the title
    /// the app shows and an optional redirect after it is done. Change the
    /// scheme with [`MobileLink::with_scheme`].
    ///
    /// # Errors
    /// [`Error::InvalidLink`] when the command is not a provisioning command
    /// (Nexus documents that the Mobile App does not open links to sign or
    /// authentication requests), has no destination, or its `location` is
    /// not an http(s) URL.
    pub fn mobile_link(&self, title: &str, redirect: Option<&str>) -> Result<MobileLink> {
        if self.command_type != CommandType::Provision {
            return Err(Error::InvalidLink(format!(
                "the Smart ID Mobile App opens links to provisioning messages only, and this is a \
                 {} command; hand the user the Desktop App link, or MobileLink::start to open the app",
                self.command_type
            )));
        }
        let dest = self
            .destinations
            .first()
            .ok_or_else(|| Error::InvalidLink("the answer has no destination".into()))?;
        MobileLink::for_message(&dest.location, title, redirect)
    }
}

pub(crate) fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or number, got {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer in the documented shape with https (the documented sample
    /// itself, with http, is a fixture in tests/fixtures).
    pub(crate) const SAMPLE: &str = r#"{"commandId":"688","destinations":[{"to":"@tmp","bid":"3b4a4e9a-5bd4-4bb5-9ac4-0b2a1b6f4c11","mid":"8f2d6c1e-1d1b-4f2a-9d51-7e0c6a2b9a77","uri":"com.nexusgroup.plugout:///?url=https%3A%2F%2Fhermod.example.com%3A20400%2Fhermod%2Frest%2Fms%2F3b4a4e9a-5bd4-4bb5-9ac4-0b2a1b6f4c11&token=0c7e6b8e-44a3-4d0c-b6a1-5f8f5cf4b9d2","location":"https://hermod.example.com:20400/hermod/rest/ms/3b4a4e9a-5bd4-4bb5-9ac4-0b2a1b6f4c11/8f2d6c1e-1d1b-4f2a-9d51-7e0c6a2b9a77"}],"commandType":"PROVISION","state":"IN_PROGRESS","fqdn":"hermod.example.com","newField":{"x":1}}"#;

    #[test]
    fn sample_answer_parses() {
        let a = CommandAnswer::from_json(SAMPLE.as_bytes(), "https://h").unwrap();
        assert_eq!(a.command_id, "688");
        assert_eq!(a.command_type, CommandType::Provision);
        assert_eq!(a.state, CommandState::InProgress);
        assert_eq!(a.fqdn.as_deref(), Some("hermod.example.com"));
        assert_eq!(a.extra["newField"]["x"], 1);
        let d = &a.destinations[0];
        assert_eq!(d.to, "@tmp");
        let link = a.desktop_link().unwrap();
        assert_eq!(
            link.message_box_url(),
            "https://hermod.example.com:20400/hermod/rest/ms/3b4a4e9a-5bd4-4bb5-9ac4-0b2a1b6f4c11"
        );
        assert_eq!(link.token(), "0c7e6b8e-44a3-4d0c-b6a1-5f8f5cf4b9d2");
        assert_eq!(link.to_string(), d.uri);
        let mobile = a
            .mobile_link("Sign in", Some("https://idm.example.com/done"))
            .unwrap();
        assert_eq!(
            mobile.to_string(),
            "personal://hermod.example.com:20400/hermod/rest/ms/3b4a4e9a-5bd4-4bb5-9ac4-0b2a1b6f4c11/8f2d6c1e-1d1b-4f2a-9d51-7e0c6a2b9a77?title=Sign+in&redirect=https%3A%2F%2Fidm.example.com%2Fdone"
        );
        // Unknown fields survive a round trip.
        let again: CommandAnswer =
            serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
        assert_eq!(again, a);
        // Debug shows no token and no message path.
        let dbg = format!("{a:?}");
        assert!(
            !dbg.contains("0c7e6b8e") && !dbg.contains("rest/ms"),
            "{dbg}"
        );
    }

    #[test]
    fn mobile_links_only_for_provisioning() {
        let sign = SAMPLE.replace("PROVISION", "SIGN");
        let a = CommandAnswer::from_json(sign.as_bytes(), "https://h").unwrap();
        let e = a.mobile_link("t", None).unwrap_err().to_string();
        assert!(e.contains("provisioning") && e.contains("SIGN"), "{e}");
        assert!(a.desktop_link().is_ok());
    }

    #[test]
    fn numeric_ids_and_unknown_states() {
        let a = CommandAnswer::from_json(
            br#"{"commandId":689,"commandType":"WIPE","state":"QUEUED"}"#,
            "https://h",
        )
        .unwrap();
        assert_eq!(a.command_id, "689");
        assert_eq!(a.command_type, CommandType::Other("WIPE".into()));
        assert_eq!(a.state, CommandState::Other("QUEUED".into()));
        assert!(a.desktop_link().is_err());
    }

    #[test]
    fn bad_answers_say_what_is_missing() {
        let e = CommandAnswer::from_json(b"<html>502</html>", "https://h/x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("commandId") && e.contains("<html>"), "{e}");
        let r = smartid_core::HttpResponse::new(201, vec![], b"{}".to_vec(), "https://h/x");
        match CommandAnswer::from_response(&r) {
            Err(Error::InvalidResponse(a)) => {
                assert_eq!((a.status, a.url.as_str()), (201, "https://h/x"))
            }
            other => panic!("{other:?}"),
        }
        let e = CommandAnswer::from_json(br#"{"state":"IN_PROGRESS"}"#, "https://h")
            .unwrap_err()
            .to_string();
        assert!(e.contains("commandId"), "{e}");
    }
}
