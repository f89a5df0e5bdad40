//! `smartid inspect`: what a keystore holds, one line per entry (the
//! behaviour of the `trust_inspect` example).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use smartid_core::{Certificate, Integrity, Keystore, KeystoreEntry};

use crate::secrets;

/// Arguments of `smartid inspect`.
#[derive(clap::Args)]
#[command(
    after_help = "PATH may be a PEM bundle, a DER .cer, a PKCS#12 file (OpenSSL 3 or \
    legacy, keytool, -nokeys, password-less cacerts), a Java JKS keystore, or a directory of such \
    files; the format is recognised from the content.\n\
    Exit codes: 0 listed; 1 the keystore cannot be opened (missing, wrong password, unknown \
    format); 2 wrong usage."
)]
pub(crate) struct InspectArgs {
    /// The keystore, certificate file or directory.
    path: PathBuf,
    #[arg(long, env = "SMARTID_KEYSTORE_PASSWORD", hide_env_values = true, help = secrets::PASSWORD_HELP)]
    password: Option<String>,
}

fn describe(cert: &Certificate) -> String {
    format!(
        "subject=\"{}\" issuer=\"{}\" not_after={}",
        cert.subject(),
        cert.issuer(),
        cert.not_after_rfc3339()
    )
}

fn alias_part(alias: Option<&str>) -> String {
    alias.map(|a| format!(" alias=\"{a}\"")).unwrap_or_default()
}

/// Runs `smartid inspect`.
pub(crate) fn run(args: InspectArgs) -> ExitCode {
    let password = secrets::keystore_password(args.password);
    let keystore = match Keystore::open(&args.path, password.as_ref()) {
        Ok(ks) => ks,
        Err(e) => {
            anstream::eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut lines = vec![format!(
        "{}: {} with {} entries",
        keystore.source_name(),
        keystore.format(),
        keystore.entries().len()
    )];
    for entry in keystore.entries() {
        lines.push(match entry {
            KeystoreEntry::TrustedCertificate { alias, certificate } => format!(
                "trusted-certificate{} {}",
                alias_part(alias.as_deref()),
                describe(certificate)
            ),
            KeystoreEntry::Identity(id) => {
                let alias = alias_part(id.alias());
                match id.chain().first() {
                    Some(leaf) => format!(
                        "identity{alias} {} chain={} key_matches={}",
                        describe(leaf),
                        id.chain().len(),
                        if id.key_matches() { "yes" } else { "NO" }
                    ),
                    None => {
                        format!("identity{alias} (private key without certificate) key_matches=NO")
                    }
                }
            }
            other => format!("unknown entry {other:?}"),
        });
    }
    let integrity = keystore.integrity();
    lines.push(match integrity {
        Integrity::NotChecked => format!(
            "integrity: {integrity}; pass --password to check that the file was not altered"
        ),
        _ => format!("integrity: {integrity}"),
    });
    // Stop quietly when the reader goes away (`| head`).
    let mut out = anstream::stdout().lock();
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}
