#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Runs the example binaries that `cargo test` has built and checks what a
//! person would see.

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // target/debug/deps/examples_smoke-HASH -> target/debug/examples/NAME
    let mut dir = std::env::current_exe().expect("test executable path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join(name)
}

fn fixture(name: &str) -> String {
    // The keystore fixtures live with smartid-core, which tests them.
    format!(
        "{}/crates/smartid-core/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn run(name: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(example(name))
        .args(args)
        // The examples use the bundled simulators unless these are set.
        .env_remove("AUDKENNI_ISSUER")
        .env_remove("DTRUST_URL")
        .env_remove("HERMOD_URL")
        .output()
        .unwrap_or_else(|e| panic!("cannot run example {name}: {e} (build it with cargo test or cargo build --examples)"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn trust_inspect_lists_identities_and_certificates() {
    let (code, out, _) = run(
        "trust_inspect",
        &[&fixture("client-legacy.p12"), "--password", "fixture-pw"],
    );
    assert_eq!(code, 0, "{out}");
    let lines: Vec<_> = out.lines().collect();
    assert!(lines[0].ends_with("PKCS#12 with 1 entries"), "{out}");
    assert!(
        lines[1].starts_with("identity alias=\"fixture client\""),
        "{out}"
    );
    assert!(
        lines[1].contains("CN=Jón Þórsson") && lines[1].contains("key_matches=yes"),
        "{out}"
    );
    assert!(
        lines[1].contains("not_after=20")
            && lines[1].contains("issuer=\"C=IS, O=smartid fixtures, CN=Fixture Root CA\"")
    );

    let (code, out, _) = run("trust_inspect", &[&fixture("truststore.jks")]);
    assert_eq!(code, 0);
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("trusted-certificate"))
            .count(),
        2,
        "{out}"
    );
    // Without the password, the JKS digest was not checked, and it says so.
    assert!(
        out.lines()
            .any(|l| l.starts_with("integrity: not checked") && l.contains("--password")),
        "{out}"
    );
}

#[test]
fn trust_inspect_reports_wrong_password_and_unknown_formats() {
    let path = fixture("client-openssl3.p12");
    let (code, out, err) = run("trust_inspect", &[&path, "--password", "not-it"]);
    assert_ne!(code, 0);
    assert!(out.is_empty());
    assert!(err.contains(&format!("wrong password for {path}")), "{err}");
    assert!(!err.contains("not-it"));

    let manifest = format!("{}/Cargo.toml", env!("CARGO_MANIFEST_DIR"));
    let (code, _, err) = run("trust_inspect", &[&manifest]);
    assert_ne!(code, 0);
    for format in ["PEM", "DER", "PKCS#12", "JKS"] {
        assert!(err.contains(format), "{err}");
    }
}

fn last_line(out: &str) -> &str {
    out.lines().last().unwrap_or("")
}

#[test]
fn audkenni_sign_against_the_simulator() {
    let (code, out, err) = run("audkenni_sign", &[]);
    assert_eq!(code, 0, "{out}{err}");
    let last = last_line(&out);
    assert!(
        last.starts_with(
            "verified name=Gervimaður Evrópa nationalRegisterId=1203902019 signed_text="
        ) && last.ends_with(" chain=checked"),
        "{out}"
    );
}

#[test]
fn dtrust_issue_against_the_simulator_on_both_transports() {
    for args in [&[][..], &["--transport", "soap"][..]] {
        let (code, out, err) = run("dtrust_issue", args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        let last = last_line(&out);
        assert!(
            last.starts_with("issued subject=CN=")
                && last.contains(" serial=")
                && last.ends_with(" revoked=yes"),
            "{args:?}: {out}"
        );
    }
}

#[test]
fn hermod_sign_against_the_simulator() {
    let (code, out, err) = run("hermod_sign", &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("com.nexusgroup.plugout:"), "{out}");
    let last = last_line(&out);
    assert!(
        last.starts_with("callback command=") && last.contains(" state="),
        "{out}"
    );
}

#[test]
fn idm_lint_reports_and_exits_as_documented() {
    let rules = format!(
        "{}/crates/idm-config/tests/fixtures/rules",
        env!("CARGO_MANIFEST_DIR")
    );
    let f = |name: &str| format!("{rules}/{name}");

    let (code, out, _) = run(
        "idm_lint",
        &[&f("ok-dtrust.properties"), &f("ok-bundle.zip")],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.lines().all(|l| l.starts_with("ok ")), "{out}");

    let (code, out, _) = run("idm_lint", &[&f("T002-cn-contains-cn.properties")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("T002-cn-contains-cn.properties:") && out.contains(": error[T002]: "),
        "{out}"
    );

    let (code, out, _) = run("idm_lint", &[&f("D005-soap-deprecated.properties")]);
    assert_eq!(code, 0, "warnings alone do not fail: {out}");
    assert!(out.contains(": warning[D005]: "), "{out}");

    let (code, out, _) = run("idm_lint", &[&f("B002-wrong-password.zip")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error[B002]") && !out.contains("123456"),
        "{out}"
    );

    let (code, _, _) = run("idm_lint", &[&f("does-not-exist.properties")]);
    assert_eq!(code, 2);

    // Not a regular file: refused at once (exit 2), never read forever.
    let (code, _, err) = run("idm_lint", &["/dev/zero"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn replicas_without_a_database_says_how_to_give_one() {
    let out = Command::new(example("replicas"))
        .env_remove("DATABASE_URL")
        .output()
        .expect("run the replicas example");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("DATABASE_URL is not set") && err.contains("cargo run --example replicas"),
        "{err}"
    );
}

#[test]
fn replicas_share_one_database() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must set DATABASE_URL (.ci/run starts a PostgreSQL server)"
        );
        eprintln!("skipped: DATABASE_URL is not set (point it at a PostgreSQL server to run this)");
        return;
    };
    let output = Command::new(example("replicas"))
        .env("DATABASE_URL", &url)
        .output()
        .expect("run the replicas example");
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{out}\n{err}");
    for expected in [
        "replica-a's wait resolved: COMPLETED",
        "replica-c reads the same outcome by external id",
        "replica-c finished it: id_token verified",
        "0 of them before the interval",
        "D-Trust holds 1 order(s) for the reference",
        "all three flows ended once",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
}

/// The steps of `cargo run --example tour`, in order.
const TOUR_STEPS: [&str; 13] = [
    "simulators",
    "Identity Manager: files",
    "Identity Manager: lint",
    "D-Trust: client",
    "D-Trust: order",
    "D-Trust: issuance",
    "D-Trust: fetch",
    "D-Trust: revoke",
    "Hermod: sign command",
    "Hermod: callback",
    "Audkenni: CIBA request",
    "Audkenni: id_token",
    "Audkenni: signature and chain",
];

/// Runs the tour; returns its exit code, stdout and process id.
fn run_tour(args: &[&str]) -> (i32, String, u32) {
    let child = Command::new(example("tour"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the tour example (build it with cargo test or cargo build --examples)");
    let pid = child.id();
    let out = child.wait_with_output().expect("the tour's output");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text, pid)
}

fn tour_folder_left(pid: u32) -> Vec<String> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("smartid-tour-{pid}-")))
        .collect()
}

#[test]
fn tour_runs_every_step_against_the_simulators() {
    let started = std::time::Instant::now();
    let (code, out, pid) = run_tour(&[]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    // One line per step, in order, each with its time.
    let step_lines: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("✔ ") || l.starts_with("✘ "))
        .collect();
    assert_eq!(step_lines.len(), TOUR_STEPS.len(), "{out}");
    for (line, step) in step_lines.iter().zip(TOUR_STEPS) {
        assert!(line.starts_with(&format!("✔ {step}: ")), "{step}: {out}");
        assert!(line.ends_with(" s)"), "{line}");
    }
    for expected in [
        "client built from dtrust-connector.zip (REST,",
        "listed over mutual TLS",
        "0 errors",
        "issued over mutual TLS",
        "chain, subject and key checked",
        "revoked with its revocation password",
        "client built from messaging-server.json; sign command",
        "COMPLETED, 1 signature(s)",
        "id_token verified",
        "signer Gervimaður Evrópa (1203902019), chain checked",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    // Not a terminal: the waits print plain progress lines.
    for wait in [
        "  … waiting for D-Trust to release order",
        "  … waiting for Hermod's callback for command",
        "  … waiting for the user at 7700001 (CIBA poll) (deadline 20 s)",
    ] {
        assert!(out.contains(wait), "missing {wait:?} in\n{out}");
    }
    // The summary: a row per step and the total.
    let summary = lines.iter().position(|l| *l == "summary").expect("summary");
    for (i, step) in TOUR_STEPS.iter().enumerate() {
        let row = lines[summary + 2 + i];
        assert!(
            row.contains(&format!("{:>2}  {step}", i + 1))
                && row.contains(" ok ")
                && row.ends_with(" s"),
            "{row}"
        );
    }
    assert!(
        lines[summary + 2 + TOUR_STEPS.len()]
            .trim_start()
            .starts_with("total"),
        "{out}"
    );
    assert!(out.contains("13 of 13 steps passed"), "{out}");
    assert_eq!(last_line(&out), "tour passed");
    assert!(!out.contains('✘') && !out.contains("FAILED"), "{out}");
    // Its Identity Manager files are gone, and it took seconds.
    assert!(tour_folder_left(pid).is_empty());
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn tour_names_the_failing_step_and_exits_non_zero() {
    // The documented option: the simulated Audkenni user who declines.
    let (code, out, pid) = run_tour(&["--login-hint", "7700002"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("✔ Audkenni: CIBA request: "), "{out}");
    let failed: Vec<&str> = out.lines().filter(|l| l.starts_with("✘ ")).collect();
    assert_eq!(failed.len(), 1, "{out}");
    assert!(failed[0].starts_with("✘ Audkenni: id_token: "), "{out}");
    assert!(out.contains("access_denied"), "{out}");
    assert!(
        out.contains("FAILED") && out.contains("11 of 12 steps passed"),
        "{out}"
    );
    assert!(
        last_line(&out).starts_with("tour failed: step 12 (Audkenni: id_token) failed: "),
        "{out}"
    );
    assert!(tour_folder_left(pid).is_empty());

    let (code, out, _) = run_tour(&["--no-such-option"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("usage: tour"), "{out}");
}
