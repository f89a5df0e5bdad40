//! `smartid check`: the "Testing" button for what a D-Trust bundle, a
//! Messaging Server entry or Hermod's client settings describe, against the
//! real services. One line per check, green or red with what to fix.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use idm_config::dtrust_client::{DtrustClient, DtrustConfig, Transport};
use idm_config::hermod_client::{self, Command, HermodClient};
use idm_config::{CheckOptions, DtrustBundle, HermodClients, MessagingServerEntry, PropertiesFile};
use serde::Serialize;
use smartid_core::{Certificate, HttpSettings, ProxySettings, TrustRoots, TrustStore};

use crate::lint::Format;
use crate::{output, probe, progress, secrets};

/// The largest file `check` reads.
const MAX_INPUT_BYTES: u64 = 64 << 20;

/// Arguments of `smartid check`.
#[derive(clap::Args)]
#[command(
    after_help = "PATH may be a D-Trust bundle .zip (or the connector .properties next to \
    its PKCS#12 and .cer), a Messaging Server entry .json, or Hermod's client settings .json \
    (their callback alive URLs are checked).\n\
    Checks, in order: the configuration loads; the host name resolves; TCP (through the \
    configured proxy: proxyHost/proxyPort of the bundle, --proxy for Hermod); TLS with the \
    configured trust (the bundle's .cer; --trust for Hermod and Identity Manager, else the \
    platform's roots), naming the server certificate that failed and why; then D-Trust: the \
    mutual-TLS identity is accepted and the product list is fetched; Hermod: the API key is \
    accepted (a ping command is sent: it needs no device and expires after the entry's \
    lifespan); Identity Manager: the callback alive URL answers 2xx.\n\
    Exit codes: 0 every check green; 1 any check red; 2 wrong usage or a PATH that cannot be \
    read."
)]
pub(crate) struct CheckArgs {
    /// Bundles, connector properties, Messaging Server entries, Hermod client settings.
    #[arg(required_unless_present = "callback_url")]
    paths: Vec<PathBuf>,
    /// Trust store for Hermod and the Identity Manager callback (e.g. the
    /// modified cacerts of -Djavax.net.ssl.trustStore). Default: the
    /// platform's roots.
    #[arg(long, value_name = "PATH")]
    trust: Option<PathBuf>,
    #[arg(long, env = "SMARTID_KEYSTORE_PASSWORD", hide_env_values = true, help = secrets::PASSWORD_HELP)]
    password: Option<String>,
    /// HTTP proxy (HOST:PORT) for Hermod and the callback URL.
    #[arg(long, value_name = "HOST:PORT")]
    proxy: Option<String>,
    /// Identity Manager's callback base or alive URL, checked to answer.
    #[arg(long, value_name = "URL")]
    callback_url: Vec<String>,
    /// Seconds allowed for each network step.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    timeout: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

/// One check result.
#[derive(Debug, Serialize)]
struct Line {
    target: String,
    check: &'static str,
    ok: bool,
    detail: String,
}

struct Run {
    lines: Vec<Line>,
    human: bool,
    timeout: Duration,
}

impl Run {
    fn push(&mut self, target: &str, check: &'static str, result: Result<String, String>) -> bool {
        let ok = result.is_ok();
        let detail = match result {
            Ok(d) | Err(d) => d,
        };
        if self.human {
            anstream::println!("{} {check}: {detail}", output::marker(ok));
        }
        self.lines.push(Line {
            target: target.to_owned(),
            check,
            ok,
            detail,
        });
        ok
    }

    /// Resolution, TCP (direct or through the proxy) and TLS with `roots`
    /// (None: the platform's roots, left to the HTTP client). False when a
    /// step failed (the later checks are skipped).
    async fn network(
        &mut self,
        target: &str,
        url: &str,
        proxy: Option<&ProxySettings>,
        roots: Option<&[Certificate]>,
    ) -> bool {
        let parsed = match url::Url::parse(url) {
            Ok(u) => u,
            Err(e) => return self.push(target, "url", Err(format!("{url} is not a URL ({e})"))),
        };
        let host = parsed
            .host_str()
            .unwrap_or_default()
            .trim_matches(['[', ']'])
            .to_owned();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let t = self.timeout;
        let (dial_host, dial_port) = match proxy {
            Some(p) => (p.host().to_owned(), p.port()),
            None => (host.clone(), port),
        };
        let label = if proxy.is_some() {
            "resolve proxy"
        } else {
            "resolve"
        };
        let resolved = progress::waiting(
            &format!("resolving {dial_host}"),
            Some(t),
            probe::resolve(&dial_host, dial_port),
        )
        .await
        .map(|addrs| {
            let shown: Vec<String> = addrs.iter().take(3).map(|a| a.ip().to_string()).collect();
            format!("{dial_host} is {}", shown.join(", "))
        });
        if !self.push(target, label, resolved) {
            return false;
        }
        let stream = progress::waiting(
            &format!("connecting to {dial_host}:{dial_port}"),
            Some(t),
            probe::connect(&dial_host, dial_port, t),
        )
        .await;
        let mut stream = match stream {
            Ok(s) => {
                let what = match proxy {
                    Some(_) => format!("connected to the proxy {dial_host}:{dial_port}"),
                    None => format!("connected to {host}:{port}"),
                };
                self.push(target, "tcp", Ok(what));
                s
            }
            Err(e) => {
                let e = match proxy {
                    Some(_) => format!("proxy: {e}; check proxyHost/proxyPort"),
                    None => e,
                };
                return self.push(target, "tcp", Err(e));
            }
        };
        if proxy.is_some() {
            let tunnel = progress::waiting(
                &format!("proxy tunnel to {host}:{port}"),
                Some(t),
                probe::proxy_connect(&mut stream, &host, port, t),
            )
            .await
            .map(|()| format!("the proxy opened a tunnel to {host}:{port}"));
            if !self.push(target, "proxy", tunnel) {
                return false;
            }
        }
        if parsed.scheme() != "https" {
            return self.push(target, "tls", Err(format!("{url} is not https")));
        }
        let Some(roots) = roots else {
            drop(stream);
            return true;
        };
        let tls = progress::waiting(
            &format!("TLS with {host}"),
            Some(t),
            probe::tls(stream, &host, roots, t),
        )
        .await;
        self.push(target, "tls", tls)
    }
}

fn roots_of(trust: &TrustRoots) -> Option<Vec<Certificate>> {
    match trust {
        TrustRoots::Only(store) => Some(store.certificates().to_vec()),
        _ => None,
    }
}

fn dtrust_config(path: &Path, bytes: &[u8]) -> Result<DtrustConfig, String> {
    let name = path.display().to_string();
    if bytes.starts_with(b"PK") {
        let bundle = DtrustBundle::read(bytes, &name).map_err(|e| e.to_string())?;
        bundle
            .to_dtrust_config(&CheckOptions::default())
            .map_err(|e| e.to_string())
    } else {
        let props = PropertiesFile::parse(bytes, &name);
        let checked =
            idm_config::DtrustConnectorConfig::from_properties(&props, &CheckOptions::default());
        let config = checked.into_result().map_err(|e| e.to_string())?;
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        config
            .to_dtrust_config_in(dir.unwrap_or(Path::new(".")))
            .map_err(|e| e.to_string())
    }
}

async fn check_dtrust(run: &mut Run, target: &str, path: &Path, bytes: &[u8]) {
    let config = match dtrust_config(path, bytes) {
        Ok(c) => c,
        Err(e) => {
            run.push(target, "config", Err(e));
            return;
        }
    };
    let (kind, url) = match config.transport() {
        Transport::Rest { url } => ("REST", url.clone()),
        Transport::Soap { endpoint, .. } => ("SOAP", endpoint.clone()),
        other => ("service", format!("{other:?}")),
    };
    let settings = config.http_settings();
    let (identity, identity_issuer) = settings
        .identity_value()
        .map(|id| {
            let c = id.certificate();
            (c.subject().to_owned(), c.issuer().to_owned())
        })
        .unwrap_or_default();
    run.push(
        target,
        "config",
        Ok(format!(
            "D-Trust {kind} at {url}, client certificate \"{identity}\""
        )),
    );
    let roots = roots_of(settings.trust_value());
    let proxy = settings.proxy_value().cloned();
    if !run
        .network(target, &url, proxy.as_ref(), roots.as_deref())
        .await
    {
        return;
    }
    let deadline = Some(settings.request_timeout_value());
    let client = match DtrustClient::new(config) {
        Ok(c) => c,
        Err(e) => {
            run.push(target, "mutual TLS", Err(e.to_string()));
            return;
        }
    };
    let products = progress::waiting(
        "fetching D-Trust's product list",
        deadline,
        client.list_products(),
    )
    .await
    .map(|products| {
        let names: Vec<&str> = products.iter().map(|p| p.name.as_str()).collect();
        format!(
            "client certificate \"{identity}\" accepted; {} products: {}",
            names.len(),
            names.join(", ")
        )
    })
    .map_err(|e| {
        use idm_config::dtrust_client::Error as D;
        match e {
            // The server certificate was trusted (the tls line): a
            // connection that fails now was ended by the server when it
            // saw our certificate.
            D::Http(smartid_core::Error::Tls { .. } | smartid_core::Error::Transport { .. }) => {
                format!(
                    "the service did not accept the client certificate \"{identity}\" (issuer \
                     \"{identity_issuer}\"): {e}; use the PKCS#12 D-Trust issued for this account \
                     (p12File, p12Password)"
                )
            }
            other => format!(
                "{other}; the client certificate was \"{identity}\" (issuer \"{identity_issuer}\")"
            ),
        }
    });
    run.push(target, "mutual TLS", products);
}

/// HTTP settings for Hermod and the callback: --trust, --proxy, --timeout.
fn hermod_settings(args: &CheckArgs) -> Result<HttpSettings, String> {
    let t = Duration::from_secs(args.timeout);
    let mut settings = HttpSettings::new().connect_timeout(t).request_timeout(t);
    if let Some(path) = &args.trust {
        let password = secrets::keystore_password(args.password.clone());
        let store = TrustStore::from_path(path, password.as_ref()).map_err(|e| e.to_string())?;
        settings = settings.trust(TrustRoots::Only(store));
    }
    if let Some(proxy) = &args.proxy {
        settings = settings.proxy(ProxySettings::parse(proxy).map_err(|e| e.to_string())?);
    }
    Ok(settings)
}

async fn check_hermod(run: &mut Run, target: &str, text: &str, settings: &HttpSettings) {
    let entry = match MessagingServerEntry::from_json(text, target).into_result() {
        Ok(Some(e)) => e,
        Ok(None) => {
            run.push(
                target,
                "config",
                Err("no Messaging Server entry in the file".into()),
            );
            return;
        }
        Err(e) => {
            run.push(target, "config", Err(e.to_string()));
            return;
        }
    };
    let config = match entry.to_hermod_config(settings.clone()) {
        Ok(c) => c,
        Err(e) => {
            run.push(target, "config", Err(e.to_string()));
            return;
        }
    };
    let client_id = entry.client_id().unwrap_or_default();
    let base = config.base_url().to_owned();
    run.push(
        target,
        "config",
        Ok(format!("Hermod at {base}, client \"{client_id}\"")),
    );
    let roots = roots_of(settings.trust_value());
    if !run
        .network(target, &base, settings.proxy_value(), roots.as_deref())
        .await
    {
        return;
    }
    let client = match HermodClient::new(config) {
        Ok(c) => c,
        Err(e) => {
            run.push(target, "api key", Err(e.to_string()));
            return;
        }
    };
    let command = Command::ping();
    let sent = progress::waiting(
        "sending a ping command to Hermod",
        Some(settings.request_timeout_value()),
        client.send(&command),
    )
    .await;
    let result = match sent {
        Ok(sent) => Ok(format!(
            "the API key of client \"{client_id}\" is accepted (ping command {} started)",
            sent.answer.command_id
        )),
        Err(e @ hermod_client::Error::Unauthorized { .. }) => Err(format!(
            "{e}; set the entry's Authentication token to base64(client-id:key) of Hermod's API user"
        )),
        Err(e) => Err(e.to_string()),
    };
    run.push(target, "api key", result);
}

async fn check_alive(run: &mut Run, target: &str, url: &str, settings: &HttpSettings) {
    let report = progress::waiting(
        &format!("callback alive URL {url}"),
        Some(settings.request_timeout_value()),
        hermod_client::check_alive(settings, url),
    )
    .await;
    let result = match report {
        Ok(r) if r.is_alive() => Ok(format!(
            "{} answered HTTP {} in {} ms",
            r.url,
            r.status.unwrap_or_default(),
            r.latency.as_millis()
        )),
        Ok(r) => Err(format!(
            "{} did not answer: {}; check that Identity Manager runs and the callback URL is its \
             .../idm-operator/ws/hermod base",
            r.url,
            match r.problem {
                Some(hermod_client::AliveProblem::Status(s)) => format!("HTTP {s}"),
                Some(hermod_client::AliveProblem::Tls(m)) => format!("TLS: {m}"),
                Some(hermod_client::AliveProblem::Connect(m)) => format!("no connection: {m}"),
                Some(hermod_client::AliveProblem::Timeout) => "no answer in time".into(),
                Some(other) => format!("{other:?}"),
                None => "no answer".into(),
            }
        )),
        Err(e) => Err(e.to_string()),
    };
    run.push(target, "callback alive", result);
}

/// Runs `smartid check`.
pub(crate) fn run(args: CheckArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run_async(args))
}

async fn run_async(args: CheckArgs) -> ExitCode {
    let mut run = Run {
        lines: Vec::new(),
        human: args.format == Format::Human,
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let settings = match hermod_settings(&args) {
        Ok(s) => s,
        Err(e) => {
            anstream::eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut unreadable = false;
    for path in &args.paths {
        let target = path.display().to_string();
        if run.human {
            anstream::println!("{target}");
        }
        // Bundles are bounded by idm-config's zip limits; no configuration
        // file is anywhere near this.
        let bytes = match smartid_core::read_regular_file(path, MAX_INPUT_BYTES) {
            Ok(b) => b,
            Err(e) => {
                anstream::eprintln!("error: {e}");
                unreadable = true;
                continue;
            }
        };
        let is_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if !is_json {
            check_dtrust(&mut run, &target, path, &bytes).await;
            continue;
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let hermod_clients =
            value.get("allowed-clients").is_some() || value.get("allowedClients").is_some();
        if hermod_clients {
            let clients = HermodClients::from_json(&text, &target).value;
            let urls: Vec<String> = clients
                .allowed_clients
                .iter()
                .filter_map(|c| c.callback_url.clone())
                .collect();
            if urls.is_empty() {
                run.push(
                    &target,
                    "config",
                    Err("no client has a callback-url".into()),
                );
            }
            for url in urls {
                check_alive(&mut run, &target, &url, &settings).await;
            }
        } else {
            check_hermod(&mut run, &target, &text, &settings).await;
        }
    }
    for url in &args.callback_url {
        if run.human {
            anstream::println!("{url}");
        }
        check_alive(&mut run, url, url, &settings).await;
    }
    let all_ok = run.lines.iter().all(|l| l.ok);
    let code = if unreadable {
        2
    } else if all_ok {
        0
    } else {
        1
    };
    if !run.human {
        let doc = serde_json::json!({ "checks": run.lines, "ok": all_ok && !unreadable, "exit_code": code });
        println!("{doc:#}");
    }
    ExitCode::from(code)
}
