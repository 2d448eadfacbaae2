//! The kernel's figures as words, written once for every screen and
//! transcript: the kernel panel, `trace`'s text, the handout and the
//! narration all say the same fact the same way.
//!
//! Seconds left on a timer are whole seconds rounded down, as `ss -o` prints
//! them (`timer:(timewait,46sec,0)`): a narration that says 46 s and a panel
//! that says 46s at the same moment agree with each other and with `ss`.

/// Whole seconds left on a timer of `ms` milliseconds, rounded down as `ss
/// -o` rounds them.
#[must_use]
pub fn seconds_left(ms: u64) -> u64 {
    ms / 1000
}

/// `timewait 46s`: a timer by its `ss -o` name and the seconds left.
#[must_use]
pub fn timer(timer: crate::vocab::Timer, ms: u64) -> String {
    format!("{timer} {}s", seconds_left(ms))
}

/// A socket's state as one word: `gone` when the kernel keeps nothing, the
/// TCP state, or the protocol for a UDP socket (which has none).
#[must_use]
pub fn state(v: &super::SockView) -> &'static str {
    match (v.tcp_state, v.seen_in) {
        (_, crate::vocab::SeenIn::Gone) => "gone",
        (Some(s), _) => s.name(),
        (None, _) => v.proto.name(),
    }
}

/// Who holds the connection, when its table entry belongs to no fd: `no
/// fd` (a TIME_WAIT after close), or, while the lesson still holds the fd,
/// that the fd is open in CLOSE and the connection lives on as a record
/// without one. `None` when the entry has an fd.
#[must_use]
pub fn without_fd(v: &super::SockView) -> Option<&'static str> {
    if v.seen_in != crate::vocab::SeenIn::Table || v.has_fd {
        return None;
    }
    Some(if v.fd_open {
        "fd still open, in CLOSE; the connection is a record with no fd"
    } else {
        "no fd"
    })
}

/// `drops 31`: datagrams the kernel dropped for a UDP socket.
#[must_use]
pub fn drops(n: u64) -> String {
    format!("drops {n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_down_as_ss_prints_them() {
        // ss -o: 46.999 s left is printed `46sec`.
        assert_eq!(seconds_left(46_999), 46);
        assert_eq!(seconds_left(47_000), 47);
        assert_eq!(timer(crate::vocab::Timer::TimeWait, 59_100), "timewait 59s");
        assert_eq!(drops(31), "drops 31");
    }
}
