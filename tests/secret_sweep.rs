#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The secret sweep: runs every example (and the tour) with
//! `SMARTID_LOG=trace` and the testkit's secret recorder on, and checks that
//! no secret the simulators issued or received, no fixed secret the example
//! uses, and no private key appears anywhere in what it printed, logs
//! included; and that no full kennitala or login hint appears in a log line.
//!
//! The recorder (`SMARTID_TESTKIT_SECRETS_FILE`) writes at the simulators'
//! side, so the sweep does not rely on the examples to report their secrets.
//! Each run must also show TRACE/DEBUG output of the client crates it uses
//! (a silent logger cannot pass) and a recorded secret of each kind it
//! involves (an empty recorder cannot pass).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // target/debug/deps/secret_sweep-HASH -> target/debug/examples/NAME
    let mut dir = std::env::current_exe().expect("test executable path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join(name)
}

fn root(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// A secret as the recorder wrote it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Recorded {
    kind: String,
    value: String,
}

fn read_recorded(path: &std::path::Path) -> Vec<Recorded> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let set: BTreeSet<Recorded> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            Some(Recorded {
                kind: v.get("kind")?.as_str()?.to_owned(),
                value: v.get("value")?.as_str()?.to_owned(),
            })
        })
        .collect();
    set.into_iter().collect()
}

/// The levels tracing-subscriber's fmt layer writes.
const LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

/// The log line's text after its timestamp, if `line` is a log line
/// (`<timestamp> <LEVEL> ...`). The timestamp is not scanned: its digits
/// could match a short secret by chance.
fn log_body(line: &str) -> Option<&str> {
    let (stamp, rest) = line.split_once(' ')?;
    let looks_like_time = stamp.len() >= 20 && stamp.as_bytes()[4] == b'-' && stamp.contains('T');
    let rest_trimmed = rest.trim_start();
    let level = rest_trimmed.split(' ').next()?;
    (looks_like_time && LEVELS.contains(&level)).then_some(rest_trimmed)
}

/// A found leak: which kind, where, and a short, masked view of the value.
#[derive(Debug, PartialEq, Eq)]
struct Leak {
    kind: String,
    stream: &'static str,
    line: usize,
    hint: String,
}

impl std::fmt::Display for Leak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) in {} line {}",
            self.kind, self.hint, self.stream, self.line
        )
    }
}

fn masked(value: &str) -> String {
    let head: String = value.chars().take(3).collect();
    format!("{head}… {} chars", value.chars().count())
}

/// The needles of `secrets`: each value whole; for a private key, 40-char
/// windows of its base64 (a PEM's lines break it every 64 characters).
fn needles(secrets: &[Recorded]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in secrets {
        if s.kind == "private_key" {
            let chars: Vec<char> = s.value.chars().collect();
            let mut start = 0;
            while start + 40 <= chars.len() {
                out.push((s.kind.clone(), chars[start..start + 40].iter().collect()));
                start += 20;
            }
        } else {
            out.push((s.kind.clone(), s.value.clone()));
        }
    }
    out
}

/// Scans `stream`: every line for every secret (log lines without their
/// timestamp); the `kennitala` kind in log lines only. Also refuses any PEM
/// private key marker.
fn scan(stream_name: &'static str, text: &str, secrets: &[Recorded]) -> Vec<Leak> {
    let needles = needles(secrets);
    let mut leaks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let log = log_body(line);
        let scanned = log.unwrap_or(line);
        if scanned.contains("PRIVATE KEY") {
            leaks.push(Leak {
                kind: "PEM private key marker".into(),
                stream: stream_name,
                line: i + 1,
                hint: "-----BEGIN ... PRIVATE KEY".into(),
            });
        }
        for (kind, needle) in &needles {
            if kind == "kennitala" && log.is_none() {
                continue;
            }
            if scanned.contains(needle.as_str()) {
                leaks.push(Leak {
                    kind: kind.clone(),
                    stream: stream_name,
                    line: i + 1,
                    hint: masked(needle),
                });
            }
        }
    }
    leaks
}

/// The targets that wrote at least one TRACE or DEBUG line.
fn verbose_targets(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(log_body)
        .filter(|b| b.starts_with("TRACE") || b.starts_with("DEBUG"))
        .flat_map(|b| {
            [
                "smartid_core",
                "audkenni_ciba",
                "dtrust_client",
                "hermod_client",
            ]
            .into_iter()
            .filter(move |t| b.contains(&format!(" {t}::")) || b.contains(&format!(" {t}:")))
            .map(str::to_owned)
        })
        .collect()
}

struct Case {
    name: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    /// Targets that must log at TRACE/DEBUG.
    targets: &'static [&'static str],
    /// Recorded kinds that must be present.
    kinds: &'static [&'static str],
    /// Secrets of the example itself.
    fixed: Vec<(&'static str, String)>,
    /// The exit code the run must end with.
    code: i32,
}

/// Secrets written into the examples' sources.
fn fixed_secrets() -> Vec<(&'static str, String)> {
    vec![
        ("callback_credentials", "callback-password".into()),
        ("callback_credentials", "tour-callback-password".into()),
        ("api_key", "example-key".into()),
        (
            "api_key",
            "079b6a64d75b4e9585bd0c24f36a7deba0ad03498ecf4d69b5766f24fa02e045".into(),
        ),
        ("pkcs12_password", idm_config::DEFAULT_P12_PASSWORD.into()),
        ("revocation_password", "Kept-Sealed-42".into()),
        ("pkcs12_password", "fixture-pw".into()),
    ]
}

fn run_case(case: &Case) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!(
        "smartid-sweep-{}-{}",
        std::process::id(),
        case.name
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let secrets_file = dir.join("secrets.jsonl");
    let mut cmd = Command::new(example(case.name));
    cmd.args(&case.args)
        .env("SMARTID_LOG", "trace")
        .env("SMARTID_TESTKIT_SECRETS_FILE", &secrets_file)
        .env_remove("AUDKENNI_ISSUER")
        .env_remove("DTRUST_URL")
        .env_remove("HERMOD_URL");
    for (k, v) in &case.env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run example {}: {e} (build it with cargo test or cargo build --examples)",
            case.name
        )
    });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let recorded = read_recorded(&secrets_file);
    let _ = std::fs::remove_dir_all(&dir);
    let mut problems = Vec::new();
    if out.status.code() != Some(case.code) {
        // The output is not printed whole (it may hold the secrets); its
        // last plain line is, with every recorded secret blanked out.
        let mut last = stderr
            .lines()
            .rfind(|l| log_body(l).is_none())
            .unwrap_or("")
            .to_owned();
        for r in &recorded {
            last = last.replace(r.value.as_str(), "[secret]");
        }
        problems.push(format!(
            "exited with {:?}, not {}; last stderr line: {last:?}",
            out.status.code(),
            case.code,
        ));
    }
    let all = format!("{stdout}\n{stderr}");
    let seen = verbose_targets(&all);
    for t in case.targets {
        if !seen.contains(*t) {
            problems.push(format!("no TRACE/DEBUG output from target {t}"));
        }
    }
    let kinds: BTreeSet<&str> = recorded.iter().map(|r| r.kind.as_str()).collect();
    for k in case.kinds {
        if !kinds.contains(k) {
            problems.push(format!("the recorder holds no secret of kind {k}"));
        }
    }
    let mut secrets = recorded;
    secrets.extend(case.fixed.iter().map(|(k, v)| Recorded {
        kind: (*k).into(),
        value: v.clone(),
    }));
    for leak in scan("stdout", &stdout, &secrets)
        .into_iter()
        .chain(scan("stderr", &stderr, &secrets))
    {
        problems.push(format!("leak: {leak}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} {:?}:\n  {}",
            case.name,
            case.args,
            problems.join("\n  ")
        ))
    }
}

const CIBA_KINDS: &[&str] = &[
    "client_secret",
    "auth_req_id",
    "access_token",
    "id_token",
    "private_key",
    "kennitala",
];

#[test]
fn no_example_prints_a_secret_at_trace_level() {
    let started = std::time::Instant::now();
    let rules = root("crates/idm-config/tests/fixtures/rules");
    let core_fixture = |n: &str| root(&format!("crates/smartid-core/tests/fixtures/{n}"));
    let mut cases = vec![
        Case {
            name: "tour",
            args: vec![],
            env: vec![],
            targets: &[
                "smartid_core",
                "audkenni_ciba",
                "dtrust_client",
                "hermod_client",
            ],
            kinds: &[
                "client_secret",
                "auth_req_id",
                "access_token",
                "id_token",
                "private_key",
                "kennitala",
                "api_key",
                "callback_credentials",
                "revocation_password",
                "pkcs12_password",
            ],
            fixed: fixed_secrets(),
            code: 0,
        },
        Case {
            name: "audkenni_sign",
            args: vec![],
            env: vec![],
            targets: &["smartid_core", "audkenni_ciba"],
            kinds: CIBA_KINDS,
            fixed: fixed_secrets(),
            code: 0,
        },
        Case {
            name: "hermod_sign",
            args: vec![],
            env: vec![],
            targets: &["smartid_core", "hermod_client"],
            kinds: &["api_key", "callback_credentials", "private_key"],
            fixed: fixed_secrets(),
            code: 0,
        },
        Case {
            name: "idm_lint",
            args: vec![
                format!("{rules}/ok-dtrust.properties"),
                format!("{rules}/ok-bundle.zip"),
                format!("{rules}/B002-wrong-password.zip"),
            ],
            env: vec![],
            targets: &[],
            kinds: &[],
            fixed: fixed_secrets(),
            // B002 (a wrong bundle password) is an error: exit 1.
            code: 1,
        },
        Case {
            name: "trust_inspect",
            args: vec![
                core_fixture("client-legacy.p12"),
                "--password".into(),
                "fixture-pw".into(),
            ],
            env: vec![],
            targets: &[],
            kinds: &[],
            fixed: fixed_secrets(),
            code: 0,
        },
    ];
    for transport in [None, Some("soap")] {
        cases.push(Case {
            name: "dtrust_issue",
            args: transport
                .map(|t| vec!["--transport".to_owned(), t.to_owned()])
                .unwrap_or_default(),
            env: vec![],
            targets: &["smartid_core", "dtrust_client"],
            kinds: &["revocation_password", "private_key", "pkcs12_password"],
            fixed: fixed_secrets(),
            code: 0,
        });
    }
    match std::env::var("DATABASE_URL") {
        Ok(url) => cases.push(Case {
            name: "replicas",
            args: vec![],
            env: vec![("DATABASE_URL", url)],
            targets: &[
                "smartid_core",
                "audkenni_ciba",
                "dtrust_client",
                "hermod_client",
            ],
            kinds: &[
                "client_secret",
                "auth_req_id",
                "api_key",
                "revocation_password",
            ],
            fixed: fixed_secrets(),
            code: 0,
        }),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set DATABASE_URL (.ci/run starts a PostgreSQL server)"
            );
            eprintln!(
                "replicas skipped: DATABASE_URL is not set (point it at a PostgreSQL server to sweep it)"
            );
        }
    }
    let failures: Vec<String> = cases.iter().filter_map(|c| run_case(c).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("swept {} runs in {:?}", cases.len(), started.elapsed());
}

#[test]
fn the_scanner_flags_planted_secrets() {
    let secrets = vec![
        Recorded {
            kind: "access_token".into(),
            value: "a1b2c3d4e5f60718".into(),
        },
        Recorded {
            kind: "kennitala".into(),
            value: "1203902019".into(),
        },
        Recorded {
            kind: "private_key".into(),
            value: "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQ1w2e3r4t5y6u7i8o9p0".into(),
        },
    ];
    let text = "\
step one\n\
2026-12-01T19:00:00.123456Z DEBUG smartid_core::http: token=a1b2c3d4e5f60718\n\
signer (1203902019)\n\
2026-12-01T19:00:00.123456Z  INFO audkenni_ciba: hint=1203902019\n\
2026-12-01T19:00:00.123456Z  INFO audkenni_ciba: hint=120390-****\n\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQ1w2e3r4t5y6u7i8o9p0\n";
    let leaks = scan("stderr", text, &secrets);
    let at: Vec<(&str, usize)> = leaks.iter().map(|l| (l.kind.as_str(), l.line)).collect();
    assert_eq!(
        at,
        [
            ("access_token", 2),
            // Line 3 is not a log line: the kennitala is allowed there.
            ("kennitala", 4),
            ("PEM private key marker", 6),
            ("private_key", 7),
            ("private_key", 7),
        ],
        "{leaks:?}"
    );
    // The report names the kind and the line, never the whole secret.
    let shown = leaks[0].to_string();
    assert!(
        shown.contains("access_token") && shown.contains("line 2"),
        "{shown}"
    );
    assert!(!shown.contains("a1b2c3d4e5f60718"), "{shown}");
    // A log line's timestamp is not scanned (its digits are not a secret).
    let short = vec![Recorded {
        kind: "pkcs12_password".into(),
        value: "123456".into(),
    }];
    assert!(
        scan(
            "stderr",
            "2026-12-01T19:00:00.123456Z DEBUG x: ok\n",
            &short
        )
        .is_empty()
    );
    assert_eq!(scan("stdout", "pw 123456\n", &short).len(), 1);
    // Only the targets with TRACE/DEBUG lines count as heard.
    let heard = verbose_targets(text);
    assert_eq!(heard.into_iter().collect::<Vec<_>>(), ["smartid_core"]);
}
