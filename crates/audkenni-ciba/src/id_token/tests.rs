//! Tests of id_token validation.

use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Map, Value};

use super::claims::*;
use super::jws::*;
use super::validate::*;
use crate::acr::Acr;
use crate::error::{Error, IdTokenError, SignatureError};
use crate::signature::SignatureCheck;
use crate::signing_key::ensure_jwt_provider;
use crate::test_keys::rsa_pem;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

const ISS: &str = "https://idp.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni";
const NOW: u64 = 1_700_000_000;

fn key() -> (EncodingKey, Jwk) {
    ensure_jwt_provider();
    let enc =
        crate::signing_key::encoding_key(rsa_pem().as_bytes(), crate::JwsAlgorithm::Rs256).unwrap();
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
    let json = include_str!("../../tests/fixtures/seed-id-token-claims.json");
    let mut claims: Map<String, Value> = serde_json::from_str(json).unwrap();
    let cms = STANDARD
        .decode(claims["signature"].as_str().unwrap())
        .unwrap();
    let signer = crate::cms::verify_signed_data(&cms)
        .unwrap()
        .signer
        .der()
        .to_vec();
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

fn es256_key(kid: &str) -> (EncodingKey, Jwk) {
    ensure_jwt_provider();
    let enc = crate::signing_key::encoding_key(
        crate::test_keys::ec_pem().as_bytes(),
        crate::JwsAlgorithm::Es256,
    )
    .unwrap();
    let mut jwk = Jwk::from_encoding_key(&enc, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some(kid.into());
    (enc, jwk)
}

fn sign_with(claims: &Value, enc: &EncodingKey, alg: Algorithm, kid: &str) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, claims, enc).unwrap()
}

#[test]
fn the_cached_verification_key_accepts_what_jsonwebtoken_accepts() {
    // ES256 and RS256, good and tampered, each checked against
    // jsonwebtoken's own verifier on the same key.
    let (ec_enc, ec_jwk) = es256_key("e1");
    let (rsa_enc, rsa_jwk) = key();
    for (enc, jwk, alg) in [
        (&ec_enc, &ec_jwk, Algorithm::ES256),
        (&rsa_enc, &rsa_jwk, Algorithm::RS256),
        (&rsa_enc, &rsa_jwk, Algorithm::PS256),
    ] {
        let token = sign_with(&claims(), enc, alg, "k");
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut bad = sig.to_owned().into_bytes();
        bad[3] = if bad[3] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        let vk = crate::jwks::VerifyingKey::new(jwk.clone());
        let theirs = |sig: &str, alg| {
            let decoding = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
            jsonwebtoken::crypto::verify(sig, input.as_bytes(), &decoding, alg).unwrap_or(false)
        };
        for other in [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::ES384,
        ] {
            for s in [sig, bad.as_str(), "", "!!"] {
                assert_eq!(
                    vk.verify(other, input.as_bytes(), s),
                    theirs(s, other),
                    "{alg:?} token checked as {other:?}"
                );
            }
        }
        assert!(vk.verify(alg, input.as_bytes(), sig), "{alg:?}");
        // Twice: the second check uses the parsed key.
        assert!(vk.verify(alg, input.as_bytes(), sig), "{alg:?}");
        assert!(!vk.verify(alg, input.as_bytes(), &bad), "{alg:?}");
    }
}

#[tokio::test]
async fn a_new_key_under_a_known_kid_is_used_after_a_refetch() {
    // The parsed keys belong to the JWK they came from: when a refetch
    // brings another key under the same kid, a token signed by the old key
    // no longer verifies, and one signed by the new key does.
    let (old_enc, old_jwk) = es256_key("k1");
    let (new_enc, new_jwk) = es256_key("k1");
    let (k2_enc, k2_jwk) = es256_key("k2");
    let cache = crate::jwks::JwksCache::default();
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let later = now + crate::jwks::MIN_REFETCH_INTERVAL;
    let run = |token: String, at, keys: Vec<Jwk>| {
        let cache = &cache;
        async move {
            let expect = Expectations {
                now: at,
                ..expect()
            };
            validate(&token, &expect, |kid, alg| async move {
                cache
                    .key(kid.as_deref(), alg, at, || async move { Ok(keys) })
                    .await
            })
            .await
        }
    };
    let t_old = sign_with(&claims(), &old_enc, Algorithm::ES256, "k1");
    assert!(run(t_old.clone(), now, vec![old_jwk]).await.is_ok());
    assert!(run(t_old.clone(), now, vec![]).await.is_ok(), "cached");
    // An unknown kid after the interval refetches: k1 is now another key.
    let t_k2 = sign_with(&claims(), &k2_enc, Algorithm::ES256, "k2");
    assert!(run(t_k2, later, vec![new_jwk, k2_jwk]).await.is_ok());
    assert!(matches!(
        run(t_old, later, vec![]).await.unwrap_err(),
        Error::IdToken(IdTokenError::BadSignature)
    ));
    let t_new = sign_with(&claims(), &new_enc, Algorithm::ES256, "k1");
    assert!(run(t_new, later, vec![]).await.is_ok());
}

#[test]
fn the_certificate_claim_is_read_plain_wrapped_and_as_pem() {
    let plain = seed_token(|_| {});
    let der = plain.certificate.as_ref().unwrap().der().to_vec();
    let b64 = STANDARD.encode(&der);
    let wrapped: String = b64
        .as_bytes()
        .chunks(64)
        .map(|l| format!("{}\r\n", std::str::from_utf8(l).unwrap()))
        .collect();
    let pem = format!("-----BEGIN CERTIFICATE-----\n{wrapped}-----END CERTIFICATE-----\n");
    for form in [wrapped.clone(), pem, format!("  {b64}\t")] {
        let token = seed_token(|c| {
            c.insert("certificate".into(), Value::String(form.clone()));
        });
        assert_eq!(token.certificate.unwrap().der(), &der[..], "{form:?}");
    }
    let expect = Expectations {
        issuer: "https://idp-dev.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni",
        client_id: "exampleclient",
        leeway: Duration::from_secs(30),
        now: UNIX_EPOCH + Duration::from_secs(1_575_010_961),
        access_token: None,
    };
    let mut claims = plain.claims.clone();
    claims.insert("certificate".into(), json!(format!("{b64}*")));
    assert!(matches!(
        check_claims(claims, Algorithm::RS256, &expect),
        Err(IdTokenError::Malformed(m)) if m.contains("certificate claim")
    ));
}
