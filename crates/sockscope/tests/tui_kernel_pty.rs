//! The lessons about the kernel, end to end in the TUI: the built binary in a
//! pseudo-terminal runs each of them to its last step with real sockets, and
//! the kernel panel shows the kernel's state names all the way. Every wait
//! has a timeout.

#[path = "../benches/process/pty_harness.rs"]
#[allow(dead_code)]
mod pty_harness;

use pty_harness::Term;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sockscope");
const WAIT: Duration = Duration::from_secs(15);

/// Run `lesson` to the end with Space, checking the kernel panel is there at
/// every step; return the last screen.
fn run_through(lesson: &str) -> (Term, String) {
    let steps = sockscope_core::lesson::builtin(lesson).unwrap().steps.len();
    let mut term = Term::spawn(BIN, &["lesson", lesson], 120, 40);
    term.wait_for(WAIT, |s| s.contents().contains("kernel: TCP states"))
        .unwrap_or_else(|| panic!("{lesson}: no kernel panel:\n{}", term.contents()));
    for step in 1..=steps {
        term.press(b" ");
        let want = format!("step {step} of {steps}");
        let done = format!("finished: {steps} of {steps}");
        term.wait_for(WAIT, |s| {
            let c = s.contents();
            c.contains(&want) || c.contains(&done)
        })
        .unwrap_or_else(|| panic!("{lesson}: step {step} never showed:\n{}", term.contents()));
        assert!(
            term.contents().contains("kernel: TCP states"),
            "{lesson} step {step}: the kernel panel went away:\n{}",
            term.contents()
        );
    }
    let screen = term.contents();
    (term, screen)
}

fn quit(mut term: Term) {
    term.press(b"q");
    let status = term.wait_exit(WAIT).expect("the TUI exits on q");
    assert!(status.success(), "{status:?}");
}

#[test]
fn half_close_ends_in_time_wait_that_counts_down_while_waiting() {
    let (mut term, screen) = run_through("half-close");
    assert!(screen.contains("TIME_WAIT"), "{screen}");
    // Waiting on the last step, the panel is read again every second.
    term.wait_for(WAIT, |s| s.contents().contains("read again just now"))
        .unwrap_or_else(|| panic!("no refresh while waiting:\n{}", term.contents()));
    quit(term);
}

#[test]
fn the_other_kernel_lessons_run_to_the_end_with_their_panel() {
    for (lesson, must_show) in [
        ("abort", "gone"),
        ("backlog", "LISTEN"),
        ("boundaries", "UDP"),
        ("udp-loss", "UDP"),
        ("udp-refused", "UDP"),
    ] {
        let (term, screen) = run_through(lesson);
        assert!(
            screen.contains(must_show),
            "{lesson}: {must_show}\n{screen}"
        );
        quit(term);
    }
}
