//! The lesson screen's state and the one function that changes it.
//!
//! [`App::update`] takes the state and one message (a key the shell passed
//! down, an animation tick, a [`Feed`] from the engine) and returns an
//! [`Effect`]: what the loop must do outside the state (release the next
//! call, change the pace, start a fresh engine, explain a port). `update`
//! does no I/O, so it is tested as a plain function: key in, state and
//! effect out. The presenter's keys (blank, freeze, presenter mode, the
//! help and narration windows) are the shell's, shared with every screen
//! (see `crate::shell`); the tests here drive the lesson through the shell,
//! as the loop does.
//!
//! The engine's messages are kept in a bounded history. Stepping back reviews
//! that history; it never re-runs a syscall (a syscall cannot be undone).
//! Restart drops the engine, which closes every socket, and starts a new one.

use super::arrows;
use super::keys::{self, Action, KeyMap};
use crate::shell::Msg;
use crate::shell::run::FPS;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sockscope_core::engine::{EngineMsg, Event, Pace, Waiting};
use sockscope_core::kernel::SockView;
use sockscope_core::lesson::Lesson;
use sockscope_core::ports::PortReport;
/// This machine's port settings (ephemeral range, unprivileged start), read
/// once at start, for the port bar.
pub use sockscope_core::ports::machine::Machine;
use sockscope_core::wire::{CaptureStatus, Segment};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// How many engine messages are kept for review. The longest built-in lesson
/// produces under 30; the cap only matters for long sessions, where the
/// oldest messages are dropped first.
pub const HISTORY_CAP: usize = 2048;

/// Speeds `+` and `-` move between, as multiples of the default.
pub const SPEEDS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];
const DEFAULT_SPEED: usize = 2;

/// At 1× an arrow takes half a second to cross, and autoplay runs one call
/// every three seconds (the config file's `autoplay_ms` changes that): time
/// to read the lane and the narration.
const ARROW_SECONDS: f64 = 0.5;
pub const AUTOPLAY: Duration = Duration::from_secs(3);

/// One thing the engine reported, and the step that was the latest when it
/// arrived (a woken `accept` of step 4 arrives during step 6).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub at_step: usize,
    pub entry: Entry,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Waiting(Waiting),
    Event(Box<Event>),
}

impl Entry {
    #[must_use]
    pub fn step(&self) -> usize {
        match self {
            Entry::Waiting(w) => w.step,
            Entry::Event(e) => e.step,
        }
    }
    #[must_use]
    pub fn actor(&self) -> &str {
        match self {
            Entry::Waiting(w) => &w.actor,
            Entry::Event(e) => &e.actor,
        }
    }
}

/// Where the run stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    Running,
    /// Every step has run.
    Finished,
    /// The engine stopped early (a lesson defect, not a failed syscall).
    Failed(String),
}

/// The arrows of the current step crossing between lanes, counted in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anim {
    pub step: usize,
    pub frame: u32,
    /// Frames per arrow at the current speed.
    pub per_arrow: u32,
    pub arrows: u32,
}

impl Anim {
    /// How far arrow `index` of the step has travelled, from 0.0 to 1.0.
    #[must_use]
    pub fn progress(&self, index: usize) -> f64 {
        let start = index as u32 * self.per_arrow;
        let done = self.frame.saturating_sub(start);
        (f64::from(done) / f64::from(self.per_arrow.max(1))).min(1.0)
    }
    fn running(&self) -> bool {
        self.frame < self.arrows * self.per_arrow
    }
}

/// The port panel's own question: a port the presenter typed (`:` then
/// digits, Enter) and what sockscope found out about it on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortInput {
    /// What has been typed so far, while typing.
    pub typing: Option<String>,
    /// Why the typed text is not a port (`70000 is out of range ...`).
    pub error: Option<String>,
    /// The port being explained.
    pub asked: Option<u16>,
    /// The facts about `asked`, once the run loop has looked (a real bind).
    pub report: Option<Box<PortReport>>,
}

/// The longest text the port prompt takes: enough for any mistake a student
/// makes (`-1`, `70000`, `65536`), short enough for the panel.
pub const PORT_INPUT_MAX: usize = 8;

/// Everything the screen shows, as plain data.
// The bools are independent switches of the screen (autoplay, the kernel
// and code panels, the mouse, study mode), each toggled on its own.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent switches of the screen's state"
)]
#[derive(Debug, Clone)]
pub struct App {
    pub lesson: Lesson,
    /// Every lesson the picker offers.
    pub lessons: Vec<Lesson>,
    pub history: VecDeque<Record>,
    /// The highest step the engine has reported: "now".
    pub latest: usize,
    /// The step being reviewed, when stepping back.
    pub review: Option<usize>,
    /// The lesson list (`L`), when open: the highlighted row.
    pub picker: Option<usize>,
    pub autoplay: bool,
    /// Index into [`SPEEDS`].
    pub speed: usize,
    pub run: RunState,
    pub anim: Option<Anim>,
    pub machine: Machine,
    /// A one-line message for the presenter ("the lesson is over").
    pub notice: Option<String>,
    /// Whether the engine captures this run's packets, as it said at start.
    pub capture: CaptureStatus,
    /// The packet pane, when open: the number (`n`) of the packet it shows.
    pub packet: Option<u64>,
    /// A port typed into the port panel, and its facts.
    pub port: PortInput,
    /// Show the kernel panel in place of the layer diagram.
    pub kernel_panel: bool,
    /// The kernel's view of the lesson's sockets read again while the
    /// lesson waits between calls (TIME_WAIT counts down), replacing the
    /// latest event's view until the next call.
    pub kernel_live: Option<BTreeMap<String, SockView>>,
    /// The key bindings in force (the config file's, or the defaults).
    pub keys: KeyMap,
    /// Autoplay interval at 1×.
    pub autoplay_base: Duration,
    /// Which network the lessons run on, as the title bar says it
    /// (`sockscope_core::lab::Network::label`); `None` says nothing.
    pub network: Option<&'static str>,
    /// Whether the terminal reports the mouse (`--no-mouse` turns it off,
    /// and with it the terminal's own text selection comes back).
    pub mouse: bool,
    /// The lessons this student has run to their end, and the file they are
    /// kept in (`None`: progress is not kept, and nothing is saved).
    pub progress: crate::progress::Progress,
    pub progress_file: Option<std::path::PathBuf>,
    /// The code panel is shown in the layer diagram's place, in this
    /// language.
    pub code_panel: bool,
    pub code_lang: crate::code::Lang,
    /// The language the panel opens in (`--code`, `code` in the config).
    pub code_start: crate::code::Lang,
    /// Study mode (`--study`): a step with a `predict` question asks it
    /// before its call runs.
    pub study: bool,
    /// The step whose question is open, waiting for an answer.
    pub predicting: Option<usize>,
    /// This run's answers: step number to the choice picked (from 0).
    pub predictions: BTreeMap<usize, usize>,
}

/// What feeds the lesson screen besides the terminal: the engine, and the
/// answers to its effects.
#[derive(Debug, Clone, PartialEq)]
pub enum Feed {
    Engine(EngineMsg),
    /// Whether the engine captures this run's packets: said when it starts,
    /// and again if capture fails mid-run.
    Capture(CaptureStatus),
    /// What [`sockscope_core::ports::explain`] found for the port asked about.
    Port(Box<PortReport>),
    /// The kernel's view of the latest sockets, read again just now.
    Kernel(BTreeMap<String, SockView>),
}

/// What the lesson asks the loop to do (its driver does it).
#[derive(Debug, Clone, PartialEq)]
pub enum LessonEffect {
    /// Release the next call.
    Step,
    /// Change how the engine releases calls.
    Pace(Pace),
    /// Drop the engine (closing its sockets) and start this lesson afresh.
    Restart(Box<Lesson>),
    /// Write the run's captured packets to a pcap file.
    SavePcap,
    /// Explain this port now (range, names, this machine, a real bind) and
    /// send the answer back as [`Feed::Port`].
    ExplainPort(u16),
    /// Read the kernel's view of [`App::kernel_to_refresh`] again and send
    /// it back as [`Feed::Kernel`].
    RefreshKernel,
    /// Keep the student's progress in [`App::progress_file`]: a lesson was
    /// just finished for the first time (`finished`, which the screen then
    /// says), or a question was answered right for the first time.
    SaveProgress { finished: bool },
}

/// What the loop must do after an update: the shell's effects, and the
/// lesson's own.
pub type Effect = crate::shell::Effect<LessonEffect>;

/// The lesson's own effect, as an [`Effect`].
fn ask(e: LessonEffect) -> Effect {
    Effect::Screen(e)
}

impl App {
    #[must_use]
    pub fn new(lesson: Lesson, lessons: Vec<Lesson>, machine: Machine) -> App {
        let lesson_kernel_panel = lesson.kernel_panel;
        App {
            lesson,
            lessons,
            history: VecDeque::new(),
            latest: 0,
            review: None,
            picker: None,
            autoplay: false,
            speed: DEFAULT_SPEED,
            run: RunState::Running,
            anim: None,
            machine,
            notice: None,
            capture: CaptureStatus::Disabled,
            packet: None,
            port: PortInput::default(),
            kernel_panel: lesson_kernel_panel,
            kernel_live: None,
            keys: KeyMap::default(),
            autoplay_base: AUTOPLAY,
            network: None,
            mouse: true,
            progress: crate::progress::Progress::default(),
            progress_file: None,
            code_panel: false,
            code_lang: crate::code::Lang::default(),
            code_start: crate::code::Lang::default(),
            study: false,
            predicting: None,
            predictions: BTreeMap::new(),
        }
    }

    /// The event the screen is about: the newest one at the focused step.
    #[must_use]
    pub fn focused_event(&self) -> Option<&Event> {
        self.visible()
            .filter_map(|r| match &r.entry {
                Entry::Event(e) => Some(e.as_ref()),
                Entry::Waiting(_) => None,
            })
            .last()
    }

    /// The kernel's view of the lesson's sockets at the focused step, and
    /// whether it was read again after that step's call (only when showing
    /// the latest step).
    #[must_use]
    pub fn kernel_view(&self) -> Option<(&BTreeMap<String, SockView>, bool)> {
        if self.review.is_none()
            && let Some(live) = &self.kernel_live
        {
            return Some((live, true));
        }
        self.visible()
            .filter_map(|r| match &r.entry {
                Entry::Event(e) if !e.sockets.is_empty() => Some(&e.sockets),
                _ => None,
            })
            .last()
            .map(|s| (s, false))
    }

    /// The sockets to read again on the slow refresh: the latest view, while
    /// the kernel panel is on screen at the latest step.
    #[must_use]
    pub fn kernel_to_refresh(&self) -> Option<&BTreeMap<String, SockView>> {
        if !self.kernel_panel || self.review.is_some() {
            return None;
        }
        self.kernel_live.as_ref().or_else(|| {
            self.history.iter().rev().find_map(|r| match &r.entry {
                Entry::Event(e) if !e.sockets.is_empty() => Some(&e.sockets),
                _ => None,
            })
        })
    }

    /// The run so far as engine messages, for a handout.
    #[must_use]
    pub fn handout_msgs(&self) -> Vec<EngineMsg> {
        let mut msgs: Vec<EngineMsg> = self
            .history
            .iter()
            .map(|r| match &r.entry {
                Entry::Waiting(w) => EngineMsg::Waiting(w.clone()),
                Entry::Event(e) => EngineMsg::Event(e.clone()),
            })
            .collect();
        if self.run == RunState::Finished {
            msgs.push(EngineMsg::Finished);
        }
        msgs
    }

    /// Record whether the new run captures. Without privilege the screen
    /// says once, plainly, how to enable capture (until the next step).
    fn set_capture(&mut self, status: CaptureStatus) {
        if let Some(n) = status.notice() {
            self.notice = Some(n);
        }
        self.capture = status;
    }

    /// The captured packets of the calls on screen at the focused step, in
    /// capture order. Empty when capture did not run.
    #[must_use]
    pub fn packets(&self) -> Vec<&Segment> {
        let mut out: Vec<&Segment> = self
            .visible()
            .filter_map(|r| match &r.entry {
                Entry::Event(e) => e.segments.as_ref(),
                Entry::Waiting(_) => None,
            })
            .flatten()
            .collect();
        out.sort_by_key(|s| s.n);
        out.dedup_by_key(|s| s.n);
        out
    }

    /// The packet the pane shows: the one chosen, or, when it is not on
    /// screen at the focused step, the latest that is.
    #[must_use]
    pub fn shown_packet(&self) -> Option<(usize, &Segment)> {
        let n = self.packet?;
        let packets = self.packets();
        let i = packets
            .iter()
            .position(|s| s.n == n)
            .or_else(|| packets.len().checked_sub(1))?;
        Some((i, packets[i]))
    }

    /// Why there are no packets to show, for the notice line.
    fn no_packets(&self) -> String {
        if let Some(hint) = self.capture.notice() {
            return hint;
        }
        if self
            .visible()
            .any(|r| matches!(&r.entry, Entry::Event(e) if e.segments.is_some()))
        {
            "No packets yet: the calls so far put nothing on the wire.".into()
        } else {
            "No packets: this run does not capture.".into()
        }
    }

    fn toggle_packets(&mut self) -> Effect {
        if self.packet.is_some() {
            self.packet = None;
            return Effect::None;
        }
        // Open on the last packet the focused step caused, else the last one.
        let focus = self.focus();
        let of_focus = self
            .history
            .iter()
            .filter(|r| r.at_step == focus)
            .filter_map(|r| match &r.entry {
                Entry::Event(e) => e.segments.as_ref()?.last().map(|s| s.n),
                Entry::Waiting(_) => None,
            })
            .max();
        match of_focus.or_else(|| self.packets().last().map(|s| s.n)) {
            Some(n) => self.packet = Some(n),
            None => self.notice = Some(self.no_packets()),
        }
        Effect::None
    }

    /// Choose the packet `delta` places away in the list.
    pub(crate) fn move_packet(&mut self, delta: isize) -> Effect {
        if let Some((i, _)) = self.shown_packet() {
            let packets = self.packets();
            let j = i.saturating_add_signed(delta).min(packets.len() - 1);
            self.packet = Some(packets[j].n);
        }
        Effect::None
    }

    fn save_pcap(&mut self) -> Effect {
        if self.packets().is_empty() && !self.capture.running() {
            self.notice = Some(self.no_packets());
            return Effect::None;
        }
        ask(LessonEffect::SavePcap)
    }

    /// The step the screen shows: the reviewed one, or the latest.
    #[must_use]
    pub fn focus(&self) -> usize {
        self.review.unwrap_or(self.latest)
    }

    /// True while an arrow travels: only then does the run loop tick.
    #[must_use]
    pub fn animating(&self) -> bool {
        self.anim.is_some_and(|a| a.running())
    }

    /// Every event in the history, oldest first.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.history.iter().filter_map(|r| match &r.entry {
            Entry::Event(e) => Some(e.as_ref()),
            Entry::Waiting(_) => None,
        })
    }

    /// The records on screen at the focused step, oldest first.
    pub fn visible(&self) -> impl Iterator<Item = &Record> {
        let focus = self.focus();
        self.history.iter().filter(move |r| r.at_step <= focus)
    }

    #[must_use]
    pub fn speed_factor(&self) -> f64 {
        SPEEDS[self.speed]
    }

    /// The pace the engine should run at.
    #[must_use]
    pub fn pace(&self) -> Pace {
        if self.autoplay {
            Pace::Autoplay(Duration::from_secs_f64(
                self.autoplay_base.as_secs_f64() / self.speed_factor(),
            ))
        } else {
            Pace::Manual
        }
    }

    fn frames_per_arrow(&self) -> u32 {
        ((ARROW_SECONDS * f64::from(FPS)) / self.speed_factor())
            .round()
            .max(1.0) as u32
    }

    fn reset_run(&mut self) {
        self.history.clear();
        self.latest = 0;
        self.review = None;
        self.run = RunState::Running;
        self.anim = None;
        self.notice = None;
        self.kernel_live = None;
        self.kernel_panel = self.lesson.kernel_panel;
        self.predicting = None;
        self.predictions.clear();
    }

    fn push(&mut self, entry: Entry) {
        self.latest = self.latest.max(entry.step());
        if self.history.len() == HISTORY_CAP {
            self.history.pop_front();
        }
        self.history.push_back(Record {
            at_step: self.latest,
            entry,
        });
    }

    fn on_engine(&mut self, msg: EngineMsg) {
        match msg {
            EngineMsg::Waiting(w) => self.push(Entry::Waiting(w)),
            EngineMsg::Event(e) => {
                // The new call's own reading replaces any refreshed one.
                self.kernel_live = None;
                let earlier: Vec<&Event> = self.events().collect();
                let arrows = arrows::for_event(&e, &earlier).len() as u32;
                self.push(Entry::Event(e));
                if arrows > 0 {
                    let per_arrow = self.frames_per_arrow();
                    match &mut self.anim {
                        Some(a) if a.step == self.latest => a.arrows += arrows,
                        _ => {
                            self.anim = Some(Anim {
                                step: self.latest,
                                frame: 0,
                                per_arrow,
                                arrows,
                            });
                        }
                    }
                }
            }
            EngineMsg::Finished => {
                self.run = RunState::Finished;
                self.autoplay = false;
            }
            EngineMsg::Failed(e) => {
                self.run = RunState::Failed(e.to_string());
                self.autoplay = false;
            }
        }
    }

    fn next(&mut self) -> Effect {
        if let Some(k) = self.review {
            // Forward through the review; one more press past the end
            // returns to now without running anything.
            self.review = (k + 1 < self.latest).then_some(k + 1);
            return Effect::None;
        }
        match &self.run {
            RunState::Running => {
                // Study mode: the next step's question comes before its call.
                let next = self.latest + 1;
                let asks = self
                    .lesson
                    .steps
                    .get(next - 1)
                    .is_some_and(|s| s.predict.is_some());
                if self.study && asks && !self.predictions.contains_key(&next) {
                    self.predicting = Some(next);
                    return Effect::None;
                }
                self.notice = None;
                // Skip the rest of an arrow still travelling: the next call's
                // arrows start from the beginning.
                self.anim = None;
                ask(LessonEffect::Step)
            }
            RunState::Finished => {
                self.notice = Some("The lesson is over: r runs it again, L picks another.".into());
                Effect::None
            }
            RunState::Failed(_) => {
                self.notice = Some("The run stopped: r starts it again.".into());
                Effect::None
            }
        }
    }

    /// The mouse wheel over the lanes: back through the review (`up`), or
    /// forward, but never on into a new call: only a key runs one.
    pub fn wheel(&mut self, up: bool) -> Effect {
        if self.picker.is_some() {
            Effect::None
        } else if up {
            self.back()
        } else if self.review.is_some() {
            self.next()
        } else {
            Effect::None
        }
    }

    /// Review `step` (the latest one returns to now), as stepping back to
    /// it would: what a click on one of its calls in the lanes does.
    pub fn review_step(&mut self, step: usize) -> Effect {
        if self.picker.is_some() || step == 0 || step > self.latest {
            return Effect::None;
        }
        self.review = (step < self.latest).then_some(step);
        self.anim = None;
        if self.autoplay && self.review.is_some() {
            self.autoplay = false;
            return ask(LessonEffect::Pace(Pace::Manual));
        }
        Effect::None
    }

    fn back(&mut self) -> Effect {
        if self.latest <= 1 {
            return Effect::None;
        }
        let k = self.review.unwrap_or(self.latest);
        self.review = Some(k.saturating_sub(1).max(1));
        self.anim = None;
        // Reviewing pauses autoplay: the presenter is talking about the past.
        if self.autoplay {
            self.autoplay = false;
            return ask(LessonEffect::Pace(Pace::Manual));
        }
        Effect::None
    }

    fn picker(&mut self, action: Action, selected: usize) -> Effect {
        let n = self.lessons.len();
        match action {
            Action::Up => self.picker = Some((selected + n - 1) % n.max(1)),
            Action::Down => self.picker = Some((selected + 1) % n.max(1)),
            Action::Next => {
                self.picker = None;
                if let Some(l) = self.lessons.get(selected) {
                    self.lesson = l.clone();
                    self.reset_run();
                    return ask(LessonEffect::Restart(Box::new(self.lesson.clone())));
                }
            }
            Action::Close | Action::Lessons => self.picker = None,
            Action::Quit => return Effect::Quit,
            _ => {}
        }
        Effect::None
    }

    /// Whether `e` is the call of a step the student predicted right, first
    /// time: then it is marked in their progress.
    fn predicted_right(&mut self, e: &Event) -> bool {
        self.graded(e).is_some_and(|(_, g)| g.right())
            && self.progress.answered_right(&self.lesson.name, e.step)
    }

    /// The student's prediction for `e`'s step, graded by `e`: the
    /// question, and what the kernel made of the answer. `None` when the
    /// step asks nothing or was not predicted.
    #[must_use]
    pub fn graded(
        &self,
        e: &Event,
    ) -> Option<(&sockscope_core::lesson::Predict, crate::study::Graded)> {
        let &picked = self.predictions.get(&e.step)?;
        let p = self.lesson.steps.get(e.step - 1)?.predict.as_ref()?;
        Some((p, crate::study::grade(p, picked, e)))
    }

    /// A key while a study question is open: a choice's number answers it
    /// and runs the call; Esc closes it without running anything.
    fn on_predict_key(&mut self, step: usize, key: KeyEvent) -> Effect {
        let choices = self
            .lesson
            .steps
            .get(step - 1)
            .and_then(|s| s.predict.as_ref())
            .map_or(0, |p| p.choices.len());
        match key.code {
            KeyCode::Char(c @ '1'..='9') => {
                let picked = (c as usize) - ('1' as usize);
                if picked < choices {
                    self.predictions.insert(step, picked);
                    self.predicting = None;
                    return self.next();
                }
                Effect::None
            }
            KeyCode::Esc => {
                self.predicting = None;
                Effect::None
            }
            _ => Effect::None,
        }
    }

    /// A key while the port prompt is open: digits (and whatever else the
    /// student types) go into the prompt, not to the lesson.
    fn on_port_key(&mut self, key: KeyEvent) -> Effect {
        let typed = self.port.typing.get_or_insert_with(String::new);
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            // Not text. (Ctrl-C quits: the shell takes it before the prompt.)
            return Effect::None;
        }
        match key.code {
            KeyCode::Char(c) if typed.chars().count() < PORT_INPUT_MAX => {
                typed.push(c);
                self.port.error = None;
            }
            KeyCode::Backspace => {
                typed.pop();
                self.port.error = None;
            }
            KeyCode::Esc => {
                self.port.typing = None;
                self.port.error = None;
            }
            KeyCode::Enter => match sockscope_core::ports::parse_port(typed) {
                Ok(port) => {
                    self.port = PortInput {
                        asked: Some(port),
                        ..PortInput::default()
                    };
                    return ask(LessonEffect::ExplainPort(port));
                }
                Err(e) => self.port.error = Some(e),
            },
            _ => {}
        }
        Effect::None
    }

    /// A key the shell passed down: the prompt's while it is open, then the
    /// lesson list's while it is open, then the packet pane's, then the
    /// lesson's own.
    fn on_key(&mut self, key: KeyEvent) -> Effect {
        if self.port.typing.is_some() {
            return self.on_port_key(key);
        }
        if let Some(step) = self.predicting {
            return self.on_predict_key(step, key);
        }
        let Some(action) = keys::action(key, &self.keys) else {
            return Effect::None;
        };
        if let Some(selected) = self.picker {
            return self.picker(action, selected);
        }
        if self.packet.is_some() {
            match action {
                Action::Up => return self.move_packet(-1),
                Action::Down => return self.move_packet(1),
                Action::Close => {
                    self.packet = None;
                    return Effect::None;
                }
                _ => {}
            }
        }
        match action {
            Action::Next => self.next(),
            Action::Back => self.back(),
            Action::Packets => self.toggle_packets(),
            Action::SavePcap => self.save_pcap(),
            Action::Kernel => {
                self.kernel_panel = !self.kernel_panel;
                self.code_panel = false;
                Effect::None
            }
            Action::Code => {
                // Open in the chosen language; each press then shows the
                // next; past the last, the layer diagram comes back.
                if !self.code_panel {
                    self.code_panel = true;
                } else if self.code_lang.next() == self.code_start {
                    self.code_panel = false;
                    self.code_lang = self.code_start;
                } else {
                    self.code_lang = self.code_lang.next();
                }
                Effect::None
            }
            Action::Now => {
                self.review = None;
                Effect::None
            }
            Action::Close => {
                self.review = None;
                self.port = PortInput::default();
                Effect::None
            }
            Action::Port => {
                self.port.typing = Some(String::new());
                self.port.error = None;
                Effect::None
            }
            Action::Autoplay => {
                if self.study && !self.autoplay {
                    self.notice = Some(
                        "Study mode asks before the calls it has questions for: Space steps."
                            .into(),
                    );
                    return Effect::None;
                }
                if self.run != RunState::Running {
                    self.notice = Some("Autoplay needs a running lesson: r runs it again.".into());
                    return Effect::None;
                }
                self.autoplay = !self.autoplay;
                self.review = None;
                ask(LessonEffect::Pace(self.pace()))
            }
            Action::Faster | Action::Slower => {
                self.speed = match action {
                    Action::Faster => (self.speed + 1).min(SPEEDS.len() - 1),
                    _ => self.speed.saturating_sub(1),
                };
                let per_arrow = self.frames_per_arrow();
                if let Some(a) = &mut self.anim {
                    a.per_arrow = per_arrow;
                }
                if self.autoplay {
                    ask(LessonEffect::Pace(self.pace()))
                } else {
                    Effect::None
                }
            }
            Action::Restart => {
                self.reset_run();
                ask(LessonEffect::Restart(Box::new(self.lesson.clone())))
            }
            Action::Lessons => {
                let selected = self
                    .lessons
                    .iter()
                    .position(|l| l.name == self.lesson.name)
                    .unwrap_or(0);
                self.picker = Some(selected);
                Effect::None
            }
            Action::Quit => Effect::Quit,
            // The shell's: presenter keys, windows, scrolling, suspend.
            Action::Suspend
            | Action::Sort
            | Action::Present
            | Action::Blank
            | Action::Freeze
            | Action::Handout
            | Action::Help
            | Action::Narration
            | Action::Scroll
            | Action::Up
            | Action::Down => Effect::None,
        }
    }

    /// Apply one message. Pure: no I/O, no clock.
    pub fn update(&mut self, msg: Msg<Feed>) -> Effect {
        match msg {
            Msg::Key(k) => self.on_key(k),
            Msg::Tick => {
                if let Some(a) = &mut self.anim {
                    a.frame = a.frame.saturating_add(1);
                    if !a.running() {
                        self.anim = None;
                    }
                }
                Effect::None
            }
            Msg::Feed(Feed::Engine(m)) => {
                let call_returned = matches!(m, EngineMsg::Event(_));
                let finished = matches!(m, EngineMsg::Finished);
                // A predicted call returned: a right answer is kept.
                let right = match &m {
                    EngineMsg::Event(e) => self.predicted_right(e),
                    _ => false,
                };
                self.on_engine(m);
                if right && self.progress_file.is_some() {
                    return ask(LessonEffect::SaveProgress { finished: false });
                }
                // Every step ran: the lesson counts as done, once.
                if finished
                    && self.progress_file.is_some()
                    && self.progress.finish(&self.lesson.name)
                {
                    return ask(LessonEffect::SaveProgress { finished: true });
                }
                // The lesson's call may have taken or freed the port being
                // explained: look again, so the bind result stays live.
                match self.port.asked {
                    Some(port) if call_returned => ask(LessonEffect::ExplainPort(port)),
                    _ => Effect::None,
                }
            }
            Msg::Feed(Feed::Capture(status)) => {
                self.set_capture(status);
                Effect::None
            }
            Msg::Feed(Feed::Port(report)) => {
                if self.port.asked == Some(report.port) {
                    self.port.report = Some(report);
                }
                Effect::None
            }
            Msg::Feed(Feed::Kernel(view)) => {
                if self.review.is_none() {
                    self.kernel_live = Some(view);
                }
                Effect::None
            }
            // The shell keeps the terminal's size. Where a click lands
            // depends on the layout, which is drawing's business: the
            // screen (screens::lesson) maps it to a step and calls
            // `review_step` or `wheel`. Notices are the shell's to write
            // (see `Screen::notice`).
            Msg::Resize(..) | Msg::Mouse(_) | Msg::Notice(_) => Effect::None,
        }
    }
}

/// One message straight to the lesson, past the shell's layers: for the
/// panels' tests, which step a lesson and draw it.
#[cfg(test)]
pub(crate) fn update(app: &mut App, msg: Msg<Feed>) -> Effect {
    app.update(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::shell::{Screen, Shell, Window};
    use crossterm::event::{KeyCode, KeyModifiers};

    type TestShell = Shell<App>;

    fn key(c: KeyCode) -> Msg<Feed> {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }
    fn space() -> Msg<Feed> {
        key(KeyCode::Char(' '))
    }
    fn engine(m: EngineMsg) -> Msg<Feed> {
        Msg::Feed(Feed::Engine(m))
    }
    /// Through the shell, as the loop does: the presenter's layers first.
    fn update(a: &mut TestShell, msg: Msg<Feed>) -> Effect {
        a.update(msg)
    }
    const STEP: Effect = Effect::Screen(LessonEffect::Step);

    use crate::fixtures::{app, run_to};

    /// Study mode: Space at a step with a question opens it instead of
    /// running the call; a choice's number answers it and runs the call;
    /// Esc closes it with nothing run; without study mode Space just runs.
    #[test]
    fn study_mode_asks_before_the_call_and_the_answer_runs_it() {
        let mut a = app("boundaries");
        let asks = a
            .screen
            .lesson
            .steps
            .iter()
            .position(|s| s.predict.is_some())
            .unwrap();
        a.screen.latest = asks; // the step before the question's has reported
        assert_eq!(update(&mut a, space()), STEP, "not studying: just runs");
        a.screen.study = true;
        assert_eq!(update(&mut a, space()), Effect::None);
        assert_eq!(a.screen.predicting, Some(asks + 1));
        assert_eq!(
            update(&mut a, key(KeyCode::Char('9'))),
            Effect::None,
            "no such choice"
        );
        assert_eq!(update(&mut a, key(KeyCode::Esc)), Effect::None);
        assert_eq!(a.screen.predicting, None);
        assert!(a.screen.predictions.is_empty(), "closed unanswered");
        update(&mut a, space());
        assert_eq!(update(&mut a, key(KeyCode::Char('2'))), STEP);
        assert_eq!(a.screen.predictions.get(&(asks + 1)), Some(&1));
        // Autoplay would run past the questions.
        assert_eq!(update(&mut a, key(KeyCode::Char('a'))), Effect::None);
        assert!(!a.screen.autoplay);
        // The call returns as predicted (both sends, 10 bytes): a right
        // answer, kept once when progress is kept.
        a.screen.progress_file = Some("progress.toml".into());
        let recv = |bytes| {
            engine(EngineMsg::Event(Box::new(Event {
                step: asks + 1,
                seq: 1,
                actor: "server".into(),
                call: sockscope_core::engine::Call::Recv,
                bytes: Some(bytes),
                ..Event::default()
            })))
        };
        assert_eq!(
            update(&mut a, recv(10)),
            Effect::Screen(LessonEffect::SaveProgress { finished: false })
        );
        assert_eq!(a.screen.progress.right_of("boundaries", [asks + 1]), 1);
        assert_eq!(update(&mut a, recv(10)), Effect::None, "not news");
        let mut wrong = app("boundaries");
        wrong.screen.study = true;
        wrong.screen.progress_file = Some("progress.toml".into());
        wrong.screen.predictions.insert(asks + 1, 0);
        assert_eq!(
            update(&mut wrong, recv(10)),
            Effect::None,
            "5 bytes was wrong"
        );
    }

    /// `c` opens the code panel in the first language, each press shows the
    /// next, and past the last the layer diagram comes back; `K` leaves it.
    #[test]
    fn c_cycles_the_code_panel_through_its_languages_and_closes_it() {
        use crate::code::Lang;
        let mut a = app("tcp");
        let c = key(KeyCode::Char('c'));
        let seen: Vec<(bool, Lang)> = (0..4)
            .map(|_| {
                update(&mut a, c.clone());
                (a.screen.code_panel, a.screen.code_lang)
            })
            .collect();
        assert_eq!(
            seen,
            [
                (true, Lang::C),
                (true, Lang::Python),
                (true, Lang::Rust),
                (false, Lang::C)
            ]
        );
        a.screen.code_start = Lang::Rust;
        a.screen.code_lang = Lang::Rust;
        update(&mut a, c.clone());
        update(&mut a, c.clone());
        assert_eq!((a.screen.code_panel, a.screen.code_lang), (true, Lang::C));
        update(&mut a, key(KeyCode::Char('K')));
        assert!(!a.screen.code_panel);
    }

    /// A lesson run to its end is kept as finished, once, and only when
    /// progress is kept at all.
    #[test]
    fn the_end_of_a_run_asks_once_to_keep_the_progress() {
        let mut a = app("udp");
        assert_eq!(update(&mut a, engine(EngineMsg::Finished)), Effect::None);
        assert!(
            !a.screen.progress.is_finished("udp"),
            "not kept: not marked"
        );
        a.screen.progress_file = Some("progress.toml".into());
        assert_eq!(
            update(&mut a, engine(EngineMsg::Finished)),
            Effect::Screen(LessonEffect::SaveProgress { finished: true })
        );
        assert!(a.screen.progress.is_finished("udp"));
        // A restart's second run to the end is not news.
        assert_eq!(update(&mut a, engine(EngineMsg::Finished)), Effect::None);
        // A run that stopped early is not finished.
        let mut b = app("tcp");
        b.screen.progress_file = Some("progress.toml".into());
        let failed = EngineMsg::Failed(sockscope_core::engine::EngineError::ActorGone("x".into()));
        assert_eq!(update(&mut b, engine(failed)), Effect::None);
        assert!(!b.screen.progress.is_finished("tcp"));
    }

    #[test]
    fn space_asks_the_engine_for_the_next_call() {
        let mut a = app("tcp");
        assert_eq!(update(&mut a, space()), STEP);
        assert_eq!(update(&mut a, key(KeyCode::PageDown)), STEP);
    }

    #[test]
    fn engine_messages_advance_now_and_woken_calls_belong_to_the_waking_step() {
        let mut a = app("tcp");
        run_to(&mut a, &fixtures::tcp(), 6);
        assert_eq!(a.screen.latest, 6);
        let accept = a
            .screen
            .history
            .iter()
            .find(|r| matches!(&r.entry, Entry::Event(e) if e.call == sockscope_core::engine::Call::Accept))
            .unwrap();
        assert_eq!(accept.entry.step(), 4);
        assert_eq!(accept.at_step, 6, "accept returns during the connect step");
        assert!(a.animating(), "the handshake arrows travel");
    }

    #[test]
    fn back_reviews_without_running_anything_and_forward_returns_to_now() {
        let mut a = app("tcp");
        run_to(&mut a, &fixtures::tcp(), 9);
        assert_eq!(update(&mut a, key(KeyCode::Left)), Effect::None);
        assert_eq!(a.screen.review, Some(8));
        update(&mut a, key(KeyCode::PageUp));
        assert_eq!(a.screen.focus(), 7);
        assert!(a.screen.visible().all(|r| r.at_step <= 7));
        assert_eq!(update(&mut a, space()), Effect::None);
        assert_eq!(a.screen.review, Some(8));
        assert_eq!(update(&mut a, space()), Effect::None);
        assert_eq!(
            a.screen.review, None,
            "one press past the end returns to now"
        );
        assert_eq!(update(&mut a, space()), STEP);
    }

    #[test]
    fn end_and_esc_leave_review() {
        let mut a = app("tcp");
        run_to(&mut a, &fixtures::tcp(), 5);
        update(&mut a, key(KeyCode::Left));
        update(&mut a, key(KeyCode::Left));
        assert_eq!(a.screen.review, Some(3));
        update(&mut a, key(KeyCode::End));
        assert_eq!(a.screen.review, None);
        update(&mut a, key(KeyCode::Left));
        update(&mut a, key(KeyCode::Esc));
        assert_eq!(a.screen.review, None);
    }

    #[test]
    fn back_stops_at_the_first_step() {
        let mut a = app("udp");
        run_to(&mut a, &fixtures::udp(), 3);
        for _ in 0..10 {
            update(&mut a, key(KeyCode::Char('h')));
        }
        assert_eq!(a.screen.review, Some(1));
    }

    #[test]
    fn autoplay_toggles_the_engine_pace_and_speed_scales_it() {
        let mut a = app("tcp");
        let on = update(&mut a, key(KeyCode::Char('a')));
        assert_eq!(
            on,
            ask(LessonEffect::Pace(Pace::Autoplay(Duration::from_secs(3))))
        );
        let faster = update(&mut a, key(KeyCode::Char('+')));
        assert_eq!(
            faster,
            ask(LessonEffect::Pace(Pace::Autoplay(Duration::from_millis(
                1500
            ))))
        );
        assert_eq!(
            update(&mut a, key(KeyCode::Char('a'))),
            ask(LessonEffect::Pace(Pace::Manual))
        );
        for _ in 0..10 {
            update(&mut a, key(KeyCode::Char('-')));
        }
        assert_eq!(a.screen.speed, 0);
    }

    #[test]
    fn stepping_back_pauses_autoplay() {
        let mut a = app("tcp");
        run_to(&mut a, &fixtures::tcp(), 3);
        update(&mut a, key(KeyCode::Char('a')));
        assert_eq!(
            update(&mut a, key(KeyCode::Left)),
            ask(LessonEffect::Pace(Pace::Manual))
        );
        assert!(!a.screen.autoplay);
    }

    #[test]
    fn restart_clears_the_history_and_asks_for_a_new_engine() {
        let mut a = app("tcp");
        run_to(&mut a, &fixtures::tcp(), 8);
        let e = update(&mut a, key(KeyCode::Char('r')));
        assert!(matches!(e, Effect::Screen(LessonEffect::Restart(l)) if l.name == "tcp"));
        assert!(a.screen.history.is_empty());
        assert_eq!(a.screen.latest, 0);
    }

    #[test]
    fn the_picker_chooses_a_lesson_and_restarts_on_it() {
        let mut a = app("tcp");
        update(&mut a, key(KeyCode::Char('L')));
        let Some(selected) = a.screen.picker else {
            panic!("picker not open")
        };
        assert_eq!(a.screen.lessons[selected].name, "tcp");
        let udp = a
            .screen
            .lessons
            .iter()
            .position(|l| l.name == "udp")
            .unwrap();
        while a.screen.picker != Some(udp) {
            update(&mut a, key(KeyCode::Down));
        }
        let e = update(&mut a, key(KeyCode::Enter));
        assert!(matches!(e, Effect::Screen(LessonEffect::Restart(l)) if l.name == "udp"));
        assert_eq!(a.screen.lesson.name, "udp");
        assert_eq!(a.screen.picker, None);
    }

    #[test]
    fn help_opens_and_esc_closes_it_without_stepping() {
        let mut a = app("tcp");
        update(&mut a, key(KeyCode::Char('?')));
        assert_eq!(a.window, Some(Window::Help));
        assert_eq!(update(&mut a, space()), Effect::None);
        update(&mut a, key(KeyCode::Esc));
        assert_eq!(a.window, None);
    }

    #[test]
    fn q_and_ctrl_c_quit_even_from_an_overlay() {
        let mut a = app("tcp");
        assert_eq!(update(&mut a, key(KeyCode::Char('q'))), Effect::Quit);
        update(&mut a, key(KeyCode::Char('?')));
        let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(update(&mut a, ctrl_c), Effect::Quit);
    }

    #[test]
    fn ticks_advance_the_arrow_and_stop_when_it_has_arrived() {
        let mut a = app("udp");
        run_to(&mut a, &fixtures::udp(), 5);
        assert!(a.animating());
        let mut ticks = 0;
        while a.animating() {
            update(&mut a, Msg::Tick);
            ticks += 1;
            assert!(ticks < 1000);
        }
        // One datagram at 1x: half a second of frames.
        assert_eq!(ticks, FPS / 2);
    }

    #[test]
    fn after_the_end_space_explains_instead_of_stepping() {
        let mut a = app("udp");
        for m in fixtures::udp() {
            update(&mut a, engine(m));
        }
        assert_eq!(a.screen.run, RunState::Finished);
        assert_eq!(update(&mut a, space()), Effect::None);
        assert!(
            a.screen
                .notice
                .as_deref()
                .unwrap()
                .contains("r runs it again")
        );
    }

    #[test]
    fn history_is_bounded() {
        let mut a = app("udp");
        let msgs = fixtures::udp();
        for _ in 0..=(HISTORY_CAP / 4) {
            for m in &msgs {
                update(&mut a, engine(m.clone()));
            }
        }
        assert_eq!(a.screen.history.len(), HISTORY_CAP);
    }

    fn typed(a: &mut TestShell, text: &str) -> Vec<Effect> {
        text.chars()
            .map(|c| update(a, key(KeyCode::Char(c))))
            .collect()
    }

    #[test]
    fn colon_opens_the_port_prompt_and_the_digits_go_to_it_not_the_lesson() {
        let mut a = app("tcp");
        assert_eq!(update(&mut a, key(KeyCode::Char(':'))), Effect::None);
        assert_eq!(a.screen.port.typing.as_deref(), Some(""));
        // `l` and `n` would step the lesson; in the prompt they are text.
        let effects = typed(&mut a, "8l0n");
        assert!(effects.iter().all(|e| *e == Effect::None), "{effects:?}");
        assert_eq!(a.screen.port.typing.as_deref(), Some("8l0n"));
        update(&mut a, key(KeyCode::Backspace));
        update(&mut a, key(KeyCode::Backspace));
        update(&mut a, key(KeyCode::Backspace));
        typed(&mut a, "0");
        assert_eq!(a.screen.port.typing.as_deref(), Some("80"));
        assert_eq!(
            update(&mut a, key(KeyCode::Enter)),
            ask(LessonEffect::ExplainPort(80))
        );
        assert_eq!(a.screen.port.typing, None);
        assert_eq!(a.screen.port.asked, Some(80));
        assert_eq!(a.screen.latest, 0, "nothing of the lesson ran");
    }

    #[test]
    fn the_prompt_refuses_what_is_not_a_port_and_names_the_range() {
        for bad in ["70000", "65536", "-1", "abc", ""] {
            let mut a = app("tcp");
            update(&mut a, key(KeyCode::Char(':')));
            typed(&mut a, bad);
            assert_eq!(update(&mut a, key(KeyCode::Enter)), Effect::None, "{bad}");
            let e = a.screen.port.error.clone().unwrap();
            assert!(e.contains("0-65535"), "{bad}: {e}");
            assert!(
                a.screen.port.typing.is_some(),
                "the prompt stays open to fix it"
            );
            update(&mut a, key(KeyCode::Backspace));
            assert_eq!(a.screen.port.error, None);
        }
        let mut a = app("tcp");
        update(&mut a, key(KeyCode::Char(':')));
        typed(&mut a, "123456789012");
        assert_eq!(a.screen.port.typing.unwrap().len(), PORT_INPUT_MAX);
    }

    #[test]
    fn esc_cancels_the_prompt_q_is_text_and_ctrl_c_still_quits() {
        let mut a = app("tcp");
        update(&mut a, key(KeyCode::Char(':')));
        assert_eq!(update(&mut a, key(KeyCode::Char('q'))), Effect::None);
        assert_eq!(a.screen.port.typing.as_deref(), Some("q"));
        update(&mut a, key(KeyCode::Esc));
        assert_eq!(a.screen.port, PortInput::default());
        assert_eq!(update(&mut a, space()), STEP, "keys reach the lesson again");
        update(&mut a, key(KeyCode::Char(':')));
        let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(update(&mut a, ctrl_c), Effect::Quit);
    }

    #[test]
    fn the_report_is_kept_for_the_port_asked_and_esc_puts_it_away() {
        let mut a = app("tcp");
        let report = fixtures::port_80_nobody();
        // An answer for a port nobody asked about is dropped.
        update(&mut a, Msg::Feed(Feed::Port(Box::new(report.clone()))));
        assert_eq!(a.screen.port.report, None);
        update(&mut a, key(KeyCode::Char(':')));
        typed(&mut a, "80");
        update(&mut a, key(KeyCode::Enter));
        update(&mut a, Msg::Feed(Feed::Port(Box::new(report.clone()))));
        assert_eq!(a.screen.port.report.as_deref(), Some(&report));
        // Asking again keeps the old answer visible until the new one comes.
        update(&mut a, key(KeyCode::Char(':')));
        assert!(a.screen.port.report.is_some());
        update(&mut a, key(KeyCode::Esc));
        assert!(
            a.screen.port.report.is_some(),
            "Esc cancels only the typing"
        );
        update(&mut a, key(KeyCode::Esc));
        assert_eq!(a.screen.port, PortInput::default());
    }

    #[test]
    fn every_call_that_returns_looks_at_the_typed_port_again() {
        let mut a = app("tcp");
        let msgs = fixtures::tcp();
        // Nothing asked: engine messages need nothing.
        assert_eq!(update(&mut a, engine(msgs[0].clone())), Effect::None);
        update(&mut a, key(KeyCode::Char(':')));
        typed(&mut a, "8080");
        update(&mut a, key(KeyCode::Enter));
        for m in &msgs[1..] {
            let effect = update(&mut a, engine(m.clone()));
            match m {
                EngineMsg::Event(_) => assert_eq!(effect, ask(LessonEffect::ExplainPort(8080))),
                _ => assert_eq!(effect, Effect::None),
            }
        }
    }

    #[test]
    fn p_toggles_presenter_mode_even_over_an_overlay() {
        let mut a = app("tcp");
        update(&mut a, key(KeyCode::Char('?')));
        assert_eq!(update(&mut a, key(KeyCode::Char('P'))), Effect::None);
        assert!(a.present);
        assert_eq!(a.window, Some(Window::Help), "the help stays open");
        update(&mut a, key(KeyCode::Char('P')));
        assert!(!a.present);
    }

    #[test]
    fn blank_comes_back_on_any_key_which_does_nothing_else() {
        let mut a = app("tcp");
        for blank in ['b', '.'] {
            update(&mut a, key(KeyCode::Char(blank)));
            assert!(a.blank);
            // Space would run a call; on a blank screen it only unblanks.
            assert_eq!(update(&mut a, space()), Effect::None);
            assert!(!a.blank);
        }
        update(&mut a, key(KeyCode::Char('b')));
        let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(update(&mut a, ctrl_c), Effect::Quit);
    }

    #[test]
    fn freeze_keeps_the_picture_while_the_lesson_goes_on() {
        let msgs = fixtures::tcp();
        let mut a = app("tcp");
        run_to(&mut a, &msgs, 3);
        update(&mut a, key(KeyCode::Char('f')));
        let still = a.frozen.as_ref().expect("frozen").latest;
        assert_eq!(still, 3);
        // The lesson goes on: keys still step, events still arrive.
        assert_eq!(update(&mut a, space()), STEP);
        run_to(&mut a, &msgs, 8);
        assert_eq!(a.screen.latest, 8);
        assert_eq!(a.frozen.as_ref().unwrap().latest, 3);
        update(&mut a, key(KeyCode::Char('f')));
        assert!(a.frozen.is_none());
    }

    #[test]
    fn windows_opened_while_frozen_show_on_the_frozen_picture() {
        let msgs = fixtures::tcp();
        let mut a = app("tcp");
        update(&mut a, Msg::Resize(80, 24));
        run_to(&mut a, &msgs, 3);
        update(&mut a, key(KeyCode::Char('f')));
        run_to(&mut a, &msgs, 8);
        // `m` and `?` open on the picture that is drawn: the frozen one.
        update(&mut a, key(KeyCode::Char('m')));
        let still = a.frozen.as_ref().expect("still frozen");
        assert_eq!(a.window, Some(Window::Text));
        assert_eq!(still.latest, 3, "the narration read is the frozen step's");
        assert!(
            a.shown().text(a.theme()).unwrap().title.contains("step 3"),
            "the window reads the frozen picture"
        );
        update(&mut a, key(KeyCode::Char('?')));
        assert_eq!(a.window, Some(Window::Help));
        assert!(a.frozen.is_some());
        // Scrolling moves that window, not the lesson.
        assert_eq!(update(&mut a, key(KeyCode::PageDown)), Effect::None);
        update(&mut a, key(KeyCode::Esc));
        assert_eq!(a.window, None);
        assert!(a.frozen.is_some());
        // With no window open, keys drive the lesson behind the picture.
        assert_eq!(update(&mut a, space()), STEP);
        assert_eq!((a.window, a.screen.picker), (None, None));
        // Choosing another lesson ends the freeze and shows the picker.
        update(&mut a, key(KeyCode::Char('L')));
        assert!(a.frozen.is_none());
        assert!(a.screen.picker.is_some());
    }

    #[test]
    fn e_asks_for_a_handout_of_the_run_so_far() {
        let msgs = fixtures::tcp();
        let mut a = app("tcp");
        run_to(&mut a, &msgs, 6);
        let Effect::Handout(handout) = update(&mut a, key(KeyCode::Char('e'))) else {
            panic!("e should ask for a handout")
        };
        assert_eq!(handout.stem, "tcp");
        let got = a.screen.handout_msgs();
        assert_eq!(got.len(), a.screen.history.len());
        let md = handout.markdown;
        assert_eq!(
            md,
            sockscope_report::handout::render(&a.screen.lesson, &got)
        );
        assert!(md.contains("### 6. server: `accept`") || md.contains(": `accept`"));
        assert!(!md.contains("### 7."), "only what ran so far");
        assert_eq!(
            update(&mut a, Msg::Notice("Handout written: x.md".into())),
            Effect::None
        );
        assert_eq!(a.screen.notice.as_deref(), Some("Handout written: x.md"));
    }

    #[test]
    fn the_help_scrolls_within_its_text_and_pgdn_does_not_step() {
        let mut a = app("tcp");
        update(&mut a, Msg::Resize(80, 24));
        update(&mut a, key(KeyCode::Char('?')));
        let (max, page) = a.scroll_limits();
        assert!(max > 0, "at 80x24 the help is taller than the window");
        update(&mut a, key(KeyCode::Char('j')));
        update(&mut a, key(KeyCode::Down));
        assert_eq!(a.scroll, 2);
        update(&mut a, key(KeyCode::Char('k')));
        assert_eq!(a.scroll, 1);
        // PgDn and Space step the lesson elsewhere; here they turn a page.
        assert_eq!(update(&mut a, key(KeyCode::PageDown)), Effect::None);
        assert_eq!(a.scroll, (1 + page).min(max));
        assert_eq!(update(&mut a, space()), Effect::None);
        assert_eq!(a.screen.latest, 0, "nothing ran");
        update(&mut a, key(KeyCode::End));
        assert_eq!(a.scroll, max);
        update(&mut a, key(KeyCode::Down));
        assert_eq!(a.scroll, max, "no scrolling past the end");
        update(&mut a, key(KeyCode::PageUp));
        assert_eq!(a.scroll, max - page.min(max));
        update(&mut a, key(KeyCode::Home));
        assert_eq!(a.scroll, 0);
        update(&mut a, key(KeyCode::Up));
        assert_eq!(a.scroll, 0);
        // On a big terminal it all fits: nothing to scroll.
        update(&mut a, Msg::Resize(200, 50));
        update(&mut a, key(KeyCode::Char('j')));
        assert_eq!(a.scroll, 0);
        update(&mut a, key(KeyCode::Esc));
        assert_eq!(a.window, None);
    }

    #[test]
    fn m_opens_the_whole_narration_which_scrolls_and_closes() {
        let msgs = fixtures::tcp();
        let mut a = app("tcp");
        // A teacher's own lesson may say more than any screen holds.
        a.screen.lesson.steps[5].say = "The kernel did this. ".repeat(80);
        run_to(&mut a, &msgs, 6);
        update(&mut a, Msg::Resize(80, 24));
        update(&mut a, key(KeyCode::Char('?')));
        update(&mut a, key(KeyCode::Char('j')));
        // m from the help goes to the narration, at its top.
        assert_eq!(update(&mut a, key(KeyCode::Char('m'))), Effect::None);
        assert_eq!(a.window, Some(Window::Text));
        assert_eq!(a.scroll, 0);
        let (max, _) = a.scroll_limits();
        assert!(max > 0, "this narration is taller than 80x24 allows");
        update(&mut a, key(KeyCode::End));
        assert_eq!(a.scroll, max);
        // Space scrolls here; it does not run a call.
        assert_eq!(update(&mut a, space()), Effect::None);
        assert_eq!(a.screen.latest, 6);
        // m again closes it, as Esc does; q quits from it.
        update(&mut a, key(KeyCode::Char('m')));
        assert_eq!(a.window, None);
        update(&mut a, key(KeyCode::Char('m')));
        update(&mut a, key(KeyCode::Esc));
        assert_eq!(a.window, None);
        update(&mut a, key(KeyCode::Char('m')));
        assert_eq!(update(&mut a, key(KeyCode::Char('q'))), Effect::Quit);
    }

    #[test]
    fn the_configured_autoplay_interval_sets_the_pace() {
        let mut a = app("tcp");
        a.screen.autoplay_base = Duration::from_millis(1200);
        update(&mut a, key(KeyCode::Char('a')));
        assert_eq!(a.screen.pace(), Pace::Autoplay(Duration::from_millis(1200)));
        update(&mut a, key(KeyCode::Char('+')));
        assert_eq!(a.screen.pace(), Pace::Autoplay(Duration::from_millis(600)));
    }
}
