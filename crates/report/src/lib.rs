//! Headless output of sockscope: what a run did, without a terminal.
//!
//! # Layout
//!
//! - [`headless`]: `sockscope trace`, the engine's events as JSON Lines (a
//!   public contract, field by field) or a readable transcript in the spirit
//!   of strace. `serve --headless` prints its events through here too.
//! - [`handout`]: a lesson run as a markdown handout (`--format markdown`,
//!   key `e` in the TUI); `handout::serve`, a `serve` session's handout.
//! - [`program`]: a lesson as a C, Python or Rust program that makes the
//!   same calls (`sockscope export`), and the code panel's lines.
//! - [`files`]: the files these are saved in, and pcap files: names that
//!   cannot leave their folder, nothing overwritten unless asked, write
//!   errors reported.
//!
//! Everything here reads events from `sockscope-core`; nothing here knows a
//! terminal.

pub mod files;
pub mod handout;
pub mod headless;
pub mod program;
