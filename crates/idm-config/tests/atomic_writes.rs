//! Writing a zip and extracting a bundle are atomic: a failed or killed run
//! leaves nothing at the target, and a retry succeeds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use idm_config::{DtrustBundle, PropertiesFile};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idm-config-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Bytes that deflate cannot shrink much.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn bundle(files: Vec<(String, Vec<u8>)>) -> DtrustBundle {
    let props = PropertiesFile::parse(
        b"certificateTemplates=Advanced SSL ID (RSA)\n",
        "dtrust.properties",
    );
    DtrustBundle::from_parts(&props, files).unwrap()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn failed_extract_leaves_nothing_and_a_retry_succeeds() {
    let parent = temp_dir("extract-fail");
    let target = parent.join("bundle");
    // The second entry's name is longer than any file system allows
    // (NAME_MAX 255): writing it fails after the first entry was written.
    let too_long = format!("{}.cer", "x".repeat(300));
    let failing = bundle(vec![
        ("client.p12".into(), vec![1, 2, 3]),
        (too_long, vec![4]),
    ]);
    assert!(failing.extract_to(&target).is_err());
    assert!(
        !target.exists(),
        "a failed extract left {}",
        target.display()
    );
    assert!(
        names_in(&parent).is_empty(),
        "left behind: {:?}",
        names_in(&parent)
    );

    let good = bundle(vec![("client.p12".into(), vec![1, 2, 3])]);
    let written = good.extract_to(&target).unwrap();
    assert_eq!(written.len(), 2);
    assert_eq!(std::fs::read(target.join("client.p12")).unwrap(), [1, 2, 3]);
    assert_eq!(names_in(&parent), ["bundle"]);
    // And it still never overwrites.
    assert!(good.extract_to(&target).is_err());
    std::fs::remove_dir_all(&parent).unwrap();
}

const CHILD_ENV: &str = "IDM_CONFIG_ATOMIC_CHILD_TARGET";
const CHILD_TEST: &str = "child_writes_a_large_zip";

/// Run only as the child of the test below, under a file-size limit that
/// kills it (SIGXFSZ) in the middle of writing.
#[test]
#[ignore = "helper: run by killed_zip_write_leaves_no_partial_file"]
fn child_writes_a_large_zip() {
    let Some(target) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let b = bundle(vec![("client.p12".into(), noise(512 * 1024))]);
    let _ = b.write_zip(Path::new(&target));
}

#[cfg(unix)]
#[test]
fn killed_zip_write_leaves_no_partial_file_and_a_retry_succeeds() {
    let dir = temp_dir("zip-killed");
    let target = dir.join("bundle.zip");
    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 64 && exec \"$0\" \"$@\"")
        .arg(&exe)
        .args(["--ignored", "--exact", CHILD_TEST, "--test-threads=1"])
        .env(CHILD_ENV, &target)
        .status()
        .unwrap();
    assert!(
        !status.success(),
        "the child was meant to be stopped by the file-size limit"
    );
    assert!(
        !target.exists(),
        "an interrupted write left a partial {}",
        target.display()
    );

    let b = bundle(vec![("client.p12".into(), noise(512 * 1024))]);
    b.write_zip(&target).unwrap();
    let again = DtrustBundle::open(&target).unwrap();
    assert_eq!(again.file("client.p12").unwrap().len(), 512 * 1024);
    std::fs::remove_dir_all(&dir).unwrap();
}
