//! The help window (`?`), the same for every screen: its keys, read from
//! the key table with the key map in force (so rebinding a key in the config
//! file changes the help, and the help can never list a key that does
//! nothing), then what the marks on that screen mean.
//!
//! Nothing is cut: a description too long for the window wraps under its
//! own column, and when the whole help is taller than the terminal it
//! scrolls (↑ ↓ k j PgUp PgDn Home End), with the rows out of sight counted
//! on its border (see [`super::scroll`]).

use super::scroll;
use crate::keys::{self, Binding, KeyMap, ScreenKind};
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// The widest the window gets: a key column and a readable sentence.
pub const WIDTH: u16 = 76;

/// What the help of one screen says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help {
    /// The keys that work on the screen and what they do.
    pub keys: Vec<Binding>,
    /// The marks drawn on the screen and what each means.
    pub legend: Vec<(String, String)>,
}

impl Help {
    /// The help of `screen` under `map`, with the screen's own `legend`.
    #[must_use]
    pub fn of(map: &KeyMap, screen: ScreenKind, legend: Vec<(String, String)>) -> Help {
        Help {
            keys: keys::help(map, screen),
            legend,
        }
    }
}

/// The help, scrolled `scroll` rows down, over `area`.
pub fn render(frame: &mut Frame, area: Rect, (help, scroll): (&Help, u16), theme: &Theme) {
    let (rect, lines) = window(help, area, theme);
    let window = scroll::Scrolled {
        title: " Keys · Esc closes ",
        lines,
        trim: false,
        scroll,
    };
    scroll::render(frame, rect, window, theme);
}

/// How far the help can scroll in `area`, and one page.
#[must_use]
pub fn limits(help: &Help, area: Rect, theme: &Theme) -> (u16, u16) {
    let (rect, lines) = window(help, area, theme);
    scroll::limits(lines.len() as u16, rect.height.saturating_sub(2))
}

/// Where the window goes and its rows, wrapped to its width.
fn window(help: &Help, area: Rect, theme: &Theme) -> (Rect, Vec<Line<'static>>) {
    let width = WIDTH.min(area.width);
    let lines = content(help, scroll::text_width(width) as usize, theme);
    // A row of the screen stays in sight above and below: an overlay, not
    // a new screen.
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2).max(3));
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    (rect, lines)
}

/// Every key, then what the marks on screen mean, in rows of `width`
/// columns: the keys in one column, what they do in the next, wrapped under
/// it.
fn content(help: &Help, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let key_width = help.keys.iter().map(|b| b.keys.width()).max().unwrap_or(0) + 2;
    let mut lines = Vec::new();
    let row =
        |lines: &mut Vec<Line<'static>>, key: &str, key_style: Style, does: &str, style: Style| {
            let room = width.saturating_sub(key_width).max(8);
            for (i, part) in wrap(does, room).into_iter().enumerate() {
                let head = if i == 0 { key } else { "" };
                lines.push(Line::from(vec![
                    Span::styled(format!("{head:<key_width$}"), key_style),
                    Span::styled(part, style),
                ]));
            }
        };
    for b in &help.keys {
        row(&mut lines, &b.keys, theme.key, b.does, theme.text);
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("On screen", theme.title));
    for (mark, means) in &help.legend {
        row(&mut lines, mark, theme.wire, means, theme.muted);
    }
    lines
}

/// `text` in rows of at most `width` columns, broken at spaces (a word
/// longer than a row is cut across rows).
#[must_use]
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut row = String::new();
    for word in text.split(' ') {
        let sep = usize::from(!row.is_empty());
        if row.width() + sep + word.width() <= width {
            if sep == 1 {
                row.push(' ');
            }
            row.push_str(word);
            continue;
        }
        if !row.is_empty() {
            rows.push(std::mem::take(&mut row));
        }
        let mut rest = word;
        while rest.width() > width {
            let cut = rest
                .char_indices()
                .scan(0, |w, (i, c)| {
                    *w += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
                    Some((i + c.len_utf8(), *w))
                })
                .take_while(|(_, w)| *w <= width)
                .last()
                .map_or(rest.len(), |(i, _)| i);
            rows.push(rest[..cut].to_string());
            rest = &rest[cut..];
        }
        row.push_str(rest);
    }
    if !row.is_empty() || rows.is_empty() {
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_only_words_longer_than_a_row() {
        assert_eq!(wrap("a bb ccc", 4), vec!["a bb", "ccc"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 5), vec![""]);
        for row in wrap("explain a port (then digits, Enter): range, names", 20) {
            assert!(row.width() <= 20, "{row}");
        }
    }
}
