//! HTTP: settings, requests, responses and the client that sends them.

mod client;
mod request;
mod send;
mod settings;
mod trace;

pub use client::HttpClient;
pub use request::{HttpRequest, HttpResponse, Method, body_snippet, body_snippet_without};
pub use send::{HttpSend, SendFuture};
pub use settings::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_POOL_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, DangerousHttpSettings, HttpSettings,
    ProxySettings,
};

/// A URL fit for messages: no credentials, no query, no fragment.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => redact_parsed(&u),
        Err(_) => {
            let cut = url.find(['?', '#']).unwrap_or(url.len());
            let base = &url[..cut];
            match (base.find("://"), base.rfind('@')) {
                (Some(s), Some(at)) if at > s => format!("{}{}", &base[..s + 3], &base[at + 1..]),
                _ => base.to_owned(),
            }
        }
    }
}

/// [`redact_url`] of a URL already parsed: the same text without parsing
/// it again (the client's hot path).
pub(crate) fn redact_parsed(url: &url::Url) -> String {
    if url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
    {
        return url.as_str().to_owned();
    }
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::{redact_parsed, redact_url};

    #[test]
    fn redacting_a_parsed_url_is_redacting_its_text() {
        for text in [
            "https://user:pw@host:8443/a/b?token=x#f",
            "https://host/a?x",
            "https://host/a#f",
            "https://u@host/",
            "https://host:8443/plain/path",
            "https://HOST/a%20b",
        ] {
            let parsed = url::Url::parse(text).unwrap();
            assert_eq!(redact_parsed(&parsed), redact_url(text), "{text}");
        }
    }

    #[test]
    fn redaction_drops_credentials_and_query() {
        assert_eq!(
            redact_url("https://user:pw@host:8443/a/b?token=x#f"),
            "https://host:8443/a/b"
        );
        assert_eq!(redact_url("nonsense://u:p@h?x"), "nonsense://h");
        assert_eq!(redact_url("not a url?secret"), "not a url");
    }
}
