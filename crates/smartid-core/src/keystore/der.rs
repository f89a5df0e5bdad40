//! Just enough DER to recognise containers before handing them to a real parser.

/// Reads one DER TLV (single-byte tags); returns (tag, content, rest).
pub(crate) fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
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
}
