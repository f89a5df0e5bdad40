//! The poller of a replica: takes due flows from the store under a lease,
//! polls each once, writes the next due time or the outcome.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use smartid_core::RetryPolicy;
use smartid_core::store::LeaseRequest;
use tokio::task::JoinSet;

use crate::client::CibaClient;
use crate::driver::Step;
use crate::error::Error;
use crate::flow::FLOW_NAMESPACE;

/// Polls the flows of a store that are due, on behalf of every replica
/// sharing it ([`CibaClient::poller`]). Run one per replica: each due flow
/// is leased to one poller (or waiter) at a time, polled once, and given
/// its next due time (the interval counted from the answer, plus the
/// client's margin; +5 s kept for good after a `slow_down`) or its
/// outcome, which waiters on every replica receive.
///
/// A poller that dies leaves its leases to expire
/// ([`crate::CibaClientBuilder::lease_length`]); another replica's poller
/// then continues the flows.
pub struct Poller {
    client: CibaClient,
    batch: usize,
    tick: Duration,
    retry: RetryPolicy,
    retention: Duration,
}

impl fmt::Debug for Poller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Poller")
            .field("replica", &self.client.inner.flows.replica)
            .field("batch", &self.batch)
            .field("tick", &self.tick)
            .finish_non_exhaustive()
    }
}

/// What a poller did, when it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollerReport {
    /// Token requests sent (or expiries written).
    pub polled: u64,
    /// Flows this poller ended (outcome written).
    pub ended: u64,
    /// Store failures met (each retried after the tick).
    pub store_errors: u64,
    /// The last error, as text (never a secret).
    pub last_error: Option<String>,
}

impl CibaClient {
    /// A poller for the flows of this client's store, leasing them as this
    /// replica. See [`Poller`].
    pub fn poller(&self) -> Poller {
        Poller {
            client: self.clone(),
            batch: 64,
            tick: Duration::from_millis(100),
            retry: RetryPolicy::default(),
            retention: Duration::from_secs(15 * 60),
        }
    }
}

impl Poller {
    /// At most this many flows leased per round. Defaults to 64.
    #[must_use]
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// How long the poller sleeps when no flow is due. Defaults to 100 ms
    /// (the lateness of a poll is at most this).
    #[must_use]
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick.max(Duration::from_millis(1));
        self
    }

    /// Transient failures (transport, 5xx, 429) tolerated in a row per flow.
    /// Defaults to [`RetryPolicy::default`].
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How long ended flows stay in the store for waiters to read, counted
    /// from their start; the poller deletes older ones. Defaults to 15 min.
    #[must_use]
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// One round: leases the due flows (up to the batch), polls each once
    /// (concurrently), writes what follows. Returns how many were polled.
    ///
    /// # Errors
    /// [`Error::Store`] when the due flows cannot be leased; failures of
    /// single flows are in the report of [`Poller::run`].
    pub async fn poll_due(&self) -> Result<usize, Error> {
        self.round(&mut PollerReport::default()).await
    }

    async fn round(&self, report: &mut PollerReport) -> Result<usize, Error> {
        let flows = &self.client.inner.flows;
        let now = self.client.inner.clock.now();
        let holder = flows.holder("poller");
        let leased = flows
            .store
            .lease_due(LeaseRequest::new(
                FLOW_NAMESPACE,
                holder,
                now,
                flows.lease,
                self.batch,
            ))
            .await
            .map_err(Error::Store)?;
        let count = leased.len();
        let mut tasks = JoinSet::new();
        for record in leased {
            let client = self.client.clone();
            let retry = self.retry;
            tasks.spawn(async move { client.poll_leased(record, &retry, false).await });
        }
        while let Some(done) = tasks.join_next().await {
            report.polled += 1;
            match done {
                Ok(Ok(Step::Ended { stored, .. })) => match stored {
                    Ok(()) => report.ended += 1,
                    Err(e) => {
                        report.store_errors += 1;
                        report.last_error = Some(e.to_string());
                    }
                },
                Ok(Ok(Step::Continues(_) | Step::Lost)) => {}
                Ok(Err(e)) => {
                    if matches!(e, Error::Store(_)) {
                        report.store_errors += 1;
                    }
                    report.last_error = Some(e.to_string());
                }
                Err(join) => report.last_error = Some(format!("a poll task failed: {join}")),
            }
        }
        Ok(count)
    }

    async fn prune(&self) -> Result<(), Error> {
        let flows = &self.client.inner.flows;
        let now = self.client.inner.clock.now();
        if let Some(before) = now.checked_sub(self.retention) {
            flows
                .store
                .prune(FLOW_NAMESPACE, before, false, 1000)
                .await
                .map_err(Error::Store)?;
        }
        Ok(())
    }

    /// Polls until `shutdown` completes, then finishes the polls in flight
    /// (so their results are written) and returns what it did. Store
    /// failures are counted and retried after the tick; they never end the
    /// poller.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> PollerReport {
        let mut report = PollerReport::default();
        let mut shutdown = std::pin::pin!(shutdown);
        let clock = self.client.inner.clock.clone();
        let mut rounds = 0u64;
        loop {
            let found = match self.round(&mut report).await {
                Ok(n) => n,
                Err(e) => {
                    report.store_errors += 1;
                    report.last_error = Some(e.to_string());
                    0
                }
            };
            rounds += 1;
            if rounds.is_multiple_of(600)
                && let Err(e) = self.prune().await
            {
                report.store_errors += 1;
                report.last_error = Some(e.to_string());
            }
            if found == 0 {
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = clock.sleep(self.tick) => {}
                }
            } else {
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = std::future::ready(()) => {}
                }
            }
        }
        report
    }

    /// Runs the poller on a task of its own; [`PollerHandle::stop`] stops
    /// it cleanly.
    pub fn spawn(self) -> PollerHandle {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(self.run(async move {
            let _ = stopped.await;
        }));
        PollerHandle {
            stop: Some(stop),
            task,
        }
    }
}

/// A poller running on its own task ([`Poller::spawn`]).
#[derive(Debug)]
pub struct PollerHandle {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<PollerReport>,
}

impl PollerHandle {
    /// Stops taking flows, waits for the polls in flight and returns the report.
    pub async fn stop(mut self) -> PollerReport {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap_or_default()
    }

    /// Kills the poller at once, as a crash would: the flows it holds stay
    /// leased until their leases expire.
    pub fn abort(self) {
        self.task.abort();
    }
}
