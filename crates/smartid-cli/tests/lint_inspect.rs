//! `smartid lint` and `smartid inspect`, end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{fixture, run, smartid};

#[test]
fn lint_renders_like_a_compiler_and_exits_1_on_errors() {
    let path = fixture("dtrust-broken.properties");
    let out = run(smartid(["lint".as_ref(), path.as_os_str()]));
    assert_eq!(out.code, 1, "{out:?}");
    let s = &out.stdout;
    assert!(
        s.contains("error[D002]: certificateTemplates is empty"),
        "{out:?}"
    );
    assert!(s.contains("dtrust-broken.properties:3:1"), "{out:?}");
    assert!(s.contains("3 | certificateTemplates="), "{out:?}");
    assert!(s.contains("^^^^^^^^^^^^^^^^^^^^^"), "{out:?}");
    assert!(s.contains("help: list the templates"), "{out:?}");
    assert!(s.contains("error[D010]"), "{out:?}");
    assert!(s.contains("2 errors, 0 warnings"), "{out:?}");
    // Not a terminal: no colour.
    assert!(!s.contains('\x1b'), "{out:?}");
}

#[test]
fn lint_colours_only_when_forced_or_on_a_terminal() {
    let path = fixture("dtrust-broken.properties");
    let mut cmd = smartid(["lint".as_ref(), path.as_os_str()]);
    cmd.env("CLICOLOR_FORCE", "1");
    let out = run(cmd);
    assert!(out.stdout.contains("\x1b["), "{out:?}");
    let mut cmd = smartid(["lint".as_ref(), path.as_os_str()]);
    cmd.env("CLICOLOR_FORCE", "1").env("NO_COLOR", "1");
    let out = run(cmd);
    assert!(!out.stdout.contains('\x1b'), "{out:?}");
}

#[test]
fn lint_clean_file_exits_0_and_json_lists_every_diagnostic() {
    let clean = fixture("dtrust-clean.properties");
    let out = run(smartid(["lint".as_ref(), clean.as_os_str()]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("ok "), "{out:?}");

    let broken = fixture("messaging-http.json");
    let out = run(smartid([
        "lint".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        clean.as_os_str(),
        broken.as_os_str(),
    ]));
    assert_eq!(out.code, 1, "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(doc["errors"], 1, "{doc}");
    assert_eq!(doc["exit_code"], 1, "{doc}");
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files[0]["status"], "ok");
    let d = &files[1]["diagnostics"][0];
    assert_eq!(d["code"], "M002", "{doc}");
    assert_eq!(d["line"], 3, "{doc}");
    assert_eq!(d["severity"], "error", "{doc}");
    assert!(d["fix"].as_str().unwrap().contains("https://"), "{doc}");
}

#[test]
fn lint_unreadable_input_exits_2_even_in_json() {
    let out = run(smartid(["lint", "no/such/file.properties"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no/such/file.properties"), "{out:?}");
    let out = run(smartid([
        "lint",
        "--format",
        "json",
        "no/such/file.properties",
    ]));
    assert_eq!(out.code, 2, "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["files"][0]["status"], "unreadable");
}

#[test]
fn lint_callback_password_comes_from_the_environment_only() {
    let path = fixture("dtrust-clean.properties");
    let out = run(smartid([
        "lint".as_ref(),
        "--callback-user".as_ref(),
        "hermod".as_ref(),
        path.as_os_str(),
    ]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("SMARTID_CALLBACK_PASSWORD"), "{out:?}");
    let mut cmd = smartid([
        "lint".as_ref(),
        "--callback-user".as_ref(),
        "hermod".as_ref(),
        path.as_os_str(),
    ]);
    cmd.env("SMARTID_CALLBACK_PASSWORD", "pw");
    assert_eq!(run(cmd).code, 0);
}

#[test]
fn help_documents_exit_codes_and_argv_visibility() {
    for sub in ["lint", "inspect", "check"] {
        let out = run(smartid([sub, "--help"]));
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.contains("Exit codes"), "{sub}: {out:?}");
    }
    let out = run(smartid(["trust", "import", "--help"]));
    assert!(out.stdout.contains("Exit codes"), "{out:?}");
    assert!(out.stdout.contains("SMARTID_KEYSTORE_PASSWORD"), "{out:?}");
    assert!(out.stdout.contains("visible to other users"), "{out:?}");
}

#[test]
fn inspect_lists_entries_and_checks_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let pki = smartid_testkit::TestPki::generate().unwrap();
    let pem = dir.path().join("root.pem");
    std::fs::write(&pem, pki.root_pem()).unwrap();
    let out = run(smartid(["inspect".as_ref(), pem.as_os_str()]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("PEM with 1 entries"), "{out:?}");
    assert!(
        out.stdout.contains("trusted-certificate subject="),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("integrity: none in this format"),
        "{out:?}"
    );

    // A PKCS#12 store with a MAC: the password from the environment works,
    // a wrong one on the command line is refused with exit 1.
    let store = dir.path().join("cacerts");
    let mut cmd = smartid([
        "trust".as_ref(),
        "import".as_ref(),
        "--keystore".as_ref(),
        store.as_os_str(),
        pem.as_os_str(),
    ]);
    cmd.env("SMARTID_KEYSTORE_PASSWORD", "changeit");
    assert_eq!(run(cmd).code, 0);
    let mut cmd = smartid(["inspect".as_ref(), store.as_os_str()]);
    cmd.env("SMARTID_PASSWORD", "changeit");
    let out = run(cmd);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("PKCS#12 with 1 entries"), "{out:?}");
    assert!(out.stdout.contains("integrity: verified"), "{out:?}");
    let out = run(smartid([
        "inspect".as_ref(),
        store.as_os_str(),
        "--password".as_ref(),
        "wrong".as_ref(),
    ]));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("wrong password"), "{out:?}");
    assert!(!out.stderr.contains("changeit"), "{out:?}");
}
