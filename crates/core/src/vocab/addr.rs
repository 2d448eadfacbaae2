//! Socket addresses as text, the way every screen and the JSON write them.

use std::net::SocketAddr;

/// `127.0.0.1:41234`, exactly as `SocketAddr`'s `Display` writes it, without
/// the formatting machinery: it runs for every call of every lesson, and
/// was the engine's largest single cost in the profile.
#[must_use]
pub fn addr_text(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => {
            // Written into a buffer on the stack, then copied into a string
            // of exactly the right size: one allocation, no pushes.
            let mut buf = [0u8; 21];
            let mut len = 0;
            for (i, octet) in v4.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    buf[len] = b'.';
                    len += 1;
                }
                len += write_decimal(&mut buf[len..], u16::from(octet));
            }
            buf[len] = b':';
            len += 1;
            len += write_decimal(&mut buf[len..], v4.port());
            // Only ASCII digits, dots and a colon were written.
            std::str::from_utf8(&buf[..len])
                .unwrap_or_default()
                .to_owned()
        }
        SocketAddr::V6(_) => addr.to_string(),
    }
}

/// `n` in decimal at the start of `out`; returns how many digits it took.
fn write_decimal(out: &mut [u8], mut n: u16) -> usize {
    let mut digits = [0u8; 5];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = digits.len() - at;
    out[..len].copy_from_slice(&digits[at..]);
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_text_writes_what_display_writes() {
        for a in [
            "127.0.0.1:0",
            "127.0.0.1:65535",
            "0.0.0.0:52213",
            "10.20.30.40:8080",
            "255.255.255.255:1",
            "[::1]:443",
        ] {
            let addr: SocketAddr = a.parse().unwrap();
            assert_eq!(addr_text(addr), addr.to_string());
        }
        for port in (0..=65535u16).step_by(97) {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            assert_eq!(addr_text(addr), addr.to_string());
        }
    }
}
