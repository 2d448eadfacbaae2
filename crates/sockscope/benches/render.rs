//! Rendering budgets: one full frame of the `tcp` lesson mid-animation at
//! 200x50 into ratatui's TestBackend (budget 0.5 ms), and the bytes written to
//! a real terminal backend per animated frame at 120x40 (budget 4 KB, so the
//! animation stays smooth over SSH).
//!
//! The screen is built from a real run of the lesson (fds, ports and, as root,
//! captured packets all real), fed through the same `update()` the TUI uses,
//! and drawn as the TUI draws it: the shell's whole frame.
//!
//! The lecture hall's frame (budget 2 ms): the serve screen at 200x50 with a
//! real server holding 1,000 real connections, each of which has sent and
//! had echoed one line, the table of all 1,000 read from the server as the
//! screen's driver reads it.

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};
use sockscope_core::engine::Proto;
use sockscope_core::engine::serve::{ServeConfig, Server};
use sockscope_core::engine::{self, EngineConfig, EngineMsg, Pace};
use sockscope_core::lesson;
use sockscope_tui::app::{App, Feed, Machine};
use sockscope_tui::keys::KeyMap;
use sockscope_tui::serve::{Hall, ServeFeed, ServeView};
use sockscope_tui::shell::{Msg, Shell};
use sockscope_tui::theme::{Theme, ThemeColors, ThemeName, Themes};
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The `tcp` lesson run for real, and a lesson screen that has seen it up
/// to the client's connect (step 6): the handshake arrows are mid-flight.
fn app_mid_handshake(width: u16, height: u16) -> Shell<App> {
    let lesson = lesson::builtin("tcp").expect("tcp lesson");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = EngineConfig {
        port: 0,
        pace: Pace::RunToEnd,
        capture: true,
    };
    let (msgs, _wire) = rt.block_on(engine::run_to_end_with(lesson.clone(), config));
    let theme = Theme::from(&ThemeColors::builtin(ThemeName::Dark));
    let mut app = Shell::new(
        App::new(lesson, lesson::builtins(), Machine::read()),
        Themes::only(theme),
    );
    app.update(Msg::Resize(width, height));
    for m in msgs {
        let connect = matches!(&m, EngineMsg::Event(e) if e.step == 6);
        app.update(Msg::Feed(Feed::Engine(m)));
        if connect {
            break;
        }
    }
    // A few frames in: arrows part-way across.
    for _ in 0..3 {
        app.update(Msg::Tick);
    }
    assert!(app.animating(), "the handshake is animating");
    app
}

/// A writer that only counts what a terminal would have received.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.fetch_add(buf.len(), Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes per frame while the handshake animates, after the first full draw.
fn bytes_per_animated_frame() -> (usize, usize, usize) {
    let mut app = app_mid_handshake(120, 40);
    let counter = Counting::default();
    let mut terminal = Terminal::new(CrosstermBackend::new(counter.clone())).expect("terminal");
    terminal
        .resize(ratatui::layout::Rect::new(0, 0, 120, 40))
        .expect("resize");
    terminal.draw(|f| app.draw(f)).expect("draw");
    let mut per_frame = Vec::new();
    while app.animating() {
        app.update(Msg::Tick);
        let before = counter.0.load(Ordering::Relaxed);
        terminal.draw(|f| app.draw(f)).expect("draw");
        per_frame.push(counter.0.load(Ordering::Relaxed) - before);
    }
    let frames = per_frame.len();
    let max = per_frame.iter().copied().max().unwrap_or(0);
    let mean = per_frame.iter().sum::<usize>() / frames.max(1);
    (frames, mean, max)
}

/// A real echo server with `n` real peers connected, each having sent one
/// line and read its echo; the serve screen fed every event and one read of
/// the server's counts and peers. The peers stay connected while the screen
/// is drawn (they are returned to be kept alive).
fn hall_screen(
    n: usize,
) -> (
    Shell<ServeView>,
    Vec<std::net::TcpStream>,
    Server,
    tokio::runtime::Runtime,
) {
    use std::io::Read;
    // Both ends of every connection are in this process.
    let limit = sockscope_sys::raise_open_files(2 * n as u64 + 256).expect("setrlimit");
    assert!(
        limit >= 2 * n as u64 + 64,
        "this process may open only {limit} files: raise the hard limit (ulimit -Hn)"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let config = ServeConfig {
        max_peers: n + 24,
        ..ServeConfig::default()
    };
    let mut server = Server::start(config);
    let local = server.local_addr().expect("the server listens");
    let mut view = ServeView::new(Proto::Tcp, local, local);
    view.keys = KeyMap::default();
    let mut shell = Shell::new(view, Themes::default());
    shell.update(Msg::Resize(200, 50));
    let mut peers = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = std::net::TcpStream::connect(local).expect("connect");
        s.write_all(format!("hello {i}\n").as_bytes())
            .expect("send");
        let mut b = vec![0u8; format!("hello {i}\n").len()];
        s.read_exact(&mut b).expect("echo");
        peers.push(s);
        while let Some(m) = server.try_next() {
            shell.update(Msg::Feed(ServeFeed::Server(m)));
        }
    }
    shell.update(Msg::Feed(ServeFeed::Hall(Box::new(Hall {
        stats: server.stats(),
        peers: server.peers(),
        read_at: std::time::Instant::now(),
    }))));
    assert_eq!(shell.screen.table_rows(), n, "every peer in the table");
    (shell, peers, server, rt)
}

fn render(c: &mut Criterion) {
    {
        let (shell, _peers, _server, _rt) = hall_screen(1000);
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
        c.bench_function("render/serve_1000_peers_200x50", |b| {
            b.iter(|| {
                terminal.draw(|f| shell.draw(f)).expect("draw");
            });
        });
    }
    let app = app_mid_handshake(200, 50);
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    c.bench_function("render/tcp_mid_animation_200x50", |b| {
        b.iter(|| {
            terminal.draw(|f| app.draw(f)).expect("draw");
        });
    });
    let (frames, mean, max) = bytes_per_animated_frame();
    println!(
        "bytes per animated frame at 120x40 ({frames} frames of the handshake): mean {mean} B, max {max} B; budget 4096 B"
    );
}

criterion_group!(benches, render);
criterion_main!(benches);
