//! The `timeouts` lesson's facts about the kernel, checked with sockets made
//! here: SO_RCVTIMEO ends a blocking recv with EAGAIN, and a connect whose
//! SYNs a full accept queue drops gives up after the retries TCP_SYNCNT
//! allows, its waits doubling from about a second.
//! docs/narration-facts.md names the test behind each sentence.

use socket2::{Domain, SockAddr, Socket, Type};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

fn tcp() -> Socket {
    Socket::new(Domain::IPV4, Type::STREAM, None).unwrap()
}

/// A listener with backlog 0 whose one queue place is taken, and the
/// client that holds it.
fn full_listener() -> (Socket, Socket, SocketAddr) {
    let l = tcp();
    l.bind(&SockAddr::from(SocketAddr::from(([127, 0, 0, 1], 0))))
        .unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let queued = tcp();
    queued.connect(&addr.into()).unwrap();
    (l, queued, addr)
}

/// "recv waits for data that never comes, and after {waited_ms} ms it
/// returns EAGAIN." / "EAGAIN here is the timeout, not a non-blocking
/// socket: the socket is blocking, the call really slept in the kernel".
#[test]
fn so_rcvtimeo_ends_a_blocking_recv_with_eagain() {
    let (_l, queued, _) = full_listener();
    assert!(!queued.nonblocking().unwrap(), "the socket is blocking");
    queued
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [std::mem::MaybeUninit::new(0u8); 8];
    let e = queued.recv(&mut buf).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN), "{e}");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

/// How long a connect into the full queue takes to fail with `retries`.
fn connect_gives_up_after(retries: u32) -> Duration {
    let (_l, _queued, addr) = full_listener();
    let late = tcp();
    sockscope_sys::tcpopt::set_syncnt(late.as_fd(), retries).unwrap();
    let started = Instant::now();
    let e = late.connect(&addr.into()).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ETIMEDOUT), "{e}");
    started.elapsed()
}

/// "listen with a backlog of 0: Linux keeps one more connection than the
/// backlog, so the accept queue holds one." / "The server's accept queue is
/// full, so its kernel drops the SYN without an answer" / "Two retries that
/// each wait twice as long as the one before take 1 + 2 + 4 = 7 s: that is
/// the time connect keeps trying." One retry gives up after about
/// 1 + 2 = 3 s, two after about 1 + 2 + 4 = 7 s, however often the kernel
/// really resends the SYN in that time (every second at first on kernels
/// with net.ipv4.tcp_syn_linear_timeouts). (Run side by side: the two take
/// 7 s together.)
#[test]
fn a_connect_into_a_full_queue_gives_up_after_its_doubling_retries() {
    let one = std::thread::spawn(|| connect_gives_up_after(1));
    let two = connect_gives_up_after(2);
    let one = one.join().unwrap();
    let s = |d: Duration| d.as_secs_f64();
    assert!((2.5..4.5).contains(&s(one)), "one retry: {one:?}");
    assert!((6.0..9.0).contains(&s(two)), "two retries: {two:?}");
}

/// backlog: "Client 3 sets TCP_SYNCNT to 127, the most Linux allows" / "By
/// default a connect follows the machine's net.ipv4.tcp_syn_retries, 6".
/// A new socket's TCP_SYNCNT reads back the namespace's tcp_syn_retries;
/// 127 is taken and read back, 128 refused with EINVAL.
#[test]
fn tcp_syncnt_takes_at_most_127_retries() {
    use sockscope_sys::tcpopt::{set_syncnt, syncnt};
    let s = tcp();
    let sysctl: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_syn_retries")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(syncnt(s.as_fd()).unwrap(), sysctl, "unset: the sysctl");
    set_syncnt(s.as_fd(), 127).unwrap();
    assert_eq!(syncnt(s.as_fd()).unwrap(), 127);
    let e = set_syncnt(s.as_fd(), 128).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{e}");
    assert_eq!(
        syncnt(s.as_fd()).unwrap(),
        127,
        "the refused value changed nothing"
    );
}
