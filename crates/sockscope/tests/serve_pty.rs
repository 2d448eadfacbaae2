//! `sockscope serve` on a terminal, end to end: the built binary in a
//! pseudo-terminal, real peers connecting from this test; the screen must
//! show the command to connect, a lane per peer with the peer's real address
//! and the bytes it sent, and its close; q stops the server and restores the
//! terminal.

#[path = "../benches/process/pty_harness.rs"]
#[allow(dead_code)]
mod pty_harness;

use pty_harness::Term;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sockscope");
const WAIT: Duration = Duration::from_secs(15);

/// The port in `nc 127.0.0.1 PORT` on screen.
fn port_on(screen: &str) -> Option<u16> {
    let i = screen.find("nc 127.0.0.1 ")?;
    let rest = &screen[i + "nc 127.0.0.1 ".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn peers_appear_in_their_own_lanes_with_their_real_ports() {
    let mut term = Term::spawn(BIN, &["serve"], 160, 40);
    term.wait_for(WAIT, |s| port_on(&s.contents()).is_some())
        .unwrap_or_else(|| panic!("no connect command:\n{}", term.contents()));
    let port = port_on(&term.contents()).unwrap();
    assert!(!term.contents().contains("reachable from the network"));

    let mut a = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let b = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (pa, pb) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    a.write_all(b"hello from a").unwrap();
    let mut echo = [0u8; 12];
    a.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"hello from a");
    term.wait_for(WAIT, |s| {
        let c = s.contents();
        c.contains(&format!("from {pa}"))
            && c.contains(&format!("from {pb}"))
            && c.contains("\"hello from a\"")
    })
    .unwrap_or_else(|| panic!("peers not shown:\n{}", term.contents()));
    drop(a);
    term.wait_for(WAIT, |s| s.contents().contains("EOF: the peer closed"))
        .unwrap_or_else(|| panic!("close not shown:\n{}", term.contents()));
    assert!(term.contents().contains("· closed"), "{}", term.contents());
    drop(b);
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());
}
