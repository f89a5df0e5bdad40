//! Bounded retries with backoff, and the poll spacing rules.

use std::time::Duration;

/// How much a CIBA `slow_down` answer adds to the poll interval (RFC 8628
/// and CIBA Core: 5 seconds, for this and every later poll).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The wait before the next poll: the interval, or the server's
/// `Retry-After` when that is longer (a shorter hint never makes a poll
/// earlier than the interval).
///
/// ```
/// use std::time::Duration;
/// use smartid_core::poll_delay;
/// let s = Duration::from_secs;
/// assert_eq!(poll_delay(s(5), None), s(5));
/// assert_eq!(poll_delay(s(5), Some(s(30))), s(30));
/// assert_eq!(poll_delay(s(5), Some(s(1))), s(5));
/// ```
pub fn poll_delay(interval: Duration, retry_after: Option<Duration>) -> Duration {
    let delay = retry_after.map_or(interval, |hint| hint.max(interval));
    tracing::trace!(
        target: "smartid_core::wait",
        interval_ms = millis(interval),
        retry_after_ms = retry_after.map(millis),
        delay_ms = millis(delay),
        "next poll scheduled"
    );
    delay
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// How many transient failures in a row a wait tolerates (connection
/// errors, timeouts, 5xx and 429 answers), and how long it backs off
/// between them: doubling from `initial_backoff` up to `max_backoff`. A
/// longer `Retry-After` from the server always wins, even past
/// `max_backoff`: a provider that asks for a pause (and may refuse clients
/// that come back earlier) gets it; the caller's deadline still bounds it.
///
/// ```
/// use std::time::Duration;
/// use smartid_core::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.backoff(1, None), Some(Duration::from_secs(1)));
/// assert_eq!(policy.backoff(3, None), Some(Duration::from_secs(4)));
/// assert_eq!(policy.backoff(6, None), None); // the 6th failure in a row ends the wait
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Transient failures tolerated in a row. Defaults to 5.
    pub max_consecutive_failures: u32,
    /// The backoff after the first failure. Defaults to 1 second.
    pub initial_backoff: Duration,
    /// The longest backoff. Defaults to 30 seconds.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_consecutive_failures: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that tolerates `max_consecutive_failures` failures in a row,
    /// with the default backoff.
    pub fn new(max_consecutive_failures: u32) -> Self {
        Self {
            max_consecutive_failures,
            ..Self::default()
        }
    }

    /// No retries: the first transient failure ends the wait.
    pub fn none() -> Self {
        Self::new(0)
    }

    /// Sets the first and the longest backoff.
    #[must_use]
    pub fn backoff_between(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The wait after the `failures`-th transient failure in a row
    /// (counting from 1), or `None` when the policy is exhausted.
    pub fn backoff(&self, failures: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if failures == 0 {
            return None;
        }
        if failures > self.max_consecutive_failures {
            tracing::warn!(
                target: "smartid_core::wait",
                failures,
                max_consecutive_failures = self.max_consecutive_failures,
                "transient failures exhausted the retry policy; the wait ends"
            );
            return None;
        }
        let doubling = 2u32.checked_pow(failures - 1).unwrap_or(u32::MAX);
        let backoff = self
            .initial_backoff
            .checked_mul(doubling)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        let wait = retry_after.map_or(backoff, |hint| hint.max(backoff));
        tracing::debug!(
            target: "smartid_core::wait",
            failures,
            attempt = failures.saturating_add(1),
            backoff_ms = millis(wait),
            retry_after_ms = retry_after.map(millis),
            "transient failure; retrying after a backoff"
        );
        Some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_ends() {
        let p = RetryPolicy::default();
        let s = Duration::from_secs;
        let got: Vec<_> = (1..=6).map(|n| p.backoff(n, None)).collect();
        assert_eq!(
            got,
            [
                Some(s(1)),
                Some(s(2)),
                Some(s(4)),
                Some(s(8)),
                Some(s(16)),
                None
            ]
        );
        assert_eq!(p.backoff(2, Some(s(10))), Some(s(10)));
        assert_eq!(
            p.backoff(2, Some(s(3600))),
            Some(s(3600)),
            "the server's pause is honoured"
        );
        let long = RetryPolicy::new(100);
        assert_eq!(long.backoff(64, None), Some(s(30)), "no overflow");
        assert_eq!(RetryPolicy::none().backoff(1, None), None);
    }
}
