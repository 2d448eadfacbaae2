//! Which captured frames are ours, which connection each belongs to, and
//! which call they are attached to.
//!
//! `lo` carries every loopback conversation on the machine; sockscope keeps
//! only the frames of its own sockets. A frame is ours when its two endpoints
//! are the local and peer address of a socket some event has reported. A
//! frame that only touches one of our ports (a SYN to our listener from a
//! connect whose event has not come yet) waits in a small buffer until its
//! connection is known, or is forgotten.
//!
//! Attribution rests on a property of loopback: a packet a call sends is
//! processed by the receiving stack (softirq) before the call returns to user
//! space, and so are the replies the peer kernel sends at once (the SYN-ACK,
//! the ACK of a FIN). So when the engine produces a call's event, the packets
//! it caused are already queued on the capture socket; the engine drains the
//! socket right then and hands the frames here. Frames of the event's own
//! connection are attached to it; frames of another connection wait for the
//! next event of theirs and are marked `late`. One call acts on connections
//! that are not its own: a listener's close resets the connections still in
//! its accept queue, and those resets are attached to that close.
//!
//! Frames are numbered as they are first seen, so the numbers (and the pcap
//! written from them) follow the capture order even when a frame has to
//! wait for its connection to be known.
//!
//! Sequence numbers are made relative per connection and direction to the
//! sender's initial sequence number, as Wireshark shows them.

use super::decode::{Transport, decode};
use super::segment::{Direction, Frame, Segment, WireProto};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

/// Frames touching one of our ports but not yet a known connection, kept in
/// case their connection's event comes later.
const MAX_UNCLAIMED: usize = 1024;
/// Frames kept per run (for the packet pane and the pcap). A lesson makes a
/// few dozen; this only bounds memory if a lesson misbehaves.
pub const MAX_KEPT: u64 = 100_000;

/// The two endpoints of a conversation, in a fixed order.
type Pair = (SocketAddr, SocketAddr);

fn pair(a: SocketAddr, b: SocketAddr) -> Pair {
    if a <= b { (a, b) } else { (b, a) }
}

/// A claimed frame waiting to be attached to an event.
struct Held {
    pair: Pair,
    /// The segment without its direction (that depends on the event).
    seg: Segment,
    src: SocketAddr,
    drained_at: u64,
}

/// A frame read but not yet ours.
struct Unclaimed {
    frame: Frame,
    drained_at: u64,
}

/// Attribution state for one run.
pub struct Tracker {
    /// Wall-clock time at the start of the lesson, to turn frame times into
    /// `t_us`.
    start_wall: Duration,
    names: HashMap<SocketAddr, String>,
    /// The actor holding each connected socket, by (local, peer): the
    /// connections a listener accepted all share its local address, and
    /// when they are handed to different threads only the pair tells whose
    /// each packet is.
    conn_names: HashMap<(SocketAddr, SocketAddr), String>,
    ports: BTreeSet<u16>,
    pairs: HashSet<Pair>,
    /// Initial sequence number of each sender, per connection.
    isn: HashMap<(Pair, SocketAddr), u32>,
    /// How far each TCP connection's teardown has got.
    teardown: HashMap<Pair, Teardown>,
    unclaimed: VecDeque<Unclaimed>,
    held: Vec<Held>,
    next_n: u64,
    drains: u64,
    /// Frames of ours not kept because `MAX_KEPT` was reached.
    pub not_kept: u64,
}

impl Tracker {
    #[must_use]
    pub fn new(start_wall: Duration) -> Tracker {
        Tracker {
            start_wall,
            names: HashMap::new(),
            conn_names: HashMap::new(),
            ports: BTreeSet::new(),
            pairs: HashSet::new(),
            isn: HashMap::new(),
            teardown: HashMap::new(),
            unclaimed: VecDeque::new(),
            held: Vec::new(),
            next_n: 1,
            drains: 0,
            not_kept: 0,
        }
    }

    /// Learn a socket's addresses from an event: `actor`'s socket is at
    /// `local`, talking to `peer`.
    pub fn learn(&mut self, actor: &str, local: Option<SocketAddr>, peer: Option<SocketAddr>) {
        if let Some(l) = local {
            // An address alone names the socket bound to it (a listener, a
            // client's own port); a connection accepted on a listener's
            // address does not take the name over: it is found by its pair.
            if peer.is_none() || !self.names.contains_key(&l) {
                self.names.insert(l, actor.to_string());
            }
            self.ports.insert(l.port());
        }
        if let Some(p) = peer {
            self.ports.insert(p.port());
        }
        if let (Some(l), Some(p)) = (local, peer) {
            self.pairs.insert(pair(l, p));
            self.conn_names.insert((l, p), actor.to_string());
        }
    }

    /// A port a call is about to use (the destination of a connect or a
    /// sendto, a port asked for in bind), so the capture keeps its frames
    /// before any event has named it.
    pub fn expect_port(&mut self, port: u16) {
        if port != 0 {
            self.ports.insert(port);
        }
    }

    /// The ports of this run's sockets and their peers.
    #[must_use]
    pub fn ports(&self) -> &BTreeSet<u16> {
        &self.ports
    }

    /// A socket with no peer (a listener, an unconnected socket) was closed:
    /// from now on its port is answered by the kernel alone (a reset, a port
    /// unreachable), not by that actor.
    pub fn forget(&mut self, local: SocketAddr) {
        self.names.remove(&local);
    }

    /// Take the frames of one drain. Returns the frames that are ours, now
    /// numbered, in capture order.
    ///
    /// A frame is numbered when it is first seen, even if its connection is
    /// not known yet (a SYN to our listener from a connect whose event has
    /// not come): numbers, and so the pcap, follow the capture order. Such a
    /// frame waits for its connection before it is attached to an event.
    pub fn take(&mut self, frames: Vec<Frame>) -> Vec<Frame> {
        self.drains += 1;
        let now = self.drains;
        // Frames waiting for their connection first: they are older.
        let waiting: Vec<Unclaimed> = self.unclaimed.drain(..).collect();
        for u in waiting {
            match self.classify(&u.frame) {
                Class::Ours(p) => self.hold(u.frame, p, u.drained_at),
                Class::Maybe | Class::NotOurs => self.wait(u),
            }
        }
        let mut claimed = Vec::new();
        for mut frame in frames {
            let class = self.classify(&frame);
            if matches!(class, Class::NotOurs) || !self.number(&mut frame) {
                continue;
            }
            claimed.push(frame.clone());
            match class {
                Class::Ours(p) => self.hold(frame, p, now),
                _ => self.wait(Unclaimed {
                    frame,
                    drained_at: now,
                }),
            }
        }
        claimed
    }

    /// Keep a numbered frame until its connection is known. Past
    /// `MAX_UNCLAIMED` the oldest is held under its own two endpoints, so
    /// it still reaches the run's record (after the last call) rather than
    /// vanishing from it.
    fn wait(&mut self, u: Unclaimed) {
        if self.unclaimed.len() == MAX_UNCLAIMED
            && let Some(old) = self.unclaimed.pop_front()
        {
            let d = decode(&old.frame.data);
            if let Some((a, b)) = d.endpoints() {
                self.hold(old.frame, pair(a, b), old.drained_at);
            }
        }
        self.unclaimed.push_back(u);
    }

    /// The segments for an event of the socket at `local` talking to `peer`:
    /// every held frame of that connection, oldest first.
    pub fn attach(&mut self, local: Option<SocketAddr>, peer: Option<SocketAddr>) -> Vec<Segment> {
        let now = self.drains;
        let (mut mine, rest): (Vec<Held>, Vec<Held>) = match (local, peer) {
            (Some(local), Some(peer)) => {
                let want = pair(local, peer);
                self.held.drain(..).partition(|h| h.pair == want)
            }
            // A socket without a peer causes packets of other connections
            // in one case: a listener's close resets every connection still
            // in its accept queue (inet_csk_listen_stop), from the
            // listener's own address, before close returns. Those resets
            // are this call's.
            (Some(local), None) => self
                .held
                .drain(..)
                .partition(|h| h.src == local && h.drained_at == now && h.seg.has_flag("RST")),
            _ => return Vec::new(),
        };
        self.held = rest;
        let Some(local) = local else {
            return Vec::new();
        };
        mine.sort_by_key(|h| h.seg.n);
        mine.into_iter()
            .map(|h| {
                let mut s = h.seg;
                s.direction = if h.src == local {
                    Direction::Out
                } else {
                    Direction::In
                };
                s.late = h.drained_at < now;
                s
            })
            .collect()
    }

    /// Frames of ours that no event has taken (yet).
    #[must_use]
    pub fn unattached(&self) -> usize {
        self.held.len()
    }

    /// Take the frames no event took: they arrived after the last event of
    /// their connection. Their direction is given from their sender's side.
    pub fn take_unattached(&mut self) -> Vec<Segment> {
        // Frames whose connection never became known are held under their
        // own endpoints, so they are reported too.
        let waiting: Vec<Unclaimed> = self.unclaimed.drain(..).collect();
        for u in waiting {
            if let Some((a, b)) = decode(&u.frame.data).endpoints() {
                self.hold(u.frame, pair(a, b), u.drained_at);
            }
        }
        let mut held: Vec<Held> = self.held.drain(..).collect();
        held.sort_by_key(|h| h.seg.n);
        held.into_iter()
            .map(|h| {
                let mut s = h.seg;
                s.direction = Direction::Out;
                s.late = true;
                s
            })
            .collect()
    }

    /// Whether some TCP connection has begun its teardown (a FIN was seen)
    /// but its last packet (the ACK of the second FIN, or a reset) has not
    /// been captured yet.
    #[must_use]
    pub fn teardown_pending(&self) -> bool {
        self.teardown
            .values()
            .any(|t| !t.fins.is_empty() && !t.done)
    }

    /// `addr` as our events name it: a socket bound to the wildcard address
    /// (an unbound UDP sender reports `0.0.0.0:port`) sends from a real
    /// address with the same port.
    fn canon(&self, addr: SocketAddr) -> SocketAddr {
        if self.names.contains_key(&addr) {
            return addr;
        }
        let wild = SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), addr.port());
        if self.names.contains_key(&wild) {
            wild
        } else {
            addr
        }
    }

    fn classify(&self, frame: &Frame) -> Class {
        let d = decode(&frame.data);
        let ends = match &d.transport {
            Some(Transport::Icmp(i)) => i.about,
            _ => d.endpoints(),
        };
        let Some((a, b)) = ends else {
            return Class::NotOurs;
        };
        let (a, b) = (self.canon(a), self.canon(b));
        let p = pair(a, b);
        if self.pairs.contains(&p) {
            Class::Ours(p)
        } else if self.ports.contains(&a.port()) || self.ports.contains(&b.port()) {
            Class::Maybe
        } else {
            Class::NotOurs
        }
    }

    /// Give a frame of ours its number in the capture (and the pcap), or
    /// `false` once `MAX_KEPT` frames are kept.
    fn number(&mut self, frame: &mut Frame) -> bool {
        if self.next_n > MAX_KEPT {
            self.not_kept += 1;
            return false;
        }
        frame.n = self.next_n;
        self.next_n += 1;
        true
    }

    /// Hold a numbered frame of connection `p` as a segment, until an event
    /// of that connection takes it.
    fn hold(&mut self, frame: Frame, p: Pair, drained_at: u64) {
        let _ = self.held_segment(frame, p, drained_at);
    }

    fn held_segment(&mut self, frame: Frame, p: Pair, drained_at: u64) -> Option<()> {
        let d = decode(&frame.data);
        let ip = d.ip.as_ref()?;
        let t_us = u64::try_from(frame.time.saturating_sub(self.start_wall).as_micros())
            .unwrap_or(u64::MAX);
        // The sending socket is `from`'s end of the pair, the receiving one
        // `to`'s: looked up by the connection first, then by address alone
        // (a listener, an unconnected UDP socket).
        let name = |a: &SocketAddr, other: &SocketAddr| {
            self.conn_names
                .get(&(*a, *other))
                .or_else(|| self.names.get(a))
                .cloned()
        };
        let mut seg = Segment {
            n: frame.n,
            t_us,
            direction: Direction::Out,
            from: None,
            to: None,
            src: ip.src.to_string(),
            dst: ip.dst.to_string(),
            proto: WireProto::Icmp,
            flags: Vec::new(),
            seq: None,
            ack: None,
            window: None,
            len: d.payload_len(),
            udp_len: None,
            late: false,
            frame: Frame::default(),
        };
        // The addresses as on the wire, for display.
        if let Some((s, dst)) = d.endpoints() {
            seg.src = s.to_string();
            seg.dst = dst.to_string();
        }
        // As our events name them, for matching.
        let ends = d.endpoints().map(|(s, d)| (self.canon(s), self.canon(d)));
        let src = match (&d.transport, ends) {
            (Some(Transport::Tcp(t)), Some((s, dst))) => {
                let td = self.teardown.entry(p).or_default();
                // Over at a reset, or at the ACK that follows both FINs.
                if t.rst || (td.fins.len() == 2 && !t.fin && t.ack_flag) {
                    td.done = true;
                }
                if t.fin {
                    td.fins.insert(s);
                }
                if t.syn {
                    self.isn.insert((p, s), t.seq);
                }
                let base = *self.isn.entry((p, s)).or_insert(t.seq);
                seg.seq = Some(t.seq.wrapping_sub(base));
                if t.ack_flag {
                    let other = self.isn.get(&(p, dst)).copied().unwrap_or(0);
                    seg.ack = Some(t.ack.wrapping_sub(other));
                }
                seg.window = Some(t.window);
                seg.flags = t.flags();
                seg.proto = WireProto::Tcp;
                seg.from = name(&s, &dst);
                seg.to = name(&dst, &s);
                s
            }
            (Some(Transport::Udp(u)), Some((s, dst))) => {
                seg.proto = WireProto::Udp;
                seg.udp_len = Some(u.length);
                seg.from = name(&s, &dst);
                seg.to = name(&dst, &s);
                s
            }
            (Some(Transport::Icmp(i)), _) => {
                // The error travels back to the datagram's sender, from the
                // side it was sent to.
                let (orig_src, orig_dst) = i.about?;
                let (orig_src, orig_dst) = (self.canon(orig_src), self.canon(orig_dst));
                seg.from = name(&orig_dst, &orig_src);
                seg.to = name(&orig_src, &orig_dst);
                orig_dst
            }
            _ => return None,
        };
        seg.frame = frame;
        self.held.push(Held {
            pair: p,
            seg,
            src,
            drained_at,
        });
        Some(())
    }
}

/// The FINs seen on one connection, and whether its last packet was.
#[derive(Default)]
struct Teardown {
    fins: HashSet<SocketAddr>,
    done: bool,
}

enum Class {
    Ours(Pair),
    Maybe,
    NotOurs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn tcp(src: &str, dst: &str, seq: u32, ack: Option<u32>, syn: bool, fin: bool) -> Frame {
        let (s, d) = (a(src), a(dst));
        let ip = |x: SocketAddr| match x {
            SocketAddr::V4(v) => v.ip().octets(),
            SocketAddr::V6(_) => unreachable!(),
        };
        let mut b = PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4(ip(s), ip(d), 64)
            .tcp(s.port(), d.port(), seq, 1000);
        if syn {
            b = b.syn();
        }
        if fin {
            b = b.fin();
        }
        if let Some(n) = ack {
            b = b.ack(n);
        }
        let mut data = Vec::new();
        b.write(&mut data, b"").unwrap();
        Frame {
            n: 0,
            time: Duration::from_secs(10),
            orig_len: data.len() as u32,
            data,
        }
    }

    const C: &str = "127.0.0.1:40000";
    const S: &str = "127.0.0.1:8080";

    #[test]
    fn handshake_is_attached_to_the_connect_with_relative_numbers() {
        let mut t = Tracker::new(Duration::from_secs(9));
        t.learn("server", Some(a(S)), None);
        t.learn("client", Some(a(C)), Some(a(S)));
        t.learn("server", Some(a(S)), Some(a(C)));
        let kept = t.take(vec![
            tcp(C, S, 5000, None, true, false),
            tcp(S, C, 9000, Some(5001), true, false),
            tcp(C, S, 5001, Some(9001), false, false),
            tcp("127.0.0.1:1", "127.0.0.1:2", 1, None, true, false),
        ]);
        assert_eq!(kept.iter().map(|f| f.n).collect::<Vec<_>>(), [1, 2, 3]);
        let segs = t.attach(Some(a(C)), Some(a(S)));
        let labels: Vec<String> = segs.iter().map(Segment::label).collect();
        assert_eq!(labels, ["SYN", "SYN-ACK", "ACK"]);
        assert_eq!(segs[0].direction, Direction::Out);
        assert_eq!(segs[1].direction, Direction::In);
        assert_eq!((segs[1].seq, segs[1].ack), (Some(0), Some(1)));
        assert_eq!((segs[2].seq, segs[2].ack), (Some(1), Some(1)));
        assert_eq!(segs[1].from.as_deref(), Some("server"));
        assert_eq!(segs[0].t_us, 1_000_000);
        assert!(segs.iter().all(|s| !s.late));
        assert!(t.attach(Some(a(C)), Some(a(S))).is_empty(), "taken once");
    }

    /// Two connections accepted on one listener and handed to two threads
    /// share its address: each one's packets are named by the pair, and a
    /// new client's SYN still goes to the listener's owner.
    #[test]
    fn connections_that_share_a_listeners_port_are_told_apart_by_their_pair() {
        const C2: &str = "127.0.0.1:40002";
        const C3: &str = "127.0.0.1:40003";
        let mut t = Tracker::new(Duration::from_secs(9));
        t.learn("server", Some(a(S)), None);
        t.learn("client1", Some(a(C)), Some(a(S)));
        t.learn("worker1", Some(a(S)), Some(a(C)));
        t.learn("client2", Some(a(C2)), Some(a(S)));
        t.learn("worker2", Some(a(S)), Some(a(C2)));
        t.take(vec![
            tcp(S, C, 9000, Some(5001), false, false),
            tcp(C2, S, 7000, Some(3001), false, false),
        ]);
        let to_c1 = t.attach(Some(a(C)), Some(a(S)));
        assert_eq!(to_c1[0].from.as_deref(), Some("worker1"));
        assert_eq!(to_c1[0].to.as_deref(), Some("client1"));
        let from_c2 = t.attach(Some(a(C2)), Some(a(S)));
        assert_eq!(from_c2[0].to.as_deref(), Some("worker2"));
        t.learn("client3", Some(a(C3)), Some(a(S)));
        t.take(vec![tcp(C3, S, 1, None, true, false)]);
        let syn = t.attach(Some(a(C3)), Some(a(S)));
        assert_eq!(syn[0].to.as_deref(), Some("server"), "{syn:?}");
    }

    #[test]
    fn another_connections_frames_wait_for_its_next_event_and_are_late() {
        let mut t = Tracker::new(Duration::ZERO);
        t.learn("client", Some(a(C)), Some(a(S)));
        t.take(vec![tcp(C, S, 7, Some(1), false, true)]);
        assert!(t.attach(Some(a("127.0.0.1:1")), Some(a(S))).is_empty());
        assert_eq!(t.unattached(), 1);
        t.take(vec![]);
        let segs = t.attach(Some(a(S)), Some(a(C)));
        assert_eq!(segs.len(), 1);
        assert!(segs[0].late && segs[0].has_flag("FIN"));
        assert_eq!(segs[0].direction, Direction::In);
    }

    #[test]
    fn a_frame_to_our_port_waits_until_its_connection_is_known() {
        let mut t = Tracker::new(Duration::ZERO);
        t.learn("server", Some(a(S)), None);
        // Numbered at once (capture order), attached once its connection is known.
        assert_eq!(t.take(vec![tcp(C, S, 1, None, true, false)]).len(), 1);
        assert!(t.attach(Some(a(C)), Some(a(S))).is_empty());
        t.learn("client", Some(a(C)), Some(a(S)));
        assert!(t.take(vec![]).is_empty(), "nothing new to number");
        let segs = t.attach(Some(a(C)), Some(a(S)));
        assert_eq!(segs.len(), 1);
        assert_eq!((segs[0].n, segs[0].from.as_deref()), (1, Some("client")));
    }

    /// backlog.toml: client 4's SYN waits for its connection while client
    /// 3's handshake, captured later, is claimed first. Numbers (and so the
    /// pcap) still follow the capture.
    #[test]
    fn frames_are_numbered_in_capture_order_whichever_connection_is_known_first() {
        const C2: &str = "127.0.0.1:40002";
        let mut t = Tracker::new(Duration::ZERO);
        t.learn("server", Some(a(S)), None);
        let first = t.take(vec![tcp(C2, S, 1, None, true, false)]);
        t.learn("client", Some(a(C)), Some(a(S)));
        let second = t.take(vec![tcp(C, S, 5, None, true, false)]);
        assert_eq!((first[0].n, second[0].n), (1, 2));
        assert_eq!(t.attach(Some(a(C)), Some(a(S)))[0].n, 2);
        t.learn("client2", Some(a(C2)), Some(a(S)));
        t.take(vec![]);
        assert_eq!(t.attach(Some(a(C2)), Some(a(S)))[0].n, 1);
    }

    /// refused.toml step 13: the listener's close resets the connection
    /// still in its accept queue; that RST is the close's.
    #[test]
    fn a_listeners_close_carries_the_resets_of_its_queued_connections() {
        let mut t = Tracker::new(Duration::ZERO);
        t.learn("server", Some(a(S)), None);
        t.learn("client", Some(a(C)), Some(a(S)));
        t.take(vec![tcp(C, S, 1, None, true, false)]);
        assert_eq!(t.attach(Some(a(C)), Some(a(S))).len(), 1);
        let mut data = Vec::new();
        PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(8080, 40000, 9, 0)
            .rst()
            .write(&mut data, b"")
            .unwrap();
        let rst = Frame {
            orig_len: data.len() as u32,
            data,
            ..Frame::default()
        };
        t.take(vec![rst]);
        let segs = t.attach(Some(a(S)), None);
        assert_eq!(segs.len(), 1);
        assert!(segs[0].has_flag("RST") && !segs[0].late);
        assert_eq!(segs[0].direction, Direction::Out);
        assert_eq!(t.unattached(), 0);
    }

    #[test]
    fn a_datagram_from_a_wildcard_bound_sender_is_attached_to_its_sendto() {
        let mut t = Tracker::new(Duration::ZERO);
        let sender = a("0.0.0.0:36000");
        t.learn("receiver", Some(a(S)), None);
        t.learn("sender", Some(sender), Some(a(S)));
        let mut data = Vec::new();
        PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .udp(36000, 8080)
            .write(&mut data, b"hi")
            .unwrap();
        let f = Frame {
            orig_len: data.len() as u32,
            data,
            ..Frame::default()
        };
        assert_eq!(t.take(vec![f]).len(), 1);
        let segs = t.attach(Some(sender), Some(a(S)));
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].direction, Direction::Out);
        assert_eq!(segs[0].src, "127.0.0.1:36000", "shown as on the wire");
        assert_eq!(
            (segs[0].from.as_deref(), segs[0].to.as_deref()),
            (Some("sender"), Some("receiver"))
        );
        assert_eq!((segs[0].len, segs[0].udp_len), (2, Some(10)));
    }

    #[test]
    fn teardown_is_pending_from_the_first_fin_until_the_last_ack() {
        let mut t = Tracker::new(Duration::ZERO);
        t.learn("client", Some(a(C)), Some(a(S)));
        t.take(vec![tcp(C, S, 1, None, true, false)]);
        assert!(!t.teardown_pending(), "no FIN yet");
        t.take(vec![tcp(C, S, 2, Some(1), false, true)]);
        assert!(t.teardown_pending());
        t.take(vec![tcp(S, C, 1, Some(3), false, true)]);
        assert!(t.teardown_pending(), "both FINs, last ACK missing");
        t.take(vec![tcp(C, S, 3, Some(2), false, false)]);
        assert!(!t.teardown_pending());
        let left = t.take_unattached();
        assert_eq!(left.len(), 4);
        assert!(left.iter().all(|s| s.late));
    }
}
