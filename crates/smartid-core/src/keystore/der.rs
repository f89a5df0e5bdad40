//! Just enough DER to recognise containers before handing them to a real parser.

/// Reads one DER TLV (single-byte tags, definite lengths of at most four
/// bytes); returns (tag, content, rest), or `None` for anything truncated.
pub fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7F) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// A PKCS#12 PFX starts with SEQUENCE { INTEGER 3, ContentInfo SEQUENCE ... }.
pub(crate) fn looks_like_pfx(input: &[u8]) -> bool {
    let Some((0x30, content, _)) = der_tlv(input) else {
        return false;
    };
    matches!(der_tlv(content), Some((0x02, [3], rest)) if rest.first() == Some(&0x30))
}

/// Whether a PFX carries its optional `macData` (the third element).
pub(crate) fn has_pfx_mac(pfx: &[u8]) -> bool {
    let Some((0x30, content, _)) = der_tlv(pfx) else {
        return false;
    };
    let mut items = content;
    let mut count = 0;
    while let Some((_, _, rest)) = der_tlv(items) {
        items = rest;
        count += 1;
    }
    count >= 3
}

/// The most key-derivation iterations one PKCS#12 file may ask for, summed
/// over its MAC and every password-based encryption visible before
/// decryption. p12-keystore limits each one to 1,000,000; without a total, a
/// file of many bags could ask for billions. Real files ask for far less:
/// OpenSSL 3 uses 2,048 per KDF and keytool 10,000.
#[cfg_attr(not(feature = "pkcs12"), allow(dead_code))] // only the PKCS#12 reader counts
pub(crate) const MAX_PKCS12_KDF_ITERATIONS: u64 = 4_000_000;

#[cfg_attr(not(feature = "pkcs12"), allow(dead_code))] // only the PKCS#12 reader counts
const OID_PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
/// PKCS#12 PBE (1.2.840.113549.1.12.1.*) and PBES1 (1.2.840.113549.1.5.{1,3,4,6,10,11}).
#[cfg_attr(not(feature = "pkcs12"), allow(dead_code))] // only the PKCS#12 reader counts
const OID_PKCS12_PBE_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];
#[cfg_attr(not(feature = "pkcs12"), allow(dead_code))] // only the PKCS#12 reader counts
const OID_PKCS5_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05];
#[cfg_attr(not(feature = "pkcs12"), allow(dead_code))] // only the PKCS#12 reader counts
const PBES1_LAST_ARCS: &[u8] = &[1, 3, 4, 6, 10, 11];

/// Sums the key-derivation iterations a PFX asks for: its MAC's and those of
/// every PBES1/PKCS#12-PBE/PBKDF2 parameter block found in the clear,
/// descending into OCTET STRINGs that hold DER (the authenticated safe and
/// unencrypted safe contents). Bags inside encrypted safes only become
/// visible with the right password, after the MAC has been checked with it.
/// Saturates instead of overflowing.
#[cfg_attr(not(feature = "pkcs12"), allow(dead_code))] // only the PKCS#12 reader counts
pub(crate) fn pkcs12_kdf_iterations(pfx: &[u8]) -> u64 {
    let mut total = 0u64;
    if let Some((0x30, content, _)) = der_tlv(pfx) {
        // PFX ::= SEQUENCE { version, authSafe ContentInfo, macData MacData OPTIONAL }
        let mut items = content;
        let mut index = 0;
        while let Some((tag, value, rest)) = der_tlv(items) {
            if index == 2 && tag == 0x30 {
                total = total.saturating_add(mac_iterations(value));
            }
            items = rest;
            index += 1;
        }
        walk(content, 0, &mut total);
    }
    total
}

/// MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
#[cfg_attr(not(feature = "pkcs12"), allow(dead_code))] // only the PKCS#12 reader counts
fn mac_iterations(mac_data: &[u8]) -> u64 {
    let Some((_, _, rest)) = der_tlv(mac_data) else {
        return 0;
    };
    let Some((_, _, rest)) = der_tlv(rest) else {
        return 0;
    };
    match der_tlv(rest) {
        Some((0x02, int, _)) => integer(int),
        _ => 1,
    }
}

#[cfg_attr(not(feature = "pkcs12"), allow(dead_code))] // only the PKCS#12 reader counts
fn integer(bytes: &[u8]) -> u64 {
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return 0; // negative: the parser refuses it anyway
    }
    let significant = bytes.iter().skip_while(|b| **b == 0).count();
    if significant > 8 {
        return u64::MAX;
    }
    bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// `SEQUENCE { salt OCTET STRING, iterations INTEGER, ... }`
#[cfg_attr(not(feature = "pkcs12"), allow(dead_code))] // only the PKCS#12 reader counts
fn params_iterations(params: &[u8]) -> u64 {
    let Some((0x30, seq, _)) = der_tlv(params) else {
        return 0;
    };
    let Some((0x04, _, rest)) = der_tlv(seq) else {
        return 0;
    };
    match der_tlv(rest) {
        Some((0x02, int, _)) => integer(int),
        _ => 0,
    }
}

#[cfg_attr(not(feature = "pkcs12"), allow(dead_code))] // only the PKCS#12 reader counts
fn is_kdf_oid(oid: &[u8]) -> bool {
    if oid == OID_PBKDF2 {
        return true;
    }
    if let Some(last) = oid.strip_prefix(OID_PKCS12_PBE_PREFIX) {
        return last.len() == 1;
    }
    matches!(oid.strip_prefix(OID_PKCS5_PREFIX), Some([arc]) if PBES1_LAST_ARCS.contains(arc))
}

#[cfg_attr(not(feature = "pkcs12"), allow(dead_code))] // only the PKCS#12 reader counts
fn walk(mut input: &[u8], depth: usize, total: &mut u64) {
    // Real PFX files nest about 12 deep; anything deeper is not descended.
    if depth > 32 {
        return;
    }
    while let Some((tag, value, rest)) = der_tlv(input) {
        match tag {
            0x06 if is_kdf_oid(value) => {
                *total = total.saturating_add(params_iterations(rest));
            }
            // SEQUENCE, SET, context-specific constructed [0]..[3]
            0x30 | 0x31 | 0xa0..=0xa3 => walk(value, depth + 1, total),
            // OCTET STRING holding DER (authenticated safe, safe contents)
            0x04 if value.first() == Some(&0x30) && der_tlv(value).is_some() => {
                walk(value, depth + 1, total);
            }
            _ => {}
        }
        input = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_tlv_rejects_overlong_lengths() {
        assert!(der_tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(der_tlv(&[0x30, 0x02, 1]).is_none());
        assert!(der_tlv(&[]).is_none());
        assert_eq!(
            der_tlv(&[0x04, 0x01, 7, 9]),
            Some((0x04, &[7u8][..], &[9u8][..]))
        );
    }

    #[test]
    fn pfx_recognition() {
        assert!(looks_like_pfx(&[0x30, 0x05, 0x02, 0x01, 0x03, 0x30, 0x00]));
        assert!(!looks_like_pfx(&[0x30, 0x05, 0x02, 0x01, 0x02, 0x30, 0x00]));
        assert!(!looks_like_pfx(b"nonsense"));
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            out.extend([0x82, (len >> 8) as u8, len as u8]);
        }
        out.extend_from_slice(content);
        out
    }

    fn pbkdf2_alg(iterations: u32) -> Vec<u8> {
        let mut params = tlv(0x04, &[1; 8]);
        params.extend(tlv(
            0x02,
            &[
                0,
                (iterations >> 24) as u8,
                (iterations >> 16) as u8,
                (iterations >> 8) as u8,
                iterations as u8,
            ],
        ));
        let mut kdf = tlv(0x06, OID_PBKDF2);
        kdf.extend(tlv(0x30, &params));
        tlv(0x30, &kdf)
    }

    #[test]
    fn kdf_iterations_are_summed_over_the_whole_file() {
        // A PFX whose authenticated safe holds 5 bags, each asking for
        // 900,000 PBKDF2 iterations (each under p12-keystore's per-bag cap),
        // and a MAC asking for 900,000 more.
        let bags: Vec<u8> = (0..5)
            .flat_map(|_| tlv(0x30, &pbkdf2_alg(900_000)))
            .collect();
        let safe = tlv(0x30, &bags);
        let mut content_info = tlv(
            0x06,
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01],
        );
        content_info.extend(tlv(0xa0, &tlv(0x04, &safe)));
        let mut mac = tlv(0x30, &[0x30, 0x00, 0x04, 0x00]);
        mac.extend(tlv(0x04, &[2; 8]));
        mac.extend(tlv(0x02, &[0x0d, 0xbb, 0xa0])); // 900,000
        let mut pfx = tlv(0x02, &[3]);
        pfx.extend(tlv(0x30, &content_info));
        pfx.extend(tlv(0x30, &mac));
        let pfx = tlv(0x30, &pfx);
        assert!(looks_like_pfx(&pfx));
        assert_eq!(pkcs12_kdf_iterations(&pfx), 6 * 900_000);
        assert!(pkcs12_kdf_iterations(&pfx) > MAX_PKCS12_KDF_ITERATIONS);
        let refused = crate::Keystore::from_bytes(&pfx, "evil.p12", None);
        assert!(
            matches!(&refused, Err(crate::Error::UnsupportedFormat { detail, .. }) if detail.contains("5400000 key-derivation iterations")),
            "{refused:?}"
        );
    }

    #[test]
    fn huge_iteration_integers_saturate() {
        assert_eq!(integer(&[0x7f; 12]), u64::MAX);
        assert_eq!(integer(&[0x00, 0x00, 0x01]), 1);
        assert_eq!(integer(&[0x80]), 0);
    }
}
