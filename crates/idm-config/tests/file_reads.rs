//! The linter and the bundle loader read only regular files, and only up to
//! a limit: a FIFO, `/dev/zero` or an oversized file is refused at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use idm_config::{DtrustBundle, Error, Linter, ZipLimits};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idm-config-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `f` on a thread; fails (instead of hanging) when it blocks.
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| {
            panic!("{what} did not return within 10 s (blocked or reading forever)")
        })
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn assert_refused(result: Result<(), Error>, what: &str) {
    let e = result.expect_err(what);
    let text = e.to_string();
    assert!(
        text.contains("not a regular file"),
        "{what}: unexpected error {text}"
    );
}

#[test]
fn linter_refuses_fifos_and_devices() {
    let dir = temp_dir("fifo-lint");
    let fifo = dir.join("dtrust.properties");
    mkfifo(&fifo);
    let zero = dir.join("bundle.zip");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for path in [fifo, zero, PathBuf::from("/dev/zero")] {
        let shown = path.display().to_string();
        let r = within(&shown, move || {
            Linter::default().lint_path(&path).map(|_| ())
        });
        assert_refused(r, &shown);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bundle_loader_refuses_fifos_devices_and_oversized_files() {
    let dir = temp_dir("fifo-bundle");
    let fifo = dir.join("upload.zip");
    mkfifo(&fifo);
    for path in [fifo, PathBuf::from("/dev/zero")] {
        let shown = path.display().to_string();
        let r = within(&shown, move || DtrustBundle::open(&path).map(|_| ()));
        assert_refused(r, &shown);
    }
    let big = dir.join("big.zip");
    std::fs::write(&big, vec![0u8; 2048]).unwrap();
    let r = DtrustBundle::open_with_limits(&big, &ZipLimits::default().max_total_bytes(1024));
    assert!(
        matches!(
            r,
            Err(Error::Http(smartid_core::Error::FileTooLarge { .. }))
        ),
        "{r:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
