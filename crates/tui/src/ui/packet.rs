//! The packet pane: one captured packet split by layer, tied to the layer
//! diagram (the same four layers, top to bottom from the wire up, each in
//! its own colour), beside a hex dump whose bytes carry the colour of their
//! layer. `x` opens it on the focused step's last packet, ↑/↓ choose another,
//! Esc closes it.
//!
//! ```text
//! Wide (the fields and the bytes side by side):
//! ╭ packet 2 of 20 · #2 server → client · SYN-ACK seq=0 ack=1 win=65483 len=0 ────────╮
//! │ Network interface: loopback pseudo-Ethernet…  │ 0000  00 00 00 00 00 00 00 00 … │
//! │   destination MAC   00:00:00:00:00:00         │ 0010  00 3c 00 00 40 00 40 06 … │
//! │ Network: IPv4 header, 20 bytes (bytes 14-33)  │ ■ network interface 0-13        │
//! ╰ ↑↓ another packet · w save pcap · Esc close ──────────────────────────────────────╯
//! Compact: one line per layer, then the bytes.
//! ```
//!
//! Colour is never the only carrier: each layer's lines start with its name,
//! and under the hex dump each layer's byte range is written out.

use crate::app::App;
use crate::theme::Theme;
use crate::widgets::{fit, fit_spans, panel};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use sockscope_core::wire::Segment;
use sockscope_core::wire::decode::{Layer, decode};
use sockscope_core::wire::describe::{self, HexRow};

/// The layers in the order a frame carries them, as the diagram's rows read
/// from the bottom up.
const LAYERS: [Layer; 4] = [
    Layer::Link,
    Layer::Internet,
    Layer::Transport,
    Layer::Application,
];

/// Width of the hex column: offset, 16 bytes, borders of breathing room.
const HEX_WIDTH: u16 = 56;
/// From this inner width on, fields and bytes sit side by side.
const SIDE_BY_SIDE: u16 = 100;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let g = &theme.glyphs;
    let Some((index, seg)) = app.shown_packet() else {
        return;
    };
    let total = app.packets().len();
    let title = fit(
        &format!(
            " packet {} of {total} · #{} {} · {}{} ",
            index + 1,
            seg.n,
            ends(seg),
            seg.summary(),
            if seg.late { " · arrived late" } else { "" }
        ),
        area.width.saturating_sub(4) as usize,
        g.ellipsis,
    );
    let block = panel(title, theme).title_bottom(
        Line::from(vec![
            Span::styled(" ↑↓", theme.key),
            Span::styled(" another packet ", theme.muted),
            Span::styled(" w", theme.key),
            Span::styled(" save pcap ", theme.muted),
            Span::styled(" Esc", theme.key),
            Span::styled(" close ", theme.muted),
        ])
        .right_aligned(),
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width < 20 || inner.height < 3 {
        return;
    }
    let bytes = &seg.frame.data;
    if bytes.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "The bytes of this packet were not kept (the run's packet limit was reached).",
                theme.muted,
            )),
            inner,
        );
        return;
    }
    let fields = field_lines(bytes, seg, theme);
    if inner.width >= SIDE_BY_SIDE && fields.len() <= inner.height as usize {
        let [left, right] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(HEX_WIDTH)])
                .spacing(2)
                .areas(inner);
        draw_lines(frame, left, fields, theme);
        draw_lines(
            frame,
            right,
            hex_lines(bytes, 16, right.height, theme),
            theme,
        );
    } else {
        let mut lines = summary_lines(bytes, seg, theme);
        let per_row = if inner.width >= HEX_WIDTH { 16 } else { 8 };
        let room = inner.height.saturating_sub(lines.len() as u16);
        lines.extend(hex_lines(bytes, per_row, room, theme));
        draw_lines(frame, inner, lines, theme);
    }
}

/// `client → server`, or the addresses when an end is not a lesson socket.
fn ends(seg: &Segment) -> String {
    let from = seg.from.clone().unwrap_or_else(|| seg.src.clone());
    let to = seg.to.clone().unwrap_or_else(|| seg.dst.clone());
    format!("{from} → {to}")
}

/// Lines cut to the area's width, as many as fit.
fn draw_lines(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>, theme: &Theme) {
    let width = area.width as usize;
    let lines: Vec<Line> = lines
        .into_iter()
        .take(area.height as usize)
        .map(|l| Line::from(fit_spans(l.spans, width, theme.glyphs.ellipsis)))
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// Every field, grouped under a heading per layer.
fn field_lines(bytes: &[u8], seg: &Segment, theme: &Theme) -> Vec<Line<'static>> {
    let d = decode(bytes);
    let fields = describe::fields(bytes, Some(seg));
    let mut out = Vec::new();
    for layer in LAYERS {
        // The byte range of each layer is under the hex dump.
        let style = theme.layer(layer);
        out.push(Line::styled(
            describe::layer_heading(layer, &d),
            style.add_modifier(Modifier::BOLD),
        ));
        for f in fields.iter().filter(|f| f.layer == layer) {
            out.push(Line::from(vec![
                Span::styled(format!("  {:<17} ", f.name), style),
                Span::styled(f.value.clone(), theme.text),
            ]));
        }
    }
    if seg.late {
        out.push(Line::styled(
            "Captured after the call that caused it had returned.",
            theme.muted,
        ));
    }
    out
}

/// One line per layer, for small screens.
fn summary_lines(bytes: &[u8], seg: &Segment, theme: &Theme) -> Vec<Line<'static>> {
    describe::summary(bytes, Some(seg))
        .into_iter()
        .map(|(layer, text)| Line::styled(text, theme.layer(layer)))
        .collect()
}

/// The hex dump in at most `room` lines: byte rows, then one line naming
/// each layer's bytes in its colour (when there is room for it).
fn hex_lines(bytes: &[u8], per_row: usize, room: u16, theme: &Theme) -> Vec<Line<'static>> {
    let rows = describe::hex_rows(bytes, per_row);
    let room = room as usize;
    if room == 0 {
        return Vec::new();
    }
    let d = decode(bytes);
    // Two layers a line, so the legend fits the hex column's width.
    let legend: Vec<Line<'static>> = LAYERS
        .iter()
        .filter_map(|&l| {
            let span = describe::layer_span(l, &d)?;
            Some(Span::styled(
                format!(
                    "{:<10}{:<14}",
                    layer_word(l),
                    span.trim_start_matches("bytes ")
                ),
                theme.layer(l),
            ))
        })
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|pair| Line::from(pair.to_vec()))
        .collect();
    let mut out = Vec::new();
    let byte_rows = if rows.len() < room {
        rows.len()
    } else {
        room.saturating_sub(1)
    };
    for row in rows.iter().take(byte_rows) {
        out.push(hex_row(row, theme));
    }
    if byte_rows < rows.len() {
        out.push(Line::styled(
            format!(
                "… {} more bytes",
                bytes.len().saturating_sub(byte_rows * per_row)
            ),
            theme.muted,
        ));
    } else if out.len() + legend.len() <= room {
        out.extend(legend);
    }
    out
}

fn hex_row(row: &HexRow, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(format!("{:04x} ", row.offset), theme.muted)];
    for (b, layer) in &row.bytes {
        spans.push(Span::styled(format!(" {b:02x}"), theme.layer(*layer)));
    }
    Line::from(spans)
}

/// The layer's short name for the legend under the bytes.
fn layer_word(layer: Layer) -> &'static str {
    match layer {
        Layer::Link => "interface",
        Layer::Internet => "network",
        Layer::Transport => "transport",
        Layer::Application => "payload",
    }
}
