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

/// jsonwebtoken's RSA signing key (PKCS#1 DER) from the simulator's PKCS#8
/// PEM (jsonwebtoken is built without its PEM parser).
pub fn rsa_encoding_key(pem: &str) -> jsonwebtoken::EncodingKey {
    use der::asn1::OctetStringRef;
    use der::{Decode, Reader, SliceReader};
    use rustls_pki_types::PrivatePkcs8KeyDer;
    use rustls_pki_types::pem::PemObject as _;
    let pkcs8 = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
    let mut reader = SliceReader::new(pkcs8.secret_pkcs8_der()).unwrap();
    let pkcs1 = reader
        .sequence(|r| {
            let _version = u8::decode(r)?;
            let _algorithm = r.tlv_bytes()?;
            let key = <&OctetStringRef>::decode(r)?.as_bytes().to_vec();
            let _ = r.read_slice(r.remaining_len())?;
            Ok::<_, der::Error>(key)
        })
        .unwrap();
    jsonwebtoken::EncodingKey::from_rsa_der(&pkcs1)
}
