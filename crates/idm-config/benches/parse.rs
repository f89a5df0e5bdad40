//! Parsing throughput of idm-config's `.properties` parser beside Java's
//! `Properties.load(Reader)` (a UTF-8 `InputStreamReader`) on the same
//! files, measured the way docs/performance.md says: interleaved rounds
//! (a Java run, then ours, the order alternating), the median of the
//! per-round ratios.
//!
//! Two corpora, each a row:
//! - `synthetic`: one large generated file (comments, plain entries,
//!   `\uXXXX` escapes, continuations, escaped separators, non-ASCII
//!   comments);
//! - `fixtures`: the real-shaped connector files of `tests/fixtures/rules/`,
//!   each parsed as its own file (one pass = every file once), so the cost
//!   of starting a parse counts as it does for a user.
//!
//! Java times itself: each round is a fresh JVM that warms its JIT up with
//! the same work (at least as many passes as it then times, and at least
//! two seconds), then times `N` passes (tests/java/PropsDump.java,
//! `--bench`). Ours times `N` passes of [`PropertiesFile::parse`], every
//! key and value decoded, positions kept, the result dropped. Reported per
//! pass: wall time (Java's collector threads included) and the CPU time of
//! the parsing thread. `ratio` is our time over Java's: the throughput
//! advantage is its inverse (`speedup` line).
//!
//! `cargo bench -p idm-config --bench parse`
//!
//! With `--rust-only synthetic` or `--rust-only fixtures` (after `--` on
//! cargo's command line) only ours runs, a fixed amount of work on that
//! corpus (10 passes, 1000 passes) without Java, for
//! `valgrind --tool=callgrind` on the bench binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use idm_config::{Code, PropertiesFile};
use smartid_testkit::bench::{Comparison, Meter, thread_cpu};

const ROUNDS: usize = 7;

/// A realistic but large file: comments, continuations, escapes, non-ASCII.
fn make_file() -> Vec<u8> {
    let mut s = String::new();
    for i in 0..20_000 {
        match i % 5 {
            0 => s.push_str(&format!("# section {i}: Reykjavík configuration\n")),
            1 => s.push_str(&format!("key.{i} = value number {i} with some text\n")),
            2 => s.push_str(&format!(
                "name.{i}=J\\u00F3n \\u00DE\\u00F3r M\\u00fcller {i}\n"
            )),
            3 => s.push_str(&format!(
                "long.{i} = first part \\\n    second part \\\n    third part {i}\n"
            )),
            _ => s.push_str(&format!("path\\:{i}\\ x : C\\:\\\\dir\\\\file{i}.p12\n")),
        }
    }
    s.into_bytes()
}

/// The `.properties` fixtures of tests/fixtures/rules, sorted by name,
/// without those Java refuses to load (a malformed `\uXXXX`: an exception,
/// not a load; one file, P001).
fn fixture_paths() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "properties"))
        .filter(|p| {
            let f = PropertiesFile::parse(&std::fs::read(p).unwrap(), "f");
            !f.diagnostics()
                .iter()
                .any(|d| d.code == Code::MalformedUnicodeEscape)
        })
        .collect();
    paths.sort();
    paths
}

/// `passes` passes over `files` with our parser: (wall, thread CPU, keys).
fn rust_round(files: &[Vec<u8>], passes: u64) -> (Duration, Duration, u64) {
    let mut keys = 0u64;
    let cpu0 = thread_cpu();
    let wall0 = Instant::now();
    for _ in 0..passes {
        for bytes in files {
            let f = PropertiesFile::parse(black_box(bytes), "bench.properties");
            keys += f.len() as u64;
            drop(black_box(f));
        }
    }
    let wall = wall0.elapsed();
    let cpu = thread_cpu()
        .zip(cpu0)
        .map_or(wall, |(b, a)| b.saturating_sub(a));
    (wall, cpu, keys)
}

/// Compiles PropsDump.java into `classes`; false when there is no JDK.
fn compile_java(classes: &Path) -> bool {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/PropsDump.java");
    std::fs::create_dir_all(classes).unwrap();
    Command::new("javac")
        .arg("-d")
        .arg(classes)
        .arg(src)
        .status()
        .is_ok_and(|s| s.success())
}

/// One Java round: a fresh JVM, warmed up, timing `passes` passes over
/// `files`: (wall, thread CPU, keys).
fn java_round(classes: &Path, files: &[PathBuf], passes: u64) -> (Duration, Duration, u64) {
    let out = Command::new("java")
        .arg("-cp")
        .arg(classes)
        .arg("PropsDump")
        .arg("--bench")
        .arg(passes.to_string())
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "java failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<u64> = text
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap())
        .collect();
    let [wall, cpu, n, keys] = fields[..] else {
        panic!("unexpected output from PropsDump --bench: {text}")
    };
    assert_eq!(n, passes);
    (Duration::from_nanos(wall), Duration::from_nanos(cpu), keys)
}

fn compare(label: &str, classes: &Path, paths: &[PathBuf], passes: u64) {
    let files: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let bytes: usize = files.iter().map(Vec::len).sum();
    // Our warm-up: caches and allocator, as the JVM gets its own.
    rust_round(&files, passes.div_ceil(10));
    let mut wall = Vec::with_capacity(ROUNDS);
    let mut cpu = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let (ours, java) = if round % 2 == 0 {
            let java = java_round(classes, paths, passes);
            (rust_round(&files, passes), java)
        } else {
            let ours = rust_round(&files, passes);
            (ours, java_round(classes, paths, passes))
        };
        assert_eq!(ours.2, java.2, "both sides load the same number of keys");
        wall.push((ours.0, java.0));
        cpu.push((ours.1, java.1));
    }
    let wall = Comparison::from_rounds(&format!("{label}: wall"), Meter::Wall, passes, wall);
    let cpu = Comparison::from_rounds(
        &format!("{label}: thread CPU"),
        Meter::ThreadCpu,
        passes,
        cpu,
    );
    println!("{}", wall.report());
    println!("{}", cpu.report());
    let mbps = |d: Duration| bytes as f64 / d.as_secs_f64().max(1e-12) / 1e6;
    println!(
        "{label}: {} files, {bytes} bytes a pass; ours {:.0} MB/s, java {:.0} MB/s (wall); speedup over java {:.2}x (wall), {:.2}x (thread CPU)",
        files.len(),
        mbps(wall.ours_each()),
        mbps(wall.reference_each()),
        1.0 / wall.ratio(),
        1.0 / cpu.ratio(),
    );
}

fn main() {
    let tmp = std::env::temp_dir().join(format!("idm-config-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let synthetic = tmp.join("synthetic.properties");
    std::fs::write(&synthetic, make_file()).unwrap();
    let synthetic = vec![synthetic];
    let fixtures = fixture_paths();

    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--rust-only") {
        let (paths, passes) = match args.get(at + 1).map(String::as_str) {
            Some("fixtures") => (&fixtures, 1000),
            _ => (&synthetic, 10),
        };
        let files: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
        let (_, _, keys) = rust_round(&files, passes);
        println!("rust only: {passes} passes, {keys} keys");
    } else {
        let classes = tmp.join("classes");
        if compile_java(&classes) {
            compare("properties synthetic (1 file)", &classes, &synthetic, 100);
            compare(
                "properties fixtures (rules/*.properties)",
                &classes,
                &fixtures,
                5000,
            );
        } else {
            println!("java: not available (javac/java not on PATH); no comparison");
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
