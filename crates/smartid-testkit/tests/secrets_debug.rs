#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every public type that holds a secret, formatted with `{:?}` (and
//! `{:#?}`), must not show it.

use smartid_core::{
    ClientIdentity, HttpRequest, HttpSettings, Keystore, Secret, SecretBytes, TrustRoots,
};
use smartid_testkit::{Pkcs12Encryption, TestPki};

fn assert_hidden(what: &str, rendered: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!rendered.contains(s), "{what} leaks {s:?}: {rendered}");
    }
}

#[test]
fn debug_output_never_contains_secrets() {
    let pki = TestPki::generate().unwrap();
    let identity = pki.client("Debug Client").unwrap();
    let key_pem = identity.key_pem();
    // A distinctive slice of the base64 key body.
    let key_b64 = key_pem.lines().nth(1).unwrap().to_owned();
    let password = "p12-password-Zx9";
    let p12 = identity
        .to_pkcs12(&Secret::new(password), Pkcs12Encryption::Modern, "c")
        .unwrap();
    let client_identity =
        ClientIdentity::from_pkcs12_der(&p12, "c.p12", &Secret::new(password)).unwrap();
    let keystore = Keystore::from_bytes(&p12, "c.p12", Some(&Secret::new(password))).unwrap();
    let settings = HttpSettings::new()
        .identity(client_identity.clone())
        .trust(TrustRoots::Only(pki.root_trust_store().unwrap()));
    let request = HttpRequest::post("https://user:url-pass@localhost/x?access_token=tok-123")
        .basic_auth("client", &Secret::new("basic-secret-77"))
        .bearer_auth(&Secret::new("bearer-secret-88"))
        .secret_header("X-Api-Key", Secret::new("api-key-99"));
    let secrets = [
        password,
        key_b64.as_str(),
        "basic-secret-77",
        "bearer-secret-88",
        "api-key-99",
        "url-pass",
        "tok-123",
    ];
    let rendered: Vec<(&str, String, String)> = vec![
        (
            "Secret",
            format!("{:?}", Secret::new(password)),
            format!("{:#?}", Secret::new(password)),
        ),
        (
            "SecretBytes",
            format!("{:?}", SecretBytes::new(key_b64.as_bytes().to_vec())),
            String::new(),
        ),
        (
            "ClientIdentity",
            format!("{client_identity:?}"),
            format!("{client_identity:#?}"),
        ),
        (
            "Keystore",
            format!("{keystore:?}"),
            format!("{keystore:#?}"),
        ),
        (
            "HttpSettings",
            format!("{settings:?}"),
            format!("{settings:#?}"),
        ),
        (
            "HttpClient",
            format!(
                "{:?}",
                smartid_core::HttpClient::new(&settings, "t/0").unwrap()
            ),
            format!(
                "{:#?}",
                smartid_core::HttpClient::new(&settings, "t/0").unwrap()
            ),
        ),
        (
            "HttpRequest",
            format!("{request:?}"),
            format!("{request:#?}"),
        ),
        (
            "TestIdentity",
            format!("{identity:?}"),
            format!("{identity:#?}"),
        ),
    ];
    for (what, a, b) in &rendered {
        assert_hidden(what, a, &secrets);
        assert_hidden(what, b, &secrets);
    }
    // Sanity: the secrets are really there to be leaked.
    assert_eq!(Secret::new(password).expose_secret(), password);
    assert!(
        client_identity
            .private_key_pem()
            .expose_secret()
            .contains(&key_b64)
    );
}

#[test]
fn errors_never_contain_the_password() {
    let pki = TestPki::generate().unwrap();
    let p12 = pki
        .client("E")
        .unwrap()
        .to_pkcs12(&Secret::new("right-pw"), Pkcs12Encryption::Legacy, "e")
        .unwrap();
    let err =
        ClientIdentity::from_pkcs12_der(&p12, "e.p12", &Secret::new("wrong-pw-4242")).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("wrong password for e.p12"), "{text}");
    assert!(
        !text.contains("wrong-pw-4242") && !text.contains("right-pw"),
        "{text}"
    );
}
