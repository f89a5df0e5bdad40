//! The REST mapping (JSON over HTTPS). See docs/dtrust-wire.md.
//!
//! | operation | request | success |
//! |---|---|---|
//! | products | `GET {base}/products` | `{"products":[{"id","name","requestTypes":[..],"keySizes":[..]}]}` |
//! | submit | `POST {base}/requests` | `201 {"requestId","status"}` |
//! | find | `GET {base}/requests?clientReference=R` | `{"requests":[{"requestId","status","clientReference"}]}` |
//! | status | `GET {base}/requests/{id}` | `{"requestId","status","message"?,"retryAfterSeconds"?}` |
//! | certificate | `GET {base}/requests/{id}/certificate` | `{"certificate":b64,"chain":[b64..]}` |
//! | pkcs12 | `GET {base}/requests/{id}/pkcs12` | `{"pkcs12":b64,"password"}` |
//! | revoke | `POST {base}/certificates/{serialHex}/revocation` | `{"revoked":true}` |
//!
//! Errors: any non-2xx status with `{"errorCode","message"}`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use smartid_core::{HttpRequest, HttpResponse, Secret, SecretBytes};

use super::{
    NOT_ISSUED_CODE, Receipt, WireOrder, b64, cert_from_b64, decode_b64, invalid, path_segment,
};
use crate::error::{Error, Result};
use crate::product::{Product, RequestKind};
use crate::server_error::ServerError;
use crate::status::{
    IssuedCertificate, IssuedPkcs12, RequestStatus, RevocationReason, StatusReport,
};

#[derive(Debug, Clone)]
pub(crate) struct RestWire {
    base: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDoc {
    error_code: Option<String>,
    #[serde(default)]
    message: String,
    status: Option<String>,
}

#[derive(Deserialize)]
struct ProductsDoc {
    products: Vec<ProductDoc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductDoc {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    request_types: Vec<String>,
    #[serde(default)]
    key_sizes: Vec<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SubmitDoc<'a> {
    product_id: &'a str,
    request_type: &'a str,
    client_reference: &'a str,
    subject: BTreeMap<&'static str, &'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    emails: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pkcs10: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_password: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptDoc {
    request_id: String,
    status: String,
    #[serde(default)]
    client_reference: Option<String>,
}

#[derive(Deserialize)]
struct FindDoc {
    requests: Vec<ReceiptDoc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusDoc {
    request_id: String,
    status: String,
    message: Option<String>,
    retry_after_seconds: Option<u64>,
}

#[derive(Deserialize)]
struct CertificateDoc {
    certificate: String,
    #[serde(default)]
    chain: Vec<String>,
}

#[derive(Deserialize)]
struct Pkcs12Doc {
    pkcs12: String,
    password: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RevokeDoc<'a> {
    revocation_password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

#[derive(Deserialize)]
struct RevokedDoc {
    revoked: bool,
}

impl RestWire {
    pub(crate) fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    fn accept(req: HttpRequest) -> HttpRequest {
        req.header("Accept", "application/json")
    }

    /// Turns a non-2xx answer into a typed error; `Ok(())` for 2xx.
    fn check(operation: &'static str, r: &HttpResponse, request_id: Option<&str>) -> Result<()> {
        if r.is_success() {
            return Ok(());
        }
        match serde_json::from_slice::<ErrorDoc>(r.body()) {
            Ok(ErrorDoc {
                error_code: Some(code),
                message,
                status,
            }) => {
                if code == NOT_ISSUED_CODE {
                    return Err(Error::NotIssued {
                        request_id: request_id.unwrap_or_default().to_owned(),
                        status: RequestStatus::from_wire(status.as_deref().unwrap_or("PENDING"))
                            .to_string(),
                    });
                }
                Err(ServerError::new(&code, &message, r.status(), &r.text()).into())
            }
            _ => Err(invalid(
                operation,
                r,
                "error status without a D-Trust error document",
            )),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(
        operation: &'static str,
        r: &HttpResponse,
    ) -> Result<T> {
        serde_json::from_slice(r.body())
            .map_err(|e| invalid(operation, r, format!("expected JSON: {e}")))
    }

    pub(crate) fn list_products(&self) -> HttpRequest {
        Self::accept(HttpRequest::get(format!("{}/products", self.base)))
    }

    pub(crate) fn parse_products(&self, r: &HttpResponse) -> Result<Vec<Product>> {
        Self::check("products", r, None)?;
        let doc: ProductsDoc = Self::json("products", r)?;
        Ok(doc
            .products
            .into_iter()
            .map(|p| Product {
                id: p.id,
                name: p.name,
                request_kinds: p
                    .request_types
                    .iter()
                    .map(|k| RequestKind::from_wire(k))
                    .collect(),
                key_sizes: p.key_sizes,
            })
            .collect())
    }

    pub(crate) fn submit(&self, o: &WireOrder<'_>) -> Result<HttpRequest> {
        let doc = SubmitDoc {
            product_id: o.product_id,
            request_type: o.kind.as_wire(),
            client_reference: o.client_reference,
            subject: o.subject.attributes().into_iter().collect(),
            emails: o.emails,
            pkcs10: o.csr_der.map(b64),
            revocation_password: o.revocation_password.map(Secret::expose_secret),
        };
        let body = to_json(&doc)?;
        Ok(
            Self::accept(HttpRequest::post(format!("{}/requests", self.base)))
                .body("application/json", body),
        )
    }

    pub(crate) fn parse_submit(&self, r: &HttpResponse) -> Result<Receipt> {
        Self::check("submit", r, None)?;
        let d: ReceiptDoc = Self::json("submit", r)?;
        receipt("submit", r, d)
    }

    pub(crate) fn find(&self, reference: &str) -> HttpRequest {
        let q: String = url::form_urlencoded::byte_serialize(reference.as_bytes()).collect();
        Self::accept(HttpRequest::get(format!(
            "{}/requests?clientReference={q}",
            self.base
        )))
    }

    pub(crate) fn parse_find(&self, r: &HttpResponse) -> Result<Vec<Receipt>> {
        Self::check("find", r, None)?;
        let d: FindDoc = Self::json("find", r)?;
        d.requests
            .into_iter()
            .map(|x| receipt("find", r, x))
            .collect()
    }

    pub(crate) fn status(&self, id: &str) -> HttpRequest {
        Self::accept(HttpRequest::get(format!(
            "{}/requests/{}",
            self.base,
            path_segment(id)
        )))
    }

    pub(crate) fn parse_status(&self, r: &HttpResponse) -> Result<StatusReport> {
        Self::check("status", r, None)?;
        let d: StatusDoc = Self::json("status", r)?;
        let retry_after = d
            .retry_after_seconds
            .map(Duration::from_secs)
            .or_else(|| r.retry_after());
        Ok(StatusReport {
            request_id: d.request_id,
            status: RequestStatus::from_wire(&d.status),
            retry_after,
            message: d.message.filter(|m| !m.is_empty()),
        })
    }

    pub(crate) fn certificate(&self, id: &str) -> HttpRequest {
        Self::accept(HttpRequest::get(format!(
            "{}/requests/{}/certificate",
            self.base,
            path_segment(id)
        )))
    }

    pub(crate) fn parse_certificate(
        &self,
        r: &HttpResponse,
        id: &str,
    ) -> Result<IssuedCertificate> {
        Self::check("certificate", r, Some(id))?;
        let d: CertificateDoc = Self::json("certificate", r)?;
        let certificate = cert_from_b64("certificate", r, &d.certificate, "certificate")?;
        let chain = d
            .chain
            .iter()
            .map(|c| cert_from_b64("certificate", r, c, "chain certificate"))
            .collect::<Result<Vec<_>>>()?;
        Ok(IssuedCertificate { certificate, chain })
    }

    pub(crate) fn pkcs12(&self, id: &str) -> HttpRequest {
        Self::accept(HttpRequest::get(format!(
            "{}/requests/{}/pkcs12",
            self.base,
            path_segment(id)
        )))
    }

    pub(crate) fn parse_pkcs12(&self, r: &HttpResponse, id: &str) -> Result<IssuedPkcs12> {
        Self::check("pkcs12", r, Some(id))?;
        // Not `Self::json`: serde's message may quote a value, here the password.
        let d: Pkcs12Doc = serde_json::from_slice(r.body()).map_err(|e| {
            invalid(
                "pkcs12",
                r,
                format!(
                    "expected JSON with pkcs12 and password ({:?} error at line {}, column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let bytes = decode_b64(&d.pkcs12)
            .ok_or_else(|| invalid("pkcs12", r, "pkcs12 is not valid base64"))?;
        Ok(IssuedPkcs12 {
            pkcs12: SecretBytes::new(bytes),
            password: Secret::new(d.password),
        })
    }

    pub(crate) fn revoke(
        &self,
        serial: &str,
        password: &Secret,
        reason: Option<RevocationReason>,
    ) -> Result<HttpRequest> {
        let doc = RevokeDoc {
            revocation_password: password.expose_secret(),
            reason: reason.map(RevocationReason::as_wire),
        };
        let body = to_json(&doc)?;
        Ok(Self::accept(HttpRequest::post(format!(
            "{}/certificates/{}/revocation",
            self.base,
            path_segment(serial)
        )))
        .body("application/json", body))
    }

    pub(crate) fn parse_revoke(&self, r: &HttpResponse) -> Result<()> {
        Self::check("revoke", r, None)?;
        let d: RevokedDoc = Self::json("revoke", r)?;
        if d.revoked {
            Ok(())
        } else {
            Err(invalid("revoke", r, "the server answered revoked=false"))
        }
    }
}

fn receipt(operation: &'static str, r: &HttpResponse, d: ReceiptDoc) -> Result<Receipt> {
    if d.request_id.trim().is_empty() {
        return Err(invalid(operation, r, "empty requestId"));
    }
    Ok(Receipt {
        request_id: d.request_id,
        status: RequestStatus::from_wire(&d.status),
        client_reference: d.client_reference,
    })
}

fn to_json<T: Serialize>(doc: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(doc).map_err(|e| Error::InvalidOrder {
        field: "order",
        message: format!("cannot encode as JSON: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(status, vec![], body.as_bytes().to_vec(), "https://h/rest")
    }

    #[test]
    fn products_parse_with_kinds_and_sizes() {
        let w = RestWire::new("https://h/rest/");
        assert_eq!(w.list_products().url(), "https://h/rest/products");
        let p = w
            .parse_products(&resp(200, r#"{"products":[{"id":"1","name":"A","requestTypes":["PKCS10","pkcs#12","X"],"keySizes":[2048]}]}"#))
            .unwrap();
        assert_eq!(
            p[0].request_kinds,
            vec![
                RequestKind::Pkcs10,
                RequestKind::Pkcs12,
                RequestKind::Other("X".into())
            ]
        );
        assert_eq!(p[0].key_sizes, vec![2048]);
    }

    #[test]
    fn error_documents_become_typed_errors() {
        let w = RestWire::new("https://h");
        let e = w
            .parse_submit(&resp(
                400,
                r#"{"errorCode":"EMAILDOMAIN_DOES_NOT_FIT","message":"x"}"#,
            ))
            .unwrap_err();
        assert_eq!(
            e.server_error().map(|s| s.kind().clone()),
            Some(crate::ServerErrorKind::EmailDomainNotVerified)
        );
        let e = w
            .parse_submit(&resp(502, "<html>bad gateway</html>"))
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidResponse(ref a) if a.status == 502),
            "{e}"
        );
        let e = w
            .parse_certificate(
                &resp(
                    409,
                    r#"{"errorCode":"REQUEST_NOT_ISSUED","message":"","status":"PENDING"}"#,
                ),
                "7",
            )
            .unwrap_err();
        assert!(matches!(e, Error::NotIssued { .. }), "{e}");
        assert!(
            w.parse_submit(&resp(201, r#"{"requestId":"","status":"PENDING"}"#))
                .is_err()
        );
        assert!(w.parse_submit(&resp(201, &"[".repeat(100_000))).is_err());
    }

    #[test]
    fn unreadable_pkcs12_answers_never_show_the_password_or_the_key() {
        let w = RestWire::new("https://h");
        for body in [
            r#"{"pkcs12":"MIIK!!not-base64","password":"Tr4nsport-Secret"}"#,
            r#"{"pkcs12":"MIIKAAEC","password":7391046825}"#,
            r#"{"pkcs12":"MIIKAAEC","password":"Tr4nsport-Secret","extra":["#,
        ] {
            let e = w.parse_pkcs12(&resp(200, body), "1").unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(matches!(e, Error::InvalidResponse(_)), "{text}");
            for secret in ["Tr4nsport-Secret", "7391046825", "MIIK"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }

    #[test]
    fn status_takes_the_retry_hint_from_body_or_header() {
        let w = RestWire::new("https://h");
        let s = w
            .parse_status(&resp(
                200,
                r#"{"requestId":"1","status":"PENDING","retryAfterSeconds":90}"#,
            ))
            .unwrap();
        assert_eq!(s.retry_after, Some(Duration::from_secs(90)));
        let r = HttpResponse::new(
            200,
            vec![("Retry-After".into(), "30".into())],
            br#"{"requestId":"1","status":"ISSUED"}"#.to_vec(),
            "https://h",
        );
        let s = w.parse_status(&r).unwrap();
        assert_eq!(
            (s.status, s.retry_after),
            (RequestStatus::Issued, Some(Duration::from_secs(30)))
        );
        assert_eq!(w.status("a/b c").url(), "https://h/requests/a%2Fb%20c");
    }
}
