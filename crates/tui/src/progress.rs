//! A student's progress through the course: which lessons they have run to
//! their end and which study questions they predicted right, kept between
//! sessions in the platform's data directory
//! (`~/.local/share/sockscope/progress.toml` on Linux) and shown in the
//! lesson picker. Nothing is sent anywhere; `sockscope --reset-progress`
//! deletes the file, and `progress = false` in the config keeps none.
//!
//! The lesson screen never touches the file: its `update` marks a lesson
//! finished in [`Progress`] and asks for a save, which the screen's driver
//! carries out ([`save`]), so the screen stays a pure function of its
//! messages.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The largest progress file read: a list of lesson names is a few hundred
/// bytes, so anything larger is not one of ours.
const MAX_BYTES: u64 = 64 * 1024;

/// The lessons finished so far, by name, and the study questions answered
/// right (by lesson, the step numbers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    #[serde(default)]
    finished: BTreeSet<String>,
    #[serde(default)]
    right: std::collections::BTreeMap<String, BTreeSet<usize>>,
}

impl Progress {
    #[must_use]
    pub fn is_finished(&self, lesson: &str) -> bool {
        self.finished.contains(lesson)
    }

    /// Mark `lesson` finished; whether that is new.
    pub fn finish(&mut self, lesson: &str) -> bool {
        self.finished.insert(lesson.to_string())
    }

    /// Step `step` of `lesson` was predicted right; whether that is new.
    pub fn answered_right(&mut self, lesson: &str, step: usize) -> bool {
        self.right
            .entry(lesson.to_string())
            .or_default()
            .insert(step)
    }

    /// How many of `lesson`'s questions (`steps`, the steps that ask one)
    /// have been predicted right, in this session or an earlier one.
    #[must_use]
    pub fn right_of(&self, lesson: &str, steps: impl IntoIterator<Item = usize>) -> usize {
        let Some(right) = self.right.get(lesson) else {
            return 0;
        };
        steps.into_iter().filter(|s| right.contains(s)).count()
    }

    /// How many of `lessons` are finished (a lesson since removed from the
    /// folder does not count).
    #[must_use]
    pub fn count_of<'a>(&self, lessons: impl IntoIterator<Item = &'a str>) -> usize {
        lessons.into_iter().filter(|l| self.is_finished(l)).count()
    }
}

/// Where progress is kept on this machine, if the platform has a data
/// directory (`$XDG_DATA_HOME/sockscope`, else `~/.local/share/sockscope`).
#[must_use]
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "sockscope").map(|d| d.data_dir().join("progress.toml"))
}

/// The progress kept at `path`: none yet if the file does not exist; an
/// error naming the file if it cannot be read or is not a progress file.
pub fn load(path: &Path) -> Result<Progress, String> {
    let text = match sockscope_core::textfile::read(path, MAX_BYTES) {
        Ok(t) => t,
        Err(sockscope_core::textfile::TextFileError::Io(e))
            if e.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(Progress::default());
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    toml::from_str(&text).map_err(|e| {
        format!(
            "{}: not a progress file ({}); `sockscope --reset-progress` starts afresh",
            path.display(),
            e.message()
        )
    })
}

/// Write `progress` to `path`, creating its folder: to a new file beside
/// it first, then renamed over the old one, so a crash mid-write never
/// leaves half a file.
pub fn save(progress: &Progress, path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = format!(
        "# sockscope's record of the lessons you ran to their end.\n\
         # `sockscope --reset-progress` deletes it.\n{}",
        toml::to_string(progress).map_err(std::io::Error::other)?
    );
    let tmp = path.with_extension(format!("toml.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Delete the progress kept at `path`; whether there was any.
pub fn reset(path: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sockscope-progress-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("deeper").join("progress.toml")
    }

    #[test]
    fn progress_survives_a_save_and_a_load_and_a_reset_clears_it() {
        let path = temp("roundtrip");
        assert_eq!(load(&path).unwrap(), Progress::default(), "none yet");
        let mut p = Progress::default();
        assert!(p.finish("tcp"));
        assert!(!p.finish("tcp"), "finishing twice is not news");
        p.finish("udp");
        assert!(p.answered_right("tcp", 11));
        assert!(!p.answered_right("tcp", 11));
        save(&p, &path).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.count_of(["tcp", "udp", "layers"]), 2);
        assert_eq!(back.right_of("tcp", [11, 12]), 1);
        assert_eq!(back.right_of("udp", [3]), 0);
        assert!(reset(&path).unwrap());
        assert!(!reset(&path).unwrap(), "nothing left to reset");
        assert_eq!(load(&path).unwrap(), Progress::default());
    }

    #[test]
    fn a_file_that_is_not_progress_is_an_error_that_names_it() {
        let path = temp("bad");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "finished = 3\n").unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.contains("progress.toml"), "{e}");
        assert!(e.contains("--reset-progress"), "{e}");
    }
}
