//! Property tests for the packet decoder: any bytes that arrive on `lo` (or
//! a corrupted capture) decode as far as they go and never panic, and the
//! layer map the hex dump colours by always covers exactly the frame.

use etherparse::PacketBuilder;
use proptest::prelude::*;
use sockscope_core::wire::decode::decode;
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

/// Everything the packet pane does with a frame.
fn exercise(frame: &[u8]) {
    let d = decode(frame);
    let _ = d.endpoints();
    let _ = d.payload_len();
    for offset in 0..frame.len() {
        let _ = d.layer_of(offset);
    }
    let _ = fields(frame, None);
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

#[test]
fn an_intact_frame_decodes_its_ports_and_payload() {
    let frame = tcp_frame(b"hello");
    let d = decode(&frame);
    let (src, dst) = d.endpoints().expect("endpoints");
    assert_eq!((src.port(), dst.port()), (40000, 8080));
    assert_eq!(d.payload_len(), 5);
}
