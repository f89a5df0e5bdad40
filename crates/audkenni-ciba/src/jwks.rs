//! The provider's JWKS, cached; refetched once on an unknown `kid`, at most
//! once per refetch interval.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use jsonwebtoken::jwk::Jwk;
use smartid_core::HttpResponse;

use crate::error::{Error, IdTokenError};
use crate::response::{check_json, invalid};

/// The default shortest time between two JWKS fetches triggered by unknown keys.
pub(crate) const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub(crate) struct JwksCache {
    inner: Mutex<Option<(Vec<Jwk>, SystemTime)>>,
    min_refetch: Duration,
}

impl Default for JwksCache {
    fn default() -> Self {
        Self::new(MIN_REFETCH_INTERVAL)
    }
}

/// Parses a JWKS, skipping keys this crate cannot use (unknown types).
pub(crate) fn parse_jwks(response: &HttpResponse) -> Result<Vec<Jwk>, Error> {
    if !response.is_success() {
        return Err(invalid(
            response,
            "the JWKS endpoint answered with an error",
        ));
    }
    check_json(response)?;
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_slice(response.body())
        .map_err(|e| invalid(response, &format!("not a JWKS ({e})")))?;
    Ok(set
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
        .collect())
}

fn family_matches(jwk: &Jwk, alg: jsonwebtoken::Algorithm) -> bool {
    use jsonwebtoken::jwk::AlgorithmParameters as P;
    use jsonwebtoken::jwk::PublicKeyUse;
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return false;
    }
    if let Some(ka) = jwk.common.key_algorithm
        && format!("{ka:?}") != format!("{alg:?}")
    {
        return false;
    }
    use jsonwebtoken::Algorithm as A;
    matches!(
        (&jwk.algorithm, alg),
        (
            P::RSA(_),
            A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512
        ) | (P::EllipticCurve(_), A::ES256 | A::ES384)
    )
}

/// The key for `kid` (or, without a kid, the single key fit for `alg`).
fn select(keys: &[Jwk], kid: Option<&str>, alg: jsonwebtoken::Algorithm) -> Option<Jwk> {
    let mut fit = keys.iter().filter(|k| family_matches(k, alg));
    match kid {
        Some(kid) => fit
            .find(|k| k.common.key_id.as_deref() == Some(kid))
            .cloned(),
        None => match (fit.next(), fit.next()) {
            (Some(k), None) => Some(k.clone()),
            _ => None,
        },
    }
}

impl JwksCache {
    pub(crate) fn new(min_refetch: Duration) -> Self {
        Self {
            inner: Mutex::new(None),
            min_refetch,
        }
    }

    /// Finds the key, fetching the JWKS when nothing is cached or when the
    /// key is unknown and the last fetch is older than the refetch interval.
    pub(crate) async fn key<F, Fut>(
        &self,
        kid: Option<&str>,
        alg: jsonwebtoken::Algorithm,
        now: SystemTime,
        fetch: F,
    ) -> Result<Jwk, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<Jwk>, Error>>,
    {
        let may_fetch = {
            let guard = self.inner.lock().map_err(|_| poisoned())?;
            match &*guard {
                Some((keys, fetched_at)) => {
                    if let Some(k) = select(keys, kid, alg) {
                        return Ok(k);
                    }
                    now.duration_since(*fetched_at).unwrap_or_default() >= self.min_refetch
                }
                None => true,
            }
        };
        if !may_fetch {
            return Err(IdTokenError::UnknownKey(kid.map(str::to_owned)).into());
        }
        let keys = fetch().await?;
        let found = select(&keys, kid, alg);
        *self.inner.lock().map_err(|_| poisoned())? = Some((keys, now));
        found.ok_or_else(|| IdTokenError::UnknownKey(kid.map(str::to_owned)).into())
    }
}

fn poisoned() -> Error {
    Error::InvalidConfig {
        field: "jwks",
        message: "the JWKS cache lock was poisoned by a panic elsewhere".into(),
    }
}
