//! Lints Identity Manager configuration in one pass.
//!
//! ```text
//! cargo run --example idm_lint -- [--verified-domain DOMAIN]... \
//!     [--encoding detect|latin1|utf8] [--callback-user USER] PATH...
//! ```
//!
//! `--encoding` says how `.properties` bytes are decoded (`latin1` as
//! Java's `Properties.load(InputStream)`, `utf8` as `load(Reader)`, `detect`
//! the default). `--callback-user USER` checks Hermod's `callback-basic-auth`
//! against the callback receiver's credentials; the password is read from
//! the environment variable `IDM_LINT_CALLBACK_PASSWORD` (never from the
//! command line, where other users could see it).
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

use idm_config::{CheckOptions, Diagnostic, Linter, ReadEncoding, Secret};

const USAGE: &str = "usage: idm_lint [--verified-domain DOMAIN]... [--encoding detect|latin1|utf8] [--callback-user USER] PATH...";

fn main() -> ExitCode {
    init_logging();
    let mut domains = Vec::new();
    let mut paths = Vec::new();
    let mut encoding = ReadEncoding::Detect;
    let mut callback_user = None;
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
            "--encoding" => match args.next().as_deref() {
                Some("detect") => encoding = ReadEncoding::Detect,
                Some("latin1" | "iso-8859-1") => encoding = ReadEncoding::Latin1,
                Some("utf8" | "utf-8") => encoding = ReadEncoding::Utf8,
                _ => {
                    eprintln!("--encoding needs detect, latin1 or utf8");
                    return ExitCode::from(2);
                }
            },
            "--callback-user" => match args.next() {
                Some(u) => callback_user = Some(u),
                None => {
                    eprintln!("--callback-user needs a user name");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }

    let mut options = CheckOptions::default()
        .verified_email_domains(domains)
        .properties_encoding(encoding);
    if let Some(user) = callback_user {
        let Some(password) = std::env::var_os("IDM_LINT_CALLBACK_PASSWORD") else {
            eprintln!("--callback-user needs the password in IDM_LINT_CALLBACK_PASSWORD");
            return ExitCode::from(2);
        };
        let password = Secret::new(password.to_string_lossy());
        options = options.callback_credentials(&user, &password);
    }
    let mut linter = Linter::new(options);
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
