//! The process's file descriptor table, as the kernel lists it in
//! /proc/self/fd, each entry named for what it is.
//!
//! A lesson asks why the first socket is not fd 0, 1 or 2, and the kernel's
//! answer is the table: socket(2) returns the lowest number not already
//! open in the process, and sockscope itself holds the numbers below the
//! lesson's first socket (the terminal's three, the async runtime's epoll
//! and eventfd, the /proc files through which it watches each actor's
//! thread sleep, the capture socket). Each entry here is a real readlink of
//! /proc/self/fd/N; only its description is sockscope's, from what the
//! link names: a lesson socket by the lesson's name for it, a thread's
//! /proc file by its actor, a socket sockscope opened by the kernel table
//! that lists its inode (/proc/net/packet for the capture, /proc/net/netlink
//! for the sock_diag queries).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io;

/// Who holds a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// 0, 1 and 2: standard input, output and error.
    Std,
    /// sockscope's own machinery.
    Sockscope,
    /// A socket of the lesson.
    Lesson,
    /// Anything else the process holds (inherited from the shell, say).
    Other,
}

/// One open descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdEntry {
    pub fd: i32,
    /// What /proc/self/fd/N links to, as the kernel wrote it: a path,
    /// `socket:[INODE]`, `pipe:[INODE]`, `anon_inode:[eventpoll]`.
    pub target: String,
    pub owner: Owner,
    /// What it is, in a few words: `server:listener`, `stdout`,
    /// `tokio's epoll`, `client's thread: /proc/…/wchan`.
    pub what: String,
}

/// What the engine knows that the links alone do not say.
#[derive(Debug, Default)]
pub struct Names<'a> {
    /// The lesson's sockets: fd to `actor:sock`.
    pub lesson: HashMap<i32, &'a str>,
    /// The actors' threads: thread id to actor.
    pub threads: HashMap<i32, &'a str>,
}

/// Read /proc/self/fd now, in fd order.
pub fn read(names: &Names<'_>) -> io::Result<Vec<FdEntry>> {
    let own_listing = format!("/proc/{}/fd", std::process::id());
    let mut links = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let entry = entry?;
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        // The listing's own fd: read_dir holds /proc/PID/fd open while it
        // lists, and it was not open when the call returned.
        if target == own_listing {
            continue;
        }
        links.push((fd, target));
    }
    links.sort_unstable_by_key(|(fd, _)| *fd);
    let kinds = SocketKinds::read_if(
        links
            .iter()
            .any(|(fd, t)| t.starts_with("socket:") && !names.lesson.contains_key(fd)),
    );
    Ok(links
        .into_iter()
        .map(|(fd, target)| {
            let (owner, what) = describe(fd, &target, names, &kinds);
            FdEntry {
                fd,
                target,
                owner,
                what,
            }
        })
        .collect())
}

/// The kernel's tables that say what kind of socket an inode is, for the
/// sockets that are not the lesson's.
#[derive(Default)]
struct SocketKinds {
    packet: Vec<u64>,
    netlink: Vec<u64>,
    unix: Vec<u64>,
}

impl SocketKinds {
    fn read_if(needed: bool) -> SocketKinds {
        if !needed {
            return SocketKinds::default();
        }
        SocketKinds {
            // /proc/net/packet: "sk RefCnt Type Proto Iface R Rmem User Inode".
            packet: inodes("/proc/self/net/packet", 8),
            // /proc/net/netlink: "sk Eth Pid Groups Rmem Wmem Dump Locks
            // Drops Inode".
            netlink: inodes("/proc/self/net/netlink", 9),
            // /proc/net/unix: "Num RefCount Protocol Flags Type St Inode Path".
            unix: inodes("/proc/self/net/unix", 6),
        }
    }
}

/// The inode column of a /proc/net table (after its header line).
fn inodes(path: &str, column: usize) -> Vec<u64> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().nth(column)?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn describe(fd: i32, target: &str, names: &Names<'_>, kinds: &SocketKinds) -> (Owner, String) {
    if let Some(name) = names.lesson.get(&fd) {
        return (Owner::Lesson, (*name).to_string());
    }
    if let Some(std) = ["stdin", "stdout", "stderr"].get(fd as usize) {
        return (Owner::Std, format!("{std}: {}", plain(target)));
    }
    if let Some(what) = sockscope_own(target, names, kinds) {
        return (Owner::Sockscope, what);
    }
    (Owner::Other, plain(target))
}

/// sockscope's own descriptors, by what their link names.
fn sockscope_own(target: &str, names: &Names<'_>, kinds: &SocketKinds) -> Option<String> {
    match target {
        // tokio's reactor: the epoll instance its thread waits in, and the
        // eventfd other threads write to wake it.
        "anon_inode:[eventpoll]" => return Some("the async runtime's epoll".into()),
        "anon_inode:[eventfd]" => return Some("the async runtime's wake-up eventfd".into()),
        "anon_inode:[signalfd]" => return Some("a signalfd".into()),
        _ => {}
    }
    if let Some(inode) = target
        .strip_prefix("socket:[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|n| n.parse::<u64>().ok())
    {
        if kinds.packet.contains(&inode) {
            return Some("the packet capture socket (AF_PACKET)".into());
        }
        if kinds.netlink.contains(&inode) {
            return Some("a netlink socket (asks the kernel's socket tables)".into());
        }
        if kinds.unix.contains(&inode) {
            // tokio's signal driver wakes its reactor through a Unix
            // socket pair; nothing else of sockscope's makes one.
            return Some("a Unix-domain socket (the runtime's signal wake-up)".into());
        }
        return None;
    }
    // /proc/PID/task/TID/{syscall,wchan,stat}: the files the engine reads
    // to see where an actor's thread sleeps (engine::worker).
    let rest = target.strip_prefix("/proc/")?;
    let mut parts = rest.split('/');
    let (_pid, task, tid, file) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if task != "task" || parts.next().is_some() {
        return None;
    }
    let actor = names.threads.get(&tid.parse().ok()?)?;
    Some(format!("{actor}'s thread: its {file} in /proc"))
}

/// A link target as a short phrase: the terminal, /dev/null, a pipe.
fn plain(target: &str) -> String {
    if target.starts_with("/dev/pts/") || target == "/dev/tty" || target.starts_with("/dev/tty") {
        return format!("the terminal ({target})");
    }
    if target.starts_with("pipe:") {
        return format!("a pipe ({target})");
    }
    if target.starts_with("socket:") {
        return format!("a socket ({target})");
    }
    target.to_string()
}

/// The table in one line, for the narration and the transcript: the
/// standard three, each group of sockscope's own as a range, the lesson's
/// sockets by name, `this` marked as the call's.
#[must_use]
pub fn summary(table: &[FdEntry], this: Option<i32>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < table.len() {
        let e = &table[i];
        match e.owner {
            Owner::Sockscope => {
                // A run of sockscope's own, listed once with its kinds.
                let start = i;
                let mut kinds: Vec<&str> = Vec::new();
                while i < table.len() && table[i].owner == Owner::Sockscope {
                    let kind = short(&table[i].what);
                    if !kinds.contains(&kind) {
                        kinds.push(kind);
                    }
                    i += 1;
                }
                let (first, last) = (table[start].fd, table[i - 1].fd);
                let range = if first == last {
                    first.to_string()
                } else {
                    format!("{first}–{last}")
                };
                parts.push(format!("{range} sockscope's own ({})", kinds.join(", ")));
                continue;
            }
            Owner::Lesson if Some(e.fd) == this => {
                parts.push(format!("{} {} ← this call", e.fd, e.what));
            }
            Owner::Std | Owner::Lesson | Owner::Other => parts.push(format!("{} {}", e.fd, e.what)),
        }
        i += 1;
    }
    // socket(2) and accept(2) return the lowest number not open in the
    // process, so a lower number free now was open when the call ran: one
    // of sockscope's own threads held it for a moment (a /proc or netlink
    // read) and has closed it since.
    if let Some(this) = this {
        let free: Vec<String> = (0..this)
            .filter(|n| !table.iter().any(|e| e.fd == *n))
            .map(|n| n.to_string())
            .collect();
        if !free.is_empty() {
            parts.push(format!(
                "{} free now: open when the call ran (the kernel hands out the lowest free number), closed since",
                free.join(", ")
            ));
        }
    }
    parts.join(" · ")
}

/// A description's kind, for the summary's list of sockscope's own.
fn short(what: &str) -> &str {
    if what.contains("'s thread:") {
        "the actors' threads' /proc files"
    } else {
        what
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(fd: i32, owner: Owner, what: &str) -> FdEntry {
        FdEntry {
            fd,
            target: String::new(),
            owner,
            what: what.into(),
        }
    }

    #[test]
    fn the_summary_groups_sockscopes_own_and_marks_the_call() {
        let table = [
            entry(0, Owner::Std, "stdin: the terminal (/dev/pts/0)"),
            entry(1, Owner::Std, "stdout: a pipe (pipe:[7])"),
            entry(3, Owner::Sockscope, "the async runtime's epoll"),
            entry(4, Owner::Sockscope, "server's thread: its syscall in /proc"),
            entry(5, Owner::Sockscope, "client's thread: its wchan in /proc"),
            entry(6, Owner::Lesson, "server:listener"),
        ];
        assert_eq!(
            summary(&table, Some(6)),
            "0 stdin: the terminal (/dev/pts/0) · 1 stdout: a pipe (pipe:[7]) · \
             3–5 sockscope's own (the async runtime's epoll, the actors' threads' /proc files) · \
             6 server:listener ← this call · \
             2 free now: open when the call ran (the kernel hands out the lowest free number), closed since"
        );
    }

    #[test]
    fn this_process_table_names_its_standard_descriptors_and_its_own_files() {
        use std::os::fd::AsRawFd;
        let tid = sockscope_sys::interrupt::gettid();
        let file = std::fs::File::open(format!("/proc/self/task/{tid}/wchan")).unwrap();
        let names = Names {
            lesson: HashMap::new(),
            threads: HashMap::from([(tid, "server")]),
        };
        let table = read(&names).unwrap();
        let mine = table.iter().find(|e| e.fd == file.as_raw_fd()).unwrap();
        assert_eq!(mine.owner, Owner::Sockscope);
        assert_eq!(mine.what, "server's thread: its wchan in /proc");
        assert!(
            mine.target.ends_with(&format!("/task/{tid}/wchan")),
            "{mine:?}"
        );
        if let Some(e) = table.iter().find(|e| e.fd == 2) {
            assert_eq!(e.owner, Owner::Std);
            assert!(e.what.starts_with("stderr"), "{e:?}");
        }
    }
}
