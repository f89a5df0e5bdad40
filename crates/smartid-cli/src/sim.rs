//! `smartid sim`: the three simulators as one server.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `smartid sim`.
#[derive(Debug, clap::Args)]
pub(crate) struct SimArgs {
    /// Folder for the test PKI, credentials and sim.json (default: a new temporary folder).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Runs `smartid sim` until Ctrl-C.
pub(crate) fn run(args: SimArgs) -> ExitCode {
    eprintln!("smartid sim: not built yet ({:?})", args.dir);
    ExitCode::from(2)
}
