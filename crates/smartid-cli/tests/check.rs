//! `smartid check` against the testkit's simulators over real TLS: a good
//! bundle and entry (all green, exit 0) and broken ones (the red line says
//! what to fix, exit 1).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::{run_async, smartid};
use idm_config::{DtrustBundle, PropertiesFile};
use smartid_core::Secret;
use smartid_testkit::dtrust::DtrustSimulator;
use smartid_testkit::hermod::{ApiClient, HermodSimulator};
use smartid_testkit::{
    ClientAuth, ConnectProxy, Pkcs12Encryption, TestIdentity, TestPki, TlsFront,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

struct Bundle<'a> {
    url: String,
    extra: String,
    identity: TestIdentity,
    server_cer: Vec<u8>,
    dir: &'a Path,
}

impl Bundle<'_> {
    fn write(&self, name: &str) -> PathBuf {
        let p12 = self
            .identity
            .to_pkcs12(&Secret::new("s3cret"), Pkcs12Encryption::Legacy, "client")
            .unwrap();
        let text = format!(
            "url={}\np12File=client.p12\np12Password=s3cret\nserverCertificate=server.cer\n\
             certificateTemplates=Basic SSL ID (RSA)\n{}",
            self.url, self.extra
        );
        let props = PropertiesFile::parse(text.as_bytes(), "dtrust.properties");
        let bundle = DtrustBundle::from_parts(
            &props,
            vec![
                ("client.p12".into(), p12),
                ("server.cer".into(), self.server_cer.clone()),
            ],
        )
        .unwrap();
        let path = self.dir.join(name);
        std::fs::write(&path, bundle.to_zip().unwrap()).unwrap();
        path
    }
}

fn good<'a>(sim: &DtrustSimulator, dir: &'a Path) -> Bundle<'a> {
    Bundle {
        url: sim.rest_url(),
        extra: String::new(),
        identity: sim.issue_client_identity("IDM connector").unwrap(),
        server_cer: sim.server_ca_der(),
        dir,
    }
}

async fn check(args: &[&std::ffi::OsStr]) -> common::Run {
    let mut cmd = smartid(["check", "--timeout", "5"]);
    cmd.args(args);
    run_async(cmd).await
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn good_bundle_is_all_green() {
    let sim = DtrustSimulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = good(&sim, dir.path()).write("good.zip");
    let out = check(&[path.as_os_str()]).await;
    assert_eq!(out.code, 0, "{out:?}");
    for line in [
        "ok config: D-Trust REST at https://localhost:",
        "ok resolve: localhost is",
        "ok tcp: connected to localhost:",
        "ok tls: server certificate \"CN=localhost",
        "ok mutual TLS: client certificate \"CN=IDM connector\" accepted;",
        "Basic SSL ID (RSA)",
    ] {
        assert!(out.stdout.contains(line), "{line}: {out:?}");
    }
    assert!(!out.stdout.contains("FAIL"), "{out:?}");
    // Waits are announced as plain lines when stderr is not a terminal.
    assert!(
        out.stderr
            .contains("waiting: fetching D-Trust's product list (up to"),
        "{out:?}"
    );
    // JSON for pipelines.
    let mut cmd = smartid(["check", "--format", "json"]);
    cmd.arg(&path);
    let out = run_async(cmd).await;
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["ok"], true, "{doc}");
    assert!(doc["checks"].as_array().unwrap().len() >= 5, "{doc}");
}

#[tokio::test]
async fn wrong_trust_names_the_server_certificate_and_why() {
    let sim = DtrustSimulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut b = good(&sim, dir.path());
    b.server_cer = TestPki::generate().unwrap().root_der();
    let path = b.write("wrong-trust.zip");
    let out = check(&[path.as_os_str()]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("FAIL tls:"))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(line.contains("server certificate \"CN=localhost"), "{line}");
    assert!(
        line.contains("not issued by a certificate in the configured trust"),
        "{line}"
    );
    assert!(line.contains("its issuer is"), "{line}");
    // Nothing after a red TLS line.
    assert!(!out.stdout.contains("mutual TLS"), "{out:?}");
}

#[tokio::test]
async fn client_certificate_not_accepted_is_red() {
    let sim = DtrustSimulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut b = good(&sim, dir.path());
    b.identity = TestPki::generate().unwrap().client("Stranger").unwrap();
    let path = b.write("stranger.zip");
    let out = check(&[path.as_os_str()]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("ok tls:"), "{out:?}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("FAIL mutual TLS:"))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(
        line.contains("did not accept the client certificate \"O=smartid testkit, CN=Stranger\""),
        "{line}"
    );
    assert!(line.contains("p12File"), "{line}");
}

#[tokio::test]
async fn unreachable_port_is_red_at_tcp() {
    let sim = DtrustSimulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut b = good(&sim, dir.path());
    b.url = format!("https://localhost:{}/rest/v1", closed_port().await);
    let path = b.write("closed.zip");
    let out = check(&[path.as_os_str()]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("ok resolve:"), "{out:?}");
    assert!(
        out.stdout
            .contains("FAIL tcp: no TCP connection to localhost:"),
        "{out:?}"
    );
}

#[tokio::test]
async fn the_configured_proxy_is_used_and_a_dead_one_is_red() {
    let sim = DtrustSimulator::start().await.unwrap();
    let proxy = ConnectProxy::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut b = good(&sim, dir.path());
    b.extra = format!("proxyHost={}\nproxyPort={}\n", proxy.host(), proxy.port());
    let path = b.write("proxy.zip");
    let out = check(&[path.as_os_str()]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("ok resolve proxy: 127.0.0.1"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("ok proxy: the proxy opened a tunnel to localhost:"),
        "{out:?}"
    );
    assert!(out.stdout.contains("ok mutual TLS:"), "{out:?}");
    let port = sim.tls_front().addr().port();
    let targets = proxy.connect_targets();
    assert!(
        targets.len() >= 2 && targets.iter().all(|t| t.ends_with(&format!(":{port}"))),
        "the probe and the client both went through the proxy: {targets:?}"
    );

    b.extra = format!("proxyHost=127.0.0.1\nproxyPort={}\n", closed_port().await);
    let path = b.write("dead-proxy.zip");
    let out = check(&[path.as_os_str()]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("FAIL tcp: proxy: no TCP connection"),
        "{out:?}"
    );
}

fn entry(url: &str, client: &str, key: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{client}:{key}"));
    format!(
        r#"{{"name":"Hermod","url":"{url}","authenticationToken":"{token}","lifespan":600,"timeout":300}}"#
    )
}

#[tokio::test]
async fn hermod_api_key_accepted_and_refused() {
    let pki = TestPki::generate().unwrap();
    let sim = HermodSimulator::builder(pki.localhost_server().unwrap())
        .client(ApiClient::new(
            "prime1",
            Secret::new("k3y"),
            "https://localhost:1/idm-operator/ws/hermod",
            pki.root_trust_store().unwrap(),
        ))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("cacerts.pem");
    std::fs::write(&trust, pki.root_pem()).unwrap();
    let good = dir.path().join("messaging.json");
    std::fs::write(&good, entry(&sim.command_url(), "prime1", "k3y")).unwrap();
    let out = check(&["--trust".as_ref(), trust.as_os_str(), good.as_os_str()]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("ok tls: server certificate \"CN=localhost"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("ok api key: the API key of client \"prime1\" is accepted"),
        "{out:?}"
    );

    // Through --proxy: the tunnel line, and the proxy saw the Hermod port.
    let proxy = ConnectProxy::start().await.unwrap();
    let via = format!("{}:{}", proxy.host(), proxy.port());
    let out = check(&[
        "--trust".as_ref(),
        trust.as_os_str(),
        "--proxy".as_ref(),
        via.as_ref(),
        good.as_os_str(),
    ])
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("ok proxy: the proxy opened a tunnel"),
        "{out:?}"
    );
    assert!(out.stdout.contains("ok api key:"), "{out:?}");
    let port = format!(":{}", sim.front().addr().port());
    assert!(
        proxy
            .connect_targets()
            .iter()
            .filter(|t| t.ends_with(&port))
            .count()
            >= 2,
        "{:?}",
        proxy.connect_targets()
    );

    let bad = dir.path().join("bad-key.json");
    std::fs::write(&bad, entry(&sim.command_url(), "prime1", "wrong")).unwrap();
    let out = check(&["--trust".as_ref(), trust.as_os_str(), bad.as_os_str()]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("FAIL api key:"))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(line.contains("refused the API key"), "{line}");
    assert!(line.contains("Authentication token"), "{line}");
    assert!(!line.contains("wrong"), "no secret in the output: {line}");
    assert!(sim.refused_api_keys() >= 1);
}

/// An HTTPS endpoint answering every request with `status`.
async fn https_answering(pki: &TestPki, status: &str) -> TlsFront {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let backend = listener.local_addr().unwrap();
    let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(answer.as_bytes()).await;
            });
        }
    });
    TlsFront::start(backend, &pki.localhost_server().unwrap(), ClientAuth::None)
        .await
        .unwrap()
}

#[tokio::test]
async fn callback_alive_url_up_and_down() {
    let pki = TestPki::generate().unwrap();
    let up = https_answering(&pki, "200 OK").await;
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("cacerts.pem");
    std::fs::write(&trust, pki.root_pem()).unwrap();
    let clients = dir.path().join("hermod-clients.json");
    std::fs::write(
        &clients,
        format!(
            r#"{{"allowed-clients":[{{"client-id":"prime1","key":"k","callback-url":"{}/idm-operator/ws/hermod"}}]}}"#,
            up.url()
        ),
    )
    .unwrap();
    let out = check(&["--trust".as_ref(), trust.as_os_str(), clients.as_os_str()]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("ok callback alive:"), "{out:?}");
    assert!(
        out.stdout
            .contains("/idm-operator/ws/hermod/callback/alive answered HTTP 200"),
        "{out:?}"
    );

    let down = format!(
        "https://localhost:{}/idm-operator/ws/hermod",
        closed_port().await
    );
    let out = check(&[
        "--trust".as_ref(),
        trust.as_os_str(),
        "--callback-url".as_ref(),
        down.as_ref(),
    ])
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("FAIL callback alive:"), "{out:?}");
    assert!(out.stdout.contains("no connection"), "{out:?}");

    let failing = https_answering(&pki, "503 Service Unavailable").await;
    let url = format!("{}/idm-operator/ws/hermod", failing.url());
    let out = check(&[
        "--trust".as_ref(),
        trust.as_os_str(),
        "--callback-url".as_ref(),
        url.as_ref(),
    ])
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("HTTP 503"), "{out:?}");
}

#[tokio::test]
async fn unreadable_or_broken_config() {
    let out = check(&["missing.zip".as_ref()]).await;
    assert_eq!(out.code, 2, "{out:?}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("messaging.json");
    std::fs::write(
        &bad,
        entry("http://hermod.example/hermod/rest/command", "a", "b"),
    )
    .unwrap();
    let out = check(&[bad.as_os_str()]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("FAIL config:"), "{out:?}");
    assert!(out.stdout.contains("M002"), "{out:?}");
    let mut cmd = smartid(["check", "--format", "json"]);
    cmd.arg(&bad);
    let out = run_async(cmd).await;
    assert_eq!(out.code, 1, "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false, "{doc}");
    assert_eq!(doc["checks"][0]["check"], "config", "{doc}");
    assert_eq!(doc["checks"][0]["ok"], false, "{doc}");
}

#[tokio::test]
async fn connector_properties_next_to_their_files_are_checked_too() {
    let sim = DtrustSimulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zip = good(&sim, dir.path()).write("good.zip");
    let extracted = dir.path().join("connector");
    DtrustBundle::open(&zip)
        .unwrap()
        .extract_to(&extracted)
        .unwrap();
    let props = extracted.join("dtrust.properties");
    assert!(props.exists());
    let out = check(&[props.as_os_str()]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("ok mutual TLS:"), "{out:?}");
}

/// On a terminal (a pseudo-terminal from util-linux `script`): `✔` in
/// green, and the waits are a spinner rather than plain `waiting:` lines.
#[tokio::test]
async fn on_a_terminal_the_lines_have_symbols_colour_and_a_spinner() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("util-linux `script` is not installed: no pseudo-terminal to test with");
        return;
    }
    let sim = DtrustSimulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = good(&sim, dir.path()).write("good.zip");
    let line = format!(
        "{} check --timeout 5 {}",
        env!("CARGO_BIN_EXE_smartid"),
        path.display()
    );
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null());
    let out = run_async(cmd).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("\x1b[32m✔\x1b[0m tls:"), "{out:?}");
    assert!(!out.stdout.contains("ok tls:"), "{out:?}");
    assert!(!out.stdout.contains("waiting:"), "{out:?}");
}
