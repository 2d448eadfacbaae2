//! The wire view in the TUI: the packet pane on a recorded run whose packets
//! carry their bytes (snapshots at three sizes, colours pinned in one), the
//! keys that open, move and close it, `w`, and the hint shown when the run
//! cannot capture.

use super::app::{App, Effect, Feed, LessonEffect, Machine, update};
use super::fixtures;
use super::shell::Msg;
use super::theme::{Theme, ThemeColors, ThemeName};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sockscope_core::lesson;
use sockscope_core::wire::CaptureStatus;

const MACHINE: Machine = super::render_tests::MACHINE;

fn key(c: char) -> Msg<Feed> {
    let m = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    Msg::Key(KeyEvent::new(KeyCode::Char(c), m))
}

fn code(c: KeyCode) -> Msg<Feed> {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// The recorded `tcp` run (with packet bytes) up to step `step`, arrows
/// arrived.
fn app_at(step: usize) -> App {
    super::render_tests::app_from("tcp", fixtures::tcp_with_frames(), step)
}

fn draw(app: &App, theme: &Theme, w: u16, h: u16) -> Terminal<TestBackend> {
    super::render_tests::draw(app, theme, w, h)
}

fn dark() -> Theme {
    Theme::new(&ThemeColors::builtin(ThemeName::Dark), false, false)
}

#[test]
fn p_opens_on_the_steps_last_packet_and_the_arrows_choose_another() {
    let mut app = app_at(7);
    assert_eq!(update(&mut app, key('x')), Effect::None);
    let (_, shown) = app.shown_packet().expect("pane open");
    // Step 7 is the client's send: its data segment, then the server's ACK.
    assert_eq!(shown.label(), "ACK");
    update(&mut app, code(KeyCode::Up));
    let (i, data) = app.shown_packet().unwrap();
    assert_eq!((data.label().as_str(), data.len), ("PSH-ACK", 17));
    update(&mut app, key('k'));
    assert_eq!(app.shown_packet().unwrap().0, i - 1);
    update(&mut app, code(KeyCode::Down));
    update(&mut app, key('j'));
    assert_eq!(app.shown_packet().unwrap().1.label(), "ACK");
    // Esc closes the pane; it does not step.
    assert_eq!(update(&mut app, code(KeyCode::Esc)), Effect::None);
    assert!(app.shown_packet().is_none());
    update(&mut app, key('x'));
    update(&mut app, key('x'));
    assert!(app.shown_packet().is_none(), "P toggles");
}

#[test]
fn w_asks_the_loop_to_write_a_pcap_only_when_there_are_packets() {
    let mut app = app_at(7);
    assert_eq!(
        update(&mut app, key('w')),
        Effect::Screen(LessonEffect::SavePcap)
    );
    let mut bare = App::new(lesson::builtin("tcp").unwrap(), lesson::builtins(), MACHINE);
    update(
        &mut bare,
        Msg::Feed(Feed::Capture(CaptureStatus::Unprivileged)),
    );
    assert_eq!(update(&mut bare, key('w')), Effect::None);
    assert!(bare.notice.as_deref().unwrap().contains("CAP_NET_RAW"));
}

#[test]
fn without_capture_the_screen_says_once_how_to_enable_it() {
    let mut app = App::new(lesson::builtin("tcp").unwrap(), lesson::builtins(), MACHINE);
    update(
        &mut app,
        Msg::Feed(Feed::Capture(CaptureStatus::Unprivileged)),
    );
    let text = draw(&app, &dark(), 200, 50).backend().to_string();
    assert!(text.contains("packet capture needs CAP_NET_RAW"), "{text}");
    assert!(text.contains("sudo"), "{text}");
    // The first step clears it: said once, not on every screen.
    assert_eq!(
        update(&mut app, code(KeyCode::Char(' '))),
        Effect::Screen(LessonEffect::Step)
    );
    let text = draw(&app, &dark(), 200, 50).backend().to_string();
    assert!(!text.contains("CAP_NET_RAW"), "{text}");
    // Asking for packets brings it back, as the answer to that key.
    update(&mut app, key('x'));
    assert!(
        app.notice
            .as_deref()
            .unwrap()
            .contains("setcap cap_net_raw+ep")
    );
    // A run that captures says nothing.
    let mut ok = App::new(lesson::builtin("tcp").unwrap(), lesson::builtins(), MACHINE);
    update(&mut ok, Msg::Feed(Feed::Capture(CaptureStatus::Running)));
    assert_eq!(ok.notice, None);
}

#[test]
fn packet_pane_at_three_sizes() {
    let theme = dark();
    let mut app = app_at(7);
    update(&mut app, key('x'));
    update(&mut app, code(KeyCode::Up));
    for (w, h) in [(80, 24), (120, 40), (200, 50)] {
        let t = draw(&app, &theme, w, h);
        let text = t.backend().to_string();
        // Every layer, the payload that was sent, and its bytes.
        for needle in ["Network interface", "Network", "Transport", "Application"] {
            assert!(text.contains(needle), "{w}x{h}: {needle}\n{text}");
        }
        assert!(text.contains("hello from client"), "{w}x{h}\n{text}");
        assert!(text.contains("0000 "), "{w}x{h}: hex dump\n{text}");
        insta::assert_snapshot!(format!("packet_data_{w}x{h}"), t.backend());
    }
}

#[test]
fn the_syn_shows_its_options_and_ports_in_network_byte_order() {
    let theme = dark();
    let mut app = app_at(6);
    update(&mut app, key('x'));
    while app.shown_packet().unwrap().1.label() != "SYN" {
        update(&mut app, code(KeyCode::Up));
    }
    let seg = app.shown_packet().unwrap().1.clone();
    let t = draw(&app, &theme, 200, 50);
    let text = t.backend().to_string();
    for needle in ["MSS", "SACK permitted", "window scale", "timestamps", "TTL"] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
    let port: u16 = seg.dst.rsplit_once(':').unwrap().1.parse().unwrap();
    let [hi, lo] = port.to_be_bytes();
    assert!(
        text.contains(&format!("{port}  (bytes {hi:02x} {lo:02x}, big-endian)")),
        "{text}"
    );
    insta::assert_snapshot!("packet_syn_200x50", t.backend());
}

#[test]
fn hex_bytes_are_coloured_by_their_layer() {
    let theme = dark();
    let mut app = app_at(7);
    update(&mut app, key('x'));
    update(&mut app, code(KeyCode::Up));
    let t = draw(&app, &theme, 200, 50);
    let buf = t.backend().buffer();
    // Find the hex dump's first row and read the colour of bytes 0 and 14.
    let area = buf.area;
    let (x0, y0) = (0..area.height)
        .flat_map(|y| (0..area.width).map(move |x| (x, y)))
        .find(|&(x, y)| {
            (0..5).all(|i| buf[(x + i, y)].symbol() == ["0", "0", "0", "0", " "][i as usize])
                && x > 100
        })
        .expect("hex dump on screen");
    // Each byte is " xx" after "0000 ".
    let byte_cell = |i: u16| &buf[(x0 + 5 + 3 * i + 1, y0)];
    assert_eq!(byte_cell(0).fg, theme.layers[0].fg.unwrap());
    assert_eq!(
        byte_cell(12).fg,
        theme.layers[0].fg.unwrap(),
        "EtherType is link"
    );
    assert_eq!(
        byte_cell(14).fg,
        theme.layers[1].fg.unwrap(),
        "0x45 starts IPv4"
    );
    assert_eq!(byte_cell(14).symbol(), "4");
    insta::assert_snapshot!(
        "packet_data_colours_120x40",
        format!("{:?}", draw(&app, &theme, 120, 40).backend().buffer())
    );
}

#[test]
fn captured_arrows_carry_their_real_flags_and_relative_numbers() {
    let app = app_at(6);
    let text = draw(&app, &dark(), 200, 50).backend().to_string();
    // The recorded handshake, as the capture numbered it.
    for needle in [
        "SYN seq=0 win=65495",
        "SYN-ACK seq=0 ack=1 win=65483",
        "ACK seq=1 ack=1",
        "captured on lo",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
}

#[test]
fn a_capture_that_fails_says_so_and_the_lesson_goes_on() {
    let mut app = app_at(3);
    update(
        &mut app,
        Msg::Feed(Feed::Capture(CaptureStatus::Failed(
            "Network is down (os error 100)".into(),
        ))),
    );
    let notice = app.notice.clone().unwrap();
    assert!(notice.contains("packet capture failed"), "{notice}");
    assert!(notice.contains("expected packets"), "{notice}");
    assert_eq!(
        update(&mut app, code(KeyCode::Char(' '))),
        Effect::Screen(LessonEffect::Step)
    );
}
