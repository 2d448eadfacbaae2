//! What each call put on the wire: the arrows drawn between lanes.
//!
//! When the engine captured the run's packets on `lo`, an event carries the
//! segments it really caused, and those are drawn ([`Source::Captured`]).
//! When it could not capture (no CAP_NET_RAW), the arrows are *expected*:
//! derived from the call, its protocol and its result, and labelled so on
//! screen. The expected set is what the call itself makes the kernel send
//! and no more: the handshake for connect, one data segment per send, one
//! datagram per sendto; for a close, a FIN, an RST (unread data, SO_LINGER 0)
//! or nothing (the FIN already went with shutdown, or the connection was
//! reset), as the socket's state just before the close says. Not the peer's
//! ACK of that FIN: it may be delayed, ride on the peer's own FIN, or never
//! come (the `refused` lesson's listener closes and the kernel answers with a
//! reset instead), so only capture may draw it. A test runs every built-in
//! lesson with capture and checks each expected segment against what really
//! crossed `lo`.

use sockscope_core::engine::{Call, Event, Proto};
use sockscope_core::vocab::TcpState;

/// Which way a segment travels, relative to the call that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// From the calling endpoint to its peer.
    Out,
    /// From the peer back to the calling endpoint.
    Back,
}

/// Where a segment's description came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// What the protocol sends for this call; not captured.
    Expected,
    /// Read from the wire in this run.
    Captured,
}

/// Which lanes an arrow joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ends {
    /// Relative to the calling endpoint and its peer (expected segments).
    Dir(Dir),
    /// As captured: the endpoints the wire observer named, and the ports,
    /// for a side it could not name (a port whose socket is already closed,
    /// like the one a refused connect aims at).
    Wire {
        from: Option<String>,
        to: Option<String>,
        src_port: Option<u16>,
        dst_port: Option<u16>,
    },
}

/// One packet on the wire, as an arrow between two lanes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub ends: Ends,
    /// `SYN`, `SYN-ACK`, `data 17 B`, `PSH-ACK 17 B`, `datagram 14 B`, `FIN`.
    pub label: String,
    /// For a captured TCP segment, its numbers: `seq=1 ack=1 win=64` (relative
    /// sequence and acknowledgment numbers, the raw window), shown after the
    /// label where the arrow is long enough.
    pub detail: Option<String>,
    pub source: Source,
}

fn seg(dir: Dir, label: impl Into<String>) -> Segment {
    Segment {
        ends: Ends::Dir(dir),
        label: label.into(),
        detail: None,
        source: Source::Expected,
    }
}

/// The arrows for `event`: what was captured when capture ran, otherwise
/// what the protocol is expected to send. A captured empty list means the
/// call sent nothing, and nothing is drawn. `earlier` are the run's events
/// before this one (what a close sends depends on them).
#[must_use]
pub fn for_event(event: &Event, earlier: &[&Event]) -> Vec<Segment> {
    let Some(captured) = &event.segments else {
        return expected(event, earlier);
    };
    let port = |addr: &str| addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok());
    captured
        .iter()
        .map(|s| Segment {
            ends: Ends::Wire {
                from: s.from.clone(),
                to: s.to.clone(),
                src_port: port(&s.src),
                dst_port: port(&s.dst),
            },
            label: if s.len > 0 {
                format!("{} {} B", s.label(), s.len)
            } else {
                s.label()
            },
            detail: numbers(s),
            source: Source::Captured,
        })
        .collect()
}

/// `seq=1 ack=18 win=64`: the numbers of a captured TCP segment.
fn numbers(s: &sockscope_core::wire::Segment) -> Option<String> {
    let mut out = Vec::new();
    if let Some(seq) = s.seq {
        out.push(format!("seq={seq}"));
    }
    if let Some(ack) = s.ack {
        out.push(format!("ack={ack}"));
    }
    if let Some(win) = s.window {
        out.push(format!("win={win}"));
    }
    (!out.is_empty()).then(|| out.join(" "))
}

/// What earlier calls changed about what a close sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Earlier {
    /// A shutdown already sent the FIN: close sends no second one.
    fin_sent: bool,
    /// SO_LINGER on with a zero timeout: close aborts with a reset.
    linger_zero: bool,
    /// The connection was already reset (a call failed with ECONNRESET or
    /// EPIPE): there is nothing left to close on the wire.
    reset: bool,
    /// Bytes the peer sent that this socket never read: closing with unread
    /// data discards it and resets the connection (RFC 2525, 2.17).
    unread: usize,
}

impl Earlier {
    fn of(event: &Event, earlier: &[&Event]) -> Earlier {
        let same = |p: &&&Event| p.actor == event.actor && p.sock == event.sock;
        let mine = || earlier.iter().filter(same);
        // The peer's socket is the one whose addresses are ours, swapped.
        let from_peer = |p: &&&Event| {
            p.actor != event.actor
                && p.local.is_some()
                && p.local == event.peer
                && p.peer == event.local
        };
        let sent_to_me: usize = earlier
            .iter()
            .filter(from_peer)
            .filter(|p| p.ok() && p.call == Call::Send)
            .filter_map(|p| p.bytes)
            .sum();
        let read: usize = mine()
            .filter(|p| p.ok() && p.call == Call::Recv)
            .filter_map(|p| p.bytes)
            .sum();
        Earlier {
            fin_sent: mine().any(|p| p.ok() && p.call == Call::Shutdown && sends_fin(p)),
            linger_zero: mine()
                .filter(|p| p.ok())
                .rfind(|p| p.call == Call::Setsockopt && p.args.contains("SO_LINGER"))
                .is_some_and(|p| p.args.contains("l_linger=0}")),
            reset: mine().any(|p| p.result.is(libc::ECONNRESET) || p.result.is(libc::EPIPE)),
            unread: sent_to_me.saturating_sub(read),
        }
    }
}

/// Was this send cut short by full buffers, or did it finish one that was?
fn window_bound(event: &Event) -> bool {
    use sockscope_core::engine::actor::{PARTIAL_SEND, WHOLE_BUFFER_SENT};
    event
        .flags
        .iter()
        .any(|f| f == PARTIAL_SEND || f == WHOLE_BUFFER_SENT)
}

/// The segments the protocol sends because of `event`, given the run's
/// `earlier` events.
///
/// A call with no peer (bind, listen, closing a listener) sends nothing.
#[must_use]
pub fn expected(event: &Event, earlier: &[&Event]) -> Vec<Segment> {
    use Dir::{Back, Out};
    let has_peer = event.peer.is_some();
    let before = Earlier::of(event, earlier);
    match (event.proto, event.call) {
        // The three-way handshake, or a SYN answered by a reset.
        (Proto::Tcp, Call::Connect) if event.ok() => {
            vec![seg(Out, "SYN"), seg(Back, "SYN-ACK"), seg(Out, "ACK")]
        }
        (Proto::Tcp, Call::Connect) if event.result.is(libc::ECONNREFUSED) => {
            vec![seg(Out, "SYN"), seg(Back, "RST")]
        }
        // A send the buffers cut short, or one finishing such a send, met a
        // window too small for its bytes: they leave in pieces as the
        // receiver makes room, which no prediction can draw.
        (Proto::Tcp, Call::Send) if event.ok() && window_bound(event) => Vec::new(),
        (Proto::Tcp, Call::Send) if event.ok() && event.bytes.unwrap_or(0) > 0 => {
            vec![seg(Out, format!("data {} B", event.bytes.unwrap_or(0)))]
        }
        (Proto::Tcp, Call::Shutdown)
            if event.ok() && has_peer && sends_fin(event) && !before.fin_sent =>
        {
            vec![seg(Out, "FIN")]
        }
        (Proto::Tcp, Call::Close) if event.ok() && has_peer => close_sends(event, before)
            .map(|flag| vec![seg(Out, flag)])
            .unwrap_or_default(),
        (Proto::Udp, Call::Sendto | Call::Send) if event.ok() => {
            vec![seg(Out, format!("datagram {} B", event.bytes.unwrap_or(0)))]
        }
        _ => Vec::new(),
    }
}

/// What close puts on the wire, from the socket's state just before it
/// (the kernel observer reads it): FIN from a connection still sending
/// (ESTABLISHED, CLOSE_WAIT, SYN_RECV), RST instead if data was left unread
/// or SO_LINGER was 0, nothing once the FIN has gone (after shutdown) or the
/// connection was reset. Without that observation (a recording made before
/// the kernel view existed), the same rules applied to the run's earlier
/// calls.
fn close_sends(event: &Event, before: Earlier) -> Option<&'static str> {
    let Some(k) = event.kernel.as_ref().filter(|k| k.state_before.is_some()) else {
        return if before.reset || before.fin_sent {
            None
        } else if before.linger_zero || before.unread > 0 {
            Some("RST")
        } else {
            Some("FIN")
        };
    };
    match k.state_before {
        Some(TcpState::Established | TcpState::CloseWait | TcpState::SynRecv) => {
            if k.unread_before.unwrap_or(0) > 0 || k.linger_zero == Some(true) {
                Some("RST")
            } else {
                Some("FIN")
            }
        }
        _ => None,
    }
}

/// shutdown(SHUT_WR) and shutdown(SHUT_RDWR) send a FIN; SHUT_RD does not.
fn sends_fin(event: &Event) -> bool {
    event.args.contains("SHUT_WR") || event.args.contains("SHUT_RDWR")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn labels(e: &Event) -> Vec<(Dir, String)> {
        expected(e, &[])
            .into_iter()
            .map(|s| match s.ends {
                Ends::Dir(d) => (d, s.label),
                Ends::Wire { .. } => panic!("expected segments are relative"),
            })
            .collect()
    }

    #[test]
    fn connect_is_the_three_way_handshake() {
        let events = fixtures::tcp_events();
        let connect = events.iter().find(|e| e.call == Call::Connect).unwrap();
        assert_eq!(
            labels(connect),
            [
                (Dir::Out, "SYN".into()),
                (Dir::Back, "SYN-ACK".into()),
                (Dir::Out, "ACK".into())
            ]
        );
    }

    #[test]
    fn bind_listen_and_accept_send_nothing() {
        for e in fixtures::tcp_events() {
            if matches!(
                e.call,
                Call::Bind | Call::Listen | Call::Accept | Call::Recv
            ) {
                assert!(expected(&e, &[]).is_empty(), "{}", e.syscall_line());
            }
        }
    }

    #[test]
    fn send_carries_its_byte_count_and_close_sends_fin() {
        let events = fixtures::tcp_events();
        let send = events.iter().find(|e| e.call == Call::Send).unwrap();
        assert_eq!(labels(send), [(Dir::Out, "data 17 B".into())]);
        let close = events
            .iter()
            .find(|e| e.call == Call::Close && e.peer.is_some())
            .unwrap();
        assert_eq!(labels(close), [(Dir::Out, "FIN".into())]);
        let listener_close = events.last().unwrap();
        assert!(expected(listener_close, &[]).is_empty());
    }

    /// Does captured segment `c` show what expected label `want` claims?
    fn shows(c: &sockscope_core::wire::Segment, want: &str) -> bool {
        use sockscope_core::wire::WireProto;
        let bytes = |prefix: &str| {
            want.strip_prefix(prefix)
                .and_then(|r| r.strip_suffix(" B"))
                .and_then(|n| n.parse::<usize>().ok())
        };
        match want {
            "SYN" => c.has_flag("SYN") && !c.has_flag("ACK"),
            "SYN-ACK" => c.has_flag("SYN") && c.has_flag("ACK"),
            "ACK" => c.has_flag("ACK"),
            "FIN" => c.has_flag("FIN"),
            "RST" => c.has_flag("RST"),
            _ => match (bytes("data "), bytes("datagram ")) {
                (Some(n), _) => c.proto == WireProto::Tcp && c.len == n,
                (_, Some(n)) => c.proto == WireProto::Udp && c.len == n,
                _ => false,
            },
        }
    }

    /// The expected arrows are claims about the wire: with capture, every one
    /// of them is found among the packets the call (or, for an ACK that the
    /// kernel sends later, a later call) really caused, going the same way.
    #[tokio::test]
    async fn every_expected_segment_is_seen_on_the_wire() {
        use sockscope_core::wire::Direction;
        for lesson in sockscope_core::lesson::builtins() {
            let config = sockscope_core::engine::EngineConfig {
                port: 0,
                pace: sockscope_core::engine::Pace::RunToEnd,
                capture: true,
            };
            let (msgs, wire) =
                sockscope_core::engine::run_to_end_with(lesson.clone(), config).await;
            if !wire.status().running() {
                sockscope_core::testing::skip(&format!(
                    "no packet capture here ({:?}); needs CAP_NET_RAW",
                    wire.status()
                ));
                return;
            }
            let events: Vec<&Event> = sockscope_core::engine::events(&msgs);
            for (i, e) in events.iter().enumerate() {
                for x in expected(e, &events[..i]) {
                    let Ends::Dir(dir) = x.ends else { continue };
                    let way = match dir {
                        Dir::Out => Direction::Out,
                        Dir::Back => Direction::In,
                    };
                    let found = e
                        .segments
                        .iter()
                        .flatten()
                        .any(|c| c.direction == way && shows(c, &x.label));
                    assert!(
                        found,
                        "{}: step {} {}: expected {:?} {} not seen in {:?}",
                        lesson.name,
                        e.step,
                        e.syscall_line(),
                        dir,
                        x.label,
                        e.segments
                    );
                }
            }
        }
    }

    #[test]
    fn udp_sends_one_datagram_per_sendto_and_no_fin() {
        let events = fixtures::udp_events();
        let sendto = events.iter().find(|e| e.call == Call::Sendto).unwrap();
        assert_eq!(labels(sendto), [(Dir::Out, "datagram 14 B".into())]);
        for e in events.iter().filter(|e| e.call == Call::Close) {
            assert!(expected(e, &[]).is_empty());
        }
    }
}
