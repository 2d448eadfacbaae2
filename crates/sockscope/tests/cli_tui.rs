//! The TUI's command line without a terminal: it refuses with a message that
//! points to `sockscope trace`, and an unknown lesson is a usage error.

use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sockscope"))
}

#[test]
fn without_a_terminal_the_tui_exits_3_and_suggests_trace() {
    for args in [&[][..], &["lesson", "udp"][..]] {
        let out = bin().args(args).stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("sockscope trace"), "{err}");
        assert!(out.stdout.is_empty(), "nothing drawn on a pipe");
    }
}

#[test]
fn an_unknown_lesson_exits_2_and_lists_the_lessons() {
    let out = bin().args(["lesson", "nosuch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nosuch") && err.contains("tcp") && err.contains("udp"),
        "{err}"
    );
}

#[test]
fn an_unknown_theme_is_a_usage_error() {
    let out = bin().args(["--theme", "purple"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `run` without a terminal starts nothing: one line pointing at
/// `--headless`, exit 3; a program missing around `:::` is a usage error.
#[test]
fn run_without_a_terminal_exits_3_and_suggests_headless() {
    let marker =
        std::env::temp_dir().join(format!("sockscope-run-not-started-{}", std::process::id()));
    let out = bin()
        .args(["run", "--", "touch"])
        .arg(&marker)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--headless"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!marker.exists(), "the program was not started");
    let out = bin().args(["run", "--", "a", ":::"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
