//! id_token validation (OIDC Core 3.1.3.7 as it applies to CIBA) and the
//! verified result with Audkenni's claims.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Map, Value};
use smartid_core::Certificate;

use crate::acr::Acr;
use crate::binding::BindingContent;
use crate::error::{Error, IdTokenError, SignatureError};
use crate::kennitala::Kennitala;
use crate::signature::{
    SignatureCheck, VerifiedSignature, subject_names, verify_cms, verify_pkcs1,
};
use crate::signing_key::ensure_jwt_provider;

/// The parts of a compact JWS, with the header fields that matter.
pub(crate) struct ParsedJws<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    signing_input: &'a str,
    signature: &'a str,
    payload: Vec<u8>,
}

/// Splits a token and checks the algorithm against the allowlist.
pub(crate) fn parse_jws(token: &str) -> Result<ParsedJws<'_>, IdTokenError> {
    let malformed = |m: &str| IdTokenError::Malformed(m.to_owned());
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three dot-separated parts"));
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| malformed("the header is not base64url JSON"))?;
    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = match alg_name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        other => return Err(IdTokenError::AlgorithmNotAllowed(other.to_owned())),
    };
    if header.get("crit").is_some() {
        return Err(malformed("critical header parameters are not supported"));
    }
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| malformed("the payload is not base64url"))?;
    let signing_input = token.trim().get(..h.len() + 1 + p.len()).unwrap_or("");
    Ok(ParsedJws {
        alg,
        kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
        signing_input,
        signature: s,
        payload,
    })
}

/// What a token is checked against.
#[derive(Debug, Clone)]
pub(crate) struct Expectations<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) leeway: Duration,
    pub(crate) now: SystemTime,
    pub(crate) access_token: Option<&'a str>,
}

/// Verifies the signature with `key` and the claims against `expect`.
pub(crate) fn verify_with_key(
    jws: &ParsedJws<'_>,
    key: &Jwk,
    expect: &Expectations<'_>,
) -> Result<VerifiedIdToken, IdTokenError> {
    ensure_jwt_provider();
    let decoding =
        jsonwebtoken::DecodingKey::from_jwk(key).map_err(|_| IdTokenError::BadSignature)?;
    let ok = jsonwebtoken::crypto::verify(
        jws.signature,
        jws.signing_input.as_bytes(),
        &decoding,
        jws.alg,
    )
    .unwrap_or(false);
    if !ok {
        return Err(IdTokenError::BadSignature);
    }
    let claims: Map<String, Value> = serde_json::from_slice(&jws.payload)
        .map_err(|_| IdTokenError::Malformed("the payload is not a JSON object".into()))?;
    check_claims(claims, jws.alg, expect)
}

fn check_claims(
    claims: Map<String, Value>,
    alg: Algorithm,
    expect: &Expectations<'_>,
) -> Result<VerifiedIdToken, IdTokenError> {
    let str_claim = |name: &'static str| claims.get(name).and_then(Value::as_str);
    let num_claim = |name: &'static str| claims.get(name).and_then(Value::as_u64);
    let iss = str_claim("iss").ok_or(IdTokenError::MissingClaim("iss"))?;
    if iss != expect.issuer {
        return Err(IdTokenError::WrongIssuer {
            expected: expect.issuer.to_owned(),
            found: iss.to_owned(),
        });
    }
    let audience: Vec<String> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => {
            let mut out = Vec::with_capacity(a.len());
            for member in a {
                match member {
                    Value::String(s) => out.push(s.clone()),
                    _ => {
                        return Err(IdTokenError::Malformed(
                            "aud has a member that is not a string".into(),
                        ));
                    }
                }
            }
            out
        }
        _ => return Err(IdTokenError::MissingClaim("aud")),
    };
    if !audience.iter().any(|a| a == expect.client_id) {
        return Err(IdTokenError::WrongAudience(format!("{audience:?}")));
    }
    match str_claim("azp") {
        Some(azp) if azp != expect.client_id => {
            return Err(IdTokenError::WrongAuthorizedParty(azp.to_owned()));
        }
        None if audience.len() > 1 => {
            return Err(IdTokenError::WrongAuthorizedParty(
                "(missing with several audiences)".into(),
            ));
        }
        _ => {}
    }
    let now = expect
        .now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let leeway = expect.leeway.as_secs();
    let exp = num_claim("exp").ok_or(IdTokenError::MissingClaim("exp"))?;
    if now > exp.saturating_add(leeway) {
        return Err(IdTokenError::Expired { exp, now });
    }
    let iat = num_claim("iat").ok_or(IdTokenError::MissingClaim("iat"))?;
    if iat > now.saturating_add(leeway) {
        return Err(IdTokenError::IssuedInFuture { iat, now });
    }
    if let Some(nbf) = num_claim("nbf")
        && nbf > now.saturating_add(leeway)
    {
        return Err(IdTokenError::IssuedInFuture { iat: nbf, now });
    }
    if let (Some(at_hash), Some(access_token)) = (str_claim("at_hash"), expect.access_token) {
        let dig = match alg {
            Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => &digest::SHA384,
            Algorithm::RS512 | Algorithm::PS512 => &digest::SHA512,
            _ => &digest::SHA256,
        };
        let h = digest::digest(dig, access_token.as_bytes());
        let half = h.as_ref().get(..h.as_ref().len() / 2).unwrap_or_default();
        if URL_SAFE_NO_PAD.encode(half) != at_hash {
            return Err(IdTokenError::AtHashMismatch);
        }
    }
    let subject = str_claim("sub")
        .ok_or(IdTokenError::MissingClaim("sub"))?
        .to_owned();
    let national_register_id = match claims
        .get("nationalRegisterId")
        .or_else(|| claims.get("nationalRegistryId"))
    {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            Kennitala::parse(s)
                .map_err(|e| IdTokenError::Malformed(format!("nationalRegisterId: {e}")))?,
        ),
        Some(_) => return Err(IdTokenError::MissingClaim("nationalRegisterId")),
    };
    let certificate = match str_claim("certificate") {
        None => None,
        Some(c) => Some(
            parse_certificate_claim(c)
                .map_err(|e| IdTokenError::Malformed(format!("certificate claim: {e}")))?,
        ),
    };
    // `SystemTime + Duration` panics past the platform's range: check.
    let time = |name: &'static str, secs: u64| {
        UNIX_EPOCH
            .checked_add(Duration::from_secs(secs))
            .ok_or_else(|| IdTokenError::Malformed(format!("{name} {secs} is out of range")))
    };
    let auth_time = match num_claim("auth_time") {
        Some(t) => Some(time("auth_time", t)?),
        None => None,
    };
    Ok(VerifiedIdToken {
        issuer: iss.to_owned(),
        subject,
        audience,
        expires_at: time("exp", exp)?,
        issued_at: time("iat", iat)?,
        auth_time,
        acr: str_claim("acr").map(Acr::parse),
        name: str_claim("name").map(str::to_owned),
        national_register_id,
        certificate,
        signature: str_claim("signature").map(str::to_owned),
        audit_tracking_id: str_claim("auditTrackingId").map(str::to_owned),
        claims,
    })
}

/// base64 DER, possibly wrapped as PEM.
fn parse_certificate_claim(value: &str) -> Result<Certificate, String> {
    let b64: String = value
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = decode_b64(&b64).ok_or("not base64")?;
    Certificate::from_der(&der, "certificate claim").map_err(|e| e.to_string())
}

/// Standard or URL-safe base64, padded or not.
pub(crate) fn decode_b64(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(&s)
        .ok()
        .or_else(|| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(s.trim_end_matches('='))
                .ok()
        })
        .or_else(|| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
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

/// Validates a token given a key source: used by the client (JWKS cache)
/// and by the tests (a fixed key set).
pub(crate) async fn validate<F, Fut>(
    token: &str,
    expect: &Expectations<'_>,
    key_for: F,
) -> Result<VerifiedIdToken, Error>
where
    F: FnOnce(Option<String>, Algorithm) -> Fut,
    Fut: Future<Output = Result<Jwk, Error>>,
{
    let jws = parse_jws(token)?;
    let key = key_for(jws.kid.clone(), jws.alg).await?;
    Ok(verify_with_key(&jws, &key, expect)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys::rsa_pem;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const ISS: &str = "https://idp.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni";
    const NOW: u64 = 1_700_000_000;

    fn key() -> (EncodingKey, Jwk) {
        ensure_jwt_provider();
        let enc =
            crate::signing_key::encoding_key(rsa_pem().as_bytes(), crate::JwsAlgorithm::Rs256)
                .unwrap();
        let mut jwk = Jwk::from_encoding_key(&enc, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some("k1".into());
        (enc, jwk)
    }

    fn claims() -> Value {
        json!({
            "iss": ISS, "aud": "exampleclient", "azp": "exampleclient", "sub": "s1",
            "exp": NOW + 300, "iat": NOW - 5, "auth_time": NOW - 10, "acr": "sim-sign",
            "nationalRegisterId": "0101303369", "name": "Gervimaður Asía",
            "auditTrackingId": "a-1", "tokenName": "id_token",
            "at_hash": URL_SAFE_NO_PAD.encode(&digest::digest(&digest::SHA256, b"the-access-token").as_ref()[..16]),
        })
    }

    fn sign(claims: &Value, enc: &EncodingKey) -> String {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some("k1".into());
        jsonwebtoken::encode(&h, claims, enc).unwrap()
    }

    fn expect() -> Expectations<'static> {
        Expectations {
            issuer: ISS,
            client_id: "exampleclient",
            leeway: Duration::from_secs(30),
            now: UNIX_EPOCH + Duration::from_secs(NOW),
            access_token: Some("the-access-token"),
        }
    }

    fn check(token: &str, jwk: &Jwk) -> Result<VerifiedIdToken, IdTokenError> {
        let jws = parse_jws(token)?;
        verify_with_key(&jws, jwk, &expect())
    }

    #[test]
    fn a_good_token_gives_typed_claims() {
        let (enc, jwk) = key();
        let v = check(&sign(&claims(), &enc), &jwk).unwrap();
        assert_eq!(v.name.as_deref(), Some("Gervimaður Asía"));
        assert_eq!(v.national_register_id.unwrap().as_str(), "0101303369");
        assert_eq!(v.acr, Some(Acr::SimSign));
        assert_eq!(v.audit_tracking_id.as_deref(), Some("a-1"));
        assert_eq!(v.claims["tokenName"], "id_token");
        assert_eq!(v.subject, "s1");
    }

    #[test]
    fn aud_arrays_with_non_string_members_are_rejected_not_filtered() {
        let (enc, jwk) = key();
        for aud in [
            json!(["exampleclient", 7]),
            json!(["exampleclient", null]),
            json!(["exampleclient", ["nested"]]),
        ] {
            let mut c = claims();
            c["aud"] = aud.clone();
            c["azp"] = json!("exampleclient");
            assert!(
                matches!(
                    check(&sign(&c, &enc), &jwk),
                    Err(IdTokenError::Malformed(_))
                ),
                "{aud}"
            );
        }
        let mut c = claims();
        c["aud"] = json!(["exampleclient", "other"]);
        c["azp"] = json!("exampleclient");
        assert!(check(&sign(&c, &enc), &jwk).is_ok());
    }

    #[test]
    fn debug_shows_no_full_kennitala_and_no_signature() {
        let (enc, jwk) = key();
        let mut c = claims();
        c["signature"] = json!("MIIsecretcmsbase64");
        let v = check(&sign(&c, &enc), &jwk).unwrap();
        let dbg = format!("{v:?}");
        assert!(
            !dbg.contains("0101303369") && !dbg.contains("3369"),
            "{dbg}"
        );
        assert!(!dbg.contains("MIIsecret"), "{dbg}");
        assert!(dbg.contains("010130-****"), "{dbg}");
    }

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn alg_none_and_hmac_with_the_public_key_are_rejected() {
        let (enc, jwk) = key();
        let none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "kid": "k1"})),
            b64(&claims())
        );
        assert_eq!(
            check(&none, &jwk).unwrap_err(),
            IdTokenError::AlgorithmNotAllowed("none".into())
        );
        // HS256 "signed" with the RSA public key's bytes (the classic confusion attack).
        let public = serde_json::to_vec(&jwk).unwrap();
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k1".into());
        let hs = jsonwebtoken::encode(&h, &claims(), &EncodingKey::from_secret(&public)).unwrap();
        assert_eq!(
            check(&hs, &jwk).unwrap_err(),
            IdTokenError::AlgorithmNotAllowed("HS256".into())
        );
        let _ = enc;
    }

    #[test]
    fn wrong_claims_are_rejected() {
        let (enc, jwk) = key();
        let with = |k: &str, v: Value| {
            let mut c = claims();
            c[k] = v;
            check(&sign(&c, &enc), &jwk).unwrap_err()
        };
        assert!(matches!(
            with(
                "iss",
                json!("https://idp.audkenni.is/sso/oauth2/realms/root/realms/audkenni")
            ),
            IdTokenError::WrongIssuer { .. }
        ));
        assert!(matches!(
            with("aud", json!("otherclient")),
            IdTokenError::WrongAudience(_)
        ));
        assert!(matches!(
            with("azp", json!("otherclient")),
            IdTokenError::WrongAuthorizedParty(_)
        ));
        assert!(matches!(
            with("exp", json!(NOW - 31)),
            IdTokenError::Expired { .. }
        ));
        assert!(matches!(
            with("iat", json!(NOW + 31)),
            IdTokenError::IssuedInFuture { .. }
        ));
        assert!(matches!(
            with("at_hash", json!("AAAAAAAAAAAAAAAAAAAAAA")),
            IdTokenError::AtHashMismatch
        ));
        assert!(matches!(
            with("nationalRegisterId", json!("0101303379")),
            IdTokenError::Malformed(_)
        ));
        assert!(matches!(
            with("sub", Value::Null),
            IdTokenError::MissingClaim("sub")
        ));
        // Within the leeway is fine.
        let mut c = claims();
        c["exp"] = json!(NOW - 29);
        assert!(check(&sign(&c, &enc), &jwk).is_ok());
        // Several audiences need azp.
        let mut c = claims();
        c["aud"] = json!(["a", "exampleclient"]);
        c.as_object_mut().unwrap().remove("azp");
        assert!(matches!(
            check(&sign(&c, &enc), &jwk).unwrap_err(),
            IdTokenError::WrongAuthorizedParty(_)
        ));
    }

    #[test]
    fn out_of_range_times_are_rejected_not_a_panic() {
        let (enc, jwk) = key();
        for (claim, value) in [("exp", u64::MAX), ("auth_time", u64::MAX)] {
            let mut c = claims();
            c[claim] = json!(value);
            assert!(
                matches!(
                    check(&sign(&c, &enc), &jwk).unwrap_err(),
                    IdTokenError::Malformed(_)
                ),
                "{claim} {value}"
            );
        }
    }

    #[test]
    fn tampered_tokens_and_foreign_keys_are_rejected() {
        let (enc, jwk) = key();
        let token = sign(&claims(), &enc);
        let parts: Vec<&str> = token.split('.').collect();
        let mut c = claims();
        c["name"] = json!("Someone Else");
        let tampered = format!("{}.{}.{}", parts[0], b64(&c), parts[2]);
        assert_eq!(
            check(&tampered, &jwk).unwrap_err(),
            IdTokenError::BadSignature
        );
        // A token signed by another key does not verify with this one.
        let other = crate::signing_key::encoding_key(
            crate::test_keys::other_rsa_pem().as_bytes(),
            crate::JwsAlgorithm::Rs256,
        )
        .unwrap();
        assert_eq!(
            check(&sign(&claims(), &other), &jwk).unwrap_err(),
            IdTokenError::BadSignature
        );
        for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert!(
                matches!(
                    check(junk, &jwk).unwrap_err(),
                    IdTokenError::Malformed(_) | IdTokenError::AlgorithmNotAllowed(_)
                ),
                "{junk}"
            );
        }
    }

    /// The seed's sample payload (its JWS signature was not published), with
    /// the signer certificate added as the `certificate` claim.
    fn seed_token(edit: impl FnOnce(&mut Map<String, Value>)) -> VerifiedIdToken {
        let json = include_str!("../tests/fixtures/seed-id-token-claims.json");
        let mut claims: Map<String, Value> = serde_json::from_str(json).unwrap();
        let cms = STANDARD
            .decode(claims["signature"].as_str().unwrap())
            .unwrap();
        let signer = crate::cms::verify_signed_data(&cms).unwrap().signer_der;
        claims.insert("certificate".into(), Value::String(STANDARD.encode(signer)));
        edit(&mut claims);
        let at = UNIX_EPOCH + Duration::from_secs(1_575_010_961);
        let expect = Expectations {
            issuer: "https://idp-dev.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni",
            client_id: "exampleclient",
            leeway: Duration::from_secs(30),
            now: at,
            access_token: None,
        };
        check_claims(claims, Algorithm::RS256, &expect).unwrap()
    }

    #[test]
    fn seed_claims_verify_and_tie_the_signer_to_the_token() {
        let at = UNIX_EPOCH + Duration::from_secs(1_575_010_961);
        let check = SignatureCheck::without_chain_check()
            .at(at)
            .expect_text("Login to Audkenni");
        let token = seed_token(|_| {});
        assert_eq!(
            token.audit_tracking_id.as_deref(),
            Some("5d5aec42-65c2-484a-898f-0517415e32d5-337150")
        );
        let v = token.verify_signature(&check).unwrap();
        assert_eq!(v.name, "Gervimaður Asía");
        token.check_certificate_names().unwrap();

        let renamed = seed_token(|c| {
            c.insert("name".into(), json!("Gervimaður Ameríka"));
        });
        assert!(matches!(
            renamed.verify_signature(&check),
            Err(Error::Signature(SignatureError::NameMismatch { .. }))
        ));
        assert!(renamed.check_certificate_names().is_err());
        let other_id = seed_token(|c| {
            c.insert("nationalRegisterId".into(), json!("1203902019"));
        });
        assert!(matches!(
            other_id.verify_signature(&check),
            Err(Error::Signature(SignatureError::NationalIdMismatch { .. }))
        ));
        // A different certificate in the claim than in the CMS.
        let ca = smartid_testkit::TestCa::new_root("Other", "Other").unwrap();
        let other_cert = ca.certificate().der().to_vec();
        let swapped = seed_token(|c| {
            c.insert(
                "certificate".into(),
                Value::String(STANDARD.encode(&other_cert)),
            );
        });
        assert!(matches!(
            swapped.verify_signature(&check),
            Err(Error::Signature(SignatureError::CertificateMismatch))
        ));
        let unsigned = seed_token(|c| {
            c.remove("signature");
        });
        assert!(matches!(
            unsigned.verify_signature(&check),
            Err(Error::Signature(SignatureError::Malformed(_)))
        ));
    }

    #[tokio::test]
    async fn unknown_kid_refetches_once_then_fails() {
        let (enc, jwk) = key();
        let cache = crate::jwks::JwksCache::default();
        let fetches = std::sync::atomic::AtomicUsize::new(0);
        let now = UNIX_EPOCH + Duration::from_secs(NOW);
        let mut other = jwk.clone();
        other.common.key_id = Some("k0".into());
        let fetch = |keys: Vec<Jwk>| {
            fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { Ok(keys) }
        };
        // First use fetches; the JWKS has no key "k1".
        let e = cache
            .key(Some("k1"), Algorithm::RS256, now, || {
                fetch(vec![other.clone()])
            })
            .await
            .unwrap_err();
        assert!(matches!(
            e,
            Error::IdToken(IdTokenError::UnknownKey(Some(_)))
        ));
        // Within the refetch interval no second fetch happens.
        let e = cache
            .key(
                Some("k1"),
                Algorithm::RS256,
                now + Duration::from_secs(5),
                || fetch(vec![jwk.clone()]),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::IdToken(IdTokenError::UnknownKey(_))));
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
        // After it, the rotated key is found, then served from the cache.
        let later = now + crate::jwks::MIN_REFETCH_INTERVAL;
        assert!(
            cache
                .key(Some("k1"), Algorithm::RS256, later, || fetch(vec![
                    jwk.clone()
                ]))
                .await
                .is_ok()
        );
        assert!(
            cache
                .key(Some("k1"), Algorithm::RS256, later, || fetch(vec![]))
                .await
                .is_ok()
        );
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 2);
        // An EC key does not serve an RS256 token.
        let _ = enc;
    }
}
