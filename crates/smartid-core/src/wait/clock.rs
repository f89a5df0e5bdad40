//! The clock: the current time and a way to sleep.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

/// A boxed sleep future, as [`Clock::sleep`] returns it.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The source of time and sleep of every wait, request timestamp and token
/// check in the smartid clients. A client takes one through its builder
/// (`.clock(...)`), once; [`SystemClock`] is the default.
///
/// ```
/// use std::time::Duration;
/// use smartid_core::{Clock, SystemClock};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let clock = SystemClock;
/// let before = clock.now();
/// clock.sleep(Duration::from_millis(5)).await;
/// assert!(clock.now() >= before);
/// # }
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Sleep;

    /// A future that completes at or after `deadline` (at once when it has
    /// passed).
    fn sleep_until(&self, deadline: SystemTime) -> Sleep {
        self.sleep(deadline.duration_since(self.now()).unwrap_or_default())
    }
}

/// The system clock with tokio's timer (needs a tokio runtime with time
/// enabled). The default of every client.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}
