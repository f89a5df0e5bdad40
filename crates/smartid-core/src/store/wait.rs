//! Waiting for a flow's outcome: notifications first, polling as fallback.

use std::time::{Duration, SystemTime};

use super::FlowStore;
use super::record::{FlowRecord, StoreError, StoreEvent};
use crate::Clock;

/// Waits until the record `(namespace, id)` has an outcome and returns it,
/// or `Ok(None)` when `deadline` passes first (or the record is removed).
///
/// Subscribes before reading, so an outcome written at any moment is seen;
/// reads the record again on every notification for it, on
/// [`StoreEvent::Missed`], and every `fallback` in any case (a notification
/// lost on the way costs at most that much delay).
///
/// # Errors
/// The store's errors, as they happen (a transient one ends the wait: the
/// caller decides whether to wait again).
pub async fn wait_for_outcome<S: FlowStore + ?Sized>(
    store: &S,
    namespace: &str,
    id: &str,
    deadline: Option<SystemTime>,
    clock: &dyn Clock,
    fallback: Duration,
) -> Result<Option<FlowRecord>, StoreError> {
    let fallback = fallback.max(Duration::from_millis(1));
    let mut subscription = store.subscribe_to(namespace, id);
    let mut subscribed = true;
    loop {
        match store.get(namespace, id).await? {
            None => return Ok(None),
            Some(record) if record.outcome.is_some() => return Ok(Some(record)),
            Some(_) => {}
        }
        let now = clock.now();
        if deadline.is_some_and(|d| d <= now) {
            return Ok(None);
        }
        let nap = match deadline {
            Some(d) => fallback.min(d.duration_since(now).unwrap_or_default()),
            None => fallback,
        };
        let sleep = clock.sleep(nap);
        tokio::pin!(sleep);
        loop {
            if !subscribed {
                (&mut sleep).await;
                break;
            }
            tokio::select! {
                () = &mut sleep => break,
                event = subscription.next() => match event {
                    Some(StoreEvent::Completed { namespace: n, id: i }) if n == namespace && i == id => break,
                    Some(StoreEvent::Missed) => break,
                    Some(_) => continue,
                    None => subscribed = false,
                },
            }
        }
    }
}
