//! The kernel view checked against the kernel's own tools: the TCP states,
//! queues and timers sockscope reports equal what `ss -tan -o` shows at the
//! same moment, and each new lesson's claims hold (TIME_WAIT on the side that
//! closed first and never after RST, EOF / EPIPE / ECONNRESET at the right
//! calls, SYN_SENT clients while the accept queue is full, "HelloWorld" in
//! one recv, UDP loss equal to the kernel's counters).

mod common;
use common::*;
use sockscope_core::engine::{Engine, EngineConfig, EngineMsg, Event, Pace};
use sockscope_core::kernel::{self, SockView};
use sockscope_core::lesson::{self, Lesson};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// One line of `ss -Htano`: state (kernel spelling), recv-q, send-q, local,
/// peer, timer name and seconds left.
#[derive(Debug, Clone)]
struct SsLine {
    state: String,
    recv_q: u64,
    send_q: u64,
    local: String,
    peer: String,
    timer: Option<(String, f64)>,
}

fn ss_available() -> bool {
    std::process::Command::new("ss").arg("-V").output().is_ok()
}

/// ss spells states with dashes and shortens ESTABLISHED; the kernel's names
/// use underscores.
fn ss_state(s: &str) -> String {
    match s {
        "ESTAB" => "ESTABLISHED".into(),
        "FIN-WAIT-1" => "FIN_WAIT1".into(),
        "FIN-WAIT-2" => "FIN_WAIT2".into(),
        "UNCONN" => "CLOSE".into(),
        other => other.replace('-', "_"),
    }
}

/// `59sec`, `1min`, `1min2sec`, `200ms` → seconds.
fn ss_duration(s: &str) -> f64 {
    let mut total = 0.0;
    let mut num = String::new();
    let mut unit = String::new();
    let flush = |num: &mut String, unit: &mut String, total: &mut f64| {
        if let Ok(n) = num.parse::<f64>() {
            *total += match unit.as_str() {
                "min" => n * 60.0,
                "ms" => n / 1000.0,
                _ => n,
            };
        }
        num.clear();
        unit.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() || c == '.' {
            if !unit.is_empty() {
                flush(&mut num, &mut unit, &mut total);
            }
            num.push(c);
        } else {
            unit.push(c);
        }
    }
    flush(&mut num, &mut unit, &mut total);
    total
}

fn ss_tcp() -> Vec<SsLine> {
    let out = std::process::Command::new("ss")
        .args(["-Htano"])
        .output()
        .expect("ss runs");
    // A failing ss prints nothing on stdout: that must not pass for "no
    // disagreement".
    assert!(
        out.status.success(),
        "ss -Htano failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 5 {
                return None;
            }
            let timer = f.get(5).and_then(|t| {
                let inner = t.strip_prefix("timer:(")?.strip_suffix(')')?;
                let mut parts = inner.split(',');
                let name = parts.next()?.to_string();
                Some((name, ss_duration(parts.next()?)))
            });
            Some(SsLine {
                state: ss_state(f[0]),
                recv_q: f[1].parse().ok()?,
                send_q: f[2].parse().ok()?,
                local: f[3].to_string(),
                peer: f[4].to_string(),
                timer,
            })
        })
        .collect()
}

/// The ss line for a socket of the kernel view.
fn ss_find<'a>(lines: &'a [SsLine], v: &SockView) -> Option<&'a SsLine> {
    let peer = v.peer.clone().unwrap_or_else(|| "0.0.0.0:*".into());
    lines.iter().find(|l| l.local == v.local && l.peer == peer)
}

/// Compare every TCP socket of a kernel view with ss. Returns the first
/// disagreement.
fn disagreement(view: &BTreeMap<String, SockView>, ss: &[SsLine]) -> Option<String> {
    for (name, v) in view {
        if v.proto != sockscope_core::engine::Proto::Tcp {
            continue;
        }
        let line = ss_find(ss, v);
        match (v.seen_in.name(), line) {
            ("table", Some(l)) => {
                if v.tcp_state.map(sockscope_core::event::TcpState::name) != Some(l.state.as_str())
                {
                    return Some(format!(
                        "{name}: sockscope {:?}, ss {}",
                        v.tcp_state, l.state
                    ));
                }
                let (rq, sq) = match (v.accept_q, v.backlog) {
                    (Some(a), Some(b)) => (a, b),
                    _ => (v.recv_q.unwrap_or(0), v.send_q.unwrap_or(0)),
                };
                if (rq, sq) != (l.recv_q, l.send_q) {
                    return Some(format!(
                        "{name}: queues {rq}/{sq}, ss {}/{}",
                        l.recv_q, l.send_q
                    ));
                }
                if let (Some(ms), Some((tname, secs))) = (v.timer_ms, &l.timer)
                    && tname == "timewait"
                    && (ms as f64 / 1000.0 - secs).abs() > 2.0
                {
                    return Some(format!("{name}: timer {ms} ms, ss {secs} s"));
                }
            }
            ("table", None) => return Some(format!("{name}: in /proc/net/tcp, not in ss")),
            (_, Some(l)) => {
                return Some(format!(
                    "{name}: sockscope says {}, ss shows {}",
                    v.seen_in, l.state
                ));
            }
            (_, None) => {}
        }
    }
    None
}

/// Run `name` one step at a time; after each step has settled (its own call
/// and the calls it wakes have reported, so nothing runs until the next
/// step), call `at_rest` with the events so far.
// The turn is held across the awaits on purpose: it orders this process's
// test threads, each with a runtime of its own, and no task of this
// runtime ever asks for it.
#[allow(clippy::await_holding_lock)]
async fn step_through(name: &str, mut at_rest: impl FnMut(usize, &[Event])) -> Vec<Event> {
    let _alone = common::one_run_at_a_time();
    let lesson: Lesson = lesson::builtin(name).unwrap();
    let mut engine = Engine::start(
        lesson.clone(),
        EngineConfig {
            pace: Pace::Manual,
            ..EngineConfig::default()
        },
    );
    let mut events: Vec<Event> = Vec::new();
    let mut parked: HashSet<String> = HashSet::new();
    for (i, step) in lesson.steps.iter().enumerate() {
        let n = i + 1;
        let mut waiting_for: HashSet<String> = step
            .wakes
            .iter()
            .chain(std::iter::once(&step.actor))
            .filter(|a| parked.contains(*a))
            .cloned()
            .collect();
        let mut own = false;
        engine.step();
        while !own || !waiting_for.is_empty() {
            let msg = tokio::time::timeout(Duration::from_secs(10), engine.next())
                .await
                .expect("the engine answers")
                .expect("the engine is running");
            match msg {
                EngineMsg::Waiting(w) if w.step == n => {
                    if step.parks() {
                        parked.insert(w.actor.clone());
                        own = true;
                    }
                }
                EngineMsg::Event(e) => {
                    if e.step == n {
                        own = true;
                    } else {
                        parked.remove(&e.actor);
                        waiting_for.remove(&e.actor);
                    }
                    events.push(*e);
                }
                EngineMsg::Waiting(_) => {}
                other => panic!("{name} step {n}: unexpected {other:?}"),
            }
        }
        at_rest(n, &events);
    }
    events
}

/// After every step of the TCP lessons, at rest, the kernel view the engine
/// reported agrees with ss (re-read back to back, so a timer firing between
/// the two readings is retried rather than reported).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_queues_and_timers_agree_with_ss_after_every_step() {
    if !ss_available() {
        sockscope_core::testing::skip("ss (iproute2) is not installed; .ci/run installs it");
        return;
    }
    for name in ["half-close", "abort", "backlog", "boundaries", "tcp"] {
        let mut compared = 0;
        step_through(name, |n, events| {
            let Some(last) = events.last() else { return };
            if last.sockets.is_empty() {
                return;
            }
            let mut problem = None;
            for _ in 0..5 {
                let ours = kernel::refresh(&last.sockets);
                problem = disagreement(&ours, &ss_tcp());
                if problem.is_none() {
                    break;
                }
            }
            assert!(problem.is_none(), "{name} step {n}: {}", problem.unwrap());
            compared += 1;
        })
        .await;
        assert!(compared > 5, "{name}: compared {compared} times");
    }
}

#[test]
fn half_close_reports_the_states_of_a_graceful_close_at_the_right_steps() {
    let out = bin()
        .args(["trace", "half-close", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let ev = json_lines(&out);
    let find = |actor: &str, call: &str, nth: usize| {
        ev.iter()
            .filter(|e| e["actor"] == actor && e["call"] == call)
            .nth(nth)
            .unwrap_or_else(|| panic!("{actor} {call} #{nth}"))
            .clone()
    };
    let shutdown = find("client", "shutdown", 0);
    assert_eq!(shutdown["tcp_state"], "FIN_WAIT2");
    // FIN_WAIT1 was observed first: the server's kernel delays its ACK of
    // the FIN (delayed ACK), and the narration says so.
    assert_eq!(shutdown["kernel"]["first_state"], "FIN_WAIT1");
    assert!(shutdown["kernel"]["settle_ms"].as_u64().unwrap() > 0);
    assert_eq!(
        shutdown["sockets"]["server:conn"]["tcp_state"],
        "CLOSE_WAIT"
    );
    let eof = find("server", "recv", 1);
    assert_eq!(eof["bytes"], 0);
    assert!(eof["flags"].as_array().unwrap().contains(&"EOF".into()));
    assert_eq!(eof["tcp_state"], "CLOSE_WAIT");
    // The server can still send in CLOSE_WAIT, and the client still reads it.
    assert_eq!(find("server", "send", 0)["result"], "ok");
    assert_eq!(find("client", "recv", 0)["data"], "here is your answer");
    let epipe = find("client", "send", 1);
    assert_eq!(epipe["result"], "EPIPE");
    assert_eq!(epipe["errno"], libc::EPIPE);
    // The side that closed first holds TIME_WAIT; the other side is gone.
    let server_close = find("server", "close", 0);
    assert_eq!(server_close["tcp_state"], serde_json::Value::Null);
    // Its LAST_ACK, if seen at all, ended at once (the narration says the
    // client's kernel acknowledges at once).
    if let Some(waited) = server_close["kernel"]["settle_ms"].as_u64() {
        assert!(
            waited < kernel::SETTLE_BUDGET.as_millis() as u64,
            "{waited}"
        );
    }
    assert_eq!(server_close["kernel"]["source"], "none");
    let client = &server_close["sockets"]["client:sock"];
    assert_eq!(client["tcp_state"], "TIME_WAIT");
    assert_eq!(client["has_fd"], false);
    let client_close = find("client", "close", 0);
    assert_eq!(client_close["tcp_state"], "TIME_WAIT");
    let left = client_close["kernel"]["timer_ms"].as_u64().unwrap();
    // Linux's TIME_WAIT lasts 60 s (TCP_TIMEWAIT_LEN); some of it has passed.
    assert!(left > 0 && left <= 60_000, "{left}");
}

#[test]
fn after_rst_nobody_is_in_time_wait_and_recv_fails_with_econnreset() {
    let ev = events(&run("abort"));
    for e in &ev {
        assert_ne!(
            e.tcp_state.map(sockscope_core::event::StateSeen::name),
            Some("TIME_WAIT"),
            "step {}",
            e.step
        );
        for (name, v) in &e.sockets {
            assert_ne!(
                v.tcp_state.map(sockscope_core::event::TcpState::name),
                Some("TIME_WAIT"),
                "{name} at step {}",
                e.step
            );
        }
    }
    let resets: Vec<_> = ev
        .iter()
        .filter(|e| e.result.name() == "ECONNRESET")
        .collect();
    assert_eq!(resets.len(), 2);
    assert_eq!(
        (resets[0].actor.as_str(), resets[0].call.name()),
        ("server", "recv")
    );
    assert_eq!(
        (resets[1].actor.as_str(), resets[1].call.name()),
        ("client2", "recv")
    );
    // And ss agrees: none of the lesson's connections (exact address
    // pairs; a port alone may be reused by older connections) is in
    // TIME-WAIT.
    if ss_available() {
        let last = ev.last().unwrap();
        let ss = ss_tcp();
        let mut pairs = 0;
        for v in last.sockets.values().filter(|v| v.peer.is_some()) {
            pairs += 1;
            if let Some(l) = ss_find(&ss, v) {
                assert_ne!(l.state, "TIME_WAIT", "{l:?}");
            }
        }
        assert!(pairs >= 4, "both connections, both sides: {pairs}");
    }
}

/// While the accept queue is full, the clients beyond it are in SYN_SENT, in
/// sockscope's view and in ss; their connects complete only after their
/// kernel retransmitted the SYN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_clients_wait_in_syn_sent_while_the_queue_is_full() {
    let mut checked = false;
    let ev = step_through("backlog", |_, events| {
        let last = events.last().unwrap();
        // The step after client 4's connect started: the first accept has
        // not run yet, so the queue is full and stays full.
        if last.actor != "client4" || last.call.name() != "socket" {
            return;
        }
        let view = kernel::refresh(&last.sockets);
        assert_eq!(view["server:listener"].accept_q, Some(2), "backlog + 1");
        assert_eq!(view["server:listener"].backlog, Some(1));
        assert_eq!(
            view["client3:sock"]
                .tcp_state
                .map(sockscope_core::event::TcpState::name),
            Some("SYN_SENT")
        );
        if ss_available() {
            let ss = ss_tcp();
            let c3 = ss_find(&ss, &view["client3:sock"]).expect("ss lists client 3");
            assert_eq!(c3.state, "SYN_SENT");
            let l = ss_find(&ss, &view["server:listener"]).unwrap();
            assert_eq!((l.recv_q, l.send_q), (2, 1));
        }
        checked = true;
    })
    .await;
    assert!(checked);
    for c in ["client3", "client4"] {
        let connect = ev
            .iter()
            .find(|e| e.actor == c && e.call.name() == "connect")
            .unwrap();
        assert_eq!(connect.result.name(), "ok");
        let retrans = connect.kernel.as_ref().unwrap().retransmits.unwrap();
        assert!(retrans >= 1, "{c}'s SYN was sent again: {retrans}");
    }
    for c in ["client1", "client2"] {
        let connect = ev
            .iter()
            .find(|e| e.actor == c && e.call.name() == "connect")
            .unwrap();
        assert_eq!(connect.kernel.as_ref().unwrap().retransmits, Some(0));
    }
}

#[test]
fn tcp_merges_two_sends_into_one_recv_and_udp_keeps_datagrams_apart() {
    let ev = events(&run("boundaries"));
    let recvs: Vec<_> = ev
        .iter()
        .filter(|e| e.actor == "server" && e.call.name() == "recv")
        .collect();
    assert_eq!(recvs.len(), 1);
    assert_eq!(recvs[0].data.as_deref(), Some("HelloWorld"));
    let got: Vec<_> = ev
        .iter()
        .filter(|e| e.actor == "receiver" && e.call.name() == "recvfrom")
        .map(|e| {
            (
                e.result.name(),
                e.data.clone().unwrap_or_default(),
                e.flags.clone(),
            )
        })
        .collect();
    assert_eq!(got[0].1, "Hello");
    assert_eq!(got[1].1, "World");
    // recvfrom, not recvmsg: it returns the bytes copied and says nothing
    // of the cut (only recvmsg's msg_flags would); the EAGAIN after it shows
    // the rest is gone.
    assert_eq!(got[2].1, "Hello");
    assert!(got[2].2.is_empty(), "{:?}", got[2].2);
    assert_eq!(got[3].0, "EAGAIN");
}

/// Sent minus received equals the drops the kernel counted for the socket,
/// and the machine-wide RcvbufErrors counter moved by the same amount.
/// That counter is global: other UDP traffic dropped on this machine at the
/// same moment (another test running udp-loss in parallel, for one) moves it
/// too, so a run where it moved by more is retried, a bounded number of times.
#[test]
fn udp_loss_equals_the_kernels_own_drop_counters() {
    let mut last = String::new();
    for _ in 0..8 {
        let ev = events(&run("udp-loss"));
        let sent = ev
            .iter()
            .filter(|e| e.call.name() == "sendto" && e.ok())
            .count() as u64;
        let received = ev
            .iter()
            .filter(|e| e.call.name() == "recvfrom" && e.ok())
            .count() as u64;
        let end = ev.iter().rfind(|e| e.call.name() == "recvfrom").unwrap();
        assert_eq!(
            end.result.name(),
            "EAGAIN",
            "the receiver drained its queue"
        );
        let k = end.kernel.as_ref().unwrap();
        assert_eq!(sent, 40);
        assert!(
            received > 0 && received < sent,
            "some were lost: {received}"
        );
        assert_eq!(k.drops, Some(sent - received), "per-socket drops");
        let delta = k.udp_rcvbuf_errors.unwrap();
        assert!(delta >= sent - received, "RcvbufErrors moved by {delta}");
        if delta == sent - received {
            assert!(k.udp_in_errors.unwrap() >= delta);
            return;
        }
        last = format!("sent {sent}, received {received}, RcvbufErrors +{delta}");
    }
    panic!("other UDP drops kept moving the global counter: {last}");
}

#[test]
fn the_kernel_doubles_so_rcvbuf_and_applies_a_floor() {
    let ev = events(&run("udp-loss"));
    let set = ev.iter().find(|e| e.call.name() == "setsockopt").unwrap();
    assert_eq!(set.kernel.as_ref().unwrap().rcvbuf, Some(8192));
    // The floor: asking for 1 byte gets far more.
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    s.set_recv_buffer_size(1).unwrap();
    assert!(s.recv_buffer_size().unwrap() > 2);
}

fn icmp_in_dest_unreachs() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/net/snmp").unwrap();
    let mut lines = text.lines().filter(|l| l.starts_with("Icmp:"));
    let names: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let values: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let i = names.iter().position(|n| *n == "InDestUnreachs").unwrap();
    values[i].parse().unwrap()
}

#[test]
fn udp_to_a_closed_port_is_refused_only_on_the_connected_socket() {
    let before = icmp_in_dest_unreachs();
    let ev = events(&run("udp-refused"));
    let after = icmp_in_dest_unreachs();
    let client: Vec<_> = of(&ev, "client");
    assert_eq!(client[2].call.name(), "send");
    assert_eq!(client[2].result.name(), "ok");
    assert_eq!(client[3].call.name(), "recv");
    assert_eq!(client[3].result.name(), "ECONNREFUSED");
    assert!(client[3].explain.as_deref().unwrap().contains("ICMP"));
    let sender: Vec<_> = of(&ev, "sender");
    assert_eq!(sender[1].result.name(), "ok");
    assert_eq!(sender[2].result.name(), "EAGAIN");
    // Both datagrams were answered with ICMP port unreachable (the counter is
    // machine-wide and only grows, so "at least" is exact enough).
    assert!(
        after - before >= 2,
        "InDestUnreachs rose by {}",
        after - before
    );
}

/// Nothing in the kernel view needs privileges: the same states come out for
/// an unprivileged user.
#[test]
fn the_kernel_view_works_unprivileged() {
    let probe = std::process::Command::new("setpriv")
        .arg("--version")
        .output();
    if probe.is_err() {
        sockscope_core::testing::skip("setpriv (util-linux) is not installed; .ci/run installs it");
        return;
    }
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_sockscope"))
        .args(["trace", "half-close", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let states: Vec<String> = json_lines(&out)
        .iter()
        .filter_map(|e| e["tcp_state"].as_str().map(str::to_string))
        .collect();
    for s in [
        "LISTEN",
        "ESTABLISHED",
        "FIN_WAIT2",
        "CLOSE_WAIT",
        "TIME_WAIT",
    ] {
        assert!(states.iter().any(|x| x == s), "{s} in {states:?}");
    }
}

#[test]
fn ss_durations_parse() {
    for (text, secs) in [
        ("59sec", 59.0),
        ("1min", 60.0),
        ("1min2sec", 62.0),
        ("200ms", 0.2),
    ] {
        assert!((ss_duration(text) - secs).abs() < 1e-9, "{text}");
    }
}

/// half-close.toml step 16: "The kernel still holds the connection in
/// TIME_WAIT, with N seconds left on its timer." At one moment the
/// narration, the kernel panel and `ss -o` read right after all say the
/// same whole number of seconds (rounded down, as ss prints it). The
/// moment is 1.3 s after the close, when the panel has been read again (as
/// the TUI does every second), so the timer is between two whole seconds.
/// (The narration said 46 while the panel said 47, a second or two ahead of
/// ss.)
#[test]
fn the_time_wait_countdown_is_one_number_in_narration_panel_and_ss() {
    use sockscope_tui::app::Feed;
    use sockscope_tui::shell::Msg;
    if !ss_available() {
        sockscope_core::testing::skip("ss (iproute2) is not installed; .ci/run installs it");
        return;
    }
    let lesson = lesson::builtin("half-close").unwrap();
    let msgs = run("half-close");
    let close = events(&msgs)
        .into_iter()
        .find(|e| e.actor == "client" && e.call.name() == "close")
        .unwrap();
    let mut app = app_after("half-close", msgs);
    std::thread::sleep(Duration::from_millis(1300));
    // The panel's slow refresh, as the TUI makes it.
    let view = kernel::refresh(app.shown().kernel_to_refresh().expect("the panel is on"));
    let ss_lines = ss_tcp();
    app.update(Msg::Feed(Feed::Kernel(view.clone())));
    let ms = view["client:sock"].timer_ms.expect("the TIME_WAIT timer");

    // The narration of that moment: the same sentence over the same figures.
    let mut now = close.clone();
    if let Some(k) = now.kernel.as_mut() {
        k.timer_ms = Some(ms);
    }
    now.sockets = view;
    let said = lesson::narrate(&lesson.steps[close.step - 1].say, &now);

    let screen = screen(&app);
    let panel: u64 = screen
        .split("timewait ")
        .nth(1)
        .and_then(|rest| rest.split('s').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the panel shows the timer:\n{screen}"));
    assert!(
        said.contains(&format!("with {panel} seconds left")),
        "narration {said:?}, panel {panel}s, {ms} ms"
    );

    // Both ends: an earlier run's client may have had the same port, to
    // another server port, and its TIME_WAIT may still be listed.
    let local = close.local.clone().unwrap();
    let peer = close.peer.clone().unwrap();
    let line = ss_lines
        .into_iter()
        .find(|l| l.local == local && l.peer == peer && l.state == "TIME_WAIT")
        .expect("ss lists the TIME_WAIT connection");
    let (name, secs) = line.timer.expect("ss shows its timer");
    assert_eq!(name, "timewait");
    // ss prints whole seconds above 9 s, rounded down. It was read a moment
    // after the panel's figures: the same second, or one less if a second
    // ended in between; never a second more (the panel ran ahead before).
    let ss_n = secs.floor() as u64;
    assert!(
        panel == ss_n || panel == ss_n + 1,
        "panel {panel} s, ss {secs} s"
    );
}

/// half-close.toml step 14: after the server's close, the kernel lists the
/// connection as a TIME_WAIT record with no fd, while the client still holds
/// its fd (it reads EOF and closes at steps 15 and 16). The kernel panel says
/// both: the fd is still open (in CLOSE), the connection is a record without
/// one. (It showed `TIME_WAIT no fd` while fd 15 was open.)
#[tokio::test]
async fn a_time_wait_record_is_not_shown_as_fdless_while_the_lesson_holds_the_fd() {
    let (mut engine, mut ev) = step_by_hand("half-close", 1).await;
    while !ev
        .iter()
        .any(|e| e.actor == "server" && e.call.name() == "close" && e.sock == "conn")
    {
        step_once(&mut engine, &mut ev).await;
    }
    let fd = ev
        .iter()
        .find(|e| e.actor == "client" && e.call.name() == "socket")
        .and_then(|e| e.new_fd)
        .unwrap();
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("the client's fd is open");
    assert!(link.to_string_lossy().starts_with("socket:["), "{link:?}");
    // The server's FIN reaches the client's socket in the kernel's softirq;
    // on a loaded machine ksoftirqd may run it a moment after the server's
    // close returned, so the fd's state is read until it has (bounded).
    let mut info = sockscope_sys::tcp_info::tcp_info(fd).unwrap();
    for _ in 0..100 {
        if info.state == 7 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        info = sockscope_sys::tcp_info::tcp_info(fd).unwrap();
    }
    assert_eq!(info.state, 7, "the socket behind the fd is in CLOSE");
    // The close's event read the kernel's tables when close returned; if
    // the FIN was still waiting for ksoftirqd then, that reading rightly
    // said FIN_WAIT2. The next step (the client's recv of end-of-file)
    // reads them again, with the client's fd still open.
    let state_now = |ev: &[Event]| {
        ev.last().unwrap().sockets["client:sock"]
            .tcp_state
            .map(sockscope_core::event::TcpState::name)
    };
    if state_now(&ev) != Some("TIME_WAIT") {
        // The recv's event is read when it returns (at once: the FIN is in).
        while !ev
            .last()
            .is_some_and(|e| e.actor == "client" && e.call.name() == "recv")
        {
            step_once(&mut engine, &mut ev).await;
        }
    }
    let last = ev.last().unwrap();
    let v = &last.sockets["client:sock"];
    assert_eq!(
        (
            v.tcp_state.map(sockscope_core::event::TcpState::name),
            v.has_fd
        ),
        (Some("TIME_WAIT"), false)
    );
    assert!(v.fd_open);

    let app = app_after(
        "half-close",
        ev.iter()
            .map(|e| EngineMsg::Event(Box::new(e.clone())))
            .collect(),
    );
    let screen = screen(&app);
    let row = screen
        .lines()
        .find(|l| l.contains("client:sock") && l.contains("TIME_WAIT"))
        .unwrap_or_else(|| panic!("the client's row:\n{screen}"));
    assert!(row.contains("fd still open"), "{row}");
    drop(engine);
}
