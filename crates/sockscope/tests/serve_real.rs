//! `sockscope serve` with real peers: a std TcpStream / UdpSocket in this
//! process, and a python3 client talking to the real binary. What the server
//! reports is compared with what the peer's own kernel says (the peer's
//! getsockname) and with the bytes the peer really got back.

mod common;
#[path = "support/setpriv.rs"]
mod setpriv;
use common::{bin, json_lines};
use sockscope_core::engine::serve::{ServeConfig, Server};
use sockscope_core::engine::{Call, EngineMsg, Event, Proto};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

/// Guard against a hang only; no assertion depends on time.
const PATIENCE: Duration = Duration::from_secs(20);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Read events until `done` says the wanted one has arrived.
async fn events_until(server: &mut Server, mut done: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let mut out = Vec::new();
    loop {
        let m = tokio::time::timeout(PATIENCE, server.next())
            .await
            .expect("server reported in time")
            .expect("server still running");
        if let EngineMsg::Event(e) = m {
            let stop = done(&e);
            out.push(*e);
            if stop {
                return out;
            }
        }
    }
}

/// The calls of `actor` named `call` that did something: serve's sockets
/// are non-blocking, and a call that found nothing to do (EAGAIN, after
/// which the server waits in epoll_wait) is an event too; those are left out.
fn find<'a>(events: &'a [Event], actor: &str, call: Call) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| e.actor == actor && e.call == call && e.result.name() != "EAGAIN")
        .collect()
}

#[test]
fn tcp_peer_is_accepted_echoed_and_its_close_is_recv_0() {
    let rt = runtime();
    rt.block_on(async {
        let mut server = Server::start(ServeConfig::default());
        let local = server.local_addr().expect("server bound");
        assert!(local.ip().is_loopback(), "default bind is loopback");
        assert_ne!(local.port(), 0, "the kernel chose a real port");

        let peer = tokio::task::spawn_blocking(move || {
            let mut s = TcpStream::connect(local).unwrap();
            let me = s.local_addr().unwrap();
            s.write_all(b"hello sockscope\n").unwrap();
            let mut back = [0u8; 16];
            s.read_exact(&mut back).unwrap();
            drop(s); // close: the server should see recv = 0
            (me, back)
        });
        let events =
            events_until(&mut server, |e| e.actor == "peer1" && e.call == Call::Close).await;
        let (me, back) = peer.await.unwrap();
        assert_eq!(&back, b"hello sockscope\n", "the bytes came back");

        let accept = find(&events, "server", Call::Accept)[0];
        assert!(accept.ok());
        // The server's accept reports the peer's real, kernel-chosen port.
        assert_eq!(accept.peer.as_deref(), Some(me.to_string().as_str()));
        assert_eq!(accept.local.as_deref(), Some(local.to_string().as_str()));
        assert!(accept.flags.iter().any(|f| f == "lane peer1"));

        let recvs = find(&events, "peer1", Call::Recv);
        let got: usize = recvs.iter().filter_map(|e| e.bytes).sum();
        assert_eq!(got, 16);
        assert_eq!(recvs[0].data.as_deref(), Some("hello sockscope\\n"));
        let last = recvs.last().unwrap();
        assert_eq!(last.bytes, Some(0), "the peer's FIN is recv = 0");
        assert!(last.flags.iter().any(|f| f == "EOF"));
        let sent: usize = find(&events, "peer1", Call::Send)
            .iter()
            .filter_map(|e| e.bytes)
            .sum();
        assert_eq!(sent, 16, "everything received was echoed");
        let close = find(&events, "peer1", Call::Close)[0];
        assert!(close.ok());
        assert_eq!(close.fd, accept.new_fd, "the server closes the accepted fd");

        // Sequence numbers follow emission order with no gaps.
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.seq, i as u64 + 1);
        }
        server.stop();
        let rest = events_until(&mut server, |e| {
            e.call == Call::Close && e.actor == "server"
        })
        .await;
        assert!(rest.last().unwrap().ok());
    });
}

#[test]
fn a_reset_shows_as_econnreset_and_peers_get_their_own_lanes() {
    let rt = runtime();
    rt.block_on(async {
        let mut server = Server::start(ServeConfig::default());
        let local = server.local_addr().unwrap();
        let (ports_tx, ports_rx) = mpsc::channel();
        tokio::task::spawn_blocking(move || {
            let a = TcpStream::connect(local).unwrap();
            let b = TcpStream::connect(local).unwrap();
            ports_tx
                .send((a.local_addr().unwrap(), b.local_addr().unwrap()))
                .unwrap();
            // SO_LINGER 0: close sends RST instead of FIN.
            socket2::SockRef::from(&b)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(b);
            drop(a);
        });
        let mut closed = 0;
        let events = events_until(&mut server, |e| {
            closed += usize::from(e.call == Call::Close);
            closed == 2
        })
        .await;
        let (a, b) = ports_rx.recv().unwrap();
        let accepts = find(&events, "server", Call::Accept);
        assert_eq!(accepts.len(), 2);
        let lane_of = |peer: SocketAddr| {
            let acc = accepts
                .iter()
                .find(|e| e.peer.as_deref() == Some(peer.to_string().as_str()))
                .expect("accepted");
            acc.flags
                .iter()
                .find_map(|f| f.strip_prefix("lane "))
                .unwrap()
                .to_string()
        };
        let (la, lb) = (lane_of(a), lane_of(b));
        assert_ne!(la, lb, "each peer has its own lane");
        let b_recv = find(&events, &lb, Call::Recv);
        assert_eq!(b_recv.last().unwrap().result.name(), "ECONNRESET");
        let a_recv = find(&events, &la, Call::Recv);
        assert_eq!(a_recv.last().unwrap().bytes, Some(0));
    });
}

#[test]
fn the_peer_limit_closes_extra_connections_with_a_reason() {
    let rt = runtime();
    rt.block_on(async {
        let mut server = Server::start(ServeConfig {
            max_peers: 1,
            ..ServeConfig::default()
        });
        let local = server.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        tokio::task::spawn_blocking(move || {
            let first = TcpStream::connect(local).unwrap();
            let mut second = TcpStream::connect(local).unwrap();
            let mut buf = [0u8; 1];
            // The server closes the second connection at once: end of file.
            let n = second.read(&mut buf).unwrap();
            tx.send(n).unwrap();
            drop(first);
        });
        let events = events_until(&mut server, |e| {
            e.call == Call::Close && e.flags.iter().any(|f| f == "peer limit reached")
        })
        .await;
        assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), 0);
        let limited = events
            .iter()
            .find(|e| e.call == Call::Accept && e.flags.iter().any(|f| f.contains("peer limit")))
            .expect("the second accept says why it is closed");
        assert!(limited.ok());
    });
}

#[test]
fn udp_datagrams_are_echoed_to_their_sender() {
    let rt = runtime();
    rt.block_on(async {
        let mut server = Server::start(ServeConfig {
            proto: Proto::Udp,
            ..ServeConfig::default()
        });
        let local = server.local_addr().unwrap();
        let peer = tokio::task::spawn_blocking(move || {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.set_read_timeout(Some(PATIENCE)).unwrap();
            s.send_to(b"one", local).unwrap();
            s.send_to(b"two!", local).unwrap();
            let mut got = Vec::new();
            for _ in 0..2 {
                let mut buf = [0u8; 64];
                let (n, from) = s.recv_from(&mut buf).unwrap();
                assert_eq!(from, local);
                got.push(buf[..n].to_vec());
            }
            (s.local_addr().unwrap(), got)
        });
        let mut sends = 0;
        let events = events_until(&mut server, |e| {
            sends += usize::from(e.call == Call::Sendto);
            sends == 2
        })
        .await;
        let (me, got) = peer.await.unwrap();
        // Boundaries kept: two datagrams in, the same two out.
        assert_eq!(got, vec![b"one".to_vec(), b"two!".to_vec()]);
        let recvs: Vec<_> = events
            .iter()
            .filter(|e| e.call == Call::Recvfrom && e.ok())
            .collect();
        assert_eq!(recvs.len(), 2);
        for r in &recvs {
            assert_eq!(r.peer.as_deref(), Some(me.to_string().as_str()));
            assert_eq!(r.actor, "peer1");
        }
        assert_eq!(recvs[0].bytes, Some(3));
        assert_eq!(recvs[1].bytes, Some(4));
    });
}

/// Spawn `sockscope serve --headless ARGS`; return the child, the port from
/// its connect command, its stdout lines and its stderr text so far.
struct Headless {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    stderr: String,
    port: u16,
    // Kept open: a closed pipe would make the child's next stderr line fail.
    _err: BufReader<std::process::ChildStderr>,
}

fn headless(args: &[&str]) -> Headless {
    let common::Started {
        mut child,
        port,
        err,
        stderr,
    } = common::serve_headless(args);
    let (tx, lines) = mpsc::channel();
    let out = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for l in out.lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    Headless {
        child,
        lines,
        stderr,
        port,
        _err: err,
    }
}

impl Headless {
    fn next_json(&self) -> serde_json::Value {
        let line = self
            .lines
            .recv_timeout(PATIENCE)
            .expect("serve printed an event");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    fn until(&self, mut f: impl FnMut(&serde_json::Value) -> bool) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        loop {
            let v = self.next_json();
            let done = f(&v);
            out.push(v);
            if done {
                return out;
            }
        }
    }

    fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let st = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(st.success());
        let status = self.child.wait().unwrap();
        let rest: Vec<String> = self.lines.iter().collect();
        (status, rest)
    }
}

#[test]
fn python_client_against_the_binary() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        sockscope_core::testing::skip("python3 is not installed (.ci/run installs it)");
        return;
    }
    let server = headless(&[]);
    assert!(
        server
            .stderr
            .contains(&format!("nc 127.0.0.1 {}", server.port))
    );
    assert!(!server.stderr.contains("warning"), "{}", server.stderr);
    let script = format!(
        "import socket\n\
         s = socket.create_connection(('127.0.0.1', {}))\n\
         print(s.getsockname()[1], flush=True)\n\
         s.sendall(b'from python')\n\
         got = b''\n\
         while len(got) < 11:\n    got += s.recv(100)\n\
         print(got.decode(), flush=True)\n\
         s.close()\n",
        server.port
    );
    let py = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(py.status.success(), "{py:?}");
    let out = String::from_utf8(py.stdout).unwrap();
    let mut lines = out.lines();
    let py_port: u16 = lines.next().unwrap().parse().unwrap();
    assert_eq!(lines.next(), Some("from python"), "echoed back");

    let events = server.until(|v| v["actor"] == "peer1" && v["call"] == "close");
    let accept = events
        .iter()
        .find(|v| v["call"] == "accept" && v["result"] == "ok")
        .unwrap();
    let peer: SocketAddr = accept["peer"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        peer.port(),
        py_port,
        "accept's peer port is python's local port"
    );
    let last_recv = events
        .iter()
        .rev()
        .find(|v| v["actor"] == "peer1" && v["call"] == "recv")
        .unwrap();
    assert_eq!(last_recv["bytes"], 0, "python's close is recv = 0");
    let (status, rest) = server.terminate();
    assert!(status.success(), "SIGTERM ends serve cleanly: {status:?}");
    let close: serde_json::Value =
        serde_json::from_str(rest.last().expect("a last event")).unwrap();
    assert_eq!(close["actor"], "server");
    assert_eq!(close["call"], "close");
}

#[test]
fn binding_beyond_loopback_warns() {
    let server = headless(&["--bind", "0.0.0.0"]);
    assert!(
        server.stderr.contains("reachable from the network"),
        "{}",
        server.stderr
    );
    // The port the kernel chose, not the 0 that asked for one.
    assert!(
        server.stderr.contains(&format!(
            "warning: bound to 0.0.0.0:{0}, not loopback: port {0} is reachable",
            server.port
        )),
        "{}",
        server.stderr
    );
    let bind = server.until(|v| v["call"] == "bind");
    assert!(
        bind[bind.len() - 1]["local"]
            .as_str()
            .unwrap()
            .starts_with("0.0.0.0:")
    );
    let (status, _) = server.terminate();
    assert!(status.success());
}

#[test]
fn a_taken_port_is_a_failed_bind_not_a_crash() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let out = bin()
        .args(["serve", "--headless", "--port", &port])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let bind = json_lines(&out)
        .into_iter()
        .find(|v| v["call"] == "bind")
        .unwrap();
    assert_eq!(bind["result"], "EADDRINUSE");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("cannot serve"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_privileged_port_says_the_threshold_and_how_to_get_past_it() {
    if !setpriv::available() {
        return;
    }
    let start = setpriv::unprivileged_port_start();
    if start <= 80 {
        sockscope_core::testing::skip(&format!(
            "ip_unprivileged_port_start = {start}: port 80 is not privileged here"
        ));
        return;
    }
    let b = setpriv::binary();
    let out = setpriv::output(
        setpriv::as_nobody(&b, &["serve", "--headless", "--port", "80"]).stdin(Stdio::null()),
    );
    assert_eq!(out.status.code(), Some(1));
    let bind = json_lines(&out)
        .into_iter()
        .find(|v| v["call"] == "bind")
        .unwrap();
    assert_eq!(bind["result"], "EACCES");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!("net.ipv4.ip_unprivileged_port_start = {start}")),
        "{err}"
    );
    let suggested = if start <= 8080 { 8080 } else { start };
    assert!(err.contains(&format!("--port {suggested}")), "{err}");
    assert!(
        err.contains(&format!(
            "sudo setcap cap_net_bind_service+ep {}",
            b.path.display()
        )),
        "{err}"
    );
}

#[test]
fn ipv6_binds_serve_and_say_af_inet6() {
    // `--bind ::1` once made an AF_INET socket, and bind failed with errno
    // 97, shown as "EUNKNOWN".
    let server = headless(&["--bind", "::1"]);
    assert!(
        server.stderr.contains(&format!("nc ::1 {}", server.port)),
        "{}",
        server.stderr
    );
    let mut s = TcpStream::connect(("::1", server.port)).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(b"over IPv6").unwrap();
    let mut back = [0u8; 9];
    s.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"over IPv6");
    let me = s.local_addr().unwrap();
    drop(s);
    let events = server.until(|v| v["actor"] == "peer1" && v["call"] == "close");
    assert!(
        events[0]["args"]
            .as_str()
            .unwrap()
            .starts_with("AF_INET6, "),
        "{}",
        events[0]
    );
    let accept = events
        .iter()
        .find(|v| v["call"] == "accept" && v["result"] == "ok")
        .unwrap();
    assert_eq!(accept["peer"], me.to_string());
    server.terminate();
}

#[test]
fn a_silent_peer_is_closed_after_the_idle_timeout_and_the_event_says_why() {
    let server = headless(&["--idle-timeout", "1"]);
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1];
    // The server closes it: end of file.
    assert_eq!(s.read(&mut buf).unwrap(), 0);
    assert!(started.elapsed() >= Duration::from_millis(900));
    let events = server.until(|v| v["actor"] == "peer1" && v["call"] == "close");
    let close = events.last().unwrap();
    assert_eq!(close["result"], "ok");
    assert!(
        close["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "idle for 1 s (--idle-timeout 1): closed by sockscope"),
        "{close}"
    );
    server.terminate();
}

#[test]
fn the_counts_are_exact_for_a_hall_arriving_at_once() {
    let rt = runtime();
    rt.block_on(async {
        let mut server = Server::start(ServeConfig {
            max_peers: 1024,
            ..ServeConfig::default()
        });
        let local = server.local_addr().unwrap();
        // The consumer reads every message, as a screen does.
        let round = |n: usize| {
            tokio::task::spawn_blocking(move || {
                let conns: Vec<TcpStream> = (0..n)
                    .map(|_| {
                        let mut s = TcpStream::connect(local).unwrap();
                        s.set_read_timeout(Some(PATIENCE)).unwrap();
                        s.write_all(b"ping").unwrap();
                        s
                    })
                    .collect();
                let mut mine = Vec::new();
                for mut s in conns {
                    let mut b = [0u8; 4];
                    s.read_exact(&mut b).unwrap();
                    mine.push((s.local_addr().unwrap(), s));
                }
                mine
            })
        };
        let ten = round(10);
        let until =
            |server: &mut Server, want: &dyn Fn(&sockscope_core::engine::serve::Stats) -> bool| {
                let start = std::time::Instant::now();
                loop {
                    while server.try_next().is_some() {}
                    let s = server.stats();
                    if want(&s) {
                        return s;
                    }
                    assert!(start.elapsed() < PATIENCE, "{s:?}");
                    std::thread::sleep(Duration::from_millis(10));
                }
            };
        let ten = ten.await.unwrap();
        let s = until(&mut server, &|s| s.open == 10 && s.bytes_out == 40);
        assert_eq!((s.seen, s.open, s.bytes_in), (10, 10, 40));
        drop(ten);
        until(&mut server, &|s| s.open == 0);
        // Then 100 at once, all held open: every one counted once, every
        // one in the table with its real address.
        let hundred = round(100).await.unwrap();
        let s = until(&mut server, &|s| s.open == 100 && s.bytes_out == 440);
        assert_eq!((s.seen, s.open, s.bytes_in), (110, 100, 440));
        let rows = server.peers();
        let open: Vec<_> = rows.iter().filter(|r| r.state == "open").collect();
        assert_eq!(open.len(), 100);
        for (addr, _) in &hundred {
            assert!(
                open.iter()
                    .any(|r| r.addr == *addr && r.bytes_in == 4 && r.bytes_out == 4)
            );
        }
        drop(hundred);
        let s = until(&mut server, &|s| s.open == 0);
        assert_eq!((s.seen, s.refused, s.yielded), (110, 0, 0));
        server.stop();
    });
}
