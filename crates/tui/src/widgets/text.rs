//! A screen's long text in a window, to read whole: the lesson screen's
//! narration (`m`) when its panel cuts it. As tall as the text needs, up to
//! the screen, and it scrolls like the help.

use super::scroll;
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;

/// The widest the window gets: lines a reader's eye can follow.
pub const WIDTH: u16 = 100;

/// The text a screen offers to read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Text<'a> {
    /// The window's title (` step 6 · client `).
    pub title: String,
    /// Its lines; prose, wrapped at words with leading spaces trimmed.
    pub lines: Vec<Line<'a>>,
}

/// `text` in its window over `area`, scrolled `scroll` rows down, with
/// `closes` (the keys that close it, `m or Esc`) in its title.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    (text, scroll, closes): (Text, u16, &str),
    theme: &Theme,
) {
    let rect = window(&text, area);
    let title = format!("{}· {closes} closes ", text.title);
    let window = scroll::Scrolled {
        title: &title,
        lines: text.lines,
        trim: true,
        scroll,
    };
    scroll::render(frame, rect, window, theme);
}

/// How far `text` can scroll in its window over `area`, and one page.
#[must_use]
pub fn limits(text: &Text, area: Rect) -> (u16, u16) {
    let rect = window(text, area);
    let total = scroll::rows(&text.lines, scroll::text_width(rect.width), true);
    scroll::limits(total, rect.height.saturating_sub(2))
}

/// Where the window goes: centred, as wide as [`WIDTH`] allows and as tall
/// as the wrapped text, leaving a row of the screen in sight.
fn window(text: &Text, area: Rect) -> Rect {
    let width = WIDTH.min(area.width.saturating_sub(2)).max(1);
    let rows = scroll::rows(&text.lines, scroll::text_width(width), true);
    let height = rows
        .saturating_add(2)
        .min(area.height.saturating_sub(2))
        .max(3.min(area.height));
    area.centered(Constraint::Length(width), Constraint::Length(height))
}
