//! The TCP/IP layer diagram: the four layers with the OSI layers each maps
//! to, the layers the focused call touches lit up, and for a call that moves
//! data, the encapsulation of this very message with its real ports and
//! addresses.

use crate::app::{App, Entry};
use crate::theme::Theme;
use crate::timeline;
use crate::widgets::{fit_spans, panel};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use sockscope_core::engine::{Call, Event, Proto};
use sockscope_core::vocab::TcpState;

/// One layer of the TCP/IP model.
pub struct Layer {
    pub name: &'static str,
    pub protocols: &'static str,
    /// The OSI layers it maps to, in full and as numbers.
    pub osi: &'static str,
    pub osi_short: &'static str,
}

/// The four layers, top to bottom.
pub const LAYERS: [Layer; 4] = [
    Layer {
        name: "Application",
        protocols: "HTTP FTP TELNET DNS SMTP POP3",
        osi: "OSI: application, presentation, session",
        osi_short: "OSI 7-5",
    },
    Layer {
        name: "Transport",
        protocols: "TCP UDP",
        osi: "OSI: transport",
        osi_short: "OSI 4",
    },
    Layer {
        name: "Network",
        protocols: "IP ICMP IGMP",
        osi: "OSI: network",
        osi_short: "OSI 3",
    },
    Layer {
        name: "Network interface",
        protocols: "loopback (lo) here",
        osi: "OSI: data link + physical",
        osi_short: "OSI 2-1",
    },
];

/// Which way a call's data moves through the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Down,
    Up,
    /// Bookkeeping inside the layers it touches: nothing moves.
    Stays,
}

/// The layers a call touches, which way, and one line on why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    pub layers: [bool; 4],
    pub flow: Flow,
    pub note: &'static str,
}

#[must_use]
pub fn touch(e: &Event) -> Touch {
    const TOP: [bool; 4] = [true, true, false, false];
    const TRANSPORT: [bool; 4] = [false, true, false, false];
    const ALL: [bool; 4] = [true; 4];
    let t = |layers, flow, note| Touch { layers, flow, note };
    match e.call {
        Call::Socket => t(
            TOP,
            Flow::Stays,
            "a new endpoint between program and transport",
        ),
        Call::Setsockopt => t(
            TRANSPORT,
            Flow::Stays,
            "a transport-layer option: nothing is sent",
        ),
        Call::Bind if e.ok() => t(
            TRANSPORT,
            Flow::Stays,
            "transport bookkeeping: the port is reserved",
        ),
        Call::Bind => t(
            TRANSPORT,
            Flow::Stays,
            "transport bookkeeping: refused, no port reserved",
        ),
        Call::Listen => t(
            TRANSPORT,
            Flow::Stays,
            "transport bookkeeping: nothing is sent",
        ),
        Call::Accept => t(TOP, Flow::Up, "takes a finished handshake from the queue"),
        Call::Connect => t(
            ALL,
            Flow::Down,
            "the handshake goes down to the wire and back",
        ),
        Call::Send | Call::Sendto => t(
            ALL,
            Flow::Down,
            "down the stack: each layer adds its header",
        ),
        Call::Recv | Call::Recvfrom => {
            t(ALL, Flow::Up, "it came up on arrival; recv copies it out")
        }
        Call::Shutdown | Call::Close if e.proto == Proto::Tcp && e.peer.is_some() => {
            t(ALL, Flow::Down, teardown_note(e))
        }
        // A TCP socket without a peer: a listener resets the connections
        // still queued for accept when it closes (the `refused` lesson shows
        // the RST); any other such socket sends nothing.
        Call::Shutdown | Call::Close if e.proto == Proto::Tcp => t(
            TOP,
            Flow::Stays,
            "released; queued connections, if any, are reset",
        ),
        Call::Shutdown | Call::Close => {
            t(TOP, Flow::Stays, "released: no connection, nothing is sent")
        }
        Call::Getsockopt | Call::Fcntl | Call::Dup => t(
            TOP,
            Flow::Stays,
            "bookkeeping between program and socket: nothing is sent",
        ),
        Call::Poll => t(
            TOP,
            Flow::Stays,
            "asks which sockets are ready: nothing is sent",
        ),
    }
}

/// What a TCP close or shutdown of a connection put on the wire. With
/// capture it is read from the packets: a FIN normally, an RST when the
/// close aborted (SO_LINGER 0, unread data), nothing when the FIN went
/// earlier (shutdown) or the connection was already reset. Without capture,
/// a close is predicted from the socket's state read just before it (the
/// kernel observer's `state_before`, `unread_before`, `linger_zero`) and
/// says it is expected; with neither, the note says only what holds in
/// every case. tests/narration_facts.rs checks each note against the
/// captured packets.
#[must_use]
pub fn teardown_note(e: &Event) -> &'static str {
    let Some(segs) = &e.segments else {
        return match predicted_close(e) {
            Some(Some("RST")) => "an RST goes to the peer (expected)",
            Some(Some(_)) => "a FIN goes to the peer (expected)",
            Some(None) => "nothing goes on the wire (expected)",
            None => "a FIN or RST goes to the peer, if none went yet",
        };
    };
    let sent = |flag: &str| {
        segs.iter()
            .any(|s| s.direction == sockscope_core::wire::Direction::Out && s.has_flag(flag))
    };
    if sent("RST") {
        "an RST goes down: the connection is aborted"
    } else if sent("FIN") {
        "a FIN goes down the stack to the peer"
    } else {
        "nothing goes on the wire for this call"
    }
}

/// What a close is expected to send, from the socket's state just before
/// it: `Some(Some("FIN" | "RST"))`, `Some(None)` for nothing, `None` when
/// the event is not a close or that state was not read. A connection still
/// sending (ESTABLISHED, CLOSE_WAIT, SYN_RECV) sends a FIN, or an RST if
/// data was left unread or SO_LINGER was 0; any other state has already
/// sent its FIN or been reset.
#[allow(
    clippy::option_option,
    reason = "two questions: is there a prediction, and is it a packet (None: nothing left to send)"
)]
fn predicted_close(e: &Event) -> Option<Option<&'static str>> {
    if e.call != Call::Close {
        return None;
    }
    let k = e.kernel.as_ref()?;
    Some(match k.state_before? {
        TcpState::Established | TcpState::CloseWait | TcpState::SynRecv => {
            if k.unread_before.unwrap_or(0) > 0 || k.linger_zero == Some(true) {
                Some("RST")
            } else {
                Some("FIN")
            }
        }
        _ => None,
    })
}

/// The focused call: the step's own event, or the last event of the step.
#[must_use]
pub fn focused_event(app: &App) -> Option<&Event> {
    let focus = app.focus();
    let records = timeline::focused(app);
    records
        .iter()
        .filter_map(|r| match &r.entry {
            Entry::Event(e) => Some(e.as_ref()),
            Entry::Waiting(_) => None,
        })
        .find(|e| e.step == focus)
        .or_else(|| {
            records.iter().rev().find_map(|r| match &r.entry {
                Entry::Event(e) => Some(e.as_ref()),
                Entry::Waiting(_) => None,
            })
        })
}

fn ip(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(ip, _)| ip)
}
fn port(addr: &str) -> &str {
    addr.rsplit_once(':').map_or("", |(_, p)| p)
}

/// The encapsulation lines under each layer, for a call that moves data.
fn encapsulation(e: &Event) -> Option<[String; 4]> {
    if !e.call.moves_data() || !e.ok() {
        return None;
    }
    let (local, peer) = (e.local.as_deref()?, e.peer.as_deref()?);
    let (src, dst) = match e.call {
        Call::Send | Call::Sendto => (local, peer),
        _ => (peer, local),
    };
    let payload = match &e.data {
        Some(d) => format!("payload \"{d}\", {} bytes", e.bytes.unwrap_or(0)),
        None => format!("payload, {} bytes", e.bytes.unwrap_or(0)),
    };
    let src_ip = if ip(src) == "0.0.0.0" {
        "(kernel's choice)".to_string()
    } else {
        ip(src).to_string()
    };
    Some([
        payload,
        format!(
            "+ {} header: port {} → {}",
            e.proto.name(),
            port(src),
            port(dst)
        ),
        format!("+ IP header: {src_ip} → {}", ip(dst)),
        "lo: the packet never leaves this machine".into(),
    ])
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let event = focused_event(app);
    let touch = event.map(touch);
    if area.height < 3 {
        strip(frame, area, touch, theme);
        return;
    }
    let g = &theme.glyphs;
    let block = panel(" TCP/IP layers ", theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let enc = event.and_then(encapsulation);
    let transport = event.map(|e| e.proto.name());
    // Each layer: a heading line (name, protocols, OSI numbers), then the
    // full OSI names and this message's header when there is room for them.
    let per_layer = 1 + usize::from(enc.is_some());
    let room = inner.height as usize;
    let note_rows = usize::from(touch.is_some());
    let with_osi = 4 * (per_layer + 1) + note_rows <= room;
    let mut lines = Vec::new();
    for (i, layer) in LAYERS.iter().enumerate() {
        let lit = touch.is_some_and(|t| t.layers[i]);
        let name_style = if lit { theme.layer_active } else { theme.text };
        let mut head = vec![
            Span::styled(format!(" {:<17} ", layer.name), name_style),
            Span::raw(" "),
        ];
        for p in layer.protocols.split(' ') {
            let this = lit
                && (Some(p) == transport || (i == 2 && p == "IP") || (i == 3 && p == "loopback"));
            let style = if this { theme.key } else { theme.muted };
            head.push(Span::styled(format!("{p} "), style));
        }
        let used: usize = head.iter().map(Span::width).sum();
        let tag = layer.osi_short;
        if !with_osi && used + tag.len() < width {
            head.push(Span::raw(" ".repeat(width - used - tag.len())));
            head.push(Span::styled(tag, theme.muted));
        }
        lines.push(Line::from(fit_spans(head, width, g.ellipsis)));
        if with_osi {
            lines.push(Line::from(fit_spans(
                vec![Span::styled(format!("   {}", layer.osi), theme.muted)],
                width,
                g.ellipsis,
            )));
        }
        if let (Some(enc), Some(t)) = (&enc, touch) {
            let arrow = if t.flow == Flow::Up { g.up } else { g.down };
            lines.push(Line::from(fit_spans(
                vec![Span::styled(format!("   {arrow} {}", enc[i]), theme.wire)],
                width,
                g.ellipsis,
            )));
        }
    }
    if let Some(t) = touch {
        lines.push(Line::from(fit_spans(
            vec![Span::styled(format!(" {}", t.note), theme.title)],
            width,
            g.ellipsis,
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// One line: the layers as a path, the touched ones lit.
fn strip(frame: &mut Frame, area: Rect, touch: Option<Touch>, theme: &Theme) {
    let g = &theme.glyphs;
    // Each layer with the OSI layers it maps to, by number.
    let names = ["Application 7-5", "Transport 4", "Network 3", "Link 2-1"];
    let sep = match touch.map(|t| t.flow) {
        Some(Flow::Up) => format!(" {} ", g.up),
        Some(Flow::Down) => format!(" {} ", g.down),
        _ => " · ".into(),
    };
    let mut spans = vec![Span::styled(" TCP/IP (OSI): ", theme.title)];
    for (i, n) in names.iter().enumerate() {
        let lit = touch.is_some_and(|t| t.layers[i]);
        spans.push(Span::styled(
            *n,
            if lit { theme.layer_active } else { theme.muted },
        ));
        if i < 3 {
            spans.push(Span::styled(sep.clone(), theme.muted));
        }
    }
    if let Some(t) = touch {
        spans.push(Span::styled(format!("  {}", t.note), theme.muted));
    }
    let line = Line::from(fit_spans(spans, area.width as usize, g.ellipsis));
    frame.render_widget(Paragraph::new(line), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn send_goes_down_every_layer_and_bind_stays_in_transport() {
        let events = fixtures::tcp_events();
        let send = events.iter().find(|e| e.call == Call::Send).unwrap();
        assert_eq!(touch(send).layers, [true; 4]);
        assert_eq!(touch(send).flow, Flow::Down);
        let recv = events.iter().find(|e| e.call == Call::Recv).unwrap();
        assert_eq!(touch(recv).flow, Flow::Up);
        let bind = events.iter().find(|e| e.call == Call::Bind).unwrap();
        assert_eq!(touch(bind).layers, [false, true, false, false]);
    }

    #[test]
    fn encapsulation_uses_the_real_ports() {
        let events = fixtures::tcp_events();
        let send = events.iter().find(|e| e.call == Call::Send).unwrap();
        let enc = encapsulation(send).unwrap();
        let (l, p) = (
            send.local.as_deref().unwrap(),
            send.peer.as_deref().unwrap(),
        );
        assert!(
            enc[1].contains(&format!("port {} → {}", port(l), port(p))),
            "{}",
            enc[1]
        );
        assert!(enc[0].contains("hello from client"));
    }
}
