//! Study mode's question (`--study`): asked before the call runs, with its
//! choices numbered; the student's key answers it and runs the call, and
//! the narration then says which choice the kernel made true.

use crate::app::App;
use crate::theme::Theme;
use crate::widgets::{fit_spans, panel};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Padding;
use ratatui::widgets::{Clear, Paragraph, Wrap};

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(step_n) = app.predicting else {
        return;
    };
    let Some(step) = app.lesson.steps.get(step_n - 1) else {
        return;
    };
    let Some(p) = &step.predict else {
        return;
    };
    let width = 80.min(area.width);
    let inner = width.saturating_sub(4) as usize;
    let mut lines = vec![
        Line::styled(
            format!("Before step {step_n} runs ({}: {}):", step.actor, step.call),
            theme.muted,
        ),
        Line::styled(p.ask.clone(), theme.title),
        Line::raw(""),
    ];
    for (i, c) in p.choices.iter().enumerate() {
        lines.push(Line::from(fit_spans(
            vec![
                Span::styled(format!(" {} ", i + 1), theme.key),
                Span::styled(c.say.clone(), theme.text),
            ],
            inner,
            theme.glyphs.ellipsis,
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            " 1–{} answers and runs the call; the kernel's answer decides · Esc close",
            p.choices.len()
        ),
        theme.muted,
    ));
    // Rows as wrapped at the window's inner width, plus the borders.
    let height =
        (crate::widgets::scroll::rows(&lines, width.saturating_sub(4), true) + 2).min(area.height);
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .style(theme.base)
            .block(panel(" Predict, then run ", theme).padding(Padding::horizontal(1))),
        rect,
    );
}
