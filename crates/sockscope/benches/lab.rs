//! What the lab network costs: entering it (unshare of a user and a network
//! namespace, the id maps, `lo` up, the machine's port settings copied in,
//! CAP_NET_BIND_SERVICE given back), and a whole `trace udp` process in the
//! lab against the same on the machine's network (entering, and the
//! namespace's teardown at exit, included). docs/performance.md records the
//! figures; the budget for entering is 20 ms.
//!
//! Entering is once per process and needs a single-threaded one, so each
//! sample is a fresh process: this bench executable re-run with
//! `SOCKSCOPE_BENCH_LAB=1`, which enters the lab first thing in `main`
//! (as sockscope does), and prints the time `lab::enter` took, measured
//! around the call in that process.

use criterion::{Criterion, criterion_group};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sockscope");
const CHILD_ENV: &str = "SOCKSCOPE_BENCH_LAB";

/// The child: enter the lab, print the nanoseconds it took.
fn child() {
    let started = std::time::Instant::now();
    match sockscope_core::lab::enter() {
        Ok(n) if n.in_lab() => println!("{}", started.elapsed().as_nanos()),
        Ok(sockscope_core::lab::Network::HostRefused(r)) => {
            eprintln!("{}", r.line());
            std::process::exit(1)
        }
        other => {
            eprintln!("{other:?}");
            std::process::exit(1)
        }
    }
}

fn enter_once() -> Duration {
    let exe = std::env::current_exe().expect("the bench's own path");
    let out = Command::new(exe)
        .env(CHILD_ENV, "1")
        .output()
        .expect("re-run the bench as the child");
    assert!(
        out.status.success(),
        "entering the lab failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ns: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    Duration::from_nanos(ns)
}

fn trace_udp(host: bool) -> Duration {
    let started = std::time::Instant::now();
    let mut cmd = Command::new(BIN);
    cmd.args([
        "trace",
        "udp",
        "--no-kernel",
        "--no-capture",
        "--format",
        "json",
    ]);
    if host {
        cmd.arg("--host-network");
    }
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    started.elapsed()
}

fn lab(c: &mut Criterion) {
    let mut g = c.benchmark_group("lab");
    g.sample_size(30);
    g.bench_function("enter", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| enter_once()).sum());
    });
    g.bench_function("trace_udp_process_in_the_lab", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| trace_udp(false)).sum());
    });
    g.bench_function("trace_udp_process_on_the_host_network", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| trace_udp(true)).sum());
    });
    g.finish();
}

criterion_group!(benches, lab);

fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
