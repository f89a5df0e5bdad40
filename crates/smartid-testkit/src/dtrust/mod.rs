//! A D-Trust-like certificate service (CSM) over REST and SOAP 1.1/1.2,
//! behind HTTPS that requires a client certificate from its own client CA.
//!
//! It lists products, issues real certificates from PKCS#10 requests and
//! PKCS#12 files with a test "D-Trust" CA, holds them back until released
//! (immediately, after a delay, after a number of status queries, or by
//! hand), revokes with the revocation password, and answers D-Trust's
//! error codes for the inputs that trigger them at D-Trust:
//!
//! | input | code |
//! |---|---|
//! | a CN containing `CN=`; a product needing organisationIdentifier without the account's value | `GENERIC_RDN_REGEXERROR` |
//! | an e-mail (SAN or DN) outside the verified domains | `EMAILDOMAIN_DOES_NOT_FIT` |
//! | a revocation password failing the product's rules (or none with a CN) | `GENERIC_PASSWORD_REGEXERROR` |
//! | PKCS10 without CSR, PKCS12 with one | `INVALID_REQUEST` "Invalid request (certificate request type does not seem to match its content)" |
//! | no revocation password and no CN | `INTERNAL_ERROR` "java.lang.NullPointerException" |
//! | a key size the product does not allow | `KEYLENGTH_NOT_ALLOWED` |
//!
//! The wire format is the one described in the dtrust-client crate's
//! `docs/dtrust-wire.md`.
//!
//! ```no_run
//! # async fn run() -> smartid_testkit::Result<()> {
//! use smartid_testkit::dtrust::DtrustSimulator;
//! let sim = DtrustSimulator::start().await?;
//! let client_identity = sim.issue_client_identity("neXus Technology GmbH")?;
//! println!("{} {}", sim.rest_url(), sim.soap_url());
//! # Ok(()) }
//! ```

mod rest;
mod service;
mod soap;
mod xml;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use smartid_core::Certificate;
use tokio::task::JoinHandle;

use crate::error::Result;
use crate::pki::{CertSpec, CertUsage, TestCa, TestIdentity, TestPki};
use crate::tls::{ClientAuth, TlsFront};
use service::Service;

/// When a submitted request is released (issued).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Release {
    /// At once. The default.
    #[default]
    Immediately,
    /// After this much time.
    AfterDelay(Duration),
    /// After this many status queries (deterministic, clock-free).
    AfterPolls(u32),
    /// Only through [`DtrustSimulator::release_all`].
    Manual,
}

/// How the look-up by client reference answers (fault injection for the
/// client's lost-answer recovery). The look-up is part of the inferred
/// wire (see the dtrust-client crate's `docs/dtrust-wire.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LookupAnswer {
    /// The requests with the reference, each echoing it. The default.
    #[default]
    Honest,
    /// The requests with the reference, without naming their reference.
    WithoutReference,
    /// The requests with the reference, each naming another reference.
    OtherReference,
    /// Each request with the reference listed twice (two request ids).
    Duplicate,
    /// HTTP 503 / a SOAP Receiver fault.
    Unavailable,
}

/// What the simulator does with a submission whose client reference
/// already has an order. Whether D-Trust treats the reference as an
/// idempotency key is not public (inferred either way): a client must never
/// depend on it, and [`DtrustSimulator::duplicate_orders`] counts such
/// submissions in both settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RepeatedReference {
    /// Answers with the existing order (no new order). The default.
    #[default]
    ReturnExisting,
    /// Places another order with the same reference (what a service that
    /// keeps the reference only as a label would do); the look-up then
    /// lists both.
    PlaceAnother,
}

/// A wrong result for the next order (fault injection for the client's
/// binding of results to orders).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misissue {
    /// PKCS#10: a certificate with the ordered subject for a fresh key,
    /// not the CSR's.
    OtherKey,
    /// A certificate with another CN (`someone-else.example.de`; for
    /// PKCS#10 also a fresh key).
    OtherSubject,
    /// PKCS#12: a file whose private key is not its certificate's.
    Pkcs12KeyMismatch,
}

/// A certificate product of the simulated account.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimProduct {
    /// Identifier.
    pub id: String,
    /// Display name; a name containing "ECC" gets P-256 keys for PKCS#12 orders, others RSA 2048.
    pub name: String,
    /// `PKCS10` and/or `PKCS12`.
    pub request_types: Vec<String>,
    /// Allowed key sizes (empty: not announced and not checked).
    pub key_sizes: Vec<u32>,
    /// Whether the DN must carry the account's organisationIdentifier.
    pub requires_organisation_identifier: bool,
    /// Minimum length of the revocation password.
    pub password_min_length: usize,
    /// Whether the revocation password needs one of `-_.!#+`.
    pub password_requires_special: bool,
}

impl SimProduct {
    /// A product.
    pub fn new(id: &str, name: &str, request_types: &[&str], key_sizes: &[u32]) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            request_types: request_types.iter().map(|s| (*s).to_owned()).collect(),
            key_sizes: key_sizes.to_vec(),
            requires_organisation_identifier: false,
            password_min_length: 8,
            password_requires_special: false,
        }
    }
}

/// The simulator's configuration. `Default` gives three products:
/// `1001` "Basic SSL ID (RSA)" (PKCS10/PKCS12, RSA 2048-4096), `1002`
/// "Advanced SSL ID (RSA)" (PKCS10, RSA 3072/4096, organisationIdentifier
/// required, revocation password of 16+ with a special character) and
/// `1003` "Basic Device ID (ECC)" (PKCS10/PKCS12, P-256/P-384); verified
/// domain `example.de`; organisationIdentifier `NTRDE-HRB123456`; SOAP
/// namespace `http://ws.csm.d-trust.test/` and service `CertificateService`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimConfig {
    /// The products released to the account.
    pub products: Vec<SimProduct>,
    /// The account's fully verified e-mail domains.
    pub verified_email_domains: Vec<String>,
    /// The organisationIdentifier set on the account (pre-validated data).
    pub account_organisation_identifier: Option<String>,
    /// When requests are released.
    pub release: Release,
    /// The retry hint sent with pending statuses.
    pub retry_after: Option<Duration>,
    /// The SOAP service namespace URI.
    pub soap_namespace: String,
    /// The SOAP service name (local part).
    pub soap_service: String,
    /// What a submission with an already ordered client reference does.
    pub repeated_reference: RepeatedReference,
    /// The port of the HTTPS endpoint on `127.0.0.1`. Defaults to 0: a free port.
    pub port: u16,
    /// Fault injection on the HTTPS endpoints, including
    /// [`crate::FaultKind::LostSubmitAnswer`] (see [`crate::Faults`]).
    /// Defaults to off.
    pub faults: crate::Faults,
}

impl Default for SimConfig {
    fn default() -> Self {
        let mut advanced =
            SimProduct::new("1002", "Advanced SSL ID (RSA)", &["PKCS10"], &[3072, 4096]);
        advanced.requires_organisation_identifier = true;
        advanced.password_min_length = 16;
        advanced.password_requires_special = true;
        Self {
            products: vec![
                SimProduct::new(
                    "1001",
                    "Basic SSL ID (RSA)",
                    &["PKCS10", "PKCS12"],
                    &[2048, 3072, 4096],
                ),
                advanced,
                SimProduct::new(
                    "1003",
                    "Basic Device ID (ECC)",
                    &["PKCS10", "PKCS12"],
                    &[256, 384],
                ),
            ],
            verified_email_domains: vec!["example.de".into()],
            account_organisation_identifier: Some("NTRDE-HRB123456".into()),
            release: Release::Immediately,
            retry_after: None,
            soap_namespace: "http://ws.csm.d-trust.test/".into(),
            soap_service: "CertificateService".into(),
            repeated_reference: RepeatedReference::default(),
            port: 0,
            faults: crate::Faults::default(),
        }
    }
}

pub(crate) type Shared = Arc<Mutex<Service>>;

/// Submits an order, then waits the delay a test configured for this
/// submission (to lose the answer to a client timeout), for both transports.
pub(crate) async fn submit_delayed(
    s: &Shared,
    order: service::IncomingOrder,
) -> Result<service::Receipt, service::SimError> {
    let (result, delay, gateway) = {
        let mut g = lock(s);
        let r = g.submit(order);
        (r, g.next_submit_delay.take(), g.next_submit_gateway.take())
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    if let Some(status) = gateway {
        return Err(service::SimError::gateway(status));
    }
    result
}

pub(crate) fn lock(s: &Shared) -> MutexGuard<'_, Service> {
    s.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running simulator. Stops when dropped.
pub struct DtrustSimulator {
    front: TlsFront,
    server_pki: TestPki,
    client_ca: TestCa,
    issuing_certificate: Certificate,
    issuing_root: Certificate,
    service: Shared,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for DtrustSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtrustSimulator")
            .field("url", &self.front.url())
            .finish_non_exhaustive()
    }
}

impl DtrustSimulator {
    /// Starts a simulator with [`SimConfig::default`].
    ///
    /// # Errors
    /// [`crate::TestkitError`] when the PKI or the sockets cannot be set up.
    pub async fn start() -> Result<Self> {
        Self::start_with(SimConfig::default()).await
    }

    /// Starts a simulator with this configuration.
    ///
    /// # Errors
    /// [`crate::TestkitError`] when the PKI or the sockets cannot be set up.
    pub async fn start_with(config: SimConfig) -> Result<Self> {
        let server_pki = TestPki::generate()?;
        let client_ca = TestCa::new_root("D-Trust Test Client CA", "D-Trust GmbH (test)")?;
        let issuing_root = TestCa::new_root("D-TRUST Test Root CA 3 2026", "D-Trust GmbH (test)")?;
        let issuing_ca = issuing_root
            .new_intermediate("D-TRUST Test SSL Issuing CA 2026", "D-Trust GmbH (test)")?;
        let issuing_certificate = issuing_ca.certificate().clone();
        let issuing_root_certificate = issuing_root.certificate().clone();
        let mut chain = issuing_ca.chain_to_root().to_vec();
        chain.push(issuing_root.certificate().der().to_vec());
        let service: Shared = Arc::new(Mutex::new(Service::new(config.clone(), issuing_ca, chain)));
        let resets = crate::faults::Resets::default();
        let fault_layer = crate::faults::FaultLayer {
            faults: config.faults.clone(),
            resets: resets.clone(),
            submissions: true,
        };
        let router = rest::router(service.clone())
            .merge(soap::router(service.clone(), &config.soap_service))
            .layer(axum::middleware::from_fn_with_state(
                fault_layer,
                crate::faults::inject,
            ));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let backend = listener.local_addr()?;
        let front = TlsFront::start_at(
            config.port,
            backend,
            &server_pki.localhost_server()?,
            ClientAuth::Required(vec![client_ca.certificate().der().to_vec()]),
            Some(resets),
        )
        .await?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        Ok(Self {
            front,
            server_pki,
            client_ca,
            issuing_certificate,
            issuing_root: issuing_root_certificate,
            service,
            task,
        })
    }

    /// The REST base URL (`https://localhost:PORT/rest/v1`).
    pub fn rest_url(&self) -> String {
        format!("{}/rest/v1", self.front.url())
    }

    /// The SOAP endpoint URL (`https://localhost:PORT/soap/{service}`).
    pub fn soap_url(&self) -> String {
        format!(
            "{}/soap/{}",
            self.front.url(),
            lock(&self.service).config.soap_service
        )
    }

    /// The SOAP service namespace URI.
    pub fn soap_namespace(&self) -> String {
        lock(&self.service).config.soap_namespace.clone()
    }

    /// The SOAP service name (local part).
    pub fn soap_service(&self) -> String {
        lock(&self.service).config.soap_service.clone()
    }

    /// The TLS front (handshake counters, address).
    pub fn tls_front(&self) -> &TlsFront {
        &self.front
    }

    /// The CA certificate to trust for the server, PEM (the `.cer` file).
    pub fn server_ca_pem(&self) -> String {
        self.server_pki.root_pem()
    }

    /// The CA certificate to trust for the server, DER.
    pub fn server_ca_der(&self) -> Vec<u8> {
        self.server_pki.root_der()
    }

    /// Issues an account client certificate the server accepts.
    ///
    /// # Errors
    /// [`crate::TestkitError::Pki`].
    pub fn issue_client_identity(&self, common_name: &str) -> Result<TestIdentity> {
        self.client_ca
            .issue(&CertSpec::new(common_name, CertUsage::Client))
    }

    /// The CA that issues the ordered certificates.
    pub fn issuing_ca_certificate(&self) -> &Certificate {
        &self.issuing_certificate
    }

    /// The root of the issuing CA (what a client configures as D-Trust issuing CA).
    pub fn issuing_root_certificate(&self) -> &Certificate {
        &self.issuing_root
    }

    /// Releases every pending request.
    pub fn release_all(&self) {
        lock(&self.service).release_all();
    }

    /// Requests submitted and not yet released (issued), for
    /// [`Release::Manual`].
    pub fn pending_releases(&self) -> usize {
        lock(&self.service).unreleased()
    }

    /// Changes the release policy for all requests not yet released.
    pub fn set_release(&self, release: Release) {
        lock(&self.service).release = release;
    }

    /// Makes the next submission store the order, then wait `delay` before answering
    /// (to simulate an answer lost to a client timeout).
    pub fn delay_next_submit_response(&self, delay: Duration) {
        lock(&self.service).next_submit_delay = Some(delay);
    }

    /// Makes the next submission store the order, then answer with `status`
    /// (e.g. 502 or 504) and an HTML body, as a gateway that lost D-Trust's
    /// answer does.
    pub fn gateway_error_on_next_submit(&self, status: u16) {
        lock(&self.service).next_submit_gateway = Some(status);
    }

    /// How the look-up by client reference answers from now on.
    pub fn set_lookup_answer(&self, answer: LookupAnswer) {
        lock(&self.service).lookup = answer;
    }

    /// Makes the next accepted order get a wrong result.
    pub fn misissue_next(&self, misissue: Misissue) {
        lock(&self.service).next_misissue = Some(misissue);
    }

    /// The revocation password of every submission received, in order, as
    /// it arrived (`None`: the submission carried none).
    pub fn received_revocation_passwords(&self) -> Vec<Option<String>> {
        lock(&self.service).received_passwords.clone()
    }

    /// Submissions received (including repeats of a client reference).
    pub fn submissions_received(&self) -> usize {
        lock(&self.service).submissions
    }

    /// Orders stored. An order counts from the moment the submission is
    /// accepted, whether or not its answer reaches the client.
    pub fn orders(&self) -> usize {
        lock(&self.service).order_count()
    }

    /// How many orders carry `reference` (more than one only with
    /// [`RepeatedReference::PlaceAnother`]).
    pub fn orders_for_reference(&self, reference: &str) -> usize {
        lock(&self.service).orders_for_reference(reference)
    }

    /// The number of orders of every client reference ordered so far.
    pub fn orders_per_reference(&self) -> std::collections::BTreeMap<String, usize> {
        lock(&self.service).orders_per_reference()
    }

    /// Duplicate orders: submissions accepted for a client reference that
    /// already had an order (answered with the existing order under
    /// [`RepeatedReference::ReturnExisting`], placed again under
    /// [`RepeatedReference::PlaceAnother`]). A client that never orders a
    /// reference twice keeps it at zero.
    pub fn duplicate_orders(&self) -> usize {
        lock(&self.service).duplicates
    }

    /// Makes the orders with this client reference (placed now or later)
    /// be rejected during review: their status is `REJECTED` with `reason`
    /// as message, and their certificate is never served.
    pub fn reject_on_review(&self, reference: &str, reason: &str) {
        lock(&self.service).reject_on_review(reference, reason);
    }

    /// Whether the certificate with this serial was revoked.
    pub fn is_revoked(&self, serial_hex: &str) -> bool {
        lock(&self.service).is_revoked(serial_hex)
    }
}

impl Drop for DtrustSimulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}
