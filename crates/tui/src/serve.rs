//! The `sockscope serve` screen's state: one lane for the server's own calls
//! and one per peer, filled from the server's events, with the command a
//! student pastes to connect. Like the lesson screen's, it is plain data
//! changed by one pure function, [`ServeView::update`]; the shell's loop
//! does the I/O and `crate::ui::serve` draws it.
//!
//! Peers are strangers and sessions can be long, so everything is bounded:
//! each lane keeps its last [`ROWS_PER_LANE`] calls, and the screen keeps the
//! last [`LANES_KEPT`] peers' lanes (closed ones go first); each lane counts
//! the calls it let go, so a handout (`e`) can say what it no longer holds.
//!
//! The counts (peers seen, open, bytes) and the table of every peer are not
//! worked out from the lanes: lanes come and go, and counting them counted
//! a peer again each time its lane was let go and made anew (10 peers and
//! then 100 showed as 210). The server counts what it does itself
//! (`Server::stats`, `Server::peers`); the screen reads those every
//! [`HALL_REFRESH`] ([`ServeEffect::ReadHall`], carried out by the driver)
//! and shows them as read: a [`Hall`].
//!
//! The presenter keys are the shell's, the same as on the lesson screen:
//! `?` help, `P` presenter mode, `b` blank, `f` freeze the picture while the
//! server goes on serving, `e` write a markdown handout of what the screen
//! holds (see [`ServeView::handout`]). The serve screen has no keys of its
//! own.

use crate::keys::{Action, KeyMap};
use crate::shell::{Effect, Msg};
use sockscope_core::engine::serve::{
    PeerRow, Stats, connect_command, exposure_warning, python_command,
};
use sockscope_core::engine::{Call, EngineMsg, Event, Proto, Waiting};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How often the screen reads the server's counts and peers: often enough
/// that a count is never a second old, seldom enough to cost nothing.
pub const HALL_REFRESH: Duration = Duration::from_millis(250);

/// The server's own counts and its peers, as read at `read_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hall {
    pub stats: Stats,
    /// Every open peer in the order they came, then the latest closed.
    pub peers: Vec<PeerRow>,
    /// When they were read: a peer's idle time is `read_at - last_heard`,
    /// so the screen's update stays free of the clock.
    pub read_at: Instant,
}

impl Hall {
    /// How long `peer` had been silent when this was read.
    #[must_use]
    pub fn idle(&self, peer: &PeerRow) -> Duration {
        self.read_at.saturating_duration_since(peer.last_heard)
    }
}

/// What the serve screen is fed: the server's calls as they happen, and
/// its counts as the driver reads them.
#[derive(Debug, Clone, PartialEq)]
pub enum ServeFeed {
    Server(EngineMsg),
    Hall(Box<Hall>),
}

/// The order of the peers table; `s` moves to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerSort {
    /// As they came (the server's own order).
    #[default]
    Arrival,
    Address,
    /// Most bytes received first: who is sending the most.
    BytesIn,
    /// Longest silent first: who is asleep (or a slowloris script).
    Idle,
    /// Open first, then how each ended.
    State,
}

impl PeerSort {
    /// The next order, round the cycle.
    #[must_use]
    pub fn next(self) -> PeerSort {
        match self {
            PeerSort::Arrival => PeerSort::Address,
            PeerSort::Address => PeerSort::BytesIn,
            PeerSort::BytesIn => PeerSort::Idle,
            PeerSort::Idle => PeerSort::State,
            PeerSort::State => PeerSort::Arrival,
        }
    }

    /// How the table's title says it is sorted.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            PeerSort::Arrival => "arrival",
            PeerSort::Address => "address",
            PeerSort::BytesIn => "bytes in",
            PeerSort::Idle => "idle",
            PeerSort::State => "state",
        }
    }

    /// `peers` in this order (a stable sort: ties keep arrival order).
    #[must_use]
    pub fn sorted(self, hall: &Hall) -> Vec<&PeerRow> {
        let mut rows: Vec<&PeerRow> = hall.peers.iter().collect();
        match self {
            PeerSort::Arrival => {}
            PeerSort::Address => rows.sort_by_key(|p| p.addr),
            PeerSort::BytesIn => rows.sort_by_key(|p| std::cmp::Reverse(p.bytes_in)),
            PeerSort::Idle => rows.sort_by_key(|p| std::cmp::Reverse(hall.idle(p))),
            // Compared in place: a key of its own would copy every state
            // string at each of the sort's comparisons, every frame.
            PeerSort::State => {
                rows.sort_by(|a, b| {
                    (a.state != "open", &a.state).cmp(&(b.state != "open", &b.state))
                });
            }
        }
        rows
    }
}

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
    /// The server's counts and peers as last read; `None` until the first
    /// read (the loop's first moment).
    pub hall: Option<Hall>,
    /// The peers table's order.
    pub sort: PeerSort,
    /// Rows of the peers table scrolled past.
    pub table_scroll: usize,
    /// The key bindings in force (the config file's, or the defaults).
    pub keys: KeyMap,
    /// A one-line message for the presenter (where a handout went), until
    /// the next key.
    pub notice: Option<String>,
}

/// What the serve screen asks of its driver: the server runs on its own,
/// the screen only reads its counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeEffect {
    /// Read `Server::stats` and `Server::peers`, and send them back as a
    /// [`ServeFeed::Hall`].
    ReadHall,
}

impl ServeView {
    #[must_use]
    pub fn new(proto: Proto, local: SocketAddr, bind: SocketAddr) -> ServeView {
        ServeView {
            proto,
            local,
            connect: connect_command(proto, local),
            python: python_command(proto, local),
            // The address asked for, with the port the kernel really chose.
            warning: exposure_warning(SocketAddr::new(bind.ip(), local.port())),
            server: Lane::new("server", None),
            peers: VecDeque::new(),
            hall: None,
            sort: PeerSort::default(),
            table_scroll: 0,
            keys: KeyMap::default(),
            notice: None,
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
        let stats = self.stats();
        let session = Session {
            proto: self.proto,
            local: self.local,
            connect: &self.connect,
            warning: self.warning.as_deref(),
            peers_total: stats.seen,
            peers_open: usize::try_from(stats.open).unwrap_or(usize::MAX),
            bytes_echoed: stats.bytes_out,
            lanes: std::iter::once(&self.server)
                .chain(&self.peers)
                .map(lane)
                .collect(),
        };
        sockscope_report::handout::serve::render(&session)
    }

    /// The server's counts as last read (all zero before the first read).
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.hall.as_ref().map(|h| h.stats).unwrap_or_default()
    }

    fn lane(&mut self, actor: &str, peer: Option<String>) -> &mut Lane {
        if actor == "server" {
            return &mut self.server;
        }
        if let Some(i) = self.peers.iter().position(|l| l.actor == actor) {
            return &mut self.peers[i];
        }
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

impl ServeView {
    /// Apply one message. Pure: no I/O, no clock.
    pub fn update(&mut self, msg: Msg<ServeFeed>) -> Effect<ServeEffect> {
        match msg {
            Msg::Feed(ServeFeed::Server(EngineMsg::Event(e))) => self.on_event(*e),
            Msg::Feed(ServeFeed::Server(EngineMsg::Waiting(w))) => {
                let actor = w.actor.clone();
                self.lane(&actor, None).push(Row::Waiting(w));
            }
            Msg::Feed(ServeFeed::Hall(h)) => {
                self.hall = Some(*h);
                self.table_scroll = self.table_scroll.min(self.table_rows().saturating_sub(1));
            }
            Msg::Key(k) => match crate::keys::action(k, &self.keys) {
                Some(Action::Sort) => {
                    self.sort = self.sort.next();
                    self.table_scroll = 0;
                }
                Some(Action::Down) => {
                    self.table_scroll =
                        (self.table_scroll + 1).min(self.table_rows().saturating_sub(1));
                }
                Some(Action::Up) => self.table_scroll = self.table_scroll.saturating_sub(1),
                _ => {}
            },
            // The server does not finish on its own; a failed setup never
            // opens the screen (see `crate::screens::serve`). No clicks or
            // timers of its own; notices are the shell's to write (see
            // `Screen::notice`).
            Msg::Feed(ServeFeed::Server(EngineMsg::Finished | EngineMsg::Failed(_)))
            | Msg::Mouse(_)
            | Msg::Resize(..)
            | Msg::Tick
            | Msg::Notice(_) => {}
        }
        Effect::None
    }

    /// Rows in the peers table.
    #[must_use]
    pub fn table_rows(&self) -> usize {
        self.hall.as_ref().map_or(0, |h| h.peers.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::{Shell, Window};
    use crate::theme::Themes;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    type TestShell = Shell<ServeView>;

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

    fn shell() -> TestShell {
        Shell::new(view(), Themes::default())
    }

    /// The server's message, as the loop hands it over.
    fn feed(s: &mut TestShell, m: EngineMsg) -> Effect<ServeEffect> {
        s.update(Msg::Feed(ServeFeed::Server(m)))
    }

    fn key(c: char) -> Msg<ServeFeed> {
        code(KeyCode::Char(c))
    }

    fn code(c: KeyCode) -> Msg<ServeFeed> {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn ctrl_c() -> Msg<ServeFeed> {
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
    }

    fn accept(seq: u64, lane: &str, peer: &str) -> EngineMsg {
        ev(seq, "server", Call::Accept, |e| {
            e.new_fd = Some(10);
            e.peer = Some(peer.into());
            e.flags = vec![format!("lane {lane}")];
        })
    }

    fn waiting(actor: &str, call: Call) -> EngineMsg {
        EngineMsg::Waiting(Waiting {
            step: 0,
            actor: actor.into(),
            call,
            sock: "conn".into(),
            fd: Some(10),
            args: "10, 4096".into(),
            t_us: 1,
            local: None,
            tcp_state: None,
            ..Default::default()
        })
    }

    #[test]
    fn accept_opens_a_lane_and_close_marks_it_closed() {
        let mut s = shell();
        feed(
            &mut s,
            ev(1, "server", Call::Accept, |e| {
                e.peer = Some("127.0.0.1:50000".into());
                e.flags = vec!["lane peer1".into()];
            }),
        );
        let v = &s.screen;
        assert_eq!(v.peers.len(), 1);
        assert_eq!(v.peers[0].peer.as_deref(), Some("127.0.0.1:50000"));
        feed(&mut s, ev(2, "peer1", Call::Send, |e| e.bytes = Some(5)));
        feed(&mut s, ev(3, "peer1", Call::Close, |_| {}));
        let v = &s.screen;
        assert!(v.peers[0].closed);
    }

    #[test]
    fn lanes_and_rows_are_bounded() {
        let mut s = shell();
        for n in 0..(LANES_KEPT as u64 + 10) {
            let lane = format!("peer{n}");
            feed(
                &mut s,
                ev(n, "server", Call::Accept, |e| {
                    e.flags = vec![format!("lane {lane}")];
                }),
            );
        }
        assert_eq!(s.screen.peers.len(), LANES_KEPT);
        for n in 0..(ROWS_PER_LANE as u64 * 3) {
            feed(&mut s, ev(n, "peer40", Call::Recv, |e| e.bytes = Some(1)));
        }
        let lane = s.screen.peers.iter().find(|l| l.actor == "peer40").unwrap();
        assert_eq!(lane.rows.len(), ROWS_PER_LANE);
    }

    #[test]
    fn a_returned_call_replaces_its_own_waiting_row_only() {
        let mut s = shell();
        feed(&mut s, accept(1, "peer1", "127.0.0.1:50000"));
        feed(&mut s, waiting("peer1", Call::Recv));
        assert!(matches!(
            s.screen.peers[0].rows.back(),
            Some(Row::Waiting(_))
        ));
        feed(&mut s, ev(2, "peer1", Call::Recv, |e| e.bytes = Some(3)));
        let rows = &s.screen.peers[0].rows;
        assert_eq!(rows.len(), 1, "the recv took its waiting row's place");
        assert!(matches!(&rows[0], Row::Call(e) if e.call == Call::Recv));
        // A different call returning leaves a waiting row standing.
        feed(&mut s, waiting("peer1", Call::Recv));
        feed(&mut s, ev(3, "peer1", Call::Send, |e| e.bytes = Some(3)));
        assert_eq!(s.screen.peers[0].rows.len(), 3);
    }

    #[test]
    fn a_failed_accept_opens_no_lane() {
        let mut s = shell();
        feed(
            &mut s,
            ev(1, "server", Call::Accept, |e| {
                e.result = sockscope_core::vocab::Outcome::errno(libc::EMFILE);
                e.errno = Some(24);
                e.flags = vec!["lane peer1".into()];
            }),
        );
        assert!(s.screen.peers.is_empty());
        assert_eq!(s.screen.server.rows.len(), 1, "the failed call is shown");
    }

    #[test]
    fn a_udp_sender_gets_its_lane_from_its_first_datagram() {
        let a: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        let mut s = Shell::new(ServeView::new(Proto::Udp, a, a), Themes::default());
        assert_eq!(s.screen.connect, "nc -u 127.0.0.1 7000");
        feed(
            &mut s,
            ev(1, "peer1", Call::Recvfrom, |e| {
                e.peer = Some("127.0.0.1:40000".into());
                e.bytes = Some(2);
            }),
        );
        assert_eq!(s.screen.peers.len(), 1);
        assert_eq!(s.screen.peers[0].peer.as_deref(), Some("127.0.0.1:40000"));
    }

    #[test]
    fn when_lanes_run_out_a_closed_one_goes_before_an_open_one() {
        let mut s = shell();
        for n in 0..LANES_KEPT as u64 {
            feed(&mut s, accept(n, &format!("peer{n}"), "127.0.0.1:50000"));
        }
        // peer5 closes; the next peer takes its place, not peer0's.
        feed(&mut s, ev(100, "peer5", Call::Close, |_| {}));
        feed(&mut s, accept(101, "peerX", "127.0.0.1:50001"));
        let actors: Vec<&str> = s.screen.peers.iter().map(|l| l.actor.as_str()).collect();
        assert!(actors.contains(&"peer0"));
        assert!(!actors.contains(&"peer5"));
        assert_eq!(actors.last(), Some(&"peerX"));
    }

    #[test]
    fn the_servers_own_calls_stay_in_its_lane() {
        let mut s = shell();
        feed(&mut s, ev(1, "server", Call::Socket, |_| {}));
        feed(&mut s, ev(2, "server", Call::Bind, |_| {}));
        feed(&mut s, ev(3, "server", Call::Listen, |_| {}));
        feed(&mut s, ev(4, "server", Call::Close, |_| {}));
        assert_eq!(s.screen.server.rows.len(), 4);
        assert!(s.screen.peers.is_empty());
    }

    #[test]
    fn finished_and_failed_change_nothing() {
        let mut s = shell();
        let before = s.screen.clone();
        assert_eq!(feed(&mut s, EngineMsg::Finished), Effect::None);
        let failed = EngineMsg::Failed(sockscope_core::engine::EngineError::ActorGone("x".into()));
        assert_eq!(feed(&mut s, failed), Effect::None);
        assert_eq!(s.screen, before);
    }

    #[test]
    fn keys_quit_blank_and_present() {
        let mut s = shell();
        assert_eq!(s.update(key('P')), Effect::None);
        assert!(s.present);
        s.update(key('b'));
        assert!(s.blank);
        assert_eq!(s.update(key('q')), Effect::None, "q only unblanks");
        assert_eq!(s.update(key('q')), Effect::Quit);
    }

    #[test]
    fn ctrl_c_quits_from_a_blank_screen_from_the_help_and_from_nothing() {
        for setup in ["", "b", "?", "f"] {
            let mut s = shell();
            for c in setup.chars() {
                s.update(key(c));
            }
            assert_eq!(s.update(ctrl_c()), Effect::Quit, "after {setup:?}");
        }
    }

    #[test]
    fn a_blank_screen_takes_any_key_and_does_nothing_else() {
        let mut s = shell();
        s.update(key('.'));
        assert!(s.blank);
        assert_eq!(s.update(key('P')), Effect::None);
        assert!(!s.blank);
        assert!(!s.present, "the key that unblanked did nothing more");
        // The server goes on while blank.
        feed(&mut s, accept(1, "peer1", "127.0.0.1:50000"));
        s.update(key('b'));
        feed(&mut s, accept(2, "peer2", "127.0.0.1:50002"));
        assert_eq!(s.screen.peers.len(), 2);
    }

    #[test]
    fn help_opens_scrolls_and_closes_and_presenter_keys_work_over_it() {
        let mut s = shell();
        s.update(Msg::Resize(60, 12));
        assert_eq!(s.update(key('?')), Effect::None);
        assert_eq!((s.window, s.scroll), (Some(Window::Help), 0));
        s.update(code(KeyCode::Down));
        assert_eq!(s.scroll, 1);
        s.update(code(KeyCode::Home));
        assert_eq!(s.scroll, 0);
        // P still toggles presenter mode; the help stays open.
        s.update(key('P'));
        assert!(s.present);
        assert_eq!(s.window, Some(Window::Help));
        // e still asks for a handout from the help.
        assert!(matches!(s.update(key('e')), Effect::Handout(_)));
        s.update(key('?'));
        assert_eq!(s.window, None, "? closes it again");
        s.update(key('?'));
        assert_eq!(s.update(key('q')), Effect::Quit, "q quits from the help");
    }

    #[test]
    fn esc_closes_the_help_and_is_harmless_without_it() {
        let mut s = shell();
        assert_eq!(s.update(code(KeyCode::Esc)), Effect::None);
        s.update(key('?'));
        s.update(code(KeyCode::Esc));
        assert_eq!(s.window, None);
    }

    #[test]
    fn the_help_scrolls_only_as_far_as_its_text_at_each_size() {
        let mut s = shell();
        s.update(key('?'));
        s.update(Msg::Resize(200, 50));
        assert_eq!(s.scroll_limits().0, 0, "it all fits");
        s.update(code(KeyCode::End));
        assert_eq!(s.scroll, 0);
        s.update(Msg::Resize(60, 12));
        let (max, page) = s.scroll_limits();
        assert!(max > 0, "taller than 60x12");
        s.update(code(KeyCode::PageDown));
        assert_eq!(s.scroll, page.min(max));
        s.update(code(KeyCode::End));
        assert_eq!(s.scroll, max);
        s.update(code(KeyCode::Char('j')));
        assert_eq!(s.scroll, max, "no scrolling past the end");
    }

    #[test]
    fn the_help_lists_the_serve_keys_and_no_lesson_key() {
        let s = shell();
        let help = s.help();
        let does: Vec<&str> = help.keys.iter().map(|b| b.does).collect();
        assert!(does.contains(&"stop the server and quit"), "{does:?}");
        assert!(does.contains(&"freeze the display; the server goes on serving"));
        assert!(!does.iter().any(|d| d.starts_with("next step")), "{does:?}");
        assert!(!does.iter().any(|d| d.contains("narration")), "{does:?}");
        assert!(help.keys.iter().any(|b| b.keys == "q Ctrl-C"));
        assert_eq!(help.legend.len(), 1, "the waiting mark");
    }

    #[test]
    fn lesson_keys_do_nothing_here() {
        let mut s = shell();
        feed(&mut s, accept(1, "peer1", "127.0.0.1:50000"));
        let before = s.screen.clone();
        for c in [' ', 'r', 'L', 'x', 'K', ':', 'w', 'a', '+', 'm'] {
            assert_eq!(s.update(key(c)), Effect::None, "{c}");
        }
        for c in [KeyCode::Left, KeyCode::End, KeyCode::PageDown, KeyCode::Up] {
            assert_eq!(s.update(code(c)), Effect::None, "{c:?}");
        }
        assert_eq!(s.screen, before);
        assert_eq!(s.window, None, "m opens nothing: serve has no long text");
    }

    #[test]
    fn freeze_keeps_the_picture_while_the_server_goes_on() {
        let mut s = shell();
        feed(&mut s, accept(1, "peer1", "127.0.0.1:50000"));
        assert_eq!(s.update(key('f')), Effect::None);
        let still = s.frozen.clone().expect("frozen");
        assert_eq!(still.peers.len(), 1);
        // The server goes on: a new peer, bytes echoed, all in the live view.
        feed(&mut s, accept(2, "peer2", "127.0.0.1:50002"));
        feed(&mut s, ev(3, "peer2", Call::Send, |e| e.bytes = Some(4)));
        assert_eq!(s.screen.peers.len(), 2);
        assert_eq!(
            s.frozen.as_deref(),
            Some(&*still),
            "the picture did not move"
        );
        assert_eq!(s.shown(), &*still, "the picture is what is drawn");
        // Presenter keys still work while frozen; f again shows the present.
        s.update(key('P'));
        assert!(s.present);
        s.update(key('f'));
        assert!(s.frozen.is_none());
        assert_eq!(s.shown().peers.len(), 2);
    }

    #[test]
    fn a_window_open_across_a_freeze_stays_open() {
        let mut s = shell();
        s.update(key('?'));
        s.update(key('f'));
        assert_eq!(s.window, Some(Window::Help));
        s.update(key('f'));
        assert_eq!(s.window, Some(Window::Help));
    }

    #[test]
    fn e_asks_for_a_handout_of_what_the_screen_holds() {
        let mut s = shell();
        feed(&mut s, accept(1, "peer1", "127.0.0.1:50000"));
        feed(
            &mut s,
            ev(2, "peer1", Call::Recv, |e| {
                e.args = "10, 4096".into();
                e.bytes = Some(3);
                e.data = Some("hi\\n".into());
            }),
        );
        s.update(key('f'));
        feed(&mut s, ev(3, "peer1", Call::Close, |_| {}));
        let now = Instant::now();
        s.update(hall(vec![row(1, 3, "EOF", now)], now));
        // The handout is of the live session, as on the lesson screen, even
        // while the picture is frozen.
        let Effect::Handout(h) = s.update(key('e')) else {
            panic!("e asks for a handout")
        };
        assert_eq!(h.stem, "serve");
        assert_eq!(h.markdown, s.screen.handout());
        let md = h.markdown;
        assert!(md.contains("## peer1 · 127.0.0.1:50000 · closed"), "{md}");
        assert!(md.contains("accept(9) = 10  from 127.0.0.1:50000"), "{md}");
        assert!(md.contains("recv(10, 4096) = 3  \"hi\\n\""), "{md}");
        assert!(md.contains("close(9) = 0"), "{md}");
        // The counts are the server's (read with its peers), not the lanes'.
        assert!(
            md.contains("1 peer connected, 0 still open; 0 bytes echoed"),
            "{md}"
        );
        // The loop saves it and says where, until the next key.
        s.update(Msg::Notice("Handout written: sockscope-serve.md".into()));
        assert_eq!(
            s.screen.notice.as_deref(),
            Some("Handout written: sockscope-serve.md")
        );
        s.update(key('P'));
        assert_eq!(s.screen.notice, None);
    }

    #[test]
    fn a_notice_lasts_until_the_next_key_whatever_else_comes() {
        let mut s = shell();
        s.update(Msg::Notice("Handout written: x.md".into()));
        feed(&mut s, accept(1, "peer1", "127.0.0.1:50000"));
        s.update(Msg::Tick);
        s.update(Msg::Resize(100, 30));
        assert_eq!(s.screen.notice.as_deref(), Some("Handout written: x.md"));
        s.update(key('x'));
        assert_eq!(s.screen.notice, None, "even a key that does nothing");
        // While frozen, it goes to the live view, whose key bar is drawn.
        s.update(key('f'));
        s.update(Msg::Notice("No handout written in /: denied".into()));
        assert!(s.screen.notice.is_some());
        assert_eq!(s.frozen.as_ref().unwrap().notice, None);
    }

    #[test]
    fn the_handout_counts_the_calls_a_lane_let_go() {
        let mut s = shell();
        feed(&mut s, accept(1, "peer1", "127.0.0.1:50000"));
        for n in 0..(ROWS_PER_LANE as u64 + 5) {
            feed(
                &mut s,
                ev(n + 2, "peer1", Call::Recv, |e| e.bytes = Some(1)),
            );
        }
        assert_eq!(s.screen.peers[0].dropped, 5);
        let md = s.screen.handout();
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
        let mut s = shell();
        feed(&mut s, accept(1, "peer1", "127.0.0.1:50000"));
        let v = &s.screen;
        let a = sockscope_report::handout::save_text(dir.path(), "serve", &v.handout()).unwrap();
        let b = sockscope_report::handout::save_text(dir.path(), "serve", &v.handout()).unwrap();
        assert_eq!(a.file_name().unwrap(), "sockscope-serve.md");
        assert_eq!(b.file_name().unwrap(), "sockscope-serve-2.md");
        let text = std::fs::read_to_string(a).unwrap();
        assert!(text.starts_with("# sockscope serve: TCP echo server on 127.0.0.1:7000"));
    }

    #[test]
    fn rebound_keys_work_on_the_serve_screen_and_the_old_ones_do_not() {
        let cfg = crate::config::parse(
            std::path::Path::new("k.toml"),
            "[keys]\nquit = \"Q\"\nhelp = \"F1\"\n",
        )
        .unwrap();
        let mut v = view();
        v.keys = cfg.keys.resolve();
        let mut s = Shell::new(v, Themes::default());
        assert_eq!(s.update(key('q')), Effect::None);
        s.update(code(KeyCode::F(1)));
        assert_eq!(s.window, Some(Window::Help));
        assert!(s.help().keys.iter().any(|b| b.keys == "Q Ctrl-C"));
        assert_eq!(s.update(key('Q')), Effect::Quit);
    }

    #[test]
    fn a_mouse_event_changes_nothing_and_is_dropped_while_blank() {
        use crossterm::event::{MouseEvent, MouseEventKind};
        let click = Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(crossterm::event::MouseButton::Left),
            column: 3,
            row: 4,
            modifiers: KeyModifiers::NONE,
        });
        let mut s = shell();
        let before = s.screen.clone();
        assert_eq!(s.update(click.clone()), Effect::None);
        s.update(key('b'));
        assert_eq!(s.update(click), Effect::None);
        assert!(s.blank, "a click is not a key: the screen stays blank");
        assert_eq!(s.screen, before);
    }

    #[test]
    fn the_screen_never_animates_and_its_one_timer_reads_the_servers_counts() {
        use crate::shell::Screen;
        let mut s = shell();
        feed(&mut s, accept(1, "peer1", "127.0.0.1:50000"));
        assert!(
            !s.animating(),
            "nothing ticks: the server sleeps in select!"
        );
        assert_eq!(
            s.screen.every(),
            Some((HALL_REFRESH, ServeEffect::ReadHall))
        );
        assert!(!s.screen.typing() && !s.screen.modal());
    }

    fn row(n: u16, bytes_in: u64, state: &str, heard: Instant) -> PeerRow {
        PeerRow {
            actor: format!("peer{n}"),
            addr: SocketAddr::from(([10, 0, (n / 256) as u8, (n % 256) as u8], 40000 + n)),
            fd: 10 + i32::from(n),
            bytes_in,
            bytes_out: bytes_in,
            state: state.into(),
            last_heard: heard,
        }
    }

    fn hall(peers: Vec<PeerRow>, read_at: Instant) -> Msg<ServeFeed> {
        let open = peers.iter().filter(|p| p.state == "open").count() as u64;
        Msg::Feed(ServeFeed::Hall(Box::new(Hall {
            stats: Stats {
                seen: peers.len() as u64,
                open,
                ..Stats::default()
            },
            peers,
            read_at,
        })))
    }

    #[test]
    fn counts_are_the_servers_whatever_lanes_come_and_go() {
        // The bug this replaces: 10 peers then 100 showed 210, because a
        // lane let go and made anew was counted again.
        let mut s = shell();
        for n in 0..110u64 {
            let lane = format!("peer{n}");
            feed(&mut s, accept(n, &lane, "127.0.0.1:50000"));
            // A late event for a peer whose lane was let go makes it anew.
            feed(
                &mut s,
                ev(1000 + n, "peer0", Call::Recv, |e| e.bytes = Some(1)),
            );
        }
        assert_eq!(s.screen.stats(), Stats::default(), "nothing read yet");
        let now = Instant::now();
        s.update(hall(
            (0..110).map(|n| row(n, 4, "open", now)).collect(),
            now,
        ));
        assert_eq!(s.screen.stats().seen, 110);
        assert_eq!(s.screen.stats().open, 110);
        assert!(
            s.screen.handout().contains("110 peers"),
            "{}",
            s.screen.handout()
        );
    }

    #[test]
    fn s_cycles_the_tables_order_and_each_order_sorts_what_it_says() {
        let mut s = shell();
        let now = Instant::now();
        let ago = |secs| now.checked_sub(Duration::from_secs(secs)).unwrap();
        s.update(hall(
            vec![
                row(3, 10, "open", ago(5)),
                row(1, 500, "EOF", ago(1)),
                row(2, 40, "open", ago(90)),
            ],
            now,
        ));
        let order = |s: &TestShell| -> Vec<String> {
            let h = s.screen.hall.as_ref().unwrap();
            s.screen
                .sort
                .sorted(h)
                .iter()
                .map(|p| p.actor.clone())
                .collect()
        };
        assert_eq!(s.screen.sort, PeerSort::Arrival);
        assert_eq!(order(&s), ["peer3", "peer1", "peer2"]);
        s.update(key('s'));
        assert_eq!(s.screen.sort, PeerSort::Address);
        assert_eq!(order(&s), ["peer1", "peer2", "peer3"]);
        s.update(key('s'));
        assert_eq!(
            order(&s),
            ["peer1", "peer2", "peer3"],
            "bytes in, most first"
        );
        s.update(key('s'));
        assert_eq!(s.screen.sort, PeerSort::Idle);
        assert_eq!(
            order(&s),
            ["peer2", "peer3", "peer1"],
            "longest silent first"
        );
        s.update(key('s'));
        assert_eq!(order(&s), ["peer3", "peer2", "peer1"], "open first");
        s.update(key('s'));
        assert_eq!(s.screen.sort, PeerSort::Arrival);
    }

    #[test]
    fn the_table_scrolls_within_its_rows() {
        let mut s = shell();
        let now = Instant::now();
        s.update(hall((0..5).map(|n| row(n, 1, "open", now)).collect(), now));
        for _ in 0..10 {
            s.update(key('j'));
        }
        assert_eq!(s.screen.table_scroll, 4, "no further than the last row");
        s.update(key('k'));
        assert_eq!(s.screen.table_scroll, 3);
        // Fewer peers at the next read: the scroll stays inside them.
        s.update(hall((0..2).map(|n| row(n, 1, "open", now)).collect(), now));
        assert_eq!(s.screen.table_scroll, 1);
    }
}
