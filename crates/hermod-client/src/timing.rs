//! Command lifetimes: lifespan, timeout and the session-start timeout.
//!
//! Only what the wire requires is checked here (whole, non-zero seconds and
//! a timeout not past the lifespan). Identity Manager's stricter Messaging
//! Server rules (timeout shorter than lifespan, session start shorter than
//! timeout) belong to Identity Manager's configuration and are checked by
//! idm-config, not when a command is built or parsed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default session-start timeout: 10 seconds (Identity Manager's default).
pub const DEFAULT_SESSION_START_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a command lives, in whole seconds (Hermod's unit).
///
/// - **Lifespan**: after it the command is removed from Hermod's history and
///   the operation fails.
/// - **Timeout**: after it the command leaves the device's message box, but
///   can still be answered (by a device that already fetched it) until the
///   lifespan ends. It may equal the lifespan (every documented sample has
///   `timeout == lifespan`); it may not be past it.
/// - **Session-start timeout**: how long the user has to accept the pop-up
///   that starts the Smart ID app; only the [`Tracker`](crate::Tracker) uses
///   it, and only when its session-start check is switched on. Defaults to
///   10 s. It is not sent to Hermod.
///
/// ```
/// use std::time::Duration;
/// use hermod_client::CommandTiming;
///
/// let timing = CommandTiming::new(Duration::from_secs(30), Duration::from_secs(30))?;
/// assert_eq!(timing.session_start_timeout(), Duration::from_secs(10));
/// assert!(CommandTiming::new(Duration::from_secs(30), Duration::from_secs(60)).is_err());
/// # Ok::<(), hermod_client::TimingError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TimingFields")]
pub struct CommandTiming {
    lifespan: Duration,
    timeout: Duration,
    session_start_timeout: Duration,
}

/// The serialized form, checked by the same rules when read back.
#[derive(Deserialize)]
struct TimingFields {
    lifespan: Duration,
    timeout: Duration,
    session_start_timeout: Duration,
}

impl TryFrom<TimingFields> for CommandTiming {
    type Error = TimingError;

    fn try_from(f: TimingFields) -> Result<Self, TimingError> {
        Self::with_session_start(f.lifespan, f.timeout, f.session_start_timeout)
    }
}

/// A broken timing rule. Each variant says which rule and what it means.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimingError {
    /// A value is zero or not a whole number of seconds.
    #[error(
        "{name} is {value:?}; Hermod counts in whole seconds, give at least 1 s and no fractions"
    )]
    NotWholeSeconds {
        /// `lifespan`, `timeout` or `session_start_timeout`.
        name: &'static str,
        /// The value given.
        value: Duration,
    },
    /// The timeout is past the lifespan.
    #[error(
        "timeout ({timeout:?}) is past lifespan ({lifespan:?}): the command is gone from Hermod \
         at the end of its lifespan, so give a timeout at most as long as the lifespan"
    )]
    TimeoutPastLifespan {
        /// The timeout.
        timeout: Duration,
        /// The lifespan.
        lifespan: Duration,
    },
}

impl CommandTiming {
    /// Lifespan and timeout, with the default 10 s session-start timeout.
    ///
    /// # Errors
    /// [`TimingError`] when a rule is broken (see [`CommandTiming::with_session_start`]).
    pub fn new(lifespan: Duration, timeout: Duration) -> Result<Self, TimingError> {
        Self::with_session_start(lifespan, timeout, DEFAULT_SESSION_START_TIMEOUT)
    }

    /// All three values.
    ///
    /// # Errors
    /// [`TimingError::NotWholeSeconds`] for zero or fractional values,
    /// [`TimingError::TimeoutPastLifespan`] when timeout > lifespan.
    pub fn with_session_start(
        lifespan: Duration,
        timeout: Duration,
        session_start_timeout: Duration,
    ) -> Result<Self, TimingError> {
        for (name, value) in [
            ("lifespan", lifespan),
            ("timeout", timeout),
            ("session_start_timeout", session_start_timeout),
        ] {
            if value.is_zero() || value.subsec_nanos() != 0 {
                return Err(TimingError::NotWholeSeconds { name, value });
            }
        }
        if timeout > lifespan {
            return Err(TimingError::TimeoutPastLifespan { timeout, lifespan });
        }
        Ok(Self {
            lifespan,
            timeout,
            session_start_timeout,
        })
    }

    /// The same rules for values in seconds, as Identity Manager stores them.
    ///
    /// # Errors
    /// As [`CommandTiming::with_session_start`].
    pub fn from_secs(
        lifespan: u64,
        timeout: u64,
        session_start_timeout: u64,
    ) -> Result<Self, TimingError> {
        Self::with_session_start(
            Duration::from_secs(lifespan),
            Duration::from_secs(timeout),
            Duration::from_secs(session_start_timeout),
        )
    }

    /// The lifespan.
    pub fn lifespan(&self) -> Duration {
        self.lifespan
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The session-start timeout.
    pub fn session_start_timeout(&self) -> Duration {
        self.session_start_timeout
    }
}

impl Default for CommandTiming {
    /// Lifespan 300 s, timeout 120 s, session start 10 s.
    fn default() -> Self {
        Self {
            lifespan: Duration::from_secs(300),
            timeout: Duration::from_secs(120),
            session_start_timeout: DEFAULT_SESSION_START_TIMEOUT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wire_rules_are_enforced() {
        assert!(CommandTiming::from_secs(300, 120, 10).is_ok());
        // Every documented sample has timeout == lifespan.
        for secs in [30, 300, 1500] {
            assert!(CommandTiming::from_secs(secs, secs, 10).is_ok(), "{secs}");
        }
        // Identity Manager's session-start rule is not this crate's.
        assert!(CommandTiming::from_secs(300, 10, 10).is_ok());
        assert!(CommandTiming::from_secs(60, 30, 40).is_ok());
        let e = CommandTiming::from_secs(30, 60, 10).unwrap_err();
        assert!(matches!(e, TimingError::TimeoutPastLifespan { .. }));
        assert!(e.to_string().contains("past lifespan"), "{e}");
        assert!(matches!(
            CommandTiming::from_secs(0, 0, 0),
            Err(TimingError::NotWholeSeconds {
                name: "lifespan",
                ..
            })
        ));
        assert!(matches!(
            CommandTiming::with_session_start(
                Duration::from_secs(30),
                Duration::from_millis(20_500),
                Duration::from_secs(10)
            ),
            Err(TimingError::NotWholeSeconds {
                name: "timeout",
                ..
            })
        ));
        let t = CommandTiming::new(Duration::from_secs(60), Duration::from_secs(30)).unwrap();
        assert_eq!(t.session_start_timeout(), DEFAULT_SESSION_START_TIMEOUT);
    }

    #[test]
    fn deserialized_timings_obey_the_rules() {
        let d = CommandTiming::default();
        let json = serde_json::to_value(d).unwrap();
        assert_eq!(
            serde_json::from_value::<CommandTiming>(json.clone()).unwrap(),
            d
        );
        let mut equal = json.clone();
        equal["timeout"] = equal["lifespan"].clone();
        assert!(serde_json::from_value::<CommandTiming>(equal).is_ok());
        let mut broken = json;
        broken["timeout"] = serde_json::json!({"secs": 100_000, "nanos": 0});
        let e = serde_json::from_value::<CommandTiming>(broken).unwrap_err();
        assert!(e.to_string().contains("past lifespan"), "{e}");
    }

    #[test]
    fn default_obeys_the_rules() {
        let d = CommandTiming::default();
        assert_eq!(
            CommandTiming::with_session_start(d.lifespan(), d.timeout(), d.session_start_timeout()),
            Ok(d)
        );
    }
}
