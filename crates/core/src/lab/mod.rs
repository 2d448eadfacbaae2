//! The lab network: lessons run in a private network namespace of this
//! process's own, where an ordinary user may capture packets and nothing the
//! lessons do meets the machine's other programs.
//!
//! [`enter`] is called by the binary first thing, while the process is still
//! single-threaded (the kernel's rule for user namespaces; see
//! `sockscope_sys::lab`), for the commands that run lessons. What it leaves
//! is a [`Network`]: in the lab, or on the machine's own network and why.
//! Its [`Network::label`] is the line the TUI's title bar and `trace`'s
//! header carry; a refusal's [`Refusal`] line says why once, with what would
//! enable the lab.
//!
//! The lab is a copy of this machine where it teaches the machine's rules:
//! the port settings (ip_unprivileged_port_start, ip_local_port_range,
//! ip_local_reserved_ports) are copied in, and CAP_NET_BIND_SERVICE, which
//! the lab's creator holds, is given back unless the process held it
//! before, so a bind below 1024 is refused in the lab exactly where it
//! would be refused outside (the `privileged` lesson teaches that rule).

mod refusal;

pub use refusal::{Facts, Refusal};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The network this process's lessons run on, once the binary has chosen
/// it: a namespace is the whole process's, so this is too.
static CURRENT: OnceLock<Network> = OnceLock::new();

/// Record the network chosen at startup (the first record stands).
pub fn set_current(network: Network) {
    let _ = CURRENT.set(network);
}

/// The network recorded at startup; `None` for a command that runs no
/// lesson, and in the library's own tests (the machine's network).
pub fn current() -> Option<&'static Network> {
    CURRENT.get()
}

/// The title bar's and `trace` header's line in the lab.
pub const LAB: &str = "lab network: a private loopback, yours alone";

/// The line on the machine's own network.
pub const HOST: &str = "host network: this machine's loopback";

/// Where this process's lessons run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// In the lab, entered in this long.
    Lab(Duration),
    /// On the machine's network because `--host-network` or the config
    /// file's `host_network` asked for it.
    HostAsked,
    /// On the machine's network because the kernel refused the lab.
    HostRefused(Refusal),
}

impl Network {
    #[must_use]
    pub fn in_lab(&self) -> bool {
        matches!(self, Network::Lab(_))
    }

    /// One line naming the network, for the title bar and `trace`'s header.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Network::Lab(_) => LAB,
            Network::HostAsked | Network::HostRefused(_) => HOST,
        }
    }
}

/// The per-namespace sysctls copied from the machine into the lab, so the
/// ports panel and a bind see this machine's numbers (a new namespace starts
/// from the kernel's defaults).
const COPIED: [&str; 3] = [
    crate::ports::machine::UNPRIVILEGED_PORT_START,
    crate::ports::machine::LOCAL_PORT_RANGE,
    crate::ports::machine::LOCAL_RESERVED_PORTS,
];

/// Enter the lab, or say why not and stay on the machine's network.
///
/// Must run before any thread starts. `Err` only where the process is now
/// in a network namespace it cannot use (its `lo` could not be brought
/// up): the message says so, and the caller stops.
pub fn enter() -> Result<Network, String> {
    let started = Instant::now();
    // Read before entering: afterwards /proc/sys/net and /proc/self/status
    // describe the lab.
    let copied: Vec<(&str, Option<String>)> = COPIED
        .iter()
        .map(|p| (*p, std::fs::read_to_string(p).ok()))
        .collect();
    let had_bind_service = holds_capability(sockscope_sys::lab::CAP_NET_BIND_SERVICE);
    if let Err(e) = sockscope_sys::lab::enter() {
        if e.step == sockscope_sys::lab::Step::LoUp {
            return Err(format!(
                "the lab network could not be set up ({e}); run with --host-network"
            ));
        }
        return Ok(Network::HostRefused(Refusal::new(&e, &Facts::read())));
    }
    for (path, value) in copied {
        if let Some(v) = value
            && let Err(e) = std::fs::write(path, v.trim())
        {
            return Err(format!(
                "the lab network could not copy this machine's {path} ({e}); run with --host-network"
            ));
        }
    }
    if !had_bind_service
        && let Err(e) =
            sockscope_sys::lab::drop_capability(sockscope_sys::lab::CAP_NET_BIND_SERVICE)
    {
        return Err(format!(
            "the lab network could not give back CAP_NET_BIND_SERVICE ({e}); run with --host-network"
        ));
    }
    Ok(Network::Lab(started.elapsed()))
}

/// Does this process hold capability `cap` in its effective set now
/// (/proc/self/status, CapEff)?
#[must_use]
pub fn holds_capability(cap: u32) -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|bits| bits & (1 << cap) != 0)
}

/// On the machine's network: `None` if `lo` is up, else the sentence that
/// says it is down and how to bring it up (a learner in a namespace of
/// their own whose `lo` is down would otherwise meet ENETUNREACH and an
/// accept that never returns).
#[must_use]
pub fn lo_down() -> Option<String> {
    match sockscope_sys::lab::is_up("lo") {
        Ok(true) => None,
        Ok(false) => Some(
            "lo is down in this network namespace, so nothing can connect to 127.0.0.1: \
             bring it up with `ip link set lo up` (as this namespace's root; `sudo` on \
             the machine's own network), or run sockscope without --host-network for \
             its own lab network"
                .into(),
        ),
        Err(e) => Some(format!(
            "this network namespace has no usable loopback interface lo ({e}); \
             run sockscope without --host-network for its own lab network"
        )),
    }
}
