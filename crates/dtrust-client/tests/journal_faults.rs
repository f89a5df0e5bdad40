//! The order journal rides out transient faults (a reset, a 503, an answer
//! past the timeout, a truncated body) on the look-up, the status query
//! and the certificate fetch within its retry policy, instead of handing them to
//! the caller as if the order had failed (found by
//! tests/faults_under_load.rs at the workspace root).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{T, account};
use dtrust_client::smartid_core::store::MemoryStore;
use dtrust_client::{
    DtrustClient, GeneratedCsr, KeySpec, OrderJournal, OrderOutcome, OrderRequest, RetryPolicy,
    SubjectDn, WaitOptions,
};
use smartid_core::{HttpSettings, Secret};
use smartid_testkit::dtrust::{DtrustSimulator, SimConfig};
use smartid_testkit::{FaultKind, FaultSettings, Faults};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_are_retried_not_returned() {
    let faults = Faults::default();
    let mut config = SimConfig::default();
    config.faults = faults.clone();
    let sim = DtrustSimulator::start_with(config).await.unwrap();
    let client = DtrustClient::new(
        account(&sim, T::Rest)
            .http_settings(HttpSettings::new().request_timeout(Duration::from_millis(800)))
            .build()
            .unwrap(),
    )
    .unwrap();
    let journal = OrderJournal::builder(client, Arc::new(MemoryStore::new()))
        .lease_length(Duration::from_secs(2))
        .poll_interval(Duration::from_millis(50))
        .retry(
            RetryPolicy::new(20)
                .backoff_between(Duration::from_millis(50), Duration::from_millis(200)),
        )
        .build()
        .unwrap();
    let subject = SubjectDn::new("faulty.example.de");
    let csr = GeneratedCsr::generate(None, &subject, &[], KeySpec::EcP256).unwrap();
    let order = OrderRequest::pkcs10("1003", subject, &csr.csr_der)
        .revocation_password(Secret::new("Faulty-Order-Pw-1"));
    // Half of the exchanges after the first get a transport fault or a 503
    // (same seed, same faults).
    faults.set(
        FaultSettings::on(
            0.5,
            [
                FaultKind::Reset,
                FaultKind::ServerError,
                FaultKind::Slow,
                FaultKind::Truncate,
            ],
        )
        .seed(5)
        .slow_delay(Duration::from_millis(1200)),
    );
    let wait = WaitOptions::new()
        .timeout_from(SystemTime::now(), Duration::from_secs(60))
        .poll_interval(Duration::from_millis(50));
    let result = journal.order(&order, &wait).await;
    let injected: u64 = faults.injected().values().sum();
    assert!(injected >= 2, "{:?}", faults.injected());
    let result = result.unwrap_or_else(|e| panic!("a transient fault ended the order: {e:?}"));
    match result.outcome {
        OrderOutcome::Issued { certificate, .. } => {
            assert!(certificate.is_for_key(&csr.public_key_spki));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.orders_for_reference(order.reference()), 1);
    assert_eq!(sim.duplicate_orders(), 0);
}
