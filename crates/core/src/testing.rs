//! How a test that cannot run here says so.
//!
//! Some tests need what not every machine gives: packet capture (root or
//! CAP_NET_RAW), `setpriv`, `ss`, `tcpdump`, `python3`, a free port 80. On a
//! student's laptop such a test may not run, and a test that silently
//! returns green there would claim more than it checked. So every such test
//! calls [`skip`] with the reason, which prints one line every log can be
//! searched for (`SKIPPED: reason`, shown by `cargo test -- --nocapture`).
//!
//! CI runs as root with every tool installed (`.ci/run` installs them and
//! sets `CI=true`): there every test must run, so [`skip`] fails the test
//! instead. A green CI therefore means every test really ran.
//!
//! This lives in the library rather than in a test folder because the unit
//! tests of the TUI crate and the binary's integration tests both need the
//! one definition.

/// The marker a skipped test prints before its reason.
pub const MARKER: &str = "SKIPPED:";

/// Is this run CI, where every test must run (`CI=true`)?
#[must_use]
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Say that the calling test cannot run here, and why. Outside CI the test
/// then returns (the caller does that); in CI this panics, so the test fails.
///
/// # Panics
///
/// When `CI=true`: in CI every test must run.
pub fn skip(reason: &str) {
    println!("{MARKER} {reason}");
    assert!(
        !in_ci(),
        "{MARKER} {reason}; in CI (CI=true) every test must run"
    );
}
