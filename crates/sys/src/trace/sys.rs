//! The syscalls `sockscope run` stops at, named once, with their numbers
//! taken from libc's constants for the architecture being built (x86_64 and
//! aarch64 number them differently, and aarch64 has no `poll`, `select`,
//! `epoll_wait` or `dup2`: its C library makes those from `ppoll`,
//! `pselect6`, `epoll_pwait` and `dup3`, which is what such a program then
//! really calls, and what is shown).

/// Declares [`Sys`], its strace name and its number from libc; the calls
/// that only some architectures have carry their `cfg`.
macro_rules! syscalls {
    ($( $(#[$cfg:meta])* $variant:ident = $name:literal, $nr:ident; )*) => {
        /// One syscall `run` decodes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Sys {
            $( $(#[$cfg])* $variant, )*
        }

        impl Sys {
            /// Every one, on this architecture.
            pub const ALL: &'static [Sys] = &[ $( $(#[$cfg])* Sys::$variant, )* ];

            /// The name strace prints.
            pub fn name(self) -> &'static str {
                match self {
                    $( $(#[$cfg])* Sys::$variant => $name, )*
                }
            }

            /// Its number on this architecture (libc's `SYS_*`).
            pub fn nr(self) -> u64 {
                match self {
                    $( $(#[$cfg])* Sys::$variant => libc::$nr as u64, )*
                }
            }

            /// The call with number `nr`, if it is one of these.
            pub fn from_nr(nr: u64) -> Option<Sys> {
                $( $(#[$cfg])* { if nr == libc::$nr as u64 { return Some(Sys::$variant); } } )*
                None
            }
        }
    };
}

syscalls! {
    Socket = "socket", SYS_socket;
    Bind = "bind", SYS_bind;
    Listen = "listen", SYS_listen;
    Accept = "accept", SYS_accept;
    Accept4 = "accept4", SYS_accept4;
    Connect = "connect", SYS_connect;
    Sendto = "sendto", SYS_sendto;
    Recvfrom = "recvfrom", SYS_recvfrom;
    Sendmsg = "sendmsg", SYS_sendmsg;
    Recvmsg = "recvmsg", SYS_recvmsg;
    Sendmmsg = "sendmmsg", SYS_sendmmsg;
    Recvmmsg = "recvmmsg", SYS_recvmmsg;
    Shutdown = "shutdown", SYS_shutdown;
    Setsockopt = "setsockopt", SYS_setsockopt;
    Getsockopt = "getsockopt", SYS_getsockopt;
    Read = "read", SYS_read;
    Write = "write", SYS_write;
    Readv = "readv", SYS_readv;
    Writev = "writev", SYS_writev;
    Close = "close", SYS_close;
    Fcntl = "fcntl", SYS_fcntl;
    Dup = "dup", SYS_dup;
    #[cfg(target_arch = "x86_64")]
    Dup2 = "dup2", SYS_dup2;
    Dup3 = "dup3", SYS_dup3;
    #[cfg(target_arch = "x86_64")]
    Poll = "poll", SYS_poll;
    Ppoll = "ppoll", SYS_ppoll;
    #[cfg(target_arch = "x86_64")]
    Select = "select", SYS_select;
    Pselect6 = "pselect6", SYS_pselect6;
    EpollCtl = "epoll_ctl", SYS_epoll_ctl;
    #[cfg(target_arch = "x86_64")]
    EpollWait = "epoll_wait", SYS_epoll_wait;
    EpollPwait = "epoll_pwait", SYS_epoll_pwait;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_round_trip() {
        for &s in Sys::ALL {
            assert_eq!(Sys::from_nr(s.nr()), Some(s), "{}", s.name());
        }
        assert_eq!(Sys::from_nr(libc::SYS_getpid as u64), None);
    }
}
