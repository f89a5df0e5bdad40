//! The simulator's HTTP endpoints: commands (with `X-Api-Key`) and message boxes.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

use super::device;
use super::state::{SimCommand, SimState};

const KINDS: [&str; 5] = ["provision", "certificate", "authenticate", "sign", "ping"];

pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/hermod/rest/command/{kind}", post(command))
        .route("/hermod/rest/ms/{bid}/{mid}", get(message))
        .with_state(state)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": code, "message": message})),
    )
        .into_response()
}

/// The index of the API user the `X-Api-Key` header names, key checked in
/// constant time.
fn authenticate(state: &SimState, headers: &HeaderMap) -> Option<usize> {
    let value = headers.get("x-api-key")?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, key) = decoded.split_once(':')?;
    let index = state.clients.iter().position(|c| c.api.client_id == id)?;
    let expected = state.clients.get(index)?.api.key.expose_secret().as_bytes();
    aws_lc_rs::constant_time::verify_slices_are_equal(key.as_bytes(), expected)
        .ok()
        .map(|()| index)
}

fn body_member(kind: &str) -> &'static str {
    match kind {
        "provision" => "provCommand",
        "certificate" => "certCommand",
        "authenticate" => "authCommand",
        "sign" => "signCommand",
        _ => "pingCommand",
    }
}

struct Header {
    lifespan: u64,
    timeout: u64,
    to: Vec<String>,
    external_id: Option<String>,
}

/// Checks the command document as Hermod would; the message says what is wrong.
fn validate(kind: &str, doc: &Value) -> Result<Header, String> {
    let header = doc
        .get("commandHeader")
        .and_then(Value::as_object)
        .ok_or("commandHeader is missing")?;
    let secs = |name: &str| {
        header
            .get(name)
            .and_then(Value::as_u64)
            .filter(|v| *v > 0)
            .ok_or(format!(
                "commandHeader.{name} must be a positive number of seconds"
            ))
    };
    let lifespan = secs("lifespan")?;
    let timeout = secs("timeout")?;
    if timeout >= lifespan {
        return Err(format!(
            "timeout ({timeout}) must be shorter than lifespan ({lifespan})"
        ));
    }
    let to: Vec<String> = header
        .get("to")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if to.is_empty() {
        return Err("commandHeader.to must name at least one recipient, e.g. [\"@tmp\"]".into());
    }
    let external_id = match header.get("externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("commandHeader.externalId must be a string".into()),
    };
    let member = body_member(kind);
    let body = doc
        .get(member)
        .and_then(Value::as_object)
        .ok_or(format!("{member} is missing for a {kind} command"))?;
    match kind {
        "sign" | "authenticate" => {
            let tbs = body
                .get("params")
                .and_then(|p| p.get("tbs"))
                .and_then(Value::as_array)
                .ok_or(format!("{member}.params.tbs is missing"))?;
            for (i, item) in tbs.iter().enumerate() {
                for field in ["data", "key"] {
                    if item.get(field).and_then(Value::as_str).is_none() {
                        return Err(format!("{member}.params.tbs[{i}].{field} is missing"));
                    }
                }
            }
        }
        "provision" => {
            for field in ["nonce", "userid"] {
                if body.get(field).and_then(Value::as_str).is_none() {
                    return Err(format!("provCommand.{field} is missing"));
                }
            }
            if body.get("profile").and_then(Value::as_object).is_none() {
                return Err("provCommand.profile is missing".into());
            }
        }
        "certificate" if body.get("params").and_then(Value::as_object).is_none() => {
            return Err("certCommand.params is missing".into());
        }
        _ => {}
    }
    Ok(Header {
        lifespan,
        timeout,
        to,
        external_id,
    })
}

async fn command(
    State(state): State<Arc<SimState>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(client) = authenticate(&state, &headers) else {
        state.refuse();
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "missing or invalid X-Api-Key",
        );
    };
    if !KINDS.contains(&kind.as_str()) {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "unknown command type");
    }
    let doc: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("body is not JSON: {e}"),
            );
        }
    };
    let header = match validate(&kind, &doc) {
        Ok(h) => h,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", &message),
    };
    let command_id = state.next_command_id();
    let command_type = kind.to_ascii_uppercase();
    let mut destinations = Vec::new();
    for to in &header.to {
        let bid = state.signer.uuid();
        let mid = state.signer.uuid();
        let token = state.signer.uuid();
        let box_url = format!("{}rest/ms/{bid}", state.base_url);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("url", &box_url)
            .append_pair("token", &token)
            .finish();
        destinations.push(json!({
            "to": to,
            "bid": bid,
            "mid": mid,
            "uri": format!("com.nexusgroup.plugout:///?{query}"),
            "location": format!("{box_url}/{mid}"),
        }));
    }
    let first = destinations.first().cloned().unwrap_or(Value::Null);
    let text = |k: &str| {
        first
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let sim = SimCommand {
        command_id: command_id.clone(),
        client_id: state
            .clients
            .get(client)
            .map(|c| c.api.client_id.clone())
            .unwrap_or_default(),
        kind: kind.clone(),
        external_id: header.external_id.clone(),
        lifespan: header.lifespan,
        timeout: header.timeout,
        bid: text("bid"),
        mid: text("mid"),
        state: "IN_PROGRESS".into(),
        body: doc,
    };
    state.insert(sim.clone());
    tokio::spawn(device::run(state.clone(), client, sim, state.device()));
    let answer = json!({
        "commandId": command_id,
        "destinations": destinations,
        "commandType": command_type,
        "state": "IN_PROGRESS",
        "fqdn": "localhost",
    });
    (StatusCode::OK, axum::Json(answer)).into_response()
}

async fn message(
    State(state): State<Arc<SimState>>,
    Path((bid, mid)): Path<(String, String)>,
) -> Response {
    match state.in_box(&bid, &mid) {
        Some(cmd) => (StatusCode::OK, axum::Json(cmd.body)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "no such message in the box (answered or timed out)",
        ),
    }
}
