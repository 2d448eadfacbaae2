//! Safe, capped previews of payload bytes.
//!
//! Payloads come from peers we do not control (`serve` accepts anything), so a
//! preview must never carry a raw control byte to the terminal: an escape
//! sequence from a peer could otherwise repaint or reconfigure the presenter's
//! screen. Printable ASCII passes through; everything else is escaped.
//!
//! [`text`] does the same for strings that came from outside the program
//! (lesson and config files, other processes' names): every output path that
//! prints them (the transcript, handouts, `lessons`, `port N`, error
//! messages) passes them through it.

/// How many payload bytes a preview shows before it is cut with `…`.
pub const PREVIEW_BYTES: usize = 64;

/// Escape `bytes` for display, keeping at most `cap` input bytes.
#[must_use]
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
#[must_use]
pub fn preview(bytes: &[u8]) -> String {
    escape(bytes, PREVIEW_BYTES)
}

/// Text that came from outside the program (a lesson or config file, a
/// peer, another process's name) made safe to print on a terminal: every
/// control character (C0, DEL, C1) and every bidirectional-override
/// character is written as a visible escape (`\x1b`, `\u{9b}`, `\u{202e}`),
/// so nothing in it can move the cursor, retitle the window, clear the
/// screen or reorder what is shown. Printable text, including any other
/// Unicode, passes through unchanged; nothing is cut. A newline is escaped
/// too (`\n`): one value is one line, so a message that quotes it stays one
/// line. [`text_block`] keeps newlines and tabs, for multi-line prose.
#[must_use]
pub fn text(s: &str) -> std::borrow::Cow<'_, str> {
    escape_text(s, false)
}

/// [`text`] for prose that may span lines (narration in a handout): newlines
/// and tabs are kept, every other control character is escaped.
#[must_use]
pub fn text_block(s: &str) -> std::borrow::Cow<'_, str> {
    escape_text(s, true)
}

/// Does `c` have to be escaped before it reaches a terminal? Controls move
/// the cursor or start escape sequences (ESC is C0; CSI and OSC also exist
/// as single C1 characters, U+009B and U+009D, which some terminals obey);
/// the bidirectional overrides and isolates make a terminal show text in a
/// different order than it is stored.
fn unsafe_char(c: char, block: bool) -> bool {
    match c {
        '\n' | '\t' => !block,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        c => c.is_control(),
    }
}

fn escape_text(s: &str, block: bool) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| unsafe_char(c, block)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !unsafe_char(c, block) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    std::borrow::Cow::Owned(out)
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
    fn outside_text_keeps_unicode_and_escapes_every_control() {
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J caf\u{e9} \u{9b}31m \u{202e}txt\nnext\u{7f}";
        let s = text(hostile);
        assert_eq!(
            s,
            "\\x1b]0;pwned\\x07\\x1b[2J caf\u{e9} \\u{9b}31m \\u{202e}txt\\nnext\\x7f"
        );
        assert!(!s.chars().any(char::is_control));
        assert!(matches!(text("plain é"), std::borrow::Cow::Borrowed(_)));
        // A block keeps its lines and tabs, and nothing else.
        assert_eq!(text_block("a\n\tb\u{1b}c"), "a\n\tb\\x1bc");
    }

    #[test]
    fn long_payloads_are_capped() {
        let big = vec![b'a'; 10_000];
        let s = preview(&big);
        assert_eq!(s.chars().count(), PREVIEW_BYTES + 1);
        assert!(s.ends_with('…'));
    }
}
