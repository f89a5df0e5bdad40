//! The D-Trust service URL (`url` and its other spellings).

use crate::diagnostic::{Code, Severity};

use super::keys;
use super::reader::Reader;

/// The service URL: absent is a warning (the bundle can still be checked),
/// empty or not an absolute `https` URL is an error.
pub(super) fn read_url(r: &mut Reader<'_>) -> Option<String> {
    match r.find(keys::URL_ALIASES) {
        None => {
            r.push(
                Severity::Warning,
                None,
                Code::UrlMissing,
                format!(
                    "no D-Trust service URL found (looked for {}); the bundle is checked without it, but a client cannot be built: add `url=https://...` (the connector's own key name is not public)",
                    keys::URL_ALIASES.join(", ")
                ),
            );
            None
        }
        Some((key, v)) if v.is_empty() => {
            r.error(
                key,
                Code::UrlMissing,
                format!("{key} is empty; set it to the D-Trust service URL (https://...)"),
            );
            None
        }
        Some((key, u)) => {
            match url::Url::parse(&u) {
                Ok(parsed) if parsed.scheme() == "https" && parsed.host().is_some() => {}
                Ok(parsed) => r.error(
                    key,
                    Code::UrlInvalid,
                    format!(
                        "{key} must be https:// with a host (found scheme `{}`); D-Trust is reached over mutual TLS",
                        parsed.scheme()
                    ),
                ),
                Err(e) => r.error(
                    key,
                    Code::UrlInvalid,
                    format!("{key} is not an absolute URL ({e}); write e.g. https://host/path"),
                ),
            }
            Some(u)
        }
    }
}
