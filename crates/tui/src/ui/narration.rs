//! The narration: for the focused step, the call as code, what it did in
//! plain words (with this run's values), why it matters, a question for the
//! room, and whether the lesson's claims held on this run. Calls the step
//! woke (an accept returning because a client connected) follow it.
//!
//! A small terminal cannot hold all of that: when the text goes on past the
//! panel, its bottom border says so (`↓ more · m reads it all`), and `m`
//! opens the whole narration ([`content`]) in the shell's window that
//! scrolls.

use crate::app::{App, Entry, RunState};
use crate::theme::Theme;
use crate::timeline;
use crate::widgets::{panel, scroll};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Padding, Paragraph, Wrap};
use sockscope_core::engine::{Call, Event, Proto, Waiting};
use sockscope_core::lesson::{self, Step};

/// The panel's title and every line of the focused step's narration.
#[must_use]
pub fn content<'a>(app: &'a App, theme: &Theme) -> (String, Vec<Line<'a>>) {
    let focus = app.focus();
    let title = match app.lesson.steps.get(focus.wrapping_sub(1)) {
        Some(step) if focus > 0 => format!(" step {focus} · {} ", step.actor),
        _ => format!(" {} ", app.lesson.title),
    };
    let mut lines: Vec<Line> = Vec::new();
    if let Some(n) = &app.notice {
        lines.push(Line::styled(n.clone(), theme.waiting));
    }
    if focus == 0 {
        lines.push(Line::styled(app.lesson.intro.clone(), theme.text));
        lines.push(Line::styled(
            "Press Space to run the first call. Each press runs one real system call.",
            theme.key,
        ));
    }
    let records = timeline::focused(app);
    // The step's own call first, then the calls it woke.
    // The step's own call: its event once it has returned (a connect that
    // waited a moment reports Waiting, then its event, in the same step).
    let own = records
        .iter()
        .find(|r| r.entry.step() == focus && matches!(r.entry, Entry::Event(_)))
        .or_else(|| records.iter().find(|r| r.entry.step() == focus));
    let step = app.lesson.steps.get(focus.wrapping_sub(1));
    // Most important first, since a small screen cuts the bottom: the call
    // and what it did, then the calls it woke, then why and a question.
    let mut more = Vec::new();
    if let (Some(r), Some(step)) = (own, step) {
        match &r.entry {
            Entry::Event(e) => {
                event_lines(&mut lines, e, step, theme, false);
                // Study mode: the student's prediction, graded by this event.
                if let Some((p, g)) = app.graded(e) {
                    let style = if g.right() { theme.ok } else { theme.error };
                    lines.push(Line::styled(
                        crate::study::verdict(p, &g, theme.glyphs.ok, theme.glyphs.fail),
                        style,
                    ));
                }
                explain_lines(&mut more, e, step, theme);
            }
            Entry::Waiting(w) => waiting_lines(&mut lines, w, theme, app.review.is_none()),
        }
    }
    for r in records.iter().filter(|r| r.entry.step() != focus) {
        if let (Entry::Event(e), Some(step)) = (&r.entry, app.lesson.steps.get(r.entry.step() - 1))
        {
            event_lines(&mut lines, e, step, theme, true);
        }
    }
    lines.extend(more);
    if app.review.is_none() {
        match &app.run {
            RunState::Finished => lines.push(Line::styled(
                "The lesson is over: every socket is closed. r runs it again with new sockets; L picks another lesson.",
                theme.key,
            )),
            RunState::Failed(e) => {
                lines.push(Line::styled(format!("The run stopped: {e}"), theme.error));
            }
            RunState::Running => {}
        }
    }
    (title, lines)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let (title, lines) = content(app, theme);
    let mut block = panel(title, theme).padding(Padding::horizontal(1));
    let inner = block.inner(area);
    if scroll::rows(&lines, inner.width, true) > inner.height {
        // Cut: say so where the eye ends, and how to read the rest.
        block = block.title_bottom(
            Line::styled(
                format!(
                    " {} more · {} reads it all ",
                    theme.glyphs.down,
                    app.keys.first(crate::keys::Action::Narration)
                ),
                theme.key,
            )
            .right_aligned(),
        );
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        area,
    );
}

fn checks_span<'a>(e: &Event, theme: &Theme) -> Vec<Span<'a>> {
    let g = &theme.glyphs;
    if e.checks.is_empty() {
        return Vec::new();
    }
    let failed: Vec<_> = e.checks.iter().filter(|c| !c.ok).collect();
    if failed.is_empty() {
        return vec![Span::styled(
            format!("   {} checked on this run", g.ok),
            theme.ok,
        )];
    }
    failed
        .iter()
        .map(|c| {
            Span::styled(
                format!(
                    "   {} {}: expected {}, seen {}",
                    g.fail, c.what, c.expected, c.seen
                ),
                theme.error,
            )
        })
        .collect()
}

fn event_lines(lines: &mut Vec<Line<'_>>, e: &Event, step: &Step, theme: &Theme, woken: bool) {
    let mut head = Vec::new();
    if woken {
        head.push(Span::styled(
            format!("meanwhile {}: ", e.actor),
            theme.muted,
        ));
    }
    head.push(Span::styled(
        e.syscall_line(),
        if e.ok() { theme.code } else { theme.error },
    ));
    if let Some(w) = e.waited_us {
        head.push(Span::styled(
            format!("  (waited {:.3} ms)", w as f64 / 1000.0),
            theme.muted,
        ));
    }
    if !e.flags.is_empty() {
        // What the kernel said with the result (EOF, a poll's revents,
        // SIGPIPE) and what sockscope worked out from it (byte orders),
        // on the call's own line.
        head.push(Span::styled(
            format!("  {}", e.flags.join(" · ")),
            theme.muted,
        ));
    }
    head.extend(checks_span(e, theme));
    lines.push(Line::from(head));
    if let Some(x) = &e.explain {
        lines.push(Line::styled(
            format!("{} {x}", theme.glyphs.fail),
            theme.error,
        ));
    }
    lines.push(Line::styled(lesson::narrate(&step.say, e), theme.text));
    if let Some(table) = &e.fds {
        // Why the new fd has the number it has: every lower one is taken.
        lines.push(Line::from(vec![
            Span::styled("Open fds (/proc/self/fd): ", theme.title),
            Span::styled(
                sockscope_core::kernel::fds::summary(table, e.new_fd),
                theme.muted,
            ),
        ]));
    }
}

/// Why the call matters and a question for the room.
fn explain_lines(lines: &mut Vec<Line<'_>>, e: &Event, step: &Step, theme: &Theme) {
    if let Some(p) = properties(e) {
        lines.push(Line::styled(p, theme.title));
    }
    if !step.why.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("Why it matters: ", theme.title),
            // The why can quote this run's figures too ({settle_ms}, ...).
            Span::styled(lesson::narrate(&step.why, e), theme.text),
        ]));
    }
    if !step.ask.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("Ask the room: ", theme.key),
            Span::styled(lesson::narrate(&step.ask, e), theme.muted),
        ]));
    }
}

/// What kind of socket moved this data, where a data call shows it.
fn properties(e: &Event) -> Option<&'static str> {
    if !e.call.moves_data() || !e.ok() {
        return None;
    }
    Some(match e.proto {
        Proto::Tcp => {
            "Stream socket (TCP): ordered, reliable, no duplicates, and no record boundaries: the reader gets bytes, not messages."
        }
        Proto::Udp => {
            "Datagram socket (UDP): each datagram keeps its boundaries, but delivery, order and uniqueness are not guaranteed."
        }
    })
}

fn waiting_lines(lines: &mut Vec<Line<'_>>, w: &Waiting, theme: &Theme, now: bool) {
    lines.push(Line::from(vec![
        Span::styled(format!("{}({})", w.call, w.args), theme.code),
        Span::styled(format!(" {} waiting", theme.glyphs.waiting), theme.waiting),
    ]));
    // What the kernel said about the sleeping thread, read from /proc while
    // it slept (wchan): only what was read.
    if let Some(blocked) = w.blocked_in() {
        lines.push(Line::styled(
            sockscope_core::vocab::preview::text(&blocked).into_owned(),
            theme.waiting,
        ));
    }
    let why = match w.call {
        Call::Accept => {
            "No client has connected yet, so the kernel has nothing to hand over: accept waits until a client's handshake completes."
        }
        Call::Recv | Call::Recvfrom => {
            "Nothing has arrived for this socket yet, so the call waits until data comes in."
        }
        Call::Connect => "The handshake has not finished yet.",
        Call::Send => "The send buffer is full, so the call waits for room.",
        _ => "The call is waiting in the kernel.",
    };
    lines.push(Line::styled(why, theme.text));
    if now {
        lines.push(Line::styled(
            "Press Space: the next call runs while this one waits, as another program would.",
            theme.muted,
        ));
    }
}
