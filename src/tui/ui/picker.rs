//! The lesson picker (`L`): every built-in lesson with its summary; Enter
//! starts the highlighted one with new sockets.

use super::panel;
use crate::tui::app::{App, Overlay};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let selected = match app.overlay {
        Some(Overlay::Picker { selected }) => selected,
        _ => 0,
    };
    let mut lines = Vec::new();
    for (i, l) in app.lessons.iter().enumerate() {
        let here = i == selected;
        let style = if here { theme.current } else { theme.text };
        let mark = if here { theme.glyphs.head_right } else { " " };
        lines.push(Line::from(vec![
            Span::styled(format!(" {mark} {:<9}", l.name), style),
            Span::styled(format!(" {}", l.title), style),
        ]));
        lines.push(Line::styled(format!("     {}", l.summary), theme.muted));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " ↑/↓ choose · Enter run it (new sockets) · Esc close",
        theme.muted,
    ));
    let height = (lines.len() as u16 + 2).min(area.height);
    let width = 90.min(area.width);
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.base)
            .wrap(Wrap { trim: false })
            .block(panel(" Lessons ", theme)),
        rect,
    );
}
