//! X.509 certificates as loaded from files and servers.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::{Error, Result};

/// An X.509 certificate: its DER bytes and the fields people look at.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    subject: String,
    issuer: String,
    serial_hex: String,
    not_before: i64,
    not_after: i64,
    is_ca: bool,
    spki: Vec<u8>,
}

impl Certificate {
    /// Parses a DER-encoded certificate. `source_name` names where it came
    /// from in errors.
    ///
    /// # Errors
    /// [`Error::NotACertificate`] when the bytes are not exactly one X.509 certificate.
    pub fn from_der(der: &[u8], source_name: &str) -> Result<Self> {
        let not_a_cert = |detail: String| Error::NotACertificate {
            source_name: source_name.to_owned(),
            detail,
        };
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| not_a_cert(format!("DER is not an X.509 certificate ({e})")))?;
        if !rest.is_empty() {
            return Err(not_a_cert(format!(
                "{} bytes of trailing data after the certificate",
                rest.len()
            )));
        }
        let der_len = der.len() - rest.len();
        let validity = cert.validity();
        Ok(Self {
            der: der[..der_len].to_vec(),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial_hex: hex_upper(cert.raw_serial()),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            is_ca: cert.is_ca(),
            spki: cert.public_key().raw.to_vec(),
        })
    }

    /// Parses every certificate in a PEM text (other PEM blocks are skipped).
    ///
    /// # Errors
    /// [`Error::NotACertificate`] for a damaged certificate block, and when
    /// there is none.
    pub fn all_from_pem(pem: &[u8], source_name: &str) -> Result<Vec<Self>> {
        let blocks = crate::keystore::pem::parse_blocks(pem, source_name)?;
        let certs = blocks
            .iter()
            .filter(|b| b.kind == rustls_pki_types::pem::SectionKind::Certificate)
            .map(|b| Self::from_der(&b.der, source_name))
            .collect::<Result<Vec<_>>>()?;
        if certs.is_empty() {
            return Err(Error::NotACertificate {
                source_name: source_name.to_owned(),
                detail: "the PEM text has no CERTIFICATE block".into(),
            });
        }
        Ok(certs)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM encoding (one `CERTIFICATE` block).
    pub fn to_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }

    /// The subject distinguished name, e.g. `C=IS, CN=Gervimaður Asía`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The issuer distinguished name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The serial number in upper-case hexadecimal.
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    /// Whether the certificate is a CA (basic constraints).
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// Start of validity.
    pub fn not_before(&self) -> SystemTime {
        unix_to_system_time(self.not_before)
    }

    /// End of validity.
    pub fn not_after(&self) -> SystemTime {
        unix_to_system_time(self.not_after)
    }

    /// End of validity as RFC 3339 UTC, e.g. `2024-10-15T18:39:06Z`.
    pub fn not_after_rfc3339(&self) -> String {
        format_rfc3339(self.not_after)
    }

    /// Start of validity as RFC 3339 UTC.
    pub fn not_before_rfc3339(&self) -> String {
        format_rfc3339(self.not_before)
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn subject_public_key_info(&self) -> &[u8] {
        &self.spki
    }

    /// Whether `at` lies within the validity period.
    pub fn is_valid_at(&self, at: SystemTime) -> bool {
        let t = system_time_to_unix(at);
        self.not_before <= t && t <= self.not_after
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("serial", &self.serial_hex)
            .field("not_after", &self.not_after_rfc3339())
            .finish()
    }
}

impl fmt::Display for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.subject)
    }
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// PEM-encodes DER bytes under a label, with 64-character lines.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn unix_to_system_time(t: i64) -> SystemTime {
    if t >= 0 {
        UNIX_EPOCH + Duration::from_secs(t.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(t.unsigned_abs())
    }
}

fn system_time_to_unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Formats a Unix timestamp as RFC 3339 UTC (`YYYY-MM-DDTHH:MM:SSZ`).
pub(crate) fn format_rfc3339(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil-from-days (proleptic Gregorian), after H. Hinnant's public algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formatting() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_728_999_999), "2024-10-15T13:46:39Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        for input in [&b""[..], b"\x30", b"\x30\x03\x02\x01\x01", b"hello"] {
            assert!(matches!(
                Certificate::from_der(input, "x"),
                Err(Error::NotACertificate { .. })
            ));
        }
    }
}
