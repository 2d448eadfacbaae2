//! The port panel end to end: the built binary in a pseudo-terminal, a port
//! typed with `:` digits Enter, explained live by a real bind while the lesson
//! runs. Every wait has a timeout.

#[path = "../benches/process/pty_harness.rs"]
#[allow(dead_code)]
mod pty_harness;

use pty_harness::Term;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sockscope");
const WAIT: Duration = Duration::from_secs(15);

/// The port after `bound :` on screen (the lesson server's real port).
fn bound_port(screen: &str) -> Option<u16> {
    let (_, rest) = screen.split_once("bound :")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[test]
fn a_typed_port_is_explained_live_next_to_the_lesson() {
    let mut term = Term::spawn(BIN, &["lesson", "tcp"], 200, 50);
    term.wait_for(WAIT, |s| s.contents().contains("Press Space"))
        .unwrap_or_else(|| panic!("no first frame:\n{}", term.contents()));
    // socket, then bind: the server now holds a port the kernel chose.
    for step in 1..=2 {
        term.press(b" ");
        let want = format!("step {step} of 22");
        term.wait_for(WAIT, |s| s.contents().contains(&want))
            .unwrap_or_else(|| panic!("step {step} never showed:\n{}", term.contents()));
    }
    term.wait_for(WAIT, |s| bound_port(&s.contents()).is_some())
        .unwrap_or_else(|| panic!("no bound port:\n{}", term.contents()));
    let port = bound_port(&term.contents()).unwrap();

    // Type the lesson's own port: a real bind now finds it taken, by this
    // very sockscope process.
    term.press(b":");
    term.press(port.to_string().as_bytes());
    term.wait_for(WAIT, |s| s.contents().contains(&format!("port: {port}_")))
        .unwrap_or_else(|| panic!("no prompt:\n{}", term.contents()));
    term.press(b"\r");
    // Bound but not listening: taken, yet in no /proc/net table, and the
    // panel says so rather than guessing.
    term.wait_for(WAIT, |s| {
        let c = s.contents();
        c.contains("TCP EADDRINUSE") && c.contains("only bound")
    })
    .unwrap_or_else(|| panic!("no live report for {port}:\n{}", term.contents()));
    // The lesson's own port is still marked, and the lesson steps on: listen.
    assert!(term.contents().contains("lesson: ▲"), "{}", term.contents());
    term.press(b" ");
    term.wait_for(WAIT, |s| s.contents().contains("step 3 of 22"))
        .unwrap_or_else(|| panic!("the lesson did not step:\n{}", term.contents()));
    // The report follows, live: now a listening socket, held by this very
    // sockscope process.
    let held_by = format!("held by pid {}", term.pid());
    term.wait_for(WAIT, |s| s.contents().contains(&held_by))
        .unwrap_or_else(|| panic!("report not refreshed after listen:\n{}", term.contents()));

    // A bad port: one line naming the range, the lesson untouched.
    term.press(b":70000\r");
    term.wait_for(WAIT, |s| s.contents().contains("70000 is out of range"))
        .unwrap_or_else(|| panic!("no range message:\n{}", term.contents()));
    // Esc closes the prompt, a second Esc puts the port away (sent apart, so
    // the terminal does not read them as one escape sequence).
    term.press(b"\x1b");
    term.wait_for(WAIT, |s| !s.contents().contains("70000 is out of range"))
        .unwrap_or_else(|| panic!("Esc did not close the prompt:\n{}", term.contents()));
    term.press(b"\x1b");
    term.wait_for(WAIT, |s| !s.contents().contains("TCP EADDRINUSE"))
        .unwrap_or_else(|| panic!("Esc did not put the port away:\n{}", term.contents()));

    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());
}
