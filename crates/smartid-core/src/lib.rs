#![doc = include_str!("../README.md")]
//!
//! # Overview
//! - [`Keystore`] reads PEM, DER `.cer`, PKCS#12 (OpenSSL 3 and legacy,
//!   keytool, `-nokeys`, the password-less JDK 18+ `cacerts`) and Java JKS,
//!   recognised by content. [`TrustStore`] takes its trusted certificates (an
//!   empty store is an error) and [`TrustRoots`] says whether they replace or
//!   extend the platform's roots.
//! - [`ClientIdentity`] is a private key with its chain, checked to match.
//! - [`HttpSettings`] holds timeouts, proxy, trust and identity;
//!   [`HttpClient`] is the one place where TLS is configured (TLS 1.2
//!   minimum, HTTPS required unless [`HttpSettings::dangerous`] allows plain
//!   HTTP for local tests).
//! - [`Secret`] redacts itself in `Debug` and is zeroized on drop.
//!
//! # Errors
//! Every fallible function returns [`Error`], whose variants say what to
//! change and name the file or URL (never a secret).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cert;
mod cert_parse;
mod crypto;
mod error;
mod fs;
mod http;
mod identity;
mod keystore;
mod mask;
mod problems;
mod secret;
pub mod store;
mod trust;
mod vocabulary;
mod wait;

pub use cert::Certificate;
pub use error::{Error, Result};
pub use fs::read_regular_file;
pub use http::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_POOL_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, DangerousHttpSettings, HttpClient, HttpRequest,
    HttpResponse, HttpSend, HttpSettings, Method, ProxySettings, SendFuture,
};
pub use identity::ClientIdentity;
pub use keystore::{
    IdentityEntry, Integrity, Keystore, KeystoreEntry, KeystoreFormat, KeystoreUpdate,
    KeystoreUpdateReport,
};
pub use mask::mask_identifier;
pub use problems::{ConfigProblem, UnexpectedAnswer};
pub use secret::{Secret, SecretBytes, expose_secret_serde};
pub use trust::{TrustRoots, TrustStore};
pub use wait::{
    Clock, RetryPolicy, SLOW_DOWN_STEP, Sleep, SystemClock, WaitOptions, deadline_after,
    from_unix_seconds, poll_delay, unix_seconds,
};

/// Helpers the smartid crates and their simulators share. **Not part of the
/// public API**: no stability promise, may change in any release.
#[doc(hidden)]
pub mod internal {
    pub use crate::cert::{
        CertificateFields, certificate_with_fields, check_name, directory_string, pem_encode,
    };
    pub use crate::crypto::fill_random;
    pub use crate::http::{body_snippet, body_snippet_without, redact_url};
    pub use crate::keystore::der_tlv;
    /// The bounded, namespace-resolving XML reader for SOAP.
    pub mod xml {
        pub use crate::xml_reader::*;
    }
    pub use serde;
}

mod xml_reader;

/// Entry points of the fuzz targets and of their corpus replay tests.
/// **Not part of the public API**: no stability promise.
#[doc(hidden)]
pub mod fuzzing;
