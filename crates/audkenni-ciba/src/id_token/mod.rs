//! id_token validation (OIDC Core 3.1.3.7 as it applies to CIBA) and the
//! verified result with Audkenni's claims.
//!
//! - `jws`: the compact JWS, its header and the algorithm allowlist;
//! - `validate`: the signature and the claim checks (issuer, audience,
//!   azp, times, `at_hash`);
//! - `claims`: the verified token with Audkenni's typed claims, and the
//!   signature checks tied to them.

mod claims;
mod jws;
mod validate;

#[cfg(test)]
mod tests;

pub use claims::VerifiedIdToken;
pub(crate) use jws::decode_b64;
/// For the fuzzing entry points.
pub(crate) use jws::parse_jws;
pub(crate) use validate::{Expectations, validate};
pub(crate) use validate::{check_claims, verify_with_key};
