//! A [`PortReport`] as a few readable lines, for `sockscope port N` and for
//! anyone who wants the same words (the TUI's port panel uses [`lines`]).

use super::probe::BindProbe;
use super::services::ServiceName;
use super::{PortReport, services};
use crate::vocab::Proto;
use crate::vocab::preview::text;

/// One service name with its aliases, comment and sources:
/// `http (also www) "WorldWideWeb HTTP" [Debian netbase 6.4 (bundled) + /etc/services]`.
///
/// Names and comments come from /etc/services, a file anyone with root on
/// the machine may have written anything into: escaped.
#[must_use]
pub fn service_text(s: &ServiceName) -> String {
    let mut t = text(&s.name).into_owned();
    if !s.aliases.is_empty() {
        t.push_str(&format!(" (also {})", text(&s.aliases.join(", "))));
    }
    if let Some(c) = &s.comment {
        t.push_str(&format!(" \"{}\"", text(c)));
    }
    t.push_str(&format!(" [{}]", s.sources.join(" + ")));
    t
}

/// The names on one protocol, or what was searched when there are none.
pub fn services_line(r: &PortReport, proto: Proto) -> String {
    let names = r.services.of(proto);
    if names.is_empty() {
        let looked = if r.services.consulted.len() > 1 {
            "the bundled Debian netbase table or /etc/services"
        } else {
            "the bundled Debian netbase table (this machine has no /etc/services)"
        };
        return format!("none in {looked}");
    }
    names
        .iter()
        .map(service_text)
        .collect::<Vec<_>>()
        .join("; ")
}

/// `bind(127.0.0.1:80) = ok, released` plus the reason, for one protocol.
#[must_use]
pub fn bind_line(p: &BindProbe) -> String {
    let mut line = format!("{}({}) = ", p.call, p.addr);
    if p.ok() {
        line.push('0');
        if let (Some(bound), true) = (&p.bound, p.addr.ends_with(":0")) {
            line.push_str(&format!(" -> {bound}"));
        }
    } else {
        line.push_str(&format!("-1 {}", p.result));
    }
    if let Some(r) = &p.released {
        line.push_str(&match r {
            crate::vocab::Outcome::Ok => ", then closed".to_string(),
            e => format!(", close failed: {e}"),
        });
    }
    if let Some(why) = &p.why {
        line.push_str(&format!(" - {why}"));
    } else if let Some(x) = &p.explain {
        line.push_str(&format!(" - {x}"));
    }
    line
}

/// The report as (label, text) rows, in the order they are printed.
#[must_use]
pub fn lines(r: &PortReport) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(note) = &r.note {
        out.push(("port 0", note.clone()));
    }
    out.push((
        "range",
        format!("{}-{}, {}", r.range.low, r.range.high, r.range.course),
    ));
    out.push(("IANA", format!("{} (RFC 6335)", r.range.iana_text)));
    if r.port != 0 {
        out.push(("TCP name", services_line(r, Proto::Tcp)));
        out.push(("UDP name", services_line(r, Proto::Udp)));
    }
    out.push(("privileged", r.machine.privileged_text.clone()));
    out.push(("ephemeral", r.machine.ephemeral_text.clone()));
    out.push((
        "on the wire",
        format!(
            "{} in a TCP or UDP header (network byte order, big-endian); in this {}-endian machine's memory {} (htons converts)",
            r.wire.hex, r.wire.host_endian, r.wire.host_hex
        ),
    ));
    out.push(("bind TCP", bind_line(&r.bind.tcp)));
    out.push(("bind UDP", bind_line(&r.bind.udp)));
    out
}

/// The whole report as text, ending with a newline.
#[must_use]
pub fn render(r: &PortReport) -> String {
    let mut s = format!("Port {}\n", r.port);
    let rows = lines(r);
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (label, text) in rows {
        s.push_str(&format!("  {label:<width$}  {text}\n"));
    }
    let bundled = services::bundled();
    s.push_str(&format!(
        "  (names from {} and {}; binds ran as {})\n",
        bundled.source(),
        if r.services.consulted.len() > 1 {
            services::ETC_SERVICES
        } else {
            "no /etc/services"
        },
        credentials(r)
    ));
    s
}

fn credentials(r: &PortReport) -> String {
    let m = super::Machine {
        unprivileged_port_start: r.machine.unprivileged_port_start,
        ephemeral_range: r.machine.ephemeral_range,
        reserved_ports: Vec::new(),
        uid: r.machine.uid,
        cap_net_bind_service: r.machine.cap_net_bind_service,
    };
    m.credentials()
}
