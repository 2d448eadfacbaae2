//! Bad input teaches, never crashes: unreadable and non-UTF-8 lesson and
//! config files are named with a clear message and exit 2. (Other bad inputs
//! are tested beside the feature they concern: unknown lessons and ports in
//! cli_trace.rs, cli_tui.rs and port_cli.rs, malformed lesson and config
//! files in cli_classroom.rs, a too-small terminal in tui_pty.rs, hostile
//! peers in hostile_peers.rs.)

#[path = "support/setpriv.rs"]
mod setpriv;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sockscope");

fn assert_usage_error(out: &std::process::Output, names: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {err}");
    assert!(err.contains(names), "the message names {names}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Backtrace"),
        "{err}"
    );
}

#[test]
fn a_lesson_file_that_is_not_utf8_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("garbage.toml");
    std::fs::write(&file, b"name = \"x\xff\xfe\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["--lessons", dir.path().to_str().unwrap(), "lessons"])
        .output()
        .unwrap();
    assert_usage_error(&out, "garbage.toml");
}

#[test]
fn a_config_file_that_is_not_utf8_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, b"theme = \"\xff\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["--config", file.to_str().unwrap(), "lessons"])
        .output()
        .unwrap();
    assert_usage_error(&out, "config.toml");
}

#[test]
fn an_unreadable_lesson_file_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.path().join("secret.toml");
    std::fs::write(&file, "name = \"secret\"\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let lessons = dir.path().to_str().unwrap();
    let out = if setpriv::am_root() {
        // Root reads any file: check as the unprivileged user `nobody`.
        if !setpriv::available() {
            return;
        }
        let bin = setpriv::binary();
        setpriv::output(
            Command::new("setpriv")
                .args(["--reuid", setpriv::NOBODY, "--regid", setpriv::NOBODY])
                .arg("--clear-groups")
                .arg(&bin.path)
                .args(["--lessons", lessons, "lessons"]),
        )
    } else {
        Command::new(BIN)
            .args(["--lessons", lessons, "lessons"])
            .output()
            .unwrap()
    };
    assert_usage_error(&out, "secret.toml");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ermission denied"));
}
