//! The REST and SOAP parsers against malformed and hostile answers from a
//! plain-HTTP wiremock server: deep nesting, entity expansion, 10 MB
//! bodies, MTOM, wrong envelopes, faults with HTTP 200.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dtrust_client::{
    DtrustClient, DtrustConfig, DtrustConfigBuilder, Error, HttpSettings, OrderRequest,
    OutcomeUnknownReason, PendingOrder, ServerErrorKind, SoapVersion, SubjectDn,
};
use smartid_testkit::TestPki;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NS: &str = "urn:dtrust:test";
const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const TEN_MB: usize = 10_000_000;

fn identity() -> smartid_core::ClientIdentity {
    TestPki::generate()
        .unwrap()
        .client("c")
        .unwrap()
        .to_client_identity()
        .unwrap()
}

/// A pending PKCS#12 order "1" (bound to what it ordered).
fn p12_pending() -> PendingOrder {
    PendingOrder::for_order(
        "1",
        &OrderRequest::pkcs12("P1", SubjectDn::new("a.example.de")),
    )
    .unwrap()
}

fn plain(b: DtrustConfigBuilder) -> DtrustClient {
    plain_with(b, HttpSettings::new())
}

fn plain_with(b: DtrustConfigBuilder, mut settings: HttpSettings) -> DtrustClient {
    settings.dangerous().allow_plain_http();
    DtrustClient::new(
        b.http_settings(settings)
            .client_identity(identity())
            .build()
            .unwrap(),
    )
    .unwrap()
}

async fn soap_server(status: u16, content_type: &str, body: Vec<u8>) -> (MockServer, DtrustClient) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/soap"))
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("content-type", content_type)
                .set_body_bytes(body),
        )
        .mount(&server)
        .await;
    let client = plain(DtrustConfig::soap(
        format!("{}/soap", server.uri()),
        NS,
        "CertificateService",
    ));
    (server, client)
}

async fn rest_server(status: u16, body: Vec<u8>) -> (MockServer, DtrustClient) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("content-type", "application/json")
                .set_body_bytes(body),
        )
        .mount(&server)
        .await;
    let client = plain(DtrustConfig::rest(format!("{}/rest", server.uri())));
    (server, client)
}

fn envelope(inner: &str) -> Vec<u8> {
    format!(r#"<s:Envelope xmlns:s="{SOAP11}"><s:Body>{inner}</s:Body></s:Envelope>"#).into_bytes()
}

fn truncated() -> Vec<u8> {
    let mut full = envelope(&format!(
        r#"<d:getProductsResponse xmlns:d="{NS}"><product><id>1</id></product></d:getProductsResponse>"#
    ));
    full.truncate(full.len() - 30);
    full
}

fn invalid_message(e: &Error) -> String {
    match e {
        Error::InvalidResponse(answer) => answer.expected.clone(),
        other => panic!("expected InvalidResponse, got {other}"),
    }
}

#[tokio::test]
async fn soap_deep_nesting_is_refused() {
    let deep = format!("{}{}", "<a>".repeat(200_000), "</a>".repeat(200_000));
    let (_s, client) = soap_server(200, "text/xml", envelope(&deep)).await;
    let e = client.list_products().await.unwrap_err();
    assert!(invalid_message(&e).contains("deeper"), "{e}");
}

#[tokio::test]
async fn soap_entity_expansion_is_refused() {
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>"#;
    let (_s, client) = soap_server(200, "text/xml", laughs.to_vec()).await;
    let e = client.list_products().await.unwrap_err();
    assert!(invalid_message(&e).contains("DOCTYPE"), "{e}");
    let xxe = format!(
        r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="{SOAP11}"><s:Body><d:getProductsResponse xmlns:d="{NS}"><product><id>&e;</id></product></d:getProductsResponse></s:Body></s:Envelope>"#
    );
    let (_s, client) = soap_server(200, "text/xml", xxe.into_bytes()).await;
    assert!(invalid_message(&client.list_products().await.unwrap_err()).contains("DOCTYPE"));
    // Undeclared entities without a DTD are refused too.
    let body = envelope(&format!(
        r#"<d:getProductsResponse xmlns:d="{NS}"><product><id>&e;</id></product></d:getProductsResponse>"#
    ));
    let (_s, client) = soap_server(200, "text/xml", body).await;
    assert!(invalid_message(&client.list_products().await.unwrap_err()).contains("&e;"));
}

#[tokio::test]
async fn soap_ten_megabyte_body_is_parsed_without_harm() {
    let big = "A".repeat(TEN_MB);
    let body = envelope(&format!(
        r#"<d:getCertificateResponse xmlns:d="{NS}"><certificate>{big}</certificate></d:getCertificateResponse>"#
    ));
    let (_s, client) = soap_server(200, "text/xml", body).await;
    let e = client.fetch_certificate(&p12_pending()).await.unwrap_err();
    assert!(invalid_message(&e).contains("certificate"), "{e}");
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'<'; 2_000_000]))
        .mount(&server)
        .await;
    let client = plain_with(
        DtrustConfig::soap(format!("{}/soap", server.uri()), NS, "S"),
        HttpSettings::new().max_response_bytes(1_000_000),
    );
    let e = client.list_products().await.unwrap_err();
    assert!(
        matches!(e, Error::Http(smartid_core::Error::BodyTooLarge { .. })),
        "{e}"
    );
}

#[tokio::test]
async fn soap_malformed_answers_keep_status_and_body() {
    let cases: Vec<(u16, Vec<u8>, &str)> = vec![
        (200, truncated(), "malformed XML"),
        (
            200,
            b"<s:Envelope xmlns:s=\"urn:not-soap\"><s:Body/></s:Envelope>".to_vec(),
            "not a SOAP envelope",
        ),
        (
            502,
            b"<html><body>Bad Gateway</body></html>".to_vec(),
            "not a SOAP envelope",
        ),
        (200, Vec::new(), "no XML element"),
        (200, vec![0xC3, 0x28, b'<', b'a', b'/', b'>'], "UTF-8"),
        (
            200,
            format!(r#"<s:Envelope xmlns:s="{SOAP11}"><s:Body/></s:Envelope>"#).into_bytes(),
            "empty SOAP Body",
        ),
        (
            200,
            envelope(r#"<x:getProductsResponse xmlns:x="urn:someone-else"/>"#),
            "expected",
        ),
        (
            500,
            envelope(&format!(r#"<d:getProductsResponse xmlns:d="{NS}"/>"#)),
            "without a SOAP Fault",
        ),
    ];
    for (status, body, needle) in cases {
        let (_s, client) = soap_server(status, "text/xml", body).await;
        let e = client.list_products().await.unwrap_err();
        match &e {
            Error::InvalidResponse(answer) => {
                assert_eq!(answer.status, status);
                assert!(answer.expected.contains(needle), "{needle}: {answer}");
            }
            other => panic!("{needle}: {other}"),
        }
    }
}

#[tokio::test]
async fn soap_mtom_is_refused_clearly() {
    let (_s, client) = soap_server(
        200,
        "multipart/related; type=\"application/xop+xml\"; boundary=b",
        b"--b\r\n".to_vec(),
    )
    .await;
    let e = client.fetch_pkcs12(&p12_pending()).await.unwrap_err();
    assert!(matches!(e, Error::MtomNotSupported { .. }), "{e}");
    assert!(e.to_string().contains("disable MTOM"));
}

#[tokio::test]
async fn soap_fault_with_http_200_is_still_a_fault_and_requests_are_well_formed() {
    let server = MockServer::start().await;
    let fault = envelope(&format!(
        r#"<s:Fault><faultcode>s:Client</faultcode><faultstring>domain</faultstring><detail><e:error xmlns:e="{NS}"><e:code>EMAILDOMAIN_DOES_NOT_FIT</e:code></e:error></detail></s:Fault>"#
    ));
    Mock::given(method("POST"))
        .and(path("/soap"))
        .and(header(
            "SOAPAction",
            "\"urn:dtrust:test/CertificateService/getRequestStatus\"",
        ))
        .and(header("content-type", "text/xml; charset=utf-8"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/xml")
                .set_body_bytes(fault),
        )
        .mount(&server)
        .await;
    let client = plain(DtrustConfig::soap(
        format!("{}/soap", server.uri()),
        NS,
        "CertificateService",
    ));
    let e = client.status("1").await.unwrap_err();
    assert_eq!(
        e.server_error().unwrap().kind(),
        &ServerErrorKind::EmailDomainNotVerified
    );
    // SOAP 1.2 puts the action into the content type.
    let server12 = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("content-type", "application/soap+xml; charset=utf-8; action=\"urn:dtrust:test/CertificateService/getProducts\""))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(
            format!(r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><p:getProductsResponse xmlns:p="{NS}"/></e:Body></e:Envelope>"#),
        ))
        .mount(&server12)
        .await;
    let client = plain(
        DtrustConfig::soap(format!("{}/soap", server12.uri()), NS, "CertificateService")
            .soap_version(SoapVersion::V12),
    );
    assert!(client.list_products().await.unwrap().is_empty());
}

#[tokio::test]
async fn rest_hostile_json_is_refused() {
    let nested = "[".repeat(100_000);
    let (_s, client) = rest_server(200, nested.into_bytes()).await;
    assert!(invalid_message(&client.list_products().await.unwrap_err()).contains("JSON"));

    let big = format!(r#"{{"certificate":"{}","chain":[]}}"#, "A".repeat(TEN_MB));
    let (_s, client) = rest_server(200, big.into_bytes()).await;
    assert!(
        invalid_message(&client.fetch_certificate(&p12_pending()).await.unwrap_err())
            .contains("certificate")
    );

    let (_s, client) = rest_server(200, br#"{"certificate":"!!notbase64!!"}"#.to_vec()).await;
    assert!(
        invalid_message(&client.fetch_certificate(&p12_pending()).await.unwrap_err())
            .contains("base64")
    );

    let (_s, client) = rest_server(503, b"<html>maintenance</html>".to_vec()).await;
    let e = client.list_products().await.unwrap_err();
    assert!(
        matches!(e, Error::InvalidResponse(ref a) if a.status == 503 && a.body.contains("maintenance")),
        "{e}"
    );

    let (_s, client) = rest_server(
        422,
        br#"{"errorCode":"BRAND_NEW","message":"new rule"}"#.to_vec(),
    )
    .await;
    let e = client.list_products().await.unwrap_err();
    let se = e.server_error().unwrap();
    assert_eq!(
        (se.kind(), se.code(), se.status()),
        (&ServerErrorKind::Unknown, "BRAND_NEW", 422)
    );
    assert!(se.body().contains("new rule"));

    let (_s, client) = rest_server(200, br#"{"products":[{"name":"no id"}]}"#.to_vec()).await;
    assert!(invalid_message(&client.list_products().await.unwrap_err()).contains("id"));
}

/// A REST account whose submissions end at a gateway with `status`, and
/// whose look-up by reference answers `find` (with `{ref}` replaced by the
/// order's reference).
async fn gateway_server(status: u16, find: &str, reference: &str) -> (MockServer, DtrustClient) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/requests"))
        .respond_with(ResponseTemplate::new(status).set_body_string("<html>gateway</html>"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/requests"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(find.replace("{ref}", reference)),
        )
        .mount(&server)
        .await;
    let client = plain(DtrustConfig::rest(format!("{}/rest", server.uri())));
    (server, client)
}

async fn submissions(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count()
}

#[tokio::test]
async fn gateway_timeout_on_submit_is_looked_up_not_reordered() {
    let order =
        dtrust_client::OrderRequest::pkcs12("P1", dtrust_client::SubjectDn::new("gw.example.de"))
            .revocation_password(smartid_core::Secret::new("Abcdefgh1234"));
    let found =
        r#"{"requests":[{"requestId":"R-9","status":"PENDING","clientReference":"{ref}"}]}"#;
    for status in [502, 504] {
        let (server, client) = gateway_server(status, found, order.reference()).await;
        let submission = client.submit(&order).await.unwrap();
        assert_eq!(submission.request_id(), "R-9");
        assert!(submission.generated_revocation_password.is_none());
        assert_eq!(
            submissions(&server).await,
            1,
            "HTTP {status}: ordered twice"
        );
    }
    // Not found, sent once more with the same reference, and lost again:
    // the caller is told not to re-order.
    let (server, client) = gateway_server(504, r#"{"requests":[]}"#, order.reference()).await;
    let e = client.submit(&order).await.unwrap_err();
    assert!(
        matches!(e, Error::SubmitOutcomeUnknown { ref client_reference, reason: OutcomeUnknownReason::ResendLost, .. } if client_reference == order.reference()),
        "{e}"
    );
    assert_eq!(submissions(&server).await, 2);
}

#[tokio::test]
async fn look_ups_that_cannot_confirm_the_reference_are_never_adopted() {
    let order = OrderRequest::pkcs12("P1", SubjectDn::new("gw.example.de"))
        .revocation_password(smartid_core::Secret::new("Abcdefgh1234"));
    let cases = [
        // Someone else's order (a server that ignored the filter).
        (
            r#"{"requests":[{"requestId":"OTHER","status":"ISSUED","clientReference":"not-{ref}"}]}"#,
            OutcomeUnknownReason::OtherReferencesOnly { results: 1 },
        ),
        // An order without a reference: it cannot be confirmed as ours.
        (
            r#"{"requests":[{"requestId":"OTHER","status":"ISSUED"}]}"#,
            OutcomeUnknownReason::ReferenceNotEchoed { results: 1 },
        ),
        (
            r#"{"requests":[{"requestId":"R-1","status":"PENDING","clientReference":"{ref}"},{"requestId":"X","status":"ISSUED"}]}"#,
            OutcomeUnknownReason::ReferenceNotEchoed { results: 2 },
        ),
        // Two requests echo our reference.
        (
            r#"{"requests":[{"requestId":"R-1","status":"PENDING","clientReference":"{ref}"},{"requestId":"R-2","status":"PENDING","clientReference":"{ref}"}]}"#,
            OutcomeUnknownReason::SeveralMatches { matches: 2 },
        ),
    ];
    for (found, reason) in cases {
        let (server, client) = gateway_server(502, found, order.reference()).await;
        let e = client
            .find_by_client_reference(order.reference())
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::SubmitOutcomeUnknown { reason: ref r, .. } if *r == reason),
            "{found}: {e}"
        );
        let e = client.submit(&order).await.unwrap_err();
        assert!(
            matches!(e, Error::SubmitOutcomeUnknown { ref client_reference, reason: ref r, .. }
                if client_reference == order.reference() && *r == reason),
            "{found}: {e}"
        );
        assert!(e.to_string().contains("do not re-order"), "{e}");
        assert_eq!(submissions(&server).await, 1, "{found}: sent again");
    }
    // Our reference next to another one: ours is adopted.
    let mixed = r#"{"requests":[{"requestId":"X","status":"ISSUED","clientReference":"other"},{"requestId":"R-1","status":"PENDING","clientReference":"{ref}"}]}"#;
    let (_server, client) = gateway_server(504, mixed, order.reference()).await;
    assert_eq!(client.submit(&order).await.unwrap().request_id(), "R-1");
}

#[tokio::test]
async fn passwords_echoed_by_the_server_are_not_passed_on() {
    const PW: &str = "Echoed-Pw-4711";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/requests"))
        .respond_with(ResponseTemplate::new(400).set_body_string(format!(
            r#"{{"errorCode":"GENERIC_PASSWORD_REGEXERROR","message":"revocationPassword '{PW}' does not match"}}"#
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/certificates/0A/revocation"))
        .respond_with(ResponseTemplate::new(403).set_body_string(format!(
            r#"{{"errorCode":"REVOCATION_PASSWORD_WRONG","message":"{PW} is wrong"}}"#
        )))
        .mount(&server)
        .await;
    let client = plain(DtrustConfig::rest(format!("{}/rest", server.uri())).pre_send_checks(false));
    let order = dtrust_client::OrderRequest::pkcs12("P1", dtrust_client::SubjectDn::new("a.de"))
        .revocation_password(smartid_core::Secret::new(PW));
    let e = client.submit(&order).await.unwrap_err();
    assert_eq!(
        e.server_error().map(|s| s.kind().clone()),
        Some(ServerErrorKind::RevocationPasswordPolicy)
    );
    let e2 = client
        .revoke("0A", &smartid_core::Secret::new(PW), None)
        .await
        .unwrap_err();
    for e in [e, e2] {
        let text = format!("{e} {e:?}");
        assert!(!text.contains(PW) && text.contains("[redacted]"), "{text}");
    }
}

/// A password echoed across the 2 KiB cut of the error body: redacted before
/// the cut, so not even its first characters are left.
#[tokio::test]
async fn an_echoed_password_straddling_the_body_cut_leaves_nothing() {
    const PW: &str = "Qz8Vw3Kp-Lm5Rt7Yx";
    let head = r#"{"errorCode":"GENERIC_PASSWORD_REGEXERROR","message":"bad","echo":""#;
    // The password starts 6 bytes before byte 2048.
    let pad = 2048 - 6 - head.len();
    let server_error = format!(r#"{head}{}{PW}"}}"#, "a".repeat(pad));
    let not_json = format!("{}{PW} is wrong", "a".repeat(2048 - 6));
    assert_eq!(server_error.find(PW), Some(2042));
    assert_eq!(not_json.find(PW), Some(2042));
    for body in [server_error, not_json] {
        let server = MockServer::start().await;
        for p in ["/rest/requests", "/rest/certificates/0A/revocation"] {
            Mock::given(method("POST"))
                .and(path(p))
                .respond_with(ResponseTemplate::new(400).set_body_string(body.clone()))
                .mount(&server)
                .await;
        }
        let client =
            plain(DtrustConfig::rest(format!("{}/rest", server.uri())).pre_send_checks(false));
        let order = OrderRequest::pkcs12("P1", SubjectDn::new("a.de"))
            .revocation_password(smartid_core::Secret::new(PW));
        let e1 = client.submit(&order).await.unwrap_err();
        let e2 = client
            .revoke("0A", &smartid_core::Secret::new(PW), None)
            .await
            .unwrap_err();
        for e in [e1, e2] {
            assert!(
                matches!(e, Error::Server(_) | Error::InvalidResponse(_)),
                "{e}"
            );
            let text = format!("{e} {e:?}");
            assert!(
                !text.contains(&PW[..6]),
                "the password's start leaked: {text}"
            );
            // Redacted where it stood, and the marker itself is what was cut.
            assert!(text.contains("[redac"), "{text}");
        }
    }
}
