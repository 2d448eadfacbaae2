//! The help overlay (`?`): every key, from the same key map the keys are
//! read with (so rebinding a key in the config file changes the help), and
//! what the marks on screen mean.

use super::{fit_spans, panel};
use crate::tui::app::App;
use crate::tui::keys::bindings;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let g = &theme.glyphs;
    let table = bindings(&app.keys);
    let key_width = table
        .iter()
        .map(|b| b.keys.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let mut lines: Vec<Line> = table
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!(" {:<key_width$}", b.keys), theme.key),
                Span::styled(b.does, theme.text),
            ])
        })
        .collect();
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
    // The keys come first. Then what the marks mean, with a blank line
    // before them, as far as the screen has rows: keys, blank, heading,
    // marks, two borders.
    let room = usize::from(area.height).saturating_sub(lines.len() + 2);
    if room > marks.len() + 1 {
        lines.push(Line::raw(""));
    }
    if room > marks.len() {
        lines.push(Line::styled(" On screen", theme.title));
        for (mark, means) in marks {
            lines.push(Line::from(vec![
                Span::styled(format!(" {mark:<key_width$}"), theme.wire),
                Span::styled(means, theme.muted),
            ]));
        }
    }
    let height = (lines.len() as u16 + 2).min(area.height);
    let width = 74.min(area.width);
    let inner = width.saturating_sub(2) as usize;
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|l| Line::from(fit_spans(l.spans, inner, g.ellipsis)))
        .collect();
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .style(theme.base)
            .block(panel(" Keys · Esc closes ", theme)),
        rect,
    );
}
