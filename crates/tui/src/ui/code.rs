//! The code panel (`c`, again for the next language): the focused step's actor as
//! a program (crate::code writes it from the lesson), scrolled so the line
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
    if area.height <= 2 {
        // A small screen's one row: the focused call's line alone.
        let Some(l) = lines
            .iter()
            .find(|l| l.step == Some(focus))
            .or(lines.get(1))
        else {
            return;
        };
        let mut spans = vec![Span::styled(
            format!(" code · {} ", lang_label(app.code_lang)),
            theme.title,
        )];
        spans.extend(
            line(
                l,
                app,
                focus,
                (area.width as usize).saturating_sub(12),
                theme,
            )
            .spans,
        );
        frame.render_widget(
            Paragraph::new(Line::from(fit_spans(
                spans,
                area.width as usize,
                theme.glyphs.ellipsis,
            )))
            .style(theme.base),
            Rect { height: 1, ..area },
        );
        return;
    }
    let title = format!(" code · {} · {actor} ", lang_label(app.code_lang));
    let block = panel(title, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let width = inner.width as usize;
    let here = lines.iter().position(|l| l.step == Some(focus));
    // Scrolled so the focused line sits a third of the way down.
    let rows = inner.height as usize;
    let first = here
        .map_or(0, |h| h.saturating_sub(rows / 3))
        .min(lines.len().saturating_sub(rows));
    let shown: Vec<Line> = lines
        .iter()
        .skip(first)
        .take(rows)
        .map(|l| line(l, app, focus, width, theme))
        .collect();
    frame.render_widget(Paragraph::new(shown).style(theme.base), inner);
}

fn lang_label(lang: code::Lang) -> &'static str {
    match lang {
        code::Lang::C => "C",
        code::Lang::Python => "Python",
        code::Lang::Rust => "Rust (socket2)",
    }
}

fn line<'a>(l: &CodeLine, app: &App, focus: usize, width: usize, theme: &Theme) -> Line<'a> {
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
    let comment = app.code_lang.comment();
    let said = match last_event(app, step) {
        Some(e) if step <= focus => Some(format!("  {comment} {}", result(e))),
        // Called, and not returned: asleep in the kernel.
        None if step <= focus && waiting(app, step) => Some(format!("  {comment} … waiting")),
        _ => None,
    };
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

/// The latest event of `step` the screen shows (a repeated step's last).
fn last_event(app: &App, step: usize) -> Option<&Event> {
    app.visible()
        .filter_map(|r| match &r.entry {
            Entry::Event(e) if e.step == step => Some(e.as_ref()),
            _ => None,
        })
        .last()
}

/// Whether the screen shows `step`'s call waiting (called, not returned).
fn waiting(app: &App, step: usize) -> bool {
    app.visible()
        .any(|r| matches!(&r.entry, Entry::Waiting(w) if w.step == step))
}

/// What the call returned, as the line's comment: `= 11`, `= -1 EAGAIN`.
fn result(e: &Event) -> String {
    if e.ok() {
        format!("= {}", e.return_value())
    } else {
        format!("= -1 {}", e.result.name())
    }
}
