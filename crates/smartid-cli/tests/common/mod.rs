//! Running the `smartid` binary in tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The fixture folder of this crate.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The output of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A `smartid` command with a clean environment (no password, colour or
/// proxy variables from the caller), output piped (not a terminal).
pub fn smartid<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smartid"));
    for var in [
        "SMARTID_PASSWORD",
        "SMARTID_KEYSTORE_PASSWORD",
        "SMARTID_CALLBACK_PASSWORD",
        "IDM_LINT_CALLBACK_PASSWORD",
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args).stdin(std::process::Stdio::null());
    cmd
}

/// Runs a command to the end.
pub fn run(mut cmd: Command) -> Run {
    cmd.output().expect("the smartid binary runs").into()
}

/// Runs a command from async code (the simulators keep running meanwhile).
pub async fn run_async(cmd: Command) -> Run {
    tokio::task::spawn_blocking(move || run(cmd)).await.unwrap()
}

/// `keytool -list -v` output; `storepass` None passes none (stdin closed).
pub fn keytool_list(path: &Path, storetype: &str, storepass: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new("keytool");
    cmd.args(["-list", "-v", "-keystore"])
        .arg(path)
        .args(["-storetype", storetype])
        .stdin(std::process::Stdio::null());
    if let Some(pw) = storepass {
        cmd.args(["-storepass", pw]);
    }
    let out = cmd.output().expect("keytool on PATH (JDK 17)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
