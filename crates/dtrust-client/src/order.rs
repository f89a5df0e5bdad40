//! What to order: the subject, the request kind, the CSR and the revocation password.

use std::fmt;

use smartid_core::Secret;

use crate::product::RequestKind;

/// The subject distinguished name of a certificate request.
///
/// ```
/// use dtrust_client::SubjectDn;
/// let dn = SubjectDn::new("www.example.de").organization("Example GmbH").country("DE")
///     .organisation_identifier("NTRDE-HRB123456");
/// assert_eq!(dn.common_name(), Some("www.example.de"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct SubjectDn {
    /// CN.
    pub common_name: Option<String>,
    /// O.
    pub organization: Option<String>,
    /// OU.
    pub organizational_unit: Option<String>,
    /// C (two letters).
    pub country: Option<String>,
    /// L.
    pub locality: Option<String>,
    /// ST.
    pub state: Option<String>,
    /// organisationIdentifier (2.5.4.97), e.g. `NTRDE-HRB123456`.
    pub organisation_identifier: Option<String>,
    /// serialNumber (2.5.4.5).
    pub serial_number: Option<String>,
    /// emailAddress (1.2.840.113549.1.9.1), in the DN.
    pub email_address: Option<String>,
}

impl SubjectDn {
    /// A DN with a CN.
    pub fn new(common_name: impl Into<String>) -> Self {
        Self {
            common_name: Some(common_name.into()),
            ..Self::default()
        }
    }

    /// A DN without CN.
    pub fn without_common_name() -> Self {
        Self::default()
    }

    /// The CN.
    pub fn common_name(&self) -> Option<&str> {
        self.common_name.as_deref()
    }

    /// Sets O.
    #[must_use]
    pub fn organization(mut self, v: impl Into<String>) -> Self {
        self.organization = Some(v.into());
        self
    }
    /// Sets OU.
    #[must_use]
    pub fn organizational_unit(mut self, v: impl Into<String>) -> Self {
        self.organizational_unit = Some(v.into());
        self
    }
    /// Sets C.
    #[must_use]
    pub fn country(mut self, v: impl Into<String>) -> Self {
        self.country = Some(v.into());
        self
    }
    /// Sets L.
    #[must_use]
    pub fn locality(mut self, v: impl Into<String>) -> Self {
        self.locality = Some(v.into());
        self
    }
    /// Sets ST.
    #[must_use]
    pub fn state(mut self, v: impl Into<String>) -> Self {
        self.state = Some(v.into());
        self
    }
    /// Sets organisationIdentifier.
    #[must_use]
    pub fn organisation_identifier(mut self, v: impl Into<String>) -> Self {
        self.organisation_identifier = Some(v.into());
        self
    }
    /// Sets serialNumber.
    #[must_use]
    pub fn serial_number(mut self, v: impl Into<String>) -> Self {
        self.serial_number = Some(v.into());
        self
    }
    /// Sets emailAddress in the DN.
    #[must_use]
    pub fn email_address(mut self, v: impl Into<String>) -> Self {
        self.email_address = Some(v.into());
        self
    }

    /// The attributes as (short name, value) pairs in a fixed order.
    pub fn attributes(&self) -> Vec<(&'static str, &str)> {
        let fields: [(&'static str, &Option<String>); 9] = [
            ("C", &self.country),
            ("ST", &self.state),
            ("L", &self.locality),
            ("O", &self.organization),
            ("OU", &self.organizational_unit),
            ("organizationIdentifier", &self.organisation_identifier),
            ("serialNumber", &self.serial_number),
            ("emailAddress", &self.email_address),
            ("CN", &self.common_name),
        ];
        fields
            .into_iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
            .collect()
    }
}

/// A certificate order.
///
/// Every order carries a client reference (random by default) that D-Trust
/// stores with the request, so that a submission whose answer was lost can
/// be found again instead of ordered twice.
#[derive(Clone)]
pub struct OrderRequest {
    pub(crate) product_id: String,
    pub(crate) kind: RequestKind,
    pub(crate) subject: SubjectDn,
    pub(crate) csr_der: Option<Vec<u8>>,
    pub(crate) emails: Vec<String>,
    pub(crate) revocation_password: Option<Secret>,
    pub(crate) client_reference: String,
}

impl fmt::Debug for OrderRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderRequest")
            .field("product_id", &self.product_id)
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .field("csr_bytes", &self.csr_der.as_ref().map(Vec::len))
            .field("emails", &self.emails)
            .field("revocation_password", &self.revocation_password)
            .field("client_reference", &self.client_reference)
            .finish()
    }
}

impl OrderRequest {
    /// An order of the given kind. Attach a CSR with [`OrderRequest::csr`]
    /// for PKCS#10 kinds.
    pub fn new(product_id: impl Into<String>, kind: RequestKind, subject: SubjectDn) -> Self {
        Self {
            product_id: product_id.into(),
            kind,
            subject,
            csr_der: None,
            emails: Vec::new(),
            revocation_password: None,
            client_reference: crate::password::random_reference(),
        }
    }

    /// A PKCS#10 order with the client's CSR (DER or PEM).
    pub fn pkcs10(product_id: impl Into<String>, subject: SubjectDn, csr: &[u8]) -> Self {
        Self::new(product_id, RequestKind::Pkcs10, subject).csr(csr)
    }

    /// A PKCS#12 order: D-Trust makes the key.
    pub fn pkcs12(product_id: impl Into<String>, subject: SubjectDn) -> Self {
        Self::new(product_id, RequestKind::Pkcs12, subject)
    }

    /// Attaches a PKCS#10 request (DER, or PEM which is converted to DER).
    #[must_use]
    pub fn csr(mut self, csr: &[u8]) -> Self {
        self.csr_der = Some(crate::csr::csr_to_der(csr));
        self
    }

    /// Adds an e-mail address (sent as rfc822Name SAN).
    #[must_use]
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.emails.push(email.into());
        self
    }

    /// Sets the revocation password (recommended: one made by
    /// [`crate::generate_revocation_password`], stored as a secret). Without
    /// one, [`crate::DtrustClient::submit`] refuses the order, or generates
    /// one and returns it, as configured with
    /// [`crate::DtrustConfigBuilder::missing_revocation_password`]; a
    /// password is never derived from the order.
    #[must_use]
    pub fn revocation_password(mut self, password: Secret) -> Self {
        self.revocation_password = Some(password);
        self
    }

    /// Sets the client reference (1 to 64 letters, digits, `-`, `_`, `.`).
    /// Store it before submitting if the process may stop mid-way.
    #[must_use]
    pub fn client_reference(mut self, reference: impl Into<String>) -> Self {
        self.client_reference = reference.into();
        self
    }

    /// The client reference.
    pub fn reference(&self) -> &str {
        &self.client_reference
    }

    /// The product identifier.
    pub fn product_id(&self) -> &str {
        &self.product_id
    }

    /// The request kind.
    pub fn kind(&self) -> &RequestKind {
        &self.kind
    }

    /// The subject.
    pub fn subject(&self) -> &SubjectDn {
        &self.subject
    }

    /// The e-mail addresses.
    pub fn emails(&self) -> &[String] {
        &self.emails
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_revocation_password() {
        let o = OrderRequest::pkcs12("1", SubjectDn::new("a"))
            .revocation_password(Secret::new("Top-Secret-123"));
        let dbg = format!("{o:?}");
        assert!(
            !dbg.contains("Top-Secret") && dbg.contains("redacted"),
            "{dbg}"
        );
        assert_eq!(o.reference().len(), 32);
        assert_ne!(
            o.reference(),
            OrderRequest::pkcs12("1", SubjectDn::new("a")).reference()
        );
    }

    #[test]
    fn pem_csrs_are_stored_as_der() {
        let pem = smartid_core::internal::pem_encode("CERTIFICATE REQUEST", &[1, 2, 3]);
        let o = OrderRequest::pkcs10("1", SubjectDn::new("a"), pem.as_bytes());
        assert_eq!(o.csr_der.as_deref(), Some(&[1u8, 2, 3][..]));
    }
}
