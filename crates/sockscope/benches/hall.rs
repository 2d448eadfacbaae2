//! The lecture-hall budget, headless: `sockscope serve --headless
//! --max-peers 1024` with 1,000 peers connected at once, each echoing a
//! message once a second for 60 s, its JSON Lines read by a consumer as a
//! script would. Budgets (docs/performance.md): no peer refused or reset,
//! every echo back intact, the server's fds back to their baseline after
//! the peers leave, and its peak RSS at most 40 MB.
//!
//! `cargo bench --bench hall` (the release binary); `SOCKSCOPE_HALL_SECS`
//! and `SOCKSCOPE_HALL_PEERS` shorten or shrink the run for a quick look.
//! `SOCKSCOPE_HALL_TUI=1` runs the same hall against the serve *screen*
//! (`sockscope serve --max-peers 1024` in a 200x50 pseudo-terminal, drawing
//! its lanes and the table of every peer) instead of `--headless`.
//! The peers live in this process: 1,000 sockets need a raised open-files
//! limit here too, which the bench asks for.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "process/pty_harness.rs"]
#[allow(dead_code)]
mod pty_harness;

const BIN: &str = env!("CARGO_BIN_EXE_sockscope");
/// Peer threads; each drives its share of the connections.
const THREADS: usize = 20;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, std::iter::Iterator::count)
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let secs = env_or("SOCKSCOPE_HALL_SECS", 60);
    let peers = env_or("SOCKSCOPE_HALL_PEERS", 1000) as usize;
    let limit = sockscope_sys::raise_open_files(peers as u64 + 256).unwrap();
    assert!(
        limit >= peers as u64 + 64,
        "this process may open only {limit} files: raise the hard limit (ulimit -Hn)"
    );
    if env_or("SOCKSCOPE_HALL_TUI", 0) == 1 {
        return hall_on_screen(secs, peers);
    }
    let mut server = Command::new(BIN)
        .args(["serve", "--headless", "--max-peers", "1024"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = server.id();
    let mut err = BufReader::new(server.stderr.take().unwrap());
    let port: u16 = loop {
        let mut line = String::new();
        assert_ne!(err.read_line(&mut line).unwrap(), 0, "serve ended early");
        if let Some(rest) = line.trim().strip_prefix("nc ") {
            break rest.rsplit(' ').next().unwrap().parse().unwrap();
        }
    };
    let stderr_rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    // The consumer: every JSON line read and parsed, as a script would.
    let lines = Arc::new(AtomicU64::new(0));
    let out = BufReader::new(server.stdout.take().unwrap());
    let counter = lines.clone();
    let consumer = std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON event");
            assert!(v["call"].is_string());
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let hall = talk(pid, port, peers, secs);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = server.wait().unwrap();
    consumer.join().unwrap();
    let summary = stderr_rest.join().unwrap();
    println!("hall: {peers} peers, each echoing once a second for {secs} s, serve --headless");
    println!("  events read           {}", lines.load(Ordering::Relaxed));
    println!(
        "  server said           {}",
        summary.trim().lines().last().unwrap_or("")
    );
    hall.report(status.success(), &status.to_string());
}

/// The same hall against the serve screen in a pseudo-terminal.
fn hall_on_screen(secs: u64, peers: usize) {
    let mut term = pty_harness::Term::spawn(BIN, &["serve", "--max-peers", "1024"], 200, 50);
    term.wait_for(Duration::from_secs(20), |s| {
        s.contents().contains("nc 127.0.0.1 ")
    })
    .unwrap_or_else(|| panic!("no serve screen:\n{}", term.contents()));
    let screen = term.contents();
    let at = screen.find("nc 127.0.0.1 ").unwrap() + "nc 127.0.0.1 ".len();
    let port: u16 = screen[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap();
    let pid = term.pid();
    // The screen's output is read all along (the harness's reader thread),
    // as a terminal would: a TUI that cannot write would stall.
    let hall = talk(pid, port, peers, secs);
    term.drain_for(Duration::from_millis(500));
    let table = term.contents();
    let on_screen = table
        .lines()
        .find(|l| l.contains("all ") && l.contains("peers ·"));
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = term.wait_exit(Duration::from_secs(20));
    println!(
        "hall: {peers} peers, each echoing once a second for {secs} s, the serve screen at 200x50"
    );
    println!(
        "  table's title         {}",
        on_screen.map_or("(not found)", str::trim)
    );
    // SIGTERM ends the TUI with 128 + 15.
    let ended = status.as_ref().is_some_and(|s| s.exit_code() == 143);
    hall.report(ended, &format!("{status:?}"));
}

/// What one hall measured.
struct Hall {
    connected: Duration,
    echoes: u64,
    failures: u64,
    worst_us: u64,
    base_fds: usize,
    peak_fds: usize,
    after_fds: usize,
    back_in: Duration,
    base_rss: u64,
    peak_rss: u64,
    hwm: u64,
}

impl Hall {
    fn report(&self, ended_well: bool, status: &str) {
        println!(
            "  connected all         {:.1} ms",
            self.connected.as_secs_f64() * 1e3
        );
        println!(
            "  echoes                {} intact, {} failed (budget: 0 failed)",
            self.echoes, self.failures
        );
        println!(
            "  slowest echo          {:.1} ms",
            self.worst_us as f64 / 1e3
        );
        println!(
            "  fds                   {} before, {} at peak, {} after (back in {:.0} ms; budget: back to {})",
            self.base_fds,
            self.peak_fds,
            self.after_fds,
            self.back_in.as_secs_f64() * 1e3,
            self.base_fds
        );
        println!(
            "  RSS                   {} KiB before, {} KiB sampled peak, VmHWM {} KiB (budget: 40960 KiB)",
            self.base_rss, self.peak_rss, self.hwm
        );
        println!("  exit                  {status}");
        // VmHWM is updated lazily by the kernel and can trail a sampled
        // VmRSS: the budget is judged on the larger.
        let peak = self.hwm.max(self.peak_rss);
        let ok = self.failures == 0
            && self.after_fds == self.base_fds
            && peak <= 40 * 1024
            && ended_well;
        println!(
            "  budgets               {}",
            if ok { "held" } else { "MISSED" }
        );
    }
}

/// Connect `peers` at once to the server (process `pid`) on `port`, have
/// each echo a line once a second for `secs`, then leave; sample the
/// server's fds and memory meanwhile.
fn talk(pid: u32, port: u16, peers: usize, secs: u64) -> Hall {
    std::thread::sleep(Duration::from_millis(300));
    let base_fds = fds(pid);
    let base_rss = status_kib(pid, "VmRSS:");

    // Everyone arrives at once.
    let started = Instant::now();
    let conns: Vec<TcpStream> = (0..peers)
        .map(|_| {
            let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s
        })
        .collect();
    let connected = started.elapsed();

    let failures = Arc::new(AtomicU64::new(0));
    let echoes = Arc::new(AtomicU64::new(0));
    let worst_us = Arc::new(AtomicU64::new(0));
    let mut shares: Vec<Vec<TcpStream>> = (0..THREADS).map(|_| Vec::new()).collect();
    for (i, c) in conns.into_iter().enumerate() {
        shares[i % THREADS].push(c);
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let workers: Vec<_> = shares
        .into_iter()
        .enumerate()
        .map(|(t, mut share)| {
            let (failures, echoes, worst) = (failures.clone(), echoes.clone(), worst_us.clone());
            std::thread::spawn(move || {
                let mut round = 0u64;
                while Instant::now() < deadline {
                    let tick = Instant::now();
                    for (i, c) in share.iter_mut().enumerate() {
                        let msg = format!("t{t:02} p{i:04} r{round:04}\n");
                        let sent = Instant::now();
                        let ok = c.write_all(msg.as_bytes()).is_ok() && {
                            let mut back = vec![0u8; msg.len()];
                            c.read_exact(&mut back).is_ok() && back == msg.as_bytes()
                        };
                        if ok {
                            echoes.fetch_add(1, Ordering::Relaxed);
                            worst.fetch_max(sent.elapsed().as_micros() as u64, Ordering::Relaxed);
                        } else {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    round += 1;
                    // Once a second, each peer.
                    if let Some(rest) = Duration::from_secs(1).checked_sub(tick.elapsed()) {
                        std::thread::sleep(rest);
                    }
                }
                share
            })
        })
        .collect();
    // Sample the server while the hall talks.
    let mut peak_fds = 0;
    let mut peak_rss = 0;
    while Instant::now() < deadline {
        peak_fds = peak_fds.max(fds(pid));
        peak_rss = peak_rss.max(status_kib(pid, "VmRSS:"));
        std::thread::sleep(Duration::from_millis(250));
    }
    let held: Vec<Vec<TcpStream>> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let hwm = status_kib(pid, "VmHWM:");
    drop(held);
    // Everyone leaves: the server's fds come back to the baseline.
    let left = Instant::now();
    while fds(pid) != base_fds && left.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let after_fds = fds(pid);
    let back_in = left.elapsed();
    Hall {
        connected,
        echoes: echoes.load(Ordering::Relaxed),
        failures: failures.load(Ordering::Relaxed),
        worst_us: worst_us.load(Ordering::Relaxed),
        base_fds,
        peak_fds,
        after_fds,
        back_in,
        base_rss,
        peak_rss,
        hwm,
    }
}
