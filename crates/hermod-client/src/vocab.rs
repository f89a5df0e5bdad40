//! Hermod's vocabularies: command kinds, command types and command states.

smartid_core::vocabulary! {
    /// The commands, each with its command and callback path segment (the
    /// wire value, as in `{base}/rest/command/sign`).
    pub enum CommandKind {
        /// Provision a profile (keys, then certificates) on the device.
        Provision = "provision",
        /// Install certificates in a profile.
        Certificate = "certificate",
        /// Authenticate the user (a sign operation on a challenge).
        Authenticate = "authenticate",
        /// Sign data.
        Sign = "sign",
        /// Check that the device answers (optionally with its information).
        Ping = "ping",
        /// The Desktop App's `Startpinreset` (path `startpinreset`, inferred).
        StartPinReset = "startpinreset",
        /// The Desktop App's `Endpinreset` (path `endpinreset`, inferred).
        EndPinReset = "endpinreset",
    }
}

impl CommandKind {
    /// The path segment: `provision`, `certificate`, `authenticate`, `sign`,
    /// `ping` (documented), `startpinreset`, `endpinreset` (inferred); an
    /// [`CommandKind::Other`] kind as given.
    pub fn path_segment(&self) -> &str {
        self.as_str()
    }

    /// Parses a path segment of a kind this version knows (exact spelling;
    /// `None` for anything else).
    pub fn from_path_segment(segment: &str) -> Option<Self> {
        Self::KNOWN
            .iter()
            .find(|k| k.path_segment() == segment)
            .cloned()
    }

    /// The `commandType` Hermod reports (`SIGN` is documented; the others
    /// are the upper-cased path segment).
    pub fn command_type(&self) -> CommandType {
        CommandType::parse(&self.as_str().to_ascii_uppercase())
    }
}

smartid_core::vocabulary! {
    /// `commandType` in Hermod's answers and callbacks. Only `SIGN` is
    /// documented; the others follow its pattern.
    pub enum CommandType {
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

smartid_core::vocabulary! {
    /// A command's `state`. Only `IN_PROGRESS` is documented (the answer to a
    /// new command); the others are inferred names for the outcomes Hermod
    /// reports in callbacks. Unknown states are kept as sent.
    pub enum CommandState {
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
    /// Whether no further callback is expected after this state (`Other`
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
        assert_eq!(u, CommandState::Other("WAITING_FOR_PIN".into()));
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"WAITING_FOR_PIN\"");
        assert_eq!(CommandState::from("completed"), CommandState::Completed);
        assert_eq!(CommandType::from("SIGN").to_string(), "SIGN");
        for k in CommandKind::KNOWN {
            assert_eq!(
                CommandKind::from_path_segment(k.path_segment()).as_ref(),
                Some(k)
            );
        }
        assert_eq!(
            CommandKind::StartPinReset.command_type(),
            CommandType::StartPinReset
        );
        assert_eq!(CommandKind::from_path_segment("SIGN"), None);
        assert_eq!(
            serde_json::from_str::<CommandKind>("\"sign\"").unwrap(),
            CommandKind::Sign
        );
    }
}
