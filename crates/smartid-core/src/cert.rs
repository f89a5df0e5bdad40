//! X.509 certificates as loaded from files and servers.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use der::asn1::{BmpString, ObjectIdentifier};

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
        Ok(certificate_with_fields(der, source_name)?.0)
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

/// A distinguished name as [`Certificate`]'s Debug shows it: each
/// `serialNumber` value (on an Icelandic eID certificate, the holder's
/// kennitala) masked by [`crate::mask_identifier`], so that a certificate
/// logged with `{:?}` never carries a full national id.
fn masked_name(name: &str) -> String {
    name.split(", ")
        .map(|rdn| {
            rdn.split(" + ")
                .map(|part| match part.strip_prefix("serialNumber=") {
                    Some(value) => format!("serialNumber={}", crate::mask_identifier(value)),
                    None => part.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" + ")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &masked_name(&self.subject))
            .field("issuer", &masked_name(&self.issuer))
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

/// Parses a DER certificate as [`Certificate::from_der`] does (the same
/// checks, one pass) and also returns the fields a signature verifier
/// looks up, borrowed from `der`.
///
/// # Errors
/// As [`Certificate::from_der`].
pub fn certificate_with_fields<'a>(
    der: &'a [u8],
    source_name: &str,
) -> Result<(Certificate, CertificateFields<'a>)> {
    let not_a_cert = |detail: String| Error::NotACertificate {
        source_name: source_name.to_owned(),
        detail,
    };
    let (cert, rest) = crate::cert_parse::parse(der).map_err(|r| {
        not_a_cert(match r.part {
            "certificate" => format!("DER is not an X.509 certificate ({})", r.error),
            part => format!(
                "DER is not an X.509 certificate: damaged {part} ({})",
                r.error
            ),
        })
    })?;
    if !rest.is_empty() {
        return Err(not_a_cert(format!(
            "{} bytes of trailing data after the certificate",
            rest.len()
        )));
    }
    let name = |tlv: &[u8], part: &str| {
        name_to_string(tlv).map_err(|e| not_a_cert(format!("damaged {part} ({e})")))
    };
    let certificate = Certificate {
        der: der.to_vec(),
        subject: name(cert.subject, "subject")?,
        issuer: name(cert.issuer, "issuer")?,
        serial_hex: hex_upper(cert.serial),
        not_before: duration_to_unix(cert.not_before.to_unix_duration()),
        not_after: duration_to_unix(cert.not_after.to_unix_duration()),
        is_ca: cert.is_ca,
        spki: cert.spki.to_vec(),
    };
    let fields = CertificateFields {
        issuer: cert.issuer,
        subject: cert.subject,
        serial: cert.serial,
        spki: cert.spki,
        extensions: cert.extensions,
    };
    Ok((certificate, fields))
}

/// Checks a DER Name (its whole encoding) as a certificate's names are
/// checked: `Err` with der's reason when it is not one.
///
/// # Errors
/// The reason, as text.
pub fn check_name(name_der: &[u8]) -> std::result::Result<(), String> {
    crate::cert_parse::for_each_attribute(name_der, |_, _, _| {}).map_err(|e| e.to_string())
}

/// A directory string's text by its tag byte: UTF8String, PrintableString,
/// IA5String and VisibleString as UTF-8, TeletexString as Latin-1,
/// BMPString as UTF-16; `None` for other tags and for bytes that are not
/// text of their type.
#[must_use]
pub fn directory_string(tag: u8, bytes: &[u8]) -> Option<String> {
    match tag {
        0x0c | 0x13 | 0x16 | 0x1a => std::str::from_utf8(bytes).ok().map(str::to_owned),
        0x14 => Some(bytes.iter().map(|b| char::from(*b)).collect()),
        0x1e if bytes.len().is_multiple_of(2) => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// Fields of a parsed certificate, borrowed from its DER (checked when it
/// was parsed): for looking up a CMS signer and reading extensions without
/// a second parse.
#[derive(Clone, Copy)]
pub struct CertificateFields<'a> {
    issuer: &'a [u8],
    subject: &'a [u8],
    serial: &'a [u8],
    spki: &'a [u8],
    extensions: &'a [u8],
}

impl<'a> CertificateFields<'a> {
    /// The issuer Name, its whole DER encoding.
    #[must_use]
    pub fn issuer_der(&self) -> &'a [u8] {
        self.issuer
    }

    /// The serial number: the INTEGER's content octets.
    #[must_use]
    pub fn serial(&self) -> &'a [u8] {
        self.serial
    }

    /// The SubjectPublicKeyInfo, its whole DER encoding.
    #[must_use]
    pub fn subject_public_key_info(&self) -> &'a [u8] {
        self.spki
    }

    /// The extension with this OID (its content octets, e.g.
    /// `[0x55, 0x1d, 0x0f]` for keyUsage): its critical flag and the
    /// contents of its extnValue. `Err(())` when it occurs more than once.
    ///
    /// # Errors
    /// `()` when the extension occurs twice.
    #[allow(clippy::result_unit_err)]
    pub fn extension(&self, oid: &[u8]) -> std::result::Result<Option<(bool, &'a [u8])>, ()> {
        let mut list = crate::cert_parse::TlvReader::new(self.extensions);
        let mut found = None;
        while !list.is_empty() {
            // Checked when the certificate was parsed: read, not checked again.
            let Ok((id, critical, value)) = crate::cert_parse::extension(&mut list, false) else {
                break;
            };
            if id == oid {
                if found.is_some() {
                    return Err(());
                }
                found = Some((critical, value));
            }
        }
        Ok(found)
    }

    /// Calls `f(oid, tag, value)` for each attribute of the subject (the
    /// OID's and the value's content octets, the value's tag byte), in
    /// the order [`Certificate::subject`] shows them.
    pub fn for_each_subject_attribute(&self, mut f: impl FnMut(&'a [u8], u8, &'a [u8])) {
        // Checked when the certificate was parsed.
        crate::cert_parse::for_each_checked_attribute(self.subject, |_, oid, value| {
            f(oid, value.tag, value.value);
        });
    }
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
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

fn duration_to_unix(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Formats a distinguished name the way people read it: the relative
/// names in encoded order separated by `", "`, several attributes in one
/// relative name joined by `" + "`, e.g.
/// `C=IS, O=smartid fixtures, serialNumber=0101303369, CN=Jón Þórsson`.
pub(crate) fn name_to_string(name_der: &[u8]) -> std::result::Result<String, der::Error> {
    let mut out = String::new();
    let mut last_rdn = None;
    crate::cert_parse::for_each_attribute(name_der, |rdn, oid, value| {
        match last_rdn {
            None => {}
            Some(last) if last == rdn => out.push_str(" + "),
            Some(_) => out.push_str(", "),
        }
        last_rdn = Some(rdn);
        match attribute_name(oid) {
            Some(short) => out.push_str(short),
            // Checked by the walk: it is a valid OID.
            None => match ObjectIdentifier::from_bytes(oid) {
                Ok(oid) => out.push_str(&oid.to_string()),
                Err(_) => out.push_str(&hex_upper(oid)),
            },
        }
        out.push('=');
        push_attribute_value(&mut out, value.tag, value.value);
    })?;
    Ok(out)
}

/// Short names of the attributes met in certificate names (RFC 4519,
/// RFC 5280 and PKCS #9 spellings).
fn attribute_name(oid: &[u8]) -> Option<&'static str> {
    // Compared as encoded OIDs: formatting each as dotted text first was a
    // good part of the cost of parsing a certificate.
    const NAMES: &[(ObjectIdentifier, &str)] = &[
        (ObjectIdentifier::new_unwrap("2.5.4.3"), "CN"),
        (ObjectIdentifier::new_unwrap("2.5.4.4"), "surname"),
        (ObjectIdentifier::new_unwrap("2.5.4.5"), "serialNumber"),
        (ObjectIdentifier::new_unwrap("2.5.4.6"), "C"),
        (ObjectIdentifier::new_unwrap("2.5.4.7"), "L"),
        (ObjectIdentifier::new_unwrap("2.5.4.8"), "ST"),
        (ObjectIdentifier::new_unwrap("2.5.4.9"), "street"),
        (ObjectIdentifier::new_unwrap("2.5.4.10"), "O"),
        (ObjectIdentifier::new_unwrap("2.5.4.11"), "OU"),
        (ObjectIdentifier::new_unwrap("2.5.4.12"), "title"),
        (ObjectIdentifier::new_unwrap("2.5.4.13"), "description"),
        (ObjectIdentifier::new_unwrap("2.5.4.15"), "businessCategory"),
        (ObjectIdentifier::new_unwrap("2.5.4.16"), "postalAddress"),
        (ObjectIdentifier::new_unwrap("2.5.4.17"), "postalCode"),
        (ObjectIdentifier::new_unwrap("2.5.4.41"), "name"),
        (ObjectIdentifier::new_unwrap("2.5.4.42"), "givenName"),
        (ObjectIdentifier::new_unwrap("2.5.4.43"), "initials"),
        (
            ObjectIdentifier::new_unwrap("2.5.4.44"),
            "generationQualifier",
        ),
        (ObjectIdentifier::new_unwrap("2.5.4.45"), "uniqueIdentifier"),
        (ObjectIdentifier::new_unwrap("2.5.4.46"), "dnQualifier"),
        (ObjectIdentifier::new_unwrap("2.5.4.65"), "pseudonym"),
        (
            ObjectIdentifier::new_unwrap("2.5.4.97"),
            "organizationIdentifier",
        ),
        (
            ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.1"),
            "uid",
        ),
        (
            ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.25"),
            "DC",
        ),
        (
            ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1"),
            "Email",
        ),
    ];
    NAMES
        .iter()
        .find(|(o, _)| o.as_bytes() == oid)
        .map(|(_, short)| *short)
}

/// An attribute value as text: the string types as they are, a BMPString
/// decoded from UTF-16, anything else as upper-case hexadecimal.
fn push_attribute_value(out: &mut String, tag: u8, value: &[u8]) {
    // UTF8String, NumericString, PrintableString, TeletexString,
    // VideotexString, IA5String, VisibleString, GeneralString; BMPString.
    match tag {
        0x0c | 0x12 | 0x13 | 0x14 | 0x15 | 0x16 | 0x1a | 0x1b => match std::str::from_utf8(value) {
            Ok(text) => out.push_str(text),
            Err(_) => out.push_str(&hex_upper(value)),
        },
        0x1e => match BmpString::from_ucs2(value) {
            Ok(text) => out.push_str(&text.to_string()),
            Err(_) => out.push_str(&hex_upper(value)),
        },
        _ => out.push_str(&hex_upper(value)),
    }
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
    fn directory_strings_are_read_by_their_tag() {
        assert_eq!(
            directory_string(0x0c, "Jón".as_bytes()).as_deref(),
            Some("Jón")
        );
        assert_eq!(directory_string(0x13, b"IS").as_deref(), Some("IS"));
        assert_eq!(
            directory_string(0x14, &[0x4a, 0xf3, 0x6e]).as_deref(),
            Some("Jón")
        );
        assert_eq!(
            directory_string(0x1e, &[0x00, 0x4a, 0x00, 0xf3, 0x00, 0x6e]).as_deref(),
            Some("Jón")
        );
        // An odd BMPString, invalid UTF-8, a lone surrogate, not a string type.
        assert_eq!(directory_string(0x1e, &[0x00, 0x4a, 0x00]), None);
        assert_eq!(directory_string(0x0c, &[0xff]), None);
        assert_eq!(directory_string(0x1e, &[0xd8, 0x00]), None);
        assert_eq!(directory_string(0x04, b"x"), None);
    }

    #[test]
    fn hex_is_upper_case_two_digits_per_byte() {
        assert_eq!(hex_upper(&[0x00, 0xab, 0x0f, 0xff]), "00AB0FFF");
        assert_eq!(hex_upper(&[]), "");
    }

    #[test]
    fn attribute_names_are_found_by_oid() {
        let name = |dotted: &str| attribute_name(ObjectIdentifier::new_unwrap(dotted).as_bytes());
        assert_eq!(name("2.5.4.3"), Some("CN"));
        assert_eq!(name("2.5.4.97"), Some("organizationIdentifier"));
        assert_eq!(name("0.9.2342.19200300.100.1.25"), Some("DC"));
        assert_eq!(name("1.2.840.113549.1.9.1"), Some("Email"));
        assert_eq!(name("2.5.4.98"), None);
        assert_eq!(name("2.5.4"), None);
    }

    #[test]
    fn rfc3339_formatting() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_728_999_999), "2024-10-15T13:46:39Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn names_read_in_encoded_order_with_multi_valued_rdns() {
        use std::str::FromStr as _;
        // RFC 4514 text lists the last relative name first; the attributes
        // of one relative name come in DER SET OF order.
        let text = |rfc4514: &str| {
            let name = x509_cert::name::Name::from_str(rfc4514).unwrap_or_else(|e| panic!("{e}"));
            let der = der::Encode::to_der(&name).unwrap_or_else(|e| panic!("{e}"));
            name_to_string(&der).unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(
            text("CN=Jón Þórsson+serialNumber=0101303369,O=smartid fixtures,C=IS"),
            "C=IS, O=smartid fixtures, serialNumber=0101303369 + CN=Jón Þórsson"
        );
        assert_eq!(
            text("1.2.3.4=#0403414243,DC=example"),
            "DC=example, 1.2.3.4=414243"
        );
    }

    #[test]
    fn debug_masks_the_serial_number_of_a_name() {
        assert_eq!(
            super::masked_name(
                "C=IS, O=smartid fixtures, serialNumber=0101303369 + CN=Jón Þórsson"
            ),
            "C=IS, O=smartid fixtures, serialNumber=010130-**** + CN=Jón Þórsson"
        );
        assert_eq!(
            super::masked_name("serialNumber=0101303369, CN=x"),
            "serialNumber=010130-****, CN=x"
        );
        assert_eq!(super::masked_name("CN=no serial"), "CN=no serial");
        assert_eq!(super::masked_name(""), "");
    }

    #[test]
    fn bmp_strings_are_decoded() {
        let bmp = BmpString::from_utf8("Þór").unwrap_or_else(|e| panic!("{e}"));
        let any = der::asn1::Any::encode_from(&bmp).unwrap_or_else(|e| panic!("{e}"));
        let mut out = String::new();
        push_attribute_value(&mut out, 0x1e, any.value());
        assert_eq!(out, "Þór");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let pem = include_str!("../tests/fixtures/ca.pem");
        let der = crate::keystore::pem::parse_blocks(pem.as_bytes(), "ca.pem")
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0)
            .der;
        assert!(Certificate::from_der(&der, "ca").is_ok());
        let mut longer = der.clone();
        longer.push(0);
        match Certificate::from_der(&longer, "ca") {
            Err(Error::NotACertificate { detail, .. }) => {
                assert!(detail.contains("trailing"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
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
