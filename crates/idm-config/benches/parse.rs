//! Parsing throughput of idm-config's `.properties` parser beside Java's
//! `Properties.load` on the same file (timed by tests/java/PropsDump.java
//! itself), reported as MB/s and a ratio.
//!
//! `cargo bench -p idm-config --bench parse`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use idm_config::PropertiesFile;

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

fn rust_mbps(bytes: &[u8], iterations: u32) -> f64 {
    for _ in 0..3 {
        black_box(PropertiesFile::parse(black_box(bytes), "bench.properties"));
    }
    let start = Instant::now();
    let mut keys = 0;
    for _ in 0..iterations {
        let f = PropertiesFile::parse(black_box(bytes), "bench.properties");
        keys += f.len();
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(keys);
    bytes.len() as f64 * f64::from(iterations) / secs / 1e6
}

fn java_mbps(file: &Path, iterations: u32) -> Option<f64> {
    let classes = std::env::temp_dir().join(format!("idm-config-bench-{}", std::process::id()));
    if !classes.join("PropsDump.class").exists() {
        std::fs::create_dir_all(&classes).ok()?;
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/PropsDump.java");
        let ok = Command::new("javac")
            .arg("-d")
            .arg(&classes)
            .arg(src)
            .status()
            .ok()?
            .success();
        if !ok {
            return None;
        }
    }
    let out = Command::new("java")
        .arg("-cp")
        .arg(&classes)
        .arg("PropsDump")
        .arg("--bench")
        .arg(file)
        .arg(iterations.to_string())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let bytes = make_file();
    let file: PathBuf = std::env::temp_dir().join(format!(
        "idm-config-bench-{}.properties",
        std::process::id()
    ));
    std::fs::write(&file, &bytes).unwrap();
    let iterations = 40;
    println!(
        "file: {} bytes, {} keys",
        bytes.len(),
        PropertiesFile::parse(&bytes, "b").len()
    );
    // Best of three rounds: the machine may be busy with other work.
    let rust = (0..3)
        .map(|_| rust_mbps(&bytes, iterations))
        .fold(0.0, f64::max);
    println!("rust (idm-config PropertiesFile::parse): {rust:.1} MB/s");
    let java = (0..3)
        .filter_map(|_| java_mbps(&file, iterations))
        .reduce(f64::max);
    match java {
        Some(java) => {
            println!("java (java.util.Properties.load, UTF-8 reader): {java:.1} MB/s");
            println!("ratio rust/java: {:.2}", rust / java);
        }
        None => println!("java: not available (javac/java not on PATH); no ratio"),
    }
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("idm-config-bench-{}", std::process::id())),
    );
}
