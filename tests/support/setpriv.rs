//! Running the built binary with fewer privileges, for tests of what an
//! ordinary user sees (CI runs as root). `setpriv` (util-linux) changes uid or
//! drops capabilities and then execs the command; tests skip with a printed
//! reason only when it is missing.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

/// The user `nobody`'s ids on Debian and most distributions.
pub const NOBODY: &str = "65534";

/// A copy of the sockscope binary in a world-readable temporary directory, so
/// that `nobody` can run it wherever the checkout lives (a CI clone under
/// /root is not reachable for other users).
pub struct Binary {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn binary() -> Binary {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("sockscope");
    std::fs::copy(env!("CARGO_BIN_EXE_sockscope"), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    Binary { _dir: dir, path }
}

/// Is setpriv available? Prints why not, for the test log.
pub fn available() -> bool {
    let ok = Command::new("setpriv").arg("--version").output().is_ok();
    if !ok {
        eprintln!("SKIP: setpriv (util-linux) is not installed; .ci/run installs it");
    }
    ok
}

pub fn am_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next().map(|u| u == "0"))
        .unwrap()
}

/// `sockscope ARGS` as the user nobody, with no supplementary groups.
pub fn as_nobody(bin: &Binary, args: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        &format!("--reuid={NOBODY}"),
        &format!("--regid={NOBODY}"),
        "--clear-groups",
    ])
    .arg(&bin.path)
    .args(args);
    c
}

/// `sockscope ARGS` as the same user, with every capability dropped (as
/// root: uid 0 but no CAP_NET_BIND_SERVICE).
pub fn without_caps(bin: &Binary, args: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--inh-caps=-all", "--bounding-set=-all"])
        .arg(&bin.path)
        .args(args);
    c
}

/// This machine's ip_unprivileged_port_start.
pub fn unprivileged_port_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}
