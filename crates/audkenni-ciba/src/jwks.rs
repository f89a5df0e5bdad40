//! The provider's JWKS, cached; refetched on an unknown `kid` at most once
//! per refetch interval (failed attempts count), one fetch at a time, no
//! lock held across the fetch.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use crate::crypto::PreparedKey;
use crate::crypto::backend::signature;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use smartid_core::HttpResponse;

use crate::error::{Error, IdTokenError};
use crate::response::{check_json, invalid};

/// The default shortest time between two JWKS fetches triggered by unknown keys.
pub(crate) const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// The cache. The state sits behind a plain mutex that is never held
/// across an await: the fetch runs outside it. One fetch is in flight at a
/// time; the others wait for its result (a [`tokio::sync::Notify`]) and
/// then use the cache.
#[derive(Debug)]
pub(crate) struct JwksCache {
    state: std::sync::Mutex<State>,
    done: tokio::sync::Notify,
    min_refetch: Duration,
}

/// A JWKS key and its verification keys, parsed the first time
/// each algorithm uses it. The parsed keys live with the JWK they were made
/// from: a refetched JWKS brings new entries, so a cached key always has
/// both the `kid` and the key bytes of the JWK it is used for.
pub(crate) struct VerifyingKey {
    jwk: Jwk,
    /// By [`alg_index`]; `None` when the JWK is no key for that algorithm.
    parsed: [OnceLock<Option<PreparedKey>>; 8],
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.jwk.common.key_id)
            .finish_non_exhaustive()
    }
}

/// The slot of an id_token algorithm (the allowlist of `parse_jws`).
fn alg_index(alg: Algorithm) -> Option<usize> {
    Some(match alg {
        Algorithm::RS256 => 0,
        Algorithm::RS384 => 1,
        Algorithm::RS512 => 2,
        Algorithm::PS256 => 3,
        Algorithm::PS384 => 4,
        Algorithm::PS512 => 5,
        Algorithm::ES256 => 6,
        Algorithm::ES384 => 7,
        _ => return None,
    })
}

impl VerifyingKey {
    pub(crate) fn new(jwk: Jwk) -> Self {
        Self {
            jwk,
            parsed: Default::default(),
        }
    }

    /// The JWK as published.
    pub(crate) fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Whether `signature` (base64url, unpadded) is a valid `alg` signature
    /// of `message` with this key. Accepts what jsonwebtoken's aws-lc-rs
    /// verifier accepts: the same key construction (RSA from n and e, EC
    /// from the uncompressed point x, y), the same algorithms (RSA 2048 to
    /// 8192 bits, fixed-size ECDSA signatures).
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &str) -> bool {
        let Some(slot) = alg_index(alg).and_then(|i| self.parsed.get(i)) else {
            return false;
        };
        let Some(key) = slot.get_or_init(|| parse_key(&self.jwk, alg)) else {
            return false;
        };
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        key.verify(message, &signature)
    }
}

/// The aws-lc-rs key of `jwk` for `alg`, as jsonwebtoken's aws-lc-rs
/// provider builds it for each verification.
fn parse_key(jwk: &Jwk, alg: Algorithm) -> Option<PreparedKey> {
    let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).ok();
    match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(p), _) => {
            let params: &'static signature::RsaParameters = match alg {
                Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
                _ => return None,
            };
            let (n, e) = (b64(&p.n)?, b64(&p.e)?);
            PreparedKey::rsa(n, e, params)
        }
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256 | Algorithm::ES384) => {
            let (x, y) = (b64(&p.x)?, b64(&p.y)?);
            let mut point = Vec::with_capacity(1 + x.len() + y.len());
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let algorithm = if alg == Algorithm::ES256 {
                &signature::ECDSA_P256_SHA256_FIXED
            } else {
                &signature::ECDSA_P384_SHA384_FIXED
            };
            PreparedKey::ec(algorithm, point)
        }
        _ => None,
    }
}

#[derive(Debug, Default)]
struct State {
    keys: Option<Vec<Arc<VerifyingKey>>>,
    /// The time of the last fetch attempt, successful or not.
    last_attempt: Option<SystemTime>,
    /// Why the last attempt failed, if it did.
    last_failure: Option<String>,
    in_flight: bool,
}

/// Clears `in_flight` and wakes the waiters even if the fetching future is dropped.
struct InFlight<'a>(&'a JwksCache);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.state.lock() {
            s.in_flight = false;
        }
        self.0.done.notify_waiters();
    }
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
        && !same_algorithm(ka, alg)
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

/// Whether a JWK's `alg` names `alg` (the names are the same).
fn same_algorithm(ka: jsonwebtoken::jwk::KeyAlgorithm, alg: Algorithm) -> bool {
    use jsonwebtoken::jwk::KeyAlgorithm as K;
    match (ka, alg) {
        (K::RS256, Algorithm::RS256)
        | (K::RS384, Algorithm::RS384)
        | (K::RS512, Algorithm::RS512)
        | (K::PS256, Algorithm::PS256)
        | (K::PS384, Algorithm::PS384)
        | (K::PS512, Algorithm::PS512)
        | (K::ES256, Algorithm::ES256)
        | (K::ES384, Algorithm::ES384) => true,
        // Outside the id_token allowlist: by name, as before.
        _ if alg_index(alg).is_none() => format!("{ka:?}") == format!("{alg:?}"),
        _ => false,
    }
}

/// The key for `kid` (or, without a kid, the single key fit for `alg`).
pub(crate) fn select(keys: &[Jwk], kid: Option<&str>, alg: jsonwebtoken::Algorithm) -> Option<Jwk> {
    select_in(keys, |k| k, kid, alg).cloned()
}

/// [`select`] over any list holding JWKs.
fn select_in<'a, K>(
    keys: &'a [K],
    jwk: impl Fn(&K) -> &Jwk,
    kid: Option<&str>,
    alg: jsonwebtoken::Algorithm,
) -> Option<&'a K> {
    let mut fit = keys.iter().filter(|k| family_matches(jwk(k), alg));
    match kid {
        Some(kid) => fit.find(|k| jwk(k).common.key_id.as_deref() == Some(kid)),
        None => match (fit.next(), fit.next()) {
            (Some(k), None) => Some(k),
            _ => None,
        },
    }
}

fn select_cached(
    keys: &[Arc<VerifyingKey>],
    kid: Option<&str>,
    alg: Algorithm,
) -> Option<Arc<VerifyingKey>> {
    select_in(keys, |k| k.jwk(), kid, alg).cloned()
}

impl JwksCache {
    pub(crate) fn new(min_refetch: Duration) -> Self {
        Self {
            state: std::sync::Mutex::new(State::default()),
            done: tokio::sync::Notify::new(),
            min_refetch,
        }
    }

    /// Finds the key, fetching the JWKS when nothing is cached or when the
    /// key is unknown, and the last attempt (failed ones included) is older
    /// than the refetch interval.
    pub(crate) async fn key<F, Fut>(
        &self,
        kid: Option<&str>,
        alg: jsonwebtoken::Algorithm,
        now: SystemTime,
        fetch: F,
    ) -> Result<Arc<VerifyingKey>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<Jwk>, Error>>,
    {
        let unknown = || IdTokenError::UnknownKey(kid.map(str::to_owned)).into();
        let mut waited = false;
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            {
                let mut s = self.lock()?;
                if let Some(k) = s
                    .keys
                    .as_deref()
                    .and_then(|keys| select_cached(keys, kid, alg))
                {
                    return Ok(k);
                }
                if !s.in_flight {
                    let recent = s.last_attempt.is_some_and(|t| {
                        now.duration_since(t).unwrap_or_default() < self.min_refetch
                    });
                    if recent || waited {
                        return Err(match &s.last_failure {
                            Some(why) => IdTokenError::JwksUnavailable(why.clone()).into(),
                            None => unknown(),
                        });
                    }
                    // This caller fetches; the attempt counts even if it fails.
                    s.in_flight = true;
                    s.last_attempt = Some(now);
                    break;
                }
                // Another fetch is in flight: wait for it (registered before unlocking).
                notified.as_mut().enable();
            }
            notified.await;
            waited = true;
        }
        let guard = InFlight(self);
        let result = fetch().await;
        let found = {
            let mut s = self.lock()?;
            match result {
                Ok(keys) => {
                    let keys: Vec<Arc<VerifyingKey>> = keys
                        .into_iter()
                        .map(|k| Arc::new(VerifyingKey::new(k)))
                        .collect();
                    let found = select_cached(&keys, kid, alg);
                    s.keys = Some(keys);
                    s.last_failure = None;
                    Ok(found)
                }
                Err(e) => {
                    s.last_failure = Some(e.to_string());
                    Err(e)
                }
            }
        };
        drop(guard);
        found?.ok_or_else(unknown)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, Error> {
        self.state.lock().map_err(|_| {
            IdTokenError::JwksUnavailable("the JWKS cache lock was poisoned".into()).into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn rsa_jwk(kid: &str) -> Jwk {
        crate::signing_key::ensure_jwt_provider();
        let pem = crate::test_keys::rsa_pem();
        let enc =
            crate::signing_key::encoding_key(pem.as_bytes(), crate::JwsAlgorithm::Rs256).unwrap();
        let mut jwk = Jwk::from_encoding_key(&enc, jsonwebtoken::Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.into());
        jwk
    }

    fn down() -> Error {
        Error::config("test", "JWKS down")
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
                if ok { Ok(keys) } else { Err(down()) }
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
            matches!(e, Error::IdToken(IdTokenError::JwksUnavailable(_))),
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

    #[tokio::test]
    async fn a_failed_first_fetch_is_rate_limited_too() {
        // Nothing cached and the first fetch fails: before, every token
        // validation fetched again. Now the attempt counts.
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cache = JwksCache::default();
        let fetches = AtomicUsize::new(0);
        let rs256 = jsonwebtoken::Algorithm::RS256;
        let failing = || {
            fetches.fetch_add(1, Ordering::SeqCst);
            async { Err::<Vec<Jwk>, _>(down()) }
        };
        assert!(cache.key(Some("k0"), rs256, t0, failing).await.is_err());
        for i in 1..5 {
            let e = cache
                .key(Some("k0"), rs256, t0 + Duration::from_secs(i), failing)
                .await
                .unwrap_err();
            assert!(e.to_string().contains("JWKS down"), "{e}");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // After the interval it is tried again.
        let _ = cache
            .key(Some("k0"), rs256, t0 + MIN_REFETCH_INTERVAL, failing)
            .await;
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn no_lock_is_held_across_the_fetch_and_waiters_use_its_result() {
        // While a fetch hangs, a lookup of a cached key answers at once
        // (the old cache held its lock across the fetch), and a lookup of
        // the same unknown key waits for that one fetch instead of fetching.
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cache = std::sync::Arc::new(JwksCache::default());
        let rs256 = jsonwebtoken::Algorithm::RS256;
        let (k0, k1) = (rsa_jwk("k0"), rsa_jwk("k1"));
        let seed = vec![k0.clone()];
        cache
            .key(Some("k0"), rs256, t0, || async move { Ok(seed) })
            .await
            .unwrap();
        let later = t0 + MIN_REFETCH_INTERVAL;
        let (release, wait_release) = tokio::sync::oneshot::channel::<()>();
        let fetches = std::sync::Arc::new(AtomicUsize::new(0));
        let slow = {
            let (cache, fetches, keys) =
                (cache.clone(), fetches.clone(), vec![k0.clone(), k1.clone()]);
            tokio::spawn(async move {
                cache
                    .key(Some("k1"), rs256, later, || async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        let _ = wait_release.await;
                        Ok(keys)
                    })
                    .await
            })
        };
        while fetches.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let cached = tokio::time::timeout(
            Duration::from_secs(5),
            cache.key(Some("k0"), rs256, later, || async { Err(down()) }),
        )
        .await
        .expect("a cached key must not wait for a fetch in flight");
        assert!(cached.is_ok());
        let waiter = {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tokio::spawn(async move {
                cache
                    .key(Some("k1"), rs256, later, || async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        Err(down())
                    })
                    .await
            })
        };
        tokio::task::yield_now().await;
        let _ = release.send(());
        assert!(slow.await.unwrap().is_ok());
        assert!(
            waiter.await.unwrap().is_ok(),
            "the waiter uses the fetched keys"
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }
}
