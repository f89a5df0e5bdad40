//! The replay of committed fuzz corpora under `cargo test`: every file of a
//! corpus directory goes through the same entry point the cargo-fuzz target
//! calls, on the stable toolchain, so that every input the fuzzer kept
//! (seeds, and each crash found, minimized) keeps passing without running
//! the fuzzer.
//!
//! ```no_run
//! // tests/fuzz_replay.rs of a crate with tests/fuzz_corpus/<target>/
//! fn parse(data: &[u8]) {
//!     let _ = std::str::from_utf8(data);
//! }
//! smartid_testkit::fuzz_corpus::replay(env!("CARGO_MANIFEST_DIR"), "my_target", parse);
//! ```
//!
//! Like the store contract, it panics on a failure: it is test code.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};

/// Runs `entry` on every file of `<manifest_dir>/tests/fuzz_corpus/<target>/`
/// in name order, and returns how many files it ran.
///
/// # Panics
/// When the corpus is missing or empty (a replay of nothing proves
/// nothing), a file cannot be read, or `entry` panics on a file (the
/// message names it).
pub fn replay(manifest_dir: &str, target: &str, entry: fn(&[u8])) -> usize {
    let dir = Path::new(manifest_dir)
        .join("tests")
        .join("fuzz_corpus")
        .join(target);
    let listing =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = listing
        .map(|item| {
            item.unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        panic!("corpus {} is empty", dir.display());
    }
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if std::panic::catch_unwind(|| entry(&data)).is_err() {
            panic!("{target}: {} panicked", file.display());
        }
    }
    files.len()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::replay;

    fn corpus(name: &str, files: &[(&str, &[u8])]) -> std::path::PathBuf {
        let root =
            std::env::temp_dir().join(format!("smartid-fuzz-corpus-{}-{name}", std::process::id()));
        let dir = root.join("tests").join("fuzz_corpus").join("t");
        std::fs::create_dir_all(&dir).unwrap();
        for (file, data) in files {
            std::fs::write(dir.join(file), data).unwrap();
        }
        root
    }

    fn refuses_0xff(data: &[u8]) {
        assert!(!data.contains(&0xff), "0xff");
    }

    #[test]
    fn replays_every_file_and_fails_on_a_panic_or_an_empty_corpus() {
        let good = corpus("good", &[("a", b"one"), ("b", b"two")]);
        assert_eq!(replay(good.to_str().unwrap(), "t", refuses_0xff), 2);

        let bad = corpus("bad", &[("a", b"one"), ("crash-1", &[0xff])]);
        let failed = std::panic::catch_unwind(|| replay(bad.to_str().unwrap(), "t", refuses_0xff));
        let message = failed.unwrap_err();
        let message = message.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("crash-1") && message.contains("panicked"),
            "{message}"
        );

        let empty = corpus("empty", &[]);
        assert!(
            std::panic::catch_unwind(|| replay(empty.to_str().unwrap(), "t", refuses_0xff))
                .is_err()
        );
        assert!(
            std::panic::catch_unwind(|| replay("/nonexistent-smartid", "t", refuses_0xff)).is_err()
        );
        for dir in [good, bad, empty] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
