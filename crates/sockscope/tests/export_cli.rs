//! `sockscope export` at the command line: the source on stdout without
//! `-o`; with it the files in the folder and one line on how to build and
//! run them; no file replaced without `--force`; a lesson that does not
//! exist named with the list, exit status 2. As an ordinary user too (CI
//! runs as root; setpriv runs the binary as `nobody`).

mod common;
#[path = "support/setpriv.rs"]
mod setpriv;

use common::bin;
use std::os::unix::fs::PermissionsExt;

#[test]
fn without_a_folder_the_source_goes_to_stdout() {
    let out = bin().args(["export", "udp"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("// The sockscope lesson \"udp\""),
        "{text}"
    );
    assert!(text.contains("int main(void) {"), "{text}");
    let py = bin()
        .args(["export", "udp", "--lang", "python"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&py.stdout).starts_with("#!/usr/bin/env python3"));
}

#[test]
fn a_lesson_that_does_not_exist_is_a_usage_error() {
    let out = bin().args(["export", "nosuch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no lesson called `nosuch`") && err.contains("tcp"),
        "{err}"
    );
    let out = bin()
        .args(["export", "tcp", "--lang", "cobol"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn files_are_written_once_and_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("tcp-c");
    let run = || {
        bin()
            .args(["export", "tcp", "-o"])
            .arg(&out_dir)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success());
    let said = String::from_utf8_lossy(&first.stderr);
    assert!(
        said.contains("tcp.c and ") && said.contains("cc -Wall -Werror -pthread -o tcp tcp.c"),
        "{said}"
    );
    let readme = std::fs::read_to_string(out_dir.join("README.md")).unwrap();
    assert!(readme.contains("cc -Wall -Werror -pthread"), "{readme}");
    std::fs::write(out_dir.join("tcp.c"), "mine").unwrap();
    let again = run();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists; add --force"));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("tcp.c")).unwrap(),
        "mine"
    );
    let forced = bin()
        .args(["export", "tcp", "--force", "-o"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(forced.status.success());
    assert!(
        std::fs::read_to_string(out_dir.join("tcp.c"))
            .unwrap()
            .contains("int main")
    );
}

#[test]
fn an_ordinary_user_exports_into_a_folder_of_their_own_and_not_elsewhere() {
    if !setpriv::am_root() {
        // Already an ordinary user: the other tests are this one.
        return;
    }
    if !setpriv::available() {
        return;
    }
    let bin = setpriv::binary();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let mine = dir.path().join("mine");
    let out = setpriv::output(&mut setpriv::as_nobody(
        &bin,
        &[
            "export",
            "half-close",
            "--lang",
            "python",
            "-o",
            mine.to_str().unwrap(),
        ],
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(mine.join("half_close.py").exists());
    // A folder nobody may write: one line naming it, exit status 1.
    let closed = dir.path().join("closed");
    std::fs::create_dir(&closed).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = setpriv::output(&mut setpriv::as_nobody(
        &bin,
        &["export", "tcp", "-o", closed.to_str().unwrap()],
    ));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Permission denied") && err.contains("closed"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
