//! Path validation of the signer certificate to caller-given trust anchors
//! at a given time (rustls-webpki).

use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::{CertificateDer, UnixTime};
use smartid_core::Certificate;

use crate::error::SignatureError;

/// Builds and checks a chain from `leaf` to one of `anchors` at `at`.
///
/// Self-issued certificates among `anchors` are trust anchors; the others
/// serve as intermediates (a bundle may hold both). When no certificate is
/// self-issued, every certificate given is a trust anchor. `extra` are
/// further intermediates (for example those carried in the CMS).
pub(crate) fn check_chain(
    leaf: &[u8],
    anchors: &[Certificate],
    extra: &[Vec<u8>],
    at: SystemTime,
) -> Result<(), SignatureError> {
    let chain_err = |m: String| SignatureError::Chain(m);
    let self_issued: Vec<&Certificate> = anchors
        .iter()
        .filter(|c| c.subject() == c.issuer())
        .collect();
    let (roots, mut intermediates): (Vec<&Certificate>, Vec<CertificateDer<'_>>) =
        if self_issued.is_empty() {
            (anchors.iter().collect(), Vec::new())
        } else {
            (
                self_issued,
                anchors
                    .iter()
                    .filter(|c| c.subject() != c.issuer())
                    .map(|c| CertificateDer::from(c.der()))
                    .collect(),
            )
        };
    intermediates.extend(extra.iter().map(|d| CertificateDer::from(d.as_slice())));
    let root_ders: Vec<CertificateDer<'_>> = roots
        .iter()
        .map(|c| CertificateDer::from(c.der()))
        .collect();
    let trust_anchors = root_ders
        .iter()
        .map(|d| {
            webpki::anchor_from_trusted_cert(d)
                .map(|a| a.to_owned())
                .map_err(|e| chain_err(format!("a trust anchor cannot be used ({e:?})")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if trust_anchors.is_empty() {
        return Err(chain_err("no trust anchors given".into()));
    }
    let leaf_der = CertificateDer::from(leaf);
    let ee = webpki::EndEntityCert::try_from(&leaf_der)
        .map_err(|e| chain_err(format!("the signer certificate cannot be parsed ({e:?})")))?;
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &trust_anchors,
        &intermediates,
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs)),
        webpki::KeyUsage::client_auth(),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| {
        chain_err(match e {
            webpki::Error::UnknownIssuer => {
                "no path to the trust anchors (unknown issuer): pass the issuing CA and its root"
                    .into()
            }
            webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
                format!("a certificate of the chain is not valid at the time checked ({e:?})")
            }
            other => format!("{other:?}"),
        })
    })
}
