//! The bundle's files as the properties name them: the client PKCS#12
//! (`p12File`, `p12Password`) and the D-Trust server certificate
//! (`serverCertificate`).

use smartid_core::Secret;

use crate::diagnostic::Code;

use super::keys;
use super::reader::Reader;

/// The default PKCS#12 password of the Identity Manager D-Trust connector.
pub const DEFAULT_P12_PASSWORD: &str = "123456";

/// The file names (optional: the files are found by content) and the
/// PKCS#12 password.
pub(super) struct BundleFiles {
    pub(super) p12_file: Option<String>,
    pub(super) p12_password: Secret,
    pub(super) server_certificate: Option<String>,
}

pub(super) fn read_bundle_files(r: &mut Reader<'_>) -> BundleFiles {
    let p12_file = r.file_name(
        keys::P12_FILE_ALIASES,
        Code::P12FileMissing,
        "client PKCS#12",
    );
    let server_certificate = r.file_name(
        keys::SERVER_CERTIFICATE_ALIASES,
        Code::ServerCertificateMissing,
        "D-Trust server certificate",
    );
    BundleFiles {
        p12_file,
        p12_password: read_p12_password(r),
        server_certificate,
    }
}

/// `p12Password`: the default when absent, an error when present but empty.
fn read_p12_password(r: &mut Reader<'_>) -> Secret {
    match r.file.get(keys::P12_PASSWORD) {
        Some("") => {
            r.error(
                keys::P12_PASSWORD,
                Code::P12PasswordEmpty,
                "p12Password is empty; set it to the PKCS#12 password, or remove the line to use the default",
            );
            Secret::new("")
        }
        Some(p) => Secret::new(p),
        None => Secret::new(DEFAULT_P12_PASSWORD),
    }
}
