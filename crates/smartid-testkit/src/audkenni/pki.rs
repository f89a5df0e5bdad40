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
    /// With a CRL distribution point the certificates are made for this
    /// simulator (the URL names its port), otherwise cached.
    pub(super) fn for_users(users: &[SimUser], crl_url: Option<&str>) -> Result<Arc<Self>> {
        if let Some(url) = crl_url {
            return Ok(Arc::new(Self::generate(users, Some(url))?));
        }
        static CACHE: Mutex<Vec<(Vec<SimUser>, Arc<SimPki>)>> = Mutex::new(Vec::new());
        let mut cache = CACHE
            .lock()
            .map_err(|_| TestkitError::Pki("PKI cache poisoned".into()))?;
        if let Some((_, pki)) = cache.iter().find(|(u, _)| u.as_slice() == users) {
            return Ok(pki.clone());
        }
        let pki = Arc::new(Self::generate(users, None)?);
        cache.push((users.to_vec(), pki.clone()));
        Ok(pki)
    }

    fn generate(users: &[SimUser], crl_url: Option<&str>) -> Result<Self> {
        let root = TestCa::new_root_with_key(
            "IslandsrotTest Sim",
            "Audkenni simulator",
            KeyAlgorithm::Rsa2048,
        )?;
        let issuing = root.new_intermediate("Fullgilt audkenni Sim", "Audkenni simulator")?;
        let mut map = HashMap::new();
        for u in users {
            let mut spec = CertSpec::new(&u.name, CertUsage::Signing)
                .subject_attribute("C", "IS")
                .subject_attribute("OU", "einkaskilriki")
                .subject_attribute("serialNumber", &u.kennitala)
                .key(KeyAlgorithm::Rsa2048);
            if let Some(url) = crl_url {
                spec = spec.crl_distribution_point(url);
            }
            let id = issuing.issue(&spec)?;
            map.insert(u.kennitala.clone(), id);
        }
        Ok(Self {
            root,
            issuing,
            users: map,
        })
    }

    /// The issuing CA's CRL listing the certificates of these kennitalas,
    /// valid from an hour ago for a day.
    pub(super) fn crl(&self, revoked: &[String]) -> Result<Vec<u8>> {
        let certs: Vec<&[u8]> = revoked
            .iter()
            .filter_map(|kt| self.users.get(kt))
            .map(TestIdentity::leaf_der)
            .collect();
        let now = std::time::SystemTime::now();
        self.issuing.crl(
            &certs,
            now - std::time::Duration::from_secs(3600),
            now + std::time::Duration::from_secs(86_400),
        )
    }

    pub(super) fn anchors(&self) -> Vec<Certificate> {
        vec![
            self.root.certificate().clone(),
            self.issuing.certificate().clone(),
        ]
    }
}
