//! `sockscope run --headless` against `strace -f -e trace=network` on the
//! same socket-heavy program: tests/programs/tcp_client.c connecting,
//! sending, reading the answer and closing 10,000 times against
//! tests/programs/tcp_server.c (run untraced, serving forever). The budget
//! (issue 18): run at least as fast as strace, both writing what they see
//! (run its JSON Lines, strace its log) to /dev/null.
//!
//! Interleaved: one run of each in turn, ROUNDS times, so a change in the
//! machine's load touches both alike; the medians and their ratio
//! (strace's time over run's: above 1 means run is faster) are printed.
//! `cargo bench --bench run_vs_strace`; SOCKSCOPE_RUN_BENCH_CONNECTIONS
//! and SOCKSCOPE_RUN_BENCH_ROUNDS change the size for a quick look.
//! Both run on the machine's network (`--host-network`), without capture,
//! so the one difference is the tracer; `run` is timed with and without
//! the kernel's view after each call (TCP_INFO and the queues, which
//! strace does not read).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sockscope");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Build tests/programs/NAME.c into `out`.
fn build(out: &Path, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(format!("{name}.c"));
    let exe = out.join(name);
    let ok = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("a C compiler (cc)")
        .success();
    assert!(ok, "cc failed on {}", src.display());
    exe
}

fn timed(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("starts");
    let d = t.elapsed();
    assert!(status.success(), "{cmd:?}: {status}");
    d
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if Command::new("strace").arg("-V").output().is_err() {
        println!("run_vs_strace: strace is not installed; nothing measured");
        return;
    }
    let connections = env_or("SOCKSCOPE_RUN_BENCH_CONNECTIONS", 10_000).to_string();
    let rounds = env_or("SOCKSCOPE_RUN_BENCH_ROUNDS", 5);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let server = build(dir.path(), "tcp_server");
    let client = build(dir.path(), "tcp_client");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("its port").port()
    };
    let port_arg = port.to_string();
    // Serving forever (clients = 0), untraced: only the client is measured.
    let mut serving = Command::new(&server)
        .args([port_arg.as_str(), "0"])
        .stdout(Stdio::null())
        .spawn()
        .expect("the server starts");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the server never listened"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut ours = Vec::new();
    let mut full = Vec::new();
    let mut theirs = Vec::new();
    let mut plain = Vec::new();
    for _ in 0..rounds {
        ours.push(timed(
            Command::new(BIN)
                .args([
                    "--host-network",
                    "run",
                    "--headless",
                    "--format",
                    "json",
                    "--no-kernel",
                    "--no-capture",
                    "--",
                ])
                .arg(&client)
                .args([port_arg.as_str(), "hello", connections.as_str()]),
        ));
        // As a student runs it: the kernel's view after each call too.
        full.push(timed(
            Command::new(BIN)
                .args([
                    "--host-network",
                    "run",
                    "--headless",
                    "--format",
                    "json",
                    "--no-capture",
                    "--",
                ])
                .arg(&client)
                .args([port_arg.as_str(), "hello", connections.as_str()]),
        ));
        theirs.push(timed(
            Command::new("strace")
                .args(["-f", "-e", "trace=network", "-o", "/dev/null"])
                .arg(&client)
                .args([port_arg.as_str(), "hello", connections.as_str()]),
        ));
        plain.push(timed(Command::new(&client).args([
            port_arg.as_str(),
            "hello",
            connections.as_str(),
        ])));
    }
    let _ = serving.kill();
    let _ = serving.wait();
    let (ours, full, theirs, plain) = (median(ours), median(full), median(theirs), median(plain));
    println!("run_vs_strace: {connections} connections, median of {rounds}, interleaved");
    println!(
        "  untraced:                          {:>8.1} ms",
        plain.as_secs_f64() * 1e3
    );
    println!(
        "  strace -f -e trace=network:        {:>8.1} ms",
        theirs.as_secs_f64() * 1e3
    );
    println!(
        "  sockscope run --headless --no-kernel (json): {:>8.1} ms",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "  sockscope run --headless, kernel view (json): {:>8.1} ms",
        full.as_secs_f64() * 1e3
    );
    println!(
        "  ratio strace / run: {:.2} without the kernel view, {:.2} with it (budget: at least 1.0)",
        theirs.as_secs_f64() / ours.as_secs_f64(),
        theirs.as_secs_f64() / full.as_secs_f64()
    );
}
