//! `trace --pcap FILE` as a file writer: a write that fails is reported and
//! exits 1 (before, `--pcap /dev/full` and `--pcap /proc/version` printed
//! "wrote 20 packets" and exited 0), and an existing file is never
//! overwritten unless `--force` says so (as handouts never overwrite).

mod common;
use common::bin;
use std::process::Output;

/// Capture needs CAP_NET_RAW: as root (CI) every case runs.
fn may_capture() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .unwrap();
    let ok = eff & (1 << 13) != 0;
    if !ok {
        sockscope_core::testing::skip(
            "this process may not capture (no CAP_NET_RAW); CI runs as root",
        );
    }
    ok
}

fn trace_pcap(path: &str, force: bool) -> Output {
    let cfg = tempfile::NamedTempFile::new().unwrap();
    let mut c = bin();
    c.arg("--config")
        .arg(cfg.path())
        .args(["trace", "tcp", "--pcap", path]);
    if force {
        c.arg("--force");
    }
    c.output().unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_file_that_refuses_writes_is_an_error_and_exit_1() {
    if !may_capture() {
        return;
    }
    for (path, why) in [
        ("/dev/full", "No space left on device"),
        ("/proc/version", "cannot write the pcap to /proc/version"),
    ] {
        let out = trace_pcap(path, true);
        let e = err(&out);
        assert_eq!(out.status.code(), Some(1), "{path}: {e}");
        assert!(e.contains(why), "{path}: {e}");
        assert!(!e.contains("wrote"), "{path}: {e}");
    }
}

#[test]
fn an_existing_pcap_is_kept_unless_force_says_otherwise() {
    if !may_capture() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.pcap");
    std::fs::write(&path, b"an earlier capture").unwrap();
    let p = path.to_str().unwrap();
    let out = trace_pcap(p, false);
    assert_eq!(out.status.code(), Some(1), "{}", err(&out));
    assert!(err(&out).contains("--force"), "{}", err(&out));
    assert_eq!(std::fs::read(&path).unwrap(), b"an earlier capture");
    // /dev/full exists too: refused the same way without --force.
    assert!(err(&trace_pcap("/dev/full", false)).contains("never overwrites"));
    let out = trace_pcap(p, true);
    assert!(out.status.success(), "{}", err(&out));
    assert!(err(&out).contains("wrote "), "{}", err(&out));
    // The classic pcap magic number (in either byte order): a real capture now.
    let magic = &std::fs::read(&path).unwrap()[..4];
    assert!(
        magic == [0xa1, 0xb2, 0xc3, 0xd4] || magic == [0xd4, 0xc3, 0xb2, 0xa1],
        "{magic:x?}"
    );
}
