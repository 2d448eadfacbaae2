//! The `nonblocking` lesson's facts about the kernel, each checked on the
//! real kernel with sockets made here (not the engine's), so a sentence of
//! the lesson is true of Linux, not only of sockscope's run of it.
//! docs/narration-facts.md names the test behind each sentence.

mod common;
use socket2::{Domain, SockAddr, Socket, Type};
use sockscope_core::engine::{Call, EngineMsg};
use sockscope_sys::readiness::{Want, poll_one};
use sockscope_sys::tcp_info::tcp_info;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// The kernel's TCP state numbers (include/net/tcp_states.h).
const TCP_ESTABLISHED: u8 = 1;
const TCP_SYN_SENT: u8 = 2;

fn tcp() -> Socket {
    Socket::new(Domain::IPV4, Type::STREAM, None).unwrap()
}

/// A listener on a port the kernel chose.
fn listener() -> (Socket, SocketAddr) {
    let l = tcp();
    l.bind(&SockAddr::from(
        "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
    ))
    .unwrap();
    l.listen(8).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    (l, addr)
}

/// A port nobody listens on: bound by a socket that is then closed.
fn closed_port() -> SocketAddr {
    let (l, addr) = listener();
    drop(l);
    addr
}

fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// "Like every new socket it is blocking." / "O_NONBLOCK belongs to the
/// open socket, not to one call: from now on every call on this socket
/// that would have to wait returns at once instead." / "accept returns
/// EAGAIN at once: the accept queue is empty".
#[test]
fn a_new_socket_blocks_until_o_nonblock_makes_waiting_calls_answer_eagain() {
    let (l, _) = listener();
    assert!(!l.nonblocking().unwrap(), "a new socket is blocking");
    l.set_nonblocking(true).unwrap();
    assert!(l.nonblocking().unwrap());
    // Twice: the flag stays on the socket, it is not spent by one call.
    for _ in 0..2 {
        // Nobody connects: a blocking accept would never return, so an
        // answer at all is the "at once".
        let e = l.accept().unwrap_err();
        assert_eq!(errno(&e), libc::EAGAIN, "{e}");
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
    }
    // EWOULDBLOCK is the same number on Linux.
    assert_eq!(libc::EWOULDBLOCK, libc::EAGAIN);
}

/// "poll ... or after 300 ms. Nobody connects: poll returns 0, the
/// timeout". (The lesson's figure is the waited time measured on its run.)
#[test]
fn poll_with_nothing_ready_returns_0_when_its_timeout_passes() {
    let (l, _) = listener();
    let started = Instant::now();
    let ready = poll_one(&l, Want::Readable, 100).unwrap();
    let waited = started.elapsed();
    assert_eq!(ready.count, 0);
    assert!(ready.revents.is_empty(), "{:?}", ready.revents);
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
}

/// "connect returns EINPROGRESS at once: the kernel has sent the SYN and
/// left the handshake to run without the call." / "A non-blocking one only
/// starts it" / "poll for POLLOUT returns 1: the socket is writable, so the
/// handshake is over." / "getsockopt(SO_ERROR) reads the socket's pending
/// error: 0, so the connect succeeded." / "The server polls the listener
/// again: 1 socket ready, POLLIN."
#[test]
fn a_nonblocking_connect_answers_einprogress_and_pollout_then_so_error_tell_the_end() {
    let (l, addr) = listener();
    l.set_nonblocking(true).unwrap();
    let c = tcp();
    c.set_nonblocking(true).unwrap();
    let e = c.connect(&SockAddr::from(addr)).unwrap_err();
    assert_eq!(errno(&e), libc::EINPROGRESS, "{e}");
    // The handshake has started: SYN_SENT is the state tcp_connect() enters
    // as it sends the SYN (ESTABLISHED if loopback already finished it).
    let state = tcp_info(c.as_raw_fd()).unwrap().state;
    assert!(
        state == TCP_SYN_SENT || state == TCP_ESTABLISHED,
        "state {state} right after EINPROGRESS"
    );
    let out = poll_one(&c, Want::Writable, 5_000).unwrap();
    assert_eq!(out.count, 1);
    assert!(out.revents.contains(&"POLLOUT"), "{:?}", out.revents);
    assert_eq!(tcp_info(c.as_raw_fd()).unwrap().state, TCP_ESTABLISHED);
    assert!(c.take_error().unwrap().is_none(), "SO_ERROR is 0");
    let queued = poll_one(&l, Want::Readable, 5_000).unwrap();
    assert_eq!(queued.count, 1);
    assert_eq!(queued.revents, ["POLLIN"]);
    assert!(l.accept().is_ok(), "after POLLIN, accept has a connection");
}

/// "Had nobody been listening, SO_ERROR would hold ECONNREFUSED here.
/// Reading SO_ERROR clears it." / "A connecting socket becomes writable
/// when the handshake ends, successfully or not; POLLOUT alone does not say
/// which."
#[test]
fn a_refused_nonblocking_connect_is_writable_too_and_so_error_holds_the_refusal_once() {
    let c = tcp();
    c.set_nonblocking(true).unwrap();
    match c.connect(&SockAddr::from(closed_port())) {
        // The usual answer: the RST is handled after connect returned.
        Err(e) if errno(&e) == libc::EINPROGRESS => {}
        other => panic!("connect to a closed port answered {other:?}"),
    }
    let out = poll_one(&c, Want::Writable, 5_000).unwrap();
    assert_eq!(out.count, 1);
    assert!(out.revents.contains(&"POLLOUT"), "{:?}", out.revents);
    let pending = c.take_error().unwrap().expect("SO_ERROR holds an error");
    assert_eq!(errno(&pending), libc::ECONNREFUSED, "{pending}");
    assert!(
        c.take_error().unwrap().is_none(),
        "the first read cleared SO_ERROR"
    );
}

/// "On Linux the socket accept returns does not inherit O_NONBLOCK from
/// the listener" / "recv returns EAGAIN: the client has sent nothing yet,
/// and the socket does not wait."
#[test]
fn accept_does_not_pass_o_nonblock_on_to_the_new_socket() {
    let (l, addr) = listener();
    l.set_nonblocking(true).unwrap();
    let c = tcp();
    c.connect(&SockAddr::from(addr)).unwrap();
    assert_eq!(
        poll_one(&l, Want::Readable, 5_000).unwrap().count,
        1,
        "the connection is queued"
    );
    let (conn, _) = l.accept().unwrap();
    assert!(
        !conn.nonblocking().unwrap(),
        "accept's socket came back non-blocking"
    );
    conn.set_nonblocking(true).unwrap();
    let mut buf = [std::mem::MaybeUninit::new(0u8); 16];
    let e = conn.recv(&mut buf).unwrap_err();
    assert_eq!(errno(&e), libc::EAGAIN, "{e}");
}

/// "poll says POLLIN again, with nothing to read: end of file counts as
/// readable" / "The recv that follows returns 0."
#[test]
fn end_of_file_is_readable() {
    let (l, addr) = listener();
    let c = tcp();
    c.connect(&SockAddr::from(addr)).unwrap();
    let (conn, _) = l.accept().unwrap();
    conn.set_nonblocking(true).unwrap();
    drop(c);
    let ready = poll_one(&conn, Want::Readable, 5_000).unwrap();
    assert_eq!(ready.count, 1);
    assert!(ready.revents.contains(&"POLLIN"), "{:?}", ready.revents);
    let mut buf = [std::mem::MaybeUninit::new(0u8); 16];
    assert_eq!(conn.recv(&mut buf).unwrap(), 0, "end of file");
}

/// The lesson as the engine runs it: "poll sleeps instead of retrying
/// accept in a loop" (step 6's poll is seen asleep in the kernel, in the
/// poll syscall, not running), and "poll returns 0, the timeout, after
/// {waited_ms} ms" is the wait measured on the run (at least the 300 ms
/// asked for), with the kernel's answer 0.
#[test]
fn the_lessons_timed_poll_sleeps_in_the_kernel_for_its_timeout_and_returns_0() {
    let msgs = common::run("nonblocking");
    let asleep = msgs
        .iter()
        .find_map(|m| match m {
            EngineMsg::Waiting(w) if w.step == 6 => Some(w),
            _ => None,
        })
        .expect("step 6's poll was seen waiting");
    assert_eq!(asleep.call, Call::Poll);
    let nr: i64 = asleep
        .kernel_syscall
        .as_deref()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the kernel's record of the sleeping call");
    #[cfg(target_arch = "x86_64")]
    assert_eq!(nr, libc::SYS_poll);
    #[cfg(not(target_arch = "x86_64"))]
    assert_eq!(nr, libc::SYS_ppoll);
    let events = common::events(&msgs);
    let poll = events.iter().find(|e| e.step == 6).unwrap();
    assert_eq!(poll.ready, Some(0));
    let waited = poll.waited_us.expect("a measured wait");
    assert!(waited >= 300_000, "waited {waited} µs");
}

/// The lesson screen names what each non-blocking answer means ("would
/// wait", "connecting", "timed out") and keeps each socket's role in its
/// lane heading through fcntl, poll and getsockopt: after step 11 the
/// listener is still listening and the client's socket connected.
#[test]
fn the_lanes_say_what_each_non_blocking_answer_means() {
    let msgs: Vec<EngineMsg> = common::run("nonblocking")
        .into_iter()
        .take_while(|m| !matches!(m, EngineMsg::Event(e) if e.step == 12))
        .collect();
    let screen = common::screen(&common::app_after("nonblocking", msgs));
    for words in [
        "fcntl(16) = 0 ▸ non-blocking",
        "accept(16) → EAGAIN ▸ would wait",
        "poll(16) = 0 ▸ timed out",
        "connect(17) → EINPROGRESS ▸ connecting",
        "poll(17) = 1 ▸ ready",
        "getsockopt(17) = 0 ▸ option read",
    ] {
        // fd numbers differ between runs (the test harness's own fds):
        // compare with the numbers stripped.
        let strip = |s: &str| s.replace(|c: char| c.is_ascii_digit(), "");
        assert!(strip(&screen).contains(&strip(words)), "{words}\n{screen}");
    }
    let heads = screen
        .lines()
        .find(|l| l.contains("fd ") && l.contains("LISTEN"))
        .expect("the lane headings");
    assert!(heads.contains(" listening :"), "{heads}");
    assert!(heads.contains(" ↔ :"), "{heads}");
}

/// poll-server: "POLLHUP means the connection is shut both ways. After the
/// peer's FIN alone, poll says POLLIN and the recv that follows returns 0."
/// / "No POLLHUP: the server's own direction is still open."
#[test]
fn pollhup_comes_only_when_both_directions_are_shut() {
    let (l, addr) = listener();
    let c = tcp();
    c.connect(&SockAddr::from(addr)).unwrap();
    let (conn, _) = l.accept().unwrap();
    drop(c);
    let after_fin = poll_one(&conn, Want::Readable, 5_000).unwrap();
    assert_eq!(after_fin.revents, ["POLLIN"], "the peer's FIN alone");
    // Now this side shuts its sending direction too: both ways shut.
    conn.shutdown(std::net::Shutdown::Write).unwrap();
    let both = poll_one(&conn, Want::Readable, 5_000).unwrap();
    assert!(both.revents.contains(&"POLLHUP"), "{:?}", both.revents);
    assert!(both.revents.contains(&"POLLIN"), "{:?}", both.revents);
}

/// poll-server: "poll is the only call in the loop that waits. Every other
/// call is made only on a socket poll said was ready, so it returns at
/// once." The whole lesson as the engine runs it: no call but poll is ever
/// seen waiting, and no accept or recv slept.
#[test]
fn in_the_poll_server_only_poll_waits() {
    let msgs = common::run("poll-server");
    for m in &msgs {
        if let EngineMsg::Waiting(w) = m {
            assert_eq!(w.call, Call::Poll, "step {} waited: {:?}", w.step, w.call);
        }
    }
    for e in common::events(&msgs) {
        if matches!(e.call, Call::Accept | Call::Recv) {
            assert_eq!(e.waited_us, None, "step {} slept", e.step);
        }
    }
}
