//! Reading a small text file the user names (a lesson, the config file)
//! without trusting it.
//!
//! The path comes from the command line or a config file, so it can name
//! anything: `/dev/zero` (endless zeros: reading it "to the end" grew the
//! process to 5.8 GB before this module existed), `/dev/urandom`, a FIFO that
//! blocks until someone writes to it, a directory, a 10 GB log. So a file is
//! opened without blocking (`O_NONBLOCK`, which regular files ignore, keeps a
//! FIFO from hanging the open), accepted only if it is a regular file, and
//! read only up to a cap the caller names (a lesson is a few kilobytes; the
//! caps leave room for a hundred times that). A file that is not UTF-8 is
//! reported with the line and column of the first bad byte, like every other
//! mistake in these files.

use crate::place::line_col;
use std::fmt;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The most bytes a lesson file may hold (256 KiB). The largest built-in
/// lesson is under 9 KB.
pub const LESSON_MAX: u64 = 256 * 1024;
/// The most bytes the config file may hold (64 KiB); the full template is
/// about 4 KB.
pub const CONFIG_MAX: u64 = 64 * 1024;

/// Why a file could not be read as text.
#[derive(Debug)]
pub enum TextFileError {
    /// open or read failed (missing, permission denied, a symlink loop).
    Io(std::io::Error),
    /// Not a regular file: what it is instead.
    NotRegular(&'static str),
    /// Larger than the cap.
    TooLarge { cap: u64 },
    /// Not UTF-8: where the first bad byte is, and what it is.
    NotUtf8 {
        line: usize,
        column: usize,
        byte: u8,
    },
}

impl TextFileError {
    /// Line and column, when the problem has a place in the file.
    #[must_use]
    pub fn place(&self) -> Option<(usize, usize)> {
        match self {
            TextFileError::NotUtf8 { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }

    /// The underlying I/O error's kind, for callers that tolerate a missing
    /// optional file.
    #[must_use]
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            TextFileError::Io(e) => Some(e.kind()),
            _ => None,
        }
    }
}

impl fmt::Display for TextFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextFileError::Io(e) => write!(f, "cannot read it: {e}"),
            TextFileError::NotRegular(what) => {
                write!(f, "it is {what}, not a regular file: give a text file")
            }
            TextFileError::TooLarge { cap } => write!(
                f,
                "it is larger than {} KiB ({cap} bytes), the most this file may hold",
                cap / 1024
            ),
            TextFileError::NotUtf8 { byte, .. } => {
                write!(
                    f,
                    "byte 0x{byte:02x} is not UTF-8: the file must be UTF-8 text"
                )
            }
        }
    }
}

impl std::error::Error for TextFileError {}

/// What a file that is not a regular file is, in words.
fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Read `path` as UTF-8 text of at most `cap` bytes, if it is a regular file.
pub fn read(path: &Path, cap: u64) -> Result<String, TextFileError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(TextFileError::Io)?;
    // Asked of the open file (fstat), not the path, so what is checked is
    // what is read.
    let meta = file.metadata().map_err(TextFileError::Io)?;
    if !meta.file_type().is_file() {
        return Err(TextFileError::NotRegular(kind_of(meta.file_type())));
    }
    if meta.len() > cap {
        return Err(TextFileError::TooLarge { cap });
    }
    // The size can change between fstat and read (or be 0 for a /proc
    // file): the read itself is capped too, one byte past the cap to tell
    // "exactly the cap" from "more".
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(TextFileError::Io)?;
    if bytes.len() as u64 > cap {
        return Err(TextFileError::TooLarge { cap });
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        // The text before the bad byte is valid, so it can be counted in
        // characters like every other place in these files.
        let before = std::str::from_utf8(&bytes[..good]).unwrap_or_default();
        let (line, column) = line_col(before, good);
        TextFileError::NotUtf8 {
            line,
            column,
            byte: bytes[good],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_text_file_reads_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        std::fs::write(&p, "name = \"é\"\n").unwrap();
        assert_eq!(read(&p, 100).unwrap(), "name = \"é\"\n");
    }

    #[test]
    fn devices_directories_and_fifos_are_refused_without_reading() {
        let e = read(Path::new("/dev/zero"), LESSON_MAX).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = read(dir.path(), LESSON_MAX).unwrap_err();
        assert!(e.to_string().contains("directory"), "{e}");
    }

    #[test]
    fn a_file_over_the_cap_says_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.toml");
        std::fs::write(&p, vec![b'#'; 2049]).unwrap();
        let e = read(&p, 2048).unwrap_err();
        assert!(e.to_string().contains("2 KiB (2048 bytes)"), "{e}");
        std::fs::write(&p, vec![b'#'; 2048]).unwrap();
        assert!(read(&p, 2048).is_ok());
    }

    #[test]
    fn bad_utf8_is_placed_at_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, b"a = 1\nname = \"x\xff\"\n").unwrap();
        let e = read(&p, 100).unwrap_err();
        assert_eq!(e.place(), Some((2, 10)));
        assert!(e.to_string().contains("0xff"), "{e}");
    }
}
