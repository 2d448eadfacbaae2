//! The lesson screen's bottom line: the keys that matter now (while typing a
//! port, the prompt's; while reviewing, the way forward and back; else the
//! lesson's), then help and quit, which always stay. The keys and words
//! come from the key table and the key map in force (the config file may
//! change them); the shared [`crate::widgets::keybar`] draws them.

use crate::app::App;
use crate::keys::Action;
use crate::theme::Theme;
use crate::widgets::keybar::{self, KeyBar, item, item_as};
use ratatui::Frame;
use ratatui::layout::Rect;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let k = &app.keys;
    let items = if app.port.typing.is_some() {
        vec![
            ("0-65535".into(), "type a port"),
            ("Enter".into(), "explain it"),
            ("Esc".into(), "cancel"),
        ]
    } else if app.review.is_some() {
        vec![
            item_as(k, Action::Next, "forward"),
            item_as(k, Action::Back, "back"),
            item(k, Action::Now),
        ]
    } else {
        vec![
            item(k, Action::Next),
            item(k, Action::Back),
            if app.autoplay {
                item_as(k, Action::Autoplay, "stop autoplay")
            } else {
                item(k, Action::Autoplay)
            },
            (
                format!("{}/{}", k.first(Action::Faster), k.first(Action::Slower)),
                "speed",
            ),
            item(k, Action::Restart),
            item(k, Action::Lessons),
            item(k, Action::Present),
            item(k, Action::Handout),
        ]
    };
    let bar = KeyBar {
        notice: None,
        lead: Vec::new(),
        items,
        tail: vec![item(k, Action::Help), item(k, Action::Quit)],
    };
    keybar::render(frame, area, &bar, theme);
}
