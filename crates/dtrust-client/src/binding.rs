//! Binding what is fetched to what was ordered: the certificate's public key
//! is the CSR's, its subject is the ordered one.

use smartid_core::Certificate;

use crate::order::SubjectDn;

/// SHA-256 (lower-case hex) of DER bytes.
pub(crate) fn sha256_hex(der: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    let mut out = String::with_capacity(64);
    for b in digest.as_ref() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// The SHA-256 of the DER SubjectPublicKeyInfo of a PKCS#10 request.
pub(crate) fn csr_public_key_sha256(csr_der: &[u8]) -> Result<String, String> {
    crate::x509::csr_spki(csr_der).map(sha256_hex)
}

/// Checks that `cert` is for the public key whose SubjectPublicKeyInfo hashes to `expected`.
pub(crate) fn check_public_key(cert: &Certificate, expected_sha256: &str) -> Result<(), String> {
    let got = sha256_hex(cert.subject_public_key_info());
    if got.eq_ignore_ascii_case(expected_sha256) {
        Ok(())
    } else {
        Err(format!(
            "the certificate {} is for another public key than the CSR's (SubjectPublicKeyInfo \
             SHA-256 {got}, ordered {expected_sha256})",
            cert.subject()
        ))
    }
}

/// The OID of each attribute of [`SubjectDn::attributes`].
fn oid_of(short: &str) -> Option<&'static str> {
    Some(match short {
        "C" => "2.5.4.6",
        "ST" => "2.5.4.8",
        "L" => "2.5.4.7",
        "O" => "2.5.4.10",
        "OU" => "2.5.4.11",
        "organizationIdentifier" => "2.5.4.97",
        "serialNumber" => "2.5.4.5",
        "emailAddress" => "1.2.840.113549.1.9.1",
        "CN" => "2.5.4.3",
        _ => return None,
    })
}

/// Checks that `cert`'s subject is the one ordered: every attribute the
/// order names is in the certificate's subject exactly once, with the
/// ordered value (white space at either end ignored; `C` and `emailAddress`
/// ASCII-case-insensitive, every other attribute exact). Attributes the
/// order does not name may be added by the CA (D-Trust fills in the
/// account's pre-validated data).
pub(crate) fn check_subject(cert: &Certificate, ordered: &SubjectDn) -> Result<(), String> {
    let issued: Vec<(String, Option<String>)> = crate::x509::subject_attributes(cert)?
        .into_iter()
        .map(|(oid, value)| (oid, value.map(|v| v.trim().to_owned())))
        .collect();
    for (short, value) in ordered.attributes() {
        let Some(oid) = oid_of(short) else { continue };
        let values: Vec<&Option<String>> = issued
            .iter()
            .filter(|(o, _)| o == oid)
            .map(|(_, v)| v)
            .collect();
        let want = value.trim();
        let equal = |got: &str| {
            if matches!(short, "C" | "emailAddress") {
                got.eq_ignore_ascii_case(want)
            } else {
                got == want
            }
        };
        match values.as_slice() {
            [Some(got)] if equal(got) => {}
            [] => {
                return Err(format!(
                    "the certificate's subject {} has no {short}; ordered {short}={want:?}",
                    cert.subject()
                ));
            }
            _ => {
                return Err(format!(
                    "the certificate's subject {} does not have the ordered {short}={want:?}",
                    cert.subject()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_hex_is_lower_case_hex_of_the_digest() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
