//! The D-Trust connector's `certificateTemplates` list, as this project reads it.
//!
//! The seed says only that the value is one string with `;` between
//! templates. This crate reads each template as
//! `PRODUCT[|SUBJECT[|SAN,SAN...]]`: the D-Trust product name, optionally the
//! subject DN (`CN=...,O=...,E=...`, `\,` for a literal comma, `${...}`
//! placeholders allowed) and optionally subject alternative names
//! (`email:addr`, `dns:name`). See `docs/idm-config.md`.

use crate::diagnostic::{Code, Diagnostic};

/// One certificate template of the connector configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateTemplate {
    /// The D-Trust product ("certificate type"), e.g. `Advanced SSL ID (RSA)`.
    pub product: String,
    /// Subject attributes in order, `(attribute, value)`, unescaped.
    pub subject: Vec<(String, String)>,
    /// Subject alternative names as written, e.g. `email:a@example.com`.
    pub subject_alt_names: Vec<String>,
}

impl CertificateTemplate {
    /// Every literal e-mail address of the template (subject `E`/`emailAddress`
    /// and `email:` SANs), placeholders included as written.
    pub fn emails(&self) -> impl Iterator<Item = &str> {
        let from_subject = self
            .subject
            .iter()
            .filter(|(attr, _)| is_email_attribute(attr))
            .map(|(_, v)| v.as_str());
        let from_sans = self.subject_alt_names.iter().filter_map(|san| {
            let (kind, value) = san.split_once(':')?;
            matches!(
                kind.trim().to_ascii_lowercase().as_str(),
                "email" | "rfc822name"
            )
            .then_some(value.trim())
        });
        from_subject.chain(from_sans)
    }
}

impl CertificateTemplate {
    /// A template for `product` with no subject or SANs.
    pub fn new(product: impl Into<String>) -> Self {
        Self {
            product: product.into(),
            subject: Vec::new(),
            subject_alt_names: Vec::new(),
        }
    }

    /// The template written back in `PRODUCT[|SUBJECT[|SANS]]` form.
    pub fn to_spec(&self) -> String {
        let esc = |s: &str| {
            s.chars().fold(String::new(), |mut out, c| {
                if matches!(c, ',' | ';' | '|' | '\\') {
                    out.push('\\');
                }
                out.push(c);
                out
            })
        };
        let mut out = esc(&self.product);
        if !self.subject.is_empty() || !self.subject_alt_names.is_empty() {
            out.push('|');
            let rdns: Vec<String> = self
                .subject
                .iter()
                .map(|(a, v)| format!("{a}={}", esc(v)))
                .collect();
            out.push_str(&rdns.join(","));
        }
        if !self.subject_alt_names.is_empty() {
            out.push('|');
            let sans: Vec<String> = self.subject_alt_names.iter().map(|s| esc(s)).collect();
            out.push_str(&sans.join(","));
        }
        out
    }
}

fn is_email_attribute(attr: &str) -> bool {
    matches!(
        attr.to_ascii_lowercase().as_str(),
        "e" | "email" | "emailaddress" | "1.2.840.113549.1.9.1"
    )
}

/// Splits on `sep` outside `\` escapes; escapes are kept.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(s.get(start..i).unwrap_or_default());
            start = i + c.len_utf8();
        }
    }
    parts.push(s.get(start..).unwrap_or_default());
    parts
}

fn unescape_dn_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Where the templates value was found, for diagnostics.
pub(crate) struct Location<'a> {
    pub(crate) file: &'a str,
    pub(crate) line: Option<usize>,
}

/// Parses and checks the `certificateTemplates` value. `verified_domains`
/// empty means no e-mail domain check.
pub(crate) fn check_templates(
    value: &str,
    at: &Location<'_>,
    verified_domains: &[String],
    out: &mut Vec<Diagnostic>,
) -> Vec<CertificateTemplate> {
    let mut templates: Vec<CertificateTemplate> = Vec::new();
    let elements = split_unescaped(value, ';');
    let count = elements.len();
    for (index, element) in elements.into_iter().enumerate() {
        let element = element.trim();
        if element.is_empty() {
            if value.trim().is_empty() {
                continue; // reported as D002 by the caller
            }
            let what = if index + 1 == count {
                "a trailing `;`"
            } else {
                "an empty template between two `;`"
            };
            out.push(Diagnostic::warning(
                at.file,
                at.line,
                Code::TemplateSyntax,
                format!("certificateTemplates has {what}; remove the extra `;`"),
            ));
            continue;
        }
        let mut parts = split_unescaped(element, '|').into_iter();
        let product = parts.next().unwrap_or_default().trim().to_owned();
        let subject_text = parts.next().map(str::trim).unwrap_or_default();
        let sans_text = parts.next().map(str::trim).unwrap_or_default();
        if parts.next().is_some() || product.is_empty() {
            out.push(Diagnostic::error(
                at.file,
                at.line,
                Code::TemplateSyntax,
                format!(
                    "certificateTemplates element `{element}` is not `PRODUCT[|SUBJECT[|SANS]]`; start it with the D-Trust product name and use at most two `|`"
                ),
            ));
            continue;
        }
        let mut subject = Vec::new();
        if !subject_text.is_empty() {
            for rdn in split_unescaped(subject_text, ',') {
                match rdn.split_once('=') {
                    Some((attr, v)) if !attr.trim().is_empty() => {
                        subject.push((attr.trim().to_owned(), unescape_dn_value(v.trim())));
                    }
                    _ => out.push(Diagnostic::error(
                        at.file,
                        at.line,
                        Code::TemplateSyntax,
                        format!(
                            "template `{product}`: subject part `{}` is not ATTRIBUTE=value; write e.g. CN=${{cn}},O=Example (escape a comma inside a value as `\\,`, written `\\\\,` in a .properties file)",
                            rdn.trim()
                        ),
                    )),
                }
            }
        }
        let subject_alt_names = if sans_text.is_empty() {
            Vec::new()
        } else {
            split_unescaped(sans_text, ',')
                .into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let template = CertificateTemplate {
            product,
            subject,
            subject_alt_names,
        };
        check_template(&template, at, verified_domains, out);
        if templates.iter().any(|t| t.product == template.product) {
            out.push(Diagnostic::warning(
                at.file,
                at.line,
                Code::TemplateDuplicate,
                format!(
                    "template `{}` is listed twice in certificateTemplates; remove one",
                    template.product
                ),
            ));
        }
        templates.push(template);
    }
    templates
}

fn check_template(
    t: &CertificateTemplate,
    at: &Location<'_>,
    verified_domains: &[String],
    out: &mut Vec<Diagnostic>,
) {
    for (attr, value) in &t.subject {
        if attr.eq_ignore_ascii_case("CN") && value.to_ascii_uppercase().contains("CN=") {
            out.push(Diagnostic::error(
                at.file,
                at.line,
                Code::TemplateCnContainsCn,
                format!(
                    "template `{}`: the CN value `{value}` contains `CN=`; D-Trust rejects it with GENERIC_RDN_REGEXERROR: remove `CN=` from the value",
                    t.product
                ),
            ));
        }
    }
    for email in t.emails() {
        let Some((local, domain)) = email.rsplit_once('@') else {
            if !email.contains("${") {
                out.push(Diagnostic::error(
                    at.file,
                    at.line,
                    Code::TemplateEmailInvalid,
                    format!(
                        "template `{}`: `{email}` is not an e-mail address; write local@domain or a ${{...}} placeholder",
                        t.product
                    ),
                ));
            }
            continue;
        };
        if local.is_empty() || domain.is_empty() || domain.contains(char::is_whitespace) {
            out.push(Diagnostic::error(
                at.file,
                at.line,
                Code::TemplateEmailInvalid,
                format!(
                    "template `{}`: `{email}` is not an e-mail address",
                    t.product
                ),
            ));
            continue;
        }
        if domain.contains("${") || verified_domains.is_empty() {
            continue;
        }
        // The one matching rule, shared with dtrust-client's pre-send check.
        if !dtrust_client::is_verified_email_domain(domain, verified_domains) {
            out.push(Diagnostic::warning(
                at.file,
                at.line,
                Code::TemplateEmailDomain,
                format!(
                    "template `{}`: e-mail domain `{domain}` is not in the verified list ({}); D-Trust would answer EMAILDOMAIN_DOES_NOT_FIT: verify the domain in the D-Trust portal or use an address in a verified domain",
                    t.product,
                    verified_domains.join(", ")
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(value: &str, verified: &[&str]) -> (Vec<CertificateTemplate>, Vec<Diagnostic>) {
        let mut out = Vec::new();
        let verified: Vec<String> = verified.iter().map(|s| (*s).to_owned()).collect();
        let at = Location {
            file: "f",
            line: Some(1),
        };
        let t = check_templates(value, &at, &verified, &mut out);
        (t, out)
    }

    #[test]
    fn reads_products_subjects_and_sans() {
        let (t, d) = run(
            "Advanced SSL ID (RSA)|CN=${cn},O=neXus\\, GmbH,E=pki@example.com|email:ops@example.com ; Basic Device ID (ECC)",
            &["example.com"],
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].subject[1], ("O".to_owned(), "neXus, GmbH".to_owned()));
        assert_eq!(
            t[0].emails().collect::<Vec<_>>(),
            ["pki@example.com", "ops@example.com"]
        );
        assert_eq!(t[1].product, "Basic Device ID (ECC)");
    }

    #[test]
    fn cn_containing_cn_is_an_error() {
        let (_, d) = run("P|CN=CN=Jón Jónsson,O=X", &[]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::TemplateCnContainsCn);
        assert!(d[0].is_error());
    }

    #[test]
    fn unverified_domain_warns_only_when_a_list_is_configured() {
        let (_, d) = run("P|CN=x,E=a@other.org", &["example.com", "*.example.net"]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::TemplateEmailDomain);
        assert!(!d[0].is_error());
        let (_, d) = run("P|CN=x,E=a@other.org", &[]);
        assert!(d.is_empty());
        let (_, d) = run("P|CN=x|email:a@mail.example.net", &["*.example.net"]);
        assert!(d.is_empty());
        let (_, d) = run("P|CN=x|email:${mail}", &["example.com"]);
        assert!(d.is_empty());
    }

    #[test]
    fn syntax_problems() {
        let (_, d) = run("A;;B;", &[]);
        assert_eq!(
            d.iter().filter(|d| d.code == Code::TemplateSyntax).count(),
            2
        );
        let (_, d) = run("A|CN=x|y|z", &[]);
        assert_eq!(d[0].code, Code::TemplateSyntax);
        let (_, d) = run("A|justtext", &[]);
        assert_eq!(d[0].code, Code::TemplateSyntax);
        let (_, d) = run("A;A", &[]);
        assert_eq!(d[0].code, Code::TemplateDuplicate);
        let (_, d) = run("A|E=nobody", &[]);
        assert_eq!(d[0].code, Code::TemplateEmailInvalid);
    }
}
