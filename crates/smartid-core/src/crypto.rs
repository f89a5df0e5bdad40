//! The crypto backend: aws-lc-rs (feature `aws-lc-rs`, the default) or ring
//! (feature `ring`, used when both are enabled). The rest of the crate
//! names `crate::crypto::backend::...`: the two libraries share these APIs.

#[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
pub(crate) use aws_lc_rs as backend;
#[cfg(feature = "ring")]
pub(crate) use ring as backend;

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "smartid-core needs a crypto backend: enable its `aws-lc-rs` feature (the default) or its `ring` feature"
);

/// Fills `bytes` from the system's secure random source (of the crypto
/// backend in use); `false` if it failed.
pub fn fill_random(bytes: &mut [u8]) -> bool {
    use backend::rand::SecureRandom as _;
    backend::rand::SystemRandom::new().fill(bytes).is_ok()
}

/// The rustls provider of the backend.
pub(crate) fn rustls_provider() -> rustls::crypto::CryptoProvider {
    #[cfg(feature = "ring")]
    return rustls::crypto::ring::default_provider();
    #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
    return rustls::crypto::aws_lc_rs::default_provider();
}

/// reqwest (built without a provider of its own when only `ring` is on)
/// takes the process's default rustls provider: install ring's when none is
/// installed yet. A provider the application installed is kept.
pub(crate) fn ensure_process_provider() {
    #[cfg(feature = "ring")]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may install one meanwhile: theirs is kept.
        let _ = rustls_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_bytes_are_filled() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        assert!(super::fill_random(&mut a) && super::fill_random(&mut b));
        assert_ne!(a, b);
    }
}
