//! The narration's facts about the network stack, each checked against the
//! real kernel. Most claims of a lesson are `expect` entries on its step
//! (checked on every run, and for every built-in lesson by
//! tests/lessons_real.rs); the claims an `expect` cannot state are here, one
//! test per claim or small group of claims, named after the claim, with the
//! lesson file and step it comes from. docs/narration-facts.md maps every
//! factual sentence of every built-in lesson to the test or `expect` that
//! checks it.
//!
//! Claims about packets need capture (CAP_NET_RAW): CI runs as root, so there
//! they always run; elsewhere they are skipped with a printed reason.

mod common;
#[path = "support/setpriv.rs"]
mod setpriv;
use common::*;
use sockscope_core::engine::Event;
use sockscope_core::lesson;
use sockscope_core::wire::{Direction, Segment};
use sockscope_tui::ui::layers;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

/// Every packet the run captured: those on events and those after the last
/// call, each once, in capture order.
fn all_segments<'a>(ev: &'a [Event], after: &'a [Segment]) -> Vec<&'a Segment> {
    let mut segs: Vec<&Segment> = ev
        .iter()
        .flat_map(|e| e.segments.iter().flatten())
        .chain(after)
        .collect();
    segs.sort_by_key(|s| s.n);
    segs.dedup_by_key(|s| s.n);
    segs
}

/// The event of `actor`'s `n`-th call named `call` (0-based).
fn nth<'a>(ev: &'a [Event], actor: &str, call: &str, n: usize) -> &'a Event {
    ev.iter()
        .filter(|e| e.actor == actor && e.call.name() == call)
        .nth(n)
        .unwrap_or_else(|| panic!("{actor} has no {call} #{n}"))
}

/// Local ports of every TCP socket the kernel lists (IPv4 and IPv6), one
/// entry per socket, as /proc/net/tcp{,6} show them.
fn proc_tcp_local_ports() -> Vec<u16> {
    ["/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|l| {
                    let local = l.split_whitespace().nth(1)?;
                    u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

// ---- tcp.toml ----------------------------------------------------------

/// tcp.toml steps 1-2: "The socket exists, but it has no address yet";
/// "Asking for port 0 lets the kernel pick a free port". Asked of the
/// kernel with getsockname on the fd the lesson holds, right after each
/// call: a socket never bound reports the unspecified address and port 0.
#[tokio::test]
async fn a_new_socket_has_no_address_and_bind_to_port_0_gets_a_kernel_chosen_port() {
    let (mut engine, mut ev) = step_by_hand("tcp", 1).await;
    let socket = nth(&ev, "server", "socket", 0);
    let fd = socket.new_fd.expect("socket returned an fd");
    let before = sockscope_sys::sockname::local(fd).unwrap().unwrap();
    assert_eq!(
        before,
        "0.0.0.0:0".parse().unwrap(),
        "no address before bind"
    );
    assert_eq!(socket.local, None, "and the event says none");
    step_once(&mut engine, &mut ev).await;
    let bind = nth(&ev, "server", "bind", 0);
    assert!(bind.args.ends_with("127.0.0.1:0"), "{}", bind.args);
    let after = sockscope_sys::sockname::local(fd).unwrap().unwrap();
    assert_ne!(after.port(), 0, "the kernel chose a port");
    assert_eq!(
        after,
        addr(bind.local.as_ref()),
        "the event reports the kernel's port"
    );
    drop(engine);
}

/// The accept queue length of the listener on `port`, as /proc/net/tcp
/// shows it (for a listening socket its rx_queue column is the number of
/// connections waiting for accept).
fn proc_accept_queue(port: u16) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/net/tcp").unwrap();
    text.lines().skip(1).find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        let local_port = u16::from_str_radix(cols[1].rsplit_once(':')?.1, 16).ok()?;
        // State 0A is LISTEN.
        (local_port == port && cols[3] == "0A")
            .then(|| u64::from_str_radix(cols[4].split_once(':')?.1, 16).ok())?
    })
}

/// tcp.toml step 3: "the kernel will now complete handshakes for it and
/// queue the new connections for accept. The backlog, 8 here, limits that
/// queue: Linux holds one more than the backlog (9 here), and further
/// clients wait in SYN_SENT until accept makes room." With nobody calling
/// accept, more clients than that connect to a listener with the lesson's
/// backlog: the kernel completes and queues exactly backlog + 1 of them by
/// itself, and the sentence names that number. (It said "the backlog, 8
/// here, caps that queue".)
#[test]
fn the_kernel_queues_connections_for_accept_and_the_backlog_caps_the_queue() {
    use socket2::{Domain, Socket, Type};
    let l = lesson::builtin("tcp").unwrap();
    let step = l.steps.iter().find(|s| s.call.name() == "listen").unwrap();
    let backlog = step.backlog.unwrap();
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    listener.bind(&any.into()).unwrap();
    listener.listen(backlog).unwrap();
    let at = listener.local_addr().unwrap().as_socket().unwrap();
    let clients: Vec<Socket> = (0..backlog + 4)
        .map(|_| {
            let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            c.set_nonblocking(true).unwrap();
            let _ = c.connect(&at.into()); // EINPROGRESS: the handshake goes on in the kernel
            c
        })
        .collect();
    // Bounded wait for the kernel to have handled the SYNs (on loopback it
    // has, before connect returned; this only guards a slow machine).
    let cap = u64::try_from(backlog).unwrap() + 1;
    let mut queued = 0;
    for _ in 0..200 {
        queued = proc_accept_queue(at.port()).expect("the listener is in /proc/net/tcp");
        if queued >= cap {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    let queued_later = proc_accept_queue(at.port()).unwrap();
    assert_eq!(
        (queued, queued_later),
        (cap, cap),
        "backlog {backlog}: the kernel queues backlog + 1"
    );
    assert!(queued < clients.len() as u64);
    assert!(
        step.say.contains(&format!("({cap} here)"))
            && step.say.contains("one more than the backlog"),
        "the sentence names the limit Linux applies: {}",
        step.say
    );
}

/// tcp.toml step 6: "connect ... ran the three-way handshake (SYN, SYN-ACK,
/// ACK)"; layers.toml step 6: "The handshake's SYN, SYN-ACK and ACK are TCP
/// segments with no application data".
#[test]
fn connect_runs_the_three_way_handshake_with_no_application_data() {
    for name in ["tcp", "layers"] {
        let Some((ev, _)) = run_captured(name) else {
            return;
        };
        let connect = nth(&ev, "client", "connect", 0);
        let segs = connect.segments.as_ref().unwrap();
        let shape: Vec<(String, Direction, usize)> = segs
            .iter()
            .map(|s| (s.label(), s.direction, s.len))
            .collect();
        assert_eq!(
            shape,
            [
                ("SYN".to_string(), Direction::Out, 0),
                ("SYN-ACK".to_string(), Direction::In, 0),
                ("ACK".to_string(), Direction::Out, 0),
            ],
            "{name}: {segs:#?}"
        );
    }
}

/// tcp.toml step 11: "The client closes its socket. TCP sends a FIN: no
/// more data will come from the client."
#[test]
fn the_clients_close_sends_a_fin() {
    let Some((ev, _)) = run_captured("tcp") else {
        return;
    };
    for client in ["client", "client2"] {
        let close = nth(&ev, client, "close", 0);
        let segs = close.segments.as_ref().unwrap();
        let fin = segs
            .iter()
            .find(|s| s.has_flag("FIN"))
            .unwrap_or_else(|| panic!("{client}'s close sent no FIN: {segs:#?}"));
        assert_eq!(fin.direction, Direction::Out);
        assert_eq!(fin.src, close.local.clone().unwrap());
        assert!(segs.iter().all(|s| !s.has_flag("RST")), "{segs:#?}");
    }
}

/// tcp.toml step 22: "Finally the server closes its listening socket: from
/// now on, connecting to this port is refused." Checked right after the
/// lesson's close, with the engine (and whatever it still holds) alive.
#[tokio::test]
async fn after_the_listener_closes_connecting_to_its_port_is_refused() {
    let (mut engine, mut ev) = step_by_hand("tcp", 2).await;
    let listener = addr(nth(&ev, "server", "bind", 0).local.as_ref());
    let fd = nth(&ev, "server", "socket", 0).new_fd;
    while !ev
        .iter()
        .any(|e| e.actor == "server" && e.call.name() == "close" && e.fd == fd)
    {
        step_once(&mut engine, &mut ev).await;
    }
    let err = TcpStream::connect(listener).expect_err("nobody listens there any more");
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED), "{err}");
    drop(engine);
}

/// The port panel (src/tui/ui/ports.rs): "the connection shares its
/// listener's port"; tcp.toml step 4: accept returns "a brand-new socket".
#[test]
fn an_accepted_connection_shares_its_listeners_port_on_a_new_fd() {
    let ev = events(&run("tcp"));
    let listener = nth(&ev, "server", "bind", 0);
    for n in 0..2 {
        let accept = nth(&ev, "server", "accept", n);
        assert_eq!(addr(accept.local.as_ref()), addr(listener.local.as_ref()));
        assert_ne!(accept.new_fd, accept.fd);
    }
}

// ---- udp.toml ----------------------------------------------------------

/// udp.toml steps 4-5: "The sender does not call bind: the kernel gives it
/// a port the first time it sends"; "The kernel bound the sender to {local}
/// on the way". The port panel says the port is inside or outside the
/// ephemeral range from the real number; the kernel takes it from the range.
#[test]
fn sendto_binds_an_unbound_udp_sender_to_an_ephemeral_port() {
    let ev = events(&run("udp"));
    assert_eq!(nth(&ev, "sender", "socket", 0).local, None);
    let sendto = nth(&ev, "sender", "sendto", 0);
    let local = addr(sendto.local.as_ref());
    assert_ne!(local.port(), 0);
    let (lo, hi) = ephemeral_range();
    assert!(
        (lo..=hi).contains(&local.port()),
        "{local} outside {lo}-{hi}"
    );
    // The receiver saw the datagram come from that very port.
    let from = addr(nth(&ev, "receiver", "recvfrom", 0).peer.as_ref());
    assert_eq!(from.port(), local.port());
}

/// udp.toml intro and step 5: "no connection, no handshake"; "No handshake
/// came first: the datagram simply went." The whole lesson puts one
/// datagram on the wire, on its sendto.
#[test]
fn udp_sends_one_datagram_and_no_handshake() {
    let Some((ev, wire)) = run_captured("udp") else {
        return;
    };
    let after = wire.after_last_call();
    let segs = all_segments(&ev, &after);
    assert_eq!(segs.len(), 1, "{segs:#?}");
    let sendto = nth(&ev, "sender", "sendto", 0);
    assert_eq!(sendto.segments.as_ref().unwrap().len(), 1);
    assert_eq!(segs[0].label(), "UDP");
}

/// udp.toml step 6: "The sender closes its socket. Nothing is sent: UDP has
/// no connection to tear down." layers.toml step 22: "nothing goes on the
/// wire, as UDP has no connection."
#[test]
fn closing_a_udp_socket_sends_nothing() {
    for (name, actors) in [
        ("udp", &["sender", "receiver"][..]),
        ("layers", &["resolver", "dns"][..]),
    ] {
        let Some((ev, wire)) = run_captured(name) else {
            return;
        };
        for actor in actors {
            let close = nth(&ev, actor, "close", 0);
            assert_eq!(
                close.segments.as_deref(),
                Some(&[][..]),
                "{name}: {actor}'s close"
            );
        }
        if name == "udp" {
            assert!(wire.after_last_call().is_empty());
        }
    }
}

/// udp.toml step 7: "The receiver closes its socket; the port is free
/// again." in-use.toml step 11: "The first server closes its socket; the
/// port is free again."
#[test]
fn after_close_the_port_can_be_bound_again() {
    let ev = events(&run("udp"));
    let port = addr(nth(&ev, "receiver", "bind", 0).local.as_ref());
    UdpSocket::bind(port).unwrap_or_else(|e| panic!("bind {port} after the lesson: {e}"));

    let ev = events(&run("in-use"));
    let port = addr(nth(&ev, "server", "bind", 0).local.as_ref());
    TcpListener::bind(port).unwrap_or_else(|e| panic!("bind {port} after the lesson: {e}"));
}

// ---- refused.toml ------------------------------------------------------

/// refused.toml step 3: "The probe closes without listening: nobody listens
/// on {local} now. A socket that never listened leaves nothing behind when
/// it closes." The kernel's own table has no socket on that port.
#[tokio::test]
async fn a_socket_that_never_listened_leaves_nothing_behind() {
    let (engine, ev) = step_by_hand("refused", 3).await;
    assert_eq!(ev[2].call.name(), "close");
    let port = addr(ev[1].local.as_ref()).port();
    assert!(
        !proc_tcp_local_ports().contains(&port),
        "/proc/net/tcp still lists port {port}"
    );
    drop(engine);
}

/// refused.toml step 5: "The kernel found no listening socket on that port
/// and answered the client's SYN with a reset; connect reports that as
/// ECONNREFUSED." errno.rs, ECONNREFUSED: "the kernel answered the
/// connection attempt with a reset."
#[test]
fn a_refused_connect_is_a_syn_answered_by_a_reset() {
    let Some((ev, _)) = run_captured("refused") else {
        return;
    };
    let connect = nth(&ev, "client", "connect", 0);
    assert_eq!(connect.result.name(), "ECONNREFUSED");
    let segs = connect.segments.as_ref().unwrap();
    let syn = segs.iter().find(|s| s.label() == "SYN").expect("a SYN");
    assert_eq!(syn.direction, Direction::Out);
    let rst = segs
        .iter()
        .find(|s| s.has_flag("RST"))
        .expect("the kernel's reset");
    assert_eq!(rst.direction, Direction::In);
    assert_eq!(
        rst.src, syn.dst,
        "the reset comes from the port the SYN went to"
    );
    assert!(rst.n > syn.n);
}

/// refused.toml steps 8 and 11: "The server binds the very port the client
/// tried"; "Same address, same port: the only difference is that a socket
/// is listening there now."
#[test]
fn the_retry_goes_to_the_same_address_the_server_now_holds() {
    let ev = events(&run("refused"));
    let probe = addr(nth(&ev, "probe", "bind", 0).local.as_ref());
    assert_eq!(addr(nth(&ev, "server", "bind", 0).local.as_ref()), probe);
    assert_eq!(addr(nth(&ev, "client", "connect", 0).peer.as_ref()), probe);
    let retry = nth(&ev, "client", "connect", 1);
    assert_eq!(
        (retry.result.name(), addr(retry.peer.as_ref())),
        ("ok", probe)
    );
}

/// refused.toml step 13: "The connection the client made was completed by
/// the kernel and queued; closing the listener discards it, and the kernel
/// sends the client's port a reset (RST)." (That it was queued is the
/// `expect` `sockets.server:listener.accept_q = 1` on step 11.)
#[test]
fn closing_a_listener_resets_the_connection_still_queued() {
    let Some((ev, wire)) = run_captured("refused") else {
        return;
    };
    let after = wire.after_last_call();
    let segs = all_segments(&ev, &after);
    let retry = nth(&ev, "client", "connect", 1);
    let (client, server) = (retry.local.clone().unwrap(), retry.peer.clone().unwrap());
    let close = ev.last().unwrap();
    assert_eq!(
        (close.actor.as_str(), close.call.name()),
        ("server", "close")
    );
    let rst: Vec<_> = segs
        .iter()
        .filter(|s| s.has_flag("RST") && s.src == server && s.dst == client)
        .collect();
    assert_eq!(rst.len(), 1, "{segs:#?}");
    // Nothing reset that connection before the listener closed: its only
    // other packets are the handshake and the client's FIN.
    let before_close: Vec<_> = ev[..ev.len() - 1]
        .iter()
        .flat_map(|e| e.segments.iter().flatten())
        .filter(|s| s.has_flag("RST") && s.dst == client)
        .collect();
    assert!(before_close.is_empty(), "{before_close:#?}");
}

// ---- in-use.toml -------------------------------------------------------

/// in-use.toml intro and step 5: "Two programs cannot normally listen on the
/// same address and port"; "Unless every socket involved asks to share the
/// port (SO_REUSEPORT), the kernel lets only one socket bind an address and
/// port". errno.rs, EADDRINUSE: "Another socket already holds this address
/// and port".
#[test]
fn only_sockets_that_all_ask_with_so_reuseport_share_a_port() {
    use socket2::{Domain, Socket, Type};
    let tcp = || Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();

    let first = tcp();
    first.bind(&any.into()).unwrap();
    first.listen(8).unwrap();
    let port = first.local_addr().unwrap().as_socket().unwrap();
    let second = tcp();
    let err = second.bind(&port.into()).expect_err("the port is held");
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));

    let shared: Vec<Socket> = (0..2)
        .map(|_| {
            let s = tcp();
            s.set_reuse_port(true).unwrap();
            s
        })
        .collect();
    shared[0].bind(&any.into()).unwrap();
    shared[0].listen(8).unwrap();
    let port = shared[0].local_addr().unwrap().as_socket().unwrap();
    shared[1]
        .bind(&port.into())
        .expect("both asked for SO_REUSEPORT");
    shared[1].listen(8).unwrap();
    // A third that does not ask is refused, even though two share the port.
    let err = tcp().bind(&port.into()).expect_err("it did not ask");
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));
}

/// in-use.toml step 8: "Port 0 avoids the clash: the kernel picks a port that
/// no other socket holds." After the second server listens, the kernel's
/// table lists exactly one socket on its port, and it is not the first
/// server's port.
#[tokio::test]
async fn port_0_gets_a_port_no_other_socket_holds() {
    let (engine, ev) = step_by_hand("in-use", 9).await;
    let first = addr(ev[1].local.as_ref()).port();
    let bind = &ev[7];
    assert!(bind.args.ends_with(":0"), "{}", bind.args);
    let port = addr(bind.local.as_ref()).port();
    assert_ne!(port, first);
    let holders = proc_tcp_local_ports()
        .into_iter()
        .filter(|p| *p == port)
        .count();
    assert_eq!(holders, 1, "port {port} in /proc/net/tcp{{,6}}");
    drop(engine);
}

// ---- layers.toml -------------------------------------------------------

/// layers.toml step 19: "UDP adds only ports, a length and a checksum, IP
/// the addresses." The UDP header is 8 bytes: its length field is the
/// payload plus 8, and the datagram goes between the two addresses.
#[test]
fn udp_adds_an_eight_byte_header() {
    let Some((ev, _)) = run_captured("layers") else {
        return;
    };
    let sendto = nth(&ev, "resolver", "sendto", 0);
    let segs = sendto.segments.as_ref().unwrap();
    assert_eq!(segs.len(), 1, "{segs:#?}");
    let d = &segs[0];
    let bytes = sendto.bytes.unwrap();
    assert_eq!((d.len, d.udp_len), (bytes, Some(8 + bytes as u16)));
    assert_eq!(Some(&d.src), sendto.local.as_ref());
    assert_eq!(Some(&d.dst), sendto.peer.as_ref());
}

// ---- privileged.toml ---------------------------------------------------

/// privileged.toml step 5: "It asks for port 0, and the kernel picks a free
/// ephemeral port"; "Ephemeral ports are far above the privileged range, so
/// this needs no privilege". (tests/privileged.rs runs it as nobody.)
#[test]
fn port_0_is_an_ephemeral_port_above_the_privileged_range() {
    let ev = events(&run("privileged"));
    let bind = nth(&ev, "server", "bind", 1);
    assert!(bind.args.ends_with(":0"));
    let port = addr(bind.local.as_ref()).port();
    let (lo, hi) = ephemeral_range();
    assert!((lo..=hi).contains(&port), "{port} outside {lo}-{hi}");
    let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        lo >= start,
        "ephemeral range {lo}-{hi} starts below {start}"
    );
}

/// in-use.toml step 5: "The first server is listening on this address and
/// port, and the kernel gives a listening address to no second socket ...
/// Sharing happens only on request: sockets that all set SO_REUSEPORT may
/// listen on one port together, and sockets that all set SO_REUSEADDR may
/// share an address while none of them listens (UDP sockets too)." Each
/// case on the real kernel. (It said only SO_REUSEPORT lets sockets share.)
#[test]
fn so_reuseaddr_and_so_reuseport_share_an_address_only_as_the_lesson_says() {
    use socket2::{Domain, Socket, Type};
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let sock = |ty: Type, reuseaddr: bool| {
        let s = Socket::new(Domain::IPV4, ty, None).unwrap();
        s.set_reuse_address(reuseaddr).unwrap();
        s
    };
    let addr_of = |s: &Socket| s.local_addr().unwrap().as_socket().unwrap();

    // A listener, even with SO_REUSEADDR on both: the second bind fails.
    let first = sock(Type::STREAM, true);
    first.bind(&any.into()).unwrap();
    first.listen(8).unwrap();
    let err = sock(Type::STREAM, true)
        .bind(&addr_of(&first).into())
        .expect_err("a listening address is not shared");
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));

    // Two TCP sockets with SO_REUSEADDR, neither listening: both bind.
    let bound = sock(Type::STREAM, true);
    bound.bind(&any.into()).unwrap();
    let also_bound = sock(Type::STREAM, true);
    also_bound
        .bind(&addr_of(&bound).into())
        .expect("SO_REUSEADDR shares an address nobody listens on");
    // ... but only while none listens: once one does, the other cannot.
    bound.listen(8).unwrap();
    assert_eq!(
        also_bound
            .listen(8)
            .expect_err("only one may listen")
            .raw_os_error(),
        Some(libc::EADDRINUSE)
    );
    // Without SO_REUSEADDR on both, even an unlistened address is not shared.
    let unasked = sock(Type::STREAM, false);
    unasked.bind(&any.into()).unwrap();
    assert_eq!(
        sock(Type::STREAM, true)
            .bind(&addr_of(&unasked).into())
            .expect_err("the first did not ask")
            .raw_os_error(),
        Some(libc::EADDRINUSE)
    );

    // Two UDP sockets with SO_REUSEADDR: both bind.
    let udp = sock(Type::DGRAM, true);
    udp.bind(&any.into()).unwrap();
    sock(Type::DGRAM, true)
        .bind(&addr_of(&udp).into())
        .expect("UDP sockets share an address with SO_REUSEADDR");

    // The lesson says so.
    let in_use = lesson::builtin("in-use").unwrap();
    let step = in_use
        .steps
        .iter()
        .find(|s| s.expect.get("result").and_then(|v| v.as_str()) == Some("EADDRINUSE"))
        .unwrap();
    for name in ["SO_REUSEPORT", "SO_REUSEADDR"] {
        assert!(step.why.contains(name), "{name} in {:?}", step.why);
    }
}

// ---- abort.toml, half-close.toml --------------------------------------

/// abort.toml intro: "The closing side's kernel throws away what it had not
/// sent or not read; the peer can still read what had already arrived, and
/// then its next call fails with ECONNRESET." half-close.toml step 16 says
/// the same. On Linux, data the peer received before the RST is still read
/// after it. (Both said "whatever was in flight or unread is thrown away".)
#[test]
fn data_the_peer_received_survives_the_reset() {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    client.write_all(b"already here").unwrap();
    // Wait until the bytes are in the server's receive queue.
    let mut peek = [0u8; 32];
    let n = server.peek(&mut peek).unwrap();
    assert_eq!(&peek[..n], b"already here");
    // SO_LINGER 0: close sends RST.
    socket2::SockRef::from(&client)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(client);
    std::thread::sleep(Duration::from_millis(20));
    let mut buf = [0u8; 32];
    let n = server
        .read(&mut buf)
        .expect("what had arrived is still read");
    assert_eq!(&buf[..n], b"already here");
    let err = server
        .read(&mut buf)
        .expect_err("then the reset is reported");
    assert_eq!(err.raw_os_error(), Some(libc::ECONNRESET), "{err}");

    let abort = lesson::builtin("abort").unwrap();
    let half = lesson::builtin("half-close").unwrap();
    assert!(
        abort
            .intro
            .contains("can still read what had already arrived"),
        "{}",
        abort.intro
    );
    let tw = half
        .steps
        .iter()
        .rev()
        .find(|s| s.why.contains("RST"))
        .unwrap();
    assert!(
        tw.why.contains("once it has read what had already arrived"),
        "{}",
        tw.why
    );
}

/// abort.toml step 14: "A FIN only says \"no more data from me\"; it says
/// nothing about what was read." A server that never reads its client's
/// request and shuts down its sending direction still sends the client a
/// FIN (its recv returns 0), and the request stays unread in the server's
/// queue. (It said a FIN tells the client "all your data was received and
/// handled".)
#[test]
fn a_fin_says_no_more_data_not_that_anything_was_read() {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.write_all(b"please read this").unwrap();
    let mut peek = [0u8; 32];
    assert_eq!(server.peek(&mut peek).unwrap(), 16, "the request arrived");
    server.shutdown(std::net::Shutdown::Write).unwrap();
    let mut buf = [0u8; 32];
    assert_eq!(
        client.read(&mut buf).unwrap(),
        0,
        "the client sees the FIN: EOF"
    );
    assert_eq!(server.peek(&mut peek).unwrap(), 16, "and nothing was read");

    let abort = lesson::builtin("abort").unwrap();
    let step = abort.steps.iter().find(|s| s.why.contains("FIN")).unwrap();
    assert!(step.why.contains("no more data from me"), "{}", step.why);
    assert!(!step.why.contains("handled"), "{}", step.why);
}

// ---- udp-loss.toml -----------------------------------------------------

/// udp-loss.toml step 5: "The receiver's kernel has dropped {N} datagrams so
/// far for lack of room." N is the receiver's socket's drop counter as the
/// kernel's table lists it right after that sendto (the sender's own socket
/// drops nothing), and by the last sendto it is above 0.
#[test]
fn the_receivers_drops_are_the_receivers_socket_counter() {
    let l = lesson::builtin("udp-loss").unwrap();
    let ev = events(&run("udp-loss"));
    let sends: Vec<&Event> = ev.iter().filter(|e| e.call.name() == "sendto").collect();
    assert_eq!(sends.len(), 40);
    for e in &sends {
        let said = lesson::narrate(&l.steps[e.step - 1].say, e);
        let kernel = e.sockets["receiver:sock"]
            .drops
            .expect("the receiver's drops");
        assert!(
            said.contains(&format!("dropped {kernel} datagrams")),
            "seq {}: {said:?}, the receiver's socket: {kernel}",
            e.seq
        );
    }
    let last = sends.last().unwrap().sockets["receiver:sock"]
        .drops
        .unwrap();
    assert!(last > 0, "a 4096-byte buffer cannot hold 40 datagrams");
}

// ---- src/engine/errno.rs -----------------------------------------------

/// errno.rs, ECONNRESET: "The peer reset the connection (it sent RST): the
/// kernel tore the connection down at once." Wherever a built-in lesson gets
/// ECONNRESET, an RST came to that socket before the call, and the socket
/// is in CLOSE after it.
#[test]
fn econnreset_follows_an_rst_from_the_peer_and_leaves_the_socket_closed() {
    let mut seen = 0;
    for l in lesson::builtins() {
        let Some((ev, _)) = run_captured(&l.name) else {
            return;
        };
        for (i, e) in ev.iter().enumerate() {
            if e.result.name() != "ECONNRESET" || e.proto != sockscope_core::engine::Proto::Tcp {
                continue;
            }
            seen += 1;
            assert_eq!(e.explain.as_deref().map(|s| s.contains("RST")), Some(true));
            let rst = ev[..=i]
                .iter()
                .flat_map(|p| p.segments.iter().flatten())
                .any(|s| s.has_flag("RST") && Some(&s.dst) == e.local.as_ref());
            assert!(
                rst,
                "{} step {}: no RST reached {:?}",
                l.name, e.step, e.local
            );
            assert_eq!(
                e.tcp_state.map(sockscope_core::event::StateSeen::name),
                Some("CLOSE"),
                "{} step {}",
                l.name,
                e.step
            );
        }
    }
    assert!(seen > 0, "a built-in lesson shows ECONNRESET");
}

/// errno.rs, EPIPE: "This socket can no longer send: its sending direction
/// was shut down, or the peer has gone." Wherever a built-in lesson gets
/// EPIPE, the same socket shut its sending direction earlier, or its peer
/// closed or reset the connection.
#[test]
fn epipe_follows_a_shutdown_of_the_sending_direction_or_a_gone_peer() {
    let mut seen = 0;
    for l in lesson::builtins() {
        let ev = events(&run(&l.name));
        for (i, e) in ev.iter().enumerate() {
            if e.result.name() != "EPIPE" {
                continue;
            }
            seen += 1;
            let earlier = &ev[..i];
            let shut_down = earlier.iter().any(|p| {
                p.actor == e.actor
                    && p.sock == e.sock
                    && p.call.name() == "shutdown"
                    && p.ok()
                    && (p.args.contains("SHUT_WR") || p.args.contains("SHUT_RDWR"))
            });
            let peer_gone = earlier
                .iter()
                .any(|p| p.call.name() == "close" && p.local.is_some() && p.local == e.peer)
                || earlier.iter().any(|p| {
                    p.actor == e.actor && p.sock == e.sock && p.result.name() == "ECONNRESET"
                });
            assert!(
                shut_down || peer_gone,
                "{} step {}: EPIPE without a shutdown or a gone peer",
                l.name,
                e.step
            );
        }
    }
    assert!(seen > 0, "a built-in lesson shows EPIPE");
}

/// errno.rs, EPIPE, its second half: "... or the peer has gone." No
/// built-in lesson shows that case, so it is made here on the real kernel:
/// the peer closes, the first send still succeeds (the kernel cannot know
/// yet) and draws the peer kernel's RST, and the next send fails with EPIPE.
#[test]
fn epipe_follows_a_send_to_a_peer_that_has_gone() {
    use std::io::Write;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    drop(server);
    // The peer's FIN arrives at once on loopback; the first write is
    // accepted by this kernel, and the peer's kernel, which has no socket
    // for it any more, answers with RST.
    client
        .write_all(b"anyone there?")
        .expect("the first send is accepted");
    let mut err = None;
    for _ in 0..100 {
        // std's write passes MSG_NOSIGNAL, so no SIGPIPE: the errno comes back.
        match client.write_all(b"still there?") {
            Ok(()) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let err = err.expect("a send to a gone peer fails");
    assert_eq!(err.raw_os_error(), Some(libc::EPIPE), "{err}");
    let explain = sockscope_core::vocab::errno::lookup(libc::EPIPE).explain;
    assert!(explain.contains("the peer has gone"), "{explain}");
}

// ---- src/tui/ui/layers.rs ----------------------------------------------

/// The layer diagram's bind note, "transport bookkeeping: the port is
/// reserved", only where bind succeeded; a failed bind (in-use step 5:
/// EADDRINUSE) reserved nothing: the kernel reports no address for the
/// socket. (After a failed bind it said the port was reserved.)
#[tokio::test]
async fn a_failed_bind_reserves_no_address() {
    let (engine, ev) = step_by_hand("in-use", 5).await;
    let failed = ev
        .iter()
        .find(|e| e.call.name() == "bind" && !e.ok())
        .expect("in-use's refused bind");
    assert_eq!(failed.result.name(), "EADDRINUSE");
    let fd = failed.fd.unwrap();
    assert_eq!(
        sockscope_sys::sockname::local(fd).unwrap().unwrap(),
        "0.0.0.0:0".parse().unwrap(),
        "the kernel gave the socket no address"
    );
    drop(engine);
}

#[test]
fn the_bind_note_matches_the_bind_result_in_every_lesson() {
    for l in lesson::builtins() {
        for e in events(&run(&l.name))
            .iter()
            .filter(|e| e.call.name() == "bind")
        {
            let note = layers::touch(e).note;
            assert_eq!(
                note.contains("the port is reserved"),
                e.ok(),
                "{} step {}: {note}",
                l.name,
                e.step
            );
        }
    }
}

/// README, `kernel.source`: one of `TCP_INFO`, `sock_diag`,
/// `/proc/net/tcp`, `/proc/net/udp`, or `none`, on every event of every
/// built-in lesson. (The close of a socket whose bind had failed said "".)
#[test]
fn every_kernel_source_is_a_documented_value() {
    const DOCUMENTED: [&str; 5] = [
        "TCP_INFO",
        "sock_diag",
        "/proc/net/tcp",
        "/proc/net/udp",
        "none",
    ];
    for l in lesson::builtins() {
        for e in events(&run(&l.name)) {
            if let Some(k) = &e.kernel {
                assert!(
                    // As the JSON spells it, which is what scripts read.
                    DOCUMENTED
                        .contains(&serde_json::to_value(k).unwrap()["source"].as_str().unwrap()),
                    "{} step {} {}: source {:?}",
                    l.name,
                    e.step,
                    e.call,
                    k.source
                );
            }
        }
    }
}

/// The layer diagram's notes (src/tui/ui/layers.rs): socket, bind, listen
/// and setsockopt are "bookkeeping": "nothing is sent"; a UDP close is
/// "released: no connection, nothing is sent"; a TCP close or shutdown of a
/// connection says what went on the wire (FIN, RST, or nothing), read from
/// the capture. Checked for every call of every built-in lesson.
#[test]
fn the_layer_diagrams_notes_match_the_packets_each_call_sent() {
    for l in lesson::builtins() {
        let Some((ev, _)) = run_captured(&l.name) else {
            return;
        };
        for e in &ev {
            let segs = e.segments.as_ref().unwrap();
            let note = layers::touch(e).note;
            let out = |flag: &str| {
                segs.iter()
                    .any(|s| s.direction == Direction::Out && s.has_flag(flag))
            };
            let at = format!("{} step {} {}: {note:?} {segs:#?}", l.name, e.step, e.call);
            match e.call.name() {
                "socket" | "bind" | "listen" | "setsockopt" => {
                    assert!(segs.is_empty(), "{at}");
                }
                "close" | "shutdown" if e.proto == sockscope_core::engine::Proto::Udp => {
                    assert!(segs.is_empty() && note.contains("nothing is sent"), "{at}");
                }
                "close" | "shutdown" if e.peer.is_some() => {
                    if note.starts_with("an RST") {
                        assert!(out("RST"), "{at}");
                    } else if note.starts_with("a FIN") {
                        assert!(out("FIN") && !out("RST"), "{at}");
                    } else {
                        assert!(note.starts_with("nothing"), "{at}");
                        assert!(!out("FIN") && !out("RST"), "{at}");
                    }
                }
                _ => {}
            }
        }
    }
}

/// Without capture the layer diagram predicts what a close sends from the
/// socket's state just before it, and says the packet is expected. Each
/// prediction is checked here against what a captured run of every
/// built-in lesson really sent at that close.
#[test]
fn without_capture_the_teardown_note_predicts_the_packet_capture_sees() {
    for l in lesson::builtins() {
        let Some((ev, _)) = run_captured(&l.name) else {
            return;
        };
        for e in ev
            .iter()
            .filter(|e| e.call.name() == "close" && e.peer.is_some())
            .filter(|e| e.proto == sockscope_core::engine::Proto::Tcp)
        {
            let segs = e.segments.clone().unwrap();
            let out = |flag: &str| {
                segs.iter()
                    .any(|s| s.direction == Direction::Out && s.has_flag(flag))
            };
            let blind = Event {
                segments: None,
                ..e.clone()
            };
            let note = layers::touch(&blind).note;
            let at = format!("{} step {}: {note:?} {segs:#?}", l.name, e.step);
            assert!(note.ends_with("(expected)"), "{at}");
            if note.starts_with("an RST") {
                assert!(out("RST"), "{at}");
            } else if note.starts_with("a FIN") {
                assert!(out("FIN") && !out("RST"), "{at}");
            } else {
                assert!(!out("FIN") && !out("RST"), "{at}");
            }
        }
    }
}

/// With neither capture nor the socket's state before the close (a
/// recording made before the kernel view existed), the note names the
/// possibilities rather than one of them.
#[test]
fn without_capture_or_kernel_view_the_teardown_note_claims_no_one_packet() {
    let ev = events(&run("tcp"));
    let close = nth(&ev, "client", "close", 0);
    assert!(close.segments.is_none());
    let old = Event {
        kernel: None,
        ..close.clone()
    };
    assert_eq!(
        layers::touch(&old).note,
        "a FIN or RST goes to the peer, if none went yet"
    );
}

// ---- the handout -------------------------------------------------------

/// privileged.toml as an ordinary user: bind to port 80 fails with EACCES,
/// and the handout's "Ports in this run" still lists port 80, with the
/// errno that refused it. (It left port 80 out.)
#[test]
fn the_handout_lists_the_port_a_failed_bind_asked_for() {
    if !setpriv::available() {
        return;
    }
    if setpriv::unprivileged_port_start() <= 80 {
        sockscope_core::testing::skip(
            "ip_unprivileged_port_start <= 80: everyone may bind port 80 here",
        );
        return;
    }
    let b = setpriv::binary();
    let out = setpriv::output(&mut setpriv::as_nobody(
        &b,
        &[
            "trace",
            "privileged",
            "--format",
            "markdown",
            "--no-capture",
        ],
    ));
    assert!(out.status.success(), "{out:?}");
    let md = String::from_utf8(out.stdout).unwrap();
    let ports = md
        .split("## Ports in this run")
        .nth(1)
        .expect("the ports section");
    let line = ports
        .lines()
        .find(|l| l.starts_with("port    80:"))
        .unwrap_or_else(|| panic!("port 80 in:\n{ports}"));
    assert!(
        line.contains("well-known") && line.contains("failed with EACCES"),
        "{line}"
    );
}

/// The lanes' legend, for arrows drawn without capture: "expected: what
/// UDP sends" under UDP arrows, never TCP's name (the layers lesson ends on
/// UDP calls after TCP ones). (It named the lesson's first protocol.)
#[test]
fn the_expected_arrows_legend_names_the_protocols_drawn() {
    let app = app_after("layers", run("layers"));
    let shown: Vec<_> = app
        .shown()
        .visible()
        .filter_map(|r| match &r.entry {
            sockscope_tui::app::Entry::Event(e) => Some(e.proto),
            sockscope_tui::app::Entry::Waiting(_) => None,
        })
        .collect();
    assert!(shown.contains(&sockscope_core::engine::Proto::Udp));
    let screen = screen(&app);
    let legend = screen
        .lines()
        .find(|l| l.contains("expected: what"))
        .unwrap_or_else(|| panic!("the legend:\n{screen}"));
    assert!(legend.contains("UDP"), "{legend}");
    if !shown.contains(&sockscope_core::engine::Proto::Tcp) {
        assert!(!legend.contains("TCP"), "{legend}");
    }
}

/// `sockscope port N`: the service names say which table gave them. The
/// bundled table is Debian netbase's, which lists `fsp` on 21/udp (a Debian
/// addition; IANA registers ftp there) and nothing on 80/udp (IANA
/// registers http there): neither may be presented as IANA's. (It labelled
/// fsp as IANA's and said 80/udp had no name in "the bundled IANA table".)
#[test]
fn the_port_explainer_names_each_service_source_truthfully() {
    for port in ["21", "80"] {
        let out = bin().args(["port", port]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("UDP name"))
        {
            assert!(!line.contains("IANA"), "port {port}: {line}");
            assert!(line.contains("Debian netbase"), "port {port}: {line}");
        }
    }
}

/// Without capture, the narration speaks of what was measured, and how: no
/// packet nobody saw. half-close step 9 reports the state change read with
/// TCP_INFO (FIN_WAIT1, then FIN_WAIT2 after the measured milliseconds);
/// refused step 13 says the client's side is gone from the kernel's table,
/// which its `expect` checks on a run without capture. (They said "the
/// server's kernel acknowledged it 46 ms later" and "sends the client's
/// port a reset" with nothing on screen to show it.)
#[test]
fn without_capture_the_narration_says_what_was_measured() {
    let half = lesson::builtin("half-close").unwrap();
    let ev = events(&run("half-close"));
    let shutdown = nth(&ev, "client", "shutdown", 0);
    assert!(shutdown.segments.is_none(), "this run did not capture");
    let k = shutdown.kernel.as_ref().unwrap();
    assert_eq!(
        k.first_state.map(sockscope_core::event::StateSeen::name),
        Some("FIN_WAIT1")
    );
    let why = lesson::narrate(&half.steps[shutdown.step - 1].why, shutdown);
    assert!(why.contains("read with TCP_INFO"), "{why}");
    assert!(
        why.contains(&format!("FIN_WAIT2 {} ms later", k.settle_ms.unwrap())),
        "{why}"
    );

    let refused = lesson::builtin("refused").unwrap();
    let ev = events(&run("refused"));
    let close = ev.last().unwrap();
    assert!(close.segments.is_none());
    let step = &refused.steps[close.step - 1];
    assert!(
        step.expect.contains_key("sockets.client:retry.seen_in"),
        "{:?}",
        step.expect
    );
    assert_eq!(close.sockets["client:retry"].seen_in.name(), "gone");
    let before = &ev[ev.len() - 2];
    assert_eq!(
        before.sockets["client:retry"].seen_in.name(),
        "table",
        "held after the client's close"
    );
    assert!(close.checks.iter().all(|c| c.ok), "{:?}", close.checks);
}

// ---- udp-refused.toml --------------------------------------------------

/// udp-refused.toml step 5: "connect on a UDP socket succeeds at once: it
/// sends nothing, it only fixes the destination {peer}." Captured: no
/// packet on the connect; the kernel reports the peer (getpeername) right
/// after it.
#[test]
fn a_udp_connect_sends_nothing_and_fixes_the_destination() {
    let Some((ev, _)) = run_captured("udp-refused") else {
        return;
    };
    let connect = nth(&ev, "client", "connect", 0);
    assert_eq!(connect.result.name(), "ok");
    assert_eq!(
        connect.segments.as_deref(),
        Some(&[][..]),
        "nothing on the wire"
    );
    let probe = addr(nth(&ev, "probe", "bind", 0).local.as_ref());
    assert_eq!(
        addr(connect.peer.as_ref()),
        probe,
        "the destination is fixed"
    );
    let send = nth(&ev, "client", "send", 0);
    let segs = send.segments.as_ref().unwrap();
    let out: Vec<_> = segs
        .iter()
        .filter(|s| s.label() == "UDP" && s.direction == Direction::Out)
        .collect();
    assert_eq!(out.len(), 1, "the datagram goes with send: {segs:#?}");
    assert_eq!(out[0].dst, probe.to_string());
}

// ---- docs/narration-facts.md -------------------------------------------

/// A lesson text's sentences: split after `.`, `!` or `?` followed by white
/// space, as docs/narration-facts.md lists them.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        if matches!(c, '.' | '!' | '?') && chars.peek().is_some_and(|n| n.is_whitespace()) {
            while chars.peek().is_some_and(|n| n.is_whitespace()) {
                chars.next();
            }
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// docs/narration-facts.md lists every sentence of every built-in lesson
/// (its `intro`, `say` and `why`), each in a row of that lesson's table
/// with what checks it, so a new lesson or a changed sentence cannot go
/// unlisted.
#[test]
fn every_sentence_of_every_lesson_is_listed_here() {
    let doc = include_str!("../../../docs/narration-facts.md");
    let mut missing = Vec::new();
    for l in lesson::builtins() {
        let heading = format!("## {}.toml\n", l.name);
        let section = doc.split_once(heading.as_str()).map_or_else(
            || panic!("docs/narration-facts.md has no section {heading:?}"),
            |(_, rest)| rest.split("\n## ").next().unwrap_or(rest),
        );
        let texts = std::iter::once(("intro".to_string(), l.intro.clone())).chain(
            l.steps.iter().enumerate().flat_map(|(i, st)| {
                [
                    (format!("step {}", i + 1), st.say.clone()),
                    (format!("step {}", i + 1), st.why.clone()),
                ]
            }),
        );
        for (at, text) in texts {
            for sentence in sentences(&text) {
                let cell = sentence.replace('|', "\\|");
                let listed = section.lines().any(|row| {
                    row.starts_with('|')
                        && row.contains(&format!("| {cell} |"))
                        && row.trim_end().ends_with('|')
                        && row.split(" | ").count() >= 3
                });
                if !listed {
                    missing.push(format!("{} {at}: {sentence}", l.name));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "sentences docs/narration-facts.md does not list, with what checks them:\n{}",
        missing.join("\n")
    );
}
