//! The lesson screen in the shell: [`App`] as a [`Screen`], and the
//! [`LessonDriver`] that owns the engine running the lesson's real sockets.
//!
//! The driver is where the lesson's effects meet the world: it releases
//! calls, changes the pace, restarts the engine (dropping the old one closes
//! every socket it opened), writes pcap files, asks the kernel again, and
//! tries a real bind for the port panel. Each answer comes back as a
//! message, so the state still changes only in `update`.

use crate::Options;
use crate::app::{App, Feed, LessonEffect, Machine};
use crate::keys::{Action, KeyMap, ScreenKind};
use crate::shell::run::{self, Driver, Outcome};
use crate::shell::term::{self, TerminalGuard};
use crate::shell::{Effect, Handout, Msg, Screen, Shell};
use crate::theme::{Glyphs, Theme, Themes};
use crate::widgets::text::Text;
use ratatui::Frame;
use ratatui::layout::Rect;
use sockscope_core::engine::{Engine, EngineConfig, Pace};
use sockscope_core::lesson::Lesson;
use sockscope_core::wire::{CaptureStatus, Wire};
use std::collections::VecDeque;
use std::time::Duration;

/// How often the kernel panel is read again while the lesson waits between
/// calls (TIME_WAIT counts down in real seconds). Twice a second, so the
/// countdown it draws is never more than half a second behind `ss -o`.
pub const KERNEL_REFRESH: Duration = Duration::from_millis(500);

impl Screen for App {
    const KIND: ScreenKind = ScreenKind::Lesson;
    const MIN_SIZE: (u16, u16) = (crate::ui::MIN_WIDTH, crate::ui::MIN_HEIGHT);
    type Feed = Feed;
    type Effect = LessonEffect;

    fn update(&mut self, msg: Msg<Feed>) -> Effect<LessonEffect> {
        App::update(self, msg)
    }

    fn mouse(&mut self, m: crossterm::event::MouseEvent, size: (u16, u16)) -> Effect<LessonEffect> {
        on_mouse(self, m, size)
    }

    fn render(frame: &mut Frame, area: Rect, shell: &Shell<App>, theme: &Theme) {
        crate::ui::render(frame, area, shell, theme);
    }

    fn keys(&self) -> &KeyMap {
        &self.keys
    }

    /// A click on the key bar presses its item's key; a click on a panel
    /// focuses it, through the key that does: the narration opens whole
    /// (to scroll, as `m` does), the port panel asks for a port to explain.
    /// Everything stays reachable by keyboard; a click on a call in the
    /// lanes reviews it (`on_mouse`).
    fn key_at(
        &self,
        size: (u16, u16),
        column: u16,
        row: u16,
    ) -> Option<crossterm::event::KeyEvent> {
        let areas = crate::ui::layout(Rect::new(0, 0, size.0, size.1))?;
        if row == areas.keybar.y {
            return crate::ui::keybar::key_at(self, areas.keybar.width, column);
        }
        let at = ratatui::layout::Position::new(column, row);
        let action = if areas.narration.contains(at) {
            Action::Narration
        } else if areas.ports.contains(at) && self.port.typing.is_none() {
            Action::Port
        } else {
            return None;
        };
        let code = *self.keys.keys(action).first()?;
        Some(crossterm::event::KeyEvent::new(
            code,
            crossterm::event::KeyModifiers::NONE,
        ))
    }

    fn notice(&mut self) -> &mut Option<String> {
        &mut self.notice
    }

    fn legend(&self, g: &Glyphs) -> Vec<(String, String)> {
        let marks = [
            (
                format!("{0}{0}{1}", g.wire_captured, g.head_right),
                "a packet captured on lo in this run",
            ),
            (
                format!("{0}{0}{1}", g.wire_expected, g.head_right),
                "expected: what the protocol sends, not captured",
            ),
            (
                g.ok.to_string(),
                "the claims held against the kernel, this run",
            ),
            (
                g.fail.to_string(),
                "a call failed: the errno is the kernel's answer",
            ),
            (
                g.waiting.to_string(),
                "the call is waiting in the kernel for a peer",
            ),
        ];
        let mut rows: Vec<(String, String)> =
            marks.into_iter().map(|(m, s)| (m, s.to_string())).collect();
        if self.mouse {
            rows.push((
                "click".to_string(),
                "a call in the lanes reviews its step; the wheel steps back and forward"
                    .to_string(),
            ));
        }
        rows.push((
            format!("{} more", g.down),
            format!(
                "the text goes on beyond the panel: {} shows the narration whole",
                self.keys.first(Action::Narration)
            ),
        ));
        rows
    }

    fn handout(&self) -> Handout {
        Handout {
            stem: self.lesson.name.clone(),
            markdown: sockscope_report::handout::render(&self.lesson, &self.handout_msgs()),
        }
    }

    fn text(&self, theme: &Theme) -> Option<Text<'_>> {
        let (title, lines) = crate::ui::narration::content(self, theme);
        Some(Text { title, lines })
    }

    fn animating(&self) -> bool {
        App::animating(self)
    }

    fn every(&self) -> Option<(Duration, LessonEffect)> {
        self.kernel_to_refresh()
            .map(|_| (KERNEL_REFRESH, LessonEffect::RefreshKernel))
    }

    fn typing(&self) -> bool {
        self.port.typing.is_some()
    }

    fn modal(&self) -> bool {
        self.picker.is_some()
    }

    fn still(&self) -> App {
        let mut still = self.clone();
        // Show arrows arrived, not caught mid-flight.
        still.anim = None;
        still
    }
}

/// The engine running the lesson, and what the screen has been told of it.
pub struct LessonDriver {
    engine: Engine,
    /// The port `$port` stands for in lessons; 0 lets the kernel choose.
    port: u16,
    /// The engine has sent its last message.
    ended: bool,
    /// Whether the run captures, as last told to the screen.
    capture: CaptureStatus,
    /// Messages to hand over before the engine's next.
    pending: VecDeque<Feed>,
}

impl LessonDriver {
    /// Start `lesson` at `pace`; the screen hears first whether it captures.
    #[must_use]
    pub fn start(lesson: Lesson, port: u16, pace: Pace) -> LessonDriver {
        let engine = Engine::start(lesson, config(port, pace));
        let capture = engine.wire().status();
        LessonDriver {
            engine,
            port,
            ended: false,
            pending: VecDeque::from([Feed::Capture(capture.clone())]),
            capture,
        }
    }

    /// An engine message for the screen; if capture has stopped since (it
    /// can fail mid-run), the screen hears that right after.
    fn engine_said(&mut self, m: sockscope_core::engine::EngineMsg) -> Feed {
        let status = self.engine.wire().status();
        if status != self.capture {
            self.pending.push_back(Feed::Capture(status.clone()));
            self.capture = status;
        }
        Feed::Engine(m)
    }
}

fn config(port: u16, pace: Pace) -> EngineConfig {
    EngineConfig {
        port,
        pace,
        // Capture when the process may; without privilege the run goes on
        // and the arrows say "expected".
        capture: true,
    }
}

impl Driver<App> for LessonDriver {
    async fn next(&mut self) -> Feed {
        if let Some(f) = self.pending.pop_front() {
            return f;
        }
        if !self.ended {
            match self.engine.next().await {
                Some(m) => return self.engine_said(m),
                None => self.ended = true,
            }
        }
        // The run is over; the screen stays until the presenter restarts
        // or quits.
        std::future::pending().await
    }

    fn try_next(&mut self) -> Option<Feed> {
        if let Some(f) = self.pending.pop_front() {
            return Some(f);
        }
        let m = self.engine.try_next()?;
        Some(self.engine_said(m))
    }

    fn perform(&mut self, effect: LessonEffect, app: &App) -> Option<Msg<Feed>> {
        match effect {
            LessonEffect::Step => self.engine.step(),
            LessonEffect::Pace(p) => self.engine.set_pace(p),
            LessonEffect::Restart(lesson) => {
                // Dropping the old engine closes every socket it opened.
                *self = LessonDriver::start(*lesson, self.port, app.pace());
            }
            LessonEffect::SavePcap => {
                return Some(Msg::Notice(save_pcap(
                    &self.engine.wire(),
                    &app.lesson.name,
                )));
            }
            LessonEffect::ExplainPort(port) => {
                // A real bind on 127.0.0.1, released within microseconds. It
                // runs here, on the loop's only thread, so it never races a
                // lesson's own bind: the engine's actors wait meanwhile.
                let report = sockscope_core::ports::explain(port);
                return Some(Msg::Feed(Feed::Port(Box::new(report))));
            }
            LessonEffect::SaveProgress { finished } => {
                let path = app.progress_file.as_deref()?;
                let done = app
                    .progress
                    .count_of(app.lessons.iter().map(|l| l.name.as_str()));
                return match crate::progress::save(&app.progress, path) {
                    Ok(()) if finished => Some(Msg::Notice(format!(
                        "Lesson finished: {done} of {} done (kept in {}; L lists them)",
                        app.lessons.len(),
                        path.display()
                    ))),
                    // A right answer: the narration says so already.
                    Ok(()) => None,
                    Err(e) => Some(Msg::Notice(format!(
                        "Progress not saved to {}: {e}",
                        path.display()
                    ))),
                };
            }
            LessonEffect::RefreshKernel => {
                let view = app.kernel_to_refresh()?;
                return Some(Msg::Feed(Feed::Kernel(sockscope_core::kernel::refresh(
                    view,
                ))));
            }
        }
        None
    }
}

/// `w`: write the run's captured packets to a new pcap file in the current
/// directory, and say where (or why not) on the notice line.
fn save_pcap(wire: &Wire, lesson: &str) -> String {
    if let Some(why) = wire.status().notice() {
        return format!("No pcap written: {why}");
    }
    // A new file in the current folder (the empty path: names relative to
    // it), never an existing one, under a name the lesson's name cannot
    // steer out of the folder.
    match sockscope_report::files::save_pcap(std::path::Path::new(""), lesson, &wire.frames()) {
        Ok((path, n)) => format!(
            "Wrote {n} packets to {} (open it with tcpdump -r or Wireshark)",
            path.display()
        ),
        Err(e) => format!("Could not write a pcap in the current folder: {e}"),
    }
}

/// A click on a call in the lanes reviews its step; the wheel over the
/// lanes steps back through the review and forward again. Where a click
/// lands is read from the layout the screen draws at its size (the same
/// geometry as [`crate::ui::lanes::render`]); everything the mouse does, a
/// key does too.
fn on_mouse(
    app: &mut App,
    m: crossterm::event::MouseEvent,
    size: (u16, u16),
) -> Effect<LessonEffect> {
    use crossterm::event::{MouseButton, MouseEventKind};
    let screen = Rect::new(0, 0, size.0, size.1);
    let Some(areas) = crate::ui::layout(screen) else {
        return Effect::None;
    };
    let over_lanes = areas
        .lanes
        .contains(ratatui::layout::Position::new(m.column, m.row));
    // The packet pane, open over the lanes: the wheel goes through the
    // packets as the arrow keys do.
    if app.packet.is_some() && over_lanes {
        return match m.kind {
            MouseEventKind::ScrollUp => app.move_packet(-1),
            MouseEventKind::ScrollDown => app.move_packet(1),
            _ => Effect::None,
        };
    }
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            match crate::ui::lanes::step_at(areas.lanes, app, m.column, m.row) {
                Some(step) => app.review_step(step),
                None => Effect::None,
            }
        }
        MouseEventKind::ScrollUp if over_lanes => app.wheel(true),
        MouseEventKind::ScrollDown if over_lanes => app.wheel(false),
        _ => Effect::None,
    }
}

/// The lesson screen for `lesson`, set up as `options` say, before its
/// first frame.
#[must_use]
pub fn shell(
    lesson: Lesson,
    lessons: Vec<Lesson>,
    options: &Options,
    themes: Themes,
) -> Shell<App> {
    let mut app = App::new(lesson, lessons, Machine::read());
    app.keys = options.keys.clone();
    app.autoplay_base = options.autoplay;
    app.network = options.network;
    app.mouse = options.mouse;
    app.study = options.study;
    app.code_lang = options.code;
    app.code_start = options.code;
    if let Some(path) = &options.progress_file {
        // A file that cannot be read starts the session with none, and
        // is not overwritten: the first finished lesson says why.
        match crate::progress::load(path) {
            Ok(p) => {
                app.progress = p;
                app.progress_file = Some(path.clone());
            }
            Err(e) => app.notice = Some(format!("Progress not kept: {e}")),
        }
    }
    let mut shell = Shell::new(app, themes);
    shell.present = options.present;
    shell
}

/// Run the TUI on `lesson` until the presenter quits or a signal arrives.
pub fn run(lesson: Lesson, lessons: Vec<Lesson>, options: Options) -> color_eyre::Result<Outcome> {
    term::check_terminal()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    term::install_panic_hook();
    let themes = Themes::from_env(options.theme, &options.colors, options.ascii);
    let mut shell = shell(lesson, lessons, &options, themes);
    let mut guard = TerminalGuard::enter(options.mouse)?;
    let outcome = runtime.block_on(async {
        // The engine's tasks need the runtime: start it inside.
        let mut driver = LessonDriver::start(
            shell.screen.lesson.clone(),
            options.port,
            shell.screen.pace(),
        );
        run::run(&mut guard, &mut shell, &mut driver).await
    });
    drop(guard);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    type TestShell = Shell<App>;
    type Effect = crate::app::Effect;

    fn update(a: &mut TestShell, msg: Msg<Feed>) -> Effect {
        a.update(msg)
    }

    fn key(c: KeyCode) -> Msg<Feed> {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    use crate::fixtures::{app, run_to};

    fn click(column: u16, row: u16) -> Msg<Feed> {
        Msg::Mouse(crossterm::event::MouseEvent {
            kind: crossterm::event::MouseEventKind::Down(crossterm::event::MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    }

    fn wheel(up: bool, column: u16, row: u16) -> Msg<Feed> {
        use crossterm::event::MouseEventKind::{ScrollDown, ScrollUp};
        Msg::Mouse(crossterm::event::MouseEvent {
            kind: if up { ScrollUp } else { ScrollDown },
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    }

    /// Where the lanes draw the call of `step`: the row a click reviews.
    fn row_of(a: &TestShell, step: usize) -> (u16, u16) {
        let areas = crate::ui::layout(ratatui::layout::Rect::new(0, 0, 120, 40)).unwrap();
        for y in areas.lanes.y..areas.lanes.bottom() {
            let x = areas.lanes.x + 3;
            if crate::ui::lanes::step_at(areas.lanes, &a.screen, x, y) == Some(step) {
                return (x, y);
            }
        }
        let seen: Vec<_> = (areas.lanes.y..areas.lanes.bottom())
            .map(|y| crate::ui::lanes::step_at(areas.lanes, &a.screen, areas.lanes.x + 3, y))
            .collect();
        panic!("step {step} is not drawn: {:?} {seen:?}", areas.lanes);
    }

    /// The column where the key bar at 120x40 draws `text`.
    fn keybar_column(a: &TestShell, text: &str) -> (u16, u16) {
        let t = crate::render_tests::draw_shell(a, 120, 40);
        let row = 39;
        let line: String = (0..120)
            .map(|x| t.backend().buffer()[(x, row)].symbol().to_string())
            .collect();
        let at = line
            .find(text)
            .unwrap_or_else(|| panic!("{text:?} not in {line:?}"));
        (line[..at].chars().count() as u16, row)
    }

    /// The wheel over the packet pane goes through the packets.
    #[test]
    fn the_wheel_over_the_packet_pane_moves_through_the_packets() {
        let mut a = app("tcp");
        update(&mut a, Msg::Resize(120, 40));
        run_to(&mut a, &crate::fixtures::tcp(), 6);
        update(&mut a, key(KeyCode::Char('x')));
        let first = a.screen.packet.expect("the pane opened on a packet");
        let areas = crate::ui::layout(ratatui::layout::Rect::new(0, 0, 120, 40)).unwrap();
        update(&mut a, wheel(true, areas.lanes.x + 5, areas.lanes.y + 2));
        let before = a.screen.packet.unwrap();
        assert!(before < first, "{before} after {first}");
        update(&mut a, wheel(false, areas.lanes.x + 5, areas.lanes.y + 2));
        assert_eq!(a.screen.packet, Some(first));
    }

    /// A click on an item of the key bar presses its key: Space runs the
    /// next call, `? help` opens the help through the shell's layers.
    #[test]
    fn a_click_on_the_key_bar_presses_that_key() {
        let mut a = app("tcp");
        update(&mut a, Msg::Resize(120, 40));
        let (x, y) = keybar_column(&a, "Space next call");
        assert_eq!(
            update(&mut a, click(x + 2, y)),
            Effect::Screen(LessonEffect::Step)
        );
        let (x, y) = keybar_column(&a, "? help");
        update(&mut a, click(x, y));
        assert_eq!(a.window, Some(crate::shell::Window::Help));
        // The wheel over the window scrolls it, as ↓ does.
        let top = a.scroll;
        update(&mut a, wheel(false, 60, 20));
        assert!(a.scroll > top, "{} then {}", top, a.scroll);
        // The gap between two items is nothing.
        let mut b = app("tcp");
        update(&mut b, Msg::Resize(120, 40));
        let (x, y) = keybar_column(&b, "Space next call");
        assert_eq!(update(&mut b, click(x + 16, y)), Effect::None);
    }

    #[test]
    fn a_click_on_a_panel_focuses_it() {
        let mut a = app("tcp");
        update(&mut a, Msg::Resize(120, 40));
        run_to(&mut a, &fixtures::tcp(), 3);
        let areas = crate::ui::layout(Rect::new(0, 0, 120, 40)).unwrap();
        // The narration: opened whole, to scroll; Esc closes it.
        update(&mut a, click(areas.narration.x + 4, areas.narration.y + 1));
        assert_eq!(a.window, Some(crate::shell::Window::Text));
        update(
            &mut a,
            Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
        );
        assert_eq!(a.window, None);
        // The port panel: asks for a port to explain.
        update(&mut a, click(areas.ports.x + 4, areas.ports.y + 1));
        assert!(a.screen.port.typing.is_some());
        // The layer diagram is not a thing to focus: nothing happens.
        let mut b = app("tcp");
        update(&mut b, Msg::Resize(120, 40));
        assert_eq!(
            update(&mut b, click(areas.layers.x + 4, areas.layers.y + 1)),
            Effect::None
        );
        assert_eq!((b.window, b.screen.port.typing.is_some()), (None, false));
    }

    #[test]
    fn a_click_on_a_call_reviews_its_step_and_the_wheel_steps_through_the_review() {
        let mut a = app("tcp");
        update(&mut a, Msg::Resize(120, 40));
        run_to(&mut a, &fixtures::tcp(), 9);
        let (x, y) = row_of(&a, 7);
        assert_eq!(update(&mut a, click(x, y)), Effect::None);
        assert_eq!(a.screen.review, Some(7));
        assert_eq!(a.screen.focus(), 7);
        // The wheel: back one step, forward one, and past now nothing runs.
        update(&mut a, wheel(true, x, y));
        assert_eq!(a.screen.review, Some(6));
        update(&mut a, wheel(false, x, y));
        assert_eq!(a.screen.review, Some(7));
        for _ in 0..10 {
            assert_eq!(
                update(&mut a, wheel(false, x, y)),
                Effect::None,
                "the wheel never runs a call"
            );
        }
        assert_eq!(a.screen.review, None);
        // A click off the lanes (the title bar) does nothing.
        update(&mut a, click(1, 0));
        assert_eq!(a.screen.review, None);
        // Nor on a window: the help is open over the lanes.
        update(&mut a, key(KeyCode::Char('?')));
        update(&mut a, click(x, y));
        assert_eq!(a.screen.review, None);
    }
}
