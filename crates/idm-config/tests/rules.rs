//! Every rule has a failing fixture (named after its code) and the passing
//! fixtures produce no diagnostic at all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use idm_config::{CheckOptions, Code, Diagnostic, FileKind, Linter};

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules")
}

fn options() -> CheckOptions {
    // A fixed date inside the fixtures' validity (2026-12-01).
    CheckOptions::default().at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_083_200))
}

fn lint(name: &str) -> (FileKind, Vec<Diagnostic>) {
    let mut linter = Linter::new(options());
    let path = rules_dir().join(name);
    let (kind, mut d) = linter.lint_path(&path).unwrap();
    if name.starts_with('A') {
        linter
            .lint_path(&rules_dir().join("ok-messaging.json"))
            .unwrap();
    }
    d.extend(linter.finish());
    (kind, d)
}

#[test]
fn passing_fixtures_are_clean() {
    let mut seen = 0;
    for entry in std::fs::read_dir(rules_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.starts_with("ok-") {
            continue;
        }
        let (_, d) = lint(&name);
        assert!(d.is_empty(), "{name}: {d:#?}");
        seen += 1;
    }
    assert!(seen >= 6);
}

#[test]
fn every_code_has_a_failing_fixture_that_triggers_it() {
    let mut covered = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(rules_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with("ok-") {
            continue;
        }
        let code = name.split('-').next().unwrap();
        let (_, d) = lint(&name);
        assert!(
            d.iter().any(|d| d.code.as_str() == code),
            "{name} should trigger {code}: {d:#?}"
        );
        // One mistake per fixture: no other error than the one expected
        // (a missing p12File also leaves the zip's p12 unreferenced, etc.).
        let others: Vec<_> = d
            .iter()
            .filter(|d| d.is_error() && d.code.as_str() != code)
            .collect();
        assert!(others.is_empty(), "{name}: unexpected errors {others:#?}");
        covered.insert(code.to_owned());
    }
    // Rules checked with an injected clock live in tests/bundle.rs.
    // Clock-dependent (tests/bundle.rs), or needing options the fixtures
    // cannot carry (tests/seed_bundle.rs, tests/hermod_settings.rs).
    let elsewhere = ["B005", "B007", "B011", "P006", "H008"];
    for code in Code::ALL {
        assert!(
            covered.contains(code.as_str()) || elsewhere.contains(&code.as_str()),
            "no failing fixture for {code}"
        );
    }
}

#[test]
fn diagnostics_point_at_the_line_and_never_show_secrets() {
    let (kind, d) = lint("D016-proxy-auth.properties");
    assert_eq!(kind, FileKind::DtrustProperties);
    let text: Vec<String> = d.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|t| t.ends_with("D016-proxy-auth.properties:11: error[D016]: proxyPassword: the D-Trust connector does not support proxy authentication; use a proxy that needs none and remove the line")), "{text:#?}");
    assert!(text.iter().all(|t| !t.contains("hunter2")));

    let (_, d) = lint("A002-key-mismatch.hermod.json");
    let all = format!("{d:?}");
    assert!(
        !all.contains("079b6a64") && !all.contains("another-key"),
        "{all}"
    );
    assert!(all.contains("prime1"));

    let (_, d) = lint("B002-wrong-password.zip");
    assert!(!format!("{d:?}").contains("654321"));
    assert!(
        d[0].to_string()
            .contains("B002-wrong-password.zip!dtrust.properties:11: error[B002]"),
        "{d:#?}"
    );
}
