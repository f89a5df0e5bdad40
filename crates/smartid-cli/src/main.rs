//! The `smartid` command: lint Identity Manager configuration, inspect and
//! import trust stores, check connections, run the simulators.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod sim;

/// Tools for Nexus Smart ID integrations.
#[derive(Debug, Parser)]
#[command(name = "smartid", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Audkenni, D-Trust and Hermod simulators as one server.
    Sim(sim::SimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Sim(args) => sim::run(args),
    }
}
