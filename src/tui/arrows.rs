//! What each call puts on the wire, as TCP and UDP specify it: the arrows
//! drawn between lanes.
//!
//! Until packets are captured, these segments are *expected*, not observed:
//! they are derived from the call, its protocol and its result, and the
//! screen labels them as expected. The wire observer can replace them with
//! captured segments without touching the lanes (they only draw a
//! [`Segment`] list).

use crate::engine::{Call, Event, Proto};

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
}

/// One packet on the wire, as an arrow between two lanes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub dir: Dir,
    /// `SYN`, `SYN-ACK`, `data 17 B`, `datagram 14 B`, `FIN`.
    pub label: String,
    pub source: Source,
}

fn seg(dir: Dir, label: impl Into<String>) -> Segment {
    Segment {
        dir,
        label: label.into(),
        source: Source::Expected,
    }
}

/// The segments the protocol sends because of `event`.
///
/// `peer_known` says whether the peer is one of the lesson's endpoints; a
/// call with no peer (bind, listen, closing a listener) sends nothing.
pub fn expected(event: &Event) -> Vec<Segment> {
    use Dir::{Back, Out};
    let has_peer = event.peer.is_some();
    match (event.proto, event.call) {
        // The three-way handshake, or a SYN answered by a reset.
        (Proto::Tcp, Call::Connect) if event.ok() => {
            vec![seg(Out, "SYN"), seg(Back, "SYN-ACK"), seg(Out, "ACK")]
        }
        (Proto::Tcp, Call::Connect) if event.result == "ECONNREFUSED" => {
            vec![seg(Out, "SYN"), seg(Back, "RST")]
        }
        (Proto::Tcp, Call::Send) if event.ok() && event.bytes.unwrap_or(0) > 0 => {
            vec![seg(Out, format!("data {} B", event.bytes.unwrap_or(0)))]
        }
        (Proto::Tcp, Call::Shutdown) if event.ok() && has_peer && sends_fin(event) => {
            vec![seg(Out, "FIN"), seg(Back, "ACK")]
        }
        (Proto::Tcp, Call::Close) if event.ok() && has_peer => {
            vec![seg(Out, "FIN"), seg(Back, "ACK")]
        }
        (Proto::Udp, Call::Sendto | Call::Send) if event.ok() => {
            vec![seg(Out, format!("datagram {} B", event.bytes.unwrap_or(0)))]
        }
        _ => Vec::new(),
    }
}

/// shutdown(SHUT_WR) and shutdown(SHUT_RDWR) send a FIN; SHUT_RD does not.
fn sends_fin(event: &Event) -> bool {
    event.args.contains("SHUT_WR") || event.args.contains("SHUT_RDWR")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures;

    fn labels(e: &Event) -> Vec<(Dir, String)> {
        expected(e).into_iter().map(|s| (s.dir, s.label)).collect()
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
                assert!(expected(&e).is_empty(), "{}", e.syscall_line());
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
        assert_eq!(
            labels(close),
            [(Dir::Out, "FIN".into()), (Dir::Back, "ACK".into())]
        );
        let listener_close = events.last().unwrap();
        assert!(expected(listener_close).is_empty());
    }

    #[test]
    fn udp_sends_one_datagram_per_sendto_and_no_fin() {
        let events = fixtures::udp_events();
        let sendto = events.iter().find(|e| e.call == Call::Sendto).unwrap();
        assert_eq!(labels(sendto), [(Dir::Out, "datagram 14 B".into())]);
        for e in events.iter().filter(|e| e.call == Call::Close) {
            assert!(expected(e).is_empty());
        }
    }
}
