//! The lesson picker (`L`): every lesson (built-in and the teacher's own)
//! with its summary, grouped by part of the course, a ✓ on those the
//! student has run to their end; Enter starts the highlighted one with new
//! sockets.

use crate::app::App;
use crate::theme::Theme;
use crate::widgets::{fit_spans, panel};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

/// The picker's width: room for a summary line, within the screen.
fn width_for(area: Rect) -> u16 {
    100.min(area.width)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let selected = app.picker.unwrap_or(0);
    // Two rows a lesson, a heading where a part of the course begins (the
    // course text's lessons, then those that go further, then the
    // teacher's own); scrolled so the highlighted lesson is always in view
    // on a small screen, with a blank and a hint below.
    let mut lines = Vec::new();
    let mut selected_at = 0;
    let mut part = None;
    for (i, l) in app.lessons.iter().enumerate() {
        if part != Some(l.part) {
            part = Some(l.part);
            lines.push(Line::styled(format!(" {}", l.part.title()), theme.title));
        }
        let here = i == selected;
        if here {
            selected_at = lines.len();
        }
        let style = if here { theme.current } else { theme.text };
        let mark = if here { theme.glyphs.head_right } else { " " };
        // Run to its end in an earlier session (or this one).
        let done = if app.progress.is_finished(&l.name) {
            theme.glyphs.ok
        } else {
            " "
        };
        let mut row = vec![
            Span::styled(format!(" {mark} "), style),
            Span::styled(done, theme.ok),
            Span::styled(format!(" {:<14}", l.name), style),
            Span::styled(format!(" {}", l.title), style),
        ];
        // Study questions predicted right, when progress is kept.
        let right = app
            .progress
            .right_of(&l.name, l.questions().map(|(n, _)| n));
        if app.progress_file.is_some() && right > 0 {
            row.push(Span::styled(
                format!("  {right}/{} predicted right", l.questions().count()),
                theme.muted,
            ));
        }
        lines.push(Line::from(row));
        lines.push(Line::styled(format!("       {}", l.summary), theme.muted));
    }
    let fits = area.height.saturating_sub(4).max(2) as usize;
    let first = (selected_at + 2).saturating_sub(fits);
    let lines: Vec<Line> = lines.into_iter().skip(first).take(fits).collect();
    let inner = width_for(area).saturating_sub(2) as usize;
    let mut lines: Vec<Line> = lines
        .into_iter()
        .map(|l| Line::from(fit_spans(l.spans, inner, theme.glyphs.ellipsis)))
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            " {}/{} choose · Enter run it (new sockets) · Esc close",
            theme.glyphs.up, theme.glyphs.down
        ),
        theme.muted,
    ));
    let height = (lines.len() as u16 + 2).min(area.height);
    let width = width_for(area);
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, rect);
    // How far the student has got, when progress is kept.
    let title = if app.progress_file.is_some() {
        let done = app
            .progress
            .count_of(app.lessons.iter().map(|l| l.name.as_str()));
        format!(
            " Lessons · {} {done} of {} finished ",
            theme.glyphs.ok,
            app.lessons.len()
        )
    } else {
        " Lessons ".to_string()
    };
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.base)
            .block(panel(title, theme)),
        rect,
    );
}
