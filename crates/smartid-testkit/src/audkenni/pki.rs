//! The simulator's PKI: an RSA root "IslandsrotTest Sim", an issuing CA
//! "Fullgilt audkenni Sim" and a signing certificate per user.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use smartid_core::Certificate;

use super::SimUser;
use crate::error::{Result, TestkitError};
use crate::pki::{CertSpec, CertUsage, KeyAlgorithm, TestCa, TestIdentity};

pub(super) struct SimPki {
    pub(super) root: TestCa,
    pub(super) issuing: TestCa,
    /// Certificates by kennitala.
    pub(super) users: HashMap<String, TestIdentity>,
}

impl SimPki {
    /// The PKI for these users; generated once per process and user list
    /// (RSA key generation is slow in debug builds).
    pub(super) fn for_users(users: &[SimUser]) -> Result<Arc<Self>> {
        static CACHE: Mutex<Vec<(Vec<SimUser>, Arc<SimPki>)>> = Mutex::new(Vec::new());
        let mut cache = CACHE
            .lock()
            .map_err(|_| TestkitError::Pki("PKI cache poisoned".into()))?;
        if let Some((_, pki)) = cache.iter().find(|(u, _)| u.as_slice() == users) {
            return Ok(pki.clone());
        }
        let pki = Arc::new(Self::generate(users)?);
        cache.push((users.to_vec(), pki.clone()));
        Ok(pki)
    }

    fn generate(users: &[SimUser]) -> Result<Self> {
        let root = TestCa::new_root_with_key(
            "IslandsrotTest Sim",
            "Audkenni simulator",
            KeyAlgorithm::Rsa2048,
        )?;
        let issuing = root.new_intermediate("Fullgilt audkenni Sim", "Audkenni simulator")?;
        let mut map = HashMap::new();
        for u in users {
            let id = issuing.issue(
                &CertSpec::new(&u.name, CertUsage::Signing)
                    .subject_attribute("C", "IS")
                    .subject_attribute("OU", "einkaskilriki")
                    .subject_attribute("serialNumber", &u.kennitala)
                    .key(KeyAlgorithm::Rsa2048),
            )?;
            map.insert(u.kennitala.clone(), id);
        }
        Ok(Self {
            root,
            issuing,
            users: map,
        })
    }

    pub(super) fn anchors(&self) -> Vec<Certificate> {
        vec![
            self.root.certificate().clone(),
            self.issuing.certificate().clone(),
        ]
    }
}
