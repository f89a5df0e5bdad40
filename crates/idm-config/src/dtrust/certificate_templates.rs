//! `certificateTemplates` (required) and the verified e-mail domains its
//! templates are checked against.

use crate::diagnostic::{Code, Severity};
use crate::templates::{CertificateTemplate, Location, check_templates};

use super::keys;
use super::options::CheckOptions;
use super::reader::Reader;

/// The options' domains and the file's `verifiedEmailDomains` (`;` or `,`
/// separated).
pub(super) fn read_verified_domains(r: &mut Reader<'_>, options: &CheckOptions) -> Vec<String> {
    let mut domains = options.verified_email_domains.clone();
    if let Some((_, list)) = r.find(keys::VERIFIED_EMAIL_DOMAINS_ALIASES) {
        domains.extend(
            list.split([';', ','])
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
        );
    }
    domains
}

/// The templates, each checked; missing or empty is an error (the
/// connector would not start).
pub(super) fn read_templates(
    r: &mut Reader<'_>,
    verified_email_domains: &[String],
) -> Vec<CertificateTemplate> {
    let file = r.file;
    match file.property(keys::CERTIFICATE_TEMPLATES) {
        None => {
            r.push(
                Severity::Error,
                None,
                Code::TemplatesMissing,
                "certificateTemplates is missing: the D-Trust connector would fail to start when Tomcat deploys it; add certificateTemplates=<product>;<product>...",
            );
            Vec::new()
        }
        Some(p) if p.value().trim().is_empty() => {
            r.error(
                keys::CERTIFICATE_TEMPLATES,
                Code::TemplatesEmpty,
                "certificateTemplates is empty: the D-Trust connector would fail to start when Tomcat deploys it; list the templates separated by `;`",
            );
            Vec::new()
        }
        Some(p) => {
            let at = Location {
                file: file.name(),
                line: Some(p.line()),
            };
            check_templates(p.value(), &at, verified_email_domains, r.out())
        }
    }
}

/// Whether `key` is exactly the product of one of `templates`.
pub(super) fn is_product(templates: &[CertificateTemplate], key: &str) -> bool {
    templates.iter().any(|t| t.product == key)
}
