//! The lesson picker (`L`): every lesson (built-in and the teacher's own)
//! with its summary; Enter starts the highlighted one with new sockets.

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
    // Two rows a lesson, a blank and a hint below: scroll so the
    // highlighted lesson is always in view on a small screen.
    let fits = (area.height.saturating_sub(4) / 2).max(1) as usize;
    let first = (selected + 1).saturating_sub(fits);
    let mut lines = Vec::new();
    for (i, l) in app.lessons.iter().enumerate().skip(first).take(fits) {
        let here = i == selected;
        let style = if here { theme.current } else { theme.text };
        let mark = if here { theme.glyphs.head_right } else { " " };
        lines.push(Line::from(vec![
            Span::styled(format!(" {mark} {:<9}", l.name), style),
            Span::styled(format!(" {}", l.title), style),
        ]));
        lines.push(Line::styled(format!("     {}", l.summary), theme.muted));
    }
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
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.base)
            .block(panel(" Lessons ", theme)),
        rect,
    );
}
