//! Key bindings: which key does what. One table, [`BINDINGS`], drives both
//! [`action`] and the help overlay, so the help can never list a key that
//! does nothing or miss one that does something.
//!
//! Presenter clickers send PageDown / PageUp (some send → / ←), so those
//! step forward and back too.

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
    /// Write the packets captured so far to a pcap file.
    SavePcap,
    /// Switch the middle panel between the layer diagram and the kernel
    /// panel.
    Kernel,
    Quit,
}

/// One row of the help overlay: the keys as a presenter reads them, and what
/// they do.
pub struct Binding {
    pub keys: &'static str,
    pub does: &'static str,
}

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "Space → l n Enter PgDn",
        does: "next step: run the next real call",
    },
    Binding {
        keys: "← h p PgUp",
        does: "step back: review what already happened",
    },
    Binding {
        keys: "End Esc",
        does: "stop reviewing, return to the latest step",
    },
    Binding {
        keys: "a",
        does: "autoplay on / off",
    },
    Binding {
        keys: "+ -",
        does: "faster / slower (autoplay and arrows)",
    },
    Binding {
        keys: "r",
        does: "restart the lesson with new real sockets",
    },
    Binding {
        keys: "L",
        does: "choose another lesson",
    },
    Binding {
        keys: "P",
        does: "packet pane: one captured packet, layer by layer",
    },
    Binding {
        keys: "K",
        does: "kernel panel (TCP states, queues, timers) / layer diagram",
    },
    Binding {
        keys: "↑ ↓ k j",
        does: "packet pane: the previous / next packet",
    },
    Binding {
        keys: "w",
        does: "save the captured packets as a pcap file",
    },
    Binding {
        keys: ": digits Enter",
        does: "explain a port: range, names, a real bind here",
    },
    Binding {
        keys: "?",
        does: "this help",
    },
    Binding {
        keys: "Esc",
        does: "close help, lesson list, packet pane or port",
    },
    Binding {
        keys: "q Ctrl-C",
        does: "quit",
    },
];

/// The action a key press asks for, if any.
pub fn action(key: KeyEvent) -> Option<Action> {
    use Action as A;
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c' | 'C') => Some(A::Quit),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char(' ' | 'l' | 'n') | KeyCode::Right | KeyCode::Enter | KeyCode::PageDown => {
            A::Next
        }
        KeyCode::Char('h' | 'p') | KeyCode::Left | KeyCode::PageUp => A::Back,
        KeyCode::End => A::Now,
        KeyCode::Char('a') => A::Autoplay,
        KeyCode::Char('+' | '=') => A::Faster,
        KeyCode::Char('-' | '_') => A::Slower,
        KeyCode::Char('r') => A::Restart,
        KeyCode::Char('L') => A::Lessons,
        KeyCode::Char('?') => A::Help,
        KeyCode::Char(':') => A::Port,
        KeyCode::Esc => A::Close,
        KeyCode::Up | KeyCode::Char('k') => A::Up,
        KeyCode::Down | KeyCode::Char('j') => A::Down,
        KeyCode::Char('P') => A::Packets,
        KeyCode::Char('K') => A::Kernel,
        KeyCode::Char('w') => A::SavePcap,
        KeyCode::Char('q') => A::Quit,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
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
            assert_eq!(action(key(code)), Some(Action::Next), "{code:?}");
        }
        for code in [
            KeyCode::Left,
            KeyCode::Char('h'),
            KeyCode::Char('p'),
            KeyCode::PageUp,
        ] {
            assert_eq!(action(key(code)), Some(Action::Back), "{code:?}");
        }
    }

    #[test]
    fn ctrl_c_quits_and_other_ctrl_keys_do_nothing() {
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(c), Some(Action::Quit));
        let l = KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL);
        assert_eq!(action(l), None);
    }

    #[test]
    fn capital_l_is_the_lesson_picker_and_small_l_is_next() {
        let big = KeyEvent::new(KeyCode::Char('L'), KeyModifiers::SHIFT);
        assert_eq!(action(big), Some(Action::Lessons));
        assert_eq!(action(key(KeyCode::Char('l'))), Some(Action::Next));
    }
}
