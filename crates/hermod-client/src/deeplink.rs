//! Links that open the Smart ID apps: `com.nexusgroup.plugout:` for the
//! Desktop App and `personal://` for the Mobile App.

use std::fmt;

use url::form_urlencoded;

use crate::error::{Error, Result};

/// The Desktop App's scheme.
pub const DESKTOP_SCHEME: &str = "com.nexusgroup.plugout";
/// The Mobile App's scheme.
pub const MOBILE_SCHEME: &str = "personal";

/// `com.nexusgroup.plugout:///?url=<urlencoded message-box url>&token=<token>`:
/// opens Smart ID Desktop App on a message box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopLink {
    message_box_url: String,
    token: String,
}

impl DesktopLink {
    /// A link to a message box (`https://host/hermod/rest/ms/<bid>`) with its token.
    ///
    /// # Errors
    /// [`Error::InvalidLink`] when the URL is not https or the token is empty.
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
        if url.scheme() != "https" {
            return Err(Error::InvalidLink(format!(
                "the message-box url uses {}; the Smart ID apps only connect over https",
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

    /// The token.
    pub fn token(&self) -> &str {
        &self.token
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

/// What a Mobile App link opens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MobileTarget {
    /// `personal://start`: opens the app.
    Start,
    /// `personal://<host>/hermod/rest/ms/<bid>/<mid>`: opens a message; the
    /// value is the message's `https://` URL.
    Message(String),
}

/// `personal://start?title=...&redirect=...` or
/// `personal://<hermod-host>/hermod/rest/ms/<bid>/<mid>?title=...&redirect=...`:
/// opens Smart ID Mobile App, shows `title`, and returns to `redirect` when done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobileLink {
    target: MobileTarget,
    title: String,
    redirect: Option<String>,
}

impl MobileLink {
    /// `personal://start?title=..&redirect=..`.
    pub fn start(title: impl Into<String>, redirect: Option<&str>) -> Self {
        Self {
            target: MobileTarget::Start,
            title: title.into(),
            redirect: redirect.map(str::to_owned),
        }
    }

    /// A link to a message at Hermod, from its https `location`.
    ///
    /// # Errors
    /// [`Error::InvalidLink`] when `location` is not an https URL with a host.
    pub fn for_message(location: &str, title: &str, redirect: Option<&str>) -> Result<Self> {
        let url = url::Url::parse(location)
            .map_err(|e| Error::InvalidLink(format!("the message location is not a URL ({e})")))?;
        if url.scheme() != "https" || url.host_str().is_none() {
            return Err(Error::InvalidLink(
                "the message location must be an https URL with a host".into(),
            ));
        }
        let mut plain = url;
        plain.set_query(None);
        plain.set_fragment(None);
        Ok(Self {
            target: MobileTarget::Message(plain.to_string()),
            title: title.to_owned(),
            redirect: redirect.map(str::to_owned),
        })
    }

    /// Parses a `personal://` link.
    ///
    /// # Errors
    /// [`Error::InvalidLink`] for another scheme or a link without target.
    pub fn parse(link: &str) -> Result<Self> {
        let rest = link
            .strip_prefix(MOBILE_SCHEME)
            .and_then(|r| r.strip_prefix("://"))
            .ok_or_else(|| {
                Error::InvalidLink(format!("a Mobile App link starts with {MOBILE_SCHEME}://"))
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
            target,
            title,
            redirect,
        })
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
            MobileTarget::Start => write!(f, "{MOBILE_SCHEME}://start?{query}"),
            MobileTarget::Message(url) => {
                let rest = url.strip_prefix("https://").unwrap_or(url);
                write!(f, "{MOBILE_SCHEME}://{rest}?{query}")
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
        assert!(
            DesktopLink::new("http://h/ms/b", "t")
                .unwrap_err()
                .to_string()
                .contains("https")
        );
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
        assert!(MobileLink::for_message("http://h/x", "t", None).is_err());
    }
}
