//! Drawing that every screen shares: a bordered panel in the theme's
//! colours, text cut to fit with an ellipsis, the windows that scroll (the
//! help and a screen's long text), the key bar, the "too small" message and
//! the `--ascii` pass over the finished frame.
//!
//! Nothing here knows a screen's state: a screen's panels (in `crate::ui`)
//! and the shell (`crate::shell`) call these with plain data, which is what
//! lets the shell measure and draw its windows for any screen.
//!
//! - [`scroll`]: a window that scrolls, and the arithmetic of how far.
//! - [`help`]: the help window's rows, from the key table.
//! - [`text`]: a screen's long text (the lesson's narration) in a window.
//! - [`keybar`]: the bottom line of keys.

pub mod help;
pub mod keybar;
pub mod scroll;
pub mod text;

use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

/// A bordered block with a title, in the theme's colours and glyphs.
pub fn panel<'a>(title: impl Into<Line<'a>>, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .border_set(theme.glyphs.border)
        .border_style(theme.border)
        .title(title.into().style(theme.title))
}

/// Cut `text` to `width` columns, ending with an ellipsis when cut.
#[must_use]
pub fn fit(text: &str, width: usize, ellipsis: &str) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let room = width.saturating_sub(ellipsis.width());
    let mut out = String::new();
    for c in text.chars() {
        let next = out.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if next > room {
            break;
        }
        out.push(c);
    }
    if width >= ellipsis.width() {
        out.push_str(ellipsis);
    }
    out
}

/// Spans that fit in `width` columns: later spans are cut, then dropped.
#[must_use]
pub fn fit_spans<'a>(spans: Vec<Span<'a>>, width: usize, ellipsis: &str) -> Vec<Span<'a>> {
    let mut out = Vec::new();
    let mut used = 0;
    for s in spans {
        let w = s.width();
        if used + w <= width {
            used += w;
            out.push(s);
        } else {
            let left = width.saturating_sub(used);
            if left > ellipsis.width() {
                out.push(Span::styled(fit(&s.content, left, ellipsis), s.style));
            }
            break;
        }
    }
    out
}

/// The message shown instead of a screen when the terminal is smaller than
/// `(width, height)`. It names the size needed; the screen comes back as
/// soon as it fits.
pub fn too_small(frame: &mut Frame, area: Rect, (width, height): (u16, u16), theme: &Theme) {
    let lines = vec![
        Line::styled("sockscope needs a bigger terminal", theme.title),
        Line::styled(
            format!(
                "at least {width}×{height}; this one is {}×{}",
                area.width, area.height
            ),
            theme.text,
        ),
        Line::styled("Enlarge the window or make the font smaller.", theme.muted),
        Line::styled("q quits", theme.muted),
    ];
    let rows = (lines.len() as u16).min(area.height);
    let y = area.y + area.height.saturating_sub(rows) / 2;
    let rect = Rect::new(area.x, y, area.width, rows);
    frame.render_widget(
        Paragraph::new(lines).centered().wrap(Wrap { trim: true }),
        rect,
    );
}

/// For `--ascii`: replace every non-ASCII character on screen (separators,
/// arrows, dashes in ranges, and anything a lesson's text contains) with an
/// ASCII look-alike, or `?`. The panels draw their structural glyphs from
/// [`Theme::glyphs`] already; this catches the characters inside text.
pub fn asciify(buf: &mut ratatui::buffer::Buffer) {
    for cell in &mut buf.content {
        let sym = cell.symbol();
        if sym.is_ascii() {
            continue;
        }
        let plain = match sym.chars().next().unwrap_or(' ') {
            '·' | '•' | '░' => ".",
            '×' => "x",
            '–' | '—' | '─' | '╌' | '━' => "-",
            '│' | '┃' => "|",
            '←' | '◀' => "<",
            '→' | '▶' | '▸' => ">",
            '↔' => "=",
            '↑' | '▲' => "^",
            '↓' => "v",
            '…' => "~",
            '✗' => "X",
            '█' => "#",
            '▒' => ":",
            '✓' | '╭' | '╮' | '╯' | '╰' | '┌' | '┐' | '└' | '┘' | '├' | '┤' => {
                "+"
            }
            '“' | '”' => "\"",
            '‘' | '’' => "'",
            _ => "?",
        };
        cell.set_symbol(plain);
    }
}

/// A screen's title bar: `left` (cut to fit, in the title style) and
/// `right` (the counts or the mode, muted) at the far end.
pub fn title_bar(frame: &mut Frame, area: Rect, (left, right): (&str, &str), theme: &Theme) {
    let width = area.width as usize;
    let right_width = right.chars().count();
    let left = fit(
        left,
        width.saturating_sub(right_width + 1),
        theme.glyphs.ellipsis,
    );
    let pad = width.saturating_sub(left.chars().count() + right_width);
    frame.render_widget(
        ratatui::widgets::Paragraph::new(Line::from(vec![
            Span::styled(left, theme.title),
            Span::raw(" ".repeat(pad)),
            Span::styled(right.to_string(), theme.muted),
        ])),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        assert_eq!(fit("accept(3) = 5", 20, "…"), "accept(3) = 5");
        assert_eq!(fit("accept(3) = 5", 8, "…"), "accept(…");
        assert_eq!(fit("abc", 0, "…"), "");
    }
}
