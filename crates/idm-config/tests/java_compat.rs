//! The Rust parser against `java.util.Properties` itself: a corpus of
//! tricky files plus generated ones are loaded by tests/java/PropsDump.java
//! and by idm-config, and every key and value must agree. Skipped (with a
//! note) when `javac`/`java` are not on PATH.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use idm_config::{Code, Encoding, PropertiesFile, ReadEncoding};

fn esc(s: &str) -> String {
    let mut out = String::new();
    for unit in s.encode_utf16() {
        if unit > 0x20 && unit < 0x7f && unit != u16::from(b'\\') {
            out.push(char::from(unit as u8));
        } else {
            out.push_str(&format!("\\u{unit:04X}"));
        }
    }
    out
}

fn rust_dump(paths: &[PathBuf], encoding: ReadEncoding) -> String {
    let mut out = String::new();
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        out.push_str(&format!("FILE {name}\n"));
        let file = PropertiesFile::parse_with(&std::fs::read(path).unwrap(), &name, encoding);
        if file
            .diagnostics()
            .iter()
            .any(|d| d.code == Code::MalformedUnicodeEscape)
        {
            out.push_str("ERROR\n");
            continue;
        }
        let mut lines: Vec<String> = file
            .iter()
            .map(|p| format!("K {} V {}", esc(p.key()), esc(p.value())))
            .collect();
        lines.sort();
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

/// Removes the directory when dropped, also when the test fails.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idm-config-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles PropsDump.java into a temp dir; `None` when there is no JDK.
fn compile_java() -> Option<PathBuf> {
    if Command::new("javac").arg("-version").output().is_err()
        || Command::new("java").arg("-version").output().is_err()
    {
        println!("NOTE: javac/java not on PATH; skipping the comparison with java.util.Properties");
        return None;
    }
    let classes = temp_dir("java-classes");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/PropsDump.java");
    let status = Command::new("javac")
        .arg("-d")
        .arg(&classes)
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success(), "javac failed");
    Some(classes)
}

/// Java's own reading: `latin1` is `Properties.load(InputStream)`, `utf8`
/// is `Properties.load(Reader)` over a UTF-8 `InputStreamReader`.
fn java_dump(classes: &Path, encoding: &str, paths: &[PathBuf]) -> String {
    let out = Command::new("java")
        .arg("-cp")
        .arg(classes)
        .arg("PropsDump")
        .args(["--encoding", encoding])
        .args(paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "java failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Rust strings cannot hold a lone UTF-16 surrogate: idm-config reports P004
/// and substitutes U+FFFD, so Java's lone surrogates are mapped the same way.
fn normalize_lone_surrogates(java: &str) -> String {
    let mut out = String::with_capacity(java.len());
    let units: Vec<&str> = java.split("\\u").collect();
    let parse = |s: &str| s.get(..4).and_then(|h| u16::from_str_radix(h, 16).ok());
    for (i, part) in units.iter().enumerate() {
        if i == 0 {
            out.push_str(part);
            continue;
        }
        out.push_str("\\u");
        let this = parse(part);
        let is_high = |u: Option<u16>| u.is_some_and(|u| (0xD800..0xDC00).contains(&u));
        let is_low = |u: Option<u16>| u.is_some_and(|u| (0xDC00..0xE000).contains(&u));
        let prev_high = i >= 2 && is_high(parse(units[i - 1])) && units[i - 1].len() == 4;
        let next = units.get(i + 1).and_then(|n| parse(n));
        let lone =
            (is_high(this) && !(part.len() == 4 && is_low(next))) || (is_low(this) && !prev_high);
        if lone {
            out.push_str("FFFD");
            out.push_str(&part[4..]);
        } else {
            out.push_str(part);
        }
    }
    out
}

fn assert_same(java: &str, rust: &str) {
    let java = &normalize_lone_surrogates(java);
    if java != rust {
        let j: Vec<_> = java.lines().collect();
        let r: Vec<_> = rust.lines().collect();
        for (i, (a, b)) in j.iter().zip(&r).enumerate() {
            assert_eq!(a, b, "first difference at output line {i}");
        }
        assert_eq!(j.len(), r.len(), "different number of lines");
    }
}

/// A small deterministic generator (no dependency needed for this).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

const FRAGMENTS: &[&str] = &[
    "a",
    "b",
    "key",
    "é",
    "Þ",
    "ð",
    "€",
    "😀",
    " ",
    "  ",
    "\t",
    "\u{c}",
    "=",
    ":",
    "#",
    "!",
    "\\",
    "\\\\",
    "\\ ",
    "\\=",
    "\\:",
    "\\t",
    "\\n",
    "\\u00e9",
    "\\u20AC",
    "\\uD83D\\uDE00",
    "\\u12",
    "\n",
    "\r\n",
    "\r",
    "\\\n",
    "\\\r\n",
    "\\\r",
    "\n#",
    "\n!",
    "\n ",
    "x=y",
];

#[test]
fn corpus_and_generated_files_agree_with_java() {
    let Some(classes) = compile_java() else {
        return;
    };
    let _cleanup_classes = Cleanup(classes.clone());
    let corpus_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&corpus_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "properties"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 15);

    let generated = temp_dir("java-generated");
    let _cleanup_generated = Cleanup(generated.clone());
    let mut rng = Lcg(0x5eed_1234);
    for i in 0..1000 {
        let mut text = String::new();
        for _ in 0..(1 + rng.next(40)) {
            text.push_str(FRAGMENTS[rng.next(FRAGMENTS.len())]);
        }
        let path = generated.join(format!("gen-{i:03}.properties"));
        if i % 3 == 0 {
            // Some as ISO-8859-1 (characters beyond it dropped).
            let bytes: Vec<u8> = text
                .chars()
                .filter_map(|c| u8::try_from(u32::from(c)).ok())
                .collect();
            let bytes = if std::str::from_utf8(&bytes).is_ok() {
                [b"\xe9=", &bytes[..]].concat()
            } else {
                bytes
            };
            std::fs::write(&path, bytes).unwrap();
        } else {
            std::fs::write(&path, text).unwrap();
        }
        paths.push(path);
    }

    // Each explicit choice against the Java method it stands for.
    let java_latin1 = java_dump(&classes, "latin1", &paths);
    let java_utf8 = java_dump(&classes, "utf8", &paths);
    let rust_latin1 = rust_dump(&paths, ReadEncoding::Latin1);
    let rust_utf8 = rust_dump(&paths, ReadEncoding::Utf8);
    if let Some(dir) = std::env::var_os("IDM_JAVA_DUMP") {
        let dir = Path::new(&dir);
        std::fs::write(dir.join("java-latin1.txt"), &java_latin1).unwrap();
        std::fs::write(dir.join("rust-latin1.txt"), &rust_latin1).unwrap();
        std::fs::write(dir.join("java-utf8.txt"), &java_utf8).unwrap();
        std::fs::write(dir.join("rust-utf8.txt"), &rust_utf8).unwrap();
    }
    assert!(
        java_latin1.contains("ERROR") && java_utf8.contains("ERROR"),
        "the corpus has malformed escapes both must refuse"
    );
    assert_ne!(java_latin1, java_utf8, "the corpus has non-ASCII files");
    assert_same(&java_latin1, &rust_latin1);
    assert_same(&java_utf8, &rust_utf8);

    // Detect picks one of the two per file and then reads exactly as that
    // Java method does.
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let detected = PropertiesFile::parse(&bytes, "d");
        let explicit = match detected.encoding() {
            Encoding::Latin1 => ReadEncoding::Latin1,
            _ => ReadEncoding::Utf8,
        };
        let again = PropertiesFile::parse_with(&bytes, "d", explicit);
        assert!(
            detected.iter().eq(again.iter()),
            "{}: detect differs from {explicit:?}",
            path.display()
        );
    }
}
