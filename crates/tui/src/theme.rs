//! Colours and glyphs, by role, in two layers (as trippy does it):
//!
//! 1. [`ThemeColors`], plain data read with serde: one colour for each role
//!    the screen uses, named for the role (`current_step_bg`, not
//!    `yellow`). The built-in themes are TOML files of it
//!    (`src/themes/*.toml`), and a config file's `[theme.colors]` table
//!    overrides single roles ([`ColorOverrides`]).
//! 2. [`Theme`], what the panels draw with: ratatui styles and the glyphs,
//!    made `From` the colours (or with [`Theme::new`], which also honours
//!    `NO_COLOR` and `--ascii`).
//!
//! The roles are listed once, in the `roles!` invocation below: it defines
//! both serde types and [`ROLES`], from which the config template documents
//! every role, so a role cannot be added to one and forgotten in another.
//!
//! Meaning never rests on colour alone: the current step is also bold and
//! reversed, failures carry ✗ and the errno name, expected arrows are dashed.
//! So `NO_COLOR` (every colour dropped) and `--ascii` (no box-drawing glyphs)
//! lose nothing a student needs.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use serde::{Deserialize, Deserializer};
use std::str::FromStr;

/// The built-in themes, as `--theme` and the config file's `theme` name
/// them (`dark`, `light`, `high-contrast`). The one definition: clap and
/// serde both read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThemeName {
    /// Light text on a dark terminal.
    #[default]
    Dark,
    /// Dark text, readable on a white terminal.
    Light,
    /// Maximum contrast, bold, for projectors.
    HighContrast,
}

/// Defines, from one list of roles (each with its `///` doc):
/// [`ThemeColors`] (every role set: a built-in theme), [`ColorOverrides`]
/// (every role optional: what a config file changes) and [`ROLES`] (each
/// role's name and doc, for the config template).
macro_rules! roles {
    ($( $(#[doc = $doc:literal])+ $role:ident, )+) => {
        /// A colour for each role. Colours are written as ratatui reads
        /// them: a name (`"lightcyan"`), `"#ffaa00"`, an index (`"244"`), or
        /// `"reset"` for the terminal's own.
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ThemeColors {
            $( $(#[doc = $doc])+ #[serde(deserialize_with = "color")] pub $role: Color, )+
        }

        /// The roles a config file's `[theme.colors]` table changes; the
        /// rest keep the theme's colours.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ColorOverrides {
            $( $(#[doc = $doc])+ #[serde(default, deserialize_with = "some_color")] pub $role: Option<Color>, )+
        }

        impl ThemeColors {
            /// These colours with `overrides` put over them.
            #[must_use]
    pub fn with(mut self, overrides: &ColorOverrides) -> ThemeColors {
                $( if let Some(c) = overrides.$role { self.$role = c; } )+
                self
            }
        }

        /// Every role's name and what it colours, in the order above.
        pub const ROLES: &[(&str, &str)] = &[ $( (stringify!($role), concat!($($doc),+)), )+ ];
    };
}

roles! {
    /// The screen's background; `reset` keeps the terminal's own.
    background,
    /// Ordinary text.
    text,
    /// Secondary text: states, hints, explanations.
    muted,
    /// Panel borders.
    border,
    /// Panel titles and lane headings.
    title,
    /// Foreground of the current step's rows (and of a lit layer).
    current_step_fg,
    /// Background of the current step's rows.
    current_step_bg,
    /// A call that succeeded, and ✓ checks.
    ok,
    /// A call that failed, and ✗ checks.
    error,
    /// A call waiting in the kernel, and notices.
    waiting,
    /// Arrows between lanes (what crosses the wire).
    wire,
    /// Code: the call as C writes it.
    code,
    /// Background of a layer the current call touches.
    layer_active,
    /// The port bar's well-known range (0-1023).
    port_system,
    /// The port bar's registered range (1024-49151).
    port_user,
    /// The port bar's dynamic range (49152-65535).
    port_dynamic,
    /// This machine's ephemeral range and the ports in use.
    port_marker,
    /// Keys in the key bar and the help.
    key,
    /// Foreground of the "reviewing" banner.
    review_fg,
    /// Background of the "reviewing" banner.
    review_bg,
    /// The packet pane: the network interface layer's bytes and fields.
    layer_link,
    /// The packet pane: the network layer's (IP).
    layer_network,
    /// The packet pane: the transport layer's (TCP, UDP).
    layer_transport,
    /// The packet pane: the application's payload.
    layer_application,
}

/// Read a colour as ratatui names it; a name it does not know is an error
/// naming the colour, never a panic.
fn color<'de, D: Deserializer<'de>>(d: D) -> Result<Color, D::Error> {
    let s = String::deserialize(d)?;
    Color::from_str(&s).map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown colour `{s}`: use a name (lightcyan), #rrggbb, 0-255, or reset"
        ))
    })
}

/// [`color`] for a role a config file may leave out.
fn some_color<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Color>, D::Error> {
    color(d).map(Some)
}

const DARK: &str = include_str!("themes/dark.toml");
const LIGHT: &str = include_str!("themes/light.toml");
const HIGH_CONTRAST: &str = include_str!("themes/high-contrast.toml");

impl ThemeColors {
    /// The colours of built-in theme `name`.
    ///
    /// # Panics
    ///
    /// If a built-in theme file does not parse: a build defect, which the
    /// tests catch.
    #[must_use]
    pub fn builtin(name: ThemeName) -> ThemeColors {
        toml::from_str(ThemeColors::builtin_toml(name)).expect("built-in themes parse (tested)")
    }

    /// A built-in theme's file, as written (the config template quotes the
    /// dark theme's colours from it).
    #[must_use]
    pub fn builtin_toml(name: ThemeName) -> &'static str {
        match name {
            ThemeName::Dark => DARK,
            ThemeName::Light => LIGHT,
            ThemeName::HighContrast => HIGH_CONTRAST,
        }
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
    /// replaced after drawing (see `widgets::asciify`).
    pub ascii: bool,
}

/// The colours as styles, with Unicode glyphs: the theme as the roles say.
impl From<&ThemeColors> for Theme {
    fn from(colors: &ThemeColors) -> Theme {
        Theme::new(colors, false, false)
    }
}

impl Theme {
    /// The colour of one layer of a captured packet.
    #[must_use]
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
    /// convention) and keeps the modifiers that carry meaning; `ascii` draws
    /// with ASCII stand-ins for every glyph.
    #[must_use]
    pub fn new(c: &ThemeColors, no_color: bool, ascii: bool) -> Theme {
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
                Style::new().fg(c.text).bg(c.background)
            },
            text: fg(c.text),
            muted: fg(c.muted),
            border: fg(c.border),
            title: fg(c.title).add_modifier(bold),
            current: on(c.current_step_fg, c.current_step_bg),
            ok: fg(c.ok),
            error: fg(c.error).add_modifier(bold),
            waiting: fg(c.waiting).add_modifier(Modifier::ITALIC),
            wire: fg(c.wire),
            code: fg(c.code).add_modifier(bold),
            layer_active: on(c.current_step_fg, c.layer_active),
            layer_idle: fg(c.muted),
            port_system: fg(c.port_system),
            port_user: fg(c.port_user),
            port_dynamic: fg(c.port_dynamic),
            port_marker: fg(c.port_marker).add_modifier(bold),
            key: fg(c.key).add_modifier(bold),
            review: on(c.review_fg, c.review_bg),
            layers: [
                fg(c.layer_link),
                fg(c.layer_network),
                fg(c.layer_transport),
                fg(c.layer_application),
            ],
            glyphs: if ascii { ASCII } else { UNICODE },
            ascii,
        }
    }
}

/// The two themes a TUI draws with: the one chosen, and the high-contrast
/// one presenter mode switches to. A config file's colour overrides apply to
/// both (a colour changed for a projector is wanted in presenter mode too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Themes {
    pub normal: Theme,
    pub present: Theme,
}

impl Themes {
    /// Theme `name` and presenter mode's, both with `overrides` put over
    /// their colours.
    #[must_use]
    pub fn new(name: ThemeName, overrides: &ColorOverrides, no_color: bool, ascii: bool) -> Themes {
        let theme = |name| Theme::new(&ThemeColors::builtin(name).with(overrides), no_color, ascii);
        Themes {
            normal: theme(name),
            present: theme(ThemeName::HighContrast),
        }
    }

    /// The themes for the command line's choices and the environment.
    #[must_use]
    pub fn from_env(name: ThemeName, overrides: &ColorOverrides, ascii: bool) -> Themes {
        // NO_COLOR: any non-empty value disables colour (no-color.org).
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Themes::new(name, overrides, no_color, ascii)
    }

    /// Draw with `theme` whether presenting or not (tests and benchmarks
    /// that compare one theme's frames).
    #[must_use]
    pub fn only(theme: Theme) -> Themes {
        Themes {
            normal: theme.clone(),
            present: theme,
        }
    }
}

impl Default for Themes {
    /// Dark, and high contrast for presenter mode, in colour and Unicode.
    fn default() -> Themes {
        Themes {
            normal: Theme::from(&ThemeColors::builtin(ThemeName::Dark)),
            present: Theme::from(&ThemeColors::builtin(ThemeName::HighContrast)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_builtin_theme_parses() {
        for name in ThemeName::value_variants() {
            let colors = ThemeColors::builtin(*name);
            assert_ne!(colors.text, colors.current_step_bg, "{name:?}");
        }
    }

    #[test]
    fn no_color_keeps_meaning_in_modifiers_only() {
        let t = Theme::new(&ThemeColors::builtin(ThemeName::Dark), true, false);
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
        let err = toml::from_str::<ThemeColors>(&text).unwrap_err();
        assert!(err.to_string().contains("no-such-colour"));
    }

    #[test]
    fn every_role_is_listed_once_with_its_doc_and_set_by_every_theme() {
        let names: std::collections::BTreeSet<_> = ROLES.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.len(), ROLES.len());
        assert!(ROLES.iter().all(|(_, doc)| !doc.trim().is_empty()));
        // Each built-in file sets exactly these roles (serde refuses unknown
        // ones and missing ones), so ROLES is the whole vocabulary.
        for text in [DARK, LIGHT, HIGH_CONTRAST] {
            let table: toml::Table = toml::from_str(text).unwrap();
            let set: std::collections::BTreeSet<_> = table.keys().map(String::as_str).collect();
            assert_eq!(set, names);
        }
    }

    #[test]
    fn an_override_changes_one_role_and_no_other() {
        let dark = ThemeColors::builtin(ThemeName::Dark);
        let o: ColorOverrides = toml::from_str("current_step_bg = \"#ffcc00\"").unwrap();
        let mine = dark.clone().with(&o);
        assert_eq!(mine.current_step_bg, Color::Rgb(0xff, 0xcc, 0x00));
        assert_eq!(
            ThemeColors {
                current_step_bg: dark.current_step_bg,
                ..mine.clone()
            },
            dark
        );
        let t = Theme::from(&mine);
        assert_eq!(t.current.bg, Some(Color::Rgb(0xff, 0xcc, 0x00)));
        // The config file's colours apply in presenter mode too.
        let themes = Themes::new(ThemeName::Light, &o, false, false);
        let gold = Some(Color::Rgb(0xff, 0xcc, 0x00));
        assert_eq!(
            (themes.normal.current.bg, themes.present.current.bg),
            (gold, gold)
        );
        let light = ThemeColors::builtin(ThemeName::Light);
        assert_eq!(themes.normal.text.fg, Some(light.text));
        let unknown = toml::from_str::<ColorOverrides>("current_bg = \"red\"").unwrap_err();
        assert!(unknown.to_string().contains("current_bg"), "{unknown}");
    }
}
