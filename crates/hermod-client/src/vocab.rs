//! Hermod's vocabularies: command types and command states.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The commands, each with its command and callback path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CommandKind {
    /// Provision a profile (keys, then certificates) on the device.
    Provision,
    /// Install certificates in a profile.
    Certificate,
    /// Authenticate the user (a sign operation on a challenge).
    Authenticate,
    /// Sign data.
    Sign,
    /// Check that the device answers (optionally with its information).
    Ping,
    /// The Desktop App's `Startpinreset` (path `startpinreset`, inferred).
    StartPinReset,
    /// The Desktop App's `Endpinreset` (path `endpinreset`, inferred).
    EndPinReset,
}

impl CommandKind {
    /// All kinds.
    pub const ALL: [CommandKind; 7] = [
        CommandKind::Provision,
        CommandKind::Certificate,
        CommandKind::Authenticate,
        CommandKind::Sign,
        CommandKind::Ping,
        CommandKind::StartPinReset,
        CommandKind::EndPinReset,
    ];

    /// The path segment: `provision`, `certificate`, `authenticate`, `sign`,
    /// `ping` (documented), `startpinreset`, `endpinreset` (inferred).
    pub fn path_segment(self) -> &'static str {
        match self {
            CommandKind::Provision => "provision",
            CommandKind::Certificate => "certificate",
            CommandKind::Authenticate => "authenticate",
            CommandKind::Sign => "sign",
            CommandKind::Ping => "ping",
            CommandKind::StartPinReset => "startpinreset",
            CommandKind::EndPinReset => "endpinreset",
        }
    }

    /// Parses a path segment.
    pub fn from_path_segment(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.path_segment() == segment)
    }

    /// The `commandType` Hermod reports (`SIGN` is documented; the others
    /// are the upper-cased path segment).
    pub fn command_type(self) -> CommandType {
        match self {
            CommandKind::Provision => CommandType::Provision,
            CommandKind::Certificate => CommandType::Certificate,
            CommandKind::Authenticate => CommandType::Authenticate,
            CommandKind::Sign => CommandType::Sign,
            CommandKind::Ping => CommandType::Ping,
            CommandKind::StartPinReset => CommandType::StartPinReset,
            CommandKind::EndPinReset => CommandType::EndPinReset,
        }
    }
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path_segment())
    }
}

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version does not know, kept as sent.
            Unknown(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Unknown(s) => s,
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.to_ascii_uppercase().as_str() {
                    $( $wire => $name::$variant, )*
                    _ => $name::Unknown(s),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// `commandType` in Hermod's answers and callbacks. Only `SIGN` is
    /// documented; the others follow its pattern.
    CommandType {
        /// `PROVISION`
        Provision = "PROVISION",
        /// `CERTIFICATE`
        Certificate = "CERTIFICATE",
        /// `AUTHENTICATE`
        Authenticate = "AUTHENTICATE",
        /// `SIGN`
        Sign = "SIGN",
        /// `PING`
        Ping = "PING",
        /// `STARTPINRESET` (inferred)
        StartPinReset = "STARTPINRESET",
        /// `ENDPINRESET` (inferred)
        EndPinReset = "ENDPINRESET",
    }
}

string_enum! {
    /// A command's `state`. Only `IN_PROGRESS` is documented (the answer to a
    /// new command); the others are inferred names for the outcomes Hermod
    /// reports in callbacks. Unknown states are kept as sent.
    CommandState {
        /// `IN_PROGRESS`: waiting for the device.
        InProgress = "IN_PROGRESS",
        /// `STARTED`: the device opened the command (session started). Not
        /// in the record: nothing depends on it by default.
        Started = "STARTED",
        /// `COMPLETED`: the device answered and Hermod validated the answer.
        Completed = "COMPLETED",
        /// `DECLINED`: the user refused.
        Declined = "DECLINED",
        /// `FAILED`: the device or Hermod reported an error.
        Failed = "FAILED",
        /// `TIMEOUT`: the command left the message box unanswered.
        Timeout = "TIMEOUT",
        /// `EXPIRED`: the lifespan ended.
        Expired = "EXPIRED",
        /// `CANCELLED`: the command was withdrawn.
        Cancelled = "CANCELLED",
    }
}

impl CommandState {
    /// Whether no further callback is expected after this state (`Unknown`
    /// states count as final so that a waiter is never left hanging on a
    /// state it cannot interpret).
    pub fn is_final(&self) -> bool {
        !matches!(self, CommandState::InProgress | CommandState::Started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_keep_unknowns() {
        let s: CommandState = serde_json::from_str("\"IN_PROGRESS\"").unwrap();
        assert_eq!(s, CommandState::InProgress);
        assert!(!s.is_final());
        let u: CommandState = serde_json::from_str("\"WAITING_FOR_PIN\"").unwrap();
        assert_eq!(u, CommandState::Unknown("WAITING_FOR_PIN".into()));
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"WAITING_FOR_PIN\"");
        assert_eq!(CommandState::from("completed"), CommandState::Completed);
        assert_eq!(CommandType::from("SIGN").to_string(), "SIGN");
        for k in CommandKind::ALL {
            assert_eq!(CommandKind::from_path_segment(k.path_segment()), Some(k));
        }
    }
}
