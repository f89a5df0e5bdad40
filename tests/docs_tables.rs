#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Workspace documents that list what a crate defines. These checks live in
//! the root package (never published) because docs/ is outside every crate:
//! a crate's own tests read only files inside that crate, so that they pass
//! in its unpacked package too (see docs/supply-chain.md).

use std::path::Path;

use idm_config::Code;

#[test]
fn every_lint_code_is_in_docs_idm_config() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/idm-config.md");
    let text = std::fs::read_to_string(&docs)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", docs.display()));
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|code| code.as_str())
        .filter(|code| !text.contains(&format!("| {code} |")))
        .collect();
    assert!(
        missing.is_empty(),
        "lint codes missing from the table in docs/idm-config.md: {missing:?}"
    );
    // The table is not vacuous: it has a row for each code.
    assert!(Code::ALL.len() > 40, "{}", Code::ALL.len());
}
