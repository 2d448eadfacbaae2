//! A captured packet as an event carries it: who sent it to whom, its flags,
//! relative sequence numbers, window and payload length. These are the
//! `segments` of `trace --format json`, and the arrows the TUI draws between
//! lanes when capture runs. Field names are part of the JSON contract.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One frame read from `lo`, exactly as the kernel handed it over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// Position in this run's capture, from 1; the same number tcpdump and
    /// Wireshark give it in the exported pcap.
    pub n: u64,
    /// When the kernel received it, since the Unix epoch.
    pub time: Duration,
    /// The bytes read (at most the capture buffer; see `orig_len`).
    pub data: Vec<u8>,
    /// The frame's full length on the wire.
    pub orig_len: u32,
}

/// Which way a segment went, seen from the socket of the call it is attached
/// to: `out` was sent by that socket, `in` was sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Out,
    In,
}

/// Transport protocol of a captured packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireProto {
    Tcp,
    Udp,
    /// An ICMP error about one of our datagrams (port unreachable).
    Icmp,
}

/// A captured packet attributed to one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Frame number in the capture and in the exported pcap, from 1.
    pub n: u64,
    /// Microseconds from the start of the lesson to the kernel's receive
    /// time of the frame.
    pub t_us: u64,
    pub direction: Direction,
    /// The actor whose socket sent it, and the one it was sent to, when they
    /// are sockets of this lesson.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Source and destination, address:port (for ICMP, the addresses).
    pub src: String,
    pub dst: String,
    pub proto: WireProto,
    /// TCP flags set, in tcpdump's order (`["SYN", "ACK"]`); empty for UDP.
    pub flags: Vec<String>,
    /// Sequence number relative to the sender's initial one (its SYN is 0),
    /// as Wireshark shows it. `null` for UDP.
    pub seq: Option<u32>,
    /// Acknowledgment number relative to the receiver's initial sequence
    /// number; `null` when the ACK flag is off, and for UDP.
    pub ack: Option<u32>,
    /// The receive window advertised (raw header value). `null` for UDP.
    pub window: Option<u16>,
    /// Payload bytes (after the TCP or UDP header).
    pub len: usize,
    /// For UDP: the UDP length field (header + payload).
    pub udp_len: Option<u16>,
    /// The packet was read from the capture at an earlier call than this one
    /// (it arrived after that call's event was produced).
    pub late: bool,
    /// The frame itself, for the packet pane and pcap export (not in JSON).
    #[serde(skip)]
    pub frame: Frame,
}

impl Segment {
    /// The flags as one label, as a lane arrow shows it: `SYN`, `SYN-ACK`,
    /// `PSH-ACK`, `FIN-ACK`, `RST`; `UDP` for a datagram, `ICMP` for ICMP.
    #[must_use]
    pub fn label(&self) -> String {
        match self.proto {
            WireProto::Udp => "UDP".into(),
            WireProto::Icmp => "ICMP".into(),
            WireProto::Tcp => {
                // Wireshark order: the defining flag first, ACK last.
                let order = ["SYN", "FIN", "RST", "PSH", "URG", "ACK"];
                let names: Vec<&str> = order
                    .into_iter()
                    .filter(|f| self.flags.iter().any(|g| g == f))
                    .collect();
                names.join("-")
            }
        }
    }

    #[must_use]
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// One line for an arrow or a list: `SYN-ACK seq=0 ack=1 win=65483 len=0`.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut s = self.label();
        if let Some(seq) = self.seq {
            s.push_str(&format!(" seq={seq}"));
        }
        if let Some(ack) = self.ack {
            s.push_str(&format!(" ack={ack}"));
        }
        if let Some(w) = self.window {
            s.push_str(&format!(" win={w}"));
        }
        s.push_str(&format!(" len={}", self.len));
        s
    }
}
