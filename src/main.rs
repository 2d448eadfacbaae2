//! The sockscope binary: parse the command line and hand off to the library.

use clap::Parser;
use color_eyre::Result;
use sockscope::cli::{Cli, Command};
use sockscope::engine::{self, EngineConfig, EngineMsg};
use sockscope::{headless, lesson, ports};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

fn main() -> Result<ExitCode> {
    color_eyre::install()?;
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return Ok(usage_error(&e)),
    };
    match cli.command {
        None | Some(Command::Lessons) => {
            print_lessons();
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Trace {
            lesson,
            format,
            port,
            repeat,
            pcap,
            no_capture,
        }) => trace(&lesson, format, port, repeat, pcap.as_deref(), !no_capture),
        Some(Command::Port { port, format }) => port_report(port, format),
    }
}

/// clap's errors, with one change: a bad value (a port of 70000, `abc`) is
/// one line on stderr, not clap's three, so a student sees only what matters.
/// Help, version and the other errors are printed as clap prints them.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        let text = e.render().to_string();
        let first = text.lines().next().unwrap_or_default();
        eprintln!("sockscope: {}", first.trim_start_matches("error: "));
        return ExitCode::from(USAGE);
    }
    let _ = e.print();
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(USAGE))
}

fn port_report(port: u16, format: headless::Format) -> Result<ExitCode> {
    let report = ports::explain(port);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        headless::Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        headless::Format::Text => write!(out, "{}", ports::text::render(&report))?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn print_lessons() {
    for l in lesson::builtins() {
        println!("{:<10} {}", l.name, l.summary);
    }
}

/// Exit code for usage errors (unknown lesson, bad port), as clap uses.
const USAGE: u8 = 2;

fn trace(
    name: &str,
    format: headless::Format,
    port: u16,
    repeat: u32,
    pcap: Option<&Path>,
    capture: bool,
) -> Result<ExitCode> {
    let Some(lesson) = lesson::builtin(name) else {
        eprintln!(
            "sockscope: no lesson called `{name}`. The lessons are: {}",
            lesson::builtin_names().join(", ")
        );
        return Ok(ExitCode::from(USAGE));
    };
    let lesson = std::sync::Arc::new(lesson);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let config = EngineConfig {
        port,
        capture,
        ..EngineConfig::default()
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut last_wire = None;
    let printed = (|| -> std::io::Result<bool> {
        if format == headless::Format::Text {
            headless::write_header(&mut out, &lesson)?;
        }
        for run in 1..=repeat {
            if repeat > 1 && format == headless::Format::Text {
                writeln!(out, "# run {run} of {repeat}")?;
            }
            let (msgs, wire) = runtime.block_on(engine::run_to_end_with(lesson.clone(), config));
            // Said once, before the events, so it is not lost under them.
            if run == 1
                && let Some(notice) = wire.status().notice()
            {
                eprintln!("sockscope: {notice}");
            }
            for m in &msgs {
                headless::write_msg(&mut out, format, m)?;
                if matches!(m, EngineMsg::Failed(_)) {
                    return Ok(false);
                }
            }
            headless::write_after_last_call(&mut out, format, &wire.after_last_call())?;
            last_wire = Some(wire);
        }
        out.flush()?;
        Ok(true)
    })();
    if let (Ok(true), Some(path), Some(wire)) = (&printed, pcap, last_wire) {
        return Ok(write_pcap(path, &wire));
    }
    match printed {
        Ok(true) => Ok(ExitCode::SUCCESS),
        Ok(false) => Ok(ExitCode::FAILURE),
        // `sockscope trace tcp | head` closes the pipe early: not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
    }
}

/// `trace --pcap FILE`: write what the run captured, or say why not.
fn write_pcap(path: &Path, wire: &sockscope::wire::Wire) -> ExitCode {
    if !wire.status().running() {
        eprintln!(
            "sockscope: no pcap written to {}: nothing was captured",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    match wire.write_pcap(path) {
        Ok(n) => {
            eprintln!("sockscope: wrote {n} packets to {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sockscope: cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
