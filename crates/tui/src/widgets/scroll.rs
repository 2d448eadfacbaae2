//! A window that scrolls: the help (`?`) and the whole narration (`m`) are
//! longer than a small terminal. Text that does not fit is never cut
//! silently: the border says how many rows are above (`↑ 3 more`) and below
//! (`↓ 12 more · j k PgDn`), and the keys scroll.
//!
//! The same arithmetic serves the renderer (where to start drawing) and
//! the shell's `update` (how far a key may scroll), so a key never scrolls
//! past the end into rows that do not exist.

use super::panel;
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Padding, Paragraph, Wrap};

/// Columns of space between the border and the text, each side.
pub const PAD: u16 = 1;

/// The columns for text in a window `width` wide.
#[must_use]
pub fn text_width(width: u16) -> u16 {
    width.saturating_sub(2 + 2 * PAD)
}

/// How many rows `lines` take at `width` columns, wrapped at word
/// boundaries as [`render`] wraps them (`trim`: drop the spaces that start a
/// wrapped row, as prose wants; text laid out in columns keeps them).
#[must_use]
pub fn rows(lines: &[Line], width: u16, trim: bool) -> u16 {
    let n = Paragraph::new(lines.to_vec())
        .wrap(Wrap { trim })
        .line_count(width);
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// The furthest a window of `height` rows can scroll through `total` rows,
/// and one page: a window less one row, so a row of context stays on
/// screen.
#[must_use]
pub fn limits(total: u16, height: u16) -> (u16, u16) {
    (
        total.saturating_sub(height),
        height.saturating_sub(1).max(1),
    )
}

/// How far a key moves a window with pages of `page` rows: ↑ ↓ k j a row,
/// PgUp PgDn (and Space) a page, Home End the ends. `None`: not a scroll key.
#[must_use]
pub fn delta(code: crossterm::event::KeyCode, page: u16) -> Option<i32> {
    use crossterm::event::KeyCode;
    let page = i32::from(page);
    Some(match code {
        KeyCode::Up | KeyCode::Char('k') => -1,
        KeyCode::Down | KeyCode::Char('j') => 1,
        KeyCode::PageUp => -page,
        KeyCode::PageDown | KeyCode::Char(' ') => page,
        KeyCode::Home => -i32::from(u16::MAX),
        KeyCode::End => i32::from(u16::MAX),
        _ => return None,
    })
}

/// A new scroll position after a key, within `0..=max`.
#[must_use]
pub fn moved(scroll: u16, delta: i32, max: u16) -> u16 {
    let next = i32::from(scroll.min(max)) + delta;
    next.clamp(0, i32::from(max)) as u16
}

/// What a scrolling window shows.
pub struct Scrolled<'a> {
    /// The title on its top border.
    pub title: &'a str,
    pub lines: Vec<Line<'a>>,
    /// Drop the spaces that start a wrapped row (prose); text laid out in
    /// columns keeps them.
    pub trim: bool,
    /// How many rows it is scrolled down (clamped to the end).
    pub scroll: u16,
}

/// Draw a window's lines, bordered, at `rect`, scrolled (clamped to the
/// end), with the rows out of sight counted on the border.
pub fn render(frame: &mut Frame, rect: Rect, window: Scrolled, theme: &Theme) {
    let Scrolled {
        title,
        lines,
        trim,
        scroll,
    } = window;
    let inner_width = text_width(rect.width);
    let inner_height = rect.height.saturating_sub(2);
    let total = rows(&lines, inner_width, trim);
    let (max, _) = limits(total, inner_height);
    let scroll = scroll.min(max);
    let below = total.saturating_sub(scroll + inner_height);
    let g = &theme.glyphs;
    let mut block = panel(title.to_string(), theme);
    if scroll > 0 {
        block = block.title_top(
            Line::styled(format!(" {} {scroll} more ", g.up), theme.key).right_aligned(),
        );
    }
    if below > 0 {
        block = block.title_bottom(
            Line::styled(format!(" {} {below} more · j k PgDn ", g.down), theme.key)
                .right_aligned(),
        );
    }
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.base)
            .wrap(Wrap { trim })
            .scroll((scroll, 0))
            .block(block.padding(Padding::horizontal(PAD))),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_keep_the_last_page_full_and_moves_stay_inside() {
        assert_eq!(limits(30, 10), (20, 9));
        assert_eq!(limits(5, 10), (0, 9));
        assert_eq!(moved(0, -1, 20), 0);
        assert_eq!(moved(19, 9, 20), 20);
        assert_eq!(moved(20, 1, 20), 20);
        // A position beyond a new, smaller end (the window grew) comes back.
        assert_eq!(moved(25, -1, 20), 19);
    }

    #[test]
    fn rows_count_wrapped_lines() {
        let lines = vec![Line::raw("one two three four"), Line::raw("five")];
        assert_eq!(rows(&lines, 40, true), 2);
        assert_eq!(rows(&lines, 9, true), 4);
    }
}
