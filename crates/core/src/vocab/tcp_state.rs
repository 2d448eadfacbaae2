//! TCP states, defined once: the kernel's numbers and names
//! (include/net/tcp_states.h), which the JSON, the screens, the narration and
//! the tests all spell the same way. And the words around them: what the
//! observer could say about a socket's state ([`StateSeen`]), where the kernel
//! listed a socket ([`SeenIn`]), where the figures came from ([`Source`]),
//! and which timer the kernel has armed ([`Timer`]). Text appears only at the edges (JSON, screens); inside, the
//! types are compared.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A TCP state, numbered as the kernel numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TcpState {
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Close = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
}

impl TcpState {
    /// Every state, in the order of the RFC 793 diagram.
    pub const ALL: [TcpState; 11] = [
        TcpState::Close,
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::Closing,
        TcpState::LastAck,
        TcpState::TimeWait,
    ];

    /// The state with the kernel's number `n` (`tcpi_state`, the `st`
    /// column of /proc/net/tcp, sock_diag's `idiag_state`).
    /// `TCP_NEW_SYN_RECV` (12) is a request socket, which `ss` shows as
    /// SYN-RECV; it is the classic state to a student.
    #[must_use]
    pub fn from_kernel(n: u8) -> Option<TcpState> {
        Some(match n {
            1 => TcpState::Established,
            2 => TcpState::SynSent,
            3 | 12 => TcpState::SynRecv,
            4 => TcpState::FinWait1,
            5 => TcpState::FinWait2,
            6 => TcpState::TimeWait,
            7 => TcpState::Close,
            8 => TcpState::CloseWait,
            9 => TcpState::LastAck,
            10 => TcpState::Listen,
            11 => TcpState::Closing,
            _ => return None,
        })
    }

    /// The kernel's number for the state.
    #[must_use]
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The kernel's name, as the JSON and the screens spell it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::FinWait1 => "FIN_WAIT1",
            TcpState::FinWait2 => "FIN_WAIT2",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Closing => "CLOSING",
        }
    }

    /// The state named `name`, as [`TcpState::name`] spells it.
    #[must_use]
    pub fn from_name(name: &str) -> Option<TcpState> {
        TcpState::ALL.into_iter().find(|s| s.name() == name)
    }

    /// States that only last until the peer answers. On loopback the
    /// answer often arrives before the call that caused it returns, but not
    /// always: the peer's kernel may delay an ACK (about 40 ms), so an
    /// observer that sees one of these waits a bounded time before
    /// reporting it (see [`crate::kernel::settle`]).
    #[must_use]
    pub fn is_passing(self) -> bool {
        matches!(
            self,
            TcpState::SynRecv | TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck
        )
    }

    /// The states a connection passes through between `from` and `to` along
    /// the standard diagram, without either end, when that path is
    /// unambiguous. Used to say which states happened too fast to be
    /// observed. `None` when the two are not on one path (the screen then
    /// shows only what it saw).
    #[must_use]
    pub fn between(from: TcpState, to: TcpState) -> Option<Vec<TcpState>> {
        use TcpState::{
            Close, CloseWait, Established, FinWait1, FinWait2, LastAck, SynSent, TimeWait,
        };
        // The three paths through the diagram a lesson can take.
        const ACTIVE_CLOSE: [TcpState; 4] = [Established, FinWait1, FinWait2, TimeWait];
        const PASSIVE_CLOSE: [TcpState; 3] = [Established, CloseWait, LastAck];
        const OPEN: [TcpState; 3] = [Close, SynSent, Established];
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
}

/// A word of the vocabulary as text, written once for each type: shown by
/// its name (`Display`), and read and written by serde as that name, which
/// is the JSON's spelling.
macro_rules! named_serde {
    ($ty:ty, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                <$ty>::from_name(&text)
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown {} `{text}`", $what)))
            }
        }
    };
}

named_serde!(TcpState, "TCP state");

/// What the observer could say about a socket's TCP state right after a
/// call: the state, or that the kernel could not be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateSeen {
    Is(TcpState),
    /// getsockopt(TCP_INFO) failed: the screen says so rather than guess.
    NotObserved,
    /// The first reading of a wait that found nothing (the socket was in no
    /// table yet); only in `kernel.first_state`.
    Nothing,
}

impl StateSeen {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            StateSeen::Is(s) => s.name(),
            StateSeen::NotObserved => "not observed",
            StateSeen::Nothing => "none",
        }
    }

    pub fn from_name(name: &str) -> Option<StateSeen> {
        match name {
            "not observed" => Some(StateSeen::NotObserved),
            "none" => Some(StateSeen::Nothing),
            other => TcpState::from_name(other).map(StateSeen::Is),
        }
    }

    /// The state, when one was read.
    #[must_use]
    pub fn state(self) -> Option<TcpState> {
        match self {
            StateSeen::Is(s) => Some(s),
            _ => None,
        }
    }

    /// Is it this state?
    #[must_use]
    pub fn is(self, state: TcpState) -> bool {
        self == StateSeen::Is(state)
    }
}

impl From<TcpState> for StateSeen {
    fn from(s: TcpState) -> StateSeen {
        StateSeen::Is(s)
    }
}

named_serde!(StateSeen, "TCP state");

/// Where the kernel listed one socket of the lesson, by address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SeenIn {
    /// Found in the kernel's socket tables.
    Table,
    /// Held by the program but in neither table: the TCP table lists a
    /// socket in every state but CLOSE (the kernel unhashes a socket when it
    /// enters CLOSE), so such a TCP socket is new, only bound, or reset.
    Fd,
    /// Closed, and the kernel keeps nothing.
    #[default]
    Gone,
}

impl SeenIn {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SeenIn::Table => "table",
            SeenIn::Fd => "fd",
            SeenIn::Gone => "gone",
        }
    }

    #[must_use]
    pub fn from_name(name: &str) -> Option<SeenIn> {
        [SeenIn::Table, SeenIn::Fd, SeenIn::Gone]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

named_serde!(SeenIn, "place");

/// Where the kernel's figures for a socket came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Source {
    /// getsockopt(TCP_INFO) and the queue ioctls, through the fd.
    TcpInfo,
    /// The kernel's socket tables through netlink, as `ss` reads them.
    SockDiag,
    /// The same tables as text, where netlink is unavailable.
    ProcNetTcp,
    /// The UDP table.
    ProcNetUdp,
    /// The kernel no longer lists the socket at all.
    #[default]
    None,
}

impl Source {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Source::TcpInfo => "TCP_INFO",
            Source::SockDiag => "sock_diag",
            Source::ProcNetTcp => "/proc/net/tcp",
            Source::ProcNetUdp => "/proc/net/udp",
            Source::None => "none",
        }
    }

    #[must_use]
    pub fn from_name(name: &str) -> Option<Source> {
        [
            Source::TcpInfo,
            Source::SockDiag,
            Source::ProcNetTcp,
            Source::ProcNetUdp,
            Source::None,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

named_serde!(Source, "source");

/// Which timer the kernel has armed for a socket (the `tr` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// 1: retransmission (also SYN and SYN-ACK retries, loss probes).
    Retransmit,
    /// 2: keepalive (also the FIN_WAIT2 timer of an orphaned socket).
    Keepalive,
    /// 3: the TIME_WAIT timer.
    TimeWait,
    /// 4: zero-window probe.
    Probe,
}

impl Timer {
    /// The timer with the kernel's code (the `tr` column, sock_diag's
    /// `idiag_timer`).
    #[must_use]
    pub fn from_code(code: u8) -> Option<Timer> {
        match code {
            1 => Some(Timer::Retransmit),
            2 => Some(Timer::Keepalive),
            3 => Some(Timer::TimeWait),
            4 => Some(Timer::Probe),
            _ => None,
        }
    }

    /// The name `ss -o` prints for it, as the JSON spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Timer::Retransmit => "on",
            Timer::Keepalive => "keepalive",
            Timer::TimeWait => "timewait",
            Timer::Probe => "persist",
        }
    }

    #[must_use]
    pub fn from_name(name: &str) -> Option<Timer> {
        [
            Timer::Retransmit,
            Timer::Keepalive,
            Timer::TimeWait,
            Timer::Probe,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }
}

named_serde!(Timer, "timer");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_match_the_kernel_header() {
        assert_eq!(TcpState::from_kernel(1), Some(TcpState::Established));
        assert_eq!(TcpState::from_kernel(6), Some(TcpState::TimeWait));
        assert_eq!(TcpState::from_kernel(10), Some(TcpState::Listen));
        assert_eq!(TcpState::from_kernel(11), Some(TcpState::Closing));
        assert_eq!(TcpState::from_kernel(12), Some(TcpState::SynRecv));
        assert_eq!(TcpState::from_kernel(0), None);
        for n in 1..=11 {
            let s = TcpState::from_kernel(n).unwrap();
            assert_eq!(s.number(), n);
            assert!(TcpState::ALL.contains(&s));
            assert_eq!(TcpState::from_name(s.name()), Some(s));
        }
    }

    #[test]
    fn the_json_spelling_round_trips() {
        for s in TcpState::ALL {
            let text = serde_json::to_string(&StateSeen::Is(s)).unwrap();
            assert_eq!(text, format!("\"{}\"", s.name()));
            assert_eq!(
                serde_json::from_str::<StateSeen>(&text).unwrap(),
                StateSeen::Is(s)
            );
        }
        assert_eq!(
            serde_json::to_string(&StateSeen::NotObserved).unwrap(),
            "\"not observed\""
        );
        assert_eq!(
            serde_json::to_string(&Source::ProcNetTcp).unwrap(),
            "\"/proc/net/tcp\""
        );
        assert_eq!(serde_json::to_string(&SeenIn::Gone).unwrap(), "\"gone\"");
        assert!(
            serde_json::from_str::<Source>("\"\"").is_err(),
            "no undocumented source"
        );
    }

    #[test]
    fn skipped_states_are_found_on_the_close_paths() {
        use TcpState::*;
        assert_eq!(
            TcpState::between(Established, FinWait2),
            Some(vec![FinWait1])
        );
        assert_eq!(TcpState::between(FinWait2, TimeWait), Some(vec![]));
        assert_eq!(TcpState::between(Established, Listen), None);
    }
}
