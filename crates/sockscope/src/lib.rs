//! sockscope teaches socket programming by doing it for real: it opens real
//! TCP and UDP sockets on loopback, performs each lifecycle call one step at a
//! time, and shows what the kernel answered.
//!
//! # Layout
//!
//! The program is a workspace whose crates are its layers, dependencies
//! pointing down only:
//!
//! 1. `sockscope-sys`: the only crate allowed `unsafe`: close(2)'s return
//!    value, TCP_INFO, the AF_PACKET capture socket.
//! 2. `sockscope-core`: the vocabulary, lessons as data, the engine (real
//!    sockets, one actor per endpoint, a gate before every call), the kernel
//!    observer, the wire (capture and decoding), ports. No terminal code.
//! 3. `sockscope-report`: headless output: JSON Lines, text transcripts,
//!    markdown handouts.
//! 4. `sockscope-tui`: one shell (one event loop, the presenter's keys,
//!    the windows) that every interactive screen (lesson, serve) runs in,
//!    the key table, themes, one render function per panel, the config file.
//! 5. this crate, the binary: [`cli`], the command line; [`output`], where
//!    the program's own output goes and what a closed or full stdout or
//!    stderr does; [`serving`], `serve` without the screen, whose output
//!    never holds the server up; [`exporting`], `export` (a lesson as a
//!    program to build and run); [`running`], `run --headless` (a
//!    student's own programs, traced); [`checking`], `check` (a student's
//!    program graded in a role, sockscope playing the other side);
//!    `main.rs`, which merges the command line
//!    with the config file and hands off to the layers above; and the
//!    allocator.
//!
//! Events flow one way: engine → consumers (the TUI, headless output, the
//! tests).

/// mimalloc rather than the system allocator: every call the engine makes
/// produces an event of a dozen small strings, and with glibc's malloc the
/// allocations were the largest user-space cost of a lesson (see
/// docs/performance.md). Declared here, in the binary's library, so the
/// binary, its integration tests and the benchmarks all run on the same
/// allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod checking;
pub mod cli;
pub mod exporting;
pub mod output;
pub mod running;
pub mod serving;
