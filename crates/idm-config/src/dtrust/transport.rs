//! REST or legacy SOAP, chosen by the presence of `namespaceURI` and
//! `localPart`.

use crate::diagnostic::Code;

use super::keys;
use super::reader::Reader;

/// Which D-Trust interface the connector uses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtrustTransport {
    /// REST: `namespaceURI` and `localPart` absent. The supported interface.
    Rest,
    /// Legacy SOAP: both `namespaceURI` and `localPart` set. Being phased out.
    Soap {
        /// WSDL target namespace.
        namespace_uri: String,
        /// Service name.
        local_part: String,
    },
}

/// The transport: SOAP when both keys have a value, REST otherwise; an
/// empty or lone key is an error, SOAP itself a deprecation warning.
pub(super) fn read_transport(r: &mut Reader<'_>) -> DtrustTransport {
    let ns = r
        .file
        .get(keys::NAMESPACE_URI)
        .map(str::trim)
        .map(str::to_owned);
    let lp = r
        .file
        .get(keys::LOCAL_PART)
        .map(str::trim)
        .map(str::to_owned);
    for (key, v) in [(keys::NAMESPACE_URI, &ns), (keys::LOCAL_PART, &lp)] {
        if v.as_deref() == Some("") {
            r.error(
                key,
                Code::SoapKeyEmpty,
                format!("{key} is present but empty; for the REST interface you MUST NOT set it: remove the line entirely (for SOAP give its value)"),
            );
        }
    }
    match (ns.filter(|s| !s.is_empty()), lp.filter(|s| !s.is_empty())) {
        (Some(namespace_uri), Some(local_part)) => {
            r.warning(
                keys::NAMESPACE_URI,
                Code::SoapDeprecated,
                "namespaceURI and localPart select the legacy SOAP interface, which D-Trust is phasing out and no longer enables for new accounts; move to REST: remove both lines and set the REST url",
            );
            DtrustTransport::Soap {
                namespace_uri,
                local_part,
            }
        }
        (Some(_), None) => {
            r.error(
                keys::NAMESPACE_URI,
                Code::SoapHalfConfigured,
                "namespaceURI is set without localPart; for REST remove namespaceURI, for legacy SOAP add localPart",
            );
            DtrustTransport::Rest
        }
        (None, Some(_)) => {
            r.error(
                keys::LOCAL_PART,
                Code::SoapHalfConfigured,
                "localPart is set without namespaceURI; for REST remove localPart, for legacy SOAP add namespaceURI",
            );
            DtrustTransport::Rest
        }
        (None, None) => DtrustTransport::Rest,
    }
}
