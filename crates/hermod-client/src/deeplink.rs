//! Links that open the Smart ID apps: `com.nexusgroup.plugout:` for the
//! Desktop App and `personal://` for the Mobile App.

use std::fmt;

use url::form_urlencoded;

use crate::error::{Error, Result};

/// The Desktop App's scheme.
pub const DESKTOP_SCHEME: &str = "com.nexusgroup.plugout";
/// The standard Mobile App's scheme (apps built on the Smart ID Mobile SDK
/// use their own, see [`MobileLink::with_scheme`]).
pub const MOBILE_SCHEME: &str = "personal";

/// A URL with only scheme, host and port, for `Debug` output: paths carry
/// message-box ids and queries carry tokens.
fn origin_only(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}/[redacted]", u.scheme()),
            (Some(h), None) => format!("{}://{h}/[redacted]", u.scheme()),
            _ => "[redacted]".into(),
        },
        Err(_) => "[redacted]".into(),
    }
}

/// `com.nexusgroup.plugout:///?url=<urlencoded message-box url>&token=<token>`:
/// opens Smart ID Desktop App on a message box.
///
/// `Debug` shows neither the token nor the message-box path; `Display`
/// gives the whole link (it is what the user opens).
#[derive(Clone, PartialEq, Eq)]
pub struct DesktopLink {
    message_box_url: String,
    token: String,
}

impl fmt::Debug for DesktopLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DesktopLink")
            .field("message_box", &origin_only(&self.message_box_url))
            .field("token", &"[redacted]")
            .finish()
    }
}

impl DesktopLink {
    /// A link to a message box (`https://host/hermod/rest/ms/<bid>`) with its token.
    /// A plain-http message box is accepted (Nexus' own documented answer
    /// has one) and reported by [`DesktopLink::is_plain_http`].
    ///
    /// # Errors
    /// [`Error::InvalidLink`] when the URL is not an http(s) URL or the token is empty.
    pub fn new(message_box_url: impl Into<String>, token: impl Into<String>) -> Result<Self> {
        let link = Self {
            message_box_url: message_box_url.into(),
            token: token.into(),
        };
        link.check()?;
        Ok(link)
    }

    fn check(&self) -> Result<()> {
        let url = url::Url::parse(&self.message_box_url)
            .map_err(|e| Error::InvalidLink(format!("the message-box url is not a URL ({e})")))?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(Error::InvalidLink(format!(
                "the message-box url uses {}; expected an https URL with a host",
                url.scheme()
            )));
        }
        if self.token.is_empty() {
            return Err(Error::InvalidLink("the link has no token".into()));
        }
        Ok(())
    }

    /// Parses a link as found in a command answer's `uri`.
    ///
    /// # Errors
    /// [`Error::InvalidLink`] for another scheme, or a missing or invalid
    /// `url` or `token` parameter.
    pub fn parse(link: &str) -> Result<Self> {
        let rest = link
            .strip_prefix(DESKTOP_SCHEME)
            .and_then(|r| r.strip_prefix(':'))
            .ok_or_else(|| {
                Error::InvalidLink(format!("a Desktop App link starts with {DESKTOP_SCHEME}:"))
            })?;
        let query = rest.split_once('?').map(|(_, q)| q).unwrap_or("");
        let mut url = None;
        let mut token = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "url" => url = Some(v.into_owned()),
                "token" => token = Some(v.into_owned()),
                _ => {}
            }
        }
        let message_box_url = url.ok_or_else(|| {
            Error::InvalidLink("the Desktop App link has no url parameter".into())
        })?;
        let token = token.ok_or_else(|| {
            Error::InvalidLink("the Desktop App link has no token parameter".into())
        })?;
        Self::new(message_box_url, token)
    }

    /// The message box URL (`.../hermod/rest/ms/<bid>`).
    pub fn message_box_url(&self) -> &str {
        &self.message_box_url
    }

    /// The token (a secret of the message box: do not log it).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether the message box is plain http. Nexus documents that the
    /// Smart ID apps refuse http to Hermod: such a link likely does not
    /// work for the user, but it is reported, not refused.
    pub fn is_plain_http(&self) -> bool {
        self.message_box_url
            .get(..5)
            .is_some_and(|s| s.eq_ignore_ascii_case("http:"))
    }
}

impl fmt::Display for DesktopLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("url", &self.message_box_url)
            .append_pair("token", &self.token)
            .finish();
        write!(f, "{DESKTOP_SCHEME}:///?{query}")
    }
}

/// What a Mobile App link opens. `Debug` hides the message's path.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MobileTarget {
    /// `personal://start`: opens the app.
    Start,
    /// `personal://<host>/hermod/rest/ms/<bid>/<mid>`: opens a message; the
    /// value is the message's `https://` URL.
    Message(String),
}

impl fmt::Debug for MobileTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MobileTarget::Start => f.write_str("Start"),
            MobileTarget::Message(url) => {
                f.debug_tuple("Message").field(&origin_only(url)).finish()
            }
        }
    }
}

/// `<scheme>://start?title=...&redirect=...` or
/// `<scheme>://<hermod-host>/hermod/rest/ms/<bid>/<mid>?title=...&redirect=...`:
/// opens Smart ID Mobile App, shows `title`, and returns to `redirect` when
/// done. The scheme is `personal` for the standard app; apps built on the
/// Smart ID Mobile SDK use their own ([`MobileLink::with_scheme`]).
///
/// Nexus documents that the Mobile App does not (yet) open links to
/// authentication or signing requests: message links are for provisioning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobileLink {
    scheme: String,
    target: MobileTarget,
    title: String,
    redirect: Option<String>,
}

fn check_scheme(scheme: &str) -> Result<()> {
    let mut chars = scheme.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidLink(format!(
            "{scheme:?} is not a URL scheme (a letter, then letters, digits, '+', '-' or '.')"
        )))
    }
}

impl MobileLink {
    /// `personal://start?title=..&redirect=..`.
    pub fn start(title: impl Into<String>, redirect: Option<&str>) -> Self {
        Self {
            scheme: MOBILE_SCHEME.into(),
            target: MobileTarget::Start,
            title: title.into(),
            redirect: redirect.map(str::to_owned),
        }
    }

    /// A link to a (provisioning) message at Hermod, from its `location`.
    /// The app puts `https://` in front of the link's host and path, so an
    /// http `location` becomes https for the app.
    ///
    /// # Errors
    /// [`Error::InvalidLink`] when `location` is not an http(s) URL with a host.
    pub fn for_message(location: &str, title: &str, redirect: Option<&str>) -> Result<Self> {
        let url = url::Url::parse(location)
            .map_err(|e| Error::InvalidLink(format!("the message location is not a URL ({e})")))?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(Error::InvalidLink(
                "the message location must be an https URL with a host".into(),
            ));
        }
        let mut plain = url;
        plain.set_query(None);
        plain.set_fragment(None);
        let _ = plain.set_scheme("https");
        Ok(Self {
            scheme: MOBILE_SCHEME.into(),
            target: MobileTarget::Message(plain.to_string()),
            title: title.to_owned(),
            redirect: redirect.map(str::to_owned),
        })
    }

    /// Uses another app's scheme (an app built on the Smart ID Mobile SDK).
    ///
    /// # Errors
    /// [`Error::InvalidLink`] when `scheme` is not a URL scheme.
    pub fn with_scheme(mut self, scheme: &str) -> Result<Self> {
        check_scheme(scheme)?;
        self.scheme = scheme.to_ascii_lowercase();
        Ok(self)
    }

    /// Parses a `personal://` link.
    ///
    /// # Errors
    /// [`Error::InvalidLink`] for another scheme or a link without target.
    pub fn parse(link: &str) -> Result<Self> {
        Self::parse_with_scheme(link, MOBILE_SCHEME)
    }

    /// Parses a link of an app with its own `scheme`.
    ///
    /// # Errors
    /// [`Error::InvalidLink`] for another scheme or a link without target.
    pub fn parse_with_scheme(link: &str, scheme: &str) -> Result<Self> {
        check_scheme(scheme)?;
        let rest = link
            .get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .and_then(|_| link.get(scheme.len()..))
            .and_then(|r| r.strip_prefix("://"))
            .ok_or_else(|| {
                Error::InvalidLink(format!("a Mobile App link starts with {scheme}://"))
            })?;
        let (target, query) = rest.split_once('?').unwrap_or((rest, ""));
        let target = target.split('#').next().unwrap_or("");
        let target = match target.trim_end_matches('/') {
            "" => {
                return Err(Error::InvalidLink(
                    "the Mobile App link has no target".into(),
                ));
            }
            "start" => MobileTarget::Start,
            other => {
                let https = format!("https://{other}");
                let url = url::Url::parse(&https).map_err(|e| {
                    Error::InvalidLink(format!(
                        "the Mobile App link's target is not a host and path ({e})"
                    ))
                })?;
                MobileTarget::Message(url.to_string())
            }
        };
        let mut title = String::new();
        let mut redirect = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "title" => title = v.into_owned(),
                "redirect" if !v.is_empty() => redirect = Some(v.into_owned()),
                _ => {}
            }
        }
        Ok(Self {
            scheme: scheme.to_ascii_lowercase(),
            target,
            title,
            redirect,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// What the link opens.
    pub fn target(&self) -> &MobileTarget {
        &self.target
    }

    /// The title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The redirect, if any.
    pub fn redirect(&self) -> Option<&str> {
        self.redirect.as_deref()
    }
}

impl fmt::Display for MobileLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("title", &self.title);
        if let Some(r) = &self.redirect {
            query.append_pair("redirect", r);
        }
        let query = query.finish();
        match &self.target {
            MobileTarget::Start => write!(f, "{}://start?{query}", self.scheme),
            MobileTarget::Message(url) => {
                let rest = url.strip_prefix("https://").unwrap_or(url);
                write!(f, "{}://{rest}?{query}", self.scheme)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desktop_link_round_trip() {
        let l = DesktopLink::new("https://h:20400/hermod/rest/ms/b1", "t-1").unwrap();
        let s = l.to_string();
        assert_eq!(
            s,
            "com.nexusgroup.plugout:///?url=https%3A%2F%2Fh%3A20400%2Fhermod%2Frest%2Fms%2Fb1&token=t-1"
        );
        assert_eq!(DesktopLink::parse(&s).unwrap(), l);
        assert!(DesktopLink::parse("personal://start").is_err());
        assert!(DesktopLink::parse("com.nexusgroup.plugout:///?token=x").is_err());
        assert!(DesktopLink::parse("com.nexusgroup.plugout:///?url=https%3A%2F%2Fh").is_err());
        // Plain http is reported, not refused (Nexus' documented answer has it).
        let http = DesktopLink::new("http://h/ms/b", "t").unwrap();
        assert!(http.is_plain_http() && !l.is_plain_http());
        assert!(DesktopLink::new("ftp://h/ms/b", "t").is_err());
    }

    #[test]
    fn debug_shows_no_token_or_message_path() {
        let l = DesktopLink::new("https://h:20400/hermod/rest/ms/b1-secret", "tok-secret").unwrap();
        let d = format!("{l:?}");
        assert!(!d.contains("tok-secret") && !d.contains("b1-secret"), "{d}");
        assert!(d.contains("https://h:20400"), "{d}");
        let m =
            MobileLink::for_message("https://h/hermod/rest/ms/bid-secret/mid-secret", "t", None)
                .unwrap();
        let d = format!("{m:?}");
        assert!(
            !d.contains("bid-secret") && !d.contains("mid-secret"),
            "{d}"
        );
    }

    #[test]
    fn mobile_scheme_is_a_setting() {
        let m = MobileLink::for_message("http://h:20401/hermod/rest/ms/b/m", "T", None)
            .unwrap()
            .with_scheme("myapp")
            .unwrap();
        assert_eq!(m.to_string(), "myapp://h:20401/hermod/rest/ms/b/m?title=T");
        assert_eq!(
            MobileLink::parse_with_scheme(&m.to_string(), "myapp").unwrap(),
            m
        );
        assert!(MobileLink::parse(&m.to_string()).is_err());
        assert!(MobileLink::start("x", None).with_scheme("1bad").is_err());
        assert!(MobileLink::start("x", None).with_scheme("my app").is_err());
    }

    #[test]
    fn truncated_links_never_panic() {
        let links = [
            "com.nexusgroup.plugout:///?url=https%3A%2F%2Fh%3A20400%2Fhermod%2Frest%2Fms%2Fb1&token=t-1",
            "personal://h:20400/hermod/rest/ms/b/m?title=T%C3%B3n&redirect=https%3A%2F%2Fa",
            "personal://start?title=J\u{f3}n",
        ];
        for link in links {
            for (i, _) in link.char_indices() {
                let _ = DesktopLink::parse(&link[..i]);
                let _ = MobileLink::parse(&link[..i]);
            }
        }
    }

    #[test]
    fn mobile_links_round_trip() {
        let start = MobileLink::start("Log in", Some("https://app/done?x=1"));
        let s = start.to_string();
        assert_eq!(
            s,
            "personal://start?title=Log+in&redirect=https%3A%2F%2Fapp%2Fdone%3Fx%3D1"
        );
        assert_eq!(MobileLink::parse(&s).unwrap(), start);

        let m = MobileLink::for_message("https://h:20400/hermod/rest/ms/b/m", "", None).unwrap();
        assert_eq!(
            m.to_string(),
            "personal://h:20400/hermod/rest/ms/b/m?title="
        );
        let back =
            MobileLink::parse("personal://h:20400/hermod/rest/ms/b/m?title=&redirect=").unwrap();
        assert_eq!(back, m);
        assert_eq!(
            back.target(),
            &MobileTarget::Message("https://h:20400/hermod/rest/ms/b/m".into())
        );
        assert!(MobileLink::parse("personal://").is_err());
        assert!(MobileLink::parse("https://start").is_err());
        assert!(MobileLink::for_message("ftp://h/x", "t", None).is_err());
    }
}
