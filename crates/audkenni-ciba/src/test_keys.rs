//! Keys generated at test time for the unit tests.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RsaKeyPair,
};

/// A fresh RSA-2048 key as PKCS#8 PEM (cached per test binary).
pub(crate) fn rsa_pem() -> String {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        smartid_core::internal::pem_encode("PRIVATE KEY", key.as_der().unwrap().as_ref())
    })
    .clone()
}

/// A fresh P-256 key as PKCS#8 PEM.
pub(crate) fn ec_pem() -> String {
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let _ = key.public_key();
    smartid_core::internal::pem_encode("PRIVATE KEY", key.to_pkcs8v1().unwrap().as_ref())
}

/// A second, unrelated RSA key.
pub(crate) fn other_rsa_pem() -> String {
    let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    smartid_core::internal::pem_encode("PRIVATE KEY", key.as_der().unwrap().as_ref())
}
