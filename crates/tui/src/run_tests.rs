//! The run screen drawn: a server and a client stepped a call at a time,
//! at the three sizes, reviewing, with the help open, and once the
//! programs have ended. The rows are made here as the tracer reports them
//! (`RunMsg`s); `tests/tui_run_pty.rs` runs real programs on the screen.

use crate::render_tests::{draw_shell, theme};
use crate::run::{RunFeed, RunView};
use crate::shell::{Msg, Shell};
use crate::theme::{ThemeName, Themes};
use crossterm::event::{KeyCode, KeyEvent};
use sockscope_core::event::Event;
use sockscope_core::tracer::{End, RunEvent, RunMsg};
use sockscope_core::vocab::{Call, Proto};

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 50)];

fn call(
    tid: i32,
    comm: &str,
    call: Call,
    syscall: &str,
    args: &str,
    ret: Option<i32>,
) -> Box<RunEvent> {
    let mut event = Event::new(&format!("{comm}[{tid}]"), call, "fd3", Proto::Tcp, Some(3));
    event.args = args.into();
    event.syscall = Some(syscall.into());
    if let Some(fd) = ret {
        event.new_fd = Some(fd);
    }
    Box::new(RunEvent {
        event,
        pid: tid,
        tid,
        comm: comm.into(),
    })
}

fn feed(v: &mut Shell<RunView>, m: RunMsg) {
    v.update(Msg::Feed(RunFeed::Run(m)));
}

/// The server has listened and sleeps in accept; the client is held
/// before its connect.
fn mid_session() -> Shell<RunView> {
    let mut v = Shell::new(
        RunView::new(
            vec!["./tcp_server 8080".into(), "python3 client.py 8080".into()],
            Some("lab network: a private loopback, yours alone"),
        ),
        Themes::only(theme(ThemeName::Dark)),
    );
    feed(
        &mut v,
        RunMsg::Started {
            index: 0,
            pid: 100,
            argv: "./tcp_server 8080".into(),
        },
    );
    let srv = |c, s, a, r| call(100, "tcp_server", c, s, a, r);
    let mut socket = srv(
        Call::Socket,
        "socket",
        "AF_INET, SOCK_STREAM, IPPROTO_IP",
        None,
    );
    socket.event.fd = Some(3);
    socket.event.new_fd = Some(3);
    feed(&mut v, RunMsg::Event(socket));
    let mut bind = srv(Call::Bind, "bind", "3, 127.0.0.1:8080", None);
    bind.event.local = Some("127.0.0.1:8080".into());
    feed(&mut v, RunMsg::Event(bind));
    feed(
        &mut v,
        RunMsg::Event(srv(Call::Listen, "listen", "3, 8", None)),
    );
    feed(
        &mut v,
        RunMsg::Calling(srv(Call::Accept, "accept", "3", None)),
    );
    v.update(Msg::Key(KeyEvent::from(KeyCode::Char(' '))));
    v.update(Msg::Feed(RunFeed::Asleep(vec![(
        100,
        "inet_csk_accept".into(),
    )])));
    feed(
        &mut v,
        RunMsg::Started {
            index: 1,
            pid: 200,
            argv: "python3 client.py 8080".into(),
        },
    );
    let cli = |c, s, a| call(200, "python3", c, s, a, None);
    let mut socket = cli(
        Call::Socket,
        "socket",
        "AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP",
    );
    socket.event.fd = Some(3);
    feed(&mut v, RunMsg::Event(socket));
    feed(
        &mut v,
        RunMsg::Calling(cli(Call::Connect, "connect", "3, 127.0.0.1:8080")),
    );
    v.update(Msg::Feed(RunFeed::Output {
        program: "tcp_server".into(),
        line: "listening on 8080".into(),
    }));
    v
}

#[test]
fn a_stepped_session_at_three_sizes() {
    let v = mid_session();
    for (w, h) in SIZES {
        let t = draw_shell(&v, w, h);
        let text = t.backend().to_string();
        assert!(
            text.contains("connect(3, 127.0.0.1:8080)"),
            "{w}x{h}:\n{text}"
        );
        assert!(text.contains("held"), "{w}x{h}:\n{text}");
        insta::assert_snapshot!(format!("run_mid_{w}x{h}"), t.backend());
    }
}

#[test]
fn reviewing_a_failed_call_shows_its_errno_in_words() {
    let mut v = mid_session();
    let mut refused = call(
        200,
        "python3",
        Call::Connect,
        "connect",
        "3, 127.0.0.1:8080",
        None,
    );
    refused
        .event
        .fail(&std::io::Error::from_raw_os_error(libc::ECONNREFUSED));
    feed(&mut v, RunMsg::Event(refused));
    v.update(Msg::Key(KeyEvent::from(KeyCode::Up)));
    let t = draw_shell(&v, 120, 40);
    let text = t.backend().to_string();
    assert!(text.contains("= -1 ECONNREFUSED"), "{text}");
    assert!(text.contains("reviewing"), "{text}");
    insta::assert_snapshot!("run_review_120x40", t.backend());
}

#[test]
fn the_help_lists_the_run_keys_and_the_end_is_said() {
    let mut v = mid_session();
    v.update(Msg::Key(KeyEvent::from(KeyCode::Char('?'))));
    let t = draw_shell(&v, 120, 40);
    let text = t.backend().to_string();
    for b in crate::keys::help(&v.screen.keys, crate::keys::ScreenKind::Run) {
        assert!(text.contains(&b.keys), "{} missing:\n{text}", b.keys);
    }
    assert!(text.contains("held by sockscope before the call"), "{text}");
    insta::assert_snapshot!("run_help_120x40", t.backend());
    v.update(Msg::Key(KeyEvent::from(KeyCode::Esc)));
    for tid in [100, 200] {
        feed(
            &mut v,
            RunMsg::Ended {
                pid: tid,
                tid,
                comm: String::new(),
                end: End::Signal(9),
            },
        );
    }
    v.update(Msg::Feed(RunFeed::Over));
    let text = draw_shell(&v, 80, 24).backend().to_string();
    assert!(text.contains("the programs have ended"), "{text}");
    assert!(text.contains("killed by signal 9"), "{text}");
    assert!(
        !text.contains("held:"),
        "nothing is held once they end:\n{text}"
    );
}

#[test]
fn a_click_on_a_row_reviews_it_and_the_wheel_moves_the_review() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let mut v = mid_session();
    v.update(Msg::Resize(120, 40));
    let text = draw_shell(&v, 120, 40).backend().to_string();
    // Each line of the backend's text is quoted; row numbers count from 0.
    let (row, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("bind(3, 127.0.0.1:8080) = 0"))
        .unwrap_or_else(|| panic!("{text}"));
    let column = line.trim_matches('"').find("bind(").unwrap() as u16;
    let at = |kind, column, row| {
        Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    v.update(at(
        MouseEventKind::Down(MouseButton::Left),
        column,
        row as u16,
    ));
    assert!(
        matches!(v.screen.rows.get(v.screen.review.unwrap()), Some(crate::run::Row::Call(c)) if c.event.call == Call::Bind),
        "{:?}",
        v.screen.review
    );
    v.update(at(MouseEventKind::ScrollDown, column, row as u16));
    let after = v.screen.review.unwrap();
    assert!(
        matches!(v.screen.rows.get(after), Some(crate::run::Row::Call(c)) if c.event.call == Call::Listen),
        "the wheel moves on one row"
    );
    // A click on the title bar reviews nothing.
    v.update(at(MouseEventKind::Down(MouseButton::Left), 5, 0));
    assert_eq!(v.screen.review, Some(after));
}
