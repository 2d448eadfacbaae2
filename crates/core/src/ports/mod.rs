//! `sockscope port N`: everything about one port number that a student can
//! ask, checked against the real machine. No terminal code: `port` prints a
//! [`PortReport`] as text or JSON, and the TUI's port panel shows the same
//! report for a port typed live.
//!
//! - [`range`]: the course's three ranges and IANA's names for them (RFC 6335).
//! - [`services`]: the well-known services on the port, TCP and UDP, from the
//!   bundled Debian netbase table and from `/etc/services`, each name with its source.
//! - [`machine`]: this kernel's privileged-port threshold and ephemeral range
//!   (/proc/sys/net/ipv4), and this process's credentials.
//! - [`probe`]: a real bind on 127.0.0.1, TCP and UDP, released at once.
//! - [`holder`]: who holds a port that is in use (/proc/net and /proc/PID/fd).
//! - [`text`]: the report as a few readable lines.

pub mod holder;
pub mod machine;
pub mod probe;
pub mod range;
pub mod services;
pub mod text;

pub use machine::Machine;
pub use probe::BindProbe;
pub use range::Range;
pub use services::Services;

use crate::vocab::Proto;
use serde::{Deserialize, Serialize};

/// Everything `sockscope port N` says about one port. Its JSON form is a
/// public contract (README, "Port JSON fields"): fields are added, never
/// renamed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortReport {
    pub port: u16,
    pub range: RangeReport,
    pub services: Services,
    pub machine: MachineReport,
    pub wire: Wire,
    pub bind: BindReport,
    /// What port 0 means, for port 0 only.
    pub note: Option<String>,
}

/// The port's range, as the course names it and as IANA does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeReport {
    /// `well-known`, `general` or `dynamic`.
    pub name: Range,
    pub low: u16,
    pub high: u16,
    /// The course text's description.
    pub course: String,
    /// `System`, `User` or `Dynamic` (RFC 6335).
    pub iana: String,
    pub iana_text: String,
}

/// This machine's treatment of the port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineReport {
    /// /proc/sys/net/ipv4/ip_unprivileged_port_start.
    pub unprivileged_port_start: Option<u16>,
    /// Does binding this port need root or CAP_NET_BIND_SERVICE here?
    pub privileged: Option<bool>,
    pub privileged_text: String,
    /// /proc/sys/net/ipv4/ip_local_port_range, as [low, high].
    pub ephemeral_range: Option<(u16, u16)>,
    /// May the kernel hand this port out as an ephemeral port?
    pub ephemeral: Option<bool>,
    pub ephemeral_text: String,
    /// IANA's Dynamic range, to compare with `ephemeral_range`.
    pub iana_dynamic_range: (u16, u16),
    /// This process's uid and whether it holds CAP_NET_BIND_SERVICE.
    pub uid: Option<u32>,
    pub cap_net_bind_service: Option<bool>,
}

/// The port's two bytes as they appear in a TCP or UDP header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wire {
    /// Network byte order (big-endian): `1f 90` for 8080.
    pub hex: String,
    pub bytes: [u8; 2],
    /// The same u16 in this machine's memory, before htons().
    pub host_hex: String,
    /// `little` or `big`.
    pub host_endian: String,
}

/// The real binds on 127.0.0.1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindReport {
    pub tcp: BindProbe,
    pub udp: BindProbe,
}

impl BindReport {
    #[must_use]
    pub fn of(&self, proto: Proto) -> &BindProbe {
        match proto {
            Proto::Tcp => &self.tcp,
            Proto::Udp => &self.udp,
        }
    }
}

fn hex(bytes: [u8; 2]) -> String {
    format!("{:02x} {:02x}", bytes[0], bytes[1])
}

impl Wire {
    #[must_use]
    pub fn of(port: u16) -> Wire {
        let bytes = port.to_be_bytes();
        Wire {
            hex: hex(bytes),
            bytes,
            host_hex: hex(port.to_ne_bytes()),
            host_endian: if cfg!(target_endian = "little") {
                "little"
            } else {
                "big"
            }
            .to_string(),
        }
    }
}

impl RangeReport {
    #[must_use]
    pub fn of(port: u16) -> RangeReport {
        let r = Range::of(port);
        let (low, high) = r.bounds();
        RangeReport {
            name: r,
            low,
            high,
            course: r.course_text().to_string(),
            iana: r.iana().to_string(),
            iana_text: r.iana_text().to_string(),
        }
    }
}

impl MachineReport {
    #[must_use]
    pub fn of(port: u16, m: &Machine) -> MachineReport {
        MachineReport {
            unprivileged_port_start: m.unprivileged_port_start,
            privileged: m.privileged(port),
            privileged_text: m.privilege_text(port),
            ephemeral_range: m.ephemeral_range,
            ephemeral: m.ephemeral(port),
            ephemeral_text: m.ephemeral_text(port),
            iana_dynamic_range: (range::IANA_DYNAMIC_START, u16::MAX),
            uid: m.uid,
            cap_net_bind_service: m.cap_net_bind_service,
        }
    }
}

/// Explain `port` fully, binding it for real (TCP and UDP) on 127.0.0.1.
#[must_use]
pub fn explain(port: u16) -> PortReport {
    let m = Machine::read();
    PortReport {
        port,
        range: RangeReport::of(port),
        services: services::lookup(port),
        machine: MachineReport::of(port, &m),
        wire: Wire::of(port),
        bind: BindReport {
            tcp: probe::probe(Proto::Tcp, port, &m),
            udp: probe::probe(Proto::Udp, port, &m),
        },
        note: (port == 0).then(|| {
            "Port 0 is reserved: no service can be reached on it. Given to bind, it means \
             \"kernel, choose a port for me\": the kernel picks a free ephemeral port."
                .to_string()
        }),
    }
}

/// A port number as a user types it. The message names the valid range,
/// because a student who typed 70000 needs to learn that ports are 16-bit.
pub fn parse_port(text: &str) -> Result<u16, String> {
    let t = text.trim();
    match t.parse::<i64>() {
        Ok(n) if (0..=65535).contains(&n) => Ok(n as u16),
        Ok(n) => Err(format!(
            "{n} is out of range: a port is a 16-bit number, 0-65535"
        )),
        Err(_) if t.is_empty() => Err("empty: a port is a number from 0-65535".into()),
        Err(_) => Err(format!(
            "`{t}` is not a number: a port is a whole number from 0-65535"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bytes_are_big_endian() {
        let cases = [
            (0, "00 00"),
            (1, "00 01"),
            (21, "00 15"),
            (80, "00 50"),
            (443, "01 bb"),
            (1023, "03 ff"),
            (1024, "04 00"),
            (8080, "1f 90"),
            (32768, "80 00"),
            (49151, "bf ff"),
            (49152, "c0 00"),
            (60999, "ee 47"),
            (65535, "ff ff"),
        ];
        for (port, want) in cases {
            let w = Wire::of(port);
            assert_eq!(w.hex, want, "{port}");
            assert_eq!(u16::from_be_bytes(w.bytes), port);
        }
        // A real TCP header, built by etherparse, carries the same two bytes.
        let h = etherparse::TcpHeader::new(8080, 80, 0, 0);
        let raw = h.to_bytes();
        assert_eq!(&raw[0..2], Wire::of(8080).bytes);
        assert_eq!(&raw[2..4], Wire::of(80).bytes);
    }

    #[test]
    fn the_json_report_reads_back_unchanged() {
        let r = explain(0);
        let text = serde_json::to_string(&r).unwrap();
        let back: PortReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }
}
