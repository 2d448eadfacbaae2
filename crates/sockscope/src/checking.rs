//! `sockscope check ROLE -- CMD`: a student's program run in one role of a
//! socket exchange (a TCP server, a TCP client, a UDP receiver or sender),
//! sockscope playing the other side, and each of the role's claims graded
//! from the calls the program really made.
//!
//! The program is traced as `run --headless` traces it, freely (no call is
//! held). The other side starts when the program is ready for it, as the
//! program's own calls say: clients connect once its listen has returned,
//! to the address it listens on; a datagram goes out once its bind has
//! returned. For a client or a sender, sockscope's server (or receiver) is
//! bound first, and its port given to the program: `{port}` in the command
//! line becomes it, and SOCKSCOPE_PORT holds it. When the other side is
//! done, the program gets a moment to finish, then SIGTERM, then SIGKILL.

use crate::output::{self, say};
use crate::running::{ProgramOutput, SEPARATOR, stdio_for};
use sockscope_core::check::{self, Peer, Role, Verdict, Why, peer};
use sockscope_core::event::Event;
use sockscope_core::tracer::{self, End, Polled, RunMsg, Session};
use sockscope_core::vocab::{Call, Proto, preview};
use sockscope_report::headless::{Format, call_as_run};
use std::ffi::OsString;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// After the other side is done: how long the program has to finish its
/// own calls (close its sockets, exit) before it is told to stop.
const GRACE: Duration = Duration::from_millis(500);
/// After SIGTERM, how long before SIGKILL.
const TERM_WAIT: Duration = Duration::from_secs(2);
/// How long the program has to get ready (to listen, to bind) before the
/// check gives up on it.
const READY_WAIT: Duration = Duration::from_secs(10);
/// How long an interpreter may take to start before its first call.
const START: Duration = Duration::from_secs(5);

/// The role `name` (a built-in's name, or a role file's path).
fn find_role(name: &str) -> Result<Role, String> {
    let roles = check::builtins();
    if let Some(r) = roles.iter().find(|r| r.name == name) {
        return Ok(r.clone());
    }
    let path = Path::new(name);
    if path.extension().is_some_and(|e| e == "toml") {
        // A role file is read as a lesson file is: regular, UTF-8, capped.
        let text = sockscope_core::textfile::read(path, sockscope_core::textfile::LESSON_MAX)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        return check::parse(&text).map_err(|e| format!("{}: {e}", path.display()));
    }
    Err(format!(
        "no role called `{}`. The roles are: {} (or a role file, ROLE.toml)",
        preview::text(name),
        roles
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// What the other side is, while the check runs.
enum Side {
    /// Waiting for the program to be ready.
    Waiting,
    Playing(JoinHandle<peer::Log>),
    Done(peer::Log, Instant),
}

/// The other side bound before the program starts (a server or a
/// receiver for it to reach), and its address.
enum Bound {
    None,
    Server(peer::Server),
    Receiver(peer::Receiver),
}

/// How the program's first task ended, in words, and whether sockscope
/// stopped it.
struct Ending {
    text: String,
    stopped_by_us: bool,
}

/// `sockscope check ROLE -- CMD`.
pub fn check(
    role: &str,
    command: &[OsString],
    format: Format,
    port: u16,
    program_output: Option<PathBuf>,
) -> ExitCode {
    let role = match find_role(role) {
        Ok(r) => r,
        Err(e) => {
            say(e);
            return ExitCode::from(2);
        }
    };
    if command.iter().any(|w| w == SEPARATOR) {
        say("check runs one program: the role's other side is sockscope's");
        return ExitCode::from(2);
    }
    if format == Format::Markdown {
        say("check prints --format text or --format json");
        return ExitCode::from(2);
    }
    let (bound, peer_addr) = match bind_peer(&role, port) {
        Ok(b) => b,
        Err(e) => {
            say(format!("cannot set up sockscope's side of the check: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let given = peer_addr.map_or(port, |a| a.port());
    let argv: Vec<OsString> = command
        .iter()
        .map(|w| {
            let s = w.to_string_lossy();
            if s.contains("{port}") {
                OsString::from(s.replace("{port}", &given.to_string()))
            } else {
                w.clone()
            }
        })
        .collect();
    let programs = vec![argv];
    let where_to = program_output.map_or(ProgramOutput::Null, ProgramOutput::File);
    let mut stdio = match stdio_for(&programs, &where_to) {
        Ok(s) => s,
        Err(e) => {
            say(format!("cannot open the program output file: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let port_env = given.to_string();
    let set_stdio: tracer::SetStdio = Box::new(move |i, cmd| {
        cmd.env("SOCKSCOPE_PORT", &port_env);
        stdio(i, cmd);
    });
    let options = tracer::Options {
        kernel: false,
        step: false,
        capture: false,
    };
    let mut session = match Session::start(programs.clone(), options, set_stdio) {
        Ok(s) => s,
        Err(e) => {
            say(e.to_string());
            return ExitCode::FAILURE;
        }
    };
    let (events, peer_log, ending) = match drive(&mut session, &role, bound) {
        Ok(r) => r,
        Err(e) => {
            session.kill_all();
            say(e.to_string());
            return ExitCode::FAILURE;
        }
    };
    let verdicts = check::evaluate(&role, &events, peer_addr);
    let shown = tracer::program_argv(&programs[0]);
    let report = Report {
        role: &role,
        command: &shown,
        events: &events,
        verdicts: &verdicts,
        peer: &peer_log,
        ending: &ending,
    };
    let passed = verdicts.iter().all(Verdict::holds);
    let written = output::write_with(ExitCode::SUCCESS, |out| match format {
        Format::Json => report.json(out),
        _ => report.text(out),
    });
    if written != ExitCode::SUCCESS {
        return written;
    }
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Bind sockscope's server or receiver before the program starts, for a
/// role whose program must reach it.
fn bind_peer(role: &Role, port: u16) -> std::io::Result<(Bound, Option<SocketAddr>)> {
    Ok(match role.peer {
        Peer::Server => {
            let s = peer::Server::bind(port)?;
            let a = s.addr()?;
            (Bound::Server(s), Some(a))
        }
        Peer::Receiver => {
            let r = peer::Receiver::bind(port)?;
            let a = r.addr()?;
            (Bound::Receiver(r), Some(a))
        }
        Peer::Clients | Peer::Sender => (Bound::None, None),
    })
}

/// Trace the program to its end while the other side plays: the events,
/// what the other side saw, and how the program ended.
fn drive(
    session: &mut Session,
    role: &Role,
    bound: Bound,
) -> Result<(Vec<Event>, peer::Log, Ending), tracer::RunError> {
    let started = Instant::now();
    let mut side = match bound {
        Bound::Server(s) => {
            let answer = role.answer.clone().unwrap_or_default();
            Side::Playing(std::thread::spawn(move || s.serve_once(&answer, START)))
        }
        Bound::Receiver(r) => Side::Playing(std::thread::spawn(move || r.receive_once(START))),
        Bound::None => Side::Waiting,
    };
    let leader = session.pids().first().copied();
    let mut events = Vec::new();
    let mut ending = Ending {
        text: "was still running".into(),
        stopped_by_us: false,
    };
    let mut termed: Option<Instant> = None;
    let mut killed = false;
    loop {
        match session.try_next_msg()? {
            Polled::Over => break,
            Polled::Nothing => std::thread::sleep(Duration::from_millis(2)),
            Polled::Msg(RunMsg::Event(ev) | RunMsg::Unfinished(ev)) => {
                if matches!(side, Side::Waiting)
                    && let Some(at) = ready_at(role.peer, &ev.event)
                {
                    let (kind, n) = (role.peer, role.clients.unwrap_or(1));
                    let message = role.message.clone().unwrap_or_default();
                    side = Side::Playing(std::thread::spawn(move || match kind {
                        Peer::Clients => peer::clients(at, n, &message),
                        _ => peer::send_datagram(at, &message),
                    }));
                }
                events.push(ev.event);
            }
            Polled::Msg(RunMsg::Ended { tid, end, .. }) if Some(tid) == leader => {
                ending.text = end.text();
                // Killed by a signal after sockscope sent SIGTERM (or,
                // two seconds on, SIGKILL): sockscope stopped it.
                ending.stopped_by_us = termed.is_some() && matches!(end, End::Signal(_));
            }
            Polled::Msg(_) => {}
        }
        if let Side::Playing(h) = &side
            && h.is_finished()
        {
            let Side::Playing(h) = std::mem::replace(&mut side, Side::Waiting) else {
                unreachable!("matched above")
            };
            let log = h
                .join()
                .unwrap_or_else(|_| vec!["the other side failed".into()]);
            side = Side::Done(log, Instant::now());
        }
        // Time to stop the program: the other side is done and the grace
        // has passed, or the program never got ready.
        let due = match &side {
            Side::Done(_, at) => at.elapsed() >= GRACE,
            Side::Waiting => started.elapsed() >= READY_WAIT,
            Side::Playing(_) => false,
        };
        if due && termed.is_none() {
            session.terminate_all();
            termed = Some(Instant::now());
        }
        if termed.is_some_and(|t| t.elapsed() >= TERM_WAIT) && !killed {
            session.kill_all();
            killed = true;
        }
    }
    let log = match side {
        Side::Done(log, _) => log,
        Side::Playing(h) => h.join().unwrap_or_default(),
        Side::Waiting => vec![match role.peer {
            Peer::Clients => "clients: never started: the program did not listen".to_string(),
            _ => "sender: never sent: the program did not bind a UDP socket".to_string(),
        }],
    };
    Ok((events, log, ending))
}

/// Where the other side starts, once `e` shows the program ready: its
/// listen returned (clients connect), or its UDP bind did (a datagram).
fn ready_at(peer: Peer, e: &Event) -> Option<SocketAddr> {
    let ready = match peer {
        Peer::Clients => e.call == Call::Listen && e.proto == Proto::Tcp,
        Peer::Sender => e.call == Call::Bind && e.proto == Proto::Udp,
        Peer::Server | Peer::Receiver => false,
    };
    if !ready || !e.ok() {
        return None;
    }
    e.local
        .as_deref()
        .and_then(|l| l.parse().ok())
        .map(peer::reachable)
}

/// The graded check, to print.
struct Report<'a> {
    role: &'a Role,
    command: &'a str,
    events: &'a [Event],
    verdicts: &'a [Verdict],
    peer: &'a [String],
    ending: &'a Ending,
}

impl Report<'_> {
    /// The evidence for one claim, in a sentence.
    fn evidence(&self, claim: usize) -> String {
        let v = &self.verdicts[claim];
        let c = &self.role.claims[claim];
        let call = |i: usize| call_as_run(&self.events[i]);
        let calls = || {
            v.calls
                .iter()
                .map(|&i| call(i))
                .collect::<Vec<_>>()
                .join("; ")
        };
        match &v.why {
            None => calls(),
            Some(Why::Failed(i)) => {
                let e = &self.events[*i];
                let explain = e.explain.as_deref().unwrap_or_default();
                format!("{} {explain}", call(*i)).trim_end().to_string()
            }
            Some(Why::Short { got, want }) => {
                let read = calls();
                let read = if read.is_empty() {
                    "nothing".into()
                } else {
                    read
                };
                format!("{got} of {want} bytes moved: {read}")
            }
            Some(Why::Elsewhere(i)) => format!("{} is not sockscope's address", call(*i)),
            Some(Why::Instead(Some(i))) => {
                let e = &self.events[*i];
                let explain = if e.ok() {
                    String::new()
                } else {
                    format!(" ({})", e.explain.as_deref().unwrap_or_default())
                };
                format!(
                    "{} was never called{}; the program called {} instead{explain}",
                    c.call,
                    if c.on.is_some() {
                        " on that socket"
                    } else {
                        ""
                    },
                    call(*i)
                )
            }
            Some(Why::Instead(None)) => format!(
                "{} was never called{}; the program {} before it",
                c.call,
                if c.on.is_some() {
                    " on that socket"
                } else {
                    ""
                },
                self.ended_how()
            ),
            Some(Why::Unnamed(n)) => {
                format!("not checked: it is on `{n}`, which a claim above did not find")
            }
        }
    }

    /// How the program ended, to follow "the program": `exited with
    /// status 0`, `was killed by signal 15 (sockscope stopped it once its
    /// side was done)`.
    fn ended_how(&self) -> String {
        let text = &self.ending.text;
        let was = if text.starts_with("killed") {
            "was "
        } else {
            ""
        };
        if self.ending.stopped_by_us {
            format!("{was}{text} (sockscope stopped it once its side was done)")
        } else {
            format!("{was}{text}")
        }
    }

    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let g = |holds: bool| if holds { "✓" } else { "✗" };
        writeln!(
            out,
            "sockscope check {} -- {}",
            self.role.name,
            preview::text(self.command)
        )?;
        writeln!(out, "{}", self.role.summary)?;
        // The claim, then the call that shows it on a line of its own: an
        // evidence line can be long (a whole call with its data), and a
        // terminal of any width reads it whole.
        for (i, (c, v)) in self.role.claims.iter().zip(self.verdicts).enumerate() {
            writeln!(out, "  {} {}", g(v.holds()), c.say)?;
            writeln!(out, "      {}", preview::text(&self.evidence(i)))?;
        }
        writeln!(out, "sockscope, as the other side:")?;
        for line in self.peer {
            writeln!(out, "  {line}")?;
        }
        writeln!(out, "the program {}", self.ended_how())?;
        let held = self.verdicts.iter().filter(|v| v.holds()).count();
        writeln!(
            out,
            "{held} of {} claims hold{}",
            self.verdicts.len(),
            if held == self.verdicts.len() {
                ""
            } else {
                ": the first ✗ is the one to fix"
            }
        )
    }

    fn json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let claims: Vec<serde_json::Value> = self
            .role
            .claims
            .iter()
            .zip(self.verdicts)
            .enumerate()
            .map(|(i, (c, v))| {
                serde_json::json!({
                    "say": c.say,
                    "holds": v.holds(),
                    "calls": v.calls.iter().map(|&i| call_as_run(&self.events[i])).collect::<Vec<_>>(),
                    "seq": v.calls.iter().map(|&i| self.events[i].seq).collect::<Vec<_>>(),
                    "evidence": self.evidence(i),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "role": self.role.name,
            "command": self.command,
            "claims": claims,
            "peer": self.peer,
            "program": self.ended_how(),
            "passed": self.verdicts.iter().all(Verdict::holds),
        });
        serde_json::to_writer(&mut *out, &doc)?;
        writeln!(out)
    }
}
