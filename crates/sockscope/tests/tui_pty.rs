//! The TUI end to end: the built binary in a pseudo-terminal, driven with key
//! presses, its screen read through a vt100 parser. Every wait has a timeout,
//! so a broken build fails instead of hanging CI.

#[path = "../benches/process/pty_harness.rs"]
#[allow(dead_code)]
mod pty_harness;

use pty_harness::Term;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sockscope");
const WAIT: Duration = Duration::from_secs(15);

/// `accept(9) = 12` somewhere on screen: a real fd, whatever its number.
fn accept_line(screen: &str) -> Option<String> {
    screen.match_indices("accept(").find_map(|(i, _)| {
        let rest = &screen[i + "accept(".len()..];
        let fd_len = rest.chars().take_while(char::is_ascii_digit).count();
        let after = rest[fd_len..].strip_prefix(") = ")?;
        let new_len = after.chars().take_while(char::is_ascii_digit).count();
        (fd_len > 0 && new_len > 0)
            .then(|| format!("accept({}) = {}", &rest[..fd_len], &after[..new_len]))
    })
}

#[test]
fn step_to_the_accept_open_help_and_quit_cleanly() {
    let mut term = Term::spawn(BIN, &[], 120, 40);
    term.wait_for(WAIT, |s| s.contents().contains("Press Space"))
        .unwrap_or_else(|| panic!("no first frame:\n{}", term.contents()));
    assert!(
        term.parser.screen().alternate_screen(),
        "the TUI uses the alternate screen"
    );

    // Each Space runs one real call; the accept returns when the client's
    // connect (step 6) completes the handshake.
    let mut line = None;
    for step in 1..=8 {
        term.press(b" ");
        let want = format!("step {step} of 22");
        term.wait_for(WAIT, |s| s.contents().contains(&want))
            .unwrap_or_else(|| panic!("step {step} never showed:\n{}", term.contents()));
        term.drain_for(Duration::from_millis(50));
        line = accept_line(&term.contents());
        if line.is_some() {
            break;
        }
    }
    let line = line.unwrap_or_else(|| panic!("no accept with an fd:\n{}", term.contents()));
    // The handshake's arrows travel for about a second and a half.
    term.wait_for(WAIT, |s| s.contents().contains("SYN-ACK"))
        .unwrap_or_else(|| panic!("no handshake drawn:\n{}", term.contents()));

    term.press(b"?");
    term.wait_for(WAIT, |s| s.contents().contains("Keys · Esc closes"))
        .unwrap_or_else(|| panic!("no help:\n{}", term.contents()));
    assert!(term.contents().contains("PgDn"));
    term.press(b"\x1b");
    term.wait_for(WAIT, |s| !s.contents().contains("Keys · Esc closes"))
        .unwrap_or_else(|| panic!("help did not close:\n{}", term.contents()));
    assert!(term.contents().contains(&line), "the lanes are back");

    term.press(b"q");
    let status = term.wait_exit(WAIT).expect("the TUI exits on q");
    assert!(status.success(), "exit status {status:?}");
    term.drain_for(Duration::from_millis(100));
    let screen = term.parser.screen();
    assert!(!screen.alternate_screen(), "left the alternate screen");
    assert!(!screen.hide_cursor(), "the cursor is shown again");
}

#[test]
fn sigterm_restores_the_terminal() {
    let mut term = Term::spawn(BIN, &["lesson", "udp"], 100, 30);
    term.wait_for(WAIT, |s| s.contents().contains("UDP"))
        .unwrap_or_else(|| panic!("no first frame:\n{}", term.contents()));
    let pid = term.pid();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill(1)");
    assert!(killed.success());
    let status = term.wait_exit(WAIT).expect("the TUI exits on SIGTERM");
    assert_eq!(status.exit_code(), 128 + 15, "{status:?}");
    term.drain_for(Duration::from_millis(100));
    assert!(!term.parser.screen().alternate_screen());
    assert!(!term.parser.screen().hide_cursor());
}

#[test]
fn a_terminal_too_small_says_what_it_needs_and_recovers_when_enlarged() {
    let mut term = Term::spawn(BIN, &[], 50, 15);
    term.wait_for(WAIT, |s| s.contents().contains("at least 60×20"))
        .unwrap_or_else(|| panic!("no size message:\n{}", term.contents()));
    // Keys still work while the screen is too small: run the first call.
    // The key is given time to be read before the window grows (in one
    // fresh-clone CI run under load, a key written just before the
    // resize was never seen).
    term.press(b" ");
    term.drain_for(Duration::from_millis(500));
    term.resize(80, 24);
    term.wait_for(WAIT, |s| {
        let c = s.contents();
        c.contains("step 1 of 22") && c.contains("socket() = ")
    })
    .unwrap_or_else(|| panic!("no recovery at 80x24:\n{}", term.contents()));
    term.resize(200, 50);
    term.wait_for(WAIT, |s| s.contents().contains("TCP/IP layers"))
        .unwrap_or_else(|| panic!("no full layout at 200x50:\n{}", term.contents()));
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits").success());
}

#[test]
fn autoplay_restart_and_the_lesson_picker() {
    let mut term = Term::spawn(BIN, &[], 120, 40);
    term.wait_for(WAIT, |s| s.contents().contains("Press Space"))
        .unwrap_or_else(|| panic!("no first frame:\n{}", term.contents()));
    // Autoplay at 4x runs the calls on its own.
    term.press(b"++a");
    term.wait_for(WAIT, |s| s.contents().contains("step 2 of 22"))
        .unwrap_or_else(|| panic!("autoplay did not run:\n{}", term.contents()));
    assert!(term.contents().contains("autoplay · 4×"));
    term.press(b"a");
    term.wait_for(WAIT, |s| s.contents().contains("manual · 4×"))
        .unwrap_or_else(|| panic!("autoplay did not stop:\n{}", term.contents()));

    // Restart: new sockets, back to the start.
    term.press(b"r");
    term.wait_for(WAIT, |s| s.contents().contains("ready · manual"))
        .unwrap_or_else(|| panic!("no restart:\n{}", term.contents()));

    // The picker: move to udp and run it.
    term.press(b"L");
    term.wait_for(WAIT, |s| s.contents().contains("Lessons"))
        .unwrap_or_else(|| panic!("no picker:\n{}", term.contents()));
    for _ in 0..20 {
        if term.contents().contains("▶ udp") {
            break;
        }
        term.press(b"j");
        term.drain_for(Duration::from_millis(50));
    }
    term.press(b"\r");
    term.wait_for(WAIT, |s| {
        s.contents().contains("UDP: a receiver and a sender")
    })
    .unwrap_or_else(|| panic!("udp did not open:\n{}", term.contents()));
    term.press(b"   ");
    term.wait_for(WAIT, |s| {
        s.contents().contains("recvfrom(") && s.contents().contains("waiting")
    })
    .unwrap_or_else(|| panic!("no waiting recvfrom:\n{}", term.contents()));

    term.press(b"q");
    let status = term.wait_exit(WAIT).expect("the TUI exits on q");
    assert!(status.success(), "exit status {status:?}");
}

/// The row and column (1-based, as the terminal counts) where `text` is
/// drawn on screen.
fn find(screen: &str, text: &str) -> Option<(u16, u16)> {
    screen.lines().enumerate().find_map(|(r, line)| {
        let col = line.find(text)?;
        Some((r as u16 + 1, line[..col].chars().count() as u16 + 1))
    })
}

/// The tcp lesson in a 120x40 pty with `extra` arguments, stepped to `n`.
fn tcp_at_step(extra: &[&str], n: usize) -> Term {
    let args: Vec<&str> = ["lesson", "tcp"].iter().chain(extra).copied().collect();
    let mut term = Term::spawn(BIN, &args, 120, 40);
    term.wait_for(WAIT, |s| s.contents().contains("Press Space"))
        .unwrap_or_else(|| panic!("no first frame:\n{}", term.contents()));
    for step in 1..=n {
        term.press(b" ");
        let want = format!("step {step} of 22");
        term.wait_for(WAIT, |s| s.contents().contains(&want))
            .unwrap_or_else(|| panic!("step {step} never showed:\n{}", term.contents()));
    }
    term
}

#[test]
fn a_click_on_a_call_in_the_lanes_reviews_its_step_and_no_mouse_turns_it_off() {
    let mut term = tcp_at_step(&[], 3);
    term.drain_for(Duration::from_millis(200));
    // Click the bind's row (step 2): an SGR mouse press and release, as a
    // terminal writes them with mouse reporting on.
    let (row, col) = find(&term.contents(), "bind(")
        .unwrap_or_else(|| panic!("no bind on screen:\n{}", term.contents()));
    term.press(format!("\x1b[<0;{col};{row}M\x1b[<0;{col};{row}m").as_bytes());
    term.wait_for(WAIT, |s| s.contents().contains("REVIEWING step 2 of 3"))
        .unwrap_or_else(|| panic!("the click did not review step 2:\n{}", term.contents()));
    // The wheel down past the end returns to now, and runs nothing.
    for _ in 0..3 {
        term.press(format!("\x1b[<65;{col};{row}M").as_bytes());
    }
    term.wait_for(WAIT, |s| {
        let c = s.contents();
        c.contains("step 3 of 22") && !c.contains("REVIEWING")
    })
    .unwrap_or_else(|| panic!("the wheel did not return to now:\n{}", term.contents()));
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());
    term.drain_for(Duration::from_millis(100));
    assert!(!term.parser.screen().alternate_screen());

    // With --no-mouse the same click is not read (and the terminal was
    // never asked to report the mouse).
    let mut term = tcp_at_step(&["--no-mouse"], 3);
    assert_eq!(
        term.parser.screen().mouse_protocol_mode(),
        vt100::MouseProtocolMode::None,
        "--no-mouse asks the terminal for no mouse reports"
    );
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());
}

/// Press Space, a call at a time, until `text` is on screen or `presses`
/// have gone; whether it came.
fn space_until(term: &mut Term, text: &str, presses: usize) -> bool {
    for _ in 0..presses {
        term.press(b" ");
        if term
            .wait_for(Duration::from_millis(400), |s| s.contents().contains(text))
            .is_some()
        {
            return true;
        }
    }
    false
}

/// Every lesson beyond the course text runs to its end in the TUI, a key
/// press per call (Space, as a student steps), with no claim failing on
/// screen, and the terminal is restored after q.
#[test]
fn every_further_lesson_runs_to_its_end_in_the_tui() {
    for lesson in sockscope_core::lesson::builtins()
        .into_iter()
        .filter(|l| l.part == sockscope_core::lesson::Part::Further)
    {
        let total: usize = lesson
            .steps
            .iter()
            .map(|s| s.repeat.unwrap_or(1) as usize)
            .sum();
        let mut term = Term::spawn(BIN, &["lesson", &lesson.name], 120, 40);
        term.wait_for(WAIT, |s| s.contents().contains("Press Space"))
            .unwrap_or_else(|| panic!("{}: no first frame:\n{}", lesson.name, term.contents()));
        // One Space per call at most (a repeated step's calls run on one
        // press), until the title says the run is over.
        let finished = space_until(&mut term, "finished: ", total + 1);
        // A call that waits for the kernel's timer (timeouts' connect) may
        // still be running: its end is the kernel's to decide.
        if !finished {
            term.wait_for(Duration::from_secs(30), |s| {
                s.contents().contains("finished: ")
            })
            .unwrap_or_else(|| panic!("{} did not finish:\n{}", lesson.name, term.contents()));
        }
        let screen = term.contents();
        assert!(
            !screen.contains('✗'),
            "{}: a claim failed:\n{screen}",
            lesson.name
        );
        term.press(b"q");
        let status = term.wait_exit(WAIT).expect("the TUI exits on q");
        assert!(status.success(), "{}: exit status {status:?}", lesson.name);
        term.drain_for(Duration::from_millis(100));
        assert!(!term.parser.screen().alternate_screen(), "{}", lesson.name);
    }
}

/// A lesson run to its end is kept in the data folder: the next session's
/// picker ticks it and counts it, and `--reset-progress` deletes the file.
#[test]
fn progress_survives_a_restart_of_sockscope_and_reset_clears_it() {
    let data = std::env::temp_dir().join(format!("sockscope-pty-progress-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let data_dir = data.to_str().unwrap();
    let env = [("XDG_DATA_HOME", data_dir)];
    let file = data.join("sockscope").join("progress.toml");

    let mut term = Term::spawn_with_env(BIN, &["lesson", "udp"], &env, 120, 40);
    term.wait_for(WAIT, |s| s.contents().contains("Press Space"))
        .unwrap_or_else(|| panic!("no first frame:\n{}", term.contents()));
    space_until(&mut term, "finished: ", 20);
    term.wait_for(WAIT, |s| s.contents().contains("Lesson finished: 1 of"))
        .unwrap_or_else(|| panic!("no progress notice:\n{}", term.contents()));
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());
    let kept = std::fs::read_to_string(&file).expect("the progress file was written");
    assert!(kept.contains("\"udp\""), "{kept}");

    // A new session: the picker ticks udp and counts it.
    let mut term = Term::spawn_with_env(BIN, &["lesson", "tcp"], &env, 120, 40);
    term.wait_for(WAIT, |s| s.contents().contains("Press Space"))
        .unwrap_or_else(|| panic!("no first frame:\n{}", term.contents()));
    term.press(b"L");
    term.wait_for(WAIT, |s| s.contents().contains("1 of"))
        .unwrap_or_else(|| panic!("no count in the picker:\n{}", term.contents()));
    let screen = term.contents();
    assert!(
        screen.lines().any(|l| l.contains("✓ udp")),
        "udp is ticked:\n{screen}"
    );
    assert!(!screen.lines().any(|l| l.contains("✓ tcp")), "{screen}");
    term.press(b"q");
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());

    let out = std::process::Command::new(BIN)
        .arg("--reset-progress")
        .env("XDG_DATA_HOME", data_dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("Progress reset: removed "), "{said}");
    assert!(!file.exists(), "the file is gone");
    let _ = std::fs::remove_dir_all(&data);
}

/// `--study`: Space at the step with a question asks it instead of running
/// the call; the answer runs the call, and the narration grades it by the
/// kernel's real result.
#[test]
fn study_mode_asks_then_the_kernel_grades_the_answer() {
    let mut term = Term::spawn(BIN, &["lesson", "boundaries", "--study"], 120, 40);
    term.wait_for(WAIT, |s| s.contents().contains("Press Space"))
        .unwrap_or_else(|| panic!("no first frame:\n{}", term.contents()));
    let asked = space_until(&mut term, "Predict, then run", 20);
    assert!(asked, "no question:\n{}", term.contents());
    // The wrong answer: the first send only.
    term.press(b"1");
    term.wait_for(WAIT, |s| s.contents().contains("You predicted"))
        .unwrap_or_else(|| panic!("no verdict:\n{}", term.contents()));
    let screen = term.contents();
    assert!(
        screen.contains("the kernel did") && screen.contains("both sends at once"),
        "{screen}"
    );
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());
}

/// `c` shows the actor's program with the current call marked; `--code
/// python` starts in Python; pressing `c` again moves to the next language.
#[test]
fn the_code_panel_shows_the_program_of_the_current_call() {
    let mut term = Term::spawn(BIN, &["lesson", "tcp", "--code", "python"], 120, 40);
    term.wait_for(WAIT, |s| s.contents().contains("Press Space"))
        .unwrap_or_else(|| panic!("no first frame:\n{}", term.contents()));
    term.press(b"   c");
    term.wait_for(WAIT, |s| s.contents().contains("code · Python · server"))
        .unwrap_or_else(|| panic!("no code panel:\n{}", term.contents()));
    let screen = term.contents();
    assert!(
        screen.contains("▶     sock.listener.listen(8)"),
        "the third call, listen, is marked:\n{screen}"
    );
    assert!(
        screen.contains("sock.listener.bind((\"127.0.0.1\", 0))  # = 0"),
        "{screen}"
    );
    term.press(b"c");
    term.wait_for(WAIT, |s| {
        s.contents().contains("code · Rust (libc) · server")
    })
    .unwrap_or_else(|| panic!("no Rust:\n{}", term.contents()));
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());
}

/// A click on the key bar presses the item's key: `Space next call` runs
/// the next call, `? help` opens the help; a click on the port panel
/// focuses it (asks for a port).
#[test]
fn a_click_on_the_key_bar_presses_its_key() {
    let mut term = tcp_at_step(&[], 1);
    term.drain_for(Duration::from_millis(200));
    let click = |term: &mut Term, text: &str| {
        let (row, col) = find(&term.contents(), text)
            .unwrap_or_else(|| panic!("no {text:?} on screen:\n{}", term.contents()));
        term.press(format!("\x1b[<0;{col};{row}M\x1b[<0;{col};{row}m").as_bytes());
    };
    click(&mut term, "Space next call");
    term.wait_for(WAIT, |s| s.contents().contains("step 2 of 22"))
        .unwrap_or_else(|| panic!("the click ran no call:\n{}", term.contents()));
    click(&mut term, "? help");
    term.wait_for(WAIT, |s| s.contents().contains("Keys · Esc closes"))
        .unwrap_or_else(|| panic!("the click opened no help:\n{}", term.contents()));
    term.press(b"\x1b");
    term.wait_for(WAIT, |s| !s.contents().contains("Keys · Esc closes"))
        .unwrap_or_else(|| panic!("Esc closed no help:\n{}", term.contents()));
    // A click on a panel focuses it: the port panel asks for a port.
    click(&mut term, "ports: 16 bits");
    term.wait_for(WAIT, |s| s.contents().contains("type a port"))
        .unwrap_or_else(|| panic!("the click focused no port panel:\n{}", term.contents()));
    term.press(b"\x1b");
    term.wait_for(WAIT, |s| !s.contents().contains("type a port"))
        .unwrap_or_else(|| panic!("Esc closed no prompt:\n{}", term.contents()));
    term.press(b"q");
    assert!(term.wait_exit(WAIT).expect("exits on q").success());
}
