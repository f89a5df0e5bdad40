//! The control API (JSON under `/control/`) and the page's form endpoints.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use super::{HERMOD_CLIENT_ID, page};
use crate::audkenni::AudkenniSimulator;
use crate::dtrust::DtrustSimulator;
use crate::faults::{FaultKind, FaultSettings, Faults};
use crate::hermod::{DeviceBehavior, DeviceReply, HermodSimulator};

pub(super) struct Shared {
    pub(super) audkenni: AudkenniSimulator,
    pub(super) dtrust: DtrustSimulator,
    pub(super) hermod: HermodSimulator,
    pub(super) faults: Faults,
}

type S = State<Arc<Shared>>;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/control/status", get(status))
        .route("/control/pending", get(pending))
        .route("/control/faults", get(get_faults).put(put_faults))
        .route(
            "/control/audkenni/requests/{id}/{action}",
            post(decide_audkenni),
        )
        .route(
            "/control/hermod/commands/{id}/{action}",
            post(decide_hermod),
        )
        .route("/control/hermod/callback-url", put(put_callback_url))
        .route("/control/hermod/device", put(put_device))
        .route("/control/dtrust/release", post(release))
        .route("/ui/{service}/{id}/{action}", post(ui_decide))
        .with_state(shared)
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

fn bad(message: &str) -> Response {
    problem(StatusCode::BAD_REQUEST, message)
}

async fn index(
    State(s): S,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let audkenni = s.audkenni.pending_requests();
    let hermod = s.hermod.pending_commands();
    let notice = query.get("done").map(String::as_str);
    (
        [(header::CACHE_CONTROL, "no-store")],
        Html(page::render(&audkenni, &hermod, notice)),
    )
        .into_response()
}

fn faults_json(f: &Faults) -> Value {
    let st = f.settings();
    let injected: serde_json::Map<String, Value> = f
        .injected()
        .into_iter()
        .map(|(k, n)| (k.name().to_owned(), json!(n)))
        .collect();
    json!({
        "enabled": st.enabled,
        "rate": st.rate,
        "kinds": st.kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
        "seed": st.seed,
        "slow_ms": st.slow_delay.as_millis() as u64,
        "draws": f.draws(),
        "injected": injected,
    })
}

pub(super) fn device_json(d: &DeviceBehavior) -> Value {
    let reply = match d.reply {
        DeviceReply::Approve => "approve",
        DeviceReply::Decline => "decline",
        DeviceReply::Fail => "fail",
        DeviceReply::Never => "never",
        DeviceReply::Manual => "manual",
    };
    let reply = if d.open_after.is_none() {
        "never_opens"
    } else {
        reply
    };
    json!({ "reply": reply, "after_ms": d.answer_after.as_millis() as u64 })
}

async fn status(State(s): S) -> Response {
    let a = &s.audkenni;
    let d = &s.dtrust;
    let h = &s.hermod;
    axum::Json(json!({
        "audkenni": {
            "started": a.started(),
            "polls": a.polls(),
            "slow_downs": a.slow_downs(),
            "pending": a.pending_requests().len(),
        },
        "dtrust": {
            "submissions": d.submissions_received(),
            "orders": d.orders(),
            "pending_releases": d.pending_releases(),
            "duplicate_orders": d.duplicate_orders(),
        },
        "hermod": {
            "commands": h.commands().len(),
            "pending": h.pending_commands().len(),
            "device": device_json(&h.device()),
            "callbacks": h.callback_counts(),
        },
        "faults": faults_json(&s.faults),
    }))
    .into_response()
}

async fn pending(State(s): S) -> Response {
    let hermod: Vec<Value> = s
        .hermod
        .pending_commands()
        .into_iter()
        .map(|c| {
            json!({
                "command_id": c.command_id,
                "kind": c.kind,
                "external_id": c.external_id,
                "state": c.state,
            })
        })
        .collect();
    axum::Json(json!({
        "audkenni": s.audkenni.pending_requests(),
        "hermod": hermod,
    }))
    .into_response()
}

async fn get_faults(State(s): S) -> Response {
    axum::Json(faults_json(&s.faults)).into_response()
}

/// Applies a faults document over the settings in force; the error names the field.
pub(super) fn apply_faults(mut st: FaultSettings, doc: &Value) -> Result<FaultSettings, String> {
    let Some(obj) = doc.as_object() else {
        return Err("the body must be a JSON object".into());
    };
    for key in obj.keys() {
        if !["enabled", "rate", "kinds", "seed", "slow_ms"].contains(&key.as_str()) {
            return Err(format!(
                "unknown field {key:?} (fields: enabled, rate, kinds, seed, slow_ms)"
            ));
        }
    }
    if let Some(v) = obj.get("enabled") {
        st.enabled = v.as_bool().ok_or("enabled must be true or false")?;
    }
    if let Some(v) = obj.get("rate") {
        match v.as_f64() {
            Some(r) if (0.0..=1.0).contains(&r) => st.rate = r,
            _ => return Err("rate must be a number from 0.0 to 1.0".into()),
        }
    }
    if let Some(v) = obj.get("kinds") {
        let names = v.as_array().ok_or("kinds must be an array of names")?;
        let mut kinds = Vec::new();
        for n in names {
            let kind = n.as_str().and_then(FaultKind::parse).ok_or_else(|| {
                let all: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
                format!("kinds: unknown kind {n} (kinds: {})", all.join(", "))
            })?;
            kinds.push(kind);
        }
        st.kinds = kinds;
    }
    if let Some(v) = obj.get("seed") {
        st.seed = v.as_u64().ok_or("seed must be a non-negative integer")?;
    }
    if let Some(v) = obj.get("slow_ms") {
        st.slow_delay =
            Duration::from_millis(v.as_u64().ok_or("slow_ms must be a non-negative integer")?);
    }
    Ok(st)
}

fn json_body(body: &Bytes) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| Box::new(bad(&format!("the body is not JSON: {e}"))))
}

async fn put_faults(State(s): S, body: Bytes) -> Response {
    let doc = match json_body(&body) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    match apply_faults(s.faults.settings(), &doc) {
        Ok(st) => {
            s.faults.set(st);
            axum::Json(faults_json(&s.faults)).into_response()
        }
        Err(m) => bad(&m),
    }
}

fn decide(
    s: &Shared,
    service: &str,
    id: &str,
    action: &str,
) -> Result<&'static str, Box<Response>> {
    let approve = match action {
        "approve" => true,
        "decline" => false,
        _ => {
            return Err(Box::new(problem(
                StatusCode::NOT_FOUND,
                "the action must be approve or decline",
            )));
        }
    };
    let done = match service {
        "audkenni" if approve => s.audkenni.approve(id),
        "audkenni" => s.audkenni.decline(id),
        "hermod" if approve => s.hermod.approve(id),
        "hermod" => s.hermod.decline(id),
        _ => {
            return Err(Box::new(problem(
                StatusCode::NOT_FOUND,
                "the service must be audkenni or hermod",
            )));
        }
    };
    if done {
        Ok(if approve { "approved" } else { "declined" })
    } else {
        Err(Box::new(problem(
            StatusCode::NOT_FOUND,
            &format!(
                "no {service} request {id:?} is waiting for a decision (unknown, answered or expired)"
            ),
        )))
    }
}

fn decided(id: &str, outcome: &str) -> Response {
    axum::Json(json!({ "id": id, "outcome": outcome })).into_response()
}

async fn decide_audkenni(State(s): S, Path((id, action)): Path<(String, String)>) -> Response {
    match decide(&s, "audkenni", &id, &action) {
        Ok(outcome) => decided(&id, outcome),
        Err(r) => *r,
    }
}

async fn decide_hermod(State(s): S, Path((id, action)): Path<(String, String)>) -> Response {
    match decide(&s, "hermod", &id, &action) {
        Ok(outcome) => decided(&id, outcome),
        Err(r) => *r,
    }
}

/// The page's buttons: a form POST, answered with a redirect to the page.
/// A request from another site's page (an `Origin` that is not ours) is refused.
async fn ui_decide(
    State(s): S,
    headers: HeaderMap,
    Path((service, id, action)): Path<(String, String, String)>,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && origin != format!("http://{host}")
        && origin != "null"
    {
        return problem(StatusCode::FORBIDDEN, "cross-site form refused");
    }
    let message = match decide(&s, &service, &id, &action) {
        Ok(outcome) => format!("{service} {id} {outcome}"),
        Err(_) => format!("{service} {id} was no longer waiting"),
    };
    let location = format!(
        "/?done={}",
        url::form_urlencoded::byte_serialize(message.as_bytes()).collect::<String>()
    );
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

async fn put_callback_url(State(s): S, body: Bytes) -> Response {
    let doc = match json_body(&body) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let Some(u) = doc.get("url").and_then(Value::as_str) else {
        return bad("url is required (a string: the callback base URL)");
    };
    match url::Url::parse(u) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
        _ => return bad("url must be an absolute http or https URL"),
    }
    s.hermod.set_callback_url(HERMOD_CLIENT_ID, u);
    axum::Json(json!({ "callback_url": u.trim_end_matches('/') })).into_response()
}

/// Parses a device document (`{"reply": ..., "after_ms": ...}`).
pub(super) fn parse_device(doc: &Value) -> Result<DeviceBehavior, String> {
    let after = match doc.get("after_ms") {
        None => Duration::ZERO,
        Some(v) => Duration::from_millis(
            v.as_u64()
                .ok_or("after_ms must be a non-negative integer")?,
        ),
    };
    let reply = doc
        .get("reply")
        .and_then(Value::as_str)
        .ok_or("reply is required: manual, approve, decline, fail, never or never_opens")?;
    Ok(match reply {
        "manual" => DeviceBehavior::manual(),
        "approve" => DeviceBehavior::answers_after(after),
        "decline" => DeviceBehavior::declines_after(after),
        "fail" => DeviceBehavior::fails_after(after),
        "never" => DeviceBehavior::opens_but_never_answers(after),
        "never_opens" => DeviceBehavior::never_opens(),
        other => {
            return Err(format!(
                "reply {other:?} is not one of manual, approve, decline, fail, never, never_opens"
            ));
        }
    })
}

async fn put_device(State(s): S, body: Bytes) -> Response {
    let doc = match json_body(&body) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    match parse_device(&doc) {
        Ok(d) => {
            s.hermod.set_device(d);
            axum::Json(device_json(&d)).into_response()
        }
        Err(m) => bad(&m),
    }
}

async fn release(State(s): S) -> Response {
    let pending = s.dtrust.pending_releases();
    s.dtrust.release_all();
    axum::Json(json!({ "released": pending })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_documents_are_checked_field_by_field() {
        let st = apply_faults(
            FaultSettings::default(),
            &json!({"enabled": true, "rate": 0.5, "kinds": ["reset", "slow"], "seed": 9, "slow_ms": 100}),
        )
        .unwrap();
        assert!(st.enabled);
        assert_eq!(st.kinds, vec![FaultKind::Reset, FaultKind::Slow]);
        assert_eq!(st.slow_delay, Duration::from_millis(100));
        for (doc, field) in [
            (json!({"rate": 2}), "rate"),
            (json!({"kinds": ["boom"]}), "kinds"),
            (json!({"seed": -1}), "seed"),
            (json!({"enabled": "yes"}), "enabled"),
            (json!({"colour": 1}), "colour"),
        ] {
            let e = apply_faults(FaultSettings::default(), &doc).unwrap_err();
            assert!(e.contains(field), "{e}");
        }
        assert!(parse_device(&json!({"reply": "approve", "after_ms": 5})).is_ok());
        assert!(
            parse_device(&json!({"reply": "maybe"}))
                .unwrap_err()
                .contains("maybe")
        );
    }
}
