//! Entry points for the fuzz targets in `fuzz/` and for the replay of their
//! committed corpora (`tests/fuzz_replay.rs`). **Not part of the public
//! API**: no stability promise. Each function runs its input through the
//! parsers the client runs on the provider's answers, and renders what
//! comes out, so that a panic anywhere on that path shows.

#[cfg(feature = "aws-lc-rs")]
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Map, Value};
use smartid_core::{HttpResponse, Secret};

use crate::id_token::{Expectations, check_claims, parse_jws, verify_with_key};
use crate::{Acr, PendingAuth, SignatureCheck, Tokens, VerifiedIdToken};

/// The HTTP statuses the first input byte of [`ciba_answer`] chooses from
/// (byte modulo length).
pub const STATUSES: [u16; 8] = [200, 201, 400, 401, 403, 429, 500, 503];

/// The issuer every answer is read for (the documented sample's).
pub const ISSUER: &str = "https://idp-dev.audkenni.is:443/sso/oauth2/realms/root/realms/audkenni";

/// The client id the id_tokens are checked against (the documented sample's).
pub const CLIENT_ID: &str = "exampleclient";

/// The time the id_tokens are checked at: the documented sample's `iat`.
pub const NOW: u64 = 1_575_010_961;

fn show<T: std::fmt::Debug, E: std::fmt::Display + std::fmt::Debug>(result: Result<T, E>) {
    match result {
        Ok(v) => {
            let _ = format!("{v:?}");
        }
        Err(e) => {
            let _ = format!("{e} {e:?}");
        }
    }
}

fn split_status(data: &[u8]) -> (u16, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (STATUSES[usize::from(*first) % STATUSES.len()], rest),
        None => (200, data),
    }
}

/// An answer of the bc-authorize or the token endpoint: the first byte
/// picks the status (`STATUSES`), the rest is the body (JSON, with a
/// `Retry-After`). Runs the bc-authorize parser, the token parser, the poll
/// classification (pending, slow down, retry, done), the provider error
/// document, the discovery document parser, and the ping notification
/// parser on the body.
pub fn ciba_answer(data: &[u8]) {
    let (status, body) = split_status(data);
    let response = HttpResponse::new(
        status,
        vec![
            (
                "Content-Type".into(),
                "application/json;charset=UTF-8".into(),
            ),
            ("Retry-After".into(), "3".into()),
        ],
        body.to_vec(),
        "https://idp.fuzz.invalid/bc-authorize",
    );
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    for acr in [Acr::SimAuth, Acr::SimSign, Acr::parse("app-sign")] {
        match PendingAuth::from_response(&response, ISSUER, now, acr, None, None, None) {
            Ok(p) => {
                let _ = (
                    p.auth_req_id(),
                    p.expires_at(),
                    p.interval(),
                    p.next_poll_at(),
                );
                let _ = format!("{p:?}");
            }
            Err(e) => {
                let _ = format!("{e} {e:?}");
            }
        }
    }
    match Tokens::from_response(&response) {
        Ok(t) => {
            let _ = (t.token_type(), t.expires_in(), t.unverified_id_token());
            let _ = t
                .to_secret_json()
                .map(|s| Tokens::from_secret_json(s.expose_secret().as_bytes()));
        }
        Err(e) => {
            let _ = format!("{e} {e:?}");
        }
    }
    let outcome = crate::poll::classify(Ok(response.clone()));
    let _ = format!("{outcome:?}");
    let _ = crate::provider_error::parse_error_document(&response).map(|e| format!("{e}"));
    show(crate::ProviderMetadata::from_discovery_document(
        body,
        ISSUER,
        "https://idp.fuzz.invalid/.well-known/openid-configuration",
    ));
    let token = Secret::new("fuzz-token");
    show(crate::parse_ping_notification(
        Some("Bearer fuzz-token"),
        body,
        &token,
    ));
    let text = String::from_utf8_lossy(body);
    let first = text.lines().next().unwrap_or_default();
    show(crate::parse_ping_notification(
        Some(first),
        b"{\"auth_req_id\":\"r\"}",
        &token,
    ));
}

/// The key id tokens are checked against: an RSA-2048 key generated once
/// per process (its private half never leaves the process).
#[cfg(feature = "aws-lc-rs")]
fn fixed_key() -> Option<&'static (jsonwebtoken::EncodingKey, Jwk)> {
    static KEY: OnceLock<Option<(jsonwebtoken::EncodingKey, Jwk)>> = OnceLock::new();
    KEY.get_or_init(|| {
        use aws_lc_rs::encoding::AsDer as _;
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).ok()?;
        let der = pair.as_der().ok()?;
        let pem = smartid_core::internal::pem_encode("PRIVATE KEY", der.as_ref());
        let enc =
            crate::signing_key::encoding_key(pem.as_bytes(), crate::JwsAlgorithm::Rs256).ok()?;
        let mut jwk = Jwk::from_encoding_key(&enc, Algorithm::RS256).ok()?;
        jwk.common.key_id = Some("fuzz".into());
        Some((enc, jwk))
    })
    .as_ref()
}

/// Without aws-lc-rs there is no key generation here: tokens go through
/// the claim checks only.
#[cfg(not(feature = "aws-lc-rs"))]
fn fixed_key() -> Option<&'static ((), Jwk)> {
    None
}

fn touch_verified(token: &VerifiedIdToken) {
    let _ = format!("{token:?}");
    let _ = token.check_certificate_names().map_err(|e| e.to_string());
    let _ = token
        .verify_signature(&SignatureCheck::without_chain_check())
        .map_err(|e| e.to_string());
}

/// An id_token (compact JWS): parsed, verified against the fixed key with
/// the claim checks, and, whatever its signature, its payload through the
/// claim checks and the typed claims (certificate, signature, kennitala)
/// alone, so that the fuzzer reaches them without forging signatures.
pub fn id_token(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let expect = Expectations {
        issuer: ISSUER,
        client_id: CLIENT_ID,
        leeway: Duration::from_secs(30),
        now: UNIX_EPOCH + Duration::from_secs(NOW),
        access_token: Some("fuzz-access-token"),
    };
    let Ok(jws) = parse_jws(&text).map_err(|e| format!("{e} {e:?}")) else {
        return;
    };
    if let Some((_, jwk)) = fixed_key()
        && let Ok(v) = verify_with_key(&jws, jwk, &expect)
    {
        touch_verified(&v);
    }
    if let Ok(claims) = serde_json::from_slice::<Map<String, Value>>(&jws.payload) {
        for access_token in [Some("fuzz-access-token"), None] {
            let expect = Expectations {
                access_token,
                ..expect.clone()
            };
            match check_claims(claims.clone(), jws.alg, &expect) {
                Ok(v) => touch_verified(&v),
                Err(e) => {
                    let _ = format!("{e} {e:?}");
                }
            }
        }
    }
}

/// A JWKS document (a 200 JSON answer): parsed as the client does, then
/// each key through key selection for every algorithm and through the
/// conversion to a verification key.
pub fn jwks(data: &[u8]) {
    let response = HttpResponse::new(
        200,
        vec![("Content-Type".into(), "application/json".into())],
        data.to_vec(),
        "https://idp.fuzz.invalid/jwks",
    );
    let keys = match crate::jwks::parse_jwks(&response) {
        Ok(keys) => keys,
        Err(e) => {
            let _ = format!("{e} {e:?}");
            return;
        }
    };
    #[cfg(feature = "aws-lc-rs")]
    crate::signing_key::ensure_jwt_provider();
    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
    ] {
        let _ = crate::jwks::select(&keys, None, alg);
        for key in &keys {
            let _ = crate::jwks::select(&keys, key.common.key_id.as_deref(), alg);
        }
    }
    #[cfg(feature = "aws-lc-rs")]
    for key in &keys {
        if let Ok(decoding) = jsonwebtoken::DecodingKey::from_jwk(key) {
            let _ = jsonwebtoken::crypto::verify("c2ln", b"a.b", &decoding, Algorithm::RS256);
            let _ = jsonwebtoken::crypto::verify("c2ln", b"a.b", &decoding, Algorithm::ES256);
        }
    }
}

/// The times CMS signatures are checked at: the documented sample's and
/// one inside the validity of the certificates the test fixtures hold
/// (2030-03-17).
pub const CMS_TIMES: [u64; 2] = [NOW, 1_900_000_000];

/// A DER CMS SignedData: the client's reader and signature verification
/// ([`crate::verify_cms`]) without a chain check at each of [`CMS_TIMES`],
/// and with the input's own certificates as trust anchors.
pub fn cms_signed_data(data: &[u8]) {
    for at in CMS_TIMES.map(|t| UNIX_EPOCH + Duration::from_secs(t)) {
        match crate::verify_cms(data, &SignatureCheck::without_chain_check().at(at)) {
            Ok(v) => {
                let _ = format!("{v:?}");
                let _ = v.signed_text();
            }
            Err(e) => {
                let _ = format!("{e} {e:?}");
            }
        }
    }
    if let Ok(cms) = crate::cms::verify_signed_data(data) {
        let anchors: Vec<smartid_core::Certificate> = cms
            .other_certificates
            .iter()
            .filter_map(|der| smartid_core::Certificate::from_der(der, "fuzz").ok())
            .collect();
        let at = UNIX_EPOCH + Duration::from_secs(CMS_TIMES[1]);
        show(crate::verify_cms(
            data,
            &SignatureCheck::with_trust_anchors(anchors).at(at),
        ));
    }
}
