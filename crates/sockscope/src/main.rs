//! The sockscope binary: parse the command line, read the config file and the
//! lessons, and hand off to the library.

use clap::{CommandFactory, Parser};
use color_eyre::Result;
use sockscope::cli::{Cli, Command};
use sockscope_core::engine::serve::{self, ServeConfig, Server};
use sockscope_core::engine::{self, EngineConfig, EngineMsg, Proto};
use sockscope_core::lesson::{Catalog, Folder, Lesson};
use sockscope_core::ports;
use sockscope_report::{handout, headless};
use sockscope_tui as tui;
use sockscope_tui::config::{self, Loaded};
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code for usage errors (unknown lesson, bad port, bad config or lesson
/// file), as clap uses.
const USAGE: u8 = 2;

fn main() -> Result<ExitCode> {
    color_eyre::install()?;
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return Ok(usage_error(&e)),
    };
    if cli.print_config_template {
        print!("{}", *config::TEMPLATE);
        return Ok(ExitCode::SUCCESS);
    }
    // Completions and the man page describe the program, not this machine's
    // settings: a broken config file must not stop them.
    match &cli.command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "sockscope",
                &mut std::io::stdout(),
            );
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Man) => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
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
    };
    match cli.command {
        None => {
            let name = loaded.config.default_lesson.as_deref().unwrap_or("tcp");
            interactive(&catalog, name, options)
        }
        Some(Command::Lesson { name, port }) => {
            interactive(&catalog, &name, tui::Options { port, ..options })
        }
        Some(Command::Lessons) => {
            print_lessons(&catalog);
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Trace {
            lesson,
            format,
            port,
            repeat,
            pcap,
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
                pcap.as_deref(),
                !no_capture,
                observers,
            )
        }
        Some(Command::Port { port, format }) => port_report(port, format),
        Some(Command::Serve {
            udp,
            port,
            bind,
            max_peers,
            headless,
        }) => serve(
            ServeConfig {
                proto: if udp { Proto::Udp } else { Proto::Tcp },
                bind: SocketAddr::new(bind, port),
                max_peers,
            },
            headless,
            options,
        ),
        Some(Command::Completions { .. } | Command::Man) => unreachable!("handled above"),
    }
}

/// Exit code when the interactive screen is asked for without a terminal.
const NO_TERMINAL: u8 = 3;

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
        eprintln!("{e}");
        return Ok(ExitCode::from(NO_TERMINAL));
    }
    let lessons = catalog.lessons().cloned().collect();
    Ok(match tui::run(lesson, lessons, options)? {
        tui::Outcome::Quit => ExitCode::SUCCESS,
        // The shell convention for "ended by signal n".
        tui::Outcome::Signal(n) => ExitCode::from(128 + n as u8),
    })
}

/// Print one usage error line and return exit code 2.
fn usage(message: &str) -> ExitCode {
    eprintln!("sockscope: {message}");
    ExitCode::from(USAGE)
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

fn print_lessons(catalog: &Catalog) {
    for l in catalog.lessons() {
        println!("{:<12} {}", l.name, l.summary);
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
        // For a handout: the same report under a heading, as preformatted text.
        headless::Format::Markdown => write!(
            out,
            "# Port {port}\n\n```text\n{}```\n",
            ports::text::render(&report)
        )?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn trace(
    lesson: Lesson,
    format: headless::Format,
    port: u16,
    repeat: u32,
    pcap: Option<&Path>,
    capture: bool,
    observers: engine::Observers,
) -> Result<ExitCode> {
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
            let (mut msgs, wire) = runtime.block_on(engine::run_to_end_observed(
                lesson.clone(),
                config,
                observers,
            ));
            // Said once, before the events, so it is not lost under them.
            if run == 1
                && let Some(notice) = wire.status().notice()
            {
                eprintln!("sockscope: {notice}");
            }
            // Every captured packet is on an event, so the JSON has them all.
            let left = headless::attach_after_last_call(&mut msgs, wire.after_last_call());
            for m in &msgs {
                headless::write_msg(&mut out, format, m)?;
                if matches!(m, EngineMsg::Failed(_)) {
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
fn write_pcap(path: &Path, wire: &sockscope_core::wire::Wire) -> ExitCode {
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

/// `sockscope serve`: serve until SIGINT or SIGTERM. On a terminal, the serve
/// screen (until q). With `--headless` the events go to stdout as JSON Lines
/// (and the connect command and warnings to stderr); without a terminal and
/// without `--headless`, as a live readable transcript.
fn serve(config: ServeConfig, headless: bool, options: tui::Options) -> Result<ExitCode> {
    // On a terminal, the screen: lanes per peer, the command to connect.
    if !headless && tui::check_terminal().is_ok() {
        return match tui::run_serve(config, options)? {
            tui::ServeEnd::Ran(tui::Outcome::Quit) => Ok(ExitCode::SUCCESS),
            tui::ServeEnd::Ran(tui::Outcome::Signal(n)) => Ok(ExitCode::from(128 + n as u8)),
            tui::ServeEnd::SetupFailed(msgs) => {
                let mut out = std::io::stdout().lock();
                for m in &msgs {
                    headless::write_msg(&mut out, headless::Format::Text, m)?;
                }
                eprintln!(
                    "sockscope: cannot serve on {}: the server socket could not be set up (see the failed call above)",
                    config.bind
                );
                Ok(ExitCode::FAILURE)
            }
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let format = if headless {
            headless::Format::Json
        } else {
            headless::Format::Text
        };
        if let Some(w) = serve::exposure_warning(config.bind) {
            eprintln!("sockscope: {w}");
        }
        let mut server = Server::start(config).await;
        let mut out = std::io::stdout().lock();
        let Some(local) = server.local_addr() else {
            // The failed call is an event like any other: print it, then say
            // why there is nothing to serve.
            while let Some(m) = server.next().await {
                headless::write_msg(&mut out, format, &m)?;
            }
            out.flush()?;
            eprintln!(
                "sockscope: cannot serve on {}: the server socket could not be set up (see the failed call above)",
                config.bind
            );
            return Ok(ExitCode::FAILURE);
        };
        let proto = config.proto;
        eprintln!(
            "sockscope: {} echo server on {local}. Connect with:\n    {}\n  or: {}\n  Stop with Ctrl-C.",
            proto.name(),
            serve::connect_command(proto, local),
            serve::python_command(proto, local),
        );
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        loop {
            tokio::select! {
                m = server.next() => match m {
                    Some(m) => {
                        headless::write_msg(&mut out, format, &m)?;
                        // Flush every line: whoever reads a pipe should see
                        // each event as it happens.
                        out.flush()?;
                    }
                    None => break,
                },
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
            }
        }
        // The server closes its own socket; report that too.
        server.stop();
        while let Some(m) = server.next().await {
            headless::write_msg(&mut out, format, &m)?;
        }
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    })
}
