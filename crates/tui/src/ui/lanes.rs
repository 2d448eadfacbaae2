//! The lifecycle lanes: one column per endpoint, each call in its lane with
//! its real result and the state it leaves, and arrows between lanes for
//! what crosses the wire. A sequence diagram that grows one real call at a
//! time; the newest rows stay in view.

use crate::app::{App, Entry};
use crate::arrows::Source;
use crate::theme::Theme;
use crate::timeline::{self, Held, Row, RowKind};
use crate::widgets::{fit, fit_spans, panel};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use sockscope_core::engine::Proto;

/// Rows above the calls: the endpoint's name and role, then its sockets.
const HEADER_ROWS: u16 = 2;
/// Narrower than this, a lane cannot show a call; the panel stays empty.
const MIN_LANE_WIDTH: u16 = 8;

/// Where the lanes are: lane `i`'s lifeline, and the text beside it.
#[derive(Debug, Clone, Copy)]
struct Grid {
    x: u16,
    lane_width: u16,
}

impl Grid {
    /// The lifeline: one cell in from the lane's left edge.
    fn lifeline(self, lane: usize) -> u16 {
        self.x + 1 + lane as u16 * self.lane_width
    }
    fn text_x(self, lane: usize) -> u16 {
        self.lifeline(lane) + 2
    }
    fn text_width(self) -> usize {
        self.lane_width.saturating_sub(4) as usize
    }
}

/// The rows of calls and arrows below the lanes' two heading rows.
fn body_of(inner: Rect) -> Rect {
    Rect {
        y: inner.y + HEADER_ROWS,
        height: inner.height - HEADER_ROWS,
        ..inner
    }
}

/// The first of `rows` drawn: the newest that fit in `body`.
fn first_shown(rows: usize, body: Rect) -> usize {
    rows.saturating_sub(body.height as usize)
}

/// The step of the call or arrow drawn at (`column`, `row`) when the lanes
/// panel is drawn in `area`: what a click there reviews. The same geometry
/// as [`render`], from the same helpers.
#[must_use]
pub fn step_at(area: Rect, app: &App, column: u16, row: u16) -> Option<usize> {
    let inner = ratatui::widgets::Block::bordered().inner(area);
    let lanes = app.lesson.actors.len().max(1) as u16;
    if inner.width < lanes * MIN_LANE_WIDTH || inner.height <= HEADER_ROWS {
        return None;
    }
    let body = body_of(inner);
    let inside = (body.x..body.x + body.width).contains(&column)
        && (body.y..body.y + body.height).contains(&row);
    if !inside {
        return None;
    }
    let rows = timeline::rows(app);
    let at = first_shown(rows.len(), body) + usize::from(row - body.y);
    rows.get(at).map(|r| r.at_step)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let g = &theme.glyphs;
    let block = panel(" lifecycle: one lane per endpoint ", theme)
        .title_bottom(legend(app, theme).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lanes = app.lesson.actors.len().max(1) as u16;
    if inner.width < lanes * MIN_LANE_WIDTH || inner.height <= HEADER_ROWS {
        return;
    }
    let grid = Grid {
        x: inner.x,
        lane_width: inner.width / lanes,
    };
    let buf = frame.buffer_mut();

    // Headings: name and role, then the sockets the endpoint holds now.
    let held = timeline::held(app);
    let heading_width = grid.lane_width.saturating_sub(2) as usize;
    for (i, actor) in app.lesson.actors.iter().enumerate() {
        let x = grid.lifeline(i);
        let heading = fit_spans(
            vec![
                Span::styled(actor.name.clone(), theme.title),
                Span::styled(format!(" · {}", actor.role), theme.muted),
            ],
            heading_width,
            g.ellipsis,
        );
        buf.set_line(x, inner.y, &Line::from(heading), heading_width as u16);
        let view = app.kernel_view().map(|(v, _)| v);
        let mut socks: Vec<String> = held
            .iter()
            .filter(|h| h.actor == actor.name)
            .map(|h| {
                let mut s = socket_summary(h, theme);
                // The kernel's own name for the socket's TCP state.
                let key = format!("{}:{}", h.actor, h.sock);
                if let Some(st) = view.and_then(|v| v.get(&key)).and_then(|v| v.tcp_state) {
                    s.push(' ');
                    s.push_str(st.name());
                }
                s
            })
            .collect();
        // Connections the program closed but the kernel still keeps.
        for (key, v) in view.into_iter().flatten() {
            let mine = key.split_once(':').is_some_and(|(a, _)| a == actor.name);
            if mine && v.seen_in == sockscope_core::vocab::SeenIn::Table && !v.has_fd {
                let held_too = held
                    .iter()
                    .any(|h| format!("{}:{}", h.actor, h.sock) == *key);
                if !held_too {
                    let st = v.tcp_state.map_or("?", |s| s.name());
                    socks.push(format!("{st} (no fd)"));
                }
            }
        }
        let socks = if socks.is_empty() {
            "no sockets".to_string()
        } else {
            socks.join(" · ")
        };
        buf.set_stringn(
            x,
            inner.y + 1,
            fit(&socks, heading_width, g.ellipsis),
            heading_width,
            theme.muted,
        );
    }

    // Calls and arrows: the newest rows that fit.
    let rows = timeline::rows(app);
    let body = body_of(inner);
    // Lifelines run the whole height, as in a sequence diagram.
    for y in body.y..body.y + body.height {
        for i in 0..lanes as usize {
            buf.set_string(grid.lifeline(i), y, g.lifeline, theme.border);
        }
    }
    let skip = first_shown(rows.len(), body);
    for (n, row) in rows.iter().skip(skip).enumerate() {
        draw_row(buf, row, body.y + n as u16, grid, app, theme);
    }
    if app.latest == 0 {
        buf.set_stringn(
            grid.text_x(0),
            body.y,
            "Press Space to run the first call.",
            grid.text_width(),
            theme.muted,
        );
    }
}

/// `fd 9 listening :47397`, `fd 12 ↔ :52014` (a connection, by its peer's
/// port), `fd 11 created`.
fn socket_summary(h: &Held, theme: &Theme) -> String {
    let port = |a: &Option<String>| {
        a.as_deref()
            .and_then(|a| a.rsplit_once(':'))
            .map(|(_, p)| format!(" :{p}"))
            .unwrap_or_default()
    };
    match (h.proto, &h.peer) {
        (Proto::Tcp, Some(_)) if h.state.starts_with("connected") => {
            format!("fd {} {}{}", h.fd, theme.glyphs.both, port(&h.peer))
        }
        _ => format!("fd {} {}{}", h.fd, short_state(&h.state), port(&h.local)),
    }
}

/// What the arrows are: captured on `lo`, or expected because capture did not
/// run (each event says which).
fn legend<'a>(app: &App, theme: &Theme) -> Line<'a> {
    let g = &theme.glyphs;
    let (mut captured, mut expected) = (false, false);
    // The protocols of the arrows drawn as expected: the legend names what
    // each of them sends (a lesson with TCP and UDP sockets draws both).
    let mut protos: Vec<Proto> = Vec::new();
    for r in app.visible() {
        if let Entry::Event(e) = &r.entry {
            if e.segments.is_some() {
                captured = true;
            } else {
                expected = true;
                if !protos.contains(&e.proto) {
                    protos.push(e.proto);
                }
            }
        }
    }
    if protos.is_empty() {
        // Nothing ran yet: the protocols the lesson will use.
        for p in app.lesson.steps.iter().filter_map(|s| s.proto) {
            if !protos.contains(&p) {
                protos.push(p);
            }
        }
    }
    protos.sort_by_key(|p| p.name());
    let proto = match protos.as_slice() {
        [] => "the protocol sends".to_string(),
        [one] => format!("{} sends", one.name()),
        many => format!(
            "{} send",
            many.iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    };
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
                " {0}{0}{1} expected: what {proto}, not captured ",
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

fn draw_row(buf: &mut Buffer, row: &Row, y: u16, grid: Grid, app: &App, theme: &Theme) {
    let g = &theme.glyphs;
    let current = row.at_step == app.focus();
    let text_width = grid.text_width();
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
            // The state the call leaves, when the lane has room for it (the
            // heading above always shows the sockets' states): with the
            // kernel's own word for it on a wide lane, in plain words on a
            // narrower one, not at all on the narrowest.
            let friendly = timeline::state_after(event);
            let mut states = Vec::new();
            if let Some(k) = timeline::kernel_state(event) {
                states.push(format!(" {} {friendly} · {k}", g.leads_to));
            }
            states.push(format!(" {} {friendly}", g.leads_to));
            let used: usize = spans.iter().map(Span::width).sum();
            if let Some(state) = states
                .into_iter()
                .find(|s| used + Span::raw(s.as_str()).width() <= text_width)
            {
                spans.push(Span::styled(state, theme.muted));
            }
            let line = Line::from(fit_spans(spans, text_width, g.ellipsis));
            buf.set_line(grid.text_x(*lane), y, &line, text_width as u16);
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
                grid.text_x(*lane),
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
            let arrow = Arrow {
                from_x: grid.lifeline(*from),
                to_x: grid.lifeline(*to),
                progress: match app.anim {
                    Some(a) if current && a.step == row.at_step => a.progress(*index),
                    _ => 1.0,
                },
                label: &segment.label,
                detail: segment.detail.as_deref(),
                line: match segment.source {
                    Source::Expected => g.wire_expected,
                    Source::Captured => g.wire_captured,
                },
                style: if current {
                    theme.wire.add_modifier(Modifier::BOLD)
                } else {
                    theme.wire
                },
            };
            arrow.draw(buf, y, theme);
        }
    }
}

/// A segment between two lifelines, drawn `progress` of the way (0.0 to
/// 1.0), head first, with its label in the middle.
struct Arrow<'a> {
    from_x: u16,
    to_x: u16,
    progress: f64,
    label: &'a str,
    /// The segment's numbers, added after the label when they fit.
    detail: Option<&'a str>,
    /// The glyph the shaft is drawn with: dashed for expected, solid for
    /// captured.
    line: &'a str,
    style: Style,
}

impl Arrow<'_> {
    fn draw(&self, buf: &mut Buffer, y: u16, theme: &Theme) {
        let g = &theme.glyphs;
        let rightward = self.to_x > self.from_x;
        // The cells strictly between the two lifelines.
        let (lo, hi) = if rightward {
            (self.from_x + 1, self.to_x.saturating_sub(1))
        } else {
            (self.to_x + 1, self.from_x.saturating_sub(1))
        };
        if self.progress <= 0.0 || hi < lo {
            return;
        }
        let len = (hi - lo + 1) as usize;
        let drawn = ((len as f64 * self.progress).round() as usize).clamp(1, len) as u16;
        // A rightward arrow grows from the left lifeline, a leftward one from
        // the right; the head leads.
        let (start, end) = if rightward {
            (lo, lo + drawn - 1)
        } else {
            (hi + 1 - drawn, hi)
        };
        for x in start..=end {
            buf.set_string(x, y, self.line, self.style);
        }
        let (head_x, head) = if rightward {
            (end, g.head_right)
        } else {
            (start, g.head_left)
        };
        buf.set_string(head_x, y, head, self.style);
        // The label sits in the middle of the whole span, once the arrow
        // has reached all of it; with the segment's numbers when they fit.
        let short = format!(" {} ", self.label);
        let text = match self.detail {
            Some(d) if short.chars().count() + d.chars().count() + 3 <= len => {
                format!(" {} {d} ", self.label)
            }
            _ => short,
        };
        let tw = text.chars().count() as u16;
        if usize::from(tw) + 2 <= len {
            let at = lo + (len as u16 - tw) / 2;
            if at >= start && at + tw - 1 <= end {
                buf.set_string(at, y, &text, self.style);
            }
        }
    }
}
