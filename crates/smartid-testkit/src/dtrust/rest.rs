//! The REST front end (JSON).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

use super::service::{IncomingOrder, SimError};
use super::{Shared, lock};

pub(crate) fn router(s: Shared) -> Router {
    Router::new()
        .route("/rest/v1/products", get(products))
        .route("/rest/v1/requests", post(submit).get(find))
        .route("/rest/v1/requests/{id}", get(status))
        .route("/rest/v1/requests/{id}/certificate", get(certificate))
        .route("/rest/v1/requests/{id}/pkcs12", get(pkcs12))
        .route("/rest/v1/certificates/{serial}/revocation", post(revoke))
        .with_state(s)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn ok(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

fn error(e: &SimError) -> Response {
    if e.code == super::service::GATEWAY {
        let status = StatusCode::from_u16(e.http_status).unwrap_or(StatusCode::BAD_GATEWAY);
        return (
            status,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>gateway error</body></html>",
        )
            .into_response();
    }
    let mut doc = json!({"errorCode": e.code, "message": e.message});
    if let Some(s) = e.status {
        doc["status"] = json!(s);
    }
    ok(
        StatusCode::from_u16(e.http_status).unwrap_or(StatusCode::BAD_REQUEST),
        doc,
    )
}

fn malformed(message: &str) -> Response {
    error(&SimError {
        code: "MALFORMED_REQUEST",
        message: message.to_owned(),
        http_status: 400,
        server_side: false,
        status: None,
    })
}

async fn products(State(s): State<Shared>) -> Response {
    let list: Vec<Value> = lock(&s)
        .products()
        .iter()
        .map(|p| json!({"id": p.id, "name": p.name, "requestTypes": p.request_types, "keySizes": p.key_sizes}))
        .collect();
    ok(StatusCode::OK, json!({ "products": list }))
}

fn str_field(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

async fn submit(State(s): State<Shared>, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return malformed("the body is not JSON");
    };
    let pkcs10 = match str_field(&v, "pkcs10") {
        Some(b) => match base64::engine::general_purpose::STANDARD.decode(b.trim()) {
            Ok(der) => Some(der),
            Err(_) => return malformed("pkcs10 is not base64"),
        },
        None => None,
    };
    let order = IncomingOrder {
        product_id: str_field(&v, "productId").unwrap_or_default(),
        request_type: str_field(&v, "requestType").unwrap_or_default(),
        client_reference: str_field(&v, "clientReference").unwrap_or_default(),
        subject: v
            .get("subject")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default(),
        emails: v
            .get("emails")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        pkcs10,
        revocation_password: str_field(&v, "revocationPassword"),
    };
    match super::submit_delayed(&s, order).await {
        Ok(r) => ok(
            StatusCode::CREATED,
            json!({"requestId": r.request_id, "status": r.status}),
        ),
        Err(e) => error(&e),
    }
}

async fn find(
    State(s): State<Shared>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(reference) = q.get("clientReference") else {
        return malformed("clientReference is required");
    };
    let found = lock(&s).find(reference);
    match found {
        Ok(found) => {
            let list: Vec<Value> = found
                .into_iter()
                .map(|r| {
                    let mut doc = json!({"requestId": r.request_id, "status": r.status});
                    if let Some(c) = r.client_reference {
                        doc["clientReference"] = json!(c);
                    }
                    doc
                })
                .collect();
            ok(StatusCode::OK, json!({ "requests": list }))
        }
        Err(e) => error(&e),
    }
}

async fn status(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let result = lock(&s).status(&id);
    match result {
        Ok(st) => {
            let mut doc = json!({"requestId": st.request_id, "status": st.status});
            if let Some(m) = &st.message {
                doc["message"] = json!(m);
            }
            let mut resp;
            if let (Some(d), "PENDING") = (st.retry_after, st.status) {
                doc["retryAfterSeconds"] = json!(d.as_secs());
                resp = ok(StatusCode::OK, doc);
                if let Ok(h) = HeaderValue::from_str(&d.as_secs().to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, h);
                }
            } else {
                resp = ok(StatusCode::OK, doc);
            }
            resp
        }
        Err(e) => error(&e),
    }
}

async fn certificate(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let result = lock(&s).certificate(&id);
    match result {
        Ok((cert, chain)) => ok(
            StatusCode::OK,
            json!({"certificate": b64(&cert), "chain": chain.iter().map(|c| b64(c)).collect::<Vec<_>>()}),
        ),
        Err(e) => error(&e),
    }
}

async fn pkcs12(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let result = lock(&s).pkcs12(&id);
    match result {
        Ok((p12, password)) => ok(
            StatusCode::OK,
            json!({"pkcs12": b64(&p12), "password": password}),
        ),
        Err(e) => error(&e),
    }
}

async fn revoke(State(s): State<Shared>, Path(serial): Path<String>, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return malformed("the body is not JSON");
    };
    let password = str_field(&v, "revocationPassword").unwrap_or_default();
    let reason = str_field(&v, "reason");
    let result = lock(&s).revoke(&serial, &password, reason.as_deref());
    match result {
        Ok(()) => ok(StatusCode::OK, json!({"revoked": true})),
        Err(e) => error(&e),
    }
}
