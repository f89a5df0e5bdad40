//! The LISTEN connection: one per [`crate::PostgresStore`], feeding its
//! [`Notifier`]; re-established with backoff, with [`StoreEvent::Missed`]
//! after every gap.
//!
//! [`StoreEvent::Missed`]: smartid_core::store::StoreEvent::Missed

use std::future::poll_fn;
use std::time::Duration;

use smartid_core::store::{Notifier, StoreError};
use tokio::sync::oneshot;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{AsyncMessage, Socket};

use crate::config::{Target, Tls};
use crate::error::from_pg;

/// The channel every store of a database notifies on.
pub(crate) const CHANNEL: &str = "smartid_flows";

/// NOTIFY payloads are limited to 8000 bytes: above this, a "missed" payload.
const MAX_PAYLOAD: usize = 7900;

/// How often the LISTEN connection is checked (a dead peer behind a silent
/// network is noticed within this plus the check's timeout).
const HEALTH_EVERY: Duration = Duration::from_secs(10);
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The payload for an outcome of `(namespace, id)` written by `instance`:
/// `instance:len(namespace):namespace id`, or `missed` when too long.
pub(crate) fn payload(instance: &str, namespace: &str, id: &str) -> String {
    if instance.len() + namespace.len() + id.len() + 24 > MAX_PAYLOAD {
        return "missed".into();
    }
    format!("{instance}:{}:{namespace}{id}", namespace.len())
}

/// What a payload says: `None` for "read everything again".
fn parse(payload: &str) -> Option<(&str, &str, &str)> {
    let (instance, rest) = payload.split_once(':')?;
    let (len, rest) = rest.split_once(':')?;
    let len: usize = len.parse().ok()?;
    if !rest.is_char_boundary(len) || len > rest.len() {
        return None;
    }
    let (namespace, id) = rest.split_at(len);
    Some((instance, namespace, id))
}

fn dispatch(notifier: &Notifier, instance: &str, payload: &str) {
    match parse(payload) {
        // This store told its own subscribers already.
        Some((from, _, _)) if from == instance => {}
        Some((_, namespace, id)) => notifier.completed(namespace, id),
        None => notifier.missed(),
    }
}

/// Starts the listener; `ready` answers once the first LISTEN is active (or
/// the first connection failed: then the task ends). The task ends when
/// `shutdown`'s sender is dropped.
pub(crate) fn spawn(
    target: Target,
    notifier: Notifier,
    instance: String,
    statement_timeout: Duration,
    ready: oneshot::Sender<Result<(), StoreError>>,
    mut shutdown: oneshot::Receiver<()>,
) {
    tokio::spawn(async move {
        let mut ready = Some(ready);
        let mut backoff = BACKOFF_MIN;
        loop {
            let mut up = false;
            let result = tokio::select! {
                _ = &mut shutdown => return,
                r = session(&target, &notifier, &instance, statement_timeout, &mut ready, &mut up) => r,
            };
            if let Some(first) = ready.take() {
                // The first connection failed: connect() reports it.
                let _ = first.send(result);
                return;
            }
            // Outcomes written while no LISTEN was active are not seen:
            // waiters read again (and once LISTEN is back, again).
            notifier.missed();
            if up {
                backoff = BACKOFF_MIN;
            }
            tokio::select! {
                _ = &mut shutdown => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    });
}

async fn session(
    target: &Target,
    notifier: &Notifier,
    instance: &str,
    statement_timeout: Duration,
    ready: &mut Option<oneshot::Sender<Result<(), StoreError>>>,
    up: &mut bool,
) -> Result<(), StoreError> {
    match &target.tls {
        Tls::Plain => {
            listen_on(
                target,
                tokio_postgres::NoTls,
                notifier,
                instance,
                statement_timeout,
                ready,
                up,
            )
            .await
        }
        Tls::Rustls(tls) => {
            listen_on(
                target,
                tls.clone(),
                notifier,
                instance,
                statement_timeout,
                ready,
                up,
            )
            .await
        }
    }
}

async fn listen_on<T>(
    target: &Target,
    tls: T,
    notifier: &Notifier,
    instance: &str,
    statement_timeout: Duration,
    ready: &mut Option<oneshot::Sender<Result<(), StoreError>>>,
    up: &mut bool,
) -> Result<(), StoreError>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let map = |e: tokio_postgres::Error| from_pg(&e, statement_timeout);
    // Named apart from the pool's connections (pg_stat_activity shows it).
    let mut config = target.config.clone();
    let name = format!(
        "{} listen",
        config.get_application_name().unwrap_or("smartid")
    );
    config.application_name(name);
    let (client, mut connection) = config.connect(tls).await.map_err(map)?;
    let driver = async {
        loop {
            match poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    dispatch(notifier, instance, n.payload());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(map(e)),
                None => {
                    return Err(StoreError::Unavailable {
                        reason: "the LISTEN connection to PostgreSQL ended".into(),
                    });
                }
            }
        }
    };
    let work = async {
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .map_err(map)?;
        *up = true;
        if let Some(first) = ready.take() {
            let _ = first.send(Ok(()));
        } else {
            // Back after a gap: read again what was written meanwhile.
            notifier.missed();
        }
        loop {
            tokio::time::sleep(HEALTH_EVERY).await;
            match tokio::time::timeout(HEALTH_TIMEOUT, client.simple_query("SELECT 1")).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(map(e)),
                Err(_) => {
                    return Err(StoreError::Timeout {
                        after: HEALTH_TIMEOUT,
                    });
                }
            }
        }
    };
    tokio::select! {
        r = driver => r,
        r = work => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_long_ones_say_missed() {
        let p = payload("abc", "hermod", "id:with:colons");
        assert_eq!(parse(&p), Some(("abc", "hermod", "id:with:colons")));
        let long = "x".repeat(8000);
        assert_eq!(payload("abc", "ns", &long), "missed");
        assert_eq!(parse("missed"), None);
        assert_eq!(parse("a:99:short"), None);
        let p = payload("i", "nś", "é");
        assert_eq!(parse(&p), Some(("i", "nś", "é")));
    }
}
