//! Long runs lose nothing: the `tcp` lesson run thousands of times back to
//! back, in one process, leaks no fds and grows no memory.
//!
//! This file holds a single test so no other test shares its process (their
//! allocations and sockets would blur the figures). CI runs 3,000 lessons;
//! the full soak, `SOCKSCOPE_SOAK_RUNS=10000 cargo test --test soak --
//! --nocapture`, runs 10,000, the figure docs/reliability.md reports.

use sockscope_core::engine::{self, EngineMsg};
use sockscope_core::lesson;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Resident set size in KiB, from /proc/self/statm (pages).
fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

fn soak(runs: usize) {
    let lesson = std::sync::Arc::new(lesson::builtin("tcp").unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let block = 1000;
    let mut after_first = None;
    for i in 1..=runs {
        let msgs = rt.block_on(engine::run_to_end(lesson.clone(), 0));
        assert!(
            matches!(msgs.last(), Some(EngineMsg::Finished)),
            "run {i} did not finish: {:?}",
            msgs.last()
        );
        assert_eq!(engine::events(&msgs).len(), lesson.steps.len(), "run {i}");
        if i == block {
            after_first = Some((open_fds(), rss_kib()));
        }
    }
    let (fds_first, rss_first) = after_first.unwrap();
    let (fds_last, rss_last) = (open_fds(), rss_kib());
    eprintln!(
        "soak {runs} runs: fds {fds_first} -> {fds_last}, RSS {rss_first} KiB -> {rss_last} KiB"
    );
    assert_eq!(fds_last, fds_first, "fd count grew over {runs} runs");
    assert!(
        rss_last * 100 <= rss_first * 105,
        "RSS grew more than 5%: {rss_first} KiB -> {rss_last} KiB"
    );
}

/// How many lessons to run: 3,000 by default (CI), or `SOCKSCOPE_SOAK_RUNS`.
fn runs() -> usize {
    std::env::var("SOCKSCOPE_SOAK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n >= 2000)
        .unwrap_or(3_000)
}

#[test]
fn thousands_of_tcp_lessons_leak_no_fds_or_memory() {
    soak(runs());
}
