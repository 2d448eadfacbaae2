//! Reading a lesson file and checking that it makes sense before anything runs.
//!
//! A malformed lesson is reported with its file, line and column, never a
//! panic: teachers write their own lessons, and a typo must point at itself.

use super::{Lesson, Step};
use crate::place::line_col;
use crate::vocab::Call;
use std::collections::{HashMap, HashSet};
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
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{}:{}: {}", self.file, l, c, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
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
    validate(&lesson).map_err(|(step, message)| {
        // Point at the step's `[[step]]` header: the n-th one in the file.
        let place = step.and_then(|n| {
            src.match_indices("[[step]]")
                .nth(n)
                .map(|(off, _)| line_col(src, off))
        });
        LessonError {
            file: file.to_string(),
            line: place.map(|p| p.0),
            column: place.map(|p| p.1),
            message: match step {
                Some(n) => format!("step {}: {message}", n + 1),
                None => message,
            },
        }
    })?;
    Ok(lesson)
}

/// Is `spec` a literal address or `$port` form, rather than an `actor:sock`
/// reference?
pub fn is_literal_addr(spec: &str) -> bool {
    spec.replace("$port", "0")
        .parse::<std::net::SocketAddr>()
        .is_ok()
}

type Invalid = (Option<usize>, String);

fn validate(lesson: &Lesson) -> Result<(), Invalid> {
    if lesson.name.trim().is_empty() {
        return Err((None, "the lesson needs a `name`".into()));
    }
    if lesson.actors.is_empty() {
        return Err((None, "the lesson needs at least one [[actor]]".into()));
    }
    if lesson.steps.is_empty() {
        return Err((None, "the lesson needs at least one [[step]]".into()));
    }
    let mut actors = HashSet::new();
    for a in &lesson.actors {
        if !actors.insert(a.name.as_str()) {
            return Err((None, format!("actor `{}` is declared twice", a.name)));
        }
    }
    // Which sockets exist (opened and not yet closed), per actor, and every
    // socket ever named (references may point at a closed socket's address).
    let mut open: HashMap<(&str, &str), ()> = HashMap::new();
    let mut ever: HashSet<(&str, &str)> = HashSet::new();
    for (i, step) in lesson.steps.iter().enumerate() {
        let err = |m: String| Err((Some(i), m));
        if !actors.contains(step.actor.as_str()) {
            return err(format!("actor `{}` is not declared", step.actor));
        }
        for w in &step.wakes {
            if !actors.contains(w.as_str()) {
                return err(format!("`wakes` names undeclared actor `{w}`"));
            }
        }
        let key = (step.actor.as_str(), step.sock.as_str());
        if step.call == Call::Socket {
            if step.proto.is_none() {
                return err("socket needs `proto = \"tcp\"` or `\"udp\"`".into());
            }
            open.insert(key, ());
            ever.insert(key);
        } else if !open.contains_key(&key) {
            return err(format!(
                "{} uses socket `{}` of `{}`, which is not open at this point",
                step.call, step.sock, step.actor
            ));
        }
        check_args(step).or_else(err)?;
        if step.dontwait && !matches!(step.call, Call::Recv | Call::Recvfrom) {
            return err("`dontwait` applies to recv and recvfrom only".into());
        }
        if step.repeat == Some(0) {
            return err("`repeat` must be at least 1".into());
        }
        if step.until.is_some() && step.repeat.is_none() {
            return err("`until` needs `repeat` (the most times to try)".into());
        }
        if step.repeat.is_some() && (step.park == Some(true) || !step.wakes.is_empty()) {
            return err("a repeated step cannot park or wake others".into());
        }
        for spec in [&step.addr, &step.to].into_iter().flatten() {
            if !is_literal_addr(spec) {
                let Some((a, s)) = spec.split_once(':') else {
                    return err(format!("`{spec}` is neither an address nor `actor:socket`"));
                };
                if !ever.contains(&(a, s)) {
                    return err(format!(
                        "`{spec}` refers to a socket that has not been opened before this step"
                    ));
                }
            }
        }
        match step.call {
            Call::Accept => {
                let new = step.new.as_deref().unwrap_or_default();
                open.insert((step.actor.as_str(), new), ());
                ever.insert((step.actor.as_str(), new));
            }
            Call::Close => {
                open.remove(&key);
            }
            _ => {}
        }
    }
    Ok(())
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
        Call::Send => need(step.data.is_some(), "data"),
        Call::Accept => need(step.new.is_some(), "new"),
        Call::Shutdown => need(step.how.is_some(), "how"),
        Call::Setsockopt => need(step.opt.is_some(), "opt"),
        Call::Socket | Call::Listen | Call::Recv | Call::Recvfrom | Call::Close => Ok(()),
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
}
