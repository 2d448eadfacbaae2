//! What sockscope reports, compared with what the kernel itself says about the
//! same sockets: /proc/self/fd, /proc/net/tcp and `ss`.

mod common;
use common::*;
use sockscope_core::engine::{Engine, EngineConfig, EngineMsg, Event, Pace};
use sockscope_core::lesson;
use std::time::Duration;

/// Step `engine` until it has produced `n` events; return them.
async fn step_events(engine: &mut Engine, n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < n {
        engine.step();
        let msg = tokio::time::timeout(Duration::from_secs(5), engine.next())
            .await
            .expect("engine answered")
            .expect("engine running");
        match msg {
            EngineMsg::Event(e) => out.push(*e),
            EngineMsg::Waiting(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

/// The inode behind one of this process's fds, if it is a socket.
fn socket_inode(fd: i32) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let s = link.to_str()?;
    s.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// (local port, state hex, inode) of each line of /proc/net/tcp.
fn proc_net_tcp() -> Vec<(u16, String, u64)> {
    std::fs::read_to_string("/proc/net/tcp")
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

#[tokio::test]
async fn the_listening_fd_is_the_kernels_listening_socket() {
    let mut engine = Engine::start(
        lesson::builtin("tcp").unwrap(),
        EngineConfig {
            port: 0,
            pace: Pace::Manual,
            ..EngineConfig::default()
        },
    );
    // socket, bind, listen
    let ev = step_events(&mut engine, 3).await;
    let fd = ev[0].new_fd.unwrap();
    let port = addr(&ev[1].local).port();
    let inode = socket_inode(fd).expect("the reported fd is an open socket of this process");
    let entry = proc_net_tcp()
        .into_iter()
        .find(|(_, _, i)| *i == inode)
        .expect("the kernel lists the socket in /proc/net/tcp");
    assert_eq!(entry.0, port, "kernel's port for that inode");
    assert_eq!(entry.1, "0A", "state 0A is TCP_LISTEN");

    // ss agrees that something listens on exactly that port.
    let ss = std::process::Command::new("ss")
        .args(["-Htln", &format!("sport = :{port}")])
        .output();
    match ss {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains(&format!("127.0.0.1:{port}")),
                "ss said: {text}"
            );
        }
        _ => eprintln!("skipping the ss comparison: ss is not installed"),
    }
    drop(engine);
}

#[tokio::test]
async fn fds_are_released_when_the_engine_is_dropped() {
    let mut engine = Engine::start(
        lesson::builtin("tcp").unwrap(),
        EngineConfig {
            port: 0,
            pace: Pace::Manual,
            ..EngineConfig::default()
        },
    );
    let ev = step_events(&mut engine, 3).await;
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

#[test]
fn connect_and_accept_agree_with_getsockname_of_the_kernel() {
    // The accepted socket's local address is the listener's; the kernel-chosen
    // client port is the one /proc/net/tcp listed while connected. Checked
    // through the events of a full run against each other.
    let ev = events(&run("tcp"));
    let server = of(&ev, "server");
    let accept = server.iter().find(|e| e.call.name() == "accept").unwrap();
    assert_eq!(addr(&accept.local), addr(&server[1].local));
}
