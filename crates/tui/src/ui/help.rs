//! The help overlay (`?`): every key, from the same key map the keys are
//! read with (so rebinding a key in the config file changes the help), and
//! what the marks on screen mean.
//!
//! The serve screen has its own, shorter help ([`Screen::Serve`]).
//!
//! Nothing is cut: a description too long for the window wraps under its
//! own column, and when the whole help is taller than the terminal it
//! scrolls (↑ ↓ k j PgUp PgDn Home End), with the rows out of sight counted
//! on its border (see [`super::scroll`]).

use super::scroll;
use crate::app::App;
use crate::config::KeyMap;
use crate::keys::{bindings, serve_bindings};
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// The widest the window gets: a key column and a readable sentence.
pub const WIDTH: u16 = 76;

/// Which screen the help is for: each has its own keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Lesson,
    /// `sockscope serve`.
    Serve,
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    render_for(frame, area, &app.keys, Screen::Lesson, app.scroll, theme);
}

/// The help of `screen`, scrolled `scroll` rows down.
pub fn render_for(
    frame: &mut Frame,
    area: Rect,
    keys: &KeyMap,
    screen: Screen,
    scroll: u16,
    theme: &Theme,
) {
    let (rect, lines) = window(keys, screen, area, theme);
    scroll::draw(
        frame,
        rect,
        " Keys · Esc closes ",
        (lines, false),
        scroll,
        theme,
    );
}

/// How far the help of `screen` can scroll in `area`, and one page.
pub fn limits(keys: &KeyMap, screen: Screen, area: Rect, theme: &Theme) -> (u16, u16) {
    let (rect, lines) = window(keys, screen, area, theme);
    scroll::limits(lines.len() as u16, rect.height.saturating_sub(2))
}

/// Where the window goes and its rows, wrapped to its width.
fn window(keys: &KeyMap, screen: Screen, area: Rect, theme: &Theme) -> (Rect, Vec<Line<'static>>) {
    let width = WIDTH.min(area.width);
    let lines = content(keys, screen, scroll::text_width(width) as usize, theme);
    // A row of the screen stays in sight above and below: an overlay, not
    // a new screen.
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2).max(3));
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    (rect, lines)
}

/// Every key, then what the marks on screen mean, in rows of `width`
/// columns: the keys in one column, what they do in the next, wrapped under
/// it.
fn content(keys: &KeyMap, screen: Screen, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let g = &theme.glyphs;
    let table = match screen {
        Screen::Lesson => bindings(keys),
        Screen::Serve => serve_bindings(keys),
    };
    let key_width = table.iter().map(|b| b.keys.width()).max().unwrap_or(0) + 2;
    let mut lines = Vec::new();
    let row = |lines: &mut Vec<Line<'static>>,
               key: String,
               key_style: Style,
               does: &str,
               style: Style| {
        let room = width.saturating_sub(key_width).max(8);
        for (i, part) in wrap(does, room).into_iter().enumerate() {
            let head = if i == 0 { key.as_str() } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{head:<key_width$}"), key_style),
                Span::styled(part, style),
            ]));
        }
    };
    for b in &table {
        row(&mut lines, b.keys.clone(), theme.key, b.does, theme.text);
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("On screen", theme.title));
    if screen == Screen::Serve {
        let waiting = "the call is waiting in the kernel for a peer";
        row(
            &mut lines,
            g.waiting.to_string(),
            theme.wire,
            waiting,
            theme.muted,
        );
        return lines;
    }
    let marks = [
        (
            format!("{0}{0}{1}", g.wire_captured, g.head_right),
            "a packet captured on lo in this run",
        ),
        (
            format!("{0}{0}{1}", g.wire_expected, g.head_right),
            "expected: what the protocol sends, not captured",
        ),
        (
            g.ok.to_string(),
            "the claims held against the kernel, this run",
        ),
        (
            g.fail.to_string(),
            "a call failed: the errno is the kernel's answer",
        ),
        (
            g.waiting.to_string(),
            "the call is waiting in the kernel for a peer",
        ),
    ];
    for (mark, means) in marks {
        row(&mut lines, mark, theme.wire, means, theme.muted);
    }
    let more = format!(
        "the text goes on beyond the panel: {} shows the narration whole",
        crate::keys::first(&keys.narration)
    );
    row(
        &mut lines,
        format!("{} more", g.down),
        theme.wire,
        &more,
        theme.muted,
    );
    lines
}

/// `text` in rows of at most `width` columns, broken at spaces (a word
/// longer than a row is cut across rows).
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
