//! The sockscope binary: parse the command line, read the config file and the
//! lessons, and hand off to the library.
//!
//! Every byte it prints goes through [`sockscope::output`], so a closed or
//! full stdout or stderr ends the program as the shell expects (quietly for
//! a broken pipe, one line for a full disk), never with a panic.

use clap::{CommandFactory, Parser};
use color_eyre::Result;
use sockscope::cli::{Cli, Command};
use sockscope::output::{self, say};
use sockscope_core::engine::serve::ServeConfig;
use sockscope_core::engine::{self, EngineConfig, EngineMsg, Proto};
use sockscope_core::lab;
use sockscope_core::lesson::{Catalog, Folder, Lesson};
use sockscope_core::ports;
use sockscope_report::{handout, headless};
use sockscope_tui as tui;
use sockscope_tui::config::{self, Loaded};
use std::io::{BufWriter, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code for usage errors (unknown lesson, bad port, bad config or lesson
/// file), as clap uses.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let _ = color_eyre::install();
    match run() {
        Ok(code) => code,
        Err(report) => {
            // On a terminal, color-eyre's report; otherwise (a log, a pipe)
            // one line with its causes, and no colour codes.
            if std::io::stderr().is_terminal() {
                let _ = writeln!(std::io::stderr(), "Error: {report:?}");
            } else {
                say(format!("{report:#}"));
            }
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return Ok(usage_error(&e)),
    };
    if cli.print_config_template {
        return Ok(output::print(config::TEMPLATE.as_bytes()));
    }
    // Completions and the man page describe the program, not this machine's
    // settings: a broken config file must not stop them. Each is made in
    // memory, then written, so a failed write is reported like any other.
    match &cli.command {
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "sockscope", &mut script);
            return Ok(output::print(&script));
        }
        Some(Command::Man) => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            return Ok(output::print(&page));
        }
        _ => {}
    }
    if cli.reset_progress {
        return Ok(reset_progress());
    }
    let loaded = match config::load(cli.config.as_deref()) {
        Ok(l) => l,
        Err(e) => return Ok(usage(&e.to_string())),
    };
    let catalog = match Catalog::load(lessons_folder(cli.lessons.clone(), &loaded).as_ref()) {
        Ok(c) => c,
        Err(e) => return Ok(usage(&e.to_string())),
    };
    if let Some(name) = &loaded.config.default_lesson
        && catalog.get(name).is_none()
    {
        let e = loaded.error_at(
            "default_lesson",
            format!(
                "default_lesson `{name}` is not a lesson. The lessons are: {}",
                catalog.names().join(", ")
            ),
        );
        return Ok(usage(&e.to_string()));
    }
    let keys = loaded.config.keys.resolve();
    if let Some((key, a, b)) = keys.duplicate() {
        let e = loaded.error_at(
            b,
            format!(
                "key `{}` is bound to both `{a}` and `{b}` in [keys]; give one of them another key",
                tui::keys::label(key)
            ),
        );
        return Ok(usage(&e.to_string()));
    }
    let code = match cli.code.as_deref().or(loaded.config.code.as_deref()) {
        None => tui::code::Lang::default(),
        Some(name) => {
            let Some(lang) = tui::code::Lang::from_name(name) else {
                let e = loaded.error_at(
                    "code",
                    format!(
                        "code `{}` is not a language the code panel writes: c, python or rust",
                        sockscope_core::vocab::preview::text(name)
                    ),
                );
                return Ok(usage(&e.to_string()));
            };
            lang
        }
    };
    // The lab, entered here: after reading files (no thread yet), before
    // any runtime or thread starts, as the kernel requires.
    let network = match &cli.command {
        // `run`'s programs too: their ports collide with nothing and their
        // packets are captured for every user.
        None
        | Some(
            Command::Lesson { .. }
            | Command::Trace { .. }
            | Command::Run { .. }
            | Command::Check { .. },
        ) => {
            match choose_network(cli.host_network || loaded.config.host_network.unwrap_or(false)) {
                Ok(n) => Some(n),
                Err(code) => return Ok(code),
            }
        }
        // `serve` is for peers in other terminals, `port` explains this
        // machine, and the rest run no lesson: the machine's network.
        _ => None,
    };
    let label = network.as_ref().map(lab::Network::label);
    let options = tui::Options {
        theme: cli.theme.or(loaded.config.theme.name).unwrap_or_default(),
        colors: loaded.config.theme.colors.clone(),
        ascii: cli.ascii,
        port: 0,
        present: cli.present || loaded.config.present.unwrap_or(false),
        keys,
        autoplay: loaded.config.autoplay_ms.map_or(tui::app::AUTOPLAY, |m| {
            std::time::Duration::from_millis(m.0)
        }),
        network: label,
        mouse: !cli.no_mouse && loaded.config.mouse.unwrap_or(true),
        progress_file: loaded
            .config
            .progress
            .unwrap_or(true)
            .then(tui::progress::default_path)
            .flatten(),
        study: cli.study || loaded.config.study.unwrap_or(false),
        code,
    };
    match cli.command {
        None => {
            let name = loaded.config.default_lesson.as_deref().unwrap_or("tcp");
            interactive(&catalog, name, options)
        }
        Some(Command::Lesson { name, port }) => {
            interactive(&catalog, &name, tui::Options { port, ..options })
        }
        Some(Command::Lessons) => Ok(print_lessons(&catalog)),
        Some(Command::Trace {
            lesson,
            format,
            port,
            repeat,
            pcap,
            force,
            no_capture,
            no_kernel,
        }) => {
            let Some(lesson) = catalog.get(&lesson).cloned() else {
                return Ok(usage(&format!(
                    "no lesson called `{lesson}`. The lessons are: {}",
                    catalog.names().join(", ")
                )));
            };
            let observers = engine::Observers { kernel: !no_kernel };
            trace(
                lesson,
                format,
                port,
                repeat,
                pcap.as_deref().map(|p| (p, force)),
                !no_capture,
                observers,
            )
        }
        Some(Command::Port { port, format }) => Ok(port_report(port, format)),
        Some(Command::Serve {
            udp,
            port,
            bind,
            max_peers,
            idle_timeout,
            headless,
        }) => serve(
            ServeConfig {
                proto: if udp { Proto::Udp } else { Proto::Tcp },
                bind: SocketAddr::new(bind, port),
                max_peers,
                idle_timeout: (idle_timeout > 0)
                    .then(|| std::time::Duration::from_secs(idle_timeout)),
            },
            headless,
            options,
        ),
        Some(Command::Run {
            headless,
            format,
            no_kernel,
            program_output,
            pcap,
            force,
            no_capture,
            command,
        }) => {
            let observe = sockscope::running::Observe {
                kernel: !no_kernel,
                capture: !no_capture,
            };
            if !headless {
                return Ok(run_on_screen(
                    &command,
                    observe,
                    program_output.is_some(),
                    options,
                ));
            }
            Ok(sockscope::running::run(
                &command,
                format,
                observe,
                program_output,
                pcap.as_deref().map(|p| (p, force)),
            ))
        }
        Some(Command::Check {
            role,
            format,
            port,
            program_output,
            command,
        }) => Ok(sockscope::checking::check(
            &role,
            &command,
            format,
            port,
            program_output,
        )),
        Some(Command::Export {
            lesson,
            lang,
            out,
            force,
        }) => {
            let Some(lesson) = catalog.get(&lesson) else {
                return Ok(usage(&format!(
                    "no lesson called `{lesson}`. The lessons are: {}",
                    catalog.names().join(", ")
                )));
            };
            Ok(sockscope::exporting::export(
                lesson,
                lang,
                out.as_deref(),
                force,
            ))
        }
        Some(Command::Completions { .. } | Command::Man) => unreachable!("handled above"),
    }
}

/// Where the lessons of this run go: the lab, unless `host` (the flag or
/// the config file) asks for the machine's network or the kernel refuses
/// the lab (said in one line, with what would enable it). On the machine's
/// network a loopback that is down is said before any lesson meets it.
/// `Err` is the exit code when there is nowhere to run.
fn choose_network(host: bool) -> std::result::Result<lab::Network, ExitCode> {
    let network = if host {
        lab::Network::HostAsked
    } else {
        match lab::enter() {
            Ok(n) => n,
            Err(e) => {
                say(e);
                return Err(ExitCode::FAILURE);
            }
        }
    };
    lab::set_current(network.clone());
    if let lab::Network::HostRefused(r) = &network {
        say(r.line());
    }
    if !network.in_lab()
        && let Some(down) = lab::lo_down()
    {
        say(down);
        return Err(ExitCode::FAILURE);
    }
    Ok(network)
}

/// Exit code when the interactive screen is asked for without a terminal.
const NO_TERMINAL: u8 = 3;

/// `sockscope run -- CMD` on a terminal: the programs stepped a socket call
/// at a time. Without a terminal, one line saying to use `--headless`.
fn run_on_screen(
    command: &[std::ffi::OsString],
    observe: sockscope::running::Observe,
    program_output: bool,
    options: tui::Options,
) -> ExitCode {
    use sockscope::running::{SEPARATOR, split_programs};
    let Some(programs) = split_programs(command) else {
        return usage(&format!(
            "run: a program is missing around `{SEPARATOR}` (write: run -- ./server ::: ./client)"
        ));
    };
    if program_output {
        // On the screen the programs' output has a panel of its own.
        return usage(
            "--program-output is for --headless: on the screen the programs' output has its own panel",
        );
    }
    if tui::check_terminal().is_err() {
        say(
            "run's screen needs a terminal (stdin and stdout must be a tty); without one, `sockscope run --headless -- CMD` prints each socket call as it returns",
        );
        return ExitCode::from(NO_TERMINAL);
    }
    let end = match tui::run_programs(programs, observe.kernel, observe.capture, options) {
        Ok(end) => end,
        Err(e) => {
            say(format!("run: {e}"));
            return ExitCode::FAILURE;
        }
    };
    // Say what quitting did: the programs still running were killed.
    for (pid, argv) in &end.killed {
        say(format!(
            "sockscope ended `{}` (pid {pid}) with SIGKILL when you quit",
            sockscope_core::vocab::preview::text(argv)
        ));
    }
    match end.outcome {
        tui::Outcome::Quit => ExitCode::SUCCESS,
        tui::Outcome::Signal(n) => ExitCode::from(128 + n as u8),
    }
}

/// The TUI on lesson `name`; the lesson picker offers every lesson of the
/// catalog.
fn interactive(catalog: &Catalog, name: &str, options: tui::Options) -> Result<ExitCode> {
    let Some(lesson) = catalog.get(name).cloned() else {
        return Ok(usage(&format!(
            "no lesson called `{name}`. The lessons are: {}",
            catalog.names().join(", ")
        )));
    };
    if let Err(e) = tui::check_terminal() {
        let _ = writeln!(std::io::stderr(), "{e}");
        return Ok(ExitCode::from(NO_TERMINAL));
    }
    let lessons = catalog.lessons().cloned().collect();
    Ok(match tui::run(lesson, lessons, options)? {
        tui::Outcome::Quit => ExitCode::SUCCESS,
        // The shell convention for "ended by signal n".
        tui::Outcome::Signal(n) => ExitCode::from(128 + n as u8),
    })
}

/// Print one usage error line and return exit code 2. The message can quote
/// a file or the command line: escaped, one line.
fn usage(message: &str) -> ExitCode {
    say(message);
    ExitCode::from(USAGE)
}

/// `--reset-progress`: delete the progress file and say what happened.
fn reset_progress() -> ExitCode {
    use sockscope_core::vocab::preview::text;
    let Some(path) = tui::progress::default_path() else {
        say("No progress is kept here: this system has no data folder for sockscope.");
        return ExitCode::SUCCESS;
    };
    let path_text = path.display().to_string();
    let shown = text(&path_text);
    match tui::progress::reset(&path) {
        Ok(true) => output::print(format!("Progress reset: removed {shown}\n").as_bytes()),
        Ok(false) => {
            output::print(format!("No progress to reset ({shown} does not exist)\n").as_bytes())
        }
        Err(e) => {
            say(format!("Could not remove {shown}: {e}"));
            ExitCode::FAILURE
        }
    }
}

/// `--lessons DIR` beats the config file's `lessons`, which beats the default
/// folder next to the config file (used only if it exists).
fn lessons_folder(flag: Option<PathBuf>, loaded: &Loaded) -> Option<Folder> {
    if let Some(dir) = flag.or_else(|| loaded.config.lessons.clone()) {
        return Some(Folder {
            dir,
            required: true,
        });
    }
    config::default_lessons_dir().map(|dir| Folder {
        dir,
        required: false,
    })
}

/// `sockscope lessons`. A summary came from a lesson file: escaped.
fn print_lessons(catalog: &Catalog) -> ExitCode {
    use sockscope_core::vocab::preview::text;
    // One column for the names, as wide as the longest (at least 12).
    let width = catalog
        .lessons()
        .map(|l| text(&l.name).chars().count())
        .max()
        .unwrap_or(0)
        .max(12);
    output::write_with(ExitCode::SUCCESS, |out| {
        for l in catalog.lessons() {
            writeln!(out, "{:<width$} {}", text(&l.name), text(&l.summary))?;
        }
        Ok(())
    })
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
        say(first.trim_start_matches("error: "));
        return ExitCode::from(USAGE);
    }
    let code = ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(USAGE));
    // Help and --version go to stdout: on a terminal as clap colours them;
    // otherwise written here, so a full disk or a closed pipe is reported
    // (clap's own print ignores a failed write).
    if e.use_stderr() || output::stdout_is_terminal() {
        let _ = e.print();
        return code;
    }
    output::write_with(code, |out| write!(out, "{}", e.render()))
}

fn port_report(port: u16, format: headless::Format) -> ExitCode {
    let report = ports::explain(port);
    output::write_with(ExitCode::SUCCESS, |out| {
        match format {
            headless::Format::Json => {
                serde_json::to_writer_pretty(&mut *out, &report)?;
                writeln!(out)
            }
            headless::Format::Text => write!(out, "{}", ports::text::render(&report)),
            // For a handout: the same report under a heading, as preformatted text.
            headless::Format::Markdown => write!(
                out,
                "# Port {port}\n\n```text\n{}```\n",
                ports::text::render(&report)
            ),
        }
    })
}

fn trace(
    lesson: Lesson,
    format: headless::Format,
    port: u16,
    repeat: u32,
    pcap: Option<(&Path, bool)>,
    capture: bool,
    observers: engine::Observers,
) -> Result<ExitCode> {
    let network = lab::current().map(lab::Network::label);
    let lesson = std::sync::Arc::new(lesson);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let config = EngineConfig {
        port,
        capture,
        ..EngineConfig::default()
    };
    let mut out = BufWriter::new(output::stdout());
    let mut halted = None;
    let mut last_wire = None;
    let printed = (|| -> std::io::Result<bool> {
        if format == headless::Format::Text {
            headless::write_header_on(&mut out, &lesson, network)?;
        }
        for run in 1..=repeat {
            if repeat > 1 && format == headless::Format::Text {
                writeln!(out, "# run {run} of {repeat}")?;
            }
            let (mut msgs, wire) = runtime.block_on(engine::run_to_end_observed(
                lesson.clone(),
                config,
                observers,
            ));
            // Said once, before the events, so it is not lost under them.
            if run == 1
                && let Some(notice) = wire.status().notice()
            {
                say(notice);
            }
            // Every captured packet is on an event, so the JSON has them all.
            let left = headless::attach_after_last_call(&mut msgs, wire.after_last_call());
            for m in &msgs {
                if let EngineMsg::Event(e) = m {
                    // A lesson beyond loopback says so where it is seen
                    // even when stdout goes to a file.
                    for w in e.flags.iter().filter(|f| f.starts_with("warning: ")) {
                        if run == 1 {
                            say(w);
                        }
                    }
                }
                headless::write_msg(&mut out, format, m)?;
                if let EngineMsg::Failed(e) = m {
                    halted = Some(e.clone());
                    out.flush()?;
                    return Ok(false);
                }
            }
            headless::write_after_last_call(&mut out, format, &left)?;
            if format == headless::Format::Markdown {
                handout::write(&mut out, &lesson, &msgs)?;
            }
            last_wire = Some(wire);
        }
        out.flush()?;
        Ok(true)
    })();
    // A bind refused for privilege: what to do instead.
    if let Some(engine::EngineError::Halted(h)) = &halted
        && h.call == engine::Call::Bind
        && h.result == "EACCES"
        && let Some(way) = ports::Machine::read().way_forward(port)
    {
        say(way);
    }
    if let (Ok(true), Some((path, force)), Some(wire)) = (&printed, pcap, last_wire) {
        return Ok(output::write_pcap(path, force, &wire));
    }
    match printed {
        Ok(true) => Ok(ExitCode::SUCCESS),
        Ok(false) => Ok(ExitCode::FAILURE),
        // `trace tcp | head` closes the pipe early: quietly, 141; a full
        // disk: one line, 1.
        Err(e) => Ok(output::write_failed(&e)),
    }
}

/// `sockscope serve`: serve until SIGINT or SIGTERM. On a terminal, the serve
/// screen (until q). With `--headless` the events go to stdout as JSON Lines
/// (and the connect command and warnings to stderr); without a terminal and
/// without `--headless`, as a live readable transcript
/// ([`sockscope::serving`]).
fn serve(config: ServeConfig, headless: bool, options: tui::Options) -> Result<ExitCode> {
    // On a terminal, the screen: lanes per peer, the command to connect.
    if !headless && tui::check_terminal().is_ok() {
        return match tui::run_serve(config, options)? {
            tui::ServeEnd::Ran(tui::Outcome::Quit) => Ok(ExitCode::SUCCESS),
            tui::ServeEnd::Ran(tui::Outcome::Signal(n)) => Ok(ExitCode::from(128 + n as u8)),
            tui::ServeEnd::SetupFailed(msgs) => {
                let code = output::write_with(ExitCode::FAILURE, |out| {
                    for m in &msgs {
                        headless::write_msg(out, headless::Format::Text, m)?;
                    }
                    Ok(())
                });
                say(format!(
                    "cannot serve on {}: the server socket could not be set up (see the failed call above)",
                    config.bind
                ));
                if msgs
                    .iter()
                    .any(|m| matches!(m, EngineMsg::Event(e) if e.result.name() == "EACCES"))
                    && let Some(way) = ports::Machine::read().way_forward(config.bind.port())
                {
                    say(way);
                }
                Ok(code)
            }
        };
    }
    let format = if headless {
        headless::Format::Json
    } else {
        headless::Format::Text
    };
    sockscope::serving::run(config, format)
}
