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

use programs::{built, free_port, listening_in, program};
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

/// The pid the screen says program `argv` started as: the row
/// `── pid N started: ARGV` (the pid first, so a long path cut at the
/// lane's edge cannot cut it).
fn started_pid(screen: &str, argv: &str) -> Option<i32> {
    screen.lines().find_map(|line| {
        let (_, rest) = line.split_once("── pid ")?;
        let (pid, shown) = rest.split_once(" started: ")?;
        // The row ends at the lanes panel's border; a long one is cut.
        let shown = shown.split('│').next()?.trim_end().trim_end_matches('…');
        argv.starts_with(shown).then(|| pid.parse().ok()).flatten()
    })
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
    // The kernel's table as the server sees it (run puts it in the lab
    // network, whose sockets the machine's /proc/net/tcp does not list).
    let server_command = format!("{server} {p} 1");
    let pid = started_pid(&term.contents(), &server_command)
        .unwrap_or_else(|| panic!("no started line:\n{}", term.contents()));
    assert!(
        std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).is_ok(),
        "the server's table can be read"
    );
    assert!(
        !listening_in(pid, port),
        "nothing listens while bind is held"
    );
    assert!(
        space_until(&mut term, "listen(3, 8) = 0", 3),
        "listen never returned:\n{}",
        term.contents()
    );
    assert!(
        listening_in(pid, port),
        "after its listen ran, the server listens"
    );
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
    assert!(
        screen.contains("packets captured"),
        "capture runs in the lab:\n{screen}"
    );
    // Reviewing back through the calls reaches the handshake's packets, as
    // captured, on the connect that caused them (the accept it woke had
    // been let run before it).
    let mut seen = false;
    for _ in 0..30 {
        term.press(b"k");
        if term
            .wait_for(Duration::from_millis(300), |s| {
                s.contents().contains("SYN-ACK")
            })
            .is_some()
        {
            seen = true;
            break;
        }
    }
    assert!(seen, "no captured SYN in review:\n{}", term.contents());
    term.press(b"q");
    let status = term.wait_exit(WAIT).expect("exits on q");
    assert!(status.success(), "{status:?}");
    term.drain_for(Duration::from_millis(100));
    assert!(
        !term.parser.screen().alternate_screen(),
        "terminal restored"
    );
}

/// The issue's own case: a student's Python server and client, started by
/// one command, stepped call by call to their end, each lane named for its
/// script (both processes are `python3`), their packets captured.
#[test]
fn a_python_server_and_client_are_stepped_to_their_end() {
    let py = |name: &str| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/programs")
            .join(name)
            .to_string_lossy()
            .into_owned()
    };
    let (server, client) = (py("tcp_server.py"), py("tcp_client.py"));
    // The system's interpreter, as a student's machine has it (CI installs
    // it there). Under this harness's terminal, pyenv's shim (bash scripts
    // that find and exec the interpreter) never reached the program: its
    // `pyenv-which` sat asleep, not stopped by the tracer, holding the pipe
    // its parent read. A terminal opened by Python's pty module did not
    // show it. An open question, kept out of this test.
    let python = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let p = free_port().to_string();
    let bin = env!("CARGO_BIN_EXE_sockscope");
    let args = [
        "run", "--", python, &server, &p, "1", ":::", python, &client, &p,
    ];
    let mut term = Term::spawn(bin, &args, 120, 40);
    assert!(
        space_until(&mut term, "the programs have ended", 80),
        "the programs did not end:\n{}",
        term.contents()
    );
    let screen = term.contents();
    for lane in ["tcp_server.py[", "tcp_client.py["] {
        assert!(screen.contains(lane), "{lane}:\n{screen}");
    }
    assert!(screen.contains("accept4(3, SOCK_CLOEXEC) = 4"), "{screen}");
    assert!(screen.contains("packets captured"), "{screen}");
    assert_eq!(
        screen.matches("exited with status 0").count(),
        2,
        "both ended well:\n{screen}"
    );
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());
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
    let sockscope = bin.path.to_string_lossy().into_owned();
    let mut words = setpriv::nobody_words();
    words.extend([
        sockscope,
        "run".into(),
        "--".into(),
        server.clone(),
        p.clone(),
    ]);
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    let mut term = Term::spawn("setpriv", &args, 120, 40);
    assert!(
        space_until(&mut term, "bind(3, 127.0.0.1", 4),
        "no held bind as nobody:\n{}",
        term.contents()
    );
    term.drain_for(Duration::from_millis(300));
    let server_command = format!("{server} {p}");
    let pid = started_pid(&term.contents(), &server_command)
        .unwrap_or_else(|| panic!("no started line:\n{}", term.contents()));
    assert!(!listening_in(pid, port), "bind is held: nothing listens");
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
}
