//! The `sockscope serve` screen: the command to connect, a warning when the
//! server is reachable from the network, and one lane per endpoint (the
//! server's own, then the newest peers that fit).
//!
//! ```text
//!  sockscope serve │ TCP echo server on 127.0.0.1:41234     2 open · 5 peers · 60 B echoed
//! ╭ connect from another terminal ──────────────────────────────────────────────────╮
//! │ nc 127.0.0.1 41234                                                              │  (large in presenter mode)
//! │ or: python3 -c "import socket; ..."                                             │
//! ╰─────────────────────────────────────────────────────────────────────────────────╯
//! ╭ server ────────────╮╭ peer1 · 127.0.0.1:52014 ╮╭ peer2 · 127.0.0.1:52020 ──────╮
//! │ listen(9) = 0      ││ recv(12) = 6 "hello\n"  ││ recv(13, 4096) … waiting      │  lanes
//! ╰────────────────────╯╰─────────────────────────╯╰───────────────────────────────╯
//!  q stop the server   P present   b blank   f freeze   e handout   ? help
//! ```
//!
//! The help, blank and freeze are the shell's: while frozen, the shell's
//! shown picture is drawn, but the key bar stays live so a notice can still
//! be read and it says how to thaw.

use crate::keys::Action;
use crate::serve::{Lane, Row, ServeView};
use crate::shell::Shell;
use crate::theme::Theme;
use crate::widgets::keybar::{self, KeyBar, item, item_as};
use crate::widgets::{fit, panel};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use sockscope_core::engine::{Call, Event};
use tui_big_text::{BigText, PixelSize};

/// The narrowest a lane may be before fewer lanes are shown.
pub const MIN_LANE: u16 = 28;
/// The banner's rows: borders, the command, the Python line.
pub const BANNER: u16 = 4;
/// The rows the command takes in large type, in presenter mode.
pub const BIG_COMMAND: u16 = 4;
/// Large type needs a terminal at least this tall.
pub const BIG_MIN_HEIGHT: u16 = 24;

pub fn render(frame: &mut Frame, area: Rect, shell: &Shell<ServeView>, theme: &Theme) {
    // Frozen (`f`): the picture of that moment, while the server goes on
    // serving; the key bar stays live.
    let shown = shell.shown();
    let big = shell.present
        && !theme.ascii
        && (shown.connect.chars().count() as u16) * 4 + 4 <= area.width
        && area.height >= BIG_MIN_HEIGHT;
    let banner_rows =
        if big { BANNER + BIG_COMMAND } else { BANNER } + u16::from(shown.warning.is_some());
    let [title, banner, lanes, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_rows),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    title_line(frame, title, shown, theme);
    banner_box(frame, banner, (shown, big), theme);
    lanes_row(frame, lanes, shown, theme);
    key_bar(frame, keys, shell, theme);
}

/// The keys, after the notice when there is one: quitting first (it stops
/// the server, and says so; Ctrl-C too, in the help), help last.
fn key_bar(frame: &mut Frame, area: Rect, shell: &Shell<ServeView>, theme: &Theme) {
    let view = &shell.screen;
    let k = &view.keys;
    let bar = KeyBar {
        notice: view.notice.as_deref(),
        lead: vec![item_as(k, Action::Quit, "stop the server")],
        items: vec![
            item(k, Action::Present),
            item(k, Action::Blank),
            if shell.frozen.is_some() {
                item_as(k, Action::Freeze, "unfreeze")
            } else {
                item(k, Action::Freeze)
            },
            item(k, Action::Handout),
        ],
        tail: vec![item(k, Action::Help)],
    };
    keybar::render(frame, area, &bar, theme);
}

fn title_line(frame: &mut Frame, area: Rect, view: &ServeView, theme: &Theme) {
    let right = format!(
        "{} open · {} peers · {} B echoed ",
        view.peers_open(),
        view.peers_total,
        view.bytes_echoed
    );
    let left = format!(
        " sockscope serve {} {} echo server on {}",
        theme.glyphs.lifeline,
        view.proto.name(),
        view.local
    );
    let width = area.width as usize;
    let left = fit(
        &left,
        width.saturating_sub(right.len() + 1),
        theme.glyphs.ellipsis,
    );
    let pad = width.saturating_sub(left.chars().count() + right.len());
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(left, theme.title),
            Span::raw(" ".repeat(pad)),
            Span::styled(right, theme.muted),
        ])),
        area,
    );
}

fn banner_box(frame: &mut Frame, area: Rect, (view, big): (&ServeView, bool), theme: &Theme) {
    let block = panel(" connect from another terminal ", theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut rows = inner;
    if big {
        let [text, rest] =
            Layout::vertical([Constraint::Length(BIG_COMMAND), Constraint::Fill(1)]).areas(inner);
        frame.render_widget(
            BigText::builder()
                .pixel_size(PixelSize::Quadrant)
                .style(theme.code)
                .lines(vec![Line::from(view.connect.clone())])
                .build(),
            text,
        );
        rows = rest;
    }
    let mut lines = Vec::new();
    if !big {
        lines.push(Line::styled(
            format!(" {}", view.connect),
            theme.code.add_modifier(Modifier::BOLD),
        ));
    }
    // The Python line only when it fits whole: a cut command would not run.
    if view.python.chars().count() + 5 <= rows.width as usize {
        lines.push(Line::from(vec![
            Span::styled(" or: ", theme.muted),
            Span::styled(view.python.clone(), theme.code),
        ]));
    } else {
        lines.push(Line::styled(
            " (or telnet, a Python socket, a browser for TCP)",
            theme.muted,
        ));
    }
    if let Some(w) = &view.warning {
        lines.push(Line::styled(format!(" {}", w), theme.error));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), rows);
}

fn lanes_row(frame: &mut Frame, area: Rect, view: &ServeView, theme: &Theme) {
    let fit_count = (area.width / MIN_LANE).max(1) as usize;
    // The server's lane, then the newest peers that fit.
    let peers: Vec<&Lane> = view
        .peers
        .iter()
        .skip(view.peers.len().saturating_sub(fit_count.saturating_sub(1)))
        .collect();
    let mut shown: Vec<&Lane> = vec![&view.server];
    shown.extend(peers);
    let areas = Layout::horizontal(vec![Constraint::Fill(1); shown.len()]).split(area);
    for (lane, rect) in shown.iter().zip(areas.iter()) {
        lane_box(frame, *rect, lane, theme);
    }
    if view.peers.is_empty() {
        // Said in the server's lane's place of honour: nobody yet.
        let hint = Rect {
            y: area.y + area.height.saturating_sub(2),
            height: 1,
            ..areas[0]
        };
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!(" waiting for a peer: {}", view.connect),
                theme.waiting,
            )),
            hint,
        );
    }
}

fn lane_box(frame: &mut Frame, area: Rect, lane: &Lane, theme: &Theme) {
    let mut title = format!(" {} ", lane.actor);
    if let Some(p) = &lane.peer {
        title = format!(" {} · {p} ", lane.actor);
    }
    if lane.actor != "server" {
        title.push_str(if lane.closed {
            "· closed "
        } else {
            "· open "
        });
    }
    let block = panel(title, theme).padding(ratatui::widgets::Padding::horizontal(1));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let height = inner.height as usize;
    let lines: Vec<Line> = lane
        .rows
        .iter()
        .skip(lane.rows.len().saturating_sub(height))
        .map(|r| row_line(r, theme, width))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row_line<'a>(row: &Row, theme: &Theme, width: usize) -> Line<'a> {
    let g = &theme.glyphs;
    match row {
        Row::Waiting(w) => Line::from(vec![
            Span::styled(
                fit(
                    &format!("{}({})", w.call, w.args),
                    width.saturating_sub(10),
                    g.ellipsis,
                ),
                theme.code,
            ),
            Span::styled(format!(" {} waiting", g.waiting), theme.waiting),
        ]),
        Row::Call(e) => {
            let text = call_text(e);
            let style = if e.ok() { theme.text } else { theme.error };
            Line::styled(fit(&text, width, g.ellipsis), style)
        }
    }
}

/// `recv(12) = 6 "hello\n"`, `accept(9) = 12 from 127.0.0.1:52014`,
/// `recv(12) = 0 EOF: the peer closed`, `recv(12) = -1 ECONNRESET`.
fn call_text(e: &Event) -> String {
    let fd = e.fd.map(|f| f.to_string()).unwrap_or_default();
    let mut s = format!("{}({fd}) = {}", e.call, e.return_value());
    if !e.ok() {
        s.push(' ');
        s.push_str(e.result.name());
        return s;
    }
    match e.call {
        Call::Accept => {
            if let Some(p) = &e.peer {
                s.push_str(&format!(" from {p}"));
            }
        }
        Call::Recv | Call::Recvfrom if e.bytes == Some(0) && e.call == Call::Recv => {
            s.push_str(" EOF: the peer closed");
        }
        Call::Recv | Call::Recvfrom | Call::Send | Call::Sendto => {
            if let Some(d) = &e.data {
                s.push_str(&format!(" \"{d}\""));
            }
        }
        Call::Bind | Call::Listen => {
            if let Some(l) = &e.local {
                s.push_str(&format!(" {l}"));
            }
        }
        _ => {}
    }
    for f in e
        .flags
        .iter()
        .filter(|f| !f.starts_with("lane ") && *f != "EOF")
    {
        s.push_str(&format!(" ({f})"));
    }
    s
}
