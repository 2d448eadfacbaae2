//! One captured frame split into its layers, with the byte range each layer
//! occupies, so the packet pane can show the fields and colour the hex dump
//! by layer.
//!
//! Frames on `lo` carry a pseudo-Ethernet header (both MACs zero, then the
//! EtherType), then IPv4, then TCP, UDP or ICMP, then the payload. Parsing is
//! etherparse's header slices, one layer at a time, so a frame we do not
//! understand (IPv6, ARP, a truncated header) still decodes as far as it goes.

use etherparse::{
    Ethernet2HeaderSlice, Icmpv4Slice, Ipv4HeaderSlice, TcpHeaderSlice, TcpOptionElement,
    UdpHeaderSlice,
};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::ops::Range;

/// The four layers of the TCP/IP model, as the layer diagram names them.
/// The hex dump colours each byte by the layer it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Network interface layer: the (pseudo-)Ethernet header.
    Link,
    /// Internet layer: the IPv4 header.
    Internet,
    /// Transport layer: the TCP, UDP or ICMP header.
    Transport,
    /// Application layer: the payload the program sent.
    Application,
}

/// The link-layer header as `lo` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub ether_type: u16,
    pub bytes: Range<usize>,
}

/// The IPv4 header fields the packet pane shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4 {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub total_len: u16,
    pub header_len: usize,
    pub id: u16,
    pub dont_fragment: bool,
    /// IP protocol number: 6 TCP, 17 UDP, 1 ICMP.
    pub protocol: u8,
    pub checksum: u16,
    /// Whether the checksum in the header matches the one computed over it.
    pub checksum_ok: bool,
    pub bytes: Range<usize>,
}

/// TCP flag names in the order tcpdump prints them.
pub const TCP_FLAG_NAMES: [&str; 6] = ["SYN", "FIN", "RST", "PSH", "ACK", "URG"];

/// The TCP header fields the packet pane shows.
// One bool per flag bit of the header, named as tcpdump names them, as the
// other fields mirror the header's.
#[expect(
    clippy::struct_excessive_bools,
    reason = "the TCP header's flag bits, one field each"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tcp {
    pub src_port: u16,
    pub dst_port: u16,
    /// Raw sequence and acknowledgment numbers, as on the wire.
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub ack_flag: bool,
    pub urg: bool,
    pub window: u16,
    pub checksum: u16,
    pub header_len: usize,
    /// Options, written out: `MSS 65495`, `SACK permitted`, `window scale 7`,
    /// `timestamps 123/0`, `NOP`.
    pub options: Vec<String>,
    pub bytes: Range<usize>,
}

impl Tcp {
    /// The flags that are set, by name (`["SYN", "ACK"]`).
    #[must_use]
    pub fn flags(&self) -> Vec<String> {
        let set = [
            self.syn,
            self.fin,
            self.rst,
            self.psh,
            self.ack_flag,
            self.urg,
        ];
        TCP_FLAG_NAMES
            .iter()
            .zip(set)
            .filter(|(_, on)| *on)
            .map(|(n, _)| (*n).to_string())
            .collect()
    }
}

/// The UDP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Udp {
    pub src_port: u16,
    pub dst_port: u16,
    /// Header plus payload, in bytes.
    pub length: u16,
    pub checksum: u16,
    pub bytes: Range<usize>,
}

/// An ICMP message; for errors (port unreachable) the header of the datagram
/// that caused it, which ties it to the socket that sent that datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmp {
    pub icmp_type: u8,
    pub code: u8,
    pub checksum: u16,
    /// Source and destination of the datagram the error is about.
    pub about: Option<(SocketAddr, SocketAddr)>,
    pub bytes: Range<usize>,
}

/// The transport layer of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Tcp(Tcp),
    Udp(Udp),
    Icmp(Icmp),
}

impl Transport {
    #[must_use]
    pub fn bytes(&self) -> Range<usize> {
        match self {
            Transport::Tcp(t) => t.bytes.clone(),
            Transport::Udp(u) => u.bytes.clone(),
            Transport::Icmp(i) => i.bytes.clone(),
        }
    }
}

/// A frame, decoded as far as its headers go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decoded {
    pub link: Option<Link>,
    pub ip: Option<Ipv4>,
    pub transport: Option<Transport>,
    /// The bytes after the last header understood (for TCP and UDP, the
    /// payload the application sent).
    pub payload: Range<usize>,
}

impl Decoded {
    /// Which layer the byte at `offset` belongs to.
    #[must_use]
    pub fn layer_of(&self, offset: usize) -> Layer {
        let within = |r: &Range<usize>| r.contains(&offset);
        if self.link.as_ref().is_some_and(|l| within(&l.bytes)) {
            Layer::Link
        } else if self.ip.as_ref().is_some_and(|i| within(&i.bytes)) {
            Layer::Internet
        } else if self.transport.as_ref().is_some_and(|t| within(&t.bytes())) {
            Layer::Transport
        } else {
            Layer::Application
        }
    }

    /// Source and destination as address:port, for TCP and UDP.
    #[must_use]
    pub fn endpoints(&self) -> Option<(SocketAddr, SocketAddr)> {
        let ip = self.ip.as_ref()?;
        let (sp, dp) = match self.transport.as_ref()? {
            Transport::Tcp(t) => (t.src_port, t.dst_port),
            Transport::Udp(u) => (u.src_port, u.dst_port),
            Transport::Icmp(_) => return None,
        };
        Some((
            SocketAddr::V4(SocketAddrV4::new(ip.src, sp)),
            SocketAddr::V4(SocketAddrV4::new(ip.dst, dp)),
        ))
    }

    #[must_use]
    pub fn payload_len(&self) -> usize {
        self.payload.len()
    }
}

/// Length of the pseudo-Ethernet header `lo` puts in front of each packet.
pub const ETHERNET_LEN: usize = 14;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;

/// Split `frame` into layers.
#[must_use]
pub fn decode(frame: &[u8]) -> Decoded {
    let mut d = Decoded {
        payload: frame.len()..frame.len(),
        ..Decoded::default()
    };
    let Ok(eth) = Ethernet2HeaderSlice::from_slice(frame) else {
        d.payload = 0..frame.len();
        return d;
    };
    d.link = Some(Link {
        dst_mac: eth.destination(),
        src_mac: eth.source(),
        ether_type: eth.ether_type().0,
        bytes: 0..ETHERNET_LEN,
    });
    d.payload = ETHERNET_LEN..frame.len();
    if eth.ether_type().0 != ETHERTYPE_IPV4 {
        return d;
    }
    let Ok(ip) = Ipv4HeaderSlice::from_slice(&frame[ETHERNET_LEN..]) else {
        return d;
    };
    let ip_start = ETHERNET_LEN;
    let ip_len = ip.slice().len();
    let t_start = ip_start + ip_len;
    // The IP total length bounds the packet; anything after it is padding.
    let end = (ip_start + usize::from(ip.total_len())).clamp(t_start, frame.len());
    d.ip = Some(Ipv4 {
        src: ip.source_addr(),
        dst: ip.destination_addr(),
        ttl: ip.ttl(),
        total_len: ip.total_len(),
        header_len: ip_len,
        id: ip.identification(),
        dont_fragment: ip.dont_fragment(),
        protocol: ip.protocol().0,
        checksum: ip.header_checksum(),
        checksum_ok: ip.to_header().calc_header_checksum() == ip.header_checksum(),
        bytes: ip_start..t_start,
    });
    d.payload = t_start..end;
    let rest = &frame[t_start..end];
    match ip.protocol().0 {
        6 => {
            if let Ok(tcp) = TcpHeaderSlice::from_slice(rest) {
                let hl = tcp.slice().len();
                d.transport = Some(Transport::Tcp(Tcp {
                    src_port: tcp.source_port(),
                    dst_port: tcp.destination_port(),
                    seq: tcp.sequence_number(),
                    ack: tcp.acknowledgment_number(),
                    syn: tcp.syn(),
                    fin: tcp.fin(),
                    rst: tcp.rst(),
                    psh: tcp.psh(),
                    ack_flag: tcp.ack(),
                    urg: tcp.urg(),
                    window: tcp.window_size(),
                    checksum: tcp.checksum(),
                    header_len: hl,
                    options: tcp_options(&tcp),
                    bytes: t_start..t_start + hl,
                }));
                d.payload = t_start + hl..end;
            }
        }
        17 => {
            if let Ok(udp) = UdpHeaderSlice::from_slice(rest) {
                d.transport = Some(Transport::Udp(Udp {
                    src_port: udp.source_port(),
                    dst_port: udp.destination_port(),
                    length: udp.length(),
                    checksum: udp.checksum(),
                    bytes: t_start..t_start + 8,
                }));
                d.payload = t_start + 8..end;
            }
        }
        1 => {
            if let Ok(icmp) = Icmpv4Slice::from_slice(rest) {
                let hl = icmp.header_len();
                d.transport = Some(Transport::Icmp(Icmp {
                    icmp_type: icmp.type_u8(),
                    code: icmp.code_u8(),
                    checksum: icmp.checksum(),
                    about: quoted_endpoints(icmp.payload()),
                    bytes: t_start..t_start + hl,
                }));
                d.payload = t_start + hl..end;
            }
        }
        _ => {}
    }
    d
}

/// The endpoints of the datagram an ICMP error quotes (its IPv4 header and
/// first 8 bytes, which hold both ports for TCP and UDP).
fn quoted_endpoints(quoted: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
    let ip = Ipv4HeaderSlice::from_slice(quoted).ok()?;
    let ports = quoted.get(ip.slice().len()..ip.slice().len() + 4)?;
    let sp = u16::from_be_bytes([ports[0], ports[1]]);
    let dp = u16::from_be_bytes([ports[2], ports[3]]);
    Some((
        SocketAddr::V4(SocketAddrV4::new(ip.source_addr(), sp)),
        SocketAddr::V4(SocketAddrV4::new(ip.destination_addr(), dp)),
    ))
}

fn tcp_options(tcp: &TcpHeaderSlice<'_>) -> Vec<String> {
    tcp.options_iterator()
        .map(|o| match o {
            Ok(TcpOptionElement::Noop) => "NOP".to_string(),
            Ok(TcpOptionElement::MaximumSegmentSize(m)) => format!("MSS {m}"),
            Ok(TcpOptionElement::WindowScale(s)) => format!("window scale {s}"),
            Ok(TcpOptionElement::SelectiveAcknowledgementPermitted) => "SACK permitted".into(),
            Ok(TcpOptionElement::SelectiveAcknowledgement(first, rest)) => {
                let blocks: Vec<String> = std::iter::once(first)
                    .chain(rest.into_iter().flatten())
                    .map(|(a, b)| format!("{a}-{b}"))
                    .collect();
                format!("SACK {}", blocks.join(" "))
            }
            Ok(TcpOptionElement::Timestamp(val, ecr)) => format!("timestamps {val}/{ecr}"),
            Err(e) => format!("malformed option ({e})"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    #[test]
    fn a_tcp_syn_splits_into_four_layers_with_its_options() {
        let b = PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(40000, 8080, 1000, 65495)
            .syn()
            .options(&[
                TcpOptionElement::MaximumSegmentSize(65495),
                TcpOptionElement::SelectiveAcknowledgementPermitted,
                TcpOptionElement::Timestamp(7, 0),
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(7),
            ])
            .unwrap();
        let mut f = Vec::new();
        b.write(&mut f, b"").unwrap();
        let d = decode(&f);
        let link = d.link.as_ref().unwrap();
        assert_eq!((link.src_mac, link.ether_type), ([0; 6], ETHERTYPE_IPV4));
        let ip = d.ip.as_ref().unwrap();
        assert_eq!((ip.ttl, ip.protocol, ip.checksum_ok), (64, 6, true));
        assert_eq!(usize::from(ip.total_len), f.len() - ETHERNET_LEN);
        let Some(Transport::Tcp(t)) = &d.transport else {
            panic!("{d:?}")
        };
        assert_eq!(t.flags(), ["SYN"]);
        assert_eq!((t.src_port, t.dst_port, t.seq), (40000, 8080, 1000));
        assert!(
            t.options.contains(&"MSS 65495".to_string()),
            "{:?}",
            t.options
        );
        assert!(t.options.contains(&"SACK permitted".to_string()));
        assert!(t.options.contains(&"window scale 7".to_string()));
        assert!(t.options.contains(&"timestamps 7/0".to_string()));
        assert_eq!(d.payload_len(), 0);
        assert_eq!(d.layer_of(0), Layer::Link);
        assert_eq!(d.layer_of(14), Layer::Internet);
        assert_eq!(d.layer_of(34), Layer::Transport);
        assert_eq!(
            d.endpoints().unwrap().0,
            "127.0.0.1:40000".parse::<SocketAddr>().unwrap()
        );
    }

    #[test]
    fn a_udp_datagram_has_its_payload_after_eight_header_bytes() {
        let b = PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 2], 64)
            .udp(5000, 6000);
        let mut f = Vec::new();
        b.write(&mut f, b"ping").unwrap();
        let d = decode(&f);
        let Some(Transport::Udp(u)) = &d.transport else {
            panic!("{d:?}")
        };
        assert_eq!((u.length, d.payload_len()), (12, 4));
        assert_eq!(&f[d.payload.clone()], b"ping");
        assert_eq!(d.layer_of(f.len() - 1), Layer::Application);
    }

    #[test]
    fn garbage_decodes_as_far_as_it_goes() {
        assert_eq!(decode(&[1, 2, 3]).link, None);
        let mut f = vec![0u8; 14];
        f[12] = 0x86;
        f[13] = 0xdd; // IPv6: link only
        let d = decode(&f);
        assert!(d.link.is_some() && d.ip.is_none());
    }
}
