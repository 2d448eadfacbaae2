//! Property tests for the packet decoder: any bytes that arrive on `lo` (or
//! a corrupted capture) decode as far as they go and never panic, and what
//! it returns is what a decoder must guarantee:
//!
//! - the layers it found tile the frame in order (link, network, transport,
//!   payload), each starting where the one before ends, none past the end;
//! - every value it reports is the bytes at that layer's place, read in
//!   network byte order (it never makes a value up or reads the wrong
//!   offset), and `layer_of` agrees with the ranges;
//! - an intact frame round-trips: built again from the decoded values and
//!   payload, it is the same bytes;
//! - the layer map the hex dump colours by covers exactly the frame.

use etherparse::PacketBuilder;
use proptest::prelude::*;
use sockscope_core::wire::decode::{Decoded, Layer, Transport, decode};
use sockscope_core::wire::describe::{fields, hex_rows};

/// A real-looking frame: the zero-MAC Ethernet header lo uses, IPv4, TCP
/// with options, and a payload.
fn tcp_frame(payload: &[u8]) -> Vec<u8> {
    let builder = PacketBuilder::ethernet2([0; 6], [0; 6])
        .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .tcp(40000, 8080, 12345, 65495)
        .syn()
        .options(&[
            etherparse::TcpOptionElement::MaximumSegmentSize(65495),
            etherparse::TcpOptionElement::SelectiveAcknowledgementPermitted,
            etherparse::TcpOptionElement::WindowScale(7),
        ])
        .expect("options fit");
    let mut out = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut out, payload).expect("write frame");
    out
}

fn udp_frame(payload: &[u8]) -> Vec<u8> {
    let builder = PacketBuilder::ethernet2([0; 6], [0; 6])
        .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .udp(5353, 9999);
    let mut out = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut out, payload).expect("write frame");
    out
}

fn be16(frame: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([frame[at], frame[at + 1]])
}

/// A TCP or UDP header's two ports, source first.
fn ports_at(frame: &[u8], at: usize) -> (u16, u16) {
    (be16(frame, at), be16(frame, at + 2))
}

fn be32(frame: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(frame[at..at + 4].try_into().unwrap())
}

/// The layers tile the frame, and each reported value is the bytes at its
/// place.
fn check_layout(frame: &[u8], d: &Decoded) {
    let mut at = 0;
    if let Some(l) = &d.link {
        assert_eq!(l.bytes, 0..14, "lo's link header is 14 bytes at 0");
        assert_eq!(l.dst_mac[..], frame[0..6]);
        assert_eq!(l.src_mac[..], frame[6..12]);
        assert_eq!(l.ether_type, be16(frame, 12));
        at = l.bytes.end;
    }
    if let Some(ip) = &d.ip {
        let b = ip.bytes.clone();
        assert_eq!(b.start, at, "IP starts where the link header ends");
        assert!(b.end <= frame.len() && b.len() == ip.header_len);
        assert_eq!(ip.header_len, usize::from(frame[b.start] & 0x0f) * 4);
        assert_eq!(ip.total_len, be16(frame, b.start + 2));
        assert_eq!(ip.id, be16(frame, b.start + 4));
        assert_eq!(ip.ttl, frame[b.start + 8]);
        assert_eq!(ip.protocol, frame[b.start + 9]);
        assert_eq!(ip.checksum, be16(frame, b.start + 10));
        assert_eq!(ip.src.octets()[..], frame[b.start + 12..b.start + 16]);
        assert_eq!(ip.dst.octets()[..], frame[b.start + 16..b.start + 20]);
        at = b.end;
    }
    if let Some(t) = &d.transport {
        let b = t.bytes();
        assert!(d.ip.is_some(), "no transport without its IP header");
        assert_eq!(b.start, at, "transport starts where IP ends");
        assert!(b.end <= frame.len());
        match t {
            Transport::Tcp(t) => {
                assert_eq!((t.src_port, t.dst_port), ports_at(frame, b.start));
                assert_eq!(
                    (t.seq, t.ack),
                    (be32(frame, b.start + 4), be32(frame, b.start + 8))
                );
                assert_eq!(t.header_len, usize::from(frame[b.start + 12] >> 4) * 4);
                assert_eq!(t.header_len, b.len());
                let flags = frame[b.start + 13];
                assert_eq!(
                    [t.fin, t.syn, t.rst, t.psh, t.ack_flag, t.urg],
                    [0, 1, 2, 3, 4, 5].map(|bit| flags & (1 << bit) != 0)
                );
                assert_eq!(t.window, be16(frame, b.start + 14));
                assert_eq!(t.checksum, be16(frame, b.start + 16));
            }
            Transport::Udp(u) => {
                assert_eq!(b.len(), 8, "the UDP header is 8 bytes");
                assert_eq!((u.src_port, u.dst_port), ports_at(frame, b.start));
                assert_eq!(
                    (u.length, u.checksum),
                    (be16(frame, b.start + 4), be16(frame, b.start + 6))
                );
            }
            Transport::Icmp(i) => {
                assert_eq!((i.icmp_type, i.code), (frame[b.start], frame[b.start + 1]));
                assert_eq!(i.checksum, be16(frame, b.start + 2));
            }
        }
        at = b.end;
    }
    assert_eq!(
        d.payload.start, at,
        "the payload starts after the last header"
    );
    assert!(
        d.payload.end <= frame.len(),
        "{:?} of {}",
        d.payload,
        frame.len()
    );
    for offset in 0..frame.len() {
        let expected = if d.link.as_ref().is_some_and(|l| l.bytes.contains(&offset)) {
            Layer::Link
        } else if d.ip.as_ref().is_some_and(|i| i.bytes.contains(&offset)) {
            Layer::Internet
        } else if d
            .transport
            .as_ref()
            .is_some_and(|t| t.bytes().contains(&offset))
        {
            Layer::Transport
        } else {
            Layer::Application
        };
        assert_eq!(d.layer_of(offset), expected, "byte {offset}");
    }
}

/// Everything the packet pane does with a frame.
fn exercise(frame: &[u8]) {
    let d = decode(frame);
    check_layout(frame, &d);
    if let (Some((src, dst)), Some(ip)) = (d.endpoints(), &d.ip) {
        assert_eq!(
            (src.ip(), dst.ip()),
            (std::net::IpAddr::V4(ip.src), std::net::IpAddr::V4(ip.dst))
        );
    }
    assert_eq!(d.payload_len(), d.payload.len());
    // Every field the pane lists names bytes inside the frame.
    for f in fields(frame, None) {
        assert!(!f.name.is_empty(), "{f:?}");
    }
    let rows = hex_rows(frame, 16);
    let covered: usize = rows.iter().map(|r| r.bytes.len()).sum();
    assert_eq!(covered, frame.len(), "the hex dump shows every byte once");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(frame in proptest::collection::vec(any::<u8>(), 0..200)) {
        exercise(&frame);
    }

    #[test]
    fn a_real_frame_with_bytes_changed_never_panics(
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        udp in any::<bool>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let mut frame = if udp { udp_frame(&payload) } else { tcp_frame(&payload) };
        for (pos, byte) in edits {
            let i = pos % frame.len();
            frame[i] = byte;
        }
        exercise(&frame);
    }

    #[test]
    fn a_real_frame_cut_short_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..64), cut in any::<usize>()) {
        let frame = tcp_frame(&payload);
        let len = cut % (frame.len() + 1);
        exercise(&frame[..len]);
    }
}

/// Build a frame again from what the decoder read: the same bytes.
fn rebuilt(frame: &[u8]) -> Vec<u8> {
    let d = decode(frame);
    let (link, ip) = (d.link.unwrap(), d.ip.unwrap());
    let ip_b = PacketBuilder::ethernet2(link.src_mac, link.dst_mac).ipv4(
        ip.src.octets(),
        ip.dst.octets(),
        ip.ttl,
    );
    let payload = &frame[d.payload.clone()];
    let mut out = Vec::new();
    match d.transport.unwrap() {
        Transport::Tcp(t) => {
            let mut b = ip_b.tcp(t.src_port, t.dst_port, t.seq, t.window);
            if t.syn {
                b = b.syn();
            }
            if t.fin {
                b = b.fin();
            }
            if t.rst {
                b = b.rst();
            }
            if t.psh {
                b = b.psh();
            }
            if t.ack_flag {
                b = b.ack(t.ack);
            }
            // The options as the decoder named them, mapped back.
            let opts: Vec<_> = t
                .options
                .iter()
                .map(|o| match o.split_once(' ') {
                    Some(("MSS", m)) => {
                        etherparse::TcpOptionElement::MaximumSegmentSize(m.parse().unwrap())
                    }
                    Some(("window", rest)) => etherparse::TcpOptionElement::WindowScale(
                        rest.trim_start_matches("scale ").parse().unwrap(),
                    ),
                    None if o == "NOP" => etherparse::TcpOptionElement::Noop,
                    _ if o == "SACK permitted" => {
                        etherparse::TcpOptionElement::SelectiveAcknowledgementPermitted
                    }
                    _ => panic!("option {o} not used by these frames"),
                })
                .collect();
            let b = b.options(&opts).unwrap();
            b.write(&mut out, payload).unwrap();
        }
        Transport::Udp(u) => {
            ip_b.udp(u.src_port, u.dst_port)
                .write(&mut out, payload)
                .unwrap();
        }
        Transport::Icmp(_) => panic!("not built here"),
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn an_intact_frame_round_trips(
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        udp in any::<bool>(),
    ) {
        let frame = if udp { udp_frame(&payload) } else { tcp_frame(&payload) };
        prop_assert_eq!(&frame[decode(&frame).payload], &payload[..]);
        prop_assert_eq!(rebuilt(&frame), frame);
    }
}

#[test]
fn an_intact_frame_decodes_its_ports_and_payload() {
    let frame = tcp_frame(b"hello");
    let d = decode(&frame);
    let (src, dst) = d.endpoints().expect("endpoints");
    assert_eq!((src.port(), dst.port()), (40000, 8080));
    assert_eq!(d.payload_len(), 5);
}
