//! Reading a lesson file and checking that it makes sense before anything runs.
//!
//! A malformed lesson is reported with its file, line and column, never a
//! panic: teachers write their own lessons, and a typo must point at itself.

use super::{Lesson, SockOpt, Step};
use crate::place::line_col;
use crate::vocab::{Call, preview};
use std::collections::HashSet;
use std::fmt;

/// Why a lesson file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonError {
    pub file: String,
    /// 1-based line and column, when the problem has a place in the file.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for LessonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The file's name and the message can quote the file's own text:
        // escaped, so the error is one line and carries no control byte.
        let (file, message) = (preview::text(&self.file), preview::text(&self.message));
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{file}:{l}:{c}: {message}"),
            _ => write!(f, "{file}: {message}"),
        }
    }
}

impl std::error::Error for LessonError {}

/// Parse and validate one lesson. `file` names it in error messages.
pub fn parse_lesson(file: &str, src: &str) -> Result<Lesson, LessonError> {
    let lesson: Lesson = toml::from_str(src).map_err(|e| {
        let (line, column) = match e.span() {
            Some(span) => {
                let (l, c) = line_col(src, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        LessonError {
            file: file.to_string(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })?;
    validate(&lesson).map_err(|Invalid { at, message }| {
        let place = spans::place(src, &at);
        LessonError {
            file: file.to_string(),
            line: place.map(|p| p.0),
            column: place.map(|p| p.1),
            message: match at {
                At::Step(n, _) => format!("step {}: {message}", n + 1),
                _ => message,
            },
        }
    })?;
    Ok(lesson)
}

/// Is `spec` a literal address or `$port` form, rather than an `actor:sock`
/// reference?
#[must_use]
pub fn is_literal_addr(spec: &str) -> bool {
    spec.replace("$port", "0")
        .parse::<std::net::SocketAddr>()
        .is_ok()
}

/// The limits every number in a lesson is checked against at load, so a
/// lesson file can never make sockscope allocate without bound or run for
/// ever (`max = 99999999999` asked for a 100 GB buffer; `repeat = 100000000`
/// grew memory by 50 MB a second). docs/lessons.md lists them.
pub mod limits {
    use std::ops::RangeInclusive;
    /// Steps in one lesson.
    pub const STEPS: RangeInclusive<usize> = 1..=500;
    /// Actors (lanes) in one lesson.
    pub const ACTORS: RangeInclusive<usize> = 1..=16;
    /// listen's backlog: Linux lowers anything above net.core.somaxconn
    /// (4096 by default) to it without saying so, so a larger value would
    /// make the narration's number untrue.
    pub const BACKLOG: RangeInclusive<i32> = 0..=4096;
    /// recv/recvfrom's buffer: 64 KiB holds the largest UDP datagram.
    pub const MAX: RangeInclusive<usize> = 1..=65_536;
    /// How many times one step's call is made.
    pub const REPEAT: RangeInclusive<u32> = 1..=1000;
    /// Every call of a run, counting each repetition: what one run keeps.
    pub const CALLS: usize = 10_000;
    /// A send/sendto payload: the largest UDP payload over IPv4.
    pub const DATA_BYTES: usize = 65_507;
    /// A `fill` payload: enough to fill any buffer a lesson sets up, small
    /// enough to hold in memory many times over.
    pub const FILL_BYTES: RangeInclusive<usize> = 1..=1024 * 1024;
    /// SO_LINGER's timeout in seconds.
    pub const LINGER_SECONDS: RangeInclusive<u32> = 0..=600;
    /// SO_RCVBUF's request in bytes (the kernel caps it at rmem_max anyway).
    pub const RCVBUF_BYTES: RangeInclusive<usize> = 1..=16 * 1024 * 1024;
    /// SO_RCVTIMEO in milliseconds: at least 1 (0 means no timeout), at
    /// most a minute, so the room sees it run out.
    pub const RCVTIMEO_MS: RangeInclusive<u32> = 1..=60_000;
    /// TCP_SYNCNT: what Linux accepts, 1 to 127 (MAX_TCP_SYNCNT; 128 is
    /// EINVAL). Few retries make a connect give up while the room watches
    /// (timeouts); 127 keeps one trying for hours, however long the class
    /// pauses before the server accepts (backlog).
    pub const SYNCNT: RangeInclusive<u32> = 1..=127;
    /// poll's timeout in milliseconds: -1 (no timeout) up to a minute, so a
    /// lesson's poll that times out does so while the room still watches.
    pub const POLL_TIMEOUT_MS: RangeInclusive<i32> = -1..=60_000;
    /// Names of lessons, actors and sockets: at most this many characters.
    pub const NAME_CHARS: usize = 40;
}

/// Is `name` a valid name for a lesson, an actor or a socket: ASCII letters,
/// digits, `-` and `_`, starting with a letter or digit, at most
/// [`limits::NAME_CHARS`] characters? A lesson's name becomes part of file
/// names (`sockscope-NAME.md`), and actors' and sockets' names part of
/// `actor:sock` references and JSON keys, so none may hold a `/`, a `:`, a
/// dot-dot or a control character.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= limits::NAME_CHARS
}

fn name_rule(what: &str, name: &str) -> String {
    format!(
        "{what} `{}` is not a valid name: use ASCII letters, digits, `-` and `_`, starting with a letter or digit, at most {} characters",
        crate::vocab::preview::text(name),
        limits::NAME_CHARS
    )
}

/// Where in the file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum At {
    /// A top-level key.
    Lesson(&'static str),
    /// The n-th `[[actor]]`'s key.
    Actor(usize, &'static str),
    /// The n-th `[[step]]`, at a key (a dotted path into an inline table:
    /// `opt.seconds`) or, with `None`, its header; with `Some(text)` in
    /// [`Key::Text`], the first occurrence of that text inside the key's
    /// value.
    Step(usize, Option<Key>),
    /// Nowhere in particular.
    Nowhere,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Path(&'static str),
    Text(&'static str, String),
}

struct Invalid {
    at: At,
    message: String,
}

fn bad(at: At, message: impl Into<String>) -> Invalid {
    Invalid {
        at,
        message: message.into(),
    }
}

fn at_step(i: usize, key: &'static str) -> At {
    At::Step(i, Some(Key::Path(key)))
}

/// `n` is within `range`, or an error saying the range.
fn in_range<T: PartialOrd + std::fmt::Display>(
    at: At,
    what: &str,
    n: T,
    range: &std::ops::RangeInclusive<T>,
) -> Result<(), Invalid> {
    if range.contains(&n) {
        return Ok(());
    }
    Err(bad(
        at,
        format!(
            "`{what} = {n}` is out of range: it must be {}-{}",
            range.start(),
            range.end()
        ),
    ))
}

/// A literal address whose port does not fit in 16 bits (`127.0.0.1:70000`)
/// is a typo to name as such, not a reference to a socket called `70000`.
fn bad_port(spec: &str) -> Option<String> {
    let (host, port) = spec.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    (is_ip && digits && port.parse::<u16>().is_err()).then(|| {
        format!(
            "`{spec}`: port {port} is out of range: a port is 0-65535 (0 lets the kernel choose)"
        )
    })
}

/// The placeholders of `text` that [`super::narrate`] does not know: whatever
/// is still `{word}` after every known one is replaced. Derived from
/// `narrate` itself, so the two can never disagree.
fn unknown_placeholders(text: &str) -> Vec<String> {
    let filled = super::narrate(text, &crate::event::Event::default());
    let mut unknown = Vec::new();
    let mut rest = filled.as_str();
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('}') else { break };
        let word = &rest[..close];
        if word.starts_with(|c: char| c.is_ascii_lowercase())
            && word
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            unknown.push(format!("{{{word}}}"));
        }
    }
    unknown
}

fn validate(lesson: &Lesson) -> Result<(), Invalid> {
    if lesson.name.trim().is_empty() {
        return Err(bad(At::Lesson("name"), "the lesson needs a `name`"));
    }
    if !valid_name(&lesson.name) {
        return Err(bad(
            At::Lesson("name"),
            name_rule("lesson name", &lesson.name),
        ));
    }
    if lesson.actors.is_empty() {
        return Err(bad(At::Nowhere, "the lesson needs at least one [[actor]]"));
    }
    if lesson.steps.is_empty() {
        return Err(bad(At::Nowhere, "the lesson needs at least one [[step]]"));
    }
    if !limits::ACTORS.contains(&lesson.actors.len()) {
        return Err(bad(
            At::Actor(*limits::ACTORS.end(), "name"),
            format!(
                "the lesson has {} actors: at most {} are allowed",
                lesson.actors.len(),
                limits::ACTORS.end()
            ),
        ));
    }
    if !limits::STEPS.contains(&lesson.steps.len()) {
        return Err(bad(
            At::Step(*limits::STEPS.end(), None),
            format!(
                "the lesson has {} steps: at most {} are allowed",
                lesson.steps.len(),
                limits::STEPS.end()
            ),
        ));
    }
    let mut actors = HashSet::new();
    for (i, a) in lesson.actors.iter().enumerate() {
        if !valid_name(&a.name) {
            return Err(bad(At::Actor(i, "name"), name_rule("actor", &a.name)));
        }
        if !actors.insert(a.name.as_str()) {
            return Err(bad(
                At::Actor(i, "name"),
                format!("actor `{}` is declared twice", a.name),
            ));
        }
    }
    // Which sockets exist (opened and not yet closed), per actor, and every
    // socket ever named (references may point at a closed socket's address).
    let mut open: HashSet<(&str, &str)> = HashSet::new();
    let mut ever: HashSet<(&str, &str)> = HashSet::new();
    let mut calls = 0usize;
    for (i, step) in lesson.steps.iter().enumerate() {
        let err =
            |key: Option<&'static str>, m: String| Err(bad(At::Step(i, key.map(Key::Path)), m));
        if !actors.contains(step.actor.as_str()) {
            return err(
                Some("actor"),
                format!("actor `{}` is not declared", preview::text(&step.actor)),
            );
        }
        for w in &step.wakes {
            if !actors.contains(w.as_str()) {
                return err(
                    Some("wakes"),
                    format!("`wakes` names undeclared actor `{}`", preview::text(w)),
                );
            }
        }
        if !valid_name(&step.sock) {
            return err(Some("sock"), name_rule("socket", &step.sock));
        }
        if let Some(new) = &step.new
            && !valid_name(new)
        {
            return err(Some("new"), name_rule("socket", new));
        }
        let key = (step.actor.as_str(), step.sock.as_str());
        if step.call == Call::Socket {
            if step.proto.is_none() {
                return err(None, "socket needs `proto = \"tcp\"` or `\"udp\"`".into());
            }
            open.insert(key);
            ever.insert(key);
        } else if !open.contains(&key) {
            return err(
                Some("sock"),
                format!(
                    "{} uses socket `{}` of `{}`, which is not open at this point",
                    step.call, step.sock, step.actor
                ),
            );
        }
        check_args(step).or_else(|m| err(None, m))?;
        check_numbers(i, step)?;
        if step.dontwait && !matches!(step.call, Call::Recv | Call::Recvfrom) {
            return err(
                Some("dontwait"),
                "`dontwait` applies to recv and recvfrom only".into(),
            );
        }
        if step.fd_table && !matches!(step.call, Call::Socket | Call::Accept) {
            return err(
                Some("fd_table"),
                "`fd_table` applies to socket and accept, the calls that make an fd".into(),
            );
        }
        if let Some(p) = &step.predict {
            if !(2..=4).contains(&p.choices.len()) {
                return err(
                    Some("predict"),
                    format!("`predict` has {} choices: give it 2 to 4", p.choices.len()),
                );
            }
            if let Some(c) = p.choices.iter().find(|c| c.expect.is_empty()) {
                return err(
                    Some("predict"),
                    format!(
                        "choice `{}` has no `expect`: its claims decide whether it came true",
                        preview::text(&c.say)
                    ),
                );
            }
        }
        if let Some(to) = &step.handoff {
            if step.call != Call::Accept {
                return err(Some("handoff"), "`handoff` applies to accept only".into());
            }
            if !actors.contains(to.as_str()) || *to == step.actor {
                return err(
                    Some("handoff"),
                    format!(
                        "`handoff` names `{}`: it must be another declared actor",
                        preview::text(to)
                    ),
                );
            }
        }
        if step.waitall && step.call != Call::Recv {
            return err(Some("waitall"), "`waitall` applies to recv only".into());
        }
        if step.fill.is_some() && step.call != Call::Send {
            return err(Some("fill"), "`fill` applies to send only".into());
        }
        if step.rest && step.call != Call::Send {
            return err(Some("rest"), "`rest` applies to send only".into());
        }
        if step.htonl.is_some() && step.call != Call::Send {
            return err(Some("htonl"), "`htonl` applies to send only".into());
        }
        if step.ntohl && (step.call != Call::Recv || step.max != Some(4)) {
            return err(
                Some("ntohl"),
                "`ntohl` applies to a recv of exactly 4 bytes (`max = 4`)".into(),
            );
        }
        if !step.also.is_empty() && step.call != Call::Poll {
            return err(Some("also"), "`also` applies to poll only".into());
        }
        for other in &step.also {
            if !open.contains(&(step.actor.as_str(), other.as_str())) {
                return err(
                    Some("also"),
                    format!(
                        "poll watches socket `{}` of `{}`, which is not open at this point",
                        preview::text(other),
                        step.actor
                    ),
                );
            }
        }
        for (field, given, call) in [
            ("nonblock", step.nonblock.is_some(), Call::Fcntl),
            ("events", step.events.is_some(), Call::Poll),
            ("timeout_ms", step.timeout_ms.is_some(), Call::Poll),
            ("get", step.get.is_some(), Call::Getsockopt),
        ] {
            if given && step.call != call {
                return err(Some(field), format!("`{field}` applies to {call} only"));
            }
        }
        if step.until.is_some() && step.repeat.is_none() {
            return err(
                Some("until"),
                "`until` needs `repeat` (the most times to try)".into(),
            );
        }
        if step.repeat.is_some() && (step.park == Some(true) || !step.wakes.is_empty()) {
            return err(
                Some("repeat"),
                "a repeated step cannot park or wake others".into(),
            );
        }
        calls += step.repeat.unwrap_or(1) as usize;
        if calls > limits::CALLS {
            return err(
                Some("repeat"),
                format!(
                    "with this step the lesson makes more than {} calls (counting each repeat): at most {} are allowed in one run",
                    limits::CALLS,
                    limits::CALLS
                ),
            );
        }
        for (field, spec) in [("addr", &step.addr), ("to", &step.to)] {
            let Some(spec) = spec else { continue };
            if is_literal_addr(spec) {
                continue;
            }
            if let Some(m) = bad_port(spec) {
                return err(Some(field), m);
            }
            let Some((a, s)) = spec.split_once(':') else {
                return err(
                    Some(field),
                    format!(
                        "`{}` is neither an address nor `actor:socket`",
                        preview::text(spec)
                    ),
                );
            };
            if !ever.contains(&(a, s)) {
                return err(
                    Some(field),
                    format!(
                        "`{}` refers to a socket that has not been opened before this step",
                        preview::text(spec)
                    ),
                );
            }
        }
        for (field, text) in [("say", &step.say), ("why", &step.why), ("ask", &step.ask)] {
            if let Some(word) = unknown_placeholders(text).into_iter().next() {
                return Err(bad(
                    At::Step(i, Some(Key::Text(field, word.clone()))),
                    format!(
                        "`{word}` in `{field}` is not a placeholder sockscope fills in (docs/lessons.md lists them); write it differently if it is meant literally"
                    ),
                ));
            }
        }
        match step.call {
            Call::Accept => {
                let new = step.new.as_deref().unwrap_or_default();
                let owner = step.new_owner();
                open.insert((owner, new));
                ever.insert((owner, new));
            }
            Call::Close => {
                open.remove(&key);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Every number of a step within its documented range ([`limits`]).
fn check_numbers(i: usize, step: &Step) -> Result<(), Invalid> {
    if let Some(b) = step.backlog {
        in_range(at_step(i, "backlog"), "backlog", b, &limits::BACKLOG)?;
    }
    if let Some(m) = step.max {
        in_range(at_step(i, "max"), "max", m, &limits::MAX)?;
    }
    if let Some(r) = step.repeat {
        in_range(at_step(i, "repeat"), "repeat", r, &limits::REPEAT)?;
    }
    if let Some(f) = step.fill {
        in_range(at_step(i, "fill"), "fill", f, &limits::FILL_BYTES)?;
    }
    if let Some(t) = step.timeout_ms {
        in_range(
            at_step(i, "timeout_ms"),
            "timeout_ms",
            t,
            &limits::POLL_TIMEOUT_MS,
        )?;
    }
    if let Some(d) = &step.data
        && d.len() > limits::DATA_BYTES
    {
        return Err(bad(
            at_step(i, "data"),
            format!(
                "`data` is {} bytes: at most {} are allowed (the largest UDP payload over IPv4)",
                d.len(),
                limits::DATA_BYTES
            ),
        ));
    }
    match step.opt {
        Some(SockOpt::Linger { seconds }) => in_range(
            at_step(i, "opt.seconds"),
            "seconds",
            seconds,
            &limits::LINGER_SECONDS,
        ),
        Some(SockOpt::Rcvbuf { bytes } | SockOpt::Sndbuf { bytes }) => in_range(
            at_step(i, "opt.bytes"),
            "bytes",
            bytes,
            &limits::RCVBUF_BYTES,
        ),
        Some(SockOpt::Rcvtimeo { ms }) => {
            in_range(at_step(i, "opt.ms"), "ms", ms, &limits::RCVTIMEO_MS)
        }
        Some(SockOpt::Syncnt { count }) => {
            in_range(at_step(i, "opt.count"), "count", count, &limits::SYNCNT)
        }
        Some(SockOpt::Reuseaddr { .. }) | None => Ok(()),
    }
}

/// Byte spans of keys, read with toml's spanned parser, to put a line and
/// column on problems found after the lesson has been read.
mod spans {
    use super::{At, Key};
    use crate::place::line_col;
    use toml::de::{DeTable, DeValue};

    /// The byte range of `key` (a dotted path) inside `table`.
    fn in_table(table: &DeTable<'_>, path: &str) -> Option<std::ops::Range<usize>> {
        let (first, rest) = match path.split_once('.') {
            Some((f, r)) => (f, Some(r)),
            None => (path, None),
        };
        let value = table.get(first)?;
        match (rest, value.get_ref()) {
            (None, _) => Some(value.span()),
            (Some(rest), DeValue::Table(t)) => in_table(t, rest),
            _ => None,
        }
    }

    /// The n-th table of the array of tables `name` (`[[step]]`).
    fn nth<'a, 'i>(root: &'a DeTable<'i>, name: &str, n: usize) -> Option<&'a DeTable<'i>> {
        match root.get(name)?.get_ref() {
            DeValue::Array(items) => match items.get(n)?.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            },
            _ => None,
        }
    }

    /// Line and column of `at` in `src`.
    pub(super) fn place(src: &str, at: &At) -> Option<(usize, usize)> {
        let header = |n: usize| {
            src.match_indices("[[step]]")
                .nth(n)
                .map(|(off, _)| line_col(src, off))
        };
        let root = DeTable::parse(src).ok()?;
        let root = root.get_ref();
        let offset = match at {
            At::Nowhere => return None,
            At::Lesson(key) => in_table(root, key)?.start,
            At::Actor(n, key) => in_table(nth(root, "actor", *n)?, key)?.start,
            At::Step(n, None) => return header(*n),
            At::Step(n, Some(Key::Path(key))) => {
                match nth(root, "step", *n).and_then(|t| in_table(t, key)) {
                    Some(span) => span.start,
                    None => return header(*n),
                }
            }
            At::Step(n, Some(Key::Text(key, text))) => {
                let Some(span) = nth(root, "step", *n).and_then(|t| in_table(t, key)) else {
                    return header(*n);
                };
                // The text as written: a placeholder is plain ASCII, so it
                // stands in the file exactly as in the decoded string.
                span.start + src[span.clone()].find(text.as_str()).unwrap_or(0)
            }
        };
        Some(line_col(src, offset))
    }
}

fn check_args(step: &Step) -> Result<(), String> {
    let need = |present: bool, what: &str| {
        if present {
            Ok(())
        } else {
            Err(format!("{} needs `{what}`", step.call))
        }
    };
    match step.call {
        Call::Bind => need(step.addr.is_some(), "addr"),
        Call::Connect => need(step.to.is_some(), "to"),
        Call::Sendto => {
            need(step.to.is_some(), "to")?;
            need(step.data.is_some(), "data")
        }
        Call::Send => {
            let given = [
                step.data.is_some(),
                step.htonl.is_some(),
                step.fill.is_some(),
                step.rest,
            ]
            .into_iter()
            .filter(|g| *g)
            .count();
            match given {
                0 => need(false, "data"),
                1 => Ok(()),
                _ => Err("send takes one of `data`, `htonl`, `fill` or `rest`".into()),
            }
        }
        Call::Accept => need(step.new.is_some(), "new"),
        Call::Shutdown => need(step.how.is_some(), "how"),
        Call::Setsockopt => need(step.opt.is_some(), "opt"),
        Call::Fcntl => need(step.nonblock.is_some(), "nonblock"),
        Call::Poll => need(step.events.is_some(), "events"),
        Call::Getsockopt => need(step.get.is_some(), "get"),
        Call::Socket | Call::Listen | Call::Recv | Call::Recvfrom | Call::Close => Ok(()),
        Call::Dup => Err(format!(
            "{} is shown only for a traced program (`sockscope run`); a lesson cannot make it",
            step.call
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "t"
title = "T"
summary = "s"

[[actor]]
name = "a"
role = "A"

[[step]]
actor = "a"
call = "socket"
sock = "s"
proto = "tcp"
say = "made"
"#;

    #[test]
    fn a_minimal_lesson_parses() {
        let l = parse_lesson("t.toml", MINIMAL).unwrap();
        assert_eq!(l.steps.len(), 1);
    }

    #[test]
    fn a_syntax_error_names_file_line_and_column() {
        let src = MINIMAL.replace("call = \"socket\"", "call = socket");
        let e = parse_lesson("bad.toml", &src).unwrap_err();
        assert_eq!(e.file, "bad.toml");
        assert_eq!(e.line, Some(12));
        assert!(e.column.is_some());
        assert!(e.to_string().starts_with("bad.toml:12:"), "{e}");
    }

    #[test]
    fn an_unknown_call_is_rejected_with_its_place() {
        let src = MINIMAL.replace("call = \"socket\"", "call = \"sockett\"");
        let e = parse_lesson("bad.toml", &src).unwrap_err();
        assert_eq!(e.line, Some(12), "{e}");
    }

    #[test]
    fn using_a_socket_before_opening_it_is_rejected() {
        let src = format!(
            "{MINIMAL}\n[[step]]\nactor = \"a\"\ncall = \"listen\"\nsock = \"other\"\nsay = \"x\"\n"
        );
        let e = parse_lesson("bad.toml", &src).unwrap_err();
        assert!(e.message.contains("step 2"), "{e}");
        assert!(e.message.contains("not open"), "{e}");
    }

    #[test]
    fn missing_arguments_are_named() {
        let src = format!(
            "{MINIMAL}\n[[step]]\nactor = \"a\"\ncall = \"bind\"\nsock = \"s\"\nsay = \"x\"\n"
        );
        let e = parse_lesson("bad.toml", &src).unwrap_err();
        assert!(e.message.contains("bind needs `addr`"), "{e}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let src = MINIMAL.replace("say = \"made\"", "say = \"made\"\nsya = \"typo\"");
        let e = parse_lesson("bad.toml", &src).unwrap_err();
        assert!(e.message.contains("sya"), "{e}");
    }

    #[test]
    fn the_non_blocking_calls_need_their_argument_and_keep_it_to_themselves() {
        let e = parse_lesson("bad.toml", &with_step("call = \"fcntl\"")).unwrap_err();
        assert!(e.message.contains("fcntl needs `nonblock`"), "{e}");
        let e = parse_lesson("bad.toml", &with_step("call = \"poll\"")).unwrap_err();
        assert!(e.message.contains("poll needs `events`"), "{e}");
        let e = parse_lesson("bad.toml", &with_step("call = \"getsockopt\"")).unwrap_err();
        assert!(e.message.contains("getsockopt needs `get`"), "{e}");
        let (line, _, m) = error(&with_step("call = \"recv\"\nnonblock = true"));
        assert_eq!(line, 22);
        assert!(m.contains("`nonblock` applies to fcntl only"), "{m}");
        let (_, _, m) = error(&with_step(
            "call = \"poll\"\nevents = \"in\"\ntimeout_ms = 60001",
        ));
        assert!(m.contains("-1-60000") || m.contains("60000"), "{m}");
        let ok = with_step("call = \"poll\"\nevents = \"out\"\ntimeout_ms = 10");
        let lesson = parse_lesson("ok.toml", &ok).unwrap();
        let poll = lesson.steps.last().unwrap();
        assert!(!poll.parks(), "a poll with a timeout returns on its own");
    }

    /// MINIMAL with one more step appended.
    fn with_step(step: &str) -> String {
        format!("{MINIMAL}\n[[step]]\nactor = \"a\"\nsock = \"s\"\nsay = \"x\"\n{step}\n")
    }

    /// The error for `src`, with its line and column.
    fn error(src: &str) -> (usize, usize, String) {
        let e = parse_lesson("bad.toml", src).unwrap_err();
        (
            e.line.expect("a line"),
            e.column.expect("a column"),
            e.message,
        )
    }

    #[test]
    fn every_number_is_checked_against_its_range_at_its_place() {
        // The header of the added step is line 17; its keys follow.
        for (step, key, range) in [
            ("call = \"recv\"\nmax = 99999999999", "max", "1-65536"),
            ("call = \"recv\"\nmax = 0", "max", "1-65536"),
            ("call = \"recv\"\nrepeat = 100000000", "repeat", "1-1000"),
            ("call = \"recv\"\nrepeat = 0", "repeat", "1-1000"),
            ("call = \"listen\"\nbacklog = 100000", "backlog", "0-4096"),
            (
                "call = \"setsockopt\"\nopt = { name = \"linger\", seconds = 100000 }",
                "seconds",
                "0-600",
            ),
            (
                "call = \"setsockopt\"\nopt = { name = \"rcvbuf\", bytes = 999999999999 }",
                "bytes",
                "1-16777216",
            ),
        ] {
            let src = with_step(step);
            let (line, column, message) = error(&src);
            assert!(message.contains(range), "{step}: {message}");
            assert!(message.contains(key), "{step}: {message}");
            let text = src.lines().nth(line - 1).unwrap();
            assert!(
                text[column - 1..].starts_with(|c: char| c.is_ascii_digit()),
                "{step}: points at the number, not {text:?} col {column}"
            );
        }
    }

    #[test]
    fn the_calls_of_a_run_are_bounded_however_the_repeats_add_up() {
        let mut src = MINIMAL.to_string();
        for _ in 0..11 {
            src.push_str("\n[[step]]\nactor = \"a\"\ncall = \"recv\"\nsock = \"s\"\nsay = \"x\"\nrepeat = 1000\n");
        }
        let (_, _, message) = error(&src);
        assert!(message.contains("10000 calls"), "{message}");
    }

    #[test]
    fn names_are_checked_so_no_name_can_leave_a_folder_or_reach_a_terminal() {
        for bad in [
            "x/../../trav_target/evil",
            "..",
            "a b",
            "\u{1b}]0;pwned\u{7}",
            "-x",
            "",
        ] {
            let src = MINIMAL.replace("name = \"t\"", &format!("name = {bad:?}"));
            let e = parse_lesson("bad.toml", &src).unwrap_err();
            assert_eq!(e.line, Some(2), "{e}");
            assert!(!e.to_string().contains('\u{1b}'), "{e}");
        }
        let src = MINIMAL.replace("name = \"a\"", "name = \"a:b\"");
        assert!(error(&src).2.contains("actor `a:b` is not a valid name"));
        for ok in ["tcp", "my-tcp", "udp_2", "Lesson9"] {
            assert!(valid_name(ok), "{ok}");
        }
    }

    #[test]
    fn an_actor_declared_twice_is_placed_at_the_second() {
        let src = MINIMAL.replace(
            "[[actor]]\nname = \"a\"\nrole = \"A\"\n",
            "[[actor]]\nname = \"a\"\nrole = \"A\"\n\n[[actor]]\nname = \"a\"\nrole = \"again\"\n",
        );
        let (line, column, message) = error(&src);
        assert!(message.contains("declared twice"), "{message}");
        assert_eq!((line, column), (11, 8));
    }

    #[test]
    fn a_port_beyond_65535_is_named_as_such() {
        let src = with_step("call = \"bind\"\naddr = \"127.0.0.1:70000\"");
        let (line, _, message) = error(&src);
        assert!(message.contains("port 70000 is out of range"), "{message}");
        assert!(!message.contains("has not been opened"), "{message}");
        assert_eq!(
            src.lines().nth(line - 1),
            Some("addr = \"127.0.0.1:70000\"")
        );
    }

    #[test]
    fn a_question_needs_two_to_four_choices_each_with_claims() {
        let one = MINIMAL.replace(
            "say = \"made\"",
            "say = \"made\"\npredict = { ask = \"?\", choices = [{ say = \"a\", expect = { fd = 3 } }] }",
        );
        let (_, _, message) = error(&one);
        assert!(
            message.contains("has 1 choices: give it 2 to 4"),
            "{message}"
        );
        let bare = MINIMAL.replace(
            "say = \"made\"",
            "say = \"made\"\npredict = { ask = \"?\", choices = [{ say = \"a\", expect = { fd = 3 } }, { say = \"b\", expect = {} }] }",
        );
        let (_, _, message) = error(&bare);
        assert!(message.contains("choice `b` has no `expect`"), "{message}");
        let ok = MINIMAL.replace(
            "say = \"made\"",
            "say = \"made\"\npredict = { ask = \"?\", choices = [{ say = \"a\", expect = { fd = 3 } }, { say = \"b\", expect = { fd = 4 } }] }",
        );
        assert!(parse_lesson("ok.toml", &ok).is_ok());
    }

    #[test]
    fn an_unknown_placeholder_is_rejected_where_it_is_written() {
        let src = MINIMAL.replace("say = \"made\"", "say = \"made {fd}, on {prot}\"");
        let (line, column, message) = error(&src);
        assert!(message.contains("`{prot}`"), "{message}");
        assert_eq!((line, column), (15, 22));
        // Known ones, and braces that are not a placeholder, pass.
        let ok = MINIMAL.replace(
            "say = \"made\"",
            "say = \"{fd} {tcp_state} {} {0} {AF_INET}\"",
        );
        assert!(parse_lesson("ok.toml", &ok).is_ok());
    }

    #[test]
    fn a_value_with_newlines_or_escapes_gives_a_one_line_error() {
        let src = with_step("call = \"bind\"\naddr = \"no\\nsuch\\u001b[2J\"");
        let e = parse_lesson("bad.toml", &src).unwrap_err().to_string();
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(!e.contains('\u{1b}'), "{e}");
    }
}
