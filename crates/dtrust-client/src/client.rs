//! The client: one type and one set of operations for both transports.

use std::sync::Arc;
use std::time::Duration;

use smartid_core::{Clock, HttpClient, HttpRequest, HttpResponse, HttpSend, Secret};

use crate::binding::{check_public_key, check_subject};
use crate::checks::{check_missing_password, check_order};
use crate::config::DtrustConfig;
use crate::error::{Error, Mismatch, OutcomeUnknownReason, Result};
use crate::order::{OrderRequest, SubjectDn};
use crate::password::{generate_revocation_password, legacy_revocation_password};
use crate::product::{Product, RequestKind};
use crate::status::{IssuedCertificate, IssuedPkcs12, RevocationReason, StatusReport};
use crate::verify::verify_issued;
use crate::wait::{PendingOrder, Submission};
use crate::wire::{Receipt, Wire, WireOrder};

const PRODUCT: &str = concat!("dtrust-client/", env!("CARGO_PKG_VERSION"));

/// A D-Trust client over REST or (legacy) SOAP, with mutual TLS. Cheap to
/// clone; share one per configuration.
#[derive(Clone)]
pub struct DtrustClient {
    pub(crate) http: Arc<dyn HttpSend>,
    pub(crate) wire: Wire,
    pub(crate) config: Arc<DtrustConfig>,
}

impl std::fmt::Debug for DtrustClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtrustClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl DtrustClient {
    /// Builds the client: the sender given to
    /// [`crate::DtrustConfigBuilder::http_sender`], or else the HTTP client
    /// (and its TLS configuration) built from the HTTP settings.
    ///
    /// # Errors
    /// [`Error::Http`] when the TLS settings are refused.
    pub fn new(config: DtrustConfig) -> Result<Self> {
        let http: Arc<dyn HttpSend> = match &config.sender {
            Some(sender) => Arc::clone(sender),
            None => Arc::new(HttpClient::new(&config.http, PRODUCT)?),
        };
        Ok(Self {
            wire: Wire::new(&config.transport),
            http,
            config: Arc::new(config),
        })
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.config.clock
    }

    /// The configuration.
    pub fn config(&self) -> &DtrustConfig {
        &self.config
    }

    /// `"REST"` or `"SOAP"`.
    pub fn transport_name(&self) -> &'static str {
        self.config.transport.name()
    }

    pub(crate) async fn send(&self, req: HttpRequest) -> Result<HttpResponse> {
        Ok(self.http.send(req).await?)
    }

    /// Lists the certificate products the account may order, with their
    /// request kinds and, where the server says so, key sizes.
    ///
    /// # Errors
    /// [`Error::Http`] (TLS, connection), [`Error::Server`],
    /// [`Error::InvalidResponse`], [`Error::MtomNotSupported`].
    pub async fn list_products(&self) -> Result<Vec<Product>> {
        let r = self.send(self.wire.list_products()).await?;
        self.wire.parse_products(&r)
    }

    /// Runs the checks made before sending (see [`crate::check_order`]).
    ///
    /// # Errors
    /// [`Error::InvalidOrder`] naming the field;
    /// [`Error::RevocationPasswordMissing`].
    pub fn check_order(&self, order: &OrderRequest) -> Result<()> {
        check_order(&self.config, order)
    }

    /// Submits an order and returns at once with the pending order (no
    /// waiting for issuance).
    ///
    /// Without a revocation password the order is refused
    /// ([`Error::RevocationPasswordMissing`], the default), or, when the
    /// client is configured with [`crate::MissingRevocationPassword::Generate`],
    /// sent with a random password meeting the configured policy that is
    /// returned in [`Submission::generated_revocation_password`]. No password
    /// is ever derived from the order.
    ///
    /// If the answer is lost after the request may have reached D-Trust
    /// (timeout, broken connection, a gateway's 502 or 504 without a D-Trust
    /// answer), the order is looked up by its client reference
    /// ([`DtrustClient::find_by_client_reference`]): a request is adopted
    /// only when the look-up echoes exactly this reference for exactly one
    /// request; when the look-up answers with no request at all, the order
    /// is sent once more with the same reference (and the same password);
    /// in every other case the client stops with
    /// [`Error::SubmitOutcomeUnknown`].
    ///
    /// # Errors
    /// [`Error::InvalidOrder`] from the checks, [`Error::RevocationPasswordMissing`],
    /// [`Error::Server`] with D-Trust's code, cause and remedy,
    /// [`Error::SubmitOutcomeUnknown`] when the outcome cannot be confirmed,
    /// [`Error::Http`].
    ///
    /// # Example
    /// ```
    /// use dtrust_client::{
    ///     DtrustClient, DtrustConfig, MissingRevocationPassword, OrderRequest, SubjectDn, TrustStore,
    /// };
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = smartid_testkit::dtrust::DtrustSimulator::start().await?;
    /// # let identity = sim.issue_client_identity("Example GmbH")?.to_client_identity()?;
    /// # let server_ca = TrustStore::from_bytes(sim.server_ca_pem().as_bytes(), "CA", None)?;
    /// let client = DtrustClient::new(
    ///     DtrustConfig::rest(sim.rest_url())
    ///         .client_identity(identity)
    ///         .server_trust(server_ca)
    ///         .missing_revocation_password(MissingRevocationPassword::Generate)
    ///         .build()?,
    /// )?;
    /// // A PKCS#12 order: D-Trust makes the key.
    /// let order = OrderRequest::pkcs12("1003", SubjectDn::new("device-1.example.de"));
    /// let submission = client.submit(&order).await?;
    /// let password = submission.generated_revocation_password.clone().expect("generated");
    /// # let _ = password;
    /// // Store `password` as a secret and the pending order as JSON, then wait.
    /// let pending = submission.into_pending();
    /// assert_eq!(pending.client_reference, order.reference());
    /// # Ok(())
    /// # }
    /// ```
    #[tracing::instrument(name = "dtrust.submit", target = "dtrust_client", level = "debug", skip_all, fields(client_reference = %order.reference()))]
    pub async fn submit(&self, order: &OrderRequest) -> Result<Submission> {
        if self.config.pre_send_checks {
            check_order(&self.config, order)?;
        }
        let (password, generated) = match &order.revocation_password {
            Some(p) => (p.clone(), None),
            None => {
                check_missing_password(&self.config, order)?;
                let p = generate_revocation_password(&self.config.password_policy)?;
                (p.clone(), Some(p))
            }
        };
        let mut bound = PendingOrder::for_order(String::new(), order)?;
        bound.submitted_at_unix = Some(smartid_core::unix_seconds(self.clock().now()));
        let wire_order = WireOrder {
            product_id: &order.product_id,
            kind: &order.kind,
            subject: &order.subject,
            csr_der: order.csr_der.as_deref(),
            emails: &order.emails,
            revocation_password: Some(&password),
            client_reference: &order.client_reference,
        };
        let done = |request_id: String| {
            tracing::info!(target: "dtrust_client", client_reference = %order.client_reference, request_id = %request_id, "order submitted");
            let mut pending = bound.clone();
            pending.request_id = request_id;
            Submission {
                pending,
                generated_revocation_password: generated.clone(),
            }
        };
        // D-Trust may quote the password it refuses: never pass it on.
        let secret = password.expose_secret();
        let parse_submit = |r: &HttpResponse| {
            self.wire
                .parse_submit(r)
                .map_err(|e| e.without_secret(secret, r))
        };
        let e = match self.http.send(self.wire.submit(&wire_order)?).await {
            Ok(r) => match parse_submit(&r) {
                Ok(receipt) => return Ok(done(receipt.request_id)),
                // A gateway that gave up waiting for D-Trust, or lost its
                // answer: the order may have been placed.
                Err(e) if gateway_lost(&e) => e.to_string(),
                Err(e) => return Err(e),
            },
            Err(e) if outcome_unknown(&e) => e.to_string(),
            Err(e) => return Err(e.into()),
        };
        tracing::warn!(target: "dtrust_client", client_reference = %order.client_reference, "the submit's answer was lost; looking the order up by its client reference");
        let unknown = |reason: OutcomeUnknownReason, cause: String| Error::SubmitOutcomeUnknown {
            client_reference: order.client_reference.clone(),
            reason,
            cause,
        };
        match self.find_by_client_reference(&order.client_reference).await {
            Ok(Some(found)) => Ok(done(found.request_id)),
            Ok(None) => {
                let r = self
                    .http
                    .send(self.wire.submit(&wire_order)?)
                    .await
                    .map_err(|e2| {
                        unknown(
                            OutcomeUnknownReason::ResendLost,
                            format!("{e}; re-sending failed: {e2}"),
                        )
                    })?;
                match parse_submit(&r) {
                    Ok(receipt) => Ok(done(receipt.request_id)),
                    Err(e2) if gateway_lost(&e2) => Err(unknown(
                        OutcomeUnknownReason::ResendLost,
                        format!("{e}; re-sending failed: {e2}"),
                    )),
                    Err(e2) => Err(e2),
                }
            }
            Err(Error::SubmitOutcomeUnknown { reason, cause, .. }) => {
                Err(unknown(reason, format!("{e}; {cause}")))
            }
            Err(e2) => Err(unknown(
                OutcomeUnknownReason::LookupFailed,
                format!("{e}; look-up failed: {e2}"),
            )),
        }
    }

    /// Sends `order` (which carries its revocation password) once, without
    /// the look-up and re-send of [`DtrustClient::submit`]: the order
    /// journal decides what to do after a lost answer. The request waits
    /// at most `pool_wait` for a pooled connection, then fails unsent
    /// ([`smartid_core::Error::PoolBusy`]).
    pub(crate) async fn submit_once(
        &self,
        order: &OrderRequest,
        pool_wait: Duration,
    ) -> Result<SubmitAttempt> {
        let Some(password) = &order.revocation_password else {
            return Err(Error::RevocationPasswordMissing {
                client_reference: order.client_reference.clone(),
            });
        };
        let wire_order = WireOrder {
            product_id: &order.product_id,
            kind: &order.kind,
            subject: &order.subject,
            csr_der: order.csr_der.as_deref(),
            emails: &order.emails,
            revocation_password: Some(password),
            client_reference: &order.client_reference,
        };
        let secret = password.expose_secret();
        let request = self.wire.submit(&wire_order)?.pool_timeout(pool_wait);
        match self.http.send(request).await {
            Ok(r) => match self
                .wire
                .parse_submit(&r)
                .map_err(|e| e.without_secret(secret, &r))
            {
                Ok(receipt) => Ok(SubmitAttempt::Placed(receipt.request_id)),
                Err(e) if gateway_lost(&e) => Ok(SubmitAttempt::Unknown(e.to_string())),
                Err(e) => Err(e),
            },
            Err(e) if outcome_unknown(&e) => Ok(SubmitAttempt::Unknown(e.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// Looks an order up by its client reference.
    ///
    /// `Ok(Some(_))` only when the answer lists exactly one request and it
    /// echoes exactly this reference (other requests listed with other
    /// references are ignored); `Ok(None)` when the answer lists no request.
    /// The pending order returned records nothing of the order: bind it with
    /// [`PendingOrder::bound_to`] before fetching.
    ///
    /// # Errors
    /// [`Error::SubmitOutcomeUnknown`] when the answer cannot confirm the
    /// order: requests without a client reference, several requests with
    /// this reference, or only requests of other references; otherwise as
    /// [`DtrustClient::list_products`].
    #[tracing::instrument(name = "dtrust.find", target = "dtrust_client", level = "debug", skip_all, fields(client_reference = %reference))]
    pub async fn find_by_client_reference(&self, reference: &str) -> Result<Option<PendingOrder>> {
        let r = self.send(self.wire.find(reference)).await?;
        let found = self.wire.parse_find(&r)?;
        confirm_reference(reference, &found).map(|id| id.map(|id| PendingOrder::new(id, reference)))
    }

    /// Queries a request's status.
    ///
    /// # Errors
    /// As [`DtrustClient::list_products`].
    #[tracing::instrument(name = "dtrust.status", target = "dtrust_client", level = "debug", skip_all, fields(request_id = %request_id))]
    pub async fn status(&self, request_id: &str) -> Result<StatusReport> {
        let r = self.send(self.wire.status(request_id)).await?;
        self.wire.parse_status(&r)
    }

    /// Fetches the issued certificate and its chain, and checks it:
    /// every signature along the chain and, when configured
    /// ([`crate::DtrustConfigBuilder::issuing_ca_file`]), that it ends at a
    /// D-Trust issuing CA; then that it is what was ordered: the subject
    /// recorded in `pending` (see `docs/dtrust.md` for how DNs compare)
    /// and, for PKCS#10 orders, the CSR's public key (the DER
    /// SubjectPublicKeyInfo must be identical).
    ///
    /// # Errors
    /// [`Error::NotIssued`] before issuance; [`Error::UntrustedCertificate`];
    /// [`Error::NotAsOrdered`]; [`Error::InvalidOrder`] on field
    /// `pending_order` when `pending` does not record what was ordered (use
    /// [`PendingOrder::bound_to`]); as [`DtrustClient::list_products`].
    #[tracing::instrument(name = "dtrust.fetch_certificate", target = "dtrust_client", level = "debug", skip_all, fields(request_id = %pending.request_id, client_reference = %pending.client_reference))]
    pub async fn fetch_certificate(&self, pending: &PendingOrder) -> Result<IssuedCertificate> {
        let request_id = pending.request_id.as_str();
        let (subject, key) = binding_of(pending, true)?;
        let r = self.send(self.wire.certificate(request_id)).await?;
        let issued = self.wire.parse_certificate(&r, request_id)?;
        verify_issued(
            &issued.certificate,
            &issued.chain,
            self.config.issuing_ca_trust.as_ref(),
        )
        .map_err(|message| Error::UntrustedCertificate {
            request_id: request_id.to_owned(),
            message,
        })?;
        let mismatch = |mismatch: Mismatch, message: String| Error::NotAsOrdered {
            request_id: request_id.to_owned(),
            mismatch,
            message,
        };
        check_subject(&issued.certificate, subject).map_err(|m| mismatch(Mismatch::Subject, m))?;
        if let Some(key) = key {
            check_public_key(&issued.certificate, key)
                .map_err(|m| mismatch(Mismatch::PublicKey, m))?;
        }
        Ok(issued)
    }

    /// Fetches the PKCS#12 made by D-Trust and its transport password
    /// (PKCS#12 orders), after checking that it opens with that password,
    /// that its key matches its certificate, that the certificate's subject
    /// is the one recorded in `pending`, and its chain as in
    /// [`DtrustClient::fetch_certificate`].
    ///
    /// # Errors
    /// [`Error::NotIssued`] before issuance; [`Error::UntrustedCertificate`];
    /// [`Error::NotAsOrdered`]; [`Error::InvalidOrder`] on field
    /// `pending_order` as in [`DtrustClient::fetch_certificate`]; as
    /// [`DtrustClient::list_products`].
    #[tracing::instrument(name = "dtrust.fetch_pkcs12", target = "dtrust_client", level = "debug", skip_all, fields(request_id = %pending.request_id, client_reference = %pending.client_reference))]
    pub async fn fetch_pkcs12(&self, pending: &PendingOrder) -> Result<IssuedPkcs12> {
        let request_id = pending.request_id.as_str();
        let (subject, _) = binding_of(pending, false)?;
        let r = self.send(self.wire.pkcs12(request_id)).await?;
        let p12 = self.wire.parse_pkcs12(&r, request_id)?;
        let untrusted = |message: String| Error::UntrustedCertificate {
            request_id: request_id.to_owned(),
            message,
        };
        let mismatch = |mismatch: Mismatch, message: String| Error::NotAsOrdered {
            request_id: request_id.to_owned(),
            mismatch,
            message,
        };
        let identity = p12.to_identity("D-Trust PKCS#12").map_err(|e| match e {
            Error::Http(smartid_core::Error::KeyMismatch { subject, .. }) => mismatch(
                Mismatch::Pkcs12Key,
                format!(
                    "the private key in the PKCS#12 is not the key of its certificate {subject}"
                ),
            ),
            e => untrusted(format!(
                "the PKCS#12 cannot be opened with its transport password ({e})"
            )),
        })?;
        let (leaf, chain) = identity
            .chain()
            .split_first()
            .ok_or_else(|| untrusted("the PKCS#12 holds no certificate".into()))?;
        verify_issued(leaf, chain, self.config.issuing_ca_trust.as_ref()).map_err(untrusted)?;
        check_subject(leaf, subject).map_err(|m| mismatch(Mismatch::Subject, m))?;
        Ok(p12)
    }

    /// Revokes a certificate by its serial number (hex; `:` and spaces
    /// ignored) with its revocation password.
    ///
    /// # Errors
    /// [`Error::InvalidOrder`] for a serial that is not hex; [`Error::Server`]
    /// (e.g. a wrong password); as [`DtrustClient::list_products`].
    #[tracing::instrument(name = "dtrust.revoke", target = "dtrust_client", level = "debug", skip_all, fields(serial = %serial_hex))]
    pub async fn revoke(
        &self,
        serial_hex: &str,
        password: &Secret,
        reason: Option<RevocationReason>,
    ) -> Result<()> {
        let serial: String = serial_hex
            .chars()
            .filter(|c| !matches!(c, ':' | ' '))
            .collect::<String>()
            .to_ascii_uppercase();
        if serial.is_empty() || !serial.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::InvalidOrder {
                field: "serial",
                message: format!("{serial_hex:?} is not a hexadecimal serial number"),
            });
        }
        let r = self
            .send(self.wire.revoke(&serial, password, reason)?)
            .await?;
        let revoked = self
            .wire
            .parse_revoke(&r)
            .map_err(|e| e.without_secret(password.expose_secret(), &r));
        match &revoked {
            Ok(()) => {
                tracing::info!(target: "dtrust_client", serial = %serial, "certificate revoked")
            }
            Err(_) => {
                tracing::warn!(target: "dtrust_client", serial = %serial, status = r.status(), "revocation refused")
            }
        }
        revoked
    }

    /// LEGACY: revokes a certificate ordered without a stored revocation
    /// password by an earlier version of this crate, which then sent a
    /// password derived from the CN (`"Rv"` + the first 16 hex digits of
    /// SHA-256 over the UTF-8 CN + `"9"`).
    ///
    /// This is NOT the Identity Manager connector's derivation (which is not
    /// public) and cannot revoke certificates the connector ordered without
    /// a password. New orders never use a derived password.
    ///
    /// # Errors
    /// As [`DtrustClient::revoke`]; [`Error::InvalidOrder`] on field
    /// `common_name` when it is empty.
    pub async fn revoke_with_legacy_cn_password(
        &self,
        serial_hex: &str,
        common_name: &str,
        reason: Option<RevocationReason>,
    ) -> Result<()> {
        if common_name.trim().is_empty() {
            return Err(Error::InvalidOrder {
                field: "common_name",
                message: "empty; give the CN of the certificate to revoke".into(),
            });
        }
        let password = legacy_revocation_password(common_name);
        self.revoke(serial_hex, &password, reason).await
    }
}

/// What one submission came to ([`DtrustClient::submit_once`]).
pub(crate) enum SubmitAttempt {
    /// D-Trust answered with this request id.
    Placed(String),
    /// The answer was lost: the order may or may not exist (the cause).
    Unknown(String),
}

/// Confirms a look-up answer: the request id when exactly one request
/// echoes `reference`, `None` when the answer is empty, an "outcome
/// unknown" error otherwise.
pub(crate) fn confirm_reference(reference: &str, found: &[Receipt]) -> Result<Option<String>> {
    let unknown = |reason: OutcomeUnknownReason| {
        Err(Error::SubmitOutcomeUnknown {
            client_reference: reference.to_owned(),
            cause: format!("the look-up by client reference could not confirm the order: {reason}"),
            reason,
        })
    };
    if found.is_empty() {
        return Ok(None);
    }
    let unechoed = found
        .iter()
        .filter(|r| r.client_reference.is_none())
        .count();
    if unechoed > 0 {
        return unknown(OutcomeUnknownReason::ReferenceNotEchoed {
            results: found.len(),
        });
    }
    let mut ours = found
        .iter()
        .filter(|r| r.client_reference.as_deref() == Some(reference));
    match (ours.next(), ours.count()) {
        (Some(one), 0) => Ok(Some(one.request_id.clone())),
        (Some(_), more) => unknown(OutcomeUnknownReason::SeveralMatches { matches: more + 1 }),
        (None, _) => unknown(OutcomeUnknownReason::OtherReferencesOnly {
            results: found.len(),
        }),
    }
}

/// What `pending` records of the order: the subject, and (when `need_key`
/// and the order is not a PKCS#12 order) the CSR's public-key hash.
fn binding_of(pending: &PendingOrder, need_key: bool) -> Result<(&SubjectDn, Option<&str>)> {
    let unbound = |what: &str| Error::InvalidOrder {
        field: "pending_order",
        message: format!(
            "request {} does not record {what}, so the result cannot be checked against the \
             order: bind it with PendingOrder::bound_to(&order) (or use the one submit returned)",
            pending.request_id
        ),
    };
    let subject = pending
        .subject
        .as_ref()
        .ok_or_else(|| unbound("the ordered subject"))?;
    let key = match (&pending.kind, pending.public_key_sha256.as_deref()) {
        _ if !need_key => None,
        (Some(RequestKind::Pkcs12), _) => None,
        (_, Some(k)) => Some(k),
        (_, None) => return Err(unbound("the CSR's public key")),
    };
    Ok((subject, key))
}

/// Whether the request may have reached the server although no answer came.
fn outcome_unknown(e: &smartid_core::Error) -> bool {
    matches!(
        e,
        smartid_core::Error::Timeout { .. } | smartid_core::Error::Transport { .. }
    )
}

/// A gateway's 502 or 504 without a D-Trust answer: the gateway gave up
/// waiting for D-Trust or lost its answer, so the request may have reached it.
fn gateway_lost(e: &Error) -> bool {
    matches!(e.unreadable_status(), Some(502 | 504))
}
