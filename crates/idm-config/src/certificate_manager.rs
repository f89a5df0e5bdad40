//! The Certificate Manager connector's `Nexus_CM.properties`, as far as the
//! D-Trust key backup needs it.

use crate::diagnostic::{Code, Diagnostic};
use crate::dtrust::keys;
use crate::properties::PropertiesFile;

/// Checks `Nexus_CM.properties` for the D-Trust key backup: the token
/// procedure for importing the D-Trust certificate
/// (`caTokenProcedureImportCert`) must be set. Syntax diagnostics of the
/// file are included.
pub fn check_certificate_manager_properties(file: &PropertiesFile) -> Vec<Diagnostic> {
    let mut out = file.diagnostics().to_vec();
    let key = keys::CA_TOKEN_PROCEDURE_IMPORT_CERT;
    match file.property(key) {
        None => out.push(Diagnostic::error(
            file.name(),
            None,
            Code::CmImportProcedureMissing,
            format!("{key} is missing; for D-Trust key backup add `{key}=<token procedure for import>` (a Certificate Manager token procedure for certificate import)"),
        )),
        Some(p) if p.value().trim().is_empty() => out.push(Diagnostic::error(
            file.name(),
            Some(p.line()),
            Code::CmImportProcedureMissing,
            format!("{key} is empty; name the Certificate Manager token procedure that imports the D-Trust certificate"),
        )),
        Some(_) => {}
    }
    out
}
