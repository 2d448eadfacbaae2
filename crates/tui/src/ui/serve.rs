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
//! ╭ all 300 peers · sorted by idle (s) ────────────────────────────── ↓ 280 more ╮
//! │ peer    address      port   in    out   state  idle                          │  the table,
//! │ peer17  10.0.0.23    52014  6     6     open   41 s                          │  when peers
//! ╰──────────────────────────────────────────────────────────────────────────────╯  outnumber lanes
//!  q stop the server   P present   b blank   f freeze   e handout   s sort   ? help
//! ```
//!
//! The counts in the title and the table are the server's own
//! (`crate::serve::Hall`), not counted from the lanes, which come and go.
//!
//! The help, blank and freeze are the shell's: while frozen, the shell's
//! shown picture is drawn, but the key bar stays live so a notice can still
//! be read and it says how to thaw.

use crate::keys::Action;
use crate::serve::{Hall, Lane, Row, ServeView};
use crate::shell::Shell;
use crate::theme::Theme;
use crate::widgets::keybar::{self, KeyBar, item, item_as};
use crate::widgets::{fit, panel};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Table, Wrap};
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
/// The fewest rows the lanes keep when the peers table shares their space.
pub const MIN_LANE_ROWS: u16 = 6;

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
    let lanes_fit = lanes_that_fit(lanes.width);
    match shown.hall.as_ref() {
        // More peers than lanes: the table of all of them under the lanes.
        Some(hall) if hall.peers.len() > lanes_fit.saturating_sub(1) => {
            // The table as tall as its rows (borders and header too), up
            // to two thirds of the room; the lanes keep the rest.
            let wanted = u16::try_from(hall.peers.len())
                .unwrap_or(u16::MAX)
                .saturating_add(3);
            let most = (lanes.height * 2 / 3).min(lanes.height.saturating_sub(MIN_LANE_ROWS));
            let [lanes, table] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(wanted.min(most))])
                    .areas(lanes);
            lanes_row(frame, lanes, shown, theme);
            peers_table(frame, table, (shown, hall), theme);
        }
        _ => lanes_row(frame, lanes, shown, theme),
    }
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
            item(k, Action::Sort),
        ],
        tail: vec![item(k, Action::Help)],
    };
    keybar::render(frame, area, &bar, theme);
}

fn title_line(frame: &mut Frame, area: Rect, view: &ServeView, theme: &Theme) {
    // The server's counts; none shown before the first read (a moment).
    let right = match &view.hall {
        Some(h) => format!(
            "{} open · {} peers · {} B echoed ",
            h.stats.open, h.stats.seen, h.stats.bytes_out
        ),
        None => String::new(),
    };
    let left = format!(
        " sockscope serve {} {} echo server on {}",
        theme.glyphs.lifeline,
        view.proto.name(),
        view.local
    );
    crate::widgets::title_bar(frame, area, (&left, &right), theme);
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
        lines.push(Line::styled(format!(" {w}"), theme.error));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), rows);
}

/// How many lanes (the server's included) a row `width` wide holds.
fn lanes_that_fit(width: u16) -> usize {
    (width / MIN_LANE).max(1) as usize
}

fn lanes_row(frame: &mut Frame, area: Rect, view: &ServeView, theme: &Theme) {
    let fit_count = lanes_that_fit(area.width);
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
        // Said in the server's lane's place of honour: nobody yet. Inside
        // its borders: the line starts one cell in and ends one cell short.
        let lane = areas[0];
        let hint = Rect {
            x: lane.x + 1,
            y: lane.y + lane.height.saturating_sub(2),
            width: lane.width.saturating_sub(2),
            height: 1,
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

/// Every peer the server holds or recently let go, one row each, in the
/// presenter's chosen order, from the table's scroll position.
fn peers_table(frame: &mut Frame, area: Rect, (view, hall): (&ServeView, &Hall), theme: &Theme) {
    let rows = view.sort.sorted(hall);
    let visible = usize::from(area.height.saturating_sub(3));
    let first = view.table_scroll.min(rows.len().saturating_sub(1));
    let below = rows.len().saturating_sub(first + visible);
    let mut title = format!(
        " all {} peers · {} open · sorted by {} ({}) ",
        rows.len(),
        hall.stats.open,
        view.sort.name(),
        view.keys.first(Action::Sort),
    );
    if first > 0 {
        title.push_str(&format!("· ↑ {first} above "));
    }
    let mut block = panel(title, theme).padding(ratatui::widgets::Padding::horizontal(1));
    if below > 0 {
        block = block.title_bottom(
            Line::styled(format!(" ↓ {below} more · j k "), theme.muted).right_aligned(),
        );
    }
    let header =
        ratatui::widgets::Row::new(["peer", "address", "port", "in", "out", "state", "idle"])
            .style(theme.muted);
    let body = rows.iter().skip(first).take(visible).map(|p| {
        let style = if p.state == "open" {
            theme.text
        } else {
            theme.muted
        };
        ratatui::widgets::Row::new([
            Cell::from(p.actor.clone()),
            Cell::from(p.addr.ip().to_string()),
            Cell::from(p.addr.port().to_string()),
            Cell::from(p.bytes_in.to_string()),
            Cell::from(p.bytes_out.to_string()),
            Cell::from(p.state.clone()),
            Cell::from(format!("{} s", hall.idle(p).as_secs())),
        ])
        .style(style)
    });
    let widths = [
        Constraint::Length(9),
        Constraint::Min(15),
        Constraint::Length(6),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(12),
        Constraint::Length(8),
    ];
    frame.render_widget(Table::new(body, widths).header(header).block(block), area);
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
