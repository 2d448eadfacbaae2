//! The `partial-send` lesson's facts, checked on the real kernel: what each
//! send took and returned, and what the wire and `ss` show while the
//! receiver does not read (the zero window, the persist timer and its
//! probes, the window reopening). docs/narration-facts.md names the test
//! behind each sentence.

mod common;

use common::{run_captured, step_once};
use sockscope_core::engine::{Call, Event};
use sockscope_core::wire::Segment;

/// Every segment the run captured, in the order they were captured.
fn all_segments(events: &[Event]) -> Vec<Segment> {
    let mut segs: Vec<Segment> = events
        .iter()
        .flat_map(|e| e.segments.clone().unwrap_or_default())
        .collect();
    segs.sort_by_key(|s| s.n);
    segs.dedup_by_key(|s| s.n);
    segs
}

fn from<'a>(segs: &'a [Segment], actor: &'a str) -> impl Iterator<Item = &'a Segment> + 'a {
    segs.iter()
        .filter(move |s| s.from.as_deref() == Some(actor))
}

/// "send takes {bytes}: a partial send" / "The loop ends when send answers
/// EAGAIN" / "send takes all {bytes} bytes left in one call" / "recv
/// returns {bytes} bytes, the whole 64 KiB in order": the three kinds of
/// send account for every byte of the 65536, in order, and the receiver
/// gets them all.
#[test]
fn the_sends_take_every_byte_once_and_the_receiver_gets_them_in_order() {
    let Some((ev, _)) = run_captured("partial-send") else {
        return;
    };
    let sends: Vec<&Event> = ev.iter().filter(|e| e.call == Call::Send).collect();
    let first = sends[0];
    let taken = first.bytes.unwrap();
    assert!(taken > 0 && taken < 65536, "{first:?}");
    assert!(first.flags.iter().any(|f| f == "partial send"));
    // The loop: each call passes what the calls before it left, and the
    // loop ends on EAGAIN.
    let mut left = 65536 - taken;
    let lesson = sockscope_core::lesson::builtin("partial-send").unwrap();
    let loop_step = lesson
        .steps
        .iter()
        .position(|s| s.repeat == Some(20))
        .unwrap()
        + 1;
    let turns: Vec<&&Event> = sends.iter().filter(|e| e.step == loop_step).collect();
    assert_eq!(turns.last().unwrap().result.name(), "EAGAIN", "{turns:?}");
    for e in &turns {
        assert!(
            e.args.contains(&format!(", {left}, 0")),
            "{} {left}",
            e.args
        );
        left -= e.bytes.unwrap_or(0);
    }
    // The blocking send takes what is left, in one call.
    let last = sends.last().unwrap();
    assert_eq!(last.bytes, Some(left), "{last:?}");
    assert!(last.flags.iter().any(|f| f == "whole buffer sent"));
    let recv = ev
        .iter()
        .find(|e| e.call == Call::Recv && e.bytes == Some(65536))
        .expect("the MSG_WAITALL recv returned 64 KiB");
    assert!(recv.args.ends_with("MSG_WAITALL"), "{}", recv.args);
    assert!(
        recv.data
            .as_deref()
            .unwrap()
            .starts_with("abcdefghijklmnopqrstuvwxyzabcdefghij"),
        "{:?}",
        recv.data
    );
}

/// "the window it offers the sender in its SYN-ACK is smaller than the
/// buffer" / "it advertises a window of 0" / "each time it fires, a probe
/// asks whether the window has opened" / "its kernel reopened the window":
/// read from the capture.
#[test]
fn the_capture_shows_the_zero_window_its_probes_and_the_window_reopening() {
    let Some((ev, _)) = run_captured("partial-send") else {
        return;
    };
    let segs = all_segments(&ev);
    let rcvbuf = ev
        .iter()
        .find(|e| e.call == Call::Setsockopt && e.actor == "receiver")
        .and_then(|e| e.kernel.as_ref()?.rcvbuf)
        .unwrap();
    let syn_ack = from(&segs, "receiver")
        .find(|s| s.has_flag("SYN") && s.has_flag("ACK"))
        .expect("the SYN-ACK was captured");
    // A SYN's window is never scaled.
    assert!(u64::from(syn_ack.window.unwrap()) < rcvbuf, "{syn_ack:?}");
    let zero = from(&segs, "receiver")
        .position(|s| s.window == Some(0))
        .expect("the receiver advertised a zero window");
    let zero_seg = from(&segs, "receiver").nth(zero).unwrap();
    // A probe: the sender's segment with no payload whose sequence number
    // is one below what the receiver acknowledged, sent while the window
    // was 0.
    let acked = zero_seg.ack.unwrap();
    let probe = from(&segs, "sender")
        .filter(|s| s.n > zero_seg.n)
        .find(|s| s.len == 0 && s.seq == Some(acked - 1) && !s.has_flag("FIN"));
    assert!(probe.is_some(), "no window probe after #{}", zero_seg.n);
    let reopened = from(&segs, "receiver")
        .filter(|s| s.n > zero_seg.n)
        .find(|s| s.window.unwrap_or(0) > 0);
    assert!(reopened.is_some(), "the window never reopened");
    // While the window was zero, the sender sent no payload.
    let reopened = reopened.unwrap().n;
    assert!(
        from(&segs, "sender")
            .filter(|s| s.n > zero_seg.n && s.n < reopened)
            .all(|s| s.len == 0),
        "data sent into a zero window"
    );
}

/// "The sender's kernel has armed its persist timer": `ss -o` names the
/// sender's timer `persist` at the poll step, as the event does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ss_names_the_senders_timer_persist_while_the_window_is_zero() {
    if std::process::Command::new("ss").arg("-V").output().is_err() {
        sockscope_core::testing::skip("ss (iproute2) is not installed; .ci/run installs it");
        return;
    }
    let (mut hand, mut events) = common::step_by_hand("partial-send", 1).await;
    while events.last().map(|e| e.call) != Some(Call::Poll) {
        step_once(&mut hand, &mut events).await;
    }
    let poll = events.last().unwrap();
    assert_eq!(poll.ready, Some(0));
    let sender = &poll.sockets["sender:conn"];
    assert_eq!(
        sender.timer.map(sockscope_core::vocab::Timer::name),
        Some("persist")
    );
    let out = std::process::Command::new("ss")
        .args(["-Htno", "src", &sender.local])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains(&sender.local))
        .unwrap_or_else(|| panic!("ss does not list {}: {text}", sender.local));
    assert!(line.contains("timer:(persist,"), "{line}");
}
