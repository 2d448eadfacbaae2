//! The three port ranges: as the course text names them, and as IANA does
//! (RFC 6335, section 6). Pure arithmetic on the port number; what *this*
//! machine does with a port is in [`super::machine`].

use serde::{Deserialize, Serialize};

/// The course's three ranges. The same boundaries as RFC 6335; the course
/// describes them by use, RFC 6335 by who assigns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Range {
    /// 0-1023: reserved for well-known services (IANA: System Ports).
    WellKnown,
    /// 1024-49151: for general applications (IANA: User Ports).
    General,
    /// 49152-65535: dynamic or private (IANA: Dynamic Ports).
    Dynamic,
}

/// IANA's lowest Dynamic port (RFC 6335): the start of the range it never
/// assigns and leaves to ephemeral use.
pub const IANA_DYNAMIC_START: u16 = 49152;

impl Range {
    pub const ALL: [Range; 3] = [Range::WellKnown, Range::General, Range::Dynamic];

    #[must_use]
    pub fn of(port: u16) -> Range {
        match port {
            0..=1023 => Range::WellKnown,
            1024..=49151 => Range::General,
            _ => Range::Dynamic,
        }
    }

    /// First and last port of the range.
    #[must_use]
    pub fn bounds(self) -> (u16, u16) {
        match self {
            Range::WellKnown => (0, 1023),
            Range::General => (1024, 49151),
            Range::Dynamic => (IANA_DYNAMIC_START, 65535),
        }
    }

    /// How the course text describes the range.
    #[must_use]
    pub fn course_text(self) -> &'static str {
        match self {
            Range::WellKnown => "reserved for well-known services (80 HTTP, 21 FTP)",
            Range::General => "for general applications",
            Range::Dynamic => "dynamic or private",
        }
    }

    /// IANA's short name for the range (RFC 6335, section 6).
    #[must_use]
    pub fn iana(self) -> &'static str {
        match self {
            Range::WellKnown => "System",
            Range::General => "User",
            Range::Dynamic => "Dynamic",
        }
    }

    /// IANA's full description: its other name and who assigns the ports.
    #[must_use]
    pub fn iana_text(self) -> &'static str {
        match self {
            Range::WellKnown => "System Ports (also called Well Known Ports), assigned by IANA",
            Range::General => "User Ports (also called Registered Ports), assigned by IANA",
            Range::Dynamic => {
                "Dynamic Ports (also called Private or Ephemeral Ports), never assigned by IANA"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_port_falls_in_exactly_the_range_whose_bounds_hold_it() {
        for port in 0..=u16::MAX {
            let r = Range::of(port);
            let (lo, hi) = r.bounds();
            assert!((lo..=hi).contains(&port), "{port} in {r:?}");
            let others = Range::ALL.iter().filter(|o| **o != r);
            for o in others {
                let (lo, hi) = o.bounds();
                assert!(!(lo..=hi).contains(&port), "{port} also in {o:?}");
            }
        }
    }

    #[test]
    fn boundaries_are_the_course_texts_and_rfc_6335s() {
        let cases = [
            (0, Range::WellKnown, "System"),
            (1, Range::WellKnown, "System"),
            (21, Range::WellKnown, "System"),
            (80, Range::WellKnown, "System"),
            (443, Range::WellKnown, "System"),
            (1023, Range::WellKnown, "System"),
            (1024, Range::General, "User"),
            (8080, Range::General, "User"),
            (32768, Range::General, "User"),
            (49151, Range::General, "User"),
            (49152, Range::Dynamic, "Dynamic"),
            (60999, Range::Dynamic, "Dynamic"),
            (65535, Range::Dynamic, "Dynamic"),
        ];
        for (port, range, iana) in cases {
            assert_eq!(Range::of(port), range, "{port}");
            assert_eq!(Range::of(port).iana(), iana, "{port}");
        }
    }
}
