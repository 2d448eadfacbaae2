//! The `sockscope run` screen's state: a student's own programs, stepped a
//! socket call at a time, as a debugger steps lines.
//!
//! The tracer ([`sockscope_core::tracer`], with `Options::step`) stops each
//! program at the entry of every socket call it makes and holds it there:
//! the kernel has not seen the call yet. The screen shows the held call,
//! decoded from the program's memory; Space lets the one held longest run
//! ([`RunEffect::Release`]), and the kernel's answer arrives as an event,
//! as a lesson's step does. A call that must wait (accept with no client)
//! is then in the kernel, and the screen says where the kernel has the
//! thread asleep (`/proc/TID/wchan`, read by the driver every
//! [`WCHAN_REFRESH`]).
//!
//! Every process and thread that makes a socket call gets a lane,
//! `comm[tid]`, in the order they first appear. Like the other screens'
//! state this is plain data changed by one pure function,
//! [`RunView::update`]; the shell's loop does the I/O and
//! `crate::ui::run` draws it.
//!
//! A session can be long (a server that serves for an hour): the screen
//! keeps the last [`ROWS_KEPT`] rows and [`OUTPUT_KEPT`] lines of the
//! programs' output, and counts what it let go.

use crate::keys::{Action, KeyMap};
use crate::shell::{Effect, Msg};
use sockscope_core::event::Event;
use sockscope_core::tracer::{RunEvent, RunMsg};
use sockscope_core::wire::CaptureStatus;
use std::collections::VecDeque;
use std::time::Duration;

/// Rows of calls (and starts and ends) the screen keeps.
pub const ROWS_KEPT: usize = 2000;
/// Lines of the programs' own output the screen keeps.
pub const OUTPUT_KEPT: usize = 200;
/// How often the driver reads where the kernel has a waiting call asleep.
pub const WCHAN_REFRESH: Duration = Duration::from_millis(250);
/// Autoplay's beat at 1×: one held call runs per beat.
pub const AUTOPLAY: Duration = Duration::from_secs(1);
/// Autoplay speeds, slowest first; the speed starts at 1×.
pub const SPEEDS: [f64; 6] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// A process or thread that made a socket call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    pub tid: i32,
    pub pid: i32,
    /// Its name as /proc/TID/comm had it (set by the program: escape it).
    pub comm: String,
    /// How it ended, once it has.
    pub ended: Option<String>,
    /// The script an interpreter runs, when this is a program's first task
    /// started as `python3 server.py`: both programs' comm is `python3`,
    /// so the lane says `server.py` instead.
    pub script: Option<String>,
}

impl Lane {
    /// `comm[tid]` (or `script[tid]`), as the lane's heading.
    #[must_use]
    pub fn name(&self) -> String {
        format!(
            "{}[{}]",
            self.script.as_ref().unwrap_or(&self.comm),
            self.tid
        )
    }
}

/// Interpreters whose programs are scripts: the process is named for the
/// interpreter, the lane for the script.
const INTERPRETERS: &[&str] = &[
    "python", "node", "ruby", "perl", "php", "java", "lua", "bash", "sh", "dash", "zsh",
];

/// The script a command line runs when its first word is an interpreter
/// and the process is still named for it: `server.py` for `python3 -u
/// server.py` seen with comm `python3`. `None` for a program of its own (a
/// C server's comm is its file name already) and for a thread that named
/// itself.
#[must_use]
pub fn script_of(argv: &str, comm: &str) -> Option<String> {
    let mut words = argv.split_whitespace();
    let first = words.next()?;
    let name = first.rsplit('/').next().unwrap_or(first);
    let interpreter = INTERPRETERS.iter().any(|i| {
        name == *i
            || (name.starts_with(i)
                && matches!(*i, "python" | "node" | "ruby" | "perl" | "php" | "lua"))
    });
    // comm is at most 15 bytes of the name.
    if !interpreter || comm.is_empty() || !name.starts_with(comm) {
        return None;
    }
    let script = words.find(|w| !w.starts_with('-'))?;
    Some(script.rsplit('/').next().unwrap_or(script).to_string())
}

/// One row of the session, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// Program `index` started as `pid`.
    Started {
        index: usize,
        pid: i32,
        argv: String,
    },
    /// A call that returned (or never will: its program ended).
    Call(Box<RunEvent>),
    /// A task ended.
    Ended { tid: i32, text: String },
}

/// A call let into the kernel that has not returned yet.
#[derive(Debug, Clone, PartialEq)]
pub struct InKernel {
    pub call: RunEvent,
    /// Where the kernel has the thread asleep (`inet_csk_accept`), as last
    /// read; `None` until read, or while it runs.
    pub wchan: Option<String>,
}

/// What the run screen is fed.
#[derive(Debug, Clone, PartialEq)]
pub enum RunFeed {
    /// The tracer's report.
    Run(RunMsg),
    /// Where the kernel has each waiting call's thread asleep: `(tid,
    /// wchan)`, an empty wchan for a thread that is running.
    Asleep(Vec<(i32, String)>),
    /// A line a program wrote to its stdout or stderr, with its name.
    Output { program: String, line: String },
    /// Autoplay's beat: run the next held call. It carries what
    /// [`RunFeed::Asleep`] would (autoplay's timer is the only one then).
    Beat(Vec<(i32, String)>),
    /// Every program has ended.
    Over,
    /// The tracer failed (lost track of the programs): the sentence.
    Failed(String),
}

/// What the run screen asks its driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEffect {
    /// Let task `tid`'s held call run.
    Release(i32),
    /// Read where the kernel has each waiting call asleep.
    ReadWchan,
    /// Autoplay's timer fired: answer with [`RunFeed::Beat`].
    Beat,
}

/// The run screen.
#[derive(Debug, Clone)]
pub struct RunView {
    /// Each program's command line, in command-line order.
    pub programs: Vec<String>,
    /// Which network the programs run on, for the title bar.
    pub network: Option<&'static str>,
    pub lanes: Vec<Lane>,
    pub rows: VecDeque<Row>,
    /// Rows let go from the front, to keep [`ROWS_KEPT`].
    pub rows_dropped: usize,
    /// Calls held at their entry, oldest first.
    pub held: Vec<RunEvent>,
    /// Calls let run that have not returned.
    pub in_kernel: Vec<InKernel>,
    /// The programs' output, `name | line`, newest last.
    pub output: VecDeque<String>,
    pub output_dropped: usize,
    /// The row in focus while reviewing (an index into `rows`); `None`
    /// follows what happens now.
    pub review: Option<usize>,
    pub autoplay: bool,
    /// Index into [`SPEEDS`].
    pub speed: usize,
    /// Every program has ended.
    pub over: bool,
    /// The tracer failed: why.
    pub failed: Option<String>,
    pub keys: KeyMap,
    pub notice: Option<String>,
    /// Whether the programs' packets are captured, and if not why.
    pub capture: CaptureStatus,
}

impl RunView {
    #[must_use]
    pub fn new(programs: Vec<String>, network: Option<&'static str>) -> RunView {
        RunView {
            programs,
            network,
            lanes: Vec::new(),
            rows: VecDeque::new(),
            rows_dropped: 0,
            held: Vec::new(),
            in_kernel: Vec::new(),
            output: VecDeque::new(),
            output_dropped: 0,
            review: None,
            autoplay: false,
            speed: 2,
            over: false,
            failed: None,
            keys: KeyMap::default(),
            notice: None,
            capture: CaptureStatus::Disabled,
        }
    }

    /// Autoplay's beat at the current speed.
    #[must_use]
    pub fn beat(&self) -> Duration {
        AUTOPLAY.div_f64(SPEEDS[self.speed])
    }

    /// The lane of task `tid`, made when it is new.
    fn lane(&mut self, ev: &RunEvent) -> usize {
        if let Some(i) = self.lanes.iter().position(|l| l.tid == ev.tid) {
            // A thread names itself after its first call (an exported
            // lesson's threads do): the lane takes the newest name.
            self.lanes[i].comm.clone_from(&ev.comm);
            return i;
        }
        let script = self
            .rows
            .iter()
            .find_map(|r| match r {
                Row::Started { pid, argv, .. } if *pid == ev.tid => Some(argv),
                _ => None,
            })
            .and_then(|argv| script_of(argv, &ev.comm));
        self.lanes.push(Lane {
            tid: ev.tid,
            pid: ev.pid,
            comm: ev.comm.clone(),
            ended: None,
            script,
        });
        self.lanes.len() - 1
    }

    /// The lane a task's calls are in, if it has made one.
    #[must_use]
    pub fn lane_of(&self, tid: i32) -> Option<usize> {
        self.lanes.iter().position(|l| l.tid == tid)
    }

    fn push(&mut self, row: Row) {
        if self.rows.len() == ROWS_KEPT {
            self.rows.pop_front();
            self.rows_dropped += 1;
            self.review = self.review.map(|r| r.saturating_sub(1));
        }
        self.rows.push_back(row);
    }

    /// The call in focus: the reviewed row's, or else the call held
    /// longest, or else the newest call that returned.
    #[must_use]
    pub fn focused(&self) -> Option<Focus<'_>> {
        match self.review.and_then(|r| self.rows.get(r)) {
            Some(Row::Call(c)) => return Some(Focus::Done(c)),
            Some(row) => return Some(Focus::Row(row)),
            None => {}
        }
        if self.review.is_none() {
            if let Some(h) = self.held.first() {
                return Some(Focus::Held(h));
            }
            if let Some(k) = self.in_kernel.first() {
                return Some(Focus::InKernel(k));
            }
        }
        self.rows.iter().rev().find_map(|r| match r {
            Row::Call(c) => Some(Focus::Done(c)),
            _ => None,
        })
    }

    /// Let the call held longest run.
    fn release_next(&mut self) -> Effect<RunEffect> {
        if self.held.is_empty() {
            self.notice = Some(if self.over {
                "the programs have ended: nothing left to run".into()
            } else if self.in_kernel.is_empty() {
                "no call is held: the programs are running between socket calls".into()
            } else {
                "no call is held: the programs wait in the kernel".into()
            });
            return Effect::None;
        }
        let call = self.held.remove(0);
        let tid = call.tid;
        self.in_kernel.push(InKernel { call, wchan: None });
        self.notice = None;
        Effect::Screen(RunEffect::Release(tid))
    }

    fn on_msg(&mut self, msg: RunMsg) {
        match msg {
            RunMsg::Started { index, pid, argv } => self.push(Row::Started { index, pid, argv }),
            RunMsg::Calling(ev) => {
                self.lane(&ev);
                self.held.push(*ev);
                // "No call is held" is no longer true.
                self.notice = None;
            }
            RunMsg::Event(ev) | RunMsg::Unfinished(ev) => {
                self.lane(&ev);
                self.in_kernel.retain(|k| k.call.tid != ev.tid);
                self.held.retain(|h| h.tid != ev.tid);
                self.push(Row::Call(ev));
            }
            RunMsg::Ended { tid, end, .. } => {
                let text = end.text();
                if let Some(l) = self.lanes.iter_mut().find(|l| l.tid == tid) {
                    l.ended = Some(text.clone());
                }
                self.held.retain(|h| h.tid != tid);
                self.in_kernel.retain(|k| k.call.tid != tid);
                // A task that never made a socket call has no lane: its
                // end is said only for a program's own first task.
                if self.lane_of(tid).is_some() || self.is_program(tid) {
                    self.push(Row::Ended { tid, text });
                }
            }
        }
    }

    /// Is `pid` the first task of one of the programs?
    fn is_program(&self, pid: i32) -> bool {
        self.rows
            .iter()
            .any(|r| matches!(r, Row::Started { pid: p, .. } if *p == pid))
    }

    /// Apply one message. Pure: no I/O, no clock.
    pub fn update(&mut self, msg: Msg<RunFeed>) -> Effect<RunEffect> {
        match msg {
            Msg::Feed(RunFeed::Run(m)) => self.on_msg(m),
            Msg::Feed(RunFeed::Asleep(list)) => self.asleep(list),
            Msg::Feed(RunFeed::Output { program, line }) => {
                if self.output.len() == OUTPUT_KEPT {
                    self.output.pop_front();
                    self.output_dropped += 1;
                }
                self.output.push_back(format!("{program} | {line}"));
            }
            Msg::Feed(RunFeed::Beat(list)) => {
                self.asleep(list);
                if self.autoplay && !self.held.is_empty() {
                    return self.release_next();
                }
            }
            Msg::Feed(RunFeed::Over) => {
                self.over = true;
                self.autoplay = false;
                self.held.clear();
                self.in_kernel.clear();
            }
            Msg::Feed(RunFeed::Failed(why)) => {
                self.failed = Some(why);
                self.over = true;
                self.autoplay = false;
            }
            Msg::Key(k) => return self.on_key(crate::keys::action(k, &self.keys)),
            // The shell keeps the size, and turns clicks on the key bar
            // into keys (`Screen::key_at`).
            Msg::Resize(..) | Msg::Mouse(_) | Msg::Tick | Msg::Notice(_) => {}
        }
        Effect::None
    }

    /// Where the kernel has each waiting call asleep, as the driver read it.
    fn asleep(&mut self, list: Vec<(i32, String)>) {
        for (tid, wchan) in list {
            if let Some(k) = self.in_kernel.iter_mut().find(|k| k.call.tid == tid) {
                k.wchan = (!wchan.is_empty() && wchan != "0").then_some(wchan);
            }
        }
    }

    /// The programs that had not ended when the screen closed: `(pid,
    /// command line)`, for the line that says sockscope ended them.
    #[must_use]
    pub fn still_running(&self) -> Vec<(i32, String)> {
        self.rows
            .iter()
            .filter_map(|r| match r {
                Row::Started { pid, argv, .. } => Some((*pid, argv.clone())),
                _ => None,
            })
            .filter(|(pid, _)| {
                !self
                    .rows
                    .iter()
                    .any(|r| matches!(r, Row::Ended { tid, .. } if tid == pid))
            })
            .collect()
    }

    fn on_key(&mut self, action: Option<Action>) -> Effect<RunEffect> {
        let last = self.rows.len().checked_sub(1);
        match action {
            Some(Action::Next) => {
                if self.review.is_some() {
                    // Reviewing: Space moves forward through what ran,
                    // and past the newest row follows the present again.
                    self.review = self.review.map(|r| r + 1).filter(|&r| Some(r) <= last);
                    return Effect::None;
                }
                return self.release_next();
            }
            Some(Action::Back | Action::Up) => {
                self.review = match self.review {
                    Some(r) => Some(r.saturating_sub(1)),
                    None => last,
                };
                self.autoplay = false;
            }
            Some(Action::Down) => {
                self.review = self.review.map(|r| r + 1).filter(|&r| Some(r) <= last);
            }
            Some(Action::Now) => self.review = None,
            Some(Action::Autoplay) => {
                self.autoplay = !self.autoplay && !self.over;
                if self.autoplay {
                    self.review = None;
                }
            }
            Some(Action::Faster) => self.speed = (self.speed + 1).min(SPEEDS.len() - 1),
            Some(Action::Slower) => self.speed = self.speed.saturating_sub(1),
            _ => {}
        }
        Effect::None
    }

    /// The markdown `e` writes: every call the screen holds, as it ran.
    #[must_use]
    pub fn handout(&self) -> String {
        use sockscope_core::vocab::preview;
        use std::fmt::Write as _;
        let mut md = String::from("# sockscope run\n\n");
        for p in &self.programs {
            let _ = writeln!(md, "- `{}`", preview::text(p).replace('`', "'"));
        }
        md.push('\n');
        if self.rows_dropped > 0 {
            let _ = writeln!(
                md,
                "The screen no longer holds the first {} rows.\n",
                self.rows_dropped
            );
        }
        md.push_str("| task | call | result |\n| --- | --- | --- |\n");
        let cell = |s: &str| preview::text(s).replace('|', "\\|");
        for r in &self.rows {
            match r {
                Row::Started { pid, argv, .. } => {
                    let _ = writeln!(md, "| {pid} | started `{}` | |", cell(argv));
                }
                Row::Call(c) => {
                    let _ = writeln!(
                        md,
                        "| {}[{}] | `{}` | {} |",
                        cell(&c.comm),
                        c.tid,
                        cell(&call_text(&c.event)),
                        cell(&result_text(&c.event))
                    );
                }
                Row::Ended { tid, text } => {
                    let _ = writeln!(md, "| {tid} | {} | |", cell(text));
                }
            }
        }
        md
    }
}

/// The call in focus, and how far it has come.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Focus<'a> {
    /// Held at its entry: not run yet.
    Held(&'a RunEvent),
    /// Let run, not returned.
    InKernel(&'a InKernel),
    /// Returned (or ended with its program).
    Done(&'a RunEvent),
    /// A program's start or a task's end, reviewed.
    Row(&'a Row),
}

/// The call as strace would write its name and arguments, without the
/// result: `accept4(3, SOCK_CLOEXEC)`.
#[must_use]
pub fn call_text(e: &Event) -> String {
    let name = e.syscall.as_deref().unwrap_or(e.call.name());
    format!("{name}({})", e.args)
}

/// The result of a call that returned: `= 4`, `= -1 ECONNREFUSED`, or
/// what became of one that did not.
#[must_use]
pub fn result_text(e: &Event) -> String {
    if e.result == sockscope_core::vocab::Outcome::Waiting {
        return e.flags.last().cloned().unwrap_or_else(|| "waiting".into());
    }
    if e.ok() {
        format!("= {}", e.return_value())
    } else {
        format!("= -1 {}", e.result.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockscope_core::event::Event;
    use sockscope_core::tracer::End;
    use sockscope_core::vocab::{Call, Proto};

    fn run_event(tid: i32, call: Call, args: &str) -> Box<RunEvent> {
        let mut event = Event::new(&format!("srv[{tid}]"), call, "fd3", Proto::Tcp, Some(3));
        event.args = args.into();
        event.syscall = Some(call.name().into());
        Box::new(RunEvent {
            event,
            pid: 100,
            tid,
            comm: "srv".into(),
        })
    }

    fn feed(v: &mut RunView, m: RunMsg) -> Effect<RunEffect> {
        v.update(Msg::Feed(RunFeed::Run(m)))
    }

    fn key(v: &mut RunView, a: Action) -> Effect<RunEffect> {
        v.on_key(Some(a))
    }

    #[test]
    fn space_releases_the_call_held_longest_and_its_event_ends_the_wait() {
        let mut v = RunView::new(vec!["./srv".into()], None);
        feed(
            &mut v,
            RunMsg::Calling(run_event(100, Call::Bind, "3, 127.0.0.1:0")),
        );
        feed(
            &mut v,
            RunMsg::Calling(run_event(101, Call::Connect, "4, 127.0.0.1:9")),
        );
        assert_eq!(v.lanes.len(), 2);
        assert!(matches!(v.focused(), Some(Focus::Held(h)) if h.tid == 100));
        assert_eq!(
            key(&mut v, Action::Next),
            Effect::Screen(RunEffect::Release(100))
        );
        assert_eq!(v.held.len(), 1);
        assert!(matches!(v.focused(), Some(Focus::Held(h)) if h.tid == 101));
        assert_eq!(v.in_kernel.len(), 1);
        v.update(Msg::Feed(RunFeed::Asleep(vec![(
            100,
            "inet_csk_accept".into(),
        )])));
        assert_eq!(v.in_kernel[0].wchan.as_deref(), Some("inet_csk_accept"));
        feed(
            &mut v,
            RunMsg::Event(run_event(100, Call::Bind, "3, 127.0.0.1:0")),
        );
        assert!(v.in_kernel.is_empty());
        assert_eq!(v.rows.len(), 1);
        assert_eq!(
            key(&mut v, Action::Next),
            Effect::Screen(RunEffect::Release(101))
        );
        assert_eq!(key(&mut v, Action::Next), Effect::None);
        assert_eq!(
            v.notice.as_deref(),
            Some("no call is held: the programs wait in the kernel")
        );
    }

    #[test]
    fn an_interpreters_lane_is_named_for_its_script() {
        assert_eq!(
            script_of("python3 -u srv/server.py 80", "python3"),
            Some("server.py".into())
        );
        assert_eq!(
            script_of("/usr/bin/node app.js", "node"),
            Some("app.js".into())
        );
        assert_eq!(script_of("./tcp_server 8080", "tcp_server"), None);
        assert_eq!(script_of("./server", "server"), None);
        assert_eq!(
            script_of("python3 x.py", "worker"),
            None,
            "a thread named itself"
        );
        let mut v = RunView::new(vec!["python3 server.py".into()], None);
        feed(
            &mut v,
            RunMsg::Started {
                index: 0,
                pid: 100,
                argv: "python3 server.py".into(),
            },
        );
        let mut ev = run_event(100, Call::Socket, "AF_INET");
        ev.comm = "python3".into();
        feed(&mut v, RunMsg::Calling(ev));
        assert_eq!(v.lanes[0].name(), "server.py[100]");
    }

    #[test]
    fn autoplay_releases_a_call_per_beat_and_stops_when_the_programs_end() {
        let mut v = RunView::new(vec!["./srv".into()], None);
        assert_eq!(
            v.update(Msg::Feed(RunFeed::Beat(Vec::new()))),
            Effect::None,
            "off"
        );
        key(&mut v, Action::Autoplay);
        assert!(v.autoplay);
        assert_eq!(
            v.update(Msg::Feed(RunFeed::Beat(Vec::new()))),
            Effect::None,
            "nothing held"
        );
        feed(
            &mut v,
            RunMsg::Calling(run_event(100, Call::Socket, "AF_INET")),
        );
        assert_eq!(
            v.update(Msg::Feed(RunFeed::Beat(Vec::new()))),
            Effect::Screen(RunEffect::Release(100))
        );
        let b = v.beat();
        key(&mut v, Action::Faster);
        assert!(v.beat() < b);
        v.update(Msg::Feed(RunFeed::Over));
        assert!(!v.autoplay && v.over && v.in_kernel.is_empty());
        key(&mut v, Action::Autoplay);
        assert!(!v.autoplay, "nothing left to play");
    }

    #[test]
    fn review_moves_through_the_rows_and_space_past_the_last_follows_again() {
        let mut v = RunView::new(vec!["./srv".into()], None);
        for (tid, call) in [(100, Call::Socket), (100, Call::Bind), (100, Call::Listen)] {
            feed(&mut v, RunMsg::Event(run_event(tid, call, "3")));
        }
        key(&mut v, Action::Back);
        assert_eq!(v.review, Some(2));
        key(&mut v, Action::Up);
        key(&mut v, Action::Up);
        key(&mut v, Action::Up);
        assert_eq!(v.review, Some(0));
        assert!(matches!(v.focused(), Some(Focus::Done(c)) if c.event.call == Call::Socket));
        key(&mut v, Action::Down);
        assert_eq!(v.review, Some(1));
        key(&mut v, Action::Next);
        key(&mut v, Action::Next);
        assert_eq!(v.review, None, "past the newest row: following again");
        key(&mut v, Action::Back);
        key(&mut v, Action::Now);
        assert_eq!(v.review, None);
    }

    #[test]
    fn a_program_killed_while_held_ends_its_lane_and_the_call_never_ran() {
        let mut v = RunView::new(vec!["./srv".into()], None);
        feed(
            &mut v,
            RunMsg::Started {
                index: 0,
                pid: 100,
                argv: "./srv".into(),
            },
        );
        feed(&mut v, RunMsg::Calling(run_event(100, Call::Accept, "3")));
        feed(
            &mut v,
            RunMsg::Ended {
                pid: 100,
                tid: 100,
                comm: "srv".into(),
                end: End::Signal(9),
            },
        );
        assert!(v.held.is_empty());
        assert_eq!(v.lanes[0].ended.as_deref(), Some("killed by signal 9"));
        assert!(matches!(v.rows.back(), Some(Row::Ended { tid: 100, .. })));
    }

    #[test]
    fn rows_and_output_are_bounded_and_count_what_they_let_go() {
        let mut v = RunView::new(vec!["./srv".into()], None);
        for _ in 0..ROWS_KEPT + 5 {
            feed(&mut v, RunMsg::Event(run_event(100, Call::Send, "3")));
        }
        assert_eq!((v.rows.len(), v.rows_dropped), (ROWS_KEPT, 5));
        for i in 0..OUTPUT_KEPT + 3 {
            v.update(Msg::Feed(RunFeed::Output {
                program: "srv".into(),
                line: i.to_string(),
            }));
        }
        assert_eq!((v.output.len(), v.output_dropped), (OUTPUT_KEPT, 3));
        assert_eq!(v.output.back().map(String::as_str), Some("srv | 202"));
    }

    #[test]
    fn the_handout_escapes_what_the_program_named_itself() {
        let mut v = RunView::new(vec!["./srv".into()], None);
        let mut ev = run_event(100, Call::Bind, "3, 127.0.0.1:8080");
        ev.comm = "evil|\u{1b}[2J".into();
        feed(&mut v, RunMsg::Event(ev));
        let md = v.handout();
        assert!(!md.contains('\u{1b}'), "{md}");
        assert!(md.contains("evil\\|"), "{md}");
        assert!(md.contains("`bind(3, 127.0.0.1:8080)`"), "{md}");
    }
}
