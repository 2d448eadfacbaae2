//! sockscope teaches socket programming by doing it for real: it opens real
//! TCP and UDP sockets on loopback, performs each lifecycle call one step at a
//! time, and shows what the kernel answered.
//!
//! # Layout
//!
//! - [`engine`]: the real sockets. One actor per endpoint, a stepper gate
//!   before every syscall, and one [`engine::Event`] per call. No terminal code.
//!   [`engine::serve`] is the other driver: a real echo server for peers the
//!   user brings (`sockscope serve`), emitting the same events.
//! - [`kernel`]: the kernel observer: TCP state, queues and timers of each
//!   socket (TCP_INFO through the fd, /proc/net/tcp and /proc/net/udp by
//!   address for connections without one), and the UDP drop counters.
//! - [`lesson`]: lessons as data (`assets/lessons/*.toml`): endpoints, calls in
//!   order, narration, and the claims each step makes about the kernel; and the
//!   catalogue: built-ins plus a teacher's own lessons folder.
//! - [`handout`]: a lesson run as a markdown handout (`--format markdown`);
//!   `handout::serve`, a `serve` session's handout (key `e` on its screen).
//! - [`place`]: line and column of a byte offset, for errors in the config
//!   and lesson files.
//! - [`config`]: the config file (theme, speed, keys, default lesson, lessons
//!   folder) and its commented template.
//! - [`wire`]: the packets on `lo`: capture (AF_PACKET), attribution of each
//!   packet to the call that caused it, layer-by-layer decoding, pcap export.
//!   No terminal code.
//! - [`headless`]: `sockscope trace`, the engine's events as JSON Lines or text.
//! - [`ports`]: `sockscope port N`: a port's range, service names, this
//!   machine's settings for it, its bytes on the wire, and a real bind probe.
//! - [`tui`]: the interactive screen (`sockscope`, `sockscope lesson NAME`):
//!   lanes, layers, ports and narration over the engine's events.
//! - [`cli`]: the command line.
//! - [`sys`]: the one audited module allowed to use `unsafe`.
//!
//! Events flow one way: engine → consumers (the TUI, headless output, the
//! tests).

/// mimalloc rather than the system allocator: every call the engine makes
/// produces an event of a dozen small strings, and with glibc's malloc the
/// allocations were the largest user-space cost of a lesson (see
/// docs/performance.md). Declared here, in the library, so the binary, the
/// tests and the benchmarks all run on the same allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod cli;
pub mod config;
pub mod engine;
pub mod handout;
pub mod headless;
pub mod kernel;
pub mod lesson;
pub mod place;
pub mod ports;
pub mod sys;
pub mod tui;
pub mod wire;
