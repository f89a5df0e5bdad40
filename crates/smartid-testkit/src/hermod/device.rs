//! The simulated device's life with one command, the results it produces,
//! and the callbacks the simulator POSTs about it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use base64::Engine as _;
use serde_json::{Value, json};
use smartid_core::HttpRequest;
use tokio::time::Instant;

use super::state::{CallbackRecord, SimCommand, SimState};
use super::{DeviceBehavior, DeviceReply};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Runs a command to its end (or until the simulator stops).
pub(crate) async fn run(
    state: Arc<SimState>,
    client: usize,
    command: SimCommand,
    device: DeviceBehavior,
) {
    let mut shutdown = state.shutdown.subscribe();
    tokio::select! {
        () = lifecycle(&state, client, &command, device) => {}
        _ = shutdown.wait_for(|stop| *stop) => {}
    }
}

async fn lifecycle(state: &SimState, client: usize, command: &SimCommand, device: DeviceBehavior) {
    let start = Instant::now();
    let timeout_at = start + state.scaled(command.timeout);
    let lifespan_at = start + state.scaled(command.lifespan);
    let open_at = device
        .open_after
        .map(|d| start + d)
        .filter(|at| *at < timeout_at);
    let Some(open_at) = open_at else {
        tokio::time::sleep_until(timeout_at).await;
        finish(state, client, command, "TIMEOUT", None).await;
        return;
    };
    tokio::time::sleep_until(open_at).await;
    state.set_state(&command.command_id, "STARTED");
    if device.progress_callbacks {
        post(state, client, command, "STARTED", None).await;
    }
    let answer_at = open_at + device.answer_after;
    if device.reply == DeviceReply::Manual {
        let decision = state.await_decision(&command.command_id);
        let decided = tokio::time::timeout_at(lifespan_at, decision).await;
        state.forget_decision(&command.command_id);
        match decided {
            Ok(Ok(true)) => {
                let result = result_for(state, command);
                finish(state, client, command, "COMPLETED", Some(result)).await;
            }
            Ok(Ok(false)) => finish(state, client, command, "DECLINED", None).await,
            _ => {
                tokio::time::sleep_until(lifespan_at).await;
                finish(state, client, command, "EXPIRED", None).await;
            }
        }
        return;
    }
    match device.reply {
        DeviceReply::Approve | DeviceReply::Decline | DeviceReply::Fail
            if answer_at < lifespan_at =>
        {
            tokio::time::sleep_until(answer_at).await;
            match device.reply {
                DeviceReply::Approve => {
                    let result = result_for(state, command);
                    finish(state, client, command, "COMPLETED", Some(result)).await;
                }
                DeviceReply::Fail => {
                    let error =
                        json!({"error": "NO_MATCHING_KEY", "message": "no key matches the filter"});
                    finish(state, client, command, "FAILED", Some(error)).await;
                }
                _ => finish(state, client, command, "DECLINED", None).await,
            }
        }
        _ => {
            tokio::time::sleep_until(lifespan_at).await;
            finish(state, client, command, "EXPIRED", None).await;
        }
    }
}

async fn finish(
    state: &SimState,
    client: usize,
    command: &SimCommand,
    final_state: &str,
    result: Option<Value>,
) {
    state.set_state(&command.command_id, final_state);
    let fault = state.faults.pick(&[
        crate::FaultKind::DuplicateCallback,
        crate::FaultKind::ReorderCallbacks,
    ]);
    post(state, client, command, final_state, result.clone()).await;
    match fault {
        Some(crate::FaultKind::DuplicateCallback) => {
            post(state, client, command, final_state, result).await;
        }
        Some(crate::FaultKind::ReorderCallbacks) => {
            // The progress callback that should have come first arrives last.
            post(state, client, command, "STARTED", None).await;
        }
        _ => {}
    }
}

/// The device's answer, signed with the simulator's device key.
fn result_for(state: &SimState, command: &SimCommand) -> Value {
    let signer = &state.signer;
    let member = |name: &str| command.body.get(name).cloned().unwrap_or(Value::Null);
    match command.kind.as_str() {
        "sign" | "authenticate" => {
            let body = member(if command.kind == "sign" {
                "signCommand"
            } else {
                "authCommand"
            });
            let params = body.get("params").cloned().unwrap_or(Value::Null);
            let tbs = params
                .get("tbs")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let signatures: Vec<Value> = tbs
                .iter()
                .map(|item| {
                    let data = item.get("data").and_then(Value::as_str).unwrap_or_default();
                    let bytes = match item.get("content_encoding").and_then(Value::as_str) {
                        Some("base64") => B64.decode(data).unwrap_or_default(),
                        _ => data.as_bytes().to_vec(),
                    };
                    json!({
                        "key": item.get("key").cloned().unwrap_or(Value::Null),
                        "signature": B64.encode(signer.sign(&bytes)),
                    })
                })
                .collect();
            json!({
                "mechanism": "CKM_SHA256_RSA_PKCS",
                "requestedFormat": params.get("format").cloned().unwrap_or(Value::Null),
                "signatures": signatures,
                "publicKey": B64.encode(signer.public_key_der()),
            })
        }
        "provision" => {
            let prov = member("provCommand");
            let keys: Vec<Value> = prov
                .pointer("/profile/keygenrequests")
                .and_then(Value::as_array)
                .map(|reqs| {
                    reqs.iter()
                        .filter_map(|r| r.get("keyid").cloned())
                        .collect()
                })
                .unwrap_or_default();
            let header = json!({"alg": "RS256", "typ": "JWT"});
            let payload = json!({
                "nonce": prov.get("nonce").cloned().unwrap_or(Value::Null),
                "userid": prov.get("userid").cloned().unwrap_or(Value::Null),
                "keys": keys,
                "profileid": state.signer.uuid(),
            });
            let signing_input = format!(
                "{}.{}",
                B64URL.encode(header.to_string()),
                B64URL.encode(payload.to_string())
            );
            let sig = signer.sign(signing_input.as_bytes());
            json!({"jws": format!("{signing_input}.{}", B64URL.encode(sig))})
        }
        "certificate" => {
            let installed: Vec<Value> = command
                .body
                .pointer("/certCommand/params/certificates")
                .and_then(Value::as_object)
                .map(|m| m.keys().map(|k| Value::String(k.clone())).collect())
                .unwrap_or_default();
            json!({"installed": installed})
        }
        "startpinreset" => json!({"nonce": B64.encode(signer.uuid())}),
        "endpinreset" => json!({"reset": true}),
        _ => {
            let asked = command
                .body
                .pointer("/pingCommand/params/deviceinfo")
                .or_else(|| command.body.pointer("/pingCommand/deviceinfo"))
                .and_then(Value::as_str)
                == Some("true");
            if asked {
                json!({"pong": true, "deviceinfo": {
                    "os": "Simulated OS 1.0",
                    "app": concat!("hermod-simulator ", env!("CARGO_PKG_VERSION")),
                }})
            } else {
                json!({"pong": true})
            }
        }
    }
}

/// POSTs a callback, retrying transport failures and 5xx (by default twice,
/// after 50 ms then 100 ms: [`super::HermodSimulatorBuilder::callback_retries`]).
async fn post(
    state: &SimState,
    client: usize,
    command: &SimCommand,
    cb_state: &str,
    result: Option<Value>,
) {
    let Some(entry) = state.clients.get(client) else {
        return;
    };
    let mut body = json!({
        "commandId": command.command_id,
        "commandType": command.kind.to_ascii_uppercase(),
        "state": cb_state,
    });
    if let (Some(ext), Some(map)) = (&command.external_id, body.as_object_mut()) {
        map.insert("externalId".into(), Value::String(ext.clone()));
    }
    if let (Some(result), Some(map)) = (result, body.as_object_mut()) {
        map.insert("result".into(), result);
    }
    let base = entry
        .callback_url
        .lock()
        .map(|u| u.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    let url = format!("{base}{}/{}", entry.api.callback_path, command.kind);
    let mut record = CallbackRecord {
        command_id: command.command_id.clone(),
        url: url.clone(),
        state: cb_state.to_owned(),
        body: body.clone(),
        status: None,
        error: None,
        attempts: 0,
    };
    let (attempts, backoff) = state.retries;
    let counts = &state.counts;
    for attempt in 1..=attempts.max(1) {
        record.attempts = attempt;
        counts.attempts.fetch_add(1, Ordering::SeqCst);
        let mut request = HttpRequest::post(url.clone());
        if let Some((user, password)) = &entry.api.callback_basic_auth {
            request = request.basic_auth(user, password);
        }
        let request = match request.json(&body) {
            Ok(r) => r,
            Err(e) => {
                record.error = Some(e.to_string());
                break;
            }
        };
        match entry.http.send(request).await {
            Ok(resp) => {
                record.status = Some(resp.status());
                record.error = None;
                let counter = match resp.status() {
                    200 => &counts.ok,
                    s if s >= 500 => &counts.server_errors,
                    _ => &counts.other_status,
                };
                counter.fetch_add(1, Ordering::SeqCst);
                if resp.status() < 500 {
                    break;
                }
            }
            Err(e) => {
                counts.transport_errors.fetch_add(1, Ordering::SeqCst);
                record.status = None;
                record.error = Some(e.to_string());
            }
        }
        if attempt < attempts {
            tokio::time::sleep(backoff.saturating_mul(attempt)).await;
        }
    }
    state.record_callback(record);
}
