//! What the tracker writes to the flow store: a command's record state and
//! its outcome, both JSON with a format version.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use smartid_core::store::{FlowRecord, StoreError};

use super::Outcome;
use crate::callback::{Callback, result_in, result_ref_in};
use crate::client::TrackedCommand;
use crate::error::{Error, Result};
use crate::timing::CommandTiming;
use crate::vocab::{CommandKind, CommandState, CommandType};

/// The version of the record state this release writes (and the newest it
/// reads).
pub(crate) const STATE_FORMAT: u32 = 1;

/// The version of the outcome documents this release writes.
pub(crate) const OUTCOME_FORMAT: u32 = 1;

/// The state of one command's record: the tracked command (absent while
/// only an early callback is known), the early callback, and whether the
/// session visibly started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredState {
    pub(crate) format: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) command: Option<StoredCommand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) early: Option<StoredEarly>,
    #[serde(default)]
    pub(crate) session_started: bool,
}

/// A [`TrackedCommand`] as stored: kind, timing in whole seconds, send time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredCommand {
    command_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    kind: CommandKind,
    lifespan_secs: u64,
    timeout_secs: u64,
    session_start_secs: u64,
    sent_at: StoredTime,
}

/// A time as seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredTime {
    secs: u64,
    #[serde(default)]
    nanos: u32,
}

impl StoredTime {
    pub(crate) fn from_system(t: SystemTime) -> Self {
        let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        Self {
            secs: d.as_secs(),
            nanos: d.subsec_nanos(),
        }
    }

    pub(crate) fn to_system(self) -> SystemTime {
        SystemTime::UNIX_EPOCH
            .checked_add(Duration::new(self.secs, self.nanos.min(999_999_999)))
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }
}

impl StoredCommand {
    pub(crate) fn from_tracked(t: &TrackedCommand) -> Self {
        Self {
            command_id: t.command_id.clone(),
            external_id: t.external_id.clone(),
            kind: t.kind.clone(),
            lifespan_secs: t.timing.lifespan().as_secs(),
            timeout_secs: t.timing.timeout().as_secs(),
            session_start_secs: t.timing.session_start_timeout().as_secs(),
            sent_at: StoredTime::from_system(t.sent_at),
        }
    }

    pub(crate) fn kind(&self) -> &CommandKind {
        &self.kind
    }

    pub(crate) fn to_tracked(&self, record: &FlowRecord) -> Result<TrackedCommand> {
        let timing = CommandTiming::from_secs(
            self.lifespan_secs,
            self.timeout_secs,
            self.session_start_secs,
        )
        .map_err(|e| corrupt(record, &format!("its timing is invalid ({e})")))?;
        Ok(TrackedCommand::new(
            self.command_id.clone(),
            self.external_id.clone(),
            self.kind.clone(),
            timing,
            self.sent_at.to_system(),
        ))
    }
}

/// A callback that arrived before its command was tracked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredEarly {
    pub(crate) callback: StoredCallback,
    pub(crate) received: StoredTime,
}

/// A [`Callback`] as stored: the document as received, and the parsed
/// fields that differ from what the document says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredCallback {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<CommandKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    command_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    command_type: Option<CommandType>,
    state: CommandState,
    /// The result when it is not the one the document carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
    /// Whether the result is the one the document carries.
    #[serde(default)]
    result_in_raw: bool,
    raw: Value,
}

/// [`StoredCallback`] borrowed from a [`Callback`], for writing: the same
/// fields in the same order, so the same JSON, without copying the
/// callback's document.
#[derive(Serialize)]
struct StoredCallbackRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a CommandKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command_type: Option<&'a CommandType>,
    state: &'a CommandState,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Value>,
    result_in_raw: bool,
    raw: &'a Value,
}

impl<'a> StoredCallbackRef<'a> {
    fn of(cb: &'a Callback) -> Self {
        let result_in_raw = match cb.raw.as_object() {
            Some(map) => result_ref_in(map) == cb.result.as_ref(),
            None => false,
        };
        Self {
            kind: cb.kind.as_ref(),
            command_id: cb.command_id.as_deref(),
            external_id: cb.external_id.as_deref(),
            command_type: cb.command_type.as_ref(),
            state: &cb.state,
            result: if result_in_raw {
                None
            } else {
                cb.result.as_ref()
            },
            result_in_raw,
            raw: &cb.raw,
        }
    }
}

impl StoredCallback {
    pub(crate) fn from_callback(cb: &Callback) -> Self {
        let in_raw = cb.raw.as_object().map(result_in);
        let result_in_raw = in_raw.as_ref() == Some(&cb.result);
        Self {
            kind: cb.kind.clone(),
            command_id: cb.command_id.clone(),
            external_id: cb.external_id.clone(),
            command_type: cb.command_type.clone(),
            state: cb.state.clone(),
            result: if result_in_raw {
                None
            } else {
                cb.result.clone()
            },
            result_in_raw,
            raw: cb.raw.clone(),
        }
    }

    pub(crate) fn kind(&self) -> Option<&CommandKind> {
        self.kind.as_ref()
    }

    pub(crate) fn state(&self) -> &CommandState {
        &self.state
    }

    pub(crate) fn to_callback(&self) -> Callback {
        let result = if self.result_in_raw {
            self.raw.as_object().and_then(result_in)
        } else {
            self.result.clone()
        };
        Callback {
            kind: self.kind.clone(),
            command_id: self.command_id.clone(),
            external_id: self.external_id.clone(),
            command_type: self.command_type.clone(),
            state: self.state.clone(),
            result,
            raw: self.raw.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum StoredOutcomeKind {
    Answered { callback: StoredCallback },
    SessionNotStarted,
    TimedOut,
    Expired,
}

#[derive(Serialize, Deserialize)]
struct StoredOutcome {
    format: u32,
    #[serde(flatten)]
    outcome: StoredOutcomeKind,
}

fn corrupt(record: &FlowRecord, reason: &str) -> Error {
    Error::Store(StoreError::Corrupt {
        namespace: record.namespace.clone(),
        id: record.id.clone(),
        reason: reason.to_owned(),
    })
}

fn incompatible(what: String, found: u32, supported: u32) -> Error {
    Error::Store(StoreError::Incompatible {
        what,
        found,
        supported,
        remedy: "a newer hermod-client wrote it: run that release on every replica (or \
                 finish the commands with it) before going back"
            .into(),
    })
}

impl StoredState {
    pub(crate) fn tracked(t: &TrackedCommand) -> Self {
        Self {
            format: STATE_FORMAT,
            command: Some(StoredCommand::from_tracked(t)),
            early: None,
            session_started: false,
        }
    }

    pub(crate) fn early(cb: &Callback, received: SystemTime) -> Self {
        Self {
            format: STATE_FORMAT,
            command: None,
            session_started: !cb.state.is_final(),
            early: Some(StoredEarly {
                callback: StoredCallback::from_callback(cb),
                received: StoredTime::from_system(received),
            }),
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // Serializing these plain structs cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a record's state: older formats are migrated (there are none
    /// yet), newer ones refused.
    pub(crate) fn read(record: &FlowRecord) -> Result<Self> {
        if record.format > STATE_FORMAT {
            return Err(incompatible(
                format!("the Hermod command record {}", record.id),
                record.format,
                STATE_FORMAT,
            ));
        }
        let state: Self = serde_json::from_slice(&record.state).map_err(|e| {
            corrupt(
                record,
                &format!("its state is not the tracker's JSON ({e})"),
            )
        })?;
        if state.format > STATE_FORMAT {
            return Err(incompatible(
                format!("the Hermod command record {}", record.id),
                state.format,
                STATE_FORMAT,
            ));
        }
        Ok(state)
    }
}

/// [`StoredOutcomeKind`] borrowed, for writing (the same JSON).
#[derive(Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum StoredOutcomeKindRef<'a> {
    Answered { callback: StoredCallbackRef<'a> },
    SessionNotStarted,
    TimedOut,
    Expired,
}

/// [`StoredOutcome`] borrowed, for writing (the same JSON).
#[derive(Serialize)]
struct StoredOutcomeRef<'a> {
    format: u32,
    #[serde(flatten)]
    outcome: StoredOutcomeKindRef<'a>,
}

/// The bytes of an outcome.
pub(crate) fn outcome_bytes(outcome: &Outcome) -> Vec<u8> {
    write_outcome(match outcome {
        Outcome::Answered(cb) => StoredOutcomeKindRef::Answered {
            callback: StoredCallbackRef::of(cb),
        },
        Outcome::SessionNotStarted => StoredOutcomeKindRef::SessionNotStarted,
        Outcome::TimedOut => StoredOutcomeKindRef::TimedOut,
        Outcome::Expired => StoredOutcomeKindRef::Expired,
    })
}

/// The bytes of the outcome `callback` reaches ([`Outcome::Answered`]
/// unless it says `TIMEOUT` or `EXPIRED`), without copying it.
pub(crate) fn callback_outcome_bytes(callback: &Callback) -> Vec<u8> {
    write_outcome(match callback.state {
        CommandState::Timeout => StoredOutcomeKindRef::TimedOut,
        CommandState::Expired => StoredOutcomeKindRef::Expired,
        _ => StoredOutcomeKindRef::Answered {
            callback: StoredCallbackRef::of(callback),
        },
    })
}

fn write_outcome(outcome: StoredOutcomeKindRef<'_>) -> Vec<u8> {
    serde_json::to_vec(&StoredOutcomeRef {
        format: OUTCOME_FORMAT,
        outcome,
    })
    .unwrap_or_default()
}

/// Reads the outcome of a record that has one.
pub(crate) fn read_outcome(record: &FlowRecord) -> Result<Option<Outcome>> {
    let Some(bytes) = &record.outcome else {
        return Ok(None);
    };
    let stored: StoredOutcome = serde_json::from_slice(bytes).map_err(|e| {
        corrupt(
            record,
            &format!("its outcome is not the tracker's JSON ({e})"),
        )
    })?;
    if stored.format > OUTCOME_FORMAT {
        return Err(incompatible(
            format!("the outcome of Hermod command {}", record.id),
            stored.format,
            OUTCOME_FORMAT,
        ));
    }
    Ok(Some(match stored.outcome {
        StoredOutcomeKind::Answered { callback } => Outcome::Answered(callback.to_callback()),
        StoredOutcomeKind::SessionNotStarted => Outcome::SessionNotStarted,
        StoredOutcomeKind::TimedOut => Outcome::TimedOut,
        StoredOutcomeKind::Expired => Outcome::Expired,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The owned form the borrowed writers stand in for.
    fn owned_bytes(outcome: &Outcome) -> Vec<u8> {
        let outcome = match outcome {
            Outcome::Answered(cb) => StoredOutcomeKind::Answered {
                callback: StoredCallback::from_callback(cb),
            },
            Outcome::SessionNotStarted => StoredOutcomeKind::SessionNotStarted,
            Outcome::TimedOut => StoredOutcomeKind::TimedOut,
            Outcome::Expired => StoredOutcomeKind::Expired,
        };
        serde_json::to_vec(&StoredOutcome {
            format: OUTCOME_FORMAT,
            outcome,
        })
        .unwrap()
    }

    #[test]
    fn borrowed_outcomes_are_written_as_the_owned_ones() {
        let documents = [
            r#"{"commandId":"c-1","state":"COMPLETED","result":{"n":1}}"#,
            r#"{"commandId":7,"externalId":"x","state":"COMPLETED","response":"r"}"#,
            r#"{"commandId":"c-3","state":"COMPLETED","result":null,"answer":[1,2]}"#,
            r#"{"commandId":"c-4","type":"SIGN","state":"FAILED"}"#,
            r#"{"commandId":"c-5","state":"TIMEOUT"}"#,
            r#"{"commandId":"c-6","state":"EXPIRED"}"#,
        ];
        for (n, doc) in documents.iter().enumerate() {
            let kind = (n % 2 == 0).then_some(CommandKind::Sign);
            let mut cb = Callback::from_json(kind, doc.as_bytes()).unwrap();
            let outcome = super::super::outcome_of(cb.clone());
            assert_eq!(outcome_bytes(&outcome), owned_bytes(&outcome), "{doc}");
            assert_eq!(callback_outcome_bytes(&cb), owned_bytes(&outcome), "{doc}");
            // A result that is not the document's is written beside it.
            cb.result = Some(Value::String("other".into()));
            let outcome = Outcome::Answered(cb.clone());
            assert_eq!(outcome_bytes(&outcome), owned_bytes(&outcome), "{doc}");
        }
        for outcome in [
            Outcome::SessionNotStarted,
            Outcome::TimedOut,
            Outcome::Expired,
        ] {
            assert_eq!(outcome_bytes(&outcome), owned_bytes(&outcome));
        }
    }
}
