//! The client: one type and one set of operations for both transports.

use std::sync::Arc;
use std::time::SystemTime;

use smartid_core::{HttpClient, HttpRequest, HttpResponse, Secret};

use crate::checks::check_order;
use crate::config::{DtrustConfig, Transport};
use crate::error::{Error, Result};
use crate::order::OrderRequest;
use crate::password::legacy_revocation_password;
use crate::product::Product;
use crate::status::{
    IssuedCertificate, IssuedPkcs12, RequestStatus, RevocationReason, StatusReport,
};
use crate::verify::verify_issued;
use crate::wait::{Clock, PendingOrder, SystemClock, WaitOptions};
use crate::wire::{Wire, WireOrder};

const PRODUCT: &str = concat!("dtrust-client/", env!("CARGO_PKG_VERSION"));

/// A D-Trust client over REST or (legacy) SOAP, with mutual TLS. Cheap to
/// clone; share one per configuration.
#[derive(Debug, Clone)]
pub struct DtrustClient {
    http: HttpClient,
    wire: Wire,
    config: Arc<DtrustConfig>,
}

impl DtrustClient {
    /// Builds the client (and its TLS configuration).
    ///
    /// # Errors
    /// [`Error::Core`] when the TLS settings are refused.
    pub fn new(config: DtrustConfig) -> Result<Self> {
        let http = HttpClient::new(&config.http, PRODUCT)?;
        Ok(Self {
            wire: Wire::new(&config),
            http,
            config: Arc::new(config),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DtrustConfig {
        &self.config
    }

    /// `"REST"` or `"SOAP"`.
    pub fn transport_name(&self) -> &'static str {
        match self.config.transport {
            Transport::Rest { .. } => "REST",
            Transport::Soap { .. } => "SOAP",
        }
    }

    async fn send(&self, req: HttpRequest) -> Result<HttpResponse> {
        Ok(self.http.send(req).await?)
    }

    /// Lists the certificate products the account may order, with their
    /// request kinds and, where the server says so, key sizes.
    ///
    /// # Errors
    /// [`Error::Core`] (TLS, connection), [`Error::Server`],
    /// [`Error::InvalidResponse`], [`Error::MtomNotSupported`].
    pub async fn list_products(&self) -> Result<Vec<Product>> {
        let r = self.send(self.wire.list_products()).await?;
        self.wire.parse_products(&r)
    }

    /// Runs the checks made before sending (see [`crate::check_order`]).
    ///
    /// # Errors
    /// [`Error::InvalidOrder`] naming the field.
    pub fn check_order(&self, order: &OrderRequest) -> Result<()> {
        check_order(&self.config, order)
    }

    /// Submits an order and returns at once with the pending order (no
    /// waiting for issuance).
    ///
    /// Without a revocation password, the legacy password derived from the
    /// CN is sent ([`crate::legacy_revocation_password`]). If the answer is
    /// lost after the request may have reached D-Trust (timeout, broken
    /// connection, a gateway's 502 or 504 without a D-Trust answer), the
    /// order is looked up by its client reference and returned if found;
    /// only when it is not found is it sent once more, with the same
    /// reference.
    ///
    /// # Errors
    /// [`Error::InvalidOrder`] from the checks, [`Error::Server`] with
    /// D-Trust's code, cause and remedy, [`Error::SubmitOutcomeUnknown`]
    /// when neither the answer nor the look-up came through, [`Error::Core`].
    pub async fn submit(&self, order: &OrderRequest) -> Result<PendingOrder> {
        if self.config.pre_send_checks {
            check_order(&self.config, order)?;
        }
        let derived: Option<Secret> = match &order.revocation_password {
            Some(_) => None,
            None => order.subject.common_name().map(legacy_revocation_password),
        };
        let wire_order = WireOrder {
            product_id: &order.product_id,
            kind: &order.kind,
            subject: &order.subject,
            csr_der: order.csr_der.as_deref(),
            emails: &order.emails,
            revocation_password: order.revocation_password.as_ref().or(derived.as_ref()),
            client_reference: &order.client_reference,
        };
        let pending = |request_id: String| PendingOrder {
            request_id,
            client_reference: order.client_reference.clone(),
            product_id: Some(order.product_id.clone()),
            kind: Some(order.kind.clone()),
            submitted_at_unix: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs()),
        };
        // D-Trust may quote the password it refuses: never pass it on.
        let secret = wire_order
            .revocation_password
            .map(Secret::expose_secret)
            .unwrap_or_default();
        let parse_submit = |r: &HttpResponse| {
            self.wire
                .parse_submit(r)
                .map_err(|e| e.without_secret(secret))
        };
        let e = match self.http.send(self.wire.submit(&wire_order)?).await {
            Ok(r) => match parse_submit(&r) {
                Ok(receipt) => return Ok(pending(receipt.request_id)),
                // A gateway that gave up waiting for D-Trust, or lost its
                // answer: the order may have been placed.
                Err(e) if gateway_lost(&e) => e.to_string(),
                Err(e) => return Err(e),
            },
            Err(e) if outcome_unknown(&e) => e.to_string(),
            Err(e) => return Err(e.into()),
        };
        let unknown = |cause: String| Error::SubmitOutcomeUnknown {
            client_reference: order.client_reference.clone(),
            cause,
        };
        match self.find_by_client_reference(&order.client_reference).await {
            Ok(Some(found)) => Ok(pending(found.request_id)),
            Ok(None) => {
                let r = self
                    .http
                    .send(self.wire.submit(&wire_order)?)
                    .await
                    .map_err(|e2| unknown(format!("{e}; re-sending failed: {e2}")))?;
                match parse_submit(&r) {
                    Ok(receipt) => Ok(pending(receipt.request_id)),
                    Err(e2) if gateway_lost(&e2) => {
                        Err(unknown(format!("{e}; re-sending failed: {e2}")))
                    }
                    Err(e2) => Err(e2),
                }
            }
            Err(e2) => Err(unknown(format!("{e}; look-up failed: {e2}"))),
        }
    }

    /// Looks an order up by its client reference.
    ///
    /// # Errors
    /// As [`DtrustClient::list_products`].
    pub async fn find_by_client_reference(&self, reference: &str) -> Result<Option<PendingOrder>> {
        let r = self.send(self.wire.find(reference)).await?;
        Ok(self
            .wire
            .parse_find(&r)?
            .into_iter()
            // A server that ignored the filter must not hand us another order.
            .find(|x| x.client_reference.as_deref().is_none_or(|r| r == reference))
            .map(|x| PendingOrder::new(x.request_id, reference)))
    }

    /// Queries a request's status.
    ///
    /// # Errors
    /// As [`DtrustClient::list_products`].
    pub async fn status(&self, request_id: &str) -> Result<StatusReport> {
        let r = self.send(self.wire.status(request_id)).await?;
        self.wire.parse_status(&r)
    }

    /// Waits until the request is issued, polling at `options.poll_interval`
    /// (or the server's longer hint) until `options.deadline`.
    ///
    /// Cancel-safe: the loop only reads, so dropping the future loses
    /// nothing; wait again with the same [`PendingOrder`]. Connection
    /// failures and 5xx answers while polling are retried until the deadline.
    ///
    /// # Errors
    /// [`Error::Rejected`], [`Error::DeadlineExceeded`] (the order stays
    /// valid), [`Error::NotIssued`] when it was revoked, [`Error::Server`].
    pub async fn wait_for_issuance(
        &self,
        pending: &PendingOrder,
        options: &WaitOptions,
    ) -> Result<StatusReport> {
        self.wait_for_issuance_with_clock(pending, options, &SystemClock)
            .await
    }

    /// [`DtrustClient::wait_for_issuance`] with an injected clock.
    ///
    /// # Errors
    /// As [`DtrustClient::wait_for_issuance`].
    pub async fn wait_for_issuance_with_clock(
        &self,
        pending: &PendingOrder,
        options: &WaitOptions,
        clock: &dyn Clock,
    ) -> Result<StatusReport> {
        let id = &pending.request_id;
        loop {
            let (last, hint) = match self.status(id).await {
                Ok(report) => match report.status {
                    RequestStatus::Issued => return Ok(report),
                    RequestStatus::Rejected => {
                        return Err(Error::Rejected {
                            request_id: id.clone(),
                            reason: report.message.unwrap_or_default(),
                        });
                    }
                    RequestStatus::Revoked => {
                        return Err(Error::NotIssued {
                            request_id: id.clone(),
                            status: "revoked".into(),
                        });
                    }
                    ref other => (other.to_string(), report.retry_after),
                },
                Err(e) if transient(&e) => (format!("unreachable ({e})"), None),
                Err(e) => return Err(e),
            };
            match options.next_sleep(clock.now(), hint) {
                Some(d) => clock.sleep(d).await,
                None => {
                    return Err(Error::DeadlineExceeded {
                        request_id: id.clone(),
                        last_status: last,
                    });
                }
            }
        }
    }

    /// Fetches the issued certificate and its chain (PKCS#10 orders), and
    /// verifies every signature along the chain and, when configured
    /// ([`crate::DtrustConfigBuilder::issuing_ca_file`]), that it ends at a
    /// D-Trust issuing CA.
    ///
    /// # Errors
    /// [`Error::NotIssued`] before issuance; [`Error::UntrustedCertificate`];
    /// as [`DtrustClient::list_products`].
    pub async fn fetch_certificate(&self, request_id: &str) -> Result<IssuedCertificate> {
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
        Ok(issued)
    }

    /// Fetches the PKCS#12 made by D-Trust and its transport password
    /// (PKCS#12 orders), after checking that it opens with that password,
    /// that its key matches its certificate, and its chain as in
    /// [`DtrustClient::fetch_certificate`].
    ///
    /// # Errors
    /// [`Error::NotIssued`] before issuance; [`Error::UntrustedCertificate`];
    /// as [`DtrustClient::list_products`].
    pub async fn fetch_pkcs12(&self, request_id: &str) -> Result<IssuedPkcs12> {
        let r = self.send(self.wire.pkcs12(request_id)).await?;
        let p12 = self.wire.parse_pkcs12(&r, request_id)?;
        let untrusted = |message: String| Error::UntrustedCertificate {
            request_id: request_id.to_owned(),
            message,
        };
        let identity = p12.to_identity("D-Trust PKCS#12").map_err(|e| {
            untrusted(format!(
                "the PKCS#12 cannot be opened with its transport password ({e})"
            ))
        })?;
        let (leaf, chain) = identity
            .chain()
            .split_first()
            .ok_or_else(|| untrusted("the PKCS#12 holds no certificate".into()))?;
        verify_issued(leaf, chain, self.config.issuing_ca_trust.as_ref()).map_err(untrusted)?;
        Ok(p12)
    }

    /// Revokes a certificate by its serial number (hex; `:` and spaces
    /// ignored) with its revocation password. For old certificates ordered
    /// without a stored password, pass [`crate::legacy_revocation_password`].
    ///
    /// # Errors
    /// [`Error::InvalidOrder`] for a serial that is not hex; [`Error::Server`]
    /// (e.g. a wrong password); as [`DtrustClient::list_products`].
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
        self.wire
            .parse_revoke(&r)
            .map_err(|e| e.without_secret(password.expose_secret()))
    }
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
    matches!(
        e,
        Error::InvalidResponse {
            status: 502 | 504,
            ..
        }
    )
}

fn transient(e: &Error) -> bool {
    match e {
        Error::Core(c) => matches!(
            c,
            smartid_core::Error::Timeout { .. }
                | smartid_core::Error::Transport { .. }
                | smartid_core::Error::Connect { .. }
        ),
        Error::InvalidResponse { status, .. } => *status >= 500 && !matches!(status, 501 | 505),
        _ => false,
    }
}
