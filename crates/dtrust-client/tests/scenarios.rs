//! The scenario suite, run on REST, SOAP 1.1 and SOAP 1.2 against the
//! D-Trust simulator over mutual TLS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, SystemTime};

use common::{T, account, setup, setup_with};
use dtrust_client::{
    Clock, DtrustClient, Error, GeneratedCsr, HttpSettings, KeySpec, Mismatch,
    MissingRevocationPassword, OrderRequest, PasswordPolicy, PendingOrder, RequestKind,
    RequestStatus, RevocationReason, ServerErrorKind, SubjectDn, SystemClock, WaitOptions,
    generate_revocation_password,
};
use smartid_core::Secret;
use smartid_testkit::ManualClock;
use smartid_testkit::dtrust::{DtrustSimulator, LookupAnswer, Misissue, Release, SimConfig};

const ECC: &str = "1003";
const RSA_BASIC: &str = "1001";
const ADVANCED: &str = "1002";

/// Runs a scenario on each transport, as `scenario::rest`, `scenario::soap11`, `scenario::soap12`.
macro_rules! on_every_transport {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test]
            async fn rest() { super::$name(T::Rest).await }
            #[tokio::test]
            async fn soap11() { super::$name(T::Soap11).await }
            #[tokio::test]
            async fn soap12() { super::$name(T::Soap12).await }
        }
    )*};
}

on_every_transport!(
    lists_products,
    pkcs10_order_wait_fetch_revoke,
    pkcs12_order_fetch_after_release,
    every_error_code,
    pre_send_checks_stop_before_the_network,
    wait_honours_hints_and_deadline_with_a_fake_clock,
    lost_submit_answer_is_looked_up_not_reordered,
    legacy_cn_password_revokes,
    release_delay_is_honoured,
    no_password_is_refused_or_generated_never_derived,
    lost_answer_recovery_adopts_only_an_exact_echo,
    results_not_as_ordered_are_refused,
);

fn csr(subject: &SubjectDn, emails: &[String], key: KeySpec) -> GeneratedCsr {
    GeneratedCsr::generate(None, subject, emails, key).unwrap()
}

fn password() -> Secret {
    generate_revocation_password(&PasswordPolicy::default()).unwrap()
}

fn kind(e: &Error) -> ServerErrorKind {
    match e.server_error() {
        Some(s) => s.kind().clone(),
        None => panic!("expected a server error, got {e}"),
    }
}

async fn lists_products(t: T) {
    let (_sim, client) = setup(t).await;
    let products = client.list_products().await.unwrap();
    assert_eq!(products.len(), 3);
    let advanced = products.iter().find(|p| p.id == ADVANCED).unwrap();
    assert_eq!(advanced.name, "Advanced SSL ID (RSA)");
    assert_eq!(advanced.request_kinds, vec![RequestKind::Pkcs10]);
    assert_eq!(advanced.key_sizes, vec![3072, 4096]);
    let ecc = products.iter().find(|p| p.id == ECC).unwrap();
    assert!(ecc.accepts(&RequestKind::Pkcs12));
    // Key-size check of the CSR helper against the product.
    assert!(
        GeneratedCsr::generate(Some(advanced), &SubjectDn::new("x"), &[], KeySpec::EcP256).is_err()
    );
}

async fn pkcs10_order_wait_fetch_revoke(t: T) {
    let mut cfg = SimConfig::default();
    cfg.release = Release::AfterPolls(2);
    let (sim, client) = setup_with(t, cfg).await;
    let subject = SubjectDn::new("device-1.example.de")
        .organization("neXus Technology GmbH")
        .country("DE")
        .organisation_identifier("NTRDE-HRB123456");
    let emails = vec!["ops@example.de".to_owned()];
    let generated = csr(&subject, &emails, KeySpec::EcP256);
    let revocation = password();
    let mut order = OrderRequest::pkcs10(ECC, subject, &generated.csr_der)
        .revocation_password(revocation.clone());
    for e in &emails {
        order = order.email(e.clone());
    }
    let pending = client.submit(&order).await.unwrap().into_pending();
    assert_eq!(pending.client_reference, order.reference());
    assert_eq!(pending.kind, Some(RequestKind::Pkcs10));
    // Fetching before release says so.
    let early = client.fetch_certificate(&pending).await.unwrap_err();
    assert!(matches!(early, Error::NotIssued { .. }), "{early}");
    let options = WaitOptions::new()
        .timeout_from(SystemClock.now(), Duration::from_secs(10))
        .poll_interval(Duration::from_millis(10));
    let report = client.wait_for_issuance(&pending, &options).await.unwrap();
    assert_eq!(report.status, RequestStatus::Issued);
    let issued = client.fetch_certificate(&pending).await.unwrap();
    assert!(
        issued.is_for_key(&generated.public_key_spki),
        "certificate is not for our key"
    );
    assert!(issued.issuer_is_in_chain());
    assert_eq!(
        issued.certificate.issuer(),
        sim.issuing_ca_certificate().subject()
    );
    assert!(
        issued.certificate.subject().contains("device-1.example.de"),
        "{}",
        issued.certificate.subject()
    );
    assert_eq!(issued.chain.len(), 2);
    let serial = issued.certificate.serial_hex().to_owned();
    // A wrong password is refused with D-Trust's (unknown to us) code kept.
    let wrong = client
        .revoke(&serial, &Secret::new("Wrong-Passw0rd"), None)
        .await
        .unwrap_err();
    let se = wrong.server_error().unwrap();
    assert_eq!(
        (se.kind(), se.code()),
        (&ServerErrorKind::Unknown, "REVOCATION_PASSWORD_WRONG")
    );
    assert!(!sim.is_revoked(&serial));
    client
        .revoke(&serial, &revocation, Some(RevocationReason::Superseded))
        .await
        .unwrap();
    assert!(sim.is_revoked(&serial));
    let after = client.status(&pending.request_id).await.unwrap();
    assert_eq!(after.status, RequestStatus::Revoked);
}

async fn pkcs12_order_fetch_after_release(t: T) {
    let mut cfg = SimConfig::default();
    cfg.release = Release::Manual;
    let (sim, client) = setup_with(t, cfg).await;
    let order = OrderRequest::pkcs12(
        ECC,
        SubjectDn::new("user.example.de").organization("Müller & Söhne <Test> \"GmbH\""),
    )
    .email("user@example.de")
    .revocation_password(password());
    let pending = client.submit(&order).await.unwrap().into_pending();
    assert_eq!(
        client.status(&pending.request_id).await.unwrap().status,
        RequestStatus::Pending
    );
    assert!(matches!(
        client.fetch_pkcs12(&pending).await,
        Err(Error::NotIssued { .. })
    ));
    sim.release_all();
    let p12 = client.fetch_pkcs12(&pending).await.unwrap();
    assert!(!format!("{p12:?}").contains(p12.password.expose_secret()));
    let identity = p12.to_identity("issued.p12").unwrap();
    assert!(identity.certificate().subject().contains("user.example.de"));
    // Markup characters travel escaped and arrive intact.
    assert!(
        identity
            .certificate()
            .subject()
            .contains("Müller & Söhne <Test>"),
        "{}",
        identity.certificate().subject()
    );
    assert_eq!(
        identity.certificate().issuer(),
        sim.issuing_ca_certificate().subject()
    );
}

async fn every_error_code(t: T) {
    let (sim, _) = setup(t).await;
    // Pre-send checks off: D-Trust's own verdict.
    let client =
        DtrustClient::new(account(&sim, t).pre_send_checks(false).build().unwrap()).unwrap();
    let good_dn = || SubjectDn::new("a.example.de").organisation_identifier("NTRDE-HRB123456");
    let ec = |dn: &SubjectDn| csr(dn, &[], KeySpec::EcP256);

    // GENERIC_RDN_REGEXERROR: 'CN=' inside the CN value.
    let dn = SubjectDn::new("CN=a.example.de");
    let e = client
        .submit(
            &OrderRequest::pkcs10(ECC, dn.clone(), &ec(&dn).csr_der)
                .revocation_password(password()),
        )
        .await
        .unwrap_err();
    assert_eq!(kind(&e), ServerErrorKind::RdnPattern);
    assert!(e.to_string().contains("Remedy"), "{e}");
    // GENERIC_RDN_REGEXERROR: product needs organisationIdentifier.
    let dn = SubjectDn::new("a.example.de");
    let strong = generate_revocation_password(
        &PasswordPolicy::default()
            .require_special(true)
            .length(20, 20),
    )
    .unwrap();
    let e = client
        .submit(
            &OrderRequest::pkcs10(ADVANCED, dn.clone(), &ec(&dn).csr_der)
                .revocation_password(strong.clone()),
        )
        .await
        .unwrap_err();
    assert_eq!(kind(&e), ServerErrorKind::RdnPattern);
    // EMAILDOMAIN_DOES_NOT_FIT.
    let e = client
        .submit(
            &OrderRequest::pkcs12(ECC, SubjectDn::new("u"))
                .email("u@unverified.org")
                .revocation_password(password()),
        )
        .await
        .unwrap_err();
    assert_eq!(kind(&e), ServerErrorKind::EmailDomainNotVerified);
    // GENERIC_PASSWORD_REGEXERROR: meets our default policy, not the product's.
    let dn = good_dn();
    let e = client
        .submit(
            &OrderRequest::pkcs10(ADVANCED, dn.clone(), &ec(&dn).csr_der)
                .revocation_password(Secret::new("Abcdefgh12345")),
        )
        .await
        .unwrap_err();
    assert_eq!(kind(&e), ServerErrorKind::RevocationPasswordPolicy);
    // Request kind mismatch, both ways.
    let e = client
        .submit(
            &OrderRequest::new(ECC, RequestKind::Pkcs10, SubjectDn::new("a"))
                .revocation_password(password()),
        )
        .await
        .unwrap_err();
    assert_eq!(kind(&e), ServerErrorKind::RequestKindMismatch);
    let dn = SubjectDn::new("a");
    let e = client
        .submit(
            &OrderRequest::pkcs12(ECC, dn.clone())
                .csr(&ec(&dn).csr_der)
                .revocation_password(password()),
        )
        .await
        .unwrap_err();
    assert_eq!(kind(&e), ServerErrorKind::RequestKindMismatch);
    // No password (and no CN, where the connector failed with a
    // NullPointerException): the client refuses before sending, even with
    // the checks off; it never derives a password.
    let received = sim.submissions_received();
    let e = client
        .submit(&OrderRequest::pkcs12(
            ECC,
            SubjectDn::without_common_name().organization("O"),
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::RevocationPasswordMissing { .. }), "{e}");
    assert_eq!(sim.submissions_received(), received);
    // A code we do not know keeps code and body.
    let dn = SubjectDn::new("a.example.de");
    let e = client
        .submit(
            &OrderRequest::pkcs10(RSA_BASIC, dn.clone(), &ec(&dn).csr_der)
                .revocation_password(password()),
        )
        .await
        .unwrap_err();
    let se = e.server_error().unwrap();
    assert_eq!(
        (se.kind(), se.code()),
        (&ServerErrorKind::Unknown, "KEYLENGTH_NOT_ALLOWED")
    );
    assert!(
        e.to_string().contains("KEYLENGTH_NOT_ALLOWED")
            && se.body().contains("KEYLENGTH_NOT_ALLOWED")
    );
    // With the account's organisationIdentifier and a password meeting the
    // product's rules, only the (EC) key is left to refuse.
    let dn = good_dn();
    let e = client
        .submit(
            &OrderRequest::pkcs10(ADVANCED, dn.clone(), &ec(&dn).csr_der)
                .revocation_password(strong),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.server_error().map(|s| s.code().to_owned()).as_deref(),
        Some("KEYLENGTH_NOT_ALLOWED")
    );
    assert_eq!(sim.orders(), 0);
}

async fn pre_send_checks_stop_before_the_network(t: T) {
    let (sim, _) = setup(t).await;
    let client = DtrustClient::new(
        account(&sim, t)
            .verified_email_domains(["example.de"])
            .build()
            .unwrap(),
    )
    .unwrap();
    let dn = SubjectDn::new("CN=x");
    let cases = [
        (
            OrderRequest::pkcs10(ECC, dn.clone(), b"x"),
            "subject.common_name",
        ),
        (
            OrderRequest::new(ECC, RequestKind::Pkcs10, SubjectDn::new("a")),
            "csr",
        ),
        (
            OrderRequest::pkcs12(ECC, SubjectDn::new("a")).csr(b"x"),
            "csr",
        ),
        (
            OrderRequest::pkcs12(ECC, SubjectDn::new("a"))
                .revocation_password(Secret::new("short")),
            "revocation_password",
        ),
        (
            OrderRequest::pkcs12(ECC, SubjectDn::new("a"))
                .email("x@other.org")
                .revocation_password(password()),
            "emails",
        ),
    ];
    for (order, want) in cases {
        match client.submit(&order).await {
            Err(Error::InvalidOrder { field, .. }) => assert_eq!(field, want),
            other => panic!("{want}: {other:?}"),
        }
    }
    assert_eq!(sim.submissions_received(), 0);
}

fn fake_start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A client of `sim` whose clock is `clock`.
fn client_with_clock(sim: &DtrustSimulator, t: T, clock: &ManualClock) -> DtrustClient {
    DtrustClient::new(account(sim, t).clock(clock.clone()).build().unwrap()).unwrap()
}

async fn wait_honours_hints_and_deadline_with_a_fake_clock(t: T) {
    let mut cfg = SimConfig::default();
    cfg.release = Release::AfterPolls(4);
    cfg.retry_after = Some(Duration::from_secs(600));
    let (sim, _) = setup_with(t, cfg).await;
    let clock = ManualClock::jumping(fake_start());
    let client = client_with_clock(&sim, t, &clock);
    let order =
        OrderRequest::pkcs12(ECC, SubjectDn::new("w.example.de")).revocation_password(password());
    let pending = client.submit(&order).await.unwrap().into_pending();
    assert_eq!(
        pending.submitted_at_unix,
        Some(1_800_000_000),
        "the client's clock"
    );
    let options = WaitOptions::new()
        .timeout_from(clock.now(), Duration::from_secs(3 * 3600))
        .poll_interval(Duration::from_secs(60));
    let started = std::time::Instant::now();
    let report = client.wait_for_issuance(&pending, &options).await.unwrap();
    assert_eq!(report.status, RequestStatus::Issued);
    // Three pending answers, each with a 600 s hint that beats the 60 s interval.
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(600); 3]);
    assert!(started.elapsed() < Duration::from_secs(5));

    // Deadline: a request never released; the pending order survives a "restart".
    sim.set_release(Release::Manual);
    let pending = client
        .submit(
            &OrderRequest::pkcs12(ECC, SubjectDn::new("x.example.de"))
                .revocation_password(password()),
        )
        .await
        .unwrap()
        .into_pending();
    let saved = serde_json::to_string(&pending).unwrap();
    let clock = ManualClock::jumping(fake_start());
    let client = client_with_clock(&sim, t, &clock);
    let options = WaitOptions::new()
        .timeout_from(clock.now(), Duration::from_secs(3600))
        .poll_interval(Duration::from_secs(900));
    let e = client
        .wait_for_issuance(&pending, &options)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::DeadlineReached { ref last_status, .. } if last_status == "PENDING"),
        "{e}"
    );
    assert_eq!(clock.sleeps().len(), 4);
    let restored: PendingOrder = serde_json::from_str(&saved).unwrap();
    sim.release_all();
    let report = client.wait_for_issuance(&restored, &options).await.unwrap();
    assert_eq!(report.status, RequestStatus::Issued);
}

async fn lost_submit_answer_is_looked_up_not_reordered(t: T) {
    let (sim, _) = setup(t).await;
    let client = DtrustClient::new(
        account(&sim, t)
            .http_settings(HttpSettings::new().request_timeout(Duration::from_millis(700)))
            .build()
            .unwrap(),
    )
    .unwrap();
    sim.delay_next_submit_response(Duration::from_secs(3));
    let order = OrderRequest::pkcs12(ECC, SubjectDn::new("slow.example.de"))
        .revocation_password(password());
    let pending = client.submit(&order).await.unwrap().into_pending();
    assert_eq!(sim.submissions_received(), 1, "the order was sent again");
    assert_eq!(sim.orders(), 1);
    let found = client
        .find_by_client_reference(order.reference())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.request_id, pending.request_id);
    assert!(
        client
            .find_by_client_reference("no-such-reference")
            .await
            .unwrap()
            .is_none()
    );
}

/// The CN-derived password earlier versions of this crate sent for orders
/// without one (kept here to stand for such an old certificate).
fn old_crate_cn_password(cn: &str) -> Secret {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cn.as_bytes());
    let hex: String = d.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect();
    Secret::new(format!("Rv{hex}9"))
}

async fn legacy_cn_password_revokes(t: T) {
    let (sim, client) = setup(t).await;
    let dn = SubjectDn::new("legacy.example.de");
    let generated = csr(&dn, &[], KeySpec::EcP384);
    // An old certificate, ordered with the CN-derived password.
    let pending = client
        .submit(
            &OrderRequest::pkcs10(ECC, dn, &generated.csr_der)
                .revocation_password(old_crate_cn_password("legacy.example.de")),
        )
        .await
        .unwrap()
        .into_pending();
    let issued = client.fetch_certificate(&pending).await.unwrap();
    let serial = issued.certificate.serial_hex().to_owned();
    client
        .revoke_with_legacy_cn_password(&serial, "legacy.example.de", None)
        .await
        .unwrap();
    assert!(sim.is_revoked(&serial));
}

/// New orders never carry a derived password: without one, the order is
/// refused before sending (the default), or a random one is generated,
/// sent, and handed back.
async fn no_password_is_refused_or_generated_never_derived(t: T) {
    let (sim, client) = setup(t).await;
    let cn = "nopw.example.de";
    let dn = SubjectDn::new(cn);
    let generated = csr(&dn, &[], KeySpec::EcP256);
    let order = OrderRequest::pkcs10(ECC, dn, &generated.csr_der);
    for client in [
        client.clone(),
        DtrustClient::new(account(&sim, t).pre_send_checks(false).build().unwrap()).unwrap(),
    ] {
        let e = client.submit(&order).await.unwrap_err();
        assert!(
            matches!(e, Error::RevocationPasswordMissing { ref client_reference } if client_reference == order.reference()),
            "{e}"
        );
        assert!(
            e.to_string().contains("generate_revocation_password"),
            "{e}"
        );
    }
    assert_eq!(sim.submissions_received(), 0, "refused orders were sent");
    // No CN either: still our refusal, not the connector's NullPointerException.
    let no_cn = OrderRequest::pkcs12(ECC, SubjectDn::without_common_name().organization("O"));
    assert!(matches!(
        client.submit(&no_cn).await.unwrap_err(),
        Error::RevocationPasswordMissing { .. }
    ));

    let generating = DtrustClient::new(
        account(&sim, t)
            .missing_revocation_password(MissingRevocationPassword::Generate)
            .build()
            .unwrap(),
    )
    .unwrap();
    let submission = generating.submit(&order).await.unwrap();
    let password = submission.generated_revocation_password.clone().unwrap();
    let received = sim.received_revocation_passwords();
    assert_eq!(received.len(), 1);
    let sent = received[0].clone().unwrap();
    assert_eq!(
        sent,
        password.expose_secret(),
        "the password handed back is not the one sent"
    );
    assert_ne!(
        sent,
        old_crate_cn_password(cn).expose_secret(),
        "CN-derived password sent"
    );
    assert!(!sent.contains(cn) && !format!("{submission:?}").contains(&sent));
    PasswordPolicy::default().check(&password).unwrap();
    // A second order for the same CN gets another password.
    let again = OrderRequest::pkcs10(ECC, SubjectDn::new(cn), &generated.csr_der);
    let other = generating.submit(&again).await.unwrap();
    assert_ne!(other.generated_revocation_password, Some(password.clone()));
    // The generated password revokes; the CN-derived one does not.
    let issued = generating
        .fetch_certificate(submission.pending())
        .await
        .unwrap();
    let serial = issued.certificate.serial_hex().to_owned();
    assert!(
        generating
            .revoke_with_legacy_cn_password(&serial, cn, None)
            .await
            .is_err()
    );
    generating.revoke(&serial, &password, None).await.unwrap();
    assert!(sim.is_revoked(&serial));
}

/// After a lost answer (a gateway's 502/504), a request is adopted only when
/// the look-up echoes exactly our reference; otherwise the client stops with
/// "outcome unknown" and never sends the order again.
async fn lost_answer_recovery_adopts_only_an_exact_echo(t: T) {
    let (sim, client) = setup(t).await;
    let cases = [
        (LookupAnswer::WithoutReference, "ReferenceNotEchoed"),
        (LookupAnswer::OtherReference, "OtherReferencesOnly"),
        (LookupAnswer::Duplicate, "SeveralMatches"),
        (LookupAnswer::Unavailable, "LookupFailed"),
    ];
    for (answer, expected) in cases {
        sim.set_lookup_answer(answer);
        sim.gateway_error_on_next_submit(502);
        let before = sim.submissions_received();
        let order = OrderRequest::pkcs12(ECC, SubjectDn::new("gw.example.de"))
            .revocation_password(password());
        let e = client.submit(&order).await.unwrap_err();
        let Error::SubmitOutcomeUnknown {
            ref client_reference,
            ref reason,
            ..
        } = e
        else {
            panic!("{answer:?}: expected SubmitOutcomeUnknown, got {e}");
        };
        assert_eq!(client_reference, order.reference());
        assert!(
            format!("{reason:?}").starts_with(expected),
            "{answer:?}: {reason:?}"
        );
        assert!(e.to_string().contains(order.reference()), "{e}");
        assert_eq!(
            sim.submissions_received(),
            before + 1,
            "{answer:?}: the order was sent again"
        );
    }
    // An honest look-up: the stored order is adopted, not ordered twice.
    sim.set_lookup_answer(LookupAnswer::Honest);
    sim.gateway_error_on_next_submit(504);
    let orders = sim.orders();
    let order =
        OrderRequest::pkcs12(ECC, SubjectDn::new("gw.example.de")).revocation_password(password());
    let submission = client.submit(&order).await.unwrap();
    assert_eq!(sim.orders(), orders + 1);
    let found = client
        .find_by_client_reference(order.reference())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.request_id, submission.request_id());
    client.fetch_pkcs12(submission.pending()).await.unwrap();
}

/// A result issued for another key or another subject, or a PKCS#12 whose
/// key is not its certificate's, is refused.
async fn results_not_as_ordered_are_refused(t: T) {
    let (sim, client) = setup(t).await;
    let mismatch = |e: Error| match e {
        Error::NotAsOrdered { mismatch, .. } => mismatch,
        other => panic!("expected NotAsOrdered, got {other}"),
    };
    let pkcs10 = |cn: &str| {
        let dn = SubjectDn::new(cn).organization("Example GmbH");
        let generated = csr(&dn, &[], KeySpec::EcP256);
        OrderRequest::pkcs10(ECC, dn, &generated.csr_der).revocation_password(password())
    };
    let pkcs12 = |cn: &str| {
        OrderRequest::pkcs12(ECC, SubjectDn::new(cn).organization("Example GmbH"))
            .revocation_password(password())
    };
    // Control: a faithful result passes.
    let ok = client.submit(&pkcs10("ok.example.de")).await.unwrap();
    client.fetch_certificate(ok.pending()).await.unwrap();

    sim.misissue_next(Misissue::OtherKey);
    let s = client.submit(&pkcs10("key.example.de")).await.unwrap();
    let e = client.fetch_certificate(s.pending()).await.unwrap_err();
    assert!(e.to_string().contains("another public key"), "{e}");
    assert_eq!(mismatch(e), Mismatch::PublicKey);

    sim.misissue_next(Misissue::OtherSubject);
    let s = client.submit(&pkcs10("subject.example.de")).await.unwrap();
    let e = client.fetch_certificate(s.pending()).await.unwrap_err();
    assert!(e.to_string().contains("CN"), "{e}");
    assert_eq!(mismatch(e), Mismatch::Subject);

    sim.misissue_next(Misissue::OtherSubject);
    let s = client
        .submit(&pkcs12("subject12.example.de"))
        .await
        .unwrap();
    assert_eq!(
        mismatch(client.fetch_pkcs12(s.pending()).await.unwrap_err()),
        Mismatch::Subject
    );

    sim.misissue_next(Misissue::Pkcs12KeyMismatch);
    let s = client.submit(&pkcs12("p12key.example.de")).await.unwrap();
    assert_eq!(
        mismatch(client.fetch_pkcs12(s.pending()).await.unwrap_err()),
        Mismatch::Pkcs12Key
    );

    // A pending order that records nothing of the order is not fetched blindly.
    let bare = PendingOrder::new(ok.request_id(), "r");
    let e = client.fetch_certificate(&bare).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidOrder {
                field: "pending_order",
                ..
            }
        ),
        "{e}"
    );
    // Bound to another order (another CSR): refused.
    let other = PendingOrder::new(ok.request_id(), "r")
        .bound_to(&pkcs10("ok.example.de"))
        .unwrap();
    assert_eq!(
        mismatch(client.fetch_certificate(&other).await.unwrap_err()),
        Mismatch::PublicKey
    );
}

async fn release_delay_is_honoured(t: T) {
    let mut cfg = SimConfig::default();
    cfg.release = Release::AfterDelay(Duration::from_millis(400));
    let (_sim, client) = setup_with(t, cfg).await;
    let started = std::time::Instant::now();
    let pending = client
        .submit(
            &OrderRequest::pkcs12(ECC, SubjectDn::new("d.example.de"))
                .revocation_password(password()),
        )
        .await
        .unwrap()
        .into_pending();
    assert_eq!(
        client.status(&pending.request_id).await.unwrap().status,
        RequestStatus::Pending
    );
    let options = WaitOptions::new()
        .timeout_from(SystemClock.now(), Duration::from_secs(20))
        .poll_interval(Duration::from_millis(50));
    client.wait_for_issuance(&pending, &options).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
    client.fetch_pkcs12(&pending).await.unwrap();
}

/// RSA is the point here: a 2048-bit key for the RSA product, checked by
/// the simulator against the product's key sizes (REST only: RSA key
/// generation is slow in debug builds).
#[tokio::test]
async fn rsa_2048_csr_for_the_rsa_product() {
    let (_sim, client) = setup(T::Rest).await;
    let products = client.list_products().await.unwrap();
    let basic = products.iter().find(|p| p.id == RSA_BASIC).unwrap();
    let dn = SubjectDn::new("rsa.example.de").organization("neXus Technology GmbH");
    let generated = GeneratedCsr::generate(Some(basic), &dn, &[], KeySpec::Rsa2048).unwrap();
    let pending = client
        .submit(
            &OrderRequest::pkcs10(RSA_BASIC, dn, &generated.csr_der)
                .revocation_password(password()),
        )
        .await
        .unwrap()
        .into_pending();
    let issued = client.fetch_certificate(&pending).await.unwrap();
    assert!(issued.is_for_key(&generated.public_key_spki));
}

/// Dropping a wait (here by a timeout) loses nothing: the same pending
/// order can be waited for again.
#[tokio::test]
async fn dropping_a_wait_loses_nothing() {
    let mut cfg = SimConfig::default();
    cfg.release = Release::Manual;
    let (sim, client) = setup_with(T::Rest, cfg).await;
    let pending = client
        .submit(
            &OrderRequest::pkcs12(ECC, SubjectDn::new("c.example.de"))
                .revocation_password(password()),
        )
        .await
        .unwrap()
        .into_pending();
    let options = WaitOptions::new()
        .timeout_from(SystemClock.now(), Duration::from_secs(60))
        .poll_interval(Duration::from_millis(20));
    let cut = tokio::time::timeout(
        Duration::from_millis(200),
        client.wait_for_issuance(&pending, &options),
    )
    .await;
    assert!(cut.is_err(), "the wait should still be running");
    sim.release_all();
    let report = client.wait_for_issuance(&pending, &options).await.unwrap();
    assert_eq!(report.status, RequestStatus::Issued);
    assert_eq!(sim.orders(), 1);
}
