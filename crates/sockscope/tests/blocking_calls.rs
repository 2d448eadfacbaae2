//! The lesson's calls block as a C program's do, in a thread per actor, and
//! the engine proves a call waits by asking the kernel: the thread's
//! /proc/self/task/TID/syscall names the call and its fd. A waiting call
//! keeps waiting however long the presenter pauses (no timer of the
//! engine's ends it), and stopping the run interrupts it, shown as such.

mod common;
use common::*;
use sockscope_core::engine::{self, Engine, EngineConfig, EngineMsg, INTERRUPTED, Pace, Waiting};
use sockscope_core::lesson;
use std::time::Duration;

fn manual(name: &str) -> Hand {
    Hand::new(
        Engine::start(
            lesson::builtin(name).unwrap(),
            EngineConfig {
                port: 0,
                pace: Pace::Manual,
                capture: false,
            },
        ),
        0,
    )
}

/// Step until the engine reports a step's call waiting.
async fn step_to_waiting(engine: &mut Hand) -> Waiting {
    loop {
        if let Some(EngineMsg::Waiting(w)) = engine.step_msgs().await.pop() {
            return w;
        }
    }
}

/// The first word of /proc/self/task/TID/syscall: the syscall number the
/// thread is blocked in, and its first argument.
fn blocked_in(tid: i32) -> Option<(i64, i64)> {
    let line = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).ok()?;
    let mut w = line.split_whitespace();
    let nr = w.next()?.parse().ok()?;
    let fd = i64::from_str_radix(w.next()?.trim_start_matches("0x"), 16).ok()?;
    Some((nr, fd))
}

/// Has the thread `tid` gone from the kernel's list of this process's
/// threads? Asked for up to two seconds: dropping an engine aborts its task,
/// which the runtime drops a moment later, and a joined thread's entry
/// leaves /proc just after it has ended.
async fn thread_gone(tid: i32) -> bool {
    for _ in 0..200 {
        if !std::path::Path::new(&format!("/proc/self/task/{tid}")).exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Longer than the five seconds the engine used to allow a waiting call
/// before it declared the run stalled.
const PAUSE: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_accept_sleeps_in_the_kernel_however_long_the_presenter_pauses() {
    let mut engine = manual("tcp");
    let w = step_to_waiting(&mut engine).await;
    assert_eq!(w.call.name(), "accept");
    assert_eq!(w.wchan.as_deref(), Some("inet_csk_accept"), "{w:?}");
    let tid = w.tid.expect("the thread's id");
    let fd = i64::from(w.fd.unwrap());
    assert_eq!(blocked_in(tid), Some((libc::SYS_accept, fd)));
    // The presenter talks; nothing moves, and the call still sleeps.
    tokio::time::sleep(PAUSE).await;
    assert!(
        engine.try_next().is_none(),
        "the engine reported something while paused"
    );
    assert_eq!(
        blocked_in(tid),
        Some((libc::SYS_accept, fd)),
        "after {PAUSE:?} the accept is still asleep in the kernel"
    );
    let wchan = std::fs::read_to_string(format!("/proc/self/task/{tid}/wchan")).unwrap();
    assert_eq!(wchan.trim(), "inet_csk_accept");
    // The lesson goes on: the client connects, the accept returns.
    let mut ev = Vec::new();
    while !ev.iter().any(|e: &engine::Event| e.call.name() == "accept") {
        step_once(&mut engine, &mut ev).await;
    }
    let accept = ev.iter().find(|e| e.call.name() == "accept").unwrap();
    assert!(accept.ok(), "{accept:?}");
    assert!(
        accept.waited_us.unwrap() >= PAUSE.as_micros() as u64,
        "{accept:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_interrupts_a_waiting_call_and_says_sockscope_did() {
    let mut engine = manual("tcp");
    let w = step_to_waiting(&mut engine).await;
    let tid = w.tid.unwrap();
    let fd = w.fd.unwrap();
    engine.stop();
    let mut last = None;
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(10), engine.next()).await {
        if let EngineMsg::Event(e) = msg {
            last = Some(e);
        }
    }
    let e = last.expect("the interrupted call's event");
    assert_eq!(e.call.name(), "accept");
    assert_eq!(e.result.name(), "EINTR");
    assert!(e.flags.iter().any(|f| f == INTERRUPTED), "{e:?}");
    assert!(
        e.explain
            .as_deref()
            .unwrap()
            .contains("sockscope interrupted")
    );
    drop(engine);
    // The thread has ended and its listener is closed.
    assert!(thread_gone(tid).await, "the actor's thread is gone");
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}"));
    assert!(
        link.as_ref()
            .map_or(true, |l| !l.to_string_lossy().starts_with("socket:")),
        "fd {fd} still open: {link:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_engine_while_a_call_waits_ends_its_thread() {
    let mut engine = manual("tcp");
    let w = step_to_waiting(&mut engine).await;
    let tid = w.tid.unwrap();
    drop(engine);
    assert!(thread_gone(tid).await, "the actor's thread is gone");
}

#[test]
fn backlogs_third_client_sleeps_in_syn_sent_until_a_retransmitted_syn_gets_in() {
    let msgs = run("backlog");
    let w = msgs
        .iter()
        .find_map(|m| match m {
            EngineMsg::Waiting(w) if w.actor == "client3" => Some(w),
            _ => None,
        })
        .expect("client3's connect waits");
    assert_eq!(w.call.name(), "connect");
    assert_eq!(
        w.tcp_state.map(sockscope_core::event::StateSeen::name),
        Some("SYN_SENT")
    );
    assert!(
        w.kernel_syscall
            .as_deref()
            .unwrap()
            .starts_with(&format!("{} ", libc::SYS_connect))
    );
    for actor in ["client3", "client4"] {
        let e = events(&msgs)
            .into_iter()
            .find(|e| e.actor == actor && e.call.name() == "connect")
            .unwrap();
        assert!(e.ok(), "{e:?}");
        assert_eq!(
            e.tcp_state.map(sockscope_core::event::StateSeen::name),
            Some("ESTABLISHED")
        );
        let k = e.kernel.as_ref().unwrap();
        assert!(k.retransmits.unwrap() >= 1, "the SYN was sent again: {k:?}");
        // The kernel's initial retransmission timeout is one second
        // (TCP_TIMEOUT_INIT): connect slept at least that long.
        assert!(e.waited_us.unwrap() >= 900_000, "{e:?}");
        let l = lesson::builtin("backlog").unwrap();
        let why = lesson::narrate(&l.steps[e.step - 1].why, &e);
        assert!(
            why.contains(&format!(
                "sent the SYN again {} time(s)",
                k.retransmits.unwrap()
            )),
            "{why}"
        );
    }
}
