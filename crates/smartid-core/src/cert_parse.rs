//! One pass over a DER certificate (RFC 5280 4.1) that checks its
//! structure and reads the fields [`crate::Certificate`] keeps, borrowing
//! from the input: no owned tree of names, extensions and keys is built,
//! and the nesting is walked by a small TLV reader (building that tree
//! through the `der` crate's generic readers was most of the cost of
//! loading a certificate). The leaves whose encoding has rules of its own
//! (OIDs, integers, bit strings, times, basic constraints, and attribute
//! values of unusual types) are still decoded by `der`, so what is refused
//! is what x509-cert refuses; a differential test below holds it to that.

use der::asn1::{AnyRef, BitStringRef, IntRef, ObjectIdentifier};
use der::{Decode as _, ErrorKind, Tag};
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::time::Time;

/// The fields read from a certificate, borrowed from its DER.
pub(crate) struct Parsed<'a> {
    pub(crate) serial: &'a [u8],
    /// The issuer Name, a whole TLV (its attributes checked when read).
    pub(crate) issuer: &'a [u8],
    /// The subject Name, a whole TLV (its attributes checked when read).
    pub(crate) subject: &'a [u8],
    pub(crate) not_before: Time,
    pub(crate) not_after: Time,
    /// The SubjectPublicKeyInfo, a whole TLV.
    pub(crate) spki: &'a [u8],
    pub(crate) is_ca: bool,
    /// The contents of the extensions' SEQUENCE (each extension checked),
    /// empty when there are none.
    pub(crate) extensions: &'a [u8],
}

/// Why a certificate was refused: the part, and der's reason.
pub(crate) struct Refusal {
    pub(crate) part: &'static str,
    pub(crate) error: der::Error,
}

impl Refusal {
    fn at(part: &'static str) -> impl Fn(der::Error) -> Self {
        move |error| Self { part, error }
    }
}

const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// RFC 5280 allows 20 octets; one more is accepted, as x509-cert does,
/// for issuers that counted the value before its sign octet.
const MAX_SERIAL_LEN: usize = 21;

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
const BIT_STRING: u8 = 0x03;

/// One element: its tag byte, its contents, and the whole encoding.
#[derive(Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) value: &'a [u8],
    pub(crate) whole: &'a [u8],
}

/// Reads DER elements one after another from a slice (single-octet tags;
/// definite lengths in their shortest form, as DER requires).
#[derive(Clone, Copy)]
pub(crate) struct TlvReader<'a> {
    rest: &'a [u8],
}

impl<'a> TlvReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn next(&mut self) -> Result<Tlv<'a>, der::Error> {
        let input = self.rest;
        let (&tag, after_tag) = input
            .split_first()
            .ok_or_else(|| der::Error::incomplete(der::Length::ZERO))?;
        if tag & 0x1f == 0x1f {
            // High tag numbers: never in a certificate's structure.
            return Err(ErrorKind::TagNumberInvalid.into());
        }
        let (&first, mut after_len) = after_tag
            .split_first()
            .ok_or_else(|| der::Error::incomplete(der::Length::ONE))?;
        let len = match first {
            0..=0x7f => usize::from(first),
            0x81..=0x84 => {
                let n = usize::from(first - 0x80);
                let bytes = after_len.get(..n).ok_or(ErrorKind::Incomplete {
                    expected_len: der::Length::ONE,
                    actual_len: der::Length::ZERO,
                })?;
                after_len = after_len.get(n..).unwrap_or_default();
                let len = bytes.iter().fold(0usize, |l, b| (l << 8) | usize::from(*b));
                // The shortest form: 0x81 for 128..=255, one more octet
                // for each further 8 bits.
                let shortest = match len {
                    0..=0x7f => 0,
                    0x80..=0xff => 1,
                    0x100..=0xffff => 2,
                    0x1_0000..=0xff_ffff => 3,
                    _ => 4,
                };
                if shortest != n {
                    return Err(ErrorKind::Overlength.into());
                }
                len
            }
            0x80 => return Err(ErrorKind::IndefiniteLength.into()),
            _ => return Err(ErrorKind::Overlength.into()),
        };
        let header_len = input.len() - after_len.len();
        let value = after_len.get(..len).ok_or(ErrorKind::Incomplete {
            expected_len: der::Length::try_from(len).unwrap_or(der::Length::MAX),
            actual_len: der::Length::try_from(after_len.len()).unwrap_or(der::Length::MAX),
        })?;
        let whole = input.get(..header_len + len).unwrap_or_default();
        self.rest = after_len.get(len..).unwrap_or_default();
        Ok(Tlv { tag, value, whole })
    }

    /// The next element, which must have tag `tag`.
    pub(crate) fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, der::Error> {
        let tlv = self.next()?;
        if tlv.tag != tag {
            return Err(unexpected(tlv.tag));
        }
        Ok(tlv)
    }
}

fn unexpected(tag: u8) -> der::Error {
    match Tag::from_der(&[tag]) {
        Ok(actual) => ErrorKind::TagUnexpected {
            expected: None,
            actual,
        }
        .into(),
        Err(_) => ErrorKind::TagUnknown { byte: tag }.into(),
    }
}

fn finished(r: &TlvReader<'_>) -> Result<(), der::Error> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(ErrorKind::TrailingData {
            decoded: der::Length::ZERO,
            remaining: der::Length::try_from(r.rest().len()).unwrap_or(der::Length::MAX),
        }
        .into())
    }
}

/// An OBJECT IDENTIFIER's contents, checked as der checks them.
fn oid(tlv: Tlv<'_>) -> Result<(), der::Error> {
    if tlv.tag != OID {
        return Err(unexpected(tlv.tag));
    }
    ObjectIdentifier::from_bytes(tlv.value).map(|_| ())?;
    Ok(())
}

/// Reads the certificate at the start of `der`, and returns the bytes
/// after it (the caller refuses trailing bytes with its own message).
pub(crate) fn parse(der: &[u8]) -> Result<(Parsed<'_>, &[u8]), Refusal> {
    let mut outer = TlvReader::new(der);
    let cert = outer.expect(SEQUENCE).map_err(Refusal::at("certificate"))?;
    let mut r = TlvReader::new(cert.value);
    let tbs_tlv = r.expect(SEQUENCE).map_err(Refusal::at("certificate"))?;
    let parsed = tbs(TlvReader::new(tbs_tlv.value))?;
    algorithm_identifier(&mut r).map_err(Refusal::at("signature algorithm"))?;
    bit_string(&mut r).map_err(Refusal::at("signature"))?;
    finished(&r).map_err(Refusal::at("certificate"))?;
    Ok((parsed, outer.rest()))
}

fn tbs(mut r: TlvReader<'_>) -> Result<Parsed<'_>, Refusal> {
    // 0, 1 or 2. As in x509-cert, a v1 or v2 certificate with the fields
    // of later versions is read, not refused.
    version(&mut r).map_err(Refusal::at("version"))?;
    let serial = r
        .expect(0x02)
        .and_then(|t| IntRef::from_der(t.whole))
        .map_err(Refusal::at("serial number"))?;
    if serial.as_bytes().len() > MAX_SERIAL_LEN {
        return Err(Refusal {
            part: "serial number",
            error: Tag::Integer.value_error().into(),
        });
    }
    algorithm_identifier(&mut r).map_err(Refusal::at("signature algorithm"))?;
    let issuer = name(&mut r).map_err(Refusal::at("issuer"))?;
    let (not_before, not_after) = validity(&mut r).map_err(Refusal::at("validity"))?;
    let subject = name(&mut r).map_err(Refusal::at("subject"))?;
    let spki = subject_public_key_info(&mut r).map_err(Refusal::at("public key"))?;
    for (tag, what) in [(0x81, "issuer unique id"), (0x82, "subject unique id")] {
        if r.peek_tag() == Some(tag) {
            let tlv = r.next().map_err(Refusal::at(what))?;
            bit_string_contents(tlv.value).map_err(Refusal::at(what))?;
        }
    }
    let (mut is_ca, mut extension_list) = (false, &[][..]);
    if r.peek_tag() == Some(0xa3) {
        let tlv = r.next().map_err(Refusal::at("extensions"))?;
        (is_ca, extension_list) = extensions(tlv.value)?;
    }
    finished(&r).map_err(Refusal::at("certificate"))?;
    Ok(Parsed {
        serial: serial.as_bytes(),
        issuer,
        subject,
        not_before,
        not_after,
        spki,
        is_ca,
        extensions: extension_list,
    })
}

/// `[0] EXPLICIT INTEGER DEFAULT v1`: 0, 1 or 2.
fn version(r: &mut TlvReader<'_>) -> Result<u8, der::Error> {
    if r.peek_tag() != Some(0xa0) {
        return Ok(0);
    }
    let explicit = r.next()?;
    let mut inner = TlvReader::new(explicit.value);
    let v = u8::from_der(inner.expect(0x02)?.whole)?;
    finished(&inner)?;
    if v > 2 {
        return Err(Tag::Integer.value_error().into());
    }
    Ok(v)
}

fn validity(r: &mut TlvReader<'_>) -> Result<(Time, Time), der::Error> {
    let seq = r.expect(SEQUENCE)?;
    let mut v = TlvReader::new(seq.value);
    let not_before = Time::from_der(v.next()?.whole)?;
    let not_after = Time::from_der(v.next()?.whole)?;
    finished(&v)?;
    Ok((not_before, not_after))
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }`.
fn algorithm_identifier(r: &mut TlvReader<'_>) -> Result<(), der::Error> {
    let seq = r.expect(SEQUENCE)?;
    let mut a = TlvReader::new(seq.value);
    oid(a.next()?)?;
    if !a.is_empty() {
        any(a.next()?)?;
    }
    finished(&a)
}

fn bit_string(r: &mut TlvReader<'_>) -> Result<(), der::Error> {
    bit_string_contents(r.expect(BIT_STRING)?.value)
}

fn bit_string_contents(value: &[u8]) -> Result<(), der::Error> {
    let (&unused, bits) = value
        .split_first()
        .ok_or_else(|| Tag::BitString.value_error())?;
    BitStringRef::new(unused, bits)?;
    Ok(())
}

/// An ANY value: string types (the usual attribute values) checked here,
/// the rest by der.
fn any(tlv: Tlv<'_>) -> Result<(), der::Error> {
    match tlv.tag {
        0x0c | 0x12 | 0x13 | 0x14 | 0x15 | 0x16 | 0x1a | 0x1b | 0x1e => Ok(()),
        _ => AnyRef::from_der(tlv.whole).map(|_| ()),
    }
}

/// `SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }`,
/// returned as its whole TLV.
fn subject_public_key_info<'a>(r: &mut TlvReader<'a>) -> Result<&'a [u8], der::Error> {
    let seq = r.expect(SEQUENCE)?;
    let mut s = TlvReader::new(seq.value);
    algorithm_identifier(&mut s)?;
    bit_string(&mut s)?;
    finished(&s)?;
    Ok(seq.whole)
}

/// `Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }`,
/// returned as its whole TLV. Its attributes are checked when it is read
/// with [`for_each_attribute`] (every caller reads both names: walking
/// them here too was the same work twice).
fn name<'a>(r: &mut TlvReader<'a>) -> Result<&'a [u8], der::Error> {
    Ok(r.expect(SEQUENCE)?.whole)
}

/// Calls `f(rdn_index, oid_bytes, value)` for each attribute of a Name
/// (checked as it goes), relative names in encoded order; the attributes of
/// a relative name in DER SET OF order (sorted by their encoding, as DER
/// requires and as x509-cert reads them).
pub(crate) fn for_each_attribute<'a>(
    name_tlv: &'a [u8],
    f: impl FnMut(usize, &'a [u8], Tlv<'a>),
) -> Result<(), der::Error> {
    walk_attributes(name_tlv, f, true)
}

/// [`for_each_attribute`] over a name it has checked before: the OIDs and
/// values are not checked again.
pub(crate) fn for_each_checked_attribute<'a>(
    name_tlv: &'a [u8],
    f: impl FnMut(usize, &'a [u8], Tlv<'a>),
) {
    let _ = walk_attributes(name_tlv, f, false);
}

fn walk_attributes<'a>(
    name_tlv: &'a [u8],
    mut f: impl FnMut(usize, &'a [u8], Tlv<'a>),
    check: bool,
) -> Result<(), der::Error> {
    let mut outer = TlvReader::new(name_tlv);
    let seq = outer.expect(SEQUENCE)?;
    finished(&outer)?;
    let mut rdns = TlvReader::new(seq.value);
    let mut index = 0;
    while !rdns.is_empty() {
        let set = rdns.expect(SET)?;
        let mut atvs = TlvReader::new(set.value);
        let first = atvs.expect(SEQUENCE)?;
        if atvs.is_empty() {
            let (oid, value) = attribute(first, check)?;
            f(index, oid, value);
        } else {
            let mut all = vec![first.whole];
            while !atvs.is_empty() {
                all.push(atvs.expect(SEQUENCE)?.whole);
            }
            all.sort_unstable();
            for atv in all {
                let (oid, value) = attribute(TlvReader::new(atv).next()?, check)?;
                f(index, oid, value);
            }
        }
        index += 1;
    }
    Ok(())
}

fn attribute(seq: Tlv<'_>, check: bool) -> Result<(&[u8], Tlv<'_>), der::Error> {
    let mut a = TlvReader::new(seq.value);
    let oid_tlv = a.next()?;
    let value = a.next()?;
    if check {
        oid(oid_tlv)?;
        any(value)?;
        finished(&a)?;
    }
    Ok((oid_tlv.value, value))
}

/// `[3] EXPLICIT SEQUENCE OF Extension`: each checked, basic constraints
/// read (twice is refused, as x509-cert's lookup refuses it; other
/// duplicates are left to the verifiers, as before). Returns the CA flag
/// and the contents of the SEQUENCE.
fn extensions(explicit: &[u8]) -> Result<(bool, &[u8]), Refusal> {
    let at = Refusal::at("extensions");
    let mut outer = TlvReader::new(explicit);
    let list_tlv = outer.expect(SEQUENCE).map_err(&at)?;
    finished(&outer).map_err(&at)?;
    let mut list = TlvReader::new(list_tlv.value);
    let mut is_ca = None;
    while !list.is_empty() {
        let (id, _, value) = extension(&mut list, true).map_err(&at)?;
        if id == BASIC_CONSTRAINTS {
            if is_ca.is_some() {
                return Err(Refusal {
                    part: "basic constraints",
                    error: ErrorKind::Failed.into(),
                });
            }
            let bc = BasicConstraints::from_der(value).map_err(Refusal::at("basic constraints"))?;
            is_ca = Some(bc.ca);
        }
    }
    Ok((is_ca.unwrap_or(false), list_tlv.value))
}

/// `Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
/// extnValue OCTET STRING }`: the OID's bytes, the flag, the value's
/// contents. With `check` off (a list read before) the OID, the flag and
/// the end are not checked again.
pub(crate) fn extension<'a>(
    list: &mut TlvReader<'a>,
    check: bool,
) -> Result<(&'a [u8], bool, &'a [u8]), der::Error> {
    let ext = list.expect(SEQUENCE)?;
    let mut e = TlvReader::new(ext.value);
    let id = e.next()?;
    if check {
        oid(id)?;
    }
    let mut critical = false;
    if e.peek_tag() == Some(BOOLEAN) {
        let flag = e.next()?;
        critical = if check {
            bool::from_der(flag.whole)?
        } else {
            flag.value != [0]
        };
    }
    let value = e.expect(OCTET_STRING)?;
    if check {
        finished(&e)?;
    }
    Ok((id.value, critical, value.value))
}

#[cfg(test)]
mod tests {
    use der::{Decode as _, Encode as _};
    use x509_cert::ext::pkix::BasicConstraints;

    use crate::Certificate;

    fn fixture_ders() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for pem in [
            include_str!("../tests/fixtures/bundle.pem"),
            include_str!("../tests/fixtures/client-chain.pem"),
            include_str!("../tests/fixtures/other-ca.pem"),
        ] {
            for block in crate::keystore::pem::parse_blocks(pem.as_bytes(), "fixture")
                .unwrap_or_else(|e| panic!("{e}"))
            {
                out.push(block.der);
            }
        }
        out.push(include_bytes!("../tests/fuzz_corpus/der_cert/seed-D-TRUST_Test_CA.cer").to_vec());
        out
    }

    /// subject, issuer, serial, not before, not after, CA, public key.
    type Fields = (String, String, String, i64, i64, bool, Vec<u8>);

    /// What x509-cert reads from the same bytes, in our shapes.
    fn reference(der: &[u8]) -> Option<Fields> {
        let cert = x509_cert::Certificate::from_der(der).ok()?;
        let tbs = cert.tbs_certificate();
        let is_ca = tbs
            .get_extension::<BasicConstraints>()
            .ok()?
            .is_some_and(|(_, bc)| bc.ca);
        let text = |name: &x509_cert::name::Name| {
            crate::cert::name_to_string(&name.to_der().unwrap_or_default()).ok()
        };
        let unix = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        Some((
            text(tbs.subject())?,
            text(tbs.issuer())?,
            crate::cert::hex_upper(tbs.serial_number().as_bytes()),
            unix(tbs.validity().not_before),
            unix(tbs.validity().not_after),
            is_ca,
            tbs.subject_public_key_info().to_der().ok()?,
        ))
    }

    fn ours(der: &[u8]) -> Option<Fields> {
        let unix = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(-1, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        };
        let c = Certificate::from_der(der, "mutant").ok()?;
        Some((
            c.subject().to_owned(),
            c.issuer().to_owned(),
            c.serial_hex().to_owned(),
            unix(c.not_before()),
            unix(c.not_after()),
            c.is_ca(),
            c.subject_public_key_info().to_vec(),
        ))
    }

    /// The one-pass reader against x509-cert's full decode, on the
    /// fixtures and on every one-byte change of them (each byte with three
    /// other values, and the input cut at each length): both accept the
    /// same inputs and read the same fields from them.
    #[test]
    fn reads_what_x509_cert_reads_and_refuses_what_it_refuses() {
        let mut compared = 0;
        let mut accepted = 0;
        for der in fixture_ders() {
            assert!(ours(&der).is_some(), "a fixture is refused");
            let mut inputs = vec![der.clone()];
            for i in 0..der.len() {
                for x in [0x01u8, 0x02, 0x20, 0x40, 0x80, 0xff] {
                    let mut m = der.clone();
                    if let Some(b) = m.get_mut(i) {
                        *b ^= x;
                    }
                    inputs.push(m);
                }
                inputs.push(der.get(..i).unwrap_or_default().to_vec());
            }
            for input in inputs {
                let (want, got) = (reference(&input), ours(&input));
                assert_eq!(got, want, "input {}", crate::cert::hex_upper(&input));
                compared += 1;
                accepted += usize::from(got.is_some());
            }
        }
        assert!(
            compared > 10_000 && accepted > 1_000,
            "{compared} {accepted}"
        );
    }
}
