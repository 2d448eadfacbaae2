//! The terminal, taken and given back: raw mode and the alternate screen
//! (and mouse reports, for a screen that reads clicks), restored on every
//! way out. A [`TerminalGuard`] restores on return and on error; the panic
//! hook restores before color-eyre prints the report; the loop restores
//! before it reports the signal that ended it.

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::{cursor, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{self, IsTerminal, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};

/// The TUI needs a terminal on both ends.
#[derive(Debug, thiserror::Error)]
#[error(
    "sockscope: the interactive screen needs a terminal (stdin and stdout must be a tty). \
     To run a lesson without one, use `sockscope trace NAME`."
)]
pub struct NoTerminal;

pub fn check_terminal() -> Result<(), NoTerminal> {
    if io::stdin().is_terminal() && io::stdout().is_terminal() {
        Ok(())
    } else {
        Err(NoTerminal)
    }
}

/// Whether mouse capture is on, so [`restore`] (which the panic hook calls
/// without a guard at hand) turns it off only when it was turned on.
static MOUSE: AtomicBool = AtomicBool::new(false);

/// Raw mode and the alternate screen, undone on drop.
pub struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    /// Take the terminal; `mouse`: ask it to report mouse events too.
    pub fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        terminal::enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = execute!(out, terminal::EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e);
        }
        if mouse {
            MOUSE.store(true, Ordering::SeqCst);
            execute!(out, EnableMouseCapture).inspect_err(|_| restore())?;
        }
        let terminal = Terminal::new(CrosstermBackend::new(out)).inspect_err(|_| restore())?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leave raw mode and the alternate screen, stop mouse reports and show
/// the cursor. Safe to call more than once (the panic hook and the guard
/// may both run).
pub fn restore() {
    if MOUSE.swap(false, Ordering::SeqCst) {
        let _ = execute!(io::stdout(), DisableMouseCapture);
    }
    let _ = terminal::disable_raw_mode();
    let _ = execute!(io::stdout(), terminal::LeaveAlternateScreen, cursor::Show);
}

/// Wrap the panic hook so the terminal is restored first, then the previous
/// hook prints: color-eyre's, which `main` installed with
/// `color_eyre::install()` (its `HookBuilder` can only be installed once per
/// process, so we wrap it rather than build a second one).
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}
