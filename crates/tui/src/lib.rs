//! The interactive TUI: `sockscope` and `sockscope lesson NAME`.
//!
//! One loop, one `tokio::select!`, four sources: key presses and resizes
//! (crossterm's `EventStream`, presses only), the engine's messages, an
//! animation tick that exists only while an arrow travels, and SIGINT /
//! SIGTERM / SIGHUP. Each becomes a [`app::Msg`]; [`app::update`] changes the
//! state and returns an [`app::Effect`], which this loop carries out (step
//! the engine, change its pace, restart it, quit). When nothing moves the
//! loop sleeps in `select!`: no ticks while idle.
//!
//! The terminal is restored on every way out: a [`TerminalGuard`] restores
//! it on return and on error, and the panic hook restores it before
//! color-eyre prints the report.
//!
//! - [`config`]: the config file (theme, speed, keys, default lesson, lessons
//!   folder) and its commented template.
//! - [`app`]: the state and `update`, pure.
//! - [`keys`]: the key table.
//! - [`theme`]: colours and glyphs by role.
//! - [`arrows`]: what each call put on the wire: captured, or expected when
//!   capture is not allowed.
//! - [`timeline`]: rows, sockets and ports at the focused step.
//! - [`ui`]: one file per panel (the packet pane is `ui::packet`).

pub mod app;
pub mod arrows;
pub mod config;
#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod kernel_tests;
pub mod keys;
#[cfg(test)]
mod packet_tests;
#[cfg(test)]
mod render_tests;
pub mod serve;
pub mod theme;
pub mod timeline;
pub mod ui;

use app::{App, Effect, Machine, Msg};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use crossterm::{cursor, execute, terminal};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use sockscope_core::engine::{Engine, EngineConfig};
use sockscope_core::lesson::Lesson;
use std::io::{self, IsTerminal, Stdout};
use std::time::Duration;
use theme::{Theme, ThemeName};
use tokio::signal::unix::{SignalKind, signal};

/// How the TUI was asked to look and behave: the command line over the
/// config file over the defaults (`main` merges them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub theme: ThemeName,
    pub ascii: bool,
    /// The port `$port` stands for in lessons; 0 lets the kernel choose.
    pub port: u16,
    /// Start in presenter mode.
    pub present: bool,
    pub keys: crate::config::KeyMap,
    /// Autoplay interval at 1×.
    pub autoplay: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            theme: ThemeName::default(),
            ascii: false,
            port: 0,
            present: false,
            keys: crate::config::KeyMap::default(),
            autoplay: app::AUTOPLAY,
        }
    }
}

/// Why the TUI ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The presenter quit.
    Quit,
    /// A signal ended it (its number), for exit code 128 + n.
    Signal(i32),
}

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

/// Raw mode and the alternate screen, undone on drop.
pub struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        terminal::enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = execute!(out, terminal::EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e);
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

/// Leave raw mode and the alternate screen and show the cursor. Safe to call
/// more than once (the panic hook and the guard may both run).
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(io::stdout(), terminal::LeaveAlternateScreen, cursor::Show);
}

/// Wrap the panic hook so the terminal is restored first, then the previous
/// hook prints: color-eyre's, which `main` installed with
/// `color_eyre::install()` (its `HookBuilder` can only be installed once per
/// process, so we wrap it rather than build a second one).
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Run the TUI on `lesson` until the presenter quits or a signal arrives.
pub fn run(lesson: Lesson, lessons: Vec<Lesson>, options: Options) -> color_eyre::Result<Outcome> {
    check_terminal()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    install_panic_hook();
    let themes = Themes {
        normal: Theme::from_env(options.theme, options.ascii),
        present: Theme::from_env(ThemeName::HighContrast, options.ascii),
    };
    let mut guard = TerminalGuard::enter()?;
    let outcome = runtime.block_on(event_loop(&mut guard, lesson, lessons, options, &themes));
    drop(guard);
    outcome
}

/// The chosen theme, and the high-contrast one presenter mode switches to.
struct Themes {
    normal: Theme,
    present: Theme,
}

impl Themes {
    fn for_app(&self, app: &App) -> &Theme {
        self.for_present(app.present)
    }

    fn for_present(&self, present: bool) -> &Theme {
        if present { &self.present } else { &self.normal }
    }
}

/// How `sockscope serve` on the screen ended.
pub enum ServeEnd {
    /// The server ran; the presenter quit, or a signal came.
    Ran(Outcome),
    /// The server socket could not be set up: the calls it made, the failed
    /// one last, to print.
    SetupFailed(Vec<sockscope_core::engine::EngineMsg>),
}

/// `sockscope serve` with a screen: a real echo server, one lane per peer,
/// until the presenter quits (q) or a signal arrives. The server closes its
/// socket and every connection when this returns.
pub fn run_serve(
    config: sockscope_core::engine::serve::ServeConfig,
    options: Options,
) -> color_eyre::Result<ServeEnd> {
    use sockscope_core::engine::serve::Server;
    check_terminal()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut server = runtime.block_on(Server::start(config));
    let Some(local) = server.local_addr() else {
        let msgs = runtime.block_on(async {
            let mut msgs = Vec::new();
            while let Some(m) = server.next().await {
                msgs.push(m);
            }
            msgs
        });
        return Ok(ServeEnd::SetupFailed(msgs));
    };
    install_panic_hook();
    let themes = Themes {
        normal: Theme::from_env(options.theme, options.ascii),
        present: Theme::from_env(ThemeName::HighContrast, options.ascii),
    };
    let mut view = serve::ServeView::new(config.proto, local, config.bind);
    view.keys = options.keys.clone();
    view.present = options.present;
    let mut guard = TerminalGuard::enter()?;
    let outcome = runtime.block_on(serve_loop(&mut guard, &mut server, &mut view, &themes));
    drop(guard);
    server.stop();
    drop(server);
    outcome.map(ServeEnd::Ran)
}

async fn serve_loop(
    guard: &mut TerminalGuard,
    server: &mut sockscope_core::engine::serve::Server,
    view: &mut serve::ServeView,
    themes: &Themes,
) -> color_eyre::Result<Outcome> {
    let mut keys = EventStream::new();
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut open = true;
    let size = guard.terminal.size()?;
    serve::on_resize(view, size.width, size.height);
    loop {
        guard
            .terminal
            .draw(|f| ui::serve::render(f, f.area(), view, themes.for_present(view.present)))?;
        tokio::select! {
            ev = keys.next() => match ev {
                Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => {
                    match serve::on_key(view, k) {
                        serve::ServeEffect::None => {}
                        serve::ServeEffect::Quit => return Ok(Outcome::Quit),
                        serve::ServeEffect::Handout => {
                            // Written where the presenter started sockscope,
                            // like the lesson screen's handout.
                            let dir = std::env::current_dir().unwrap_or_else(|_| ".".into());
                            let notice =
                                match sockscope_report::handout::save_text(&dir, "serve", &view.handout()) {
                                    Ok(path) => format!("Handout written: {}", path.display()),
                                    Err(e) => format!("No handout written in {}: {e}", dir.display()),
                                };
                            serve::on_notice(view, notice);
                        }
                    }
                }
                Some(Ok(TermEvent::Resize(w, h))) => serve::on_resize(view, w, h),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(Outcome::Quit),
            },
            m = server.next(), if open => match m {
                Some(m) => {
                    serve::on_engine(view, m);
                    // Take what else is ready before drawing again, so a
                    // flood of events costs one frame, not one per event.
                    for _ in 0..1024 {
                        match server.try_next() {
                            Some(m) => serve::on_engine(view, m),
                            None => break,
                        }
                    }
                }
                None => open = false,
            },
            _ = sigint.recv() => return Ok(Outcome::Signal(libc::SIGINT)),
            _ = sigterm.recv() => return Ok(Outcome::Signal(libc::SIGTERM)),
            _ = sighup.recv() => return Ok(Outcome::Signal(libc::SIGHUP)),
        }
    }
}

async fn event_loop(
    guard: &mut TerminalGuard,
    lesson: Lesson,
    lessons: Vec<Lesson>,
    options: Options,
    themes: &Themes,
) -> color_eyre::Result<Outcome> {
    let frame = Duration::from_secs_f64(1.0 / f64::from(app::FPS));
    let config = |app: &App| EngineConfig {
        port: options.port,
        pace: app.pace(),
        // Capture when the process may; without privilege the run goes on
        // and the arrows say "expected".
        capture: true,
    };
    let mut app = App::new(lesson, lessons, Machine::read());
    app.keys = options.keys.clone();
    app.autoplay_base = options.autoplay;
    app.present = options.present;
    // Resizes report later sizes; the windows that scroll need the first.
    let size = guard.terminal.size()?;
    app::update(&mut app, Msg::Resize(size.width, size.height));
    let mut engine = Engine::start(app.lesson.clone(), config(&app));
    app.set_capture(engine.wire().status());
    let mut engine_open = true;
    let mut keys = EventStream::new();
    // The slow refresh of the kernel panel while the lesson waits between
    // calls: once a second, and only while the panel shows the latest step.
    let mut kernel_tick = tokio::time::interval(Duration::from_secs(1));
    kernel_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    // Debug builds only: lets tests/signals.rs check that a panic restores
    // the terminal. Release builds have no such switch.
    #[cfg(debug_assertions)]
    let panic_after_first_frame = std::env::var_os("SOCKSCOPE_TEST_PANIC").is_some();
    loop {
        guard
            .terminal
            .draw(|f| ui::render(f, f.area(), &app, themes.for_app(&app)))?;
        #[cfg(debug_assertions)]
        if panic_after_first_frame {
            panic!("SOCKSCOPE_TEST_PANIC: a deliberate panic to test terminal restore");
        }
        let msg = tokio::select! {
            ev = keys.next() => match ev {
                Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => Msg::Key(k),
                Some(Ok(TermEvent::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                // The terminal went away: nothing left to show.
                None => return Ok(Outcome::Quit),
            },
            m = engine.next(), if engine_open => match m {
                Some(m) => Msg::Engine(m),
                None => {
                    engine_open = false;
                    continue;
                }
            },
            () = tokio::time::sleep(frame), if app.animating() => Msg::Tick,
            _ = kernel_tick.tick(), if app.kernel_to_refresh().is_some() => {
                match app.kernel_to_refresh() {
                    Some(view) => Msg::Kernel(sockscope_core::kernel::refresh(view)),
                    None => continue,
                }
            }
            _ = sigint.recv() => return Ok(Outcome::Signal(libc::SIGINT)),
            _ = sigterm.recv() => return Ok(Outcome::Signal(libc::SIGTERM)),
            _ = sighup.recv() => return Ok(Outcome::Signal(libc::SIGHUP)),
        };
        let from_engine = matches!(msg, Msg::Engine(_));
        let effect = app::update(&mut app, msg);
        // A capture that fails mid-run is said on screen; the lesson goes on
        // with expected arrows.
        if from_engine {
            let status = engine.wire().status();
            if status != app.capture {
                app.set_capture(status);
            }
        }
        match effect {
            Effect::None => {}
            Effect::Step => engine.step(),
            Effect::Pace(p) => engine.set_pace(p),
            Effect::Restart(lesson) => {
                // Dropping the old engine closes every socket it opened.
                engine = Engine::start(*lesson, config(&app));
                app.set_capture(engine.wire().status());
                engine_open = true;
            }
            Effect::SavePcap => app.notice = Some(save_pcap(&engine.wire(), &app.lesson.name)),
            Effect::ExplainPort(port) => {
                // A real bind on 127.0.0.1, released within microseconds. It
                // runs here, on the loop's only thread, so it never races a
                // lesson's own bind: the engine's actors wait meanwhile.
                let report = sockscope_core::ports::explain(port);
                app::update(&mut app, Msg::Port(Box::new(report)));
            }
            Effect::Handout(lesson, msgs) => {
                // Written where the presenter started sockscope; the notice
                // says where, or why not.
                let dir = std::env::current_dir().unwrap_or_else(|_| ".".into());
                let notice = match sockscope_report::handout::save(&dir, &lesson, &msgs) {
                    Ok(path) => format!("Handout written: {}", path.display()),
                    Err(e) => format!("No handout written in {}: {e}", dir.display()),
                };
                app::update(&mut app, Msg::Notice(notice));
            }
            Effect::Quit => return Ok(Outcome::Quit),
        }
    }
}

/// `w`: write the run's captured packets to a new pcap file in the current
/// directory, and say where (or why not) on the notice line.
fn save_pcap(wire: &sockscope_core::wire::Wire, lesson: &str) -> String {
    if let Some(why) = wire.status().notice() {
        return format!("No pcap written: {why}");
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Never overwrite: a second save in the same second gets a suffix. The
    // name is taken and the file made in one step (create_new), as handouts
    // are, so two saves cannot race onto one name.
    let made = sockscope_report::handout::create_new_file(std::path::Path::new("."), |n| {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{}", n - 1)
        };
        format!("sockscope-{lesson}-{secs}{suffix}.pcap")
    });
    let (file, path) = match made {
        Ok(made) => made,
        Err(e) => return format!("Could not write a pcap here: {e}"),
    };
    let path = path
        .strip_prefix(".")
        .map(std::path::Path::to_path_buf)
        .unwrap_or(path);
    match wire.write_pcap_to(file) {
        Ok(n) => format!(
            "Wrote {n} packets to {} (open it with tcpdump -r or Wireshark)",
            path.display()
        ),
        Err(e) => format!("Could not write {}: {e}", path.display()),
    }
}
