#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! smartid-core against keystores made by OpenSSL 3 and JDK keytool
//! (tests/fixtures/make-fixtures.sh).

use smartid_core::{
    ClientIdentity, Error, Integrity, Keystore, KeystoreEntry, KeystoreFormat, Secret, TrustStore,
};

const ROOT: &str = "C=IS, O=smartid fixtures, CN=Fixture Root CA";
const OTHER: &str = "C=DE, O=smartid fixtures, CN=Fixture Other Root";
const CLIENT: &str = "C=IS, O=smartid fixtures, serialNumber=0101303369, CN=Jón Þórsson";

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn pw(s: &str) -> Secret {
    Secret::new(s)
}

fn subjects(store: &TrustStore) -> Vec<String> {
    let mut s: Vec<_> = store
        .certificates()
        .iter()
        .map(|c| c.subject().to_owned())
        .collect();
    s.sort();
    s
}

#[test]
fn pem_bundle_and_der_cer() -> Result<(), Error> {
    assert_eq!(
        subjects(&TrustStore::from_path(fixture("bundle.pem"), None)?),
        [OTHER, ROOT]
    );
    let der = Keystore::open(fixture("ca.cer"), None)?;
    assert_eq!(der.format(), KeystoreFormat::Der);
    assert_eq!(subjects(&TrustStore::from_keystore(&der)?), [ROOT]);
    Ok(())
}

#[test]
fn format_is_detected_by_content_not_extension() -> Result<(), Error> {
    let der = std::fs::read(fixture("ca.cer")).map_err(|e| Error::Io {
        source_name: "ca.cer".into(),
        message: e.to_string(),
    })?;
    let ks = Keystore::from_bytes(&der, "misnamed.pem", None)?;
    assert_eq!(ks.format(), KeystoreFormat::Der);
    let pem = std::fs::read(fixture("ca.pem")).map_err(|e| Error::Io {
        source_name: "ca.pem".into(),
        message: e.to_string(),
    })?;
    let ks = Keystore::from_bytes(&pem, "misnamed.cer", None)?;
    assert_eq!(ks.format(), KeystoreFormat::Pem);
    Ok(())
}

#[test]
fn openssl3_and_legacy_pkcs12_identities() -> Result<(), Error> {
    for file in [
        "client-openssl3.p12",
        "client-legacy.p12",
        "keystore-keytool.p12",
    ] {
        let password = if file.starts_with("keystore") {
            "changeit"
        } else {
            "fixture-pw"
        };
        let id = ClientIdentity::from_pkcs12_file(fixture(file), &pw(password))?;
        assert_eq!(id.certificate().subject(), CLIENT, "{file}");
        assert_eq!(id.chain().len(), 2, "{file}: leaf and CA");
        assert_eq!(id.chain()[1].subject(), ROOT, "{file}");
    }
    Ok(())
}

#[test]
fn wrong_password_is_named_as_such() {
    for (file, password) in [
        ("client-openssl3.p12", "nope"),
        ("client-legacy.p12", "nope"),
        ("keystore.jks", "nope"),
        ("truststore.jks", "nope"),
    ] {
        let err = Keystore::open(fixture(file), Some(&pw(password))).err();
        assert!(
            matches!(&err, Some(Error::WrongPassword { source_name }) if source_name.ends_with(file)),
            "{file}: {err:?}"
        );
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.starts_with("wrong password for ") && !text.contains(password));
    }
}

#[test]
fn pkcs12_without_password_asks_for_one() {
    let err = Keystore::open(fixture("client-openssl3.p12"), None).err();
    assert!(
        matches!(err, Some(Error::PasswordRequired { .. })),
        "{err:?}"
    );
}

#[test]
fn pkcs12_truststores_openssl_keytool_and_passwordless() -> Result<(), Error> {
    let nokeys = TrustStore::from_path(fixture("truststore-nokeys.p12"), Some(&pw("fixture-pw")))?;
    assert_eq!(subjects(&nokeys), [OTHER, ROOT]);
    // OpenSSL -nokeys with an empty password: loads with no password given.
    let nopass = TrustStore::from_path(fixture("truststore-nokeys-nopass.p12"), None)?;
    assert_eq!(subjects(&nopass), [OTHER, ROOT]);
    let keytool = TrustStore::from_path(fixture("truststore-keytool.p12"), Some(&pw("changeit")))?;
    assert_eq!(subjects(&keytool), [OTHER, ROOT]);
    // JDK 18+ style: no MAC, no encryption; loads with no password and with any.
    let cacerts = TrustStore::from_path(fixture("cacerts-passwordless.p12"), None)?;
    assert_eq!(subjects(&cacerts), [ROOT]);
    let cacerts =
        TrustStore::from_path(fixture("cacerts-passwordless.p12"), Some(&pw("changeit")))?;
    assert_eq!(subjects(&cacerts), [ROOT]);
    Ok(())
}

#[test]
fn jks_truststore_with_and_without_password() -> Result<(), Error> {
    let with = Keystore::open(fixture("truststore.jks"), Some(&pw("changeit")))?;
    assert_eq!(with.format(), KeystoreFormat::Jks);
    let aliases: Vec<_> = with
        .entries()
        .iter()
        .filter_map(|e| match e {
            KeystoreEntry::TrustedCertificate { alias, .. } => alias.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(aliases, ["fixture-other", "fixture-root"]);
    assert_eq!(subjects(&TrustStore::from_keystore(&with)?), [OTHER, ROOT]);
    assert_eq!(with.integrity(), Integrity::Verified);
    // Like Java, a JKS truststore loads without a password, and then says
    // that its integrity was not checked.
    let without = TrustStore::from_path(fixture("truststore.jks"), None)?;
    assert_eq!(subjects(&without), [OTHER, ROOT]);
    assert_eq!(without.integrity(), Integrity::NotChecked);
    Ok(())
}

#[test]
fn integrity_is_reported_for_every_format() -> Result<(), Error> {
    let cases = [
        (
            "client-openssl3.p12",
            Some("fixture-pw"),
            Integrity::Verified,
        ),
        ("client-legacy.p12", Some("fixture-pw"), Integrity::Verified),
        (
            "truststore-keytool.p12",
            Some("changeit"),
            Integrity::Verified,
        ),
        ("cacerts-passwordless.p12", None, Integrity::NotChecked),
        ("keystore.jks", Some("changeit"), Integrity::Verified),
        ("ca.pem", None, Integrity::NotInFormat),
        ("ca.cer", None, Integrity::NotInFormat),
    ];
    for (name, password, expected) in cases {
        let ks = Keystore::open(fixture(name), password.map(pw).as_ref())?;
        assert_eq!(ks.integrity(), expected, "{name}");
    }
    // A store assembled from a verified and an unchecked source is unchecked.
    let mut store = TrustStore::from_path(fixture("ca.pem"), None)?;
    assert_eq!(store.integrity(), Integrity::NotInFormat);
    store.extend(TrustStore::from_path(fixture("truststore.jks"), None)?);
    assert_eq!(store.integrity(), Integrity::NotChecked);
    Ok(())
}

#[test]
fn jks_keystore_with_private_key() -> Result<(), Error> {
    let ks = Keystore::open(fixture("keystore.jks"), Some(&pw("changeit")))?;
    let id = ks.identities().next().cloned();
    let id = id.ok_or_else(|| Error::NoIdentity {
        source_name: "keystore.jks".into(),
    })?;
    assert!(id.key_matches());
    assert_eq!(id.alias(), Some("fixture client"));
    let id = id.into_client_identity()?;
    assert_eq!(id.certificate().subject(), CLIENT);
    // The subject keeps the kennitala (it is the certificate's), but a
    // certificate shown with {:?} (as in a log line) masks it.
    let shown = format!("{:?}", id.certificate());
    assert!(!shown.contains("0101303369"), "{shown}");
    assert!(shown.contains("serialNumber=010130-****"), "{shown}");
    // Keys cannot be read without the password.
    assert!(matches!(
        Keystore::open(fixture("keystore.jks"), None),
        Err(Error::PasswordRequired { .. })
    ));
    Ok(())
}

#[test]
fn pem_identity_and_key_mismatch() -> Result<(), Error> {
    let id =
        ClientIdentity::from_pem_files(fixture("client-chain.pem"), fixture("client-key.pem"))?;
    assert_eq!(id.certificate().subject(), CLIENT);
    assert_eq!(id.chain().len(), 2);
    let err =
        ClientIdentity::from_pem_files(fixture("client-chain.pem"), fixture("other-key.pem")).err();
    assert!(matches!(err, Some(Error::KeyMismatch { .. })), "{err:?}");
    Ok(())
}

#[test]
fn directory_of_certificates() -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("smartid-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let io = |e: std::io::Error| Error::Io {
        source_name: "tmp".into(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    std::fs::copy(fixture("ca.cer"), dir.join("a.cer")).map_err(io)?;
    std::fs::copy(fixture("other-ca.pem"), dir.join("b.crt")).map_err(io)?;
    std::fs::write(dir.join("README"), "not a certificate").map_err(io)?;
    let store = TrustStore::from_path(&dir, None)?;
    assert_eq!(subjects(&store), [OTHER, ROOT]);
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).map_err(io)?;
    assert!(matches!(
        TrustStore::from_path(&empty, None),
        Err(Error::EmptyTrustStore { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn bad_inputs_give_typed_errors() {
    assert!(matches!(
        Keystore::open(fixture("does-not-exist.p12"), None),
        Err(Error::FileNotFound { .. })
    ));
    for junk in [
        &b""[..],
        b"hello world",
        b"\x30\x82\xff\xff",
        b"\xfe\xed\xfe\xed\x00",
    ] {
        let err = Keystore::from_bytes(junk, "junk.bin", Some(&pw("x"))).err();
        assert!(
            matches!(err, Some(Error::UnsupportedFormat { .. })),
            "{junk:?}: {err:?}"
        );
    }
    let text = Keystore::from_bytes(b"plain text", "junk.txt", None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        text.contains("PEM") && text.contains("PKCS#12") && text.contains("JKS"),
        "{text}"
    );
    // A client keystore is not a truststore, and the error says so.
    let err = TrustStore::from_path(fixture("client-openssl3.p12"), Some(&pw("fixture-pw")))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("holds no trusted certificate") && err.contains("private key"),
        "{err}"
    );
}

#[test]
fn truncated_keystores_never_panic() {
    for file in [
        "client-openssl3.p12",
        "client-legacy.p12",
        "keystore.jks",
        "truststore.jks",
        "bundle.pem",
        "ca.cer",
    ] {
        let Ok(bytes) = std::fs::read(fixture(file)) else {
            panic!("fixture {file} missing");
        };
        for cut in (0..bytes.len()).step_by(7) {
            let _ = Keystore::from_bytes(&bytes[..cut], file, Some(&pw("changeit")));
        }
        let mut flipped = bytes.clone();
        for i in (0..flipped.len()).step_by(13) {
            flipped[i] ^= 0x55;
            let _ = Keystore::from_bytes(&flipped, file, Some(&pw("fixture-pw")));
            flipped[i] ^= 0x55;
        }
    }
}

/// Every field `Certificate` offers, against what `openssl x509 -noout
/// -serial -dates -ext basicConstraints` says of the same files.
#[test]
fn certificate_fields_match_openssl() -> Result<(), Error> {
    use smartid_core::Certificate;
    let read = |name: &str| {
        std::fs::read(fixture(name)).map_err(|e| Error::Io {
            source_name: name.into(),
            message: e.to_string(),
        })
    };
    let ca = Certificate::from_der(&read("ca.cer")?, "ca.cer")?;
    assert_eq!(ca.subject(), ROOT);
    assert_eq!(ca.issuer(), ROOT);
    assert_eq!(ca.serial_hex(), "10BFD806FB21F28178B54A4F18066E222E783DAF");
    assert!(ca.is_ca());
    assert_eq!(ca.not_before_rfc3339(), "2026-11-22T02:23:18Z");
    assert_eq!(ca.not_after_rfc3339(), "2046-11-17T02:23:18Z");

    let client = Certificate::all_from_pem(&read("client.pem")?, "client.pem")?.remove(0);
    assert_eq!(client.subject(), CLIENT);
    assert_eq!(client.issuer(), ROOT);
    assert_eq!(
        client.serial_hex(),
        "624AC0A0145983461F8D9CFC3C5840387BD1E9BB"
    );
    assert!(!client.is_ca(), "no basic constraints: not a CA");
    let start = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_314_198);
    assert_eq!(client.not_before(), start);
    assert!(client.is_valid_at(start));
    assert!(!client.is_valid_at(start - std::time::Duration::from_secs(1)));
    // The SubjectPublicKeyInfo is the certificate's own bytes (a SEQUENCE
    // holding the RSA algorithm identifier), found inside its DER.
    let spki = client.subject_public_key_info();
    assert_eq!(spki[0], 0x30);
    assert!(client.der().windows(spki.len()).any(|w| w == spki));
    assert_eq!(
        client.der(),
        Certificate::from_der(client.der(), "again")?.der()
    );
    Ok(())
}
