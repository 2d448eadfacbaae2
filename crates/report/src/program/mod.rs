//! A lesson as a program a student can take home: `sockscope export LESSON
//! --lang c|python|rust` writes one source file that makes exactly the
//! lesson's calls, in the lesson's order, with the narration as comments,
//! and prints what each call returned. The TUI's code panel shows the same
//! lines ([`statements`]), so what a student reads beside a call is the
//! code that, run on its own, makes it.
//!
//! # How the order is kept
//!
//! Each actor is a thread of its own, as each is in sockscope, and a
//! conductor (the program's main thread) hands out turns as sockscope's
//! stepper does: step N's call may start once step N-1's has returned or,
//! for a call the lesson lets wait while later steps run, once the kernel
//! has its thread asleep in it (`/proc/self/task/TID/stat` says `S` and
//! `/proc/self/task/TID/syscall` names a call: the same two files the
//! engine reads). A step that `wakes` an actor also waits for that actor's
//! call to return. So the kernel sees the calls in the order the lesson
//! shows them, and gives the same answers; a test in
//! crates/sockscope/tests/export_strace.rs runs every exported program
//! under `strace -f` and compares its calls with the lesson's own.
//!
//! What differs, and is written at the top of each program: `$port` is 0
//! (the kernel picks), the program runs on the machine's own loopback (not
//! sockscope's lab network), and an address one socket takes from another
//! (`server:listener`) is read with getsockname after the call that gave
//! it one.

mod c;
mod python;
mod rust;

use sockscope_core::engine::actor::{DEFAULT_BACKLOG, DEFAULT_RECV_MAX};
use sockscope_core::engine::{Call, Proto};
use sockscope_core::lesson::{Lesson, SockOpt, Step, is_literal_addr};
use std::collections::BTreeSet;

/// A language sockscope writes programs in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// C: POSIX sockets and pthreads (the default).
    #[default]
    C,
    /// Python 3: the socket module and threading.
    Python,
    /// Rust: a Cargo project calling the C library through the libc crate.
    Rust,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::C, Lang::Python, Lang::Rust];

    /// The name on the command line and in the config file.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Lang::C => "c",
            Lang::Python => "python",
            Lang::Rust => "rust",
        }
    }

    #[must_use]
    pub fn from_name(name: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The next language, for the key that cycles them.
    #[must_use]
    pub fn next(self) -> Lang {
        match self {
            Lang::C => Lang::Python,
            Lang::Python => Lang::Rust,
            Lang::Rust => Lang::C,
        }
    }

    /// The language as a title names it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Lang::C => "C",
            Lang::Python => "Python",
            Lang::Rust => "Rust (libc)",
        }
    }

    /// How a comment starts.
    #[must_use]
    pub fn comment(self) -> &'static str {
        match self {
            Lang::Python => "#",
            Lang::C | Lang::Rust => "//",
        }
    }

    /// The file an exported lesson is written to (`tcp.c`); Rust's is a
    /// Cargo project, whose `src/main.rs` this is.
    #[must_use]
    pub fn file_name(self, lesson: &str) -> String {
        let stem = ident(lesson);
        match self {
            Lang::C => format!("{stem}.c"),
            Lang::Python => format!("{stem}.py"),
            Lang::Rust => "src/main.rs".to_string(),
        }
    }
}

/// The files of one exported lesson: paths relative to the output folder,
/// and their text.
#[must_use]
pub fn export(lesson: &Lesson, lang: Lang) -> Vec<(String, String)> {
    let plan = Plan::new(lesson);
    let source = match lang {
        Lang::C => c::program(&plan),
        Lang::Python => python::program(&plan),
        Lang::Rust => rust::program(&plan),
    };
    let mut files = vec![(lang.file_name(&lesson.name), source)];
    if lang == Lang::Rust {
        files.push(("Cargo.toml".to_string(), rust::manifest(&plan)));
    }
    files.push(("README.md".to_string(), readme(lesson, lang)));
    files
}

/// The folder's README: what the program is and how to build and run it.
fn readme(lesson: &Lesson, lang: Lang) -> String {
    format!(
        "# {}\n\nThe sockscope lesson `{}` as a {} program: {}\n\nBuild and run it:\n\n    {}\n\nIt makes the lesson's calls in the lesson's order and prints what each\nreturned; `sockscope trace {}` shows the same calls as sockscope ran them.\n",
        one_line(&lesson.title),
        lesson.name,
        lang.label(),
        one_line(&lesson.summary),
        how_to_run(&lesson.name, lang),
        lesson.name
    )
}

/// How to build and run an exported lesson, one line for the README and
/// for `sockscope export`'s own output.
#[must_use]
pub fn how_to_run(lesson: &str, lang: Lang) -> String {
    let stem = ident(lesson);
    match lang {
        Lang::C => format!("cc -Wall -Werror -pthread -o {stem} {stem}.c && ./{stem}"),
        Lang::Python => format!("python3 {stem}.py"),
        Lang::Rust => "cargo run".to_string(),
    }
}

/// One step's code, as the program writes it: lines that prepare the call,
/// the line that makes it, and lines after it (reading an address another
/// step will need).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub setup: Vec<String>,
    pub call: String,
}

/// Every step's statement in `lang`, in the lesson's order: the code panel
/// shows these beside the calls.
#[must_use]
pub fn statements(lesson: &Lesson, lang: Lang) -> Vec<Statement> {
    let plan = Plan::new(lesson);
    (0..lesson.steps.len())
        .map(|i| match lang {
            Lang::C => c::statement(&plan, i),
            Lang::Python => python::statement(&plan, i),
            Lang::Rust => rust::statement(&plan, i),
        })
        .collect()
}

/// What every language's program needs to know about the lesson beyond its
/// steps.
pub(crate) struct Plan<'a> {
    pub lesson: &'a Lesson,
    /// Every socket the lesson names, as `actor:sock` (the owner's name and
    /// the socket's), in order of first appearance.
    pub sockets: Vec<String>,
    /// The sockets whose address a step names (`to = "server:listener"`).
    pub named: BTreeSet<String>,
    /// The sockets a `rest` send continues on: their unsent bytes are kept.
    pub unsent: BTreeSet<String>,
    /// The largest `fill` payload, 0 if none.
    pub fill_max: usize,
    /// Each socket's variable: its own name (`listener`) where no other
    /// actor has a socket of that name and the name means nothing else in
    /// the program, else `actor_sock` (`client2_sock`).
    vars: std::collections::BTreeMap<String, String>,
}

/// Names a socket's variable must not take: the calls, the programs'
/// helpers and locals, and the languages' own words.
const TAKEN: &[&str] = &[
    "accept",
    "addr",
    "asleep",
    "begin",
    "bind",
    "buf",
    "changed",
    "char",
    "close",
    "connect",
    "const",
    "data",
    "def",
    "done",
    "err",
    "errno",
    "fcntl",
    "fill",
    "fill_buf",
    "finish",
    "fn",
    "for",
    "from",
    "fromlen",
    "getsockopt",
    "if",
    "in_call",
    "int",
    "last",
    "let",
    "listen",
    "lock",
    "long",
    "loop",
    "main",
    "match",
    "move",
    "mut",
    "n",
    "os",
    "poll",
    "ready",
    "recv",
    "recvfrom",
    "return",
    "run",
    "run_data",
    "said",
    "said_data",
    "say",
    "select",
    "self",
    "send",
    "sendto",
    "setsockopt",
    "shutdown",
    "sock",
    "socket",
    "static",
    "struct",
    "sys",
    "tid",
    "time",
    "turn",
    "type",
    "types",
    "unsent",
    "void",
    "wait_step",
];

impl<'a> Plan<'a> {
    pub fn new(lesson: &'a Lesson) -> Plan<'a> {
        let mut sockets: Vec<String> = Vec::new();
        let mut add = |key: String| {
            if !sockets.contains(&key) {
                sockets.push(key);
            }
        };
        let mut named = BTreeSet::new();
        let mut unsent = BTreeSet::new();
        let mut fill_max = 0;
        for step in &lesson.steps {
            add(key(&step.actor, &step.sock));
            if step.call == Call::Accept
                && let Some(new) = &step.new
            {
                add(key(step.new_owner(), new));
            }
            for other in &step.also {
                add(key(&step.actor, other));
            }
            for spec in [&step.addr, &step.to].into_iter().flatten() {
                if !is_literal_addr(spec) {
                    named.insert(spec.clone());
                }
            }
            if step.rest {
                unsent.insert(key(&step.actor, &step.sock));
            }
            fill_max = fill_max.max(step.fill.unwrap_or(0));
        }
        let vars = sockets
            .iter()
            .map(|k| {
                let (actor, sock) = k.split_once(':').unwrap_or(("", k));
                let shared = sockets
                    .iter()
                    .filter(|o| o.split_once(':').is_some_and(|(_, s)| s == sock))
                    .count()
                    > 1;
                let taken = TAKEN.contains(&ident(sock).as_str())
                    || lesson.actors.iter().any(|a| ident(&a.name) == ident(sock));
                let name = if shared || taken {
                    ident(&key(actor, sock))
                } else {
                    ident(sock)
                };
                (k.clone(), name)
            })
            .collect();
        Plan {
            lesson,
            sockets,
            named,
            unsent,
            fill_max,
            vars,
        }
    }

    pub fn step(&self, i: usize) -> &'a Step {
        &self.lesson.steps[i]
    }

    /// The variable of socket `key` (`actor:sock`).
    pub fn var(&self, key: &str) -> String {
        self.vars.get(key).cloned().unwrap_or_else(|| ident(key))
    }

    /// The variable of the socket step `i` acts on.
    pub fn sock(&self, i: usize) -> String {
        let s = self.step(i);
        self.var(&key(&s.actor, &s.sock))
    }

    /// The variable of another of the actor's sockets.
    pub fn sock_named(&self, i: usize, name: &str) -> String {
        self.var(&key(&self.step(i).actor, name))
    }

    /// The socket an accept's new connection is kept in.
    pub fn new_sock(&self, i: usize) -> String {
        let s = self.step(i);
        self.var(&key(s.new_owner(), s.new.as_deref().unwrap_or("conn")))
    }

    pub fn udp(&self, i: usize) -> bool {
        let s = self.step(i);
        self.lesson.proto_of(&s.actor, &s.sock) == Some(Proto::Udp)
    }

    /// The engine's defaults, so the program makes the call that ran.
    pub fn recv_max(&self, i: usize) -> usize {
        self.step(i).max.unwrap_or(DEFAULT_RECV_MAX)
    }

    pub fn backlog(&self, i: usize) -> i32 {
        self.step(i).backlog.unwrap_or(DEFAULT_BACKLOG)
    }

    /// The largest buffer any of `actor`'s receives asks for (at least 1).
    pub fn buf_len(&self, actor: &str) -> usize {
        self.lesson
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.actor == actor && matches!(s.call, Call::Recv | Call::Recvfrom))
            .map(|(i, _)| self.recv_max(i))
            .max()
            .unwrap_or(1)
    }

    /// The sockets whose address must be read after step `i`: the ones a
    /// later step names, when this call may have given them one.
    pub fn learns(&self, i: usize) -> Vec<String> {
        let s = self.step(i);
        let k = match s.call {
            Call::Bind | Call::Connect | Call::Sendto => key(&s.actor, &s.sock),
            Call::Accept => key(s.new_owner(), s.new.as_deref().unwrap_or("conn")),
            _ => return Vec::new(),
        };
        if self.named.contains(&k) {
            vec![k]
        } else {
            Vec::new()
        }
    }

    /// The actor's number among the lesson's actors.
    pub fn actor_index(&self, actor: &str) -> usize {
        self.lesson
            .actors
            .iter()
            .position(|a| a.name == actor)
            .unwrap_or(0)
    }
}

/// May the conductor pass the turn on while this step's call waits in the
/// kernel? As in the engine: a call that can wait and that the lesson
/// parks. Not in a `repeat` loop: there every call but the last has a
/// next one to make within the same step, and the engine makes them all
/// before the next step starts.
pub(crate) fn may_park(step: &Step) -> bool {
    step.call.can_wait() && step.parks() && step.repeat.is_none()
}

/// A socket option's value, for each language to write in its own way.
pub(crate) enum OptValue {
    /// An `int`.
    Int(i64),
    /// `struct linger`, on, with this timeout in seconds.
    Linger(u32),
    /// `struct timeval`.
    Timeval { sec: u32, usec: u32 },
}

/// A socket option as the C library names it (level, name) and its value:
/// one table for every language.
pub(crate) fn option(opt: SockOpt) -> (&'static str, &'static str, OptValue) {
    match opt {
        SockOpt::Linger { seconds } => ("SOL_SOCKET", "SO_LINGER", OptValue::Linger(seconds)),
        SockOpt::Rcvbuf { bytes } => ("SOL_SOCKET", "SO_RCVBUF", OptValue::Int(bytes as i64)),
        SockOpt::Sndbuf { bytes } => ("SOL_SOCKET", "SO_SNDBUF", OptValue::Int(bytes as i64)),
        SockOpt::Reuseaddr { on } => ("SOL_SOCKET", "SO_REUSEADDR", OptValue::Int(i64::from(on))),
        SockOpt::Rcvtimeo { ms } => (
            "SOL_SOCKET",
            "SO_RCVTIMEO",
            OptValue::Timeval {
                sec: ms / 1000,
                usec: (ms % 1000) * 1000,
            },
        ),
        SockOpt::Syncnt { count } => ("IPPROTO_TCP", "TCP_SYNCNT", OptValue::Int(i64::from(count))),
    }
}

/// The recv flags a step sets, by their C names (each language prefixes
/// and joins them its own way).
pub(crate) fn recv_flags(step: &Step) -> Vec<&'static str> {
    [
        (step.dontwait, "MSG_DONTWAIT"),
        (step.waitall, "MSG_WAITALL"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}

/// `actor:sock`.
pub(crate) fn key(actor: &str, sock: &str) -> String {
    format!("{actor}:{sock}")
}

/// A name usable as a function or variable in all three languages.
#[must_use]
pub fn ident(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// A literal address (`127.0.0.1:$port`) as host and port, `$port` being 0.
pub(crate) fn host_port(spec: &str) -> Option<(String, u16)> {
    let addr: std::net::SocketAddr = spec.replace("$port", "0").parse().ok()?;
    Some((addr.ip().to_string(), addr.port()))
}

/// `fill = N`'s payload, as the engine makes it: the alphabet over and over.
pub(crate) const FILL_ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz";

/// The payload of a plain send or sendto.
pub(crate) fn payload(step: &Step) -> &[u8] {
    step.data.as_deref().unwrap_or("").as_bytes()
}

/// A comment's text: the step's narration (its `say`, then its `why`),
/// wrapped to `width` columns after `lead` (the indent and comment marker).
/// Placeholders like `{fd}` stay as written: they are the values the
/// program prints.
pub(crate) fn narration(step: &Step, lead: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for text in [&step.say, &step.why] {
        if text.trim().is_empty() {
            continue;
        }
        let mut line = String::new();
        for word in text.split_whitespace() {
            if !line.is_empty() && lead.len() + line.len() + 1 + word.len() > width {
                out.push(format!("{lead}{line}"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            out.push(format!("{lead}{line}"));
        }
    }
    out
}

/// A lesson's text (a title, an actor's role) on one line of a comment: a
/// teacher's lesson may hold a newline, which would end the comment and
/// make the rest code, so whitespace runs become one space, and control
/// characters go.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The lines every program opens with, after its language's first line:
/// what it is and how it differs from the lesson in sockscope.
pub(crate) fn header(lesson: &Lesson, lang: Lang) -> Vec<String> {
    let mut lines = vec![
        format!(
            "The sockscope lesson \"{}\" ({}) as a {} program.",
            lesson.name,
            one_line(&lesson.title),
            lang.label()
        ),
        format!(
            "Written by `sockscope export {} --lang {}`. Build and run it:",
            lesson.name,
            lang.name()
        ),
        format!("    {}", how_to_run(&lesson.name, lang)),
        String::new(),
        "It makes the lesson's calls, in the lesson's order, and prints what each".into(),
        "returned. Each actor runs in a thread of its own; the main thread hands".into(),
        "out turns as sockscope does: a step's call starts once the last one has".into(),
        "returned, or, for a call the lesson lets wait, once the kernel has its".into(),
        "thread asleep in it (/proc/self/task/TID/stat and .../syscall).".into(),
        "Unlike the lesson in sockscope: the kernel picks every port the lesson".into(),
        "writes as $port, and the program runs on this machine's own loopback.".into(),
        "In the comments (the lesson's narration), {fd}, {bytes} and the like".into(),
        "stand for this run's values: the ones the program prints.".into(),
    ];
    if lang == Lang::Python {
        lines.extend([
            "Python makes every socket close-on-exec (PEP 446): strace shows".to_string(),
            "SOCK_CLOEXEC and accept4 where the C program shows socket and accept,".into(),
            "and setblocking() sets O_NONBLOCK with ioctl(FIONBIO), not fcntl.".into(),
        ]);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_of_every_built_in_lesson_has_a_call_line_in_every_language() {
        for l in sockscope_core::lesson::builtins() {
            for lang in Lang::ALL {
                let s = statements(&l, lang);
                assert_eq!(s.len(), l.steps.len(), "{} {lang:?}", l.name);
                for (i, st) in s.iter().enumerate() {
                    assert!(
                        st.call.contains(l.steps[i].call.name()) || lang != Lang::C,
                        "{} {lang:?} step {}: {st:?}",
                        l.name,
                        i + 1
                    );
                    assert!(!st.call.trim().is_empty(), "{} {lang:?}", l.name);
                }
            }
        }
    }

    #[test]
    fn the_plan_knows_which_addresses_are_read_and_when() {
        let l = sockscope_core::lesson::builtin("tcp").unwrap();
        let p = Plan::new(&l);
        assert_eq!(
            p.sockets,
            [
                "server:listener",
                "server:conn",
                "client:sock",
                "server:conn2",
                "client2:sock"
            ]
        );
        assert!(p.named.contains("server:listener"));
        // The bind (step 2) gives the listener the address the clients use.
        assert_eq!(p.learns(1), ["server:listener"]);
        assert!(p.learns(0).is_empty());
        // Names no other actor shares stay as the lesson writes them.
        assert_eq!(p.var("server:listener"), "listener");
        assert_eq!(p.var("client2:sock"), "client2_sock");
    }

    #[test]
    fn a_lessons_text_cannot_end_a_comment() {
        let mut l = sockscope_core::lesson::builtin("udp").unwrap();
        l.title = "two\nqzlines */ \"\"\"".into();
        l.actors[0].role = "a\nqzrole\r".into();
        for lang in Lang::ALL {
            let text = &export(&l, lang)[0].1;
            // The title and the role are both written, each on a comment line.
            assert!(
                text.lines().filter(|x| x.contains("qz")).count() >= 2,
                "{lang:?}"
            );
            for line in text.lines().filter(|x| x.contains("qz")) {
                let t = line.trim_start();
                assert!(
                    t.starts_with("//") || t.starts_with('#'),
                    "{lang:?}: {line}"
                );
            }
        }
    }

    #[test]
    fn narration_is_wrapped_and_keeps_its_placeholders() {
        let l = sockscope_core::lesson::builtin("tcp").unwrap();
        let lines = narration(&l.steps[0], "    // ", 78);
        assert!(lines.iter().all(|x| x.chars().count() <= 78), "{lines:#?}");
        assert!(lines.join(" ").contains("{fd}"), "{lines:#?}");
    }
}
