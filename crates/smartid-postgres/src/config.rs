//! The connection URL, the TLS policy and the rustls configuration.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use smartid_core::store::StoreError;
use smartid_core::{TrustRoots, TrustStore};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::PostgresOptions;

/// How the connections speak to the server.
#[derive(Clone)]
pub(crate) enum Tls {
    /// Plain TCP or a Unix socket (loopback, or `sslmode=disable`).
    Plain,
    /// TLS through rustls, the certificate and host name verified.
    Rustls(MakeRustlsConnect),
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plain => "plain",
            Self::Rustls(_) => "tls (rustls, verified)",
        })
    }
}

/// A parsed connection: the driver's configuration, the TLS to use and a
/// description without credentials.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) tls: Tls,
    pub(crate) described: String,
}

fn invalid(what: impl fmt::Display) -> StoreError {
    StoreError::Failed {
        reason: format!(
            "the PostgreSQL connection URL is not valid ({what}); the URL is not shown because it may hold a password"
        ),
    }
}

/// Percent-decodes a URL query value (`%2F` -> `/`); invalid escapes stay.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = value.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Takes `sslmode` and `sslrootcert` out of the URL (the driver does not know
/// `verify-ca`/`verify-full` nor `sslrootcert`): the rest, and the two values.
fn take_tls_params(url: &str) -> (String, Option<String>, Option<String>) {
    let mut mode = None;
    let mut root = None;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return (url.to_owned(), None, None);
        };
        let mut kept = Vec::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("sslmode", v)) => mode = Some(percent_decode(v)),
                Some(("sslrootcert", v)) => root = Some(percent_decode(v)),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        (rest, mode, root)
    } else {
        let mut kept = Vec::new();
        for token in url.split_whitespace() {
            if let Some(v) = token.strip_prefix("sslmode=") {
                mode = Some(v.trim_matches('\'').to_owned());
            } else if let Some(v) = token.strip_prefix("sslrootcert=") {
                root = Some(v.trim_matches('\'').to_owned());
            } else {
                kept.push(token);
            }
        }
        (kept.join(" "), mode, root)
    }
}

fn is_local(host: &Host) -> bool {
    match host {
        Host::Tcp(name) => {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            name.eq_ignore_ascii_case("localhost")
                || IpAddr::from_str(name).is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        Host::Unix(_) => true,
    }
}

/// Parses `url` (a `postgres://` URL or `key=value` pairs) and decides the
/// TLS: `sslmode=disable` is plain; no `sslmode` (or `prefer`/`allow`) is
/// plain on loopback and verified TLS elsewhere; `require`, `verify-ca` and
/// `verify-full` are verified TLS (the certificate chain and the host name).
pub(crate) fn parse(url: &str, options: &PostgresOptions) -> Result<Target, StoreError> {
    let (rest, mode, root) = take_tls_params(url);
    let mut config = tokio_postgres::Config::from_str(&rest).map_err(invalid)?;
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        return Err(invalid("it names no host"));
    }
    let local = config.get_hosts().iter().all(is_local)
        && config.get_hostaddrs().iter().all(|ip| ip.is_loopback());
    let verified = match mode.as_deref() {
        Some("disable") => false,
        None | Some("prefer" | "allow") => !local,
        Some("require" | "verify-ca" | "verify-full") => true,
        Some(other) => {
            return Err(invalid(format_args!(
                "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )));
        }
    };
    let trust =
        match root.as_deref() {
            None => options.trust.clone(),
            Some("system") => TrustRoots::Platform,
            Some(path) => TrustRoots::Only(TrustStore::from_path(path, None).map_err(|e| {
                StoreError::Failed {
                    reason: format!("the sslrootcert of the PostgreSQL URL cannot be read: {e}"),
                }
            })?),
        };
    let tls = if verified {
        config.ssl_mode(SslMode::Require);
        Tls::Rustls(MakeRustlsConnect::new(client_config(&trust)?))
    } else {
        config.ssl_mode(SslMode::Disable);
        Tls::Plain
    };
    config.connect_timeout(options.connect_timeout);
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(30));
    if config.get_application_name().is_none() {
        config.application_name(options.application_name.clone());
    }
    let timeout_ms = options.statement_timeout.as_millis().max(1);
    let extra = format!("-c statement_timeout={timeout_ms}");
    let all = match config.get_options() {
        Some(existing) if !existing.trim().is_empty() => format!("{existing} {extra}"),
        _ => extra,
    };
    config.options(all);
    let described = describe(&config, &tls);
    Ok(Target {
        config,
        tls,
        described,
    })
}

/// `host:port/dbname (tls)`, never the user or password.
fn describe(config: &tokio_postgres::Config, tls: &Tls) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = config
                .get_ports()
                .get(i)
                .or(config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match h {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    format!(
        "{}/{} ({tls:?})",
        hosts.join(","),
        config.get_dbname().unwrap_or("<default database>")
    )
}

fn client_config(trust: &TrustRoots) -> Result<rustls::ClientConfig, StoreError> {
    let failed = |e: rustls::Error| StoreError::Failed {
        reason: format!("the TLS settings for PostgreSQL cannot be built: {e}"),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(failed)?;
    let ders = |store: &TrustStore| -> Vec<CertificateDer<'static>> {
        store
            .certificates()
            .iter()
            .map(|c| CertificateDer::from(c.der().to_vec()))
            .collect()
    };
    let config = match trust {
        TrustRoots::Only(store) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in ders(store) {
                roots.add(cert).map_err(failed)?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        TrustRoots::PlatformPlus(store) => {
            let verifier =
                rustls_platform_verifier::Verifier::new_with_extra_roots(ders(store), provider)
                    .map_err(failed)?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
        _ => {
            let verifier = rustls_platform_verifier::Verifier::new(provider).map_err(failed)?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
    };
    Ok(config)
}

/// `url` with its database replaced by `dbname` (for the test helpers).
pub(crate) fn with_dbname(url: &str, dbname: &str) -> String {
    for scheme in ["postgres://", "postgresql://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            let q = rest.find('?').unwrap_or(rest.len());
            let (main, query) = rest.split_at(q);
            let at = main.rfind('@').map_or(0, |i| i + 1);
            let slash = main[at..].find('/').map_or(main.len(), |i| at + i);
            return format!("{scheme}{}/{dbname}{query}", &main[..slash]);
        }
    }
    format!("{url} dbname={dbname}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_urls() {
        let (rest, mode, root) = take_tls_params(
            "postgres://u:p@db.example:5432/x?sslmode=verify-full&application_name=a&sslrootcert=%2Fetc%2Fca.pem",
        );
        assert_eq!(rest, "postgres://u:p@db.example:5432/x?application_name=a");
        assert_eq!(mode.as_deref(), Some("verify-full"));
        assert_eq!(root.as_deref(), Some("/etc/ca.pem"));
        let (rest, mode, _) = take_tls_params("host=db user=u sslmode=require");
        assert_eq!(
            (rest.as_str(), mode.as_deref()),
            ("host=db user=u", Some("require"))
        );
    }

    #[test]
    fn plain_only_on_loopback_or_when_asked() {
        let opts = PostgresOptions::new();
        let t = parse("postgres://u:secret@127.0.0.1:5432/x", &opts).unwrap();
        assert!(matches!(t.tls, Tls::Plain));
        let t = parse("postgres://u:secret@localhost/x", &opts).unwrap();
        assert!(matches!(t.tls, Tls::Plain));
        let t = parse("postgres://u:secret@db.example/x", &opts).unwrap();
        assert!(matches!(t.tls, Tls::Rustls(_)));
        let t = parse("postgres://u:secret@db.example/x?sslmode=disable", &opts).unwrap();
        assert!(matches!(t.tls, Tls::Plain));
        let t = parse("postgres://u:secret@127.0.0.1/x?sslmode=verify-full", &opts).unwrap();
        assert!(matches!(t.tls, Tls::Rustls(_)));
        assert!(!t.described.contains("secret") && !t.described.contains("u:"));
        assert_eq!(t.described, "127.0.0.1:5432/x (tls (rustls, verified))");
    }

    #[test]
    fn errors_never_show_the_url() {
        let opts = PostgresOptions::new();
        for url in [
            "postgres://u:hunter2@db.example:notaport/x",
            "postgres://u:hunter2@db.example/x?sslmode=sometimes",
            "postgres://u:hunter2@db.example/x?bogus=1",
            // Client certificates are not supported: refused, not ignored.
            "postgres://u:hunter2@db.example/x?sslcert=/c.pem&sslkey=/k.pem",
        ] {
            let e = parse(url, &opts).err().unwrap().to_string();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_dbname("postgres://u:p@h:1/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:1/t1?sslmode=disable"
        );
        assert_eq!(with_dbname("postgres://h", "t1"), "postgres://h/t1");
        assert_eq!(with_dbname("host=h", "t1"), "host=h dbname=t1");
    }
}
