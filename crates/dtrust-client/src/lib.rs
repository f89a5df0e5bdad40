#![doc = include_str!("../README.md")]
//!
//! # Overview
//! - [`DtrustConfig`] holds the transport ([`Transport::Rest`] with a base
//!   URL, or the legacy [`Transport::Soap`] with endpoint, namespace URI and
//!   local part), the client PKCS#12 (old RC2/3DES files work), the D-Trust
//!   server certificate, the [`HttpSettings`] (proxy, timeouts), an
//!   optional custom sender ([`DtrustConfigBuilder::http_sender`]), the connector's
//!   [`CertificateTemplates`], verified e-mail domains and the revocation
//!   [`PasswordPolicy`]. [`DtrustConfigBuilder::build`] lists every problem at once.
//! - [`DtrustClient`] has the same operations whatever the transport. The
//!   wire mapping (paths, fields, envelopes) is private and documented in
//!   `docs/dtrust-wire.md`; D-Trust publishes no interface description.
//! - Orders are checked before sending ([`check_order`]): a CN containing
//!   `CN=`, a request kind that does not match the CSR, a password failing
//!   the policy, an e-mail outside the verified domains
//!   ([`email_domain_matches`]: `*.example.com` covers the names below
//!   `example.com`, not `example.com` itself).
//! - New orders never get a derived revocation password: an order without
//!   one is refused ([`Error::RevocationPasswordMissing`]), or, with
//!   [`MissingRevocationPassword::Generate`], gets a random one returned in
//!   [`Submission::generated_revocation_password`] for the caller to store.
//! - Issuance can take hours: [`DtrustClient::submit`] returns a
//!   serializable [`PendingOrder`] at once; [`DtrustClient::wait_for_issuance`]
//!   polls with a deadline ([`WaitOptions`]), honours the server's hints,
//!   retries transient failures with a bounded backoff ([`RetryPolicy`]), is
//!   cancel-safe and uses the client's [`Clock`]
//!   ([`DtrustConfigBuilder::clock`]). Every order carries a client reference;
//!   after a lost answer the client adopts only a request that echoes it
//!   exactly, and otherwise stops with [`Error::SubmitOutcomeUnknown`]
//!   instead of guessing or re-ordering.
//! - For services with several replicas, [`OrderJournal`] keeps orders in a
//!   [`smartid_core::store::FlowStore`] (in memory or PostgreSQL): written
//!   before submit, the request id after, resumed by another replica by
//!   looking the reference up at D-Trust (never by ordering again), the
//!   outcome written once; secrets returned to the caller only or sealed
//!   ([`SecretsInJournal`]). See `docs/replicas/dtrust.md`.
//! - [`DtrustClient::fetch_certificate`] verifies every signature along
//!   the returned chain and, when configured
//!   ([`DtrustConfigBuilder::issuing_ca_file`]), that it ends at a D-Trust
//!   CA, and that the certificate is what was ordered: the CSR's public key
//!   and the ordered subject ([`Error::NotAsOrdered`] otherwise).
//! - Helpers: [`GeneratedCsr`] (RSA 2048/3072/4096, P-256, P-384, DN with
//!   organisationIdentifier, e-mail SANs), [`generate_revocation_password`],
//!   and, for revoking old certificates only,
//!   [`DtrustClient::revoke_with_legacy_cn_password`].
//!
//! # Errors
//! [`Error`]: D-Trust's codes become [`ServerError`] with a
//! [`ServerErrorKind`], the likely cause and the remedy; unknown codes keep
//! the code and the raw body. No message carries a password or key.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod binding;
mod checks;
mod client;
mod config;
mod csr;
mod domains;
mod error;
mod journal;
mod order;
mod password;
mod product;
mod server_error;
mod status;
mod templates;
mod verify;
mod wait;
mod wire;
mod x509;

pub use checks::check_order;
pub use client::DtrustClient;
pub use config::{
    DtrustConfig, DtrustConfigBuilder, IDM_DEFAULT_P12_PASSWORD, MissingRevocationPassword,
    SoapService, SoapVersion, Transport,
};
pub use csr::{GeneratedCsr, KeySpec};
pub use domains::{email_domain_matches, is_verified_email_domain};
pub use error::{Error, Mismatch, OutcomeUnknownReason, Result};
pub use journal::{
    JOURNAL_FORMAT, JOURNAL_NAMESPACE, JournalEntry, JournalState, OrderJournal,
    OrderJournalBuilder, OrderOutcome, OrderResult, PreparedOrder, Progress, Resumed,
    SecretsInJournal,
};
pub use order::{OrderRequest, SubjectDn};
pub use password::{PasswordPolicy, generate_revocation_password};
pub use product::{Product, RequestKind};
pub use server_error::{ServerError, ServerErrorCode, ServerErrorKind};
pub use status::{IssuedCertificate, IssuedPkcs12, RequestStatus, RevocationReason, StatusReport};
pub use templates::CertificateTemplates;
pub use wait::{PendingOrder, Submission};

/// The core crate, for what this crate does not re-export.
pub use smartid_core;
pub use smartid_core::{
    Certificate, ClientIdentity, Clock, ConfigProblem, HttpRequest, HttpResponse, HttpSend,
    HttpSettings, Method, ProxySettings, RetryPolicy, Secret, SecretBytes, SendFuture, Sleep,
    SystemClock, TrustRoots, TrustStore, UnexpectedAnswer, WaitOptions,
};

/// Entry points for the crate's benchmark (the parsers alone, without the
/// network, the chain verification and the order binding that the public
/// operations add); not part of the supported API, no stability promise.
#[doc(hidden)]
pub mod __private {
    use smartid_core::HttpResponse;

    /// Parses a SOAP 1.1/1.2 `getCertificateResponse` as the client does and
    /// returns the number of certificates (leaf and chain).
    ///
    /// # Errors
    /// As the client's parser.
    pub fn parse_soap_certificate_response(body: &[u8], namespace: &str) -> crate::Result<usize> {
        let wire = crate::wire::soap::SoapWire::new(
            "https://bench",
            namespace,
            "S",
            crate::SoapVersion::V11,
        );
        let r = HttpResponse::new(
            200,
            vec![("Content-Type".into(), "text/xml".into())],
            body.to_vec(),
            "https://bench",
        );
        wire.parse_certificate(&r, "1").map(|c| 1 + c.chain.len())
    }

    /// Parses an XML document with the client's bounded reader and returns
    /// the number of elements (XML cost alone, without X.509 decoding).
    ///
    /// # Errors
    /// The parser's message.
    pub fn parse_xml_tree(body: &[u8]) -> Result<usize, String> {
        fn count(e: &crate::wire::xml::Element) -> usize {
            1 + e.children.iter().map(count).sum::<usize>()
        }
        crate::wire::xml::parse(body)
            .map(|root| count(&root))
            .map_err(String::from)
    }

    /// Parses a REST certificate document as the client does and returns
    /// the number of certificates.
    ///
    /// # Errors
    /// As the client's parser.
    pub fn parse_rest_certificate_response(body: &[u8]) -> crate::Result<usize> {
        let wire = crate::wire::rest::RestWire::new("https://bench");
        let r = HttpResponse::new(200, vec![], body.to_vec(), "https://bench");
        wire.parse_certificate(&r, "1").map(|c| 1 + c.chain.len())
    }
}

/// Entry points of the fuzz targets and of their corpus replay tests.
/// **Not part of the public API**: no stability promise.
#[doc(hidden)]
pub mod fuzzing;
