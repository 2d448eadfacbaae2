//! Presenter mode (`--present`, key `P`): what a projector at the back of a
//! room needs. The focused call as a large heading, the lifecycle lanes, and
//! the narration in large type when it fits (in bold ordinary type when it
//! does not); no layer diagram, port bar or key bar.
//!
//! ```text
//!  ▄▀▀ ▄▀▄ █▄ █ █▄ █ █▀▀ ▄▀▀ ▀█▀ ▄▀ ▀▄        heading: the call (large)
//!  step 6 of 22 · client · connect(4, 127.0.0.1:47397) = 0
//! ╭ lifecycle ──────────────────────────────────────────────╮
//! │ server            │ client            │ client2          │  lanes
//! ╰─────────────────────────────────────────────────────────╯
//!  connect to 127.0.0.1:47397 succeeded: the kernel gave      narration
//!  the client the local address 127.0.0.1:52014 ...           (large when it fits)
//! ```
//!
//! Large type is tui-big-text's 8×8 font at a quarter cell per pixel: each
//! character is 4 columns by 4 rows. With `--ascii` it is never used (its
//! glyphs are block characters).

use super::lanes;
use crate::app::{App, Entry, RunState};
use crate::theme::Theme;
use crate::timeline;
use crate::widgets::fit;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Padding, Paragraph, Wrap};
use sockscope_core::engine::Event;
use sockscope_core::lesson;
use tui_big_text::{BigText, PixelSize};

/// Columns and rows of one large character (8×8 font, 2×2 pixels a cell).
const BIG_W: u16 = 4;
const BIG_H: u16 = 4;

/// The large heading's rows, and the line under it.
const HEADING: u16 = BIG_H + 1;

/// What the presenter's screen says at the focused step.
struct Said {
    /// The large heading: the call (`accept()`), or the lesson's name.
    heading: String,
    /// The line under it: step, actor, the call as C writes it.
    sub: String,
    /// The narration: what happened, in this run's values.
    say: String,
}

fn said(app: &App) -> Said {
    let focus = app.focus();
    let total = app.lesson.steps.len();
    if focus == 0 {
        return Said {
            heading: app.lesson.name.clone(),
            sub: app.lesson.title.clone(),
            say: app.lesson.intro.clone(),
        };
    }
    let step = app.lesson.steps.get(focus - 1);
    // The step's own call: its event once it has returned (a connect that
    // waited a moment reports Waiting, then its event, in the same step).
    let records = timeline::focused(app);
    let own = records
        .iter()
        .find(|r| r.entry.step() == focus && matches!(r.entry, Entry::Event(_)))
        .or_else(|| records.iter().find(|r| r.entry.step() == focus));
    let actor = step.map(|s| s.actor.as_str()).unwrap_or_default();
    let call = step.map(|s| s.call.name()).unwrap_or_default();
    let (sub_call, say) = match own.map(|r| &r.entry) {
        Some(Entry::Event(e)) => (
            e.syscall_line(),
            step.map(|s| narrate_with_error(&s.say, e))
                .unwrap_or_default(),
        ),
        Some(Entry::Waiting(w)) => (
            format!("{}({}) … waiting", w.call, w.args),
            match w.blocked_in() {
                Some(blocked) => format!(
                    "{} is waiting in the kernel: nothing to hand over yet ({}).",
                    w.call,
                    sockscope_core::vocab::preview::text(&blocked)
                ),
                None => format!(
                    "{} is waiting in the kernel: nothing to hand over yet.",
                    w.call
                ),
            },
        ),
        None => (String::new(), String::new()),
    };
    let mut sub = format!("step {focus} of {total} · {actor}");
    if !sub_call.is_empty() {
        sub.push_str(" · ");
        sub.push_str(&sub_call);
    }
    if app.review.is_some() {
        sub.push_str(" · reviewing");
    } else if app.run == RunState::Finished && focus == app.latest {
        sub.push_str(" · lesson finished");
    }
    Said {
        heading: format!("{call}()"),
        sub,
        say,
    }
}

/// The narration, led by the errno when the call failed.
fn narrate_with_error(say: &str, e: &Event) -> String {
    let text = lesson::narrate(say, e);
    match &e.explain {
        Some(x) if !e.ok() => format!("{}: {x} {text}", e.result),
        _ => text,
    }
}

/// Split `text` into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let wlen = word.chars().count();
        let len = line.chars().count();
        if len > 0 && len + 1 + wlen > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The narration in large type if it fits `area`, as lines of text.
fn big_lines(text: &str, area: Rect) -> Option<Vec<String>> {
    let per_line = (area.width / BIG_W) as usize;
    if per_line < 12 {
        return None;
    }
    let lines = wrap(text, per_line);
    let fits = lines.iter().all(|l| l.chars().count() <= per_line)
        && (lines.len() as u16) * BIG_H <= area.height;
    fits.then_some(lines)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let s = said(app);
    // The narration gets about half the screen; the lanes the rest.
    let narration_rows = (area.height * 9 / 20).max(6);
    let [heading, sub, lanes_area, narration] = Layout::vertical([
        Constraint::Length(HEADING - 1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(narration_rows),
    ])
    .areas(area);
    let inset = |r: Rect| Rect {
        x: r.x + 1,
        width: r.width.saturating_sub(2),
        ..r
    };
    let big_heading = !theme.ascii && s.heading.chars().count() as u16 * BIG_W <= heading.width;
    if big_heading {
        frame.render_widget(
            BigText::builder()
                .pixel_size(PixelSize::Quadrant)
                .style(theme.title)
                .lines(vec![Line::from(s.heading.clone())])
                .build(),
            inset(heading),
        );
    } else {
        frame.render_widget(
            Paragraph::new(Line::styled(
                s.heading.clone(),
                theme.title.add_modifier(Modifier::BOLD),
            )),
            inset(heading),
        );
    }
    let width = sub.width.saturating_sub(2) as usize;
    frame.render_widget(
        Paragraph::new(Line::styled(
            fit(&s.sub, width, theme.glyphs.ellipsis),
            theme.code.add_modifier(Modifier::BOLD),
        )),
        inset(sub),
    );
    lanes::render(frame, lanes_area, app, theme);
    if app.code_panel {
        // The program, to point at, in the narration's place (c again
        // changes the language, then brings the narration back).
        super::code::render(frame, narration, app, theme);
        return;
    }
    let text_area = inset(narration);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(n) = &app.notice {
        lines.push(Line::styled(n.clone(), theme.waiting));
    }
    let big = if theme.ascii || app.notice.is_some() {
        None
    } else {
        big_lines(&s.say, text_area)
    };
    if let Some(big) = big {
        frame.render_widget(
            BigText::builder()
                .pixel_size(PixelSize::Quadrant)
                .style(theme.text)
                .lines(big.into_iter().map(Line::from).collect::<Vec<_>>())
                .build(),
            text_area,
        );
    } else {
        lines.push(Line::styled(s.say, theme.text.add_modifier(Modifier::BOLD)));
        let text = Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(ratatui::widgets::Block::new().padding(Padding::top(1)));
        let cut = text.line_count(text_area.width) > usize::from(text_area.height);
        frame.render_widget(text, text_area);
        if cut && text_area.height > 0 {
            // Cut: said on the last row, with the key that shows it all.
            let more = format!(
                " {} more · {} reads it all ",
                theme.glyphs.down,
                app.keys.first(crate::keys::Action::Narration)
            );
            let last = Rect {
                y: text_area.bottom() - 1,
                height: 1,
                ..text_area
            };
            frame.render_widget(ratatui::widgets::Block::new().style(theme.base), last);
            frame.render_widget(
                Paragraph::new(Line::styled(more, theme.key)).right_aligned(),
                last,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_within_the_width() {
        let lines = wrap("accept returned 5, a brand-new socket", 12);
        assert_eq!(lines, ["accept", "returned 5,", "a brand-new", "socket"]);
        assert!(wrap("", 10).is_empty());
    }

    #[test]
    fn large_type_only_when_it_fits() {
        let text = "The server asks the kernel for a TCP socket and gets file descriptor 9.";
        assert!(big_lines(text, Rect::new(0, 0, 198, 22)).is_some());
        assert!(big_lines(text, Rect::new(0, 0, 78, 10)).is_none());
    }
}
