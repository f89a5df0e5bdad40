//! Key backup: `keyArchive` (the Certificate Manager connector) and the
//! product -> CM token procedure mappings (`tokenProcedure.<product>`).

use crate::diagnostic::Code;
use crate::templates::CertificateTemplate;

use super::certificate_templates::is_product;
use super::keys;
use super::reader::Reader;

/// The product and prefix spelling when `key` is a mapping key.
pub(super) fn mapping_product(key: &str) -> Option<&str> {
    keys::TOKEN_PROCEDURE_PREFIXES
        .iter()
        .find_map(|prefix| key.strip_prefix(prefix))
}

/// What key backup is configured with.
pub(super) struct KeyBackup {
    pub(super) key_archive: Option<String>,
    pub(super) token_procedures: Vec<(String, String)>,
}

/// `keyArchive` and the mappings (a `tokenProcedure.` key, or a key that is
/// exactly a product of `templates`), each checked, then checked together.
pub(super) fn read_key_backup(r: &mut Reader<'_>, templates: &[CertificateTemplate]) -> KeyBackup {
    let key_archive = read_key_archive(r);
    let (token_procedures, first_mapping_key) = read_mappings(r, templates);
    if key_archive.is_none()
        && !token_procedures.is_empty()
        && !r.file.contains_key(keys::KEY_ARCHIVE)
    {
        let first = first_mapping_key.unwrap_or_default();
        r.warning(
            &first,
            Code::MappingWithoutKeyArchive,
            "product to token procedure mappings are only used for key backup, but keyArchive is not set; add keyArchive=<CM connector> or remove the mappings",
        );
    }
    if key_archive.is_some() && token_procedures.is_empty() {
        r.warning(
            keys::KEY_ARCHIVE,
            Code::KeyArchiveWithoutMapping,
            "keyArchive is set but no product is mapped to a CM token procedure; add tokenProcedure.<product>=<procedure> for each product whose keys are backed up",
        );
    }
    KeyBackup {
        key_archive,
        token_procedures,
    }
}

fn read_key_archive(r: &mut Reader<'_>) -> Option<String> {
    match r.file.get(keys::KEY_ARCHIVE).map(str::trim) {
        Some("") => {
            r.error(
                keys::KEY_ARCHIVE,
                Code::KeyArchiveEmpty,
                "keyArchive is empty; name the Certificate Manager connector for key backup, or remove the line",
            );
            None
        }
        other => other.map(str::to_owned),
    }
}

/// The valid mappings in file order, and the key of the first mapping
/// line (valid or not).
fn read_mappings(
    r: &mut Reader<'_>,
    templates: &[CertificateTemplate],
) -> (Vec<(String, String)>, Option<String>) {
    let mappings: Vec<_> = r
        .file
        .iter()
        .filter_map(|p| {
            mapping_product(p.key())
                .or_else(|| is_product(templates, p.key()).then_some(p.key()))
                .map(|product| {
                    (
                        p.key().to_owned(),
                        product.to_owned(),
                        p.value().trim().to_owned(),
                    )
                })
        })
        .collect();
    let first_mapping_key = mappings.first().map(|m| m.0.clone());
    let mut token_procedures = Vec::new();
    for (key, product, procedure) in mappings {
        if product.trim().is_empty() || procedure.is_empty() {
            r.error(
                &key,
                Code::KeyArchiveEmpty,
                format!("`{key}` needs a product after `tokenProcedure.` and a CM token procedure as value, e.g. tokenProcedure.Advanced\\ SSL\\ ID\\ (RSA)=DTrust import"),
            );
            continue;
        }
        token_procedures.push((product, procedure));
    }
    (token_procedures, first_mapping_key)
}
