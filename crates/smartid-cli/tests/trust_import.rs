//! `smartid trust import`, end to end, read back by the JDK's keytool.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{keytool_list, run, smartid};

struct Setup {
    dir: tempfile::TempDir,
    root: PathBuf,
    other: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("new-ca.pem");
    std::fs::write(
        &root,
        smartid_testkit::TestPki::generate().unwrap().root_pem(),
    )
    .unwrap();
    let other = dir.path().join("other-ca.pem");
    std::fs::write(
        &other,
        smartid_testkit::TestPki::generate().unwrap().root_pem(),
    )
    .unwrap();
    Setup { dir, root, other }
}

fn import(store: &Path, extra: &[&str], certs: &[&Path], password: Option<&str>) -> common::Run {
    let mut cmd = smartid(["trust", "import", "--keystore"]);
    cmd.arg(store).args(extra).args(certs);
    if let Some(pw) = password {
        cmd.env("SMARTID_KEYSTORE_PASSWORD", pw);
    }
    run(cmd)
}

#[test]
fn creates_a_pkcs12_truststore_that_keytool_lists_with_and_without_password() {
    let s = setup();
    let with_pw = s.dir.path().join("cacerts");
    let out = import(
        &with_pw,
        &["--alias", "new-ca"],
        &[&s.root],
        Some("changeit"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("created PKCS#12 with 1 entries"),
        "{out:?}"
    );
    let (ok, list) = keytool_list(&with_pw, "pkcs12", Some("changeit"));
    assert!(ok, "{list}");
    assert!(list.contains("Alias name: new-ca"), "{list}");
    assert!(list.contains("Entry type: trustedCertEntry"), "{list}");

    let no_pw = s.dir.path().join("cacerts-nopw");
    let out = import(&no_pw, &[], &[&s.root, &s.other], None);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("no MAC"), "{out:?}");
    // JDK 17 reads it with no password at all.
    let (ok, list) = keytool_list(&no_pw, "pkcs12", None);
    assert!(ok, "{list}");
    assert_eq!(
        list.matches("Entry type: trustedCertEntry").count(),
        2,
        "{list}"
    );
    // Default aliases: the CN in lower case.
    assert!(list.contains("Alias name: smartid test root ca"), "{list}");
}

#[test]
fn keeps_keytool_entries_including_a_private_key_and_refuses_a_duplicate_alias() {
    let s = setup();
    let store = s.dir.path().join("server.jks");
    let status = Command::new("keytool")
        .args([
            "-genkeypair",
            "-alias",
            "tomcat",
            "-keyalg",
            "EC",
            "-dname",
            "CN=idm.example",
            "-validity",
            "30",
            "-storetype",
            "jks",
            "-storepass",
            "changeit",
            "-keypass",
            "changeit",
            "-keystore",
        ])
        .arg(&store)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let out = import(&store, &["--alias", "new-ca"], &[&s.root], Some("changeit"));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("updated JKS with 2 entries (1 kept)"),
        "{out:?}"
    );
    let (ok, list) = keytool_list(&store, "jks", Some("changeit"));
    assert!(ok, "{list}");
    assert!(list.contains("Alias name: tomcat"), "{list}");
    assert!(list.contains("Entry type: PrivateKeyEntry"), "{list}");
    assert!(list.contains("Alias name: new-ca"), "{list}");
    assert!(list.contains("Entry type: trustedCertEntry"), "{list}");

    let before = std::fs::read(&store).unwrap();
    let out = import(
        &store,
        &["--alias", "TOMCAT"],
        &[&s.other],
        Some("changeit"),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("already has an entry with alias \"tomcat\""),
        "{out:?}"
    );
    assert_eq!(std::fs::read(&store).unwrap(), before, "untouched");
    // Without the password a JKS cannot be rewritten (its digest is keyed).
    let out = import(&store, &["--alias", "x"], &[&s.other], None);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("password"), "{out:?}");
    assert_eq!(std::fs::read(&store).unwrap(), before, "untouched");
}

#[test]
fn jks_on_request_and_usage_errors() {
    let s = setup();
    let store = s.dir.path().join("trust.jks");
    let out = import(&store, &["--format", "jks"], &[&s.root], Some("changeit"));
    assert_eq!(out.code, 0, "{out:?}");
    let (ok, list) = keytool_list(&store, "jks", Some("changeit"));
    assert!(ok && list.contains("Keystore type: JKS"), "{list}");
    // An existing JKS is not converted.
    let out = import(
        &store,
        &["--format", "pkcs12"],
        &[&s.other],
        Some("changeit"),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("not PKCS#12"), "{out:?}");
    // One alias for two certificates is a usage error.
    let bundle = s.dir.path().join("both.pem");
    let both = [
        std::fs::read(&s.root).unwrap(),
        std::fs::read(&s.other).unwrap(),
    ]
    .concat();
    std::fs::write(&bundle, both).unwrap();
    let out = import(&store, &["--alias", "x"], &[&bundle], Some("changeit"));
    assert_eq!(out.code, 2, "{out:?}");
    // A certificate file that cannot be read.
    let out = import(&store, &[], &[Path::new("missing.pem")], Some("changeit"));
    assert_eq!(out.code, 2, "{out:?}");
}
