//! The bottom line: the keys that matter now. Items are dropped from the
//! end when the terminal is narrow; help and quit always stay. The keys
//! shown are the ones bound in the key map (the config file may change them).

use crate::app::App;
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    use crate::keys::first;
    let k = &app.keys;
    let speed = format!("{}/{}", first(&k.faster), first(&k.slower));
    let mut items: Vec<(String, &str)> = if app.port.typing.is_some() {
        vec![
            ("0-65535".into(), "type a port"),
            ("Enter".into(), "explain it"),
            ("Esc".into(), "cancel"),
        ]
    } else if app.review.is_some() {
        vec![
            (first(&k.step), "forward"),
            (first(&k.back), "back"),
            (first(&k.now), "back to now"),
        ]
    } else {
        vec![
            (first(&k.step), "next call"),
            (first(&k.back), "review"),
            (
                first(&k.autoplay),
                if app.autoplay {
                    "stop autoplay"
                } else {
                    "autoplay"
                },
            ),
            (speed, "speed"),
            (first(&k.restart), "restart"),
            (first(&k.lessons), "lessons"),
            (first(&k.present), "present"),
            (first(&k.handout), "handout"),
        ]
    };
    let fixed = [(first(&k.help), "help"), (first(&k.quit), "quit")];
    let width = area.width as usize;
    let len = |items: &[(String, &str)]| -> usize {
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
        spans.push(Span::styled(k.clone(), theme.key));
        spans.push(Span::styled(format!(" {d}   "), theme.muted));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
