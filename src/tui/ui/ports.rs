//! The port-range explainer: 0–65535 as a bar with the three IANA ranges,
//! this machine's real ephemeral range (read from /proc) marked on it, and a
//! marker for every port in use at the focused step, with one sentence on
//! why that port is where it is.

use super::{fit_spans, panel};
use crate::engine::Call;
use crate::ports::range::Range;
use crate::tui::app::{App, Machine};
use crate::tui::theme::Theme;
use crate::tui::timeline::{self, Held};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// The short name of the range a port is in, as the bar's legend says it.
pub fn range_name(port: u16) -> &'static str {
    match Range::of(port) {
        Range::WellKnown => "well-known",
        Range::General => "registered",
        Range::Dynamic => "dynamic",
    }
}

/// One port in use: who holds it and why it is that number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortUse {
    pub port: u16,
    pub holders: String,
    pub why: String,
}

/// The ports held at the focused step, one entry per port.
pub fn in_use(app: &App) -> Vec<PortUse> {
    let held = timeline::held(app);
    let mut out: Vec<PortUse> = Vec::new();
    for h in &held {
        let Some(port) = h.port() else { continue };
        if let Some(u) = out.iter_mut().find(|u| u.port == port) {
            if !u.holders.split(", ").any(|x| x == h.actor) {
                u.holders.push_str(&format!(", {}", h.actor));
            }
            continue;
        }
        out.push(PortUse {
            port,
            holders: h.actor.clone(),
            why: why(h, port, &app.machine),
        });
    }
    out
}

fn why(h: &Held, port: u16, m: &Machine) -> String {
    let in_ephemeral = match m.ephemeral_range {
        Some((lo, hi)) if (lo..=hi).contains(&port) => {
            format!("inside this machine's ephemeral range {lo}–{hi}")
        }
        Some((lo, hi)) => format!("outside this machine's ephemeral range {lo}–{hi}"),
        None => "this machine's ephemeral range was not readable".into(),
    };
    let range = range_name(port);
    match &h.bound_by {
        Some((_, Call::Bind, args)) if args.ends_with(":0") => format!(
            "bind asked for port 0, so the kernel chose a free port: {in_ephemeral} (IANA: {range})."
        ),
        Some((_, Call::Bind, _)) => format!(
            "bind asked for exactly this port ({range} range, {in_ephemeral}). Privileged here? {}.",
            m.privilege_text(port)
        ),
        Some((_, Call::Connect, _)) => format!(
            "no bind: the kernel picked it when connect ran, {in_ephemeral} (IANA: {range})."
        ),
        Some((_, Call::Sendto | Call::Send, _)) => format!(
            "no bind: the kernel picked it on the first send, {in_ephemeral} (IANA: {range})."
        ),
        _ => format!("the connection shares its listener's port (IANA: {range})."),
    }
}

/// The column of `port` on a bar `width` cells wide.
fn column(port: u16, width: u16) -> u16 {
    ((u32::from(port) * u32::from(width.saturating_sub(1))) / 65535) as u16
}

fn bar(buf: &mut Buffer, x: u16, y: u16, width: u16, theme: &Theme) {
    let g = &theme.glyphs;
    for i in 0..width {
        let port = ((u32::from(i) * 65535) / u32::from(width.max(1))) as u16;
        let (glyph, style) = match Range::of(port) {
            Range::WellKnown => (g.bar_full, theme.port_system),
            Range::General => (g.bar_light, theme.port_user),
            Range::Dynamic => (g.bar_medium, theme.port_dynamic),
        };
        buf.set_string(x + i, y, glyph, style);
    }
    // Column 0 always stands for the well-known ports, however narrow.
    buf.set_string(x, y, g.bar_full, theme.port_system);
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let used = in_use(app);
    let g = &theme.glyphs;
    if area.height < 4 {
        // Compact: the bar with markers, then the ports in one line.
        let buf = frame.buffer_mut();
        let label = " ports ";
        buf.set_string(area.x, area.y, label, theme.title);
        let bx = area.x + label.len() as u16;
        let bw = area.width.saturating_sub(label.len() as u16 + 1);
        bar(buf, bx, area.y, bw, theme);
        for u in &used {
            buf.set_string(bx + column(u.port, bw), area.y, g.marker, theme.port_marker);
        }
        if area.height > 1 {
            let mut spans = vec![Span::styled(" in use: ", theme.muted)];
            if used.is_empty() {
                spans.push(Span::styled("none yet", theme.muted));
            }
            for u in &used {
                spans.push(Span::styled(
                    format!("{} {}", g.marker, u.port),
                    theme.port_marker,
                ));
                spans.push(Span::styled(format!(" {}  ", u.holders), theme.muted));
            }
            if let Some((lo, hi)) = app.machine.ephemeral_range {
                spans.push(Span::styled(
                    format!("· ephemeral here {lo}–{hi}"),
                    theme.muted,
                ));
            }
            let line = Line::from(fit_spans(spans, area.width as usize, g.ellipsis));
            buf.set_line(area.x, area.y + 1, &line, area.width);
        }
        return;
    }
    let block = panel(" ports: 16 bits, 0–65535 ", theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let buf = frame.buffer_mut();
    let (x, w) = (inner.x + 1, inner.width.saturating_sub(2));
    let mut y = inner.y;
    // Scale: the range boundaries.
    let mut scale = vec![' '; w as usize];
    let mut free_from = 0;
    for (port, text) in [
        (0u16, "0"),
        (1024, "1024"),
        (49152, "49152"),
        (65535, "65535"),
    ] {
        let c = column(port, w) as usize;
        // Keep labels apart: a label that would touch the previous one
        // moves right.
        let start = c
            .max(free_from)
            .min((w as usize).saturating_sub(text.len()));
        if start < free_from {
            continue;
        }
        for (i, ch) in text.chars().enumerate() {
            if let Some(s) = scale.get_mut(start + i) {
                *s = ch;
            }
        }
        free_from = start + text.len() + 1;
    }
    buf.set_string(x, y, scale.iter().collect::<String>(), theme.muted);
    y += 1;
    bar(buf, x, y, w, theme);
    y += 1;
    // This machine's ephemeral range, as a bracket under the bar.
    if let Some((lo, hi)) = app.machine.ephemeral_range {
        let (a, b) = (column(lo, w), column(hi, w));
        for c in a..=b {
            buf.set_string(x + c, y, g.wire_expected, theme.port_marker);
        }
        buf.set_string(x + a, y, "[", theme.port_marker);
        buf.set_string(x + b, y, "]", theme.port_marker);
        let label = format!(" ephemeral here: {lo}–{hi} ");
        if (b - a) as usize > label.len() + 2 {
            buf.set_string(x + a + 2, y, &label, theme.port_marker);
        }
    } else {
        buf.set_string(x, y, "ephemeral range: not observed", theme.muted);
    }
    y += 1;
    // Markers for the ports in use.
    for u in &used {
        let c = column(u.port, w);
        buf.set_string(x + c, y, g.marker, theme.port_marker);
    }
    y += 1;
    let legend = Line::from(vec![
        Span::styled("0–1023", theme.port_system),
        Span::styled(" well-known · ", theme.muted),
        Span::styled("1024–49151", theme.port_user),
        Span::styled(" registered · ", theme.muted),
        Span::styled("49152–65535", theme.port_dynamic),
        Span::styled(" dynamic", theme.muted),
    ]);
    let legend = Line::from(fit_spans(legend.spans, w as usize, g.ellipsis));
    buf.set_line(x, y, &legend, w);
    y += 1;
    let rest = Rect {
        x,
        y,
        width: w,
        height: (inner.y + inner.height).saturating_sub(y),
    };
    let mut lines = Vec::new();
    if used.is_empty() {
        let none = if app.latest == 0 {
            "No port in use yet."
        } else {
            "No port in use now."
        };
        lines.push(Line::styled(none, theme.muted));
    }
    for u in &used {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} {} {}: ", g.marker, u.port, u.holders),
                theme.port_marker,
            ),
            Span::styled(u.why.clone(), theme.text),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_iana() {
        assert_eq!(range_name(80), "well-known");
        assert_eq!(range_name(1023), "well-known");
        assert_eq!(range_name(1024), "registered");
        assert_eq!(range_name(49151), "registered");
        assert_eq!(range_name(49152), "dynamic");
        assert_eq!(range_name(65535), "dynamic");
    }

    #[test]
    fn the_bar_scale_puts_the_ends_at_the_ends() {
        assert_eq!(column(0, 80), 0);
        assert_eq!(column(65535, 80), 79);
    }
}
