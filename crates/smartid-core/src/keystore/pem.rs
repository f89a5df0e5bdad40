//! PEM blocks, through rustls-pki-types' parser.

use rustls_pki_types::pem::{PemObject, SectionKind};

use crate::error::{Error, Result};

pub(crate) struct PemBlock {
    pub(crate) kind: SectionKind,
    pub(crate) der: Vec<u8>,
}

/// Whether the bytes look like PEM text (a `-----BEGIN ` line), whatever the file is called.
pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// All PEM sections of a kind rustls knows; unknown labels are skipped.
pub(crate) fn parse_blocks(bytes: &[u8], source_name: &str) -> Result<Vec<PemBlock>> {
    if bytes.windows(21).any(|w| w == b"ENCRYPTED PRIVATE KEY")
        || bytes.windows(18).any(|w| w == b"Proc-Type: 4,ENCRY")
    {
        return Err(Error::InvalidKey {
            source_name: source_name.to_owned(),
            detail: "encrypted PEM private keys are not supported; decrypt it first \
                     (openssl pkcs8 -in KEY -out KEY.plain) or use a PKCS#12 file with a password"
                .into(),
        });
    }
    <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(bytes)
        .map(|item| {
            item.map(|(kind, der)| PemBlock { kind, der })
                .map_err(|e| Error::NotACertificate {
                    source_name: source_name.to_owned(),
                    detail: format!("damaged PEM: {e}"),
                })
        })
        .collect()
}
