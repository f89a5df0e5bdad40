//! The callbacks Hermod POSTs to `{callback-url}/callback/<kind>` (inferred;
//! the receiver also accepts `{callback-url}/rest/callback/<kind>`).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::vocab::{CommandKind, CommandState, CommandType};

/// A callback from Hermod: which command, its state and the device's result.
///
/// Hermod's callback schema is not public; this reads `commandId`,
/// `externalId` (also inside `commandHeader`), `commandType`, `state` and the
/// result under `result`, `response` or `answer`, and keeps the whole JSON
/// document in [`Callback::raw`].
///
/// # What to verify
/// [`Callback::result`] is the device's answer as Hermod relays it. The
/// receiver authenticated the caller (Hermod's Basic credentials) and
/// matched the callback to a tracked command of the same kind; it did not
/// check the answer itself. Before acting on it:
/// - **provision**: the result is a JWS signed by the device
///   (`responseformat: jws`, `responsesignaturekey: ATTESTATION`): verify
///   its signature with the configured attestation key, and that it
///   carries the nonce you sent, before trusting any data in it (Identity
///   Manager reports a failed check as `HERMOD_ERROR_JWT_SIGNATURE`); the
///   CSR it carries must have the subject you asked for.
/// - **sign / authenticate**: verify each signature (PKCS#7 or JWS, as
///   requested) over the exact `tbs` data you sent, with a certificate you
///   trust for that user (chain, validity, revocation, key usage).
/// - **certificate, ping, PIN reset**: the result is informational;
///   a PIN reset `nonce` is only as good as the encryption you apply to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Callback {
    /// The callback path it arrived on, if known.
    pub kind: Option<CommandKind>,
    /// Hermod's command id.
    pub command_id: Option<String>,
    /// The external id from the command header.
    pub external_id: Option<String>,
    /// The command type.
    pub command_type: Option<CommandType>,
    /// The state.
    pub state: CommandState,
    /// The device's answer as Hermod relays it (e.g. a JWS or PKCS#7
    /// signature), unverified: see "What to verify" above.
    pub result: Option<Value>,
    /// The whole callback document.
    pub raw: Value,
}

impl Callback {
    /// Parses a callback body.
    ///
    /// # Errors
    /// [`Error::InvalidCallback`] when the body is not a JSON object, names
    /// neither a command id nor an external id, or has neither a state nor a
    /// result.
    pub fn from_json(kind: Option<CommandKind>, body: &[u8]) -> Result<Self> {
        let raw: Value = serde_json::from_slice(body)
            .map_err(|e| Error::InvalidCallback(format!("the body is not JSON ({e})")))?;
        let Value::Object(map) = &raw else {
            return Err(Error::InvalidCallback(
                "the body is not a JSON object".into(),
            ));
        };
        let header = match map.get("commandHeader") {
            Some(Value::Object(h)) => Some(h),
            _ => None,
        };
        let command_id = id_field(map, "commandId")?;
        let external_id = match id_field(map, "externalId")? {
            Some(id) => Some(id),
            None => header
                .map(|h| id_field(h, "externalId"))
                .transpose()?
                .flatten(),
        };
        if command_id.is_none() && external_id.is_none() {
            return Err(Error::InvalidCallback(
                "the callback names neither a commandId nor an externalId".into(),
            ));
        }
        let command_type = match map.get("commandType") {
            Some(Value::String(s)) => Some(CommandType::from(s.as_str())),
            _ => None,
        };
        let result = result_in(map);
        let state = match map.get("state") {
            Some(Value::String(s)) if !s.is_empty() => CommandState::from(s.as_str()),
            None | Some(Value::Null) if result.is_some() => CommandState::Completed,
            Some(other) if !other.is_null() => {
                return Err(Error::InvalidCallback(format!(
                    "state is not a string: {other}"
                )));
            }
            _ => {
                return Err(Error::InvalidCallback(
                    "the callback has neither a state nor a result".into(),
                ));
            }
        };
        Ok(Self {
            kind,
            command_id,
            external_id,
            command_type,
            state,
            result,
            raw,
        })
    }

    /// A callback built in code (for tests and for resuming).
    pub fn new(command_id: impl Into<String>, state: CommandState) -> Self {
        let command_id = command_id.into();
        let mut raw = Map::new();
        raw.insert("commandId".into(), Value::String(command_id.clone()));
        raw.insert("state".into(), Value::String(state.as_str().to_owned()));
        Self {
            kind: None,
            command_id: Some(command_id),
            external_id: None,
            command_type: None,
            state,
            result: None,
            raw: Value::Object(raw),
        }
    }
}

/// The device's result in a callback document: `result`, `response` or
/// `answer`, the first that is present and not null.
pub(crate) fn result_in(map: &Map<String, Value>) -> Option<Value> {
    result_ref_in(map).cloned()
}

/// [`result_in`], borrowed.
pub(crate) fn result_ref_in(map: &Map<String, Value>) -> Option<&Value> {
    ["result", "response", "answer"]
        .iter()
        .find_map(|k| map.get(*k).filter(|v| !v.is_null()))
}

fn id_field(map: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(Error::InvalidCallback(format!(
            "{name} is neither a string nor a number: {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_state_and_result() {
        let cb = Callback::from_json(
            Some(CommandKind::Sign),
            br#"{"commandId":688,"commandHeader":{"externalId":"order-1"},"commandType":"SIGN","state":"COMPLETED","result":{"signatures":["MIIB"]},"extra":true}"#,
        )
        .unwrap();
        assert_eq!(cb.command_id.as_deref(), Some("688"));
        assert_eq!(cb.external_id.as_deref(), Some("order-1"));
        assert_eq!(cb.state, CommandState::Completed);
        assert_eq!(cb.result.as_ref().unwrap()["signatures"][0], "MIIB");
        assert_eq!(cb.raw["extra"], true);
        let implicit =
            Callback::from_json(None, br#"{"externalId":"x","response":"eyJ..."}"#).unwrap();
        assert_eq!(implicit.state, CommandState::Completed);
    }

    #[test]
    fn truncated_and_mutated_bodies_never_panic() {
        let body = br#"{"commandId":688,"externalId":"e","commandType":"SIGN","state":"COMPLETED","result":{"signatures":["MIIB"]}}"#;
        for cut in 0..body.len() {
            let _ = Callback::from_json(None, &body[..cut]);
        }
        let mut seed = 0x2545_f491_u32;
        for _ in 0..2000 {
            let mut m = body.to_vec();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let i = seed as usize % m.len();
                m[i] = (seed >> 8) as u8;
            }
            let _ = Callback::from_json(Some(CommandKind::Sign), &m);
            let _ = crate::CommandAnswer::from_json(&m, "https://h");
        }
    }

    #[test]
    fn rejects_malformed() {
        for body in [
            &b"{"[..],
            b"[]",
            br#"{"state":"COMPLETED"}"#,
            br#"{"commandId":"1"}"#,
            br#"{"commandId":{},"state":"X"}"#,
            br#"{"commandId":"1","state":5}"#,
        ] {
            assert!(
                Callback::from_json(None, body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
