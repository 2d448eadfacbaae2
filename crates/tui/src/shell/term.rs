//! The terminal, taken and given back: raw mode and the alternate screen
//! (and mouse reports, for a screen that reads clicks), restored on every
//! way out. A [`TerminalGuard`] restores on return and on error; the panic
//! hook restores before color-eyre prints the report; the loop restores
//! before it reports the signal that ended it. Ctrl-Z gives the terminal
//! back while the process is stopped ([`TerminalGuard::suspend`]) and takes
//! it again on `fg`.

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
    /// Whether this screen asked for mouse reports, to ask again on resume.
    mouse: bool,
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
        Ok(TerminalGuard { terminal, mouse })
    }

    /// Ctrl-Z: give the terminal back to the shell, stop until `fg`, then
    /// take it again and make the next frame repaint every cell.
    ///
    /// The loop listens for SIGTSTP, which replaces the kernel's default
    /// action (stop at once, in raw mode on the alternate screen, so the
    /// shell would draw over a screen nobody restored). So the terminal is
    /// restored first and the process stops itself with SIGSTOP, the one
    /// stop signal that cannot be caught. The kernel resumes it on SIGCONT
    /// (`fg`, `kill -CONT`), and the call returns. While stopped, the shell
    /// may have changed the terminal's modes and drawn on it: raw mode and
    /// the alternate screen are entered again, the screen cleared, and
    /// ratatui given a new terminal whose idea of the screen is empty, so
    /// the next frame draws every cell. (`Terminal::clear` would do the
    /// last two, but it first asks the terminal where its cursor is and
    /// waits for the answer, which a terminal that never answers, a pipe
    /// or a test's pty, makes a two-second stall and an error.)
    pub fn suspend(&mut self) -> io::Result<()> {
        restore();
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP).map_err(io::Error::from)?;
        terminal::enable_raw_mode()?;
        execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide)?;
        if self.mouse {
            MOUSE.store(true, Ordering::SeqCst);
            execute!(io::stdout(), EnableMouseCapture)?;
        }
        execute!(io::stdout(), terminal::Clear(terminal::ClearType::All))?;
        self.terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        Ok(())
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
