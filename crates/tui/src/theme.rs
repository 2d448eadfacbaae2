//! Colours and glyphs, by role.
//!
//! A theme is data: [`ThemeSpec`] names a colour for each role the screen
//! uses (serde in, so a config file can supply one), and [`Theme`] turns it
//! into ratatui styles. Meaning never rests on colour alone: the current step
//! is also bold and reversed, failures carry ✗ and the errno name, expected
//! arrows are dashed. So `NO_COLOR` (every colour dropped) and `--ascii` (no
//! box-drawing glyphs) lose nothing a student needs.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use serde::{Deserialize, Deserializer};
use std::str::FromStr;

/// The built-in themes, for `--theme`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ThemeName {
    /// Light text on a dark terminal.
    #[default]
    Dark,
    /// Dark text, readable on a white terminal.
    Light,
    /// Maximum contrast, bold, for projectors.
    HighContrast,
}

/// A colour for each role. Colours are written as ratatui reads them:
/// `"lightcyan"`, `"#ffaa00"`, `"244"`, `"reset"` for the terminal's own.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeSpec {
    /// The screen's background; `reset` keeps the terminal's own.
    #[serde(deserialize_with = "color")]
    pub background: Color,
    /// Ordinary text.
    #[serde(deserialize_with = "color")]
    pub text: Color,
    /// Secondary text: states, hints, explanations.
    #[serde(deserialize_with = "color")]
    pub muted: Color,
    /// Panel borders.
    #[serde(deserialize_with = "color")]
    pub border: Color,
    /// Panel titles and lane headings.
    #[serde(deserialize_with = "color")]
    pub title: Color,
    /// Foreground of the current step's rows.
    #[serde(deserialize_with = "color")]
    pub current_fg: Color,
    /// Background of the current step's rows.
    #[serde(deserialize_with = "color")]
    pub current_bg: Color,
    /// A call that succeeded, and ✓ checks.
    #[serde(deserialize_with = "color")]
    pub ok: Color,
    /// A call that failed, and ✗ checks.
    #[serde(deserialize_with = "color")]
    pub error: Color,
    /// A call waiting in the kernel.
    #[serde(deserialize_with = "color")]
    pub waiting: Color,
    /// Arrows between lanes (what crosses the wire).
    #[serde(deserialize_with = "color")]
    pub wire: Color,
    /// Code: the call as C writes it.
    #[serde(deserialize_with = "color")]
    pub code: Color,
    /// A layer the current call touches.
    #[serde(deserialize_with = "color")]
    pub layer_active: Color,
    /// Port ranges on the bar: well-known, registered, dynamic.
    #[serde(deserialize_with = "color")]
    pub port_system: Color,
    #[serde(deserialize_with = "color")]
    pub port_user: Color,
    #[serde(deserialize_with = "color")]
    pub port_dynamic: Color,
    /// This machine's ephemeral range and the ports in use.
    #[serde(deserialize_with = "color")]
    pub port_marker: Color,
    /// Keys in the key bar and help.
    #[serde(deserialize_with = "color")]
    pub key: Color,
    /// The "reviewing" banner.
    #[serde(deserialize_with = "color")]
    pub review_fg: Color,
    #[serde(deserialize_with = "color")]
    pub review_bg: Color,
    /// The packet pane: the bytes and fields of each layer (network
    /// interface, network, transport, application), in the hex dump too.
    #[serde(deserialize_with = "color")]
    pub layer_link: Color,
    #[serde(deserialize_with = "color")]
    pub layer_network: Color,
    #[serde(deserialize_with = "color")]
    pub layer_transport: Color,
    #[serde(deserialize_with = "color")]
    pub layer_application: Color,
}

fn color<'de, D: Deserializer<'de>>(d: D) -> Result<Color, D::Error> {
    let s = String::deserialize(d)?;
    Color::from_str(&s).map_err(|_| serde::de::Error::custom(format!("unknown colour `{s}`")))
}

const DARK: &str = include_str!("themes/dark.toml");
const LIGHT: &str = include_str!("themes/light.toml");
const HIGH_CONTRAST: &str = include_str!("themes/high-contrast.toml");

impl ThemeSpec {
    pub fn builtin(name: ThemeName) -> ThemeSpec {
        let text = match name {
            ThemeName::Dark => DARK,
            ThemeName::Light => LIGHT,
            ThemeName::HighContrast => HIGH_CONTRAST,
        };
        toml::from_str(text).expect("built-in themes parse (tested)")
    }
}

/// Box-drawing and arrow glyphs, or their ASCII stand-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    pub border: border::Set<'static>,
    /// Vertical line under a lane heading.
    pub lifeline: &'static str,
    /// An expected (not captured) segment's line.
    pub wire_expected: &'static str,
    /// A captured segment's line.
    pub wire_captured: &'static str,
    pub head_right: &'static str,
    pub head_left: &'static str,
    pub ok: &'static str,
    pub fail: &'static str,
    pub waiting: &'static str,
    /// Separates a call from the state it leaves.
    pub leads_to: &'static str,
    /// Joins a connection's two ends.
    pub both: &'static str,
    pub down: &'static str,
    pub up: &'static str,
    /// The port bar: well-known, registered and dynamic ranges.
    pub bar_full: &'static str,
    pub bar_light: &'static str,
    pub bar_medium: &'static str,
    pub marker: &'static str,
    pub ellipsis: &'static str,
}

pub const UNICODE: Glyphs = Glyphs {
    border: border::ROUNDED,
    lifeline: "│",
    wire_expected: "╌",
    wire_captured: "─",
    head_right: "▶",
    head_left: "◀",
    ok: "✓",
    fail: "✗",
    waiting: "…",
    leads_to: "▸",
    both: "↔",
    down: "↓",
    up: "↑",
    bar_full: "█",
    bar_light: "░",
    bar_medium: "▒",
    marker: "▲",
    ellipsis: "…",
};

pub const ASCII: Glyphs = Glyphs {
    border: border::Set {
        top_left: "+",
        top_right: "+",
        bottom_left: "+",
        bottom_right: "+",
        vertical_left: "|",
        vertical_right: "|",
        horizontal_top: "-",
        horizontal_bottom: "-",
    },
    lifeline: "|",
    wire_expected: ".",
    wire_captured: "-",
    head_right: ">",
    head_left: "<",
    ok: "ok",
    fail: "X",
    waiting: "...",
    leads_to: ">",
    both: "<->",
    down: "v",
    up: "^",
    bar_full: "#",
    bar_light: ".",
    bar_medium: ":",
    marker: "^",
    ellipsis: "~",
};

/// Styles by role, ready for ratatui, and the glyphs to draw with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// The whole screen: background and default text.
    pub base: Style,
    pub text: Style,
    pub muted: Style,
    pub border: Style,
    pub title: Style,
    pub current: Style,
    pub ok: Style,
    pub error: Style,
    pub waiting: Style,
    pub wire: Style,
    pub code: Style,
    pub layer_active: Style,
    pub layer_idle: Style,
    pub port_system: Style,
    pub port_user: Style,
    pub port_dynamic: Style,
    pub port_marker: Style,
    pub key: Style,
    pub review: Style,
    /// Network interface, network, transport, application: the packet
    /// pane's colour for each layer.
    pub layers: [Style; 4],
    pub glyphs: Glyphs,
    /// Draw nothing but ASCII: every other character left on screen is
    /// replaced after drawing (see `ui::asciify`).
    pub ascii: bool,
}

impl Theme {
    /// The colour of one layer of a captured packet.
    pub fn layer(&self, layer: sockscope_core::wire::decode::Layer) -> Style {
        use sockscope_core::wire::decode::Layer;
        self.layers[match layer {
            Layer::Link => 0,
            Layer::Internet => 1,
            Layer::Transport => 2,
            Layer::Application => 3,
        }]
    }

    /// Build a theme. `no_color` drops every colour (the `NO_COLOR`
    /// convention) and keeps the modifiers that carry meaning.
    pub fn new(spec: &ThemeSpec, no_color: bool, ascii: bool) -> Theme {
        let fg = |c: Color| {
            if no_color {
                Style::new()
            } else {
                Style::new().fg(c)
            }
        };
        // Emphasis: colours where allowed, reversed video where not.
        let bold = Modifier::BOLD;
        let on = |f: Color, b: Color| {
            if no_color {
                Style::new().add_modifier(bold | Modifier::REVERSED)
            } else {
                Style::new().fg(f).bg(b).add_modifier(bold)
            }
        };
        Theme {
            base: if no_color {
                Style::new()
            } else {
                Style::new().fg(spec.text).bg(spec.background)
            },
            text: fg(spec.text),
            muted: fg(spec.muted),
            border: fg(spec.border),
            title: fg(spec.title).add_modifier(bold),
            current: on(spec.current_fg, spec.current_bg),
            ok: fg(spec.ok),
            error: fg(spec.error).add_modifier(bold),
            waiting: fg(spec.waiting).add_modifier(Modifier::ITALIC),
            wire: fg(spec.wire),
            code: fg(spec.code).add_modifier(bold),
            layer_active: on(spec.current_fg, spec.layer_active),
            layer_idle: fg(spec.muted),
            port_system: fg(spec.port_system),
            port_user: fg(spec.port_user),
            port_dynamic: fg(spec.port_dynamic),
            port_marker: fg(spec.port_marker).add_modifier(bold),
            key: fg(spec.key).add_modifier(bold),
            review: on(spec.review_fg, spec.review_bg),
            layers: [
                fg(spec.layer_link),
                fg(spec.layer_network),
                fg(spec.layer_transport),
                fg(spec.layer_application),
            ],
            glyphs: if ascii { ASCII } else { UNICODE },
            ascii,
        }
    }

    /// The theme for the command line's choices and the environment.
    pub fn from_env(name: ThemeName, ascii: bool) -> Theme {
        // NO_COLOR: any non-empty value disables colour (no-color.org).
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme::new(&ThemeSpec::builtin(name), no_color, ascii)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_builtin_theme_parses() {
        for name in ThemeName::value_variants() {
            let spec = ThemeSpec::builtin(*name);
            assert_ne!(spec.text, spec.current_bg, "{name:?}");
        }
    }

    #[test]
    fn no_color_keeps_meaning_in_modifiers_only() {
        let t = Theme::new(&ThemeSpec::builtin(ThemeName::Dark), true, false);
        for s in [
            t.base,
            t.text,
            t.current,
            t.error,
            t.ok,
            t.layer_active,
            t.review,
        ] {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
        assert!(t.current.add_modifier.contains(Modifier::REVERSED));
        assert!(t.layer_active.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn ascii_glyphs_are_ascii() {
        let g = ASCII;
        for s in [
            g.lifeline,
            g.wire_expected,
            g.wire_captured,
            g.head_right,
            g.head_left,
            g.ok,
            g.fail,
            g.waiting,
            g.leads_to,
            g.both,
            g.down,
            g.up,
            g.bar_full,
            g.bar_light,
            g.bar_medium,
            g.marker,
            g.ellipsis,
            g.border.top_left,
            g.border.horizontal_top,
            g.border.vertical_left,
        ] {
            assert!(s.is_ascii(), "{s}");
        }
    }

    #[test]
    fn a_bad_colour_is_an_error_not_a_panic() {
        let text = DARK.replace("muted = \"gray\"", "muted = \"no-such-colour\"");
        assert_ne!(text, DARK, "the dark theme sets muted = \"gray\"");
        let err = toml::from_str::<ThemeSpec>(&text).unwrap_err();
        assert!(err.to_string().contains("no-such-colour"));
    }
}
