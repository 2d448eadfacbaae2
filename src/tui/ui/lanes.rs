//! The lifecycle lanes: one column per endpoint, each call in its lane with
//! its real result and the state it leaves, and arrows between lanes for
//! what crosses the wire. A sequence diagram that grows one real call at a
//! time; the newest rows stay in view.

use super::{fit, fit_spans, panel};
use crate::engine::Proto;
use crate::tui::app::{App, Entry};
use crate::tui::arrows::Source;
use crate::tui::theme::Theme;
use crate::tui::timeline::{self, Row, RowKind};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Rows above the calls: the endpoint's name and role, then its sockets.
const HEADER_ROWS: u16 = 2;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let g = &theme.glyphs;
    let block = panel(" lifecycle: one lane per endpoint ", theme)
        .title_bottom(legend(app, theme).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lanes = app.lesson.actors.len().max(1) as u16;
    if inner.width < lanes * 8 || inner.height <= HEADER_ROWS {
        return;
    }
    let lane_width = inner.width / lanes;
    // Each lane's lifeline: one cell in from the lane's left edge.
    let lane_x = |i: usize| inner.x + 1 + i as u16 * lane_width;
    let buf = frame.buffer_mut();

    // Headings: name and role, then the sockets the endpoint holds now.
    let held = timeline::held(app);
    for (i, actor) in app.lesson.actors.iter().enumerate() {
        let x = lane_x(i);
        let w = lane_width.saturating_sub(2) as usize;
        let head = fit_spans(
            vec![
                Span::styled(actor.name.clone(), theme.title),
                Span::styled(format!(" · {}", actor.role), theme.muted),
            ],
            w,
            g.ellipsis,
        );
        buf.set_line(x, inner.y, &Line::from(head), w as u16);
        let socks: Vec<String> = held
            .iter()
            .filter(|h| h.actor == actor.name)
            .map(|h| {
                let port = |a: &Option<String>| {
                    a.as_deref()
                        .and_then(|a| a.rsplit_once(':'))
                        .map(|(_, p)| format!(":{p}"))
                        .unwrap_or_default()
                };
                match (h.proto, &h.peer) {
                    // A connection: which peer port it talks to.
                    (Proto::Tcp, Some(_)) if h.state.starts_with("connected") => {
                        format!("fd {} {} {}", h.fd, g.both, port(&h.peer))
                    }
                    _ => format!("fd {} {} {}", h.fd, short_state(&h.state), port(&h.local))
                        .trim_end()
                        .to_string(),
                }
            })
            .collect();
        let socks = if socks.is_empty() {
            "no sockets".to_string()
        } else {
            socks.join(" · ")
        };
        buf.set_stringn(x, inner.y + 1, fit(&socks, w, g.ellipsis), w, theme.muted);
    }

    // Calls and arrows: the newest rows that fit.
    let rows = timeline::rows(app);
    let body = Rect {
        y: inner.y + HEADER_ROWS,
        height: inner.height - HEADER_ROWS,
        ..inner
    };
    let skip = rows.len().saturating_sub(body.height as usize);
    let focus = app.focus();
    // Lifelines run the whole height, as in a sequence diagram.
    for y in body.y..body.y + body.height {
        for i in 0..lanes as usize {
            buf.set_string(lane_x(i), y, g.lifeline, theme.border);
        }
    }
    for (n, row) in rows.iter().skip(skip).enumerate() {
        let y = body.y + n as u16;
        draw_row(
            buf,
            row,
            y,
            lane_width,
            &lane_x,
            app,
            theme,
            row.at_step == focus,
        );
    }
    if rows.is_empty() {
        let hint = if app.latest == 0 {
            "Press Space to run the first call."
        } else {
            ""
        };
        buf.set_stringn(
            lane_x(0) + 2,
            body.y,
            hint,
            lane_width.saturating_sub(4) as usize,
            theme.muted,
        );
    }
}

/// What the arrows are: captured on `lo`, or expected because capture did not
/// run (each event says which).
fn legend<'a>(app: &App, theme: &Theme) -> Line<'a> {
    let g = &theme.glyphs;
    let (mut captured, mut expected) = (false, false);
    for r in app.visible() {
        if let Entry::Event(e) = &r.entry {
            match e.segments {
                Some(_) => captured = true,
                None => expected = true,
            }
        }
    }
    let proto = app
        .lesson
        .steps
        .iter()
        .find_map(|s| s.proto)
        .map_or("TCP", |p| p.name());
    let mut spans = Vec::new();
    if captured {
        spans.push(Span::styled(
            format!(" {0}{0}{1} captured on lo ", g.wire_captured, g.head_right),
            theme.muted,
        ));
    }
    if expected || !captured {
        spans.push(Span::styled(
            format!(
                " {0}{0}{1} expected: what {proto} sends, not captured ",
                g.wire_expected, g.head_right
            ),
            theme.muted,
        ));
    }
    Line::from(spans)
}

/// `listening`, `connected`: the first word of a state, for the heading.
fn short_state(state: &str) -> &str {
    state.split([' ', ',', ':']).next().unwrap_or(state)
}

#[allow(clippy::too_many_arguments)]
fn draw_row(
    buf: &mut Buffer,
    row: &Row,
    y: u16,
    lane_width: u16,
    lane_x: &dyn Fn(usize) -> u16,
    app: &App,
    theme: &Theme,
    current: bool,
) {
    let g = &theme.glyphs;
    let text_width = lane_width.saturating_sub(4) as usize;
    match &row.kind {
        RowKind::Call { lane, event } => {
            let call_style = match (current, event.ok()) {
                (true, _) => theme.current,
                (false, true) => theme.text,
                (false, false) => theme.error,
            };
            let mut spans = Vec::new();
            if !event.ok() {
                spans.push(Span::styled(format!("{} ", g.fail), theme.error));
            }
            spans.push(Span::styled(timeline::lane_text(event), call_style));
            let state = timeline::state_after(event);
            let with_state = {
                let mut s = spans.clone();
                s.push(Span::styled(
                    format!(" {} {state}", g.leads_to),
                    theme.muted,
                ));
                s
            };
            let width: usize = with_state.iter().map(Span::width).sum();
            let spans = if width <= text_width {
                with_state
            } else {
                spans
            };
            let line = Line::from(fit_spans(spans, text_width, g.ellipsis));
            buf.set_line(lane_x(*lane) + 2, y, &line, text_width as u16);
        }
        RowKind::Waiting { lane, text, done } => {
            let (label, style) = if *done {
                (format!("{text} {} waited", g.waiting), theme.muted)
            } else {
                (format!("{text} {} waiting", g.waiting), theme.waiting)
            };
            let style = if current {
                style.patch(theme.current)
            } else {
                style
            };
            buf.set_stringn(
                lane_x(*lane) + 2,
                y,
                fit(&label, text_width, g.ellipsis),
                text_width,
                style,
            );
        }
        RowKind::Wire {
            from,
            to,
            segment,
            index,
        } => {
            let progress = match app.anim {
                Some(a) if current && a.step == row.at_step => a.progress(*index),
                _ => 1.0,
            };
            let style = if current {
                theme
                    .wire
                    .patch(Style::new().add_modifier(ratatui::style::Modifier::BOLD))
            } else {
                theme.wire
            };
            let line = match segment.source {
                Source::Expected => g.wire_expected,
                Source::Captured => g.wire_captured,
            };
            draw_arrow(
                buf,
                y,
                lane_x(*from),
                lane_x(*to),
                progress,
                &segment.label,
                line,
                style,
                theme,
            );
        }
    }
}

/// An arrow from lifeline `from_x` to lifeline `to_x`, drawn `progress` of
/// the way (0.0 to 1.0), head first, with its label in the middle.
#[allow(clippy::too_many_arguments)]
fn draw_arrow(
    buf: &mut Buffer,
    y: u16,
    from_x: u16,
    to_x: u16,
    progress: f64,
    label: &str,
    line: &str,
    style: Style,
    theme: &Theme,
) {
    if progress <= 0.0 || from_x == to_x {
        return;
    }
    let g = &theme.glyphs;
    let rightward = to_x > from_x;
    // The cells between the two lifelines.
    let (lo, hi) = if rightward {
        (from_x + 1, to_x - 1)
    } else {
        (to_x + 1, from_x - 1)
    };
    let len = (hi - lo + 1) as usize;
    let drawn = ((len as f64 * progress).round() as usize).clamp(1, len);
    let cells: Vec<u16> = if rightward {
        (lo..lo + drawn as u16).collect()
    } else {
        ((hi + 1 - drawn as u16)..=hi).collect()
    };
    for &x in &cells {
        buf.set_string(x, y, line, style);
    }
    let head_x = if rightward {
        cells[cells.len() - 1]
    } else {
        cells[0]
    };
    let head = if rightward { g.head_right } else { g.head_left };
    buf.set_string(head_x, y, head, style);
    // The label sits in the middle of the whole span, once the arrow has
    // reached it.
    let text = format!(" {label} ");
    let tw = text.chars().count();
    if tw + 2 <= len {
        let start = lo + ((len - tw) / 2) as u16;
        let covered = cells.contains(&start) && cells.contains(&(start + tw as u16 - 1));
        if covered {
            buf.set_string(start, y, &text, style);
        }
    }
}
