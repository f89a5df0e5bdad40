//! Verification of issued certificates: every signature along the chain the
//! server returned, and, when configured, a trust anchor at its end.

use smartid_core::{Certificate, TrustStore};

fn signed_by(child: &Certificate, issuer: &Certificate) -> Result<(), String> {
    if child.issuer() != issuer.subject() {
        return Err(format!(
            "{} names issuer {}, but the next certificate is {}",
            child.subject(),
            child.issuer(),
            issuer.subject()
        ));
    }
    crate::x509::verify_signed_by(child, issuer).map_err(|e| {
        format!(
            "the signature of {} by {} does not verify ({e})",
            child.subject(),
            issuer.subject()
        )
    })
}

/// Verifies `cert` and `chain` (issuer first). With `anchors`, the chain
/// must end in (or be signed by) one of them.
pub(crate) fn verify_issued(
    cert: &Certificate,
    chain: &[Certificate],
    anchors: Option<&TrustStore>,
) -> Result<(), String> {
    let mut current = cert;
    for next in chain {
        signed_by(current, next)?;
        current = next;
    }
    let Some(anchors) = anchors else {
        return Ok(());
    };
    if anchors
        .certificates()
        .iter()
        .any(|a| a.der() == current.der())
    {
        return Ok(());
    }
    let mut last_error = None;
    for anchor in anchors
        .certificates()
        .iter()
        .filter(|a| a.subject() == current.issuer())
    {
        match signed_by(current, anchor) {
            Ok(()) => return Ok(()),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        format!(
            "the chain ends at {} (issuer {}), which is not among the configured D-Trust issuing CAs",
            current.subject(),
            current.issuer()
        )
    }))
}

#[cfg(test)]
mod tests {
    use smartid_testkit::{CertSpec, CertUsage, TestPki};

    use super::*;

    fn cert(der: &[u8]) -> Certificate {
        Certificate::from_der(der, "t").unwrap()
    }

    #[test]
    fn chains_verify_and_strangers_do_not() {
        let pki = TestPki::generate().unwrap();
        let other = TestPki::generate().unwrap();
        let leaf = pki
            .intermediate()
            .issue(&CertSpec::new("leaf", CertUsage::Client))
            .unwrap();
        let leaf_c = cert(leaf.leaf_der());
        let inter = cert(&pki.intermediate().chain_to_root()[0]);
        let root = cert(&pki.root_der());
        verify_issued(&leaf_c, &[inter.clone(), root.clone()], None).unwrap();
        verify_issued(
            &leaf_c,
            std::slice::from_ref(&inter),
            Some(&pki.root_trust_store().unwrap()),
        )
        .unwrap();
        verify_issued(
            &leaf_c,
            &[inter.clone(), root.clone()],
            Some(&pki.root_trust_store().unwrap()),
        )
        .unwrap();
        let e = verify_issued(
            &leaf_c,
            std::slice::from_ref(&inter),
            Some(&other.root_trust_store().unwrap()),
        )
        .unwrap_err();
        // Same names as ours, other keys: the signature check catches it.
        assert!(e.contains("does not verify"), "{e}");
        let unrelated = smartid_testkit::TestCa::new_root("Other Root", "Other").unwrap();
        let e = verify_issued(
            &leaf_c,
            std::slice::from_ref(&inter),
            Some(&unrelated.trust_store().unwrap()),
        )
        .unwrap_err();
        assert!(e.contains("not among"), "{e}");
        // Same names, other keys: the signature check catches it.
        let fake_inter = cert(&other.intermediate().chain_to_root()[0]);
        assert!(verify_issued(&leaf_c, &[fake_inter], None).is_err());
        assert!(verify_issued(&leaf_c, &[root], None).is_err());
    }
}
