//! Masking of personal identifiers for logs and messages.

/// An identifier fit for a log line: a national id (kennitala, ten digits,
/// with or without the `-`) keeps its first six digits (`120174-****`), any
/// other identifier (a phone number, an e-mail address, a login hint of
/// another shape) keeps at most its first three characters and never more
/// than a third of them, the rest becomes `*`. The empty string stays empty.
///
/// Every client logs login hints and national ids only through this
/// function.
///
/// ```
/// use smartid_core::mask_identifier;
/// assert_eq!(mask_identifier("1201743399"), "120174-****");
/// assert_eq!(mask_identifier("120174-3399"), "120174-****");
/// assert_eq!(mask_identifier("7700001"), "77*****");
/// assert_eq!(mask_identifier("ab"), "**");
/// ```
pub fn mask_identifier(value: &str) -> String {
    let value = value.trim();
    let digits: String = value.chars().filter(|c| *c != '-').collect();
    if digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return format!("{}-****", &digits[..6]);
    }
    let count = value.chars().count();
    let keep = (count / 3).min(3);
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i < keep { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::mask_identifier;

    #[test]
    fn masks_never_show_a_whole_identifier() {
        assert_eq!(mask_identifier(" 0101302989 "), "010130-****");
        assert_eq!(mask_identifier("+3547700001"), "+35********");
        assert_eq!(mask_identifier("jon@example.is"), "jon***********");
        assert_eq!(mask_identifier(""), "");
        assert_eq!(mask_identifier("x"), "*");
        assert_eq!(mask_identifier("Þórsson1"), "Þó******");
    }
}
