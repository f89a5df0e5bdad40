//! The verified id_token with Audkenni's claims typed, and the signature
//! checks tied to them.

use std::time::SystemTime;

use serde_json::{Map, Value};
use smartid_core::Certificate;

use super::jws::decode_b64;
use crate::acr::Acr;
use crate::binding::BindingContent;
use crate::error::{Error, SignatureError};
use crate::kennitala::Kennitala;
use crate::signature::{
    SignatureCheck, VerifiedSignature, subject_names, verify_cms, verify_pkcs1,
};

/// base64 DER, possibly wrapped as PEM.
pub(super) fn parse_certificate_claim(value: &str) -> Result<Certificate, String> {
    // `decode_b64` skips whitespace; PEM armour lines go first.
    let der = if value.contains("-----") {
        let mut b64 = String::with_capacity(value.len());
        for line in value.lines().filter(|l| !l.starts_with("-----")) {
            b64.push_str(line);
        }
        decode_b64(&b64)
    } else {
        // Plain base64, or base64 wrapped in lines: no copy first.
        decode_b64(value)
    };
    let der = der.ok_or("not base64")?;
    Certificate::from_der(&der, "certificate claim").map_err(|e| e.to_string())
}

/// A verified id_token: signature, issuer, audience, authorized party,
/// times and `at_hash` checked. Audkenni's claims are typed; everything is
/// in [`VerifiedIdToken::claims`].
///
/// `Debug` shows no full kennitala (masked as [`Kennitala`]'s `Debug`
/// does), no certificate subject, no signature and no raw claims.
#[derive(Clone)]
#[non_exhaustive]
pub struct VerifiedIdToken {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `aud`.
    pub audience: Vec<String>,
    /// `exp`.
    pub expires_at: SystemTime,
    /// `iat`.
    pub issued_at: SystemTime,
    /// `auth_time`.
    pub auth_time: Option<SystemTime>,
    /// `acr`.
    pub acr: Option<Acr>,
    /// `name`: the user's display name.
    pub name: Option<String>,
    /// `nationalRegisterId`: the kennitala (checksum checked).
    pub national_register_id: Option<Kennitala>,
    /// `certificate`: the user's certificate (parsed; NOT chain-checked
    /// until [`VerifiedIdToken::verify_signature`]).
    pub certificate: Option<Certificate>,
    /// `signature`: base64 CMS SignedData or raw PKCS#1 signature, as sent
    /// (verify with [`VerifiedIdToken::verify_signature`] or
    /// [`VerifiedIdToken::verify_pkcs1_signature`]).
    pub signature: Option<String>,
    /// `auditTrackingId`.
    pub audit_tracking_id: Option<String>,
    /// All claims as sent.
    pub claims: Map<String, Value>,
}

impl std::fmt::Debug for VerifiedIdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedIdToken")
            .field("issuer", &self.issuer)
            .field("subject", &"[redacted]")
            .field("audience", &self.audience)
            .field("expires_at", &self.expires_at)
            .field("issued_at", &self.issued_at)
            .field("acr", &self.acr)
            .field("name", &self.name.as_ref().map(|_| "[redacted]"))
            .field("national_register_id", &self.national_register_id)
            .field(
                "certificate",
                &self.certificate.as_ref().map(|_| "[present]"),
            )
            .field(
                "signature",
                &self
                    .signature
                    .as_ref()
                    .map(|s| format!("[{} characters]", s.len())),
            )
            .field("audit_tracking_id", &self.audit_tracking_id)
            .field("claims", &format!("[{} claims]", self.claims.len()))
            .finish_non_exhaustive()
    }
}

impl VerifiedIdToken {
    fn signing_claims(&self) -> Result<(Vec<u8>, &Certificate, &str, &Kennitala), SignatureError> {
        let missing = |c: &str| SignatureError::Malformed(format!("the id_token has no {c} claim"));
        let sig = self
            .signature
            .as_deref()
            .ok_or_else(|| missing("signature"))?;
        let sig = decode_b64(sig)
            .ok_or_else(|| SignatureError::Malformed("the signature claim is not base64".into()))?;
        let cert = self
            .certificate
            .as_ref()
            .ok_or_else(|| missing("certificate"))?;
        let name = self.name.as_deref().ok_or_else(|| missing("name"))?;
        let kt = self
            .national_register_id
            .as_ref()
            .ok_or_else(|| missing("nationalRegisterId"))?;
        Ok((sig, cert, name, kt))
    }

    /// Verifies the CMS SignedData in the `signature` claim (PKCS#7 modes
    /// such as `sim-sign`): everything [`verify_cms`] checks, plus the
    /// signer certificate equals the `certificate` claim, its CN equals
    /// `name` and its serialNumber equals `nationalRegisterId`.
    ///
    /// # Errors
    /// [`Error::Signature`] saying which check failed.
    pub fn verify_signature(&self, check: &SignatureCheck) -> Result<VerifiedSignature, Error> {
        let (sig, cert, name, kt) = self.signing_claims()?;
        let v = verify_cms(&sig, check)?;
        if v.signer.der() != cert.der() {
            return Err(SignatureError::CertificateMismatch.into());
        }
        tie_to_claims(&v, name, kt)?;
        Ok(v)
    }

    /// Verifies the raw PKCS#1 signature in the `signature` claim
    /// (`sim-sign-pkcs1`) of `signed` with the `certificate` claim's key,
    /// and the certificate as [`VerifiedIdToken::verify_signature`] does.
    ///
    /// # Errors
    /// [`Error::Signature`] saying which check failed.
    pub fn verify_pkcs1_signature(
        &self,
        signed: &BindingContent,
        check: &SignatureCheck,
    ) -> Result<VerifiedSignature, Error> {
        let (sig, cert, name, kt) = self.signing_claims()?;
        let v = verify_pkcs1(&sig, cert.der(), signed, check)?;
        tie_to_claims(&v, name, kt)?;
        Ok(v)
    }

    /// Checks that the `certificate` claim's CN and serialNumber equal the
    /// `name` and `nationalRegisterId` claims (for authentication modes,
    /// which carry no signature). Does not check the chain.
    ///
    /// # Errors
    /// [`Error::Signature`] on a mismatch or a missing claim.
    pub fn check_certificate_names(&self) -> Result<(), Error> {
        let cert = self.certificate.as_ref().ok_or_else(|| {
            SignatureError::Malformed("the id_token has no certificate claim".into())
        })?;
        let (cn, serial) = subject_names(cert.der())?;
        let name = self.name.as_deref().unwrap_or_default();
        let kt = self
            .national_register_id
            .as_ref()
            .map(Kennitala::as_str)
            .unwrap_or_default();
        if cn.as_deref() != Some(name) {
            return Err(SignatureError::NameMismatch {
                claimed: name.into(),
                certificate: cn.unwrap_or_default(),
            }
            .into());
        }
        if serial.as_deref() != Some(kt) {
            return Err(SignatureError::NationalIdMismatch {
                claimed: kt.into(),
                certificate: serial.unwrap_or_default(),
            }
            .into());
        }
        Ok(())
    }
}

fn tie_to_claims(v: &VerifiedSignature, name: &str, kt: &Kennitala) -> Result<(), SignatureError> {
    if v.name != name {
        return Err(SignatureError::NameMismatch {
            claimed: name.into(),
            certificate: v.name.clone(),
        });
    }
    if &v.national_register_id != kt {
        return Err(SignatureError::NationalIdMismatch {
            claimed: kt.to_string(),
            certificate: v.national_register_id.to_string(),
        });
    }
    Ok(())
}
