//! Which well-known services a port number is named for, TCP and UDP
//! separately, and where each name comes from.
//!
//! Two sources: a table bundled in the binary (`assets/services/services.tsv`,
//! generated from Debian netbase's `/etc/services` by
//! `assets/services/generate.sh`), and this machine's `/etc/services` when it
//! has one. Every name carries the source that gave it, named for what it
//! is: netbase's table is Debian's selection from the IANA registry, with
//! omissions and additions of its own, so its names are labelled Debian
//! netbase's, never IANA's.

use crate::vocab::Proto;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

const BUNDLED_TSV: &str = include_str!("../../assets/services/services.tsv");
/// Where the machine's own table lives (see services(5)).
pub const ETC_SERVICES: &str = "/etc/services";

/// One line of a services table: a name for a port and protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    port: u16,
    proto: Proto,
    name: String,
    aliases: Vec<String>,
    comment: Option<String>,
}

/// A parsed services table and the label of its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    source: String,
    entries: Vec<Entry>,
}

fn proto_of(text: &str) -> Option<Proto> {
    match text {
        "tcp" => Some(Proto::Tcp),
        "udp" => Some(Proto::Udp),
        // sctp and ddp entries exist in the tables; sockscope teaches TCP and
        // UDP only, so they are left out.
        _ => None,
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

impl Table {
    /// The bundled table's format: `port<TAB>proto<TAB>name<TAB>aliases<TAB>comment`,
    /// `#` lines are the header.
    #[must_use]
    pub fn parse_tsv(text: &str, source: &str) -> Table {
        let entries = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut f = l.split('\t');
                let port = f.next()?.parse().ok()?;
                let proto = proto_of(f.next()?)?;
                let name = non_empty(f.next()?)?;
                let aliases = f
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(non_empty)
                    .collect();
                let comment = f.next().and_then(non_empty);
                Some(Entry {
                    port,
                    proto,
                    name,
                    aliases,
                    comment,
                })
            })
            .collect();
        Table {
            source: source.to_string(),
            entries,
        }
    }

    /// The services(5) format: `name port/proto [aliases...] [# comment]`.
    /// Lines that do not parse are skipped, as the C library skips them.
    #[must_use]
    pub fn parse_etc_services(text: &str, source: &str) -> Table {
        let entries = text
            .lines()
            .filter_map(|line| {
                let (body, comment) = match line.split_once('#') {
                    Some((b, c)) => (b, non_empty(c)),
                    None => (line, None),
                };
                let mut words = body.split_whitespace();
                let name = words.next()?.to_string();
                let (port, proto) = words.next()?.split_once('/')?;
                Some(Entry {
                    port: port.parse().ok()?,
                    proto: proto_of(proto)?,
                    name,
                    aliases: words.map(str::to_string).collect(),
                    comment,
                })
            })
            .collect();
        Table {
            source: source.to_string(),
            entries,
        }
    }

    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn lookup(&self, port: u16, proto: Proto) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(move |e| e.port == port && e.proto == proto)
    }
}

/// The netbase version recorded in the bundled table's header.
fn bundled_version() -> &'static str {
    BUNDLED_TSV
        .lines()
        .find_map(|l| l.strip_prefix("# netbase-version: "))
        .map_or("(unknown version)", str::trim)
}

/// The table bundled in the binary.
pub fn bundled() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        // Debian's table, not IANA's registry: netbase keeps the IANA names
        // in real use, leaves others out (IANA registers http on 80/udp and
        // ftp on 21/udp) and adds a few of its own (fsp on 21/udp). So it is
        // named for what it is.
        let source = format!("Debian netbase {} (bundled)", bundled_version());
        Table::parse_tsv(BUNDLED_TSV, &source)
    })
}

/// This machine's `/etc/services`, if it has one. Read on every call: it is
/// small, and a student may edit it while sockscope runs.
#[must_use]
pub fn system() -> Option<Table> {
    let text = std::fs::read_to_string(ETC_SERVICES).ok()?;
    Some(Table::parse_etc_services(&text, ETC_SERVICES))
}

/// One service name for a port and protocol, with every source that gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceName {
    pub name: String,
    pub aliases: Vec<String>,
    /// The table's own description, when it has one.
    pub comment: Option<String>,
    /// Which tables name it: the bundled Debian netbase table, `/etc/services`, or both.
    pub sources: Vec<String>,
}

/// The names of one port, per protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Services {
    pub tcp: Vec<ServiceName>,
    pub udp: Vec<ServiceName>,
    /// Every table that was consulted, whether or not it named the port.
    pub consulted: Vec<String>,
}

impl Services {
    #[must_use]
    pub fn of(&self, proto: Proto) -> &[ServiceName] {
        match proto {
            Proto::Tcp => &self.tcp,
            Proto::Udp => &self.udp,
        }
    }
}

/// Look `port` up in every table, merging names the tables share.
#[must_use]
pub fn lookup_in(port: u16, tables: &[&Table]) -> Services {
    let names = |proto| {
        let mut out: Vec<ServiceName> = Vec::new();
        for t in tables {
            for e in t.lookup(port, proto) {
                match out.iter_mut().find(|n| n.name == e.name) {
                    Some(n) => {
                        for a in &e.aliases {
                            if !n.aliases.contains(a) {
                                n.aliases.push(a.clone());
                            }
                        }
                        if n.comment.is_none() {
                            n.comment.clone_from(&e.comment);
                        }
                        if !n.sources.contains(&t.source) {
                            n.sources.push(t.source.clone());
                        }
                    }
                    None => out.push(ServiceName {
                        name: e.name.clone(),
                        aliases: e.aliases.clone(),
                        comment: e.comment.clone(),
                        sources: vec![t.source.clone()],
                    }),
                }
            }
        }
        out
    };
    Services {
        tcp: names(Proto::Tcp),
        udp: names(Proto::Udp),
        consulted: tables.iter().map(|t| t.source.clone()).collect(),
    }
}

/// Look `port` up in the bundled table and in this machine's `/etc/services`.
#[must_use]
pub fn lookup(port: u16) -> Services {
    let system = system();
    let mut tables = vec![bundled()];
    tables.extend(system.as_ref());
    lookup_in(port, &tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &[ServiceName]) -> Vec<&str> {
        s.iter().map(|n| n.name.as_str()).collect()
    }

    #[test]
    fn the_bundled_table_is_named_for_debian_netbase_not_iana() {
        let t = bundled();
        assert!(t.len() > 300, "{} entries", t.len());
        assert!(t.source().starts_with("Debian netbase 6."));
    }

    #[test]
    fn well_known_ports_have_their_names_per_protocol() {
        // (port, TCP names, UDP names) as the bundled table gives them.
        let cases: &[(u16, &[&str], &[&str])] = &[
            (0, &[], &[]),
            (1, &["tcpmux"], &[]),
            (21, &["ftp"], &["fsp"]),
            (22, &["ssh"], &[]),
            (53, &["domain"], &["domain"]),
            (80, &["http"], &[]),
            (443, &["https"], &["https"]),
            (1023, &[], &[]),
            (1024, &[], &[]),
            (8080, &["http-alt"], &[]),
            (32768, &[], &[]),
            (49151, &[], &[]),
            (49152, &[], &[]),
            (60999, &[], &[]),
            (65535, &[], &[]),
        ];
        for (port, tcp, udp) in cases {
            let s = lookup_in(*port, &[bundled()]);
            assert_eq!(names(&s.tcp), *tcp, "{port}/tcp");
            assert_eq!(names(&s.udp), *udp, "{port}/udp");
        }
        let http = &lookup_in(80, &[bundled()]).tcp[0];
        assert_eq!(http.aliases, ["www"]);
        assert_eq!(http.comment.as_deref(), Some("WorldWideWeb HTTP"));
    }

    #[test]
    fn etc_services_lines_parse_with_aliases_and_comments() {
        let t = Table::parse_etc_services(
            "# comment\n\nhttp\t\t80/tcp\t\twww\t# WorldWideWeb HTTP\n\
             local-thing 8080/udp\nbroken 99999/tcp\nnoport tcp\nrtmp 1/ddp\n",
            "/etc/services",
        );
        assert_eq!(t.len(), 2);
        let s = lookup_in(80, &[&t]);
        assert_eq!(s.tcp[0].aliases, ["www"]);
        assert_eq!(s.tcp[0].comment.as_deref(), Some("WorldWideWeb HTTP"));
        assert_eq!(names(&lookup_in(8080, &[&t]).udp), ["local-thing"]);
    }

    #[test]
    fn each_name_says_which_tables_gave_it() {
        let local =
            Table::parse_etc_services("http 80/tcp www web\nmyapp 8080/tcp\n", "/etc/services");
        let s = lookup_in(80, &[bundled(), &local]);
        assert_eq!(s.tcp.len(), 1);
        assert_eq!(s.tcp[0].sources, [bundled().source(), "/etc/services"]);
        assert_eq!(s.tcp[0].aliases, ["www", "web"]);
        let s = lookup_in(8080, &[bundled(), &local]);
        assert_eq!(names(&s.tcp), ["http-alt", "myapp"]);
        assert_eq!(s.tcp[0].sources, [bundled().source()]);
        assert_eq!(s.tcp[1].sources, ["/etc/services"]);
        assert_eq!(s.consulted.len(), 2);
    }
}
