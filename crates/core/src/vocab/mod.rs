//! The vocabulary every layer shares, each word defined once: the lifecycle
//! calls and protocols ([`Call`], [`Proto`]), errno names with the sentence a
//! student is shown ([`errno`]), safe previews of payload bytes
//! ([`preview`]), addresses as text ([`addr_text`]), and TCP states with
//! the words around them ([`TcpState`], [`StateSeen`], [`SeenIn`],
//! [`Source`]). Nothing here depends
//! on any other module of the crate, so every module may use it.

pub mod addr;
pub mod call;
pub mod errno;
pub mod preview;
pub mod tcp_state;

pub use addr::addr_text;
pub use call::{Call, NONBLOCKING, Proto};
pub use errno::Outcome;
pub use tcp_state::{SeenIn, Source, StateSeen, TcpState, Timer};
