//! The one TUI shell every screen runs in (the lesson screen, the serve
//! screen, and the coming `sockscope run`).
//!
//! A screen is a [`Screen`]: plain state with a pure `update(msg) ->
//! effect` and a `render`. The shell wraps it in a [`Shell`], which adds
//! what a presenter does on every screen, written once here:
//!
//! - presenter mode (`P`): the high-contrast theme and the screen's large
//!   layout;
//! - blank (`b`, `.`): an empty screen until any key;
//! - freeze (`f`): the picture stays while the screen's state goes on;
//! - the handout (`e`): the screen says what to write, the loop writes it
//!   and says where on the notice line;
//! - the windows that scroll over the screen: the help (`?`, its rows
//!   derived from the key table) and the screen's long text (`m`), and how
//!   far each may scroll at the terminal's size;
//! - notices: the one-line messages the loop sends back (where a handout or
//!   a pcap went).
//!
//! A key passes down a stack of layers, top first; each takes it or passes
//! it on, and the screen gets what no layer took:
//!
//! ```text
//!   Ctrl-C Ctrl-Z  quit, suspend: from anywhere
//!   blank          any key brings the screen back, and does nothing else
//!   prompt         the screen's text prompt, while open, takes every key
//!   presenter      P b . f e
//!   window         the help or the long text, while open: scroll, close, switch, q
//!   quit           q
//!   screen         everything else
//! ```
//!
//! [`Shell::update`] is pure (no I/O, no clock) and is where every change
//! of state happens; [`run`] is the loop that feeds it terminal events, the
//! screen's own messages, ticks and signals, draws, and carries out the
//! effects.

pub mod run;
pub mod term;

use crate::keys::{self, Action, KeyMap, ScreenKind};
use crate::theme::{Glyphs, Theme, Themes};
use crate::widgets::{self, help::Help, text::Text};
use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Block;
use std::time::Duration;

/// A message for [`Shell::update`], and from it for [`Screen::update`].
#[derive(Debug, Clone, PartialEq)]
pub enum Msg<F> {
    /// A key press (presses only: releases and repeats are not read).
    Key(KeyEvent),
    /// A mouse event, when the screen asks for them ([`Screen::MOUSE`]).
    Mouse(MouseEvent),
    /// The terminal's new size, in cells.
    Resize(u16, u16),
    /// An animation frame passed (sent only while [`Screen::animating`]).
    Tick,
    /// A line for the presenter from the loop (where a handout went). The
    /// shell writes it into [`Screen::notice`]; a screen never gets it.
    Notice(String),
    /// A message from the screen's own source (its engine, its server, the
    /// answer to one of its effects).
    Feed(F),
}

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect<E> {
    None,
    Quit,
    /// Give the terminal back to the shell and stop until `fg` (Ctrl-Z).
    Suspend,
    /// Write this handout where the presenter started sockscope, and say
    /// where on the notice line.
    Handout(Handout),
    /// The screen's own (step the engine, explain a port, ...), carried out
    /// by its [`run::Driver`].
    Screen(E),
}

/// A markdown handout, ready to write as `sockscope-STEM.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handout {
    pub stem: String,
    pub markdown: String,
}

/// One screen of the TUI. Its state changes only in [`Screen::update`];
/// everything else reads it.
pub trait Screen: Clone {
    /// Which screen this is: the key table says which actions work on it.
    const KIND: ScreenKind;
    /// The smallest terminal it can draw in; below that the shell says what
    /// size it needs until the window grows.
    const MIN_SIZE: (u16, u16) = (0, 0);
    /// Whether a notice goes at the next key (true), or stays until the
    /// screen clears it (a lesson clears it when it steps).
    const NOTICE_UNTIL_KEY: bool = false;
    /// Whether the terminal should report mouse events (turning mouse
    /// capture on stops the terminal's own text selection, so only a screen
    /// that reads clicks asks for it).
    const MOUSE: bool = false;

    /// What the screen's own source sends.
    type Feed;
    /// What the screen asks its driver to do.
    type Effect;

    /// Apply one message. Pure: no I/O, no clock. A key arrives here only
    /// when no layer of the shell took it.
    fn update(&mut self, msg: Msg<Self::Feed>) -> Effect<Self::Effect>;

    /// Draw the screen in `area`. The shell has filled the background and
    /// draws its windows over it afterwards; [`Shell::shown`] is the picture
    /// to draw (the frozen one while frozen).
    fn render(frame: &mut Frame, area: Rect, shell: &Shell<Self>, theme: &Theme);

    /// The key bindings in force.
    fn keys(&self) -> &KeyMap;

    /// The screen's one-line message for the presenter.
    fn notice(&mut self) -> &mut Option<String>;

    /// The marks the screen draws, and what each means, for the help.
    fn legend(&self, glyphs: &Glyphs) -> Vec<(String, String)>;

    /// What `e` writes: the screen as it stands.
    fn handout(&self) -> Handout;

    /// The key a click at (`column`, `row`) presses, if the screen draws
    /// one there (an item of its key bar) at the terminal's `size`: the
    /// click then goes down the shell's layers as that key would, so `?
    /// help` opens the help.
    fn key_at(&self, _size: (u16, u16), _column: u16, _row: u16) -> Option<KeyEvent> {
        None
    }

    /// A mouse event no key took, with the terminal's `size` (where it
    /// lands depends on the layout drawn at that size). The shell keeps the
    /// size; a screen need not.
    fn mouse(&mut self, event: MouseEvent, _size: (u16, u16)) -> Effect<Self::Effect> {
        self.update(Msg::Mouse(event))
    }

    /// The long text `m` opens in a window, if the screen has one.
    fn text(&self, _theme: &Theme) -> Option<Text<'_>> {
        None
    }

    /// True while something moves: only then does the loop tick.
    fn animating(&self) -> bool {
        false
    }

    /// Work to repeat while the screen waits, and how often (the kernel
    /// panel's refresh): the loop carries it out on a timer that exists
    /// only while this says so.
    fn every(&self) -> Option<(Duration, Self::Effect)> {
        None
    }

    /// A text prompt is open: it takes every key (`P` is a letter there).
    fn typing(&self) -> bool {
        false
    }

    /// A window of the screen's own is open (the lesson list): the shell's
    /// windows stay shut, and a freeze ends so the window is seen.
    fn modal(&self) -> bool {
        false
    }

    /// The picture `f` keeps: the screen as it is, by default.
    #[must_use]
    fn still(&self) -> Self {
        self.clone()
    }
}

/// A window of the shell's over the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Every key and mark of the screen.
    Help,
    /// The screen's long text ([`Screen::text`]).
    Text,
}

/// The screen under the presenter's controls.
#[derive(Debug, Clone)]
pub struct Shell<S> {
    /// The screen, live.
    pub screen: S,
    /// What the screen showed when it was frozen; the screen goes on behind
    /// it, and thawing shows the present.
    pub frozen: Option<Box<S>>,
    /// Presenter mode: high contrast and the screen's large layout.
    pub present: bool,
    /// The screen is blanked, as slide software does; any key shows it again.
    pub blank: bool,
    /// The window open over the screen, if one is.
    pub window: Option<Window>,
    /// How many rows the window is scrolled down.
    pub scroll: u16,
    /// The terminal's size in cells, from the last resize: how far a window
    /// can scroll depends on it.
    pub size: (u16, u16),
    pub themes: Themes,
}

/// The size assumed until the loop reports the terminal's own.
pub const DEFAULT_SIZE: (u16, u16) = (80, 24);

/// One layer of the key stack: given the key and the action it is bound
/// to, it takes the key or passes it down.
type KeyLayer<S> = fn(&mut Shell<S>, KeyEvent, Option<Action>) -> Layer<<S as Screen>::Effect>;

/// What a layer of the key stack did with a key.
enum Layer<E> {
    /// It took the key; the loop does this.
    Took(Effect<E>),
    /// Not its key: on to the layer below.
    Passed,
}

use Layer::{Passed, Took};

impl<S: Screen> Shell<S> {
    pub fn new(screen: S, themes: Themes) -> Shell<S> {
        Shell {
            screen,
            frozen: None,
            present: false,
            blank: false,
            window: None,
            scroll: 0,
            size: DEFAULT_SIZE,
            themes,
        }
    }

    /// The picture on screen: the frozen one while frozen, else the live one.
    pub fn shown(&self) -> &S {
        self.frozen.as_deref().unwrap_or(&self.screen)
    }

    /// The theme drawn with now.
    pub fn theme(&self) -> &Theme {
        if self.present {
            &self.themes.present
        } else {
            &self.themes.normal
        }
    }

    /// True while the screen animates: only then does the loop tick.
    pub fn animating(&self) -> bool {
        self.screen.animating()
    }

    /// Apply one message. Pure: no I/O, no clock.
    pub fn update(&mut self, msg: Msg<S::Feed>) -> Effect<S::Effect> {
        match msg {
            Msg::Key(key) => self.on_key(key),
            // The wheel over a window (help, the whole narration) scrolls
            // it, as the arrow keys do.
            Msg::Mouse(m) if self.window.is_some() => {
                use crossterm::event::{KeyCode, KeyModifiers, MouseEventKind};
                let code = match m.kind {
                    MouseEventKind::ScrollUp => KeyCode::Up,
                    MouseEventKind::ScrollDown => KeyCode::Down,
                    _ => return Effect::None,
                };
                self.on_key(KeyEvent::new(code, KeyModifiers::NONE))
            }
            // A click on a blank screen is not meant for what is hidden,
            // nor one on a window, a frozen picture or presenter mode's
            // large layout for the screen's panels beneath.
            Msg::Mouse(_)
                if self.blank || self.window.is_some() || self.frozen.is_some() || self.present =>
            {
                Effect::None
            }
            Msg::Resize(w, h) => {
                // The layout follows the frame's size; the windows that
                // scroll need it to know where their text ends.
                self.size = (w, h);
                self.screen.update(msg)
            }
            Msg::Notice(n) => {
                *self.screen.notice() = Some(n);
                Effect::None
            }
            Msg::Mouse(m) => {
                let pressed = matches!(
                    m.kind,
                    crossterm::event::MouseEventKind::Down(crossterm::event::MouseButton::Left)
                );
                match self
                    .screen
                    .key_at(self.size, m.column, m.row)
                    .filter(|_| pressed)
                {
                    Some(key) => self.on_key(key),
                    None => self.screen.mouse(m, self.size),
                }
            }
            Msg::Tick | Msg::Feed(_) => self.screen.update(msg),
        }
    }

    /// A key, down the layers until one takes it (see the module's doc).
    fn on_key(&mut self, key: KeyEvent) -> Effect<S::Effect> {
        let action = keys::action(key, self.screen.keys());
        if S::NOTICE_UNTIL_KEY {
            // Read by the time the presenter presses the next key.
            *self.screen.notice() = None;
        }
        let layers: [KeyLayer<S>; 6] = [
            Self::control,
            Self::blanked,
            Self::prompt,
            Self::presenter,
            Self::windows,
            Self::quit,
        ];
        for layer in layers {
            if let Took(effect) = layer(self, key, action) {
                return effect;
            }
        }
        let had_window = self.screen.modal();
        let effect = self.screen.update(Msg::Key(key));
        // The screen opened a window of its own (the lesson list): that ends
        // a freeze, since the window is drawn on the live picture, the one
        // it changes.
        if self.screen.modal() && !had_window {
            self.frozen = None;
        }
        effect
    }

    /// Ctrl-C and Ctrl-Z mean what they mean in every terminal program,
    /// whatever else is open.
    #[allow(clippy::unused_self, reason = "every key layer has one signature")]
    fn control(&mut self, key: KeyEvent, action: Option<Action>) -> Layer<S::Effect> {
        if keys::is_ctrl_c(key) {
            Took(Effect::Quit)
        } else if action == Some(Action::Suspend) {
            Took(Effect::Suspend)
        } else {
            Passed
        }
    }

    /// Like slide software: any key brings the screen back, and does
    /// nothing else.
    fn blanked(&mut self, _: KeyEvent, _: Option<Action>) -> Layer<S::Effect> {
        if self.blank {
            self.blank = false;
            Took(Effect::None)
        } else {
            Passed
        }
    }

    /// A prompt of the screen's takes every key: what is typed is text.
    fn prompt(&mut self, key: KeyEvent, _: Option<Action>) -> Layer<S::Effect> {
        if self.screen.typing() {
            Took(self.screen.update(Msg::Key(key)))
        } else {
            Passed
        }
    }

    /// The presenter keys work everywhere, over any window.
    fn presenter(&mut self, _: KeyEvent, action: Option<Action>) -> Layer<S::Effect> {
        match action {
            Some(Action::Present) => self.present = !self.present,
            Some(Action::Blank) => self.blank = true,
            Some(Action::Freeze) => {
                self.frozen = match self.frozen.take() {
                    Some(_) => None,
                    None => Some(Box::new(self.screen.still())),
                };
            }
            // Of the live screen, even while the picture is frozen: the
            // handout is of what ran.
            Some(Action::Handout) => return Took(Effect::Handout(self.screen.handout())),
            _ => return Passed,
        }
        Took(Effect::None)
    }

    /// The windows: while one is open it takes every key (scroll keys
    /// scroll, whatever else they are bound to: PgDn steps a lesson, but
    /// here it turns a page); while none is, `?` and `m` open one.
    fn windows(&mut self, key: KeyEvent, action: Option<Action>) -> Layer<S::Effect> {
        let Some(open) = self.window else {
            return match action {
                _ if self.screen.modal() => Passed,
                Some(Action::Help) => self.open(Window::Help),
                Some(Action::Narration) if self.has_text() => self.open(Window::Text),
                _ => Passed,
            };
        };
        match (action, open) {
            (Some(Action::Quit), _) => return Took(Effect::Quit),
            (Some(Action::Close), _)
            | (Some(Action::Help), Window::Help)
            | (Some(Action::Narration), Window::Text) => self.window = None,
            (Some(Action::Help), _) => return self.open(Window::Help),
            (Some(Action::Narration), _) if self.has_text() => return self.open(Window::Text),
            _ => {
                let (max, page) = self.scroll_limits();
                if let Some(delta) = widgets::scroll::delta(key.code, page) {
                    self.scroll = widgets::scroll::moved(self.scroll, delta, max);
                }
            }
        }
        Took(Effect::None)
    }

    #[allow(clippy::unused_self, reason = "every key layer has one signature")]
    fn quit(&mut self, _: KeyEvent, action: Option<Action>) -> Layer<S::Effect> {
        match action {
            Some(Action::Quit) => Took(Effect::Quit),
            _ => Passed,
        }
    }

    /// Open `window` at its top.
    fn open(&mut self, window: Window) -> Layer<S::Effect> {
        self.window = Some(window);
        self.scroll = 0;
        Took(Effect::None)
    }

    fn has_text(&self) -> bool {
        self.shown().text(self.theme()).is_some()
    }

    /// The help of this screen: its keys from the table, its marks.
    pub fn help(&self) -> Help {
        let legend = self.shown().legend(&self.theme().glyphs);
        Help::of(self.screen.keys(), S::KIND, legend)
    }

    /// How far the open window can scroll at the terminal's size, and one
    /// page of it. The window is drawn with the same arithmetic.
    pub fn scroll_limits(&self) -> (u16, u16) {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        match self.window {
            Some(Window::Help) => widgets::help::limits(&self.help(), area, self.theme()),
            Some(Window::Text) => self
                .shown()
                .text(self.theme())
                .map_or((0, 0), |t| widgets::text::limits(&t, area)),
            None => (0, 0),
        }
    }

    /// Draw the whole frame with the theme in force.
    pub fn draw(&self, frame: &mut Frame) {
        render(frame, frame.area(), self, self.theme());
    }
}

/// Draw the screen and the shell's windows over it: nothing while blank,
/// "needs a bigger terminal" below the screen's size, and with `--ascii`
/// every character left non-ASCII replaced.
pub fn render<S: Screen>(frame: &mut Frame, area: Rect, shell: &Shell<S>, theme: &Theme) {
    frame.render_widget(Block::new().style(theme.base), area);
    if shell.blank {
        return;
    }
    let (width, height) = S::MIN_SIZE;
    if area.width < width || area.height < height {
        widgets::too_small(frame, area, S::MIN_SIZE, theme);
    } else {
        S::render(frame, area, shell, theme);
        window(frame, area, shell, theme);
    }
    if theme.ascii {
        widgets::asciify(frame.buffer_mut());
    }
}

/// The open window, over the picture it reads.
fn window<S: Screen>(frame: &mut Frame, area: Rect, shell: &Shell<S>, theme: &Theme) {
    match shell.window {
        Some(Window::Help) => {
            widgets::help::render(frame, area, (&shell.help(), shell.scroll), theme);
        }
        Some(Window::Text) => {
            if let Some(text) = shell.shown().text(theme) {
                let closes = format!("{} or Esc", shell.screen.keys().first(Action::Narration));
                widgets::text::render(frame, area, (text, shell.scroll, &closes), theme);
            }
        }
        None => {}
    }
}

#[cfg(test)]
mod presenter_tests;
