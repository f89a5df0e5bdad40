//! D-Trust bundles: reading with limits, checking, writing, extracting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use idm_config::{CheckOptions, Code, DtrustBundle, Error, PropertiesFile, ZipLimits};
use smartid_core::Certificate;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path),
    )
    .unwrap()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "idm-config-{tag}-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn codes(d: &[idm_config::Diagnostic]) -> Vec<Code> {
    d.iter().map(|d| d.code).collect()
}

fn server_not_after() -> SystemTime {
    Certificate::from_der(&fixture("pki/D-TRUST_Test_CA.cer"), "ca")
        .unwrap()
        .not_after()
}

#[test]
fn good_bundle_yields_the_connector_config() {
    let bundle = DtrustBundle::read(&fixture("rules/ok-bundle.zip"), "ok.zip").unwrap();
    let checked = bundle
        .check(&CheckOptions::default().at(server_not_after() - Duration::from_secs(400 * 86400)));
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let config = checked.value.unwrap();
    assert_eq!(config.soap_service, None);
    assert_eq!(config.p12_password.expose_secret(), "123456");
    assert_eq!(config.certificate_templates.len(), 2);
    assert_eq!(config.certificate_templates[0].subject[1].1, "Jón Example");
    assert_eq!(config.proxy.as_ref().map(|p| p.port), Some(3128));
}

#[test]
fn expiry_warnings_and_errors_follow_the_clock() {
    let bundle = DtrustBundle::read(&fixture("rules/ok-bundle.zip"), "ok.zip").unwrap();
    // Both certificates expire in 2051; ten days before, both warn.
    let soon = bundle
        .check(&CheckOptions::default().at(server_not_after() - Duration::from_secs(10 * 86400)));
    let c = codes(&soon.diagnostics);
    assert!(
        c.contains(&Code::BundleClientExpiring) && c.contains(&Code::BundleServerExpiring),
        "{c:?}"
    );
    assert!(!soon.has_errors());
    // A day after, both are errors.
    let late =
        bundle.check(&CheckOptions::default().at(server_not_after() + Duration::from_secs(86400)));
    let c = codes(&late.diagnostics);
    assert!(
        c.contains(&Code::BundleClientExpired) && c.contains(&Code::BundleServerExpired),
        "{c:?}"
    );
    assert!(late.into_result().is_err());
}

#[test]
fn legacy_rc2_3des_p12_with_latin1_password_opens() {
    let bundle = DtrustBundle::read(&fixture("rules/ok-bundle-legacy.zip"), "legacy.zip").unwrap();
    let checked = bundle
        .check(&CheckOptions::default().at(server_not_after() - Duration::from_secs(400 * 86400)));
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    assert_eq!(
        checked.value.unwrap().p12_password.expose_secret(),
        "s3cret-Þ"
    );
}

#[test]
fn wrong_password_is_a_clear_error() {
    let bundle = DtrustBundle::read(&fixture("rules/B002-wrong-password.zip"), "b.zip").unwrap();
    let d = bundle.check(&CheckOptions::default()).diagnostics;
    let wrong = d
        .iter()
        .find(|d| d.code == Code::BundleWrongPassword)
        .unwrap();
    assert_eq!(wrong.line, Some(11));
    assert!(
        wrong.message.contains("set p12Password"),
        "{}",
        wrong.message
    );
}

#[test]
fn write_from_parts_read_back_and_extract_safely() {
    let props = PropertiesFile::parse(&fixture("rules/ok-dtrust.properties"), "dtrust.properties");
    let bundle = DtrustBundle::from_parts(
        &props,
        vec![
            (
                "client-default.p12".into(),
                fixture("pki/client-default.p12"),
            ),
            (
                "D-TRUST_Test_CA.cer".into(),
                fixture("pki/D-TRUST_Test_CA.cer"),
            ),
        ],
    )
    .unwrap();
    let dir = temp_dir("write");
    let zip_path = dir.join("bundle.zip");
    bundle.write_zip(&zip_path).unwrap();
    assert!(matches!(
        bundle.write_zip(&zip_path),
        Err(Error::UnsafeTarget { .. })
    ));
    let again = DtrustBundle::open(&zip_path).unwrap();
    assert_eq!(
        again.names().collect::<Vec<_>>(),
        [
            "dtrust.properties",
            "client-default.p12",
            "D-TRUST_Test_CA.cer"
        ]
    );
    assert_eq!(
        again.file("dtrust.properties").unwrap(),
        fixture("rules/ok-dtrust.properties")
    );
    let checked = again
        .check(&CheckOptions::default().at(server_not_after() - Duration::from_secs(400 * 86400)));
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);

    let out = dir.join("extracted");
    let written = again.extract_to(&out).unwrap();
    assert_eq!(written.len(), 3);
    assert_eq!(
        std::fs::read(out.join("client-default.p12")).unwrap(),
        fixture("pki/client-default.p12")
    );
    // Never overwrites.
    assert!(matches!(
        again.extract_to(&out),
        Err(Error::UnsafeTarget { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unsafe_names_are_refused_when_building() {
    let props = PropertiesFile::new("dtrust.properties");
    for bad in ["../x.p12", "/etc/x", "sub/x.p12", "C:x", "..", "a\\b"] {
        let r = DtrustBundle::from_parts(&props, vec![(bad.into(), vec![1])]);
        assert!(matches!(r, Err(Error::UnsafeEntryName { .. })), "{bad}");
    }
}

#[test]
fn path_traversal_zip_is_rejected_and_nothing_is_written() {
    let dir = temp_dir("traversal");
    let target = dir.join("target");
    std::fs::create_dir(&target).unwrap();
    for name in ["B013-path-traversal.zip", "B013-absolute-path.zip"] {
        let err = DtrustBundle::read(&fixture(&format!("rules/{name}")), name).unwrap_err();
        assert!(matches!(err, Error::UnsafeEntryName { .. }), "{err}");
        assert!(err.to_string().contains("evil.txt"), "{err}");
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    assert!(!dir.join("evil.txt").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn zip_bomb_and_truncated_zip_are_rejected() {
    let bomb = fixture("rules/B014-zip-bomb.zip");
    assert!(bomb.len() < 100_000);
    let err = DtrustBundle::read(&bomb, "bomb.zip").unwrap_err();
    assert!(matches!(err, Error::ZipLimit { .. }), "{err}");
    assert!(err.to_string().contains("zip bomb"), "{err}");

    let err = DtrustBundle::read(&fixture("rules/B012-truncated.zip"), "cut.zip").unwrap_err();
    assert!(matches!(err, Error::Zip { .. }), "{err}");
    assert!(
        err.to_string().contains("upload the complete file again"),
        "{err}"
    );

    // Too many entries, and an archive larger than the total limit.
    let mut many = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..100 {
        many.start_file(
            format!("f{i}.txt"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
    }
    let many = many.finish().unwrap().into_inner();
    let err = DtrustBundle::read(&many, "many.zip").unwrap_err();
    assert!(
        err.to_string()
            .contains("100 entries, more than the limit of 32"),
        "{err}"
    );
    let tiny = ZipLimits::default().max_total_bytes(1000);
    let err = DtrustBundle::read_with_limits(&fixture("rules/ok-bundle.zip"), "ok.zip", &tiny)
        .unwrap_err();
    assert!(matches!(err, Error::ZipLimit { .. }), "{err}");

    let ok = fixture("rules/ok-bundle.zip");
    let tight = ZipLimits::default().max_entries(2);
    assert!(matches!(
        DtrustBundle::read_with_limits(&ok, "ok.zip", &tight),
        Err(Error::ZipLimit { .. })
    ));
}

#[test]
fn p12_whose_key_does_not_match_its_certificate_is_an_error() {
    let pki = smartid_testkit::TestPki::generate().unwrap();
    let a = pki.client("a").unwrap();
    let b = pki.client("b").unwrap();
    // Certificate of A with the private key of B.
    let chain = p12_keystore::PrivateKeyChain::new(
        vec![1u8, 2, 3, 4],
        p12_keystore::PrivateKey::from_der(b.key_pkcs8_der()).unwrap(),
        [p12_keystore::Certificate::from_der(a.leaf_der()).unwrap()],
    );
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        "client",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    let p12 = store.writer("123456").write().unwrap();

    let props = PropertiesFile::parse(&fixture("rules/ok-dtrust.properties"), "dtrust.properties");
    let bundle = DtrustBundle::from_parts(
        &props,
        vec![
            ("client-default.p12".into(), p12),
            (
                "D-TRUST_Test_CA.cer".into(),
                fixture("pki/D-TRUST_Test_CA.cer"),
            ),
        ],
    )
    .unwrap();
    let d = bundle.check(&CheckOptions::default()).diagnostics;
    let mismatch = d.iter().find(|d| d.code == Code::BundleNoIdentity).unwrap();
    assert!(
        mismatch.message.contains("does not match"),
        "{}",
        mismatch.message
    );
    assert!(mismatch.is_error());
}
