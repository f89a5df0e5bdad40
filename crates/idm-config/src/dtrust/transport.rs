//! REST or legacy SOAP, chosen by the presence of `namespaceURI` and
//! `localPart`.

use dtrust_client::SoapService;

use crate::diagnostic::Code;

use super::keys;
use super::reader::Reader;

/// The SOAP service when both keys have a value (`None`: REST); an empty
/// or lone key is an error, SOAP itself a deprecation warning.
pub(super) fn read_soap_service(r: &mut Reader<'_>) -> Option<SoapService> {
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
            Some(SoapService::new(namespace_uri, local_part))
        }
        (Some(_), None) => {
            r.error(
                keys::NAMESPACE_URI,
                Code::SoapHalfConfigured,
                "namespaceURI is set without localPart; for REST remove namespaceURI, for legacy SOAP add localPart",
            );
            None
        }
        (None, Some(_)) => {
            r.error(
                keys::LOCAL_PART,
                Code::SoapHalfConfigured,
                "localPart is set without namespaceURI; for REST remove localPart, for legacy SOAP add namespaceURI",
            );
            None
        }
        (None, None) => None,
    }
}
