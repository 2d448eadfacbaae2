//! What sockscope reports, compared with what the kernel itself says about the
//! same sockets: getsockname/getpeername on the very fds the events name,
//! /proc/self/fd, /proc/net/tcp and `ss`.

mod common;
use common::*;
use sockscope_core::engine::Event;
use sockscope_sys::sockname;
use std::net::SocketAddr;
use std::time::Duration;

/// The inode behind one of this process's fds, if it is a socket.
fn socket_inode(fd: i32) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let s = link.to_str()?;
    s.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// (local port, state hex, inode) of each line of /proc/net/tcp.
fn proc_net_tcp() -> Vec<(u16, String, u64)> {
    std::fs::read_to_string("/proc/thread-self/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let port = u16::from_str_radix(f[1].split(':').nth(1).unwrap(), 16).unwrap();
            (port, f[3].to_string(), f[9].parse().unwrap())
        })
        .collect()
}

/// `ss ARGS`'s output. A missing `ss` skips the test (said on stdout, a
/// failure in CI); an `ss` that runs and fails fails the test: an empty
/// answer from a broken `ss` must never pass for agreement.
fn ss(args: &[&str]) -> Option<String> {
    match std::process::Command::new("ss").args(args).output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            sockscope_core::testing::skip("ss (iproute2) is not installed; .ci/run installs it");
            None
        }
        Err(e) => panic!("ss {args:?} could not run: {e}"),
        Ok(out) => {
            assert!(
                out.status.success(),
                "ss {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).unwrap())
        }
    }
}

#[tokio::test]
async fn the_listening_fd_is_the_kernels_listening_socket() {
    // socket, bind, listen
    let (engine, ev) = step_by_hand("tcp", 3).await;
    let fd = ev[0].new_fd.unwrap();
    let port = addr(ev[1].local.as_ref()).port();
    let inode = socket_inode(fd).expect("the reported fd is an open socket of this process");
    let entry = proc_net_tcp()
        .into_iter()
        .find(|(_, _, i)| *i == inode)
        .expect("the kernel lists the socket in /proc/net/tcp");
    assert_eq!(entry.0, port, "kernel's port for that inode");
    assert_eq!(entry.1, "0A", "state 0A is TCP_LISTEN");

    // ss agrees that exactly one socket listens on exactly that port, and
    // that its inode is the one behind the reported fd.
    let Some(text) = ss(&["-Htlne", &format!("sport = :{port}")]) else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "ss said: {text}");
    assert!(
        lines[0].contains(&format!("127.0.0.1:{port}")),
        "ss said: {text}"
    );
    assert!(
        lines[0].contains(&format!("ino:{inode}")),
        "ss said: {text}"
    );
    drop(engine);
}

#[tokio::test]
async fn fds_are_released_when_the_engine_is_dropped() {
    let (engine, ev) = step_by_hand("tcp", 3).await;
    let fd = ev[0].new_fd.unwrap();
    let inode = socket_inode(fd).unwrap();
    drop(engine);
    // Give the aborted tasks a moment to be dropped by the runtime.
    for _ in 0..100 {
        if !proc_net_tcp().iter().any(|(_, _, i)| *i == inode) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("listening socket still open after the engine was dropped");
}

/// The kernel's own answer for an fd an event names.
fn kernel_local(fd: Option<i32>) -> SocketAddr {
    sockname::local(fd.expect("the event names an fd"))
        .expect("getsockname on the reported fd")
        .expect("an IP socket")
}

fn kernel_peer(fd: Option<i32>) -> SocketAddr {
    sockname::peer(fd.expect("the event names an fd"))
        .expect("getpeername on the reported fd")
        .expect("an IP socket")
}

fn the<'a>(ev: &'a [Event], actor: &str, call: &str) -> &'a Event {
    ev.iter()
        .find(|e| e.actor == actor && e.call.name() == call)
        .unwrap_or_else(|| panic!("{actor} made no {call}: {ev:#?}"))
}

/// The addresses each event reports (bind's and connect's local address,
/// accept's new socket and its peer) are what getsockname and getpeername
/// return for the very fds the events name, asked while the lesson holds
/// them open.
#[tokio::test]
async fn connect_and_accept_agree_with_getsockname_of_the_kernel() {
    // Up to the server's accept returning (step 6 of tcp.toml).
    let (mut engine, mut ev) = step_by_hand("tcp", 4).await;
    while !ev
        .iter()
        .any(|e| e.actor == "server" && e.call.name() == "accept")
    {
        step_once(&mut engine, &mut ev).await;
    }
    let bind = the(&ev, "server", "bind");
    assert_eq!(
        kernel_local(bind.fd),
        addr(bind.local.as_ref()),
        "the listener"
    );

    let connect = the(&ev, "client", "connect");
    assert_eq!(
        kernel_local(connect.fd),
        addr(connect.local.as_ref()),
        "the client"
    );
    assert_eq!(
        kernel_peer(connect.fd),
        addr(connect.peer.as_ref()),
        "the client's peer"
    );

    let accept = the(&ev, "server", "accept");
    assert_ne!(accept.new_fd, accept.fd);
    assert_eq!(
        kernel_local(accept.new_fd),
        addr(accept.local.as_ref()),
        "accepted"
    );
    assert_eq!(
        kernel_peer(accept.new_fd),
        addr(accept.peer.as_ref()),
        "its peer"
    );
    // And the two ends agree with each other, as the kernel holds them.
    assert_eq!(kernel_peer(accept.new_fd), kernel_local(connect.fd));
    assert_eq!(kernel_local(accept.new_fd), kernel_local(bind.fd));
    drop(engine);
}
