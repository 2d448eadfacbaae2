//! The engine of sockscope: real TCP and UDP sockets on loopback, one lesson
//! call at a time, and what the kernel and the wire say about each one. No
//! terminal code lives here (the workspace's layer test checks that this
//! crate does not depend on ratatui or crossterm): the TUI, headless output
//! and the tests all consume the same events.
//!
//! # Layout
//!
//! In layer order, each module using only those above it:
//!
//! - [`vocab`]: the words every layer shares, each defined once: the
//!   lifecycle calls, protocols, errno names and explanations, payload
//!   previews, addresses as text.
//! - [`sync`]: the one rule for the mutexes threads share (a panic
//!   elsewhere does not stop the lesson).
//! - [`place`]: line and column of a byte offset, for errors in the config
//!   and lesson files.
//! - [`textfile`]: reading a lesson or config file without trusting it: a
//!   regular file only, with a size cap, UTF-8 with the place of a bad byte.
//! - [`kernel`]: the kernel observer: TCP state, queues and timers of each
//!   socket (TCP_INFO through the fd, sock_diag and /proc/net/tcp and
//!   /proc/net/udp by address for connections without one), and the UDP drop
//!   counters.
//! - [`wire`]: the packets on `lo`: capture (AF_PACKET), attribution of each
//!   packet to the call that caused it, layer-by-layer decoding, pcap export.
//! - [`event`]: the record of one call that really ran ([`event::Event`]),
//!   as every consumer receives it; its JSON fields are a public contract.
//! - [`lesson`]: lessons as data (`assets/lessons/*.toml`): endpoints, calls in
//!   order, narration, and the claims each step makes about the kernel; and the
//!   catalogue: built-ins plus a teacher's own lessons folder.
//! - [`engine`]: the real sockets. One actor per endpoint, a stepper gate
//!   before every syscall, and one [`event::Event`] per call.
//!   [`engine::serve`] is the other driver: a real echo server for peers the
//!   user brings (`sockscope serve`), emitting the same events.
//! - [`ports`]: `sockscope port N`: a port's range, service names, this
//!   machine's settings for it, its bytes on the wire, and a real bind probe.
//!
//! - [`lab`]: the lab network: whether this process runs its lessons in a
//!   private network namespace of its own, why not when the kernel refuses,
//!   and the one line the screen and `trace` say about it.
//!
//! - [`check`]: `sockscope check`: roles as data (`assets/roles/*.toml`),
//!   the claims held against a traced program's events, and the other
//!   side of the exchange played with real sockets.
//!
//! - [`testing`]: how a test that cannot run on this machine says so (and
//!   fails in CI, where every test must run).
//!
//! The one crate below this is `sockscope-sys`, the only code allowed
//! `unsafe`.

pub mod check;
pub mod engine;
pub mod event;
pub mod kernel;
pub mod lab;
pub mod lesson;
pub mod place;
pub mod ports;
pub mod sync;
pub mod testing;
pub mod textfile;
pub mod tracer;
pub mod vocab;
pub mod wire;
