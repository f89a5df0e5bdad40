//! OpenID Connect CIBA (Client-Initiated Backchannel Authentication) for
//! Audkenni, Iceland's eID: ask a person to authenticate or sign on their
//! phone, wait for the answer, and get back verified facts: who signed
//! (name, kennitala, certificate) and exactly what was signed.
//!
//! ```
//! // One dependency: everything below comes from audkenni_ciba (smartid-core
//! // types are re-exported).
//! use audkenni_ciba::{
//!     Acr, AuthRequest, CibaClient, HttpSettings, JwsAlgorithm, RequestSigningKey, Secret,
//!     SignatureCheck, TrustRoots, WaitOptions,
//! };
//! # use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig, hints};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sim = AudkenniSimulator::start(SimConfig::with_answer_after(std::time::Duration::from_secs(1)).interval(1)).await?;
//! # let (issuer, client_id, secret, key_pem) = (sim.issuer(), sim.client_id(), sim.client_secret(), sim.client_key_pem());
//! # let (tls_roots, signature_roots, phone) = (sim.tls_trust_store()?, sim.signature_trust_anchors(), hints::APPROVES);
//! let client = CibaClient::builder(issuer, client_id) // discovery below the issuer
//!     .client_secret(Secret::new(secret))
//!     .signing_key(RequestSigningKey::from_pem(key_pem.as_bytes(), JwsAlgorithm::Rs256)?)
//!     .http_settings(HttpSettings::new().trust(TrustRoots::Only(tls_roots)))
//!     .build()
//!     .await?;
//!
//! let request = AuthRequest::new(phone, Acr::SimSign).binding_message("Sign the lease");
//! let mut pending = client.start(&request).await?; // serializable: finish anywhere
//! let done = client.finish(&mut pending, &WaitOptions::new()).await?; // polls, verifies the id_token
//! assert!(done.id_token.signature.is_some()); // sim-sign: a CMS over the text
//!
//! let signed = done.id_token.verify_signature(
//!     &SignatureCheck::with_trust_anchors(signature_roots).expect_text("Sign the lease"),
//! )?;
//! println!("{} ({}) signed {:?}", signed.name, signed.national_register_id, signed.signed_text());
//! # Ok(())
//! # }
//! ```
//!
//! # Overview
//! - [`CibaClient`]: discovery (the issuer is kept exactly as published,
//!   `:443` included), signed request objects (RS256 default, PS256,
//!   ES256), client authentication (client_secret_basic as Audkenni
//!   expects, optionally form-urlencoded, client_secret_post,
//!   private_key_jwt), [`CibaClient::start`] and the poll loop
//!   [`CibaClient::wait`]: never earlier than the interval, +5 s per
//!   `slow_down`, `Retry-After` honoured, bounded retries of transport
//!   errors, 5xx and 429 per the [`WaitOptions`]' [`RetryPolicy`], stops at
//!   `expires_in` or a deadline, cancel-safe. Ping mode is supported as an option
//!   ([`AuthRequest::client_notification_token`],
//!   [`parse_ping_notification`], [`CibaClient::fetch_tokens`]).
//! - Replicas: started flows are kept in a [`FlowStore`]
//!   ([`CibaClientBuilder::store`]; default a [`MemoryStore`] of the
//!   client), so any replica can finish one ([`CibaClient::finish_by_id`],
//!   [`CibaClient::resume`]); a [`Poller`] per replica
//!   ([`CibaClient::poller`]) polls due flows under a lease, exactly on the
//!   interval schedule whatever the number of replicas; outcomes are
//!   stored once (tokens only sealed with a [`SealingKey`]) and delivered
//!   to whichever replica waits; a ping reaching any replica completes its
//!   flow ([`CibaClient::handle_ping`]).
//! - One network seam and one clock, from smartid-core (re-exported here):
//!   every request goes through [`CibaClientBuilder::http_sender`] (default:
//!   the [`HttpClient`] built from [`CibaClientBuilder::http_settings`]),
//!   every time and sleep through [`CibaClientBuilder::clock`] (default:
//!   [`SystemClock`]), so the whole flow runs on scripted answers and a
//!   manual clock in tests.
//! - [`AuthRequest`]: login hint, [`Acr`] (every Audkenni value plus
//!   `Other`), `RELATEDPARTY` scope, binding message (checked: 60
//!   characters, one line in app modes), [`BindingContent`] (base64
//!   SHA-256/SHA-512), `nexus_url` (required for `nexus-sign`).
//!   [`verification_code`] computes the app's four-digit code.
//! - [`VerifiedIdToken`]: signature from the cached JWKS (refetched once on
//!   an unknown `kid`, rate-limited), algorithm allowlist (never `none` or
//!   HMAC), exact `iss`, `aud`, `azp`, `exp`/`iat` with leeway, `at_hash`;
//!   typed Audkenni claims plus all raw claims.
//! - Signatures: [`VerifiedIdToken::verify_signature`] (CMS SignedData:
//!   messageDigest, signature over the signed attributes, signer
//!   certificate equals the `certificate` claim, chain to your trust
//!   anchors at a given time, CN = `name`, serialNumber =
//!   `nationalRegisterId`, content equals what you asked to sign) and
//!   [`VerifiedIdToken::verify_pkcs1_signature`] for `sim-sign-pkcs1`.
//!   [`verify_cms`] verifies a stored CMS on its own. The content is
//!   checked in the encoding you name ([`TextEncoding`], UTF-16BE by
//!   default), never guessed; [`AuthRequest::signs`] records what must be
//!   signed and [`CibaClient::finish_and_verify_signature`] checks it.
//!   keyUsage, an [`EkuPolicy`] and revocation ([`RevocationStatus`], from a
//!   CRL you give or fetched from the distribution point) are checked.
//!   [`Kennitala`] checks the national id checksum.
//!
//! # Errors
//! Every fallible function returns [`Error`]: [`Error::InvalidConfig`] lists
//! every configuration problem at once, [`Error::InvalidResponse`] an answer
//! that could not be read, [`Error::Http`] transport failures, and
//! [`Error::DeadlineReached`] a passed deadline (the flow stays resumable),
//! [`Error::Store`] a failure of the flow store.
//! Provider error documents are
//! [`Error::Server`] with a typed [`ErrorCode`], the description, and
//! Audkenni's own code read from it ([`ProviderCode`]: `mssp_*`,
//! `akreg_401`, `audkenni_*`, `InvalidClientId`, each with its meaning and
//! what to do);
//! `authorization_pending` is never an error. Rejected tokens and
//! signatures say which check failed ([`IdTokenError`], [`SignatureError`]).
//! No message carries a secret.
#![deny(missing_docs)]

mod acr;
mod binding;
mod chain;
mod client;
mod client_auth;
mod cms;
mod crl;
mod discovery;
mod driver;
mod error;
mod flow;
mod id_token;
mod jwks;
mod kennitala;
mod pending;
mod ping;
mod poll;
mod poller;
mod provider_code;
mod provider_error;
mod request;
mod response;
mod signature;
mod signing_key;
#[cfg(test)]
mod test_keys;
mod tokens;
mod verification_code;

pub use acr::Acr;
pub use binding::{
    BindingContent, HashAlgorithm, MAX_APP_BINDING_MESSAGE, MAX_APP_BINDING_MESSAGE_LONG,
};
pub use client::{CIBA_GRANT_TYPE, CibaClient, CibaClientBuilder, Completed};
pub use client_auth::ClientAuthMethod;
pub use discovery::ProviderMetadata;
pub use error::{Error, IdTokenError, Result, SignatureError};
pub use flow::{FLOW_FORMAT, FLOW_NAMESPACE};
pub use id_token::VerifiedIdToken;
pub use kennitala::Kennitala;
pub use pending::{DEFAULT_INTERVAL, PendingAuth};
pub use ping::parse_ping_notification;
pub use poller::{Poller, PollerHandle, PollerReport};
pub use provider_code::ProviderCode;
pub use provider_error::{ErrorCode, ProviderError};
pub use request::{AuthRequest, BASE_SCOPE};
pub use signature::{
    ChainStatus, EkuPolicy, RevocationStatus, SignatureCheck, SignedContent, SignedPayload,
    TextEncoding, VerifiedSignature, verify_cms, verify_pkcs1,
};
pub use signing_key::{JwsAlgorithm, RequestSigningKey};
pub use tokens::Tokens;
pub use verification_code::verification_code;

pub use smartid_core;
pub use smartid_core::store::{FlowStore, MemoryStore, SealingKey, StoreError};
pub use smartid_core::{
    Certificate, ClientIdentity, Clock, ConfigProblem, DangerousHttpSettings, HttpClient,
    HttpRequest, HttpResponse, HttpSend, HttpSettings, Method, ProxySettings, RetryPolicy,
    SLOW_DOWN_STEP, Secret, SendFuture, Sleep, SystemClock, TrustRoots, TrustStore,
    UnexpectedAnswer, WaitOptions,
};

/// Entry points of the fuzz targets and of their corpus replay tests.
/// **Not part of the public API**: no stability promise.
#[doc(hidden)]
pub mod fuzzing;
