//! `sockscope serve`: a real echo server that waits for peers the user brings
//! (`nc`, `telnet`, a Python one-liner, a browser) and reports every call it
//! makes for them as the same [`Event`]s a lesson produces.
//!
//! TCP: the `server` actor makes socket, bind, listen, then loops on accept.
//! Each accepted connection gets its own task and its own actor name (`peer1`,
//! `peer2`, ...: one lane each on screen), which loops recv → send the same
//! bytes back, until recv returns 0 (the peer's FIN) or fails (its RST), and
//! then closes its socket. UDP: one socket; each datagram is received with
//! recvfrom and sent back with sendto, under the actor of the address it came
//! from.
//!
//! Peers are strangers, so everything is bounded: each read is capped
//! ([`TCP_READ_MAX`]), the number of connections served at once is capped
//! (`max_peers`: the next one is accepted and closed at once, with a flag
//! saying why), and events flow through a bounded channel, so a consumer that
//! falls behind slows the server's reads and TCP's flow control slows the
//! peer, instead of memory growing. Every socket is closed when its task ends
//! or when the server is dropped.

use super::sock::Sock;
use super::{EngineMsg, actor::duration_us};
use crate::event::{Event, Waiting};
use crate::vocab::{Call, Proto, preview};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;
use tokio::sync::{Mutex, Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;

/// The most bytes one TCP recv asks for. A flood arrives as many capped
/// reads, each one an event.
pub const TCP_READ_MAX: usize = 4096;
/// UDP reads take the largest datagram IPv4 can carry, so no datagram is cut.
pub const UDP_READ_MAX: usize = 65_536;
/// The listen backlog.
pub const BACKLOG: i32 = 128;
/// Default cap on connections served at once.
pub const DEFAULT_MAX_PEERS: usize = 64;
/// Events buffered between the server and its consumer before the server
/// waits for the consumer.
pub const CHANNEL: usize = 1024;

/// What to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeConfig {
    pub proto: Proto,
    pub bind: SocketAddr,
    pub max_peers: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            proto: Proto::Tcp,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            max_peers: DEFAULT_MAX_PEERS,
        }
    }
}

/// A running server. Dropping it closes every socket it holds.
pub struct Server {
    msgs: mpsc::Receiver<EngineMsg>,
    local: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    _task: JoinSet<()>,
}

/// Numbers events in the order they are emitted, and sends them on.
///
/// The lock is held across the send, so sequence numbers and channel order
/// always agree, and a full channel makes every emitter wait its turn.
#[derive(Clone)]
struct Emitter {
    inner: Arc<Mutex<(u64, mpsc::Sender<EngineMsg>)>>,
    started: Instant,
}

impl Emitter {
    async fn event(&self, mut event: Event, at: Instant) {
        event.t_us = duration_us(at.saturating_duration_since(self.started));
        let mut inner = self.inner.lock().await;
        inner.0 += 1;
        event.seq = inner.0;
        // A consumer that went away just stops listening.
        let _ = inner.1.send(EngineMsg::Event(Box::new(event))).await;
    }

    async fn waiting(&self, actor: &str, call: Call, sock: &str, fd: i32, args: String) {
        let w = Waiting {
            step: 0,
            actor: actor.to_string(),
            call,
            sock: sock.to_string(),
            fd: Some(fd),
            args,
            t_us: duration_us(self.started.elapsed()),
            local: None,
            tcp_state: None,
        };
        let inner = self.inner.lock().await;
        let _ = inner.1.send(EngineMsg::Waiting(w)).await;
    }
}

/// A fresh event for a call made by `serve` (`step` is 0: no lesson step).
/// serve neither captures nor reads the kernel's view of its sockets, so
/// `segments`, `tcp_state` and `kernel` stay null: not observed.
fn event(actor: &str, call: Call, sock: &str, proto: Proto, fd: Option<i32>) -> Event {
    Event::new(actor, call, sock, proto, fd)
}

/// Run `call` on `sock`; if the kernel says it must wait, tell the consumer
/// first (a real EAGAIN: the future was polled once and is pending only after
/// the kernel answered that way), then wait for it. Returns the result and
/// how long the call waited.
async fn watched<T>(
    emit: &Emitter,
    actor: &str,
    what: (Call, &str, i32, &str),
    call: impl Future<Output = io::Result<T>>,
) -> (io::Result<T>, Option<u64>) {
    let started = Instant::now();
    let mut call = std::pin::pin!(call);
    match futures::poll!(call.as_mut()) {
        Poll::Ready(r) => (r, None),
        Poll::Pending => {
            let (c, sock, fd, args) = what;
            emit.waiting(actor, c, sock, fd, args.to_string()).await;
            let r = call.await;
            (r, Some(duration_us(started.elapsed())))
        }
    }
}

impl Server {
    /// Open, bind (and for TCP listen on) the server socket and start serving.
    /// Must be called from inside a tokio runtime. If a setup call fails (the
    /// port is taken, or privileged), the failure is an event like any other
    /// and [`Server::local_addr`] is `None`.
    pub async fn start(config: ServeConfig) -> Server {
        let (tx, msgs) = mpsc::channel(CHANNEL);
        let emit = Emitter {
            inner: Arc::new(Mutex::new((0, tx))),
            started: Instant::now(),
        };
        let (stop_tx, stop_rx) = oneshot::channel();
        let mut task = JoinSet::new();
        let sock = setup(&emit, config).await;
        let local = sock.as_ref().and_then(Sock::local_addr);
        if let Some(sock) = sock {
            match config.proto {
                Proto::Tcp => task.spawn(serve_tcp(emit, sock, config.max_peers, stop_rx)),
                Proto::Udp => task.spawn(serve_udp(emit, sock, config.max_peers, stop_rx)),
            };
        }
        Server {
            msgs,
            local,
            stop: Some(stop_tx),
            _task: task,
        }
    }

    /// The address the server really holds (the kernel's choice for port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }

    /// The next message, waiting for it; `None` once the server has stopped
    /// and every message has been read.
    pub async fn next(&mut self) -> Option<EngineMsg> {
        self.msgs.recv().await
    }

    /// The next message if one is ready.
    pub fn try_next(&mut self) -> Option<EngineMsg> {
        self.msgs.try_recv().ok()
    }

    /// Stop accepting: the server closes its own socket (reported as a close
    /// event) and the connections still open. Read on with [`Server::next`]
    /// until it returns `None`.
    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// socket, bind, and for TCP listen: each reported. `None` if one failed.
async fn setup(emit: &Emitter, config: ServeConfig) -> Option<Sock> {
    let proto = config.proto;
    let mut ev = event("server", Call::Socket, "listener", proto, None);
    ev.args = format!(
        "AF_INET, {}, 0",
        match proto {
            Proto::Tcp => "SOCK_STREAM",
            Proto::Udp => "SOCK_DGRAM",
        }
    );
    let sock = match Sock::open(proto) {
        Ok(s) => s,
        Err(e) => {
            ev.fail(&e);
            emit.event(ev, Instant::now()).await;
            return None;
        }
    };
    let fd = sock.fd();
    ev.fd = Some(fd);
    ev.new_fd = Some(fd);
    emit.event(ev, Instant::now()).await;

    let mut ev = event("server", Call::Bind, "listener", proto, Some(fd));
    ev.args = format!("{fd}, {}", config.bind);
    let bound = sock.bind(config.bind);
    ev.local = sock.local_addr().map(|a| a.to_string());
    if let Err(e) = &bound {
        ev.fail(e);
    }
    emit.event(ev, Instant::now()).await;
    bound.ok()?;

    if proto == Proto::Tcp {
        let mut ev = event("server", Call::Listen, "listener", proto, Some(fd));
        ev.args = format!("{fd}, {BACKLOG}");
        let listening = sock.listen(BACKLOG);
        ev.local = sock.local_addr().map(|a| a.to_string());
        if let Err(e) = &listening {
            ev.fail(e);
        }
        emit.event(ev, Instant::now()).await;
        listening.ok()?;
    }
    Some(sock)
}

/// Close the server's own socket, reporting it.
async fn close_listener(emit: &Emitter, sock: Sock) {
    let fd = sock.fd();
    let mut ev = event("server", Call::Close, "listener", sock.proto(), Some(fd));
    ev.args = fd.to_string();
    ev.local = sock.local_addr().map(|a| a.to_string());
    if let Err(e) = sock.close() {
        ev.fail(&e);
    }
    emit.event(ev, Instant::now()).await;
}

async fn serve_tcp(
    emit: Emitter,
    listener: Sock,
    max_peers: usize,
    mut stop: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(max_peers));
    let mut peers = JoinSet::new();
    let fd = listener.fd();
    let mut n = 0u64;
    loop {
        // Reap finished peer tasks so a long session of connect-and-drop
        // keeps no finished tasks around.
        while peers.try_join_next().is_some() {}
        let args = fd.to_string();
        let accepted = tokio::select! {
            _ = &mut stop => break,
            r = watched(&emit, "server", (Call::Accept, "listener", fd, &args), async {
                listener.accept(&mut || {}).await
            }) => r,
        };
        let at = Instant::now();
        let (result, waited) = accepted;
        let mut ev = event("server", Call::Accept, "listener", Proto::Tcp, Some(fd));
        ev.args = args;
        ev.waited_us = waited;
        match result {
            Ok((conn, peer)) => {
                n += 1;
                let actor = format!("peer{n}");
                ev.new_fd = Some(conn.fd());
                ev.local = conn.local_addr().map(|a| a.to_string());
                ev.peer = Some(peer.to_string());
                ev.flags.push(format!("lane {actor}"));
                match slots.clone().try_acquire_owned() {
                    Ok(permit) => {
                        emit.event(ev, at).await;
                        let emit = emit.clone();
                        peers.spawn(async move {
                            serve_peer(&emit, &actor, conn).await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        ev.flags
                            .push(format!("peer limit reached: {max_peers} connections already open, closing this one"));
                        emit.event(ev, at).await;
                        close_conn(&emit, &actor, conn, Some("peer limit reached")).await;
                    }
                }
            }
            Err(e) => {
                // accept can fail for reasons that concern one connection
                // only (ECONNABORTED) or the process (EMFILE); either way it
                // is reported, and the server goes on.
                ev.fail(&e);
                let fatal = !matches!(
                    e.raw_os_error(),
                    Some(libc::ECONNABORTED | libc::EINTR | libc::EPROTO)
                );
                emit.event(ev, at).await;
                if fatal {
                    // Out of descriptors or memory: pause before trying again
                    // rather than spin on the same error.
                    tokio::select! {
                        _ = &mut stop => break,
                        () = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                    }
                }
            }
        }
    }
    close_listener(&emit, listener).await;
    // Connections still open are closed by their sockets' Drop as their
    // tasks are cancelled here; waiting for that closes the event channel.
    peers.shutdown().await;
}

async fn close_conn(emit: &Emitter, actor: &str, conn: Sock, why: Option<&str>) {
    let fd = conn.fd();
    let mut ev = event(actor, Call::Close, "conn", Proto::Tcp, Some(fd));
    ev.args = fd.to_string();
    ev.local = conn.local_addr().map(|a| a.to_string());
    ev.peer = conn.peer_addr().map(|a| a.to_string());
    if let Some(w) = why {
        ev.flags.push(w.to_string());
    }
    if let Err(e) = conn.close() {
        ev.fail(&e);
    }
    emit.event(ev, Instant::now()).await;
}

/// One connection: recv, echo, until the peer's FIN (recv = 0) or an error.
async fn serve_peer(emit: &Emitter, actor: &str, conn: Sock) {
    let fd = conn.fd();
    let local = conn.local_addr().map(|a| a.to_string());
    let peer = conn.peer_addr().map(|a| a.to_string());
    'conn: loop {
        let args = format!("{fd}, {TCP_READ_MAX}");
        let (r, waited) = watched(
            emit,
            actor,
            (Call::Recv, "conn", fd, &args),
            conn.recv(TCP_READ_MAX, &mut || {}, true),
        )
        .await;
        let at = Instant::now();
        let mut ev = event(actor, Call::Recv, "conn", Proto::Tcp, Some(fd));
        ev.args = args;
        ev.waited_us = waited;
        ev.local.clone_from(&local);
        ev.peer.clone_from(&peer);
        let data = match r {
            Ok(buf) => {
                ev.bytes = Some(buf.len());
                ev.data = Some(preview::preview(&buf));
                if buf.is_empty() {
                    ev.flags.push("EOF".into());
                }
                buf
            }
            Err(e) => {
                ev.fail(&e);
                emit.event(ev, at).await;
                break;
            }
        };
        emit.event(ev, at).await;
        if data.is_empty() {
            break;
        }
        // Echo: send may take fewer bytes than offered when the send buffer
        // is nearly full, so send the rest until all of it is taken.
        let mut sent = 0;
        while sent < data.len() {
            let rest = &data[sent..];
            let args = format!("{fd}, \"{}\", {}", preview::preview(rest), rest.len());
            let (r, waited) = watched(emit, actor, (Call::Send, "conn", fd, &args), async {
                conn.send(rest, &mut || {}).await
            })
            .await;
            let at = Instant::now();
            let mut ev = event(actor, Call::Send, "conn", Proto::Tcp, Some(fd));
            ev.args = args;
            ev.waited_us = waited;
            ev.local.clone_from(&local);
            ev.peer.clone_from(&peer);
            match r {
                Ok(n) => {
                    ev.bytes = Some(n);
                    ev.data = Some(preview::preview(&rest[..n]));
                    sent += n;
                    emit.event(ev, at).await;
                }
                Err(e) => {
                    ev.fail(&e);
                    emit.event(ev, at).await;
                    break 'conn;
                }
            }
        }
    }
    let fd = conn.fd();
    let mut ev = event(actor, Call::Close, "conn", Proto::Tcp, Some(fd));
    ev.args = fd.to_string();
    ev.local = local;
    ev.peer = peer;
    if let Err(e) = conn.close() {
        ev.fail(&e);
    }
    emit.event(ev, Instant::now()).await;
}

async fn serve_udp(emit: Emitter, sock: Sock, max_peers: usize, mut stop: oneshot::Receiver<()>) {
    let fd = sock.fd();
    let local = sock.local_addr().map(|a| a.to_string());
    // Each sender's address gets a lane, up to max_peers of them; datagrams
    // from further senders appear in the server's own lane.
    let mut lanes: HashMap<SocketAddr, String> = HashMap::new();
    let lane = |lanes: &mut HashMap<SocketAddr, String>, from: SocketAddr| -> String {
        if let Some(l) = lanes.get(&from) {
            return l.clone();
        }
        if lanes.len() >= max_peers {
            return "server".into();
        }
        let l = format!("peer{}", lanes.len() + 1);
        lanes.insert(from, l.clone());
        l
    };
    let mut datagram = vec![0u8; UDP_READ_MAX];
    loop {
        let args = format!("{fd}, {UDP_READ_MAX}");
        let received = tokio::select! {
            _ = &mut stop => break,
            r = watched(&emit, "server", (Call::Recvfrom, "listener", fd, &args),
                async { sock.recv_from(&mut datagram, &mut || {}, true).await }) => r,
        };
        let at = Instant::now();
        let (r, waited) = received;
        let (n, from, truncated) = match r {
            Ok(x) => x,
            Err(e) => {
                // An ICMP error from an earlier reply (ECONNREFUSED: the
                // peer's port is closed) surfaces on the next call. Report it
                // and keep serving.
                let mut ev = event("server", Call::Recvfrom, "listener", Proto::Udp, Some(fd));
                ev.args = args;
                ev.waited_us = waited;
                ev.local.clone_from(&local);
                ev.fail(&e);
                emit.event(ev, at).await;
                continue;
            }
        };
        let buf = &datagram[..n];
        let actor = lane(&mut lanes, from);
        let mut ev = event(&actor, Call::Recvfrom, "listener", Proto::Udp, Some(fd));
        ev.args = args;
        ev.waited_us = waited;
        ev.local.clone_from(&local);
        ev.peer = Some(from.to_string());
        ev.bytes = Some(buf.len());
        ev.data = Some(preview::preview(buf));
        if truncated {
            ev.flags.push("MSG_TRUNC".into());
        }
        emit.event(ev, at).await;

        let args = format!("{fd}, \"{}\", {}, {from}", preview::preview(buf), buf.len());
        let (r, waited) = watched(
            &emit,
            &actor,
            (Call::Sendto, "listener", fd, &args),
            async { sock.send_to(buf, from, &mut || {}).await },
        )
        .await;
        let at = Instant::now();
        let mut ev = event(&actor, Call::Sendto, "listener", Proto::Udp, Some(fd));
        ev.args = args;
        ev.waited_us = waited;
        ev.local.clone_from(&local);
        ev.peer = Some(from.to_string());
        match r {
            Ok(n) => {
                ev.bytes = Some(n);
                ev.data = Some(preview::preview(&buf[..n]));
            }
            Err(e) => ev.fail(&e),
        }
        emit.event(ev, at).await;
    }
    close_listener(&emit, sock).await;
}

/// The command a student pastes to connect to a server at `local`.
pub fn connect_command(proto: Proto, local: SocketAddr) -> String {
    let host = if local.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        local.ip().to_string()
    };
    match proto {
        Proto::Tcp => format!("nc {host} {}", local.port()),
        Proto::Udp => format!("nc -u {host} {}", local.port()),
    }
}

/// The same connection from Python, for machines without nc.
pub fn python_command(proto: Proto, local: SocketAddr) -> String {
    let host = if local.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        local.ip().to_string()
    };
    let port = local.port();
    match proto {
        Proto::Tcp => format!(
            "python3 -c \"import socket; s=socket.create_connection(('{host}',{port})); s.sendall(b'hi\\n'); print(s.recv(100)); s.close()\""
        ),
        Proto::Udp => format!(
            "python3 -c \"import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.sendto(b'hi\\n',('{host}',{port})); print(s.recv(100))\""
        ),
    }
}

/// The warning shown when the server is reachable from other machines.
pub fn exposure_warning(bind: SocketAddr) -> Option<String> {
    (!bind.ip().is_loopback()).then(|| {
        format!(
            "warning: bound to {bind}, not loopback: port {} is reachable from the network, \
             and anyone who can reach it can connect and have their bytes echoed",
            bind.port()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_commands_name_the_real_port() {
        let a: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        assert_eq!(connect_command(Proto::Tcp, a), "nc 127.0.0.1 40001");
        assert_eq!(connect_command(Proto::Udp, a), "nc -u 127.0.0.1 40001");
        let any: SocketAddr = "0.0.0.0:5000".parse().unwrap();
        assert_eq!(connect_command(Proto::Tcp, any), "nc 127.0.0.1 5000");
    }

    #[test]
    fn only_non_loopback_binds_warn() {
        assert!(exposure_warning("127.0.0.1:1".parse().unwrap()).is_none());
        assert!(exposure_warning("127.0.0.2:1".parse().unwrap()).is_none());
        let w = exposure_warning("0.0.0.0:7".parse().unwrap()).unwrap();
        assert!(w.contains("reachable from the network"), "{w}");
    }
}
