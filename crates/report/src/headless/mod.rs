//! `sockscope trace`: run a lesson to the end without a terminal and print
//! what happened, as JSON Lines (one event per line, for scripts and graders)
//! or as a readable transcript in the spirit of strace; `--format markdown`
//! hands the whole run to [`crate::handout`]. `serve --headless` prints its
//! events through here too.

pub mod json;

use serde::Serialize;
use sockscope_core::engine::{EngineMsg, Event, Waiting};
use sockscope_core::lesson::Lesson;
use sockscope_core::vocab::Source;
use sockscope_core::vocab::preview::{text, text_block};
use sockscope_core::wire::{Direction, Segment};
use std::io::{self, Write};

/// Output formats of `trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON: for `trace`, one object per event, one per line; for `port`, one object.
    Json,
    /// Readable text: for `trace`, a transcript like strace.
    Text,
    /// A handout: each call with its result, the narration, the kernel state
    /// and the diagrams, written once the run is over.
    Markdown,
}

/// Print one engine message in `format`. A call that starts to wait is a
/// line of its own in both: in JSON an event whose `result` is `waiting`
/// (with `seq` 0, and where the kernel has it asleep), and the call's own
/// line follows when it returns, its `waited_us` saying how long it slept.
pub fn write_msg(out: &mut impl Write, format: Format, msg: &EngineMsg) -> io::Result<()> {
    match (format, msg) {
        (Format::Json, EngineMsg::Event(e)) => {
            json::write_event(out, e)?;
            writeln!(out)
        }
        (Format::Text, EngineMsg::Event(e)) => writeln!(out, "{}", text_line(e)),
        (Format::Json, EngineMsg::Waiting(w)) => {
            json::write_event(out, &Event::from_waiting(w))?;
            writeln!(out)
        }
        (Format::Text, EngineMsg::Waiting(w)) => writeln!(out, "{}", waiting_line(w)),
        (Format::Text, EngineMsg::Finished) => writeln!(out, "-- lesson finished"),
        // Said on stderr, whatever happens to it: a closed or broken stderr
        // must not turn a stopped lesson into a failed write.
        (_, EngineMsg::Failed(e)) => {
            let _ = writeln!(
                io::stderr(),
                "sockscope: lesson stopped: {}",
                text(&e.to_string())
            );
            Ok(())
        }
        (Format::Json | Format::Markdown, _) => Ok(()),
    }
}

/// The transcript's heading: the lesson's title and what the columns mean.
pub fn write_header(out: &mut impl Write, lesson: &Lesson) -> io::Result<()> {
    write_header_on(out, lesson, None)
}

/// [`write_header`], with the network the lesson runs on under the title
/// (`sockscope_core::lab::Network::label`: the lab or the machine's).
pub fn write_header_on(
    out: &mut impl Write,
    lesson: &Lesson,
    network: Option<&str>,
) -> io::Result<()> {
    // The title came from the lesson file: escaped, as everything printed
    // from a file is.
    writeln!(out, "# {} ({})", text(&lesson.title), text(&lesson.name))?;
    if let Some(network) = network {
        writeln!(out, "# {network}")?;
    }
    writeln!(
        out,
        "# {:>4} {:>9}  {:<9} call = result",
        "seq", "ms", "actor"
    )
}

/// `   7     1.234  server    accept(3) = 5   peer 127.0.0.1:41234`
///
/// Built in one string (it is written for every call of every run of
/// `trace --repeat`): the call, then what else the kernel said, from column
/// 62, two spaces apart.
#[must_use]
pub fn text_line(e: &Event) -> String {
    use std::fmt::Write as _;
    const EXTRA_AT: usize = 62;
    let mut line = String::with_capacity(128);
    let _ = write!(
        line,
        "  {:>4} {:>9.3}  {:<9} {}",
        e.seq,
        e.t_us as f64 / 1000.0,
        e.actor,
        call_as_run(e)
    );
    let width = line.chars().count();
    let mut started = false;
    let mut extra = |line: &mut String| {
        if !started {
            line.extend(std::iter::repeat_n(' ', EXTRA_AT.saturating_sub(width)));
            started = true;
        }
        line.push_str("  ");
    };
    if let Some(l) = &e.local {
        extra(&mut line);
        line.push_str("local ");
        line.push_str(l);
    }
    if let Some(p) = &e.peer {
        extra(&mut line);
        line.push_str("peer ");
        line.push_str(p);
    }
    if let (Some(d), true) = (&e.data, e.call.moves_data()) {
        extra(&mut line);
        let _ = write!(line, "\"{d}\"");
    }
    for flag in &e.flags {
        extra(&mut line);
        line.push_str(flag);
    }
    if let Some(w) = e.waited_us {
        extra(&mut line);
        let _ = write!(line, "waited {:.3} ms", w as f64 / 1000.0);
    }
    if let Some(k) = kernel_note(e) {
        extra(&mut line);
        line.push_str(&k);
    }
    if let Some(x) = &e.explain {
        let _ = write!(line, "\n{:>17}  {x}", "└");
    }
    if let Some(table) = &e.fds {
        let _ = write!(
            line,
            "\n{:>17}  open fds: {}",
            "└",
            sockscope_core::kernel::fds::summary(table, e.new_fd)
        );
    }
    for s in e.segments.iter().flatten() {
        line.push('\n');
        line.push_str(&segment_line(s));
    }
    // Payloads are escaped where they are read, names checked at load; the
    // line as a whole once more, so nothing in it can reach a terminal raw.
    match text_block(&line) {
        std::borrow::Cow::Borrowed(_) => line,
        std::borrow::Cow::Owned(safe) => safe,
    }
}

/// The call as strace would print it: under the syscall's own name where it
/// differs from the course's (`serve`'s `accept4(3, SOCK_CLOEXEC|SOCK_NONBLOCK)
/// = 5`), else as [`Event::syscall_line`] writes it.
#[must_use]
pub fn call_as_run(e: &Event) -> String {
    match &e.syscall {
        Some(name) if name != e.call.name() => {
            let mut line = format!("{name}({}) = {}", e.args, e.return_value());
            if !e.ok() {
                line.push(' ');
                line.push_str(e.result.name());
            }
            line
        }
        _ => e.syscall_line(),
    }
}

/// Put the packets captured after the last call of their connection on that
/// call's event, marked `late` (they arrived after it was reported), so the
/// JSON carries every packet of the run: none is left to a trailer only the
/// transcript prints. A packet of no reported connection goes on the run's
/// last event. Returns the packets no event could take (a run without
/// events).
pub fn attach_after_last_call(msgs: &mut [EngineMsg], segments: Vec<Segment>) -> Vec<Segment> {
    let mut left = Vec::new();
    for mut seg in segments {
        let ends = |e: &Event| {
            let (l, p) = (e.local.as_deref(), e.peer.as_deref());
            let wild = |a: Option<&str>, wire: &str| {
                a == Some(wire)
                    || a.and_then(|a| a.strip_prefix("0.0.0.0:"))
                        .is_some_and(|port| wire.rsplit_once(':').is_some_and(|(_, p)| p == port))
            };
            if wild(l, &seg.src) && p == Some(seg.dst.as_str()) {
                Some(Direction::Out)
            } else if wild(l, &seg.dst) && p == Some(seg.src.as_str()) {
                Some(Direction::In)
            } else {
                None
            }
        };
        let mut events = msgs.iter_mut().rev().filter_map(|m| match m {
            EngineMsg::Event(e) => Some(e),
            _ => None,
        });
        let own = events.find(|e| ends(e).is_some());
        let target = match own {
            Some(e) => Some(e),
            None => msgs.iter_mut().rev().find_map(|m| match m {
                EngineMsg::Event(e) => Some(e),
                _ => None,
            }),
        };
        match target {
            Some(e) => {
                seg.late = true;
                seg.direction =
                    ends(e).unwrap_or(if seg.from.as_deref() == Some(e.actor.as_str()) {
                        Direction::Out
                    } else {
                        Direction::In
                    });
                // An event of a run without capture has no list to join.
                if let Some(list) = e.segments.as_mut() {
                    list.push(seg);
                } else {
                    left.push(seg);
                }
            }
            None => left.push(seg),
        }
    }
    left
}

/// In the transcript, the packets no event could carry (see
/// [`attach_after_last_call`]).
pub fn write_after_last_call(
    out: &mut impl Write,
    format: Format,
    segments: &[Segment],
) -> io::Result<()> {
    if format != Format::Text || segments.is_empty() {
        return Ok(());
    }
    writeln!(out, "# captured after the last call of their connection:")?;
    for s in segments {
        writeln!(out, "{}", segment_line(s))?;
    }
    Ok(())
}

/// `                 #3  client → server  ACK seq=1 ack=1 win=512 len=0`
#[must_use]
pub fn segment_line(s: &Segment) -> String {
    let who = |name: &Option<String>, addr: &str| name.clone().unwrap_or_else(|| addr.to_string());
    let arrow = match s.direction {
        Direction::Out => "→",
        Direction::In => "←",
    };
    let mut line = format!(
        "{:>17}  {arrow} {} → {}  {}",
        format!("#{}", s.n),
        who(&s.from, &s.src),
        who(&s.to, &s.dst),
        s.summary()
    );
    if s.late {
        line.push_str("  (late)");
    }
    line
}

/// What the kernel reported after the call, in `ss` terms:
/// `[FIN_WAIT2 recv-q 0 send-q 0]`, `[LISTEN accept-q 1/4]`,
/// `[TIME_WAIT timewait 59s]`, `[gone]`, `[udp recv-q 768 drops 3]`.
#[must_use]
pub fn kernel_note(e: &Event) -> Option<String> {
    let k = e.kernel.as_ref()?;
    let mut parts = Vec::new();
    match (e.tcp_state, e.proto) {
        (Some(s), _) => parts.push(s.name().to_string()),
        (None, sockscope_core::engine::Proto::Tcp) if k.source == Source::None => {
            parts.push("gone".into());
        }
        _ => {}
    }
    if let (Some(first), Some(ms)) = (&k.first_state, k.settle_ms) {
        parts.push(format!("(was {first} for {ms} ms)"));
    }
    if let (Some(q), Some(b)) = (k.accept_q, k.backlog) {
        parts.push(format!("accept-q {q}/{b}"));
    }
    if let Some(q) = k.recv_q {
        parts.push(format!("recv-q {q}"));
    }
    if let Some(q) = k.send_q {
        parts.push(format!("send-q {q}"));
    }
    if let (Some(t), Some(ms)) = (k.timer, k.timer_ms) {
        parts.push(sockscope_core::kernel::words::timer(t, ms));
    }
    if let Some(d) = k.drops.filter(|&d| d > 0) {
        parts.push(sockscope_core::kernel::words::drops(d));
    }
    (!parts.is_empty()).then(|| format!("[{}]", parts.join(" ")))
}

/// One socket of the kernel view in `ss` terms: `TIME_WAIT (no fd) timewait
/// 59s`, `LISTEN accept-q 2/1`, `gone`.
#[must_use]
pub fn sock_view_note(v: &sockscope_core::kernel::SockView) -> String {
    let mut parts = vec![sockscope_core::kernel::words::state(v).to_string()];
    if let Some(who) = sockscope_core::kernel::words::without_fd(v) {
        parts.push(format!("({who})"));
    }
    if let Some(q) = v.accept_q {
        match v.backlog {
            Some(b) => parts.push(format!("accept-q {q}/{b}")),
            None => parts.push(format!("accept-q {q}")),
        }
    }
    if let Some(q) = v.recv_q.filter(|&q| q > 0) {
        parts.push(format!("recv-q {q}"));
    }
    if let Some(q) = v.send_q.filter(|&q| q > 0) {
        parts.push(format!("send-q {q}"));
    }
    if let (Some(t), Some(ms)) = (v.timer, v.timer_ms) {
        parts.push(sockscope_core::kernel::words::timer(t, ms));
    }
    if let Some(d) = v.drops.filter(|&d| d > 0) {
        parts.push(sockscope_core::kernel::words::drops(d));
    }
    parts.join(" ")
}

/// `          0.456  server    accept(3) ... waiting  [LISTEN]  blocked in the kernel: inet_csk_accept`
#[must_use]
pub fn waiting_line(w: &Waiting) -> String {
    format!(
        "  {:>4} {:>9.3}  {:<9} {}({}) ... waiting{}{}",
        "",
        w.t_us as f64 / 1000.0,
        w.actor,
        w.syscall.as_deref().unwrap_or(w.call.name()),
        text(&w.args),
        w.tcp_state.map(|s| format!("  [{s}]")).unwrap_or_default(),
        w.blocked_in()
            .map(|b| format!("  {}", text(&b)))
            .unwrap_or_default()
    )
}
