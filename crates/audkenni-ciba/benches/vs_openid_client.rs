//! CPU per completed CIBA poll flow: audkenni-ciba against openid-client 6
//! (npm), both driving the same flows against the same local oidc-provider
//! (benches/peer/README.md): `cargo bench -p audkenni-ciba --bench vs_openid_client`.
//!
//! The provider and the openid-client driver are Node processes started
//! here; this process runs our client on a current-thread runtime. Each
//! round runs N flows (C at a time) on each side, the order alternating
//! (round 0 Node first, round 1 ours first, ...), after unmeasured
//! warm-up rounds of each (Node's JIT keeps getting faster over the first
//! few hundred flows). Our side is this process's CPU time (and, as a
//! second row, the runtime thread's), the reference side the driver's
//! `process.cpuUsage()`; the provider's CPU is in neither. The ratio is the
//! median of the per-round ratios.
//!
//! Environment: `SMARTID_BENCH_FLOWS` (N, default 60), `SMARTID_BENCH_CONCURRENCY`
//! (C, default 20), `SMARTID_BENCH_ROUNDS` (default 9), `SMARTID_BENCH_WARMUP`
//! (warm-up rounds, default 3). Without `node` or
//! `npm`, or when `npm ci` fails, it says why and exits 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use audkenni_ciba::{
    Acr, AuthRequest, CibaClient, HttpClient, HttpRequest, HttpSettings, JwsAlgorithm,
    RequestSigningKey, Secret, TrustRoots, WaitOptions,
};
use smartid_testkit::bench::{Comparison, Meter};
use smartid_testkit::{CertSpec, CertUsage, KeyAlgorithm, TestCa, TestPki};

const CLIENT_ID: &str = "bench-client";
const CLIENT_SECRET: &str = "bench-secret-4711";
const LOGIN_HINT: &str = "7700001";
const MESSAGE: &str = "Samþykki leigusamning nr. 42";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn tool_ok(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs the pinned packages of benches/peer (package-lock.json) unless
/// they are there; bounded, so a registry that does not answer ends the bench.
fn install(peer: &Path) -> Result<(), String> {
    let installed = ["oidc-provider", "openid-client", "oauth4webapi"]
        .iter()
        .all(|p| {
            peer.join("node_modules")
                .join(p)
                .join("package.json")
                .exists()
        });
    if installed {
        return Ok(());
    }
    let mut npm = Command::new("npm")
        .args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--fetch-timeout=30000",
            "--fetch-retries=1",
        ])
        .current_dir(peer)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("npm ci could not start: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        match npm.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => return Err(format!("npm ci failed ({status})")),
            None if Instant::now() > deadline => {
                let _ = npm.kill();
                let _ = npm.wait();
                return Err("npm ci took more than 300 s".into());
            }
            None => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// A Node process, killed when dropped.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn node(peer: &Path, script: &str, env: &[(&str, &Path)], vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(script)
        .current_dir(peer)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

/// The openid-client driver: one request line, one answer line.
struct Driver {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    _child: Node,
}

impl Driver {
    /// Runs `flows` flows, `concurrency` at a time; the driver's CPU time.
    fn run(&mut self, flows: u64, concurrency: u64) -> Duration {
        writeln!(
            self.stdin,
            "{}",
            serde_json::json!({ "flows": flows, "concurrency": concurrency })
        )
        .unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let answer: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("driver answered {line:?}: {e}"));
        if let Some(error) = answer.get("error") {
            panic!("openid-client driver failed: {error}");
        }
        Duration::from_micros(answer["cpu_us"].as_u64().unwrap())
    }
}

/// The provider's counts of started flows, pending polls and issued tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Stats {
    started: u64,
    pending: u64,
    issued: u64,
    other: u64,
}

async fn stats(http: &HttpClient, issuer: &str) -> Stats {
    let r = http
        .send(HttpRequest::get(format!("{issuer}/bench-stats")))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap();
    Stats {
        started: n("started"),
        pending: n("pending"),
        issued: n("issued"),
        other: n("other"),
    }
}

/// Our side: `flows` flows, `concurrency` at a time, each start + finish
/// (the poll loop and id_token validation).
async fn run_ours(client: &CibaClient, flows: u64, concurrency: u64) {
    let remaining = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(flows));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.min(flows) {
        let client = client.clone();
        let remaining = remaining.clone();
        workers.spawn(async move {
            use std::sync::atomic::Ordering;
            while remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                let request = AuthRequest::new(LOGIN_HINT, Acr::SimAuth).binding_message(MESSAGE);
                let mut pending = client.start(&request).await.unwrap();
                let done = client
                    .finish(&mut pending, &WaitOptions::default())
                    .await
                    .unwrap();
                assert_eq!(done.id_token.subject, LOGIN_HINT);
            }
        });
    }
    while let Some(r) = workers.join_next().await {
        r.unwrap();
    }
}

fn main() {
    if !tool_ok("node") || !tool_ok("npm") {
        println!("vs_openid_client: SKIPPED: node or npm not found");
        return;
    }
    let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer");
    if let Err(why) = install(&peer) {
        println!("vs_openid_client: SKIPPED: {why}");
        return;
    }
    let flows = env_or("SMARTID_BENCH_FLOWS", 60).max(1);
    let concurrency = env_or("SMARTID_BENCH_CONCURRENCY", 20).max(1);
    let rounds = usize::try_from(env_or("SMARTID_BENCH_ROUNDS", 9).max(1)).unwrap();
    let warmup = env_or("SMARTID_BENCH_WARMUP", 3);

    // Keys and certificates, written where the Node processes read them.
    let dir: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vs-openid-client");
    std::fs::create_dir_all(&dir).unwrap();
    let pki = TestPki::generate().unwrap();
    let tls = pki.localhost_server().unwrap();
    let rp = TestCa::new_root("rp", "rp")
        .unwrap()
        .issue(&CertSpec::new("rp", CertUsage::Client).key(KeyAlgorithm::Rsa2048))
        .unwrap();
    let file = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    let tls_key = file("tls.key", tls.key_pem());
    let tls_cert = file("tls.crt", tls.chain_pem());
    let root = file("root.crt", pki.root_pem());
    let rp_key = file("rp.key", rp.key_pem());

    let vars = [
        ("CLIENT_ID", CLIENT_ID),
        ("CLIENT_SECRET", CLIENT_SECRET),
        ("LOGIN_HINT", LOGIN_HINT),
        ("INTERVAL", "1"),
    ];
    let mut provider = node(
        &peer,
        "provider.mjs",
        &[
            ("TLS_KEY", &tls_key),
            ("TLS_CERT", &tls_cert),
            ("RP_KEY", &rp_key),
        ],
        &vars,
    )
    .spawn()
    .unwrap();
    let mut out = BufReader::new(provider.stdout.take().unwrap());
    let _provider = Node(provider);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let issuer = serde_json::from_str::<serde_json::Value>(&line)
        .unwrap_or_else(|e| panic!("oidc-provider did not start ({e}): {line:?}"))["issuer"]
        .as_str()
        .unwrap()
        .to_owned();
    std::thread::spawn(move || {
        for l in out.lines().map_while(Result::ok) {
            eprintln!("oidc-provider: {l}");
        }
    });

    let mut child = node(
        &peer,
        "driver.mjs",
        &[("RP_KEY", &rp_key), ("NODE_EXTRA_CA_CERTS", &root)],
        &[("ISSUER", issuer.as_str()), vars[0], vars[1], vars[2]],
    )
    .stdin(Stdio::piped())
    .spawn()
    .unwrap();
    let mut driver = Driver {
        stdin: child.stdin.take().unwrap(),
        stdout: BufReader::new(child.stdout.take().unwrap()),
        _child: Node(child),
    };
    let mut ready = String::new();
    driver.stdout.read_line(&mut ready).unwrap();
    assert!(ready.contains("ready"), "openid-client driver: {ready:?}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let trust = TrustRoots::Only(pki.root_trust_store().unwrap());
    let (client, http) = rt.block_on(async {
        let client = CibaClient::builder(&issuer, CLIENT_ID)
            .client_secret(Secret::new(CLIENT_SECRET))
            .signing_key(
                RequestSigningKey::from_pem(rp.key_pem().as_bytes(), JwsAlgorithm::Rs256).unwrap(),
            )
            .http_settings(HttpSettings::new().trust(trust.clone()))
            .build()
            .await
            .unwrap();
        let http = HttpClient::new(&HttpSettings::new().trust(trust), "bench").unwrap();
        (client, http)
    });

    // Each side's round must be exactly `flows` flows of one pending poll
    // and one token answer each.
    let check = |before: Stats, side: &str| {
        let after = rt.block_on(stats(&http, &issuer));
        let delta = Stats {
            started: after.started - before.started,
            pending: after.pending - before.pending,
            issued: after.issued - before.issued,
            other: after.other - before.other,
        };
        let want = Stats {
            started: flows,
            pending: flows,
            issued: flows,
            other: 0,
        };
        assert_eq!(delta, want, "{side}: the provider saw another flow");
        after
    };
    let mut seen = rt.block_on(stats(&http, &issuer));
    let ours = |seen: &mut Stats| {
        let (cpu, thread) = {
            let (p0, t0) = (Meter::ProcessCpu.now(), Meter::ThreadCpu.now());
            rt.block_on(run_ours(&client, flows, concurrency));
            (
                Meter::ProcessCpu.now().saturating_sub(p0),
                Meter::ThreadCpu.now().saturating_sub(t0),
            )
        };
        *seen = check(*seen, "audkenni-ciba");
        (cpu, thread)
    };
    let mut reference = |seen: &mut Stats| {
        let cpu = driver.run(flows, concurrency);
        *seen = check(*seen, "openid-client");
        cpu
    };

    println!(
        "vs_openid_client: {rounds} rounds of {flows} flows ({concurrency} at a time) per side, after {warmup} warm-up rounds each"
    );
    let t = Instant::now();
    for _ in 0..warmup {
        reference(&mut seen);
        ours(&mut seen);
    }
    let mut process = Vec::new();
    let mut thread = Vec::new();
    for round in 0..rounds {
        let (o, r) = if round % 2 == 0 {
            let r = reference(&mut seen);
            (ours(&mut seen), r)
        } else {
            let o = ours(&mut seen);
            (o, reference(&mut seen))
        };
        eprintln!(
            "round {round}: ours {:?} process / {:?} thread, openid-client {r:?}",
            o.0, o.1
        );
        process.push((o.0, r));
        thread.push((o.1, r));
    }
    let by_process = Comparison::from_rounds(
        "CPU per CIBA flow, process (vs openid-client 6)",
        Meter::ProcessCpu,
        flows,
        process,
    );
    let by_thread = Comparison::from_rounds(
        "CPU per CIBA flow, runtime thread (vs openid-client 6)",
        Meter::ThreadCpu,
        flows,
        thread,
    );
    println!("{}", by_process.report());
    println!("{}", by_thread.report());
    println!(
        "vs_openid_client: {:.0} s; provider counts {seen:?}",
        t.elapsed().as_secs_f64()
    );
    println!("{}", signing(&rp.key_pem(), rounds).report());
}

/// Where our flow's CPU goes (profile: most of it is the request object's
/// RSA signature): the same RS256 request object signed as
/// `RequestSigningKey` signs it today (jsonwebtoken's `encode`, whose
/// aws-lc-rs signer parses and checks the RSA key from DER on every
/// signature, and so sets up RSA blinding anew each time) against an
/// aws-lc-rs `RsaKeyPair` parsed once and held. Both on this thread.
fn signing(pkcs8_pem: &str, rounds: usize) -> Comparison {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use rustls_pki_types::PrivatePkcs8KeyDer;
    use rustls_pki_types::pem::PemObject as _;

    let pkcs8 = PrivatePkcs8KeyDer::from_pem_slice(pkcs8_pem.as_bytes()).unwrap();
    let pkcs1 = pkcs1_of(pkcs8.secret_pkcs8_der());
    let encoding = jsonwebtoken::EncodingKey::from_rsa_der(&pkcs1);
    let held = aws_lc_rs::rsa::KeyPair::from_pkcs8(pkcs8.secret_pkcs8_der()).unwrap();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let claims = serde_json::json!({
        "iss": CLIENT_ID, "aud": "https://127.0.0.1:4711", "iat": 1_764_547_200u64,
        "nbf": 1_764_547_200u64, "exp": 1_764_547_500u64, "jti": "k3J9c0dX2mQ8vL1pZ7yR",
        "login_hint": LOGIN_HINT, "scope": "openid profile signature",
        "acr_values": "sim-auth", "binding_message": MESSAGE,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = Some("JWT".into());
    Comparison::run(
        "request object RS256: key held vs per-sign parse",
        Meter::ThreadCpu,
        rounds,
        200,
        |n| {
            for _ in 0..n {
                let mut jws = B64.encode(serde_json::to_vec(&header).unwrap());
                jws.push('.');
                jws.push_str(&B64.encode(serde_json::to_vec(&claims).unwrap()));
                let mut sig = vec![0; held.public_modulus_len()];
                held.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    jws.as_bytes(),
                    &mut sig,
                )
                .unwrap();
                jws.push('.');
                jws.push_str(&B64.encode(&sig));
                std::hint::black_box(jws);
            }
        },
        |n| {
            for _ in 0..n {
                std::hint::black_box(jsonwebtoken::encode(&header, &claims, &encoding).unwrap());
            }
        },
    )
}

/// The PKCS#1 `RSAPrivateKey` inside an RSA PKCS#8 key (what
/// `RequestSigningKey` gives jsonwebtoken).
fn pkcs1_of(pkcs8: &[u8]) -> Vec<u8> {
    use der::asn1::OctetStringRef;
    use der::{Decode, Reader, SliceReader};
    let mut reader = SliceReader::new(pkcs8).unwrap();
    reader
        .sequence(|r| {
            let _version = u8::decode(r)?;
            let _algorithm = r.tlv_bytes()?;
            let key = <&OctetStringRef>::decode(r)?.as_bytes().to_vec();
            let _ = r.read_slice(r.remaining_len())?;
            Ok::<_, der::Error>(key)
        })
        .unwrap()
}
