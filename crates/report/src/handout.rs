//! Markdown handouts: a lesson as it really ran, written for students to keep
//! (`sockscope trace LESSON --format markdown`, and key `e` in the TUI).
//!
//! Per step: the call as C would write it with the kernel's real result, the
//! narration with this run's values filled in, the claims checked in this run,
//! the kernel state reported with the event, and, for calls that move data,
//! the layers the message passed through. At the end: the whole run as lanes,
//! one column per endpoint, and the ports used, placed in the port ranges.
//! Every number in the handout comes from the run; nothing is typed in.
//!
//! [`serve`] writes the handout of a `sockscope serve` session (key `e` on
//! the serve screen), from the calls the screen holds.

pub mod serve;

use sockscope_core::engine::{EngineMsg, Event, Proto};
use sockscope_core::lesson::{self, Lesson};
use sockscope_core::vocab::preview::text_block;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;

/// The event fields a handout shows in their own places; any other field an
/// event carries (kernel observations added by observers) is listed under
/// "Kernel state" by its JSON name, so new observations reach handouts
/// without changes here.
const SHOWN: &[&str] = &[
    "tcp_state",
    "kernel",
    "sockets",
    "seq",
    "t_us",
    "step",
    "actor",
    "call",
    "sock",
    "proto",
    "fd",
    "new_fd",
    "local",
    "peer",
    "bytes",
    "data",
    "result",
    "errno",
    "explain",
    "args",
    "waited_us",
    "flags",
    "checks",
    "segments",
];

/// Write the handout for `lesson` from the messages of one run.
pub fn write(out: &mut impl Write, lesson: &Lesson, msgs: &[EngineMsg]) -> io::Result<()> {
    out.write_all(render(lesson, msgs).as_bytes())
}

/// Save the handout in `dir` as `sockscope-LESSON.md`, or `-2`, `-3`... if
/// that name is taken: an earlier handout is never overwritten. Returns the
/// path written.
pub fn save(
    dir: &std::path::Path,
    lesson: &Lesson,
    msgs: &[EngineMsg],
) -> io::Result<std::path::PathBuf> {
    save_text(dir, &lesson.name, &render(lesson, msgs))
}

/// Save `text` in `dir` as `sockscope-STEM.md`, or `sockscope-STEM-2.md`,
/// `-3`... if that name is taken (never overwriting one; `stem` cannot
/// make the name leave `dir`: see [`crate::files`]). Returns the path
/// written.
pub fn save_text(dir: &std::path::Path, stem: &str, text: &str) -> io::Result<std::path::PathBuf> {
    let (path, file) = crate::files::create_new(dir, &format!("sockscope-{stem}"), "md")?;
    crate::files::finish(file, text.as_bytes())?;
    Ok(path)
}

/// The handout as a string.
///
/// The lesson's own text (title, narration, names) came from a file, and a
/// teacher's file can hold anything: the whole document passes through
/// [`text_block`] once it is written, so whatever was missed in between,
/// no control character reaches the reader's terminal (`cat handout.md`).
/// Lines and tabs are kept.
#[must_use]
pub fn render(lesson: &Lesson, msgs: &[EngineMsg]) -> String {
    let mut s = String::new();
    let _ = write_doc(&mut s, lesson, msgs);
    text_block(&s).into_owned()
}

fn write_doc(s: &mut String, lesson: &Lesson, msgs: &[EngineMsg]) -> std::fmt::Result {
    writeln!(s, "# {}\n", lesson.title)?;
    writeln!(
        s,
        "*Lesson `{}`, run with sockscope {} on {}. Every call below really ran; every \
         number was reported by the kernel in this run.*\n",
        lesson.name,
        env!("CARGO_PKG_VERSION"),
        kernel_release()
    )?;
    if !lesson.intro.is_empty() {
        writeln!(s, "{}\n", lesson.intro.trim())?;
    }
    if !sockscope_core::engine::events(msgs)
        .iter()
        .any(|e| e.segments.is_some())
    {
        writeln!(
            s,
            "*Packets were not captured in this run (capture needs CAP_NET_RAW), so \
             the handout shows no packets: not observed, not absent.*\n"
        )?;
    }
    writeln!(s, "## Endpoints\n")?;
    for a in &lesson.actors {
        writeln!(s, "- **{}**: {}", a.name, a.role)?;
    }
    writeln!(s, "\n## Steps\n")?;
    // A `repeat` step makes many identical calls: the handout shows the first
    // and the last of them, and says how many ran in between.
    let per_step = |step: usize| {
        msgs.iter()
            .filter(|m| matches!(m, EngineMsg::Event(e) if e.step == step))
            .count()
    };
    let mut seen_of_step = (0, 0);
    for m in msgs {
        match m {
            EngineMsg::Event(e) => {
                let n = if seen_of_step.0 == e.step {
                    seen_of_step.1 + 1
                } else {
                    1
                };
                seen_of_step = (e.step, n);
                let total = per_step(e.step);
                if n == 1 || n == total {
                    write_step(s, lesson, e)?;
                } else if n == 2 {
                    writeln!(
                        s,
                        "> ... {} more calls of this step ran here, the same way.\n",
                        total - 2
                    )?;
                }
            }
            EngineMsg::Waiting(w) => {
                let answer = if w.call == sockscope_core::engine::Call::Connect {
                    "EINPROGRESS: the handshake is under way"
                } else {
                    "EAGAIN: nothing to do yet, so the call waits until a peer acts"
                };
                writeln!(
                    s,
                    "> {}'s `{}({})` has to wait: the kernel answered {answer}.\n",
                    w.actor, w.call, w.args
                )?;
            }
            EngineMsg::Finished => {}
            EngineMsg::Failed(e) => writeln!(s, "**The run stopped early:** {e}\n")?,
        }
    }
    let events = sockscope_core::engine::events(msgs);
    writeln!(s, "## The run as lanes\n")?;
    writeln!(
        s,
        "One column per endpoint, one row per call, in the order the calls returned.\n"
    )?;
    writeln!(s, "```text\n{}```\n", lanes(lesson, &events))?;
    let ports = ports_section(&events);
    if !ports.is_empty() {
        writeln!(s, "## Ports in this run\n")?;
        writeln!(s, "```text\n{ports}```")?;
    }
    Ok(())
}

fn write_step(s: &mut String, lesson: &Lesson, e: &Event) -> std::fmt::Result {
    let step = e.step.checked_sub(1).and_then(|i| lesson.steps.get(i));
    writeln!(s, "### {}. {}: `{}`\n", e.seq, e.actor, e.call)?;
    writeln!(s, "```c\n{}\n```\n", e.syscall_line())?;
    if let Some(x) = &e.explain {
        writeln!(s, "The kernel said **{}**: {x}\n", e.result)?;
    }
    if let Some(step) = step {
        writeln!(s, "{}\n", lesson::narrate(&step.say, e))?;
        if !step.why.is_empty() {
            writeln!(s, "*Why it matters:* {}\n", lesson::narrate(&step.why, e))?;
        }
        if !step.ask.is_empty() {
            writeln!(s, "*Ask the room:* {}\n", lesson::narrate(&step.ask, e))?;
        }
    }
    if !e.checks.is_empty() {
        writeln!(s, "Claims checked in this run:\n")?;
        for c in &e.checks {
            let mark = if c.ok { "holds" } else { "DOES NOT HOLD" };
            writeln!(
                s,
                "- `{}` expected `{}`, kernel said `{}`: {mark}",
                c.what, c.expected, c.seen
            )?;
        }
        writeln!(s)?;
    }
    let state = kernel_state(e);
    if !state.is_empty() {
        writeln!(s, "Kernel state after the call:\n")?;
        for line in state {
            writeln!(s, "- {line}")?;
        }
        writeln!(s)?;
    }
    match &e.segments {
        Some(segs) if !segs.is_empty() => {
            writeln!(s, "On the wire (captured on `lo`):\n\n```text")?;
            for seg in segs {
                writeln!(s, "{}", crate::headless::segment_line(seg).trim_start())?;
            }
            writeln!(s, "```\n")?;
        }
        _ => {}
    }
    if let Some(d) = layers(e) {
        writeln!(s, "```text\n{d}```\n")?;
    }
    Ok(())
}

/// What the event says about the socket after the call, one fact a line.
fn kernel_state(e: &Event) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(fd) = e.fd {
        out.push(format!("fd: {fd} ({} socket `{}`)", e.proto.name(), e.sock));
    }
    if let (Some(n), sockscope_core::engine::Call::Accept) = (e.new_fd, e.call) {
        out.push(format!("new connected socket: fd {n}"));
    }
    if let Some(l) = &e.local {
        out.push(format!("local address: {l}"));
    }
    if let Some(p) = &e.peer {
        out.push(format!("peer address: {p}"));
    }
    if let (Some(b), true) = (e.bytes, e.call.moves_data()) {
        let d = e.data.as_deref().unwrap_or_default();
        out.push(format!("bytes: {b} (\"{d}\")"));
    }
    if let Some(w) = e.waited_us {
        out.push(format!("waited: {:.3} ms", w as f64 / 1000.0));
    }
    for f in &e.flags {
        out.push(format!("flag: {f}"));
    }
    if let Some(k) = crate::headless::kernel_note(e) {
        out.push(format!("kernel: {k}"));
    }
    for (name, v) in &e.sockets {
        if name != &format!("{}:{}", e.actor, e.sock) {
            out.push(format!("{name}: {}", crate::headless::sock_view_note(v)));
        }
    }
    // Observations other modules add to the event.
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(e) {
        for (k, v) in map {
            if SHOWN.contains(&k.as_str()) || v.is_null() {
                continue;
            }
            let text = match &v {
                serde_json::Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            out.push(format!("{k}: {text}"));
        }
    }
    out
}

/// For a call that moved a message: the layers it passed through, with the
/// real addresses. Loopback traffic never reaches a physical link; the
/// network-interface layer is the kernel's `lo` device.
fn layers(e: &Event) -> Option<String> {
    if !e.call.moves_data() || !e.ok() || e.bytes == Some(0) {
        return None;
    }
    let local: SocketAddr = e.local.as_deref()?.parse().ok()?;
    let peer: SocketAddr = e.peer.as_deref()?.parse().ok()?;
    let (src, dst) = match e.call {
        sockscope_core::engine::Call::Send | sockscope_core::engine::Call::Sendto => (local, peer),
        _ => (peer, local),
    };
    let (unit, name) = match e.proto {
        Proto::Tcp => ("segment", "TCP"),
        Proto::Udp => ("datagram", "UDP"),
    };
    // The addresses the packet carried, from the capture when it ran: an
    // unbound UDP sender reports 0.0.0.0 as its local address, but the
    // kernel fills in the source from the route (127.0.0.1 on loopback).
    let wire = e
        .segments
        .iter()
        .flatten()
        .find(|seg| seg.len > 0 && !seg.late);
    let wire_ip = |a: &str| a.parse::<SocketAddr>().ok().map(|a| a.ip().to_string());
    let src_ip = match wire.and_then(|seg| wire_ip(&seg.src)) {
        Some(ip) => ip,
        None if src.ip().is_unspecified() => "(source chosen by the kernel from the route)".into(),
        None => src.ip().to_string(),
    };
    let dst_ip = wire
        .and_then(|seg| wire_ip(&seg.dst))
        .unwrap_or_else(|| dst.ip().to_string());
    // Every packet to 127.0.0.0/8 is routed through lo (the kernel's local
    // routing table), whatever the source.
    let lo = if dst.ip().is_loopback() {
        "lo (loopback: the kernel hands the packet to itself)".to_string()
    } else {
        format!("the interface of this machine's route to {}", dst.ip())
    };
    let mut d = String::new();
    let _ = writeln!(
        d,
        "application        \"{}\" ({} bytes)",
        e.data.as_deref().unwrap_or_default(),
        e.bytes.unwrap_or(0)
    );
    let _ = writeln!(
        d,
        "transport          {name} {unit}: port {} -> port {}",
        src.port(),
        dst.port()
    );
    let _ = writeln!(d, "network            IP packet: {src_ip} -> {dst_ip}");
    let _ = writeln!(d, "network interface  {lo}");
    Some(d)
}

/// The whole run as a text sequence diagram: a column per endpoint.
#[must_use]
pub fn lanes(lesson: &Lesson, events: &[&Event]) -> String {
    lanes_of(
        lesson.actors.iter().map(|a| a.name.clone()).collect(),
        events,
    )
}

/// The run as lanes, one column per actor in `actors` (and any other actor
/// the events name, after them).
fn lanes_of(mut actors: Vec<String>, events: &[&Event]) -> String {
    for e in events {
        if !actors.contains(&e.actor) {
            actors.push(e.actor.clone());
        }
    }
    let cells: Vec<String> = events
        .iter()
        .map(|e| {
            let mut c = format!(
                "{}({}) = {}",
                e.call,
                e.fd.map(|f| f.to_string()).unwrap_or_default(),
                e.return_value()
            );
            if !e.ok() {
                c.push(' ');
                c.push_str(e.result.name());
            }
            c
        })
        .collect();
    let width = actors
        .iter()
        .map(String::len)
        .chain(cells.iter().map(|c| c.chars().count()))
        .max()
        .unwrap_or(8)
        + 2;
    let mut s = String::new();
    let _ = write!(s, "{:>4} ", "seq");
    for a in &actors {
        let _ = write!(s, "| {a:<width$}");
    }
    s.push('\n');
    let _ = write!(s, "{:->4}-", "");
    for _ in &actors {
        let _ = write!(s, "+-{:-<width$}", "");
    }
    s.push('\n');
    for (e, cell) in events.iter().zip(&cells) {
        let _ = write!(s, "{:>4} ", e.seq);
        for a in &actors {
            let text = if *a == e.actor { cell.as_str() } else { "" };
            let _ = write!(s, "| {text:<width$}");
        }
        s.push('\n');
    }
    s
}

/// Every port the run used, in the course's three ranges and against this
/// machine's own ephemeral range.
fn ports_section(events: &[&Event]) -> String {
    let mut ports = BTreeSet::new();
    // Ports a bind asked for and did not get: in this run too, with the
    // errno that refused them (privileged's port 80 as an ordinary user).
    let mut refused = std::collections::BTreeMap::new();
    for e in events {
        for a in [&e.local, &e.peer].into_iter().flatten() {
            if let Ok(sa) = a.parse::<SocketAddr>() {
                ports.insert(sa.port());
            }
        }
        if e.call == sockscope_core::engine::Call::Bind && !e.ok() {
            let asked = e.args.rsplit_once(", ").map(|(_, a)| a);
            if let Some(sa) = asked.and_then(|a| a.parse::<SocketAddr>().ok())
                && sa.port() != 0
            {
                refused.entry(sa.port()).or_insert(e.result);
                ports.insert(sa.port());
            }
        }
    }
    let eph = ephemeral_range();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "0 ......... 1023 | 1024 ............ 49151 | 49152 ........ 65535"
    );
    let _ = writeln!(
        s,
        "  well-known     |  registered             |  dynamic / private"
    );
    if let Some((lo, hi)) = eph {
        let _ = writeln!(
            s,
            "this machine's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range): {lo}-{hi}"
        );
    }
    let _ = writeln!(s);
    for p in ports {
        let range = match p {
            0..=1023 => "well-known",
            1024..=49151 => "registered",
            _ => "dynamic/private",
        };
        let local = match eph {
            Some((lo, hi)) if (lo..=hi).contains(&p) => ", inside this machine's ephemeral range",
            Some(_) => ", outside this machine's ephemeral range",
            None => "",
        };
        let tried = refused
            .get(&p)
            .map(|errno| format!("; bind asked for it and failed with {errno}"))
            .unwrap_or_default();
        let _ = writeln!(s, "port {p:>5}: {range} range{local}{tried}");
    }
    s
}

fn ephemeral_range() -> Option<(u16, u16)> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut it = text.split_whitespace().map(str::parse::<u16>);
    Some((it.next()?.ok()?, it.next()?.ok()?))
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map_or_else(
        |_| std::env::consts::OS.to_string(),
        |r| format!("Linux {}", r.trim()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saving_never_overwrites_an_earlier_handout() {
        let dir = tempfile::tempdir().unwrap();
        let lesson = sockscope_core::lesson::builtin("udp").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let msgs = rt.block_on(sockscope_core::engine::run_to_end(lesson.clone(), 0));
        let a = save(dir.path(), &lesson, &msgs).unwrap();
        let b = save(dir.path(), &lesson, &msgs).unwrap();
        assert_eq!(a.file_name().unwrap(), "sockscope-udp.md");
        assert_eq!(b.file_name().unwrap(), "sockscope-udp-2.md");
        let text = std::fs::read_to_string(&a).unwrap();
        assert!(text.starts_with("# UDP: a receiver and a sender"));
        assert!(text.contains("recvfrom("));
    }

    /// Many savers at once (a pcap and a handout on the same key press, two
    /// windows): each gets its own file and none is overwritten, because the
    /// name is taken with create_new, not checked with `exists()` first.
    #[test]
    fn simultaneous_saves_never_share_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let made: Vec<std::path::PathBuf> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let dir = dir.path();
                    scope.spawn(move || {
                        let (path, mut f) =
                            crate::files::create_new(dir, "sockscope-x", "pcap").unwrap();
                        f.write_all(format!("writer {i}").as_bytes()).unwrap();
                        path
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut names: Vec<_> = made
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 8, "{made:?}");
        let mut texts: Vec<String> = made
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), 8, "each file holds its own writer's bytes");
    }
}
