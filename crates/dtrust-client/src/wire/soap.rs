//! The legacy SOAP mapping (SOAP 1.1 and 1.2, document/literal). See
//! docs/dtrust-wire.md.
//!
//! Operation elements are in the service namespace (`namespaceURI`); their
//! children may be qualified with it or unqualified. The action is
//! `{namespaceURI}/{localPart}/{operation}` (SOAP 1.1 `SOAPAction` header,
//! SOAP 1.2 `action` parameter of the content type).
//!
//! | operation | request element | response element |
//! |---|---|---|
//! | products | `getProducts` | `getProductsResponse/product*(id,name,requestType*,keySize*)` |
//! | submit | `submitRequest(productId,requestType,clientReference,subject(C,ST,L,O,OU,organizationIdentifier,serialNumber,emailAddress,CN),email*,pkcs10?,revocationPassword?)` | `submitRequestResponse(requestId,status)` |
//! | find | `findRequests(clientReference)` | `findRequestsResponse/request*(requestId,status,clientReference?)` |
//! | status | `getRequestStatus(requestId)` | `getRequestStatusResponse(requestId,status,message?,retryAfterSeconds?)` |
//! | certificate | `getCertificate(requestId)` | `getCertificateResponse(certificate,chainCertificate*)` |
//! | pkcs12 | `getPkcs12(requestId)` | `getPkcs12Response(pkcs12,password)` |
//! | revoke | `revokeCertificate(serialNumber,revocationPassword,reason?)` | `revokeCertificateResponse(revoked)` |
//!
//! Faults: the D-Trust code in `detail/error/code` (1.1) or
//! `Detail/error/code` (1.2), the text in `faultstring` / `Reason/Text`.

use std::fmt::Write as _;
use std::time::Duration;

use smartid_core::{HttpRequest, HttpResponse, Secret, SecretBytes};

use super::xml::{self, Element, esc};
use super::{NOT_ISSUED_CODE, Receipt, WireOrder, b64, cert_from_b64, decode_b64, invalid};
use crate::config::SoapVersion;
use crate::error::{Error, Result};
use crate::product::{Product, RequestKind};
use crate::server_error::ServerError;
use crate::status::{
    IssuedCertificate, IssuedPkcs12, RequestStatus, RevocationReason, StatusReport,
};

/// SOAP 1.1 envelope namespace.
pub(crate) const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope namespace.
pub(crate) const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";

#[derive(Debug, Clone)]
pub(crate) struct SoapWire {
    endpoint: String,
    ns: String,
    local_part: String,
    version: SoapVersion,
}

impl SoapWire {
    pub(crate) fn new(endpoint: &str, ns: &str, local_part: &str, version: SoapVersion) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            ns: ns.to_owned(),
            local_part: local_part.to_owned(),
            version,
        }
    }

    fn action(&self, op: &str) -> String {
        format!("{}/{}/{op}", self.ns.trim_end_matches('/'), self.local_part)
    }

    /// Builds the request for `op` with the already-escaped inner XML.
    fn envelope(&self, op: &str, inner: &str) -> HttpRequest {
        let env_ns = match self.version {
            SoapVersion::V11 => SOAP11_NS,
            SoapVersion::V12 => SOAP12_NS,
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <soap:Envelope xmlns:soap=\"{env_ns}\" xmlns:dt=\"{}\"><soap:Header/><soap:Body>\
             <dt:{op}>{inner}</dt:{op}></soap:Body></soap:Envelope>",
            esc(&self.ns)
        );
        let action = self.action(op);
        let req = HttpRequest::post(self.endpoint.clone());
        match self.version {
            SoapVersion::V11 => req
                .header("SOAPAction", format!("\"{action}\""))
                .body("text/xml; charset=utf-8", body),
            SoapVersion::V12 => req.body(
                &format!("application/soap+xml; charset=utf-8; action=\"{action}\""),
                body,
            ),
        }
    }

    /// Checks the answer and returns the operation's response element.
    fn response(
        &self,
        operation: &'static str,
        op: &str,
        r: &HttpResponse,
        request_id: Option<&str>,
    ) -> Result<Element> {
        let ct = r.header("content-type").unwrap_or_default().to_owned();
        if ct.to_ascii_lowercase().contains("multipart/related") {
            return Err(Error::MtomNotSupported {
                operation,
                content_type: ct,
            });
        }
        let root = xml::parse(r.body()).map_err(|m| invalid(operation, r, m.to_string()))?;
        let env_ns = if root.is(SOAP11_NS, "Envelope") {
            SOAP11_NS
        } else if root.is(SOAP12_NS, "Envelope") {
            SOAP12_NS
        } else {
            return Err(invalid(
                operation,
                r,
                format!(
                    "not a SOAP envelope (root element {{{}}}{})",
                    root.ns.as_deref().unwrap_or(""),
                    root.name
                ),
            ));
        };
        let body = root
            .children
            .iter()
            .find(|c| c.is(env_ns, "Body"))
            .ok_or_else(|| invalid(operation, r, "SOAP envelope without Body"))?;
        let first = body
            .first_child()
            .ok_or_else(|| invalid(operation, r, "empty SOAP Body"))?;
        if first.is(env_ns, "Fault") {
            return Err(self.fault(env_ns, first, r, request_id));
        }
        let wanted = format!("{op}Response");
        if !first.is(&self.ns, &wanted) {
            return Err(invalid(
                operation,
                r,
                format!(
                    "expected {{{}}}{wanted}, found {{{}}}{}",
                    self.ns,
                    first.ns.as_deref().unwrap_or(""),
                    first.name
                ),
            ));
        }
        if !r.is_success() {
            return Err(invalid(operation, r, "error status without a SOAP Fault"));
        }
        Ok(first.clone())
    }

    fn fault(
        &self,
        env_ns: &str,
        fault: &Element,
        r: &HttpResponse,
        request_id: Option<&str>,
    ) -> Error {
        let (fault_code, text, detail) = if env_ns == SOAP11_NS {
            // Unqualified as SOAP 1.1 says, or in the envelope's namespace
            // when the envelope declares it as the default namespace.
            (
                fault
                    .child(env_ns, "faultcode")
                    .map(|c| c.text.trim().to_owned()),
                fault
                    .child(env_ns, "faultstring")
                    .map(|c| c.text.trim().to_owned()),
                fault.child(env_ns, "detail"),
            )
        } else {
            let code = fault.child(env_ns, "Code");
            let value = code
                .and_then(|c| {
                    c.child(env_ns, "Subcode")
                        .and_then(|s| s.child(env_ns, "Value"))
                })
                .or_else(|| code.and_then(|c| c.child(env_ns, "Value")))
                .map(|v| v.text.trim().to_owned());
            let reason = fault
                .child(env_ns, "Reason")
                .and_then(|x| x.child(env_ns, "Text"))
                .map(|t| t.text.trim().to_owned());
            (value, reason, fault.child(env_ns, "Detail"))
        };
        let detail_code = detail
            .and_then(|d| d.descendant("code"))
            .map(|c| c.text.trim().to_owned());
        let detail_message = detail
            .and_then(|d| d.descendant("message"))
            .map(|c| c.text.trim().to_owned());
        let code = detail_code
            .or_else(|| fault_code.map(|c| c.rsplit(':').next().unwrap_or_default().to_owned()))
            .unwrap_or_default();
        let message = text.or(detail_message).unwrap_or_default();
        if code == NOT_ISSUED_CODE {
            let status = detail
                .and_then(|d| d.descendant("status"))
                .map(|s| RequestStatus::from_wire(&s.text).to_string())
                .unwrap_or_else(|| RequestStatus::Pending.to_string());
            return Error::NotIssued {
                request_id: request_id.unwrap_or_default().to_owned(),
                status,
            };
        }
        ServerError::new(&code, &message, r.status(), &r.text()).into()
    }

    fn text(
        &self,
        operation: &'static str,
        r: &HttpResponse,
        el: &Element,
        name: &str,
    ) -> Result<String> {
        el.child_text(&self.ns, name)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| invalid(operation, r, format!("{name} missing in {}", el.name)))
    }

    pub(crate) fn list_products(&self) -> HttpRequest {
        self.envelope("getProducts", "")
    }

    pub(crate) fn parse_products(&self, r: &HttpResponse) -> Result<Vec<Product>> {
        let resp = self.response("products", "getProducts", r, None)?;
        resp.children_named(&self.ns, "product")
            .map(|p| {
                let key_sizes = p
                    .children_named(&self.ns, "keySize")
                    .map(|k| {
                        k.text.trim().parse::<u32>().map_err(|_| {
                            invalid(
                                "products",
                                r,
                                format!("keySize {:?} is not a number", k.text),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Product {
                    id: self.text("products", r, p, "id")?,
                    name: p.child_text(&self.ns, "name").unwrap_or_default(),
                    request_kinds: p
                        .children_named(&self.ns, "requestType")
                        .map(|k| RequestKind::from_wire(k.text.trim()))
                        .collect(),
                    key_sizes,
                })
            })
            .collect()
    }

    pub(crate) fn submit(&self, o: &WireOrder<'_>) -> HttpRequest {
        let mut x = String::new();
        let _ = write!(
            x,
            "<dt:productId>{}</dt:productId><dt:requestType>{}</dt:requestType>\
             <dt:clientReference>{}</dt:clientReference><dt:subject>",
            esc(o.product_id),
            esc(o.kind.as_wire()),
            esc(o.client_reference)
        );
        for (k, v) in o.subject.attributes() {
            let _ = write!(x, "<dt:{k}>{}</dt:{k}>", esc(v));
        }
        x.push_str("</dt:subject>");
        for e in o.emails {
            let _ = write!(x, "<dt:email>{}</dt:email>", esc(e));
        }
        if let Some(csr) = o.csr_der {
            let _ = write!(x, "<dt:pkcs10>{}</dt:pkcs10>", b64(csr));
        }
        if let Some(p) = o.revocation_password {
            let _ = write!(
                x,
                "<dt:revocationPassword>{}</dt:revocationPassword>",
                esc(p.expose_secret())
            );
        }
        self.envelope("submitRequest", &x)
    }

    fn receipt(&self, operation: &'static str, r: &HttpResponse, el: &Element) -> Result<Receipt> {
        Ok(Receipt {
            request_id: self.text(operation, r, el, "requestId")?,
            status: RequestStatus::from_wire(&self.text(operation, r, el, "status")?),
            client_reference: el
                .child_text(&self.ns, "clientReference")
                .filter(|c| !c.is_empty()),
        })
    }

    pub(crate) fn parse_submit(&self, r: &HttpResponse) -> Result<Receipt> {
        let resp = self.response("submit", "submitRequest", r, None)?;
        self.receipt("submit", r, &resp)
    }

    pub(crate) fn find(&self, reference: &str) -> HttpRequest {
        self.envelope(
            "findRequests",
            &format!(
                "<dt:clientReference>{}</dt:clientReference>",
                esc(reference)
            ),
        )
    }

    pub(crate) fn parse_find(&self, r: &HttpResponse) -> Result<Vec<Receipt>> {
        let resp = self.response("find", "findRequests", r, None)?;
        resp.children_named(&self.ns, "request")
            .map(|el| self.receipt("find", r, el))
            .collect()
    }

    fn by_id(&self, op: &str, id: &str) -> HttpRequest {
        self.envelope(op, &format!("<dt:requestId>{}</dt:requestId>", esc(id)))
    }

    pub(crate) fn status(&self, id: &str) -> HttpRequest {
        self.by_id("getRequestStatus", id)
    }

    pub(crate) fn parse_status(&self, r: &HttpResponse) -> Result<StatusReport> {
        let resp = self.response("status", "getRequestStatus", r, None)?;
        let retry_after = match resp.child_text(&self.ns, "retryAfterSeconds") {
            Some(s) if !s.is_empty() => {
                Some(Duration::from_secs(s.parse::<u64>().map_err(|_| {
                    invalid(
                        "status",
                        r,
                        format!("retryAfterSeconds {s:?} is not a number"),
                    )
                })?))
            }
            _ => r.retry_after(),
        };
        Ok(StatusReport {
            request_id: self.text("status", r, &resp, "requestId")?,
            status: RequestStatus::from_wire(&self.text("status", r, &resp, "status")?),
            retry_after,
            message: resp
                .child_text(&self.ns, "message")
                .filter(|m| !m.is_empty()),
        })
    }

    pub(crate) fn certificate(&self, id: &str) -> HttpRequest {
        self.by_id("getCertificate", id)
    }

    pub(crate) fn parse_certificate(
        &self,
        r: &HttpResponse,
        id: &str,
    ) -> Result<IssuedCertificate> {
        let resp = self.response("certificate", "getCertificate", r, Some(id))?;
        let cert = self.text("certificate", r, &resp, "certificate")?;
        let certificate = cert_from_b64("certificate", r, &cert, "certificate")?;
        let chain = resp
            .children_named(&self.ns, "chainCertificate")
            .map(|c| cert_from_b64("certificate", r, &c.text, "chain certificate"))
            .collect::<Result<Vec<_>>>()?;
        Ok(IssuedCertificate { certificate, chain })
    }

    pub(crate) fn pkcs12(&self, id: &str) -> HttpRequest {
        self.by_id("getPkcs12", id)
    }

    pub(crate) fn parse_pkcs12(&self, r: &HttpResponse, id: &str) -> Result<IssuedPkcs12> {
        let resp = self.response("pkcs12", "getPkcs12", r, Some(id))?;
        let data = self.text("pkcs12", r, &resp, "pkcs12")?;
        let bytes =
            decode_b64(&data).ok_or_else(|| invalid("pkcs12", r, "pkcs12 is not valid base64"))?;
        let password = resp
            .child(&self.ns, "password")
            .map(|p| Secret::new(p.text.clone()))
            .ok_or_else(|| invalid("pkcs12", r, "password missing"))?;
        Ok(IssuedPkcs12 {
            pkcs12: SecretBytes::new(bytes),
            password,
        })
    }

    pub(crate) fn revoke(
        &self,
        serial: &str,
        password: &Secret,
        reason: Option<RevocationReason>,
    ) -> HttpRequest {
        let mut x = format!(
            "<dt:serialNumber>{}</dt:serialNumber><dt:revocationPassword>{}</dt:revocationPassword>",
            esc(serial),
            esc(password.expose_secret())
        );
        if let Some(reason) = reason {
            let _ = write!(x, "<dt:reason>{}</dt:reason>", reason.as_wire());
        }
        self.envelope("revokeCertificate", &x)
    }

    pub(crate) fn parse_revoke(&self, r: &HttpResponse) -> Result<()> {
        let resp = self.response("revoke", "revokeCertificate", r, None)?;
        match resp.child_text(&self.ns, "revoked").as_deref() {
            Some("true") | Some("1") => Ok(()),
            other => Err(invalid(
                "revoke",
                r,
                format!("revoked is {other:?}, expected true"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "http://ws.dtrust.test/csm";

    fn wire(v: SoapVersion) -> SoapWire {
        SoapWire::new("https://h/soap", NS, "CertificateService", v)
    }

    fn resp(status: u16, ct: &str, body: &str) -> HttpResponse {
        HttpResponse::new(
            status,
            vec![("Content-Type".into(), ct.into())],
            body.as_bytes().to_vec(),
            "https://h/soap",
        )
    }

    #[test]
    fn requests_carry_version_specific_headers() {
        let r = wire(SoapVersion::V11).list_products();
        assert_eq!(
            r.header_value("SOAPAction"),
            Some("\"http://ws.dtrust.test/csm/CertificateService/getProducts\"")
        );
        assert!(
            r.header_value("Content-Type")
                .unwrap()
                .starts_with("text/xml")
        );
        let r = wire(SoapVersion::V12).list_products();
        let ct = r.header_value("Content-Type").unwrap();
        assert!(
            ct.starts_with("application/soap+xml") && ct.contains("action=\""),
            "{ct}"
        );
        let body = String::from_utf8(r.body_bytes().unwrap().to_vec()).unwrap();
        assert!(body.contains(SOAP12_NS));
    }

    #[test]
    fn prefixes_do_not_matter_and_base64_may_wrap() {
        let body = format!(
            r#"<x:Envelope xmlns:x="{SOAP11_NS}"><x:Body><q:getPkcs12Response xmlns:q="{NS}"><pkcs12>AAEC
AwQ=</pkcs12><q:password>p&amp;w</q:password></q:getPkcs12Response></x:Body></x:Envelope>"#
        );
        let p = wire(SoapVersion::V11)
            .parse_pkcs12(&resp(200, "text/xml", &body), "1")
            .unwrap();
        assert_eq!(p.pkcs12.expose_secret(), &[0, 1, 2, 3, 4]);
        assert_eq!(p.password.expose_secret(), "p&w");
        // Same local name, wrong namespace URI: refused.
        let wrong = body.replace(NS, "urn:other");
        assert!(
            wire(SoapVersion::V11)
                .parse_pkcs12(&resp(200, "text/xml", &wrong), "1")
                .is_err()
        );
    }

    #[test]
    fn unreadable_pkcs12_answers_never_show_the_password_or_the_key() {
        for (status, inner) in [
            (
                200,
                "<pkcs12>MIIK!!not-base64</pkcs12><password>Tr4nsport-Secret</password>",
            ),
            (200, "<password>Tr4nsport-Secret</password>"),
            (
                500,
                "<pkcs12>MIIKAAEC</pkcs12><password>Tr4nsport-Secret</password>",
            ),
        ] {
            let body = format!(
                r#"<S:Envelope xmlns:S="{SOAP11_NS}"><S:Body><q:getPkcs12Response xmlns:q="{NS}">{inner}</q:getPkcs12Response></S:Body></S:Envelope>"#
            );
            let e = wire(SoapVersion::V11)
                .parse_pkcs12(&resp(status, "text/xml", &body), "1")
                .unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(matches!(e, Error::InvalidResponse(_)), "{text}");
            for secret in ["Tr4nsport-Secret", "MIIK"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }

    #[test]
    fn faults_are_found_whatever_the_status() {
        let f11 = format!(
            r#"<S:Envelope xmlns:S="{SOAP11_NS}"><S:Body><S:Fault><faultcode>S:Client</faultcode><faultstring>CN bad</faultstring><detail><d:error xmlns:d="{NS}"><d:code>GENERIC_RDN_REGEXERROR</d:code></d:error></detail></S:Fault></S:Body></S:Envelope>"#
        );
        for status in [200, 500] {
            let e = wire(SoapVersion::V11)
                .parse_submit(&resp(status, "text/xml", &f11))
                .unwrap_err();
            assert_eq!(
                e.server_error().unwrap().kind(),
                &crate::ServerErrorKind::RdnPattern
            );
        }
        // The envelope's namespace as the default one: faultcode and detail inherit it.
        let default_ns = format!(
            r#"<Envelope xmlns="{SOAP11_NS}"><Body><Fault><faultcode>Client</faultcode><faultstring>CN bad</faultstring><detail><error xmlns="{NS}"><code>GENERIC_RDN_REGEXERROR</code></error></detail></Fault></Body></Envelope>"#
        );
        let e = wire(SoapVersion::V11)
            .parse_submit(&resp(500, "text/xml", &default_ns))
            .unwrap_err();
        let se = e.server_error().unwrap();
        assert_eq!(
            (se.kind(), se.message()),
            (&crate::ServerErrorKind::RdnPattern, "CN bad")
        );
        let f12 = format!(
            r#"<e:Envelope xmlns:e="{SOAP12_NS}"><e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value></e:Code><e:Reason><e:Text xml:lang="en">Invalid request (certificate request type does not seem to match its content)</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>"#
        );
        let e = wire(SoapVersion::V12)
            .parse_submit(&resp(400, "application/soap+xml", &f12))
            .unwrap_err();
        assert_eq!(
            e.server_error().unwrap().kind(),
            &crate::ServerErrorKind::RequestKindMismatch
        );
        assert_eq!(e.server_error().unwrap().code(), "Sender");
    }

    #[test]
    fn mtom_and_non_envelopes_are_refused() {
        let e = wire(SoapVersion::V11)
            .parse_products(&resp(
                200,
                "multipart/related; type=\"application/xop+xml\"",
                "--x",
            ))
            .unwrap_err();
        assert!(matches!(e, Error::MtomNotSupported { .. }));
        let e = wire(SoapVersion::V11)
            .parse_products(&resp(200, "text/xml", "<html/>"))
            .unwrap_err();
        assert!(e.to_string().contains("not a SOAP envelope"), "{e}");
        let e = wire(SoapVersion::V11)
            .parse_products(&resp(
                500,
                "text/xml",
                &format!(r#"<S:Envelope xmlns:S="{SOAP11_NS}"><S:Body><x/></S:Body></S:Envelope>"#),
            ))
            .unwrap_err();
        assert!(e.to_string().contains("expected"), "{e}");
    }
}
