//! The sockscope binary: parse the command line and hand off to the library.

use clap::Parser;
use color_eyre::Result;
use sockscope::cli::{Cli, Command};
use sockscope::engine::{self, EngineMsg};
use sockscope::{headless, lesson};
use std::io::Write;
use std::process::ExitCode;

fn main() -> Result<ExitCode> {
    color_eyre::install()?;
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Lessons) => {
            print_lessons();
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Trace {
            lesson,
            format,
            port,
        }) => trace(&lesson, format, port),
    }
}

fn print_lessons() {
    for l in lesson::builtins() {
        println!("{:<10} {}", l.name, l.summary);
    }
}

/// Exit code for usage errors (unknown lesson, bad port), as clap uses.
const USAGE: u8 = 2;

fn trace(name: &str, format: headless::Format, port: u16) -> Result<ExitCode> {
    let Some(lesson) = lesson::builtin(name) else {
        eprintln!(
            "sockscope: no lesson called `{name}`. The lessons are: {}",
            lesson::builtin_names().join(", ")
        );
        return Ok(ExitCode::from(USAGE));
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if format == headless::Format::Text {
        headless::write_header(&mut out, &lesson)?;
    }
    let msgs = runtime.block_on(engine::run_to_end(lesson, port));
    let mut failed = false;
    for m in &msgs {
        headless::write_msg(&mut out, format, m)?;
        failed |= matches!(m, EngineMsg::Failed(_));
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
