//! The `threads-server` lesson's facts, checked on the real kernel: the
//! worker uses the fd accept returned, two threads sleep in the kernel at
//! once (each in its own call), and the quick client is served while the
//! slow client's worker still waits. Which thread made each call is also
//! matched against strace -f by tests/strace_lessons.rs.
//! docs/narration-facts.md names the test behind each sentence.

mod common;

use common::{events, run};
use sockscope_core::engine::{Call, EngineMsg};

/// "the threads share one fd table, so fd {new_fd} is the same socket in
/// worker1": the worker's calls are made on the very fd the server's
/// accept returned, and the kernel reports the same connection for both.
#[test]
fn each_worker_uses_the_fd_its_accept_returned() {
    let ev = events(&run("threads-server"));
    for (n, worker) in [(0, "worker1"), (1, "worker2")] {
        let accept = ev.iter().filter(|e| e.call == Call::Accept).nth(n).unwrap();
        let uses: Vec<_> = ev.iter().filter(|e| e.actor == worker).collect();
        assert!(!uses.is_empty());
        for e in &uses {
            assert_eq!(e.fd, accept.new_fd, "{worker}: {e:?}");
            assert_eq!((&e.local, &e.peer), (&accept.local, &accept.peer));
        }
        assert!(
            accept
                .flags
                .iter()
                .any(|f| f == &format!("handed to {worker}: same process, same fd"))
        );
    }
}

/// Where in `msgs` the `nth` event of `actor`'s `call` is.
fn event_at(msgs: &[EngineMsg], actor: &str, call: Call, nth: usize) -> usize {
    msgs.iter()
        .enumerate()
        .filter(|(_, m)| matches!(m, EngineMsg::Event(e) if e.actor == actor && e.call == call))
        .nth(nth)
        .unwrap_or_else(|| panic!("no {call} #{nth} of {actor}"))
        .0
}

/// Where in `msgs` `actor`'s `call` was seen asleep.
fn waiting_at(msgs: &[EngineMsg], actor: &str, call: Call) -> usize {
    msgs.iter()
        .position(|m| matches!(m, EngineMsg::Waiting(w) if w.actor == actor && w.call == call))
        .unwrap_or_else(|| panic!("{actor}'s {call} was never seen waiting"))
}

/// "Two threads of one process are asleep in the kernel now, each in its
/// own call: worker1 in recv, the server in accept" / "worker1 is still
/// waiting for the first client, and nothing about that slows worker2
/// down" / "The second client has its answer ... before the first client
/// has even asked".
#[test]
fn two_threads_sleep_at_once_and_the_quick_client_is_served_first() {
    let msgs = run("threads-server");
    let worker1_waits = waiting_at(&msgs, "worker1", Call::Recv);
    let server_waits = waiting_at(&msgs, "server", Call::Accept);
    // Both in different threads, asleep in different kernel functions.
    let (EngineMsg::Waiting(w1), EngineMsg::Waiting(s)) =
        (&msgs[worker1_waits], &msgs[server_waits])
    else {
        unreachable!()
    };
    assert_ne!(w1.tid, s.tid);
    assert_ne!(w1.wchan, s.wchan, "{w1:?} {s:?}");
    // The server's accept returns (client2) while worker1 still sleeps.
    let second_accept = event_at(&msgs, "server", Call::Accept, 1);
    let worker1_recv = event_at(&msgs, "worker1", Call::Recv, 0);
    let worker2_recv = event_at(&msgs, "worker2", Call::Recv, 0);
    let client2_answer = event_at(&msgs, "client2", Call::Recv, 0);
    let client1_asks = event_at(&msgs, "client1", Call::Send, 0);
    assert!(worker1_waits < server_waits && server_waits < second_accept);
    assert!(second_accept < worker2_recv && worker2_recv < worker1_recv);
    assert!(
        client2_answer < client1_asks,
        "served before the slow client asked"
    );
    assert!(client1_asks < worker1_recv);
}
