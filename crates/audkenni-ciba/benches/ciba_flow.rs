//! CPU per complete CIBA flow: bc-authorize with a signed request object,
//! one `authorization_pending` poll, the token answer, id_token validation.
//! Ours (`CibaClient::start`, `wait`, `verify_id_token`) against the same
//! requests and the same crypto written directly with reqwest and
//! jsonwebtoken, both against the same simulator answering at once, on its
//! own thread. Client CPU is the calling thread's (a current-thread
//! runtime: the connections' tasks run on it too), interleaved rounds,
//! median ratio.
//!
//! `cargo bench -p audkenni-ciba --bench ciba_flow`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use audkenni_ciba::{
    Acr, AuthRequest, CibaClient, ClientAuthMethod, HttpSettings, JwsAlgorithm, RequestSigningKey,
    Secret, TrustRoots, WaitOptions,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig, hints};
use smartid_testkit::bench::{Comparison, Meter};

/// Flows per round and side, run concurrently (each waits one interval).
const FLOWS: u64 = 40;
const ROUNDS: usize = 7;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Setup {
    sim: std::sync::Arc<AudkenniSimulator>,
    issuer: String,
    client_id: String,
    secret: String,
    key_pem: String,
    root_pem: String,
}

fn main() {
    // The simulator on its own thread and runtime: its CPU is not counted.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // Interval 1 s, answer after 1.5 s: the first poll is pending,
            // the second gets the tokens.
            let sim = AudkenniSimulator::start(
                SimConfig::with_answer_after(Duration::from_millis(1500)).interval(1),
            )
            .await
            .unwrap();
            let sim = std::sync::Arc::new(sim);
            tx.send(Setup {
                sim: sim.clone(),
                issuer: sim.issuer().to_owned(),
                client_id: sim.client_id().to_owned(),
                secret: sim.client_secret().to_owned(),
                key_pem: sim.client_key_pem().to_owned(),
                root_pem: sim.tls_root_pem(),
            })
            .unwrap();
            std::future::pending::<()>().await;
        });
    });
    let setup = rx.recv().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let trust =
        audkenni_ciba::TrustStore::from_bytes(setup.root_pem.as_bytes(), "root.pem", None).unwrap();
    let ours = rt.block_on(async {
        CibaClient::builder(&setup.issuer, &setup.client_id)
            .client_secret(Secret::new(&setup.secret))
            .client_auth(ClientAuthMethod::ClientSecretPost)
            .signing_key(
                RequestSigningKey::from_pem(setup.key_pem.as_bytes(), JwsAlgorithm::Rs256).unwrap(),
            )
            .http_settings(HttpSettings::new().trust(TrustRoots::Only(trust)))
            .build()
            .await
            .unwrap()
    });
    let reference = rt.block_on(Reference::new(&setup, ours.metadata()));

    let sim = setup.sim.clone();
    let counts = std::cell::RefCell::new([(0usize, 0usize, 0usize); 2]);
    let tally = |side: usize, f: &mut dyn FnMut()| {
        let (p, s, h) = (sim.polls(), sim.started(), sim.front().handshakes_ok());
        f();
        let mut c = counts.borrow_mut();
        c[side].0 += sim.polls() - p;
        c[side].1 += sim.started() - s;
        c[side].2 += sim.front().handshakes_ok() - h;
    };
    let run_ours = |n: u64| {
        rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..n {
                let client = ours.clone();
                set.spawn(async move {
                    let message = format!("Innskráning {i}");
                    let request =
                        AuthRequest::new(hints::APPROVES, Acr::SimSign).binding_message(&message);
                    let mut pending = client.start(&request).await.unwrap();
                    let tokens = client
                        .wait(&mut pending, &WaitOptions::default())
                        .await
                        .unwrap();
                    let verified = client.verify_id_token(&tokens).await.unwrap();
                    assert!(!verified.subject.is_empty());
                });
            }
            set.join_all().await;
        });
    };
    let run_reference = |n: u64| {
        rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..n {
                let r = reference.clone();
                set.spawn(async move { r.flow(i).await });
            }
            set.join_all().await;
        });
    };
    // SMARTID_BENCH_SIDES=A,B (ours, reference or none; default
    // ours,reference): an A/A run checks the meter, a one-sided run is for
    // a profiler.
    let sides = std::env::var("SMARTID_BENCH_SIDES").unwrap_or_else(|_| "ours,reference".into());
    let side = |name: &str, n: u64| match name {
        "ours" => run_ours(n),
        "reference" => run_reference(n),
        _ => {}
    };
    let (a, b) = sides.split_once(',').unwrap_or(("ours", "reference"));
    let c = Comparison::run(
        &format!("CPU per CIBA flow: {a} / {b}"),
        Meter::ThreadCpu,
        env_or("SMARTID_BENCH_ROUNDS", ROUNDS as u64) as usize,
        env_or("SMARTID_BENCH_FLOWS", FLOWS),
        |n| tally(0, &mut || side(a, n)),
        |n| tally(1, &mut || side(b, n)),
    );
    println!("{}", c.report());
    let c = counts.borrow();
    for (side, name) in [(0, a), (1, b)] {
        println!(
            "{name}: {} bc-authorize, {} polls, {} TLS handshakes (all rounds)",
            c[side].1, c[side].0, c[side].2
        );
    }
}

/// The flow written directly against reqwest and jsonwebtoken, as a
/// careful hand-written client would: one connection pool, keys parsed once.
#[derive(Clone)]
struct Reference {
    http: reqwest::Client,
    client_id: String,
    secret: String,
    issuer: String,
    bc_endpoint: String,
    token_endpoint: String,
    signing: EncodingKey,
    verifying: DecodingKey,
}

impl Reference {
    async fn new(setup: &Setup, metadata: &audkenni_ciba::ProviderMetadata) -> Reference {
        let root = reqwest::Certificate::from_pem(setup.root_pem.as_bytes()).unwrap();
        let http = reqwest::Client::builder()
            .tls_certs_only([root])
            .build()
            .unwrap();
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(
            &http
                .get(&metadata.jwks_uri)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        Reference {
            http,
            client_id: setup.client_id.clone(),
            secret: setup.secret.clone(),
            issuer: metadata.issuer.clone(),
            bc_endpoint: metadata.backchannel_authentication_endpoint.clone(),
            token_endpoint: metadata.token_endpoint.clone(),
            signing: EncodingKey::from_rsa_der(&pkcs1_of(&setup.key_pem)),
            verifying: DecodingKey::from_jwk(&jwks.keys[0]).unwrap(),
        }
    }

    async fn post(&self, url: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let body = {
            let mut body = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in form {
                body.append_pair(k, v);
            }
            body.append_pair("client_id", &self.client_id);
            body.append_pair("client_secret", &self.secret);
            body.finish()
        };
        let response = self
            .http
            .post(url)
            .header("Accept", "application/json")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn flow(&self, i: u64) {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut jti = [0u8; 16];
        aws_lc_rs::rand::fill(&mut jti).unwrap();
        let jti: String = jti.iter().map(|b| format!("{b:02x}")).collect();
        let claims = serde_json::json!({
            "iss": self.client_id, "aud": self.issuer, "iat": iat, "nbf": iat,
            "exp": iat + 300, "jti": jti, "login_hint": hints::APPROVES,
            "scope": "openid profile signature", "acr_values": "sim-sign",
            "binding_message": format!("Innskráning {i}"),
        });
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".into());
        let jwt = jsonwebtoken::encode(&header, &claims, &self.signing).unwrap();
        let (status, started) = self.post(&self.bc_endpoint, &[("request", &jwt)]).await;
        assert_eq!(status, 200, "{started}");
        let auth_req_id = started["auth_req_id"].as_str().unwrap().to_owned();
        let interval = started["interval"].as_u64().unwrap_or(5);
        let tokens = loop {
            tokio::time::sleep(Duration::from_millis(interval * 1000 + 250)).await;
            let (status, answer) = self
                .post(
                    &self.token_endpoint,
                    &[
                        ("grant_type", "urn:openid:params:grant-type:ciba"),
                        ("auth_req_id", &auth_req_id),
                    ],
                )
                .await;
            match status {
                200 => break answer,
                400 if answer["error"] == "authorization_pending" => continue,
                _ => panic!("{status} {answer}"),
            }
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.client_id]);
        let id_token = tokens["id_token"].as_str().unwrap();
        let data =
            jsonwebtoken::decode::<serde_json::Value>(id_token, &self.verifying, &validation)
                .unwrap();
        assert!(data.claims["sub"].is_string());
    }
}

/// The PKCS#1 key inside the simulator's PKCS#8 PEM (jsonwebtoken signs
/// RSA with PKCS#1 DER): PrivateKeyInfo is SEQUENCE { INTEGER 0,
/// AlgorithmIdentifier, OCTET STRING pkcs1 }.
fn pkcs1_of(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    // Reads one TLV at `at`: (tag, content start, content end).
    let tlv = |at: usize| {
        let tag = der[at];
        let (len, head) = match der[at + 1] {
            l if l < 0x80 => (usize::from(l), 2),
            l => {
                let n = usize::from(l & 0x7f);
                let len = der[at + 2..at + 2 + n]
                    .iter()
                    .fold(0usize, |a, b| (a << 8) | usize::from(*b));
                (len, 2 + n)
            }
        };
        (tag, at + head, at + head + len)
    };
    let (_, inner, _) = tlv(0);
    let (_, _, after_version) = tlv(inner);
    let (_, _, after_alg) = tlv(after_version);
    let (tag, start, end) = tlv(after_alg);
    assert_eq!(tag, 0x04, "not a PKCS#8 key");
    der[start..end].to_vec()
}
