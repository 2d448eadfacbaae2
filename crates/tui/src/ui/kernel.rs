//! The kernel panel: what the kernel says about every socket of the lesson
//! right now, and a compact TCP state diagram with the transition the
//! focused call caused.
//!
//! ```text
//! ╭ kernel: TCP states, queues, timers ───────────────╮
//! │ ESTABLISHED ▸ FIN_WAIT1 ▸ FIN_WAIT2 ▸ TIME_WAIT    │  the path, this call's
//! │ client: ESTABLISHED ▸ FIN_WAIT1 41 ms ▸ FIN_WAIT2  │  transition highlighted
//! │ client:sock   FIN_WAIT2                            │
//! │ server:conn   CLOSE_WAIT     recv-q 1              │  one row per socket
//! │ server:listen LISTEN         accept-q 0/4          │
//! │ read right after the call                          │
//! ╰────────────────────────────────────────────────────╯
//! ```
//!
//! Every figure comes from the event's kernel view (TCP_INFO, sock_diag,
//! /proc/net/udp) or from the slow refresh while the lesson waits. A state
//! the call passed through too fast to be read is drawn as "not observed",
//! never as seen.

use crate::app::App;
use crate::theme::Theme;
use crate::widgets::{fit, fit_spans, panel};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use sockscope_core::engine::{Call, Event, Proto};
use sockscope_core::kernel::SockView;
use sockscope_core::vocab::{SeenIn, Source, StateSeen, TcpState};

/// The standard paths through the TCP state diagram a lesson walks.
const PATHS: [&[TcpState]; 5] = {
    use TcpState::{
        Close, CloseWait, Closing, Established, FinWait1, FinWait2, LastAck, Listen, SynSent,
        TimeWait,
    };
    [
        &[Close, SynSent, Established],
        &[Close, Listen],
        &[Established, FinWait1, FinWait2, TimeWait],
        &[Established, CloseWait, LastAck],
        &[FinWait1, Closing, TimeWait],
    ]
};

/// One end of a transition: what the kernel reported, or that it keeps
/// nothing any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// A reading: a state, `not observed`, or `none` (before the socket
    /// existed).
    Seen(StateSeen),
    /// The kernel keeps nothing for the socket: `gone`.
    Gone,
}

impl At {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            At::Seen(s) => s.name(),
            At::Gone => "gone",
        }
    }

    fn state(self) -> Option<TcpState> {
        match self {
            At::Seen(s) => s.state(),
            At::Gone => None,
        }
    }
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl From<TcpState> for At {
    fn from(s: TcpState) -> At {
        At::Seen(StateSeen::Is(s))
    }
}

/// The transition the focused call caused on the socket it acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub who: String,
    /// The state before the call, as the previous reading showed it.
    pub from: Option<At>,
    /// A state seen right after the call, before the kernel settled.
    pub via: Option<(StateSeen, u64)>,
    /// The state after; `gone` when the kernel keeps nothing.
    pub to: At,
}

/// What the focused event did to its socket's TCP state.
pub fn transition(app: &App) -> Option<Transition> {
    let e = app.focused_event()?;
    if e.proto != Proto::Tcp || e.kernel.is_none() {
        return None;
    }
    let k = e.kernel.as_ref()?;
    let to = match e.tcp_state {
        Some(s) => At::Seen(s),
        None if k.source == Source::None => At::Gone,
        None => return None,
    };
    let from = k
        .state_before
        .map(At::from)
        .or_else(|| previous_state(app, e).map(At::Seen))
        .or_else(|| (e.call == Call::Socket).then_some(At::Seen(StateSeen::Nothing)));
    let via = k.first_state.zip(k.settle_ms);
    Some(Transition {
        who: format!("{}:{}", e.actor, e.sock),
        from,
        via,
        to,
    })
}

/// The state the same socket reported at its previous call.
fn previous_state(app: &App, e: &Event) -> Option<StateSeen> {
    let mut last = None;
    for r in app.visible() {
        if let crate::app::Entry::Event(p) = &r.entry {
            if std::ptr::eq(p.as_ref(), e) {
                break;
            }
            if p.actor == e.actor && p.sock == e.sock && p.tcp_state.is_some() {
                last = p.tcp_state;
            }
        }
    }
    last
}

/// The states between two readings along the standard diagram that were not
/// read: too brief to observe.
fn unobserved(t: &Transition) -> Vec<TcpState> {
    let from = t
        .via
        .and_then(|v| v.0.state())
        .or_else(|| t.from.and_then(At::state));
    match (from, t.to.state()) {
        (Some(f), Some(to)) if f != to => TcpState::between(f, to).unwrap_or_default(),
        _ => Vec::new(),
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if area.height <= 2 {
        strip(frame, area, app, theme);
        return;
    }
    let block = panel(" kernel: TCP states, queues, timers ", theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let ell = theme.glyphs.ellipsis;
    let mut lines: Vec<Line> = Vec::new();
    let t = transition(app);
    if let Some(t) = &t {
        lines.push(Line::from(fit_spans(path_spans(t, theme), width, ell)));
        // Without the socket's name when the whole transition would not fit.
        let mut spans = transition_spans(t, theme);
        let total: usize = spans.iter().map(Span::width).sum();
        if total > width {
            spans.remove(0);
        }
        lines.push(Line::from(fit_spans(spans, width, ell)));
    }
    match app.kernel_view() {
        Some((view, live)) => {
            let room = (inner.height as usize).saturating_sub(lines.len() + 1);
            let name_w = view.keys().map(std::string::String::len).max().unwrap_or(0).min(18);
            let mut rows: Vec<(&String, &SockView)> = view.iter().collect();
            // The sockets still in the kernel first; gone ones last.
            rows.sort_by_key(|(_, v)| v.seen_in == SeenIn::Gone);
            for (name, v) in rows.into_iter().take(room) {
                lines.push(Line::from(fit_spans(
                    sock_spans(name, v, name_w, theme),
                    width,
                    ell,
                )));
            }
            let when = if live {
                "read again just now (every second while waiting)"
            } else {
                "read right after the call"
            };
            if lines.len() < inner.height as usize {
                lines.push(Line::styled(fit(when, width, ell), theme.muted));
            }
        }
        None => lines.push(Line::styled(
            fit(
                "No socket has an address yet: the kernel lists a socket once it is bound or connected.",
                width,
                ell,
            ),
            theme.muted,
        )),
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The compact layout's one line: each socket's state.
fn strip(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = vec![Span::styled("kernel ", theme.title)];
    match app.kernel_view() {
        Some((view, _)) => {
            for (i, (name, v)) in view.iter().enumerate() {
                if i > 0 {
                    spans.push(Span::styled(" · ", theme.muted));
                }
                spans.push(Span::styled(format!("{name} "), theme.muted));
                spans.push(Span::styled(short(v), state_style(v, theme)));
            }
        }
        None => spans.push(Span::styled("no socket has an address yet", theme.muted)),
    }
    let spans = fit_spans(spans, area.width as usize, theme.glyphs.ellipsis);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn state_style(v: &SockView, theme: &Theme) -> Style {
    match (v.seen_in, v.has_fd) {
        (SeenIn::Gone, _) => theme.muted,
        (SeenIn::Table, false) => theme.waiting,
        _ => theme.text,
    }
}

/// `TIME_WAIT 59s`, `LISTEN 2/1`, `UDP`, `gone`.
fn short(v: &SockView) -> String {
    let mut s = sockscope_core::kernel::words::state(v).to_string();
    if let Some(q) = v.accept_q {
        s.push_str(&format!(
            " {q}/{}",
            v.backlog.map_or("?".into(), |b| b.to_string())
        ));
    }
    if let (Some(sockscope_core::vocab::Timer::TimeWait), Some(ms)) = (v.timer, v.timer_ms) {
        s.push_str(&format!(
            " {}s",
            sockscope_core::kernel::words::seconds_left(ms)
        ));
    }
    s
}

/// One socket's row: name, state, queues, timer, drops.
fn sock_spans<'a>(name: &str, v: &SockView, name_w: usize, theme: &Theme) -> Vec<Span<'a>> {
    let state = sockscope_core::kernel::words::state(v);
    let mut spans = vec![
        Span::styled(format!("{:<name_w$} ", fit(name, name_w, "…")), theme.text),
        Span::styled(format!("{state:<12}"), state_style(v, theme)),
    ];
    let mut facts = Vec::new();
    if let Some(who) = sockscope_core::kernel::words::without_fd(v) {
        facts.push(who.to_string());
    }
    if let Some(q) = v.accept_q {
        match v.backlog {
            Some(b) => facts.push(format!("accept-q {q}/{b}")),
            None => facts.push(format!("accept-q {q}")),
        }
    }
    if let Some(q) = v.recv_q.filter(|&q| q > 0) {
        facts.push(format!("recv-q {q}"));
    }
    if let Some(q) = v.send_q.filter(|&q| q > 0) {
        facts.push(format!("send-q {q}"));
    }
    if let (Some(t), Some(ms)) = (v.timer, v.timer_ms) {
        facts.push(sockscope_core::kernel::words::timer(t, ms));
    }
    if let Some(d) = v.drops.filter(|&d| d > 0) {
        facts.push(sockscope_core::kernel::words::drops(d));
    }
    if v.seen_in == SeenIn::Gone {
        facts.push("nothing kept".into());
    }
    spans.push(Span::styled(facts.join(" · "), theme.muted));
    spans
}

/// The standard path the transition is on, its states in order, the ones
/// this call went through highlighted and the current one marked.
fn path_spans<'a>(t: &Transition, theme: &Theme) -> Vec<Span<'a>> {
    let touched: Vec<TcpState> = [
        t.from.and_then(At::state),
        t.via.and_then(|v| v.0.state()),
        t.to.state(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let to = t.to.state();
    // `rev`: on a tie, the first path listed (the common one) wins.
    let path = PATHS
        .iter()
        .rev()
        .max_by_key(|p| touched.iter().filter(|s| p.contains(s)).count())
        .filter(|p| to.is_some_and(|s| p.contains(&s)) || touched.iter().any(|s| p.contains(s)));
    let Some(path) = path else {
        return vec![Span::styled(t.to.name(), theme.current)];
    };
    let mut spans = Vec::new();
    for (i, s) in path.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(
                format!(" {} ", theme.glyphs.leads_to),
                theme.muted,
            ));
        }
        let style = if Some(*s) == to {
            theme.current
        } else if touched.contains(s) {
            theme.title
        } else {
            theme.muted
        };
        spans.push(Span::styled(s.name(), style));
    }
    spans
}

/// `client:sock ESTABLISHED ▸ FIN_WAIT1 41 ms ▸ FIN_WAIT2`, with states that
/// were never read marked "not observed".
#[must_use]
pub fn transition_spans<'a>(t: &Transition, theme: &Theme) -> Vec<Span<'a>> {
    let arrow = || Span::styled(format!(" {} ", theme.glyphs.leads_to), theme.muted);
    let mut spans = vec![Span::styled(format!("{}: ", t.who), theme.muted)];
    if let Some(from) = t.from {
        spans.push(Span::styled(from.name(), theme.text));
        spans.push(arrow());
    }
    if let Some((via, ms)) = t.via {
        spans.push(Span::styled(format!("{via} for {ms} ms"), theme.waiting));
        spans.push(arrow());
    }
    for s in unobserved(t) {
        spans.push(Span::styled(format!("{s} (not observed)"), theme.muted));
        spans.push(arrow());
    }
    spans.push(Span::styled(t.to.name(), theme.current));
    if t.from == Some(t.to) && t.via.is_none() {
        spans.truncate(1);
        spans.push(Span::styled(format!("still {}", t.to), theme.text));
    }
    spans
}
