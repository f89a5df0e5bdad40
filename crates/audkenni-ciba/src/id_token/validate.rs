//! The checks of OIDC Core 3.1.3.7: signature, issuer, audience, azp,
//! times, `at_hash`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::crypto::backend::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Map, Value};

use super::claims::VerifiedIdToken;
use crate::acr::Acr;
use crate::error::{Error, IdTokenError};
use crate::jwks::VerifyingKey;
use crate::kennitala::Kennitala;

use super::claims::parse_certificate_claim;
use super::jws::{ParsedJws, parse_jws};

/// What a token is checked against.
#[derive(Debug, Clone)]
pub(crate) struct Expectations<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) leeway: Duration,
    pub(crate) now: SystemTime,
    pub(crate) access_token: Option<&'a str>,
}

/// Verifies the signature with `key` and the claims against `expect`
/// (the key parsed for this one call; the client's JWKS cache keeps parsed
/// keys, see [`verify_with_cached_key`]).
pub(crate) fn verify_with_key(
    jws: &ParsedJws<'_>,
    key: &Jwk,
    expect: &Expectations<'_>,
) -> Result<VerifiedIdToken, IdTokenError> {
    verify_with_cached_key(jws, &VerifyingKey::new(key.clone()), expect)
}

/// Verifies the signature with `key` (parsed once per key and algorithm)
/// and the claims against `expect`.
pub(crate) fn verify_with_cached_key(
    jws: &ParsedJws<'_>,
    key: &VerifyingKey,
    expect: &Expectations<'_>,
) -> Result<VerifiedIdToken, IdTokenError> {
    if !key.verify(jws.alg, jws.signing_input.as_bytes(), jws.signature) {
        return Err(IdTokenError::BadSignature);
    }
    let claims: Map<String, Value> = serde_json::from_slice(&jws.payload)
        .map_err(|_| IdTokenError::Malformed("the payload is not a JSON object".into()))?;
    check_claims(claims, jws.alg, expect)
}

pub(crate) fn check_claims(
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

/// Validates a token given a key source: used by the client (JWKS cache)
/// and by the tests (a fixed key set).
pub(crate) async fn validate<F, Fut>(
    token: &str,
    expect: &Expectations<'_>,
    key_for: F,
) -> Result<VerifiedIdToken, Error>
where
    F: FnOnce(Option<String>, Algorithm) -> Fut,
    Fut: Future<Output = Result<Arc<VerifyingKey>, Error>>,
{
    let jws = parse_jws(token)?;
    let key = key_for(jws.kid.clone(), jws.alg).await?;
    Ok(verify_with_cached_key(&jws, &key, expect)?)
}
