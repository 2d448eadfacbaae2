//! The shell's layers, on a stand-in screen that records what reaches it:
//! what every screen gets from the shell without writing it (the lesson
//! and serve screens' own tests check the same through their real state).

use super::*;
use crate::widgets::text::Text;
use crossterm::event::{KeyCode, KeyModifiers, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::text::Line;

/// A screen that keeps every message it gets.
#[derive(Debug, Clone, PartialEq)]
struct Probe {
    keys: KeyMap,
    notice: Option<String>,
    got: Vec<Msg<u8>>,
    typing: bool,
    modal: bool,
    /// Rows of its long text; none: it has no text.
    text_rows: Option<usize>,
    count: u32,
    /// Set on the picture `still` makes.
    still: bool,
}

impl Probe {
    fn new() -> Probe {
        Probe {
            keys: KeyMap::default(),
            notice: None,
            got: Vec::new(),
            typing: false,
            modal: false,
            text_rows: Some(100),
            count: 0,
            still: false,
        }
    }

    fn keys_got(&self) -> Vec<KeyCode> {
        self.got
            .iter()
            .filter_map(|m| match m {
                Msg::Key(k) => Some(k.code),
                _ => None,
            })
            .collect()
    }
}

impl Screen for Probe {
    const KIND: ScreenKind = ScreenKind::Lesson;
    const MIN_SIZE: (u16, u16) = (30, 10);
    type Feed = u8;
    type Effect = u8;

    fn update(&mut self, msg: Msg<u8>) -> Effect<u8> {
        self.got.push(msg.clone());
        match msg {
            Msg::Key(k) if k.code == KeyCode::Char('x') => Effect::Screen(7),
            Msg::Key(k) if k.code == KeyCode::Char('L') => {
                self.modal = true;
                Effect::None
            }
            Msg::Feed(n) => {
                self.count += u32::from(n);
                Effect::None
            }
            _ => Effect::None,
        }
    }

    fn render(frame: &mut Frame, area: Rect, shell: &Shell<Probe>, _: &Theme) {
        let text = format!("probe {} │", shell.shown().count);
        frame.render_widget(ratatui::widgets::Paragraph::new(text), area);
    }

    fn keys(&self) -> &KeyMap {
        &self.keys
    }

    fn notice(&mut self) -> &mut Option<String> {
        &mut self.notice
    }

    fn legend(&self, g: &Glyphs) -> Vec<(String, String)> {
        vec![(g.ok.to_string(), "it held".into())]
    }

    fn handout(&self) -> Handout {
        Handout {
            stem: "probe".into(),
            markdown: format!("count {}", self.count),
        }
    }

    fn text(&self, _: &Theme) -> Option<Text<'_>> {
        let rows = self.text_rows?;
        Some(Text {
            title: format!(" count {} ", self.count),
            lines: (0..rows).map(|n| Line::raw(format!("row {n}"))).collect(),
        })
    }

    fn typing(&self) -> bool {
        self.typing
    }

    fn modal(&self) -> bool {
        self.modal
    }

    fn still(&self) -> Probe {
        Probe {
            still: true,
            ..self.clone()
        }
    }
}

fn shell() -> Shell<Probe> {
    Shell::new(Probe::new(), Themes::default())
}

fn key(c: char) -> Msg<u8> {
    code(KeyCode::Char(c))
}

fn code(c: KeyCode) -> Msg<u8> {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn ctrl_c() -> Msg<u8> {
    Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
}

fn screen(s: &Shell<Probe>) -> String {
    let mut t = Terminal::new(TestBackend::new(s.size.0, s.size.1)).unwrap();
    t.draw(|f| s.draw(f)).unwrap();
    t.backend().to_string()
}

#[test]
fn keys_no_layer_wants_reach_the_screen_with_their_effect() {
    let mut s = shell();
    assert_eq!(s.update(key('x')), Effect::Screen(7));
    assert_eq!(s.update(key(' ')), Effect::None);
    assert_eq!(
        s.screen.keys_got(),
        [KeyCode::Char('x'), KeyCode::Char(' ')]
    );
}

#[test]
fn ctrl_c_quits_from_every_layer() {
    for setup in [&[][..], &[key('b')], &[key('?')], &[key('m')], &[key('f')]] {
        let mut s = shell();
        for m in setup {
            s.update(m.clone());
        }
        assert_eq!(s.update(ctrl_c()), Effect::Quit, "{setup:?}");
    }
    let mut s = shell();
    s.screen.typing = true;
    assert_eq!(s.update(ctrl_c()), Effect::Quit, "even from a prompt");
    assert!(s.screen.got.is_empty(), "the prompt never saw it");
}

#[test]
fn blank_takes_the_next_key_whatever_it_is() {
    let mut s = shell();
    s.update(key('b'));
    assert!(s.blank);
    assert_eq!(s.update(key('x')), Effect::None);
    assert!(!s.blank);
    assert!(s.screen.got.is_empty(), "x did nothing else");
    s.update(key('.'));
    assert_eq!(s.update(key('q')), Effect::None, "q only unblanks");
    // Feeds and ticks go on behind a blank screen.
    s.update(key('b'));
    s.update(Msg::Feed(3));
    s.update(Msg::Tick);
    assert_eq!(s.screen.count, 3);
    assert!(s.blank);
}

#[test]
fn a_prompt_takes_every_key_even_the_presenter_keys() {
    let mut s = shell();
    s.screen.typing = true;
    for c in ['P', 'b', 'f', 'e', '?', 'm', 'q'] {
        assert_eq!(s.update(key(c)), Effect::None, "{c}");
    }
    assert!(!s.present && !s.blank && s.frozen.is_none() && s.window.is_none());
    assert_eq!(s.screen.keys_got().len(), 7);
}

#[test]
fn presenter_keys_toggle_and_are_not_passed_on() {
    let mut s = shell();
    s.update(key('P'));
    assert!(s.present);
    assert_eq!(s.theme(), &s.themes.present);
    s.update(key('P'));
    assert_eq!(s.theme(), &s.themes.normal);
    s.update(key('f'));
    assert!(
        s.frozen.as_ref().unwrap().still,
        "the picture is the screen's still"
    );
    s.update(key('f'));
    assert!(s.frozen.is_none());
    assert!(s.screen.got.is_empty());
}

#[test]
fn the_handout_is_of_the_live_screen_even_while_frozen() {
    let mut s = shell();
    s.update(Msg::Feed(1));
    s.update(key('f'));
    s.update(Msg::Feed(2));
    assert_eq!(s.shown().count, 1);
    let Effect::Handout(h) = s.update(key('e')) else {
        panic!("e asks for a handout")
    };
    assert_eq!((h.stem.as_str(), h.markdown.as_str()), ("probe", "count 3"));
}

#[test]
fn windows_open_take_every_key_and_close() {
    let mut s = shell();
    s.update(key('?'));
    assert_eq!((s.window, s.scroll), (Some(Window::Help), 0));
    // Keys the screen would take scroll (or do nothing) while it is open.
    assert_eq!(s.update(key('x')), Effect::None);
    assert_eq!(s.update(key(' ')), Effect::None);
    assert!(s.screen.got.iter().all(|m| !matches!(m, Msg::Key(_))));
    // m switches to the text, at its top; m again closes it.
    s.update(key('m'));
    assert_eq!((s.window, s.scroll), (Some(Window::Text), 0));
    s.update(code(KeyCode::End));
    let (max, _) = s.scroll_limits();
    assert!(max > 0);
    assert_eq!(s.scroll, max);
    s.update(key('m'));
    assert_eq!(s.window, None);
    // Esc closes either; q quits from either.
    s.update(key('?'));
    s.update(code(KeyCode::Esc));
    assert_eq!(s.window, None);
    s.update(key('m'));
    assert_eq!(s.update(key('q')), Effect::Quit);
}

#[test]
fn a_screen_without_text_opens_no_text_window() {
    let mut s = shell();
    s.screen.text_rows = None;
    s.update(key('m'));
    assert_eq!(s.window, None);
    assert_eq!(
        s.screen.keys_got(),
        [KeyCode::Char('m')],
        "m is the screen's"
    );
    s.update(key('?'));
    s.update(key('m'));
    assert_eq!(s.window, Some(Window::Help), "the help stays");
}

#[test]
fn scrolling_stops_at_the_end_and_follows_the_size() {
    let mut s = shell();
    s.update(Msg::Resize(80, 24));
    s.update(key('m'));
    let (max, page) = s.scroll_limits();
    assert_eq!(max, 100 - (22 - 2), "100 rows in a window of 20");
    assert_eq!(page, 19, "a page keeps a row of context");
    s.update(code(KeyCode::PageDown));
    assert_eq!(s.scroll, page);
    for _ in 0..20 {
        s.update(code(KeyCode::PageDown));
    }
    assert_eq!(s.scroll, max);
    s.update(Msg::Resize(80, 200));
    assert_eq!(s.scroll_limits().0, 0, "it all fits now");
    s.update(code(KeyCode::Up));
    assert_eq!(s.scroll, 0, "back inside the smaller end");
}

#[test]
fn a_window_reads_the_picture_on_screen() {
    let mut s = shell();
    s.update(Msg::Feed(1));
    s.update(key('f'));
    s.update(Msg::Feed(5));
    s.update(key('m'));
    assert_eq!(s.shown().text(s.theme()).unwrap().title, " count 1 ");
    s.update(Msg::Resize(80, 24));
    assert!(screen(&s).contains("count 1"), "the frozen picture's text");
    // Thawing keeps the window, now over the live picture.
    s.update(key('f'));
    assert_eq!(s.window, Some(Window::Text));
    assert!(screen(&s).contains("count 6"));
}

#[test]
fn a_modal_window_of_the_screens_keeps_the_shells_windows_shut_and_ends_a_freeze() {
    let mut s = shell();
    s.update(key('f'));
    s.update(key('L'));
    assert!(s.screen.modal);
    assert!(s.frozen.is_none(), "the screen's window is seen");
    s.update(key('?'));
    s.update(key('m'));
    assert_eq!(s.window, None);
    assert!(
        s.screen
            .keys_got()
            .ends_with(&[KeyCode::Char('?'), KeyCode::Char('m')])
    );
    // A freeze taken while it is open stays until the screen opens another.
    s.update(key('f'));
    s.update(code(KeyCode::Down));
    assert!(s.frozen.is_some());
}

#[test]
fn a_notice_is_written_by_the_shell_and_kept_as_the_screen_says() {
    let mut s = shell();
    assert_eq!(s.update(Msg::Notice("written".into())), Effect::None);
    assert_eq!(s.screen.notice.as_deref(), Some("written"));
    assert!(s.screen.got.is_empty(), "the screen never gets it");
    // This screen keeps notices until it clears them itself.
    s.update(key('x'));
    s.update(key('P'));
    assert_eq!(s.screen.notice.as_deref(), Some("written"));
}

#[test]
fn resizes_ticks_feeds_and_mice_reach_the_screen() {
    let mut s = shell();
    s.update(Msg::Resize(100, 30));
    assert_eq!(s.size, (100, 30));
    s.update(Msg::Tick);
    s.update(Msg::Feed(4));
    let click = Msg::Mouse(crossterm::event::MouseEvent {
        kind: MouseEventKind::Down(crossterm::event::MouseButton::Left),
        column: 1,
        row: 2,
        modifiers: KeyModifiers::NONE,
    });
    s.update(click.clone());
    assert_eq!(
        s.screen.got,
        [Msg::Resize(100, 30), Msg::Tick, Msg::Feed(4), click.clone()]
    );
    // Not while blank: a click is not meant for what is hidden.
    s.update(key('b'));
    s.update(click);
    assert_eq!(s.screen.got.len(), 4);
}

#[test]
fn the_frame_is_blank_too_small_or_the_screen_with_its_window() {
    let mut s = shell();
    s.update(Msg::Resize(40, 12));
    assert!(screen(&s).contains("probe 0"));
    s.update(key('b'));
    assert!(
        screen(&s)
            .trim_matches(|c: char| c == ' ' || c == '"' || c == '\n')
            .is_empty()
    );
    s.update(key('b'));
    s.update(Msg::Resize(29, 12));
    let small = screen(&s);
    assert!(small.contains("at least 30×10"), "{small}");
    s.update(Msg::Resize(40, 12));
    s.update(key('?'));
    assert!(screen(&s).contains("Keys · Esc closes"));
    s.update(code(KeyCode::End));
    let end = screen(&s);
    assert!(
        end.contains("it held"),
        "the screen's legend ends it: {end}"
    );
}

#[test]
fn ascii_replaces_what_the_screen_drew() {
    let mut s = shell();
    s.themes = Themes::only(Theme::new(
        &crate::theme::ThemeColors::builtin(crate::theme::ThemeName::Dark),
        false,
        true,
    ));
    s.update(Msg::Resize(40, 12));
    let text = screen(&s);
    assert!(text.contains("probe 0 |"), "{text}");
    assert!(text.is_ascii());
}
