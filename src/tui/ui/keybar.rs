//! The bottom line: the keys that matter now. Items are dropped from the
//! middle when the terminal is narrow; `? help` and `q quit` always stay.

use crate::tui::app::App;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut items: Vec<(&str, &str)> = if app.port.typing.is_some() {
        vec![
            ("0-65535", "type a port"),
            ("Enter", "explain it"),
            ("Esc", "cancel"),
        ]
    } else if app.review.is_some() {
        vec![("→", "forward"), ("←", "back"), ("End", "back to now")]
    } else {
        vec![
            ("Space", "next call"),
            ("←", "review"),
            (
                "a",
                if app.autoplay {
                    "stop autoplay"
                } else {
                    "autoplay"
                },
            ),
            ("+/-", "speed"),
            ("r", "restart"),
            ("L", "lessons"),
        ]
    };
    let fixed = [("?", "help"), ("q", "quit")];
    let width = area.width as usize;
    let len = |items: &[(&str, &str)]| -> usize {
        items
            .iter()
            .chain(fixed.iter())
            .map(|(k, d)| k.chars().count() + d.chars().count() + 4)
            .sum()
    };
    while len(&items) > width && !items.is_empty() {
        items.pop();
    }
    let mut spans = vec![Span::raw(" ")];
    for (k, d) in items.iter().chain(fixed.iter()) {
        spans.push(Span::styled(*k, theme.key));
        spans.push(Span::styled(format!(" {d}   "), theme.muted));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
