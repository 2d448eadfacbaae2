//! The bottom line: the keys that matter now, each as its first bound key
//! and its word (`Space next call   ← review   ? help`). A screen says which
//! actions to offer; the keys come from the key map in force and the words
//! from the key table (or the screen's word for the moment, `forward` while
//! reviewing). A notice, when there is one, comes first.
//!
//! When the line is too narrow, the screen's items are dropped from the end;
//! the ones it always keeps (help, quit) stay.

use super::fit;
use crate::keys::{self, Action, KeyMap};
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The spaces between two items.
const GAP: usize = 3;

/// One item: the key as shown, and what it does.
pub type Item = (String, &'static str);

/// `action`'s first key under `map`, with the key table's word for it.
#[must_use]
pub fn item(map: &KeyMap, action: Action) -> Item {
    (map.first(action), keys::spec(action).label)
}

/// `action`'s first key, with a word of the screen's for this moment.
#[must_use]
pub fn item_as(map: &KeyMap, action: Action, does: &'static str) -> Item {
    (map.first(action), does)
}

/// What the key bar shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyBar<'a> {
    /// A message for the presenter, shown first.
    pub notice: Option<&'a str>,
    /// Items always shown, before the rest.
    pub lead: Vec<Item>,
    /// Items shown as room allows, dropped from the end.
    pub items: Vec<Item>,
    /// Items always shown, after the rest.
    pub tail: Vec<Item>,
}

/// Where each shown item lands on a line `width` wide: its index among the
/// bar's lead, items and tail, and the columns it takes (from 0), after
/// `start` columns of lead-in (the notice). Items that do not fit are left
/// out, from the end of `items`, as [`render`] draws them.
fn placed(bar: &KeyBar, width: usize, start: usize) -> Vec<(usize, std::ops::Range<usize>)> {
    let size = |(k, d): &Item| k.chars().count() + d.chars().count() + 1;
    let len = |items: &[Item]| -> usize {
        let all: usize = bar
            .lead
            .iter()
            .chain(items)
            .chain(&bar.tail)
            .map(|i| size(i) + GAP)
            .sum();
        all.saturating_sub(GAP)
    };
    let mut shown = bar.items.len();
    while start + len(&bar.items[..shown]) > width && shown > 0 {
        shown -= 1;
    }
    // Below the width of the fixed items alone, only the notice is shown:
    // half a key is worse than none.
    if start + len(&bar.items[..shown]) > width {
        return Vec::new();
    }
    let lead = bar.lead.len();
    let indices = (0..lead)
        .chain(lead..lead + shown)
        .chain(lead + bar.items.len()..lead + bar.items.len() + bar.tail.len());
    let all: Vec<&Item> = bar.lead.iter().chain(&bar.items).chain(&bar.tail).collect();
    let mut at = start;
    indices
        .map(|i| {
            let cols = at..at + size(all[i]);
            at = cols.end + GAP;
            (i, cols)
        })
        .collect()
}

/// Which item (its index among lead, items and tail) is drawn at column
/// `x` of a key bar `width` wide, with no notice.
#[must_use]
pub fn hit(bar: &KeyBar, width: u16, x: u16) -> Option<usize> {
    placed(bar, width as usize, 1)
        .into_iter()
        .find(|(_, cols)| cols.contains(&(x as usize)))
        .map(|(i, _)| i)
}

pub fn render(frame: &mut Frame, area: Rect, bar: &KeyBar, theme: &Theme) {
    let width = area.width as usize;
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    if let Some(n) = bar.notice {
        let n = fit(n, width.saturating_sub(2), theme.glyphs.ellipsis);
        used += n.chars().count() + 3;
        spans.push(Span::styled(n, theme.waiting));
        spans.push(Span::raw("   "));
    }
    // Each item is `key does` and three spaces before the next; the last
    // one's spaces may fall off the edge.
    let all: Vec<&Item> = bar.lead.iter().chain(&bar.items).chain(&bar.tail).collect();
    for (i, _) in placed(bar, width, used) {
        let (key, does) = all[i];
        spans.push(Span::styled(key.clone(), theme.key));
        spans.push(Span::styled(format!(" {does}   "), theme.muted));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
