//! The code panel (`c`, again for the next language): the focused step's actor as
//! a program (crate::code, from the lines `sockscope export` writes), scrolled so the line
//! of the focused call is in view and marked, the lines that ran before it
//! dimmed, and beside each line that ran, what it returned on this run.
//!
//! ```text
//! ╭ code · C · server ───────────────────────────────╮
//! │ void *server(void *arg) {                        │
//! │     int listener = socket(AF_INET, SOCK_STREAM…  │ // = 11
//! │ ▸   listen(listener, 8);                         │ // = 0
//! ```

use crate::app::{App, Entry};
use crate::code::{self, CodeLine};
use crate::theme::Theme;
use crate::widgets::{fit_spans, panel};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use sockscope_core::engine::Event;
use std::collections::BTreeMap;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let focus = app.focus();
    // The focused step's actor; before the first call, the first step's.
    let Some(actor) = app
        .lesson
        .steps
        .get(focus.max(1) - 1)
        .map(|s| s.actor.clone())
    else {
        return;
    };
    let lines = code::program(&app.lesson, &actor, app.code_lang);
    let said = results(app, focus);
    let label = format!(" code · {} ", app.code_lang.label());
    if area.height <= 2 {
        // A small screen's one row: the focused call's line alone.
        let Some(l) = lines
            .iter()
            .find(|l| l.step == Some(focus) && l.call)
            .or(lines.get(1))
        else {
            return;
        };
        let room = (area.width as usize).saturating_sub(label.chars().count());
        let mut spans = vec![Span::styled(label, theme.title)];
        spans.extend(line(l, &said, app, focus, room, theme).spans);
        frame.render_widget(
            Paragraph::new(Line::from(spans)).style(theme.base),
            Rect { height: 1, ..area },
        );
        return;
    }
    let block = panel(format!("{label}· {actor} "), theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let width = inner.width as usize;
    let here = lines.iter().position(|l| l.step == Some(focus) && l.call);
    // Scrolled so the focused line sits a third of the way down.
    let rows = inner.height as usize;
    let first = here
        .map_or(0, |h| h.saturating_sub(rows / 3))
        .min(lines.len().saturating_sub(rows));
    let shown: Vec<Line> = lines
        .iter()
        .skip(first)
        .take(rows)
        .map(|l| line(l, &said, app, focus, width, theme))
        .collect();
    frame.render_widget(Paragraph::new(shown).style(theme.base), inner);
}

/// What each step up to `focus` gave on this run, as its line's comment:
/// read once from the screen's records, the latest of a step winning (a
/// repeated step's last call; a call that waited, once it returned).
fn results(app: &App, focus: usize) -> BTreeMap<usize, String> {
    let mut said = BTreeMap::new();
    for r in app.visible() {
        let (step, text) = match &r.entry {
            Entry::Event(e) => (e.step, result(e)),
            // Called, and not returned: asleep in the kernel.
            Entry::Waiting(w) => (w.step, "… waiting".to_string()),
        };
        if step <= focus {
            said.insert(step, text);
        }
    }
    said
}

fn line<'a>(
    l: &CodeLine,
    said: &BTreeMap<usize, String>,
    app: &App,
    focus: usize,
    width: usize,
    theme: &Theme,
) -> Line<'a> {
    let Some(step) = l.step else {
        return Line::from(fit_spans(
            vec![Span::styled(format!("  {}", l.text), theme.code)],
            width,
            theme.glyphs.ellipsis,
        ));
    };
    let (mark, style) = match step.cmp(&focus) {
        std::cmp::Ordering::Equal => (theme.glyphs.head_right, theme.current),
        std::cmp::Ordering::Less => (" ", theme.muted),
        std::cmp::Ordering::Greater => (" ", theme.code),
    };
    // What the line returned on this run stays in view: the code is cut
    // to make room for it, not the other way round.
    let said = said
        .get(&step)
        .filter(|_| l.call)
        .map(|s| format!("  {} {s}", app.code_lang.comment()));
    let room = width.saturating_sub(said.as_ref().map_or(0, |s| s.chars().count()));
    let mut spans = fit_spans(
        vec![Span::styled(format!("{mark} {}", l.text), style)],
        room,
        theme.glyphs.ellipsis,
    );
    if let Some(s) = said {
        spans.push(Span::styled(s, theme.muted));
    }
    Line::from(spans)
}

/// What the call returned, as the line's comment: `= 11`, `= -1 EAGAIN`.
fn result(e: &Event) -> String {
    if e.ok() {
        format!("= {}", e.return_value())
    } else {
        format!("= -1 {}", e.result.name())
    }
}
