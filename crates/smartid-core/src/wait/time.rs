//! Time helpers: Unix seconds and deadlines that cannot overflow.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A century: the cap of deadlines computed from durations too large for
/// the platform's `SystemTime`.
const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Seconds since the Unix epoch; 0 for times before it.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(smartid_core::unix_seconds(UNIX_EPOCH + Duration::from_millis(1_500)), 1);
/// ```
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The time `secs` seconds after the Unix epoch, capped where the platform
/// cannot represent it (a server's absurd `exp` never panics).
pub fn from_unix_seconds(secs: u64) -> SystemTime {
    let d = Duration::from_secs(secs);
    UNIX_EPOCH
        .checked_add(d)
        .or_else(|| UNIX_EPOCH.checked_add(d.min(CENTURY * 10)))
        .unwrap_or(UNIX_EPOCH)
}

/// `now + duration`, capped at a century from `now` when the sum would not
/// fit (for "wait at most `Duration::MAX`").
///
/// ```
/// use std::time::{Duration, SystemTime};
/// let now = SystemTime::now();
/// assert!(smartid_core::deadline_after(now, Duration::MAX) > now);
/// ```
pub fn deadline_after(now: SystemTime, duration: Duration) -> SystemTime {
    now.checked_add(duration)
        .or_else(|| now.checked_add(duration.min(CENTURY)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_never_overflow() {
        let now = SystemTime::now();
        assert!(deadline_after(now, Duration::MAX) >= now + Duration::from_secs(365 * 24 * 3600));
        assert_eq!(
            deadline_after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        let _ = from_unix_seconds(u64::MAX);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(5)), 0);
        assert_eq!(
            unix_seconds(from_unix_seconds(1_700_000_000)),
            1_700_000_000
        );
    }
}
