//! One e-mail domain rule: a wildcard domain idm-config's lint accepts is
//! accepted by the dtrust-client it converts to, and one it warns about is
//! refused by that client's pre-send check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use idm_config::{CheckOptions, Code, DtrustConnectorConfig, PropertiesFile};
use smartid_core::{Secret, TrustStore};
use smartid_testkit::TestPki;

#[test]
fn a_wildcard_domain_the_lint_accepts_passes_the_converted_clients_check() {
    let text = "url=https://dtrust.example/rest\n\
        p12File=client.p12\np12Password=123456\nserverCertificate=server.cer\n\
        certificateTemplates=Basic SSL ID (RSA)|CN=${cn},E=pki@mail.example.de|email:ops@a.b.example.de;\
        Basic Device ID (ECC)|CN=${cn}|email:root@example.de\n\
        verifiedEmailDomains=*.example.de\n";
    let props = PropertiesFile::parse(text.as_bytes(), "dtrust.properties");
    let checked = DtrustConnectorConfig::from_properties(&props, &CheckOptions::default());
    let domain_warnings: Vec<String> = checked
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::TemplateEmailDomain)
        .map(|d| d.message.clone())
        .collect();
    // The lint: the subdomains are covered, example.de itself is not.
    assert_eq!(domain_warnings.len(), 1, "{domain_warnings:?}");
    assert!(
        domain_warnings[0].contains("`example.de`"),
        "{domain_warnings:?}"
    );
    let config = checked.into_result().unwrap();

    let pki = TestPki::generate().unwrap();
    let identity = pki.client("c").unwrap().to_client_identity().unwrap();
    let trust = TrustStore::from_certificates([smartid_core::Certificate::from_der(
        &pki.root_der(),
        "root",
    )
    .unwrap()])
    .unwrap();
    let dtrust = config
        .dtrust_config_builder(identity, trust)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(dtrust.verified_email_domains(), ["*.example.de"]);
    let client = dtrust_client::DtrustClient::new(dtrust).unwrap();
    let order = |email: &str| {
        dtrust_client::OrderRequest::pkcs12("1001", dtrust_client::SubjectDn::new("a"))
            .email(email)
            .revocation_password(Secret::new("Abcdefgh1234"))
    };
    // Every address of the templates: the client agrees with the lint.
    for t in &config.certificate_templates {
        for email in t.emails() {
            let domain = email.rsplit_once('@').unwrap().1;
            let lint_accepts = !domain_warnings
                .iter()
                .any(|w| w.contains(&format!("`{domain}`")));
            let client_accepts = client.check_order(&order(email)).is_ok();
            assert_eq!(lint_accepts, client_accepts, "{email}");
        }
    }
    client.check_order(&order("ops@a.b.example.de")).unwrap();
    client.check_order(&order("pki@mail.example.de")).unwrap();
    assert!(client.check_order(&order("root@example.de")).is_err());
}
