//! id_token validation and CMS signature verification against their floor:
//! the signature verifications they must do, called directly through
//! aws-lc-rs on the same keys (parsed once, as a cache would). Each row is
//! the median of interleaved rounds (smartid_testkit::bench), thread CPU on
//! a current-thread runtime; the simulator only serves the set-up.
//!
//! `cargo bench -p audkenni-ciba --bench verify` (`-- profile-seed`: the
//! seed CMS alone, `-- profile-id-token`: the id_token alone after the
//! set-up, for callgrind)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use audkenni_ciba::{
    Acr, AuthRequest, CibaClient, HttpSettings, JwsAlgorithm, RequestSigningKey, Secret,
    SignatureCheck, TrustRoots, WaitOptions, verify_cms,
};
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents, VerificationAlgorithm};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use der::{Decode as _, Encode as _};
use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig, hints};
use smartid_testkit::bench::{Comparison, Meter};

const ROUNDS: usize = 41;

/// One signature verification of the floor: a pre-parsed key, the message
/// and the signature.
struct Floor {
    key: ParsedPublicKey,
    message: Vec<u8>,
    signature: Vec<u8>,
}

impl Floor {
    fn verify(&self) {
        self.key
            .verify_sig(black_box(&self.message), black_box(&self.signature))
            .unwrap();
    }
}

/// The aws-lc-rs algorithm for an X.509/CMS signature algorithm OID.
fn algorithm(oid: &der::asn1::ObjectIdentifier) -> &'static dyn VerificationAlgorithm {
    match oid.to_string().as_str() {
        "1.2.840.113549.1.1.11" | "1.2.840.113549.1.1.1" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "1.2.840.10045.4.3.2" => &signature::ECDSA_P256_SHA256_ASN1,
        other => panic!("the bench does not know signature algorithm {other}"),
    }
}

fn public_key(cert: &x509_cert::Certificate) -> &[u8] {
    cert.tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
}

/// The verification of `cert`'s signature with `issuer`'s key.
fn certificate_floor(cert: &[u8], issuer: &[u8]) -> Floor {
    let cert = x509_cert::Certificate::from_der(cert).unwrap();
    let issuer = x509_cert::Certificate::from_der(issuer).unwrap();
    let alg = algorithm(&cert.signature_algorithm().oid);
    Floor {
        key: ParsedPublicKey::new(alg, public_key(&issuer)).unwrap(),
        message: cert.tbs_certificate().to_der().unwrap(),
        signature: cert.signature().raw_bytes().to_vec(),
    }
}

/// The CMS signer's signature over the signed attributes (re-tagged as a
/// SET), with the signer certificate's key; and the signer certificate.
fn cms_floor(cms_der: &[u8]) -> (Floor, Vec<u8>) {
    let info = cms::content_info::ContentInfo::from_der(cms_der).unwrap();
    let sd: cms::signed_data::SignedData = info.content.decode_as().unwrap();
    let si = sd.signer_infos.0.iter().next().unwrap();
    let certs: Vec<x509_cert::Certificate> = sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        certs.len(),
        1,
        "the bench expects the signer certificate only"
    );
    let signer = &certs[0];
    // DER order as sent (the signers here sort): re-encoding is the same bytes.
    let attrs = si.signed_attrs.as_ref().unwrap().to_der().unwrap();
    let sig_oid = &si.signature_algorithm.oid;
    let floor = Floor {
        key: ParsedPublicKey::new(algorithm(sig_oid), public_key(signer)).unwrap(),
        message: attrs,
        signature: si.signature.as_bytes().to_vec(),
    };
    floor.verify();
    (floor, signer.to_der().unwrap())
}

/// `profile-seed`: the seed CMS only, 2,000 times, for a profiler
/// (callgrind counts instructions; no simulator, no comparison).
fn profile_seed() {
    let b64 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/seed-signature.b64"
    ))
    .unwrap();
    let seed = STANDARD.decode(b64.trim()).unwrap();
    let check =
        SignatureCheck::without_chain_check().at(UNIX_EPOCH + Duration::from_secs(1_575_010_961));
    for _ in 0..2_000 {
        black_box(verify_cms(black_box(&seed), &check).unwrap());
    }
}

fn main() {
    if std::env::args().any(|a| a == "profile-seed") {
        profile_seed();
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let message = "Samþykki leigusamning nr. 42";
    let (sim, client, raw, access, verified, jwks) = rt.block_on(async {
        let sim = AudkenniSimulator::start(
            SimConfig::with_answer_after(Duration::from_millis(200)).interval(1),
        )
        .await
        .unwrap();
        let settings = HttpSettings::new().trust(TrustRoots::Only(sim.tls_trust_store().unwrap()));
        let client = CibaClient::builder(sim.issuer(), sim.client_id())
            .client_secret(Secret::new(sim.client_secret()))
            .signing_key(
                RequestSigningKey::from_pem(sim.client_key_pem().as_bytes(), JwsAlgorithm::Rs256)
                    .unwrap(),
            )
            .http_settings(settings.clone())
            .build()
            .await
            .unwrap();
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
        // Warms the JWKS cache (the one network fetch).
        let verified = client
            .verify_id_token_str(&raw, Some(&access))
            .await
            .unwrap();
        // The same JWKS, for the floor's key.
        let http = smartid_core::HttpClient::new(&settings, "bench").unwrap();
        let jwks = http
            .send(smartid_core::HttpRequest::get(format!(
                "{}/connect/jwk_uri",
                sim.issuer()
            )))
            .await
            .unwrap();
        let jwks: serde_json::Value = serde_json::from_slice(jwks.body()).unwrap();
        (sim, client, raw, access, verified, jwks)
    });

    if std::env::args().any(|a| a == "profile-id-token") {
        rt.block_on(async {
            for _ in 0..2_000 {
                black_box(
                    client
                        .verify_id_token_str(black_box(&raw), Some(&access))
                        .await
                        .unwrap(),
                );
            }
        });
        return;
    }
    // id_token: ours against one RSA verification of the same signing input.
    let (signing_input, sig_b64) = raw.rsplit_once('.').unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(signing_input.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    let kid = header["kid"].as_str().unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap();
    let component = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let id_floor = Floor {
        key: RsaPublicKeyComponents {
            n: component("n"),
            e: component("e"),
        }
        .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
        .unwrap(),
        message: signing_input.as_bytes().to_vec(),
        signature: URL_SAFE_NO_PAD.decode(sig_b64).unwrap(),
    };
    id_floor.verify();
    let c = Comparison::run(
        "id_token (RS256, cached JWKS) / 1 RSA verify",
        Meter::ThreadCpu,
        ROUNDS,
        400,
        |n| {
            rt.block_on(async {
                for _ in 0..n {
                    black_box(
                        client
                            .verify_id_token_str(black_box(&raw), Some(&access))
                            .await
                            .unwrap(),
                    );
                }
            });
        },
        |n| (0..n).for_each(|_| id_floor.verify()),
    );
    println!("{}", c.report());

    // CMS + chain + names: ours against the CMS signer's verification and
    // each certificate signature up to the anchor.
    let anchors =
        SignatureCheck::with_trust_anchors(sim.signature_trust_anchors()).expect_text(message);
    let cms_der = STANDARD
        .decode(verified.signature.as_deref().unwrap())
        .unwrap();
    let (cms_sig, leaf) = cms_floor(&cms_der);
    let issuing = sim.signature_issuing_ca();
    let root = sim.signature_root();
    // The chain: leaf <- issuing CA <- root (the anchor, whose own
    // signature is not verified).
    let chain = [
        certificate_floor(&leaf, issuing.der()),
        certificate_floor(issuing.der(), root.der()),
    ];
    for f in &chain {
        f.verify();
    }
    verified.verify_signature(&anchors).unwrap();
    let c = Comparison::run(
        "CMS + chain + names / 1 + 2 verifies",
        Meter::ThreadCpu,
        ROUNDS,
        100,
        |n| {
            for _ in 0..n {
                black_box(verified.verify_signature(black_box(&anchors)).unwrap());
            }
        },
        |n| {
            for _ in 0..n {
                cms_sig.verify();
                chain.iter().for_each(Floor::verify);
            }
        },
    );
    println!("{}", c.report());

    // The seed fixture's CMS without chain: its one signature verification.
    let b64 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/seed-signature.b64"
    ))
    .unwrap();
    let seed = STANDARD.decode(b64.trim()).unwrap();
    let (seed_sig, _) = cms_floor(&seed);
    let check =
        SignatureCheck::without_chain_check().at(UNIX_EPOCH + Duration::from_secs(1_575_010_961));
    verify_cms(&seed, &check).unwrap();
    let c = Comparison::run(
        "CMS seed fixture, no chain / 1 RSA verify",
        Meter::ThreadCpu,
        ROUNDS,
        400,
        |n| {
            for _ in 0..n {
                black_box(verify_cms(black_box(&seed), &check).unwrap());
            }
        },
        |n| (0..n).for_each(|_| seed_sig.verify()),
    );
    println!("{}", c.report());
    drop(sim);
}
