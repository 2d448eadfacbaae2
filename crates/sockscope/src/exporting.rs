//! `sockscope export LESSON --lang c|python|rust [-o DIR]`: a lesson as a
//! program a student builds and runs without sockscope (the program itself
//! is written by `sockscope_report::program`). Without `-o` the source goes
//! to stdout, for `> tcp.c` or a pager; with it, the files go into DIR and
//! one line says how to build and run them. No file is ever overwritten
//! unless `--force` says so.

use crate::output;
use sockscope_core::lesson::Lesson;
use sockscope_report::program::{self, Lang};
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

/// Write `lesson` in `lang` to stdout, or into `out`.
#[must_use]
pub fn export(lesson: &Lesson, lang: Lang, out: Option<&Path>, force: bool) -> ExitCode {
    let files = program::export(lesson, lang);
    let Some(dir) = out else {
        // The source file alone: the first of the files (the README and a
        // Cargo.toml need a folder).
        let (_, source) = &files[0];
        let mut stdout = output::stdout();
        if let Err(e) = stdout
            .write_all(source.as_bytes())
            .and_then(|()| stdout.flush())
        {
            return output::write_failed(&e);
        }
        if lang == Lang::Rust {
            output::say(
                "this is src/main.rs of a Cargo project: `-o DIR` writes the project (Cargo.toml too)",
            );
        }
        return ExitCode::SUCCESS;
    };
    match write_all(dir, &files, force) {
        Ok(()) => {
            let names: Vec<String> = files
                .iter()
                .map(|(name, _)| dir.join(name).display().to_string())
                .collect();
            let listed = match names.split_last() {
                Some((last, [])) => last.clone(),
                Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
                None => String::new(),
            };
            output::say(format!(
                "wrote {listed}. Build and run it: cd {} && {}",
                dir.display(),
                program::how_to_run(&lesson.name, lang)
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            output::say(e);
            ExitCode::FAILURE
        }
    }
}

/// Every file, or none replaced: existing files are refused (all checked
/// before the first is written) unless `force`.
fn write_all(dir: &Path, files: &[(String, String)], force: bool) -> io::Result<()> {
    if !force && let Some((name, _)) = files.iter().find(|(name, _)| dir.join(name).exists()) {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists; add --force to replace it",
                dir.join(name).display()
            ),
        ));
    }
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", parent.display())))?;
        }
        let file = std::fs::File::create(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        sockscope_report::files::finish(file, text.as_bytes())
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    }
    Ok(())
}
