//! Where the program's own output goes, and what happens when it cannot get
//! there.
//!
//! A command-line tool meets closed and broken outputs every day: `| head
//! -1`, a log reader that exited, `> /dev/full`, a terminal that went away.
//! Rust's `println!` and `eprintln!` panic when a write fails, and a panic
//! whose report cannot be written to a closed stderr aborts (SIGABRT, exit
//! 134). So nothing here panics, and each failure ends the program the way
//! the shell expects:
//!
//! - stdout's reader went away (EPIPE, `| head`): quietly, with exit status
//!   141, what a program killed by SIGPIPE reports (128 + 13);
//! - any other stdout error (ENOSPC from `/dev/full` or a full disk): one
//!   line on stderr, exit status 1;
//! - stderr failing: nothing more can be said, so messages are dropped and
//!   the program goes on.
//!
//! (A descriptor 0, 1 or 2 that is closed outright, `>&-`, is opened on
//! /dev/null by Rust's runtime before `main`, so no socket can take its
//! number and land under a `println`.)

use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

/// Exit status when stdout's reader went away: as if killed by SIGPIPE.
pub const BROKEN_PIPE: u8 = 128 + 13;

/// stdout for this command's output, locked.
pub fn stdout() -> io::StdoutLock<'static> {
    io::stdout().lock()
}

/// Is stdout a terminal?
#[must_use]
pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

/// One message line on stderr: `sockscope: MESSAGE`. The message is
/// escaped (it may quote a file or a peer) and never fails.
pub fn say(message: impl Display) {
    let text = message.to_string();
    say_lines(&sockscope_core::vocab::preview::text(&text));
}

/// Lines of our own making on stderr (the connect commands), the first one
/// prefixed `sockscope: `; never fails.
pub fn say_lines(text: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "sockscope: {text}");
}

/// The exit status for a failed write to stdout, after saying so (except
/// for a broken pipe, which ends quietly).
#[must_use]
pub fn write_failed(e: &io::Error) -> ExitCode {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return ExitCode::from(BROKEN_PIPE);
    }
    say(format!("cannot write to stdout: {e}"));
    ExitCode::FAILURE
}

/// Write `bytes` to stdout and flush; the exit status.
#[must_use]
pub fn print(bytes: &[u8]) -> ExitCode {
    let mut out = stdout();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => write_failed(&e),
    }
}

/// Run `write` against stdout, flush, and turn the outcome into the exit
/// status (`ok` when everything was written).
pub fn write_with(
    ok: ExitCode,
    write: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<()>,
) -> ExitCode {
    let mut out = stdout();
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => ok,
        Err(e) => write_failed(&e),
    }
}

/// `--pcap FILE` (`trace`, `run --headless`): write what the run captured,
/// or say why not.
#[must_use]
pub fn write_pcap(
    path: &std::path::Path,
    force: bool,
    wire: &sockscope_core::wire::Wire,
) -> ExitCode {
    let shown = path.display();
    if !wire.status().running() {
        say(format!("no pcap written to {shown}: nothing was captured"));
        return ExitCode::FAILURE;
    }
    match sockscope_report::files::write_pcap(path, &wire.frames(), force) {
        Ok(n) => {
            say(format!("wrote {n} packets to {shown}"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            say(format!("cannot write the pcap to {shown}: {e}"));
            ExitCode::FAILURE
        }
    }
}
