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
    keybar::render(frame, area, &bar(app).0, theme);
}

/// The key bar's key (to press it) at column `x` of a bar `width` wide, for
/// a click: the first key bound to the item's action.
#[must_use]
pub fn key_at(app: &App, width: u16, x: u16) -> Option<crossterm::event::KeyEvent> {
    let (bar, actions) = bar(app);
    let action = (*actions.get(keybar::hit(&bar, width, x)?)?)?;
    let code = *app.keys.keys(action).first()?;
    Some(crossterm::event::KeyEvent::new(
        code,
        crossterm::event::KeyModifiers::NONE,
    ))
}

/// The bar, and the action of each of its items (lead, items, tail), so a
/// click on one can press its key.
fn bar(app: &App) -> (KeyBar<'static>, Vec<Option<Action>>) {
    let k = &app.keys;
    let (items, actions): (Vec<_>, Vec<_>) = if app.port.typing.is_some() {
        vec![
            (("0-65535".into(), "type a port"), None),
            (("Enter".into(), "explain it"), None),
            (("Esc".into(), "cancel"), None),
        ]
    } else if app.review.is_some() {
        vec![
            (item_as(k, Action::Next, "forward"), Some(Action::Next)),
            (item_as(k, Action::Back, "back"), Some(Action::Back)),
            (item(k, Action::Now), Some(Action::Now)),
        ]
    } else {
        vec![
            (item(k, Action::Next), Some(Action::Next)),
            (item(k, Action::Back), Some(Action::Back)),
            (
                if app.autoplay {
                    item_as(k, Action::Autoplay, "stop autoplay")
                } else {
                    item(k, Action::Autoplay)
                },
                Some(Action::Autoplay),
            ),
            (
                (
                    format!("{}/{}", k.first(Action::Faster), k.first(Action::Slower)),
                    "speed",
                ),
                // Two keys in one item: a click means neither.
                None,
            ),
            (item(k, Action::Restart), Some(Action::Restart)),
            (item(k, Action::Lessons), Some(Action::Lessons)),
            (item(k, Action::Present), Some(Action::Present)),
            (item(k, Action::Handout), Some(Action::Handout)),
        ]
    }
    .into_iter()
    .unzip();
    let tail = [Action::Help, Action::Quit];
    let bar = KeyBar {
        notice: None,
        lead: Vec::new(),
        items,
        tail: tail.iter().map(|a| item(k, *a)).collect(),
    };
    let actions = actions.into_iter().chain(tail.map(Some)).collect();
    (bar, actions)
}
