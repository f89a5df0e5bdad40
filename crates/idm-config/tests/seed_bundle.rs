//! A bundle laid out as seed 003's ("Integrate Identity Manager with D-Trust
//! connector", Preparations step 2): one properties file and, under the
//! seed's own names, `CSMWM447922870184925_neXus_Technology_GmbH_2015_SSL.p12`
//! and `D-TRUST_SSL_Class_3_CA_1_2009.cer`. No key names the files; they are
//! found by content. The fixture is made at test time from the test PKI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use idm_config::{
    CheckOptions, Code, Diagnostic, DtrustBundle, DtrustConnectorConfig, Linter, PropertiesFile,
    ReadEncoding, has_errors,
};
use smartid_core::Certificate;

const SEED_P12: &str = "CSMWM447922870184925_neXus_Technology_GmbH_2015_SSL.p12";
const SEED_CER: &str = "D-TRUST_SSL_Class_3_CA_1_2009.cer";

/// The seed's REST example: its comment lines verbatim; the lines the
/// public page does not show are filled with this crate's accepted spellings.
const SEED_REST: &str = "\
# note the absence of namespaceURI=... and localPart=... - you MUST NOT set those for the REST interface!
# note the new URL for the REST interface
url=https://dtrust.example.test/rest/v1
p12Password=123456
# only for key back up: map DTrust product to CM token procedure
Advanced\\ SSL\\ ID\\ (RSA)=DTrust PKCS10 import
# only for key beackup: name of CM connector
keyArchive=Key archive
# optional proxy config
proxyHost=proxy.example.test
proxyPort=3128
certificateTemplates=Advanced SSL ID (RSA);Basic Device ID (ECC)
";

/// The seed's legacy SOAP example, same layout plus the two SOAP keys.
const SEED_SOAP: &str = "\
url=https://dtrust.example.test/soap/CSMService
namespaceURI=http://ws.dtrust.example.test/
localPart=CSMService
# only for key back up: map DTrust product to CM token procedure
Advanced\\ SSL\\ ID\\ (RSA)=DTrust PKCS10 import
# only for key beackup: name of CM connector
keyArchive=Key archive
# optional proxy config
certificateTemplates=Advanced SSL ID (RSA)
";

fn pki(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/pki")
            .join(name),
    )
    .unwrap()
}

fn options() -> CheckOptions {
    let not_after = Certificate::from_der(&pki("D-TRUST_Test_CA.cer"), "ca")
        .unwrap()
        .not_after();
    CheckOptions::default().at(not_after - Duration::from_secs(400 * 86400))
}

fn seed_bundle(props_name: &str, text: &str, p12: &str, cer: &str) -> DtrustBundle {
    let props = PropertiesFile::parse(text.as_bytes(), props_name);
    DtrustBundle::from_parts(
        &props,
        vec![
            (p12.to_owned(), pki("client-default.p12")),
            (cer.to_owned(), pki("D-TRUST_Test_CA.cer")),
        ],
    )
    .unwrap()
}

fn codes(d: &[Diagnostic]) -> Vec<Code> {
    d.iter().map(|d| d.code).collect()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idm-config-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn seed_layout_bundle_is_fully_checked_without_file_name_keys() {
    let bundle = seed_bundle("dtrust.properties", SEED_REST, SEED_P12, SEED_CER);
    let checked = bundle.check(&options());
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let config = checked.value.unwrap();
    assert_eq!(config.p12_file.as_deref(), Some(SEED_P12));
    assert_eq!(config.server_certificate.as_deref(), Some(SEED_CER));
    assert_eq!(config.soap_service, None);
    assert_eq!(config.key_archive.as_deref(), Some("Key archive"));
    assert_eq!(
        config.token_procedures,
        [(
            "Advanced SSL ID (RSA)".to_owned(),
            "DTrust PKCS10 import".to_owned()
        )]
    );
    // And it converts into a client configuration.
    let dtrust = bundle.to_dtrust_config(&options()).unwrap();
    assert!(matches!(
        dtrust.transport(),
        dtrust_client::Transport::Rest { .. }
    ));
}

#[test]
fn seed_layout_zip_lints_clean_through_the_linter() {
    let dir = temp_dir("seed-zip");
    let zip = dir.join("dtrust-connector.zip");
    seed_bundle("dtrust.properties", SEED_REST, SEED_P12, SEED_CER)
        .write_zip(&zip)
        .unwrap();
    let mut linter = Linter::new(options());
    let (_, d) = linter.lint_path(&zip).unwrap();
    assert!(d.is_empty(), "{d:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn legacy_soap_seed_layout_only_warns_about_soap() {
    let bundle = seed_bundle("dtrust.properties", SEED_SOAP, SEED_P12, SEED_CER);
    let checked = bundle.check(&options());
    assert_eq!(codes(&checked.diagnostics), [Code::SoapDeprecated]);
}

#[test]
fn files_are_found_by_content_under_any_names() {
    // Not even the properties file has a telling name.
    let bundle = seed_bundle("connector-config", SEED_REST, "a.bin", "b.dat");
    let checked = bundle.check(&options());
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let config = checked.value.unwrap();
    assert_eq!(config.p12_file.as_deref(), Some("a.bin"));
    assert_eq!(config.server_certificate.as_deref(), Some("b.dat"));
}

#[test]
fn without_a_url_the_bundle_is_still_checked_and_only_warned_about() {
    let text = SEED_REST.replace("url=https://dtrust.example.test/rest/v1\n", "");
    let bundle = seed_bundle("dtrust.properties", &text, SEED_P12, SEED_CER);
    let checked = bundle.check(&options());
    assert_eq!(codes(&checked.diagnostics), [Code::UrlMissing]);
    assert!(!has_errors(&checked.diagnostics));
    // The PKCS#12 was still opened: a wrong password is still found.
    let wrong = text.replace("p12Password=123456", "p12Password=654321");
    let bundle = seed_bundle("dtrust.properties", &wrong, SEED_P12, SEED_CER);
    assert!(codes(&bundle.check(&options()).diagnostics).contains(&Code::BundleWrongPassword));
}

#[test]
fn likely_real_spellings_are_read_as_aliases() {
    let text = "\
serviceUrl=https://dtrust.example.test/rest/v1
p12Path=/opt/idm/conf/CSMWM447922870184925_neXus_Technology_GmbH_2015_SSL.p12
serverCert=D-TRUST_SSL_Class_3_CA_1_2009.cer
http.proxyHost=proxy.example.test
http.proxyPort=8080
keyArchive=Key archive
tokenprocedure.Basic\\ Device\\ ID\\ (ECC)=DTrust import
verifiedDomains=example.com
certificateTemplates=Basic Device ID (ECC)|CN=${cn}|email:pki@example.com
";
    let file = PropertiesFile::parse(text.as_bytes(), "dtrust.properties");
    let checked = DtrustConnectorConfig::from_properties(&file, &options());
    // Only the path is remarked on (its last part is used).
    assert_eq!(codes(&checked.diagnostics), [Code::FileNameNotPlain]);
    let c = checked.value;
    assert_eq!(
        c.url.as_deref(),
        Some("https://dtrust.example.test/rest/v1")
    );
    assert_eq!(
        c.proxy.as_ref().map(|p| (p.host.as_str(), p.port)),
        Some(("proxy.example.test", 8080))
    );
    assert_eq!(c.token_procedures[0].0, "Basic Device ID (ECC)");
    assert_eq!(c.verified_email_domains, ["example.com"]);

    let bundle = DtrustBundle::from_parts(
        &file,
        vec![
            (SEED_P12.to_owned(), pki("client-default.p12")),
            (SEED_CER.to_owned(), pki("D-TRUST_Test_CA.cer")),
        ],
    )
    .unwrap();
    let checked = bundle.check(&options());
    assert_eq!(codes(&checked.diagnostics), [Code::FileNameNotPlain]);
    assert_eq!(checked.value.unwrap().p12_file.as_deref(), Some(SEED_P12));

    // Two spellings of one setting: the first accepted spelling wins, with a warning.
    let twice = PropertiesFile::parse(
        format!("{text}url=https://other.example.test/\n").as_bytes(),
        "dtrust.properties",
    );
    let checked = DtrustConnectorConfig::from_properties(&twice, &options());
    assert!(codes(&checked.diagnostics).contains(&Code::KeySpelledTwice));
    assert_eq!(
        checked.value.url.as_deref(),
        Some("https://other.example.test/")
    );
}

#[test]
fn a_named_file_must_exist_and_several_candidates_need_a_name() {
    let named = format!("p12File=missing.p12\n{SEED_REST}");
    let bundle = seed_bundle("dtrust.properties", &named, SEED_P12, SEED_CER);
    assert!(codes(&bundle.check(&options()).diagnostics).contains(&Code::BundleFileMissing));

    let props = PropertiesFile::parse(SEED_REST.as_bytes(), "dtrust.properties");
    let two = DtrustBundle::from_parts(
        &props,
        vec![
            (SEED_P12.to_owned(), pki("client-default.p12")),
            ("old.p12".to_owned(), pki("client-default.p12")),
            (SEED_CER.to_owned(), pki("D-TRUST_Test_CA.cer")),
        ],
    )
    .unwrap();
    let d = two.check(&options()).diagnostics;
    assert!(codes(&d).contains(&Code::BundleAmbiguous), "{d:#?}");
    // Naming one settles it; the other is then an extra file.
    let props = PropertiesFile::parse(
        format!("p12File={SEED_P12}\n{SEED_REST}").as_bytes(),
        "dtrust.properties",
    );
    let named = DtrustBundle::from_parts(
        &props,
        vec![
            (SEED_P12.to_owned(), pki("client-default.p12")),
            ("old.p12".to_owned(), pki("client-default.p12")),
            (SEED_CER.to_owned(), pki("D-TRUST_Test_CA.cer")),
        ],
    )
    .unwrap();
    assert_eq!(
        codes(&named.check(&options()).diagnostics),
        [Code::BundleExtraFile]
    );
}

#[test]
fn utf8_reading_reports_replaced_bytes() {
    let latin1 = b"certificateTemplates=Advanced SSL ID (RSA)|CN=J\xf3n\n";
    let mut linter = Linter::new(options().properties_encoding(ReadEncoding::Utf8));
    let (_, d) = linter.lint_properties(latin1, "dtrust.properties");
    assert!(codes(&d).contains(&Code::InvalidUtf8Replaced), "{d:#?}");
    let mut linter = Linter::new(options().properties_encoding(ReadEncoding::Latin1));
    let (_, d) = linter.lint_properties(latin1, "dtrust.properties");
    assert!(!codes(&d).contains(&Code::InvalidUtf8Replaced), "{d:#?}");
}

#[test]
fn extracted_seed_bundle_converts_with_files_found_by_content() {
    let parent = temp_dir("seed-extract");
    let dir = parent.join("bundle");
    let bundle = seed_bundle("dtrust.properties", SEED_REST, SEED_P12, SEED_CER);
    bundle.extract_to(&dir).unwrap();
    let props = PropertiesFile::parse(
        &std::fs::read(dir.join("dtrust.properties")).unwrap(),
        "dtrust.properties",
    );
    let config = DtrustConnectorConfig::from_properties(&props, &options())
        .into_result()
        .unwrap();
    assert_eq!(config.p12_file, None);
    let dtrust = config.to_dtrust_config_in(&dir).unwrap();
    assert!(matches!(
        dtrust.transport(),
        dtrust_client::Transport::Rest { .. }
    ));
    // A second PKCS#12 makes it ambiguous, and the error says so.
    std::fs::write(dir.join("old.p12"), pki("client-default.p12")).unwrap();
    let err = config.to_dtrust_config_in(&dir).unwrap_err().to_string();
    assert!(err.contains("could be the client PKCS#12"), "{err}");
    std::fs::remove_dir_all(&parent).unwrap();
}
