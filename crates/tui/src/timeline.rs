//! What the screen shows at the focused step, derived from the history.
//!
//! The history holds engine messages; the panels want rows for the lanes,
//! the sockets each endpoint holds, the ports in use. These are computed here
//! from the records visible at the focused step, so reviewing step 4 shows
//! exactly what was true after step 4, and nothing is stored twice.

use super::app::{App, Entry, Record};
use super::arrows::{self, Dir, Ends, Segment};
use sockscope_core::engine::actor::NONBLOCKING;
use sockscope_core::engine::{Call, Event, Proto};
use sockscope_core::vocab::StateSeen;
use std::collections::BTreeMap;

/// One line of the lanes panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    /// The step that was "now" when this row appeared.
    pub at_step: usize,
    pub kind: RowKind<'a>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RowKind<'a> {
    /// A call that returned, in its endpoint's lane.
    Call { lane: usize, event: &'a Event },
    /// A call waiting in the kernel; `done` once it has returned.
    Waiting {
        lane: usize,
        text: String,
        done: bool,
    },
    /// A segment crossing between two lanes. `index` counts the focused
    /// step's arrows in order, for the animation.
    Wire {
        from: usize,
        to: usize,
        segment: Segment,
        index: usize,
    },
}

/// The lane of an endpoint, by its name.
#[must_use]
pub fn lane_of(app: &App, actor: &str) -> usize {
    lane_index(app, actor).unwrap_or(0)
}

fn lane_index(app: &App, actor: &str) -> Option<usize> {
    app.lesson.actors.iter().position(|a| a.name == actor)
}

fn port(addr: &str) -> Option<u16> {
    addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

/// The lanes' rows at the focused step, oldest first.
pub fn rows(app: &App) -> Vec<Row<'_>> {
    let visible: Vec<&Record> = app.visible().collect();
    let focus = app.focus();
    let mut rows = Vec::new();
    // Which endpoint holds each port, as far as the run has shown so far:
    // a segment sent to that port is drawn to that endpoint's lane.
    let mut owner: BTreeMap<u16, usize> = BTreeMap::new();
    // And which holds each connection, by (local, peer): the connections a
    // listener accepted share its port, and may be handed to other threads.
    let mut conn_owner: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut arrow_index = 0;
    let mut earlier: Vec<&Event> = Vec::new();
    for r in &visible {
        match &r.entry {
            Entry::Waiting(w) => {
                let returned = visible.iter().find(|o| {
                    matches!(&o.entry, Entry::Event(e) if e.actor == w.actor && e.step == w.step)
                });
                // A call that returned within its own step never visibly
                // waited (connect on loopback): its event row says it all.
                if returned.is_some_and(|o| o.at_step == r.at_step) {
                    continue;
                }
                rows.push(Row {
                    at_step: r.at_step,
                    kind: RowKind::Waiting {
                        lane: lane_of(app, &w.actor),
                        text: format!(
                            "{}({})",
                            w.call,
                            w.fd.map(|f| f.to_string()).unwrap_or_default()
                        ),
                        done: returned.is_some(),
                    },
                });
            }
            Entry::Event(e) => {
                let lane = lane_of(app, &e.actor);
                if let Some(p) = e.local.as_deref().and_then(port).filter(|p| *p != 0) {
                    // A connection on a listener's port does not take the
                    // port over from the listener.
                    if e.peer.is_none() || !owner.contains_key(&p) {
                        owner.insert(p, lane);
                    }
                }
                if let (Some(local), Some(peer)) = (e.local.as_deref(), e.peer.as_deref()) {
                    let holder = match (e.call, app.lesson.steps.get(e.step.wrapping_sub(1))) {
                        (Call::Accept, Some(step)) => lane_of(app, step.new_owner()),
                        _ => lane,
                    };
                    conn_owner.insert((local, peer), holder);
                }
                rows.push(Row {
                    at_step: r.at_step,
                    kind: RowKind::Call { lane, event: e },
                });
                // The other end: the socket whose local address is our
                // peer and whose peer is us, else whoever holds that port.
                let peer_lane = e
                    .local
                    .as_deref()
                    .zip(e.peer.as_deref())
                    .and_then(|(l, p)| conn_owner.get(&(p, l)))
                    .or_else(|| e.peer.as_deref().and_then(port).and_then(|p| owner.get(&p)))
                    .copied();
                let segments = arrows::for_event(e, &earlier);
                earlier.push(e);
                for segment in segments {
                    let ends = match &segment.ends {
                        Ends::Dir(Dir::Out) => peer_lane.map(|p| (lane, p)),
                        Ends::Dir(Dir::Back) => peer_lane.map(|p| (p, lane)),
                        Ends::Wire {
                            from,
                            to,
                            src_port,
                            dst_port,
                        } => {
                            // By name, or else by the endpoint that last held
                            // the port (a refused SYN goes to a closed port).
                            let side = |name: &Option<String>, port: &Option<u16>| {
                                name.as_deref()
                                    .and_then(|n| lane_index(app, n))
                                    .or_else(|| port.and_then(|p| owner.get(&p).copied()))
                            };
                            side(from, src_port).zip(side(to, dst_port))
                        }
                    };
                    // A segment to or from an endpoint without a lane (a
                    // port nobody in the lesson holds) has nowhere to go.
                    let Some((from, to)) = ends else { continue };
                    let index = if r.at_step == focus {
                        arrow_index += 1;
                        arrow_index - 1
                    } else {
                        0
                    };
                    rows.push(Row {
                        at_step: r.at_step,
                        kind: RowKind::Wire {
                            from,
                            to,
                            segment,
                            index,
                        },
                    });
                }
            }
        }
    }
    rows
}

/// The call as it reads in a lane: `accept(3) = 5`,
/// `recv(5) = 17 bytes "hello from client"`, `connect(4) → ECONNREFUSED`.
#[must_use]
pub fn lane_text(e: &Event) -> String {
    let fd = e.fd.map(|f| f.to_string()).unwrap_or_default();
    if !e.ok() {
        return format!("{}({fd}) → {}", e.call, e.result);
    }
    match e.call {
        Call::Socket => format!("socket() = {fd}"),
        Call::Send | Call::Sendto => {
            format!("{}({fd}) = {} bytes", e.call, e.bytes.unwrap_or(0))
        }
        Call::Recv | Call::Recvfrom => match (e.bytes, &e.data) {
            (Some(0), _) => format!("{}({fd}) = 0 (end of stream)", e.call),
            (Some(n), Some(d)) => format!("{}({fd}) = {n} bytes \"{d}\"", e.call),
            (n, _) => format!("{}({fd}) = {} bytes", e.call, n.unwrap_or(0)),
        },
        _ => format!("{}({fd}) = {}", e.call, e.return_value()),
    }
}

/// The TCP state the kernel reported right after the call, when it was
/// observed: `LISTEN`, `ESTABLISHED`, `FIN_WAIT2`. After a close, what the
/// kernel still keeps without an fd (`kernel keeps TIME_WAIT`), or nothing
/// when it keeps nothing; after accept, the listener's (`listener LISTEN`).
pub fn kernel_state(e: &Event) -> Option<String> {
    let s = e.tcp_state.and_then(StateSeen::state)?;
    Some(match e.call {
        Call::Close => format!("kernel keeps {s}"),
        // The state is the listening socket's (the fd accept acted on).
        Call::Accept => format!("listener {s}"),
        _ => s.to_string(),
    })
}

/// The state a call leaves its socket in, in a word or two.
pub fn state_after(e: &Event) -> String {
    let local_port = e.local.as_deref().and_then(port);
    let peer_port = e.peer.as_deref().and_then(port);
    if !e.ok() {
        return match e.call {
            // A non-blocking connect's handshake goes on without the call.
            Call::Connect if e.result.is(libc::EINPROGRESS) => "connecting".into(),
            _ if e.result.is(libc::EAGAIN) => "would wait".into(),
            Call::Connect => "not connected".into(),
            Call::Bind => "no address".into(),
            _ => "failed".into(),
        };
    }
    match (e.call, e.proto) {
        (Call::Socket, _) => "created, no address".into(),
        (Call::Bind, _) => match local_port {
            Some(p) => format!("bound :{p}"),
            None => "bound".into(),
        },
        (Call::Listen, _) => "listening".into(),
        (Call::Accept, _) => match (e.new_fd, peer_port) {
            (Some(fd), Some(p)) => format!("fd {fd} ↔ :{p}"),
            _ => "connected".into(),
        },
        (Call::Connect, _) => match local_port {
            Some(p) => format!("connected :{p}"),
            None => "connected".into(),
        },
        (Call::Recv, Proto::Tcp) if e.bytes == Some(0) => "peer has closed".into(),
        (Call::Send | Call::Recv | Call::Sendto | Call::Recvfrom, Proto::Tcp) => "connected".into(),
        (Call::Sendto | Call::Send, Proto::Udp) => match local_port {
            Some(p) => format!("bound :{p}"),
            None => "sent".into(),
        },
        (Call::Recvfrom | Call::Recv, Proto::Udp) => match peer_port {
            Some(p) => format!("from :{p}"),
            None => "received".into(),
        },
        (Call::Shutdown, _) if e.args.contains("SHUT_WR") => "half-closed: can still read".into(),
        (Call::Shutdown, _) if e.args.contains("SHUT_RD") => "read side shut".into(),
        (Call::Shutdown, _) => "both directions shut".into(),
        (Call::Setsockopt, _) => "option set".into(),
        (Call::Close, _) => "closed".into(),
        (Call::Getsockopt, _) => "option read".into(),
        (Call::Fcntl, _) if e.flags.iter().any(|f| f == NONBLOCKING) => "non-blocking".into(),
        (Call::Fcntl, _) => "flags set".into(),
        (Call::Poll, _) if e.ready == Some(0) => "timed out".into(),
        (Call::Poll, _) => "ready".into(),
        (Call::Dup, _) => "one more fd".into(),
    }
}

/// A socket an endpoint holds at the focused step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub actor: String,
    /// The lesson's name for it: `listener`, `conn`.
    pub sock: String,
    pub fd: i32,
    pub proto: Proto,
    pub local: Option<String>,
    pub peer: Option<String>,
    /// `listening`, `connected`, ...
    pub state: String,
    /// The step whose call gave the socket its local port, and that call.
    pub bound_by: Option<(usize, Call, String)>,
}

impl Held {
    pub fn port(&self) -> Option<u16> {
        self.local.as_deref().and_then(port).filter(|p| *p != 0)
    }
}

/// The sockets open at the focused step, in the order they were created.
#[must_use]
pub fn held(app: &App) -> Vec<Held> {
    let mut open: Vec<Held> = Vec::new();
    for r in app.visible() {
        let Entry::Event(e) = &r.entry else { continue };
        let step = app.lesson.steps.get(e.step.wrapping_sub(1));
        match e.call {
            Call::Socket if e.ok() => open.push(Held {
                actor: e.actor.clone(),
                sock: e.sock.clone(),
                fd: e.new_fd.or(e.fd).unwrap_or(-1),
                proto: e.proto,
                local: None,
                peer: None,
                state: state_after(e),
                bound_by: None,
            }),
            Call::Close => open.retain(|h| !(h.actor == e.actor && h.sock == e.sock)),
            Call::Accept if e.ok() => {
                let name = step.and_then(|s| s.new.clone()).unwrap_or_default();
                // Held by the thread it was handed to, if any.
                let owner = step.map_or(e.actor.as_str(), |s| s.new_owner());
                open.push(Held {
                    actor: owner.to_string(),
                    sock: name,
                    fd: e.new_fd.unwrap_or(-1),
                    proto: e.proto,
                    local: e.local.clone(),
                    peer: e.peer.clone(),
                    state: "connected".into(),
                    bound_by: None,
                });
            }
            _ => {
                if let Some(h) = open
                    .iter_mut()
                    .find(|h| h.actor == e.actor && h.sock == e.sock)
                {
                    let had_port = h.port().is_some();
                    if e.local.is_some() {
                        h.local.clone_from(&e.local);
                    }
                    if e.peer.is_some() && e.proto == Proto::Tcp {
                        h.peer.clone_from(&e.peer);
                    }
                    if !had_port && h.port().is_some() {
                        h.bound_by = Some((e.step, e.call, e.args.clone()));
                    }
                    if !e.ok() && e.call == Call::Connect {
                        h.state = state_after(e);
                    }
                    // A non-blocking connect's handshake finishes without
                    // the call: the first poll or getsockopt after it that
                    // finds the socket connected says so.
                    if e.ok()
                        && h.state == "connecting"
                        && matches!(e.call, Call::Poll | Call::Getsockopt)
                        && e.peer.is_some()
                        && e.tcp_state
                            == Some(StateSeen::Is(sockscope_core::vocab::TcpState::Established))
                    {
                        h.state = "connected".into();
                    }
                    if e.ok() {
                        h.state = match e.call {
                            Call::Bind => "bound".into(),
                            // The kernel bound an unbound socket on its first send.
                            Call::Send | Call::Sendto if !had_port && h.port().is_some() => {
                                "bound".into()
                            }
                            Call::Recv if e.bytes == Some(0) => state_after(e),
                            // Data moved, flags set, readiness or an option
                            // read: the socket is what it was.
                            Call::Send
                            | Call::Sendto
                            | Call::Recv
                            | Call::Recvfrom
                            | Call::Fcntl
                            | Call::Poll
                            | Call::Getsockopt => h.state.clone(),
                            _ => state_after(e),
                        };
                    }
                }
            }
        }
    }
    open
}

/// The records of the focused step: the call the step made (if it has
/// reported) and any calls it woke.
#[must_use]
pub fn focused(app: &App) -> Vec<&Record> {
    let focus = app.focus();
    app.visible().filter(|r| r.at_step == focus).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Feed, update};
    use crate::fixtures;
    use crate::shell::Msg;
    use sockscope_core::lesson;

    pub(crate) fn app_at(name: &str, step: usize) -> App {
        let mut app = App::new(
            lesson::builtin(name).unwrap(),
            lesson::builtins(),
            crate::render_tests::MACHINE,
        );
        let msgs = if name == "tcp" {
            fixtures::tcp()
        } else {
            fixtures::udp()
        };
        for m in msgs {
            let s = match &m {
                sockscope_core::engine::EngineMsg::Waiting(w) => w.step,
                sockscope_core::engine::EngineMsg::Event(e) => e.step,
                _ => 0,
            };
            if s > step {
                break;
            }
            update(&mut app, Msg::Feed(Feed::Engine(m)));
        }
        app
    }

    /// The arrows drawn for the rows `keep` picks: (from lane, to lane, label).
    fn wires(app: &App, keep: impl Fn(&Row) -> bool) -> Vec<(usize, usize, String)> {
        rows(app)
            .into_iter()
            .filter(|r| keep(r))
            .filter_map(|r| match r.kind {
                RowKind::Wire {
                    from, to, segment, ..
                } => Some((from, to, segment.label)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_handshake_arrows_run_between_client_and_server() {
        let app = app_at("tcp", 6);
        let wires = wires(&app, |_| true);
        let (server, client) = (0, 1);
        assert_eq!(
            wires,
            [
                (client, server, "SYN".to_string()),
                (server, client, "SYN-ACK".to_string()),
                (client, server, "ACK".to_string()),
            ]
        );
    }

    /// A real run of `refused`, captured where this process may: the SYN goes
    /// to the port the probe gave back, and the kernel's RST comes back from
    /// it, so both arrows join the client's lane and the probe's.
    #[tokio::test]
    async fn a_refused_connect_draws_its_syn_and_the_reset() {
        let config = sockscope_core::engine::EngineConfig {
            port: 0,
            pace: sockscope_core::engine::Pace::RunToEnd,
            capture: true,
        };
        let (msgs, _) =
            sockscope_core::engine::run_to_end_with(lesson::builtin("refused").unwrap(), config)
                .await;
        let mut app = App::new(
            lesson::builtin("refused").unwrap(),
            lesson::builtins(),
            crate::render_tests::MACHINE,
        );
        for m in msgs {
            update(&mut app, Msg::Feed(Feed::Engine(m)));
        }
        let refused_step = app
            .history
            .iter()
            .find_map(|r| match &r.entry {
                Entry::Event(e) if e.result.is(libc::ECONNREFUSED) => Some(r.at_step),
                _ => None,
            })
            .expect("the lesson's connect is refused");
        app.review = Some(refused_step);
        let (probe, client) = (lane_of(&app, "probe"), lane_of(&app, "client"));
        let wires = wires(&app, |r| r.at_step == refused_step);
        assert!(
            wires
                .iter()
                .any(|(f, t, l)| (*f, *t) == (client, probe) && l.starts_with("SYN")),
            "{wires:?}"
        );
        assert!(
            wires
                .iter()
                .any(|(f, t, l)| (*f, *t) == (probe, client) && l.starts_with("RST")),
            "{wires:?}"
        );
    }

    #[test]
    fn a_waiting_accept_shows_until_it_returns() {
        let app = app_at("tcp", 5);
        let waiting: Vec<_> = rows(&app)
            .into_iter()
            .filter_map(|r| match r.kind {
                RowKind::Waiting { text, done, .. } => Some((text, done)),
                _ => None,
            })
            .collect();
        assert_eq!(waiting.len(), 1);
        assert!(waiting[0].0.starts_with("accept("));
        assert!(!waiting[0].1);
        let app = app_at("tcp", 6);
        assert!(
            rows(&app)
                .iter()
                .any(|r| matches!(r.kind, RowKind::Waiting { done: true, .. }))
        );
    }

    #[test]
    fn held_sockets_follow_the_lifecycle() {
        let app = app_at("tcp", 6);
        let held = held(&app);
        let names: Vec<_> = held
            .iter()
            .map(|h| format!("{}:{}", h.actor, h.sock))
            .collect();
        assert_eq!(names, ["server:listener", "client:sock", "server:conn"]);
        assert_eq!(held[0].state, "listening");
        assert_eq!(
            held[1].state,
            format!("connected :{}", held[1].port().unwrap())
        );
        let app = app_at("tcp", 12);
        let names: Vec<_> = super::held(&app)
            .iter()
            .map(|h| format!("{}:{}", h.actor, h.sock))
            .collect();
        assert_eq!(names, ["server:listener"]);
    }

    #[test]
    fn lane_text_matches_the_issue_examples() {
        let events = fixtures::tcp_events();
        let accept = events.iter().find(|e| e.call == Call::Accept).unwrap();
        assert_eq!(
            lane_text(accept),
            format!(
                "accept({}) = {}",
                accept.fd.unwrap(),
                accept.new_fd.unwrap()
            )
        );
        let recv = events.iter().find(|e| e.call == Call::Recv).unwrap();
        assert_eq!(
            lane_text(recv),
            format!(
                "recv({}) = 17 bytes \"hello from client\"",
                recv.fd.unwrap()
            )
        );
        let mut refused = events[5].clone();
        refused.result = sockscope_core::vocab::Outcome::errno(libc::ECONNREFUSED);
        refused.errno = Some(111);
        assert!(lane_text(&refused).ends_with("→ ECONNREFUSED"));
    }
}
