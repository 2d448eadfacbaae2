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
    _dir: Option<tempfile::TempDir>,
    pub path: PathBuf,
}

pub fn binary() -> Binary {
    // `SOCKSCOPE_TEST_BIN` runs the tests against another build (see
    // common::bin_path).
    let built = std::env::var_os("SOCKSCOPE_TEST_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_sockscope")),
        PathBuf::from,
    );
    if reachable_by_all(&built) {
        // No copy needed: the copy is what can fail with ETXTBSY (below).
        return Binary {
            _dir: None,
            path: built,
        };
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("sockscope");
    std::fs::copy(&built, &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    Binary {
        _dir: Some(dir),
        path,
    }
}

/// Can every user reach and run `path` (o+x on the file and every directory
/// above it)?
fn reachable_by_all(path: &std::path::Path) -> bool {
    path.ancestors().all(|p| {
        p.as_os_str().is_empty()
            || std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0)
    })
}

/// Run `cmd` and collect its output. A freshly copied binary can fail to
/// exec with ETXTBSY ("Text file busy") while another test thread's fork
/// still holds the copy's write descriptor; that is retried, a few times.
pub fn output(cmd: &mut Command) -> std::process::Output {
    let mut out = cmd.output().unwrap();
    for _ in 0..5 {
        if !String::from_utf8_lossy(&out.stderr).contains("Text file busy") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        out = cmd.output().unwrap();
    }
    out
}

/// Is setpriv available? Prints why not, for the test log.
pub fn available() -> bool {
    let ok = Command::new("setpriv").arg("--version").output().is_ok();
    if !ok {
        sockscope_core::testing::skip("setpriv (util-linux) is not installed; .ci/run installs it");
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

/// Does this test process hold CAP_NET_BIND_SERVICE (bit 10 of CapEff)?
pub fn have_cap_net_bind_service() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap() & (1 << 10) != 0)
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

/// The words that run a program as the user nobody with no supplementary
/// groups and no inheritable capability, as a student's shell runs it:
/// `setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all`
/// (the program follows).
#[must_use]
pub fn nobody_words() -> Vec<String> {
    vec![
        format!("--reuid={NOBODY}"),
        format!("--regid={NOBODY}"),
        "--clear-groups".into(),
        "--inh-caps=-all".into(),
    ]
}

/// `bin` (sockscope) as the user nobody with no capabilities; add its
/// arguments.
#[must_use]
pub fn nobody(bin: &Binary) -> Command {
    let mut c = Command::new("setpriv");
    c.args(nobody_words()).arg(&bin.path);
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
