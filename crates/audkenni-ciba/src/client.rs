//! The CIBA client: configuration, start, wait, verification.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use smartid_core::{
    Certificate, Clock, HttpClient, HttpRequest, HttpSend, HttpSettings, Secret, SystemClock,
    WaitOptions,
};

use crate::client_auth::{ClientAuthMethod, ClientCredentials, authenticated_post};
use crate::discovery::{ProviderMetadata, discovery_url};
use crate::error::Error;
use crate::id_token::{Expectations, VerifiedIdToken, validate};
use crate::jwks::{JwksCache, parse_jwks};
use crate::pending::PendingAuth;
use crate::request::AuthRequest;
use crate::response::{check_json, invalid};
use crate::signature::{SignatureCheck, VerifiedSignature};
use crate::signing_key::RequestSigningKey;
use crate::tokens::Tokens;
use smartid_core::ConfigProblem;
use smartid_core::store::{FlowStore, MemoryStore, SealingKey};

const PRODUCT: &str = concat!("audkenni-ciba/", env!("CARGO_PKG_VERSION"));

/// The CIBA grant type.
pub const CIBA_GRANT_TYPE: &str = "urn:openid:params:grant-type:ciba";

/// Builds a [`CibaClient`]; [`CibaClientBuilder::build`] validates
/// everything at once and runs discovery unless endpoints were given.
pub struct CibaClientBuilder {
    issuer: String,
    client_id: String,
    client_secret: Option<Secret>,
    signing_key: Option<RequestSigningKey>,
    auth: ClientAuthMethod,
    http: HttpSettings,
    sender: Option<Arc<dyn HttpSend>>,
    metadata: Option<ProviderMetadata>,
    discovery_url: Option<String>,
    leeway: Duration,
    jwks_refetch: Duration,
    clock: Arc<dyn Clock>,
    store: Option<(Arc<dyn FlowStore>, bool)>,
    sealing_key: Option<Arc<SealingKey>>,
    replica: Option<String>,
    lease_length: Option<Duration>,
    poll_margin: Duration,
    outcome_recheck: Duration,
}

impl fmt::Debug for CibaClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CibaClientBuilder")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("signing_key", &self.signing_key)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl CibaClientBuilder {
    /// The client secret (for the client_secret_* methods).
    #[must_use]
    pub fn client_secret(mut self, secret: Secret) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// The key that signs request objects (required; the provider holds its public key).
    #[must_use]
    pub fn signing_key(mut self, key: RequestSigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// The client authentication method. Defaults to client_secret_basic as Audkenni expects.
    #[must_use]
    pub fn client_auth(mut self, method: ClientAuthMethod) -> Self {
        self.auth = method;
        self
    }

    /// HTTP settings: trust, proxy, timeouts, client identity. Defaults to
    /// [`HttpSettings::new`] (the platform's roots, HTTPS only).
    ///
    /// Every provider URL (issuer, discovery URL, the endpoints) is checked
    /// against these settings when the client is built, also with a custom
    /// [sender](CibaClientBuilder::http_sender).
    #[must_use]
    pub fn http_settings(mut self, settings: HttpSettings) -> Self {
        self.http = settings;
        self
    }

    /// Sends every request (discovery, bc-authorize, token, JWKS, CRL)
    /// through `sender` instead of the [`HttpClient`] built from the
    /// [HTTP settings](CibaClientBuilder::http_settings). Defaults to that
    /// client, with user agent `audkenni-ciba/<version>`; it also fetches
    /// CRLs, which are signed and usually served over plain `http`, so it is
    /// built with plain HTTP allowed while every provider URL is still
    /// required to be HTTPS (checked at build, redirects are never
    /// followed). A sender of your own takes over what the built client
    /// enforces (certificate checks, timeouts, the size limit).
    ///
    /// ```
    /// use audkenni_ciba::{HttpRequest, HttpResponse, HttpSend};
    /// let offline = |request: HttpRequest| async move {
    ///     Ok(HttpResponse::new(503, vec![], Vec::new(), request.url()))
    /// };
    /// let builder = audkenni_ciba::CibaClient::builder("https://idp.example", "rp")
    ///     .http_sender(offline);
    /// # let _ = builder;
    /// ```
    #[must_use]
    pub fn http_sender(mut self, sender: impl HttpSend) -> Self {
        self.sender = Some(Arc::new(sender));
        self
    }

    /// Uses these endpoints instead of discovery.
    #[must_use]
    pub fn metadata(mut self, metadata: ProviderMetadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Fetches the discovery document from this URL instead of
    /// `{issuer}/.well-known/openid-configuration`. The document's issuer
    /// must still match the configured issuer (`:443` or not), and is kept
    /// exactly as published. For deployments where the published issuer
    /// is not the address the client reaches (a proxy, a test simulator
    /// announcing `:443` while serving on a loopback port).
    #[must_use]
    pub fn discovery_url(mut self, url: impl Into<String>) -> Self {
        self.discovery_url = Some(url.into());
        self
    }

    /// Clock skew tolerated when checking id_token times. Defaults to 30 s.
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The shortest time between two JWKS fetches caused by an unknown
    /// `kid` (a token signed with a rotated key). Defaults to 60 s.
    #[must_use]
    pub fn jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.jwks_refetch = interval;
        self
    }

    /// The time and sleep of the client: the poll loop, request object and
    /// client assertion timestamps, id_token time checks, the JWKS cache
    /// and the default time of signature checks. Defaults to
    /// [`SystemClock`]; tests inject a manual one.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Where started flows are kept until they end, so that any replica
    /// sharing the store can finish them, and a poller on any replica can
    /// poll them ([`CibaClient::poller`]). Defaults to a
    /// [`MemoryStore`] of this client only (nothing survives a restart).
    ///
    /// A store other than a [`MemoryStore`] needs a
    /// [sealing key](CibaClientBuilder::sealing_key): the outcome of a flow
    /// holds its tokens, which are only ever stored sealed.
    #[must_use]
    pub fn store(mut self, store: impl FlowStore) -> Self {
        let in_memory = (&store as &dyn Any).is::<MemoryStore>()
            || (&store as &dyn Any).is::<Arc<MemoryStore>>();
        self.store = Some((Arc::new(store), in_memory));
        self
    }

    /// The key that seals the tokens of finished flows before they are
    /// stored (give every replica the same key). Required with a store
    /// other than a [`MemoryStore`]; with a [`MemoryStore`] (in this
    /// process only) a random key of this process is used when none is given.
    #[must_use]
    pub fn sealing_key(mut self, key: SealingKey) -> Self {
        self.sealing_key = Some(Arc::new(key));
        self
    }

    /// This replica's name, unique among the replicas sharing a store: it
    /// names the leases this replica holds. Defaults to a random name.
    #[must_use]
    pub fn replica(mut self, name: impl Into<String>) -> Self {
        self.replica = Some(name.into());
        self
    }

    /// How long a replica holds a flow while it polls it: another replica
    /// takes the flow over only after that (when the holder died). Must be
    /// longer than the HTTP request timeout. A poll waits for a busy
    /// connection pool only while its lease leaves room for the whole
    /// request timeout after it (then it is not sent and comes back one
    /// interval later). Defaults to the request timeout plus 10 s.
    #[must_use]
    pub fn lease_length(mut self, length: Duration) -> Self {
        self.lease_length = Some(length);
        self
    }

    /// Added to the provider's interval, counted from the previous answer,
    /// so that a poll never reaches the provider before the interval
    /// (which the provider measures between the arrivals of two polls).
    /// Defaults to 250 ms.
    #[must_use]
    pub fn poll_margin(mut self, margin: Duration) -> Self {
        self.poll_margin = margin;
        self
    }

    /// How often a waiter reads the store again when no notification came
    /// (a store whose notifications can be lost). Defaults to 1 s.
    #[must_use]
    pub fn outcome_recheck(mut self, period: Duration) -> Self {
        self.outcome_recheck = period;
        self
    }

    /// Validates the configuration, fetches the discovery document unless
    /// endpoints were given, and builds the client.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] listing every missing or invalid setting
    /// (client id, key, secret, plain-http URLs); [`Error::Http`] for HTTP
    /// settings or transport failures; [`Error::InvalidResponse`] for a bad
    /// discovery document.
    pub async fn build(self) -> Result<CibaClient, Error> {
        let mut problems = Vec::new();
        let request_timeout = self.http.request_timeout_value();
        let lease_length = self
            .lease_length
            .unwrap_or(request_timeout + Duration::from_secs(10));
        if lease_length <= request_timeout {
            problems.push(ConfigProblem::new(
                "lease_length",
                format!(
                    "{lease_length:?} is not longer than the HTTP request timeout ({request_timeout:?}): a poll still in flight could lose its lease to another replica"
                ),
            ));
        }
        let (store, private_store, in_memory) = match &self.store {
            Some((store, in_memory)) => (store.clone(), false, *in_memory),
            None => (
                Arc::new(MemoryStore::new()) as Arc<dyn FlowStore>,
                true,
                true,
            ),
        };
        let sealing_key = match (&self.sealing_key, in_memory) {
            (Some(key), _) => Some(key.clone()),
            (None, true) => Some(crate::flow::process_key()?),
            (None, false) => {
                problems.push(ConfigProblem::new(
                    "sealing_key",
                    "missing: a shared flow store keeps the tokens of finished flows, and they are stored only sealed; give the same SealingKey to every replica",
                ));
                None
            }
        };
        if self.client_id.trim().is_empty() {
            problems.push(ConfigProblem::new(
                "client_id",
                "empty: give the client id Audkenni issued",
            ));
        }
        if self.signing_key.is_none() {
            problems.push(ConfigProblem::new(
                "signing_key",
                "missing: request objects must be signed with the relying party's key",
            ));
        }
        if self.auth.needs_secret() && self.client_secret.as_ref().is_none_or(Secret::is_empty) {
            problems.push(ConfigProblem::new(
                "client_secret",
                "missing: client_secret_basic/post need the client secret (or use private_key_jwt)",
            ));
        }
        let check_url = |problems: &mut Vec<ConfigProblem>, field: &'static str, url: &str| {
            if let Err(e) = self.http.check_url(field, url) {
                problems.push(ConfigProblem::new(field, e.to_string()));
            }
        };
        if self.metadata.is_none() {
            check_url(&mut problems, "issuer", &self.issuer);
            if let Some(u) = &self.discovery_url {
                check_url(&mut problems, "discovery_url", u);
            }
        }
        if let Some(m) = &self.metadata {
            check_endpoints(&mut problems, m, check_url);
        }
        let Some(signing_key) = self.signing_key.clone().filter(|_| problems.is_empty()) else {
            return Err(Error::InvalidConfig(problems));
        };
        let http: Arc<dyn HttpSend> = match &self.sender {
            Some(sender) => sender.clone(),
            None => {
                // One client for everything. Plain http is allowed only for
                // CRLs: every provider URL is checked against the caller's
                // settings above and below, and redirects are never followed.
                let mut settings = self.http.clone();
                settings.dangerous().allow_plain_http();
                Arc::new(HttpClient::new(&settings, PRODUCT)?)
            }
        };
        let metadata = match self.metadata {
            Some(m) => m,
            None => {
                let url = self
                    .discovery_url
                    .clone()
                    .unwrap_or_else(|| discovery_url(&self.issuer));
                let response = http
                    .send(HttpRequest::get(&url).header("Accept", "application/json"))
                    .await?;
                if !response.is_success() {
                    return Err(invalid(
                        &response,
                        "the discovery document could not be fetched",
                    ));
                }
                check_json(&response)?;
                let m =
                    ProviderMetadata::from_discovery_document(response.body(), &self.issuer, &url)?;
                check_endpoints(&mut problems, &m, check_url);
                if !problems.is_empty() {
                    return Err(Error::InvalidConfig(problems));
                }
                m
            }
        };
        Ok(CibaClient {
            inner: Arc::new(Inner {
                http,
                metadata,
                client_id: self.client_id,
                client_secret: self.client_secret,
                signing_key,
                auth: self.auth,
                leeway: self.leeway,
                clock: self.clock,
                jwks: JwksCache::new(self.jwks_refetch),
                flows: crate::driver::Flows {
                    store,
                    private: private_store,
                    replica: self.replica.unwrap_or_else(crate::flow::random_replica),
                    lease: lease_length,
                    request_timeout,
                    pool_timeout: self.http.pool_timeout_value(),
                    margin: self.poll_margin,
                    recheck: self.outcome_recheck.max(Duration::from_millis(10)),
                    key: sealing_key.ok_or_else(|| Error::config("sealing_key", "missing"))?,
                    waiters: std::sync::atomic::AtomicU64::new(0),
                    pruned_at: std::sync::atomic::AtomicU64::new(0),
                },
            }),
        })
    }
}

/// Requires the provider's endpoints to pass the HTTP settings (HTTPS
/// unless plain HTTP was allowed).
fn check_endpoints(
    problems: &mut Vec<ConfigProblem>,
    metadata: &ProviderMetadata,
    check_url: impl Fn(&mut Vec<ConfigProblem>, &'static str, &str),
) {
    check_url(
        problems,
        "backchannel_authentication_endpoint",
        &metadata.backchannel_authentication_endpoint,
    );
    check_url(problems, "token_endpoint", &metadata.token_endpoint);
    check_url(problems, "jwks_uri", &metadata.jwks_uri);
}

/// A CIBA client for Audkenni (and other CIBA providers in poll mode).
/// Cheap to clone.
///
/// The flow: [`CibaClient::start`] sends the signed request and returns a
/// [`PendingAuth`]; [`CibaClient::finish`] polls until the user answers and
/// returns the verified id_token; [`VerifiedIdToken::verify_signature`]
/// then verifies what was signed.
#[derive(Clone)]
pub struct CibaClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: Arc<dyn HttpSend>,
    pub(crate) metadata: ProviderMetadata,
    client_id: String,
    client_secret: Option<Secret>,
    signing_key: RequestSigningKey,
    auth: ClientAuthMethod,
    leeway: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    jwks: JwksCache,
    pub(crate) flows: crate::driver::Flows,
}

impl fmt::Debug for CibaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CibaClient")
            .field("issuer", &self.inner.metadata.issuer)
            .field("client_id", &self.inner.client_id)
            .field("auth", &self.inner.auth)
            .field("signing_key", &self.inner.signing_key)
            .finish_non_exhaustive()
    }
}

/// The result of [`CibaClient::finish`]: the tokens and the verified id_token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Completed {
    /// The tokens.
    pub tokens: Tokens,
    /// The verified id_token.
    pub id_token: VerifiedIdToken,
    /// The verified signature, from [`CibaClient::finish_and_verify_signature`].
    pub signature: Option<VerifiedSignature>,
}

impl CibaClient {
    /// Starts building a client for `issuer` (discovery runs at
    /// `/.well-known/openid-configuration` below it) and `client_id`.
    pub fn builder(issuer: impl Into<String>, client_id: impl Into<String>) -> CibaClientBuilder {
        CibaClientBuilder {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: None,
            signing_key: None,
            auth: ClientAuthMethod::default(),
            http: HttpSettings::new(),
            sender: None,
            metadata: None,
            discovery_url: None,
            leeway: Duration::from_secs(30),
            jwks_refetch: crate::jwks::MIN_REFETCH_INTERVAL,
            clock: Arc::new(SystemClock),
            store: None,
            sealing_key: None,
            replica: None,
            lease_length: None,
            poll_margin: Duration::from_millis(250),
            outcome_recheck: Duration::from_secs(1),
        }
    }

    /// The provider's metadata in use.
    pub fn metadata(&self) -> &ProviderMetadata {
        &self.inner.metadata
    }

    pub(crate) fn credentials(&self) -> ClientCredentials<'_> {
        ClientCredentials {
            method: self.inner.auth,
            client_id: &self.inner.client_id,
            secret: self.inner.client_secret.as_ref(),
            key: &self.inner.signing_key,
            audience: &self.inner.metadata.issuer,
        }
    }

    /// The bc-authorize request for `request` (no I/O).
    pub(crate) fn start_request(&self, request: &AuthRequest) -> Result<HttpRequest, Error> {
        let now = self.inner.clock.now();
        let jwt = request.signed_request_object(
            &self.inner.signing_key,
            &self.inner.client_id,
            &self.inner.metadata.issuer,
            now,
        )?;
        authenticated_post(
            &self.inner.metadata.backchannel_authentication_endpoint,
            &[("request", &jwt)],
            &self.credentials(),
            now,
        )
    }

    /// Validates and signs `request`, posts it to bc-authorize and returns
    /// the pending handle.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] before sending anything; [`Error::Server`]
    /// with the provider's code (Audkenni: `access_denied` with a [`crate::ProviderCode`] such as `mssp_105`);
    /// [`Error::InvalidResponse`]; [`Error::Http`] for transport failures.
    ///
    /// # Example
    /// ```
    /// use audkenni_ciba::{Acr, AuthRequest, CibaClient, PendingAuth};
    /// # use audkenni_ciba::{JwsAlgorithm, RequestSigningKey, Secret, HttpSettings, TrustRoots};
    /// # use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig, hints};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = AudkenniSimulator::start(SimConfig::with_answer_after(std::time::Duration::from_millis(500)).interval(1)).await?;
    /// # let client = CibaClient::builder(sim.issuer(), sim.client_id())
    /// #     .client_secret(Secret::new(sim.client_secret()))
    /// #     .signing_key(RequestSigningKey::from_pem(sim.client_key_pem().as_bytes(), JwsAlgorithm::Rs256)?)
    /// #     .http_settings(HttpSettings::new().trust(TrustRoots::Only(sim.tls_trust_store()?)))
    /// #     .build().await?;
    /// # let phone = hints::APPROVES;
    /// let request = AuthRequest::new(phone, Acr::SimAuth);
    /// let pending = client.start(&request).await?;
    /// // Store it anywhere (it is serializable) and finish later, elsewhere.
    /// let stored = serde_json::to_string(&pending)?;
    /// let pending: PendingAuth = serde_json::from_str(&stored)?;
    /// assert!(!pending.auth_req_id().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    #[tracing::instrument(
        name = "ciba.start",
        target = "audkenni_ciba",
        level = "debug",
        skip_all,
        fields(
            flow = tracing::field::Empty,
            login_hint = %smartid_core::mask_identifier(request.login_hint()),
            acr = ?request.acr(),
        )
    )]
    pub async fn start(&self, request: &AuthRequest) -> Result<PendingAuth, Error> {
        let alias = crate::flow::alias_of(request.notification_token());
        if let Some(alias) = &alias {
            self.check_alias_free(alias).await?;
        }
        let http_request = self.start_request(request)?;
        tracing::debug!(target: "audkenni_ciba", ping = alias.is_some(), "sending the backchannel authentication request (bc-authorize)");
        let response = self.inner.http.send(http_request).await?;
        let answered = self.inner.clock.now();
        let mut pending = PendingAuth::from_response(
            &response,
            &self.inner.metadata.issuer,
            answered,
            request.acr().clone(),
            request.binding_message_text().map(str::to_owned),
            request.binding_content_value().cloned(),
            request.signed_payload(),
        )?;
        // The provider measures the interval from its answer's arrival: the
        // first poll comes one interval plus the margin after the answer.
        let from = answered
            .checked_add(self.inner.flows.margin)
            .unwrap_or(answered);
        pending.schedule_next(from, pending.interval());
        let flow = crate::flow::flow_id(pending.auth_req_id());
        tracing::Span::current().record("flow", flow.as_str());
        tracing::info!(
            target: "audkenni_ciba",
            flow = %flow,
            login_hint = %smartid_core::mask_identifier(request.login_hint()),
            interval_s = pending.interval().as_secs(),
            "CIBA flow started: bc-authorize accepted"
        );
        self.store_started(&pending, alias).await?;
        Ok(pending)
    }

    /// Waits until the user answers, the request expires or the deadline
    /// passes, and returns the tokens. The flow is read from the store
    /// (stored again from `pending` if the store lost it), and polled when
    /// it is due and no other replica or poller holds it: each poll is made
    /// under a lease, so that two waiters, or a waiter and the
    /// [pollers](CibaClient::poller) of any replica, never poll it twice for
    /// the same slot. The outcome, whoever polled, is read from the store.
    /// `pending` is updated as polling goes (the interval after
    /// `slow_down`, the next poll time).
    ///
    /// # Cancel safety
    /// Dropping the future (a timeout, a shutdown) leaves the flow valid:
    /// a poll in flight keeps its lease until the lease expires, so nobody
    /// polls too early, and the interval grows as soon as a `slow_down` is
    /// read. What it does NOT cover: if the future is dropped after a token
    /// request was sent but before its answer arrived, and the provider had
    /// the tokens ready, that answer is lost. The provider hands tokens out
    /// once (a later poll gets `invalid_grant`), so a token answer lost in
    /// flight cannot be recovered: the user must be asked again with a new
    /// request. To keep that window small, cancel between polls (for
    /// example with [`WaitOptions::deadline`], which is checked before each
    /// poll) rather than by dropping the future at an arbitrary point.
    ///
    /// # Errors
    /// [`Error::Server`] (`access_denied`, `expired_token`...),
    /// [`Error::Expired`], [`Error::DeadlineReached`], [`Error::PollFailed`],
    /// [`Error::TokensLost`] (a poll's answer was lost with the tokens in it),
    /// [`Error::Store`].
    pub async fn wait(
        &self,
        pending: &mut PendingAuth,
        options: &WaitOptions,
    ) -> Result<Tokens, Error> {
        self.check_issuer(pending)?;
        let auth_req_id = pending.auth_req_id().to_owned();
        tracing::debug!(target: "audkenni_ciba", flow = %crate::flow::flow_id(&auth_req_id), "waiting for the user's answer");
        self.wait_stored(&auth_req_id, Some(pending), options).await
    }

    /// [`CibaClient::finish`] for a flow known only by its `auth_req_id`
    /// (started on any replica sharing the store).
    ///
    /// # Errors
    /// As [`CibaClient::resume`] and [`CibaClient::finish`].
    pub async fn finish_by_id(
        &self,
        auth_req_id: &str,
        options: &WaitOptions,
    ) -> Result<Completed, Error> {
        let mut pending = self.resume(auth_req_id).await?;
        self.finish(&mut pending, options).await
    }

    /// Ping mode: after the provider's ping (checked with
    /// [`crate::parse_ping_notification`]), fetches the tokens with one
    /// token request, no polling. Verify them with
    /// [`CibaClient::verify_id_token`].
    ///
    /// # Errors
    /// [`Error::Server`] (including `authorization_pending` if the ping
    /// came early), [`Error::InvalidResponse`], [`Error::Http`].
    pub async fn fetch_tokens(&self, pending: &PendingAuth) -> Result<Tokens, Error> {
        self.check_issuer(pending)?;
        tracing::debug!(target: "audkenni_ciba", flow = %crate::flow::flow_id(pending.auth_req_id()), "fetching the tokens after a ping");
        let request = authenticated_post(
            &self.inner.metadata.token_endpoint,
            &[
                ("grant_type", CIBA_GRANT_TYPE),
                ("auth_req_id", pending.auth_req_id()),
            ],
            &self.credentials(),
            self.inner.clock.now(),
        )?;
        let response = self.inner.http.send(request).await?;
        if response.is_success() {
            return Tokens::from_response(&response);
        }
        match crate::provider_error::parse_error_document(&response) {
            Some(e) => Err(e.into()),
            None => Err(invalid(
                &response,
                "HTTP error without an OAuth error document",
            )),
        }
    }

    fn check_issuer(&self, pending: &PendingAuth) -> Result<(), Error> {
        if pending.issuer() != self.inner.metadata.issuer {
            return Err(Error::InvalidRequest {
                field: "pending",
                message: format!(
                    "the request was started at {}, this client talks to {}",
                    pending.issuer(),
                    self.inner.metadata.issuer
                ),
            });
        }
        Ok(())
    }

    /// Verifies the id_token of `tokens` (signature from the provider's
    /// JWKS, issuer, audience, azp, times, at_hash).
    ///
    /// # Errors
    /// [`Error::IdToken`] saying which check failed; JWKS fetch failures.
    pub async fn verify_id_token(&self, tokens: &Tokens) -> Result<VerifiedIdToken, Error> {
        self.verify_id_token_str(
            tokens.unverified_id_token(),
            Some(tokens.access_token().expose_secret()),
        )
        .await
    }

    /// Verifies an id_token given as a string (for example one stored
    /// earlier); `access_token` enables the `at_hash` check.
    ///
    /// # Errors
    /// As [`CibaClient::verify_id_token`].
    pub async fn verify_id_token_str(
        &self,
        id_token: &str,
        access_token: Option<&str>,
    ) -> Result<VerifiedIdToken, Error> {
        let now = self.inner.clock.now();
        let expect = Expectations {
            issuer: &self.inner.metadata.issuer,
            client_id: &self.inner.client_id,
            leeway: self.inner.leeway,
            now,
            access_token,
        };
        let verified = validate(id_token, &expect, |kid, alg| async move {
            self.inner
                .jwks
                .key(kid.as_deref(), alg, now, || async {
                    let response = self
                        .inner
                        .http
                        .send(
                            HttpRequest::get(&self.inner.metadata.jwks_uri)
                                .header("Accept", "application/json"),
                        )
                        .await?;
                    parse_jwks(&response)
                })
                .await
        })
        .await;
        match &verified {
            Ok(token) => tracing::info!(
                target: "audkenni_ciba",
                national_register_id = %token
                    .national_register_id
                    .as_ref()
                    .map_or_else(String::new, |k| smartid_core::mask_identifier(k.as_str())),
                "id_token verified"
            ),
            Err(e) => {
                tracing::warn!(target: "audkenni_ciba", error_kind = crate::driver::error_kind(e), "id_token refused")
            }
        }
        verified
    }

    /// The CRL of `certificate`, fetched from its CRL distribution point
    /// through this client's HTTP settings (plain http allowed: the CRL is
    /// signed, and its signature is verified against the issuer when used).
    ///
    /// # Errors
    /// [`Error::Signature`] with [`crate::SignatureError::RevocationUnavailable`]
    /// saying why no CRL was obtained (no distribution point, HTTP error,
    /// transport failure).
    pub async fn fetch_crl(&self, certificate: &Certificate) -> Result<Vec<u8>, Error> {
        crate::crl::fetch(self.inner.http.as_ref(), certificate)
            .await
            .map_err(|why| crate::SignatureError::RevocationUnavailable(why).into())
    }

    /// [`VerifiedIdToken::verify_signature`] (the CMS in the `signature`
    /// claim), fetching the signer's CRL first when `check` asks for it
    /// ([`SignatureCheck::fetch_crl`]).
    ///
    /// # Errors
    /// As [`VerifiedIdToken::verify_signature`].
    pub async fn verify_signature(
        &self,
        id_token: &VerifiedIdToken,
        check: &SignatureCheck,
    ) -> Result<VerifiedSignature, Error> {
        let check = check.clone().at_or(self.inner.clock.now());
        let check = self.with_crl(id_token, check).await;
        let verified = id_token.verify_signature(&check);
        log_signature(&verified);
        verified
    }

    async fn with_crl(&self, id_token: &VerifiedIdToken, check: SignatureCheck) -> SignatureCheck {
        if !check.wants_crl_fetch() {
            return check;
        }
        let fetched = match &id_token.certificate {
            Some(cert) => crate::crl::fetch(self.inner.http.as_ref(), cert).await,
            None => Err("the id_token has no certificate claim".into()),
        };
        check.with_fetched_crl(fetched)
    }

    /// [`CibaClient::finish`], then verifies the signature (CMS, or PKCS#1
    /// for `sim-sign-pkcs1` against the recorded binding content) with
    /// `check`, AND checks the signed content against what the pending flow
    /// recorded ([`crate::AuthRequest::signs`]) on top of any expectation in
    /// `check`. The signer's CRL is fetched when `check` asks for it.
    ///
    /// # Errors
    /// As [`CibaClient::finish`]; [`Error::InvalidRequest`] (`signs`) when
    /// neither the request nor `check` says what is signed;
    /// [`Error::Signature`] saying which check failed.
    pub async fn finish_and_verify_signature(
        &self,
        pending: &mut PendingAuth,
        options: &WaitOptions,
        check: &SignatureCheck,
    ) -> Result<Completed, Error> {
        let check = check.clone().with_recorded(pending.expected_content());
        if !check.has_expectation() {
            return Err(Error::InvalidRequest {
                field: "signs",
                message: "say what the signature must cover: AuthRequest::signs(..) when starting, or an expect_* on the SignatureCheck".into(),
            });
        }
        let mut done = self.finish(pending, options).await?;
        let check = check.at_or(self.inner.clock.now());
        let check = self.with_crl(&done.id_token, check).await;
        let verified = if pending.acr().returns_pkcs1() {
            let content = pending.binding_content().ok_or(Error::InvalidRequest {
                field: "binding_content",
                message: "sim-sign-pkcs1 signs the binding content, and the request had none"
                    .into(),
            })?;
            done.id_token.verify_pkcs1_signature(content, &check)?
        } else {
            done.id_token.verify_signature(&check)?
        };
        log_signature(&Ok::<_, Error>(&verified));
        done.signature = Some(verified);
        Ok(done)
    }

    /// [`CibaClient::wait`], then [`CibaClient::verify_id_token`].
    ///
    /// # Errors
    /// As both.
    ///
    /// # Example
    /// ```
    /// use std::time::Duration;
    /// use audkenni_ciba::{Acr, AuthRequest, CibaClient, Clock, SystemClock, WaitOptions};
    /// # use audkenni_ciba::{JwsAlgorithm, RequestSigningKey, Secret, HttpSettings, TrustRoots};
    /// # use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig, hints};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = AudkenniSimulator::start(SimConfig::with_answer_after(std::time::Duration::from_millis(500)).interval(1)).await?;
    /// # let client = CibaClient::builder(sim.issuer(), sim.client_id())
    /// #     .client_secret(Secret::new(sim.client_secret()))
    /// #     .signing_key(RequestSigningKey::from_pem(sim.client_key_pem().as_bytes(), JwsAlgorithm::Rs256)?)
    /// #     .http_settings(HttpSettings::new().trust(TrustRoots::Only(sim.tls_trust_store()?)))
    /// #     .build().await?;
    /// # let phone = hints::APPROVES;
    /// let mut pending = client.start(&AuthRequest::new(phone, Acr::SimAuth)).await?;
    /// // Wait at most two minutes; on DeadlineReached `pending` can be resumed.
    /// let options = WaitOptions::new().timeout_from(SystemClock.now(), Duration::from_secs(120));
    /// let done = client.finish(&mut pending, &options).await?;
    /// println!("authenticated: {:?}", done.id_token.name);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn finish(
        &self,
        pending: &mut PendingAuth,
        options: &WaitOptions,
    ) -> Result<Completed, Error> {
        let tokens = self.wait(pending, options).await?;
        let id_token = self.verify_id_token(&tokens).await?;
        Ok(Completed {
            tokens,
            id_token,
            signature: None,
        })
    }
}

/// The outcome of a CMS signature check, for logs.
fn log_signature<T>(verified: &Result<T, Error>) {
    match verified {
        Ok(_) => tracing::info!(target: "audkenni_ciba", "CMS signature verified"),
        Err(e) => {
            tracing::warn!(target: "audkenni_ciba", error_kind = crate::driver::error_kind(e), "CMS signature refused")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The futures must stay `Send` (services spawn them), including while
    /// the JWKS cache lock is held across a fetch.
    #[test]
    fn futures_are_send() {
        fn is_send<T: Send>(_: &T) {}
        fn check(client: &CibaClient, pending: &mut PendingAuth, tokens: &Tokens) {
            is_send(&client.verify_id_token(tokens));
            is_send(&client.verify_id_token_str("", None));
            is_send(&client.finish(pending, &WaitOptions::default()));
        }
        let _ = check; // Compiling is the test.
    }
}
