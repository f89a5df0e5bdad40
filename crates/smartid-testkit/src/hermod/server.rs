//! The simulator's HTTP endpoints: commands (with `X-Api-Key`) and message boxes.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::device;
use super::state::{SimCommand, SimState};

const KINDS: [&str; 7] = [
    "provision",
    "certificate",
    "authenticate",
    "sign",
    "ping",
    "startpinreset",
    "endpinreset",
];

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
    crate::secrets::record(crate::secrets::SecretKind::ApiKey, value.trim());
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, key) = decoded.split_once(':')?;
    crate::secrets::record(crate::secrets::SecretKind::ApiKey, key);
    let index = state.clients.iter().position(|c| c.api.client_id == id)?;
    let expected = state.clients.get(index)?.api.key.expose_secret().as_bytes();
    aws_lc_rs::constant_time::verify_slices_are_equal(key.as_bytes(), expected)
        .ok()
        .map(|()| index)
}

pub(crate) fn body_member(kind: &str) -> &'static str {
    match kind {
        "provision" => "provCommand",
        "certificate" => "certCommand",
        "authenticate" => "authCommand",
        "sign" => "signCommand",
        "startpinreset" => "startpinresetCommand",
        "endpinreset" => "endpinresetCommand",
        _ => "pingCommand",
    }
}

struct Header {
    lifespan: u64,
    timeout: u64,
    to: Vec<String>,
    external_id: Option<String>,
}

type Check<T> = std::result::Result<T, String>;

fn object<'a>(v: Option<&'a Value>, path: &str) -> Check<&'a Map<String, Value>> {
    match v {
        Some(Value::Object(m)) => Ok(m),
        None => Err(format!("{path} is missing")),
        Some(other) => Err(format!("{path} must be an object, not {}", kind_of(other))),
    }
}

fn string<'a>(m: &'a Map<String, Value>, path: &str, field: &str) -> Check<&'a str> {
    match m.get(field) {
        Some(Value::String(s)) => Ok(s),
        None => Err(format!("{path}.{field} is missing")),
        Some(other) => Err(format!(
            "{path}.{field} must be a string, not {}",
            kind_of(other)
        )),
    }
}

fn optional_string<'a>(
    m: &'a Map<String, Value>,
    path: &str,
    field: &str,
) -> Check<Option<&'a str>> {
    match m.get(field) {
        None => Ok(None),
        Some(_) => string(m, path, field).map(Some),
    }
}

fn array<'a>(m: &'a Map<String, Value>, path: &str, field: &str) -> Check<&'a Vec<Value>> {
    match m.get(field) {
        Some(Value::Array(a)) => Ok(a),
        None => Err(format!("{path}.{field} is missing")),
        Some(other) => Err(format!(
            "{path}.{field} must be an array, not {}",
            kind_of(other)
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A `tbs` or `description` item: `{content_encoding, content_type, data,
/// description, key, visible}` as documented.
fn data_item(v: &Value, path: &str) -> Check<()> {
    let item = match v {
        Value::Object(m) => m,
        other => {
            return Err(format!(
                "{path} must be an object {{content_encoding, content_type, data, description, key, visible}}, not {}",
                kind_of(other)
            ));
        }
    };
    for field in ["content_type", "data", "description", "key"] {
        string(item, path, field)?;
    }
    let encoding = string(item, path, "content_encoding")?;
    match item.get("visible") {
        Some(Value::Bool(_)) => {}
        None => return Err(format!("{path}.visible is missing")),
        Some(other) => {
            return Err(format!(
                "{path}.visible must be a boolean, not {}",
                kind_of(other)
            ));
        }
    }
    if encoding.eq_ignore_ascii_case("base64") {
        let data = string(item, path, "data")?;
        if base64::engine::general_purpose::STANDARD
            .decode(data)
            .is_err()
        {
            return Err(format!("{path}.data is not valid base64"));
        }
    }
    Ok(())
}

fn sign_params(member: &str, body: &Map<String, Value>) -> Check<()> {
    let path = format!("{member}.params");
    let params = object(body.get("params"), &path)?;
    if params.contains_key("description") {
        for (i, item) in array(params, &path, "description")?.iter().enumerate() {
            data_item(item, &format!("{path}.description[{i}]"))?;
        }
    }
    for (i, item) in array(params, &path, "tbs")?.iter().enumerate() {
        data_item(item, &format!("{path}.tbs[{i}]"))?;
    }
    if params.contains_key("filter") {
        let fpath = format!("{path}.filter");
        let filter = object(params.get("filter"), &fpath)?;
        for field in ["op", "param", "value"] {
            string(filter, &fpath, field)?;
        }
    }
    if let Some(format) = optional_string(params, &path, "format")?
        && !matches!(format, "pkcs7" | "jws")
    {
        return Err(format!(
            "{path}.format {format:?} is not one the Desktop App supports (pkcs7, jws)"
        ));
    }
    optional_string(params, &path, "mechanism")?;
    Ok(())
}

fn provision(body: &Map<String, Value>) -> Check<()> {
    let path = "provCommand";
    for field in ["nonce", "userid"] {
        string(body, path, field)?;
    }
    optional_string(body, path, "responsesignaturekey")?;
    optional_string(body, path, "responseformat")?;
    let ppath = "provCommand.profile";
    let profile = object(body.get("profile"), ppath)?;
    string(profile, ppath, "servername")?;
    string(profile, ppath, "name")?;
    let reqs = array(profile, ppath, "keygenrequests")?;
    if reqs.is_empty() {
        return Err(format!("{ppath}.keygenrequests is empty"));
    }
    for (i, req) in reqs.iter().enumerate() {
        let rpath = format!("{ppath}.keygenrequests[{i}]");
        let req = object(Some(req), &rpath)?;
        string(req, &rpath, "keyid")?;
        let usage = string(req, &rpath, "usage")?;
        if usage.is_empty() || usage.bytes().any(|b| b.is_ascii_lowercase()) {
            return Err(format!(
                "{rpath}.usage {usage:?} must be upper-case, e.g. \"SIG\""
            ));
        }
        for (j, prio) in array(req, &rpath, "keytypeprios")?.iter().enumerate() {
            let kpath = format!("{rpath}.keytypeprios[{j}]");
            let Value::Object(prio) = prio else {
                return Err(format!(
                    "{kpath} must be an object {{keytype, keylength, responsemechanism}}, not {}",
                    kind_of(prio)
                ));
            };
            for field in ["keytype", "keylength", "responsemechanism"] {
                string(prio, &kpath, field)?;
            }
        }
        for (j, s) in array(req, &rpath, "storageprios")?.iter().enumerate() {
            if !s.is_string() {
                return Err(format!(
                    "{rpath}.storageprios[{j}] must be a string, e.g. \"APP\""
                ));
            }
        }
        string(req, &rpath, "keystate")?;
        let certreq = string(req, &rpath, "certreq")?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(certreq)
            .map_err(|_| format!("{rpath}.certreq is not base64"))?;
        if !is_der_sequence(&der) {
            return Err(format!(
                "{rpath}.certreq is not a base64 DER PKCS#10 request"
            ));
        }
    }
    Ok(())
}

fn is_der_sequence(der: &[u8]) -> bool {
    let Some((&0x30, rest)) = der.split_first() else {
        return false;
    };
    let Some((&first, rest)) = rest.split_first() else {
        return false;
    };
    if first < 0x80 {
        return rest.len() == usize::from(first);
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 || rest.len() < n {
        return false;
    }
    let (len, rest) = rest.split_at(n);
    let len = len.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b));
    rest.len() == len
}

/// Checks the command document against the shapes Nexus documents; the
/// message names the field that is wrong.
fn validate(kind: &str, doc: &Value) -> Check<Header> {
    let header = object(doc.get("commandHeader"), "commandHeader")?;
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
    if timeout > lifespan {
        return Err(format!(
            "commandHeader.timeout ({timeout}) is past commandHeader.lifespan ({lifespan})"
        ));
    }
    // `to` is optional (the documented provisioning samples omit it).
    let to: Vec<String> = match header.get("to") {
        None | Some(Value::Null) => vec!["@tmp".to_owned()],
        Some(Value::Array(a)) => {
            let mut to = Vec::new();
            for (i, v) in a.iter().enumerate() {
                match v.as_str() {
                    Some(s) => to.push(s.to_owned()),
                    None => return Err(format!("commandHeader.to[{i}] must be a string")),
                }
            }
            if to.is_empty() {
                return Err(
                    "commandHeader.to must name at least one recipient, e.g. [\"@tmp\"], or be left out"
                        .into(),
                );
            }
            to
        }
        Some(other) => {
            return Err(format!(
                "commandHeader.to must be an array, not {}",
                kind_of(other)
            ));
        }
    };
    let external_id = optional_string(header, "commandHeader", "externalId")?.map(str::to_owned);
    let member = body_member(kind);
    let body = object(doc.get(member), member)
        .map_err(|_| format!("{member} is missing for a {kind} command"))?;
    match kind {
        "sign" | "authenticate" => sign_params(member, body)?,
        "provision" => provision(body)?,
        "certificate" => {
            let path = "certCommand.params";
            let params = object(body.get("params"), path)?;
            optional_string(params, path, "smartcardid")?;
        }
        "ping" => {
            // `deviceinfo` as documented ("true"/"false"), in `params` or directly.
            let params = match body.get("params") {
                None => body,
                Some(_) => object(body.get("params"), "pingCommand.params")?,
            };
            if let Some(v) = params.get("deviceinfo")
                && !matches!(v.as_str(), Some("true" | "false"))
            {
                return Err(format!(
                    "pingCommand.params.deviceinfo must be \"true\" or \"false\", not {v}"
                ));
            }
        }
        "startpinreset" => {
            let path = "startpinresetCommand.params";
            let params = object(body.get("params"), path)?;
            string(params, path, "smartcardid")?;
        }
        "endpinreset" => {
            let path = "endpinresetCommand.params";
            let params = object(body.get("params"), path)?;
            string(params, path, "smartcardid")?;
            string(params, path, "encryptednonce")?;
            if let Some(key) = optional_string(params, path, "newadminkey")?
                && !(key.len() == 48 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            {
                return Err(format!(
                    "{path}.newadminkey must be 48 lower-case hex characters"
                ));
            }
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
