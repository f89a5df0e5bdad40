//! The four-digit verification code shown during app authentication.

use crate::crypto::backend::digest;

/// The verification code Audkenni's app shows for an `app-auth` request
/// whose `binding_content` is the base64 of `hash`: the big-endian integer
/// of the last two bytes of SHA-256(`hash`), modulo 10000, as four digits.
///
/// Show it to the user so they can compare it with the app.
///
/// Always four digits, zero-padded. Audkenni's Java sample takes the last
/// four characters of the decimal string instead: the same digits when the
/// two-byte value is 1000 or more, but fewer than four characters (or a
/// failure) below 1000, about 1.5 % of hashes.
///
/// ```
/// use audkenni_ciba::{BindingContent, verification_code};
/// // Audkenni's worked example: SHA-512 of the Latin-1 bytes of the text.
/// let latin1: Vec<u8> = "Auðkenni APP Authentication".chars().map(|c| c as u8).collect();
/// let content = BindingContent::sha512_of(&latin1);
/// assert_eq!(verification_code(content.hash_bytes()), "4141");
/// ```
pub fn verification_code(hash: &[u8]) -> String {
    let d = digest::digest(&digest::SHA256, hash);
    let bytes = d.as_ref();
    let n = bytes.len();
    let value = match (bytes.get(n.wrapping_sub(2)), bytes.get(n.wrapping_sub(1))) {
        (Some(a), Some(b)) => u32::from(*a) << 8 | u32::from(*b),
        _ => 0,
    };
    format!("{:04}", value % 10_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audkenni_worked_example_is_4141() {
        let text = "Auðkenni APP Authentication";
        let latin1: Vec<u8> = text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect();
        assert_eq!(latin1.len(), text.chars().count());
        let hash = digest::digest(&digest::SHA512, &latin1);
        assert_eq!(verification_code(hash.as_ref()), "4141");
    }

    #[test]
    fn values_below_1000_are_zero_padded_where_the_java_sample_is_short() {
        let (input, value) = (0u32..)
            .map(|i| {
                let d = digest::digest(&digest::SHA256, &i.to_be_bytes());
                let b = d.as_ref();
                (i, u32::from(b[30]) << 8 | u32::from(b[31]))
            })
            .find(|(_, v)| *v < 1000)
            .unwrap();
        let code = verification_code(&input.to_be_bytes());
        assert_eq!(code, format!("{value:04}"));
        assert!(code.starts_with('0'));
        // The Java sample's reading: the decimal string is shorter than four.
        assert!(value.to_string().len() < 4);
    }

    #[test]
    fn always_four_digits() {
        for i in 0u8..50 {
            let code = verification_code(&[i]);
            assert_eq!(code.len(), 4);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
