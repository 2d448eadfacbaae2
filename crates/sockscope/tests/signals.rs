//! Every way the TUI can be ended from outside restores the terminal and
//! closes every socket: SIGINT, SIGTERM, SIGHUP, SIGQUIT, and a panic; and
//! Ctrl-Z (the key, or SIGTSTP from outside) gives the terminal back while
//! the process is stopped and takes it again on SIGCONT. Each runs the
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
    std::fs::read_to_string("/proc/thread-self/net/tcp")
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
fn sigquit_restores_the_terminal_and_closes_sockets() {
    signal_ends_cleanly("QUIT", libc::SIGQUIT);
}

/// The process's state letter in /proc/PID/stat (`T`: stopped).
fn state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name is in parentheses and may hold spaces: the state is
    // the first field after the last `)`.
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    after.trim_start().chars().next().unwrap()
}

/// Wait (bounded) until the process is in `want`.
fn wait_state(term: &mut Term, want: char) -> bool {
    let pid = term.pid();
    for _ in 0..200 {
        if state(pid) == want {
            return true;
        }
        term.drain_for(Duration::from_millis(25));
    }
    false
}

/// Suspend (by `suspend`), check the terminal was given back while stopped,
/// resume with SIGCONT, and check the screen came back whole and still steps.
fn suspends_and_resumes(suspend: impl FnOnce(&mut Term)) {
    let (mut term, port) = start_listening(&[]);
    suspend(&mut term);
    assert!(wait_state(&mut term, 'T'), "the process stopped");
    assert_restored(&mut term);
    // Whatever the shell prints while we are stopped must not survive the
    // resume: the whole screen is drawn again.
    term.parser
        .process(b"\x1b[2J\x1b[Hshell output while stopped");
    let sent = std::process::Command::new("kill")
        .args(["-CONT", &term.pid().to_string()])
        .status()
        .expect("kill(1)");
    assert!(sent.success());
    term.wait_for(WAIT, |s| {
        s.alternate_screen() && s.contents().contains("step 3 of 22")
    })
    .unwrap_or_else(|| panic!("the screen came back after SIGCONT:\n{}", term.contents()));
    assert!(
        term.parser.screen().hide_cursor(),
        "the cursor is hidden again"
    );
    assert!(
        !term.contents().contains("shell output while stopped"),
        "the screen was redrawn whole:\n{}",
        term.contents()
    );
    assert!(
        listening(port),
        "the lesson's listener lived through the stop"
    );
    // Raw mode is back: a Space steps the lesson, rather than waiting for Enter.
    term.press(b" ");
    term.wait_for(WAIT, |s| s.contents().contains("step 4 of 22"))
        .unwrap_or_else(|| panic!("keys work after resume:\n{}", term.contents()));
}

#[test]
fn ctrl_z_gives_the_terminal_back_and_fg_restores_the_screen() {
    // 0x1a is what the terminal sends for Ctrl-Z in raw mode (ISIG off).
    suspends_and_resumes(|term| term.press(b"\x1a"));
}

#[test]
fn sigtstp_from_outside_suspends_the_same_way() {
    suspends_and_resumes(|term| {
        let sent = std::process::Command::new("kill")
            .args(["-TSTP", &term.pid().to_string()])
            .status()
            .expect("kill(1)");
        assert!(sent.success());
    });
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
