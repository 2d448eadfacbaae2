//! Recorded runs of the `tcp` and `udp` lessons, for tests that need the same
//! screen on every run (fds, ports and times differ between real runs).
//!
//! The files in `src/tui/fixtures/` were recorded from real runs on loopback,
//! with packet capture (as root), by the ignored test `record_fixtures`
//! (`cargo test --lib record_fixtures -- --ignored` rewrites them). Nothing
//! here is invented: each line is an [`EngineMsg`] the engine really
//! produced. [`without_capture`] turns a recording into what the same run
//! reports without capture privilege (`segments` not observed).

use serde::{Deserialize, Serialize};
use sockscope_core::engine::{EngineMsg, Event, Waiting};

/// One recorded engine message, as a line of JSON.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Recorded {
    Waiting(Waiting),
    Event(Box<Event>),
    Finished,
}

const TCP: &str = include_str!("fixtures/tcp.jsonl");
/// A `tcp` run recorded with the bytes of its packets: the events, and the
/// pcap the same run wrote (events carry packet numbers, not bytes).
const WIRE_TCP: &str = include_str!("fixtures/wire_tcp.jsonl");
const WIRE_TCP_PCAP: &[u8] = include_bytes!("fixtures/wire_tcp.pcap");
const UDP: &str = include_str!("fixtures/udp.jsonl");

fn parse(text: &str) -> Vec<EngineMsg> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(
            |l| match serde_json::from_str(l).expect("fixture line parses") {
                Recorded::Waiting(w) => EngineMsg::Waiting(w),
                Recorded::Event(e) => EngineMsg::Event(e),
                Recorded::Finished => EngineMsg::Finished,
            },
        )
        .collect()
}

/// Every message of a recorded `tcp` run, in order.
pub fn tcp() -> Vec<EngineMsg> {
    parse(TCP)
}

/// Every message of a recorded `tcp` run whose segments carry their frames,
/// read back from the pcap recorded with it: what the packet pane decodes.
pub fn tcp_with_frames() -> Vec<EngineMsg> {
    let mut reader =
        pcap_file::pcap::PcapReader::new(WIRE_TCP_PCAP).expect("fixture pcap has a header");
    let mut frames = Vec::new();
    while let Some(p) = reader.next_packet() {
        let p = p.expect("fixture pcap packet");
        frames.push(sockscope_core::wire::Frame {
            n: frames.len() as u64 + 1,
            time: p.timestamp,
            data: p.data.into_owned(),
            orig_len: p.orig_len,
        });
    }
    parse(WIRE_TCP)
        .into_iter()
        .map(|m| match m {
            EngineMsg::Event(mut e) => {
                for s in e.segments.iter_mut().flatten() {
                    s.frame = frames[s.n as usize - 1].clone();
                }
                EngineMsg::Event(e)
            }
            other => other,
        })
        .collect()
}

const HALF_CLOSE: &str = include_str!("fixtures/half_close.jsonl");

/// Every message of a recorded `half-close` run (without capture), whose
/// events carry the kernel view: TCP states, queues, the TIME_WAIT timer.
pub fn half_close() -> Vec<EngineMsg> {
    parse(HALF_CLOSE)
}

/// Every message of a recorded `udp` run, in order.
pub fn udp() -> Vec<EngineMsg> {
    parse(UDP)
}

/// The same messages as a run without capture privilege reports them:
/// every event's `segments` is `None` (not observed).
pub fn without_capture(msgs: Vec<EngineMsg>) -> Vec<EngineMsg> {
    msgs.into_iter()
        .map(|m| match m {
            EngineMsg::Event(mut e) => {
                e.segments = None;
                EngineMsg::Event(e)
            }
            other => other,
        })
        .collect()
}

const PORT_80_NOBODY: &str = include_str!("fixtures/port_80_nobody.json");

/// `sockscope port 80 --format json`, recorded on a real machine as the user
/// nobody (so both binds answered EACCES), for the port panel's snapshots.
pub fn port_80_nobody() -> sockscope_core::ports::PortReport {
    serde_json::from_str(PORT_80_NOBODY).expect("port fixture parses")
}

pub fn tcp_events() -> Vec<Event> {
    sockscope_core::engine::events(&tcp())
        .into_iter()
        .cloned()
        .collect()
}

pub fn udp_events() -> Vec<Event> {
    sockscope_core::engine::events(&udp())
        .into_iter()
        .cloned()
        .collect()
}

/// A lesson screen in its shell, on the built-in lesson `name`, for the
/// screen's tests.
#[cfg(test)]
pub fn app(name: &str) -> crate::shell::Shell<crate::app::App> {
    crate::shell::Shell::new(
        crate::app::App::new(
            sockscope_core::lesson::builtin(name).unwrap(),
            sockscope_core::lesson::builtins(),
            crate::render_tests::MACHINE,
        ),
        crate::theme::Themes::default(),
    )
}

/// Feed the recorded messages to `app` up to and including step `n`'s.
#[cfg(test)]
pub fn run_to(app: &mut crate::shell::Shell<crate::app::App>, msgs: &[EngineMsg], n: usize) {
    for m in msgs {
        let step = match m {
            EngineMsg::Waiting(w) => w.step,
            EngineMsg::Event(e) => e.step,
            _ => usize::MAX,
        };
        if step > n && app.screen.latest >= n {
            break;
        }
        app.update(crate::shell::Msg::Feed(crate::app::Feed::Engine(m.clone())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockscope_core::lesson;

    /// Run `name` for real and write every message it reported to
    /// `src/tui/fixtures/{file}.jsonl`, one JSON line each; return the capture.
    fn record(name: &str, capture: bool, file: &str) -> sockscope_core::wire::Wire {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = sockscope_core::engine::EngineConfig {
            port: 0,
            pace: sockscope_core::engine::Pace::RunToEnd,
            capture,
        };
        let (msgs, wire) = rt.block_on(sockscope_core::engine::run_to_end_with(
            lesson::builtin(name).unwrap(),
            config,
        ));
        if capture {
            assert!(wire.status().running(), "capture: {:?}", wire.status());
        }
        let mut out = String::new();
        for m in msgs {
            let rec = match m {
                EngineMsg::Waiting(w) => Recorded::Waiting(w),
                EngineMsg::Event(e) => Recorded::Event(e),
                EngineMsg::Finished => Recorded::Finished,
                EngineMsg::Failed(e) => panic!("{name} failed: {e}"),
            };
            out.push_str(&serde_json::to_string(&rec).unwrap());
            out.push('\n');
        }
        std::fs::write(format!("{}/{file}.jsonl", fixtures_dir()), out).unwrap();
        wire
    }

    fn fixtures_dir() -> String {
        format!("{}/src/fixtures", env!("CARGO_MANIFEST_DIR"))
    }

    /// Regenerate the fixtures from real runs. Captured, so the fixtures
    /// carry the real segments; tests strip them to see the screen of a run
    /// without capture privilege.
    #[test]
    #[ignore = "rewrites src/tui/fixtures/*.jsonl from a real run"]
    fn record_fixtures() {
        for name in ["tcp", "udp"] {
            record(name, true, name);
        }
    }

    /// Regenerate the kernel panel's fixture from a real run.
    #[test]
    #[ignore = "rewrites src/tui/fixtures/half_close.jsonl from a real run"]
    fn record_kernel_fixture() {
        record("half-close", false, "half_close");
    }

    /// Regenerate the packet pane's fixture (events and pcap) from a real run.
    #[test]
    #[ignore = "rewrites src/tui/fixtures/wire_tcp.* from a real run (as root)"]
    fn record_wire_fixture() {
        let wire = record("tcp", true, "wire_tcp");
        let pcap = format!("{}/wire_tcp.pcap", fixtures_dir());
        wire.write_pcap(std::path::Path::new(&pcap)).unwrap();
    }

    #[test]
    fn the_packet_fixture_carries_every_frame() {
        let events: Vec<Event> = sockscope_core::engine::events(&tcp_with_frames())
            .into_iter()
            .cloned()
            .collect();
        let segs: Vec<_> = events
            .iter()
            .flat_map(|e| e.segments.iter().flatten())
            .collect();
        assert!(segs.len() >= 20);
        for s in segs {
            let d = sockscope_core::wire::decode::decode(&s.frame.data);
            assert_eq!(d.payload.len(), s.len, "packet {}", s.n);
        }
    }

    #[test]
    fn fixtures_are_complete_runs() {
        for msgs in [tcp(), udp()] {
            assert!(matches!(msgs.last(), Some(EngineMsg::Finished)));
        }
        assert_eq!(tcp_events().len(), 22);
        assert_eq!(udp_events().len(), 7);
        let connect = tcp_events()
            .into_iter()
            .find(|e| e.call == sockscope_core::engine::Call::Connect);
        let segs = connect
            .and_then(|e| e.segments)
            .expect("recorded with capture");
        assert_eq!(segs.len(), 3, "the handshake was captured");
    }
}
