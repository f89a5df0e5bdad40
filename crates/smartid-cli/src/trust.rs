//! `smartid trust import`: seed 000's step "import the new CA certificate in
//! the new cacerts file", so that the file works as
//! `-Djavax.net.ssl.trustStore`.

use std::path::PathBuf;
use std::process::ExitCode;

use smartid_core::{Certificate, Keystore, KeystoreFormat, KeystoreUpdate};

use crate::secrets;

/// `smartid trust` subcommands.
#[derive(clap::Subcommand)]
pub(crate) enum TrustCommand {
    /// Add CA certificates to a Java trust store (JKS or PKCS#12), creating it
    /// when missing; every existing entry is kept, the file is replaced
    /// atomically.
    Import(ImportArgs),
}

/// The keystore formats `trust import` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StoreFormat {
    /// Java KeyStore (classic cacerts); needs a password.
    Jks,
    /// PKCS#12 (keytool's default since Java 9); a password adds a MAC.
    Pkcs12,
}

/// Arguments of `smartid trust import`.
#[derive(clap::Args)]
#[command(after_help = "Use the result with -Djavax.net.ssl.trustStore=PATH \
    -Djavax.net.ssl.trustStorePassword=PW (seed 000, step 3). A new file is PKCS#12 unless \
    --format jks; an existing file keeps its format. A PKCS#12 store made without a password has \
    no MAC (as the JDK's own cacerts since JDK 18) and Java reads it without a password.\n\
    Exit codes: 0 imported; 1 refused (alias taken, wrong or missing password, other format); \
    2 wrong usage or a CERT file that cannot be read.")]
pub(crate) struct ImportArgs {
    /// The trust store to update or create.
    #[arg(long, value_name = "PATH")]
    keystore: PathBuf,
    #[arg(long, env = "SMARTID_KEYSTORE_PASSWORD", hide_env_values = true, help = secrets::PASSWORD_HELP)]
    password: Option<String>,
    /// Format of a new store (default pkcs12); must match an existing one.
    #[arg(long, value_enum)]
    format: Option<StoreFormat>,
    /// Alias for the certificate (only with one certificate). Default: the
    /// certificate's CN in lower case.
    #[arg(long, value_name = "NAME")]
    alias: Option<String>,
    /// Certificate files (PEM, possibly several certificates, or DER).
    #[arg(required = true, value_name = "CERT")]
    certs: Vec<PathBuf>,
}

/// The default alias: the CN (else the whole subject), lower case.
fn default_alias(cert: &Certificate) -> String {
    let subject = cert.subject();
    let cn = subject
        .split(',')
        .map(str::trim)
        .find_map(|part| {
            part.strip_prefix("CN=")
                .or_else(|| part.strip_prefix("cn="))
        })
        .unwrap_or(subject);
    let alias = cn.trim().to_lowercase();
    if alias.is_empty() {
        format!("cert-{}", cert.serial_hex().to_lowercase())
    } else {
        alias
    }
}

/// Runs `smartid trust`.
pub(crate) fn run(cmd: TrustCommand) -> ExitCode {
    match cmd {
        TrustCommand::Import(args) => import(args),
    }
}

fn import(args: ImportArgs) -> ExitCode {
    let mut certs = Vec::new();
    for path in &args.certs {
        match Keystore::open(path, None) {
            Ok(ks) => {
                let found: Vec<Certificate> = ks.trusted_certificates().cloned().collect();
                if found.is_empty() {
                    anstream::eprintln!(
                        "error: {}: holds no certificate to trust (private keys are never \
                         imported into a trust store)",
                        path.display()
                    );
                    return ExitCode::from(2);
                }
                certs.extend(found);
            }
            Err(e) => {
                anstream::eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if args.alias.is_some() && certs.len() > 1 {
        anstream::eprintln!(
            "error: --alias names one certificate, but the files hold {}; import them one by one \
             or leave out --alias (each then gets its CN as alias)",
            certs.len()
        );
        return ExitCode::from(2);
    }
    let mut update = KeystoreUpdate::new(&args.keystore);
    if let Some(pw) = secrets::keystore_password(args.password) {
        update = update.password(pw);
    }
    if let Some(format) = args.format {
        update = update.format(match format {
            StoreFormat::Jks => KeystoreFormat::Jks,
            StoreFormat::Pkcs12 => KeystoreFormat::Pkcs12,
        });
    }
    let subjects: Vec<String> = certs.iter().map(|c| c.subject().to_owned()).collect();
    let mut aliases: Vec<String> = Vec::new();
    for cert in certs {
        let alias = args.alias.clone().unwrap_or_else(|| {
            let alias = default_alias(&cert);
            // Two certificates of this import with the same CN: tell them
            // apart by serial number rather than refuse the second.
            if aliases.contains(&alias) {
                let serial = cert.serial_hex().to_lowercase();
                format!("{alias} ({})", &serial[..serial.len().min(16)])
            } else {
                alias
            }
        });
        aliases.push(alias.clone());
        update = update.add_trusted(alias, cert);
    }
    match update.write() {
        Ok(report) => {
            for (alias, subject) in report.added.iter().zip(&subjects) {
                anstream::println!(
                    "added trusted certificate alias=\"{alias}\" subject=\"{subject}\""
                );
            }
            for (alias, existing) in &report.already_trusted {
                anstream::eprintln!(
                    "warning: the certificate added as \"{alias}\" was already trusted as \"{existing}\""
                );
            }
            anstream::println!(
                "{}: {} {} with {} entries ({} kept){}",
                args.keystore.display(),
                if report.created { "created" } else { "updated" },
                report.format,
                report.kept_entries + report.added.len(),
                report.kept_entries,
                if report.integrity_protected {
                    ""
                } else {
                    "; no password: the file has no MAC"
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            anstream::eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
