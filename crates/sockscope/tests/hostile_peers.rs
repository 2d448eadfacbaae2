//! `sockscope serve` against hostile peers: a thousand connections opened and
//! dropped as fast as a client can, and one peer flooding 20 MB. The server
//! keeps running and answering, its memory stays bounded, and it leaks no fds.
//! The figures are printed (docs/reliability.md records them).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);

struct Serve {
    child: Child,
    port: u16,
    events: Arc<AtomicUsize>,
    /// The longest `data` preview seen, in characters.
    longest_preview: Arc<AtomicUsize>,
    /// Every `data` preview seen, for checks on what a peer sent.
    previews: Arc<std::sync::Mutex<Vec<String>>>,
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
    let common::Started {
        mut child,
        port,
        err,
        ..
    } = common::serve_headless(&[]);
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || for _ in err.lines().map_while(Result::ok) {});
    let events = Arc::new(AtomicUsize::new(0));
    let longest_preview = Arc::new(AtomicUsize::new(0));
    let previews = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (counter, longest, seen) = (events.clone(), longest_preview.clone(), previews.clone());
    let out = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON event");
            counter.fetch_add(1, Ordering::Relaxed);
            if let Some(d) = v["data"].as_str().filter(|d| !d.is_empty()) {
                longest.fetch_max(d.chars().count(), Ordering::Relaxed);
                let mut seen = seen.lock().unwrap();
                if seen.len() < 100 {
                    seen.push(d.to_string());
                }
            }
        }
    });
    Serve {
        child,
        port,
        events,
        longest_preview,
        previews,
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
    // Let the server see every FIN first: until then up to 64 dropped peers
    // still count against --max-peers, and a new peer would (correctly) be
    // turned away.
    let fds_after = settle_fds(pid, fds_before);
    echo_round_trip(server.port);
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
    // 4 KB reads, but each event carries a capped preview (64 bytes, each
    // escaped to at most 4 characters, and the ellipsis).
    let longest = server.longest_preview.load(Ordering::Relaxed);
    assert!(longest <= 64 * 4 + 1, "preview of {longest} characters");
    // Buffering the flood would need 20 MB; bounded reads and a bounded
    // event channel keep the server far below that.
    assert!(
        peak < rss_before + 8 * 1024,
        "memory grew with the flood: {rss_before} KiB -> peak {peak} KiB"
    );
}

#[test]
fn a_silent_peer_blocks_nobody_and_escape_sequences_arrive_escaped() {
    let server = serve();
    // A peer that connects and then says nothing, ever.
    let silent = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    // Others are still served while its recv waits.
    echo_round_trip(server.port);

    // A peer that sends a terminal escape sequence (clear screen, bell,
    // change title) and bytes that are not UTF-8.
    let mut rude = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    rude.set_read_timeout(Some(PATIENCE)).unwrap();
    let payload = b"\x1b[2J\x1b]0;pwned\x07\xff\xfe\x00end";
    rude.write_all(payload).unwrap();
    let mut back = vec![0u8; payload.len()];
    rude.read_exact(&mut back).unwrap();
    assert_eq!(back, payload, "the echo is byte for byte");
    drop(rude);
    echo_round_trip(server.port);

    // The events reach our reader a moment after the echo reaches the peer.
    let start = Instant::now();
    let shown = loop {
        let previews = server.previews.lock().unwrap().clone();
        if let Some(d) = previews.iter().find(|d| d.contains("end")) {
            break d.clone();
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no preview of the rude payload in {previews:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        shown.chars().all(|c| !c.is_control()),
        "a raw control character would reach the terminal: {shown:?}"
    );
    assert!(
        shown.contains("\\x1b[2J") && shown.contains("\\xff"),
        "{shown:?}"
    );
    drop(silent);
}

/// A TCP connection to `port` from the loopback address `from` (any of
/// 127.0.0.0/8 is this machine): a different student's laptop, as the
/// server sees it.
fn connect_from(from: [u8; 4], port: u16) -> TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&std::net::SocketAddr::from((from, 0)).into())
        .unwrap();
    s.connect(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())
        .unwrap();
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

#[test]
fn slowloris_cannot_lock_the_hall_out() {
    let s = serve();
    let base = fds(s.child.id());
    // One student's script: 64 connections (every slot), each sending one
    // byte a second, so none is ever idle.
    let script: Vec<TcpStream> = (0..64)
        .map(|_| connect_from([127, 0, 0, 1], s.port))
        .collect();
    assert_eq!(settle_fds(s.child.id(), base + 64), base + 64);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let dripping = {
        let stop = stop.clone();
        let mut script = script;
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for c in &mut script {
                    let _ = c.write_all(b"x");
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            script
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    // A student from another address is served: the script's address holds
    // every slot, so its longest-idle connection yields.
    let mut student = connect_from([127, 0, 0, 2], s.port);
    student.write_all(b"hello from row 3").unwrap();
    let mut back = [0u8; 16];
    student
        .read_exact(&mut back)
        .expect("the student is served, not reset");
    assert_eq!(&back, b"hello from row 3");
    // The script cannot win the slot back by reconnecting from its own
    // address: that one is accepted and closed at once.
    let mut again = connect_from([127, 0, 0, 1], s.port);
    let mut one = [0u8; 1];
    assert_eq!(again.read(&mut one).unwrap(), 0);
    // The student is still served.
    student.write_all(b"still here").unwrap();
    let mut back = [0u8; 10];
    student.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"still here");
    stop.store(true, Ordering::Relaxed);
    drop(dripping.join().unwrap());
    drop((student, again));
    assert_eq!(settle_fds(s.child.id(), base), base, "fds back to baseline");
}
