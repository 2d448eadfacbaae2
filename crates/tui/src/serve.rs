//! The `sockscope serve` screen's state: one lane for the server's own calls
//! and one per peer, filled from the server's events, with the command a
//! student pastes to connect. Like [`super::app`], it is plain data changed by
//! one pure function, [`update`]; the run loop in [`super::run_serve`] does
//! the I/O and [`super::ui::serve`] draws it.
//!
//! Peers are strangers and sessions can be long, so everything is bounded:
//! each lane keeps its last [`ROWS_PER_LANE`] calls, and the screen keeps the
//! last [`LANES_KEPT`] peers' lanes (closed ones go first). Counters keep the
//! totals, and each lane counts the calls it let go, so a handout (`e`) can
//! say what it no longer holds.
//!
//! The presenter keys work as on the lesson screen: `?` help, `P` presenter
//! mode, `b` blank, `f` freeze the picture while the server goes on serving, `e` write
//! a markdown handout of what the screen holds (see [`sockscope_report::handout::serve`]).

use super::keys::{self, Action};
use crate::config::KeyMap;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sockscope_core::engine::serve::{connect_command, exposure_warning, python_command};
use sockscope_core::engine::{Call, EngineMsg, Event, Proto, Waiting};
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Calls kept per lane: more than any screen shows.
pub const ROWS_PER_LANE: usize = 64;
/// Peer lanes kept. The screen shows as many of the newest as fit.
pub const LANES_KEPT: usize = 32;

/// One row of a lane.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Call(Box<Event>),
    /// The call the kernel said must wait; replaced when it returns.
    Waiting(Waiting),
}

/// One endpoint's column: the server, or one peer's connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// `server`, `peer1`, ...
    pub actor: String,
    /// The peer's address as accept (or recvfrom) reported it.
    pub peer: Option<String>,
    /// The connection's socket has been closed.
    pub closed: bool,
    pub rows: VecDeque<Row>,
    /// Calls let go to keep the lane bounded (the oldest first).
    pub dropped: u64,
}

impl Lane {
    fn new(actor: &str, peer: Option<String>) -> Lane {
        Lane {
            actor: actor.to_string(),
            peer,
            closed: false,
            rows: VecDeque::new(),
            dropped: 0,
        }
    }

    fn push(&mut self, row: Row) {
        // A returned call replaces its own waiting notice.
        if let (Row::Call(e), Some(Row::Waiting(w))) = (&row, self.rows.back())
            && w.call == e.call
        {
            self.rows.pop_back();
        }
        if self.rows.len() == ROWS_PER_LANE {
            self.rows.pop_front();
            self.dropped += 1;
        }
        self.rows.push_back(row);
    }
}

/// Everything the serve screen shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeView {
    pub proto: Proto,
    /// The address the server really holds.
    pub local: SocketAddr,
    /// What a student types to connect.
    pub connect: String,
    pub python: String,
    /// Set when the server is reachable from the network.
    pub warning: Option<String>,
    pub server: Lane,
    /// Peer lanes, oldest first.
    pub peers: VecDeque<Lane>,
    /// Connections accepted (or UDP senders seen) in total.
    pub peers_total: u64,
    /// Payload bytes echoed back in total.
    pub bytes_echoed: u64,
    pub keys: KeyMap,
    pub present: bool,
    pub blank: bool,
    /// What the screen showed when it was frozen (`f`); the server goes on
    /// serving behind it, and thawing shows the present.
    pub frozen: Option<Box<ServeView>>,
    /// A one-line message for the presenter (where a handout went), until
    /// the next key.
    pub notice: Option<String>,
    /// The help (`?`) is open, scrolled this many rows down.
    pub help: Option<u16>,
    /// The terminal's size in cells: how far the help can scroll depends
    /// on it.
    pub size: (u16, u16),
}

/// What the run loop must do after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeEffect {
    None,
    /// Write a markdown handout of what the screen holds now
    /// ([`ServeView::handout`]) and report where with [`ServeView::notice`].
    Handout,
    Quit,
}

impl ServeView {
    pub fn new(proto: Proto, local: SocketAddr, bind: SocketAddr) -> ServeView {
        ServeView {
            proto,
            local,
            connect: connect_command(proto, local),
            python: python_command(proto, local),
            warning: exposure_warning(bind),
            server: Lane::new("server", None),
            peers: VecDeque::new(),
            peers_total: 0,
            bytes_echoed: 0,
            keys: KeyMap::default(),
            present: false,
            blank: false,
            frozen: None,
            notice: None,
            help: None,
            size: super::app::DEFAULT_SIZE,
        }
    }

    /// The handout of the session as the screen holds it now: every lane
    /// kept, every call in it, and what was let go, counted.
    pub fn handout(&self) -> String {
        use sockscope_report::handout::serve::{Session, SessionLane, SessionRow};
        fn lane(l: &Lane) -> SessionLane<'_> {
            SessionLane {
                actor: &l.actor,
                peer: l.peer.as_deref(),
                closed: (l.actor != "server").then_some(l.closed),
                dropped: l.dropped,
                rows: l
                    .rows
                    .iter()
                    .map(|r| match r {
                        Row::Call(e) => SessionRow::Call(e),
                        Row::Waiting(w) => SessionRow::Waiting(w),
                    })
                    .collect(),
            }
        }
        let session = Session {
            proto: self.proto,
            local: self.local,
            connect: &self.connect,
            warning: self.warning.as_deref(),
            peers_total: self.peers_total,
            peers_open: self.peers_open(),
            bytes_echoed: self.bytes_echoed,
            lanes: std::iter::once(&self.server)
                .chain(&self.peers)
                .map(lane)
                .collect(),
        };
        sockscope_report::handout::serve::render(&session)
    }

    /// Connections open now.
    pub fn peers_open(&self) -> usize {
        self.peers.iter().filter(|l| !l.closed).count()
    }

    fn lane(&mut self, actor: &str, peer: Option<String>) -> &mut Lane {
        if actor == "server" {
            return &mut self.server;
        }
        if let Some(i) = self.peers.iter().position(|l| l.actor == actor) {
            return &mut self.peers[i];
        }
        self.peers_total += 1;
        if self.peers.len() == LANES_KEPT {
            // Make room: the oldest closed lane, else the oldest.
            let i = self.peers.iter().position(|l| l.closed).unwrap_or(0);
            self.peers.remove(i);
        }
        self.peers.push_back(Lane::new(actor, peer));
        self.peers.back_mut().expect("just pushed")
    }

    fn on_event(&mut self, e: Event) {
        // accept opens the peer's lane, named in its flags.
        if e.call == Call::Accept && e.ok() {
            let lane = e.flags.iter().find_map(|f| f.strip_prefix("lane "));
            if let Some(actor) = lane.map(str::to_string) {
                self.lane(&actor, e.peer.clone());
            }
        }
        if matches!(e.call, Call::Send | Call::Sendto) && e.ok() {
            self.bytes_echoed += e.bytes.unwrap_or(0) as u64;
        }
        let closes = e.call == Call::Close;
        let actor = e.actor.clone();
        let peer = e.peer.clone();
        let lane = self.lane(&actor, peer);
        if closes {
            lane.closed = true;
        }
        lane.push(Row::Call(Box::new(e)));
    }
}

/// Apply one message. Pure.
pub fn on_engine(view: &mut ServeView, msg: EngineMsg) {
    match msg {
        EngineMsg::Event(e) => view.on_event(*e),
        EngineMsg::Waiting(w) => {
            let actor = w.actor.clone();
            view.lane(&actor, None).push(Row::Waiting(w));
        }
        EngineMsg::Finished | EngineMsg::Failed(_) => {}
    }
}

/// Apply one key. Pure.
pub fn on_key(view: &mut ServeView, key: KeyEvent) -> ServeEffect {
    let action = keys::action(key, &view.keys);
    // A notice is read by the time the presenter presses the next key.
    view.notice = None;
    if view.blank {
        view.blank = false;
        let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL);
        return if ctrl_c && action == Some(Action::Quit) {
            ServeEffect::Quit
        } else {
            ServeEffect::None
        };
    }
    if let Some(scroll) = view.help {
        // The presenter keys below still work over the help.
        match action {
            Some(Action::Close | Action::Help) => {
                view.help = None;
                return ServeEffect::None;
            }
            Some(Action::Quit) => return ServeEffect::Quit,
            Some(Action::Present | Action::Blank | Action::Freeze | Action::Handout) => {}
            _ => {
                view.help = Some(scrolled(view, scroll, key.code));
                return ServeEffect::None;
            }
        }
    }
    match action {
        Some(Action::Quit) => ServeEffect::Quit,
        Some(Action::Help) => {
            view.help = Some(0);
            ServeEffect::None
        }
        Some(Action::Present) => {
            view.present = !view.present;
            ServeEffect::None
        }
        Some(Action::Blank) => {
            view.blank = true;
            ServeEffect::None
        }
        Some(Action::Freeze) => {
            view.frozen = match view.frozen.take() {
                Some(_) => None,
                None => Some(Box::new(view.clone())),
            };
            ServeEffect::None
        }
        Some(Action::Handout) => ServeEffect::Handout,
        _ => ServeEffect::None,
    }
}

/// The help's scroll position after `code`: ↑ ↓ k j a row, PgUp PgDn (and
/// Space) a page, Home End the ends; any other key leaves it.
fn scrolled(view: &ServeView, scroll: u16, code: KeyCode) -> u16 {
    use super::ui::{help, scroll};
    let area = ratatui::layout::Rect::new(0, 0, view.size.0, view.size.1);
    // Rows depend on text and width only: any theme counts them the same.
    let spec = super::theme::ThemeSpec::builtin(super::theme::ThemeName::default());
    let theme = super::theme::Theme::new(&spec, true, false);
    let (max, page) = help::limits(&view.keys, help::Screen::Serve, area, &theme);
    scroll::moved(scroll, scroll::delta(code, page).unwrap_or(0), max)
}

/// The terminal's new size.
pub fn on_resize(view: &mut ServeView, width: u16, height: u16) {
    view.size = (width, height);
}

/// Say something on the key bar (where a handout went, or why not).
pub fn on_notice(view: &mut ServeView, notice: String) {
    view.notice = Some(notice);
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn ev(seq: u64, actor: &str, call: Call, f: impl FnOnce(&mut Event)) -> EngineMsg {
        let mut e = Event {
            seq,
            t_us: seq * 100,
            local: Some("127.0.0.1:7000".into()),
            args: "9".into(),
            ..Event::new(actor, call, "conn", Proto::Tcp, Some(9))
        };
        f(&mut e);
        EngineMsg::Event(Box::new(e))
    }

    fn view() -> ServeView {
        let a: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        ServeView::new(Proto::Tcp, a, a)
    }

    #[test]
    fn accept_opens_a_lane_and_close_marks_it_closed() {
        let mut v = view();
        on_engine(
            &mut v,
            ev(1, "server", Call::Accept, |e| {
                e.peer = Some("127.0.0.1:50000".into());
                e.flags = vec!["lane peer1".into()];
            }),
        );
        assert_eq!(v.peers.len(), 1);
        assert_eq!(v.peers[0].peer.as_deref(), Some("127.0.0.1:50000"));
        on_engine(&mut v, ev(2, "peer1", Call::Send, |e| e.bytes = Some(5)));
        on_engine(&mut v, ev(3, "peer1", Call::Close, |_| {}));
        assert!(v.peers[0].closed);
        assert_eq!(v.peers_open(), 0);
        assert_eq!(v.bytes_echoed, 5);
        assert_eq!(v.peers_total, 1);
    }

    #[test]
    fn lanes_and_rows_are_bounded() {
        let mut v = view();
        for n in 0..(LANES_KEPT as u64 + 10) {
            let lane = format!("peer{n}");
            on_engine(
                &mut v,
                ev(n, "server", Call::Accept, |e| {
                    e.flags = vec![format!("lane {lane}")]
                }),
            );
        }
        assert_eq!(v.peers.len(), LANES_KEPT);
        assert_eq!(v.peers_total, LANES_KEPT as u64 + 10);
        for n in 0..(ROWS_PER_LANE as u64 * 3) {
            on_engine(&mut v, ev(n, "peer40", Call::Recv, |e| e.bytes = Some(1)));
        }
        let lane = v.peers.iter().find(|l| l.actor == "peer40").unwrap();
        assert_eq!(lane.rows.len(), ROWS_PER_LANE);
    }

    #[test]
    fn keys_quit_blank_and_present() {
        let mut v = view();
        let k = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(on_key(&mut v, k('P')), ServeEffect::None);
        assert!(v.present);
        on_key(&mut v, k('b'));
        assert!(v.blank);
        assert_eq!(on_key(&mut v, k('q')), ServeEffect::None, "q only unblanks");
        assert_eq!(on_key(&mut v, k('q')), ServeEffect::Quit);
    }

    #[test]
    fn help_opens_scrolls_and_closes_and_presenter_keys_work_over_it() {
        let mut v = view();
        v.size = (60, 12);
        assert_eq!(on_key(&mut v, k2('?')), ServeEffect::None);
        assert_eq!(v.help, Some(0));
        on_key(&mut v, KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
        assert_eq!(v.help, Some(1));
        on_key(&mut v, KeyEvent::new(KeyCode::Home, KeyModifiers::NONE));
        assert_eq!(v.help, Some(0));
        // P still toggles presenter mode; the help stays open.
        on_key(&mut v, k2('P'));
        assert!(v.present);
        assert_eq!(v.help, Some(0));
        // e still asks for a handout from the help.
        assert_eq!(on_key(&mut v, k2('e')), ServeEffect::Handout);
        on_key(&mut v, k2('?'));
        assert_eq!(v.help, None, "? closes it again");
        on_key(&mut v, k2('?'));
        assert_eq!(
            on_key(&mut v, k2('q')),
            ServeEffect::Quit,
            "q quits from the help"
        );
    }

    fn k2(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn accept(seq: u64, lane: &str, peer: &str) -> EngineMsg {
        ev(seq, "server", Call::Accept, |e| {
            e.new_fd = Some(10);
            e.peer = Some(peer.into());
            e.flags = vec![format!("lane {lane}")];
        })
    }

    #[test]
    fn f_freezes_the_picture_while_the_server_goes_on() {
        let mut v = view();
        on_engine(&mut v, accept(1, "peer1", "127.0.0.1:50000"));
        assert_eq!(on_key(&mut v, key('f')), ServeEffect::None);
        let still = v.frozen.clone().expect("frozen");
        assert_eq!(still.peers.len(), 1);
        // The server goes on: a new peer, bytes echoed, all in the live view.
        on_engine(&mut v, accept(2, "peer2", "127.0.0.1:50002"));
        on_engine(&mut v, ev(3, "peer2", Call::Send, |e| e.bytes = Some(4)));
        assert_eq!(v.peers.len(), 2);
        assert_eq!(v.bytes_echoed, 4);
        assert_eq!(
            v.frozen.as_deref(),
            Some(&*still),
            "the picture did not move"
        );
        // Presenter keys still work while frozen; f again shows the present.
        on_key(&mut v, key('P'));
        assert!(v.present);
        on_key(&mut v, key('f'));
        assert!(v.frozen.is_none());
    }

    #[test]
    fn e_asks_for_a_handout_of_what_the_screen_holds() {
        let mut v = view();
        on_engine(&mut v, accept(1, "peer1", "127.0.0.1:50000"));
        on_engine(
            &mut v,
            ev(2, "peer1", Call::Recv, |e| {
                e.args = "10, 4096".into();
                e.bytes = Some(3);
                e.data = Some("hi\\n".into());
            }),
        );
        on_key(&mut v, key('f'));
        on_engine(&mut v, ev(3, "peer1", Call::Close, |_| {}));
        // The handout is of the live session, as on the lesson screen, even
        // while the picture is frozen.
        assert_eq!(on_key(&mut v, key('e')), ServeEffect::Handout);
        let md = v.handout();
        assert!(md.contains("## peer1 · 127.0.0.1:50000 · closed"), "{md}");
        assert!(md.contains("accept(9) = 10  from 127.0.0.1:50000"), "{md}");
        assert!(md.contains("recv(10, 4096) = 3  \"hi\\n\""), "{md}");
        assert!(md.contains("close(9) = 0"), "{md}");
        assert!(md.contains("1 peer connected, 0 still open; 0 bytes echoed"));
        // The run loop saves it and says where, until the next key.
        on_notice(&mut v, "Handout written: sockscope-serve.md".into());
        assert_eq!(
            v.notice.as_deref(),
            Some("Handout written: sockscope-serve.md")
        );
        on_key(&mut v, key('P'));
        assert_eq!(v.notice, None);
    }

    #[test]
    fn the_handout_counts_the_calls_a_lane_let_go() {
        let mut v = view();
        on_engine(&mut v, accept(1, "peer1", "127.0.0.1:50000"));
        for n in 0..(ROWS_PER_LANE as u64 + 5) {
            on_engine(
                &mut v,
                ev(n + 2, "peer1", Call::Recv, |e| e.bytes = Some(1)),
            );
        }
        assert_eq!(v.peers[0].dropped, 5);
        let md = v.handout();
        assert!(
            md.contains(&format!(
                "The first 5 calls of this lane are no longer kept; these are the last {ROWS_PER_LANE}."
            )),
            "{md}"
        );
    }

    #[test]
    fn a_saved_serve_handout_never_overwrites_another() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = view();
        on_engine(&mut v, accept(1, "peer1", "127.0.0.1:50000"));
        let a = sockscope_report::handout::save_text(dir.path(), "serve", &v.handout()).unwrap();
        let b = sockscope_report::handout::save_text(dir.path(), "serve", &v.handout()).unwrap();
        assert_eq!(a.file_name().unwrap(), "sockscope-serve.md");
        assert_eq!(b.file_name().unwrap(), "sockscope-serve-2.md");
        let text = std::fs::read_to_string(a).unwrap();
        assert!(text.starts_with("# sockscope serve: TCP echo server on 127.0.0.1:7000"));
    }
}
