//! `sockscope run` in the lab network captures the traced programs' packets
//! for every user: each call's are on its event (`segments`), and every
//! frame of the run is in `--pcap FILE`, as tcpdump reads it. Checked as
//! this user (root in CI) and as uid 65534 with no capabilities; and on
//! the machine's network as that user, where nothing can be captured and
//! the run says so instead of writing an empty pcap.

mod common;
#[path = "support/programs.rs"]
mod programs;
#[path = "support/setpriv.rs"]
mod setpriv;

use programs::{built, free_port, program};
use sockscope_core::testing::skip;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn have_tcpdump() -> bool {
    let ok = Command::new("tcpdump").arg("--version").output().is_ok();
    if !ok {
        skip("tcpdump is not installed; .ci/run installs it");
    }
    ok
}

/// `sockscope ARGS -- server PORT 1 ::: client PORT` as `user` (None: as
/// this user), its JSON lines and stderr.
fn run_pair(
    user: Option<&setpriv::Binary>,
    dir: &Path,
    extra: &[&str],
) -> (std::process::ExitStatus, Vec<serde_json::Value>, String) {
    let p = free_port().to_string();
    let (server, client) = (program(dir, "tcp_server"), program(dir, "tcp_client"));
    let mut args: Vec<&str> = vec!["run", "--headless", "--format", "json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", &server, &p, "1", ":::", &client, &p]);
    let mut cmd = match user {
        None => common::bin(),
        Some(bin) => setpriv::nobody(bin),
    };
    cmd.args(&args);
    let out = setpriv::output(&mut cmd);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status, common::json_lines(&out), err)
}

/// Every packet number on the events, and the flags of each call's.
fn segments(lines: &[serde_json::Value]) -> (BTreeSet<u64>, Vec<(String, Vec<String>)>) {
    let mut numbers = BTreeSet::new();
    let mut per_call = Vec::new();
    for v in lines {
        let Some(segs) = v["segments"].as_array() else {
            continue;
        };
        let mut labels = Vec::new();
        for s in segs {
            numbers.insert(s["n"].as_u64().unwrap());
            let flags: Vec<&str> = s["flags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            labels.push(flags.join("+"));
        }
        per_call.push((
            v["syscall"].as_str().unwrap_or_default().to_string(),
            labels,
        ));
    }
    (numbers, per_call)
}

/// Both programs' packets are on their events and in the pcap, the same
/// count as tcpdump reads.
fn captured_as(user: Option<&setpriv::Binary>, dir: &Path, pcap_dir: &Path) {
    let pcap = pcap_dir.join(if user.is_some() {
        "nobody.pcap"
    } else {
        "mine.pcap"
    });
    let pcap_arg = pcap.to_string_lossy().into_owned();
    let (status, lines, err) = run_pair(user, dir, &["--pcap", &pcap_arg]);
    if err.contains("no lab network") {
        return skip("the kernel refuses the lab network on this machine");
    }
    assert!(status.success(), "{err}");
    assert!(!err.contains("CAP_NET_RAW"), "{err}");
    let (numbers, per_call) = segments(&lines);
    let all: Vec<String> = per_call.iter().flat_map(|(_, l)| l.clone()).collect();
    for want in ["SYN", "SYN+ACK", "PSH+ACK", "FIN+ACK"] {
        assert!(all.iter().any(|l| l == want), "{want} in {per_call:?}");
    }
    // The first ten frames of a connect, one request, one answer and two
    // closes: every one the pcap holds is on some event, none twice.
    let read = Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(read.status.success());
    let frames = String::from_utf8_lossy(&read.stdout).lines().count() as u64;
    let on_events = per_call.iter().map(|(_, l)| l.len() as u64).sum::<u64>();
    assert_eq!(on_events, numbers.len() as u64, "no frame on two events");
    assert!(
        err.contains(&format!("wrote {frames} packets")),
        "{frames} frames read by tcpdump: {err}"
    );
    assert!(
        numbers.len() as u64 >= frames.saturating_sub(2),
        "all but the last ACKs after the last call are on events: {} of {frames}",
        numbers.len()
    );
}

#[test]
fn in_the_lab_every_user_captures_the_programs_packets() {
    use std::os::unix::fs::PermissionsExt;
    if !have_tcpdump() {
        return;
    }
    let dir = match built() {
        Ok(d) => d,
        Err(why) => return skip(&why),
    };
    let pcaps = tempfile::tempdir().unwrap();
    captured_as(None, dir, pcaps.path());
    if !setpriv::am_root() || !setpriv::available() {
        return skip("needs root and setpriv to run as the user nobody");
    }
    std::fs::set_permissions(pcaps.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let bin = setpriv::binary();
    captured_as(Some(&bin), dir, pcaps.path());
}

#[test]
fn on_the_machines_network_a_user_without_cap_net_raw_is_told_why() {
    use std::os::unix::fs::PermissionsExt;
    if !setpriv::am_root() || !setpriv::available() {
        return skip("needs root and setpriv to run as the user nobody");
    }
    let dir = match built() {
        Ok(d) => d,
        Err(why) => return skip(&why),
    };
    let pcaps = tempfile::tempdir().unwrap();
    std::fs::set_permissions(pcaps.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let pcap = pcaps.path().join("none.pcap");
    let pcap_arg = pcap.to_string_lossy().into_owned();
    let bin = setpriv::binary();
    let (status, lines, err) = run_pair(Some(&bin), dir, &["--host-network", "--pcap", &pcap_arg]);
    assert!(!status.success(), "no pcap is a failure: {err}");
    assert!(err.contains("nothing was captured"), "{err}");
    assert!(!pcap.exists(), "no empty pcap written");
    assert!(!lines.is_empty(), "the calls are still printed");
    assert!(
        lines.iter().all(|v| v["segments"].is_null()),
        "not observed is null, not []"
    );
}
