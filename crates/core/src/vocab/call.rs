//! The calls and protocols sockscope names: one definition each, from which
//! the lesson parser, the JSON and every screen take their spelling.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The lifecycle calls the engine performs. Serialised in lower case, the way
/// the C API spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Call {
    #[default]
    Socket,
    Setsockopt,
    Bind,
    Listen,
    Accept,
    Connect,
    Send,
    Recv,
    Sendto,
    Recvfrom,
    Shutdown,
    Close,
    /// getsockopt: a lesson reads SO_ERROR after a non-blocking connect.
    Getsockopt,
    /// fcntl: a lesson sets or clears O_NONBLOCK.
    Fcntl,
    /// Waiting for readiness: a lesson's poll on one socket; in a traced
    /// program also ppoll, select, pselect6, epoll_ctl, epoll_wait,
    /// epoll_pwait (`syscall` names which).
    Poll,
    // Only `sockscope run` meets this one, in a student's own program (see
    // [`Call::TRACED_ONLY`]).
    /// dup, dup2, dup3 (and fcntl F_DUPFD) of a socket fd.
    Dup,
}

impl Call {
    /// Every call a lesson can name, in the order a lifecycle usually meets them.
    pub const ALL: [Call; 15] = [
        Call::Socket,
        Call::Setsockopt,
        Call::Fcntl,
        Call::Bind,
        Call::Listen,
        Call::Poll,
        Call::Accept,
        Call::Connect,
        Call::Getsockopt,
        Call::Send,
        Call::Recv,
        Call::Sendto,
        Call::Recvfrom,
        Call::Shutdown,
        Call::Close,
    ];

    /// The calls only a traced program makes (`sockscope run`): a lesson
    /// cannot name them, so they are not in [`Call::ALL`].
    pub const TRACED_ONLY: [Call; 1] = [Call::Dup];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Call::Socket => "socket",
            Call::Setsockopt => "setsockopt",
            Call::Bind => "bind",
            Call::Listen => "listen",
            Call::Accept => "accept",
            Call::Connect => "connect",
            Call::Send => "send",
            Call::Recv => "recv",
            Call::Sendto => "sendto",
            Call::Recvfrom => "recvfrom",
            Call::Shutdown => "shutdown",
            Call::Close => "close",
            Call::Getsockopt => "getsockopt",
            Call::Fcntl => "fcntl",
            Call::Poll => "poll",
            Call::Dup => "dup",
        }
    }

    /// Calls that move payload bytes, whose `bytes` field is the count returned.
    #[must_use]
    pub fn moves_data(self) -> bool {
        matches!(
            self,
            Call::Send | Call::Recv | Call::Sendto | Call::Recvfrom
        )
    }

    /// Calls the kernel can make wait until a peer does something, buffer
    /// space frees up or (poll) a timeout passes: the only calls the engine
    /// can park while later steps run.
    #[must_use]
    pub fn can_wait(self) -> bool {
        matches!(
            self,
            Call::Accept
                | Call::Connect
                | Call::Recv
                | Call::Recvfrom
                | Call::Send
                | Call::Sendto
                | Call::Poll
        )
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Call {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Call::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown call `{s}`"))
    }
}

/// Transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    #[default]
    Tcp,
    Udp,
}

impl Proto {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
        }
    }
}

/// The flag an fcntl that set O_NONBLOCK carries, in a lesson's event and a
/// traced program's alike: every later call on the socket returns at once
/// instead of waiting.
pub const NONBLOCKING: &str = "non-blocking from now on";
