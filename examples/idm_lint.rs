//! Lints Identity Manager configuration in one pass.
//!
//! ```text
//! cargo run --example idm_lint -- [--verified-domain DOMAIN]... PATH...
//! ```
//!
//! PATH may be a D-Trust connector `.properties` file, `Nexus_CM.properties`,
//! any other `.properties` file (syntax only), a D-Trust bundle `.zip`, a
//! Messaging Server entry `.json` or Hermod's client settings `.json` (given
//! together, the entry and Hermod's clients are also checked to agree).
//!
//! Prints `FILE:LINE: error|warning[CODE]: message` per problem and
//! `ok FILE` for a clean file. Exit code: 2 when a path cannot be read,
//! else 1 when any error was found, else 0.

use std::path::PathBuf;
use std::process::ExitCode;

use idm_config::{CheckOptions, Diagnostic, Linter};

fn main() -> ExitCode {
    let mut domains = Vec::new();
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--verified-domain" => match args.next() {
                Some(d) => domains.push(d),
                None => {
                    eprintln!("--verified-domain needs a domain");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("usage: idm_lint [--verified-domain DOMAIN]... PATH...");
                return ExitCode::SUCCESS;
            }
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        eprintln!("usage: idm_lint [--verified-domain DOMAIN]... PATH...");
        return ExitCode::from(2);
    }

    let mut linter = Linter::new(CheckOptions::default().verified_email_domains(domains));
    let mut unreadable = false;
    let mut results: Vec<(String, Vec<Diagnostic>)> = Vec::new();
    for path in &paths {
        let name = path.display().to_string();
        match linter.lint_path(path) {
            Ok((_, diagnostics)) => results.push((name, diagnostics)),
            Err(e) => {
                eprintln!("{e}");
                unreadable = true;
            }
        }
    }
    let cross = linter.finish();
    let mut any_error = false;
    for (name, mut diagnostics) in results {
        diagnostics.extend(cross.iter().filter(|d| d.file == name).cloned());
        if diagnostics.is_empty() {
            println!("ok {name}");
        }
        for d in &diagnostics {
            any_error |= d.is_error();
            println!("{d}");
        }
    }
    if unreadable {
        ExitCode::from(2)
    } else if any_error {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
