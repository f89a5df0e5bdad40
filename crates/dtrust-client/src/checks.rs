//! Checks before sending: what D-Trust (or the Identity Manager connector)
//! would reject, found before a request is made.

use crate::config::DtrustConfig;
use crate::error::{Error, Result};
use crate::order::OrderRequest;
use crate::product::RequestKind;

fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidOrder {
        field,
        message: message.into(),
    }
}

/// Checks an order against the configuration. The client runs this before
/// every submission (unless turned off with
/// [`crate::DtrustConfigBuilder::pre_send_checks`]).
///
/// # Errors
/// [`Error::InvalidOrder`] naming the field.
pub fn check_order(config: &DtrustConfig, order: &OrderRequest) -> Result<()> {
    if order.product_id.trim().is_empty() {
        return Err(invalid("product_id", "empty; use an id from list_products"));
    }
    let r = &order.client_reference;
    if r.is_empty()
        || r.len() > 64
        || !r
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(invalid(
            "client_reference",
            "use 1 to 64 letters, digits, '-', '_' or '.'",
        ));
    }
    for (name, value) in order.subject.attributes() {
        if value.trim().is_empty() {
            return Err(invalid(
                "subject",
                format!("{name} is empty; leave it out or give a value"),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(invalid("subject", format!("{name} has control characters")));
        }
    }
    if let Some(cn) = order.subject.common_name()
        && cn.to_ascii_uppercase().contains("CN=")
    {
        return Err(invalid(
            "subject.common_name",
            format!(
                "the CN value {cn:?} contains 'CN='; give the value only (D-Trust would answer \
                 GENERIC_RDN_REGEXERROR): check the certificate template"
            ),
        ));
    }
    match (&order.kind, &order.csr_der) {
        (RequestKind::Pkcs10, None) => {
            return Err(invalid(
                "csr",
                "a PKCS#10 order needs a CSR (D-Trust would answer \"certificate request type \
                 does not seem to match its content\"): attach one, or order PKCS#12",
            ));
        }
        (RequestKind::Pkcs12, Some(_)) => {
            return Err(invalid(
                "csr",
                "a PKCS#12 order must not carry a CSR (D-Trust makes the key; it would answer \
                 \"certificate request type does not seem to match its content\"): remove it, or order PKCS#10",
            ));
        }
        (RequestKind::Pkcs10, Some(csr)) if csr.is_empty() => {
            return Err(invalid("csr", "the CSR is empty"));
        }
        _ => {}
    }
    match &order.revocation_password {
        Some(p) => config.password_policy.check(p)?,
        None if order.subject.common_name().is_none() => {
            return Err(invalid(
                "revocation_password",
                "missing, and the subject has no CN to derive the legacy password from (the \
                 Identity Manager connector failed here with a NullPointerException): pass a \
                 revocation password (recommended: generate_revocation_password)",
            ));
        }
        None => {}
    }
    if !config.verified_email_domains.is_empty() {
        let dn_email = order.subject.email_address.iter();
        for email in order.emails.iter().chain(dn_email) {
            let domain = email
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
                .ok_or_else(|| invalid("emails", format!("{email:?} is not an e-mail address")))?;
            if !config.verified_email_domains.contains(&domain) {
                return Err(invalid(
                    "emails",
                    format!(
                        "{email} uses domain {domain}, which is not among the verified domains {:?} \
                         (D-Trust would answer EMAILDOMAIN_DOES_NOT_FIT): verify the domain in the \
                         D-Trust portal or use another address",
                        config.verified_email_domains
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use smartid_core::Secret;
    use smartid_testkit::TestPki;

    use super::*;
    use crate::order::SubjectDn;

    fn config(domains: &[&str]) -> DtrustConfig {
        let pki = TestPki::generate().unwrap();
        DtrustConfig::rest("https://localhost/rest")
            .client_identity(pki.client("c").unwrap().to_client_identity().unwrap())
            .verified_email_domains(domains.iter().copied())
            .build()
            .unwrap()
    }

    fn field(r: Result<()>) -> &'static str {
        match r {
            Err(Error::InvalidOrder { field, .. }) => field,
            other => panic!("expected InvalidOrder, got {other:?}"),
        }
    }

    #[test]
    fn each_check_names_its_field() {
        let c = config(&["example.de"]);
        let csr = b"csr".as_slice();
        let ok = OrderRequest::pkcs10("1", SubjectDn::new("a.example.de"), csr);
        check_order(&c, &ok).unwrap();
        let cn = OrderRequest::pkcs10("1", SubjectDn::new("CN=a.example.de"), csr);
        assert_eq!(field(check_order(&c, &cn)), "subject.common_name");
        let no_csr = OrderRequest::new("1", RequestKind::Pkcs10, SubjectDn::new("a"));
        assert_eq!(field(check_order(&c, &no_csr)), "csr");
        let p12_csr = OrderRequest::pkcs12("1", SubjectDn::new("a")).csr(csr);
        assert_eq!(field(check_order(&c, &p12_csr)), "csr");
        let no_cn = OrderRequest::pkcs12("1", SubjectDn::without_common_name().organization("O"));
        assert_eq!(field(check_order(&c, &no_cn)), "revocation_password");
        check_order(
            &c,
            &no_cn
                .clone()
                .revocation_password(Secret::new("Abcdefgh1234")),
        )
        .unwrap();
        let weak =
            OrderRequest::pkcs12("1", SubjectDn::new("a")).revocation_password(Secret::new("weak"));
        assert_eq!(field(check_order(&c, &weak)), "revocation_password");
        let mail = OrderRequest::pkcs12("1", SubjectDn::new("a")).email("x@unverified.org");
        assert_eq!(field(check_order(&c, &mail)), "emails");
        let dn_mail = OrderRequest::pkcs12("1", SubjectDn::new("a").email_address("x@EXAMPLE.de"));
        check_order(&c, &dn_mail).unwrap();
        let bad_ref = OrderRequest::pkcs12("1", SubjectDn::new("a")).client_reference("no spaces");
        assert_eq!(field(check_order(&c, &bad_ref)), "client_reference");
        // Without a configured list, e-mail domains are left to D-Trust.
        check_order(&config(&[]), &mail).unwrap();
    }
}
