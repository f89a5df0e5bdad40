//! The wait toolkit shared by every client: one [`Clock`], one
//! [`WaitOptions`], one [`RetryPolicy`], and the time helpers.
//!
//! Long waits (a CIBA poll, a D-Trust issuance, a Hermod callback) take the
//! clock from their client's builder, so that tests run hours of waiting in
//! milliseconds with the testkit's manual clock; nothing in a wait reads the
//! system time or sleeps behind the clock's back.

mod clock;
mod options;
mod retry;
mod time;

pub use clock::{Clock, Sleep, SystemClock};
pub use options::WaitOptions;
pub use retry::{RetryPolicy, SLOW_DOWN_STEP, poll_delay};
pub use time::{deadline_after, from_unix_seconds, unix_seconds};
