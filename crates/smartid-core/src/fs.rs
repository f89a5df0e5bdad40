//! Bounded reads of configuration and keystore files.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::keystore::io_error;

/// Reads a whole file, refusing anything that is not a regular file (a
/// directory, a FIFO, a device such as `/dev/zero`, a socket) and anything
/// longer than `max_bytes`.
///
/// The limit holds even when the file grows while it is read, or when its
/// metadata understates its length (as with files in `/proc`): at most
/// `max_bytes + 1` bytes are ever read.
///
/// ```
/// let err = smartid_core::read_regular_file("/dev/zero", 1024).unwrap_err();
/// assert!(err.to_string().contains("not a regular file"));
/// ```
///
/// # Errors
/// [`Error::FileNotFound`], [`Error::NotAFile`], [`Error::FileTooLarge`], or
/// [`Error::Io`] with what the operating system said.
pub fn read_regular_file(path: impl AsRef<Path>, max_bytes: u64) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let source_name = path.display().to_string();
    // Checked before opening: opening a FIFO for reading blocks until a
    // writer appears.
    let meta = std::fs::metadata(path).map_err(|e| io_error(&source_name, &e))?;
    check_regular(&meta, &source_name)?;
    let file = std::fs::File::open(path).map_err(|e| io_error(&source_name, &e))?;
    // Checked again on the opened handle, in case the path was swapped.
    let meta = file.metadata().map_err(|e| io_error(&source_name, &e))?;
    check_regular(&meta, &source_name)?;
    let too_large = || Error::FileTooLarge {
        source_name: source_name.clone(),
        limit: max_bytes,
    };
    if meta.len() > max_bytes {
        return Err(too_large());
    }
    let capacity = usize::try_from(meta.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(&source_name, &e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large());
    }
    Ok(bytes)
}

fn check_regular(meta: &std::fs::Metadata, source_name: &str) -> Result<()> {
    let kind = file_kind(meta);
    if kind == "regular file" {
        Ok(())
    } else {
        Err(Error::NotAFile {
            source_name: source_name.to_owned(),
            kind,
        })
    }
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_file() {
        return "regular file";
    }
    if ft.is_dir() {
        return "directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "named pipe (FIFO)";
        }
        if ft.is_char_device() {
            return "character device";
        }
        if ft.is_block_device() {
            return "block device";
        }
        if ft.is_socket() {
            return "socket";
        }
    }
    "special file"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("smartid-fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).ok();
        dir
    }

    #[test]
    fn reads_a_file_within_the_limit() -> Result<()> {
        let dir = temp_dir("ok");
        let path = dir.join("a.properties");
        std::fs::write(&path, b"key=value\n").map_err(|e| io_error("a", &e))?;
        assert_eq!(read_regular_file(&path, 10)?, b"key=value\n");
        assert!(matches!(
            read_regular_file(&path, 9),
            Err(Error::FileTooLarge { limit: 9, .. })
        ));
        Ok(())
    }

    #[test]
    fn refuses_devices_directories_and_missing_files() {
        assert!(matches!(
            read_regular_file("/dev/zero", 1 << 20),
            Err(Error::NotAFile {
                kind: "character device",
                ..
            })
        ));
        assert!(matches!(
            read_regular_file(std::env::temp_dir(), 1 << 20),
            Err(Error::NotAFile {
                kind: "directory",
                ..
            })
        ));
        assert!(matches!(
            read_regular_file("/definitely/not/here.p12", 1 << 20),
            Err(Error::FileNotFound { .. })
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn refuses_a_fifo_without_blocking() {
        let dir = temp_dir("fifo");
        let path = dir.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&path).status();
        if !matches!(made, Ok(s) if s.success()) {
            return; // no mkfifo on this machine: nothing to check
        }
        assert!(matches!(
            read_regular_file(&path, 1 << 20),
            Err(Error::NotAFile {
                kind: "named pipe (FIFO)",
                ..
            })
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_limit_holds_when_metadata_says_zero() {
        // /proc files report a length of 0 but have content.
        let read = read_regular_file("/proc/self/status", 4);
        assert!(
            matches!(read, Err(Error::FileTooLarge { limit: 4, .. })),
            "{read:?}"
        );
    }
}
