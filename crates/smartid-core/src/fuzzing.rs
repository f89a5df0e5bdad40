//! Entry points for the fuzz targets in `fuzz/` and for the replay of their
//! committed corpora (`tests/fuzz_replay.rs`). **Not part of the public
//! API**: no stability promise. Each function takes the raw input, runs it
//! through the same parsers the library uses on files and servers, and
//! touches what a caller would read afterwards (accessors, `Display` of the
//! error), so that a panic anywhere on that path shows up. None of them
//! returns anything: the point is that they return at all.

use std::time::Duration;

use crate::{
    Certificate, ClientIdentity, HttpResponse, Keystore, KeystoreEntry, Secret, TrustStore,
};

/// The passwords the committed PKCS#12 and JKS seeds (copies of
/// `tests/fixtures`) are protected with.
pub const SEED_PASSWORDS: [&str; 2] = ["fixture-pw", "changeit"];

/// Reads every accessor of a certificate (the RFC 3339 rendering of extreme
/// validity dates included).
fn touch_certificate(cert: &Certificate) {
    let _ = (
        cert.subject().len(),
        cert.issuer().len(),
        cert.serial_hex().len(),
    );
    let _ = (cert.is_ca(), cert.not_before(), cert.not_after());
    let _ = (cert.not_before_rfc3339(), cert.not_after_rfc3339());
    let _ = cert.subject_public_key_info().len();
    let _ = cert.is_valid_at(std::time::SystemTime::now());
    let _ = cert.to_pem();
    let _ = format!("{cert:?}");
}

fn touch_keystore(result: crate::Result<Keystore>) {
    match result {
        Ok(store) => {
            let _ = (store.source_name(), store.format(), store.integrity());
            for entry in store.entries() {
                match entry {
                    KeystoreEntry::TrustedCertificate { certificate, .. } => {
                        touch_certificate(certificate);
                    }
                    KeystoreEntry::Identity(identity) => {
                        let _ = identity.alias();
                        let _ = identity.key_matches();
                        identity.chain().iter().for_each(touch_certificate);
                    }
                }
            }
            let _ = format!("{store:?}");
            if let Ok(identity) = ClientIdentity::from_keystore(&store, None) {
                touch_identity(&identity);
            }
            let _ = TrustStore::from_keystore(&store).map(|t| t.len());
        }
        Err(e) => {
            let _ = format!("{e} {e:?}");
        }
    }
}

fn touch_identity(identity: &ClientIdentity) {
    touch_certificate(identity.certificate());
    identity.chain().iter().for_each(touch_certificate);
    let _ = format!("{identity:?}");
}

/// A PKCS#12 file: [`Keystore::from_bytes`] with each seed password and
/// without one, and [`ClientIdentity::from_pkcs12_der`].
pub fn pkcs12(data: &[u8]) {
    for password in SEED_PASSWORDS.map(Secret::new) {
        touch_keystore(Keystore::from_bytes(data, "fuzz.p12", Some(&password)));
    }
    touch_keystore(Keystore::from_bytes(data, "fuzz.p12", None));
    let password = Secret::new(SEED_PASSWORDS[0]);
    match ClientIdentity::from_pkcs12_der(data, "fuzz.p12", &password) {
        Ok(identity) => touch_identity(&identity),
        Err(e) => {
            let _ = format!("{e}");
        }
    }
}

/// A Java JKS keystore: [`Keystore::from_bytes`] with the seed password `changeit`
/// (integrity checked) and without one, and [`TrustStore::from_bytes`].
pub fn jks(data: &[u8]) {
    let password = Secret::new(SEED_PASSWORDS[1]);
    touch_keystore(Keystore::from_bytes(data, "fuzz.jks", Some(&password)));
    touch_keystore(Keystore::from_bytes(data, "fuzz.jks", None));
    let _ = TrustStore::from_bytes(data, "fuzz.jks", None).map(|t| t.len());
}

/// PEM text: a keystore, a certificate list, a trust store, and a client
/// identity whose chain and key are both read from the input.
pub fn pem(data: &[u8]) {
    touch_keystore(Keystore::from_bytes(data, "fuzz.pem", None));
    if let Ok(certs) = Certificate::all_from_pem(data, "fuzz.pem") {
        certs.iter().for_each(touch_certificate);
    }
    let _ = TrustStore::from_bytes(data, "fuzz.pem", None).map(|t| t.len());
    match ClientIdentity::from_pem(data, data, "fuzz.pem") {
        Ok(identity) => touch_identity(&identity),
        Err(e) => {
            let _ = format!("{e}");
        }
    }
}

/// A DER certificate: [`Certificate::from_der`] and [`Keystore::from_bytes`].
pub fn der_cert(data: &[u8]) {
    match Certificate::from_der(data, "fuzz.cer") {
        Ok(cert) => touch_certificate(&cert),
        Err(e) => {
            let _ = format!("{e}");
        }
    }
    touch_keystore(Keystore::from_bytes(data, "fuzz.cer", None));
}

/// Response headers: the input is one header value, given as `Retry-After`
/// and as `Content-Type`, and also split at its first newline into a header
/// name and value. Runs [`HttpResponse::retry_after`] (seconds and HTTP
/// dates), [`HttpResponse::content_type`], the header look-up, the retry
/// delay computations that take the parsed value, and the JSON and status
/// paths that quote the headers in errors.
pub fn retry_after(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let (name, value) = match text.split_once('\n') {
        Some((n, v)) => (n.to_owned(), v.to_owned()),
        None => ("X-Fuzz".to_owned(), text.clone()),
    };
    let headers = vec![
        ("Retry-After".to_owned(), text.clone()),
        ("Content-Type".to_owned(), text.clone()),
        (name.clone(), value),
    ];
    let response = HttpResponse::new(429, headers, data.to_vec(), "https://fuzz.invalid/");
    let delay = response.retry_after();
    let _ = response.content_type();
    let _ = response.header(&name);
    let _ = crate::poll_delay(Duration::from_secs(5), delay);
    let policy = crate::RetryPolicy::new(5);
    for failures in [0, 1, 4, 5, u32::MAX] {
        let _ = policy.backoff(failures, delay);
    }
    let _ = crate::deadline_after(std::time::SystemTime::now(), delay.unwrap_or_default());
    let _ = response
        .json::<serde_json::Value>()
        .map_err(|e| e.to_string());
    let _ = response.error_for_status().map_err(|e| e.to_string());
}
