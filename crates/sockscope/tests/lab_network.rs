//! The lab network, checked on the real kernel: lessons run in a private
//! network namespace of their own, where every user may capture (the pcap
//! is read back by tcpdump), where nothing is seen from the machine's own
//! `ss`, and which gives way to the machine's network, with one line saying
//! why, when the kernel refuses it. Each is checked as this user (root in
//! CI) and as uid 65534 with no capabilities.

mod common;
#[path = "../benches/process/pty_harness.rs"]
#[allow(dead_code)]
mod pty_harness;
#[path = "support/setpriv.rs"]
mod setpriv;

use common::bin;
use pty_harness::Term;
use std::process::{Command, Output};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);
const LAB: &str = "lab network: a private loopback, yours alone";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Skip (and fail in CI) where this kernel refuses the lab to everyone.
fn lab_refused(o: &Output) -> bool {
    let refused = stderr(o).contains("no lab network");
    if refused {
        sockscope_core::testing::skip("the kernel refuses the lab network on this machine");
    }
    refused
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").output().is_ok();
    if !ok {
        sockscope_core::testing::skip(&format!("{tool} is not installed; .ci/run installs it"));
    }
    ok
}

/// `trace tcp --pcap FILE` run by `cmd`, then the file read by tcpdump: the
/// handshake, the data and the FINs are in it, on 127.0.0.1.
fn pcap_is_read_by_tcpdump(mut cmd: Command, pcap: &std::path::Path) {
    let out = setpriv::output(&mut cmd);
    if lab_refused(&out) {
        return;
    }
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("# {LAB}")),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("packets to"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("CAP_NET_RAW"), "{}", stderr(&out));
    let read = Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(pcap)
        .output()
        .unwrap();
    assert!(read.status.success(), "{}", stderr(&read));
    let lines = stdout(&read);
    assert!(lines.contains("Flags [S]"), "a SYN: {lines}");
    assert!(lines.contains("Flags [S.]"), "a SYN-ACK: {lines}");
    assert!(lines.contains("Flags [P.]"), "data: {lines}");
    assert!(lines.contains("Flags [F.]"), "a FIN: {lines}");
    assert!(
        lines.lines().all(|l| l.contains(" IP 127.0.0.1.")),
        "{lines}"
    );
}

#[test]
fn in_the_lab_every_user_captures_and_tcpdump_reads_the_pcap() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !have("tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine.pcap");
    let mut cmd = bin();
    cmd.args(["trace", "tcp", "--pcap"]).arg(&mine);
    pcap_is_read_by_tcpdump(cmd, &mine);

    if !setpriv::available() {
        return;
    }
    // As nobody, with no capability at all: the lab gives capture back.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let theirs = dir.path().join("nobody.pcap");
    let binary = setpriv::binary();
    let mut cmd = setpriv::nobody(&binary);
    cmd.args(["trace", "tcp", "--pcap"]).arg(&theirs);
    pcap_is_read_by_tcpdump(cmd, &theirs);
    assert_eq!(
        std::fs::metadata(&theirs).unwrap().uid().to_string(),
        setpriv::NOBODY,
        "in the lab the learner is still themselves: the file is theirs"
    );
}

/// The TUI on `tcp`, stepped to listen; the port it listens on.
fn listening_tui(program: &str, args: &[&str]) -> (Term, u16) {
    let mut term = Term::spawn(program, args, 200, 50);
    term.wait_for(WAIT, |s| s.contents().contains("Press Space"))
        .unwrap_or_else(|| panic!("no first frame:\n{}", term.contents()));
    for step in 1..=3 {
        term.press(b" ");
        let want = format!("step {step} of 22");
        term.wait_for(WAIT, |s| s.contents().contains(&want))
            .unwrap_or_else(|| panic!("step {step} never showed:\n{}", term.contents()));
    }
    let screen = term.contents();
    let at = screen
        .find("listening :")
        .unwrap_or_else(|| panic!("no listening port:\n{screen}"))
        + "listening :".len();
    let digits: String = screen[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (term, digits.parse().unwrap())
}

/// Is anything listening on 127.0.0.1:`port` in the table `path` shows
/// (/proc/net/tcp is the reader's network; /proc/PID/net/tcp is PID's)?
fn listening_in(path: &str, port: u16) -> bool {
    let want = format!("0100007F:{port:04X}");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f[1] == want && f[3] == "0A"
        })
}

/// The machine's own `ss -tln`: does it list 127.0.0.1:`port`?
fn ss_lists(port: u16) -> bool {
    let out = Command::new("ss").args(["-tlnH"]).output().unwrap();
    assert!(out.status.success());
    stdout(&out)
        .lines()
        .any(|l| l.split_whitespace().nth(3) == Some(&format!("127.0.0.1:{port}")))
}

fn nothing_escapes(program: &str, args: &[&str]) {
    let (mut term, port) = listening_tui(program, args);
    let pid = term.pid();
    assert!(
        term.contents().contains(LAB),
        "the title bar says so:\n{}",
        term.contents()
    );
    // The process's own table (its network namespace) has the listener...
    assert!(listening_in(&format!("/proc/{pid}/net/tcp"), port));
    // ...and the machine's has not: not in ss, not in /proc/net/tcp.
    assert!(!ss_lists(port), "ss on the machine lists the lab's {port}");
    assert!(!listening_in("/proc/net/tcp", port));
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());
}

#[test]
fn the_machines_ss_sees_no_lesson_socket_while_a_lab_lesson_runs() {
    if !have("ss") {
        return;
    }
    let probe = bin().args(["trace", "udp"]).output().unwrap();
    if lab_refused(&probe) {
        return;
    }
    let binary = setpriv::binary();
    let me = binary.path.to_str().unwrap();
    nothing_escapes(me, &["lesson", "tcp"]);
    if setpriv::available() {
        let nobody = format!("--reuid={}", setpriv::NOBODY);
        let group = format!("--regid={}", setpriv::NOBODY);
        nothing_escapes(
            "setpriv",
            &[
                &nobody,
                &group,
                "--clear-groups",
                "--inh-caps=-all",
                me,
                "lesson",
                "tcp",
            ],
        );
    }
    // With --host-network the same lesson is on the machine's loopback,
    // where ss sees it: the check above can fail.
    let (mut term, port) = listening_tui(me, &["--host-network", "lesson", "tcp"]);
    assert!(ss_lists(port), "ss lists the host-network lesson's {port}");
    assert!(
        term.contents().contains("host network"),
        "{}",
        term.contents()
    );
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());
}

/// Inside `unshare -U` (a user namespace whose maps were never written) an
/// unmapped process may not make a user namespace: the kernel's EPERM.
fn refused(prefix: &[&str]) {
    let binary = setpriv::binary();
    let out = setpriv::output(
        Command::new(prefix[0])
            .args(&prefix[1..])
            .args(["unshare", "-U"])
            .arg(&binary.path)
            .args(["trace", "tcp"]),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let said: Vec<&str> = err.lines().filter(|l| l.contains("lab network")).collect();
    assert_eq!(said.len(), 1, "said once, in one line: {err}");
    assert!(said[0].contains("unshare(CLONE_NEWUSER): EPERM"), "{err}");
    assert!(said[0].contains("uid_map is empty"), "{err}");
    assert!(
        said[0].ends_with("running on the host network, this machine's loopback"),
        "{err}"
    );
    let text = stdout(&out);
    assert!(
        text.contains("# host network: this machine's loopback"),
        "{text}"
    );
    assert!(!text.contains(LAB), "{text}");
}

#[test]
fn where_the_kernel_refuses_the_lab_one_line_says_why_and_the_lesson_runs_on_the_host() {
    if !have("unshare") {
        return;
    }
    refused(&["env"]);
    if setpriv::available() {
        let nobody = format!("--reuid={}", setpriv::NOBODY);
        let group = format!("--regid={}", setpriv::NOBODY);
        refused(&["setpriv", &nobody, &group, "--clear-groups"]);
    }
}

#[test]
fn host_network_from_the_flag_or_the_config_file_runs_on_the_machines_loopback() {
    let out = bin()
        .args(["trace", "tcp", "--host-network"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("# host network: this machine's loopback"));
    assert!(!stderr(&out).contains("lab network"), "{}", stderr(&out));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "host_network = true\n").unwrap();
    let out = bin()
        .args(["trace", "tcp", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("# host network: this machine's loopback"));
}

#[test]
fn on_a_network_whose_lo_is_down_the_user_is_told_how_to_bring_it_up() {
    if !have("unshare") {
        return;
    }
    // `unshare -rn`: a network namespace of its own, whose lo is down, as
    // a learner may have made one.
    let out = Command::new("unshare")
        .args(["-r", "-n"])
        .arg(common::bin_path())
        .args(["--host-network", "trace", "tcp"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("lo is down"), "{err}");
    assert!(err.contains("ip link set lo up"), "{err}");
    assert!(stdout(&out).is_empty(), "no lesson ran: {}", stdout(&out));
    // Without --host-network, the lab brings its own lo up.
    let out = Command::new("unshare")
        .args(["-r", "-n"])
        .arg(common::bin_path())
        .args(["trace", "tcp"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(LAB), "{}", stdout(&out));
}
