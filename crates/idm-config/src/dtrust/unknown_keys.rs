//! Keys this project does not read: a warning each, with a suggestion for
//! a likely typo.

use crate::diagnostic::{Code, Severity};
use crate::templates::CertificateTemplate;

use super::certificate_templates::is_product;
use super::key_backup::mapping_product;
use super::keys;
use super::proxy::PROXY_AUTH_KEYS;
use super::reader::Reader;

const KNOWN_KEYS: &[&str] = &[
    keys::URL,
    keys::P12_FILE,
    keys::P12_PASSWORD,
    keys::SERVER_CERTIFICATE,
    keys::NAMESPACE_URI,
    keys::LOCAL_PART,
    keys::PROXY_HOST,
    keys::PROXY_PORT,
    keys::KEY_ARCHIVE,
    keys::CERTIFICATE_TEMPLATES,
    keys::VERIFIED_EMAIL_DOMAINS,
    keys::CA_TOKEN_PROCEDURE_IMPORT_CERT,
];

const ALIAS_LISTS: &[&[&str]] = &[
    keys::URL_ALIASES,
    keys::P12_FILE_ALIASES,
    keys::SERVER_CERTIFICATE_ALIASES,
    keys::PROXY_HOST_ALIASES,
    keys::PROXY_PORT_ALIASES,
    keys::VERIFIED_EMAIL_DOMAINS_ALIASES,
];

fn is_known_key(key: &str) -> bool {
    KNOWN_KEYS.contains(&key) || ALIAS_LISTS.iter().any(|list| list.contains(&key))
}

/// A warning for every key that is neither known, nor proxy credentials
/// (already an error), nor a product mapping.
pub(super) fn check_unknown_keys(r: &mut Reader<'_>, templates: &[CertificateTemplate]) {
    let file = r.file;
    for p in file.iter() {
        let key = p.key();
        if is_known_key(key)
            || PROXY_AUTH_KEYS.contains(&key)
            || mapping_product(key).is_some()
            || is_product(templates, key)
        {
            continue;
        }
        let message = if let Some(suggestion) = suggest(key) {
            format!("unknown key `{key}` (ignored); did you mean `{suggestion}`?")
        } else {
            format!(
                "unknown key `{key}` (ignored by these checks); see docs/idm-config.md for the keys read"
            )
        };
        r.push(Severity::Warning, Some(p.line()), Code::UnknownKey, message);
    }
}

/// A known key close to `key` (case or a small typo).
fn suggest(key: &str) -> Option<&'static str> {
    KNOWN_KEYS
        .iter()
        .copied()
        .chain([keys::TOKEN_PROCEDURE_PREFIX])
        .find(|k| {
            k.eq_ignore_ascii_case(key)
                || edit_distance(&k.to_ascii_lowercase(), &key.to_ascii_lowercase()) <= 2
        })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(usize::MAX - 1) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(usize::MAX - 1) + 1;
            let ins = cur.get(j).copied().unwrap_or(usize::MAX - 1) + 1;
            if let Some(slot) = cur.get_mut(j + 1) {
                *slot = sub.min(del).min(ins);
            }
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion() {
        assert_eq!(suggest("p12Pasword"), Some(keys::P12_PASSWORD));
        assert_eq!(suggest("NAMESPACEURI"), Some(keys::NAMESPACE_URI));
        assert_eq!(suggest("somethingElse"), None);
    }
}
