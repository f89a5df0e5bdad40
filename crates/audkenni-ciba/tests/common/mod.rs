//! Shared helpers of the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use audkenni_ciba::{CibaClient, CibaClientBuilder, Clock, JwsAlgorithm, RequestSigningKey, Sleep};
use smartid_core::{HttpSettings, Secret, TrustRoots};
use smartid_testkit::audkenni::AudkenniSimulator;

/// A builder for a client of `sim` with its registered key and secret.
pub fn builder(sim: &AudkenniSimulator, alg: JwsAlgorithm) -> CibaClientBuilder {
    let key = RequestSigningKey::from_pem(sim.client_key_pem().as_bytes(), alg).unwrap();
    CibaClient::builder(sim.issuer(), sim.client_id())
        .client_secret(Secret::new(sim.client_secret()))
        .signing_key(key)
        .http_settings(HttpSettings::new().trust(TrustRoots::Only(sim.tls_trust_store().unwrap())))
}

/// A clock whose sleeps return at once while time jumps forward.
#[derive(Debug, Clone, Default)]
pub struct JumpClock {
    offset: Arc<Mutex<Duration>>,
}

impl Clock for JumpClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + *self.offset.lock().unwrap()
    }
    fn sleep(&self, d: Duration) -> Sleep {
        *self.offset.lock().unwrap() += d;
        Box::pin(std::future::ready(()))
    }
}
