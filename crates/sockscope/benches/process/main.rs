//! Process-level budgets, measured on the real binary in a pseudo-terminal:
//! startup (exec to first frame, against a bare ratatui program as the floor),
//! idle CPU while paused, peak memory over a whole lesson, and binary size;
//! and, without a terminal, `trace tcp --repeat 10000` per lesson, the
//! engine's overhead measured on the command itself (benches/engine.rs has
//! the plain tokio floor it is compared with).
//!
//! `cargo bench --bench process` prints each figure beside its budget;
//! docs/performance.md records them. The floor program is this same bench
//! executable re-run with `SOCKSCOPE_BENCH_FLOOR=1`: it initialises the
//! terminal, draws one frame, and waits for `q`, which is all a TUI must do
//! before its first frame.

mod pty_harness;

use pty_harness::Term;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sockscope");
const FLOOR_ENV: &str = "SOCKSCOPE_BENCH_FLOOR";
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

fn main() {
    if std::env::var_os(FLOOR_ENV).is_some() {
        floor_program();
        return;
    }
    // `cargo bench` passes `--bench`; a filter argument selects figures.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f));
    if wanted("size") {
        size();
    }
    if wanted("startup") {
        startup();
    }
    if wanted("idle") {
        idle_cpu();
    }
    if wanted("memory") {
        peak_rss();
        serve_hundred_peers();
    }
    if wanted("trace") {
        trace_repeat();
    }
}

/// `sockscope trace tcp --repeat 10000` at run-to-end speed, engine alone
/// (no kernel view, no capture), its JSON Lines thrown away: wall time per
/// lesson, median of three runs, process start included.
fn trace_repeat() {
    const RUNS: u32 = 10_000;
    let repeat = RUNS.to_string();
    let times = (0..3)
        .map(|_| {
            let started = Instant::now();
            let status = std::process::Command::new(BIN)
                .args(["trace", "tcp", "--repeat", &repeat])
                .args(["--no-kernel", "--no-capture", "--format", "json"])
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run sockscope trace");
            assert!(status.success(), "trace failed: {status}");
            started.elapsed()
        })
        .collect();
    let per_lesson = median(times) / RUNS;
    println!(
        "trace tcp --repeat {RUNS} --no-kernel --no-capture --format json: {:.1} µs per lesson; \
         budget: tcp_lesson/plain_tokio_floor's time divided by this at least 0.8",
        per_lesson.as_secs_f64() * 1e6
    );
}

/// A bare ratatui program: the least a TUI can do before its first frame.
fn floor_program() {
    use ratatui::widgets::Paragraph;
    let mut terminal = ratatui::init();
    terminal
        .draw(|f| f.render_widget(Paragraph::new("floor ready"), f.area()))
        .expect("draw");
    loop {
        if let Ok(crossterm::event::Event::Key(k)) = crossterm::event::read()
            && k.code == crossterm::event::KeyCode::Char('q')
        {
            break;
        }
    }
    ratatui::restore();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Time from spawning `program` to the first frame that satisfies `drawn`.
fn time_to_first_frame(program: &str, env_floor: bool, drawn: fn(&str) -> bool) -> Duration {
    let start = Instant::now();
    let mut term = if env_floor {
        Term::spawn_with_env(program, &[], &[(FLOOR_ENV, "1")], 120, 40)
    } else {
        Term::spawn(program, &[], 120, 40)
    };
    let spawned = start.elapsed();
    let waited = term
        .wait_for(FIRST_FRAME_TIMEOUT, |s| drawn(&s.contents()))
        .unwrap_or_else(|| panic!("no first frame from {program}:\n{}", term.contents()));
    let took = spawned + waited;
    term.press(b"q");
    term.wait_exit(Duration::from_secs(5));
    took
}

fn startup() {
    const RUNS: usize = 15;
    let me = std::env::current_exe().expect("bench executable path");
    let me = me.to_str().expect("utf-8 path");
    let floor = median(
        (0..RUNS)
            .map(|_| time_to_first_frame(me, true, |s| s.contains("floor ready")))
            .collect(),
    );
    let ours = median(
        (0..RUNS)
            .map(|_| time_to_first_frame(BIN, false, |s| s.contains("TCP")))
            .collect(),
    );
    println!(
        "startup (exec to first frame, median of {RUNS}): sockscope {:.1} ms, bare ratatui floor {:.1} ms, ratio {:.2}; budget 50 ms",
        ms(ours),
        ms(floor),
        ms(ours) / ms(floor)
    );
}

/// (utime + stime) of a process, in clock ticks, from /proc/PID/stat.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn idle_cpu() {
    const WINDOW: Duration = Duration::from_secs(10);
    let mut term = Term::spawn(BIN, &[], 120, 40);
    term.wait_for(FIRST_FRAME_TIMEOUT, |s| s.contents().contains("TCP"))
        .expect("first frame");
    // socket, bind, listen, accept (which waits): paused mid-lesson.
    for _ in 0..4 {
        term.press(b" ");
        term.drain_for(Duration::from_millis(300));
    }
    term.drain_for(Duration::from_secs(1));
    let pid = term.pid();
    let before = cpu_ticks(pid);
    term.drain_for(WINDOW);
    let used = (cpu_ticks(pid) - before) as f64 / clock_ticks_per_second();
    println!(
        "idle CPU (paused on a step, over {} s): {:.2}% of one core; budget 1%",
        WINDOW.as_secs(),
        used / WINDOW.as_secs_f64() * 100.0
    );
    term.press(b"q");
    term.wait_exit(Duration::from_secs(5));
}

fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("proc status")
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

fn peak_rss() {
    let mut term = Term::spawn(BIN, &[], 200, 50);
    term.wait_for(FIRST_FRAME_TIMEOUT, |s| s.contents().contains("TCP"))
        .expect("first frame");
    // Step through the whole lesson (22 calls, with room to spare), then
    // review back through it, so every panel has drawn every state.
    for _ in 0..30 {
        term.press(b" ");
        term.drain_for(Duration::from_millis(100));
    }
    for _ in 0..30 {
        term.press(b"h");
        term.drain_for(Duration::from_millis(30));
    }
    let kib = vm_hwm_kib(term.pid());
    println!(
        "peak RSS of the TUI over the whole tcp lesson: {:.1} MB; budget 20 MB",
        kib as f64 / 1024.0
    );
    term.press(b"q");
    term.wait_exit(Duration::from_secs(5));
}

fn size() {
    let bytes = std::fs::metadata(BIN).expect("binary").len();
    println!(
        "binary size ({}): {:.2} MiB; budget 6 MiB",
        BIN,
        bytes as f64 / (1024.0 * 1024.0)
    );
}

/// The port in the `nc 127.0.0.1 PORT` command `serve` shows.
fn nc_port(screen: &str) -> Option<u16> {
    let at = screen.find("nc 127.0.0.1 ")? + "nc 127.0.0.1 ".len();
    let digits: String = screen[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn serve_hundred_peers() {
    use std::io::{Read, Write};
    const PEERS: usize = 100;
    let mut term = Term::spawn(BIN, &["serve", "--max-peers", "128"], 200, 50);
    term.wait_for(FIRST_FRAME_TIMEOUT, |s| nc_port(&s.contents()).is_some())
        .unwrap_or_else(|| panic!("serve showed no nc command:\n{}", term.contents()));
    let port = nc_port(&term.contents()).expect("port");
    let mut peers = Vec::with_capacity(PEERS);
    for i in 0..PEERS {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let msg = format!("hello from peer {i:03}");
        s.write_all(msg.as_bytes()).expect("send");
        let mut back = vec![0u8; msg.len()];
        s.read_exact(&mut back).expect("echo");
        peers.push(s);
        term.drain_for(Duration::from_millis(5));
    }
    term.drain_for(Duration::from_secs(1));
    let kib = vm_hwm_kib(term.pid());
    println!(
        "peak RSS of the serve TUI with {PEERS} peers connected (each echoed once): {:.1} MB; budget 40 MB",
        kib as f64 / 1024.0
    );
    drop(peers);
    term.press(b"q");
    term.wait_exit(Duration::from_secs(5));
}
