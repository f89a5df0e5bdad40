//! The page at `/` in a real browser: headless Chromium driven over
//! WebDriver (chromedriver, plain HTTP + JSON with smartid-core's client:
//! no extra dependency). A CIBA flow waits for a person; the test clicks
//! Approve and the waiting future completes with the approved outcome; a
//! Hermod command waits; the test clicks Decline and the callback arrives.
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` the test is
//! skipped with a printed line, unless `CI` is set (then it fails): install
//! them with `ci/install-chromium.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use audkenni_ciba::{Acr, AuthRequest, WaitOptions};
use hermod_client::Outcome;
use serde_json::{Value, json};
use sim_common::*;
use smartid_core::{HttpClient, HttpRequest, HttpSettings, Method};
use smartid_testkit::sim::{HERMOD_CLIENT_ID, SimOptions, SimServer};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    process: Child,
    base: String,
    http: HttpClient,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Driver {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut request = HttpRequest::new(method, url);
        if let Some(b) = body {
            request = request.json(&b).unwrap();
        }
        let resp = self.http.send(request).await.unwrap();
        let v: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        assert!(resp.is_success(), "WebDriver {path}: {} {v}", resp.status());
        v["value"].clone()
    }

    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut settings = HttpSettings::new().request_timeout(Duration::from_secs(90));
        settings.dangerous().allow_plain_http();
        let http = HttpClient::new(&settings, "sim-browser-test").unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let ready = eventually(Duration::from_secs(30), async || {
            match http.send(HttpRequest::get(format!("{base}/status"))).await {
                Ok(r) => serde_json::from_slice::<Value>(r.body())
                    .is_ok_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            }
        })
        .await;
        assert!(ready, "chromedriver did not become ready");
        let profile = tempfile::tempdir().unwrap();
        let mut driver = Self {
            process,
            base,
            http,
            session: String::new(),
            _profile: profile,
        };
        let args = json!([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            format!("--user-data-dir={}", driver._profile.path().display()),
        ]);
        let session = driver
            .call(
                Method::Post,
                "/session",
                Some(json!({"capabilities": {"alwaysMatch": {
                    "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
                }}})),
            )
            .await;
        driver.session = session["sessionId"].as_str().unwrap().to_owned();
        driver
    }

    async fn open(&self, url: &str) {
        let path = format!("/session/{}/url", self.session);
        self.call(Method::Post, &path, Some(json!({ "url": url })))
            .await;
    }

    /// Finds an element by CSS selector, reloading the page until it shows.
    async fn find(&self, url: &str, css: &str) -> String {
        for _ in 0..50 {
            let path = format!("/session/{}/elements", self.session);
            let found = self
                .call(
                    Method::Post,
                    &path,
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(id) = found
                .as_array()
                .and_then(|a| a.first())
                .and_then(|e| e[ELEMENT].as_str())
            {
                return id.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.open(url).await;
        }
        panic!("no element {css} on the page: {}", self.source().await);
    }

    async fn click(&self, element: &str) {
        let path = format!("/session/{}/element/{element}/click", self.session);
        self.call(Method::Post, &path, Some(json!({}))).await;
    }

    async fn source(&self) -> String {
        let path = format!("/session/{}/source", self.session);
        self.call(Method::Get, &path, None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn quit(&self) {
        let path = format!("/session/{}", self.session);
        self.call(Method::Delete, &path, None).await;
    }
}

fn browser_available() -> bool {
    let present =
        std::path::Path::new(CHROMIUM).is_file() && std::path::Path::new(CHROMEDRIVER).is_file();
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {CHROMIUM} or {CHROMEDRIVER} is missing: run ci/install-chromium.sh"
        );
        println!(
            "skipped: {CHROMIUM} or {CHROMEDRIVER} is missing (ci/install-chromium.sh installs them)"
        );
    }
    present
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicking_approve_on_the_page_completes_the_waiting_flow() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = SimServer::start(SimOptions::new(dir.path())).await.unwrap();
    let v = sim_json(dir.path());
    let page = server.control_url().to_owned();

    // A CIBA flow for the manual user: it waits for a person.
    let ciba = ciba(&v).await;
    let mut pending = ciba
        .start(
            &AuthRequest::new(s(&v, "/audkenni/hints/manual"), Acr::SimAuth)
                .binding_message("Browser test"),
        )
        .await
        .unwrap();
    let id = pending.auth_req_id().to_owned();
    let flow = tokio::spawn(async move { ciba.finish(&mut pending, &WaitOptions::new()).await });

    let driver = Driver::start().await;
    driver.open(&page).await;
    let source = driver.source().await;
    assert!(source.contains("Browser test"), "{source}");
    let button = driver.find(&page, &format!("#approve-audkenni-{id}")).await;
    assert!(!flow.is_finished(), "the flow waits for the click");
    driver.click(&button).await;
    let done = tokio::time::timeout(Duration::from_secs(30), flow)
        .await
        .expect("the flow completes after the click")
        .unwrap()
        .expect("approved");
    assert_eq!(
        done.id_token
            .national_register_id
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("0101902319")
    );
    assert!(driver.source().await.contains("approved"));

    // A Hermod command waits for the (manual) device; Decline on the page.
    let (tracker, url) = receiver(&v, 0);
    assert!(server.hermod().set_callback_url(HERMOD_CLIENT_ID, &url));
    let sent = hermod(&v).send(&sign_command("browser-1")).await.unwrap();
    let command_id = sent.answer.command_id.clone();
    let button = driver
        .find(&page, &format!("#decline-hermod-{command_id}"))
        .await;
    driver.click(&button).await;
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        tracker.track(sent.tracked, &hermod_client::WaitOptions::new()),
    )
    .await
    .unwrap()
    .unwrap();
    match outcome {
        Outcome::Answered(cb) => assert_eq!(cb.state.to_string(), "DECLINED"),
        other => panic!("{other:?}"),
    }
    driver.quit().await;
}
