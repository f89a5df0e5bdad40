//! The HTTP side: axum routes behind a [`TlsFront`], client
//! authentication, request object checks, and token issuance.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RsaKeyPair};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use smartid_core::{Certificate, TrustStore};
use tokio::task::JoinHandle;

use super::cms::{sign, sign_hash_pkcs1, utf16be};
use super::pki::SimPki;
use super::state::{Flow, Flows, PollAnswer, PollCounts};
use super::{Behaviour, SimClientAuth, SimConfig, SimSignedContent};
use crate::error::{Result, TestkitError};
use crate::pki::{KeyAlgorithm, TestPki};
use crate::tls::{ClientAuth, TlsFront};

/// The path of the realm, as at Audkenni.
pub const BASE_PATH: &str = "/sso/oauth2/realms/root/realms/audkenni";
const CIBA_GRANT: &str = "urn:openid:params:grant-type:ciba";

fn ensure_jwt_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    });
}

/// jsonwebtoken's RSA signing key (PKCS#1 DER) from a PKCS#8 PEM.
pub(crate) fn rsa_encoding_key(pem: &str) -> Result<EncodingKey> {
    use rustls::pki_types::PrivatePkcs8KeyDer;
    use rustls::pki_types::pem::PemObject as _;
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| TestkitError::Pki(format!("JWT key PEM: {e}")))?;
    Ok(EncodingKey::from_rsa_der(&pkcs1_of_pkcs8(
        der.secret_pkcs8_der(),
    )?))
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo`.
pub(crate) fn pkcs1_of_pkcs8(pkcs8: &[u8]) -> Result<Vec<u8>> {
    use der::asn1::OctetStringRef;
    use der::{Decode, Reader, SliceReader};
    let bad = |e: der::Error| TestkitError::Pki(format!("PKCS#8 key: {e}"));
    let mut reader = SliceReader::new(pkcs8).map_err(bad)?;
    reader
        .sequence(|r| {
            let _version = u8::decode(r)?;
            let _algorithm = r.tlv_bytes()?;
            let key = <&OctetStringRef>::decode(r)?.as_bytes().to_vec();
            let _ = r.read_slice(r.remaining_len())?;
            Ok::<_, der::Error>(key)
        })
        .map_err(bad)
}

struct IdTokenKeys {
    current: EncodingKey,
    kid: String,
    published: Vec<Jwk>,
}

impl IdTokenKeys {
    fn new(pem: &str, kid: String, mut published: Vec<Jwk>) -> Result<Self> {
        let jwt_err = |e: jsonwebtoken::errors::Error| TestkitError::Pki(format!("JWT key: {e}"));
        let current = rsa_encoding_key(pem)?;
        let mut jwk = Jwk::from_encoding_key(&current, Algorithm::RS256).map_err(jwt_err)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        published.insert(0, jwk);
        Ok(Self {
            current,
            kid,
            published,
        })
    }
}

struct SimState {
    config: SimConfig,
    /// The issuer as announced (maybe with a port spelled out).
    issuer: String,
    /// Where the endpoints are served (`https://localhost:PORT{BASE_PATH}`).
    endpoints: String,
    /// The issuing CA's CRL, when published.
    crl: Option<Vec<u8>>,
    crl_url: Option<String>,
    crl_fetches: std::sync::atomic::AtomicUsize,
    pki: Arc<SimPki>,
    flows: Flows,
    keys: RwLock<IdTokenKeys>,
    client_key: DecodingKey,
    client_algs: Vec<Algorithm>,
}

/// A request waiting for a person ([`AudkenniSimulator::pending_requests`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PendingRequest {
    /// The `auth_req_id`.
    pub auth_req_id: String,
    /// The user's login hint (mobile number).
    pub login_hint: String,
    /// The user's name.
    pub name: String,
    /// The user's kennitala.
    pub kennitala: String,
    /// The requested acr.
    pub acr: String,
    /// The text shown to the user, if any.
    pub binding_message: Option<String>,
    /// Time left before the request expires.
    #[serde(serialize_with = "secs")]
    pub expires_in: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// A running simulator. Stops when dropped.
pub struct AudkenniSimulator {
    state: Arc<SimState>,
    front: TlsFront,
    server_pki: TestPki,
    client_key_pem: String,
    task: JoinHandle<()>,
    crl_task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for AudkenniSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudkenniSimulator")
            .field("issuer", &self.state.issuer)
            .finish_non_exhaustive()
    }
}

impl Drop for AudkenniSimulator {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(t) = &self.crl_task {
            t.abort();
        }
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    smartid_core::internal::pem_encode(label, der)
}

fn pki_err(what: &str) -> impl Fn(aws_lc_rs::error::Unspecified) -> TestkitError + '_ {
    move |_| TestkitError::Pki(format!("{what} failed"))
}

/// The id_token signing key, generated once per process.
fn id_token_key_pem() -> Result<String> {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(k) = KEY.get() {
        return Ok(k.clone());
    }
    let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(pki_err("RSA key generation"))?;
    let der = rsa.as_der().map_err(pki_err("RSA key encoding"))?;
    crate::secrets::record_private_key(der.as_ref());
    Ok(KEY.get_or_init(|| pem("PRIVATE KEY", der.as_ref())).clone())
}

impl AudkenniSimulator {
    /// Generates the PKI and keys and starts the simulator on `127.0.0.1`.
    ///
    /// # Errors
    /// [`TestkitError`] when a key cannot be generated or no port bound.
    pub async fn start(config: SimConfig) -> Result<Self> {
        ensure_jwt_provider();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let backend = listener.local_addr()?;
        let server_pki = TestPki::generate()?;
        let resets = crate::faults::Resets::default();
        let front = TlsFront::start_at(
            config.port,
            backend,
            &server_pki.localhost_server()?,
            ClientAuth::None,
            Some(resets.clone()),
        )
        .await?;
        let fault_layer = crate::faults::FaultLayer {
            faults: config.faults.clone(),
            resets,
            submissions: false,
        };
        let endpoints = format!("{}{BASE_PATH}", front.url());
        let issuer = match config.announce_issuer_port {
            Some(port) => format!("https://localhost:{port}{BASE_PATH}"),
            None => endpoints.clone(),
        };
        let crl_listener = if config.crl {
            Some(tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?)
        } else {
            None
        };
        let crl_url = match &crl_listener {
            Some(l) => Some(format!(
                "http://{}/crl/fullgilt-audkenni-sim.crl",
                l.local_addr()?
            )),
            None => None,
        };
        let pki = SimPki::for_users(&config.users, crl_url.as_deref())?;
        let crl = match &crl_url {
            Some(_) => Some(pki.crl(&config.revoked)?),
            None => None,
        };

        let jwt_err = |e: jsonwebtoken::errors::Error| TestkitError::Pki(format!("JWT key: {e}"));
        let keys = RwLock::new(IdTokenKeys::new(
            &id_token_key_pem()?,
            "sim-key-1".into(),
            Vec::new(),
        )?);

        let (client_key_pem, client_enc, client_algs) = match config.client_key {
            KeyAlgorithm::EcdsaP256 => {
                let k = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(pki_err("EC key generation"))?;
                let der = k.to_pkcs8v1().map_err(pki_err("EC key encoding"))?;
                crate::secrets::record_private_key(der.as_ref());
                let p = pem("PRIVATE KEY", der.as_ref());
                let enc = EncodingKey::from_ec_der(der.as_ref());
                (p, enc, vec![Algorithm::ES256])
            }
            _ => {
                let k = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(pki_err("RSA key generation"))?;
                let der = k.as_der().map_err(pki_err("RSA key encoding"))?;
                crate::secrets::record_private_key(der.as_ref());
                let p = pem("PRIVATE KEY", der.as_ref());
                let enc = EncodingKey::from_rsa_der(&pkcs1_of_pkcs8(der.as_ref())?);
                (p, enc, vec![Algorithm::RS256, Algorithm::PS256])
            }
        };
        let client_jwk = Jwk::from_encoding_key(
            &client_enc,
            client_algs.first().copied().unwrap_or(Algorithm::RS256),
        )
        .map_err(jwt_err)?;
        let client_key = DecodingKey::from_jwk(&client_jwk).map_err(jwt_err)?;

        crate::secrets::record(
            crate::secrets::SecretKind::ClientSecret,
            &config.client_secret,
        );
        for user in &config.users {
            crate::secrets::record(crate::secrets::SecretKind::Kennitala, &user.kennitala);
        }
        let flows = Flows::with_slow_downs_at(config.slow_down_at.clone());
        let state = Arc::new(SimState {
            pki,
            config,
            issuer,
            endpoints,
            crl,
            crl_url,
            crl_fetches: std::sync::atomic::AtomicUsize::new(0),
            flows,
            keys,
            client_key,
            client_algs,
        });
        let app = Router::new()
            .route(
                &format!("{BASE_PATH}/.well-known/openid-configuration"),
                get(discovery),
            )
            .route(&format!("{BASE_PATH}/connect/jwk_uri"), get(jwks_handler))
            .route(&format!("{BASE_PATH}/bc-authorize"), post(bc_authorize))
            .route(&format!("{BASE_PATH}/access_token"), post(token))
            .with_state(state.clone())
            .layer(axum::middleware::from_fn_with_state(
                fault_layer,
                crate::faults::inject,
            ));
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        let crl_task = crl_listener.map(|l| {
            let crl_app = Router::new()
                .route("/crl/fullgilt-audkenni-sim.crl", get(crl_handler))
                .with_state(state.clone());
            tokio::spawn(async move {
                let _ = axum::serve(l, crl_app).await;
            })
        });
        Ok(Self {
            state,
            front,
            server_pki,
            client_key_pem,
            task,
            crl_task,
        })
    }

    /// The issuer (`https://localhost:PORT/sso/oauth2/realms/root/realms/audkenni`),
    /// as announced in discovery and id_tokens: with
    /// [`SimConfig::announce_issuer_port`] it names that port, not the
    /// one served (use [`AudkenniSimulator::discovery_url`] to reach it).
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// Where the discovery document is served (always the real port).
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.state.endpoints)
    }

    /// The CRL's URL (plain http on loopback), when [`SimConfig::crl`] is on.
    pub fn crl_url(&self) -> Option<&str> {
        self.state.crl_url.as_deref()
    }

    /// The CRL (DER) the simulator publishes, when [`SimConfig::crl`] is on.
    pub fn crl_der(&self) -> Option<&[u8]> {
        self.state.crl.as_deref()
    }

    /// How often the CRL was fetched.
    pub fn crl_fetches(&self) -> usize {
        self.state.crl_fetches.load(Ordering::SeqCst)
    }

    /// The HTTPS front (for handshake counters).
    pub fn front(&self) -> &TlsFront {
        &self.front
    }

    /// The registered client id.
    pub fn client_id(&self) -> &str {
        &self.state.config.client_id
    }

    /// The registered client secret.
    pub fn client_secret(&self) -> &str {
        &self.state.config.client_secret
    }

    /// The relying party's private key (PKCS#8 PEM) whose public key is registered.
    pub fn client_key_pem(&self) -> &str {
        &self.client_key_pem
    }

    /// A trust store with the root of the simulator's TLS certificate.
    ///
    /// # Errors
    /// Never in practice.
    pub fn tls_trust_store(&self) -> Result<TrustStore> {
        self.server_pki.root_trust_store()
    }

    /// The root of the TLS certificate as PEM.
    pub fn tls_root_pem(&self) -> String {
        self.server_pki.root_pem()
    }

    /// The signing PKI's root ("IslandsrotTest Sim") and issuing CA, the
    /// trust anchors for the users' signatures.
    pub fn signature_trust_anchors(&self) -> Vec<Certificate> {
        self.state.pki.anchors()
    }

    /// The signing PKI's root only.
    pub fn signature_root(&self) -> Certificate {
        self.state.pki.root.certificate().clone()
    }

    /// The issuing CA of the users' certificates.
    pub fn signature_issuing_ca(&self) -> Certificate {
        self.state.pki.issuing.certificate().clone()
    }

    /// Rotates the id_token signing key: a new RSA key with a new `kid`
    /// signs from now on; the JWKS publishes it first, then the old ones.
    ///
    /// # Errors
    /// [`TestkitError::Pki`] when key generation fails.
    pub fn rotate_id_token_key(&self) -> Result<()> {
        let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(pki_err("RSA key generation"))?;
        let der = rsa.as_der().map_err(pki_err("RSA key encoding"))?;
        crate::secrets::record_private_key(der.as_ref());
        let mut keys = self
            .state
            .keys
            .write()
            .map_err(|_| TestkitError::Pki("key lock poisoned".into()))?;
        let kid = format!("sim-key-{}", keys.published.len() + 1);
        *keys = IdTokenKeys::new(
            &pem("PRIVATE KEY", der.as_ref()),
            kid,
            keys.published.clone(),
        )?;
        Ok(())
    }

    /// The `kid` of the current id_token signing key.
    pub fn id_token_kid(&self) -> String {
        self.state
            .keys
            .read()
            .map(|k| k.kid.clone())
            .unwrap_or_default()
    }

    /// Requests started so far.
    pub fn started(&self) -> usize {
        self.state.flows.started.load(Ordering::SeqCst)
    }

    /// Token endpoint polls so far.
    pub fn polls(&self) -> usize {
        self.state.flows.polls.load(Ordering::SeqCst)
    }

    /// `slow_down` answers so far.
    pub fn slow_downs(&self) -> usize {
        self.state.flows.slow_downs.load(Ordering::SeqCst)
    }

    /// What the simulator saw of the polls of `auth_req_id` (measured at
    /// arrival): total polls, polls before the interval, answers that ended
    /// the request, polls after it ended. `None` for an id it never issued.
    pub fn poll_counts(&self, auth_req_id: &str) -> Option<PollCounts> {
        self.state.flows.counts(auth_req_id)
    }

    /// [`AudkenniSimulator::poll_counts`] of every request issued so far.
    pub fn all_poll_counts(&self) -> HashMap<String, PollCounts> {
        self.state.flows.all_counts()
    }

    /// The requests of [`Behaviour::Manual`] users waiting for a person's
    /// decision, oldest first.
    pub fn pending_requests(&self) -> Vec<PendingRequest> {
        let now = Instant::now();
        self.state
            .flows
            .waiting(now)
            .into_iter()
            .map(|(id, f)| PendingRequest {
                auth_req_id: id,
                login_hint: f.user.login_hint.clone(),
                name: f.user.name.clone(),
                kennitala: f.user.kennitala.clone(),
                acr: f.acr.clone(),
                binding_message: f.binding_message.clone(),
                expires_in: f.expires.saturating_duration_since(now),
            })
            .collect()
    }

    /// Approves a waiting manual request: the next poll gets the tokens.
    /// `false` when no such request waits (unknown, ended, already decided).
    pub fn approve(&self, auth_req_id: &str) -> bool {
        self.state.flows.decide(auth_req_id, true, Instant::now())
    }

    /// Declines a waiting manual request: the next poll gets
    /// `access_denied` (`mssp_401`). `false` when no such request waits.
    pub fn decline(&self, auth_req_id: &str) -> bool {
        self.state.flows.decide(auth_req_id, false, Instant::now())
    }

    /// Polls, over all requests, that arrived before the interval.
    pub fn early_polls(&self) -> usize {
        self.all_poll_counts().values().map(|c| c.early).sum()
    }
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

fn bad(code: &str, description: &str) -> Response {
    error(StatusCode::BAD_REQUEST, code, description)
}

async fn crl_handler(State(s): State<Arc<SimState>>) -> Response {
    s.crl_fetches.fetch_add(1, Ordering::SeqCst);
    match &s.crl {
        Some(crl) => (
            [(axum::http::header::CONTENT_TYPE, "application/pkix-crl")],
            crl.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn discovery(State(s): State<Arc<SimState>>) -> Response {
    let i = &s.endpoints;
    axum::Json(json!({
        "issuer": s.issuer,
        "backchannel_authentication_endpoint": format!("{i}/bc-authorize"),
        "token_endpoint": format!("{i}/access_token"),
        "jwks_uri": format!("{i}/connect/jwk_uri"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "introspection_endpoint": format!("{i}/introspect"),
        "request_parameter_supported": true,
        "scopes_supported": ["signature", "openid", "profile"],
        "backchannel_token_delivery_modes_supported": ["poll"],
        "backchannel_authentication_request_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "backchannel_user_code_parameter_supported": false,
        "grant_types_supported": [CIBA_GRANT],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "acr_values_supported": ["sim-auth", "sim-sign", "sim-sign-pkcs1", "app-auth", "app-sign", "app-certificate-choice", "app-sign-with-certificate", "nexus", "nexus-sign", "default", "apidefault", "sim"],
    }))
    .into_response()
}

async fn jwks_handler(State(s): State<Arc<SimState>>) -> Response {
    match s.keys.read() {
        Ok(k) => axum::Json(json!({ "keys": k.published })).into_response(),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "key lock poisoned",
        ),
    }
}

fn parse_form(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Authenticates the client: Basic, post, or private_key_jwt.
fn authenticate(
    s: &SimState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> std::result::Result<(), Box<Response>> {
    let denied = || {
        Box::new(error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ))
    };
    let cfg = &s.config;
    if let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let encoded = value.strip_prefix("Basic ").ok_or_else(denied)?;
        let raw = STANDARD.decode(encoded.trim()).map_err(|_| denied())?;
        let raw = String::from_utf8(raw).map_err(|_| denied())?;
        let (id, secret) = raw.split_once(':').ok_or_else(denied)?;
        let (id, secret) = match cfg.client_auth {
            SimClientAuth::BasicFormEncoded => (percent_decode(id), percent_decode(secret)),
            SimClientAuth::Any => (id.to_owned(), secret.to_owned()),
        };
        return if id == cfg.client_id && secret == cfg.client_secret {
            Ok(())
        } else {
            Err(denied())
        };
    }
    if cfg.client_auth != SimClientAuth::Any {
        return Err(denied());
    }
    if let Some(assertion) = form.get("client_assertion") {
        let mut v = Validation::new(s.client_algs.first().copied().unwrap_or(Algorithm::RS256));
        v.algorithms = s.client_algs.clone();
        v.set_audience(&[
            s.issuer.clone(),
            format!("{}/access_token", s.issuer),
            format!("{}/bc-authorize", s.issuer),
        ]);
        v.set_issuer(std::slice::from_ref(&cfg.client_id));
        let data =
            jsonwebtoken::decode::<Value>(assertion, &s.client_key, &v).map_err(|_| denied())?;
        return if data.claims.get("sub").and_then(Value::as_str) == Some(cfg.client_id.as_str()) {
            Ok(())
        } else {
            Err(denied())
        };
    }
    match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) if *id == cfg.client_id && *secret == cfg.client_secret => Ok(()),
        _ => Err(denied()),
    }
}

fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn bc_authorize(
    State(s): State<Arc<SimState>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = parse_form(&body);
    if let Err(r) = authenticate(&s, &headers, &form) {
        return *r;
    }
    let Some(request) = form.get("request") else {
        return bad(
            "invalid_request",
            "the request parameter (a signed request object) is missing",
        );
    };
    let claims = match check_request_object(&s, request) {
        Ok(c) => c,
        Err(message) => return bad("invalid_request", &message),
    };
    let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(hint), Some(acr), Some(scope)) =
        (text("login_hint"), text("acr_values"), text("scope"))
    else {
        return bad(
            "invalid_request",
            "login_hint, acr_values and scope are required",
        );
    };
    crate::secrets::record(crate::secrets::SecretKind::Kennitala, &hint);
    if !scope.split(' ').any(|x| x == "openid") {
        return bad("invalid_scope", "scope must contain openid");
    }
    let binding_message = text("binding_message");
    if acr.starts_with("app-")
        && let Some(m) = &binding_message
        && (m.chars().count() > 60 || m.contains('\n'))
    {
        return bad(
            "invalid_binding_message",
            "at most 60 characters, no line breaks",
        );
    }
    if acr == "nexus-sign" && text("nexus_url").is_none() {
        return bad("invalid_request", "nexus_url is required for nexus-sign");
    }
    let binding_content = text("binding_content");
    if acr == "sim-sign-pkcs1"
        && binding_content
            .as_deref()
            .and_then(|c| STANDARD.decode(c).ok())
            .is_none_or(|h| h.len() != 32 && h.len() != 64)
    {
        return bad(
            "invalid_request",
            "binding_content must be the base64 of a SHA-256 or SHA-512 hash",
        );
    }
    if acr == "app-certificate-choice" {
        for (field, value) in [
            ("binding_message", &binding_message),
            ("binding_content", &binding_content),
        ] {
            if value.as_deref() != Some("") {
                return bad(
                    "invalid_request",
                    &format!("{field} must be sent as \"\" for app-certificate-choice"),
                );
            }
        }
    }
    let sim_mode = matches!(
        acr.as_str(),
        "sim-auth" | "sim-sign" | "sim-sign-pkcs1" | "sim-auth-xml" | "sim"
    );
    let user = if sim_mode {
        let Some(phone) = super::state::normalize_phone(&hint) else {
            return bad(
                "invalid_request",
                "login_hint must be the user's mobile number in SIM modes (for example 7700001 or +354 770 0001)",
            );
        };
        let Some(u) = s.config.users.iter().find(|u| u.login_hint == phone) else {
            return bad("access_denied", "mssp_105");
        };
        u
    } else if acr.starts_with("app-") {
        let kt = hint.trim().replacen('-', "", 1);
        if kt.len() != 10 || !kt.bytes().all(|b| b.is_ascii_digit()) {
            return bad(
                "invalid_request",
                "login_hint must be the user's kennitala in app modes",
            );
        }
        let Some(u) = s.config.users.iter().find(|u| u.kennitala == kt) else {
            return bad("access_denied", "audkenni_404");
        };
        u
    } else {
        let Some(u) = s
            .config
            .users
            .iter()
            .find(|u| u.login_hint == hint || u.kennitala == hint)
        else {
            return bad("access_denied", "mssp_105");
        };
        u
    };
    let id = random_hex(16);
    crate::secrets::record(crate::secrets::SecretKind::AuthReqId, &id);
    let notification_token = text("client_notification_token");
    if let Some(token) = &notification_token {
        crate::secrets::record(crate::secrets::SecretKind::NotificationToken, token);
    }
    let ping = match (&notification_token, &s.config.notification_endpoint) {
        (None, _) => false,
        (Some(_), None) => {
            return bad(
                "invalid_request",
                "this client has no registered client notification endpoint (ping mode)",
            );
        }
        (Some(token), Some(endpoint)) => {
            let answer_after = match user.behaviour {
                Behaviour::Approve(d) | Behaviour::Decline(d) => Some(d),
                Behaviour::NeverAnswer | Behaviour::Manual => None,
                Behaviour::Fail(d, _) => Some(d),
            };
            if let Some(after) = answer_after {
                tokio::spawn(send_ping(
                    endpoint.clone(),
                    token.clone(),
                    id.clone(),
                    after,
                ));
            }
            true
        }
    };
    let now = Instant::now();
    s.flows.insert(
        id.clone(),
        Flow {
            client_id: s.config.client_id.clone(),
            user: user.clone(),
            acr,
            binding_message,
            binding_content,
            created: now,
            expires: now + Duration::from_secs(s.config.expires_in),
            interval: Duration::from_secs(s.config.interval),
            last_poll: None,
            polls: 0,
            ping,
            decision: None,
        },
    );
    axum::Json(json!({ "auth_req_id": id, "expires_in": s.config.expires_in, "interval": s.config.interval })).into_response()
}

/// Calls the client notification endpoint once the user has answered.
async fn send_ping(endpoint: String, token: String, auth_req_id: String, after: Duration) {
    tokio::time::sleep(after).await;
    let mut settings = smartid_core::HttpSettings::new();
    settings.dangerous().allow_plain_http();
    let Ok(client) = smartid_core::HttpClient::new(&settings, "audkenni-simulator") else {
        return;
    };
    let request = smartid_core::HttpRequest::post(endpoint)
        .bearer_auth(&smartid_core::Secret::new(token))
        .json(&json!({ "auth_req_id": auth_req_id }));
    if let Ok(request) = request {
        let _ = client.send(request).await;
    }
}

async fn token(State(s): State<Arc<SimState>>, headers: HeaderMap, body: String) -> Response {
    let form = parse_form(&body);
    if let Err(r) = authenticate(&s, &headers, &form) {
        return *r;
    }
    if form.get("grant_type").map(String::as_str) != Some(CIBA_GRANT) {
        return bad("unsupported_grant_type", "only the CIBA grant is supported");
    }
    let Some(id) = form.get("auth_req_id") else {
        return bad("invalid_request", "auth_req_id is missing");
    };
    match s.flows.poll(id, &s.config.client_id, Instant::now()) {
        PollAnswer::Pending => bad("authorization_pending", "The user has not yet answered"),
        PollAnswer::SlowDown => bad(
            "slow_down",
            "Polling too fast; add 5 seconds to the interval",
        ),
        PollAnswer::Expired => bad("expired_token", "The auth_req_id has expired"),
        // Audkenni's documented shape: the code is the description.
        PollAnswer::Denied => bad("access_denied", "mssp_401"),
        PollAnswer::Failed(code) => bad("access_denied", code),
        PollAnswer::UnknownRequest | PollAnswer::WrongClient => {
            bad("invalid_grant", "unknown or already used auth_req_id")
        }
        PollAnswer::Approved(flow) => match issue_tokens(&s, &flow) {
            Ok(v) => axum::Json(v).into_response(),
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                &e.to_string(),
            ),
        },
    }
}

fn issue_tokens(s: &SimState, flow: &Flow) -> Result<Value> {
    let user = &flow.user;
    let cert = s
        .pki
        .users
        .get(&user.kennitala)
        .ok_or_else(|| TestkitError::Pki("no certificate for the user".into()))?;
    let now = SystemTime::now();
    let iat = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let access_token = random_hex(24);
    crate::secrets::record(crate::secrets::SecretKind::AccessToken, &access_token);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    let at_hash = URL_SAFE_NO_PAD.encode(digest.as_ref().get(..16).unwrap_or_default());
    let mut claims = json!({
        "at_hash": at_hash,
        "sub": format!("sim-{}", user.kennitala),
        "auditTrackingId": format!("{}-{}", random_hex(8), s.flows.polls.load(Ordering::SeqCst)),
        "iss": s.issuer,
        "tokenName": "id_token",
        "aud": flow.client_id,
        "acr": s.config.id_token_acr.clone().unwrap_or_else(|| flow.acr.clone()),
        "nationalRegisterId": user.kennitala,
        "azp": flow.client_id,
        "auth_time": iat,
        "name": user.name,
        "realm": "/audkenni",
        "exp": iat + 3600,
        "tokenType": "JWTToken",
        "iat": iat,
        "certificate": STANDARD.encode(cert.leaf_der()),
    });
    let signature = match flow.acr.as_str() {
        "sim-sign" | "app-sign" | "app-sign-with-certificate" | "nexus-sign" => {
            let text = flow.binding_message.as_deref().unwrap_or_default();
            let content = match s.config.signs {
                SimSignedContent::TextUtf16Be => utf16be(text),
                SimSignedContent::TextUtf16Le => {
                    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
                }
                SimSignedContent::TextUtf8 => text.as_bytes().to_vec(),
                SimSignedContent::BindingContent => {
                    let c = flow.binding_content.as_deref().unwrap_or_default();
                    STANDARD.decode(c).unwrap_or_else(|_| c.as_bytes().to_vec())
                }
            };
            Some(sign(&content, cert, now)?)
        }
        "sim-sign-pkcs1" => {
            let hash = flow
                .binding_content
                .as_deref()
                .and_then(|c| STANDARD.decode(c).ok())
                .unwrap_or_default();
            Some(sign_hash_pkcs1(&hash, cert)?)
        }
        _ => None,
    };
    if let (Some(sig), Some(obj)) = (signature, claims.as_object_mut()) {
        obj.insert("signature".into(), Value::String(STANDARD.encode(sig)));
        if flow.acr == "sim-sign-pkcs1" {
            // As in Audkenni's sim-sign-pkcs1 answers.
            obj.insert("documentNr".into(), Value::String("na".into()));
        }
    }
    let keys = s
        .keys
        .read()
        .map_err(|_| TestkitError::Pki("key lock poisoned".into()))?;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(keys.kid.clone());
    let id_token = jsonwebtoken::encode(&header, &claims, &keys.current)
        .map_err(|e| TestkitError::Pki(format!("id_token signing: {e}")))?;
    crate::secrets::record(crate::secrets::SecretKind::IdToken, &id_token);
    Ok(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 3599,
        "scope": "openid profile signature",
        "id_token": id_token,
    }))
}

/// Checks a request object as Audkenni's own examples are written: the
/// signature with the registered key (`kid` optional), `iss` the client
/// id, `aud` the announced issuer exactly, `exp` a number in the future
/// (fractional allowed); `iat`, `nbf` and `jti` optional.
fn check_request_object(s: &SimState, request: &str) -> std::result::Result<Value, String> {
    let header = jsonwebtoken::decode_header(request)
        .map_err(|e| format!("request object rejected: header ({e})"))?;
    if !s.client_algs.contains(&header.alg) {
        return Err(format!(
            "request object rejected: alg {:?} is not the registered key's",
            header.alg
        ));
    }
    let mut v = Validation::new(header.alg);
    v.algorithms = s.client_algs.clone();
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.set_required_spec_claims::<&str>(&[]);
    let claims = jsonwebtoken::decode::<Value>(request, &s.client_key, &v)
        .map_err(|e| format!("request object rejected: {e}"))?
        .claims;
    if claims.get("iss").and_then(Value::as_str) != Some(s.config.client_id.as_str()) {
        return Err("request object: iss must be the client id".into());
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => *a == s.issuer,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(s.issuer.as_str())),
        _ => false,
    };
    if !aud_ok {
        return Err(format!(
            "request object: aud must be the issuer exactly as published ({})",
            s.issuer
        ));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    match claims.get("exp").and_then(Value::as_f64) {
        Some(exp) if exp > now => {}
        Some(_) => return Err("request object: exp has passed".into()),
        None => return Err("request object: exp is required (a number)".into()),
    }
    for name in ["iat", "nbf"] {
        match claims.get(name) {
            None => {}
            Some(t) => match t.as_f64() {
                Some(t) if name == "nbf" && t > now + 60.0 => {
                    return Err("request object: nbf is in the future".into());
                }
                Some(_) => {}
                None => return Err(format!("request object: {name} must be a number")),
            },
        }
    }
    Ok(claims)
}
