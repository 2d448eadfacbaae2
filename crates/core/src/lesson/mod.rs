//! Lessons: which endpoints exist, which calls they make in which order, and
//! what the narration says at each step. Lessons are data (TOML files in
//! `assets/lessons/`, embedded in the binary), not code, so a teacher can read,
//! copy and change them.
//!
//! A step's `expect` table is the machine-checkable form of its narration: the
//! engine checks it against what the kernel really did in every run, the tests
//! run every lesson and fail if any claim does not hold, and the screen marks
//! each claim as confirmed in this run.

mod builtin;
mod load;
pub(crate) mod parse;

pub use builtin::{builtin, builtin_names, builtins};
pub use load::{Catalog, Folder, LoadError, Origin};
pub use parse::{LessonError, is_literal_addr, parse_lesson};

use crate::vocab::{Call, Proto};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One lesson, as read from its TOML file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// Short name used on the command line: `tcp`, `udp`, `refused`.
    pub name: String,
    pub title: String,
    /// One line for `sockscope lessons`.
    pub summary: String,
    /// Shown before the first step: what the lesson is about.
    #[serde(default)]
    pub intro: String,
    /// Which part of the course the lesson belongs to, for the picker's
    /// groups: the course text's lessons first, then those that go further.
    #[serde(default)]
    pub part: Part,
    /// Start the TUI with the kernel panel (TCP states, queues, timers) in
    /// place of the layer diagram; `K` switches between them.
    #[serde(default)]
    pub kernel_panel: bool,
    #[serde(rename = "actor")]
    pub actors: Vec<Actor>,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

/// The lesson picker's groups, in the order a course teaches them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// The course text's lessons (the first twelve).
    #[default]
    Course,
    /// Further, the topics of a whole socket course (Beej's guide):
    /// non-blocking I/O, framing, one server for many clients, restarts.
    Further,
    /// A teacher's own lessons, from the lessons folder (set when loaded).
    Yours,
}

impl Part {
    /// The group's heading in the picker.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Part::Course => "The course",
            Part::Further => "Further: a whole socket course",
            Part::Yours => "Your lessons",
        }
    }
}

/// An endpoint: one lane on screen, one task in the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// `server`, `client`, `client2`, `receiver`, `sender`, ...
    pub name: String,
    /// What it is, for the lane heading: "TCP server".
    pub role: String,
}

/// One call in the lesson, with its narration.
// The bools are a lesson file's keys (`rest`, `ntohl`, `fd_table`,
// `dontwait`, `waitall`), each a flag of its own call; an enum would change
// the format every lesson, built-in or a teacher's, is written in.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent keys of the lesson file format"
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub actor: String,
    pub call: Call,
    /// The actor's name for the socket this call acts on (`listener`, `conn`).
    pub sock: String,
    /// socket: `tcp` or `udp`.
    #[serde(default)]
    pub proto: Option<Proto>,
    /// bind: `127.0.0.1:0`, `127.0.0.1:$port`, or `actor:sock` for the address
    /// another socket holds.
    #[serde(default)]
    pub addr: Option<String>,
    /// connect / sendto: the destination, in the same forms as `addr`.
    #[serde(default)]
    pub to: Option<String>,
    /// listen: the backlog.
    #[serde(default)]
    pub backlog: Option<i32>,
    /// accept: the name of the new socket.
    #[serde(default)]
    pub new: Option<String>,
    /// accept: the actor (another thread of the same process) that gets the
    /// new socket, as a server hands a connection to a worker thread. The
    /// fd is the same number in every thread: threads share one fd table.
    #[serde(default)]
    pub handoff: Option<String>,
    /// send / sendto: the payload.
    #[serde(default)]
    pub data: Option<String>,
    /// send: the payload is this number as 4 bytes in network byte order
    /// (what `htonl` makes of it), in place of `data`.
    #[serde(default)]
    pub htonl: Option<u32>,
    /// send: a payload of this many bytes (the alphabet, repeated), for a
    /// send larger than anyone would type: one that fills the buffers.
    #[serde(default)]
    pub fill: Option<usize>,
    /// send: the part of this socket's last send that the kernel did not
    /// take, as a sendall loop passes `buf + sent, len - sent`. With
    /// `repeat`, the loop ends once every byte is taken.
    #[serde(default)]
    pub rest: bool,
    /// recv (with `max = 4`): the 4 bytes read are a number in network byte
    /// order; the event says what `ntohl` makes of them, and what they would
    /// be read in this machine's own order.
    #[serde(default)]
    pub ntohl: bool,
    /// recv / recvfrom: the buffer size.
    #[serde(default)]
    pub max: Option<usize>,
    /// shutdown: `read`, `write` or `both`.
    #[serde(default)]
    pub how: Option<ShutdownHow>,
    /// setsockopt: which option and its value.
    #[serde(default)]
    pub opt: Option<SockOpt>,
    /// fcntl: `true` sets O_NONBLOCK (`fcntl(fd, F_SETFL, O_NONBLOCK)`),
    /// `false` clears it (`fcntl(fd, F_SETFL, 0)`).
    #[serde(default)]
    pub nonblock: Option<bool>,
    /// poll: what to wait for, `in` (POLLIN) or `out` (POLLOUT).
    #[serde(default)]
    pub events: Option<PollEvents>,
    /// poll: more of the actor's sockets to watch, after `sock`, each for
    /// the same events (a server's listener and its connections).
    #[serde(default)]
    pub also: Vec<String>,
    /// poll: the timeout in milliseconds; -1 (the default) waits as long as
    /// it takes. A poll with a timeout is seen through within its step.
    #[serde(default)]
    pub timeout_ms: Option<i32>,
    /// getsockopt: which option to read.
    #[serde(default)]
    pub get: Option<GetOpt>,
    /// socket / accept: read the process's whole fd table right after the
    /// call (/proc/self/fd, each entry named), for a step whose narration
    /// talks about fd numbers.
    #[serde(default)]
    pub fd_table: bool,
    /// Let this call wait in the background while later steps run. By default
    /// a waiting `connect` is seen through within its step (the kernel finishes
    /// the handshake on its own), and every other waiting call parks until a
    /// later step wakes it.
    #[serde(default)]
    pub park: Option<bool>,
    /// recv / recvfrom: pass MSG_DONTWAIT, so an empty queue is reported at
    /// once as EAGAIN instead of waiting.
    #[serde(default)]
    pub dontwait: bool,
    /// recv: pass MSG_WAITALL, so the call waits until it has `max` bytes
    /// (or end of file, an error or a signal) instead of returning what is
    /// queued.
    #[serde(default)]
    pub waitall: bool,
    /// Make the same call this many times in a row, each one a real call and
    /// an event of its own (a sender outrunning a receiver, a receiver
    /// draining its queue).
    #[serde(default)]
    pub repeat: Option<u32>,
    /// With `repeat`: stop early after a call whose result is this (`EAGAIN`).
    #[serde(default)]
    pub until: Option<String>,
    /// Actors whose waiting call this step lets finish (connect wakes the
    /// server's accept). The engine waits for them before the next step, so
    /// every run prints the same sequence.
    #[serde(default)]
    pub wakes: Vec<String>,
    /// What happened, in plain words. `{fd}`, `{new_fd}`, `{local}`, `{peer}`,
    /// `{bytes}`, `{data}`, `{result}` are replaced with this run's values.
    pub say: String,
    /// Why it matters.
    #[serde(default)]
    pub why: String,
    /// A question to ask the room.
    #[serde(default)]
    pub ask: String,
    /// Study mode's question, asked before the call runs: which of its
    /// choices will the kernel's answer make true?
    #[serde(default)]
    pub predict: Option<Predict>,
    /// What the narration claims the kernel will do, checked on every run.
    #[serde(default)]
    pub expect: BTreeMap<String, toml::Value>,
}

/// A question a student answers before a call runs. Its right answer is
/// not written down: it is whichever choice's claims the call's real event
/// makes true, so when the kernel disagrees with the lesson's author, the
/// kernel wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predict {
    /// The question (`What will recv return?`).
    pub ask: String,
    /// Two to four possible outcomes.
    pub choices: Vec<Choice>,
}

/// One possible outcome of a call, and the claims that make it true.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// The outcome in words (`both sends, 10 bytes`).
    pub say: String,
    /// The event fields that hold when this is what happened, as in a
    /// step's `expect`.
    pub expect: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShutdownHow {
    Read,
    Write,
    Both,
}

impl ShutdownHow {
    #[must_use]
    pub fn c_name(self) -> &'static str {
        match self {
            ShutdownHow::Read => "SHUT_RD",
            ShutdownHow::Write => "SHUT_WR",
            ShutdownHow::Both => "SHUT_RDWR",
        }
    }
}

/// The socket options lessons use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "name", deny_unknown_fields)]
pub enum SockOpt {
    /// SO_LINGER on with the given timeout; 0 makes close send RST.
    Linger { seconds: u32 },
    /// SO_RCVBUF: the kernel doubles the request and applies a floor.
    Rcvbuf { bytes: usize },
    /// SO_SNDBUF: doubled by the kernel like SO_RCVBUF, with a floor.
    Sndbuf { bytes: usize },
    /// SO_REUSEADDR.
    Reuseaddr { on: bool },
    /// SO_RCVTIMEO: a recv that has waited this long returns EAGAIN.
    Rcvtimeo { ms: u32 },
    /// TCP_SYNCNT: how many times connect retransmits its SYN before it
    /// gives up with ETIMEDOUT (this socket's own `tcp_syn_retries`).
    Syncnt { count: u32 },
}

/// What a lesson's poll waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PollEvents {
    /// POLLIN: data to read, a connection to accept, or end of file.
    In,
    /// POLLOUT: room to send; for a connecting socket, the handshake is over.
    Out,
}

/// The socket options a lesson reads with getsockopt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GetOpt {
    /// SO_ERROR: the socket's pending error, cleared by the read. How a
    /// program learns whether a non-blocking connect worked.
    Error,
}

impl GetOpt {
    #[must_use]
    pub fn c_name(self) -> &'static str {
        match self {
            GetOpt::Error => "SO_ERROR",
        }
    }
}

/// The timeout of a poll with none given: wait as long as it takes.
pub const POLL_FOREVER: i32 = -1;

impl Step {
    /// The actor that holds the socket an `accept` returns: the one it was
    /// handed to, or the accepting actor itself.
    #[must_use]
    pub fn new_owner(&self) -> &str {
        self.handoff.as_deref().unwrap_or(&self.actor)
    }

    /// Does this step's call, if it has to wait, park while later steps run?
    /// A connect, and a poll with a timeout, return on their own (the kernel
    /// finishes the handshake, the timer runs out), so by default they are
    /// seen through within their step.
    #[must_use]
    pub fn parks(&self) -> bool {
        let returns_alone = match self.call {
            Call::Connect => true,
            Call::Poll => self.timeout_ms.unwrap_or(POLL_FOREVER) >= 0,
            _ => false,
        };
        self.park.unwrap_or(!returns_alone)
    }
}

impl Lesson {
    #[must_use]
    pub fn actor(&self, name: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.name == name)
    }

    /// The steps that ask a study question, by number (from 1), with it.
    pub fn questions(&self) -> impl Iterator<Item = (usize, &Predict)> {
        self.steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.predict.as_ref().map(|p| (i + 1, p)))
    }

    /// The protocol of each of an actor's sockets, from its `socket` steps.
    #[must_use]
    pub fn proto_of(&self, actor: &str, sock: &str) -> Option<Proto> {
        self.steps
            .iter()
            .find(|s| s.actor == actor && s.sock == sock && s.call == Call::Socket)
            .and_then(|s| s.proto)
    }
}

/// A step's narration with this run's values filled in: `{fd}`, `{new_fd}`,
/// `{local}`, `{peer}`, `{bytes}`, `{data}`, `{result}`, and what the kernel
/// reported after the call about the socket it acted on: `{tcp_state}`,
/// `{recv_q}`, `{send_q}`, `{accept_q}`, `{backlog}`, `{timer_s}` (whole
/// seconds left on its timer, rounded down as `ss -o` and the kernel panel
/// show them), `{rcvbuf}`, `{sndbuf}`, `{drops}`, `{rcvbuf_errors}`, `{waited_ms}`, `{retransmits}`
/// (segments the kernel sent again, tcpi_total_retrans: a SYN counts), and
/// `{settle_ms}` (how long the kernel took to reach the reported state; 0 if
/// it was there at once), `{ready}` (poll's count of ready sockets) and
/// `{optval}` (the value getsockopt read). `{sockets.ACTOR:SOCK.FIELD}` is another socket of
/// the lesson as the kernel's tables list it after the call (the same names
/// as an `expect` key): FIELD is `tcp_state`, `recv_q`, `send_q`,
/// `accept_q`, `backlog`, `timer` (its name as `ss -o` prints it),
/// `timer_s`, `drops` or `seen_in`, so a sentence
/// about the receiver says the receiver's figure, not the sender's. A
/// placeholder whose value the call did not produce reads "(none)", never a
/// made-up value.
pub fn narrate(text: &str, event: &crate::event::Event) -> String {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "(none)".into());
    let k = event.kernel.clone().unwrap_or_default();
    let num = |v: Option<u64>| opt(v.map(|n| n.to_string()));
    let text = other_sockets(text, event);
    text.replace(
        "{tcp_state}",
        &opt(event.tcp_state.map(|s| s.name().to_string())),
    )
    .replace("{recv_q}", &num(k.recv_q))
    .replace("{send_q}", &num(k.send_q))
    .replace("{accept_q}", &num(k.accept_q))
    .replace("{backlog}", &num(k.backlog))
    .replace(
        "{timer_s}",
        &num(k.timer_ms.map(crate::kernel::words::seconds_left)),
    )
    .replace("{rcvbuf}", &num(k.rcvbuf))
    .replace("{sndbuf}", &num(k.sndbuf))
    .replace("{drops}", &num(k.drops))
    .replace("{rcvbuf_errors}", &num(k.udp_rcvbuf_errors))
    .replace("{waited_ms}", &num(event.waited_us.map(|w| w / 1000)))
    .replace("{settle_ms}", &num(Some(k.settle_ms.unwrap_or(0))))
    .replace("{retransmits}", &num(k.retransmits))
    .replace("{fd}", &opt(event.fd.map(|f| f.to_string())))
    .replace("{new_fd}", &opt(event.new_fd.map(|f| f.to_string())))
    .replace("{local}", &opt(event.local.clone()))
    .replace("{peer}", &opt(event.peer.clone()))
    .replace("{bytes}", &opt(event.bytes.map(|b| b.to_string())))
    .replace("{data}", &opt(event.data.clone()))
    .replace("{result}", event.result.name())
    .replace("{ready}", &num(event.ready.map(u64::from)))
    .replace("{optval}", &opt(event.optval.clone()))
}

/// Fill in `{sockets.ACTOR:SOCK.FIELD}` placeholders from the event's kernel
/// view of the lesson's sockets.
fn other_sockets(text: &str, event: &crate::event::Event) -> String {
    const OPEN: &str = "{sockets.";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        let after = &rest[at + OPEN.len()..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let value = after[..end].rsplit_once('.').map_or_else(
            || "(none)".to_string(),
            |(name, field)| sock_field(event.sockets.get(name), field),
        );
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// One field of a socket's kernel view, as narration text.
fn sock_field(v: Option<&crate::kernel::SockView>, field: &str) -> String {
    let num = |n: Option<u64>| n.map_or_else(|| "(none)".to_string(), |n| n.to_string());
    let Some(v) = v else {
        return "(none)".into();
    };
    match field {
        "tcp_state" => v
            .tcp_state
            .map_or_else(|| "(none)".into(), |s| s.name().to_string()),
        "recv_q" => num(v.recv_q),
        "send_q" => num(v.send_q),
        "accept_q" => num(v.accept_q),
        "backlog" => num(v.backlog),
        "timer" => v
            .timer
            .map_or_else(|| "(none)".into(), |t| t.name().to_string()),
        "timer_s" => num(v.timer_ms.map(crate::kernel::words::seconds_left)),
        "drops" => num(v.drops),
        "seen_in" => v.seen_in.name().to_string(),
        _ => "(none)".into(),
    }
}
