//! The one rule for "is this e-mail domain among the verified ones", used
//! by the pre-send check and by idm-config's linter.

/// Whether `domain` (the part of an e-mail address after `@`) is covered by
/// the verified domain `verified`.
///
/// The rule (the same in the pre-send check of [`crate::check_order`] and in
/// idm-config's template lint):
/// - names compare ASCII-case-insensitively; surrounding white space, a
///   leading `@` and one trailing `.` are ignored on both sides;
/// - `example.com` matches `example.com` only (not `mail.example.com`);
/// - `*.example.com` matches every name *below* `example.com`, at any depth
///   (`mail.example.com`, `a.b.example.com`), and **not** `example.com`
///   itself: list both when both are used;
/// - a `*` anywhere else (`a*.example.com`, `*example.com`, `*`) matches
///   nothing, and an empty name or a name with an empty label
///   (`a..example.com`) never matches.
///
/// D-Trust does not publish how it matches verified domains: this rule is
/// *inferred* (a domain verified at D-Trust is assumed to cover exactly the
/// names listed for it), so a wildcard here only says what this client lets
/// through before sending; D-Trust still decides (`EMAILDOMAIN_DOES_NOT_FIT`).
///
/// ```
/// use dtrust_client::email_domain_matches;
/// assert!(email_domain_matches("example.com", "Example.COM"));
/// assert!(!email_domain_matches("example.com", "mail.example.com"));
/// assert!(email_domain_matches("*.example.com", "a.b.example.com"));
/// assert!(!email_domain_matches("*.example.com", "example.com"));
/// assert!(!email_domain_matches("*.example.com", "badexample.com"));
/// ```
pub fn email_domain_matches(verified: &str, domain: &str) -> bool {
    let domain = normalize(domain);
    if !is_plain_name(&domain) {
        return false;
    }
    let verified = normalize(verified);
    match verified.strip_prefix("*.") {
        Some(parent) => {
            is_plain_name(parent)
                && domain.len() > parent.len() + 1
                && domain.ends_with(parent)
                && domain.as_bytes()[domain.len() - parent.len() - 1] == b'.'
        }
        None => is_plain_name(&verified) && domain == verified,
    }
}

/// Whether `domain` is covered by any of `verified` (see
/// [`email_domain_matches`] for the rule).
///
/// ```
/// use dtrust_client::is_verified_email_domain;
/// assert!(is_verified_email_domain("ops.example.de", &["example.com", "*.example.de"]));
/// assert!(!is_verified_email_domain("example.de", &["*.example.de"]));
/// ```
pub fn is_verified_email_domain<S: AsRef<str>>(domain: &str, verified: &[S]) -> bool {
    verified
        .iter()
        .any(|v| email_domain_matches(v.as_ref(), domain))
}

/// Whether `value` is usable as a verified-domain entry: a domain name, or
/// `*.` followed by one. The message says what is wrong.
pub(crate) fn check_verified_domain(value: &str) -> Result<(), String> {
    let v = normalize(value);
    let name = v.strip_prefix("*.").unwrap_or(&v);
    if v.contains('@') || v.contains(char::is_whitespace) {
        return Err(format!("{value:?} is not a domain name"));
    }
    if name.contains('*') {
        return Err(format!(
            "{value:?}: a wildcard is only allowed as a leading \"*.\" (e.g. *.example.com)"
        ));
    }
    if !is_plain_name(name) || !name.contains('.') {
        return Err(format!("{value:?} is not a domain name"));
    }
    Ok(())
}

fn normalize(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_prefix('@').unwrap_or(s);
    let s = s.strip_suffix('.').unwrap_or(s);
    s.to_ascii_lowercase()
}

fn is_plain_name(s: &str) -> bool {
    !s.is_empty()
        && !s.contains('*')
        && !s.contains(char::is_whitespace)
        && s.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        let cases = [
            ("example.com", "example.com", true),
            (" @Example.com. ", "EXAMPLE.COM", true),
            ("example.com", "mail.example.com", false),
            ("*.example.com", "mail.example.com", true),
            ("*.example.com", "a.b.example.com", true),
            ("*.example.com", "example.com", false),
            ("*.example.com", "badexample.com", false),
            ("*.example.com", ".example.com", false),
            ("*.example.com", "a..example.com", false),
            ("a*.example.com", "ab.example.com", false),
            ("*example.com", "badexample.com", false),
            ("*", "example.com", false),
            ("*.", "example.com", false),
            ("example.com", "", false),
        ];
        for (verified, domain, expected) in cases {
            assert_eq!(
                email_domain_matches(verified, domain),
                expected,
                "{verified} vs {domain}"
            );
        }
    }

    #[test]
    fn entries_are_checked() {
        assert!(check_verified_domain("*.example.com").is_ok());
        assert!(check_verified_domain("example.com").is_ok());
        for bad in [
            "a*.example.com",
            "*",
            "example",
            "x@example.com",
            "a b.de",
            "*.*.de",
        ] {
            assert!(check_verified_domain(bad).is_err(), "{bad}");
        }
    }
}
