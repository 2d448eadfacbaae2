//! The top line: which lesson, which step, and how steps advance. While
//! reviewing, it becomes a banner that cannot be missed, with the way back.

use crate::app::{App, RunState};
use crate::theme::Theme;
use crate::widgets::fit_spans;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let total = app.lesson.steps.len();
    let width = area.width as usize;
    if let Some(k) = app.review {
        let text = format!(
            " REVIEWING step {k} of {} · nothing re-runs · → forward · End back to now ",
            app.latest
        );
        let line = Line::from(fit_spans(
            vec![Span::raw(text)],
            width,
            theme.glyphs.ellipsis,
        ));
        frame.render_widget(Paragraph::new(line).style(theme.review), area);
        return;
    }
    let state = match &app.run {
        RunState::Running if app.latest == 0 => "ready".to_string(),
        RunState::Running => format!("step {} of {total}", app.latest),
        RunState::Finished => format!("finished: {total} of {total}"),
        RunState::Failed(_) => "stopped".into(),
    };
    let pace = if app.autoplay { "autoplay" } else { "manual" };
    let right = format!("{state} · {pace} · {}× ", speed_label(app.speed_factor()));
    let mut left = vec![
        Span::styled(" sockscope ", theme.title),
        Span::styled(format!("{} ", theme.glyphs.lifeline), theme.border),
        Span::styled(app.lesson.title.clone(), theme.text),
    ];
    let room = width.saturating_sub(right.len() + 1);
    // Which network the lesson runs on: the whole line where it fits, else
    // its first words ("lab network"), else nothing (the lesson's title
    // matters more).
    if let Some(label) = app.network {
        let used: usize = left.iter().map(Span::width).sum();
        let short = label.split(':').next().unwrap_or(label);
        if let Some(said) = [label, short]
            .into_iter()
            .find(|l| used + 3 + l.chars().count() <= room)
        {
            left.push(Span::styled(format!(" · {said}"), theme.muted));
        }
    }
    let mut spans = fit_spans(left, room, theme.glyphs.ellipsis);
    let used: usize = spans.iter().map(Span::width).sum();
    spans.push(Span::raw(
        " ".repeat(width.saturating_sub(used + right.len())),
    ));
    spans.push(Span::styled(right, theme.muted));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `0.25`, `0.5`, `1`, `2`, `4`.
#[must_use]
pub fn speed_label(f: f64) -> String {
    if f.fract() == 0.0 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}
