//! The wire view in the real TUI: the built binary in a pseudo-terminal, as
//! root (captured arrows, the packet pane on a real packet, `w` writing a
//! pcap that reads back), and without CAP_NET_RAW (the hint, expected
//! arrows). Every wait has a timeout, so a broken build fails instead of
//! hanging CI.

#[path = "../benches/process/pty_harness.rs"]
#[allow(dead_code)]
mod pty_harness;

use pty_harness::Term;
use sockscope_core::wire::CaptureStatus;
use sockscope_core::wire::capture::Capture;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sockscope");
const WAIT: Duration = Duration::from_secs(15);

/// Step to `n` with Space, waiting for each step to show.
fn step_to(term: &mut Term, n: usize) {
    for step in 1..=n {
        term.press(b" ");
        let want = format!("step {step} of 22");
        term.wait_for(WAIT, |s| s.contents().contains(&want))
            .unwrap_or_else(|| panic!("step {step} never showed:\n{}", term.contents()));
    }
}

#[test]
fn as_root_the_arrows_are_captured_and_the_pane_decodes_a_real_packet() {
    match Capture::open() {
        Ok(_) => {}
        Err(CaptureStatus::Unprivileged) => {
            sockscope_core::testing::skip(
                "this test process may not capture (no CAP_NET_RAW); CI runs as root",
            );
            return;
        }
        Err(other) => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    // `w` writes into the current directory: run the TUI in a fresh one.
    let script = format!("cd '{}' && exec '{BIN}' lesson tcp", dir.path().display());
    let mut term = Term::spawn("sh", &["-c", &script], 140, 45);
    term.wait_for(WAIT, |s| s.contents().contains("Press Space"))
        .unwrap_or_else(|| panic!("no first frame:\n{}", term.contents()));
    step_to(&mut term, 7);
    // The data segment as captured, once its arrow has arrived.
    term.wait_for(WAIT, |s| {
        let c = s.contents();
        c.contains("PSH-ACK 17 B") && c.contains("captured on lo")
    })
    .unwrap_or_else(|| panic!("no captured data arrow:\n{}", term.contents()));

    term.press(b"x");
    // The pane's own line (the layer diagram names the layers too).
    term.wait_for(WAIT, |s| s.contents().contains("another packet"))
        .unwrap_or_else(|| panic!("no packet pane:\n{}", term.contents()));
    // Walk back to the client's data segment (the server's ACK may come
    // after it on this step): its payload is the bytes that were sent.
    let title = |t: &Term| t.contents().lines().nth(1).unwrap_or_default().to_string();
    for _ in 0..5 {
        if title(&term).contains("PSH-ACK seq=1 ack=1") {
            break;
        }
        let before = title(&term);
        term.press(b"k");
        term.wait_for(WAIT, |s| {
            s.contents().lines().nth(1).unwrap_or_default() != before
        })
        .unwrap_or_else(|| panic!("k did not choose another packet:\n{}", term.contents()));
    }
    // A frame can arrive in pieces: wait until the whole pane is drawn.
    term.wait_for(WAIT, |s| {
        s.contents()
            .contains("payload           \"hello from client\"")
    })
    .unwrap_or_else(|| panic!("no payload field:\n{}", term.contents()));
    term.drain_for(Duration::from_millis(50));
    let screen = term.contents();
    for needle in [
        "payload           \"hello from client\"",
        "PSH-ACK seq=1 ack=1",
        "00:00:00:00:00:00",
        "0x0800 (IPv4)",
        "6 (TCP)",
        "PSH ACK",
        "big-endian",
        "0000 ",
    ] {
        assert!(screen.contains(needle), "{needle} missing:\n{screen}");
    }

    term.press(b"w");
    term.wait_for(WAIT, |s| s.contents().contains("packets to sockscope-tcp-"))
        .unwrap_or_else(|| panic!("no pcap written:\n{}", term.contents()));
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());

    let pcap = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "pcap"))
        .expect("a pcap file in the TUI's directory");
    let bytes = std::fs::read(&pcap).unwrap();
    let mut reader = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
    let mut payloads = Vec::new();
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        let d = sockscope_core::wire::decode::decode(&p.data);
        payloads.push(p.data[d.payload].to_vec());
    }
    // The handshake, the client's data and the server's ACK at least.
    assert!(payloads.len() >= 5, "{} packets", payloads.len());
    assert!(payloads.iter().any(|p| p == b"hello from client"));
}

#[test]
fn without_cap_net_raw_the_screen_says_how_to_enable_capture() {
    if std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_err()
    {
        sockscope_core::testing::skip("setpriv (util-linux) is not installed; .ci/run installs it");
        return;
    }
    let mut term = Term::spawn(
        "setpriv",
        &[
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
            BIN,
            "lesson",
            "tcp",
        ],
        140,
        45,
    );
    // The hint wraps over lines; each part is checked on its own.
    term.wait_for(WAIT, |s| {
        let c = s.contents();
        [
            "packet capture needs CAP_NET_RAW",
            "sudo",
            "setcap",
            "cap_net_raw+ep",
        ]
        .iter()
        .all(|n| c.contains(n))
    })
    .unwrap_or_else(|| panic!("no hint:\n{}", term.contents()));
    step_to(&mut term, 6);
    term.wait_for(WAIT, |s| s.contents().contains("expected: what"))
        .unwrap_or_else(|| panic!("arrows not marked expected:\n{}", term.contents()));
    let screen = term.contents();
    assert!(!screen.contains("captured on lo"), "{screen}");
    assert!(!screen.contains("CAP_NET_RAW"), "said once:\n{screen}");
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());
}
