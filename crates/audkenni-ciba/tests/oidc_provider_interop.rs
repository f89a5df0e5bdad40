//! Interoperability: a full CIBA poll flow against the npm package
//! `oidc-provider` (see tests/interop/README.md). Skipped when node/npm are
//! missing, the package cannot be installed, or SMARTID_SKIP_INTEROP=1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use audkenni_ciba::{
    Acr, AuthRequest, CibaClient, ClientAuthMethod, Error, ErrorCode, JwsAlgorithm,
    RequestSigningKey, WaitOptions,
};
use smartid_core::{HttpSettings, Secret, TrustRoots};
use smartid_testkit::{CertSpec, CertUsage, KeyAlgorithm, TestCa, TestPki};

fn skip(why: &str) {
    eprintln!("SKIPPED oidc-provider interop: {why}");
}

fn tool_ok(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Copies the script and package.json to a scratch directory and installs
/// oidc-provider there (once per target directory).
fn install() -> Result<PathBuf, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oidc-provider-interop");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for f in ["package.json", "oidc_provider.mjs"] {
        std::fs::copy(source.join(f), dir.join(f)).map_err(|e| e.to_string())?;
    }
    if !dir.join("node_modules/oidc-provider/package.json").exists() {
        // Bounded: a registry that does not answer skips the test instead
        // of stalling CI.
        let mut npm = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--fetch-timeout=30000",
                "--fetch-retries=1",
            ])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
        let status = loop {
            match npm.try_wait().map_err(|e| e.to_string())? {
                Some(status) => break status,
                None if std::time::Instant::now() > deadline => {
                    let _ = npm.kill();
                    let _ = npm.wait();
                    return Err("npm install took more than 180 s".into());
                }
                None => std::thread::sleep(std::time::Duration::from_millis(200)),
            }
        };
        if !status.success() {
            return Err(format!("npm install failed ({status})"));
        }
    }
    Ok(dir)
}

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn full_flow_against_oidc_provider() {
    if std::env::var("SMARTID_SKIP_INTEROP").is_ok_and(|v| v == "1") {
        return skip("SMARTID_SKIP_INTEROP=1");
    }
    if !tool_ok("node") || !tool_ok("npm") {
        return skip("node or npm not found");
    }
    let dir = match install() {
        Ok(d) => d,
        Err(e) => return skip(&e),
    };

    let pki = TestPki::generate().unwrap();
    let server = pki.localhost_server().unwrap();
    let rp = TestCa::new_root("rp", "rp")
        .unwrap()
        .issue(&CertSpec::new("rp", CertUsage::Client).key(KeyAlgorithm::Rsa2048))
        .unwrap();
    for (name, pem) in [
        ("tls.key", server.key_pem()),
        ("tls.crt", server.chain_pem()),
        ("rp.key", rp.key_pem()),
    ] {
        std::fs::write(dir.join(name), pem).unwrap();
    }
    let secret = "interop-secret-4711";
    let mut child = Command::new("node")
        .arg("oidc_provider.mjs")
        .current_dir(&dir)
        .env("TLS_KEY", dir.join("tls.key"))
        .env("TLS_CERT", dir.join("tls.crt"))
        .env("RP_KEY", dir.join("rp.key"))
        .env("CLIENT_SECRET", secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let node = Node(child);
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    // Keep draining the provider's output so that it never writes to a closed pipe.
    std::thread::spawn(move || {
        for l in reader.lines().map_while(Result::ok) {
            eprintln!("oidc-provider: {l}");
        }
    });
    let issuer = serde_json::from_str::<serde_json::Value>(&line)
        .unwrap_or_else(|e| panic!("provider did not start ({e}): {line:?}"))["issuer"]
        .as_str()
        .unwrap()
        .to_owned();

    let client = CibaClient::builder(&issuer, "interop-client")
        .client_secret(Secret::new(secret))
        .client_auth(ClientAuthMethod::ClientSecretBasicFormEncoded)
        .signing_key(
            RequestSigningKey::from_pem(rp.key_pem().as_bytes(), JwsAlgorithm::Rs256).unwrap(),
        )
        .http_settings(HttpSettings::new().trust(TrustRoots::Only(pki.root_trust_store().unwrap())))
        .build()
        .await
        .unwrap();
    assert_eq!(client.metadata().issuer, issuer);

    let request = AuthRequest::new("7700001", Acr::SimAuth).binding_message("Interop test");
    let mut pending = client.start(&request).await.unwrap();
    let done = client
        .finish(&mut pending, &WaitOptions::default())
        .await
        .unwrap();
    assert_eq!(done.id_token.subject, "7700001");
    assert_eq!(done.id_token.issuer, issuer);
    assert!(done.id_token.audience.iter().any(|a| a == "interop-client"));

    let err = client
        .start(&AuthRequest::new("0000000", Acr::SimAuth))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server(p) if p.code == ErrorCode::UnknownUserId),
        "{err}"
    );
    drop(node);
}
