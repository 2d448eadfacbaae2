//! The kernel's TCP state numbers and names (include/net/tcp_states.h), and
//! which states are passing ones that loopback leaves within microseconds.

/// The kernel's name for TCP state number `n`, as `ss` and /proc print it.
/// `TCP_NEW_SYN_RECV` (12) is a request socket, which `ss` shows as SYN-RECV;
/// we show it with the same name as the classic state.
pub fn name(n: u8) -> Option<&'static str> {
    Some(match n {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 | 12 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        _ => return None,
    })
}

/// Every state name, in the order of the RFC 793 diagram.
pub const ALL: [&str; 11] = [
    "CLOSE",
    "LISTEN",
    "SYN_SENT",
    "SYN_RECV",
    "ESTABLISHED",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "CLOSE_WAIT",
    "CLOSING",
    "LAST_ACK",
    "TIME_WAIT",
];

/// States that only last until the peer answers. On loopback the answer
/// often arrives before the call that caused it returns, but not always: the
/// peer's kernel may delay an ACK (about 40 ms), so an observer that sees one
/// of these waits a bounded time before reporting it (see
/// [`crate::kernel::settle`]).
pub fn is_passing(state: &str) -> bool {
    matches!(state, "SYN_RECV" | "FIN_WAIT1" | "CLOSING" | "LAST_ACK")
}

/// The states a connection passes through between `from` and `to` along the
/// standard diagram, without either end, when that path is unambiguous. Used to
/// say which states happened too fast to be observed. `None` when the two are
/// not on one path (the screen then shows only what it saw).
pub fn between(from: &str, to: &str) -> Option<Vec<&'static str>> {
    // The three paths through the diagram a lesson can take.
    const ACTIVE_CLOSE: [&str; 4] = ["ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"];
    const PASSIVE_CLOSE: [&str; 3] = ["ESTABLISHED", "CLOSE_WAIT", "LAST_ACK"];
    const OPEN: [&str; 3] = ["CLOSE", "SYN_SENT", "ESTABLISHED"];
    for path in [&ACTIVE_CLOSE[..], &PASSIVE_CLOSE[..], &OPEN[..]] {
        let a = path.iter().position(|s| *s == from);
        let b = path.iter().position(|s| *s == to);
        if let (Some(a), Some(b)) = (a, b)
            && a < b
        {
            return Some(path[a + 1..b].to_vec());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_kernel_header() {
        assert_eq!(name(1), Some("ESTABLISHED"));
        assert_eq!(name(6), Some("TIME_WAIT"));
        assert_eq!(name(10), Some("LISTEN"));
        assert_eq!(name(11), Some("CLOSING"));
        assert_eq!(name(0), None);
        for n in 1..=11 {
            assert!(ALL.contains(&name(n).unwrap()));
        }
    }

    #[test]
    fn skipped_states_are_found_on_the_close_paths() {
        assert_eq!(between("ESTABLISHED", "FIN_WAIT2"), Some(vec!["FIN_WAIT1"]));
        assert_eq!(between("FIN_WAIT2", "TIME_WAIT"), Some(vec![]));
        assert_eq!(between("ESTABLISHED", "LISTEN"), None);
    }
}
