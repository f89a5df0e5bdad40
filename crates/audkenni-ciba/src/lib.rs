#![doc = include_str!("../README.md")]
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
#![forbid(unsafe_code)]

mod acr;
mod binding;
mod chain;
mod client;
mod client_auth;
mod cms;
mod crl;
mod crypto;
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
