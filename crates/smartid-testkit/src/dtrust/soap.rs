//! The legacy SOAP front end (1.1 and 1.2, answered in the version asked),
//! shaped like a JAX-WS service: `S:`/`ns2:` prefixes, unqualified children,
//! base64 wrapped at 64 columns.

use std::fmt::Write as _;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;

use super::service::{IncomingOrder, SimError};
use super::xml::{self, Element, esc};
use super::{Shared, lock};

const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

pub(crate) fn router(s: Shared, service: &str) -> Router {
    Router::new()
        .route(&format!("/soap/{service}"), post(endpoint))
        .with_state(s)
}

fn wrapped_b64(bytes: &[u8]) -> String {
    let s = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(s.len() + s.len() / 64 + 1);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && i % 64 == 0 {
            out.push('\n');
        }
        out.push(c);
    }
    out
}

fn reply(env: &str, status: StatusCode, body_inner: &str) -> Response {
    let xml = format!(
        "<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S=\"{env}\"><S:Body>{body_inner}</S:Body></S:Envelope>"
    );
    let ct = if env == SOAP12 {
        "application/soap+xml; charset=utf-8"
    } else {
        "text/xml; charset=utf-8"
    };
    (status, [(header::CONTENT_TYPE, ct)], xml).into_response()
}

fn fault(env: &str, ns: &str, e: &SimError) -> Response {
    if e.code == super::service::GATEWAY {
        let status = StatusCode::from_u16(e.http_status).unwrap_or(StatusCode::BAD_GATEWAY);
        return (
            status,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>gateway error</body></html>",
        )
            .into_response();
    }
    let mut detail = format!(
        "<ns2:error xmlns:ns2=\"{}\"><code>{}</code><message>{}</message>",
        esc(ns),
        esc(e.code),
        esc(&e.message)
    );
    if let Some(s) = e.status {
        let _ = write!(detail, "<status>{s}</status>");
    }
    detail.push_str("</ns2:error>");
    if env == SOAP12 {
        let code = if e.server_side {
            "S:Receiver"
        } else {
            "S:Sender"
        };
        let status = if e.server_side {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::BAD_REQUEST
        };
        reply(
            env,
            status,
            &format!(
                "<S:Fault><S:Code><S:Value>{code}</S:Value></S:Code><S:Reason><S:Text xml:lang=\"en\">{}</S:Text></S:Reason><S:Detail>{detail}</S:Detail></S:Fault>",
                esc(&e.message)
            ),
        )
    } else {
        let code = if e.server_side {
            "S:Server"
        } else {
            "S:Client"
        };
        reply(
            env,
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "<S:Fault><faultcode>{code}</faultcode><faultstring>{}</faultstring><detail>{detail}</detail></S:Fault>",
                esc(&e.message)
            ),
        )
    }
}

fn client_error(message: impl Into<String>) -> SimError {
    SimError {
        code: "MALFORMED_REQUEST",
        message: message.into(),
        http_status: 400,
        server_side: false,
        status: None,
    }
}

fn action_of(headers: &HeaderMap, env: &str) -> Option<String> {
    let raw = if env == SOAP11 {
        headers.get("soapaction")?.to_str().ok()?.to_owned()
    } else {
        let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
        ct.split(';')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("action="))?
            .to_owned()
    };
    let a = raw.trim().trim_matches('"').to_owned();
    (!a.is_empty()).then_some(a)
}

async fn endpoint(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let (ns, service) = {
        let g = lock(&s);
        (
            g.config.soap_namespace.clone(),
            g.config.soap_service.clone(),
        )
    };
    let root = match xml::parse(&body) {
        Ok(r) => r,
        Err(m) => return fault(SOAP11, &ns, &client_error(format!("malformed XML: {m}"))),
    };
    let env = if root.is(SOAP11, "Envelope") {
        SOAP11
    } else if root.is(SOAP12, "Envelope") {
        SOAP12
    } else {
        return fault(
            SOAP11,
            &ns,
            &SimError {
                code: "VersionMismatch",
                ..client_error("not a SOAP 1.1 or 1.2 envelope")
            },
        );
    };
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let ct_ok = if env == SOAP11 {
        ct.starts_with("text/xml")
    } else {
        ct.starts_with("application/soap+xml")
    };
    if !ct_ok {
        return fault(
            env,
            &ns,
            &client_error(format!(
                "content type {ct:?} does not match the SOAP version"
            )),
        );
    }
    let Some(op) = root
        .children
        .iter()
        .find(|c| c.is(env, "Body"))
        .and_then(Element::first_child)
    else {
        return fault(env, &ns, &client_error("no operation in the SOAP Body"));
    };
    if op.ns.as_deref() != Some(ns.as_str()) {
        return fault(
            env,
            &ns,
            &client_error(format!(
                "unknown operation {{{}}}{}",
                op.ns.as_deref().unwrap_or(""),
                op.name
            )),
        );
    }
    let expected = format!("{}/{}/{}", ns.trim_end_matches('/'), service, op.name);
    if let Some(action) = action_of(&headers, env)
        && action != expected
    {
        return fault(
            env,
            &ns,
            &client_error(format!(
                "SOAP action {action:?} does not match the operation (expected {expected:?})"
            )),
        );
    }
    let text = |name: &str| op.child_text(&ns, name).unwrap_or_default();
    let respond = |name: &str, inner: String| {
        reply(
            env,
            StatusCode::OK,
            &format!(
                "<ns2:{name}Response xmlns:ns2=\"{}\">{inner}</ns2:{name}Response>",
                esc(&ns)
            ),
        )
    };
    match op.name.as_str() {
        "getProducts" => {
            let mut x = String::new();
            for p in lock(&s).products() {
                let _ = write!(
                    x,
                    "<product><id>{}</id><name>{}</name>",
                    esc(&p.id),
                    esc(&p.name)
                );
                for t in &p.request_types {
                    let _ = write!(x, "<requestType>{}</requestType>", esc(t));
                }
                for k in &p.key_sizes {
                    let _ = write!(x, "<keySize>{k}</keySize>");
                }
                x.push_str("</product>");
            }
            respond("getProducts", x)
        }
        "submitRequest" => {
            let pkcs10 = match op.child(&ns, "pkcs10") {
                Some(el) => {
                    let clean: String = el
                        .text
                        .chars()
                        .filter(|c| !c.is_ascii_whitespace())
                        .collect();
                    match base64::engine::general_purpose::STANDARD.decode(clean) {
                        Ok(d) => Some(d),
                        Err(_) => return fault(env, &ns, &client_error("pkcs10 is not base64")),
                    }
                }
                None => None,
            };
            let order = IncomingOrder {
                product_id: text("productId"),
                request_type: text("requestType"),
                client_reference: text("clientReference"),
                subject: op
                    .child(&ns, "subject")
                    .map(|sub| {
                        sub.children
                            .iter()
                            .map(|c| (c.name.clone(), c.text.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
                emails: op
                    .children_named(&ns, "email")
                    .map(|e| e.text.trim().to_owned())
                    .collect(),
                pkcs10,
                revocation_password: op.child(&ns, "revocationPassword").map(|p| p.text.clone()),
            };
            match super::submit_delayed(&s, order).await {
                Ok(r) => respond(
                    "submitRequest",
                    format!(
                        "<requestId>{}</requestId><status>{}</status>",
                        esc(&r.request_id),
                        r.status
                    ),
                ),
                Err(e) => fault(env, &ns, &e),
            }
        }
        "findRequests" => {
            let reference = text("clientReference");
            let found = lock(&s).find(&reference);
            match found {
                Ok(found) => {
                    let mut x = String::new();
                    for r in found {
                        let _ = write!(
                            x,
                            "<request><requestId>{}</requestId><status>{}</status>",
                            esc(&r.request_id),
                            r.status
                        );
                        if let Some(c) = r.client_reference {
                            let _ = write!(x, "<clientReference>{}</clientReference>", esc(&c));
                        }
                        x.push_str("</request>");
                    }
                    respond("findRequests", x)
                }
                Err(e) => fault(env, &ns, &e),
            }
        }
        "getRequestStatus" => {
            let result = lock(&s).status(&text("requestId"));
            match result {
                Ok(st) => {
                    let mut x = format!(
                        "<requestId>{}</requestId><status>{}</status>",
                        esc(&st.request_id),
                        st.status
                    );
                    if let Some(m) = &st.message {
                        let _ = write!(x, "<message>{}</message>", esc(m));
                    }
                    if let (Some(d), "PENDING") = (st.retry_after, st.status) {
                        let _ = write!(x, "<retryAfterSeconds>{}</retryAfterSeconds>", d.as_secs());
                    }
                    respond("getRequestStatus", x)
                }
                Err(e) => fault(env, &ns, &e),
            }
        }
        "getCertificate" => {
            let result = lock(&s).certificate(&text("requestId"));
            match result {
                Ok((cert, chain)) => {
                    let mut x = format!("<certificate>{}</certificate>", wrapped_b64(&cert));
                    for c in chain {
                        let _ = write!(
                            x,
                            "<chainCertificate>{}</chainCertificate>",
                            wrapped_b64(&c)
                        );
                    }
                    respond("getCertificate", x)
                }
                Err(e) => fault(env, &ns, &e),
            }
        }
        "getPkcs12" => {
            let result = lock(&s).pkcs12(&text("requestId"));
            match result {
                Ok((p12, password)) => respond(
                    "getPkcs12",
                    format!(
                        "<pkcs12>{}</pkcs12><password>{}</password>",
                        wrapped_b64(&p12),
                        esc(&password)
                    ),
                ),
                Err(e) => fault(env, &ns, &e),
            }
        }
        "revokeCertificate" => {
            let reason = op.child_text(&ns, "reason");
            let password = op
                .child(&ns, "revocationPassword")
                .map(|p| p.text.clone())
                .unwrap_or_default();
            let result = lock(&s).revoke(&text("serialNumber"), &password, reason.as_deref());
            match result {
                Ok(()) => respond("revokeCertificate", "<revoked>true</revoked>".into()),
                Err(e) => fault(env, &ns, &e),
            }
        }
        other => fault(
            env,
            &ns,
            &client_error(format!("unknown operation {other}")),
        ),
    }
}
