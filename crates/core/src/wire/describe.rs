//! A captured packet written out for people: the packet pane's lines, one
//! group per layer, and a hex dump whose every byte knows its layer.
//!
//! No terminal code: the TUI colours each [`Field`] and each hex byte by its
//! [`Layer`], the same colour the layer diagram uses; tests read the text.

use super::decode::{Decoded, ETHERTYPE_IPV4, Layer, Transport, decode};
use super::segment::Segment;

/// One line of the packet pane: a field of one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub layer: Layer,
    pub name: String,
    pub value: String,
}

/// The heading of each layer's group, named as the layer diagram names the
/// layer, with what this packet has there.
#[must_use]
pub fn layer_heading(layer: Layer, d: &Decoded) -> String {
    match layer {
        Layer::Link => "Network interface: loopback pseudo-Ethernet header, 14 bytes".into(),
        Layer::Internet => match &d.ip {
            Some(ip) => format!("Network: IPv4 header, {} bytes", ip.header_len),
            None => "Network: not IPv4".into(),
        },
        Layer::Transport => match &d.transport {
            Some(Transport::Tcp(t)) => format!("Transport: TCP header, {} bytes", t.header_len),
            Some(Transport::Udp(_)) => "Transport: UDP header, 8 bytes".into(),
            Some(Transport::Icmp(_)) => "Transport: ICMP message".into(),
            None => "Transport: not decoded".into(),
        },
        Layer::Application => format!("Application: payload, {} bytes", d.payload_len()),
    }
}

/// Where each layer sits in the frame, as text (`bytes 0-13`), so the
/// hex dump's colours are never the only way to tell the layers apart.
#[must_use]
pub fn layer_span(layer: Layer, d: &Decoded) -> Option<String> {
    let r = match layer {
        Layer::Link => d.link.as_ref()?.bytes.clone(),
        Layer::Internet => d.ip.as_ref()?.bytes.clone(),
        Layer::Transport => d.transport.as_ref()?.bytes(),
        Layer::Application => d.payload.clone(),
    };
    if r.is_empty() {
        return None;
    }
    Some(format!("bytes {}-{}", r.start, r.end - 1))
}

fn mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A port with its two bytes as they travel (network byte order).
fn port(p: u16) -> String {
    let [hi, lo] = p.to_be_bytes();
    format!("{p}  (bytes {hi:02x} {lo:02x}, big-endian)")
}

fn protocol_name(n: u8) -> &'static str {
    match n {
        1 => "ICMP",
        6 => "TCP",
        17 => "UDP",
        _ => "other",
    }
}

/// Escape a payload for one line: the same escaping as event previews, so
/// no byte a peer sent reaches the terminal raw.
pub use crate::vocab::preview::escape;

/// Every field of the packet, link layer first. `seg` adds the relative
/// sequence numbers the capture computed for this connection.
#[must_use]
pub fn fields(frame: &[u8], seg: Option<&Segment>) -> Vec<Field> {
    let d = decode(frame);
    let mut out = Vec::new();
    let mut add = |layer, name: &str, value: String| {
        out.push(Field {
            layer,
            name: name.to_string(),
            value,
        });
    };
    if let Some(l) = &d.link {
        add(Layer::Link, "destination MAC", mac(l.dst_mac));
        add(Layer::Link, "source MAC", mac(l.src_mac));
        let what = if l.ether_type == ETHERTYPE_IPV4 {
            "IPv4"
        } else {
            "not IPv4"
        };
        add(
            Layer::Link,
            "EtherType",
            format!("0x{:04x} ({what})", l.ether_type),
        );
    }
    if let Some(ip) = &d.ip {
        add(Layer::Internet, "source", ip.src.to_string());
        add(Layer::Internet, "destination", ip.dst.to_string());
        add(Layer::Internet, "TTL", ip.ttl.to_string());
        add(
            Layer::Internet,
            "total length",
            format!("{} bytes (IP header + everything after it)", ip.total_len),
        );
        add(
            Layer::Internet,
            "protocol",
            format!("{} ({})", ip.protocol, protocol_name(ip.protocol)),
        );
        add(
            Layer::Internet,
            "header checksum",
            format!(
                "0x{:04x} ({})",
                ip.checksum,
                if ip.checksum_ok {
                    "matches the header"
                } else {
                    "does not match the header"
                }
            ),
        );
        add(
            Layer::Internet,
            "identification",
            format!(
                "{}{}",
                ip.id,
                if ip.dont_fragment {
                    ", don't fragment"
                } else {
                    ""
                }
            ),
        );
    }
    match &d.transport {
        Some(Transport::Tcp(t)) => {
            add(Layer::Transport, "source port", port(t.src_port));
            add(Layer::Transport, "destination port", port(t.dst_port));
            add(Layer::Transport, "flags", t.flags().join(" "));
            let rel = |r: Option<u32>| r.map(|v| format!("{v} relative, ")).unwrap_or_default();
            add(
                Layer::Transport,
                "sequence number",
                format!("{}{} raw", rel(seg.and_then(|s| s.seq)), t.seq),
            );
            if t.ack_flag {
                add(
                    Layer::Transport,
                    "acknowledgment",
                    format!("{}{} raw", rel(seg.and_then(|s| s.ack)), t.ack),
                );
            }
            add(Layer::Transport, "window", t.window.to_string());
            add(
                Layer::Transport,
                "options",
                if t.options.is_empty() {
                    "none".into()
                } else {
                    t.options.join(", ")
                },
            );
            add(
                Layer::Transport,
                "checksum",
                format!("0x{:04x}", t.checksum),
            );
        }
        Some(Transport::Udp(u)) => {
            add(Layer::Transport, "source port", port(u.src_port));
            add(Layer::Transport, "destination port", port(u.dst_port));
            add(
                Layer::Transport,
                "length",
                format!("{} bytes (8-byte header + payload)", u.length),
            );
            add(
                Layer::Transport,
                "checksum",
                format!("0x{:04x}", u.checksum),
            );
        }
        Some(Transport::Icmp(i)) => {
            add(
                Layer::Transport,
                "type / code",
                format!(
                    "{} / {}{}",
                    i.icmp_type,
                    i.code,
                    if (i.icmp_type, i.code) == (3, 3) {
                        " (port unreachable)"
                    } else {
                        ""
                    }
                ),
            );
            if let Some((s, dst)) = i.about {
                add(
                    Layer::Transport,
                    "about",
                    format!("the datagram {s} → {dst}"),
                );
            }
        }
        None => {}
    }
    let payload = &frame[d.payload.clone()];
    add(
        Layer::Application,
        "payload",
        if payload.is_empty() {
            "none".into()
        } else {
            format!("\"{}\"", escape(payload, 64))
        },
    );
    out
}

/// The packet in one line per layer (two for TCP options), for a small
/// screen: each line begins with the layer's name as the diagram shows it.
#[must_use]
pub fn summary(frame: &[u8], seg: Option<&Segment>) -> Vec<(Layer, String)> {
    let d = decode(frame);
    let mut out = Vec::new();
    if let Some(l) = &d.link {
        out.push((
            Layer::Link,
            format!(
                "Network interface  {} → {}  type 0x{:04x}",
                mac(l.src_mac),
                mac(l.dst_mac),
                l.ether_type
            ),
        ));
    }
    if let Some(ip) = &d.ip {
        out.push((
            Layer::Internet,
            format!(
                "Network  IPv4 {} → {}  TTL {}  length {}  protocol {} ({})  checksum 0x{:04x} {}",
                ip.src,
                ip.dst,
                ip.ttl,
                ip.total_len,
                ip.protocol,
                protocol_name(ip.protocol),
                ip.checksum,
                if ip.checksum_ok { "ok" } else { "bad" }
            ),
        ));
    }
    let ports = |a: u16, b: u16| {
        let [a1, a0] = a.to_be_bytes();
        let [b1, b0] = b.to_be_bytes();
        format!("{a} ({a1:02x} {a0:02x}) → {b} ({b1:02x} {b0:02x})")
    };
    match &d.transport {
        Some(Transport::Tcp(t)) => {
            let seq = seg.and_then(|s| s.seq).unwrap_or(t.seq);
            let mut line = format!(
                "Transport  TCP {}  {}  seq {seq}",
                ports(t.src_port, t.dst_port),
                t.flags().join(" ")
            );
            if t.ack_flag {
                let ack = seg.and_then(|s| s.ack).unwrap_or(t.ack);
                line.push_str(&format!("  ack {ack}"));
            }
            line.push_str(&format!("  win {}", t.window));
            out.push((Layer::Transport, line));
            if !t.options.is_empty() {
                out.push((
                    Layer::Transport,
                    format!("  options {}", t.options.join(", ")),
                ));
            }
        }
        Some(Transport::Udp(u)) => out.push((
            Layer::Transport,
            format!(
                "Transport  UDP {}  length {}",
                ports(u.src_port, u.dst_port),
                u.length
            ),
        )),
        Some(Transport::Icmp(i)) => out.push((
            Layer::Transport,
            format!("Transport  ICMP type {} code {}", i.icmp_type, i.code),
        )),
        None => {}
    }
    let payload = &frame[d.payload.clone()];
    out.push((
        Layer::Application,
        if payload.is_empty() {
            "Application  no payload".into()
        } else {
            format!(
                "Application  {} bytes \"{}\"",
                payload.len(),
                escape(payload, 48)
            )
        },
    ));
    out
}

/// One row of the hex dump: its offset and its bytes with their layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexRow {
    pub offset: usize,
    pub bytes: Vec<(u8, Layer)>,
}

impl HexRow {
    /// `0010  45 00 …`, without colour.
    #[must_use]
    pub fn text(&self) -> String {
        let hex: Vec<String> = self.bytes.iter().map(|(b, _)| format!("{b:02x}")).collect();
        format!("{:04x}  {}", self.offset, hex.join(" "))
    }
}

/// The frame as hex, `per_row` bytes a row, each byte tagged with its layer.
#[must_use]
pub fn hex_rows(frame: &[u8], per_row: usize) -> Vec<HexRow> {
    let d = decode(frame);
    frame
        .chunks(per_row.max(1))
        .enumerate()
        .map(|(i, chunk)| {
            let offset = i * per_row.max(1);
            HexRow {
                offset,
                bytes: chunk
                    .iter()
                    .enumerate()
                    .map(|(j, &b)| (b, d.layer_of(offset + j)))
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn data_frame() -> Vec<u8> {
        let mut f = Vec::new();
        PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(40727, 8080, 1001, 512)
            .psh()
            .ack(2002)
            .write(&mut f, b"hi\n")
            .unwrap();
        f
    }

    fn value(fields: &[Field], name: &str) -> String {
        fields
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .value
            .clone()
    }

    #[test]
    fn every_layer_has_its_fields() {
        let f = data_frame();
        let fs = fields(&f, None);
        assert_eq!(value(&fs, "source MAC"), "00:00:00:00:00:00");
        assert_eq!(value(&fs, "EtherType"), "0x0800 (IPv4)");
        assert_eq!(value(&fs, "TTL"), "64");
        assert_eq!(value(&fs, "protocol"), "6 (TCP)");
        assert!(value(&fs, "header checksum").contains("matches the header"));
        // 40727 = 0x9f17: high byte first on the wire.
        assert_eq!(
            value(&fs, "source port"),
            "40727  (bytes 9f 17, big-endian)"
        );
        assert_eq!(value(&fs, "flags"), "PSH ACK");
        assert_eq!(value(&fs, "sequence number"), "1001 raw");
        assert_eq!(value(&fs, "payload"), "\"hi\\n\"");
        let layers: Vec<Layer> = fs.iter().map(|f| f.layer).collect();
        assert!(layers.is_sorted_by_key(|l| *l as u8), "grouped by layer");
    }

    #[test]
    fn hex_dump_bytes_carry_their_layer() {
        let f = data_frame();
        let rows = hex_rows(&f, 16);
        assert_eq!(rows.len(), f.len().div_ceil(16));
        assert_eq!(rows[0].bytes[0].1, Layer::Link);
        assert_eq!(rows[0].bytes[14], (0x45, Layer::Internet));
        assert_eq!(rows[2].bytes[2].1, Layer::Transport);
        let last = rows.last().unwrap().bytes.last().unwrap();
        assert_eq!(*last, (b'\n', Layer::Application));
        assert!(rows[1].text().starts_with("0010  "));
        let d = decode(&f);
        assert_eq!(layer_span(Layer::Link, &d).unwrap(), "bytes 0-13");
        assert_eq!(layer_span(Layer::Internet, &d).unwrap(), "bytes 14-33");
        assert_eq!(layer_span(Layer::Transport, &d).unwrap(), "bytes 34-53");
        assert_eq!(layer_span(Layer::Application, &d).unwrap(), "bytes 54-56");
    }

    #[test]
    fn summary_has_one_line_per_layer_with_ports_in_network_byte_order() {
        let f = data_frame();
        let lines = summary(&f, None);
        let layers: Vec<Layer> = lines.iter().map(|(l, _)| *l).collect();
        assert_eq!(
            layers,
            [
                Layer::Link,
                Layer::Internet,
                Layer::Transport,
                Layer::Application
            ]
        );
        assert!(
            lines[2].1.contains("40727 (9f 17) → 8080 (1f 90)"),
            "{}",
            lines[2].1
        );
        assert!(lines[2].1.contains("PSH ACK  seq 1001  ack 2002"));
        assert!(lines[3].1.contains("3 bytes"));
    }

    #[test]
    fn escape_keeps_text_and_shows_the_rest_as_hex() {
        assert_eq!(escape(b"a\"b\x00", 10), "a\\\"b\\x00");
        assert_eq!(escape(b"abcdef", 3), "abc…");
    }
}
