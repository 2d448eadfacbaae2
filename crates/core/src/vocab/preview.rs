//! Safe, capped previews of payload bytes.
//!
//! Payloads come from peers we do not control (`serve` accepts anything), so a
//! preview must never carry a raw control byte to the terminal: an escape
//! sequence from a peer could otherwise repaint or reconfigure the presenter's
//! screen. Printable ASCII passes through; everything else is escaped.

/// How many payload bytes a preview shows before it is cut with `…`.
pub const PREVIEW_BYTES: usize = 64;

/// Escape `bytes` for display, keeping at most `cap` input bytes.
pub fn escape(bytes: &[u8], cap: usize) -> String {
    let mut out = String::with_capacity(bytes.len().min(cap) + 2);
    for &b in bytes.iter().take(cap) {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > cap {
        out.push('…');
    }
    out
}

/// The standard preview used in events.
pub fn preview(bytes: &[u8]) -> String {
    escape(bytes, PREVIEW_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_text_is_kept() {
        assert_eq!(preview(b"hello from client"), "hello from client");
    }

    #[test]
    fn control_bytes_never_pass_through() {
        let s = preview(b"\x1b[2J\x07\r\n\0\xff");
        assert_eq!(s, "\\x1b[2J\\x07\\r\\n\\x00\\xff");
        assert!(s.chars().all(|c| !c.is_control()));
    }

    #[test]
    fn long_payloads_are_capped() {
        let big = vec![b'a'; 10_000];
        let s = preview(&big);
        assert_eq!(s.chars().count(), PREVIEW_BYTES + 1);
        assert!(s.ends_with('…'));
    }
}
