//! Drawing the lesson screen: a pure function of the [`App`] and the
//! [`Theme`]. (The serve screen is [`serve`]; what every screen shares, the
//! help, the scrolling windows and the key bar, is `crate::widgets`.)
//!
//! Each panel is one file with one free function,
//! `render(frame, area, app, theme)`, the same argument order everywhere.
//! Panels adapt to the area they are given (a one-line layer strip when the
//! terminal is small, a full diagram when it is large); this file only
//! decides the areas, with the named sizes below.
//!
//! ```text
//! Wide (at least 100×32):
//!  sockscope │ TCP: one server, two clients            step 6 of 22 · manual · 1×   title
//! ╭ lifecycle ─────────────────────────────────────────────────────────────────────╮
//! │ server · TCP server       │ client · TCP client       │ client2 · TCP client 2  │  lanes
//! │ │ accept(3) = 5 ▸ …       │ │ connect(4) = 0          │ │                       │
//! │ │◀╌╌╌╌╌╌╌ SYN ╌╌╌╌╌╌╌╌╌╌╌╌┤                           │                         │
//! ╰────────────────────────────────────────────────────────────────────────────────╯
//! ╭ TCP/IP layers ───────────────╮╭ ports ──────────────────────────────────────────╮
//! │ Application  ↓ payload       ││ 0 ▓1024▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒49152░░░░░░░░░ 65535 │  layers | ports
//! │ Transport    ↓ TCP header    ││        ▲ 47397 server   ▲ 52014 client          │
//! ╰──────────────────────────────╯╰─────────────────────────────────────────────────╯
//! ╭ step 6 · client ───────────────────────────────────────────────────────────────╮
//! │ connect(4, 127.0.0.1:47397) = 0                          ✓ checked on this run  │  narration
//! ╰────────────────────────────────────────────────────────────────────────────────╯
//!  Space next · ← back · a autoplay · +/- speed · r restart · L lessons · ? help · q quit   keys
//!
//! Compact (down to 60×20): the same rows, with the layers and ports panels
//! reduced to a one-line strip and a two-line bar.
//! ```
//!
//! Windows over the screen: the lesson list (`L`), drawn here; the help
//! (`?`) and the whole narration (`m`), drawn by the shell over whatever
//! this file drew (they scroll when taller than the terminal). Below
//! [`MIN_WIDTH`]×[`MIN_HEIGHT`] the shell draws a message asking for more
//! room instead.
//!
//! The packet pane (`x`) takes the rows of the lanes and the middle panels
//! while it is open. The kernel panel (`K`, on from the start in the lessons
//! about TCP states and UDP buffers) takes the layer diagram's place: a
//! panel in the wide layout, a one-line strip in the compact one.

pub mod code;
pub mod kernel;
pub mod keybar;
pub mod lanes;
pub mod layers;
pub mod narration;
pub mod packet;
pub mod picker;
pub mod ports;
pub mod predict;
pub mod present;
pub mod run;
pub mod serve;
pub mod title;

use crate::app::App;
use crate::shell::Shell;
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the screen cannot show a lane per endpoint and the narration;
/// a message asks for more room instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;
/// From this size on, the layer diagram and the port bar get full panels.
pub const WIDE_WIDTH: u16 = 100;
pub const WIDE_HEIGHT: u16 = 32;
/// Rows for the layers and ports panels in the wide layout: enough for the
/// four layers with their OSI names and this message's headers from
/// `TALL_HEIGHT` rows on, a tighter diagram below that.
pub const MIDDLE_HEIGHT: u16 = 12;
pub const MIDDLE_HEIGHT_TALL: u16 = 15;
pub const TALL_HEIGHT: u16 = 40;
/// Columns for the layers panel in the wide layout.
pub const LAYERS_WIDTH: u16 = 52;
/// Rows for the narration, borders included.
pub const NARRATION_WIDE: u16 = 9;
pub const NARRATION_COMPACT: u16 = 7;
/// The compact layout's layer strip and port bar.
pub const LAYER_STRIP: u16 = 1;
pub const PORT_STRIP: u16 = 2;

/// Where each panel goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub title: Rect,
    pub lanes: Rect,
    pub layers: Rect,
    pub ports: Rect,
    pub narration: Rect,
    pub keybar: Rect,
}

/// Split the screen. `None` when it is too small to be useful.
#[must_use]
pub fn layout(area: Rect) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let wide = area.width >= WIDE_WIDTH && area.height >= WIDE_HEIGHT;
    if wide {
        let [title, lanes, middle, narration, keybar] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(if area.height >= TALL_HEIGHT {
                MIDDLE_HEIGHT_TALL
            } else {
                MIDDLE_HEIGHT
            }),
            Constraint::Length(NARRATION_WIDE),
            Constraint::Length(1),
        ])
        .areas(area);
        let [layers, ports] =
            Layout::horizontal([Constraint::Length(LAYERS_WIDTH), Constraint::Fill(1)])
                .areas(middle);
        Some(Areas {
            title,
            lanes,
            layers,
            ports,
            narration,
            keybar,
        })
    } else {
        let [title, lanes, layers, ports, narration, keybar] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(LAYER_STRIP),
            Constraint::Length(PORT_STRIP),
            Constraint::Length(NARRATION_COMPACT),
            Constraint::Length(1),
        ])
        .areas(area);
        Some(Areas {
            title,
            lanes,
            layers,
            ports,
            narration,
            keybar,
        })
    }
}

/// Draw the lesson screen: presenter mode's large layout, or every panel.
/// The picture is the shell's shown one (the frozen picture while frozen).
pub fn render(frame: &mut Frame, area: Rect, shell: &Shell<App>, theme: &Theme) {
    let app = shell.shown();
    if shell.present {
        present::render(frame, area, app, theme);
        picker(frame, area, app, theme);
    } else {
        full(frame, area, app, theme);
    }
}

/// Every panel. The shell calls [`render`] only at [`MIN_WIDTH`]×
/// [`MIN_HEIGHT`] and up, where [`layout`] always has room.
fn full(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(areas) = layout(area) else {
        return;
    };
    title::render(frame, areas.title, app, theme);
    if app.shown_packet().is_some() {
        // The packet pane takes the lanes' and the middle panels' rows.
        let pane = Rect {
            x: area.x,
            y: areas.lanes.y,
            width: area.width,
            height: areas.narration.y - areas.lanes.y,
        };
        packet::render(frame, pane, app, theme);
    } else {
        lanes::render(frame, areas.lanes, app, theme);
        if app.code_panel {
            code::render(frame, areas.layers, app, theme);
        } else if app.kernel_panel {
            kernel::render(frame, areas.layers, app, theme);
        } else {
            layers::render(frame, areas.layers, app, theme);
        }
        ports::render(frame, areas.ports, app, theme);
    }
    narration::render(frame, areas.narration, app, theme);
    keybar::render(frame, areas.keybar, app, theme);
    picker(frame, area, app, theme);
}

/// The lesson list, or study mode's question, when one is open.
fn picker(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if app.picker.is_some() {
        picker::render(frame, area, app, theme);
    } else if app.predicting.is_some() {
        predict::render(frame, area, app, theme);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_fill_the_screen_at_every_supported_size() {
        for (w, h) in [(60, 20), (80, 24), (100, 32), (120, 40), (200, 50)] {
            let a = layout(Rect::new(0, 0, w, h)).unwrap();
            assert_eq!(a.title.y, 0);
            assert_eq!(a.keybar.y, h - 1);
            assert!(a.lanes.height >= 8, "{w}x{h}: lanes {}", a.lanes.height);
        }
        assert!(layout(Rect::new(0, 0, 59, 24)).is_none());
        assert!(layout(Rect::new(0, 0, 80, 19)).is_none());
    }
}
