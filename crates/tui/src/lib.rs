//! The interactive TUI: `sockscope`, `sockscope lesson NAME` and, on a
//! terminal, `sockscope serve`.
//!
//! Every screen runs in one shell ([`shell`]): one `tokio::select!` loop
//! over key presses, resizes and mouse events, the screen's own messages
//! (drained once per frame), an animation tick that exists only while
//! something moves, a timer only while the screen asks for one, and SIGINT
//! / SIGTERM / SIGHUP. Each becomes a [`shell::Msg`]; the shell's pure
//! `update` applies the presenter's keys (blank, freeze, presenter mode,
//! handouts, the help and the windows that scroll) and passes the rest to
//! the screen's own pure `update`, which returns a [`shell::Effect`] the
//! loop carries out. When nothing moves the loop sleeps in `select!`.
//!
//! The terminal is restored on every way out: a guard restores it on return
//! and on error, and the panic hook restores it before color-eyre prints the
//! report.
//!
//! # Layout
//!
//! The modules are layers too; each uses only the ones above it in this
//! list (a test, `crates/sockscope/tests/layers_enforced.rs`, fails on an
//! import cycle):
//!
//! - [`theme`]: colours by role (serde in) and the ratatui styles and glyphs
//!   drawn with (`From`); `ThemeName`, the one list of theme names.
//! - [`keys`]: the key table: every action, its default keys, words and
//!   help; the key map in force and how a key press is read.
//! - [`config`]: the config file (theme and single colours, speed, keys,
//!   default lesson, lessons folder) and its commented template, derived
//!   from the key table and the theme's roles.
//! - [`widgets`]: drawing every screen shares: panels, the help window,
//!   the windows that scroll, the key bar.
//! - [`shell`]: the `Screen` trait, the presenter's layer of keys over every
//!   screen, the loop, the terminal guard.
//! - [`arrows`]: what each call put on the wire: captured, or expected when
//!   capture is not allowed.
//! - [`app`]: the lesson screen's state and its pure `update`.
//! - [`timeline`]: the lesson's rows, sockets and ports at the focused step.
//! - [`serve`]: the serve screen's state and its pure `update`.
//! - [`run`]: the run screen's state (a student's traced programs, held a
//!   call at a time) and its pure `update`.
//! - [`ui`]: one file per panel of the lesson screen (the packet pane is
//!   `ui::packet`), and the serve screen's `ui::serve`.
//! - [`screens`]: each screen in the shell: its `Screen` impl and its
//!   driver (the engine, the server).

// One module a group, so rustfmt keeps them in layer order.
pub mod theme;

pub mod keys;

pub mod config;

pub mod widgets;

pub mod shell;

pub mod arrows;

pub mod app;

pub mod timeline;

pub mod serve;

pub mod run;

pub mod ui;

/// The code panel's programs, generated from the lesson.
pub mod code;
/// A student's progress, kept between sessions.
pub mod progress;
pub mod screens;
/// Study mode's predictions, graded by the kernel.
pub mod study;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod kernel_tests;
#[cfg(test)]
mod packet_tests;
#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod run_tests;

pub use screens::lesson::run;
pub use screens::run::{RunEnd, run_programs};
pub use screens::serve::{ServeEnd, run as run_serve};
pub use shell::run::Outcome;
pub use shell::term::{NoTerminal, TerminalGuard, check_terminal, restore};

use std::time::Duration;

/// How the TUI was asked to look and behave: the command line over the
/// config file over the defaults (`main` merges them).
// The bools mirror independent flags of the command line and the config
// file (`--ascii`, `--present`, `--no-mouse`, `--study`).
#[expect(
    clippy::struct_excessive_bools,
    reason = "mirrors independent command-line and config flags"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub theme: theme::ThemeName,
    /// Single colours the config file changes, over the theme's.
    pub colors: theme::ColorOverrides,
    pub ascii: bool,
    /// The port `$port` stands for in lessons; 0 lets the kernel choose.
    pub port: u16,
    /// Start in presenter mode.
    pub present: bool,
    pub keys: keys::KeyMap,
    /// Autoplay interval at 1×.
    pub autoplay: Duration,
    /// Which network the lessons run on, for the title bar
    /// (`sockscope_core::lab::Network::label`); `None` says nothing.
    pub network: Option<&'static str>,
    /// Read the mouse on the lesson screen (clicks on the lanes review a
    /// step); off, the terminal keeps its own text selection.
    pub mouse: bool,
    /// Where the student's progress is kept; `None` keeps none.
    pub progress_file: Option<std::path::PathBuf>,
    /// Study mode: ask each step's `predict` question before its call.
    pub study: bool,
    /// The code panel's first language.
    pub code: code::Lang,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            theme: theme::ThemeName::default(),
            colors: theme::ColorOverrides::default(),
            ascii: false,
            port: 0,
            present: false,
            keys: keys::KeyMap::default(),
            autoplay: app::AUTOPLAY,
            network: None,
            mouse: true,
            progress_file: None,
            study: false,
            code: code::Lang::default(),
        }
    }
}
