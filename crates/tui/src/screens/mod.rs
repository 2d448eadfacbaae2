//! Each screen as the shell runs it: its [`crate::shell::Screen`] impl (the
//! glue between its pure state, in `crate::app` or `crate::serve`, and its
//! panels, in `crate::ui`) and its [`crate::shell::run::Driver`], the one
//! place that touches what the screen shows (the engine, the server).
//!
//! - [`lesson`]: `sockscope`, `sockscope lesson NAME`.
//! - [`serve`]: `sockscope serve` on a terminal.
//! - [`run`]: `sockscope run`, a student's own programs stepped a socket
//!   call at a time.
//!
//! A new screen is one more file here: its state, its render, its driver;
//! the shell does not change.

pub mod lesson;
pub mod run;
pub mod serve;
