//! The port-range explainer: 0–65535 as a bar with the three IANA ranges,
//! this machine's real ephemeral range (read from /proc) marked on it, and a
//! marker for every port in use at the focused step, with one sentence on
//! why that port is where it is.
//!
//! The presenter can also type a port (`:` then digits, Enter): it is marked
//! above the bar, and the panel shows what `sockscope port N` says about it
//! (range, service names, this machine's settings, its bytes on the wire, and
//! a real bind tried now), while the lesson's own ports stay marked.

use crate::app::{App, Machine, PortInput};
use crate::theme::Theme;
use crate::timeline::{self, Held};
use crate::widgets::{fit_spans, panel};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use sockscope_core::engine::Call;
use sockscope_core::ports::PortReport;
use sockscope_core::ports::probe::BindProbe;
use sockscope_core::ports::range::Range;

/// The short name of the range a port is in, as the bar's legend says it.
#[must_use]
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
#[must_use]
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

/// A source label, short: `Debian netbase 6.4 (bundled)` → `Debian netbase 6.4`.
fn short_source(source: &str) -> &str {
    source.split(" (").next().unwrap_or(source)
}

/// `http (www) [IANA, /etc/services]`, or `none`.
fn names(r: &PortReport, proto: sockscope_core::engine::Proto) -> String {
    let names = r.services.of(proto);
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|n| {
            let aliases = if n.aliases.is_empty() {
                String::new()
            } else {
                format!(" ({})", n.aliases.join(", "))
            };
            let sources: Vec<&str> = n.sources.iter().map(|s| short_source(s)).collect();
            format!("{}{aliases} [{}]", n.name, sources.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `EACCES`, `ok`, or `ok -> 127.0.0.1:40123` for port 0.
fn bind_result(p: &BindProbe) -> String {
    match (&p.bound, p.addr.ends_with(":0")) {
        (Some(b), true) if p.ok() => format!("ok, got {b}"),
        _ => p.result.name().to_string(),
    }
}

/// The typed port's facts, as short lines for the panel: the same facts as
/// `sockscope port N`, in fewer words.
#[must_use]
pub fn report_lines(r: &PortReport) -> Vec<(&'static str, String)> {
    let m = &r.machine;
    let yes_no = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not observed",
    };
    let privileged = match (m.unprivileged_port_start, r.port) {
        (_, 0) => "no (port 0: the kernel picks)".to_string(),
        (Some(start), _) => format!("{} (threshold {start})", yes_no(m.privileged)),
        (None, _) => "not observed".to_string(),
    };
    let ephemeral = match m.ephemeral_range {
        Some((lo, hi)) if r.port != 0 => format!("{} (here {lo}–{hi})", yes_no(m.ephemeral)),
        Some((lo, hi)) => format!("picked from {lo}–{hi}"),
        None => "not observed".to_string(),
    };
    let mut out = vec![
        (
            "range",
            format!(
                "{}–{}, {} · IANA {} · wire {}",
                r.range.low, r.range.high, r.range.course, r.range.iana, r.wire.hex
            ),
        ),
        (
            "names",
            format!(
                "TCP {} · UDP {}",
                names(r, sockscope_core::engine::Proto::Tcp),
                names(r, sockscope_core::engine::Proto::Udp)
            ),
        ),
        (
            "here",
            format!("privileged: {privileged} · ephemeral: {ephemeral}"),
        ),
        (
            "bind",
            format!(
                "127.0.0.1 now: TCP {} · UDP {}",
                bind_result(&r.bind.tcp),
                bind_result(&r.bind.udp)
            ),
        ),
    ];
    // One reason, the first the probes gave (TCP's, else UDP's).
    if let Some(why) = r.bind.tcp.why.as_ref().or(r.bind.udp.why.as_ref()) {
        out.push(("why", why.clone()));
    }
    out
}

/// The prompt line while the presenter types a port.
fn prompt(input: &PortInput) -> Option<String> {
    let typed = input.typing.as_ref()?;
    Some(format!("port: {typed}_  Enter explains · Esc cancels"))
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
        for held in &used {
            buf.set_string(
                bx + column(held.port, bw),
                area.y,
                g.marker,
                theme.port_marker,
            );
        }
        if let Some(asked) = app.port.asked {
            buf.set_string(bx + column(asked, bw), area.y, g.down, theme.key);
        }
        if area.height > 1 {
            if let Some(line) = compact_port_line(app, theme) {
                let line = Line::from(fit_spans(line.spans, area.width as usize, g.ellipsis));
                buf.set_line(area.x, area.y + 1, &line, area.width);
                return;
            }
            let mut spans = vec![Span::styled(" in use: ", theme.muted)];
            if used.is_empty() {
                spans.push(Span::styled("none yet", theme.muted));
            }
            for held in &used {
                spans.push(Span::styled(
                    format!("{} {}", g.marker, held.port),
                    theme.port_marker,
                ));
                spans.push(Span::styled(format!(" {}  ", held.holders), theme.muted));
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
        let col = column(port, w) as usize;
        // Keep labels apart: a label that would touch the previous one
        // moves right.
        let start = col
            .max(free_from)
            .min((w as usize).saturating_sub(text.len()));
        if start < free_from {
            continue;
        }
        for (offset, ch) in text.chars().enumerate() {
            if let Some(slot) = scale.get_mut(start + offset) {
                *slot = ch;
            }
        }
        free_from = start + text.len() + 1;
    }
    buf.set_string(x, y, scale.iter().collect::<String>(), theme.muted);
    // The typed port points down at the bar, above the lesson's markers.
    if let Some(asked) = app.port.asked {
        buf.set_string(x + column(asked, w), y, g.down, theme.key);
    }
    y += 1;
    bar(buf, x, y, w, theme);
    y += 1;
    // This machine's ephemeral range, as a bracket under the bar.
    if let Some((lo, hi)) = app.machine.ephemeral_range {
        let (from, to) = (column(lo, w), column(hi, w));
        for col in from..=to {
            buf.set_string(x + col, y, g.wire_expected, theme.port_marker);
        }
        buf.set_string(x + from, y, "[", theme.port_marker);
        buf.set_string(x + to, y, "]", theme.port_marker);
        let label = format!(" ephemeral here: {lo}–{hi} ");
        if (to - from) as usize > label.len() + 2 {
            buf.set_string(x + from + 2, y, &label, theme.port_marker);
        }
    } else {
        buf.set_string(x, y, "ephemeral range: not observed", theme.muted);
    }
    y += 1;
    // Markers for the ports in use.
    for held in &used {
        let col = column(held.port, w);
        buf.set_string(x + col, y, g.marker, theme.port_marker);
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
    let mut lines = port_lines(app, theme);
    if used.is_empty() && lines.is_empty() {
        let none = if app.latest == 0 {
            "No port in use yet."
        } else {
            "No port in use now."
        };
        lines.push(Line::styled(none, theme.muted));
    }
    if lines.is_empty() {
        for held in &used {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{} {} {}: ", g.marker, held.port, held.holders),
                    theme.port_marker,
                ),
                Span::styled(held.why.clone(), theme.text),
            ]));
        }
    } else if !used.is_empty() {
        // A typed port takes the room; the lesson's ports stay marked on the
        // bar and are named in one line.
        let mut spans = vec![Span::styled("lesson: ", theme.muted)];
        for held in &used {
            spans.push(Span::styled(
                format!("{} {} {}  ", g.marker, held.port, held.holders),
                theme.port_marker,
            ));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), rest);
}

/// The typed port's lines for the full panel: the prompt while typing, then
/// the facts of the port asked about.
fn port_lines<'a>(app: &'a App, theme: &Theme) -> Vec<Line<'a>> {
    let g = &theme.glyphs;
    let mut lines = Vec::new();
    if let Some(p) = prompt(&app.port) {
        lines.push(Line::styled(p, theme.key));
    }
    if let Some(e) = &app.port.error {
        lines.push(Line::styled(e.clone(), theme.error));
    }
    match (&app.port.report, app.port.asked) {
        (Some(r), _) => {
            for (i, (label, text)) in report_lines(r).into_iter().enumerate() {
                // The first row carries the port itself, as marked above the bar.
                let head = if i == 0 {
                    format!("{} {} ", g.down, r.port)
                } else {
                    format!("{label:<6}")
                };
                let style = if i == 0 { theme.key } else { theme.muted };
                lines.push(Line::from(vec![
                    Span::styled(head, style),
                    Span::styled(text, theme.text),
                ]));
            }
        }
        (None, Some(p)) => lines.push(Line::styled(
            format!("{} {p}: checking on this machine", g.down),
            theme.muted,
        )),
        (None, None) => {}
    }
    lines
}

/// The compact layout's second row for the typed port: the prompt, the
/// error, or the facts in one line.
fn compact_port_line<'a>(app: &App, theme: &Theme) -> Option<Line<'a>> {
    let g = &theme.glyphs;
    if let Some(p) = prompt(&app.port) {
        let mut spans = vec![Span::styled(format!(" {p}"), theme.key)];
        if let Some(e) = &app.port.error {
            spans.push(Span::styled(format!("  {e}"), theme.error));
        }
        return Some(Line::from(spans));
    }
    let r = app.port.report.as_ref()?;
    let names = |proto| {
        let n: Vec<&str> = r
            .services
            .of(proto)
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        if n.is_empty() {
            "none".to_string()
        } else {
            n.join(",")
        }
    };
    let privileged = match r.machine.privileged {
        Some(true) => "privileged here",
        Some(false) => "not privileged here",
        None => "privilege not observed",
    };
    Some(Line::from(vec![
        Span::styled(format!(" {} {} ", g.down, r.port), theme.key),
        Span::styled(
            format!(
                "{} (IANA {}) · TCP {} · UDP {} · bind TCP {} UDP {} · {privileged} · wire {}",
                range_name(r.port),
                r.range.iana,
                names(sockscope_core::engine::Proto::Tcp),
                names(sockscope_core::engine::Proto::Udp),
                bind_result(&r.bind.tcp),
                bind_result(&r.bind.udp),
                r.wire.hex,
            ),
            theme.text,
        ),
    ]))
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
