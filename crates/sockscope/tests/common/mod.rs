//! Helpers shared by the integration tests: run lessons, read the kernel's
//! own view (/proc) to compare with what sockscope reports.
#![allow(dead_code)]

use sockscope_core::engine::{self, Engine, EngineConfig, EngineMsg, Event, Pace};
use sockscope_core::lesson;
use std::net::SocketAddr;

/// One whole-lesson run at a time in this test process. Tests run side by
/// side on the machine's one loopback, and a lesson that closes a port and
/// connects to it again (refused, tcp) or binds it again (restart) must not
/// find it taken meanwhile by another test's lesson binding port 0, nor a
/// capture count another run's packets as its own.
pub fn one_run_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static RUNS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A test that failed while running a lesson leaves the lock poisoned;
    // the next run is still fine (the lock guards no data).
    RUNS.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Run a built-in lesson to the end, in-process.
pub fn run(name: &str) -> Vec<EngineMsg> {
    let _alone = one_run_at_a_time();
    let lesson = lesson::builtin(name).unwrap_or_else(|| panic!("no lesson {name}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let msgs = rt.block_on(engine::run_to_end(lesson, 0));
    assert!(
        matches!(msgs.last(), Some(EngineMsg::Finished)),
        "lesson {name} did not finish: {:?}",
        msgs.last()
    );
    msgs
}

pub fn events(msgs: &[EngineMsg]) -> Vec<Event> {
    engine::events(msgs).into_iter().cloned().collect()
}

pub fn addr(s: Option<&String>) -> SocketAddr {
    s.expect("address missing").parse().unwrap()
}

/// This machine's ephemeral port range.
pub fn ephemeral_range() -> (u16, u16) {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let mut it = text.split_whitespace().map(|n| n.parse::<u16>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

/// The events of one actor, in order.
pub fn of<'a>(events: &'a [Event], actor: &str) -> Vec<&'a Event> {
    events.iter().filter(|e| e.actor == actor).collect()
}

pub fn calls(events: &[&Event]) -> Vec<String> {
    events.iter().map(|e| e.call.to_string()).collect()
}

/// The binary under test: this build's, or the one named by
/// `SOCKSCOPE_TEST_BIN` (to show that a test fails against another build,
/// such as main's).
pub fn bin_path() -> std::path::PathBuf {
    std::env::var_os("SOCKSCOPE_TEST_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_sockscope").into(), Into::into)
}

pub fn bin() -> std::process::Command {
    std::process::Command::new(bin_path())
}

/// A running `sockscope serve --headless ARGS` (stdin closed, stdout and
/// stderr piped), read up to the connect command it prints on stderr.
pub struct Started {
    pub child: std::process::Child,
    /// The port in its `nc HOST PORT` line.
    pub port: u16,
    /// Its stderr: keep it open or drain it, since a closed pipe would make
    /// the child's next line fail.
    pub err: std::io::BufReader<std::process::ChildStderr>,
    /// What stderr said up to and with the connect command.
    pub stderr: String,
}

pub fn serve_headless(args: &[&str]) -> Started {
    use std::io::BufRead;
    use std::process::Stdio;
    let mut child = bin()
        .args(["serve", "--headless"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut stderr = String::new();
    let port = loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() != 0,
            "serve ended before it printed a connect command:\n{stderr}"
        );
        stderr.push_str(&line);
        if let Some(rest) = line.trim().strip_prefix("nc ") {
            break rest.rsplit(' ').next().unwrap().parse().unwrap();
        }
    };
    Started {
        child,
        port,
        err,
        stderr,
    }
}

/// What a run of the binary printed as JSON Lines (`--format json`, `serve
/// --headless`): one value a line.
pub fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    std::str::from_utf8(&out.stdout)
        .expect("stdout is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The JSON lines of calls that returned: without the `waiting` lines (a
/// call that started to wait, `seq` 0), whose own line follows.
pub fn event_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    json_lines(out)
        .into_iter()
        .filter(|v| v["result"] != "waiting")
        .collect()
}

/// Run a built-in lesson in-process with capture on. `None` (after saying
/// why) when this process may not capture: CI runs as root, so there it
/// always runs.
pub fn run_captured(name: &str) -> Option<(Vec<Event>, sockscope_core::wire::Wire)> {
    use sockscope_core::wire::CaptureStatus;
    let _alone = one_run_at_a_time();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (msgs, wire) = rt.block_on(engine::run_to_end_with(
        lesson::builtin(name).unwrap(),
        engine::EngineConfig::default(),
    ));
    assert!(
        matches!(msgs.last(), Some(EngineMsg::Finished)),
        "lesson {name} did not finish: {:?}",
        msgs.last()
    );
    match wire.status() {
        CaptureStatus::Running => Some((events(&msgs), wire)),
        CaptureStatus::Unprivileged => {
            sockscope_core::testing::skip(
                "this test process may not capture (no CAP_NET_RAW); CI runs as root",
            );
            None
        }
        other => panic!("capture should run as root, got {other:?}"),
    }
}

/// An engine stepped by hand, one Step command per lesson step, that knows
/// which step it last released: a step can report more than one message (a
/// parked call of the same actor finishes before the actor's next call
/// runs), so "the step's own message" is told by its step number, not by
/// counting messages.
pub struct Hand {
    engine: Engine,
    released: usize,
    // Held as long as the engine lives: see `one_run_at_a_time`.
    #[allow(dead_code)]
    turn: std::sync::MutexGuard<'static, ()>,
}

impl Hand {
    /// `engine`, after `released` Step commands already sent to it. Waits
    /// for any other lesson run of this test process to end first.
    pub fn new(engine: Engine, released: usize) -> Hand {
        let turn = one_run_at_a_time();
        Hand {
            engine,
            released,
            turn,
        }
    }

    /// Release the next step and return every message up to and including
    /// that step's own (its event, or its `Waiting` when the call waits).
    pub async fn step_msgs(&mut self) -> Vec<EngineMsg> {
        self.engine.step();
        self.released += 1;
        let own = self.released;
        let mut msgs = Vec::new();
        loop {
            // Bounded: a call on loopback returns in microseconds; this only
            // keeps a broken lesson from hanging the test run.
            let msg = tokio::time::timeout(std::time::Duration::from_secs(10), self.engine.next())
                .await
                .expect("the engine answered")
                .expect("the engine is running");
            let step = match &msg {
                EngineMsg::Event(e) => e.step,
                EngineMsg::Waiting(w) => w.step,
                other => panic!("step {own}: unexpected {other:?}"),
            };
            msgs.push(msg);
            if step == own {
                return msgs;
            }
        }
    }
}

impl std::ops::Deref for Hand {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl std::ops::DerefMut for Hand {
    fn deref_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }
}

/// Step a built-in lesson by hand until it has produced `n` events (a
/// waiting call is not an event); return them. The engine, still holding
/// its sockets, is returned too, so the test can ask the kernel about them
/// between steps (the fds are this process's).
pub async fn step_by_hand(name: &str, n: usize) -> (Hand, Vec<Event>) {
    let engine = Engine::start(
        lesson::builtin(name).unwrap_or_else(|| panic!("no lesson {name}")),
        EngineConfig {
            port: 0,
            pace: Pace::Manual,
            capture: false,
        },
    );
    let mut hand = Hand::new(engine, 0);
    let mut out = Vec::new();
    while out.len() < n {
        step_once(&mut hand, &mut out).await;
    }
    (hand, out)
}

/// One more step of a hand-stepped engine: run it, and collect the events
/// it produced (a parked call's, finished first, and the step's own).
pub async fn step_once(hand: &mut Hand, out: &mut Vec<Event>) {
    for msg in hand.step_msgs().await {
        if let EngineMsg::Event(e) = msg {
            out.push(*e);
        }
    }
}

/// The lesson screen, in the shell the TUI runs it in, after it received
/// `msgs` from a run of the built-in lesson `name`, with every arrow arrived
/// (no animation in flight).
pub fn app_after(
    name: &str,
    msgs: Vec<EngineMsg>,
) -> sockscope_tui::shell::Shell<sockscope_tui::app::App> {
    use sockscope_tui::app::{App, Feed};
    use sockscope_tui::shell::{Msg, Shell};
    use sockscope_tui::theme::{Theme, ThemeColors, ThemeName, Themes};
    let app = App::new(
        lesson::builtin(name).unwrap_or_else(|| panic!("no lesson {name}")),
        lesson::builtins(),
        sockscope_core::ports::machine::Machine::read(),
    );
    let theme = Theme::new(&ThemeColors::builtin(ThemeName::Dark), false, false);
    let mut shell = Shell::new(app, Themes::only(theme));
    for m in msgs {
        shell.update(Msg::Feed(Feed::Engine(m)));
    }
    while shell.animating() {
        shell.update(Msg::Tick);
    }
    shell
}

/// The whole screen the TUI draws for `shell` at 200x50, as text.
pub fn screen(shell: &sockscope_tui::shell::Shell<sockscope_tui::app::App>) -> String {
    use ratatui::{Terminal, backend::TestBackend};
    let mut t = Terminal::new(TestBackend::new(200, 50)).unwrap();
    t.draw(|f| shell.draw(f)).unwrap();
    format!("{}", t.backend())
}

/// One call of an `strace -f` log: the thread that made it, and its text
/// with an `<unfinished ...>` start and its `<... resumed>` end joined.
#[derive(Debug)]
pub struct StraceLine {
    pub tid: String,
    pub text: String,
    /// The call was printed in two halves: another thread's call came in
    /// between, so it was still in the kernel then.
    pub blocked: bool,
}

/// Read an `strace -f` log (each line `TID text`) into its calls, each
/// call whole. A resumed half whose start is not in the log is dropped.
pub fn strace_lines(log: &str) -> Vec<StraceLine> {
    let mut open: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut lines = Vec::new();
    for raw in log.lines() {
        let Some((tid, rest)) = raw.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            open.insert(tid.to_string(), head.to_string());
            continue;
        }
        if rest.starts_with("<... ") {
            let tail = rest.split_once("resumed>").map_or("", |(_, t)| t);
            if let Some(head) = open.remove(tid) {
                lines.push(StraceLine {
                    tid: tid.to_string(),
                    text: format!("{head}{tail}"),
                    blocked: true,
                });
            }
            continue;
        }
        lines.push(StraceLine {
            tid: tid.to_string(),
            text: rest.to_string(),
            blocked: false,
        });
    }
    lines
}

/// Split strace's arguments at top-level commas: quoted strings (with
/// escapes and a trailing `...`), braces and brackets stay whole.
pub fn strace_args(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut escaped = false;
    for c in args.chars() {
        if in_str {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                cur.push(c);
            }
            '{' | '[' | '(' => {
                depth += 1;
                cur.push(c);
            }
            '}' | ']' | ')' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// One call strace printed, `name(args) = result`, as its name, its
/// arguments (split with [`strace_args`]) and its result (`3`, or `-1
/// EAGAIN`); None for a line that is not a call.
pub fn strace_call(text: &str) -> Option<(String, Vec<String>, String)> {
    let (name, rest) = text.split_once('(')?;
    let at = rest
        .match_indices(" = ")
        .map(|(i, _)| i)
        .filter(|&i| rest[..i].trim_end().ends_with(')'))
        .last()?;
    let args = rest[..at].trim_end().strip_suffix(')')?;
    let mut returned = rest[at + 3..].split_whitespace();
    let value = returned.next()?;
    let result = match value {
        "-1" => format!("-1 {}", returned.next()?),
        v => v.to_string(),
    };
    Some((name.to_string(), strace_args(args), result))
}
