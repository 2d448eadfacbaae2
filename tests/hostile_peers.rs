//! `sockscope serve` against hostile peers: a thousand connections opened and
//! dropped as fast as a client can, and one peer flooding 20 MB. The server
//! keeps running and answering, its memory stays bounded, and it leaks no fds.
//! The figures are printed (docs/reliability.md records them).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);

struct Serve {
    child: Child,
    port: u16,
    events: Arc<AtomicUsize>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `sockscope serve --headless`; learn its port from the `nc` line it
/// prints; count the JSON events it writes, as a consumer would read them.
fn serve() -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["serve", "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let port = loop {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "serve ended early");
        if let Some(rest) = line.trim().strip_prefix("nc ") {
            break rest.rsplit(' ').next().unwrap().parse().unwrap();
        }
    };
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || for _ in err.lines().map_while(Result::ok) {});
    let events = Arc::new(AtomicUsize::new(0));
    let counter = events.clone();
    let out = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            assert!(line.starts_with('{'), "not a JSON event: {line}");
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    Serve {
        child,
        port,
        events,
    }
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Wait (bounded) until the server holds exactly `want` fds again: peers'
/// sockets close as their tasks see the FIN, a moment after the peer leaves.
fn settle_fds(pid: u32, want: usize) -> usize {
    let start = Instant::now();
    loop {
        let now = fds(pid);
        if now == want || start.elapsed() > PATIENCE {
            return now;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One round trip: the server still answers.
fn echo_round_trip(port: u16) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(b"still there?").unwrap();
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"still there?");
}

#[test]
fn a_thousand_connect_and_drop_peers_leak_nothing() {
    let server = serve();
    let pid = server.child.id();
    // The baseline: the listening server before any peer came.
    let fds_before = fds(pid);
    echo_round_trip(server.port);
    let rss_before = status_kib(pid, "VmRSS:");
    for _ in 0..1000 {
        drop(TcpStream::connect(("127.0.0.1", server.port)).unwrap());
    }
    echo_round_trip(server.port);
    let fds_after = settle_fds(pid, fds_before);
    let rss_after = status_kib(pid, "VmRSS:");
    println!(
        "1000 connect/drop peers: fds {fds_before} -> {fds_after}, RSS {rss_before} -> {rss_after} KiB, events {}",
        server.events.load(Ordering::Relaxed)
    );
    assert_eq!(fds_after, fds_before, "fd leak");
    assert!(server.child.id() == pid);
}

#[test]
fn a_twenty_megabyte_flood_is_echoed_with_bounded_memory() {
    const FLOOD: usize = 20 * 1024 * 1024;
    let server = serve();
    let pid = server.child.id();
    let fds_before = fds(pid);
    echo_round_trip(server.port);
    let rss_before = status_kib(pid, "VmRSS:");

    let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut reader = stream.try_clone().unwrap();
    // Read the echo while writing, as any echo client must: otherwise both
    // sides' buffers fill and TCP flow control stops everyone (correctly).
    let echoed = std::thread::spawn(move || {
        let mut total = 0usize;
        let mut buf = vec![0u8; 65536];
        while total < FLOOD {
            let n = reader.read(&mut buf).unwrap();
            assert!(n > 0, "server closed before echoing everything");
            assert!(
                buf[..n].iter().all(|&b| b == b'x'),
                "echo is the same bytes"
            );
            total += n;
        }
        total
    });
    let mut writer = stream;
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..FLOOD / chunk.len() {
        writer.write_all(&chunk).unwrap();
    }
    assert_eq!(echoed.join().unwrap(), FLOOD);
    drop(writer);
    echo_round_trip(server.port);

    let fds_after = settle_fds(pid, fds_before);
    let rss_after = status_kib(pid, "VmRSS:");
    let peak = status_kib(pid, "VmHWM:");
    println!(
        "20 MB flood: echoed {FLOOD} bytes, fds {fds_before} -> {fds_after}, RSS {rss_before} -> {rss_after} KiB, peak {peak} KiB, events {}",
        server.events.load(Ordering::Relaxed)
    );
    assert_eq!(fds_after, fds_before, "fd leak");
    // Buffering the flood would need 20 MB; bounded reads and a bounded
    // event channel keep the server far below that.
    assert!(
        peak < rss_before + 8 * 1024,
        "memory grew with the flood: {rss_before} KiB -> peak {peak} KiB"
    );
}
