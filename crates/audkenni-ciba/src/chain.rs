//! Path validation of the signer certificate to caller-given trust anchors
//! at a given time (rustls-webpki), with revocation against CRLs.

use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::{CertificateDer, UnixTime};
use smartid_core::Certificate;

use crate::error::SignatureError;

/// The extended key usage is checked by the caller ([`crate::EkuPolicy`]),
/// before the path is built.
struct EkuCheckedElsewhere;

impl webpki::ExtendedKeyUsageValidator for EkuCheckedElsewhere {
    fn validate(&self, _: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

/// What the CRLs said about the leaf.
#[derive(Debug)]
pub(crate) enum CrlOutcome {
    /// No CRL was given.
    NotAsked,
    /// An authoritative CRL, valid at the time, does not list the leaf.
    NotRevoked,
    /// The CRLs could not decide: why.
    Unusable(String),
}

/// Builds and checks a chain from `leaf` to one of `anchors` at `at`, and
/// the leaf's revocation against `crls` (DER; their signatures verified
/// against the issuer, nextUpdate enforced at `at`).
///
/// Self-issued certificates among `anchors` are trust anchors; the others
/// serve as intermediates (a bundle may hold both). When no certificate is
/// self-issued, every certificate given is a trust anchor. `extra` are
/// further intermediates (for example those carried in the CMS).
pub(crate) fn check_chain(
    leaf: &[u8],
    anchors: &[Certificate],
    extra: &[&[u8]],
    at: SystemTime,
    crls: &[Vec<u8>],
) -> Result<CrlOutcome, SignatureError> {
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
    intermediates.extend(extra.iter().map(|d| CertificateDer::from(*d)));
    let root_ders: Vec<CertificateDer<'_>> = roots
        .iter()
        .map(|c| CertificateDer::from(c.der()))
        .collect();
    let trust_anchors = root_ders
        .iter()
        .map(|d| {
            webpki::anchor_from_trusted_cert(d)
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
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let verify = |revocation: Option<webpki::RevocationOptions<'_>>| {
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &trust_anchors,
            &intermediates,
            time,
            EkuCheckedElsewhere,
            revocation,
            None,
        )
        .map(|_| ())
    };
    let to_chain_error = |e: webpki::Error| {
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
    };
    // The path first, without revocation: its errors are the chain's.
    verify(None).map_err(to_chain_error)?;
    if crls.is_empty() {
        return Ok(CrlOutcome::NotAsked);
    }
    let mut parsed = Vec::new();
    let mut unusable = Vec::new();
    for der in crls {
        match webpki::OwnedCertRevocationList::from_der(der) {
            Ok(crl) => parsed.push(webpki::CertRevocationList::from(crl)),
            Err(e) => unusable.push(format!("a CRL cannot be parsed ({e:?})")),
        }
    }
    if parsed.is_empty() {
        return Ok(CrlOutcome::Unusable(unusable.join("; ")));
    }
    let refs: Vec<&webpki::CertRevocationList<'_>> = parsed.iter().collect();
    let options = match webpki::RevocationOptionsBuilder::new(&refs) {
        Ok(b) => b
            .with_depth(webpki::RevocationCheckDepth::EndEntity)
            .with_status_policy(webpki::UnknownStatusPolicy::Deny)
            .with_expiration_policy(webpki::ExpirationPolicy::Enforce)
            .build(),
        Err(_) => return Ok(CrlOutcome::Unusable("no CRL given".into())),
    };
    match verify(Some(options)) {
        Ok(()) => Ok(CrlOutcome::NotRevoked),
        Err(webpki::Error::CertRevoked) => Err(SignatureError::Revoked),
        Err(webpki::Error::UnknownRevocationStatus) => Ok(CrlOutcome::Unusable(
            "no CRL given is from the signer certificate's issuer".into(),
        )),
        Err(webpki::Error::CrlExpired { .. }) => Ok(CrlOutcome::Unusable(
            "the CRL's nextUpdate is not after the time checked (a newer CRL is needed)".into(),
        )),
        Err(
            e @ (webpki::Error::InvalidCrlSignatureForPublicKey
            | webpki::Error::UnsupportedCrlSignatureAlgorithmContext(_)
            | webpki::Error::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_)
            | webpki::Error::IssuerNotCrlSigner),
        ) => Ok(CrlOutcome::Unusable(format!(
            "the CRL's signature does not verify with the issuer's key ({e:?})"
        ))),
        Err(e) => Ok(CrlOutcome::Unusable(format!(
            "the CRL could not be used ({e:?})"
        ))),
    }
}
