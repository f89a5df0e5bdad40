//! Checks before sending: what D-Trust (or the Identity Manager connector)
//! would reject, found before a request is made.

use crate::config::{DtrustConfig, MissingRevocationPassword};
use crate::domains::is_verified_email_domain;
use crate::error::{Error, Result};
use crate::order::OrderRequest;
use crate::product::RequestKind;

fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidOrder {
        field,
        message: message.into(),
    }
}

/// Refuses an order without revocation password unless the client is
/// configured to generate one. Never derives one from the order.
pub(crate) fn check_missing_password(config: &DtrustConfig, order: &OrderRequest) -> Result<()> {
    match config.missing_revocation_password {
        MissingRevocationPassword::Generate => Ok(()),
        MissingRevocationPassword::Refuse => Err(Error::RevocationPasswordMissing {
            client_reference: order.client_reference.clone(),
        }),
    }
}

/// Checks an order against the configuration. The client runs this before
/// every submission (unless turned off with
/// [`crate::DtrustConfigBuilder::pre_send_checks`]).
///
/// E-mail domains are matched with [`crate::is_verified_email_domain`].
///
/// # Errors
/// [`Error::InvalidOrder`] naming the field;
/// [`Error::RevocationPasswordMissing`] for an order without revocation
/// password when the client does not generate one.
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
        None => check_missing_password(config, order)?,
    }
    if !config.verified_email_domains.is_empty() {
        let dn_email = order.subject.email_address.iter();
        for email in order.emails.iter().chain(dn_email) {
            let domain = email
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
                .ok_or_else(|| invalid("emails", format!("{email:?} is not an e-mail address")))?;
            if !is_verified_email_domain(&domain, &config.verified_email_domains) {
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
        let pw = || Secret::new("Abcdefgh1234");
        let ok = OrderRequest::pkcs10("1", SubjectDn::new("a.example.de"), csr)
            .revocation_password(pw());
        check_order(&c, &ok).unwrap();
        let cn = OrderRequest::pkcs10("1", SubjectDn::new("CN=a.example.de"), csr);
        assert_eq!(field(check_order(&c, &cn)), "subject.common_name");
        let no_csr = OrderRequest::new("1", RequestKind::Pkcs10, SubjectDn::new("a"));
        assert_eq!(field(check_order(&c, &no_csr)), "csr");
        let p12_csr = OrderRequest::pkcs12("1", SubjectDn::new("a")).csr(csr);
        assert_eq!(field(check_order(&c, &p12_csr)), "csr");
        let no_cn = OrderRequest::pkcs12("1", SubjectDn::without_common_name().organization("O"));
        assert!(matches!(
            check_order(&c, &no_cn),
            Err(Error::RevocationPasswordMissing { .. })
        ));
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
        let mail = OrderRequest::pkcs12("1", SubjectDn::new("a"))
            .email("x@unverified.org")
            .revocation_password(pw());
        assert_eq!(field(check_order(&c, &mail)), "emails");
        let dn_mail = OrderRequest::pkcs12("1", SubjectDn::new("a").email_address("x@EXAMPLE.de"))
            .revocation_password(pw());
        check_order(&c, &dn_mail).unwrap();
        let bad_ref = OrderRequest::pkcs12("1", SubjectDn::new("a"))
            .client_reference("no spaces")
            .revocation_password(pw());
        assert_eq!(field(check_order(&c, &bad_ref)), "client_reference");
        // Without a configured list, e-mail domains are left to D-Trust.
        check_order(&config(&[]), &mail).unwrap();
    }

    #[test]
    fn wildcard_domains_cover_subdomains_not_the_parent() {
        let c = config(&["*.example.org"]);
        let order = |email: &str| {
            OrderRequest::pkcs12("1", SubjectDn::new("a"))
                .email(email)
                .revocation_password(Secret::new("Abcdefgh1234"))
        };
        check_order(&c, &order("x@mail.example.org")).unwrap();
        check_order(&c, &order("x@a.b.EXAMPLE.org")).unwrap();
        assert_eq!(field(check_order(&c, &order("x@example.org"))), "emails");
        assert_eq!(field(check_order(&c, &order("x@badexample.org"))), "emails");
    }
}
