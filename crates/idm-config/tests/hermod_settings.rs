//! Hermod's client settings as Identity Manager's side needs them: HTTP
//! callbacks allowed with a warning (seed 000), `callback-basic-auth`
//! checked against the callback receiver's credentials (seed 000: the
//! Identity Manager user for Hermod), the per-client content provider, and
//! Identity Manager's Messaging Server timing rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use idm_config::{
    CheckOptions, Code, ContentProvider, Diagnostic, HermodClients, Linter, MessagingServerEntry,
    check_callback_credentials, has_errors,
};
use smartid_core::Secret;

fn client(extra: &str) -> String {
    format!(
        r#"{{"allowed-clients": [{{
  "client-id": "prime1",
  "key": "079b6a64d75b4e9585bd0c24f36a7deba0ad03498ecf4d69b5766f24fa02e045",
  "callback-url": "https://idm.example.test:8443/idm-operator/ws/hermod",
  "public-url": "https://hermod.example.test:20400/hermod/rest/ms"{extra}
}}]}}"#
    )
}

fn codes(d: &[Diagnostic]) -> Vec<Code> {
    d.iter().map(|d| d.code).collect()
}

#[test]
fn http_callback_url_is_a_warning_not_an_error() {
    let text = client("").replace(
        "https://idm.example.test:8443",
        "http://idm.example.test:8080",
    );
    let checked = HermodClients::from_json(&text, "hermod.json");
    assert_eq!(codes(&checked.diagnostics), [Code::HermodCallbackNotHttps]);
    assert!(
        !has_errors(&checked.diagnostics),
        "{:#?}",
        checked.diagnostics
    );
    // Not a URL at all is still an error.
    let text = client("").replace("https://idm.example.test:8443", "idm-host");
    assert!(has_errors(
        &HermodClients::from_json(&text, "hermod.json").diagnostics
    ));
}

#[test]
fn callback_basic_auth_must_match_the_receivers_credentials() {
    let hermod = HermodClients::from_json(
        &client(r#", "callback-basic-auth": "hermod-idm:Corr3ct-horse""#),
        "hermod.json",
    )
    .value;
    let right = Secret::new("Corr3ct-horse");
    let wrong = Secret::new("Wr0ng-horse");
    assert!(
        check_callback_credentials(&hermod, "hermod.json", None, "hermod-idm", &right).is_empty()
    );

    let d = check_callback_credentials(&hermod, "hermod.json", None, "hermod-idm", &wrong);
    assert_eq!(codes(&d), [Code::HermodCallbackCredentials]);
    assert!(d[0].is_error());
    let shown = format!("{d:?} {}", d[0]);
    assert!(
        !shown.contains("Corr3ct") && !shown.contains("Wr0ng"),
        "{shown}"
    );

    let d = check_callback_credentials(&hermod, "hermod.json", None, "someone-else", &right);
    assert!(
        d[0].is_error() && d[0].message.contains("someone-else"),
        "{d:#?}"
    );
    assert!(!format!("{d:?}").contains("Corr3ct"));

    // Another client id is not checked.
    assert!(
        check_callback_credentials(&hermod, "hermod.json", Some("prime2"), "x", &wrong).is_empty()
    );

    // No basic auth on Hermod's side while the receiver requires it: a warning.
    let none = HermodClients::from_json(&client(""), "hermod.json").value;
    let d = check_callback_credentials(&none, "hermod.json", None, "hermod-idm", &right);
    assert_eq!(codes(&d), [Code::HermodCallbackCredentials]);
    assert!(!d[0].is_error());

    // Through the linter, with the credentials as options.
    let mut linter =
        Linter::new(CheckOptions::default().callback_credentials("hermod-idm", &wrong));
    let (_, d) = linter.lint_json(
        client(r#", "callback-basic-auth": "hermod-idm:Corr3ct-horse""#).as_bytes(),
        "hermod.json",
    );
    assert_eq!(codes(&d), [Code::HermodCallbackCredentials]);
    assert!(!format!("{d:?}").contains("Corr3ct"));
    assert!(
        !format!(
            "{:?}",
            CheckOptions::default().callback_credentials("u", &wrong)
        )
        .contains("Wr0ng")
    );
}

#[test]
fn content_provider_is_read_in_every_spelling_and_its_password_redacted() {
    let spellings = [
        r#", "content-provider-url": "https://content.example.test/api", "content-provider-basic-auth": {"user": "cp", "pwd": "Cp-s3cret"}"#,
        r#", "content-provider-url": "https://content.example.test/api", "content-provider-basic-auth": "cp:Cp-s3cret""#,
        r#", "content-provider-url": "https://content.example.test/api", "content-provider-user": "cp", "content-provider-pwd": "Cp-s3cret""#,
        r#", "contentProviderUrl": "https://content.example.test/api", "contentProviderUser": "cp", "contentProviderPassword": "Cp-s3cret""#,
        r#", "content-provider": {"url": "https://content.example.test/api", "user": "cp", "pwd": "Cp-s3cret"}"#,
    ];
    for extra in spellings {
        let checked = HermodClients::from_json(&client(extra), "hermod.json");
        assert!(
            checked.diagnostics.is_empty(),
            "{extra}: {:#?}",
            checked.diagnostics
        );
        let cp = checked.value.allowed_clients[0]
            .content_provider
            .clone()
            .unwrap_or_else(|| panic!("{extra}: no content provider"));
        assert_eq!(cp.url, "https://content.example.test/api");
        assert_eq!(cp.user.as_deref(), Some("cp"));
        assert_eq!(
            cp.pwd.as_ref().map(Secret::expose_secret),
            Some("Cp-s3cret")
        );
        assert!(!format!("{:?}", checked.value).contains("Cp-s3cret"));
        // Written back and read again.
        let json = serde_json::to_string(&checked.value).unwrap();
        let again: HermodClients = serde_json::from_str(&json).unwrap();
        let cp2 = again.allowed_clients[0].content_provider.as_ref().unwrap();
        assert_eq!(
            cp2.pwd.as_ref().map(Secret::expose_secret),
            Some("Cp-s3cret")
        );
    }
    // Without credentials; over HTTP only a warning.
    let checked = HermodClients::from_json(
        &client(r#", "content-provider-url": "http://content.example.test/api""#),
        "hermod.json",
    );
    assert_eq!(codes(&checked.diagnostics), [Code::HermodContentProvider]);
    assert!(!has_errors(&checked.diagnostics));
    // Credentials over HTTP, or half of them, are errors.
    for extra in [
        r#", "content-provider-url": "http://content.example.test/api", "content-provider-basic-auth": "cp:Cp-s3cret""#,
        r#", "content-provider-url": "https://content.example.test/api", "content-provider-user": "cp""#,
        r#", "content-provider-user": "cp", "content-provider-pwd": "Cp-s3cret""#,
    ] {
        let d = HermodClients::from_json(&client(extra), "hermod.json").diagnostics;
        assert!(
            d.iter()
                .any(|d| d.code == Code::HermodContentProvider && d.is_error()),
            "{extra}: {d:#?}"
        );
        assert!(!format!("{d:?}").contains("Cp-s3cret"));
    }
    let built =
        ContentProvider::new("https://c.example/").with_basic_auth("u", Secret::new("pw-x"));
    assert!(!format!("{built:?}").contains("pw-x"));
}

#[test]
fn identity_managers_timing_rules_stay_in_the_messaging_server_checks() {
    let entry = |lifespan: u64, timeout: u64, session: u64| {
        format!(
            r#"{{"name": "Hermod", "url": "https://hermod.example.test:20400/hermod/rest/command",
  "authenticationToken": "cHJpbWUxOnNlY3JldA==", "lifespan": {lifespan}, "timeout": {timeout}, "sessionStartTimeout": {session}}}"#
        )
    };
    // The wire accepts timeout == lifespan (every documented sample has it);
    // Identity Manager asks for a timeout shorter than the lifespan (seed 000 step f).
    let d = MessagingServerEntry::from_json(&entry(300, 300, 10), "m.json").diagnostics;
    assert_eq!(codes(&d), [Code::TimeoutNotBelowLifespan]);
    // SessionStart shorter than the timeout (seed 000 step g).
    let d = MessagingServerEntry::from_json(&entry(600, 300, 300), "m.json").diagnostics;
    assert_eq!(codes(&d), [Code::SessionStartNotBelowTimeout]);
    assert!(
        MessagingServerEntry::from_json(&entry(600, 300, 10), "m.json")
            .diagnostics
            .is_empty()
    );
}
