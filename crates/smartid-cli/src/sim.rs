//! `smartid sim`: the three simulators as one server.

use std::path::PathBuf;
use std::process::ExitCode;

use smartid_testkit::sim::{SimOptions, SimServer};
use smartid_testkit::{FaultKind, FaultSettings};

/// Arguments of `smartid sim`.
#[derive(Debug, clap::Args)]
pub(crate) struct SimArgs {
    /// Folder for the test PKI, credentials and sim.json (default: a new
    /// temporary folder, removed at exit).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// HTTPS port of the Audkenni simulator on 127.0.0.1 (default: a free port).
    #[arg(long, value_name = "N", default_value_t = 0)]
    audkenni_port: u16,
    /// HTTPS port of the D-Trust simulator (client certificate required).
    #[arg(long, value_name = "N", default_value_t = 0)]
    dtrust_port: u16,
    /// HTTPS port of the Hermod simulator.
    #[arg(long, value_name = "N", default_value_t = 0)]
    hermod_port: u16,
    /// Port of the control API and the page (plain HTTP on 127.0.0.1).
    #[arg(long, value_name = "N", default_value_t = 0)]
    control_port: u16,
    /// Base URL Hermod POSTs callbacks to ({URL}/callback/{kind}); the
    /// control API can change it later.
    #[arg(long, value_name = "URL", default_value = smartid_testkit::sim::DEFAULT_HERMOD_CALLBACK_URL)]
    hermod_callback_url: String,
    /// What the Hermod device does: manual (wait for the page or the control
    /// API), approve, decline, fail, never, never_opens.
    #[arg(long, value_name = "MODE", default_value = "manual")]
    hermod_device: String,
    /// Switch fault injection on at this rate (0.0 to 1.0); off by default.
    #[arg(long, value_name = "RATE")]
    fault_rate: Option<f64>,
    /// Comma-separated fault kinds (default: all): reset, server_error, slow,
    /// truncate, duplicate_callback, reorder_callbacks, lost_submit_answer.
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    fault_kinds: Vec<String>,
    /// Seed of the fault generator.
    #[arg(long, value_name = "N", default_value_t = 1)]
    fault_seed: u64,
}

fn options(args: &SimArgs, dir: PathBuf) -> Result<SimOptions, String> {
    let mut o = SimOptions::new(dir);
    o.audkenni_port = args.audkenni_port;
    o.dtrust_port = args.dtrust_port;
    o.hermod_port = args.hermod_port;
    o.control_port = args.control_port;
    o.hermod_callback_url = args.hermod_callback_url.clone();
    o.hermod_device = smartid_testkit::sim::parse_device_mode(&args.hermod_device, 0)
        .map_err(|e| format!("--hermod-device: {e}"))?;
    if let Some(rate) = args.fault_rate {
        if !(0.0..=1.0).contains(&rate) {
            return Err("--fault-rate must be from 0.0 to 1.0".into());
        }
        let kinds = if args.fault_kinds.is_empty() {
            FaultKind::ALL.to_vec()
        } else {
            args.fault_kinds
                .iter()
                .map(|k| {
                    FaultKind::parse(k.trim()).ok_or_else(|| {
                        format!("--fault-kinds: unknown kind {k:?} (kinds: reset, server_error, slow, truncate, duplicate_callback, reorder_callbacks, lost_submit_answer)")
                    })
                })
                .collect::<Result<_, _>>()?
        };
        o.faults = FaultSettings::on(rate, kinds).seed(args.fault_seed);
    } else if !args.fault_kinds.is_empty() {
        return Err("--fault-kinds needs --fault-rate".into());
    }
    Ok(o)
}

fn temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("smartid-sim-{}-{nanos:08x}", std::process::id()))
}

#[cfg(unix)]
fn new_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn new_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().create(dir)
}

fn print_started(server: &SimServer) {
    let a = server.audkenni();
    let d = server.dtrust();
    let h = server.hermod();
    println!("smartid sim: Audkenni, D-Trust and Hermod simulators running");
    println!("  folder:    {}", server.dir().display());
    println!("  sim.json:  {}", server.sim_json_path().display());
    println!("  page:      {}", server.control_url());
    println!("  control:   {}control/status", server.control_url());
    println!("  audkenni:  {}", a.issuer());
    println!("  dtrust:    {} (REST)", d.rest_url());
    println!("             {} (SOAP)", d.soap_url());
    println!("  hermod:    {}", h.command_url());
    println!("Ctrl-C to stop.");
}

/// Runs `smartid sim` until Ctrl-C.
pub(crate) fn run(args: SimArgs) -> ExitCode {
    let (dir, temporary) = match &args.dir {
        Some(d) => (d.clone(), false),
        None => (temp_dir(), true),
    };
    let options = match options(&args, dir.clone()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("smartid sim: {e}");
            return ExitCode::from(2);
        }
    };
    if temporary {
        // A new folder only we can read (the sim writes private keys and
        // passwords into it); `create`, not `create_dir_all`, so that a
        // folder someone else made under that name is refused.
        if let Err(e) = new_private_dir(&dir) {
            eprintln!("smartid sim: cannot create {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("smartid sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        let server = match SimServer::start(options).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("smartid sim: {e}");
                return ExitCode::FAILURE;
            }
        };
        print_started(&server);
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("smartid sim: cannot wait for Ctrl-C: {e}");
            return ExitCode::FAILURE;
        }
        drop(server);
        println!("smartid sim: stopped");
        ExitCode::SUCCESS
    });
    // Let the simulators' tasks end and their ports close.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    code
}
