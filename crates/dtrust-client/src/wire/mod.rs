//! The wire mappings, one module per transport. Everything about paths,
//! field names and envelopes lives here (and in docs/dtrust-wire.md), so
//! that aligning with D-Trust's real interface touches only these files.

pub(crate) mod rest;
pub(crate) mod soap;
pub(crate) mod xml;

use base64::Engine as _;
use smartid_core::{Certificate, HttpRequest, HttpResponse, Secret, UnexpectedAnswer};

use crate::config::Transport;
use crate::error::{Error, Result};
use crate::order::SubjectDn;
use crate::product::{Product, RequestKind};
use crate::status::{
    IssuedCertificate, IssuedPkcs12, RequestStatus, RevocationReason, StatusReport,
};

/// An order as it goes on the wire (the revocation password resolved).
pub(crate) struct WireOrder<'a> {
    pub(crate) product_id: &'a str,
    pub(crate) kind: &'a RequestKind,
    pub(crate) subject: &'a SubjectDn,
    pub(crate) csr_der: Option<&'a [u8]>,
    pub(crate) emails: &'a [String],
    pub(crate) revocation_password: Option<&'a Secret>,
    pub(crate) client_reference: &'a str,
}

/// The answer to a submission or a look-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Receipt {
    pub(crate) request_id: String,
    pub(crate) status: RequestStatus,
    /// The client reference, when the answer names it.
    pub(crate) client_reference: Option<String>,
}

/// The transport's request builders and response parsers.
#[derive(Debug, Clone)]
pub(crate) enum Wire {
    Rest(rest::RestWire),
    Soap(soap::SoapWire),
}

impl Wire {
    /// The one dispatch from the public [`Transport`] to its wire mapping.
    pub(crate) fn new(transport: &Transport) -> Self {
        match transport {
            Transport::Rest { url } => Self::Rest(rest::RestWire::new(url)),
            Transport::Soap {
                endpoint,
                service,
                version,
            } => Self::Soap(soap::SoapWire::new(
                endpoint,
                &service.namespace_uri,
                &service.local_part,
                *version,
            )),
        }
    }

    pub(crate) fn list_products(&self) -> HttpRequest {
        match self {
            Self::Rest(w) => w.list_products(),
            Self::Soap(w) => w.list_products(),
        }
    }
    pub(crate) fn parse_products(&self, r: &HttpResponse) -> Result<Vec<Product>> {
        match self {
            Self::Rest(w) => w.parse_products(r),
            Self::Soap(w) => w.parse_products(r),
        }
    }
    pub(crate) fn submit(&self, o: &WireOrder<'_>) -> Result<HttpRequest> {
        match self {
            Self::Rest(w) => w.submit(o),
            Self::Soap(w) => Ok(w.submit(o)),
        }
    }
    pub(crate) fn parse_submit(&self, r: &HttpResponse) -> Result<Receipt> {
        match self {
            Self::Rest(w) => w.parse_submit(r),
            Self::Soap(w) => w.parse_submit(r),
        }
    }
    pub(crate) fn find(&self, reference: &str) -> HttpRequest {
        match self {
            Self::Rest(w) => w.find(reference),
            Self::Soap(w) => w.find(reference),
        }
    }
    pub(crate) fn parse_find(&self, r: &HttpResponse) -> Result<Vec<Receipt>> {
        match self {
            Self::Rest(w) => w.parse_find(r),
            Self::Soap(w) => w.parse_find(r),
        }
    }
    pub(crate) fn status(&self, id: &str) -> HttpRequest {
        match self {
            Self::Rest(w) => w.status(id),
            Self::Soap(w) => w.status(id),
        }
    }
    pub(crate) fn parse_status(&self, r: &HttpResponse) -> Result<StatusReport> {
        match self {
            Self::Rest(w) => w.parse_status(r),
            Self::Soap(w) => w.parse_status(r),
        }
    }
    pub(crate) fn certificate(&self, id: &str) -> HttpRequest {
        match self {
            Self::Rest(w) => w.certificate(id),
            Self::Soap(w) => w.certificate(id),
        }
    }
    pub(crate) fn parse_certificate(
        &self,
        r: &HttpResponse,
        id: &str,
    ) -> Result<IssuedCertificate> {
        match self {
            Self::Rest(w) => w.parse_certificate(r, id),
            Self::Soap(w) => w.parse_certificate(r, id),
        }
    }
    pub(crate) fn pkcs12(&self, id: &str) -> HttpRequest {
        match self {
            Self::Rest(w) => w.pkcs12(id),
            Self::Soap(w) => w.pkcs12(id),
        }
    }
    pub(crate) fn parse_pkcs12(&self, r: &HttpResponse, id: &str) -> Result<IssuedPkcs12> {
        match self {
            Self::Rest(w) => w.parse_pkcs12(r, id),
            Self::Soap(w) => w.parse_pkcs12(r, id),
        }
    }
    pub(crate) fn revoke(
        &self,
        serial: &str,
        password: &Secret,
        reason: Option<RevocationReason>,
    ) -> Result<HttpRequest> {
        match self {
            Self::Rest(w) => w.revoke(serial, password, reason),
            Self::Soap(w) => Ok(w.revoke(serial, password, reason)),
        }
    }
    pub(crate) fn parse_revoke(&self, r: &HttpResponse) -> Result<()> {
        match self {
            Self::Rest(w) => w.parse_revoke(r),
            Self::Soap(w) => w.parse_revoke(r),
        }
    }
}

/// The error code with which both transports say "not issued yet".
pub(crate) const NOT_ISSUED_CODE: &str = "REQUEST_NOT_ISSUED";

/// The operation whose answers carry a PKCS#12 and its transport password:
/// their bodies never go into an error.
pub(crate) const PKCS12_OPERATION: &str = "pkcs12";

pub(crate) fn invalid(
    operation: &'static str,
    r: &HttpResponse,
    message: impl Into<String>,
) -> Error {
    let mut answer = UnexpectedAnswer::new(r, format!("{operation}: {}", message.into()));
    if operation == PKCS12_OPERATION {
        answer.body = format!(
            "{}; {} bytes]",
            crate::error::PKCS12_BODY_NOT_SHOWN,
            r.body().len()
        );
    }
    Error::InvalidResponse(answer)
}

/// Decodes base64 that may contain line breaks and other white space.
pub(crate) fn decode_b64(text: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn cert_from_b64(
    operation: &'static str,
    r: &HttpResponse,
    text: &str,
    what: &str,
) -> Result<Certificate> {
    let der = decode_b64(text)
        .ok_or_else(|| invalid(operation, r, format!("{what} is not valid base64")))?;
    Certificate::from_der(&der, what).map_err(|e| invalid(operation, r, format!("{what}: {e}")))
}

/// Percent-encodes one URL path segment.
pub(crate) fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
