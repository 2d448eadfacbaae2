//! Every lesson, run on the real kernel: the calls happen in the order the
//! course teaches, the kernel's numbers are consistent with each other, and
//! every claim a lesson's narration makes holds on this machine.

mod common;
use common::*;
use sockscope_core::engine::EngineMsg;
use sockscope_core::lesson;

#[test]
fn tcp_lifecycle_order_per_actor() {
    let ev = events(&run("tcp"));
    assert_eq!(
        calls(&of(&ev, "server")),
        [
            "socket", "bind", "listen", "accept", "recv", "send", "close", "accept", "recv",
            "send", "close", "close"
        ]
    );
    for client in ["client", "client2"] {
        assert_eq!(
            calls(&of(&ev, client)),
            ["socket", "connect", "send", "recv", "close"]
        );
    }
}

#[test]
fn accept_returns_a_new_fd_whose_peer_is_the_client() {
    let ev = events(&run("tcp"));
    let server = of(&ev, "server");
    let listener_fd = server[0].new_fd.unwrap();
    let accepts: Vec<_> = server
        .iter()
        .filter(|e| e.call.name() == "accept")
        .collect();
    assert_eq!(accepts.len(), 2);
    for (accept, client) in accepts.iter().zip(["client", "client2"]) {
        assert_eq!(accept.fd, Some(listener_fd));
        assert_ne!(
            accept.new_fd,
            Some(listener_fd),
            "accept must return a new fd"
        );
        let connect = of(&ev, client)
            .into_iter()
            .find(|e| e.call.name() == "connect")
            .unwrap();
        // The server sees the client's kernel-chosen port, and vice versa.
        assert_eq!(addr(accept.peer.as_ref()), addr(connect.local.as_ref()));
        assert_eq!(addr(connect.peer.as_ref()), addr(server[1].local.as_ref()));
    }
}

#[test]
fn clients_get_different_ephemeral_ports_from_this_machines_range() {
    let ev = events(&run("tcp"));
    let (lo, hi) = ephemeral_range();
    let ports: Vec<u16> = ["client", "client2"]
        .iter()
        .map(|c| {
            let connect = of(&ev, c)
                .into_iter()
                .find(|e| e.call.name() == "connect")
                .unwrap();
            addr(connect.local.as_ref()).port()
        })
        .collect();
    assert_ne!(ports[0], ports[1]);
    for p in ports {
        assert!((lo..=hi).contains(&p), "{p} outside {lo}-{hi}");
    }
}

#[test]
fn bytes_sent_equal_bytes_received_tcp_and_udp() {
    for lesson in ["tcp", "udp"] {
        let ev = events(&run(lesson));
        let sent: usize = ev
            .iter()
            .filter(|e| matches!(e.call.name(), "send" | "sendto"))
            .map(|e| e.bytes.unwrap())
            .sum();
        let received: usize = ev
            .iter()
            .filter(|e| matches!(e.call.name(), "recv" | "recvfrom"))
            .map(|e| e.bytes.unwrap())
            .sum();
        assert!(sent > 0);
        assert_eq!(sent, received, "{lesson}");
    }
}

#[test]
fn udp_lifecycle_and_sender_address() {
    let ev = events(&run("udp"));
    assert_eq!(
        calls(&of(&ev, "receiver")),
        ["socket", "bind", "recvfrom", "close"]
    );
    assert_eq!(calls(&of(&ev, "sender")), ["socket", "sendto", "close"]);
    let sendto = of(&ev, "sender")[1];
    let recvfrom = of(&ev, "receiver")[2];
    // recvfrom reports the port the kernel gave the sender when it sent.
    assert_eq!(
        addr(recvfrom.peer.as_ref()).port(),
        addr(sendto.local.as_ref()).port()
    );
    assert_eq!(
        addr(sendto.peer.as_ref()),
        addr(of(&ev, "receiver")[1].local.as_ref())
    );
    assert_eq!(recvfrom.data, sendto.data);
}

#[test]
fn refused_and_in_use_fail_where_the_lessons_say() {
    let ev = events(&run("refused"));
    let connect = ev.iter().find(|e| e.call.name() == "connect").unwrap();
    assert_eq!(connect.result.name(), "ECONNREFUSED");
    assert_eq!(connect.errno, Some(libc::ECONNREFUSED));
    assert!(connect.explain.as_deref().unwrap().contains("listening"));
    // The retry, after a server appears, succeeds.
    assert_eq!(
        ev.iter()
            .filter(|e| e.call.name() == "connect")
            .nth(1)
            .unwrap()
            .result
            .name(),
        "ok"
    );

    let ev = events(&run("in-use"));
    let bind = of(&ev, "server2")[1];
    assert_eq!(bind.result.name(), "EADDRINUSE");
    assert_eq!(bind.errno, Some(libc::EADDRINUSE));
    assert_eq!(
        bind.args.split(", ").nth(1),
        of(&ev, "server")[1].local.as_deref()
    );
}

#[test]
fn every_claim_of_every_builtin_lesson_holds_on_this_kernel() {
    for l in lesson::builtins() {
        let msgs = run(&l.name);
        let ev = events(&msgs);
        for (i, step) in l.steps.iter().enumerate() {
            let n = ev.iter().filter(|e| e.step == i + 1).count();
            match step.repeat {
                None => assert_eq!(n, 1, "{} step {}: one event per step", l.name, i + 1),
                Some(max) => assert!(
                    (1..=max as usize).contains(&n),
                    "{} step {}: {n} events for repeat = {max}",
                    l.name,
                    i + 1
                ),
            }
        }
        for e in &ev {
            for c in &e.checks {
                assert!(
                    c.ok,
                    "{} step {} ({} {}): narration claims {} = {}, kernel said {}",
                    l.name, e.step, e.actor, e.call, c.what, c.expected, c.seen
                );
            }
        }
        let claimed: usize = ev.iter().map(|e| l.steps[e.step - 1].expect.len()).sum();
        let checked: usize = ev.iter().map(|e| e.checks.len()).sum();
        assert_eq!(claimed, checked, "{}: every claim was checked", l.name);
    }
}

#[test]
fn a_lesson_gives_the_same_sequence_of_calls_every_run() {
    let shape = |msgs: Vec<EngineMsg>| -> Vec<(String, String, usize)> {
        events(&msgs)
            .into_iter()
            .map(|e| (e.actor, e.call.to_string(), e.step))
            .collect()
    };
    for name in ["tcp", "udp"] {
        let first = shape(run(name));
        for _ in 0..5 {
            assert_eq!(shape(run(name)), first, "{name}");
        }
    }
}

#[test]
fn blocking_calls_are_reported_waiting_before_they_complete() {
    let msgs = run("tcp");
    let first_wait = msgs
        .iter()
        .position(|m| matches!(m, EngineMsg::Waiting(w) if w.call.name() == "accept"))
        .expect("accept waits: nobody has connected yet");
    let accept_done = msgs
        .iter()
        .position(|m| matches!(m, EngineMsg::Event(e) if e.call.name() == "accept"))
        .unwrap();
    assert!(first_wait < accept_done);
    let EngineMsg::Event(e) = &msgs[accept_done] else {
        unreachable!()
    };
    assert!(e.waited_us.is_some());
}

#[test]
fn narration_placeholders_are_filled_with_this_runs_values() {
    let l = lesson::builtin("tcp").unwrap();
    let ev = events(&run("tcp"));
    let accept = ev.iter().find(|e| e.call.name() == "accept").unwrap();
    let text = lesson::narrate(&l.steps[accept.step - 1].say, accept);
    assert!(text.contains(&accept.new_fd.unwrap().to_string()), "{text}");
    assert!(text.contains(accept.peer.as_deref().unwrap()), "{text}");
    for e in &ev {
        let said = lesson::narrate(&l.steps[e.step - 1].say, e);
        assert!(!said.contains('{'), "unfilled placeholder in {said}");
        assert!(
            !said.contains("(none)"),
            "step {} narrates a value it lacks: {said}",
            e.step
        );
    }
}
