//! KeystoreUpdate against the JDK's keytool: what we write, keytool lists
//! (trusted certificates as `trustedCertEntry`, private keys kept), with and
//! without a password for PKCS#12.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use smartid_core::{
    Certificate, Error, Keystore, KeystoreEntry, KeystoreFormat, KeystoreUpdate, Secret,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn cert(name: &str) -> Certificate {
    let pem = std::fs::read(fixture(name)).unwrap();
    Certificate::all_from_pem(&pem, name).unwrap().remove(0)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smartid-kswrite-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `keytool -list -v`; `storepass` None gives no -storepass (stdin closed).
fn keytool_list(path: &Path, storetype: &str, storepass: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new("keytool");
    cmd.args(["-list", "-v", "-keystore"])
        .arg(path)
        .args(["-storetype", storetype]);
    if let Some(pw) = storepass {
        cmd.args(["-storepass", pw]);
    }
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .expect("keytool on PATH (JDK 17)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn new_pkcs12_with_password_lists_as_trusted_cert_entries_in_keytool() {
    let dir = temp_dir("p12pw");
    let path = dir.join("cacerts");
    let report = KeystoreUpdate::new(&path)
        .password(Secret::new("changeit"))
        .add_trusted("fixture-root", cert("ca.pem"))
        .add_trusted("Other CA", cert("other-ca.pem"))
        .write()
        .unwrap();
    assert_eq!(report.format, KeystoreFormat::Pkcs12);
    assert!(report.created && report.integrity_protected);
    let (ok, out) = keytool_list(&path, "pkcs12", Some("changeit"));
    assert!(ok, "{out}");
    assert!(out.contains("contains 2 entries"), "{out}");
    assert_eq!(
        out.matches("Entry type: trustedCertEntry").count(),
        2,
        "{out}"
    );
    assert!(out.contains("Alias name: fixture-root"), "{out}");
    // A wrong password fails the MAC in keytool too: there is a MAC.
    let (ok, out) = keytool_list(&path, "pkcs12", Some("wrongpass"));
    assert!(!ok, "{out}");
    // And the library reads it back, MAC verified.
    let ks = Keystore::open(&path, Some(&Secret::new("changeit"))).unwrap();
    assert_eq!(ks.trusted_certificates().count(), 2);
}

#[test]
fn new_pkcs12_without_password_is_read_by_keytool_without_one() {
    let dir = temp_dir("p12nopw");
    let path = dir.join("cacerts");
    let report = KeystoreUpdate::new(&path)
        .add_trusted("fixture-root", cert("ca.pem"))
        .write()
        .unwrap();
    assert!(!report.integrity_protected);
    // No -storepass at all (stdin closed, so no password is typed).
    let (ok, out) = keytool_list(&path, "pkcs12", None);
    assert!(ok, "{out}");
    assert!(out.contains("Entry type: trustedCertEntry"), "{out}");
    // Any password works too: there is no MAC to check it against.
    let (ok, out) = keytool_list(&path, "pkcs12", Some("anything"));
    assert!(ok, "{out}");
    assert!(out.contains("Alias name: fixture-root"), "{out}");
}

#[test]
fn new_jks_lists_in_keytool_and_needs_a_password() {
    let dir = temp_dir("jks");
    let path = dir.join("cacerts.jks");
    let err = KeystoreUpdate::new(&path)
        .format(KeystoreFormat::Jks)
        .add_trusted("root", cert("ca.pem"))
        .write()
        .unwrap_err();
    assert!(matches!(err, Error::KeystoreNotWritable { .. }), "{err}");
    assert!(err.to_string().contains("password"), "{err}");
    assert!(!path.exists());
    KeystoreUpdate::new(&path)
        .format(KeystoreFormat::Jks)
        .password(Secret::new("changeit"))
        .add_trusted("Fixture Root", cert("ca.pem"))
        .write()
        .unwrap();
    let (ok, out) = keytool_list(&path, "jks", Some("changeit"));
    assert!(ok, "{out}");
    assert!(out.contains("Keystore type: JKS"), "{out}");
    // keytool keeps JKS aliases in lower case; so do we.
    assert!(out.contains("Alias name: fixture root"), "{out}");
    assert!(out.contains("Entry type: trustedCertEntry"), "{out}");
    let (ok, out) = keytool_list(&path, "jks", Some("wrongpass"));
    assert!(!ok, "the digest is keyed with the password: {out}");
}

/// Adds one certificate to a copy of a keytool-made keystore with a private
/// key, and checks that keytool still lists the key and the old entries.
fn extend_keytool_store(fixture_name: &str, storetype: &str, format: KeystoreFormat) -> PathBuf {
    let dir = temp_dir(fixture_name);
    let path = dir.join(fixture_name);
    std::fs::copy(fixture(fixture_name), &path).unwrap();
    let (_, before) = keytool_list(&path, storetype, Some("changeit"));
    let old_bytes = std::fs::read(&path).unwrap();
    // A wrong password is refused before anything is written.
    let err = KeystoreUpdate::new(&path)
        .password(Secret::new("wrongpass"))
        .add_trusted("new-ca", cert("other-ca.pem"))
        .write()
        .unwrap_err();
    assert!(matches!(err, Error::WrongPassword { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), old_bytes);

    let report = KeystoreUpdate::new(&path)
        .password(Secret::new("changeit"))
        .add_trusted("new-ca", cert("other-ca.pem"))
        .write()
        .unwrap();
    assert_eq!(report.format, format);
    assert!(!report.created);
    assert_eq!(report.kept_entries, 1);
    let (ok, after) = keytool_list(&path, storetype, Some("changeit"));
    assert!(ok, "{after}");
    assert!(before.contains("Entry type: PrivateKeyEntry"), "{before}");
    assert!(after.contains("Entry type: PrivateKeyEntry"), "{after}");
    assert!(after.contains("contains 2 entries"), "{after}");
    assert!(after.contains("Alias name: new-ca"), "{after}");
    assert!(after.contains("Entry type: trustedCertEntry"), "{after}");
    // The key still opens with its password and matches its certificate.
    let ks = Keystore::open(&path, Some(&Secret::new("changeit"))).unwrap();
    let id = ks.identities().next().expect("the private key entry");
    assert!(id.key_matches());
    // The old alias is taken now: a duplicate is refused, the file untouched.
    let written = std::fs::read(&path).unwrap();
    let err = KeystoreUpdate::new(&path)
        .password(Secret::new("changeit"))
        .add_trusted("NEW-CA", cert("ca.pem"))
        .write()
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateAlias { .. }), "{err}");
    assert!(err.to_string().contains("already has an entry"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), written);
    path
}

#[test]
fn jks_with_a_private_key_keeps_it_and_its_bytes() {
    let path = extend_keytool_store("keystore.jks", "jks", KeystoreFormat::Jks);
    // Byte for byte: the old entry record is copied as it was.
    let old = std::fs::read(fixture("keystore.jks")).unwrap();
    let new = std::fs::read(&path).unwrap();
    let old_records = &old[12..old.len() - 20];
    assert_eq!(&new[12..12 + old_records.len()], old_records);
}

#[test]
fn pkcs12_with_a_private_key_keeps_it() {
    let path = extend_keytool_store("keystore-keytool.p12", "pkcs12", KeystoreFormat::Pkcs12);
    // Byte for byte: the old authenticated safe's ContentInfos (the
    // encrypted key bag among them) are in the new file unchanged.
    let old = std::fs::read(fixture("keystore-keytool.p12")).unwrap();
    let new = std::fs::read(&path).unwrap();
    let key_bag_oid = [
        0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x0A, 0x01, 0x02,
    ];
    let window = |data: &[u8]| {
        let at = data
            .windows(key_bag_oid.len())
            .position(|w| w == key_bag_oid)
            .expect("a shrouded key bag");
        data[at..at + 200].to_vec()
    };
    assert_eq!(window(&old), window(&new));
}

#[test]
fn pkcs12_with_a_mac_needs_the_password_and_formats_are_not_converted() {
    let dir = temp_dir("needpw");
    let path = dir.join("store.p12");
    std::fs::copy(fixture("truststore-keytool.p12"), &path).unwrap();
    let err = KeystoreUpdate::new(&path)
        .add_trusted("x", cert("ca.pem"))
        .write()
        .unwrap_err();
    assert!(matches!(err, Error::PasswordRequired { .. }), "{err}");
    let err = KeystoreUpdate::new(&path)
        .format(KeystoreFormat::Jks)
        .password(Secret::new("changeit"))
        .add_trusted("x", cert("ca.pem"))
        .write()
        .unwrap_err();
    assert!(matches!(err, Error::KeystoreNotWritable { .. }), "{err}");
    assert!(err.to_string().contains("not JKS"), "{err}");
}

#[test]
fn passwordless_jdk_cacerts_gets_a_trusted_entry_without_a_mac() {
    let dir = temp_dir("pwless");
    let path = dir.join("cacerts");
    std::fs::copy(fixture("cacerts-passwordless.p12"), &path).unwrap();
    KeystoreUpdate::new(&path)
        .add_trusted("other", cert("other-ca.pem"))
        .write()
        .unwrap();
    let (ok, out) = keytool_list(&path, "pkcs12", None);
    assert!(ok, "{out}");
    assert_eq!(
        out.matches("Entry type: trustedCertEntry").count(),
        2,
        "{out}"
    );
    let ks = Keystore::open(&path, None).unwrap();
    let aliases: Vec<_> = ks
        .entries()
        .iter()
        .filter_map(|e| match e {
            KeystoreEntry::TrustedCertificate { alias, .. } => alias.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(aliases, ["fixture-root", "other"]);
}

#[cfg(unix)]
#[test]
fn the_original_permissions_are_kept() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("perm");
    let path = dir.join("cacerts");
    std::fs::copy(fixture("truststore.jks"), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    KeystoreUpdate::new(&path)
        .password(Secret::new("changeit"))
        .add_trusted("third", cert("client.pem"))
        .write()
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[cfg(unix)]
#[test]
fn a_symlinked_cacerts_is_updated_through_the_link() {
    let dir = temp_dir("symlink");
    let real = dir.join("real-cacerts");
    std::fs::copy(fixture("truststore.jks"), &real).unwrap();
    let link = dir.join("cacerts");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let report = KeystoreUpdate::new(&link)
        .password(Secret::new("changeit"))
        .add_trusted("again", cert("ca.pem"))
        .write()
        .unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let ks = Keystore::open(&real, Some(&Secret::new("changeit"))).unwrap();
    assert_eq!(ks.trusted_certificates().count(), 3);
    // The same root was already there under another alias: reported.
    assert_eq!(
        report.already_trusted,
        [("again".to_owned(), "fixture-root".to_owned())]
    );
}

#[test]
fn jks_key_under_its_own_password_is_kept_without_being_decrypted() {
    let dir = temp_dir("keypass");
    let path = dir.join("tomcat.jks");
    let out = Command::new("keytool")
        .args([
            "-genkeypair",
            "-alias",
            "tomcat",
            "-keyalg",
            "RSA",
            "-keysize",
            "2048",
            "-dname",
            "CN=idm.example",
            "-validity",
            "30",
            "-storetype",
            "jks",
            "-storepass",
            "changeit",
            "-keypass",
            "other-key-pw",
            "-keystore",
        ])
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let report = KeystoreUpdate::new(&path)
        .password(Secret::new("changeit"))
        .add_trusted("new-ca", cert("ca.pem"))
        .write()
        .unwrap();
    assert_eq!(report.kept_entries, 1);
    let (ok, list) = keytool_list(&path, "jks", Some("changeit"));
    assert!(ok, "{list}");
    assert!(list.contains("Entry type: PrivateKeyEntry"), "{list}");
    assert!(list.contains("Alias name: new-ca"), "{list}");
    // The key still opens with its own password.
    let out = Command::new("keytool")
        .args([
            "-certreq",
            "-alias",
            "tomcat",
            "-storepass",
            "changeit",
            "-keypass",
            "other-key-pw",
            "-keystore",
        ])
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout).contains("CERTIFICATE REQUEST"),
        "the private key signs with its own password: {out:?}"
    );
}
