//! The fd table a `socket` event carries (`fd_table = true`, the tcp
//! lesson's first step) is the process's own, as /proc/self/fd lists it,
//! and the socket's number is the lowest one free: what the narration says.
//!
//! One test in this file, on purpose: it checks which fd numbers the
//! kernel hands out, and tests running in parallel threads of the same
//! process would take numbers in between.

mod common;
use sockscope_core::kernel::fds::Owner;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

#[test]
fn the_kernel_hands_out_the_lowest_free_fd_and_the_table_is_proc_self_fd() {
    // socket(2) and accept(2) return the lowest number not open: free one
    // below two open sockets, and the next socket gets exactly it.
    let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let lowest = a.as_raw_fd();
    assert!(b.as_raw_fd() > lowest);
    drop(a);
    let c = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert_eq!(c.as_raw_fd(), lowest, "the freed lower number is reused");
    drop((b, c));

    // The tcp lesson's first step, run by the engine in this process.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (hand, events) = common::step_by_hand("tcp", 1).await;
        let e = events.last().expect("step 1's event");
        assert_eq!(e.step, 1);
        let fd = e.new_fd.expect("socket returned an fd");
        let table = e.fds.as_ref().expect("step 1 carries the fd table");
        for entry in table {
            // Each entry is the kernel's link for that number (read again
            // now: the engine is paused, nothing has opened or closed).
            let link = std::fs::read_link(format!("/proc/self/fd/{}", entry.fd))
                .unwrap_or_else(|e| panic!("{entry:?} is not open: {e}"));
            assert_eq!(link.to_string_lossy(), entry.target, "{entry:?}");
        }
        for (n, name) in [(0, "stdin"), (1, "stdout"), (2, "stderr")] {
            if let Some(entry) = table.iter().find(|t| t.fd == n) {
                assert_eq!(entry.owner, Owner::Std);
                assert!(entry.what.starts_with(name), "{entry:?}");
            }
        }
        let mine = table.iter().find(|t| t.fd == fd).expect("the new socket");
        assert_eq!(mine.owner, Owner::Lesson);
        assert_eq!(mine.what, "server:listener");
        let inode = std::fs::metadata(format!("/proc/self/fd/{fd}"))
            .unwrap()
            .ino();
        assert_eq!(mine.target, format!("socket:[{inode}]"));
        // Every number below the socket's was open when it ran: listed, or
        // said to have been open and closed since.
        let summary = sockscope_core::kernel::fds::summary(table, Some(fd));
        for n in 0..fd {
            if table.iter().all(|t| t.fd != n) {
                assert!(
                    summary.contains("free now: open when the call ran"),
                    "{summary}"
                );
            }
        }
        assert!(
            summary.contains(&format!("{fd} server:listener ← this call")),
            "{summary}"
        );
        // sockscope's own are named: the actors' threads' /proc files at least.
        assert!(
            table
                .iter()
                .any(|t| t.owner == Owner::Sockscope
                    && t.what == "server's thread: its wchan in /proc"),
            "{table:#?}"
        );
        drop(hand);
    });
}
