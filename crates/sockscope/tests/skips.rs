//! A test that cannot run says so, and fails in CI.
//!
//! Every test that needs something a machine may lack (capture privilege,
//! root, setpriv, ss, tcpdump, python3) reports it through
//! `sockscope_core::testing::skip`: `SKIPPED: reason` on stdout, and a
//! failure when `CI=true` (`.ci/run` sets it). These tests check the helper
//! does both, and that no test source prints a skip of its own, which would
//! return green in CI without running.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the child run of [`the_probe`] only.
const PROBE: &str = "SOCKSCOPE_SKIP_PROBE";

/// Not a check by itself: run by the next test, in a child process, with
/// and without `CI=true`.
#[test]
fn the_probe() {
    if std::env::var_os(PROBE).is_some() {
        sockscope_core::testing::skip("the probe has nothing to run");
    }
}

fn run_probe(ci: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "the_probe", "--nocapture", "--test-threads=1"])
        .env(PROBE, "1")
        .env("CI", ci)
        .output()
        .unwrap()
}

#[test]
fn a_skipped_test_says_why_and_fails_in_ci() {
    let here = run_probe("false");
    let text = String::from_utf8_lossy(&here.stdout);
    assert!(here.status.success(), "outside CI a skip passes: {text}");
    assert!(
        text.contains("SKIPPED: the probe has nothing to run"),
        "{text}"
    );

    let ci = run_probe("true");
    let text = String::from_utf8_lossy(&ci.stdout);
    assert!(!ci.status.success(), "in CI a skip fails: {text}");
    assert!(
        text.contains("SKIPPED: the probe has nothing to run"),
        "{text}"
    );
    assert!(text.contains("1 failed"), "{text}");
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A print that announces a skip without going through the helper: a test
/// that returns after it passes in CI without having run.
#[test]
fn every_skip_goes_through_the_helper() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    rust_files(crates, &mut files);
    assert!(files.len() > 50, "found the sources: {}", files.len());
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // Joined across line breaks, so `println!(\n "skipped..."` is seen.
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for print in ["println!(", "eprintln!(", "print!(", "eprint!("] {
            for (at, _) in flat.match_indices(print) {
                let rest = flat[at + print.len()..].trim_start().to_lowercase();
                if rest.starts_with("\"skip") {
                    found.push(format!("{}: {}", file.display(), &flat[at..at + 60]));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "skips printed by hand (use sockscope_core::testing::skip):\n{}",
        found.join("\n")
    );
}
