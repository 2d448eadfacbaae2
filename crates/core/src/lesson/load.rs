//! The lesson catalogue: the built-in lessons plus a teacher's own folder of
//! lesson files (`--lessons DIR`, or `lessons` in the config file, or the
//! `lessons` folder next to the config file).
//!
//! A user lesson may not silently shadow a built-in one: if a file in the
//! folder uses a built-in lesson's name, loading fails and says which file and
//! which built-in it collides with. A teacher who wants a changed `tcp` copies
//! the file and gives it a new name (`my-tcp`), so `sockscope trace tcp`
//! always means the same thing on every machine, and a handout's lesson name
//! identifies what ran.

use super::{Lesson, LessonError, builtins, parse_lesson};
use crate::textfile;
use crate::vocab::preview;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a lesson came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Embedded in the binary (`assets/lessons/NAME.toml`).
    Builtin,
    /// A file in the user's lessons folder.
    User(PathBuf),
}

/// Every lesson available to this run, built-ins first, then the user's in
/// file-name order.
#[derive(Debug, Clone)]
pub struct Catalog {
    entries: Vec<(Lesson, Origin)>,
}

/// Why the user's lessons could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The folder given could not be read.
    Folder { dir: PathBuf, message: String },
    /// A lesson file is malformed: file, line and column.
    Lesson(LessonError),
    /// Two lessons share a name.
    Duplicate {
        name: String,
        file: PathBuf,
        other: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Folder { dir, message } => {
                write!(
                    f,
                    "{}: cannot read the lessons folder: {}",
                    preview::text(&dir.display().to_string()),
                    preview::text(message)
                )
            }
            LoadError::Lesson(e) => write!(f, "{e}"),
            LoadError::Duplicate { name, file, other } => write!(
                f,
                "{}: lesson `{name}` has the same name as {}; give it another name",
                preview::text(&file.display().to_string()),
                preview::text(other)
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// The user's lessons folder and whether it must exist. A folder named on the
/// command line or in the config file must exist; the default folder next to
/// the config file is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub dir: PathBuf,
    pub required: bool,
}

impl Catalog {
    /// Only the built-in lessons.
    #[must_use]
    pub fn builtin() -> Catalog {
        Catalog {
            entries: builtins()
                .into_iter()
                .map(|l| (l, Origin::Builtin))
                .collect(),
        }
    }

    /// The built-ins plus every `*.toml` file in `folder`.
    pub fn load(folder: Option<&Folder>) -> Result<Catalog, LoadError> {
        let mut catalog = Catalog::builtin();
        let Some(folder) = folder else {
            return Ok(catalog);
        };
        let files = match lesson_files(&folder.dir) {
            Ok(files) => files,
            // The default folder is optional, and may be unreadable when run
            // as another user with the first one's HOME.
            Err(e)
                if !folder.required
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                    ) =>
            {
                return Ok(catalog);
            }
            Err(e) => {
                return Err(LoadError::Folder {
                    dir: folder.dir.clone(),
                    message: e.to_string(),
                });
            }
        };
        for file in files {
            let shown = file.display().to_string();
            let src = textfile::read(&file, textfile::LESSON_MAX).map_err(|e| {
                let place = e.place();
                LoadError::Lesson(LessonError {
                    file: shown.clone(),
                    line: place.map(|p| p.0),
                    column: place.map(|p| p.1),
                    message: e.to_string(),
                })
            })?;
            let mut lesson = parse_lesson(&shown, &src).map_err(LoadError::Lesson)?;
            // The picker lists a teacher's lessons as theirs, whatever the
            // file says.
            lesson.part = super::Part::Yours;
            if let Some((_, origin)) = catalog.entries.iter().find(|(l, _)| l.name == lesson.name) {
                return Err(LoadError::Duplicate {
                    name: lesson.name,
                    file,
                    other: match origin {
                        Origin::Builtin => "a built-in lesson".to_string(),
                        Origin::User(p) => format!("the lesson in {}", p.display()),
                    },
                });
            }
            catalog.entries.push((lesson, Origin::User(file)));
        }
        Ok(catalog)
    }

    pub fn lessons(&self) -> impl Iterator<Item = &Lesson> {
        self.entries.iter().map(|(l, _)| l)
    }

    #[must_use]
    pub fn entries(&self) -> &[(Lesson, Origin)] {
        &self.entries
    }

    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Lesson> {
        self.lessons().find(|l| l.name == name)
    }

    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.lessons().map(|l| l.name.clone()).collect()
    }
}

/// The `*.toml` entries directly in `dir`, sorted by name so every run lists
/// them in the same order. Every one is a lesson to read: one that cannot be
/// read as a lesson file (a symlink loop, a dangling link, a FIFO, a
/// directory) is an error naming it when it is read, as the config file's
/// would be, never skipped in silence.
fn lesson_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = r#"
name = "mine"
title = "Mine"
summary = "a teacher's lesson"

[[actor]]
name = "a"
role = "A"

[[step]]
actor = "a"
call = "socket"
sock = "s"
proto = "udp"
say = "made {fd}"
"#;

    fn folder(files: &[(&str, &str)]) -> (tempfile::TempDir, Folder) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let f = Folder {
            dir: dir.path().to_path_buf(),
            required: true,
        };
        (dir, f)
    }

    #[test]
    fn user_lessons_come_after_the_builtins() {
        let (_d, f) = folder(&[("mine.toml", OWN), ("notes.txt", "not a lesson")]);
        let c = Catalog::load(Some(&f)).unwrap();
        let names = c.names();
        assert_eq!(names.last().map(String::as_str), Some("mine"));
        assert_eq!(names.len(), Catalog::builtin().names().len() + 1);
        assert!(matches!(c.entries().last(), Some((_, Origin::User(_)))));
        // The picker groups it as the teacher's, after the built-ins' parts
        // (the course text's first, then those that go further).
        let parts: Vec<super::super::Part> = c.lessons().map(|l| l.part).collect();
        assert_eq!(parts.last(), Some(&super::super::Part::Yours));
        assert!(
            parts.windows(2).all(|w| w[0] as u8 <= w[1] as u8),
            "{parts:?}"
        );
        assert!(parts.contains(&super::super::Part::Further));
    }

    #[test]
    fn a_user_lesson_may_not_shadow_a_builtin() {
        let (_d, f) = folder(&[("tcp.toml", &OWN.replace("\"mine\"", "\"tcp\""))]);
        let e = Catalog::load(Some(&f)).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("tcp.toml"), "{text}");
        assert!(text.contains("built-in"), "{text}");
    }

    #[test]
    fn two_user_lessons_may_not_share_a_name() {
        let (_d, f) = folder(&[("a.toml", OWN), ("b.toml", OWN)]);
        let text = Catalog::load(Some(&f)).unwrap_err().to_string();
        assert!(text.contains("b.toml") && text.contains("a.toml"), "{text}");
    }

    #[test]
    fn a_malformed_user_lesson_names_file_line_and_column() {
        let (_d, f) = folder(&[("bad.toml", &OWN.replace("proto = \"udp\"", "proto = udp"))]);
        let e = Catalog::load(Some(&f)).unwrap_err();
        let LoadError::Lesson(le) = &e else {
            panic!("{e:?}")
        };
        assert!(le.file.ends_with("bad.toml"));
        assert_eq!(le.line, Some(14));
        assert!(le.column.is_some());
    }

    #[test]
    fn a_missing_folder_is_an_error_only_when_it_was_asked_for() {
        let gone = Folder {
            dir: PathBuf::from("/nonexistent/sockscope-lessons"),
            required: true,
        };
        let text = Catalog::load(Some(&gone)).unwrap_err().to_string();
        assert!(text.contains("/nonexistent/sockscope-lessons"), "{text}");
        let optional = Folder {
            required: false,
            ..gone
        };
        assert_eq!(
            Catalog::load(Some(&optional)).unwrap().names(),
            Catalog::builtin().names()
        );
    }

    #[test]
    fn a_symlink_loop_in_the_folder_is_an_error_that_names_it() {
        let (d, f) = folder(&[("mine.toml", OWN)]);
        let a = d.path().join("loop-a.toml");
        let b = d.path().join("loop-b.toml");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let text = Catalog::load(Some(&f)).unwrap_err().to_string();
        assert!(text.contains("loop-a.toml"), "{text}");
        assert!(text.contains("symbolic links"), "{text}");
    }

    #[test]
    fn a_lesson_file_is_read_only_up_to_its_cap_and_only_if_regular() {
        let big = format!("{OWN}\n{}", "# padding\n".repeat(30_000));
        let (_d, f) = folder(&[("big.toml", &big)]);
        let text = Catalog::load(Some(&f)).unwrap_err().to_string();
        assert!(
            text.contains("big.toml") && text.contains("256 KiB"),
            "{text}"
        );
        let (d, f) = folder(&[]);
        std::os::unix::fs::symlink("/dev/zero", d.path().join("zero.toml")).unwrap();
        let text = Catalog::load(Some(&f)).unwrap_err().to_string();
        assert!(
            text.contains("zero.toml") && text.contains("character device"),
            "{text}"
        );
    }
}
