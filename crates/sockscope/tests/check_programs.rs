//! `sockscope check ROLE -- CMD` on real programs (tests/programs/, in C
//! and Python): the correct ones pass every claim (exit 0), and each broken
//! one fails on exactly the claim it breaks (exit 1), with the evidence
//! from its own calls. As this user (root in CI) and, for one, as uid
//! 65534 with no capabilities.

mod common;
#[path = "support/programs.rs"]
mod programs;
#[path = "support/setpriv.rs"]
mod setpriv;

use programs::{built, program};
use serde_json::Value;
use sockscope_core::testing::skip;
use std::process::Command;

/// `check ROLE --format json -- CMD` run by `cmd`: exit code and report.
fn check_with(mut cmd: Command, role: &str, argv: &[&str]) -> (i32, Value) {
    cmd.args(["check", role, "--format", "json", "--"])
        .args(argv);
    let out = setpriv::output(&mut cmd);
    let text = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), report)
}

fn check(role: &str, argv: &[&str]) -> (i32, Value) {
    check_with(common::bin(), role, argv)
}

/// The claims that do not hold, by their words.
fn failed(report: &Value) -> Vec<String> {
    report["claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["holds"].as_bool().unwrap())
        .map(|c| c["say"].as_str().unwrap().to_string())
        .collect()
}

/// The evidence of the claim `say`.
fn evidence<'a>(report: &'a Value, say: &str) -> &'a str {
    report["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["say"] == say)
        .unwrap_or_else(|| panic!("no claim {say:?}"))["evidence"]
        .as_str()
        .unwrap()
}

fn passes(role: &str, argv: &[&str]) {
    let (code, report) = check(role, argv);
    assert_eq!(failed(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["passed"], true);
}

#[test]
fn correct_programs_in_c_and_python_pass_every_claim() {
    let dir = match built() {
        Ok(d) => d,
        Err(why) => return skip(&why),
    };
    let py = |name: &str| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/programs")
            .join(name)
            .to_string_lossy()
            .into_owned()
    };
    passes("tcp-server", &[&program(dir, "tcp_server"), "0", "2"]);
    passes("tcp-server", &["python3", &py("tcp_server.py"), "0"]);
    passes("tcp-client", &[&program(dir, "tcp_client"), "{port}"]);
    passes("tcp-client", &["python3", &py("tcp_client.py"), "{port}"]);
    passes("udp-receiver", &[&program(dir, "udp_receiver"), "0"]);
    passes("udp-sender", &[&program(dir, "udp_sender"), "{port}"]);
}

#[test]
fn each_broken_program_fails_on_the_claim_it_breaks() {
    let dir = match built() {
        Ok(d) => d,
        Err(why) => return skip(&why),
    };
    // recv on the listening socket instead of accept: accept's claim says
    // what it did instead, with the kernel's answer.
    let (code, r) = check("tcp-server", &[&program(dir, "tcp_server_noaccept"), "0"]);
    assert_eq!(code, 1);
    let f = failed(&r);
    assert_eq!(
        f[0], "accepts the first client on the listening socket",
        "{r:#}"
    );
    let e = evidence(&r, &f[0]);
    assert!(
        e.contains("accept was never called") && e.contains("ENOTCONN"),
        "{e}"
    );
    for held in [
        "creates a TCP socket",
        "binds it to an address",
        "listens on it",
    ] {
        assert!(!f.iter().any(|s| s == held), "{held}: {r:#}");
    }
    // Answers, but never closes: exactly the two close claims fail.
    let (code, r) = check("tcp-server", &[&program(dir, "tcp_server_noclose"), "0"]);
    assert_eq!(code, 1);
    assert_eq!(
        failed(&r),
        [
            "closes the first client's connection",
            "closes the second client's connection"
        ],
        "{r:#}"
    );
    assert!(
        r["program"]
            .as_str()
            .unwrap()
            .contains("sockscope stopped it"),
        "{r:#}"
    );
    // One recv for an answer sent in two pieces: the bytes fall short.
    let (code, r) = check(
        "tcp-client",
        &[&program(dir, "tcp_client_onerecv"), "{port}"],
    );
    assert_eq!(code, 1);
    let f = failed(&r);
    assert_eq!(
        f,
        ["receives the whole answer, though it arrives in two pieces"],
        "{r:#}"
    );
    let e = evidence(&r, &f[0]);
    assert!(
        e.starts_with("30 of 50 bytes moved: recvfrom(3, 512, 0) = 30"),
        "{e}"
    );
    // A sender to the wrong port: its sendto is named, and not sockscope's.
    let (code, r) = check("udp-sender", &[&program(dir, "udp_sender"), "1"]);
    assert_eq!(code, 1);
    assert!(
        evidence(&r, "sends a datagram to sockscope's port")
            .contains("127.0.0.1:1) = 4 is not sockscope's address"),
        "{r:#}"
    );
}

#[test]
fn as_nobody_a_correct_server_passes_in_the_lab() {
    if !setpriv::am_root() || !setpriv::available() {
        return skip("needs root and setpriv to run as the user nobody");
    }
    let dir = match built() {
        Ok(d) => d,
        Err(why) => return skip(&why),
    };
    let bin = setpriv::binary();
    let cmd = setpriv::nobody(&bin);
    let (code, r) = check_with(cmd, "tcp-server", &[&program(dir, "tcp_server"), "0", "2"]);
    assert_eq!((code, failed(&r).len()), (0, 0), "{r:#}");
}

/// The text report: each claim with its mark, the call that shows it on
/// the line below, and the count at the end.
#[test]
fn the_text_report_puts_each_claims_evidence_under_it() {
    let dir = match built() {
        Ok(d) => d,
        Err(why) => return skip(&why),
    };
    let out = common::bin()
        .args(["check", "tcp-server", "--"])
        .args([&program(dir, "tcp_server"), "0", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "  ✓ listens on it")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(lines[at + 1], "      listen(3, 8) = 0", "{text}");
    assert_eq!(lines.last(), Some(&"11 of 11 claims hold"), "{text}");
}

#[test]
fn an_unknown_role_or_a_bad_role_file_is_a_usage_error() {
    let out = common::bin()
        .args(["check", "tcp-serverr", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tcp-server, tcp-client, udp-receiver, udp-sender"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let role = dir.path().join("mine.toml");
    std::fs::write(
        &role,
        "name = \"mine\"\nsummary = \"x\"\npeer = \"sender\"\n",
    )
    .unwrap();
    let out = common::bin()
        .args(["check", role.to_str().unwrap(), "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mine.toml") && err.lines().count() == 1,
        "{err}"
    );
}
