//! The `layers` lesson's claims that an `expect` table cannot state, checked
//! in the packets captured on `lo`: the HTTP request the client wrote is
//! carried as the payload of one TCP segment, inside an IP packet between the
//! two addresses, inside a link-layer frame; the headers around it carry the
//! ports (transport) and addresses (network) the narration names; and the
//! server's application receives exactly the payload, none of the headers.

mod common;
use common::*;
use sockscope_core::engine::{self, Call, EngineConfig, EngineMsg};
use sockscope_core::lesson;
use sockscope_core::wire::CaptureStatus;
use sockscope_core::wire::decode::{Transport, decode};
use std::net::SocketAddr;

const REQUEST: &[u8] = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";

#[test]
fn the_request_goes_down_the_layers_and_comes_up_unchanged() {
    let _alone = common::one_run_at_a_time();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (msgs, wire) = rt.block_on(engine::run_to_end_with(
        lesson::builtin("layers").unwrap(),
        EngineConfig::default(),
    ));
    assert!(matches!(msgs.last(), Some(EngineMsg::Finished)), "{msgs:?}");
    let ev = events(&msgs);
    // Without capture the application-layer half still holds: the server
    // read exactly the bytes the client wrote.
    let send = of(&ev, "client")
        .into_iter()
        .find(|e| e.call == Call::Send)
        .unwrap();
    let recv = of(&ev, "server")
        .into_iter()
        .find(|e| e.call == Call::Recv)
        .unwrap();
    assert_eq!(send.bytes, Some(REQUEST.len()));
    assert_eq!(recv.bytes, Some(REQUEST.len()));
    assert_eq!(send.data, recv.data);

    match wire.status() {
        CaptureStatus::Running => {}
        CaptureStatus::Unprivileged => {
            sockscope_core::testing::skip(
                "the packet half needs capture: no CAP_NET_RAW here; CI runs as root",
            );
            return;
        }
        other => panic!("capture should run as root, got {other:?}"),
    }
    let client: SocketAddr = addr(send.local.as_ref());
    let server: SocketAddr = addr(send.peer.as_ref());
    let segs = send.segments.as_ref().expect("captured");
    let data_seg = segs
        .iter()
        .find(|s| s.len == REQUEST.len())
        .expect("the request travelled in one segment");
    let d = decode(&data_seg.frame.data);
    // Network interface layer: a frame on lo, carrying IPv4.
    let link = d.link.as_ref().expect("link header");
    assert_eq!(link.ether_type, 0x0800, "IPv4 inside the frame");
    // Network layer: the IP header has both addresses.
    let ip = d.ip.as_ref().expect("IP header");
    assert_eq!(SocketAddr::from((ip.src, client.port())), client);
    assert_eq!(SocketAddr::from((ip.dst, server.port())), server);
    assert_eq!(ip.protocol, 6, "IP says: TCP inside");
    // Transport layer: the TCP header has both ports.
    let Some(Transport::Tcp(tcp)) = &d.transport else {
        panic!("TCP header expected: {:?}", d.transport)
    };
    assert_eq!(tcp.src_port, client.port());
    assert_eq!(tcp.dst_port, server.port());
    // Application layer: the payload is the HTTP text, byte for byte, and
    // it is all the server's recv returned.
    assert_eq!(&data_seg.frame.data[d.payload.clone()], REQUEST);
    let headers = d.payload.start;
    assert!(
        headers >= 14 + 20 + 20,
        "link + IP + TCP headers: {headers} bytes"
    );
    assert_eq!(data_seg.frame.data.len() - headers, recv.bytes.unwrap());
}

#[test]
fn the_name_server_answers_the_address_its_recvfrom_reported() {
    let ev = events(&run("layers"));
    let dns = of(&ev, "dns");
    let recv = dns.iter().find(|e| e.call == Call::Recvfrom).unwrap();
    let reply = dns.iter().find(|e| e.call == Call::Sendto).unwrap();
    assert_eq!(reply.peer, recv.peer);
    let resolver = of(&ev, "resolver");
    let bound = resolver.iter().find(|e| e.call == Call::Bind).unwrap();
    assert_eq!(
        recv.peer, bound.local,
        "the datagram came from the resolver's address"
    );
    let got = resolver.iter().find(|e| e.call == Call::Recvfrom).unwrap();
    assert_eq!(got.peer, recv.local, "the answer came from the name server");
}

/// The layers lesson says an unbound UDP socket gets a port on its first
/// sendto, on the wildcard address: the udp lesson's sender shows it.
#[test]
fn an_unbound_udp_sender_is_bound_to_the_wildcard_on_first_sendto() {
    let ev = events(&run("udp"));
    let sendto = of(&ev, "sender")
        .into_iter()
        .find(|e| e.call == Call::Sendto)
        .unwrap();
    let local = addr(sendto.local.as_ref());
    assert!(local.ip().is_unspecified(), "{local}");
    assert_ne!(local.port(), 0);
}
