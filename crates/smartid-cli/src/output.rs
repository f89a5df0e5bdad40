//! Terminal output: colour only on a terminal (anstream strips it
//! otherwise and honours NO_COLOR / CLICOLOR_FORCE), `✔`/`✘` on a terminal
//! and `ok`/`FAIL` elsewhere.

use std::io::IsTerminal as _;

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

/// Whether standard output is a terminal (symbols instead of words).
pub(crate) fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// The marker of a check result: `✔`/`✘` on a terminal, `ok`/`FAIL` in
/// files and pipes; coloured (anstream removes the colour where it does not
/// belong).
pub(crate) fn marker(ok: bool) -> String {
    let terminal = stdout_is_terminal();
    match (ok, terminal) {
        (true, true) => format!("{GREEN}✔{RESET}"),
        (false, true) => format!("{RED}✘{RESET}"),
        (true, false) => format!("{GREEN}ok{RESET}"),
        (false, false) => format!("{RED}FAIL{RESET}"),
    }
}

/// `ok` in green (lint's clean-file line).
pub(crate) fn green(text: &str) -> String {
    format!("{GREEN}{text}{RESET}")
}

/// `error` in red.
pub(crate) fn red(text: &str) -> String {
    format!("{RED}{text}{RESET}")
}
