//! `smartid sim` as a separate process: fixed ports, sim.json, a real flow
//! with each client crate configured from sim.json only, a port in use,
//! and a clean stop on SIGINT.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use audkenni_ciba::{Acr, AuthRequest, WaitOptions};
use hermod_client::Outcome;
use sim_common::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Sim {
    child: Child,
    lines: mpsc::Receiver<String>,
    output: Vec<String>,
}

impl Sim {
    fn spawn(args: &[String]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_smartid"))
            .arg("sim")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Self {
            child,
            lines,
            output: Vec::new(),
        }
    }

    /// Waits for a line containing `needle`.
    fn wait_for(&mut self, needle: &str, timeout: Duration) -> bool {
        let end = std::time::Instant::now() + timeout;
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.output.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let end = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < end {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn text(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.output.push(line);
        }
        self.output.join("\n")
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sigint(child: &Child) {
    let status = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_runs_real_flows_from_sim_json_and_stops_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let ports = [
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    ];
    let [
        audkenni_port,
        dtrust_port,
        hermod_port,
        control_port,
        callbacks,
    ] = ports;
    let mut sim = Sim::spawn(&[
        "--dir".into(),
        dir.path().display().to_string(),
        "--audkenni-port".into(),
        audkenni_port.to_string(),
        "--dtrust-port".into(),
        dtrust_port.to_string(),
        "--hermod-port".into(),
        hermod_port.to_string(),
        "--control-port".into(),
        control_port.to_string(),
        "--hermod-callback-url".into(),
        format!("http://127.0.0.1:{callbacks}"),
    ]);
    assert!(
        sim.wait_for("Ctrl-C to stop", Duration::from_secs(120)),
        "{}",
        sim.text()
    );
    let out = sim.text();
    for needle in [
        dir.path().display().to_string(),
        format!("https://localhost:{audkenni_port}/sso/oauth2/realms/root/realms/audkenni"),
        format!("https://localhost:{dtrust_port}/rest/v1"),
        format!("https://localhost:{hermod_port}/hermod/rest/command"),
        format!("http://127.0.0.1:{control_port}/"),
    ] {
        assert!(out.contains(&needle), "{needle} not in:\n{out}");
    }

    let v = sim_json(dir.path());
    for key in [
        "/ca_pem",
        "/audkenni/issuer",
        "/audkenni/client_id",
        "/audkenni/client_secret",
        "/audkenni/request_signing_key_pem",
        "/audkenni/signature_roots_pem",
        "/audkenni/hints/approve",
        "/audkenni/hints/decline",
        "/audkenni/hints/silent",
        "/audkenni/hints/unknown",
        "/audkenni/hints/manual",
        "/dtrust/rest_url",
        "/dtrust/soap_url",
        "/dtrust/client_p12",
        "/dtrust/client_p12_password",
        "/hermod/command_url",
        "/hermod/token",
        "/hermod/callback_user",
        "/hermod/callback_password",
    ] {
        assert!(!s(&v, key).is_empty(), "{key}");
    }
    for path in [
        "/ca_pem",
        "/audkenni/request_signing_key_pem",
        "/audkenni/signature_roots_pem",
        "/dtrust/client_p12",
    ] {
        assert!(std::path::Path::new(s(&v, path)).is_file(), "{path}");
    }

    // Audkenni: the approving and the declining user.
    let ciba = ciba(&v).await;
    let mut pending = ciba
        .start(&AuthRequest::new(
            s(&v, "/audkenni/hints/approve"),
            Acr::SimAuth,
        ))
        .await
        .unwrap();
    let done = ciba
        .finish(&mut pending, &WaitOptions::new())
        .await
        .unwrap();
    assert_eq!(
        done.id_token
            .national_register_id
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("1203902019")
    );
    let mut pending = ciba
        .start(&AuthRequest::new(
            s(&v, "/audkenni/hints/decline"),
            Acr::SimAuth,
        ))
        .await
        .unwrap();
    let err = ciba
        .finish(&mut pending, &WaitOptions::new())
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("the user cancelled"), "{err}");
    let unknown = ciba
        .start(&AuthRequest::new(
            s(&v, "/audkenni/hints/unknown"),
            Acr::SimAuth,
        ))
        .await;
    assert!(unknown.is_err());

    // D-Trust: an order over mTLS with the p12.
    let serial = dtrust_order(&dtrust(&v), "sim-test.example.de").await;
    assert!(!serial.is_empty());

    // Hermod: a command waits (manual device) until the control API approves it.
    let (tracker, url) = receiver(&v, callbacks);
    assert_eq!(url, s(&v, "/hermod/callback_url"));
    let client = hermod(&v);
    let sent = client.send(&sign_command("sim-test-1")).await.unwrap();
    let id = sent.answer.command_id.clone();
    let listed = eventually(Duration::from_secs(10), async || {
        let (_, p) = control(&v, "GET", "/control/pending", None).await;
        p["hermod"]
            .as_array()
            .is_some_and(|a| a.iter().any(|c| c["command_id"] == id.as_str()))
    })
    .await;
    assert!(listed, "the command is not listed as pending");
    let (status, body) = control(
        &v,
        "POST",
        &format!("/control/hermod/commands/{id}/approve"),
        None,
    )
    .await;
    assert_eq!((status, body["outcome"].as_str()), (200, Some("approved")));
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        tracker.track(sent.tracked, &hermod_client::WaitOptions::new()),
    )
    .await
    .unwrap()
    .unwrap();
    match outcome {
        Outcome::Answered(cb) => {
            assert_eq!(cb.state.to_string(), "COMPLETED");
            assert!(cb.result.unwrap()["signatures"].as_array().is_some());
        }
        other => panic!("{other:?}"),
    }
    let (status, _) = control(
        &v,
        "POST",
        &format!("/control/hermod/commands/{id}/approve"),
        None,
    )
    .await;
    assert_eq!(status, 404, "a command is decided once");

    // SIGINT: exit 0, and the ports are free again.
    sigint(&sim.child);
    let status = sim.wait_exit(Duration::from_secs(15)).expect("sim exits");
    assert!(status.success(), "{status:?}\n{}", sim.text());
    assert!(sim.text().contains("stopped"));
    for port in [audkenni_port, dtrust_port, hermod_port, control_port] {
        std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("port {port} still taken: {e}"));
    }
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--audkenni-port", "--control-port"] {
        let mut sim = Sim::spawn(&[
            "--dir".into(),
            dir.path().display().to_string(),
            flag.into(),
            port.to_string(),
        ]);
        let status = sim.wait_exit(Duration::from_secs(120)).expect("sim exits");
        let text = sim.text();
        assert!(!status.success(), "{text}");
        let service = flag.trim_start_matches("--").trim_end_matches("-port");
        assert!(
            text.contains(&format!("the {service} port {port} is already in use")),
            "{text}"
        );
        assert!(!text.contains("Ctrl-C"), "{text}");
    }
}

#[test]
fn a_temporary_folder_is_made_and_removed() {
    let mut sim = Sim::spawn(&[]);
    assert!(
        sim.wait_for("Ctrl-C to stop", Duration::from_secs(120)),
        "{}",
        sim.text()
    );
    let text = sim.text();
    let folder = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("folder:"))
        .map(|f| std::path::PathBuf::from(f.trim()))
        .expect("the folder is printed");
    assert!(folder.join("sim.json").is_file());
    sigint(&sim.child);
    assert!(sim.wait_exit(Duration::from_secs(15)).unwrap().success());
    assert!(!folder.exists(), "the temporary folder is removed at exit");
}
