//! Passwords from the command line or, better, the environment.

use smartid_core::Secret;

/// The help text shared by every `--password`.
pub(crate) const PASSWORD_HELP: &str = "Keystore password. Prefer the environment variable \
     SMARTID_KEYSTORE_PASSWORD (or SMARTID_PASSWORD): the command line is visible to other users \
     of the machine (ps, /proc)";

/// The password given with `--password` (clap fills it from
/// `SMARTID_KEYSTORE_PASSWORD` too), else `SMARTID_PASSWORD`.
pub(crate) fn keystore_password(arg: Option<String>) -> Option<Secret> {
    arg.or_else(|| std::env::var("SMARTID_PASSWORD").ok())
        .map(Secret::new)
}
