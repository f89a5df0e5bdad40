//! CRL distribution points of a certificate, and the CRL fetch.

use der::Decode;
use smartid_core::{Certificate, HttpRequest, HttpSend};
use x509_cert::ext::pkix::CrlDistributionPoints;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};

/// The http(s) URLs of the certificate's CRL distribution points, in order.
pub(crate) fn distribution_points(cert: &Certificate) -> Result<Vec<String>, String> {
    let parsed = x509_cert::Certificate::from_der(cert.der())
        .map_err(|e| format!("the certificate cannot be parsed ({e})"))?;
    let Some((_, points)) = parsed
        .tbs_certificate()
        .get_extension::<CrlDistributionPoints>()
        .map_err(|e| format!("the CRL distribution points cannot be parsed ({e})"))?
    else {
        return Ok(Vec::new());
    };
    let mut urls = Vec::new();
    for point in points.0 {
        if let Some(DistributionPointName::FullName(names)) = point.distribution_point {
            for name in names {
                if let GeneralName::UniformResourceIdentifier(uri) = name {
                    let uri = uri.to_string();
                    if uri.starts_with("http://") || uri.starts_with("https://") {
                        urls.push(uri);
                    }
                }
            }
        }
    }
    Ok(urls)
}

/// Fetches the first CRL that answers from the certificate's distribution
/// points; `Err` says why there is none.
pub(crate) async fn fetch(http: &dyn HttpSend, cert: &Certificate) -> Result<Vec<u8>, String> {
    let urls = distribution_points(cert)?;
    if urls.is_empty() {
        return Err("the signer certificate names no http CRL distribution point".into());
    }
    let mut failures = Vec::new();
    for url in urls {
        let shown = smartid_core::internal::redact_url(&url);
        match http.send(HttpRequest::get(&url)).await {
            Ok(r) if r.is_success() && !r.body().is_empty() => return Ok(r.body().to_vec()),
            Ok(r) => failures.push(format!("{shown} answered HTTP {}", r.status())),
            Err(e) => failures.push(format!("{shown}: {e}")),
        }
    }
    Err(format!("no CRL could be fetched: {}", failures.join("; ")))
}
