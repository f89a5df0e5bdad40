//! The provider's JWKS, cached; refetched once on an unknown `kid`, at most
//! once per refetch interval.

use std::time::{Duration, SystemTime};

use jsonwebtoken::jwk::Jwk;
use smartid_core::HttpResponse;

use crate::error::{Error, IdTokenError};
use crate::response::{check_json, invalid};

/// The default shortest time between two JWKS fetches triggered by unknown keys.
pub(crate) const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub(crate) struct JwksCache {
    /// The keys and the time of the last fetch (or refetch attempt). An
    /// async lock, held across a fetch: concurrent lookups of an unknown
    /// `kid` wait for that one fetch instead of each fetching.
    inner: tokio::sync::Mutex<Option<(Vec<Jwk>, SystemTime)>>,
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
            inner: tokio::sync::Mutex::new(None),
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
        let mut guard = self.inner.lock().await;
        if let Some((keys, fetched_at)) = &mut *guard {
            if let Some(k) = select(keys, kid, alg) {
                return Ok(k);
            }
            if now.duration_since(*fetched_at).unwrap_or_default() < self.min_refetch {
                return Err(IdTokenError::UnknownKey(kid.map(str::to_owned)).into());
            }
            // The attempt counts even if the fetch fails or is cancelled.
            *fetched_at = now;
        }
        let keys = fetch().await?;
        let found = select(&keys, kid, alg);
        *guard = Some((keys, now));
        found.ok_or_else(|| IdTokenError::UnknownKey(kid.map(str::to_owned)).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn rsa_jwk(kid: &str) -> Jwk {
        crate::signing_key::ensure_jwt_provider();
        let pem = crate::test_keys::rsa_pem();
        let enc = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&enc, jsonwebtoken::Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.into());
        jwk
    }

    #[tokio::test]
    async fn concurrent_and_failed_refetches_stay_rate_limited() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cache = JwksCache::default();
        let fetches = AtomicUsize::new(0);
        let (k0, k1) = (rsa_jwk("k0"), rsa_jwk("k1"));
        let rs256 = jsonwebtoken::Algorithm::RS256;
        let fetch = |keys: Vec<Jwk>, ok: bool| {
            fetches.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::task::yield_now().await;
                if ok {
                    Ok(keys)
                } else {
                    Err(Error::InvalidConfig {
                        field: "test",
                        message: "JWKS down".into(),
                    })
                }
            }
        };
        // Two tokens validated at once with a key not yet seen: one fetch.
        let (a, b) = tokio::join!(
            cache.key(Some("k1"), rs256, t0, || fetch(
                vec![k0.clone(), k1.clone()],
                true
            )),
            cache.key(Some("k1"), rs256, t0, || fetch(
                vec![k0.clone(), k1.clone()],
                true
            )),
        );
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // An unknown kid after the interval refetches; that refetch fails...
        let later = t0 + MIN_REFETCH_INTERVAL;
        assert!(
            cache
                .key(Some("k2"), rs256, later, || fetch(vec![], false))
                .await
                .is_err()
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // ...and still counts: no new fetch within the interval.
        let e = cache
            .key(Some("k2"), rs256, later + Duration::from_secs(1), || {
                fetch(vec![], false)
            })
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::IdToken(IdTokenError::UnknownKey(_))),
            "{e}"
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // The keys fetched before still serve.
        assert!(
            cache
                .key(Some("k0"), rs256, later, || fetch(vec![], true))
                .await
                .is_ok()
        );
    }
}
