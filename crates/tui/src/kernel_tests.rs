//! The kernel panel, the state labels on the lanes and the TCP state diagram,
//! drawn from a recorded `half-close` run (its events carry the kernel view),
//! at three sizes. Each snapshot is also checked for the facts it must show.

use super::app::{App, Feed, update};
use super::fixtures;
use super::render_tests::{MACHINE, app_from, draw};
use super::shell::Msg;
use super::theme::{Theme, ThemeColors, ThemeName};
use super::ui::kernel;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sockscope_core::lesson;
use sockscope_core::vocab::TcpState;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 50)];

fn theme() -> Theme {
    Theme::new(&ThemeColors::builtin(ThemeName::Dark), false, false)
}

/// The app after the recorded half-close messages up to step `step`.
fn half_close_at(step: usize) -> App {
    app_from("half-close", fixtures::half_close(), step)
}

/// half-close steps: 9 = shutdown(SHUT_WR), 10 = recv EOF, 14 = server
/// close, 16 = client close (TIME_WAIT without an fd).
const MOMENTS: [(usize, &str); 4] = [
    (9, "after_shutdown"),
    (10, "after_eof"),
    (14, "after_server_close"),
    (16, "after_client_close"),
];

#[test]
fn the_kernel_panel_at_three_sizes() {
    let theme = theme();
    for (step, label) in MOMENTS {
        let app = half_close_at(step);
        assert!(app.kernel_panel, "half-close opens with the kernel panel");
        for (w, h) in SIZES {
            let t = draw(&app, &theme, w, h);
            insta::assert_snapshot!(format!("kernel_half_close_{label}_{w}x{h}"), t.backend());
        }
    }
}

#[test]
fn the_shutdown_shows_fin_wait2_reached_through_fin_wait1() {
    let app = half_close_at(9);
    let t = kernel::transition(&app).unwrap();
    assert_eq!(t.who, "client:sock");
    assert_eq!(t.from, Some(TcpState::Established.into()));
    assert_eq!(t.to, TcpState::FinWait2.into());
    // The recording saw FIN_WAIT1 first, while the server delayed its ACK.
    assert_eq!(t.via.map(|v| v.0), Some(TcpState::FinWait1.into()));
    let text = draw(&app, &theme(), 120, 40).backend().to_string();
    assert!(text.contains("FIN_WAIT1 for"), "{text}");
    assert!(text.contains("CLOSE_WAIT"), "the server's side: {text}");
}

#[test]
fn time_wait_is_shown_without_an_fd_with_its_timer() {
    let app = half_close_at(16);
    let text = draw(&app, &theme(), 200, 50).backend().to_string();
    assert!(text.contains("TIME_WAIT"), "{text}");
    assert!(text.contains("no fd"), "{text}");
    assert!(text.contains("timewait"), "{text}");
    assert!(
        text.contains("gone        nothing kept"),
        "the server side: {text}"
    );
}

#[test]
fn a_transition_with_a_state_never_read_says_not_observed() {
    let t = kernel::Transition {
        who: "client:sock".into(),
        from: Some(TcpState::Established.into()),
        via: None,
        to: TcpState::TimeWait.into(),
    };
    let text: String = kernel::transition_spans(&t, &theme())
        .iter()
        .map(|s| s.content.to_string())
        .collect();
    assert_eq!(
        text,
        "client:sock: ESTABLISHED ▸ FIN_WAIT1 (not observed) ▸ FIN_WAIT2 (not observed) ▸ TIME_WAIT"
    );
    // A state read on the way is shown as seen, with how long it lasted.
    let seen = kernel::Transition {
        via: Some((TcpState::FinWait1.into(), 41)),
        to: TcpState::FinWait2.into(),
        ..t
    };
    let text: String = kernel::transition_spans(&seen, &theme())
        .iter()
        .map(|s| s.content.to_string())
        .collect();
    assert_eq!(
        text,
        "client:sock: ESTABLISHED ▸ FIN_WAIT1 for 41 ms ▸ FIN_WAIT2"
    );
}

#[test]
fn k_switches_between_the_kernel_panel_and_the_layer_diagram() {
    let mut app = half_close_at(9);
    let k = Msg::Key(KeyEvent::new(KeyCode::Char('K'), KeyModifiers::SHIFT));
    update(&mut app, k.clone());
    assert!(!app.kernel_panel);
    let text = draw(&app, &theme(), 120, 40).backend().to_string();
    assert!(!text.contains("kernel: TCP states"), "{text}");
    update(&mut app, k);
    assert!(app.kernel_panel);
    // The tcp lesson starts with the layer diagram.
    let tcp = App::new(lesson::builtin("tcp").unwrap(), lesson::builtins(), MACHINE);
    assert!(!tcp.kernel_panel);
}

#[test]
fn a_refresh_replaces_the_view_until_the_next_call_and_not_in_review() {
    let mut app = half_close_at(16);
    let mut view = app.kernel_view().unwrap().0.clone();
    let tw = view.get_mut("client:sock").unwrap();
    tw.timer_ms = Some(12_000);
    update(&mut app, Msg::Feed(Feed::Kernel(view.clone())));
    let (shown, live) = app.kernel_view().unwrap();
    assert!(live);
    assert_eq!(shown["client:sock"].timer_ms, Some(12_000));
    let text = draw(&app, &theme(), 120, 40).backend().to_string();
    assert!(text.contains("timewait 12s"), "{text}");
    assert!(text.contains("read again just now"), "{text}");
    // Reviewing an earlier step shows that step's own reading.
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Left, KeyModifiers::NONE)),
    );
    assert!(!app.kernel_view().unwrap().1);
    assert!(
        app.kernel_to_refresh().is_none(),
        "no refresh while reviewing"
    );
}

#[test]
fn lanes_carry_the_kernels_state_names() {
    let app = half_close_at(10);
    let text = draw(&app, &theme(), 120, 40).backend().to_string();
    assert!(text.contains("FIN_WAIT2"), "client lane: {text}");
    assert!(text.contains("CLOSE_WAIT"), "server lane: {text}");
}
