//! The `sockscope run` screen: a lane per process or thread with the calls
//! it made, the call in focus in full, and the programs' own output.
//!
//! ```text
//!  sockscope run │ ./server ::: ./client                      autoplay off · 1×
//! ╭ socket calls: one lane per process or thread ──╮╭ held: not run yet ─────────╮
//! │ server[812]           client[813]              ││ client[813] (pid 813)      │
//! │ socket(…) = 3                                  ││ connect(3, 127.0.0.1:8080) │
//! │ bind(3, 127.0.0.1:8080) = 0                    ││ sockscope holds it before  │
//! │ listen(3, 5) = 0                               ││ the call: the kernel has   │
//! │ ⧗ accept(3) in the kernel: inet_csk_accept     ││ not seen it. Space runs it.│
//! │                       ▶ connect(3, …) held     ││                            │
//! ╰────────────────────────────────────────────────╯╰────────────────────────────╯
//! ╭ program output ──────────────────────────────────────────────────────────────╮
//! │ server | listening on 8080                                                   │
//! ╰──────────────────────────────────────────────────────────────────────────────╯
//!  q end the programs   Space run the held call   a autoplay   ↑ review   ? help
//! ```
//!
//! Everything a program chose (its name, its bytes, its output) is escaped
//! before it is drawn, like a peer's payload.

use crate::keys::Action;
use crate::run::{Focus, InKernel, Row, RunView, SPEEDS, call_text, result_text};
use crate::shell::Shell;
use crate::theme::Theme;
use crate::widgets::keybar::{self, KeyBar, item, item_as};
use crate::widgets::{fit, panel};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use sockscope_core::event::Event;
use sockscope_core::tracer::RunEvent;
use sockscope_core::vocab::preview;

/// What a program chose, escaped for the screen.
fn esc(s: &str) -> String {
    preview::text(s).into_owned()
}

/// Wider than this, the focused call sits beside the lanes; narrower, under
/// them.
pub const SIDE_BY_SIDE: u16 = 110;
/// Rows of the focus panel when it sits under the lanes.
pub const FOCUS_ROWS: u16 = 7;
/// Rows of the output panel (borders included).
pub const OUTPUT_ROWS: u16 = 5;

/// Where each panel of the run screen is, in `area`: what [`render`]
/// draws and what a click hits, from one computation.
struct Areas {
    title: Rect,
    lanes: Rect,
    focus: Rect,
    output: Rect,
    keys: Rect,
}

fn areas(area: Rect) -> Areas {
    let [title, body, output, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(OUTPUT_ROWS),
        Constraint::Length(1),
    ])
    .areas(area);
    let [lanes, focus] = if body.width >= SIDE_BY_SIDE {
        Layout::horizontal([Constraint::Percentage(62), Constraint::Fill(1)]).areas(body)
    } else {
        Layout::vertical([Constraint::Fill(1), Constraint::Length(FOCUS_ROWS)]).areas(body)
    };
    Areas {
        title,
        lanes,
        focus,
        output,
        keys,
    }
}

pub fn render(frame: &mut Frame, area: Rect, shell: &Shell<RunView>, theme: &Theme) {
    let view = shell.shown();
    let a = areas(area);
    title_line(frame, a.title, view, theme);
    lanes_panel(frame, a.lanes, view, theme);
    focus_panel(frame, a.focus, view, theme);
    output_panel(frame, a.output, view, theme);
    key_bar(frame, a.keys, shell, theme);
}

/// The rows of calls below the lanes' heading, inside the panel's border.
fn lanes_body(lanes: Rect) -> Rect {
    let inner = ratatui::widgets::Block::bordered().inner(lanes);
    Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1),
        ..inner
    }
}

/// The first of `total` drawn rows shown in `height` rows: the newest that
/// fit, or, while reviewing, a window that keeps the focused row in view.
fn first_shown(view: &RunView, total: usize, height: usize) -> usize {
    let newest = total.saturating_sub(height);
    view.review
        .map_or(newest, |r| r.saturating_sub(height / 2).min(newest))
}

/// The row of the session (an index into `view.rows`) drawn at (`column`,
/// `row`) of a terminal `size` big, if one is: what a click reviews. Held
/// calls and calls in the kernel, drawn below the rows, are not rows yet.
#[must_use]
pub fn row_at(view: &RunView, size: (u16, u16), column: u16, row: u16) -> Option<usize> {
    let body = lanes_body(areas(Rect::new(0, 0, size.0, size.1)).lanes);
    if !body.contains(ratatui::layout::Position::new(column, row)) {
        return None;
    }
    let total = view.rows.len() + view.in_kernel.len() + view.held.len();
    let at = first_shown(view, total, body.height as usize) + usize::from(row - body.y);
    (at < view.rows.len()).then_some(at)
}

fn title_line(frame: &mut Frame, area: Rect, view: &RunView, theme: &Theme) {
    let packets = if view.capture.running() {
        "packets captured · "
    } else {
        "no capture · "
    };
    let right = if view.over {
        format!("{packets}the programs have ended ")
    } else {
        format!(
            "{packets}autoplay {} · {}× ",
            if view.autoplay { "on" } else { "off" },
            SPEEDS[view.speed]
        )
    };
    let programs = view
        .programs
        .iter()
        .map(|p| esc(p))
        .collect::<Vec<_>>()
        .join(" ::: ");
    let mut left = format!(" sockscope run {} {programs}", theme.glyphs.lifeline);
    if let Some(n) = view.network {
        left.push_str(" · ");
        left.push_str(n);
    }
    crate::widgets::title_bar(frame, area, (&left, &right), theme);
}

/// One drawn row of the lanes panel: which lane (none: across all), the
/// text, and its style.
struct Drawn {
    lane: Option<usize>,
    text: String,
    style: Style,
    focused: bool,
}

/// Every row the lanes panel can show, oldest first: the rows that ran,
/// then the calls in the kernel, then the held ones.
fn drawn_rows(view: &RunView, theme: &Theme) -> Vec<Drawn> {
    let g = &theme.glyphs;
    let mut out = Vec::with_capacity(view.rows.len() + view.held.len() + view.in_kernel.len());
    for (i, r) in view.rows.iter().enumerate() {
        let focused = view.review == Some(i);
        out.push(match r {
            Row::Started { pid, argv, .. } => Drawn {
                lane: None,
                text: format!("── pid {pid} started: {}", esc(argv)),
                style: theme.muted,
                focused,
            },
            Row::Call(c) => {
                let failed = !c.event.ok();
                Drawn {
                    lane: view.lane_of(c.tid),
                    text: format!(
                        "{} {}",
                        esc(&call_text(&c.event)),
                        esc(&result_text(&c.event))
                    ),
                    style: if failed { theme.error } else { theme.text },
                    focused,
                }
            }
            Row::Ended { tid, text } => Drawn {
                lane: view.lane_of(*tid),
                text: format!("── {text}"),
                style: theme.muted,
                focused,
            },
        });
    }
    for k in &view.in_kernel {
        out.push(Drawn {
            lane: view.lane_of(k.call.tid),
            text: format!(
                "{} {} {}",
                g.waiting,
                esc(&call_text(&k.call.event)),
                asleep_text(k)
            ),
            style: theme.waiting,
            focused: false,
        });
    }
    for (i, h) in view.held.iter().enumerate() {
        out.push(Drawn {
            lane: view.lane_of(h.tid),
            text: format!(
                "{} {} held{}",
                g.marker,
                esc(&call_text(&h.event)),
                if i == 0 && view.review.is_none() {
                    ": Space runs it"
                } else {
                    ""
                }
            ),
            style: theme.current,
            focused: i == 0 && view.review.is_none(),
        });
    }
    out
}

/// A program's start or a task's end, in words.
fn row_text(view: &RunView, row: &Row) -> String {
    match row {
        Row::Started { pid, argv, .. } => format!("pid {pid} started: {}", esc(argv)),
        Row::Ended { tid, text } => {
            let name = view
                .lane_of(*tid)
                .map_or_else(|| tid.to_string(), |i| view.lanes[i].name());
            format!("{} {text}", esc(&name))
        }
        Row::Call(c) => esc(&call_text(&c.event)),
    }
}

/// Where the kernel has a call that was let run.
fn asleep_text(k: &InKernel) -> String {
    match &k.wchan {
        Some(w) => format!("asleep in the kernel: {}", esc(w)),
        None => "in the kernel".into(),
    }
}

fn lanes_panel(frame: &mut Frame, area: Rect, view: &RunView, theme: &Theme) {
    let block = panel(" socket calls: one lane per process or thread ", theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 || inner.width < 8 {
        return;
    }
    let lane_count = view.lanes.len().max(1);
    let lane_width = (inner.width as usize / lane_count).max(1);
    let ell = theme.glyphs.ellipsis;
    let mut heading = Vec::new();
    for l in &view.lanes {
        let mut name = esc(&l.name());
        if l.ended.is_some() {
            name.push_str(" (ended)");
        }
        heading.push(Span::styled(
            format!(
                "{:<lane_width$}",
                fit(&name, lane_width.saturating_sub(1), ell)
            ),
            theme.title,
        ));
    }
    if view.lanes.is_empty() {
        heading.push(Span::styled(
            if view.over {
                "the programs made no socket call"
            } else {
                "no socket call yet: the programs run until they make one"
            },
            theme.muted,
        ));
    }
    frame.render_widget(
        Paragraph::new(Line::from(heading)),
        Rect { height: 1, ..inner },
    );
    let body = lanes_body(area);
    let rows = drawn_rows(view, theme);
    let height = body.height as usize;
    let first = first_shown(view, rows.len(), height);
    let mut lines = Vec::with_capacity(height);
    for d in rows.iter().skip(first).take(height) {
        let style = if d.focused {
            d.style.patch(theme.review)
        } else {
            d.style
        };
        let line = match d.lane {
            None => Line::styled(fit(&d.text, inner.width as usize, ell), style),
            Some(lane) => {
                let indent = lane * lane_width;
                let room = (inner.width as usize).saturating_sub(indent);
                Line::from(vec![
                    Span::raw(" ".repeat(indent)),
                    Span::styled(fit(&d.text, room, ell), style),
                ])
            }
        };
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), body);
}

fn focus_panel(frame: &mut Frame, area: Rect, view: &RunView, theme: &Theme) {
    let focus = view.focused();
    let title = match focus {
        Some(Focus::Held(_)) => " held: not run yet ",
        Some(Focus::InKernel(_)) => " let run: in the kernel ",
        Some(Focus::Done(_) | Focus::Row(_)) if view.review.is_some() => " reviewing ",
        Some(Focus::Done(_) | Focus::Row(_)) => " the last call ",
        None => " the call in focus ",
    };
    let block = panel(title, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = match focus {
        None => vec![Line::styled(
            if let Some(why) = &view.failed {
                esc(why)
            } else {
                "sockscope holds each socket call before the kernel sees it; \
                 Space lets it run."
                    .to_string()
            },
            theme.muted,
        )],
        Some(Focus::Held(h)) => {
            let mut l = who(view, h, theme);
            l.push(Line::styled(esc(&call_text(&h.event)), theme.current));
            l.push(Line::styled(
                "sockscope holds it before the call: the kernel has not seen it. \
                 Space runs it.",
                theme.muted,
            ));
            l
        }
        Some(Focus::InKernel(k)) => {
            let mut l = who(view, &k.call, theme);
            l.push(Line::styled(esc(&call_text(&k.call.event)), theme.waiting));
            l.push(Line::styled(
                match &k.wchan {
                    Some(w) => format!(
                        "the call is asleep in the kernel, in {} (/proc/{}/wchan): \
                         it returns when what it waits for happens",
                        esc(w),
                        k.call.tid
                    ),
                    None => "the call is in the kernel and has not returned".to_string(),
                },
                theme.muted,
            ));
            l
        }
        Some(Focus::Done(c)) => done_lines(view, c, theme),
        Some(Focus::Row(row)) => vec![Line::styled(row_text(view, row), theme.text)],
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// The lane's name and the process, the focus panel's first line:
/// `client.py[813] (pid 813)`.
fn who<'a>(view: &RunView, ev: &RunEvent, theme: &Theme) -> Vec<Line<'a>> {
    let name = view.lane_of(ev.tid).map_or_else(
        || format!("{}[{}]", ev.comm, ev.tid),
        |i| view.lanes[i].name(),
    );
    vec![Line::styled(
        format!("{} (pid {})", esc(&name), ev.pid),
        theme.title,
    )]
}

/// A call that returned: what it was, what the kernel answered, and what
/// the kernel said of its socket right after.
fn done_lines<'a>(view: &RunView, c: &RunEvent, theme: &Theme) -> Vec<Line<'a>> {
    let e = &c.event;
    let mut l = who(view, c, theme);
    l.push(Line::styled(
        format!("{} {}", esc(&call_text(e)), esc(&result_text(e))),
        if e.ok() { theme.ok } else { theme.error },
    ));
    if let Some(x) = &e.explain {
        l.push(Line::styled(esc(x), theme.text));
    }
    let mut facts = Vec::new();
    if let Some(a) = &e.local {
        facts.push(format!("local {a}"));
    }
    if let Some(a) = &e.peer {
        facts.push(format!("peer {a}"));
    }
    if let Some(s) = e
        .tcp_state
        .and_then(sockscope_core::event::StateSeen::state)
    {
        facts.push(format!("TCP state {s}"));
    }
    if let Some(k) = &e.kernel {
        if let Some(q) = k.accept_q {
            facts.push(format!("accept queue {q}"));
        }
        if let (Some(r), Some(s)) = (k.recv_q, k.send_q) {
            facts.push(format!("recv-q {r} send-q {s}"));
        }
    }
    if !facts.is_empty() {
        l.push(Line::styled(esc(&facts.join(" · ")), theme.text));
    }
    if let Some(d) = &e.data {
        l.push(Line::styled(format!("\"{d}\""), theme.code));
    }
    for f in &e.flags {
        l.push(Line::styled(esc(f), theme.muted));
    }
    l.extend(packet_lines(view, e, theme));
    l
}

/// The packets the call put on the wire (or caused), as captured: one line
/// each, `src → dst SYN seq=0 …`; or why none can be shown.
fn packet_lines<'a>(view: &RunView, e: &Event, theme: &Theme) -> Vec<Line<'a>> {
    match &e.segments {
        Some(segs) if segs.is_empty() => vec![Line::styled(
            "captured: no packet on the wire for this call",
            theme.muted,
        )],
        Some(segs) => segs
            .iter()
            .map(|seg| {
                Line::styled(
                    format!(
                        "#{} {} {} {}{}",
                        seg.n,
                        seg.src,
                        theme.glyphs.leads_to,
                        seg.dst,
                        format_args!(
                            " {}{}",
                            seg.summary(),
                            if seg.late { " (late)" } else { "" }
                        )
                    ),
                    theme.wire,
                )
            })
            .collect(),
        None => view
            .capture
            .notice()
            .map(|why| {
                vec![Line::styled(
                    format!("packets not captured: {why}"),
                    theme.muted,
                )]
            })
            .unwrap_or_default(),
    }
}

fn output_panel(frame: &mut Frame, area: Rect, view: &RunView, theme: &Theme) {
    let block = panel(" program output (escaped) ", theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let lines: Vec<Line> = if view.output.is_empty() {
        vec![Line::styled("nothing yet", theme.muted)]
    } else {
        view.output
            .iter()
            .skip(view.output.len().saturating_sub(height))
            .map(|o| {
                Line::styled(
                    fit(&esc(o), inner.width as usize, theme.glyphs.ellipsis),
                    theme.text,
                )
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The keys, after the notice when there is one: quitting first (it ends
/// the programs, and says so), help last.
fn key_bar(frame: &mut Frame, area: Rect, shell: &Shell<RunView>, theme: &Theme) {
    let (bar, _) = bar(&shell.screen);
    keybar::render(frame, area, &bar, theme);
}

/// The key a click at `column` of the key bar presses, `width` wide.
#[must_use]
pub fn key_at(view: &RunView, width: u16, column: u16) -> Option<crossterm::event::KeyEvent> {
    let (bar, actions) = bar(view);
    let action = *actions.get(keybar::hit(&bar, width, column)?)?;
    let code = *view.keys.keys(action).first()?;
    Some(crossterm::event::KeyEvent::new(
        code,
        crossterm::event::KeyModifiers::NONE,
    ))
}

/// The bar, and the action of each item (lead, items, tail), so a click on
/// one presses its key. The same words whether or not the picture is
/// frozen, so a click lands where the item is drawn.
fn bar(view: &RunView) -> (KeyBar<'_>, Vec<Action>) {
    let k = &view.keys;
    let bar = KeyBar {
        notice: view.notice.as_deref(),
        lead: vec![item_as(k, Action::Quit, "end the programs")],
        items: vec![
            item_as(k, Action::Next, "run the held call"),
            if view.autoplay {
                item_as(k, Action::Autoplay, "stop autoplay")
            } else {
                item(k, Action::Autoplay)
            },
            item(k, Action::Back),
            item(k, Action::Freeze),
            item(k, Action::Handout),
        ],
        tail: vec![item(k, Action::Help)],
    };
    let actions = vec![
        Action::Quit,
        Action::Next,
        Action::Autoplay,
        Action::Back,
        Action::Freeze,
        Action::Handout,
        Action::Help,
    ];
    (bar, actions)
}
