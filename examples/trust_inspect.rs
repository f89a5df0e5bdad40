//! Prints what a keystore holds: one line per entry.
//!
//! ```text
//! cargo run --example trust_inspect -- PATH [--password PW]
//! ```
//!
//! PATH may be a PEM bundle, a DER `.cer`, a PKCS#12 file (OpenSSL 3 or
//! legacy, keytool, `-nokeys`, password-less `cacerts`), a Java JKS keystore,
//! or a directory of such files. The format is recognised from the content.

use std::io::Write as _;
use std::process::ExitCode;

use smartid_core::{Certificate, Integrity, Keystore, KeystoreEntry, Secret};

fn usage() -> ExitCode {
    eprintln!("usage: trust_inspect PATH [--password PW]");
    ExitCode::from(2)
}

fn describe(cert: &Certificate) -> String {
    format!(
        "subject=\"{}\" issuer=\"{}\" not_after={}",
        cert.subject(),
        cert.issuer(),
        cert.not_after_rfc3339()
    )
}

fn main() -> ExitCode {
    init_logging();
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut password = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--password" => match args.next() {
                Some(pw) => password = Some(Secret::new(pw)),
                None => return usage(),
            },
            "-h" | "--help" => return usage(),
            _ if path.is_none() => path = Some(arg),
            _ => return usage(),
        }
    }
    let Some(path) = path else {
        return usage();
    };
    let keystore = match Keystore::open(&path, password.as_ref()) {
        Ok(ks) => ks,
        Err(e) => {
            eprintln!("{e}");
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
            KeystoreEntry::TrustedCertificate { alias, certificate } => {
                let alias = alias
                    .as_deref()
                    .map(|a| format!(" alias=\"{a}\""))
                    .unwrap_or_default();
                format!("trusted-certificate{alias} {}", describe(certificate))
            }
            KeystoreEntry::Identity(id) => {
                let alias = id
                    .alias()
                    .map(|a| format!(" alias=\"{a}\""))
                    .unwrap_or_default();
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
    let mut out = std::io::stdout().lock();
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}

/// Logs to stderr at the level `SMARTID_LOG` names (`error`, `warn`, `info`,
/// `debug`, `trace`); nothing when it is unset.
fn init_logging() {
    // error, warn, info, debug or trace (tracing's own names); else no logs.
    let Some(level) = std::env::var("SMARTID_LOG")
        .ok()
        .and_then(|v| v.parse::<tracing::Level>().ok())
    else {
        return;
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}
