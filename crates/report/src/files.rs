//! Files sockscope writes: handouts (`e`, `--format markdown` saved by the
//! TUI) and pcap captures (`w`, `trace --pcap FILE`).
//!
//! Two promises, kept here for every writer. A file name built from a
//! lesson's name can never leave the folder it is written in: the name is
//! reduced to letters, digits, `-` and `_` (lesson names are checked at load
//! already; this holds even for a name that was not), so no `/` or `..`
//! reaches the path. And nothing is overwritten unless asked: files are
//! created with `O_EXCL` (`create_new`), so an existing file, or one created
//! by someone else a moment earlier, is never replaced; `trace --pcap FILE
//! --force` is the one way to replace one. Write errors are reported, not
//! lost in a buffer dropped at the end: every writer flushes explicitly and
//! a regular file is synced, so a full disk or a file that refuses writes
//! (`/dev/full`, `/proc/version`) is an error the user sees.

use sockscope_core::wire::Frame;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// `name` as part of a file name: ASCII letters, digits, `-` and `_` kept,
/// anything else (`/`, `.`, spaces, control characters) written as `_`.
/// Never empty.
#[must_use]
pub fn stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() { "lesson".into() } else { s }
}

/// Create a new file `PREFIX.EXT` in `dir`, or `PREFIX-2.EXT`, `-3`... if
/// that name is taken; `prefix` is made safe with [`stem`]. Returns the path
/// and the open file.
pub fn create_new(dir: &Path, prefix: &str, ext: &str) -> io::Result<(PathBuf, File)> {
    let prefix = stem(prefix);
    for n in 1..=999u32 {
        let name = if n == 1 {
            format!("{prefix}.{ext}")
        } else {
            format!("{prefix}-{n}.{ext}")
        };
        let path = dir.join(name);
        // create_new: fails if the file exists, so two writers never race
        // onto one name.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            // Taken: try the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "999 files named {prefix}-N.{ext} already in {}",
            dir.display()
        ),
    ))
}

/// Write all of `bytes` to `file` and make sure they arrived: flushed, and
/// for a regular file synced to disk, so a full disk is reported here.
pub fn finish(mut file: File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    finish_file(file)
}

fn finish_file(file: File) -> io::Result<()> {
    if file.metadata()?.is_file() {
        file.sync_data()?;
    }
    Ok(())
}

/// Write `frames` as pcap into `file`; the number of packets written.
fn write_frames(file: File, frames: &[Frame]) -> io::Result<usize> {
    let mut out = BufWriter::new(file);
    sockscope_core::wire::pcap::write(&mut out, frames).map_err(|e| match e {
        pcap_file::PcapError::IoError(e) => e,
        other => io::Error::other(other),
    })?;
    // into_inner flushes and reports the error a dropped BufWriter would
    // have swallowed (`--pcap /dev/full` once said "wrote 20 packets").
    let file = out
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    finish_file(file)?;
    Ok(frames.len())
}

/// `trace --pcap PATH`: write `frames` to `path`. An existing file is
/// refused unless `force`, with an error that says how to replace it.
pub fn write_pcap(path: &Path, frames: &[Frame], force: bool) -> io::Result<usize> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let file = options.open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            io::Error::new(
                e.kind(),
                "the file exists and sockscope never overwrites one: choose another name, or add --force to replace it",
            )
        } else {
            e
        }
    })?;
    write_frames(file, frames)
}

/// The `w` key: `frames` as a new `sockscope-LESSON-SECONDS.pcap` in `dir`
/// (never overwriting one). The path and the number of packets written.
pub fn save_pcap(dir: &Path, lesson: &str, frames: &[Frame]) -> io::Result<(PathBuf, usize)> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (path, file) = create_new(dir, &format!("sockscope-{}-{secs}", stem(lesson)), "pcap")?;
    Ok((path.clone(), write_frames(file, frames)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_name_cannot_leave_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("here");
        std::fs::create_dir(&inner).unwrap();
        let (path, f) = create_new(&inner, "sockscope-x/../../trav_target/evil", "md").unwrap();
        finish(f, b"x").unwrap();
        assert_eq!(path.parent(), Some(inner.as_path()));
        assert_eq!(
            path.file_name().unwrap(),
            "sockscope-x_______trav_target_evil.md"
        );
        assert_eq!(stem(""), "lesson");
        assert_eq!(stem("\u{1b}]0;x"), "__0_x");
    }

    #[test]
    fn an_existing_pcap_is_refused_without_force_and_write_errors_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("run.pcap");
        std::fs::write(&p, b"keep me").unwrap();
        let e = write_pcap(&p, &[], false).unwrap_err();
        assert!(e.to_string().contains("--force"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"keep me");
        assert_eq!(write_pcap(&p, &[], true).unwrap(), 0);
        assert_ne!(std::fs::read(&p).unwrap(), b"keep me");
        let e = write_pcap(Path::new("/dev/full"), &[], true).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
    }
}
