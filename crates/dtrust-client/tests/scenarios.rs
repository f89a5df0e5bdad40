//! The scenario suite, run on REST, SOAP 1.1 and SOAP 1.2 against the
//! D-Trust simulator over mutual TLS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use common::{T, account, setup, setup_with};
use dtrust_client::{
    Clock, DtrustClient, Error, GeneratedCsr, KeySpec, OrderRequest, PasswordPolicy, PendingOrder,
    RequestKind, RequestStatus, RevocationReason, ServerErrorKind, SubjectDn, WaitOptions,
    generate_revocation_password, legacy_revocation_password,
};
use smartid_core::Secret;
use smartid_testkit::dtrust::{Release, SimConfig};

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
    let pending = client.submit(&order).await.unwrap();
    assert_eq!(pending.client_reference, order.reference());
    assert_eq!(pending.kind, Some(RequestKind::Pkcs10));
    // Fetching before release says so.
    let early = client
        .fetch_certificate(&pending.request_id)
        .await
        .unwrap_err();
    assert!(matches!(early, Error::NotIssued { .. }), "{early}");
    let options = WaitOptions::for_duration(&dtrust_client::SystemClock, Duration::from_secs(10))
        .poll_interval(Duration::from_millis(10));
    let report = client.wait_for_issuance(&pending, &options).await.unwrap();
    assert_eq!(report.status, RequestStatus::Issued);
    let issued = client.fetch_certificate(&pending.request_id).await.unwrap();
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
    let pending = client.submit(&order).await.unwrap();
    assert_eq!(
        client.status(&pending.request_id).await.unwrap().status,
        RequestStatus::Pending
    );
    assert!(matches!(
        client.fetch_pkcs12(&pending.request_id).await,
        Err(Error::NotIssued { .. })
    ));
    sim.release_all();
    let p12 = client.fetch_pkcs12(&pending.request_id).await.unwrap();
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
    // NullPointerException: no password, no CN.
    let e = client
        .submit(&OrderRequest::pkcs12(
            ECC,
            SubjectDn::without_common_name().organization("O"),
        ))
        .await
        .unwrap_err();
    assert_eq!(kind(&e), ServerErrorKind::MissingCommonName);
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
            OrderRequest::pkcs12(ECC, SubjectDn::without_common_name()),
            "revocation_password",
        ),
        (
            OrderRequest::pkcs12(ECC, SubjectDn::new("a"))
                .revocation_password(Secret::new("short")),
            "revocation_password",
        ),
        (
            OrderRequest::pkcs12(ECC, SubjectDn::new("a")).email("x@other.org"),
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

/// A clock whose sleeps advance time at once and are recorded.
struct FakeClock {
    now: Mutex<SystemTime>,
    sleeps: Mutex<Vec<Duration>>,
}

impl FakeClock {
    fn new() -> Self {
        Self {
            now: Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
            sleeps: Mutex::new(Vec::new()),
        }
    }
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap()
    }
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        *self.now.lock().unwrap() += d;
        self.sleeps.lock().unwrap().push(d);
        Box::pin(std::future::ready(()))
    }
}

async fn wait_honours_hints_and_deadline_with_a_fake_clock(t: T) {
    let mut cfg = SimConfig::default();
    cfg.release = Release::AfterPolls(4);
    cfg.retry_after = Some(Duration::from_secs(600));
    let (sim, client) = setup_with(t, cfg).await;
    let order =
        OrderRequest::pkcs12(ECC, SubjectDn::new("w.example.de")).revocation_password(password());
    let pending = client.submit(&order).await.unwrap();
    let clock = FakeClock::new();
    let options = WaitOptions::for_duration(&clock, Duration::from_secs(3 * 3600))
        .poll_interval(Duration::from_secs(60));
    let started = std::time::Instant::now();
    let report = client
        .wait_for_issuance_with_clock(&pending, &options, &clock)
        .await
        .unwrap();
    assert_eq!(report.status, RequestStatus::Issued);
    // Three pending answers, each with a 600 s hint that beats the 60 s interval.
    assert_eq!(
        *clock.sleeps.lock().unwrap(),
        vec![Duration::from_secs(600); 3]
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // Deadline: a request never released; the pending order survives a "restart".
    sim.set_release(Release::Manual);
    let pending = client
        .submit(
            &OrderRequest::pkcs12(ECC, SubjectDn::new("x.example.de"))
                .revocation_password(password()),
        )
        .await
        .unwrap();
    let saved = serde_json::to_string(&pending).unwrap();
    let clock = FakeClock::new();
    let options = WaitOptions::for_duration(&clock, Duration::from_secs(3600))
        .poll_interval(Duration::from_secs(900));
    let e = client
        .wait_for_issuance_with_clock(&pending, &options, &clock)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::DeadlineExceeded { ref last_status, .. } if last_status == "pending"),
        "{e}"
    );
    assert_eq!(clock.sleeps.lock().unwrap().len(), 4);
    let restored: PendingOrder = serde_json::from_str(&saved).unwrap();
    sim.release_all();
    let report = client
        .wait_for_issuance_with_clock(&restored, &options, &clock)
        .await
        .unwrap();
    assert_eq!(report.status, RequestStatus::Issued);
}

async fn lost_submit_answer_is_looked_up_not_reordered(t: T) {
    let (sim, _) = setup(t).await;
    let client = DtrustClient::new(
        account(&sim, t)
            .request_timeout(Duration::from_millis(700))
            .build()
            .unwrap(),
    )
    .unwrap();
    sim.delay_next_submit_response(Duration::from_secs(3));
    let order = OrderRequest::pkcs12(ECC, SubjectDn::new("slow.example.de"))
        .revocation_password(password());
    let pending = client.submit(&order).await.unwrap();
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

async fn legacy_cn_password_revokes(t: T) {
    let (sim, client) = setup(t).await;
    let dn = SubjectDn::new("legacy.example.de");
    let generated = csr(&dn, &[], KeySpec::EcP384);
    let pending = client
        .submit(&OrderRequest::pkcs10(ECC, dn, &generated.csr_der))
        .await
        .unwrap();
    let issued = client.fetch_certificate(&pending.request_id).await.unwrap();
    let serial = issued.certificate.serial_hex().to_owned();
    client
        .revoke(
            &serial,
            &legacy_revocation_password("legacy.example.de"),
            None,
        )
        .await
        .unwrap();
    assert!(sim.is_revoked(&serial));
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
        .unwrap();
    assert_eq!(
        client.status(&pending.request_id).await.unwrap().status,
        RequestStatus::Pending
    );
    let options = WaitOptions::for_duration(&dtrust_client::SystemClock, Duration::from_secs(20))
        .poll_interval(Duration::from_millis(50));
    client.wait_for_issuance(&pending, &options).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
    client.fetch_pkcs12(&pending.request_id).await.unwrap();
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
        .unwrap();
    let issued = client.fetch_certificate(&pending.request_id).await.unwrap();
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
        .unwrap();
    let options = WaitOptions::for_duration(&dtrust_client::SystemClock, Duration::from_secs(60))
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
