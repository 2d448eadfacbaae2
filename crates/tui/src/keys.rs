//! The key table: every action a key can ask for, defined once, in
//! [`TABLE`]. Each row gives the action its default keys, its word on the
//! key bar, what the help says it does on each screen it works on, and
//! whether the config file may rebind it. Everything else is derived from
//! the table:
//!
//! - the config file's `[keys]` table (`crate::config::KeyConfig` accepts
//!   exactly the rebindable rows' names) and the template's keys section;
//! - [`KeyMap`], the bindings in force, and [`action`], which reads a key
//!   press with it;
//! - the help overlay's rows ([`help`]) and the key bar's keys
//!   ([`KeyMap::first`], [`KeyMap::label`]).
//!
//! Keys are written as the config file names them (`"space"`, `"pagedown"`,
//! `"q"`: a [`KeyName`]); the one conversion into crossterm's `KeyCode` is
//! `KeyCode::try_from(&KeyName)`.
//!
//! Presenter clickers send PageDown / PageUp (some send → / ←), so those
//! step forward and back by default; many also send `b` or `.` to blank the
//! screen, as slide software does.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for. The screen decides what it means in context (in the
/// lesson picker, `Next` is also "choose this lesson").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Run the next real call (or, while reviewing, move forward).
    Next,
    /// Step back through what already happened (review only).
    Back,
    /// Leave review and return to the latest step.
    Now,
    Autoplay,
    Faster,
    Slower,
    /// Run the lesson again with new sockets.
    Restart,
    Lessons,
    /// Start typing a port for the port panel to explain.
    Port,
    /// Open or close the packet pane.
    Packets,
    /// Switch the layer diagram and the kernel panel.
    Kernel,
    /// Show the actor's program as source code in the layer diagram's
    /// place; again for the next language; after the last, back.
    Code,
    /// Write the packets captured so far to a pcap file.
    SavePcap,
    /// Presenter mode on / off.
    Present,
    /// Blank the screen (like slide software), and back.
    Blank,
    /// Freeze the display while the lesson goes on, and thaw it.
    Freeze,
    /// Write a markdown handout of what ran.
    Handout,
    /// Open or close the whole narration of the step, to scroll through.
    Narration,
    Help,
    Quit,
    /// Suspend to the shell (Ctrl-Z), as any terminal program; `fg` resumes.
    Suspend,
    /// The keys a window scrolls with. Listed for the help only: a window
    /// reads them itself (`widgets::scroll::delta`), so [`action`] never
    /// returns it.
    Scroll,
    /// Close a window, the packet pane, the port prompt.
    Close,
    /// Sort the serve screen's peers table by its next column.
    Sort,
    /// Move up or down in a list (the lesson picker, the packet pane, the
    /// serve screen's peers table).
    Up,
    Down,
}

/// The screens, as the table says which actions work on which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenKind {
    /// `sockscope`, `sockscope lesson NAME`.
    Lesson,
    /// `sockscope serve`.
    Serve,
    /// `sockscope run`: a student's own programs, a call at a time.
    Run,
}

/// Whether, and how, a row's keys can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    /// The config file's `[keys]` table may rebind it, under this name.
    Config(&'static str),
    /// Its keys are fixed (Esc always closes; ↑ ↓ k j always move).
    Fixed,
    /// Its keys are read by a window itself (scrolling); shown in the help
    /// only.
    Window,
}

/// One row of the key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub action: Action,
    pub bind: Bind,
    /// The keys it has unless the config file says otherwise, as the config
    /// file names them.
    pub keys: &'static [&'static str],
    /// Keys that always do it too, whatever the config says, as the help
    /// writes them (`Ctrl-C` quits).
    pub always: &'static str,
    /// What the key bar calls it.
    pub label: &'static str,
    /// What the help says it does, on each screen it works on; a screen not
    /// named here has no use for it.
    pub help: &'static [(ScreenKind, &'static str)],
}

use Action as A;
use ScreenKind::{Lesson, Run, Serve};

/// Every action, in the order the help lists them.
pub const TABLE: &[Spec] = &[
    Spec {
        action: A::Next,
        bind: Bind::Config("step"),
        keys: &["space", "right", "l", "n", "enter", "pagedown"],
        always: "",
        label: "next call",
        help: &[
            (Lesson, "next step: run the next real call"),
            (
                Run,
                "let the held call run: the one sockscope has held longest",
            ),
        ],
    },
    Spec {
        action: A::Back,
        bind: Bind::Config("back"),
        keys: &["left", "h", "p", "pageup"],
        always: "",
        label: "review",
        help: &[
            (Lesson, "step back: review what already happened"),
            (Run, "review: focus the call before (also ↑ k)"),
        ],
    },
    Spec {
        action: A::Now,
        bind: Bind::Config("now"),
        keys: &["end"],
        always: "",
        label: "back to now",
        help: &[
            (Lesson, "stop reviewing, return to the latest step"),
            (Run, "stop reviewing: follow the newest call"),
        ],
    },
    Spec {
        action: A::Autoplay,
        bind: Bind::Config("autoplay"),
        keys: &["a"],
        always: "",
        label: "autoplay",
        help: &[
            (Lesson, "autoplay on / off"),
            (Run, "autoplay on / off: a held call runs at each beat"),
        ],
    },
    Spec {
        action: A::Faster,
        bind: Bind::Config("faster"),
        keys: &["+", "="],
        always: "",
        label: "faster",
        help: &[
            (Lesson, "faster (autoplay and arrows)"),
            (Run, "faster autoplay"),
        ],
    },
    Spec {
        action: A::Slower,
        bind: Bind::Config("slower"),
        keys: &["-", "_"],
        always: "",
        label: "slower",
        help: &[(Lesson, "slower"), (Run, "slower autoplay")],
    },
    Spec {
        action: A::Restart,
        bind: Bind::Config("restart"),
        keys: &["r"],
        always: "",
        label: "restart",
        help: &[(Lesson, "restart the lesson with new real sockets")],
    },
    Spec {
        action: A::Lessons,
        bind: Bind::Config("lessons"),
        keys: &["L"],
        always: "",
        label: "lessons",
        help: &[(Lesson, "choose another lesson")],
    },
    Spec {
        action: A::Port,
        bind: Bind::Config("port"),
        keys: &[":"],
        always: "",
        label: "port",
        help: &[(
            Lesson,
            "explain a port (then digits, Enter): range, names, a real bind here",
        )],
    },
    Spec {
        action: A::Packets,
        bind: Bind::Config("packets"),
        // P is presenter mode; the packet pane shows the hex: x.
        keys: &["x"],
        always: "",
        label: "packets",
        help: &[(
            Lesson,
            "packet pane: one captured packet, layer by layer (↑ ↓ k j: another)",
        )],
    },
    Spec {
        action: A::Kernel,
        bind: Bind::Config("kernel"),
        keys: &["K"],
        always: "",
        label: "kernel",
        help: &[(
            Lesson,
            "kernel panel: TCP states, queues, timers (or back to layers)",
        )],
    },
    Spec {
        action: A::Code,
        bind: Bind::Config("code"),
        keys: &["c"],
        always: "",
        label: "code",
        help: &[(
            Lesson,
            "code panel: this actor's program, the current call marked; again: C, Python, Rust, closed",
        )],
    },
    Spec {
        action: A::SavePcap,
        bind: Bind::Config("save_pcap"),
        keys: &["w"],
        always: "",
        label: "save pcap",
        help: &[(Lesson, "save the captured packets as a pcap file")],
    },
    Spec {
        action: A::Present,
        bind: Bind::Config("present"),
        keys: &["P"],
        always: "",
        label: "present",
        help: &[
            (Lesson, "presenter mode: high contrast, large type"),
            (Run, "presenter mode: high contrast"),
            (
                Serve,
                "presenter mode: high contrast, the command in large type",
            ),
        ],
    },
    Spec {
        action: A::Blank,
        bind: Bind::Config("blank"),
        keys: &["b", "."],
        always: "",
        label: "blank",
        help: &[
            (Lesson, "blank the screen; again to show it"),
            (Serve, "blank the screen; any key shows it again"),
            (Run, "blank the screen; any key shows it again"),
        ],
    },
    Spec {
        action: A::Freeze,
        bind: Bind::Config("freeze"),
        keys: &["f"],
        always: "",
        label: "freeze",
        help: &[
            (Lesson, "freeze the display; the lesson goes on"),
            (Serve, "freeze the display; the server goes on serving"),
            (Run, "freeze the display; the programs go on"),
        ],
    },
    Spec {
        action: A::Handout,
        bind: Bind::Config("handout"),
        keys: &["e"],
        always: "",
        label: "handout",
        help: &[
            (Lesson, "write a markdown handout of this run"),
            (
                Serve,
                "write a markdown handout of the session as the screen holds it",
            ),
            (Run, "write a markdown handout of the calls on screen"),
        ],
    },
    Spec {
        action: A::Narration,
        bind: Bind::Config("narration"),
        // m for more: the whole narration when the panel cuts it.
        keys: &["m"],
        always: "",
        label: "more",
        help: &[(
            Lesson,
            "the whole narration of this step, to scroll (when the panel cuts it)",
        )],
    },
    Spec {
        action: A::Sort,
        bind: Bind::Config("sort"),
        keys: &["s"],
        always: "",
        label: "sort peers",
        help: &[(
            Serve,
            "sort the peers table: arrival, address, bytes in, idle, state",
        )],
    },
    Spec {
        action: A::Help,
        bind: Bind::Config("help"),
        keys: &["?"],
        always: "",
        label: "help",
        help: &[
            (Lesson, "this help"),
            (Serve, "this help"),
            (Run, "this help"),
        ],
    },
    Spec {
        action: A::Quit,
        bind: Bind::Config("quit"),
        keys: &["q"],
        always: "Ctrl-C",
        label: "quit",
        help: &[
            (Lesson, "quit"),
            (Serve, "stop the server and quit"),
            (Run, "end the programs (SIGKILL) and quit"),
        ],
    },
    Spec {
        action: A::Suspend,
        bind: Bind::Fixed,
        // Raw mode turns the terminal's own Ctrl-Z (SIGTSTP) off, so the
        // key arrives as a key press and the shell suspends by hand.
        keys: &[],
        always: "Ctrl-Z",
        label: "suspend",
        help: &[
            (Lesson, "suspend to the shell; fg brings the screen back"),
            (
                Serve,
                "suspend to the shell (the server stops too); fg resumes",
            ),
            (
                Run,
                "suspend to the shell; a held call stays held; fg resumes",
            ),
        ],
    },
    Spec {
        action: A::Scroll,
        bind: Bind::Window,
        keys: &["up", "down", "k", "j", "pageup", "pagedown"],
        always: "",
        label: "scroll",
        help: &[
            (
                Lesson,
                "scroll this help and the narration; move in the lesson list",
            ),
            (Serve, "scroll this help; move in the peers table"),
            (Run, "scroll this help; ↑ ↓ k j review the calls"),
        ],
    },
    Spec {
        action: A::Close,
        bind: Bind::Fixed,
        keys: &["esc"],
        always: "",
        label: "close",
        help: &[
            (
                Lesson,
                "close help, narration, lesson list, packet pane or port",
            ),
            (Serve, "close this help"),
            (Run, "close this help"),
        ],
    },
    Spec {
        action: A::Up,
        bind: Bind::Fixed,
        keys: &["up", "k"],
        always: "",
        label: "up",
        help: &[],
    },
    Spec {
        action: A::Down,
        bind: Bind::Fixed,
        keys: &["down", "j"],
        always: "",
        label: "down",
        help: &[],
    },
];

/// The row of `action`.
///
/// # Panics
///
/// If `action` has no row in the table; a test checks that every action
/// has one.
#[must_use]
pub fn spec(action: Action) -> &'static Spec {
    TABLE
        .iter()
        .find(|s| s.action == action)
        .expect("every action has a row (tested)")
}

/// A key as the config file names it: one character (`"q"`, `"?"`), or
/// one of `space enter esc tab backspace left right up down home end pageup
/// pagedown f1`..`f12` (any case).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct KeyName(String);

impl KeyName {
    /// A name of the table's own: always one [`KeyCode`] converts.
    fn builtin(name: &'static str) -> KeyName {
        KeyName(name.to_string())
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name is checked when it is read, so a bad one is reported at its line
/// of the config file, and every [`KeyName`] converts.
impl TryFrom<String> for KeyName {
    type Error = String;
    fn try_from(name: String) -> Result<KeyName, String> {
        let name = KeyName(name);
        KeyCode::try_from(&name)?;
        Ok(name)
    }
}

/// The one place a key's name becomes crossterm's key code.
impl TryFrom<&KeyName> for KeyCode {
    type Error = String;
    fn try_from(name: &KeyName) -> Result<KeyCode, String> {
        let name = name.as_str();
        let mut chars = name.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Ok(KeyCode::Char(c));
        }
        let lower = name.to_ascii_lowercase();
        Ok(match lower.as_str() {
            "space" => KeyCode::Char(' '),
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backspace" => KeyCode::Backspace,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            f if f.starts_with('f') => match f[1..].parse::<u8>() {
                Ok(n @ 1..=12) => KeyCode::F(n),
                _ => return Err(format!("unknown key `{name}`")),
            },
            _ => {
                return Err(format!(
                    "unknown key `{name}`: use one character, or space, enter, esc, tab, \
                     backspace, left, right, up, down, home, end, pageup, pagedown, f1-f12"
                ));
            }
        })
    }
}

/// How a key is written on screen: `Space`, `→`, `PgDn`, `q`.
#[must_use]
pub fn label(code: KeyCode) -> String {
    match code {
        KeyCode::Char(' ') => "Space".into(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Right => "→".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::F(n) => format!("F{n}"),
        other => format!("{other:?}"),
    }
}

/// The bindings in force: for every row of [`TABLE`], in its order, the
/// keys that do it (the config file's choice for the rebindable rows, the
/// table's own for the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    bound: Vec<(Action, Vec<KeyCode>)>,
}

impl Default for KeyMap {
    fn default() -> KeyMap {
        KeyMap::with(|_| None)
    }
}

impl KeyMap {
    /// The table's defaults, with the `chosen` keys (a config file's) for
    /// the rebindable actions it names.
    pub fn with<'a>(chosen: impl Fn(&'static str) -> Option<&'a [KeyName]>) -> KeyMap {
        // A name that does not convert was refused when it was read (see
        // `KeyName`'s `TryFrom<String>`); the table's own are tested.
        let codes = |names: &[KeyName]| {
            names
                .iter()
                .filter_map(|n| KeyCode::try_from(n).ok())
                .collect()
        };
        let bound = TABLE
            .iter()
            .map(|spec| {
                let defaults: Vec<KeyName> =
                    spec.keys.iter().map(|n| KeyName::builtin(n)).collect();
                let keys = match spec.bind {
                    Bind::Config(name) => codes(chosen(name).unwrap_or(&defaults)),
                    Bind::Fixed | Bind::Window => codes(&defaults),
                };
                (spec.action, keys)
            })
            .collect();
        KeyMap { bound }
    }

    /// The keys bound to `action`.
    #[must_use]
    pub fn keys(&self, action: Action) -> &[KeyCode] {
        self.bound
            .iter()
            .find(|(a, _)| *a == action)
            .map_or(&[], |(_, k)| k)
    }

    /// The first key bound to `action`, as the key bar shows it.
    #[must_use]
    pub fn first(&self, action: Action) -> String {
        self.keys(action)
            .first()
            .map_or_else(|| "-".into(), |k| label(*k))
    }

    /// Every key bound to `action`, as the help shows them (`q Ctrl-C`).
    #[must_use]
    pub fn label(&self, action: Action) -> String {
        let mut names: Vec<String> = self.keys(action).iter().map(|k| label(*k)).collect();
        let always = spec(action).always;
        if !always.is_empty() {
            names.push(always.into());
        }
        names.join(" ")
    }

    /// A key bound to two rebindable actions: (the key, one action's config
    /// name, the other's), in table order.
    #[must_use]
    pub fn duplicate(&self) -> Option<(KeyCode, &'static str, &'static str)> {
        let named: Vec<(&'static str, &[KeyCode])> = TABLE
            .iter()
            .filter_map(|s| match s.bind {
                Bind::Config(name) => Some((name, self.keys(s.action))),
                Bind::Fixed | Bind::Window => None,
            })
            .collect();
        for (i, (a, keys)) in named.iter().enumerate() {
            for k in *keys {
                if let Some((b, _)) = named[i + 1..].iter().find(|(_, ks)| ks.contains(k)) {
                    return Some((*k, a, b));
                }
            }
        }
        None
    }
}

/// The action a key press asks for under `map`, if any. Ctrl-C always
/// quits and Ctrl-Z always suspends (other Ctrl keys do nothing); the rebindable actions come first,
/// so the fixed keys (Esc closes, ↑ ↓ j k move) work unless the map gives
/// those keys another action.
#[must_use]
pub fn action(key: KeyEvent, map: &KeyMap) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c' | 'C') => Some(Action::Quit),
            KeyCode::Char('z' | 'Z') => Some(Action::Suspend),
            _ => None,
        };
    }
    let rebindable = TABLE.iter().filter(|s| matches!(s.bind, Bind::Config(_)));
    let fixed = TABLE.iter().filter(|s| s.bind == Bind::Fixed);
    rebindable
        .chain(fixed)
        .find(|s| map.keys(s.action).contains(&key.code))
        .map(|s| s.action)
}

/// Whether `key` is Ctrl-C, which quits from anywhere: a prompt, a blank
/// screen, a window.
#[must_use]
pub fn is_ctrl_c(key: KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('c' | 'C'))
}

/// One row of the help overlay: the keys as a presenter reads them, and what
/// they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: String,
    pub does: &'static str,
}

/// The help's rows for `screen`: every action that works there, in table
/// order, with the keys `map` binds to it.
#[must_use]
pub fn help(map: &KeyMap, screen: ScreenKind) -> Vec<Binding> {
    TABLE
        .iter()
        .filter_map(|s| {
            let does = s.help.iter().find(|(on, _)| *on == screen)?.1;
            Some(Binding {
                keys: map.label(s.action),
                does,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn map() -> KeyMap {
        KeyMap::default()
    }

    #[test]
    fn every_next_key_of_the_issue_steps_forward() {
        for code in [
            KeyCode::Char(' '),
            KeyCode::Right,
            KeyCode::Char('l'),
            KeyCode::Char('n'),
            KeyCode::Enter,
            KeyCode::PageDown,
        ] {
            assert_eq!(action(key(code), &map()), Some(Action::Next), "{code:?}");
        }
        for code in [
            KeyCode::Left,
            KeyCode::Char('h'),
            KeyCode::Char('p'),
            KeyCode::PageUp,
        ] {
            assert_eq!(action(key(code), &map()), Some(Action::Back), "{code:?}");
        }
    }

    #[test]
    fn ctrl_c_quits_and_other_ctrl_keys_do_nothing() {
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(c, &map()), Some(Action::Quit));
        let z = KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert_eq!(action(z, &map()), Some(Action::Suspend));
        assert!(is_ctrl_c(c));
        let l = KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL);
        assert_eq!(action(l, &map()), None);
        assert!(!is_ctrl_c(key(KeyCode::Char('c'))));
    }

    #[test]
    fn capital_l_is_the_lesson_picker_and_small_l_is_next() {
        let big = KeyEvent::new(KeyCode::Char('L'), KeyModifiers::SHIFT);
        assert_eq!(action(big, &map()), Some(Action::Lessons));
        assert_eq!(action(key(KeyCode::Char('l')), &map()), Some(Action::Next));
    }

    #[test]
    fn presenter_keys_by_default() {
        let m = map();
        assert_eq!(action(key(KeyCode::Char('P')), &m), Some(Action::Present));
        assert_eq!(action(key(KeyCode::Char('b')), &m), Some(Action::Blank));
        assert_eq!(action(key(KeyCode::Char('.')), &m), Some(Action::Blank));
        assert_eq!(action(key(KeyCode::Char('f')), &m), Some(Action::Freeze));
        assert_eq!(action(key(KeyCode::Char('e')), &m), Some(Action::Handout));
    }

    #[test]
    fn fixed_keys_close_and_move_and_scroll_keys_are_never_an_action() {
        let m = map();
        assert_eq!(action(key(KeyCode::Esc), &m), Some(Action::Close));
        assert_eq!(action(key(KeyCode::Up), &m), Some(Action::Up));
        assert_eq!(action(key(KeyCode::Char('k')), &m), Some(Action::Up));
        assert_eq!(action(key(KeyCode::Down), &m), Some(Action::Down));
        assert_eq!(action(key(KeyCode::Char('j')), &m), Some(Action::Down));
        assert_eq!(action(key(KeyCode::Home), &m), None);
        // With PgUp unbound from `back`, it does nothing (a window still
        // scrolls with it: the window reads the key itself).
        let left = [KeyName::builtin("left")];
        let m = KeyMap::with(|name| (name == "back").then_some(left.as_slice()));
        assert_eq!(action(key(KeyCode::PageUp), &m), None);
    }

    #[test]
    fn a_config_file_rebinds_keys_and_the_help_follows() {
        let cfg = crate::config::parse(
            std::path::Path::new("k.toml"),
            "[keys]\nstep = [\"j\", \"F5\"]\nquit = \"Q\"\n",
        )
        .unwrap();
        let m = cfg.keys.resolve();
        assert_eq!(action(key(KeyCode::Char('j')), &m), Some(Action::Next));
        assert_eq!(action(key(KeyCode::F(5)), &m), Some(Action::Next));
        assert_eq!(
            action(key(KeyCode::Char(' ')), &m),
            None,
            "space was unbound"
        );
        assert_eq!(action(key(KeyCode::Char('Q')), &m), Some(Action::Quit));
        assert_eq!(action(key(KeyCode::Char('q')), &m), None);
        let help = help(&m, ScreenKind::Lesson);
        assert!(
            help.iter()
                .any(|b| b.keys == "j F5" && b.does.starts_with("next"))
        );
        assert!(help.iter().any(|b| b.keys == "Q Ctrl-C"));
    }

    #[test]
    fn every_default_binding_is_in_the_help_once() {
        let m = map();
        for screen in [ScreenKind::Lesson, ScreenKind::Serve, ScreenKind::Run] {
            let help = help(&m, screen);
            let on_screen = |s: &&Spec| s.help.iter().any(|(k, _)| *k == screen);
            for s in TABLE
                .iter()
                .filter(|s| matches!(s.bind, Bind::Config(_)))
                .filter(on_screen)
            {
                for k in m.keys(s.action) {
                    assert_eq!(action(key(*k), &m), Some(s.action), "{k:?}");
                }
                let first = label(m.keys(s.action)[0]);
                assert_eq!(
                    help.iter().filter(|b| b.keys.starts_with(&first)).count(),
                    1,
                    "{first} on {screen:?}"
                );
            }
        }
    }

    #[test]
    fn the_table_has_one_row_per_action_and_each_name_converts() {
        let mut seen = std::collections::BTreeSet::new();
        for s in TABLE {
            assert!(seen.insert(s.action), "{:?} twice", s.action);
            // Ctrl-Z has only its fixed key (`always`); every other row
            // has keys of its own.
            assert!(
                !s.keys.is_empty() || !s.always.is_empty(),
                "{:?} has no keys",
                s.action
            );
            for n in s.keys {
                assert!(KeyCode::try_from(&KeyName::builtin(n)).is_ok(), "{n}");
            }
            // A rebindable action is something a screen does: it has help.
            if matches!(s.bind, Bind::Config(_)) {
                assert!(!s.help.is_empty(), "{:?} has no help", s.action);
            }
        }
        assert_eq!(
            TABLE
                .iter()
                .filter(|s| matches!(s.bind, Bind::Config(_)))
                .count(),
            21
        );
        assert_eq!(spec(Action::Quit).always, "Ctrl-C");
    }

    #[test]
    fn key_names_convert_once_and_bad_ones_say_why() {
        let code = |n: &str| KeyCode::try_from(&KeyName(n.into()));
        assert_eq!(code("space"), Ok(KeyCode::Char(' ')));
        assert_eq!(code("PageDown"), Ok(KeyCode::PageDown));
        assert_eq!(code("F12"), Ok(KeyCode::F(12)));
        assert!(code("f13").unwrap_err().contains("unknown key `f13`"));
        assert!(code("ctrl-q").unwrap_err().contains("use one character"));
        assert!(KeyName::try_from("hyperspace".to_string()).is_err());
    }
}
