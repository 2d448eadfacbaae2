//! The wire view against the real kernel: packets captured on `lo` during a
//! lesson, attributed to the calls that caused them, exported as pcap and read
//! back by pcap-file and by tcpdump; and the run without capture privilege.

mod common;
use common::*;
use pcap_file::pcap::PcapReader;
use sockscope_core::engine::Event;
use sockscope_core::lesson;
use sockscope_core::wire::decode::{Transport, decode};
use sockscope_core::wire::{CaptureStatus, Direction, Segment};
use std::process::Command;

/// The payload bytes of a captured segment, from its frame.
fn payload(s: &Segment) -> Vec<u8> {
    let d = decode(&s.frame.data);
    s.frame.data[d.payload].to_vec()
}

/// Every packet captured on the connection `a`–`b`, in capture order: those
/// attached to any event, and those that came after the last event. Any
/// event, not only those whose addresses are the connection's: a packet
/// that arrives after its call's window is marked late on a later event,
/// and under load the teardown of the first client reached the server's
/// accept of the second (its listener's address, another peer), failing
/// this test once in six runs.
fn connection_segments<'a>(
    ev: &'a [Event],
    after: &'a [Segment],
    a: &str,
    b: &str,
) -> Vec<&'a Segment> {
    let mut segs: Vec<&Segment> = ev
        .iter()
        .flat_map(|e| e.segments.iter().flatten())
        .chain(after.iter())
        .filter(|s| (s.src == a && s.dst == b) || (s.src == b && s.dst == a))
        .collect();
    segs.sort_by_key(|s| s.n);
    segs.dedup_by_key(|s| s.n);
    segs
}

#[test]
fn tcp_lesson_captures_handshake_data_and_teardown_of_each_client() {
    let Some((ev, wire)) = run_captured("tcp") else {
        return;
    };
    assert!(
        ev.iter().all(|e| e.segments.is_some()),
        "capture ran: lists, not null"
    );
    let after = wire.after_last_call();
    for client in ["client", "client2"] {
        let mine = of(&ev, client);
        let connect = mine.iter().find(|e| e.call.name() == "connect").unwrap();
        let (c, s) = (
            connect.local.clone().unwrap(),
            connect.peer.clone().unwrap(),
        );
        let segs = connection_segments(&ev, &after, &c, &s);
        let count = |label: &str| segs.iter().filter(|s| s.label() == label).count();
        assert_eq!(count("SYN"), 1, "{client}: {segs:#?}");
        assert_eq!(count("SYN-ACK"), 1, "{client}");
        // The SYN is sent by connect itself, so it is on connect's event.
        let on_connect = connect.segments.as_ref().unwrap();
        let syn = on_connect.iter().find(|s| s.label() == "SYN").unwrap();
        assert_eq!(
            (syn.direction, syn.seq, syn.ack),
            (Direction::Out, Some(0), None)
        );
        assert_eq!(syn.from.as_deref(), Some(client));
        assert_eq!(syn.to.as_deref(), Some("server"));
        let synack = segs.iter().find(|s| s.label() == "SYN-ACK").unwrap();
        assert_eq!((synack.seq, synack.ack), (Some(0), Some(1)));
        assert_eq!(synack.src, s);
        // The handshake's third packet: the client's ACK of the SYN-ACK.
        let third = segs.iter().find(|s| s.n > synack.n && s.src == c).unwrap();
        assert_eq!(
            (third.label().as_str(), third.seq, third.ack, third.len),
            ("ACK", Some(1), Some(1), 0)
        );
        // Data: the payload bytes on the wire are the bytes each side sent.
        for (side, sender_is_client) in [(client, true), ("server", false)] {
            let sent: Vec<u8> = ev
                .iter()
                .filter(|e| e.actor == side && e.call.name() == "send")
                .filter(|e| {
                    let l = e.local.as_deref();
                    l == Some(if sender_is_client { &c } else { &s })
                        && e.peer.as_deref() == Some(if sender_is_client { &s } else { &c })
                })
                .flat_map(|e| e.data.clone().unwrap().into_bytes())
                .collect();
            assert!(!sent.is_empty());
            // Placed by relative sequence number (data starts at 1), so a
            // retransmitted segment would land on the same bytes.
            let mut on_wire = vec![None::<u8>; sent.len()];
            for g in segs
                .iter()
                .filter(|g| (g.src == c) == sender_is_client && g.len > 0)
            {
                let start = g.seq.unwrap() as usize - 1;
                for (i, b) in payload(g).into_iter().enumerate() {
                    on_wire[start + i] = Some(b);
                }
            }
            let on_wire: Vec<u8> = on_wire.into_iter().map(Option::unwrap).collect();
            assert_eq!(on_wire, sent, "{client} conversation, {side} sending");
        }
        // Each data segment is on its send's event, or arrived after it and
        // is marked late on a later event of the connection.
        for send in mine.iter().filter(|e| e.call.name() == "send") {
            let n = send.bytes.unwrap();
            let own = send.segments.as_ref().unwrap();
            let here = own
                .iter()
                .any(|g| g.direction == Direction::Out && g.len == n);
            let later = segs.iter().any(|g| g.src == c && g.len == n && g.late);
            assert!(here || later, "{client}'s send of {n} bytes: {own:#?}");
        }
        // Teardown: a FIN from each side, and the client's FIN carries the
        // sequence number after its last data byte.
        let fins: Vec<_> = segs.iter().filter(|g| g.has_flag("FIN")).collect();
        assert_eq!(
            fins.iter().filter(|g| g.src == c).count(),
            1,
            "{client}: {fins:#?}"
        );
        assert_eq!(fins.iter().filter(|g| g.src == s).count(), 1, "{client}");
        let client_bytes: usize = segs.iter().filter(|g| g.src == c).map(|g| g.len).sum();
        let client_fin = fins.iter().find(|g| g.src == c).unwrap();
        assert_eq!(client_fin.seq, Some(1 + client_bytes as u32));
        assert!(
            segs.iter().all(|g| !g.has_flag("RST")),
            "{client}: no reset"
        );
    }
    // The frames the events carry, and those after the last call, are the
    // frames the run kept, each once, by number.
    let frames = wire.frames();
    let mut numbers = Vec::new();
    for s in ev
        .iter()
        .flat_map(|e| e.segments.iter().flatten())
        .chain(&after)
    {
        assert_eq!(frames[s.n as usize - 1], s.frame);
        numbers.push(s.n);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=frames.len() as u64).collect::<Vec<_>>());
    // Calls that put nothing on the wire carry an empty list.
    for e in ev
        .iter()
        .filter(|e| ["socket", "bind", "listen"].contains(&e.call.name()))
    {
        assert_eq!(e.segments.as_deref(), Some(&[][..]), "{}", e.call);
    }
}

#[test]
fn udp_datagram_is_on_its_sendto_with_its_length() {
    let Some((ev, _)) = run_captured("udp") else {
        return;
    };
    let sendto = ev.iter().find(|e| e.call.name() == "sendto").unwrap();
    let all: Vec<&Segment> = ev
        .iter()
        .flat_map(|e| e.segments.iter().flatten())
        .collect();
    assert_eq!(all.len(), 1, "one datagram, no handshake: {all:#?}");
    let d = all[0];
    assert_eq!((d.label().as_str(), d.len), ("UDP", sendto.bytes.unwrap()));
    assert_eq!(d.udp_len, Some(8 + sendto.bytes.unwrap() as u16));
    assert_eq!(payload(d), sendto.data.clone().unwrap().into_bytes());
    assert_eq!((d.seq, d.ack, d.window), (None, None, None));
}

#[test]
fn refused_connect_carries_the_syn_and_the_reset() {
    let Some((ev, _)) = run_captured("refused") else {
        return;
    };
    let connect = ev.iter().find(|e| e.call.name() == "connect").unwrap();
    assert_eq!(connect.result.name(), "ECONNREFUSED");
    let segs = connect.segments.as_ref().unwrap();
    assert_eq!(segs.first().map(Segment::label).as_deref(), Some("SYN"));
    let rst = segs
        .iter()
        .find(|s| s.has_flag("RST"))
        .expect("the kernel's reset");
    assert_eq!(rst.direction, Direction::In);
}

fn trace_json(args: &[&str], pre: &[&str]) -> (std::process::Output, Vec<serde_json::Value>) {
    let out = if pre.is_empty() {
        bin().args(args).output().unwrap()
    } else {
        Command::new(pre[0])
            .args(&pre[1..])
            .arg(env!("CARGO_BIN_EXE_sockscope"))
            .args(args)
            .output()
            .unwrap()
    };
    // The calls that returned; the `waiting` lines carry no packets.
    let lines = common::event_lines(&out);
    (out, lines)
}

/// `trace LESSON --format json --pcap FILE`: its events, and the packets
/// the file holds, read back with pcap-file (an Ethernet capture). `None`
/// where this process may not capture. The directory holds the file.
fn trace_to_pcap(
    lesson: &str,
) -> Option<(Vec<serde_json::Value>, Vec<Vec<u8>>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.pcap");
    let (out, events) = trace_json(
        &[
            "trace",
            lesson,
            "--format",
            "json",
            "--pcap",
            path.to_str().unwrap(),
        ],
        &[],
    );
    if events.iter().all(|e| e["segments"].is_null()) {
        sockscope_core::testing::skip("no capture privilege here; CI runs as root");
        return None;
    }
    assert!(out.status.success(), "{out:?}");
    let file = std::fs::read(&path).unwrap();
    let mut reader = PcapReader::new(&file[..]).unwrap();
    assert_eq!(reader.header().datalink, pcap_file::DataLink::ETHERNET);
    let mut packets = Vec::new();
    while let Some(p) = reader.next_packet() {
        packets.push(p.unwrap().data.into_owned());
    }
    Some((events, packets, dir))
}

/// `tcpdump -nn -r` of the pcap `trace_to_pcap` wrote, with a filter
/// expression: one line a packet. `None` where tcpdump is not installed.
fn tcpdump(dir: &tempfile::TempDir, filter: &[&str]) -> Option<String> {
    let path = dir.path().join("out.pcap");
    let Ok(td) = Command::new("tcpdump")
        .args(["-nn", "-r", path.to_str().unwrap()])
        .args(filter)
        .output()
    else {
        sockscope_core::testing::skip(
            "the tcpdump half: tcpdump is not installed (.ci/run installs it)",
        );
        return None;
    };
    assert!(td.status.success(), "{td:?}");
    Some(String::from_utf8(td.stdout).unwrap())
}

#[test]
fn trace_pcap_reads_back_with_pcap_file_and_tcpdump() {
    let Some((events, packets, dir)) = trace_to_pcap("tcp") else {
        return;
    };
    // pcap-file: every segment in the JSON is the packet with its number.
    let segs: Vec<&serde_json::Value> = events
        .iter()
        .flat_map(|e| e["segments"].as_array().unwrap())
        .collect();
    assert!(
        segs.len() >= 20,
        "two clients' handshakes, data and teardowns"
    );
    for s in &segs {
        let p = &packets[s["n"].as_u64().unwrap() as usize - 1];
        let d = decode(p);
        let Some(Transport::Tcp(t)) = d.transport else {
            panic!("packet {} is not TCP", s["n"])
        };
        let flags: Vec<String> = serde_json::from_value(s["flags"].clone()).unwrap();
        assert_eq!(t.flags(), flags, "packet {}", s["n"]);
        assert_eq!(d.payload.len() as u64, s["len"].as_u64().unwrap());
        assert_eq!(
            format!("{}:{}", d.ip.unwrap().src, t.src_port),
            s["src"].as_str().unwrap()
        );
    }
    // tcpdump: the same number of packets, with the same flags, in order.
    let Some(text) = tcpdump(&dir, &[]) else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), packets.len(), "{text}");
    for (line, p) in lines.iter().zip(&packets) {
        let Some(Transport::Tcp(t)) = decode(p).transport else {
            panic!("{line}")
        };
        // tcpdump's flag letters: S F R P, and "." for ACK.
        let mut want = String::new();
        for (on, c) in [
            (t.syn, 'S'),
            (t.fin, 'F'),
            (t.rst, 'R'),
            (t.psh, 'P'),
            (t.ack_flag, '.'),
        ] {
            if on {
                want.push(c);
            }
        }
        assert!(
            line.contains(&format!("Flags [{want}]")),
            "{line} vs {want}"
        );
        assert!(line.contains(&format!(".{} > ", t.src_port)), "{line}");
    }
}

/// How to run the binary without CAP_NET_RAW: still root, but with every
/// capability dropped from the bounding set, so the exec'd binary has none.
const NO_CAPS: &[&str] = &["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"];

#[test]
fn without_capture_privilege_the_lesson_runs_segments_are_null_and_the_hint_is_shown_once() {
    if Command::new("setpriv").arg("--version").output().is_err() {
        sockscope_core::testing::skip("setpriv (util-linux) is not installed; .ci/run installs it");
        return;
    }
    // On the machine's network: in the lab every user may capture.
    let (out, events) = trace_json(
        &["trace", "tcp", "--format", "json", "--host-network"],
        NO_CAPS,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(events.len(), lesson::builtin("tcp").unwrap().steps.len());
    for e in &events {
        assert!(e["segments"].is_null(), "not observed: {e}");
        assert_eq!(e["result"], "ok");
    }
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.matches("CAP_NET_RAW").count(), 1, "said once: {err}");
    assert!(err.contains("sudo"), "{err}");
    assert!(err.contains("setcap cap_net_raw+ep"), "{err}");
    assert!(err.contains("expected"), "{err}");

    // Asking for a pcap without privilege: the lesson still runs, no file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.pcap");
    let (out, events) = trace_json(
        &[
            "trace",
            "tcp",
            "--format",
            "json",
            "--pcap",
            path.to_str().unwrap(),
            "--host-network",
        ],
        NO_CAPS,
    );
    assert_eq!(events.len(), lesson::builtin("tcp").unwrap().steps.len());
    assert_eq!(out.status.code(), Some(1));
    assert!(!path.exists());
}

#[test]
fn no_capture_flag_gives_null_segments_and_no_hint() {
    let (out, events) = trace_json(&["trace", "tcp", "--format", "json", "--no-capture"], &[]);
    assert!(out.status.success());
    assert!(events.iter().all(|e| e["segments"].is_null()));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_kernel_filter_keeps_only_frames_of_our_ports() {
    use sockscope_core::wire::capture::Capture;
    use std::net::UdpSocket;
    let mut cap = match Capture::open() {
        Ok(c) => c,
        Err(CaptureStatus::Unprivileged) => {
            sockscope_core::testing::skip(
                "this test process may not capture (no CAP_NET_RAW); CI runs as root",
            );
            return;
        }
        Err(other) => panic!("{other:?}"),
    };
    let ours = UdpSocket::bind("127.0.0.1:0").unwrap();
    let theirs = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = ours.local_addr().unwrap().port();
    cap.set_ports(&[port].into()).unwrap();
    sender
        .send_to(b"theirs", theirs.local_addr().unwrap())
        .unwrap();
    sender.send_to(b"ours", ours.local_addr().unwrap()).unwrap();
    // Both were delivered, so both passed the capture tap (which runs before
    // IP) by now.
    let mut buf = [0u8; 16];
    assert_eq!(theirs.recv(&mut buf).unwrap(), 6);
    assert_eq!(ours.recv(&mut buf).unwrap(), 4);
    let mut frames = Vec::new();
    cap.drain(&mut frames).unwrap();
    let kept: Vec<_> = frames
        .iter()
        .filter_map(|f| decode(&f.data).endpoints())
        .collect();
    assert_eq!(kept.len(), 1, "only our datagram: {kept:?}");
    assert_eq!(kept[0].1.port(), port);
}

#[test]
fn large_sends_are_captured_whole_even_as_gso_frames_bigger_than_the_mtu() {
    use sockscope_core::wire::capture::Capture;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    const N: usize = 300_000;
    let mut cap = match Capture::open() {
        Ok(c) => c,
        Err(CaptureStatus::Unprivileged) => {
            sockscope_core::testing::skip(
                "this test process may not capture (no CAP_NET_RAW); CI runs as root",
            );
            return;
        }
        Err(other) => panic!("{other:?}"),
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    cap.set_ports(&[port].into()).unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    let sent: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
    let writer = {
        let sent = sent.clone();
        std::thread::spawn(move || client.write_all(&sent).map(|()| client))
    };
    let mut got = vec![0u8; N];
    conn.read_exact(&mut got).unwrap();
    drop(writer.join().unwrap().unwrap());
    assert_eq!(got, sent);
    let mut frames = Vec::new();
    cap.drain(&mut frames).unwrap();
    // Rebuild the client's byte stream from the captured segments by their
    // sequence numbers: a segment TCP retransmitted (the receiver's buffer
    // was full) lands on the same bytes again.
    let mut isn = None;
    let mut stream = vec![None::<u8>; N];
    let mut largest = 0;
    for f in &frames {
        assert_eq!(f.data.len() as u32, f.orig_len, "no frame was cut short");
        let d = decode(&f.data);
        let Some(Transport::Tcp(t)) = &d.transport else {
            continue;
        };
        if t.src_port == port {
            continue;
        }
        if t.syn {
            isn = Some(t.seq);
            continue;
        }
        let start = t
            .seq
            .wrapping_sub(isn.expect("the SYN comes first"))
            .wrapping_sub(1) as usize;
        for (i, b) in f.data[d.payload.clone()].iter().enumerate() {
            let at = start + i;
            assert!(at < N, "byte beyond what was sent");
            assert!(
                stream[at].is_none_or(|old| old == *b),
                "a retransmission changed byte {at}"
            );
            stream[at] = Some(*b);
        }
        largest = largest.max(f.data.len());
    }
    let on_wire: Vec<u8> = stream
        .iter()
        .enumerate()
        .map(|(i, b)| b.unwrap_or_else(|| panic!("byte {i} never captured")))
        .collect();
    assert_eq!(on_wire, sent);
    // lo's MTU is 64 KiB and it takes GSO frames: far above Ethernet's 1500.
    assert!(largest > 16 * 1024, "largest frame {largest} bytes");
    eprintln!(
        "largest frame captured: {largest} bytes, {} frames",
        frames.len()
    );
}

/// The ICMP "port unreachable" the kernel sends back for a datagram to a
/// closed port, as captured and decoded, against what the calls reported and
/// against tcpdump reading the same packets from the pcap.
#[test]
fn icmp_port_unreachable_is_decoded_as_the_kernel_sent_it() {
    let Some((events, packets, dir)) = trace_to_pcap("udp-refused") else {
        return;
    };
    // Each datagram to the closed port (the connected send, then the
    // sendto) is answered by one ICMP error, attached to the call that sent
    // it, quoting that datagram's own source and destination.
    let senders: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| matches!(e["call"].as_str(), Some("send" | "sendto")))
        .collect();
    assert_eq!(senders.len(), 2, "{events:#?}");
    let mut icmp_ports = Vec::new();
    for e in &senders {
        let icmp: Vec<&serde_json::Value> = e["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["proto"] == "icmp")
            .collect();
        assert_eq!(icmp.len(), 1, "one ICMP error for {}: {e:#?}", e["call"]);
        assert_eq!(icmp[0]["direction"], "in");
        let p = &packets[icmp[0]["n"].as_u64().unwrap() as usize - 1];
        let Some(Transport::Icmp(m)) = decode(p).transport else {
            panic!("packet {} is not ICMP", icmp[0]["n"])
        };
        // Type 3 (destination unreachable), code 3 (port unreachable).
        assert_eq!((m.icmp_type, m.code), (3, 3));
        let (src, dst) = m.about.expect("the quoted datagram's endpoints");
        // The sender's port. On the wire its address is 127.0.0.1, even
        // where the socket shows 0.0.0.0 (a sendto from an unbound socket).
        let local = e["local"].as_str().unwrap();
        assert_eq!(src.port().to_string(), local.rsplit(':').next().unwrap());
        assert_eq!(src.ip().to_string(), "127.0.0.1");
        assert_eq!(dst.to_string(), e["peer"].as_str().unwrap());
        icmp_ports.push(dst.port());
    }
    // And the next call on the connected socket hears of it: ECONNREFUSED.
    let refused = events
        .iter()
        .find(|e| e["result"] == "ECONNREFUSED")
        .expect("the connected socket's recv");
    assert_eq!(refused["call"], "recv");
    // tcpdump reads the same errors from the pcap.
    let Some(text) = tcpdump(&dir, &["icmp"]) else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, port) in lines.iter().zip(icmp_ports) {
        assert!(
            line.contains(&format!("udp port {port} unreachable")),
            "{line}"
        );
    }
}

/// Every built-in lesson, traced with `--pcap`: the pcap is in capture
/// order (its timestamps never go back), and every packet in it is on
/// exactly one event of the JSON, by its number: attached to the call that
/// caused it, or marked `late` on its connection's event; never left out.
/// (backlog.pcap was out of order; refused's last RST was in the text
/// transcript only.)
#[test]
fn every_captured_packet_is_in_the_json_and_the_pcap_is_in_capture_order() {
    for lesson in sockscope_core::lesson::builtin_names() {
        let Some((events, packets, dir)) = trace_to_pcap(&lesson) else {
            return;
        };
        let file = std::fs::read(dir.path().join("out.pcap")).unwrap();
        let mut reader = PcapReader::new(&file[..]).unwrap();
        let mut times = Vec::new();
        while let Some(p) = reader.next_packet() {
            times.push(p.unwrap().timestamp);
        }
        for (i, w) in times.windows(2).enumerate() {
            assert!(
                w[0] <= w[1],
                "{lesson}: packet {} is older than {}",
                i + 2,
                i + 1
            );
        }
        let mut numbers: Vec<u64> = events
            .iter()
            .flat_map(|e| e["segments"].as_array().unwrap())
            .map(|s| s["n"].as_u64().unwrap())
            .collect();
        numbers.sort_unstable();
        let all: Vec<u64> = (1..=packets.len() as u64).collect();
        assert_eq!(numbers, all, "{lesson}: packets on events vs in the pcap");
    }
}

/// refused.toml step 13: "closing the listener discards it, and the kernel
/// sends the client's port a reset (RST)": that RST is on the close that
/// caused it, as sent by the listener's address, not a late packet.
#[test]
fn the_listeners_close_carries_the_reset_it_caused() {
    let Some((events, _, _)) = trace_to_pcap("refused") else {
        return;
    };
    let close = events.last().unwrap();
    assert_eq!(
        (close["actor"].as_str(), close["call"].as_str()),
        (Some("server"), Some("close"))
    );
    let segs = close["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 1, "{segs:#?}");
    let rst = &segs[0];
    assert!(
        rst["flags"].as_array().unwrap().contains(&"RST".into()),
        "{rst}"
    );
    assert_eq!(rst["late"], false);
    assert_eq!(rst["direction"], "out");
    assert_eq!(rst["src"], close["local"]);
}

/// The markdown handout's layer block names the addresses the packet
/// carried: an unbound UDP sender reports 0.0.0.0 as its local address,
/// but its datagram leaves from 127.0.0.1 (the kernel picks the source
/// from the route), on lo. (It said `IP packet: 0.0.0.0 -> 127.0.0.1` and
/// "the route's interface".)
#[test]
fn the_handouts_layer_block_names_the_addresses_on_the_wire() {
    let out = bin()
        .args(["trace", "udp", "--format", "markdown"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(!md.contains("route's interface"), "{md}");
    let lines: Vec<&str> = md.lines().filter(|l| l.contains("IP packet:")).collect();
    assert!(!lines.is_empty(), "{md}");
    for l in &lines {
        assert!(!l.contains("0.0.0.0"), "{l}");
    }
    let (_, json) = trace_json(&["trace", "udp", "--format", "json"], &[]);
    let Some(seg) = json
        .iter()
        .flat_map(|e| e["segments"].as_array().cloned().unwrap_or_default())
        .next()
    else {
        sockscope_core::testing::skip("the wire half: no capture privilege here; CI runs as root");
        return;
    };
    let ip = |a: &serde_json::Value| a.as_str().unwrap().rsplit_once(':').unwrap().0.to_string();
    let wire = format!("IP packet: {} -> {}", ip(&seg["src"]), ip(&seg["dst"]));
    assert!(
        lines.iter().any(|l| l.contains(&wire)),
        "{wire} in {lines:#?}"
    );
    assert!(md.contains("network interface  lo"), "{md}");
}
