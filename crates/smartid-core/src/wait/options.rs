//! The options of every long wait.

use std::time::{Duration, SystemTime};

use super::retry::RetryPolicy;
use super::time::deadline_after;

/// The shortest poll interval accepted.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(1);

/// How long and how to wait: `CibaClient::wait`, `DtrustClient::wait_for_issuance`
/// and `Tracker::track` all take this one shape.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use smartid_core::{RetryPolicy, WaitOptions};
///
/// let options = WaitOptions::new()
///     .timeout_from(SystemTime::now(), Duration::from_secs(120))
///     .poll_interval(Duration::from_secs(30))
///     .retry(RetryPolicy::new(3));
/// assert!(options.deadline_value().is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up at this time with the client's `DeadlineReached` error (the
    /// flow stays pending and can be resumed). Defaults to none: wait until
    /// the flow itself ends (a CIBA request's `expires_in`, a Hermod
    /// command's lifespan); a D-Trust issuance wait requires one.
    pub deadline: Option<SystemTime>,
    /// The time between status queries where the service gives none (D-Trust
    /// issuance); a longer `Retry-After` wins. CIBA uses the provider's
    /// `interval` instead. Defaults to 60 seconds.
    pub poll_interval: Duration,
    /// Transient failures tolerated and the backoff between them. Defaults
    /// to [`RetryPolicy::default`].
    pub retry: RetryPolicy,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            deadline: None,
            poll_interval: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

impl WaitOptions {
    /// The defaults: no deadline, a 60 s poll interval, the default retries.
    pub fn new() -> Self {
        Self::default()
    }

    /// The defaults with a deadline.
    pub fn until(deadline: SystemTime) -> Self {
        Self::new().deadline(deadline)
    }

    /// Waits at most until `deadline`.
    #[must_use]
    pub fn deadline(mut self, deadline: SystemTime) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Waits at most `duration` after `now` (take `now` from the client's
    /// clock); a duration too large for the platform is capped at a century.
    #[must_use]
    pub fn timeout_from(self, now: SystemTime, duration: Duration) -> Self {
        self.deadline(deadline_after(now, duration))
    }

    /// Sets the poll interval (at least 1 ms).
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(MIN_POLL_INTERVAL);
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The deadline, if any.
    pub fn deadline_value(&self) -> Option<SystemTime> {
        self.deadline
    }

    /// The poll interval, never below 1 ms (the field is public and serde:
    /// the floor holds here too).
    pub fn poll_interval_value(&self) -> Duration {
        self.poll_interval.max(MIN_POLL_INTERVAL)
    }

    /// Whether an action at `at` would be past the deadline.
    pub fn is_past_deadline(&self, at: SystemTime) -> bool {
        self.deadline.is_some_and(|d| at > d)
    }

    /// The sleep before the next query at `now`, given the interval in force
    /// and a server hint, cut to the deadline; `None` when the deadline has
    /// passed (or is reached at `now`).
    pub fn next_sleep(
        &self,
        now: SystemTime,
        interval: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let wait = super::retry::poll_delay(interval.max(MIN_POLL_INTERVAL), retry_after);
        match self.deadline {
            None => Some(wait),
            Some(deadline) => {
                let left = deadline.duration_since(now).ok().filter(|d| !d.is_zero())?;
                Some(wait.min(left))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_are_cut_to_the_deadline() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let s = Duration::from_secs;
        let opts = WaitOptions::until(now + s(10));
        assert_eq!(opts.next_sleep(now, s(60), None), Some(s(10)));
        assert_eq!(opts.next_sleep(now, s(3), Some(s(5))), Some(s(5)));
        assert_eq!(opts.next_sleep(now + s(10), s(3), None), None);
        assert!(opts.is_past_deadline(now + s(11)));
        assert!(!WaitOptions::new().is_past_deadline(now));
        assert_eq!(
            WaitOptions::new()
                .poll_interval(Duration::ZERO)
                .poll_interval_value(),
            Duration::from_millis(1)
        );
        let json = serde_json::to_string(&opts).unwrap_or_default();
        let back: WaitOptions = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, opts);
    }
}
