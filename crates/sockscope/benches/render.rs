//! Rendering budgets: one full frame of the `tcp` lesson mid-animation at
//! 200x50 into ratatui's TestBackend (budget 0.5 ms), and the bytes written to
//! a real terminal backend per animated frame at 120x40 (budget 4 KB, so the
//! animation stays smooth over SSH).
//!
//! The screen is built from a real run of the lesson (fds, ports and, as root,
//! captured packets all real), fed through the same `update()` the TUI uses,
//! and drawn as the TUI draws it: the shell's whole frame.

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};
use sockscope_core::engine::{self, EngineConfig, EngineMsg, Pace};
use sockscope_core::lesson;
use sockscope_tui::app::{App, Feed, Machine};
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

fn render(c: &mut Criterion) {
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
