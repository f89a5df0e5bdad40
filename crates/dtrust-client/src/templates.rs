//! The connector's `certificateTemplates` property.

use std::fmt;

use crate::error::{Error, Result};

/// The certificate templates of the Identity Manager D-Trust connector: one
/// string, `;`-delimited. D-Trust does not publish templates, so they are
/// configured by hand.
///
/// ```
/// use dtrust_client::CertificateTemplates;
/// let t = CertificateTemplates::parse(Some("Advanced SSL ID (RSA); Basic Device ID (ECC);"))?;
/// assert_eq!(t.names(), ["Advanced SSL ID (RSA)", "Basic Device ID (ECC)"]);
/// assert!(CertificateTemplates::parse(Some("  ")).is_err());
/// # Ok::<(), dtrust_client::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateTemplates(Vec<String>);

impl CertificateTemplates {
    /// Parses the property value (`None` = the property is missing). Names
    /// are trimmed; empty entries (e.g. from a trailing `;`) are skipped.
    ///
    /// # Errors
    /// [`Error::InvalidTemplates`] when the value is missing or has no name
    /// (the Identity Manager connector would then fail to start when Tomcat
    /// deploys it), when a name repeats, or has control characters.
    pub fn parse(value: Option<&str>) -> Result<Self> {
        let Some(value) = value else {
            return Err(Error::InvalidTemplates {
                message: "the property is missing; the Identity Manager D-Trust connector would \
                          fail to start when Tomcat deploys it: list the templates separated by ';'"
                    .into(),
            });
        };
        let mut names: Vec<String> = Vec::new();
        for (i, raw) in value.split(';').enumerate() {
            let name = raw.trim();
            if name.is_empty() {
                continue;
            }
            if name.chars().any(char::is_control) {
                return Err(Error::InvalidTemplates {
                    message: format!(
                        "entry {} has control characters; use plain text names",
                        i + 1
                    ),
                });
            }
            if names.iter().any(|n| n == name) {
                return Err(Error::InvalidTemplates {
                    message: format!("{name:?} is listed twice; list each template once"),
                });
            }
            names.push(name.to_owned());
        }
        if names.is_empty() {
            return Err(Error::InvalidTemplates {
                message:
                    "the property is empty; the Identity Manager D-Trust connector would fail \
                          to start when Tomcat deploys it: list the templates separated by ';'"
                        .into(),
            });
        }
        Ok(Self(names))
    }

    /// The template names, in order.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// Whether a template of this name is configured.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|n| n == name)
    }
}

impl fmt::Display for CertificateTemplates {
    /// The property value: names joined with `;`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(";"))
    }
}

impl std::str::FromStr for CertificateTemplates {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(Some(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_name_the_consequence() {
        for v in [None, Some(""), Some(" ; ;")] {
            let e = CertificateTemplates::parse(v).unwrap_err().to_string();
            assert!(e.contains("fail to start"), "{e}");
        }
    }

    #[test]
    fn duplicates_and_control_characters_are_refused() {
        assert!(CertificateTemplates::parse(Some("a;b; a")).is_err());
        assert!(CertificateTemplates::parse(Some("a\u{7};b")).is_err());
        let t: CertificateTemplates = "x;y".parse().unwrap();
        assert_eq!(t.to_string(), "x;y");
        assert!(t.contains("y") && !t.contains("z"));
    }
}
