//! `sockscope run --headless`: a student's own programs, traced, their
//! socket calls printed as they return (JSON Lines or a transcript).
//!
//! The tracing is [`sockscope_core::tracer`]'s; this module splits the
//! command line into programs at `:::`, sends the programs' own output where
//! it cannot corrupt ours (sockscope's stderr, each line prefixed and
//! escaped, or `--program-output FILE`), and writes each event: in JSON,
//! `trace`'s line with `pid`, `tid` and `comm` added.

use crate::output::{self, say};
use sockscope_core::tracer::{self, End, RunEvent, RunMsg, Session};
use sockscope_core::vocab::preview;
use sockscope_report::headless::{self, Format};
use std::ffi::OsString;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

/// The word between programs on the command line.
pub const SEPARATOR: &str = ":::";

/// Split `a b ::: c d` into `[[a, b], [c, d]]`; `None` if a program is empty.
pub fn split_programs(command: &[OsString]) -> Option<Vec<Vec<OsString>>> {
    let programs: Vec<Vec<OsString>> = command
        .split(|w| w == SEPARATOR)
        .map(<[OsString]>::to_vec)
        .collect();
    programs.iter().all(|p| !p.is_empty()).then_some(programs)
}

/// Where the programs' stdout and stderr go.
#[derive(Debug, Clone)]
pub enum ProgramOutput {
    /// sockscope's stderr, each line prefixed `name[pid] | ` and escaped.
    Stderr,
    /// A file, as the programs wrote it.
    File(PathBuf),
    /// Nowhere (for `check`, which reports what the program did).
    Null,
}

/// The closure a [`Session`] calls to set each program's stdio.
pub fn stdio_for(
    programs: &[Vec<OsString>],
    where_to: &ProgramOutput,
) -> io::Result<tracer::SetStdio> {
    Ok(match where_to {
        ProgramOutput::Null => Box::new(|_, cmd: &mut Command| {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }),
        ProgramOutput::File(path) => {
            let file = std::fs::File::create(path)?;
            Box::new(move |_, cmd: &mut Command| {
                if let (Ok(a), Ok(b)) = (file.try_clone(), file.try_clone()) {
                    cmd.stdout(a).stderr(b);
                }
            })
        }
        // Each line escaped like a peer's payload: a program printing
        // escape sequences cannot reach the terminal raw.
        ProgramOutput::Stderr => tracer::output_lines(programs, |name, text| {
            let _ = writeln!(
                io::stderr().lock(),
                "{} | {}",
                preview::text(name),
                preview::text(&text)
            );
        }),
    })
}

/// Whether stdout has a reader waiting for each line (a pipe, a socket, a
/// terminal), not a regular file or /dev/null.
fn read_live() -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let (Ok(out), null) = (
        std::fs::metadata("/proc/self/fd/1"),
        std::fs::metadata("/dev/null").ok(),
    ) else {
        return true;
    };
    let is_null = out.file_type().is_char_device() && null.is_some_and(|n| n.rdev() == out.rdev());
    !(out.is_file() || is_null)
}

/// One event as a JSON line: `trace`'s fields, then `pid`, `tid`, `comm`.
pub fn write_json(out: &mut impl Write, ev: &RunEvent) -> io::Result<()> {
    let mut line = Vec::with_capacity(1024);
    headless::json::write_event(&mut line, &ev.event)?;
    // write_event writes one object: reopen it to add the process fields.
    if line.last() == Some(&b'}') {
        line.pop();
    }
    line.extend_from_slice(b",\"pid\":");
    line.extend_from_slice(ev.pid.to_string().as_bytes());
    line.extend_from_slice(b",\"tid\":");
    line.extend_from_slice(ev.tid.to_string().as_bytes());
    line.extend_from_slice(b",\"comm\":");
    serde_json::to_writer(&mut line, &ev.comm)?;
    line.extend_from_slice(b"}\n");
    out.write_all(&line)
}

/// What `run` reads besides the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observe {
    /// The kernel's view of each call's socket (TCP state, queues).
    pub kernel: bool,
    /// The packets on `lo`, each call's attached to its event.
    pub capture: bool,
}

/// `sockscope run --headless`.
pub fn run(
    command: &[OsString],
    format: Format,
    observe: Observe,
    program_output: Option<PathBuf>,
    pcap: Option<(&std::path::Path, bool)>,
) -> ExitCode {
    let Some(programs) = split_programs(command) else {
        say(format!(
            "run: a program is missing around `{SEPARATOR}` (write: run -- ./server ::: ./client)"
        ));
        return ExitCode::from(2);
    };
    if format == Format::Markdown {
        say("run prints --format json or --format text");
        return ExitCode::from(2);
    }
    let where_to = program_output.map_or(ProgramOutput::Stderr, ProgramOutput::File);
    let stdio = match stdio_for(&programs, &where_to) {
        Ok(s) => s,
        Err(e) => {
            say(format!("cannot open the program output file: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let options = tracer::Options {
        kernel: observe.kernel,
        step: false,
        capture: observe.capture,
    };
    let mut session = match Session::start(programs, options, stdio) {
        Ok(s) => s,
        Err(e) => {
            say(e.to_string());
            return ExitCode::FAILURE;
        }
    };
    let live = read_live();
    let mut out = BufWriter::new(output::stdout());
    let mut failed = false;
    let written = (|| -> io::Result<()> {
        if format == Format::Text {
            if let Some(network) = sockscope_core::lab::current() {
                writeln!(out, "# {}", network.label())?;
            }
            writeln!(
                out,
                "# {:>4} {:>9}  {:<9} call = result",
                "seq", "ms", "actor"
            )?;
        }
        loop {
            let msg = match session.next_msg() {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    say(e.to_string());
                    failed = true;
                    break;
                }
            };
            match (&msg, format) {
                (RunMsg::Event(ev) | RunMsg::Unfinished(ev), Format::Json) => {
                    write_json(&mut out, ev)?;
                }
                (RunMsg::Event(ev) | RunMsg::Unfinished(ev), _) => {
                    writeln!(out, "{}", headless::text_line(&ev.event))?;
                }
                (RunMsg::Started { pid, argv, .. }, Format::Text) => {
                    writeln!(out, "-- started `{}` as pid {pid}", preview::text(argv))?;
                }
                (
                    RunMsg::Ended {
                        pid,
                        tid,
                        comm,
                        end,
                    },
                    _,
                ) => {
                    if pid == tid && session.pids().contains(pid) && *end != End::Exited(0) {
                        failed = true;
                    }
                    if format == Format::Text {
                        writeln!(out, "-- {}[{tid}] {}", preview::text(comm), end.text())?;
                    }
                }
                _ => {}
            }
            // Flushed per message when someone reads as it happens (a
            // pipe, a terminal): they see each call as it returns. Into a
            // file or /dev/null, block-buffered, as stdio does.
            if live {
                out.flush()?;
            }
        }
        out.flush()
    })();
    if let Err(e) = written {
        session.kill_all();
        return output::write_failed(&e);
    }
    let pcap = pcap.map(|(path, force)| output::write_pcap(path, force, &session.wire()));
    if failed || pcap.is_some_and(|c| c == ExitCode::FAILURE) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
