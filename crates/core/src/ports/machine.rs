//! What this machine's kernel does with port numbers, read from /proc: which
//! ports need privilege to bind, which it hands out as ephemeral ports, and
//! whether this process holds the capability that lifts the privilege rule.
//!
//! The course text and IANA give one answer for every machine; the kernel's
//! settings are per machine (and per network namespace), so sockscope shows
//! both and spells out where they differ.

use super::range::IANA_DYNAMIC_START;
use serde::Serialize;

pub const UNPRIVILEGED_PORT_START: &str = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
pub const LOCAL_PORT_RANGE: &str = "/proc/sys/net/ipv4/ip_local_port_range";
pub const LOCAL_RESERVED_PORTS: &str = "/proc/sys/net/ipv4/ip_local_reserved_ports";
/// Bit number of CAP_NET_BIND_SERVICE in the capability sets (capability.h).
pub const CAP_NET_BIND_SERVICE: u32 = 10;

/// The kernel settings and process credentials that decide what binding a
/// port does here. `None` where /proc could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    /// Ports below this need CAP_NET_BIND_SERVICE to bind.
    pub unprivileged_port_start: Option<u16>,
    /// The range bind(0) and connect pick ephemeral ports from.
    pub ephemeral_range: Option<(u16, u16)>,
    /// Ports the kernel never picks automatically (still bindable by number).
    pub reserved_ports: Vec<(u16, u16)>,
    /// This process's real user id.
    pub uid: Option<u32>,
    /// Whether this process's effective capabilities include
    /// CAP_NET_BIND_SERVICE.
    pub cap_net_bind_service: Option<bool>,
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// `32768\t60999` → (32768, 60999).
pub fn parse_range(text: &str) -> Option<(u16, u16)> {
    let mut it = text.split_whitespace().map(str::parse::<u16>);
    let (lo, hi) = (it.next()?.ok()?, it.next()?.ok()?);
    Some((lo, hi))
}

/// `8080,9000-9005` → [(8080, 8080), (9000, 9005)]; empty text → none.
#[must_use]
pub fn parse_port_list(text: &str) -> Vec<(u16, u16)> {
    text.trim()
        .split(',')
        .filter(|s| !s.is_empty())
        .filter_map(|item| {
            if let Some((a, b)) = item.split_once('-') {
                Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
            } else {
                let p = item.trim().parse().ok()?;
                Some((p, p))
            }
        })
        .collect()
}

/// The real uid and whether CapEff has CAP_NET_BIND_SERVICE, from the text of
/// /proc/self/status.
#[must_use]
pub fn parse_status(text: &str) -> (Option<u32>, Option<bool>) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let uid = field("Uid:").and_then(|v| v.split_whitespace().next()?.parse().ok());
    let cap = field("CapEff:")
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .map(|bits| bits & (1 << CAP_NET_BIND_SERVICE) != 0);
    (uid, cap)
}

impl Machine {
    /// Read this machine's settings and this process's credentials now.
    #[must_use]
    pub fn read() -> Machine {
        let (uid, cap_net_bind_service) =
            read("/proc/self/status").map_or((None, None), |t| parse_status(&t));
        Machine {
            unprivileged_port_start: read(UNPRIVILEGED_PORT_START)
                .and_then(|t| t.trim().parse().ok()),
            ephemeral_range: read(LOCAL_PORT_RANGE).and_then(|t| parse_range(&t)),
            reserved_ports: read(LOCAL_RESERVED_PORTS)
                .map(|t| parse_port_list(&t))
                .unwrap_or_default(),
            uid,
            cap_net_bind_service,
        }
    }

    /// Does binding `port` need CAP_NET_BIND_SERVICE here? Port 0 never does:
    /// it asks the kernel for an ephemeral port.
    #[must_use]
    pub fn privileged(&self, port: u16) -> Option<bool> {
        if port == 0 {
            return Some(false);
        }
        self.unprivileged_port_start.map(|start| port < start)
    }

    /// May the kernel hand `port` out as an ephemeral port?
    #[must_use]
    pub fn ephemeral(&self, port: u16) -> Option<bool> {
        self.ephemeral_range
            .map(|(lo, hi)| (lo..=hi).contains(&port) && !self.reserved(port))
    }

    /// Is `port` in ip_local_reserved_ports?
    #[must_use]
    pub fn reserved(&self, port: u16) -> bool {
        self.reserved_ports
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&port))
    }

    /// Who this process is: `root, uid 0` or `uid 1000`.
    #[must_use]
    pub fn who(&self) -> String {
        match self.uid {
            Some(0) => "root, uid 0".to_string(),
            Some(u) => format!("uid {u}"),
            None => "an unknown uid".to_string(),
        }
    }

    /// Who this process is, and whether it may bind privileged ports:
    /// `root, uid 0, with CAP_NET_BIND_SERVICE`.
    #[must_use]
    pub fn credentials(&self) -> String {
        let who = self.who();
        match self.cap_net_bind_service {
            Some(true) => format!("{who}, with CAP_NET_BIND_SERVICE"),
            Some(false) => format!("{who}, without CAP_NET_BIND_SERVICE"),
            None => format!("{who}, capabilities not readable"),
        }
    }

    /// One sentence on whether `port` is privileged here.
    #[must_use]
    pub fn privilege_text(&self, port: u16) -> String {
        let Some(start) = self.unprivileged_port_start else {
            return format!("unknown: {UNPRIVILEGED_PORT_START} could not be read");
        };
        if port == 0 {
            return "no: port 0 asks the kernel for an ephemeral port, which needs no privilege"
                .into();
        }
        if port < start {
            format!(
                "yes: below ip_unprivileged_port_start = {start}, so binding it needs root or CAP_NET_BIND_SERVICE"
            )
        } else if start == 0 {
            "no: ip_unprivileged_port_start = 0, so no port is privileged on this machine".into()
        } else {
            format!("no: at or above ip_unprivileged_port_start = {start}, any user may bind it")
        }
    }

    /// What to do after bind refused `port` with EACCES because it is
    /// privileged here: the threshold's value on this machine, a port that
    /// needs no privilege, and the command that lets this very program bind
    /// low ports. `None` when `port` is not privileged here (then EACCES has
    /// another cause, which the probe names).
    #[must_use]
    pub fn way_forward(&self, port: u16) -> Option<String> {
        let start = self.unprivileged_port_start?;
        if self.privileged(port) != Some(true) {
            return None;
        }
        // The binary the user ran, so the command can be pasted as it is.
        let binary = std::env::current_exe().map_or_else(
            |_| "/path/to/sockscope".into(),
            |p| crate::vocab::preview::text(&p.display().to_string()).into_owned(),
        );
        // A suggestion at or above the threshold: 8080 (HTTP's usual
        // stand-in) when that is allowed, else the threshold itself.
        let suggest = if start <= 8080 { 8080 } else { start };
        Some(format!(
            "on this machine ports below {start} (net.ipv4.ip_unprivileged_port_start = {start}) need root or CAP_NET_BIND_SERVICE: \
             use a port from {start} up (--port {suggest}), or --port 0 to let the kernel choose; \
             or let this program bind low ports with: sudo setcap cap_net_bind_service+ep {binary}"
        ))
    }

    /// One sentence on whether the kernel may give `port` out as an ephemeral
    /// port, and where this machine's range differs from IANA's.
    #[must_use]
    pub fn ephemeral_text(&self, port: u16) -> String {
        let Some((lo, hi)) = self.ephemeral_range else {
            return format!("unknown: {LOCAL_PORT_RANGE} could not be read");
        };
        let range = format!("ip_local_port_range {lo}-{hi}");
        let iana = port >= IANA_DYNAMIC_START;
        if port == 0 {
            return format!(
                "port 0 makes the kernel pick from {range} (IANA's Dynamic range is {IANA_DYNAMIC_START}-65535)"
            );
        }
        let inside = (lo..=hi).contains(&port);
        if inside && self.reserved(port) {
            return format!(
                "no: inside {range} but listed in ip_local_reserved_ports, so the kernel never picks it"
            );
        }
        match (inside, iana) {
            (true, true) => format!(
                "yes: inside {range}, and in IANA's Dynamic range {IANA_DYNAMIC_START}-65535 too"
            ),
            (true, false) => format!(
                "yes: inside {range}, although IANA calls it a User port (its Dynamic range starts at {IANA_DYNAMIC_START}): a client's connect may be given this port, so a server that binds it can find it taken"
            ),
            (false, true) => format!(
                "no: outside {range}, although IANA calls it Dynamic ({IANA_DYNAMIC_START}-65535): this kernel never hands it out by itself"
            ),
            (false, false) => format!(
                "no: outside {range} (and outside IANA's Dynamic range {IANA_DYNAMIC_START}-65535)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(start: u16, range: (u16, u16)) -> Machine {
        Machine {
            unprivileged_port_start: Some(start),
            ephemeral_range: Some(range),
            reserved_ports: vec![],
            uid: Some(1000),
            cap_net_bind_service: Some(false),
        }
    }

    #[test]
    fn proc_formats_parse() {
        assert_eq!(parse_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_range("bogus"), None);
        assert_eq!(parse_port_list("\n"), vec![]);
        assert_eq!(
            parse_port_list("8080,9000-9005\n"),
            vec![(8080, 8080), (9000, 9005)]
        );
        let status = "Name:\tx\nUid:\t65534\t65534\t65534\t65534\nCapEff:\t0000000000000400\n";
        assert_eq!(parse_status(status), (Some(65534), Some(true)));
        let status = "Uid:\t0\t0\t0\t0\nCapEff:\t0000000000000000\n";
        assert_eq!(parse_status(status), (Some(0), Some(false)));
    }

    #[test]
    fn privilege_follows_the_machines_threshold_not_the_course_text() {
        let m = machine(1024, (32768, 60999));
        let cases = [
            (0, false),
            (1, true),
            (21, true),
            (80, true),
            (443, true),
            (1023, true),
            (1024, false),
            (8080, false),
            (65535, false),
        ];
        for (port, privileged) in cases {
            assert_eq!(m.privileged(port), Some(privileged), "{port}");
        }
        // A machine where the threshold was lowered (e.g. for containers).
        let low = machine(80, (32768, 60999));
        assert_eq!(low.privileged(79), Some(true));
        assert_eq!(low.privileged(80), Some(false));
        assert!(low.privilege_text(80).starts_with("no:"));
        let none = machine(0, (32768, 60999));
        assert_eq!(none.privileged(1), Some(false));
        assert!(none.privilege_text(1).contains("no port is privileged"));
    }

    #[test]
    fn ephemeral_follows_the_machines_range_and_names_the_iana_difference() {
        let m = machine(1024, (32768, 60999));
        let cases = [
            (1024, false, "outside"),
            (8080, false, "outside"),
            (32768, true, "User port"),
            (49151, true, "User port"),
            (49152, true, "Dynamic range 49152-65535 too"),
            (60999, true, "too"),
            (61000, false, "never hands it out"),
            (65535, false, "never hands it out"),
        ];
        for (port, eph, says) in cases {
            assert_eq!(m.ephemeral(port), Some(eph), "{port}");
            assert!(
                m.ephemeral_text(port).contains(says),
                "{port}: {}",
                m.ephemeral_text(port)
            );
        }
        let mut reserved = m.clone();
        reserved.reserved_ports = vec![(50000, 50010)];
        assert_eq!(reserved.ephemeral(50005), Some(false));
        assert!(
            reserved
                .ephemeral_text(50005)
                .contains("ip_local_reserved_ports")
        );
    }

    #[test]
    fn this_machine_is_readable() {
        let m = Machine::read();
        assert!(m.unprivileged_port_start.is_some());
        let (lo, hi) = m.ephemeral_range.unwrap();
        assert!(lo <= hi);
        assert!(m.uid.is_some() && m.cap_net_bind_service.is_some());
    }

    #[test]
    fn eacces_on_a_privileged_port_names_the_threshold_and_the_commands() {
        let m = machine(1024, (32768, 60999));
        let w = m.way_forward(80).unwrap();
        assert!(w.contains("ip_unprivileged_port_start = 1024"), "{w}");
        assert!(w.contains("--port 8080"), "{w}");
        assert!(w.contains("sudo setcap cap_net_bind_service+ep /"), "{w}");
        assert_eq!(m.way_forward(8080), None);
        assert!(
            machine(9000, (32768, 60999))
                .way_forward(80)
                .unwrap()
                .contains("--port 9000")
        );
    }
}
