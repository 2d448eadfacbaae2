//! Two rules the orchestrator applies to every call a lesson makes, right
//! after the call returns: a lesson never goes on from a socket that is not
//! in the state its author meant, and never becomes reachable from the
//! network without saying so.
//!
//! **A failure the lesson did not expect stops it.** Every later step of a
//! lesson was written for the socket its earlier steps made. When a call
//! fails and the step did not say it would (its `expect` names another
//! `result`, or none), the socket is not what the author meant, and going on
//! can do harm the lesson never shows: the `tcp` lesson with a port that is
//! taken (`trace tcp --port 8080` while 8080 is held), or privileged
//! (`--port 80` as an ordinary user), fails its bind, and its next step,
//! listen, then makes the kernel bind the socket itself, to 0.0.0.0 on an
//! ephemeral port, reachable from the network; the lesson ran to the end
//! and said every step worked. So the run stops at the failed call, whose
//! event (with the errno and its explanation) is the last one: the failure
//! is the lesson. It goes on only when no later step uses that socket except
//! to close it (the `privileged` lesson closes a socket whose bind the
//! ordinary user may not make, and then tries a port anyone may bind), or
//! when the step says the failure is expected: `expect = { result =
//! "EADDRINUSE" }`, or the result its `until` waits for.
//!
//! **Beyond loopback, a warning.** A lesson binds 127.0.0.1 unless its file
//! says otherwise. A bind or listen that leaves a socket on another address
//! (`addr = "0.0.0.0:0"` in a user's lesson, or the kernel's own choice when
//! listen finds the socket unbound) carries the same warning `serve --bind`
//! gives, with the port the kernel really chose. (A UDP sender that never
//! binds is given 0.0.0.0 and a port by its first sendto too; its event
//! shows that address, but it is a client's port, not one the lesson
//! serves on, and it is not warned about.)
//!
//! Both rules read only the lesson and the event, so they are tested here
//! without sockets, and the orchestrator calls them from one place.

use crate::event::Event;
use crate::lesson::Lesson;
use crate::vocab::Call;
use std::net::SocketAddr;

/// Why a lesson stopped at a call that failed unexpectedly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Halt {
    /// The step (from 1) whose call failed.
    pub step: usize,
    pub actor: String,
    pub call: Call,
    /// The errno name the call failed with.
    pub result: String,
    /// The socket, as the lesson names it.
    pub sock: String,
    /// The first later step that would have used that socket, and its call.
    pub next_step: usize,
    pub next_call: Call,
}

impl std::fmt::Display for Halt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {}: {}'s {} failed with {}, which the lesson does not expect, so it stops here: \
             step {}'s {} would act on socket `{}` as if the {} had worked",
            self.step,
            self.actor,
            self.call,
            self.result,
            self.next_step,
            self.next_call,
            self.sock,
            self.call
        )?;
        if self.call == Call::Bind && matches!(self.next_call, Call::Listen | Call::Sendto) {
            // The harm that made this rule: an unbound socket is bound by the
            // kernel to every address.
            write!(
                f,
                " (on a socket whose bind failed, {} makes the kernel bind it to 0.0.0.0 on a port of its choosing, reachable from the network)",
                self.next_call
            )?;
        }
        Ok(())
    }
}

/// The sentence for a socket left on `local`, when that is not loopback:
/// `warning: bound to 0.0.0.0:41234, not loopback: port 41234 is reachable
/// from the network`. `serve --bind` and lessons say the same.
#[must_use]
pub fn exposure_warning(local: SocketAddr) -> Option<String> {
    (!local.ip().is_loopback()).then(|| {
        format!(
            "warning: bound to {local}, not loopback: port {} is reachable from the network",
            local.port()
        )
    })
}

/// Apply both rules to step `index`'s call, whose event is `event`: add the
/// exposure warning to its flags when it applies, and say whether the
/// lesson must stop here.
pub fn after_call(lesson: &Lesson, index: usize, event: &mut Event) -> Result<(), Halt> {
    if event.ok() {
        warn_beyond_loopback(event);
        return Ok(());
    }
    let Some(step) = lesson.steps.get(index) else {
        return Ok(());
    };
    let expected = step
        .expect
        .get("result")
        .and_then(|v| v.as_str())
        .is_some_and(|r| r == event.result.name())
        || step.until.as_deref() == Some(event.result.name());
    if expected {
        return Ok(());
    }
    // The socket this call left in a state nobody planned: for accept, the
    // one it would have returned.
    let sock = match (event.call, &step.new) {
        (Call::Accept, Some(new)) => new.as_str(),
        _ => step.sock.as_str(),
    };
    let later = lesson.steps[index + 1..]
        .iter()
        .enumerate()
        .take_while(|(_, s)| {
            // A new `socket` step under the same name starts a new socket.
            !(s.actor == step.actor && s.sock == sock && s.call == Call::Socket)
        })
        .find(|(_, s)| s.actor == step.actor && s.sock == sock && s.call != Call::Close);
    match later {
        None => Ok(()),
        Some((offset, next)) => Err(Halt {
            step: index + 1,
            actor: step.actor.clone(),
            call: event.call,
            result: event.result.name().to_string(),
            sock: sock.to_string(),
            next_step: index + offset + 2,
            next_call: next.call,
        }),
    }
}

fn warn_beyond_loopback(event: &mut Event) {
    if !matches!(event.call, Call::Bind | Call::Listen) {
        return;
    }
    let Some(local) = event.local.as_deref().and_then(|l| l.parse().ok()) else {
        return;
    };
    if let Some(w) = exposure_warning(local) {
        event.flags.push(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesson::parse_lesson;
    use crate::vocab::Proto;

    const SERVER: &str = r#"
name = "g"
title = "G"
summary = "s"

[[actor]]
name = "server"
role = "S"

[[step]]
actor = "server"
call = "socket"
sock = "l"
proto = "tcp"
say = "x"

[[step]]
actor = "server"
call = "bind"
sock = "l"
addr = "127.0.0.1:$port"
say = "x"
EXPECT

[[step]]
actor = "server"
call = "NEXT"
sock = "l"
say = "x"
"#;

    fn lesson(expect: &str, next: &str) -> Lesson {
        parse_lesson(
            "g.toml",
            &SERVER.replace("EXPECT", expect).replace("NEXT", next),
        )
        .unwrap()
    }

    fn failed_bind(errno: i32) -> Event {
        let mut e = Event::new("server", Call::Bind, "l", Proto::Tcp, Some(3));
        e.fail(&std::io::Error::from_raw_os_error(errno));
        e
    }

    #[test]
    fn a_failed_bind_followed_by_listen_stops_the_lesson() {
        let l = lesson("expect = { result = \"ok\" }", "listen");
        let halt = after_call(&l, 1, &mut failed_bind(libc::EADDRINUSE)).unwrap_err();
        assert_eq!((halt.step, halt.next_step), (2, 3));
        let text = halt.to_string();
        assert!(text.contains("bind failed with EADDRINUSE"), "{text}");
        assert!(text.contains("0.0.0.0"), "{text}");
        // No `expect` at all is no claim the failure is expected either.
        let l = lesson("", "listen");
        assert!(after_call(&l, 1, &mut failed_bind(libc::EACCES)).is_err());
    }

    #[test]
    fn an_expected_failure_or_a_socket_only_closed_goes_on() {
        let l = lesson("expect = { result = \"EADDRINUSE\" }", "listen");
        assert!(after_call(&l, 1, &mut failed_bind(libc::EADDRINUSE)).is_ok());
        // Expected EADDRINUSE, got EACCES: not what the author meant.
        assert!(after_call(&l, 1, &mut failed_bind(libc::EACCES)).is_err());
        let l = lesson("", "close");
        assert!(after_call(&l, 1, &mut failed_bind(libc::EACCES)).is_ok());
    }

    #[test]
    fn beyond_loopback_a_bind_carries_the_warning_with_the_real_port() {
        let l = lesson("", "listen");
        let mut e = Event::new("server", Call::Bind, "l", Proto::Tcp, Some(3));
        e.local = Some("0.0.0.0:41234".into());
        after_call(&l, 1, &mut e).unwrap();
        assert_eq!(
            e.flags,
            [
                "warning: bound to 0.0.0.0:41234, not loopback: port 41234 is reachable from the network"
            ]
        );
        let mut e = Event::new("server", Call::Bind, "l", Proto::Tcp, Some(3));
        e.local = Some("127.0.0.1:41234".into());
        after_call(&l, 1, &mut e).unwrap();
        assert!(e.flags.is_empty());
    }
}
