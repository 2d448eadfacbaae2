//! `sockscope run -- ./tcp_server PORT ::: ./tcp_client PORT` on the screen,
//! end to end: the built binary in a pseudo-terminal, the C programs of
//! tests/programs/ traced and held before every socket call.
//!
//! What it checks against the kernel, not against our own screen: while
//! the server's bind is held, no socket listens on the port
//! (/proc/net/tcp); once its listen has run, one does. Then Space (and a
//! click on the key bar's Space item) steps both programs to their end, the
//! server's own output reaches the output panel, and q restores the
//! terminal. As the user nobody (setpriv), q with a program still held
//! kills it, says so, and leaves no process behind.

#[path = "support/programs.rs"]
mod programs;
#[path = "../benches/process/pty_harness.rs"]
#[allow(dead_code)]
mod pty_harness;
#[path = "support/setpriv.rs"]
mod setpriv;

use programs::{built, free_port, listening, program};
use pty_harness::Term;
use sockscope_core::testing::skip;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

/// Where `text` is on screen: (row, column), from 1, as a terminal counts.
fn find(screen: &str, text: &str) -> Option<(u16, u16)> {
    screen.lines().enumerate().find_map(|(r, line)| {
        let col = line.find(text)?;
        Some((r as u16 + 1, line[..col].chars().count() as u16 + 1))
    })
}

/// Press Space until `text` is on screen (a press per held call), at most
/// `presses` times; true once it shows.
fn space_until(term: &mut Term, text: &str, presses: usize) -> bool {
    for _ in 0..presses {
        if term.contents().contains(text) {
            return true;
        }
        term.press(b" ");
        if term
            .wait_for(Duration::from_millis(500), |s| s.contents().contains(text))
            .is_some()
        {
            return true;
        }
    }
    term.contents().contains(text)
}

/// The pid the screen says program `argv` started as.
fn started_pid(screen: &str, argv: &str) -> Option<i32> {
    let at = screen.find(&format!("started `{argv}` as pid "))?;
    let rest = &screen[at..];
    let digits: String = rest
        .split("as pid ")
        .nth(1)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn a_server_and_its_client_are_stepped_call_by_call_and_the_kernel_agrees() {
    let dir = match built() {
        Ok(d) => d,
        Err(why) => return skip(&why),
    };
    let port = free_port();
    let p = port.to_string();
    let (server, client) = (program(dir, "tcp_server"), program(dir, "tcp_client"));
    let bin = env!("CARGO_BIN_EXE_sockscope");
    let args = ["run", "--", &server, &p, "1", ":::", &client, &p];
    let mut term = Term::spawn(bin, &args, 120, 40);
    // The server's first calls are held one by one; at its bind the kernel
    // has no listener on the port, and has none while the bind is held.
    assert!(
        space_until(&mut term, "bind(3, 127.0.0.1", 4),
        "no held bind:\n{}",
        term.contents()
    );
    assert!(
        term.contents().contains("held"),
        "the bind is held:\n{}",
        term.contents()
    );
    term.drain_for(Duration::from_millis(300));
    assert!(!listening(port), "nothing listens while bind is held");
    assert!(
        space_until(&mut term, "listen(3, 8) = 0", 3),
        "listen never returned:\n{}",
        term.contents()
    );
    assert!(listening(port), "after its listen ran, the server listens");
    // A click on the key bar's Space item steps too: the server's accept
    // is let into the kernel, where it sleeps until the client connects.
    term.wait_for(WAIT, |s| s.contents().contains("accept(3"))
        .unwrap_or_else(|| panic!("no held accept:\n{}", term.contents()));
    let (row, col) = find(&term.contents(), "Space run the held call")
        .unwrap_or_else(|| panic!("no Space item:\n{}", term.contents()));
    term.press(format!("\x1b[<0;{col};{row}M\x1b[<0;{col};{row}m").as_bytes());
    term.wait_for(WAIT, |s| s.contents().contains("inet_csk_accept"))
        .unwrap_or_else(|| panic!("the click did not let accept run:\n{}", term.contents()));
    // The client starts once the server listens; step both to their end.
    assert!(
        space_until(&mut term, "the programs have ended", 40),
        "the programs did not end:\n{}",
        term.contents()
    );
    let screen = term.contents();
    assert!(
        screen.contains("served 1"),
        "the server's output:\n{screen}"
    );
    assert!(screen.contains("exited with status 0"), "{screen}");
    term.press(b"q");
    let status = term.wait_exit(WAIT).expect("exits on q");
    assert!(status.success(), "{status:?}");
    term.drain_for(Duration::from_millis(100));
    assert!(
        !term.parser.screen().alternate_screen(),
        "terminal restored"
    );
}

#[test]
fn as_nobody_quitting_with_a_held_call_kills_the_program_and_says_so() {
    if !setpriv::am_root() || !setpriv::available() {
        return skip("needs root and setpriv to run sockscope as the user nobody");
    }
    let dir = match built() {
        Ok(d) => d,
        Err(why) => return skip(&why),
    };
    let bin = setpriv::binary();
    let port = free_port();
    let p = port.to_string();
    let server = program(dir, "tcp_server");
    let nobody = format!("--reuid={}", setpriv::NOBODY);
    let group = format!("--regid={}", setpriv::NOBODY);
    let sockscope = bin.path.to_string_lossy().into_owned();
    let args = [
        nobody.as_str(),
        group.as_str(),
        "--clear-groups",
        "--inh-caps=-all",
        &sockscope,
        "run",
        "--",
        &server,
        &p,
    ];
    let mut term = Term::spawn("setpriv", &args, 120, 40);
    assert!(
        space_until(&mut term, "bind(3, 127.0.0.1", 4),
        "no held bind as nobody:\n{}",
        term.contents()
    );
    term.drain_for(Duration::from_millis(300));
    assert!(!listening(port), "bind is held: nothing listens");
    let argv = format!("{server} {p}");
    let pid = started_pid(&term.contents(), &argv)
        .unwrap_or_else(|| panic!("no started line:\n{}", term.contents()));
    let uid = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("Uid:")
                .map(|u| u.split_whitespace().next().unwrap().to_string())
        })
        .unwrap();
    assert_eq!(uid, setpriv::NOBODY, "the program runs as nobody");
    term.press(b"q");
    let status = term.wait_exit(WAIT).expect("exits on q");
    assert!(status.success(), "{status:?}");
    term.drain_for(Duration::from_millis(200));
    let said = term.contents();
    assert!(
        said.contains(&format!("(pid {pid}) with SIGKILL when you quit")),
        "{said}"
    );
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the held program is gone"
    );
    assert!(!listening(port));
}
