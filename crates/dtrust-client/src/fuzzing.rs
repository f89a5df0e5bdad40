//! Entry points for the fuzz targets in `fuzz/` and for the replay of their
//! committed corpora (`tests/fuzz_replay.rs`). **Not part of the public
//! API**: no stability promise.
//!
//! An input is one server answer: its first byte picks the HTTP status
//! (see `STATUSES`) and the rest is the body. Every parser of the
//! transport reads it (products, submit, find, status, certificate,
//! PKCS#12, revoke), as the client does after each request, and every
//! error is rendered, so that a panic anywhere on that path shows.

use smartid_core::HttpResponse;

use crate::wire::rest::RestWire;
use crate::wire::soap::SoapWire;
use crate::{SoapVersion, wire::Wire};

/// The HTTP statuses the first input byte chooses from (byte modulo length).
pub const STATUSES: [u16; 8] = [200, 201, 202, 400, 404, 409, 500, 503];

/// The namespace the SOAP seeds use (the simulator's default).
pub const SOAP_NAMESPACE: &str = "http://ws.csm.d-trust.test/";

fn response(data: &[u8], content_type: &str) -> HttpResponse {
    let (status, body) = match data.split_first() {
        Some((first, rest)) => (STATUSES[usize::from(*first) % STATUSES.len()], rest),
        None => (200, data),
    };
    HttpResponse::new(
        status,
        vec![
            ("Content-Type".into(), content_type.into()),
            ("Retry-After".into(), "7".into()),
        ],
        body.to_vec(),
        "https://dtrust.fuzz.invalid/",
    )
}

fn all_parsers(wire: &Wire, r: &HttpResponse) {
    fn show<T: std::fmt::Debug>(result: crate::Result<T>) {
        match result {
            Ok(v) => {
                let _ = format!("{v:?}");
            }
            Err(e) => {
                let _ = format!("{e} {e:?}");
            }
        }
    }
    show(wire.parse_products(r));
    show(wire.parse_submit(r));
    show(wire.parse_find(r));
    show(wire.parse_status(r));
    match wire.parse_certificate(r, "1") {
        Ok(issued) => {
            let _ = (issued.issuer_is_in_chain(), issued.is_for_key(&[]));
            let _ = issued.certificate.not_after_rfc3339();
        }
        Err(e) => {
            let _ = format!("{e} {e:?}");
        }
    }
    match wire.parse_pkcs12(r, "1") {
        Ok(p12) => {
            let _ = p12.to_identity("fuzz.p12").map_err(|e| e.to_string());
        }
        Err(e) => {
            let _ = format!("{e}");
        }
    }
    show(wire.parse_revoke(r));
}

/// A REST answer (JSON) through every REST parser.
pub fn dtrust_rest_answer(data: &[u8]) {
    let wire = Wire::Rest(RestWire::new("https://dtrust.fuzz.invalid/rest"));
    all_parsers(&wire, &response(data, "application/json"));
}

/// A SOAP envelope through every SOAP parser, as SOAP 1.1 and 1.2, and
/// through the bounded XML reader alone.
pub fn soap_envelope(data: &[u8]) {
    for (version, content_type) in [
        (SoapVersion::V11, "text/xml; charset=utf-8"),
        (SoapVersion::V12, "application/soap+xml; charset=utf-8"),
    ] {
        let wire = Wire::Soap(SoapWire::new(
            "https://dtrust.fuzz.invalid/soap",
            SOAP_NAMESPACE,
            "CSMService",
            version,
        ));
        all_parsers(&wire, &response(data, content_type));
    }
    let body = data.get(1..).unwrap_or_default();
    let _ = crate::wire::xml::parse(body).map(|e| e.children.len());
}
