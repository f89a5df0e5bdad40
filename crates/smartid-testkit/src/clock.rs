//! A clock for tests of long waits.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use smartid_core::{Clock, Sleep};
use tokio::sync::watch;

/// A [`Clock`] that moves only when told to, for tests: hours of polling
/// run in milliseconds. Give it to a client's builder with `.clock(..)`.
///
/// Two modes:
/// - [`ManualClock::new`]: time stands still until [`ManualClock::advance`];
///   sleepers wake when it passes their deadline.
/// - [`ManualClock::jumping`]: every sleep moves the time forward by its
///   duration and returns at once, so a wait runs to its end without help.
///
/// Either way [`ManualClock::sleeps`] lists every sleep asked for.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use smartid_core::Clock;
/// use smartid_testkit::ManualClock;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
/// let clock = ManualClock::jumping(start);
/// clock.sleep(Duration::from_secs(60)).await;
/// assert_eq!(clock.now(), start + Duration::from_secs(60));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(60)]);
///
/// let still = ManualClock::new(start);
/// still.advance(Duration::from_secs(5));
/// assert_eq!(still.now(), start + Duration::from_secs(5));
/// # }
/// ```
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<SystemTime>>,
    jumping: bool,
    sleeps: Arc<Mutex<Vec<Duration>>>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .field("jumping", &self.jumping)
            .finish()
    }
}

impl ManualClock {
    /// A clock standing at `start` until advanced.
    pub fn new(start: SystemTime) -> Self {
        Self {
            now: Arc::new(watch::Sender::new(start)),
            jumping: false,
            sleeps: Arc::default(),
        }
    }

    /// A clock at `start` whose sleeps jump the time forward at once.
    pub fn jumping(start: SystemTime) -> Self {
        Self {
            jumping: true,
            ..Self::new(start)
        }
    }

    /// A jumping clock starting at the system time.
    pub fn jumping_from_now() -> Self {
        Self::jumping(SystemTime::now())
    }

    /// Moves the clock forward and wakes the sleepers whose deadline passed.
    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|t| *t += by);
    }

    /// Every sleep asked for so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.borrow()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.sleeps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(duration);
        if self.jumping {
            self.advance(duration);
            return Box::pin(std::future::ready(()));
        }
        let deadline = self.now() + duration;
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            loop {
                if *rx.borrow_and_update() >= deadline {
                    return;
                }
                if rx.changed().await.is_err() {
                    // The clock is gone: time never moves again.
                    std::future::pending::<()>().await;
                }
            }
        })
    }
}
