//! Throughput of id_token validation and CMS signature verification on one
//! core (a current-thread runtime): `cargo bench -p audkenni-ciba`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant, UNIX_EPOCH};

use audkenni_ciba::{
    Acr, AuthRequest, CibaClient, HttpSettings, JwsAlgorithm, RequestSigningKey, Secret,
    SignatureCheck, TrustRoots, WaitOptions, verify_cms,
};
use base64::Engine as _;
use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig, hints};

fn rate(label: &str, iterations: u32, elapsed: Duration) -> f64 {
    let per_sec = f64::from(iterations) / elapsed.as_secs_f64();
    println!(
        "{label:<48} {iterations:>6} in {:>8.3} s = {per_sec:>10.0}/s ({:.1} µs each)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / f64::from(iterations)
    );
    per_sec
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sim = AudkenniSimulator::start(
            SimConfig::with_answer_after(Duration::from_millis(500)).interval(1),
        )
        .await
        .unwrap();
        let client = CibaClient::builder(sim.issuer(), sim.client_id())
            .client_secret(Secret::new(sim.client_secret()))
            .signing_key(
                RequestSigningKey::from_pem(sim.client_key_pem().as_bytes(), JwsAlgorithm::Rs256)
                    .unwrap(),
            )
            .http_settings(
                HttpSettings::new().trust(TrustRoots::Only(sim.tls_trust_store().unwrap())),
            )
            .build()
            .await
            .unwrap();
        let message = "Samþykki leigusamning nr. 42";
        let mut pending = client
            .start(&AuthRequest::new(hints::APPROVES, Acr::SimSign).binding_message(message))
            .await
            .unwrap();
        let tokens = client
            .wait(&mut pending, &WaitOptions::default())
            .await
            .unwrap();
        let raw = tokens.unverified_id_token().to_owned();
        let access = tokens.access_token().expose_secret().to_owned();
        // Warm the JWKS cache (the one network fetch).
        let verified = client
            .verify_id_token_str(&raw, Some(&access))
            .await
            .unwrap();

        let n = 2000;
        let t = Instant::now();
        for _ in 0..n {
            client
                .verify_id_token_str(&raw, Some(&access))
                .await
                .unwrap();
        }
        let idt = rate("id_token validation (RS256, cached JWKS)", n, t.elapsed());

        let anchors =
            SignatureCheck::with_trust_anchors(sim.signature_trust_anchors()).expect_text(message);
        let n = 500;
        let t = Instant::now();
        for _ in 0..n {
            verified.verify_signature(&anchors).unwrap();
        }
        let full = rate(
            "id_token signature claim: CMS + chain + names",
            n,
            t.elapsed(),
        );

        let b64 = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/seed-signature.b64"
        ))
        .unwrap();
        let seed = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap();
        let check = SignatureCheck::without_chain_check()
            .at(UNIX_EPOCH + Duration::from_secs(1_575_010_961));
        let n = 2000;
        let t = Instant::now();
        for _ in 0..n {
            verify_cms(&seed, &check).unwrap();
        }
        let cms = rate("CMS verification (seed fixture, no chain)", n, t.elapsed());
        println!("ratio CMS(no chain) / CMS+chain+names: {:.2}", cms / full);
        println!("ratio id_token / CMS(no chain): {:.2}", idt / cms);
    });
}
