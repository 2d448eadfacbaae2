//! The run screen in the shell: [`RunView`] as a [`Screen`], and the
//! [`RunDriver`] that talks to the thread tracing the student's programs.
//!
//! ptrace has one rule that shapes this: every request about a tracee must
//! come from the thread that traces it. So one thread of its own starts
//! the programs ([`Session::start`]) and does all the tracing; the screen
//! talks to it through two channels: the tracer's reports (and the
//! programs' output lines) come in as [`RunFeed`]s, and the releases go out
//! as [`Cmd`]s. That thread cannot sleep in `waitpid` alone: when every
//! task is held, nothing would ever wake it, and Space must. It takes what
//! the tracer has without waiting ([`Session::try_next_msg`]), then waits
//! on the command channel for a moment that doubles while nothing happens
//! (1 ms up to 16 ms), so a busy program is traced at full speed and an
//! idle one costs a few dozen wakeups a second.

use crate::Options;
use crate::keys::{KeyMap, ScreenKind};
use crate::run::{RunEffect, RunFeed, RunView, WCHAN_REFRESH};
use crate::shell::run::{self, Driver, Outcome};
use crate::shell::term::{self, TerminalGuard};
use crate::shell::{Effect, Handout, Msg, Screen, Shell};
use crate::theme::{Glyphs, Theme, Themes};
use ratatui::Frame;
use ratatui::layout::Rect;
use sockscope_core::tracer::{self, Polled, RunError, Session};
use sockscope_core::wire::CaptureStatus;
use std::ffi::OsString;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::mpsc as feed;

impl Screen for RunView {
    const KIND: ScreenKind = ScreenKind::Run;
    const MIN_SIZE: (u16, u16) = (60, 16);
    // "Handout written" and "no call is held" are read by the next key.
    const NOTICE_UNTIL_KEY: bool = true;
    const MOUSE: bool = true;
    type Feed = RunFeed;
    type Effect = RunEffect;

    fn update(&mut self, msg: Msg<RunFeed>) -> Effect<RunEffect> {
        RunView::update(self, msg)
    }

    fn every(&self) -> Option<(Duration, RunEffect)> {
        if self.autoplay && !self.over {
            Some((self.beat(), RunEffect::Beat))
        } else if !self.in_kernel.is_empty() {
            Some((WCHAN_REFRESH, RunEffect::ReadWchan))
        } else {
            None
        }
    }

    fn render(frame: &mut Frame, area: Rect, shell: &Shell<RunView>, theme: &Theme) {
        crate::ui::run::render(frame, area, shell, theme);
    }

    fn keys(&self) -> &KeyMap {
        &self.keys
    }

    fn notice(&mut self) -> &mut Option<String> {
        &mut self.notice
    }

    fn legend(&self, g: &Glyphs) -> Vec<(String, String)> {
        vec![
            (
                g.marker.to_string(),
                "held by sockscope before the call: the kernel has not seen it".to_string(),
            ),
            (
                g.waiting.to_string(),
                "let run, not returned: the call is in the kernel (where it sleeps, if it does)"
                    .to_string(),
            ),
        ]
    }

    fn handout(&self) -> Handout {
        Handout {
            stem: "run".into(),
            markdown: RunView::handout(self),
        }
    }

    /// A click on a row of the lanes reviews it, as ↑ and ↓ do; the wheel
    /// moves the review up and down.
    fn mouse(&mut self, m: crossterm::event::MouseEvent, size: (u16, u16)) -> Effect<RunEffect> {
        use crossterm::event::{KeyCode, KeyEvent, MouseButton, MouseEventKind};
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(at) = crate::ui::run::row_at(self, size, m.column, m.row) {
                    self.review = Some(at);
                    self.autoplay = false;
                }
                Effect::None
            }
            MouseEventKind::ScrollUp => self.update(Msg::Key(KeyEvent::from(KeyCode::Up))),
            MouseEventKind::ScrollDown => self.update(Msg::Key(KeyEvent::from(KeyCode::Down))),
            _ => Effect::None,
        }
    }

    fn key_at(
        &self,
        size: (u16, u16),
        column: u16,
        row: u16,
    ) -> Option<crossterm::event::KeyEvent> {
        (row + 1 == size.1)
            .then(|| crate::ui::run::key_at(self, size.0, column))
            .flatten()
    }
}

/// What the screen asks of the tracing thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// Let this task's held call run.
    Release(i32),
}

/// The tracing thread, as the run screen's source.
pub struct RunDriver {
    feed: feed::UnboundedReceiver<RunFeed>,
    cmds: mpsc::Sender<Cmd>,
}

impl Driver<RunView> for RunDriver {
    async fn next(&mut self) -> RunFeed {
        match self.feed.recv().await {
            Some(f) => f,
            // The thread has ended (after its `Over`): the screen stays.
            None => std::future::pending().await,
        }
    }

    fn try_next(&mut self) -> Option<RunFeed> {
        self.feed.try_recv().ok()
    }

    fn perform(&mut self, effect: RunEffect, screen: &RunView) -> Option<Msg<RunFeed>> {
        let asleep = || {
            screen
                .in_kernel
                .iter()
                .map(|k| {
                    let w = tracer::asleep_in(k.call.pid, k.call.tid).unwrap_or_default();
                    (k.call.tid, w)
                })
                .collect()
        };
        match effect {
            RunEffect::Release(tid) => {
                // The thread is gone only once every program has ended:
                // then there is nothing left to release.
                let _ = self.cmds.send(Cmd::Release(tid));
                None
            }
            RunEffect::ReadWchan => Some(Msg::Feed(RunFeed::Asleep(asleep()))),
            RunEffect::Beat => Some(Msg::Feed(RunFeed::Beat(asleep()))),
        }
    }
}

/// The shortest and longest wait for a command while the tracer has
/// nothing to report.
const IDLE_MIN: Duration = Duration::from_millis(1);
const IDLE_MAX: Duration = Duration::from_millis(16);

/// Start the programs in a tracing thread of their own; `Err` is why they
/// could not start (said before the screen opens).
pub fn start(
    programs: Vec<Vec<OsString>>,
    options: tracer::Options,
) -> Result<(RunDriver, CaptureStatus, std::thread::JoinHandle<()>), String> {
    let (feed_tx, feed_rx) = feed::unbounded_channel();
    let (cmd_tx, cmd_rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    let thread = std::thread::Builder::new()
        .name("tracer".into())
        .spawn(move || trace(programs, options, &feed_tx, &cmd_rx, &ready_tx))
        .map_err(|e| format!("cannot start the tracing thread: {e}"))?;
    match ready_rx.recv() {
        Ok(Ok(capture)) => Ok((
            RunDriver {
                feed: feed_rx,
                cmds: cmd_tx,
            },
            capture,
            thread,
        )),
        Ok(Err(why)) => {
            let _ = thread.join();
            Err(why)
        }
        Err(_) => Err("the tracing thread ended before the programs started".into()),
    }
}

/// Each program's stdout and stderr, a line at a time, as
/// [`RunFeed::Output`]: never the terminal, which the screen owns.
fn output_to_screen(
    programs: &[Vec<OsString>],
    out: &feed::UnboundedSender<RunFeed>,
) -> tracer::SetStdio {
    let out = out.clone();
    tracer::output_lines(programs, move |program, line| {
        let _ = out.send(RunFeed::Output {
            program: program.to_string(),
            line,
        });
    })
}

/// The tracing thread: start the programs, then report and release until
/// every program has ended. When the screen goes (the command channel
/// closes), every program is killed and reaped before the thread ends, so
/// none is left stopped or traced.
fn trace(
    programs: Vec<Vec<OsString>>,
    options: tracer::Options,
    out: &feed::UnboundedSender<RunFeed>,
    cmds: &mpsc::Receiver<Cmd>,
    ready: &mpsc::SyncSender<Result<CaptureStatus, String>>,
) {
    let stdio = output_to_screen(&programs, out);
    let mut session = match Session::start(programs, options, stdio) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let _ = ready.send(Ok(session.wire().status()));
    let mut idle = IDLE_MIN;
    // The screen has gone (or its feed has): the programs were killed and
    // are reaped by the next polls.
    let mut ending = false;
    loop {
        let polled = match session.try_next_msg() {
            Ok(p) => p,
            Err(e) => return fail(&mut session, out, &e),
        };
        let wait = match polled {
            Polled::Over => {
                let _ = out.send(RunFeed::Over);
                return;
            }
            Polled::Msg(m) => {
                idle = IDLE_MIN;
                if out.send(RunFeed::Run(m)).is_err() {
                    end(&mut session, &mut ending);
                }
                Duration::ZERO
            }
            // Killed tasks take a moment to be reaped.
            Polled::Nothing if ending => {
                std::thread::sleep(IDLE_MIN);
                Duration::ZERO
            }
            Polled::Nothing => {
                let wait = idle;
                idle = (idle * 2).min(IDLE_MAX);
                wait
            }
        };
        // A release is what the person is waiting for: taken at once after
        // each report, and waited for a moment when there is none.
        match cmds.recv_timeout(wait) {
            Ok(Cmd::Release(tid)) => {
                idle = IDLE_MIN;
                if let Err(e) = session.release(tid) {
                    return fail(&mut session, out, &e);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => end(&mut session, &mut ending),
        }
    }
}

/// The screen is gone: kill the programs, once.
fn end(session: &mut Session, ending: &mut bool) {
    if !*ending {
        session.kill_all();
        *ending = true;
    }
}

/// The tracer failed: kill the programs and say why.
fn fail(session: &mut Session, out: &feed::UnboundedSender<RunFeed>, e: &RunError) {
    session.kill_all();
    let _ = out.send(RunFeed::Failed(e.to_string()));
}

/// How `sockscope run` on the screen ended.
pub struct RunEnd {
    pub outcome: Outcome,
    /// The programs that were still running when the screen closed, and
    /// that sockscope therefore killed: `(pid, command line)`.
    pub killed: Vec<(i32, String)>,
}

/// `sockscope run -- PROG [::: PROG2]` with a screen: the programs start
/// under the tracer, each socket call held before it runs until Space (or
/// autoplay) lets it. Quitting kills the programs that are still running;
/// the tracing thread reaps them before this returns.
pub fn run_programs(
    programs: Vec<Vec<OsString>>,
    kernel: bool,
    capture: bool,
    options: Options,
) -> color_eyre::Result<RunEnd> {
    term::check_terminal()?;
    let shown: Vec<String> = programs.iter().map(|p| tracer::program_argv(p)).collect();
    let traced = tracer::Options {
        kernel,
        step: true,
        capture,
    };
    let (mut driver, capture, thread) =
        start(programs, traced).map_err(|e| color_eyre::eyre::eyre!(e))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    term::install_panic_hook();
    let themes = Themes::from_env(options.theme, &options.colors, options.ascii);
    let mut view = RunView::new(shown, options.network);
    view.capture = capture;
    view.keys = options.keys.clone();
    let mut shell = Shell::new(view, themes);
    shell.present = options.present;
    let mut guard = TerminalGuard::enter(options.mouse)?;
    let outcome = runtime.block_on(run::run(&mut guard, &mut shell, &mut driver));
    drop(guard);
    let killed = shell.screen.still_running();
    // Closing the command channel tells the thread to kill and reap.
    drop(driver);
    let _ = thread.join();
    outcome.map(|outcome| RunEnd { outcome, killed })
}
