//! Every way the TUI can be ended from outside restores the terminal and
//! closes every socket: SIGINT, SIGTERM, SIGHUP, and a panic. Each runs the
//! built binary in a pseudo-terminal, mid-lesson with a listening socket open.

#[path = "../benches/process/pty_harness.rs"]
#[allow(dead_code)]
mod pty_harness;

use pty_harness::Term;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sockscope");
const WAIT: Duration = Duration::from_secs(15);

/// Is anything on this machine listening on 127.0.0.1:`port`? Read from
/// /proc/net/tcp (state 0A is LISTEN).
fn listening(port: u16) -> bool {
    let want = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f[1] == want && f[3] == "0A"
        })
}

/// The port after `listening :` on screen.
fn listening_port(screen: &str) -> Option<u16> {
    let at = screen.find("listening :")? + "listening :".len();
    let digits: String = screen[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Start the TUI on `tcp` and run socket, bind, listen; return the port.
/// On the machine's network (`--host-network`), so that a socket left open
/// would be seen in the machine's table after the process ends (a lab
/// network ends with its process, taking its sockets with it).
fn start_listening(env: &[(&str, &str)]) -> (Term, u16) {
    let mut term = Term::spawn_with_env(BIN, &["--host-network"], env, 120, 40);
    term.wait_for(WAIT, |s| s.contents().contains("Press Space"))
        .unwrap_or_else(|| panic!("no first frame:\n{}", term.contents()));
    for step in 1..=3 {
        term.press(b" ");
        let want = format!("step {step} of 22");
        term.wait_for(WAIT, |s| s.contents().contains(&want))
            .unwrap_or_else(|| panic!("step {step} never showed:\n{}", term.contents()));
    }
    let port = listening_port(&term.contents())
        .unwrap_or_else(|| panic!("no listening port on screen:\n{}", term.contents()));
    assert!(listening(port), "the kernel lists the listener on {port}");
    (term, port)
}

fn assert_restored(term: &mut Term) {
    term.drain_for(Duration::from_millis(100));
    let screen = term.parser.screen();
    assert!(!screen.alternate_screen(), "left the alternate screen");
    assert!(!screen.hide_cursor(), "the cursor is shown again");
}

fn signal_ends_cleanly(name: &str, number: i32) {
    let (mut term, port) = start_listening(&[]);
    let sent = std::process::Command::new("kill")
        .args([&format!("-{name}"), &term.pid().to_string()])
        .status()
        .expect("kill(1)");
    assert!(sent.success());
    let status = term.wait_exit(WAIT).expect("the TUI exits on the signal");
    assert_eq!(
        status.exit_code(),
        128 + number as u32,
        "{name}: {status:?}"
    );
    assert_restored(&mut term);
    assert!(
        !listening(port),
        "{name}: the listening socket on {port} was closed"
    );
}

#[test]
fn sigint_restores_the_terminal_and_closes_sockets() {
    signal_ends_cleanly("INT", libc::SIGINT);
}

#[test]
fn sigterm_restores_the_terminal_and_closes_sockets() {
    signal_ends_cleanly("TERM", libc::SIGTERM);
}

#[test]
fn sighup_restores_the_terminal_and_closes_sockets() {
    signal_ends_cleanly("HUP", libc::SIGHUP);
}

#[test]
fn a_panic_restores_the_terminal_before_the_report() {
    let env = [
        ("SOCKSCOPE_TEST_PANIC", "1"),
        // A short report that fits the screen, whatever the caller has set.
        ("RUST_BACKTRACE", "0"),
        ("RUST_LIB_BACKTRACE", "0"),
    ];
    let mut term = Term::spawn_with_env(BIN, &[], &env, 120, 40);
    let status = term.wait_exit(WAIT).expect("the TUI exits on panic");
    assert_eq!(status.exit_code(), 101, "{status:?}");
    assert_restored(&mut term);
    assert!(
        term.contents().contains("deliberate panic"),
        "the panic report is printed on the restored screen:\n{}",
        term.contents()
    );
}
