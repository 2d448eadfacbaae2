//! Snapshots of whole screens at key moments of the `tcp` and `udp` lessons,
//! at three sizes and in every theme, rendered with ratatui's TestBackend
//! from recorded runs (so they are the same on every machine).
//! A separate test renders a real run and checks its real values appear.

use super::app::{App, Feed, LessonEffect, Machine, update};
use super::fixtures;
use super::keys::ScreenKind;
use super::shell::{Effect, Msg, Shell, Window};
use super::theme::{Theme, ThemeColors, ThemeName, Themes};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sockscope_core::engine::EngineMsg;
use sockscope_core::lesson;

/// A fixed machine, so the port bar does not depend on where tests run.
pub const MACHINE: Machine = Machine {
    unprivileged_port_start: Some(1024),
    ephemeral_range: Some((32768, 60999)),
    reserved_ports: Vec::new(),
    uid: Some(0),
    cap_net_bind_service: Some(true),
};

/// The app after the recorded run's messages up to step `step`, with every
/// arrow arrived (no animation in flight).
pub fn app_at(name: &str, step: usize) -> App {
    app_from(name, recorded(name), step)
}

/// The recorded run of `name`, with its captured segments.
fn recorded(name: &str) -> Vec<EngineMsg> {
    match name {
        "tcp" => fixtures::tcp(),
        _ => fixtures::udp(),
    }
}

/// The app after replaying `msgs` (a recorded run of lesson `name`) up to
/// step `step`, with every arrow arrived. Shared by the panel test modules.
pub fn app_from(name: &str, msgs: Vec<EngineMsg>, step: usize) -> App {
    let mut app = App::new(lesson::builtin(name).unwrap(), lesson::builtins(), MACHINE);
    for m in msgs {
        let s = match &m {
            EngineMsg::Waiting(w) => w.step,
            EngineMsg::Event(e) => e.step,
            _ => usize::MAX,
        };
        if s > step && app.latest >= step {
            break;
        }
        update(&mut app, Msg::Feed(Feed::Engine(m)));
    }
    while app.animating() {
        update(&mut app, Msg::Tick);
    }
    app
}

/// The lesson screen `app` in a shell that draws with `theme` (presenting
/// or not), as the TUI draws it.
pub fn shell(app: App, theme: &Theme) -> Shell<App> {
    Shell::new(app, Themes::only(theme.clone()))
}

/// The whole frame of `app` (no window, not presenting) in `theme`.
pub fn draw(app: &App, theme: &Theme, w: u16, h: u16) -> Terminal<TestBackend> {
    draw_shell(&shell(app.clone(), theme), w, h)
}

/// The whole frame of a shell, with its windows and modes.
pub fn draw_shell<S: super::shell::Screen>(
    shell: &Shell<S>,
    w: u16,
    h: u16,
) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| shell.draw(f)).unwrap();
    t
}

pub fn theme(name: ThemeName) -> Theme {
    Theme::new(&ThemeColors::builtin(name), false, false)
}

fn theme_for(name: ThemeName) -> Theme {
    theme(name)
}

/// Key moments: (lesson, step, label). Steps are the lessons' own numbers:
/// tcp 3 = listen, 6 = connect (accept returns), 7 = send, 11 = client close;
/// udp 2 = bind, 3 = recvfrom waiting, 5 = sendto, 7 = last close.
const MOMENTS: [(&str, usize, &str); 8] = [
    ("tcp", 3, "after_listen"),
    ("tcp", 6, "after_accept"),
    ("tcp", 7, "mid_send"),
    ("tcp", 11, "after_close"),
    ("udp", 2, "after_bind"),
    ("udp", 3, "recvfrom_waiting"),
    ("udp", 5, "mid_sendto"),
    ("udp", 7, "after_close"),
];

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 50)];

/// The app at a moment; "mid" moments stop halfway through the first arrow.
fn moment(name: &str, step: usize, label: &str) -> App {
    let mut app = app_at(name, step);
    if label.starts_with("mid") {
        app = app_at_mid(name, step);
    }
    app
}

/// Like [`app_at`], but the step's first arrow is halfway across.
fn app_at_mid(name: &str, step: usize) -> App {
    let mut app = app_at(name, step - 1);
    let msgs = match name {
        "tcp" => fixtures::tcp(),
        _ => fixtures::udp(),
    };
    let seen = app.history.len();
    let mut count = 0;
    for m in msgs {
        if matches!(m, EngineMsg::Finished) {
            continue;
        }
        count += 1;
        if count <= seen {
            continue;
        }
        let s = match &m {
            EngineMsg::Waiting(w) => w.step,
            EngineMsg::Event(e) => e.step,
            _ => usize::MAX,
        };
        if s > step && app.latest >= step {
            break;
        }
        update(&mut app, Msg::Feed(Feed::Engine(m)));
    }
    let anim = app.anim.expect("the step sends something");
    for _ in 0..anim.per_arrow / 2 {
        update(&mut app, Msg::Tick);
    }
    assert!(app.animating());
    app
}

#[test]
fn key_moments_at_three_sizes() {
    let theme = theme(ThemeName::Dark);
    for (name, step, label) in MOMENTS {
        let app = moment(name, step, label);
        for (w, h) in SIZES {
            let t = draw(&app, &theme, w, h);
            insta::assert_snapshot!(format!("{name}_{label}_{w}x{h}"), t.backend());
        }
    }
}

/// Without capture privilege the same run draws expected arrows, dashed,
/// and says so.
#[test]
fn without_capture_the_arrows_are_expected() {
    let theme = theme(ThemeName::Dark);
    for (name, step) in [("tcp", 6), ("tcp", 12), ("udp", 5)] {
        let app = app_from(name, fixtures::without_capture(recorded(name)), step);
        let t = draw(&app, &theme, 120, 40);
        let text = t.backend().to_string();
        assert!(text.contains("expected: what"), "{text}");
        assert!(!text.contains("captured on lo"), "{text}");
        insta::assert_snapshot!(format!("{name}_step_{step}_expected_120x40"), t.backend());
    }
}

#[test]
fn captured_arrows_say_so() {
    let app = app_at("tcp", 7);
    let text = draw(&app, &theme(ThemeName::Dark), 120, 40)
        .backend()
        .to_string();
    assert!(text.contains("captured on lo"), "{text}");
    assert!(
        text.contains("PSH-ACK 17 B"),
        "the data segment as captured: {text}"
    );
}

#[test]
fn every_theme_with_its_styles() {
    let app = app_at("tcp", 6);
    for (label, theme) in [
        ("dark", theme_for(ThemeName::Dark)),
        ("light", theme_for(ThemeName::Light)),
        ("high_contrast", theme_for(ThemeName::HighContrast)),
        (
            "no_color",
            Theme::new(&ThemeColors::builtin(ThemeName::Dark), true, false),
        ),
        (
            "ascii",
            Theme::new(&ThemeColors::builtin(ThemeName::Dark), false, true),
        ),
    ] {
        let t = draw(&app, &theme, 120, 40);
        // The Debug form lists every style change, so colours are in the
        // snapshot too, not only the text.
        insta::assert_snapshot!(
            format!("theme_{label}_120x40"),
            format!("{:?}", t.backend().buffer())
        );
    }
}

#[test]
fn no_color_draws_no_colour_at_all() {
    let theme = Theme::new(&ThemeColors::builtin(ThemeName::HighContrast), true, false);
    for (name, step, label) in MOMENTS {
        let app = moment(name, step, label);
        let t = draw(&app, &theme, 120, 40);
        for cell in t.backend().buffer().content() {
            assert_eq!(cell.fg, ratatui::style::Color::Reset, "{name} {label}");
            assert_eq!(cell.bg, ratatui::style::Color::Reset, "{name} {label}");
        }
    }
}

#[test]
fn ascii_draws_only_ascii() {
    let theme = Theme::new(&ThemeColors::builtin(ThemeName::Dark), false, true);
    for (name, step, label) in MOMENTS {
        let app = moment(name, step, label);
        for (w, h) in SIZES {
            let t = draw(&app, &theme, w, h);
            let text = t.backend().to_string();
            let odd: String = text.chars().filter(|c| !c.is_ascii()).collect();
            // Narration and payloads are lesson text; the lesson files are
            // ASCII, so the whole screen must be.
            assert!(odd.is_empty(), "{name} {label} {w}x{h}: {odd}");
        }
    }
}

#[test]
fn overlays_review_intro_and_too_small() {
    let theme = theme(ThemeName::Dark);
    let mut app = shell(app_at("tcp", 6), &theme);
    app.window = Some(Window::Help);
    insta::assert_snapshot!("help_80x24", draw_shell(&app, 80, 24).backend());
    // A fixed list, so a new built-in lesson does not change the snapshot.
    app.window = None;
    app.screen.lessons = ["tcp", "udp", "refused"]
        .iter()
        .map(|n| lesson::builtin(n).unwrap())
        .collect();
    app.screen.picker = Some(1);
    insta::assert_snapshot!("picker_120x40", draw_shell(&app, 120, 40).backend());
    // With progress kept: a tick on the lesson run to its end, and the count.
    let mut kept = app.clone();
    kept.screen.progress_file = Some("progress.toml".into());
    kept.screen.progress.finish("udp");
    let udp_asks = lesson::builtin("udp")
        .unwrap()
        .steps
        .iter()
        .position(|s| s.predict.is_some())
        .unwrap();
    kept.screen.progress.answered_right("udp", udp_asks + 1);
    insta::assert_snapshot!(
        "picker_progress_120x40",
        draw_shell(&kept, 120, 40).backend()
    );
    // Study mode's question over the lesson, at the three sizes.
    let mut asking = app.clone();
    asking.screen.picker = None;
    let boundaries = lesson::builtin("boundaries").unwrap();
    let at = boundaries
        .steps
        .iter()
        .position(|s| s.predict.is_some())
        .unwrap();
    let next = asking.screen.latest;
    asking.screen.lesson.steps[next].predict = boundaries.steps[at].predict.clone();
    asking.screen.predicting = Some(next + 1);
    for (w, h) in [(80, 24), (120, 40), (200, 50)] {
        insta::assert_snapshot!(
            format!("predict_{w}x{h}"),
            draw_shell(&asking, w, h).backend()
        );
    }
    app.screen.picker = None;
    app.screen.review = Some(4);
    insta::assert_snapshot!("review_step_4_120x40", draw_shell(&app, 120, 40).backend());
    let intro = app_at("tcp", 0);
    insta::assert_snapshot!("intro_120x40", draw(&intro, &theme, 120, 40).backend());
    insta::assert_snapshot!("too_small_50x15", draw(&intro, &theme, 50, 15).backend());
}

#[test]
fn the_help_lists_every_key_of_the_table() {
    let theme = theme(ThemeName::Dark);
    let mut app = shell(app_at("tcp", 1), &theme);
    app.window = Some(Window::Help);
    let text = draw_shell(&app, 120, 40).backend().to_string();
    for b in super::keys::help(&app.screen.keys, ScreenKind::Lesson) {
        assert!(text.contains(&b.keys), "{} missing from help", b.keys);
    }
}

/// A key, through the shell's layers as the loop sends it.
fn press(app: &mut Shell<App>, code: crossterm::event::KeyCode) {
    app.update(Msg::Key(crossterm::event::KeyEvent::from(code)));
}

/// At 80x24 the help is taller than the screen: it says how much is below,
/// scrolls to its last row (the marks), and says how much is above.
#[test]
fn the_help_scrolls_at_80x24_and_every_row_can_be_read() {
    use crossterm::event::KeyCode;
    let theme = theme(ThemeName::Dark);
    let mut app = shell(app_at("tcp", 6), &theme);
    app.update(Msg::Resize(80, 24));
    press(&mut app, KeyCode::Char('?'));
    let top = draw_shell(&app, 80, 24).backend().to_string();
    assert!(top.contains("more · j k PgDn"), "{top}");
    let mut seen = top.clone();
    for _ in 0..40 {
        press(&mut app, KeyCode::Char('j'));
        seen.push_str(&draw_shell(&app, 80, 24).backend().to_string());
    }
    // Scrolled to the end: the last row is the marks' legend, and the
    // border counts the rows above.
    let end = draw_shell(&app, 80, 24);
    let text = end.backend().to_string();
    assert!(
        text.contains("narration whole"),
        "the last row is on screen: {text}"
    );
    assert!(!text.contains("j k PgDn"), "nothing below: {text}");
    assert!(text.contains("↑ "), "{text}");
    insta::assert_snapshot!("help_80x24_end", end.backend());
    // Every key and every description appears on some screen, whole: a
    // description too long for a row wraps rather than being cut.
    let words = |t: &str| {
        t.split(|c: char| c == '│' || c == '"' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect::<std::collections::BTreeSet<_>>()
    };
    let seen = words(&seen);
    for b in super::keys::help(&app.screen.keys, ScreenKind::Lesson) {
        for w in b.keys.split(' ').chain(b.does.split(' ')) {
            assert!(seen.contains(w), "{w:?} of {:?} never on screen", b.does);
        }
    }
}

/// The narration panel says when it cuts text, and `m` shows all of it.
#[test]
fn cut_narration_is_marked_and_m_shows_it_whole() {
    use crossterm::event::KeyCode;
    let theme = theme(ThemeName::Dark);
    let mut app = shell(app_at("tcp", 6), &theme);
    app.update(Msg::Resize(80, 24));
    let panel = draw_shell(&app, 80, 24).backend().to_string();
    assert!(panel.contains("↓ more · m reads it all"), "{panel}");
    assert!(!panel.contains("Ask the room"), "cut at 80x24: {panel}");
    press(&mut app, KeyCode::Char('m'));
    let t = draw_shell(&app, 80, 24);
    let whole = t.backend().to_string();
    assert!(whole.contains("Ask the room"), "{whole}");
    assert!(whole.contains("m or Esc closes"), "{whole}");
    insta::assert_snapshot!("narration_80x24", t.backend());
    // At 200x50 the panel holds it all: no marker.
    let mut big = shell(app_at("tcp", 6), &theme);
    big.update(Msg::Resize(200, 50));
    let wide = draw_shell(&big, 200, 50).backend().to_string();
    assert!(!wide.contains("reads it all"), "{wide}");
    assert!(wide.contains("Ask the room"), "{wide}");
}

/// A narration longer than the screen (a teacher's own lesson may say a
/// lot) scrolls in its window, with what is above and below counted.
#[test]
fn a_narration_longer_than_the_screen_scrolls() {
    use crossterm::event::KeyCode;
    let theme = theme(ThemeName::Dark);
    let mut long = lesson::builtin("tcp").unwrap();
    let words: Vec<String> = (1..=400).map(|n| format!("w{n}")).collect();
    long.steps[5].say = words.join(" ");
    let mut app = shell(app_from("tcp", fixtures::tcp(), 6), &theme);
    app.screen.lesson = long;
    app.update(Msg::Resize(80, 24));
    press(&mut app, KeyCode::Char('m'));
    let mut seen = String::new();
    for _ in 0..40 {
        seen.push_str(&draw_shell(&app, 80, 24).backend().to_string());
        press(&mut app, KeyCode::PageDown);
    }
    for w in &words {
        assert!(
            seen.split(|c: char| !c.is_alphanumeric()).any(|x| x == w),
            "{w} never on screen"
        );
    }
    press(&mut app, KeyCode::Home);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    let t = draw_shell(&app, 80, 24);
    let text = t.backend().to_string();
    assert!(text.contains("↑ 2 more"), "{text}");
    assert!(text.contains("more · j k PgDn"), "{text}");
    insta::assert_snapshot!("narration_long_80x24", t.backend());
    // Presenter mode cuts it too, and says so.
    app.window = None;
    app.present = true;
    let present = draw_shell(&app, 80, 24).backend().to_string();
    assert!(present.contains("↓ more · m reads it all"), "{present}");
}

/// A real run with the kernel view: on a wide screen each TCP call's row
/// carries the state the kernel reported after it, and a close says what the
/// kernel keeps.
#[tokio::test]
async fn lanes_show_the_kernels_tcp_states() {
    let config = sockscope_core::engine::EngineConfig {
        port: 0,
        pace: sockscope_core::engine::Pace::RunToEnd,
        capture: false,
    };
    let lesson = lesson::builtin("tcp").unwrap();
    let (msgs, _) = sockscope_core::engine::run_to_end_with(lesson.clone(), config).await;
    // The client's close, step 11: stop there.
    let mut app = App::new(lesson, lesson::builtins(), MACHINE);
    for m in msgs {
        let past = matches!(&m, EngineMsg::Event(e) if e.step > 11);
        if past {
            break;
        }
        update(&mut app, Msg::Feed(Feed::Engine(m)));
    }
    let events: Vec<_> = app.events().cloned().collect();
    let text = draw(&app, &theme(ThemeName::Dark), 200, 50)
        .backend()
        .to_string();
    let listen = events
        .iter()
        .find(|e| e.call == sockscope_core::engine::Call::Listen)
        .unwrap();
    let close = events.iter().find(|e| e.step == 11).unwrap();
    match (&listen.tcp_state, &close.tcp_state) {
        (Some(l), kept) if *l != sockscope_core::vocab::StateSeen::NotObserved => {
            assert!(l.is(sockscope_core::vocab::TcpState::Listen), "{l}");
            assert!(text.contains("listening · LISTEN"), "{text}");
            if let Some(k) = kept {
                assert!(
                    text.contains(&format!("closed · kernel keeps {k}")),
                    "{text}"
                );
            }
        }
        other => sockscope_core::testing::skip(&format!(
            "the kernel view was not observed here ({other:?})"
        )),
    }
}

/// A real run, not a recording: the screen shows the fds and ports the
/// kernel really handed out in this run.
#[tokio::test]
async fn a_real_run_shows_its_real_values() {
    use sockscope_core::engine::{Engine, EngineConfig, Pace};
    let lesson = lesson::builtin("tcp").unwrap();
    let mut engine = Engine::start(
        lesson.clone(),
        EngineConfig {
            port: 0,
            pace: Pace::Manual,
            capture: false,
        },
    );
    let mut app = App::new(lesson, lesson::builtins(), Machine::read());
    let mut accept = None;
    while accept.is_none() {
        engine.step();
        eprintln!("stepped, latest {}", app.latest);
        // Each step reports at least one message; take what is there.
        let m = engine.next().await.expect("engine alive");
        update(&mut app, Msg::Feed(Feed::Engine(m)));
        while let Some(m) = engine.try_next() {
            update(&mut app, Msg::Feed(Feed::Engine(m)));
        }
        // The accept returns during the connect step; wait for it.
        if app.latest >= 6 {
            while !app.history.iter().any(|r| matches!(&r.entry, super::app::Entry::Event(e) if e.call == sockscope_core::engine::Call::Accept)) {
                let m = engine.next().await.expect("engine alive");
                update(&mut app, Msg::Feed(Feed::Engine(m)));
            }
        }
        accept = app.history.iter().find_map(|r| match &r.entry {
            super::app::Entry::Event(e) if e.call == sockscope_core::engine::Call::Accept => {
                Some(e.clone())
            }
            _ => None,
        });
    }
    let accept = accept.unwrap();
    let text = draw(&app, &theme(ThemeName::Dark), 120, 40)
        .backend()
        .to_string();
    let line = format!(
        "accept({}) = {}",
        accept.fd.unwrap(),
        accept.new_fd.unwrap()
    );
    assert!(text.contains(&line), "{line} not on screen:\n{text}");
    let server_port = accept
        .local
        .as_deref()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1
        .to_string();
    let client_port = accept
        .peer
        .as_deref()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1
        .to_string();
    assert!(text.contains(&format!("bound :{server_port}")));
    assert!(text.contains(&format!(
        "{} {client_port} client",
        theme(ThemeName::Dark).glyphs.marker
    )));
}

/// The app at tcp step 6 with port 80 typed and explained (recorded as the
/// user nobody, so both binds say EACCES).
fn with_port_80() -> App {
    let mut app = app_at("tcp", 6);
    for c in ":80".chars() {
        update(&mut app, Msg::Key(key(c)));
    }
    let effect = update(
        &mut app,
        Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        )),
    );
    assert_eq!(
        effect,
        super::app::Effect::Screen(LessonEffect::ExplainPort(80))
    );
    update(
        &mut app,
        Msg::Feed(Feed::Port(Box::new(fixtures::port_80_nobody()))),
    );
    app
}

fn key(c: char) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    )
}

#[test]
fn a_typed_port_is_explained_in_the_port_panel_at_three_sizes() {
    let theme = theme(ThemeName::Dark);
    let app = with_port_80();
    let lesson_ports: Vec<u16> = super::ui::ports::in_use(&app)
        .iter()
        .map(|u| u.port)
        .collect();
    assert!(!lesson_ports.is_empty());
    for (w, h) in SIZES {
        let t = draw(&app, &theme, w, h);
        let text = t.backend().to_string();
        // The typed port's facts...
        assert!(
            text.contains(&format!("{} 80", theme.glyphs.down)),
            "{w}x{h}\n{text}"
        );
        assert!(text.contains("EACCES"), "{w}x{h}\n{text}");
        assert!(text.contains("http"), "{w}x{h}\n{text}");
        // ...and the lesson's own ports are still marked on the bar.
        assert!(text.contains(theme.glyphs.marker), "{w}x{h}\n{text}");
        insta::assert_snapshot!(format!("typed_port_80_{w}x{h}"), t.backend());
    }
    // The full panel spells out the privilege rule and the real bytes.
    let text = draw(&app, &theme, 200, 50).backend().to_string();
    for needle in [
        "00 50",
        "threshold 1024",
        "ip_unprivileged_port_start",
        "32768–60999",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
}

#[test]
fn the_port_prompt_and_its_error_are_on_screen() {
    let theme = theme(ThemeName::Dark);
    let mut app = app_at("tcp", 6);
    for c in ":70000".chars() {
        update(&mut app, Msg::Key(key(c)));
    }
    let text = draw(&app, &theme, 120, 40).backend().to_string();
    assert!(text.contains("port: 70000_"), "{text}");
    assert!(text.contains("Enter explain"), "{text}");
    update(
        &mut app,
        Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        )),
    );
    for (w, h) in [(80, 24), (120, 40)] {
        let t = draw(&app, &theme, w, h);
        let text = t.backend().to_string();
        assert!(text.contains("out of range"), "{w}x{h}\n{text}");
        insta::assert_snapshot!(format!("port_prompt_error_{w}x{h}"), t.backend());
    }
}

#[test]
fn a_typed_port_draws_in_ascii_and_without_colour() {
    let app = with_port_80();
    let ascii = Theme::new(&ThemeColors::builtin(ThemeName::Dark), false, true);
    for (w, h) in SIZES {
        let text = draw(&app, &ascii, w, h).backend().to_string();
        let odd: String = text.chars().filter(|c| !c.is_ascii()).collect();
        assert!(odd.is_empty(), "{w}x{h}: {odd}");
    }
}

/// A real port, explained for real while a real lesson runs: the panel
/// shows the bind result the kernel gives now, and the lesson's own port.
#[test]
fn a_real_port_report_shows_the_kernels_answer() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let mut app = app_at("tcp", 6);
    for c in format!(":{port}").chars() {
        update(&mut app, Msg::Key(key(c)));
    }
    let effect = update(
        &mut app,
        Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        )),
    );
    assert_eq!(
        effect,
        super::app::Effect::Screen(LessonEffect::ExplainPort(port))
    );
    update(
        &mut app,
        Msg::Feed(Feed::Port(Box::new(sockscope_core::ports::explain(port)))),
    );
    let text = draw(&app, &theme(ThemeName::Dark), 200, 50)
        .backend()
        .to_string();
    assert!(text.contains("TCP EADDRINUSE"), "{text}");
    assert!(
        text.contains(&format!("held by pid {}", std::process::id())),
        "{text}"
    );
}

/// Presenter mode, at the three sizes: the call large, the lanes, the
/// narration large when it fits, and nothing else.
#[test]
fn presenter_mode_at_three_sizes() {
    let theme = theme(ThemeName::HighContrast);
    for (step, label) in [(0, "intro"), (6, "after_accept"), (8, "after_recv")] {
        let mut app = shell(app_at("tcp", step), &theme);
        app.present = true;
        for (w, h) in SIZES {
            let t = draw_shell(&app, w, h);
            insta::assert_snapshot!(format!("present_{label}_{w}x{h}"), t.backend());
        }
    }
}

#[test]
fn presenter_mode_shows_this_runs_values_and_no_panels() {
    let theme = theme(ThemeName::HighContrast);
    let mut app = shell(app_at("tcp", 8), &theme);
    app.present = true;
    let text = draw_shell(&app, 120, 40).backend().to_string();
    let recv = app
        .screen
        .history
        .iter()
        .rev()
        .find_map(|r| match &r.entry {
            super::app::Entry::Event(e) if e.step == 8 => Some(e.clone()),
            _ => None,
        })
        .unwrap();
    assert!(text.contains(&recv.syscall_line()), "{text}");
    assert!(
        !text.contains("TCP/IP layers"),
        "no layer panel in presenter mode"
    );
    assert!(!text.contains("next call"), "no key bar in presenter mode");
}

#[test]
fn a_blank_screen_is_empty_and_a_frozen_one_does_not_move() {
    let theme = theme(ThemeName::Dark);
    let mut app = shell(app_at("tcp", 3), &theme);
    app.blank = true;
    let text = draw_shell(&app, 80, 24).backend().to_string();
    assert!(
        text.chars().all(|c| c == ' ' || c == '"' || c == '\n'),
        "{text}"
    );
    app.blank = false;
    let before = draw_shell(&app, 120, 40).backend().to_string();
    press(&mut app, crossterm::event::KeyCode::Char('f'));
    for m in fixtures::tcp() {
        app.update(Msg::Feed(Feed::Engine(m)));
    }
    assert!(app.screen.latest > 3);
    assert_eq!(draw_shell(&app, 120, 40).backend().to_string(), before);
    press(&mut app, crossterm::event::KeyCode::Char('f'));
    assert_ne!(draw_shell(&app, 120, 40).backend().to_string(), before);
}

/// The serve screen at the three sizes, from a recorded session: two peers,
/// one of them gone, and the command to connect.
fn serve_view(present: bool) -> Shell<super::serve::ServeView> {
    use super::serve::ServeView;
    use sockscope_core::engine::{Call, EngineMsg, Event, Proto, Waiting};
    let local: std::net::SocketAddr = "127.0.0.1:41234".parse().unwrap();
    let mut v = Shell::new(ServeView::new(Proto::Tcp, local, local), Themes::default());
    v.present = present;
    let mut seq = 0;
    let mut ev = |actor: &str, call: Call, fd: i32, f: &dyn Fn(&mut Event)| {
        seq += 1;
        let sock = if actor == "server" {
            "listener"
        } else {
            "conn"
        };
        let mut e = Event {
            seq,
            t_us: seq * 100,
            local: Some(local.to_string()),
            args: fd.to_string(),
            ..Event::new(actor, call, sock, Proto::Tcp, Some(fd))
        };
        f(&mut e);
        EngineMsg::Event(Box::new(e))
    };
    let msgs = vec![
        ev("server", Call::Socket, 9, &|e| {
            e.local = None;
            e.new_fd = Some(9);
        }),
        ev("server", Call::Bind, 9, &|_| {}),
        ev("server", Call::Listen, 9, &|_| {}),
        ev("server", Call::Accept, 9, &|e| {
            e.new_fd = Some(10);
            e.peer = Some("127.0.0.1:52014".into());
            e.flags = vec!["lane peer1".into()];
        }),
        ev("peer1", Call::Recv, 10, &|e| {
            e.bytes = Some(6);
            e.data = Some("hello\\n".into());
        }),
        ev("peer1", Call::Send, 10, &|e| {
            e.bytes = Some(6);
            e.data = Some("hello\\n".into());
        }),
        ev("server", Call::Accept, 9, &|e| {
            e.new_fd = Some(11);
            e.peer = Some("127.0.0.1:52020".into());
            e.flags = vec!["lane peer2".into()];
        }),
        ev("peer1", Call::Recv, 10, &|e| {
            e.bytes = Some(0);
            e.data = Some(String::new());
            e.flags = vec!["EOF".into()];
        }),
        ev("peer1", Call::Close, 10, &|_| {}),
        EngineMsg::Waiting(Waiting {
            step: 0,
            actor: "peer2".into(),
            call: Call::Recv,
            sock: "conn".into(),
            fd: Some(11),
            args: "11, 4096".into(),
            t_us: 2000,
            local: None,
            tcp_state: None,
            ..Default::default()
        }),
    ];
    for m in msgs {
        v.update(Msg::Feed(super::serve::ServeFeed::Server(m)));
    }
    // The server's own counts and peers, as the driver reads them.
    let now = std::time::Instant::now();
    let peer = |n: u16, port: u16, state: &str, idle: u64| sockscope_core::engine::serve::PeerRow {
        actor: format!("peer{n}"),
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        fd: 9 + i32::from(n),
        bytes_in: if n == 1 { 6 } else { 0 },
        bytes_out: if n == 1 { 6 } else { 0 },
        state: state.into(),
        last_heard: now
            .checked_sub(std::time::Duration::from_secs(idle))
            .unwrap(),
    };
    v.update(Msg::Feed(super::serve::ServeFeed::Hall(Box::new(
        super::serve::Hall {
            stats: sockscope_core::engine::serve::Stats {
                seen: 2,
                open: 1,
                bytes_in: 6,
                bytes_out: 6,
                ..Default::default()
            },
            peers: vec![peer(2, 52020, "open", 12), peer(1, 52014, "EOF", 30)],
            read_at: now,
        },
    ))));
    v
}

#[test]
fn the_serve_screen_at_three_sizes() {
    // Dark, and high contrast in presenter mode, as the TUI draws them.
    for present in [false, true] {
        let v = serve_view(present);
        for (w, h) in SIZES {
            let term = draw_shell(&v, w, h);
            let text = term.backend().to_string();
            // The newest peer always has a lane; older ones as room allows.
            assert!(text.contains("peer2 · 127.0.0.1:52020"), "{w}x{h}\n{text}");
            // In presenter mode the command is drawn in large type instead.
            if !present {
                assert!(text.contains("nc 127.0.0.1 41234"), "{w}x{h}\n{text}");
            }
            let label = if present { "present_" } else { "" };
            insta::assert_snapshot!(format!("serve_{label}{w}x{h}"), term.backend());
        }
    }
}

#[test]
fn a_non_loopback_bind_is_warned_about_on_screen() {
    use sockscope_core::engine::Proto;
    let any: std::net::SocketAddr = "0.0.0.0:41234".parse().unwrap();
    let v = super::serve::ServeView::new(Proto::Tcp, any, any);
    let v = Shell::new(v, Themes::only(theme(ThemeName::Dark)));
    let text = draw_shell(&v, 120, 40).backend().to_string();
    assert!(text.contains("reachable from the network"), "{text}");
    assert!(text.contains("nc 127.0.0.1 41234"), "{text}");
}

/// Before any peer, the server's lane says so inside its borders: the line
/// once started on the left border and covered it.
#[test]
fn waiting_for_a_peer_is_written_inside_the_lanes_borders() {
    use sockscope_core::engine::Proto;
    let at: std::net::SocketAddr = "127.0.0.1:41234".parse().unwrap();
    let v = Shell::new(
        super::serve::ServeView::new(Proto::Tcp, at, at),
        Themes::only(theme(ThemeName::Dark)),
    );
    for (w, h) in SIZES {
        let text = draw_shell(&v, w, h).backend().to_string();
        let line = text
            .lines()
            .find(|l| l.contains("waiting for a peer"))
            .unwrap_or_else(|| panic!("{w}x{h}: no waiting line\n{text}"));
        // Each line of the backend's text is quoted: `"│ waiting ... │"`.
        let inner = line.trim_matches('"');
        assert!(
            inner.starts_with('│'),
            "{w}x{h}: the left border is kept: {line}"
        );
        assert!(
            inner.ends_with('│'),
            "{w}x{h}: the right border is kept: {line}"
        );
    }
}

/// `?` on the serve screen: its own keys, scrolling when the terminal is
/// short, Esc closes.
#[test]
fn the_serve_help_lists_its_keys_and_scrolls() {
    use crossterm::event::{KeyCode, KeyEvent};
    let mut v = serve_view(false);
    let key = |v: &mut Shell<super::serve::ServeView>, code| {
        v.update(Msg::Key(KeyEvent::from(code)));
    };
    v.update(Msg::Resize(80, 24));
    key(&mut v, KeyCode::Char('?'));
    let t = draw_shell(&v, 80, 24);
    let text = t.backend().to_string();
    for b in super::keys::help(&v.screen.keys, ScreenKind::Serve) {
        assert!(text.contains(&b.keys), "{} missing:\n{text}", b.keys);
    }
    insta::assert_snapshot!("serve_help_80x24", t.backend());
    // At the smallest size it scrolls, down to its last row and no further.
    v.update(Msg::Resize(60, 12));
    let top = draw_shell(&v, 60, 12).backend().to_string();
    assert!(top.contains("more · j k PgDn"), "{top}");
    for _ in 0..30 {
        key(&mut v, KeyCode::Char('j'));
    }
    let end = draw_shell(&v, 60, 12).backend().to_string();
    assert!(end.contains("waiting in the kernel"), "{end}");
    assert!(!end.contains("j k PgDn"), "{end}");
    let at_end = v.scroll;
    key(&mut v, KeyCode::PageDown);
    assert_eq!(v.scroll, at_end, "no scrolling past the end");
    key(&mut v, KeyCode::Esc);
    assert_eq!(v.window, None);
    assert!(
        !draw_shell(&v, 80, 24)
            .backend()
            .to_string()
            .contains("Keys · Esc closes")
    );
}

/// A real server and a real peer: the screen shows the peer's real port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serve_screen_shows_a_real_peer() {
    use super::serve::{Hall, ServeFeed};
    use sockscope_core::engine::serve::{ServeConfig, Server};
    use sockscope_core::engine::{Call, EngineMsg};
    use std::io::{Read, Write};
    let mut server = Server::start(ServeConfig::default());
    let local = server.local_addr().unwrap();
    let mut v = super::serve::ServeView::new(sockscope_core::engine::Proto::Tcp, local, local);
    let me = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(local).unwrap();
        s.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        s.read_exact(&mut b).unwrap();
        s.local_addr().unwrap()
    })
    .await
    .unwrap();
    loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(20), server.next())
            .await
            .expect("server reported")
            .expect("server running");
        let echoed = matches!(&m, EngineMsg::Event(e) if e.call == Call::Send && e.ok());
        v.update(Msg::Feed(ServeFeed::Server(m)));
        if echoed {
            break;
        }
    }
    // The counts, as the driver reads them from the server on its timer.
    let stats = server.stats();
    v.update(Msg::Feed(ServeFeed::Hall(Box::new(Hall {
        stats,
        peers: server.peers(),
        read_at: std::time::Instant::now(),
    }))));
    let on_screen = Shell::new(v.clone(), Themes::only(theme(ThemeName::Dark)));
    let text = draw_shell(&on_screen, 160, 40).backend().to_string();
    assert!(text.contains(&format!("from {me}")), "{me}\n{text}");
    assert!(
        text.contains(&format!("nc 127.0.0.1 {}", local.port())),
        "{text}"
    );
    assert!(text.contains("\"ping\""), "{text}");
    // The server's counts: the one peer, its 4 bytes (and it may already
    // have closed: the client drops its socket once the echo is back).
    assert_eq!((stats.seen, stats.bytes_out), (1, 4));
    assert!(
        text.contains(&format!("{} open · 1 peers · 4 B echoed", stats.open)),
        "{text}"
    );
    // The handout (`e`) holds the same real calls: the peer's real port and
    // bytes, as the kernel reported them.
    let md = v.handout();
    assert!(md.contains(&format!("from {me}")), "{me}\n{md}");
    assert!(md.contains("\"ping\""), "{md}");
    assert!(md.contains(&format!("port {:>5}", me.port())), "{md}");
}

#[test]
fn a_frozen_serve_screen_does_not_move_and_a_notice_shows_on_the_key_bar() {
    use crossterm::event::{KeyCode, KeyEvent};
    let mut v = serve_view(false);
    let draw = |v: &Shell<super::serve::ServeView>| draw_shell(v, 80, 24).backend().to_string();
    let before = draw(&v);
    assert_eq!(
        v.update(Msg::Key(KeyEvent::from(KeyCode::Char('f')))),
        Effect::None
    );
    let frozen = draw(&v);
    // The key bar says how to thaw; nothing else changed.
    assert!(frozen.contains("f unfreeze"), "{frozen}");
    let body = |t: &str| t.lines().take(23).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&frozen), body(&before));
    // The peer still waiting gets its data: the live view has it, the
    // picture does not.
    let mut recv = sockscope_core::engine::Event::new(
        "peer2",
        sockscope_core::engine::Call::Recv,
        "conn",
        sockscope_core::engine::Proto::Tcp,
        Some(11),
    );
    recv.args = "11, 4096".into();
    recv.bytes = Some(3);
    recv.data = Some("abc".into());
    v.update(Msg::Feed(super::serve::ServeFeed::Server(
        sockscope_core::engine::EngineMsg::Event(Box::new(recv)),
    )));
    assert_eq!(body(&draw(&v)), body(&before));
    v.update(Msg::Notice(
        "Handout written: /tmp/sockscope-serve.md".into(),
    ));
    let text = draw(&v);
    let bar = text.lines().last().unwrap();
    assert!(
        bar.contains("Handout written: /tmp/sockscope-serve.md"),
        "{bar}"
    );
    assert!(bar.contains("q stop the server"), "{bar}");
    // f again: the present, with the data that came meanwhile.
    v.update(Msg::Key(KeyEvent::from(KeyCode::Char('f'))));
    let now = draw(&v);
    assert!(now.contains("\"abc\""), "{now}");
    assert!(
        !now.contains("Handout written"),
        "the notice went with the key"
    );
}

/// The title bar names the network the lesson runs on: the whole line where
/// it fits, its first words where not, and the lesson's title comes first.
#[test]
fn the_title_bar_names_the_network_at_three_sizes() {
    let theme = theme(ThemeName::Dark);
    let mut rows = Vec::new();
    for network in [sockscope_core::lab::LAB, sockscope_core::lab::HOST] {
        let mut app = app_at("tcp", 3);
        app.network = Some(network);
        for (w, h) in SIZES {
            let t = draw(&app, &theme, w, h);
            let buf = t.backend().buffer();
            let row: String = (0..w).map(|x| buf[(x, 0)].symbol()).collect();
            rows.push(format!("{w:>3}|{}|", row.trim_end()));
        }
    }
    insta::assert_snapshot!("title_network", rows.join("\n"));
}

/// Presenter mode with the code panel: the program in the narration's
/// place, in the presenter's theme.
#[test]
fn presenter_mode_shows_the_code_panel_in_the_narrations_place() {
    let mut app = app_from("tcp", recorded("tcp"), 4);
    app.code_panel = true;
    let mut shell = shell(app, &theme(ThemeName::HighContrast));
    shell.present = true;
    let t = draw_shell(&shell, 120, 40);
    let text = format!("{}", t.backend());
    assert!(text.contains("code · C · server"), "{text}");
    assert!(
        text.contains("conn = accept(listener, NULL, NULL);"),
        "{text}"
    );
    insta::assert_snapshot!("present_code_120x40", t.backend());
}

/// The code panel in the layer diagram's place: the tcp server's program
/// at its accept, the udp receiver's at its recvfrom, in C, Python and
/// Rust, at the three sizes (at 80x24 the panel is its one-row strip).
#[test]
fn the_code_panel_in_three_languages_at_three_sizes() {
    let theme = theme(ThemeName::Dark);
    for (name, step) in [("tcp", 4), ("udp", 3)] {
        let mut app = app_from(name, recorded(name), step);
        app.code_panel = true;
        for lang in crate::code::Lang::ALL {
            app.code_lang = lang;
            for (w, h) in SIZES {
                let t = draw(&app, &theme, w, h);
                insta::assert_snapshot!(
                    format!("code_{name}_{}_{w}x{h}", lang.name()),
                    t.backend()
                );
            }
        }
    }
}
