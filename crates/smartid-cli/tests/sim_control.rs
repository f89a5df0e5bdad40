//! The control API over real sockets: pending requests, approve and decline
//! by id, the page's forms and their cross-site guard, D-Trust release, and
//! a D-Trust SOAP submission whose answer is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sim_common;

use std::time::Duration;

use audkenni_ciba::{Acr, AuthRequest, WaitOptions};
use serde_json::json;
use sim_common::*;
use smartid_core::HttpRequest;
use smartid_testkit::sim::{SimOptions, SimServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_audkenni_requests_are_decided_through_the_control_api() {
    let dir = tempfile::tempdir().unwrap();
    let _server = SimServer::start(SimOptions::new(dir.path())).await.unwrap();
    let v = sim_json(dir.path());
    let ciba = ciba(&v).await;
    let manual = s(&v, "/audkenni/hints/manual");

    // Approve.
    let mut pending = ciba
        .start(&AuthRequest::new(manual, Acr::SimAuth).binding_message("<b>Pay</b> 10 kr"))
        .await
        .unwrap();
    let id = pending.auth_req_id().to_owned();
    let (_, listed) = control(&v, "GET", "/control/pending", None).await;
    assert_eq!(listed["audkenni"][0]["auth_req_id"], id.as_str());
    assert_eq!(listed["audkenni"][0]["binding_message"], "<b>Pay</b> 10 kr");
    // The page shows it, escaped.
    let page = control_client()
        .send(HttpRequest::get(s(&v, "/control_url")))
        .await
        .unwrap()
        .text();
    assert!(page.contains("&lt;b&gt;Pay&lt;/b&gt; 10 kr"), "{page}");
    assert!(page.contains(&format!("id=\"approve-audkenni-{id}\"")));
    let (status, body) = control(
        &v,
        "POST",
        &format!("/control/audkenni/requests/{id}/approve"),
        None,
    )
    .await;
    assert_eq!((status, body["outcome"].as_str()), (200, Some("approved")));
    let done = ciba
        .finish(&mut pending, &WaitOptions::new())
        .await
        .unwrap();
    assert!(
        done.id_token
            .name
            .as_deref()
            .unwrap()
            .contains("Handvirkur")
    );

    // Decline, through the page's form.
    let mut pending = ciba
        .start(&AuthRequest::new(manual, Acr::SimAuth))
        .await
        .unwrap();
    let id = pending.auth_req_id().to_owned();
    let form = |origin: Option<&str>| {
        let mut r = HttpRequest::post(format!("{}ui/audkenni/{id}/decline", s(&v, "/control_url")))
            .form(&[]);
        if let Some(o) = origin {
            r = r.header("Origin", o);
        }
        r
    };
    let refused = control_client()
        .send(form(Some("https://evil.example")))
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "a cross-site form is refused");
    let (_, listed) = control(&v, "GET", "/control/pending", None).await;
    assert_eq!(
        listed["audkenni"].as_array().unwrap().len(),
        1,
        "still waiting"
    );
    let origin = s(&v, "/control_url").trim_end_matches('/').to_owned();
    let resp = control_client().send(form(Some(&origin))).await.unwrap();
    // Back to the page, with a notice.
    assert_eq!(resp.status(), 303);
    let location = resp.header("location").unwrap_or_default().to_owned();
    assert!(
        location.starts_with("/?done=") && location.contains("declined"),
        "{location}"
    );
    let err = ciba
        .finish(&mut pending, &WaitOptions::new())
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("the user cancelled"), "{err}");

    // Unknown ids and actions.
    let (status, body) = control(&v, "POST", "/control/audkenni/requests/nope/approve", None).await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("nope"));
    let (status, _) = control(
        &v,
        "POST",
        &format!("/control/audkenni/requests/{id}/maybe"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, st) = control(&v, "GET", "/control/status", None).await;
    assert_eq!(st["audkenni"]["started"], 2);
    assert_eq!(st["audkenni"]["pending"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hermod_device_and_callback_settings_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let _server = SimServer::start(SimOptions::new(dir.path())).await.unwrap();
    let v = sim_json(dir.path());
    for (path, doc, field) in [
        (
            "/control/hermod/device",
            json!({"reply": "sometimes"}),
            "sometimes",
        ),
        (
            "/control/hermod/device",
            json!({"reply": "approve", "after_ms": -1}),
            "after_ms",
        ),
        (
            "/control/hermod/callback-url",
            json!({"url": "ftp://x"}),
            "url",
        ),
        ("/control/hermod/callback-url", json!({}), "url"),
    ] {
        let (status, body) = control(&v, "PUT", path, Some(doc)).await;
        assert_eq!(status, 400, "{path}");
        assert!(body["error"].as_str().unwrap().contains(field), "{body}");
    }
    let (status, body) = control(
        &v,
        "PUT",
        "/control/hermod/device",
        Some(json!({"reply": "decline", "after_ms": 10})),
    )
    .await;
    assert_eq!((status, body["reply"].as_str()), (200, Some("decline")));
    let (_, st) = control(&v, "GET", "/control/status", None).await;
    assert_eq!(st["hermod"]["device"]["reply"], "decline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtrust_orders_from_sim_json_and_a_lost_soap_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = SimServer::start(SimOptions::new(dir.path())).await.unwrap();
    let v = sim_json(dir.path());
    // REST order, then release (nothing pending with immediate release).
    dtrust_order(&dtrust(&v), "rest.example.de").await;
    let (status, body) = control(&v, "POST", "/control/dtrust/release", None).await;
    assert_eq!((status, body["released"].as_u64()), (200, Some(0)));

    // SOAP: the submission is stored, its answer lost (connection reset).
    use dtrust_client::{
        DtrustClient, DtrustConfig, GeneratedCsr, KeySpec, OrderRequest, PasswordPolicy,
        RequestKind, SubjectDn, generate_revocation_password,
    };
    let config = DtrustConfig::soap(
        s(&v, "/dtrust/soap_url"),
        s(&v, "/dtrust/soap_namespace"),
        s(&v, "/dtrust/soap_service"),
    )
    .client_pkcs12_file(
        s(&v, "/dtrust/client_p12"),
        smartid_core::Secret::new(s(&v, "/dtrust/client_p12_password")),
    )
    .server_certificate_file(s(&v, "/dtrust/server_ca_pem"))
    .issuing_ca_file(s(&v, "/dtrust/issuing_ca_pem"))
    .build()
    .unwrap();
    let client = DtrustClient::new(config).unwrap();
    let products = client.list_products().await.unwrap();
    let product = products
        .iter()
        .find(|p| p.accepts(&RequestKind::Pkcs10) && p.key_sizes.contains(&256))
        .unwrap();
    let (status, _) = control(
        &v,
        "PUT",
        "/control/faults",
        Some(json!({"enabled": true, "rate": 1.0, "kinds": ["lost_submit_answer"]})),
    )
    .await;
    assert_eq!(status, 200);
    let subject = SubjectDn::new("soap.example.de");
    let csr = GeneratedCsr::generate(Some(product), &subject, &[], KeySpec::EcP256).unwrap();
    let order = OrderRequest::pkcs10(&product.id, subject, &csr.csr_der)
        .revocation_password(generate_revocation_password(&PasswordPolicy::default()).unwrap());
    let reference = order.reference().to_string();
    let _ = tokio::time::timeout(Duration::from_secs(60), client.submit(&order)).await;
    let (_, st) = control(&v, "GET", "/control/status", None).await;
    assert_eq!(st["faults"]["injected"]["lost_submit_answer"], 1, "{st}");
    assert_eq!(server.dtrust().orders_for_reference(&reference), 1);
}
