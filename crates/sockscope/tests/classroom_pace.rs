//! The lessons whose calls wait or whose timers run (backlog, half-close,
//! refused), stepped in the TUI at a teacher's pace: at every step where a
//! call is seen waiting or a kernel timer runs, the presenter talks for 20
//! seconds before the next key press, longer than any fixed timeout left in
//! the engine (there is none: a waiting call waits as long as the kernel
//! keeps it). After every step, no claim of the narration fails ("✗ …:
//! expected …, seen …") and the run has not stopped; at the end the lesson
//! is over, as it would be at full speed.
//!
//! Which steps wait is not written down here: a `trace` run of the lesson
//! says (its `waiting` lines and the events whose socket has a timer), so a
//! lesson that gains a waiting step is paused at it too. The three lessons
//! run side by side, each in its own pseudo-terminal, so the test takes as
//! long as the longest (backlog: 7 pauses).

#[path = "../benches/process/pty_harness.rs"]
#[allow(dead_code)]
mod pty_harness;

use pty_harness::Term;
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_sockscope");
/// How long the presenter talks at a step where something waits.
const PAUSE: Duration = Duration::from_secs(20);
/// A step shows within this after its key press (a connect the kernel is
/// still retrying shows as waiting at once).
const STEP_SHOWS: Duration = Duration::from_secs(15);
/// The end: a client whose SYN a full queue dropped connects at its
/// kernel's next retransmission, which after long pauses can be a minute
/// away (the backoff doubles: 1, 2, 4, ... 32 s).
const LAST: Duration = Duration::from_secs(180);

/// The steps of `lesson` at which a call waits or a kernel timer runs, as a
/// trace run of it reports them.
fn waiting_steps(lesson: &str) -> BTreeSet<u64> {
    let out = Command::new(BIN)
        .args(["trace", lesson, "--format", "json", "--no-capture"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let timer = !v["kernel"]["timer_ms"].is_null();
            (v["result"] == "waiting" || timer).then(|| v["step"].as_u64().unwrap())
        })
        .collect()
}

/// A failed claim or a stopped run on screen, if any.
fn trouble(screen: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| {
            (l.contains(": expected ") && l.contains(", seen ")) || l.contains("The run stopped")
        })
        .map(str::to_string)
}

/// Step through `lesson` in the TUI, pausing at its waiting steps.
fn step_at_classroom_pace(lesson: &str) -> Result<(), String> {
    let steps = sockscope_core::lesson::builtin(lesson).unwrap().steps.len();
    let pauses = waiting_steps(lesson);
    if pauses.is_empty() {
        return Err(format!("{lesson}: no step waits, nothing to test"));
    }
    let mut term = Term::spawn(BIN, &["lesson", lesson], 120, 40);
    term.wait_for(STEP_SHOWS, |s| s.contents().contains("Press Space"))
        .ok_or_else(|| format!("{lesson}: no first frame:\n{}", term.contents()))?;
    for step in 1..=steps {
        term.press(b" ");
        let want = format!("step {step} of {steps}");
        term.wait_for(STEP_SHOWS, |s| s.contents().contains(&want))
            .ok_or_else(|| format!("{lesson}: step {step} never showed:\n{}", term.contents()))?;
        if pauses.contains(&(step as u64)) {
            // The presenter talks; the screen keeps drawing (timers count).
            term.drain_for(PAUSE);
        } else {
            term.drain_for(Duration::from_millis(100));
        }
        if let Some(line) = trouble(&term.contents()) {
            return Err(format!(
                "{lesson}: after step {step}: {line}\n{}",
                term.contents()
            ));
        }
    }
    term.wait_for(LAST, |s| s.contents().contains("The lesson is over"))
        .ok_or_else(|| format!("{lesson}: did not finish:\n{}", term.contents()))?;
    if let Some(line) = trouble(&term.contents()) {
        return Err(format!("{lesson}: at the end: {line}\n{}", term.contents()));
    }
    term.press(b"q");
    let status = term
        .wait_exit(STEP_SHOWS)
        .ok_or_else(|| format!("{lesson}: did not exit on q"))?;
    if !status.success() {
        return Err(format!("{lesson}: exit status {status:?}"));
    }
    term.drain_for(Duration::from_millis(100));
    if term.parser.screen().alternate_screen() {
        return Err(format!("{lesson}: the terminal was not restored"));
    }
    Ok(())
}

#[test]
fn backlog_half_close_and_refused_hold_at_a_teachers_pace() {
    let runs: Vec<_> = ["backlog", "half-close", "refused"]
        .into_iter()
        .map(|lesson| std::thread::spawn(move || step_at_classroom_pace(lesson)))
        .collect();
    let failures: Vec<String> = runs
        .into_iter()
        .filter_map(|r| r.join().unwrap().err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
