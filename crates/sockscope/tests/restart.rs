//! The `restart` lesson's facts about TIME_WAIT and SO_REUSEADDR, checked
//! with sockets made here, on the real kernel: which restarts Linux allows
//! while the old server's connection waits in TIME_WAIT.
//! docs/narration-facts.md names the test behind each sentence.

use socket2::{Domain, SockAddr, Socket, Type};
use std::io::Read;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Local ports of the TIME_WAIT entries in /proc/net/tcp (state 06).
fn time_wait_ports() -> Vec<u16> {
    std::fs::read_to_string("/proc/thread-self/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(3) == Some(&"06"))
                .then(|| u16::from_str_radix(f[1].rsplit_once(':')?.1, 16).ok())
                .flatten()
        })
        .collect()
}

fn tcp(reuse: bool) -> Socket {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_reuse_address(reuse).unwrap();
    s
}

/// A server that accepts one client, closes that connection first, then
/// its listener: returns the port, once the kernel lists its TIME_WAIT.
fn server_that_closed_first(reuse: bool) -> SocketAddr {
    let listener = tcp(reuse);
    listener
        .bind(&SockAddr::from(SocketAddr::from(([127, 0, 0, 1], 0))))
        .unwrap();
    listener.listen(8).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let client = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    client.connect(&addr.into()).unwrap();
    let (conn, _) = listener.accept().unwrap();
    // The server closes first; the client reads the end of file and closes.
    drop(conn);
    let mut buf = [0u8; 1];
    assert_eq!((&client).read(&mut buf).unwrap(), 0);
    drop(client);
    drop(listener);
    let until = Instant::now() + Duration::from_secs(5);
    while !time_wait_ports().contains(&addr.port()) {
        assert!(
            Instant::now() < until,
            "no TIME_WAIT on the server's port {addr}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    addr
}

/// "The side that closes first is the one that will wait in TIME_WAIT. A
/// server that ends its connections itself ... leaves the TIME_WAIT entries
/// on its own port." / "It binds the port it always uses, and bind fails:
/// EADDRINUSE." / "On Linux, SO_REUSEADDR lets a bind share the port with a
/// TIME_WAIT entry only if the socket that left the entry had set it too."
/// / "Connections accepted from this socket carry the option too" / "Both
/// ... asked for SO_REUSEADDR, so the kernel lets them share the port. The
/// entry stays until its timer ends."
#[test]
fn so_reuseaddr_shares_a_port_with_time_wait_only_when_both_sockets_set_it() {
    for (old, new, allowed) in [
        (false, false, false),
        (false, true, false),
        (true, false, false),
        (true, true, true),
    ] {
        let addr = server_that_closed_first(old);
        let restarted = tcp(new);
        let bound = restarted.bind(&SockAddr::from(addr));
        if allowed {
            bound.unwrap_or_else(|e| panic!("old {old}, new {new}: {e}"));
            restarted.listen(8).unwrap();
            // The entry is still there: the restart stepped around it.
            assert!(time_wait_ports().contains(&addr.port()));
        } else {
            let e = bound.expect_err("the TIME_WAIT entry holds the port");
            assert_eq!(
                e.raw_os_error(),
                Some(libc::EADDRINUSE),
                "old {old}, new {new}: {e}"
            );
        }
    }
}
