//! The kernel's UDP counters, from /proc/net/snmp (what `netstat -su` and
//! `nstat` show): how many datagrams it dropped because a socket's receive
//! buffer was full.
//!
//! These counters are machine-wide. A lesson reports how much they moved
//! while it ran; other UDP traffic on the machine at the same moment would move
//! them too, which is why the per-socket `drops` column of /proc/net/udp is
//! shown beside them.
//!
//! Why a dozen lines of our own and not the `procfs` crate (MIT/Apache):
//! these two numbers are all sockscope reads from /proc/net/snmp, and
//! `procfs` would bring itself and `rustix` into the binary for them (the
//! socket tables, which it also parses, drop the timer columns sockscope
//! shows: see [`super::procnet`]). The format is the kernel's fixed
//! header-line/value-line pair per protocol (net/ipv4/proc.c), parsed by
//! column name, so a kernel that adds columns does not break it.

use std::io;

/// The UDP counters a lesson needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpCounters {
    /// `InErrors`: datagrams that arrived and could not be delivered.
    pub in_errors: u64,
    /// `RcvbufErrors`: of those, the ones dropped because the receive buffer
    /// was full.
    pub rcvbuf_errors: u64,
}

impl UdpCounters {
    /// Read them now, for this thread's network namespace (the counters are
    /// per namespace; see `procnet::tcp` for why the thread's).
    pub fn read() -> io::Result<UdpCounters> {
        parse(&std::fs::read_to_string("/proc/thread-self/net/snmp")?).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "no Udp: lines in /proc/net/snmp",
            )
        })
    }

    /// How far each counter moved since `earlier`.
    #[must_use]
    pub fn since(self, earlier: UdpCounters) -> UdpCounters {
        UdpCounters {
            in_errors: self.in_errors.saturating_sub(earlier.in_errors),
            rcvbuf_errors: self.rcvbuf_errors.saturating_sub(earlier.rcvbuf_errors),
        }
    }
}

/// The `Udp:` header line names the columns of the `Udp:` values line after it.
fn parse(text: &str) -> Option<UdpCounters> {
    let mut lines = text.lines().filter(|l| l.starts_with("Udp:"));
    let names: Vec<&str> = lines.next()?.split_whitespace().skip(1).collect();
    let values: Vec<&str> = lines.next()?.split_whitespace().skip(1).collect();
    let get = |name: &str| -> Option<u64> {
        let i = names.iter().position(|n| *n == name)?;
        values.get(i)?.parse().ok()
    };
    Some(UdpCounters {
        in_errors: get("InErrors")?,
        rcvbuf_errors: get("RcvbufErrors")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_found_by_name() {
        let text = "Ip: Forwarding\nIp: 1\nUdp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors\nUdp: 90 1 7 91 5\nUdpLite: InDatagrams NoPorts InErrors\nUdpLite: 0 0 0\n";
        let c = parse(text).unwrap();
        assert_eq!(
            c,
            UdpCounters {
                in_errors: 7,
                rcvbuf_errors: 5
            }
        );
    }

    #[test]
    fn the_real_file_has_them() {
        UdpCounters::read().unwrap();
    }
}
