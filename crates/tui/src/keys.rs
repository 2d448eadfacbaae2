//! Key bindings: which key does what. The bindings are data: a
//! [`KeyMap`] from the config file's `[keys]` table (or the defaults), and
//! one function, [`bindings`], turns it into the rows of the help overlay,
//! so the help can never list a key that does nothing or miss one that does
//! something.
//!
//! Presenter clickers send PageDown / PageUp (some send → / ←), so those
//! step forward and back by default; many also send `b` or `.` to blank the
//! screen, as slide software does.

use crate::config::KeyMap;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for. The app decides what it means in context (in the
/// lesson picker, `Next` is also "choose this lesson").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    Help,
    /// Close an overlay.
    Close,
    Up,
    Down,
    /// Open or close the packet pane.
    Packets,
    /// Switch the layer diagram and the kernel panel.
    Kernel,
    /// Write the packets captured so far to a pcap file.
    SavePcap,
    Quit,
    /// Presenter mode on / off.
    Present,
    /// Blank the screen (like slide software), and back.
    Blank,
    /// Freeze the display while the lesson goes on, and thaw it.
    Freeze,
    /// Write a markdown handout of the lesson as it ran.
    Handout,
    /// Open or close the whole narration of the step, to scroll through.
    Narration,
}

/// One row of the help overlay: the keys as a presenter reads them, and what
/// they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: String,
    pub does: &'static str,
}

/// The configurable actions, in the order the help lists them, with what
/// each does.
fn table(map: &KeyMap) -> [(Action, &[KeyCode], &'static str); 19] {
    [
        (Action::Next, &map.step, "next step: run the next real call"),
        (
            Action::Back,
            &map.back,
            "step back: review what already happened",
        ),
        (
            Action::Now,
            &map.now,
            "stop reviewing, return to the latest step",
        ),
        (Action::Autoplay, &map.autoplay, "autoplay on / off"),
        (Action::Faster, &map.faster, "faster (autoplay and arrows)"),
        (Action::Slower, &map.slower, "slower"),
        (
            Action::Restart,
            &map.restart,
            "restart the lesson with new real sockets",
        ),
        (Action::Lessons, &map.lessons, "choose another lesson"),
        (
            Action::Port,
            &map.port,
            "explain a port (then digits, Enter): range, names, a real bind here",
        ),
        (
            Action::Packets,
            &map.packets,
            "packet pane: one captured packet, layer by layer (↑ ↓ k j: another)",
        ),
        (
            Action::Kernel,
            &map.kernel,
            "kernel panel: TCP states, queues, timers (or back to layers)",
        ),
        (
            Action::SavePcap,
            &map.save_pcap,
            "save the captured packets as a pcap file",
        ),
        (
            Action::Present,
            &map.present,
            "presenter mode: high contrast, large type",
        ),
        (
            Action::Blank,
            &map.blank,
            "blank the screen; again to show it",
        ),
        (
            Action::Freeze,
            &map.freeze,
            "freeze the display; the lesson goes on",
        ),
        (
            Action::Handout,
            &map.handout,
            "write a markdown handout of this run",
        ),
        (
            Action::Narration,
            &map.narration,
            "the whole narration of this step, to scroll (when the panel cuts it)",
        ),
        (Action::Help, &map.help, "this help"),
        (Action::Quit, &map.quit, "quit"),
    ]
}

/// How a key is written on screen: `Space`, `→`, `PgDn`, `q`.
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

/// The first key bound to an action, as the key bar shows it.
pub fn first(keys: &[KeyCode]) -> String {
    keys.first().map_or_else(|| "-".into(), |k| label(*k))
}

/// Every binding, for the help overlay.
pub fn bindings(map: &KeyMap) -> Vec<Binding> {
    let mut out: Vec<Binding> = table(map)
        .iter()
        .map(|(action, keys, does)| {
            let mut names: Vec<String> = keys.iter().map(|k| label(*k)).collect();
            if *action == Action::Quit {
                names.push("Ctrl-C".into());
            }
            Binding {
                keys: names.join(" "),
                does,
            }
        })
        .collect();
    out.push(Binding {
        keys: "↑ ↓ k j PgUp PgDn".into(),
        does: "scroll this help and the narration; move in the lesson list",
    });
    out.push(Binding {
        keys: "Esc".into(),
        does: "close help, narration, lesson list, packet pane or port",
    });
    out
}

/// The keys of the `sockscope serve` screen, for its help: the presenter
/// keys as on the lesson screen, and the keys that scroll and close.
pub fn serve_bindings(map: &KeyMap) -> Vec<Binding> {
    let names = |keys: &[KeyCode]| keys.iter().map(|k| label(*k)).collect::<Vec<_>>();
    let row = |keys: &[KeyCode], does| Binding {
        keys: names(keys).join(" "),
        does,
    };
    let mut quit = names(&map.quit);
    quit.push("Ctrl-C".into());
    vec![
        row(
            &map.present,
            "presenter mode: high contrast, the command in large type",
        ),
        row(&map.blank, "blank the screen; any key shows it again"),
        row(
            &map.freeze,
            "freeze the display; the server goes on serving",
        ),
        row(
            &map.handout,
            "write a markdown handout of the session as the screen holds it",
        ),
        row(&map.help, "this help"),
        Binding {
            keys: quit.join(" "),
            does: "stop the server and quit",
        },
        Binding {
            keys: "↑ ↓ k j PgUp PgDn".into(),
            does: "scroll this help",
        },
        Binding {
            keys: "Esc".into(),
            does: "close this help",
        },
    ]
}

/// The action a key press asks for under `map`, if any. Ctrl-C always
/// quits, Esc always closes an overlay, and ↑ ↓ j k always move in the
/// lesson list (unless the map gives those keys another action).
pub fn action(key: KeyEvent, map: &KeyMap) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c' | 'C') => Some(Action::Quit),
            _ => None,
        };
    }
    if let Some((action, _, _)) = table(map)
        .iter()
        .find(|(_, keys, _)| keys.contains(&key.code))
    {
        return Some(*action);
    }
    match key.code {
        KeyCode::Esc => Some(Action::Close),
        KeyCode::Up | KeyCode::Char('k') => Some(Action::Up),
        KeyCode::Down | KeyCode::Char('j') => Some(Action::Down),
        _ => None,
    }
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
        let l = KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL);
        assert_eq!(action(l, &map()), None);
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
        let help = bindings(&m);
        assert!(
            help.iter()
                .any(|b| b.keys == "j F5" && b.does.starts_with("next"))
        );
        assert!(help.iter().any(|b| b.keys == "Q Ctrl-C"));
    }

    #[test]
    fn every_default_binding_is_in_the_help_once() {
        let m = map();
        let help = bindings(&m);
        for (action, keys, _) in table(&m) {
            for k in keys {
                assert_eq!(super::action(key(*k), &m), Some(action), "{k:?}");
            }
            assert!(help.iter().any(|b| b.keys.starts_with(&label(keys[0]))));
        }
    }
}
