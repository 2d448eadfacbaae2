//! The handout of a `sockscope serve` session (key `e` on the serve screen):
//! the calls the screen holds, written out for students to keep.
//!
//! It is made from what the serve screen kept, nothing else: the command
//! peers connected with, the totals the title line counts, and one section
//! per lane (the server's, then each peer's) with every call as strace would
//! print it and the kernel's answer. The screen keeps a bounded number of
//! lanes and calls (see [`crate::tui::serve`]); what it let go is counted
//! here, not made up. `serve` neither captures packets nor reads the kernel's
//! socket tables, so the handout says those were not observed.

use super::{kernel_release, lanes_of, ports_section};
use sockscope_core::engine::{Call, Event, Proto, Waiting};
use sockscope_core::vocab::preview::text_block;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// A serve session as the screen holds it.
#[derive(Debug, Clone)]
pub struct Session<'a> {
    pub proto: Proto,
    /// The address the server really holds.
    pub local: SocketAddr,
    /// The command peers were told to connect with.
    pub connect: &'a str,
    /// Set when the server was reachable from the network.
    pub warning: Option<&'a str>,
    /// Peers seen in the whole session (more than the lanes kept, in a long
    /// one).
    pub peers_total: u64,
    pub peers_open: usize,
    pub bytes_echoed: u64,
    /// The server's lane, then the peers' lanes kept, oldest first.
    pub lanes: Vec<SessionLane<'a>>,
}

/// One lane: the server, or one peer's connection.
#[derive(Debug, Clone)]
pub struct SessionLane<'a> {
    pub actor: &'a str,
    /// The peer's address as accept (or recvfrom) reported it.
    pub peer: Option<&'a str>,
    /// For a peer: whether its socket was closed. `None` for the server.
    pub closed: Option<bool>,
    /// Calls of this lane the screen let go (the oldest).
    pub dropped: u64,
    pub rows: Vec<SessionRow<'a>>,
}

/// One call of a lane.
#[derive(Debug, Clone, Copy)]
pub enum SessionRow<'a> {
    Call(&'a Event),
    /// A call the kernel said must wait, still waiting.
    Waiting(&'a Waiting),
}

/// The handout as markdown.
/// Peers' bytes are escaped in every event already; the document passes
/// through [`text_block`] as a whole as well, as a lesson's handout does.
#[must_use]
pub fn render(session: &Session) -> String {
    let mut s = String::new();
    let _ = write_doc(&mut s, session);
    text_block(&s).into_owned()
}

fn write_doc(s: &mut String, session: &Session) -> std::fmt::Result {
    writeln!(
        s,
        "# sockscope serve: {} echo server on {}\n",
        session.proto.name(),
        session.local
    )?;
    writeln!(
        s,
        "*A session of `sockscope serve`, written by sockscope {} on {}. Every call \
         below really ran; every number was reported by the kernel in this session. \
         `serve` does not capture packets or read the kernel's socket tables, so \
         there are none here: not observed, not absent.*\n",
        env!("CARGO_PKG_VERSION"),
        kernel_release()
    )?;
    writeln!(s, "Peers connected with `{}`.\n", session.connect)?;
    if let Some(w) = session.warning {
        writeln!(s, "**{w}**\n")?;
    }
    let kept = session.lanes.iter().filter(|l| l.closed.is_some()).count() as u64;
    let noun = |n: u64, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    writeln!(
        s,
        "In this session: {} {} connected, {} still open; {} {} echoed back.\n",
        session.peers_total,
        noun(session.peers_total, "peer", "peers"),
        session.peers_open,
        session.bytes_echoed,
        noun(session.bytes_echoed, "byte", "bytes"),
    )?;
    if session.peers_total > kept {
        writeln!(
            s,
            "*The screen keeps the newest {kept} peers' lanes: the other {} are not in \
             this handout.*\n",
            session.peers_total - kept
        )?;
    }
    for lane in &session.lanes {
        write_lane(s, lane)?;
    }
    let events: Vec<&Event> = {
        let mut all: Vec<&Event> = session
            .lanes
            .iter()
            .flat_map(|l| &l.rows)
            .filter_map(|r| match r {
                SessionRow::Call(e) => Some(*e),
                SessionRow::Waiting(_) => None,
            })
            .collect();
        // In the order the calls returned, as the lesson handout's lanes.
        all.sort_by_key(|e| e.seq);
        all
    };
    if !events.is_empty() {
        writeln!(s, "## The session as lanes\n")?;
        writeln!(
            s,
            "One column per endpoint, one row per call, in the order the calls returned.\n"
        )?;
        let actors = session.lanes.iter().map(|l| l.actor.to_string()).collect();
        writeln!(s, "```text\n{}```\n", lanes_of(actors, &events))?;
        let ports = ports_section(&events);
        if !ports.is_empty() {
            writeln!(s, "## Ports in this session\n")?;
            writeln!(s, "```text\n{ports}```")?;
        }
    }
    Ok(())
}

fn write_lane(s: &mut String, lane: &SessionLane) -> std::fmt::Result {
    let mut heading = lane.actor.to_string();
    if let Some(p) = lane.peer {
        heading.push_str(&format!(" · {p}"));
    }
    match lane.closed {
        Some(true) => heading.push_str(" · closed"),
        Some(false) => heading.push_str(" · open"),
        None => {}
    }
    writeln!(s, "## {heading}\n")?;
    if lane.dropped > 0 {
        writeln!(
            s,
            "*The first {} {} of this lane are no longer kept; these are the last {}.*\n",
            lane.dropped,
            if lane.dropped == 1 { "call" } else { "calls" },
            lane.rows.len()
        )?;
    }
    if lane.rows.is_empty() {
        writeln!(s, "No calls yet.\n")?;
        return Ok(());
    }
    writeln!(s, "```text")?;
    for row in &lane.rows {
        match row {
            SessionRow::Call(e) => {
                writeln!(s, "{}", call_line(e))?;
                if let Some(x) = &e.explain {
                    writeln!(s, "    {}: {x}", e.result)?;
                }
            }
            SessionRow::Waiting(w) => writeln!(s, "{}", waiting_line(w))?,
        }
    }
    writeln!(s, "```\n")
}

/// `recv(10, 4096) = 6  "hello\n"`, `accept(9) = 10  from 127.0.0.1:52014`.
fn call_line(e: &Event) -> String {
    let mut s = e.syscall_line();
    if e.ok() {
        match e.call {
            Call::Accept => {
                if let Some(p) = &e.peer {
                    let _ = write!(s, "  from {p}");
                }
            }
            Call::Recv if e.bytes == Some(0) => s.push_str("  EOF: the peer closed"),
            // A send's bytes are in its arguments already; a recv's are
            // what it returned.
            Call::Recv | Call::Recvfrom => {
                if let Some(d) = &e.data {
                    let _ = write!(s, "  \"{d}\"");
                }
                if let (Call::Recvfrom, Some(p)) = (e.call, &e.peer) {
                    let _ = write!(s, "  from {p}");
                }
            }
            Call::Bind | Call::Listen => {
                if let Some(l) = &e.local {
                    let _ = write!(s, "  local {l}");
                }
            }
            _ => {}
        }
    }
    if let Some(w) = e.waited_us {
        let _ = write!(s, "  (waited {:.3} ms)", w as f64 / 1000.0);
    }
    for f in e
        .flags
        .iter()
        .filter(|f| !f.starts_with("lane ") && *f != "EOF")
    {
        let _ = write!(s, "  ({f})");
    }
    s
}

/// A call still waiting when the handout was written.
fn waiting_line(w: &Waiting) -> String {
    let why = match w.call {
        Call::Accept => "no peer has connected yet",
        Call::Recv | Call::Recvfrom => "nothing has arrived yet",
        _ => "the kernel said it must wait",
    };
    format!(
        "{}({}) ... waiting: the kernel answered EAGAIN, {why}",
        w.call, w.args
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64, actor: &str, call: Call, f: impl FnOnce(&mut Event)) -> Event {
        let mut e = Event::new(actor, call, "conn", Proto::Tcp, Some(10));
        e.seq = seq;
        e.args = "10".into();
        e.local = Some("127.0.0.1:41234".into());
        f(&mut e);
        e
    }

    #[test]
    fn the_handout_holds_the_kept_calls_and_counts_the_rest() {
        let accept = event(1, "server", Call::Accept, |e| {
            e.fd = Some(9);
            e.args = "9".into();
            e.new_fd = Some(10);
            e.peer = Some("127.0.0.1:52014".into());
            e.flags = vec!["lane peer7".into()];
        });
        let recv = event(2, "peer7", Call::Recv, |e| {
            e.args = "10, 4096".into();
            e.bytes = Some(6);
            e.data = Some("hello\\n".into());
        });
        let reset = event(3, "peer7", Call::Recv, |e| {
            e.args = "10, 4096".into();
            e.result = sockscope_core::vocab::Outcome::errno(libc::ECONNRESET);
            e.errno = Some(104);
            e.explain = Some("the peer reset the connection".into());
        });
        let waiting = Waiting {
            step: 0,
            actor: "server".into(),
            call: Call::Accept,
            sock: "listener".into(),
            fd: Some(9),
            args: "9".into(),
            t_us: 400,
            local: None,
            tcp_state: None,
            ..Default::default()
        };
        let session = Session {
            proto: Proto::Tcp,
            local: "127.0.0.1:41234".parse().unwrap(),
            connect: "nc 127.0.0.1 41234",
            warning: None,
            peers_total: 7,
            peers_open: 1,
            bytes_echoed: 6,
            lanes: vec![
                SessionLane {
                    actor: "server",
                    peer: None,
                    closed: None,
                    dropped: 0,
                    rows: vec![SessionRow::Call(&accept), SessionRow::Waiting(&waiting)],
                },
                SessionLane {
                    actor: "peer7",
                    peer: Some("127.0.0.1:52014"),
                    closed: Some(false),
                    dropped: 3,
                    rows: vec![SessionRow::Call(&recv), SessionRow::Call(&reset)],
                },
            ],
        };
        let md = render(&session);
        assert!(md.starts_with("# sockscope serve: TCP echo server on 127.0.0.1:41234\n"));
        assert!(md.contains("Peers connected with `nc 127.0.0.1 41234`."));
        assert!(md.contains("7 peers connected, 1 still open; 6 bytes echoed back"));
        assert!(md.contains("the other 6 are not in this handout"), "{md}");
        assert!(md.contains("## peer7 · 127.0.0.1:52014 · open"));
        assert!(md.contains("The first 3 calls of this lane are no longer kept"));
        assert!(md.contains("accept(9) = 10  from 127.0.0.1:52014"));
        assert!(md.contains("recv(10, 4096) = 6  \"hello\\n\""));
        assert!(md.contains("recv(10, 4096) = -1 ECONNRESET\n    ECONNRESET: the peer reset"));
        assert!(md.contains("accept(9) ... waiting: the kernel answered EAGAIN"));
        assert!(md.contains("port 52014"), "the peer's port is placed: {md}");
        assert!(!md.contains("lane peer7"), "internal flags stay out");
    }

    #[test]
    fn a_session_without_peers_says_so_and_invents_nothing() {
        let session = Session {
            proto: Proto::Udp,
            local: "127.0.0.1:9000".parse().unwrap(),
            connect: "nc -u 127.0.0.1 9000",
            warning: Some("bound to 0.0.0.0: reachable from the network"),
            peers_total: 0,
            peers_open: 0,
            bytes_echoed: 0,
            lanes: vec![SessionLane {
                actor: "server",
                peer: None,
                closed: None,
                dropped: 0,
                rows: Vec::new(),
            }],
        };
        let md = render(&session);
        assert!(md.contains("0 peers connected, 0 still open; 0 bytes echoed back"));
        assert!(md.contains("**bound to 0.0.0.0: reachable from the network**"));
        assert!(md.contains("## server\n\nNo calls yet."));
        assert!(!md.contains("## The session as lanes"));
        assert!(!md.contains("not in this handout"));
    }
}
