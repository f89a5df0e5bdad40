//! The simulated D-Trust account: products, validation rules with D-Trust's
//! error codes, issuance, release, look-up and revocation. Shared by the
//! REST and SOAP front ends.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rcgen::{CertificateSigningRequestParams, DnType, DnValue, PublicKeyData as _, SanType};
use smartid_core::Secret;

use super::{LookupAnswer, Misissue, Release, RepeatedReference, SimConfig, SimProduct};
use crate::pki::{CertSpec, CertUsage, KeyAlgorithm, Pkcs12Encryption, TestCa};

/// An error as D-Trust reports it.
#[derive(Debug, Clone)]
pub(crate) struct SimError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) http_status: u16,
    /// `true` for errors of the service itself (SOAP `Server`/`Receiver`).
    pub(crate) server_side: bool,
    /// The request status, for "not issued yet".
    pub(crate) status: Option<&'static str>,
}

/// The code of [`SimError::gateway`]: not a D-Trust answer.
pub(crate) const GATEWAY: &str = "__GATEWAY__";

impl SimError {
    /// A gateway's error page instead of D-Trust's answer.
    pub(crate) fn gateway(status: u16) -> Self {
        Self {
            code: GATEWAY,
            message: String::new(),
            http_status: status,
            server_side: true,
            status: None,
        }
    }

    pub(crate) fn client(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            http_status: 400,
            server_side: false,
            status: None,
        }
    }
}

type SimResult<T> = Result<T, SimError>;

/// An order as it arrives, whatever the transport.
#[derive(Debug, Clone, Default)]
pub(crate) struct IncomingOrder {
    pub(crate) product_id: String,
    pub(crate) request_type: String,
    pub(crate) client_reference: String,
    pub(crate) subject: BTreeMap<String, String>,
    pub(crate) emails: Vec<String>,
    pub(crate) pkcs10: Option<Vec<u8>>,
    pub(crate) revocation_password: Option<String>,
}

#[derive(Debug)]
struct Order {
    id: String,
    reference: String,
    created: Instant,
    polls: u32,
    released: bool,
    certificate: Vec<u8>,
    pkcs12: Option<(Vec<u8>, String)>,
    serial_hex: String,
    revocation_password: String,
    revoked: bool,
    /// Rejected during review, with this reason.
    rejected: Option<String>,
}

/// The state behind both front ends.
pub(crate) struct Service {
    pub(crate) config: SimConfig,
    issuing_ca: TestCa,
    chain: Vec<Vec<u8>>,
    orders: Vec<Order>,
    next_id: u64,
    pub(crate) submissions: usize,
    pub(crate) next_submit_delay: Option<Duration>,
    /// Answer the next submission (after storing it) with this HTTP status
    /// and an HTML body, as a gateway that lost D-Trust's answer would.
    pub(crate) next_submit_gateway: Option<u16>,
    pub(crate) release: Release,
    /// The revocation password of every submission received, as received.
    pub(crate) received_passwords: Vec<Option<String>>,
    pub(crate) lookup: LookupAnswer,
    pub(crate) next_misissue: Option<Misissue>,
    /// Orders accepted (placed, or answered with the existing order) for a
    /// client reference that already had one.
    pub(crate) duplicates: usize,
    /// Client references whose orders are rejected during review, with the reason.
    pub(crate) reject_on_review: BTreeMap<String, String>,
}

pub(crate) struct Receipt {
    pub(crate) request_id: String,
    pub(crate) status: &'static str,
    /// The client reference to put in a look-up answer (`None`: left out).
    pub(crate) client_reference: Option<String>,
}

pub(crate) struct Status {
    pub(crate) request_id: String,
    pub(crate) status: &'static str,
    pub(crate) retry_after: Option<Duration>,
    /// The reason of a rejection.
    pub(crate) message: Option<String>,
}

impl Service {
    pub(crate) fn new(config: SimConfig, issuing_ca: TestCa, chain: Vec<Vec<u8>>) -> Self {
        Self {
            chain,
            release: config.release,
            config,
            issuing_ca,
            orders: Vec::new(),
            next_id: 1000,
            submissions: 0,
            next_submit_delay: None,
            next_submit_gateway: None,
            received_passwords: Vec::new(),
            lookup: LookupAnswer::default(),
            next_misissue: None,
            duplicates: 0,
            reject_on_review: BTreeMap::new(),
        }
    }

    /// Rejects the orders of `reference` (placed and to come) during review.
    pub(crate) fn reject_on_review(&mut self, reference: &str, reason: &str) {
        for o in self.orders.iter_mut().filter(|o| o.reference == reference) {
            o.rejected = Some(reason.to_owned());
        }
        self.reject_on_review
            .insert(reference.to_owned(), reason.to_owned());
    }

    /// How many orders carry this client reference.
    pub(crate) fn orders_for_reference(&self, reference: &str) -> usize {
        self.orders
            .iter()
            .filter(|o| o.reference == reference)
            .count()
    }

    /// The number of orders per client reference.
    pub(crate) fn orders_per_reference(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for o in &self.orders {
            *m.entry(o.reference.clone()).or_insert(0) += 1;
        }
        m
    }

    pub(crate) fn products(&self) -> &[SimProduct] {
        &self.config.products
    }

    pub(crate) fn order_count(&self) -> usize {
        self.orders.len()
    }

    /// Orders whose status is `PENDING` now.
    pub(crate) fn unreleased(&self) -> usize {
        self.orders
            .iter()
            .filter(|o| status_of(o, self.release) == "PENDING")
            .count()
    }

    pub(crate) fn release_all(&mut self) {
        for o in &mut self.orders {
            o.released = true;
        }
    }

    pub(crate) fn is_revoked(&self, serial_hex: &str) -> bool {
        let s = norm_serial(serial_hex);
        self.orders.iter().any(|o| o.serial_hex == s && o.revoked)
    }

    pub(crate) fn submit(&mut self, order: IncomingOrder) -> SimResult<Receipt> {
        self.submissions += 1;
        if let Some(p) = &order.revocation_password {
            crate::secrets::record(crate::secrets::SecretKind::RevocationPassword, p);
        }
        self.received_passwords
            .push(order.revocation_password.clone());
        let repeated = !order.client_reference.is_empty()
            && self
                .orders
                .iter()
                .any(|o| o.reference == order.client_reference);
        if repeated && self.config.repeated_reference == RepeatedReference::ReturnExisting {
            // Idempotent: the same client reference is the same order.
            self.duplicates += 1;
            if let Some(existing) = self
                .orders
                .iter()
                .find(|o| o.reference == order.client_reference)
            {
                return Ok(Receipt {
                    request_id: existing.id.clone(),
                    status: "PENDING",
                    client_reference: Some(existing.reference.clone()),
                });
            }
        }
        let product = self
            .config
            .products
            .iter()
            .find(|p| p.id == order.product_id)
            .cloned()
            .ok_or_else(|| {
                SimError::client(
                    "PRODUCT_UNKNOWN",
                    format!(
                        "product {} is not released to this account",
                        order.product_id
                    ),
                )
            })?;
        let kind = order.request_type.to_ascii_uppercase();
        if !product.request_types.contains(&kind) {
            return Err(SimError::client(
                "REQUESTTYPE_NOT_ALLOWED",
                format!(
                    "request type {kind} is not allowed for product {}",
                    product.name
                ),
            ));
        }
        match (kind.as_str(), &order.pkcs10) {
            ("PKCS10", None) | ("PKCS12", Some(_)) => {
                return Err(SimError::client(
                    "INVALID_REQUEST",
                    "Invalid request (certificate request type does not seem to match its content)",
                ));
            }
            _ => {}
        }
        let cn = order.subject.get("CN").cloned();
        let Some(password) = order.revocation_password.clone() else {
            if cn.is_none() {
                return Err(SimError {
                    code: "INTERNAL_ERROR",
                    message: "java.lang.NullPointerException".into(),
                    http_status: 500,
                    server_side: true,
                    status: None,
                });
            }
            return Err(SimError::client(
                "GENERIC_PASSWORD_REGEXERROR",
                "revocation password: value does not match the product's pattern",
            ));
        };
        // The DN to check: the declared one, and the CSR's for PKCS#10.
        let mut dn: Vec<(String, String)> = order
            .subject
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut emails = order.emails.clone();
        let mut key_bits = None;
        if let Some(csr) = &order.pkcs10 {
            let der = rustls::pki_types::CertificateSigningRequestDer::from(csr.clone());
            let parsed = CertificateSigningRequestParams::from_der(&der).map_err(|e| {
                SimError::client(
                    "PKCS10_INVALID",
                    format!("the PKCS#10 request cannot be read: {e}"),
                )
            })?;
            for (ty, name) in [
                (DnType::CommonName, "CN"),
                (DnType::OrganizationName, "O"),
                (
                    DnType::CustomDnType(vec![2, 5, 4, 97]),
                    "organizationIdentifier",
                ),
                (
                    DnType::CustomDnType(vec![1, 2, 840, 113_549, 1, 9, 1]),
                    "emailAddress",
                ),
            ] {
                if let Some(v) = parsed.params.distinguished_name.get(&ty) {
                    dn.push((name.to_owned(), dn_value(v)));
                }
            }
            for san in &parsed.params.subject_alt_names {
                if let SanType::Rfc822Name(e) = san {
                    emails.push(e.as_str().to_owned());
                }
            }
            key_bits = Some(key_size(&parsed));
        }
        for (k, v) in &dn {
            if k == "CN" && v.to_ascii_uppercase().contains("CN=") {
                return Err(SimError::client(
                    "GENERIC_RDN_REGEXERROR",
                    format!("RDN CN: value {v:?} does not match the product's pattern"),
                ));
            }
            if k == "emailAddress" {
                emails.push(v.clone());
            }
        }
        if product.requires_organisation_identifier {
            let account = self.config.account_organisation_identifier.as_deref();
            let given: Vec<&str> = dn
                .iter()
                .filter(|(k, _)| k == "organizationIdentifier")
                .map(|(_, v)| v.as_str())
                .collect();
            let fits = match account {
                Some(a) => !given.is_empty() && given.iter().all(|g| *g == a),
                None => false,
            };
            if !fits {
                return Err(SimError::client(
                    "GENERIC_RDN_REGEXERROR",
                    "RDN organizationIdentifier: missing, or not the value pre-validated for the account",
                ));
            }
        }
        for e in &emails {
            let domain = e
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
                .unwrap_or_default();
            if !self
                .config
                .verified_email_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&domain))
            {
                return Err(SimError::client(
                    "EMAILDOMAIN_DOES_NOT_FIT",
                    format!("e-mail domain {domain:?} is not verified for the account"),
                ));
            }
        }
        if !password_fits(&password, &product) {
            return Err(SimError::client(
                "GENERIC_PASSWORD_REGEXERROR",
                "revocation password: value does not match the product's pattern",
            ));
        }
        if let Some(bits) = key_bits
            && !product.key_sizes.is_empty()
            && !product.key_sizes.contains(&bits)
        {
            return Err(SimError::client(
                "KEYLENGTH_NOT_ALLOWED",
                format!(
                    "key length {bits} is not allowed for product {}",
                    product.name
                ),
            ));
        }
        let validity = Duration::from_secs(365 * 86_400);
        let misissue = self.next_misissue.take();
        let wrong_cn =
            (misissue == Some(Misissue::OtherSubject)).then_some("someone-else.example.de");
        let (certificate, pkcs12) = match &order.pkcs10 {
            Some(_) if matches!(misissue, Some(Misissue::OtherKey | Misissue::OtherSubject)) => {
                // A certificate for a fresh key (and, for OtherSubject,
                // another CN) instead of the CSR's.
                let mut spec = CertSpec::new(
                    wrong_cn.or(cn.as_deref()).unwrap_or("D-Trust"),
                    CertUsage::ServerAndClient,
                );
                for (k, v) in &order.subject {
                    if k != "CN" {
                        spec = spec.subject_attribute(k, v);
                    }
                }
                let id = self
                    .issuing_ca
                    .issue(&spec)
                    .map_err(|e| SimError::client("PKCS10_INVALID", e.to_string()))?;
                (id.leaf_der().to_vec(), None)
            }
            Some(csr) => {
                let der = self
                    .issuing_ca
                    .sign_csr(csr, CertUsage::ServerAndClient, validity)
                    .map_err(|e| SimError::client("PKCS10_INVALID", e.to_string()))?;
                (der, None)
            }
            None => {
                let mut spec = CertSpec::new(
                    wrong_cn.or(cn.as_deref()).unwrap_or("D-Trust PKCS#12"),
                    CertUsage::ServerAndClient,
                )
                .key(if product.name.contains("ECC") {
                    KeyAlgorithm::EcdsaP256
                } else {
                    KeyAlgorithm::Rsa2048
                });
                for (k, v) in &order.subject {
                    if k != "CN" {
                        spec = spec.subject_attribute(k, v);
                    }
                }
                for e in &order.emails {
                    spec = spec.email(e);
                }
                let id = self
                    .issuing_ca
                    .issue(&spec)
                    .map_err(|e| SimError::client("PKCS12_FAILED", e.to_string()))?;
                let transport_password = random_password();
                crate::secrets::record(
                    crate::secrets::SecretKind::Pkcs12Password,
                    &transport_password,
                );
                let p12 = if misissue == Some(Misissue::Pkcs12KeyMismatch) {
                    let stranger = self
                        .issuing_ca
                        .issue(&spec)
                        .map_err(|e| SimError::client("PKCS12_FAILED", e.to_string()))?;
                    mismatched_pkcs12(
                        id.chain_der(),
                        stranger.key_pkcs8_der(),
                        &transport_password,
                    )
                    .map_err(|e| SimError::client("PKCS12_FAILED", e))?
                } else {
                    id.to_pkcs12(
                        &Secret::new(transport_password.clone()),
                        Pkcs12Encryption::Modern,
                        "dtrust",
                    )
                    .map_err(|e| SimError::client("PKCS12_FAILED", e.to_string()))?
                };
                (id.leaf_der().to_vec(), Some((p12, transport_password)))
            }
        };
        let serial_hex = smartid_core::Certificate::from_der(&certificate, "issued")
            .map(|c| c.serial_hex().to_owned())
            .map_err(|e| SimError::client("INTERNAL", e.to_string()))?;
        self.next_id += 1;
        let id = format!("CSM-{}", self.next_id);
        let released = matches!(self.release, Release::Immediately);
        let rejected = self.reject_on_review.get(&order.client_reference).cloned();
        if repeated {
            self.duplicates += 1;
        }
        self.orders.push(Order {
            id: id.clone(),
            reference: order.client_reference,
            created: Instant::now(),
            polls: 0,
            released,
            certificate,
            pkcs12,
            serial_hex,
            revocation_password: password,
            revoked: false,
            rejected: rejected.clone(),
        });
        Ok(Receipt {
            request_id: id,
            status: match (&rejected, released) {
                (Some(_), _) => "REJECTED",
                (None, true) => "ISSUED",
                (None, false) => "PENDING",
            },
            client_reference: None,
        })
    }

    /// The look-up by client reference, answered as [`LookupAnswer`] says;
    /// `Err` when the look-up is "unavailable".
    pub(crate) fn find(&self, reference: &str) -> SimResult<Vec<Receipt>> {
        let release = self.release;
        let receipt = |o: &Order, client_reference: Option<String>| Receipt {
            request_id: o.id.clone(),
            status: status_of(o, release),
            client_reference,
        };
        let ours = self.orders.iter().filter(|o| o.reference == reference);
        Ok(match self.lookup {
            LookupAnswer::Honest => ours
                .map(|o| receipt(o, Some(o.reference.clone())))
                .collect(),
            LookupAnswer::WithoutReference => ours.map(|o| receipt(o, None)).collect(),
            LookupAnswer::OtherReference => ours
                .map(|o| receipt(o, Some(format!("other-{}", o.reference))))
                .collect(),
            LookupAnswer::Duplicate => ours
                .flat_map(|o| {
                    [
                        receipt(o, Some(o.reference.clone())),
                        Receipt {
                            request_id: format!("{}-B", o.id),
                            ..receipt(o, Some(o.reference.clone()))
                        },
                    ]
                })
                .collect(),
            LookupAnswer::Unavailable => {
                return Err(SimError {
                    http_status: 503,
                    server_side: true,
                    ..SimError::client("SERVICE_UNAVAILABLE", "the look-up is unavailable")
                });
            }
        })
    }

    fn order_mut(&mut self, id: &str) -> SimResult<&mut Order> {
        self.orders
            .iter_mut()
            .find(|o| o.id == id)
            .ok_or_else(|| SimError {
                http_status: 404,
                ..SimError::client("REQUEST_UNKNOWN", format!("no request {id}"))
            })
    }

    pub(crate) fn status(&mut self, id: &str) -> SimResult<Status> {
        let release = self.release;
        let retry_after = self.config.retry_after;
        let o = self.order_mut(id)?;
        o.polls += 1;
        Ok(Status {
            request_id: o.id.clone(),
            status: status_of(o, release),
            retry_after,
            message: o.rejected.clone(),
        })
    }

    fn issued(&mut self, id: &str) -> SimResult<&Order> {
        let release = self.release;
        let o = self.order_mut(id)?;
        match status_of(o, release) {
            status @ ("PENDING" | "REJECTED") => Err(SimError {
                http_status: 409,
                status: Some(status),
                ..SimError::client(
                    "REQUEST_NOT_ISSUED",
                    format!("request {id} is not issued ({status})"),
                )
            }),
            _ => Ok(o),
        }
    }

    /// The certificate and the chain (issuing CA, root).
    pub(crate) fn certificate(&mut self, id: &str) -> SimResult<(Vec<u8>, Vec<Vec<u8>>)> {
        let chain = self.chain.clone();
        let o = self.issued(id)?;
        Ok((o.certificate.clone(), chain))
    }

    pub(crate) fn pkcs12(&mut self, id: &str) -> SimResult<(Vec<u8>, String)> {
        let o = self.issued(id)?;
        o.pkcs12.clone().ok_or_else(|| {
            SimError::client(
                "NO_PKCS12",
                format!("request {id} was a PKCS#10 request; fetch the certificate"),
            )
        })
    }

    pub(crate) fn revoke(
        &mut self,
        serial_hex: &str,
        password: &str,
        reason: Option<&str>,
    ) -> SimResult<()> {
        crate::secrets::record(crate::secrets::SecretKind::RevocationPassword, password);
        if let Some(r) = reason
            && ![
                "unspecified",
                "keyCompromise",
                "affiliationChanged",
                "superseded",
                "cessationOfOperation",
            ]
            .contains(&r)
        {
            return Err(SimError::client(
                "REVOCATION_REASON_INVALID",
                format!("unknown revocation reason {r:?}"),
            ));
        }
        let s = norm_serial(serial_hex);
        let o = self
            .orders
            .iter_mut()
            .find(|o| o.serial_hex == s)
            .ok_or_else(|| SimError {
                http_status: 404,
                ..SimError::client(
                    "CERTIFICATE_UNKNOWN",
                    format!("no certificate with serial {s}"),
                )
            })?;
        if o.revocation_password != password {
            return Err(SimError::client(
                "REVOCATION_PASSWORD_WRONG",
                "the revocation password is wrong",
            ));
        }
        o.revoked = true;
        Ok(())
    }
}

fn status_of(o: &Order, release: Release) -> &'static str {
    if o.revoked {
        return "REVOKED";
    }
    if o.rejected.is_some() {
        return "REJECTED";
    }
    let released = o.released
        || match release {
            Release::Immediately => true,
            Release::AfterDelay(d) => o.created.elapsed() >= d,
            Release::AfterPolls(n) => o.polls >= n,
            Release::Manual => false,
        };
    if released { "ISSUED" } else { "PENDING" }
}

fn norm_serial(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_uppercase()
}

fn dn_value(v: &DnValue) -> String {
    match v {
        DnValue::Utf8String(s) => s.clone(),
        DnValue::PrintableString(s) => s.as_str().to_owned(),
        DnValue::Ia5String(s) => s.as_str().to_owned(),
        DnValue::TeletexString(s) => s.as_str().to_owned(),
        other => format!("{other:?}"),
    }
}

fn key_size(csr: &CertificateSigningRequestParams) -> u32 {
    let alg = csr.public_key.algorithm();
    if *alg == rcgen::PKCS_ECDSA_P256_SHA256 {
        256
    } else if *alg == rcgen::PKCS_ECDSA_P384_SHA384 {
        384
    } else {
        // RSAPublicKey DER: the modulus dominates the length.
        let len = csr.public_key.der_bytes().len();
        let bits = u32::try_from(len.saturating_sub(14) * 8).unwrap_or(0);
        bits.div_ceil(1024) * 1024
    }
}

fn password_fits(p: &str, product: &SimProduct) -> bool {
    let n = p.chars().count();
    n >= product.password_min_length
        && n <= 64
        && p.chars().any(|c| c.is_ascii_uppercase())
        && p.chars().any(|c| c.is_ascii_lowercase())
        && p.chars().any(|c| c.is_ascii_digit())
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.!#+".contains(c))
        && (!product.password_requires_special || p.chars().any(|c| "-_.!#+".contains(c)))
}

/// A PKCS#12 holding `chain` with a private key that is not the leaf's.
fn mismatched_pkcs12(
    chain: &[Vec<u8>],
    key_pkcs8: &[u8],
    password: &str,
) -> Result<Vec<u8>, String> {
    use p12_keystore::{Certificate as P12Certificate, KeyStore, KeyStoreEntry, PrivateKeyChain};
    let e = |e: p12_keystore::error::Error| format!("PKCS#12: {e}");
    let certs = chain
        .iter()
        .map(|der| P12Certificate::from_der(der).map_err(e))
        .collect::<Result<Vec<_>, String>>()?;
    let key = p12_keystore::PrivateKey::from_der(key_pkcs8).map_err(e)?;
    let chain = PrivateKeyChain::new(vec![7u8; 20], key, certs);
    let mut store = KeyStore::new();
    store.add_entry("dtrust", KeyStoreEntry::PrivateKeyChain(chain));
    store.writer(password).write().map_err(e)
}

fn random_password() -> String {
    let mut b = [0u8; 12];
    let _ = aws_lc_rs::rand::fill(&mut b);
    let s: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("Tp{s}")
}
