//! The `smartid` command: lint Identity Manager configuration, inspect and
//! import trust stores, check connections, run the simulators.
//!
//! Exit codes, for every subcommand: 0 success; 1 problems found (lint
//! errors, a red check, a keystore that cannot be opened or updated); 2 the
//! command line was wrong or an input could not be read.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod inspect;
mod lint;
mod output;
mod probe;
mod progress;
mod secrets;
mod sim;
mod trust;

/// Tools for Nexus Smart ID integrations.
#[derive(Parser)]
#[command(
    name = "smartid",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success; 1 problems found (lint errors, a red check, a keystore \
                  that cannot be opened or updated); 2 wrong usage or unreadable input.\n\
                  Colour is used only on a terminal; NO_COLOR=1 turns it off, CLICOLOR_FORCE=1 on."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lint Identity Manager configuration: D-Trust connector properties and
    /// bundles, Nexus_CM.properties, Messaging Server entries, Hermod client
    /// settings.
    Lint(lint::LintArgs),
    /// Print what a keystore or certificate file holds, one line per entry.
    Inspect(inspect::InspectArgs),
    /// Manage Java trust stores (cacerts).
    #[command(subcommand)]
    Trust(trust::TrustCommand),
    /// Test the connections a bundle or Messaging Server entry describes,
    /// against the real services ("Testing" button).
    Check(check::CheckArgs),
    /// Run the Audkenni, D-Trust and Hermod simulators as one server.
    Sim(sim::SimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lint(args) => lint::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Trust(cmd) => trust::run(cmd),
        Command::Check(args) => check::run(args),
        Command::Sim(args) => sim::run(args),
    }
}
