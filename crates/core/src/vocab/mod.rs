//! The vocabulary every layer shares, each word defined once: the lifecycle
//! calls and protocols ([`Call`], [`Proto`]), errno names with the sentence a
//! student is shown ([`errno`]), safe previews of payload bytes
//! ([`preview`]), and addresses as text ([`addr_text`]). Nothing here depends
//! on any other module of the crate, so every module may use it.

pub mod addr;
pub mod call;
pub mod errno;
pub mod preview;

pub use addr::addr_text;
pub use call::{Call, Proto};
