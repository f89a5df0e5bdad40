//! Shared set-up of the integration tests: a simulator and a client for
//! each transport.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unreachable_pub
)]

use std::path::PathBuf;

use dtrust_client::{DtrustClient, DtrustConfig, DtrustConfigBuilder, SoapVersion};
use smartid_core::TrustStore;
use smartid_testkit::dtrust::{DtrustSimulator, SimConfig};

/// The transports the scenario suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    /// REST.
    Rest,
    /// SOAP 1.1.
    Soap11,
    /// SOAP 1.2.
    Soap12,
}

/// A fresh temporary directory for this test.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("dtrust-test-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The configuration builder for `t`, trusting the simulator's server CA
/// through a `.cer` file, without a client identity.
pub fn builder(sim: &DtrustSimulator, t: T) -> DtrustConfigBuilder {
    let dir = temp_dir("cer");
    let cer = dir.join("D-TRUST_SSL_Class_3_CA_1_2009.cer");
    std::fs::write(&cer, sim.server_ca_pem()).unwrap();
    let b = match t {
        T::Rest => DtrustConfig::rest(sim.rest_url()),
        T::Soap11 => DtrustConfig::soap(sim.soap_url(), sim.soap_namespace(), sim.soap_service()),
        T::Soap12 => DtrustConfig::soap(sim.soap_url(), sim.soap_namespace(), sim.soap_service())
            .soap_version(SoapVersion::V12),
    };
    b.server_certificate_file(cer)
}

/// The builder with an account client identity.
pub fn account(sim: &DtrustSimulator, t: T) -> DtrustConfigBuilder {
    let id = sim.issue_client_identity("neXus Technology GmbH").unwrap();
    let issuing = TrustStore::from_certificates([sim.issuing_root_certificate().clone()]).unwrap();
    builder(sim, t)
        .client_identity(id.to_client_identity().unwrap())
        .issuing_ca_trust(issuing)
}

/// A simulator with `config` and a client for `t`.
pub async fn setup_with(t: T, config: SimConfig) -> (DtrustSimulator, DtrustClient) {
    let sim = DtrustSimulator::start_with(config).await.unwrap();
    let client = DtrustClient::new(account(&sim, t).build().unwrap()).unwrap();
    (sim, client)
}

/// A default simulator and a client for `t`.
pub async fn setup(t: T) -> (DtrustSimulator, DtrustClient) {
    setup_with(t, SimConfig::default()).await
}
