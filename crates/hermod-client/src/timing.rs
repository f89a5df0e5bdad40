//! Command lifetimes: lifespan, timeout and the session-start timeout, with
//! the rules of Identity Manager's messaging-server settings.

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
///   lifespan ends. Must be shorter than the lifespan.
/// - **Session-start timeout**: how long the user has to accept the pop-up
///   that starts the Smart ID app. Must be shorter than the timeout; defaults
///   to 10 s.
///
/// ```
/// use std::time::Duration;
/// use hermod_client::CommandTiming;
///
/// let timing = CommandTiming::new(Duration::from_secs(300), Duration::from_secs(120))?;
/// assert_eq!(timing.session_start_timeout(), Duration::from_secs(10));
/// assert!(CommandTiming::new(Duration::from_secs(60), Duration::from_secs(60)).is_err());
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
    /// The timeout is not shorter than the lifespan.
    #[error(
        "timeout ({timeout:?}) must be shorter than lifespan ({lifespan:?}): after the timeout \
         the command leaves the message box but stays answerable until the lifespan ends, \
         so a timeout at or past the lifespan would never apply"
    )]
    TimeoutNotBeforeLifespan {
        /// The timeout.
        timeout: Duration,
        /// The lifespan.
        lifespan: Duration,
    },
    /// The session-start timeout is not shorter than the timeout.
    #[error(
        "session-start timeout ({session_start:?}) must be shorter than timeout ({timeout:?}): \
         it is how long the user has to accept the pop-up that starts the Smart ID app, \
         which has to happen while the command is still in the message box"
    )]
    SessionStartNotBeforeTimeout {
        /// The session-start timeout.
        session_start: Duration,
        /// The timeout.
        timeout: Duration,
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
    /// [`TimingError::TimeoutNotBeforeLifespan`] unless timeout < lifespan,
    /// [`TimingError::SessionStartNotBeforeTimeout`] unless session-start < timeout.
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
        if timeout >= lifespan {
            return Err(TimingError::TimeoutNotBeforeLifespan { timeout, lifespan });
        }
        if session_start_timeout >= timeout {
            return Err(TimingError::SessionStartNotBeforeTimeout {
                session_start: session_start_timeout,
                timeout,
            });
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
    fn rules_are_enforced_in_order() {
        assert!(CommandTiming::from_secs(300, 120, 10).is_ok());
        assert!(matches!(
            CommandTiming::from_secs(120, 120, 10),
            Err(TimingError::TimeoutNotBeforeLifespan { .. })
        ));
        assert!(matches!(
            CommandTiming::from_secs(300, 10, 10),
            Err(TimingError::SessionStartNotBeforeTimeout { .. })
        ));
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
        let msg = CommandTiming::from_secs(60, 30, 40)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("pop-up") && msg.contains("shorter than timeout"),
            "{msg}"
        );
        let t = CommandTiming::new(Duration::from_secs(60), Duration::from_secs(30)).unwrap();
        assert_eq!(t.session_start_timeout(), DEFAULT_SESSION_START_TIMEOUT);
        // The default session start makes timeouts of 10 s or less fail.
        assert!(CommandTiming::new(Duration::from_secs(60), Duration::from_secs(10)).is_err());
    }

    #[test]
    fn deserialized_timings_obey_the_rules() {
        let d = CommandTiming::default();
        let json = serde_json::to_value(d).unwrap();
        assert_eq!(
            serde_json::from_value::<CommandTiming>(json.clone()).unwrap(),
            d
        );
        let mut broken = json;
        broken["timeout"] = broken["lifespan"].clone();
        let e = serde_json::from_value::<CommandTiming>(broken).unwrap_err();
        assert!(e.to_string().contains("shorter than lifespan"), "{e}");
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
