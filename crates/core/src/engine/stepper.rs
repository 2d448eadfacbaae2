//! The gate every call waits at: the presenter decides when the next real
//! syscall runs.
//!
//! Manual pace opens the gate once per `Step` command; autoplay opens it after
//! an interval (or earlier, on `Step`); run-to-end never closes it. The gate
//! only awaits a channel or a timer, so a paused lesson costs nothing.

use std::time::Duration;
use tokio::sync::mpsc;

/// How steps are released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// One call per step command.
    Manual,
    /// One call every interval, and on each step command.
    Autoplay(Duration),
    /// No waiting at all: `trace` and the tests.
    RunToEnd,
}

/// Commands the presenter (or a test) sends to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Step,
    Pace(Pace),
    Stop,
}

/// The lesson was stopped, or everyone holding the controls went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

pub struct Gate {
    pace: Pace,
    controls: mpsc::UnboundedReceiver<Control>,
    /// In run-to-end pace a closed control channel is not a reason to stop.
    closed: bool,
    /// Step commands that came while a call was waiting, kept for the next
    /// [`Gate::open`].
    credit: u32,
}

impl Gate {
    #[must_use]
    pub fn new(pace: Pace, controls: mpsc::UnboundedReceiver<Control>) -> Gate {
        Gate {
            pace,
            controls,
            closed: false,
            credit: 0,
        }
    }

    /// Resolves when the presenter stops the run (or, outside run-to-end
    /// pace, everyone holding the controls has gone), for a call that waits
    /// to be interrupted. Step and pace commands that come meanwhile are
    /// kept. Cancel-safe: it can be raced against the call's return.
    pub async fn stopped(&mut self) -> Stopped {
        loop {
            if self.closed {
                if self.pace == Pace::RunToEnd {
                    std::future::pending::<()>().await;
                }
                return Stopped;
            }
            match self.controls.recv().await {
                Some(Control::Stop) => return Stopped,
                Some(Control::Step) => self.credit += 1,
                Some(Control::Pace(p)) => self.pace = p,
                None => self.closed = true,
            }
        }
    }

    /// Wait until the next call may run.
    pub async fn open(&mut self) -> Result<(), Stopped> {
        if self.pace != Pace::RunToEnd && self.credit > 0 {
            self.credit -= 1;
            return Ok(());
        }
        loop {
            match self.pace {
                Pace::RunToEnd => {
                    // Still honour Stop and pace changes that arrived meanwhile.
                    while !self.closed {
                        match self.controls.try_recv() {
                            Ok(Control::Stop) => return Err(Stopped),
                            Ok(Control::Pace(p)) => {
                                self.pace = p;
                                break;
                            }
                            Ok(Control::Step) => {}
                            Err(mpsc::error::TryRecvError::Empty) => break,
                            Err(mpsc::error::TryRecvError::Disconnected) => self.closed = true,
                        }
                    }
                    if self.pace == Pace::RunToEnd {
                        return Ok(());
                    }
                }
                Pace::Manual => match self.next_control().await? {
                    Control::Step => return Ok(()),
                    Control::Pace(p) => self.pace = p,
                    Control::Stop => return Err(Stopped),
                },
                Pace::Autoplay(every) => {
                    tokio::select! {
                        () = tokio::time::sleep(every) => return Ok(()),
                        c = self.next_control() => match c? {
                            Control::Step => return Ok(()),
                            Control::Pace(p) => self.pace = p,
                            Control::Stop => return Err(Stopped),
                        },
                    }
                }
            }
        }
    }

    async fn next_control(&mut self) -> Result<Control, Stopped> {
        if self.closed {
            return Err(Stopped);
        }
        if let Some(c) = self.controls.recv().await {
            Ok(c)
        } else {
            self.closed = true;
            Err(Stopped)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_pace_opens_once_per_step() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut gate = Gate::new(Pace::Manual, rx);
        tx.send(Control::Step).unwrap();
        assert_eq!(gate.open().await, Ok(()));
        tx.send(Control::Stop).unwrap();
        assert_eq!(gate.open().await, Err(Stopped));
    }

    #[tokio::test(start_paused = true)]
    async fn autoplay_opens_after_its_interval() {
        let (_tx, rx) = mpsc::unbounded_channel();
        let mut gate = Gate::new(Pace::Autoplay(Duration::from_millis(700)), rx);
        let start = tokio::time::Instant::now();
        gate.open().await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(700));
    }

    #[tokio::test]
    async fn run_to_end_survives_a_closed_channel() {
        let (tx, rx) = mpsc::unbounded_channel();
        drop(tx);
        let mut gate = Gate::new(Pace::RunToEnd, rx);
        assert_eq!(gate.open().await, Ok(()));
        assert_eq!(gate.open().await, Ok(()));
    }

    #[tokio::test]
    async fn switching_to_manual_waits_for_a_step() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut gate = Gate::new(Pace::RunToEnd, rx);
        tx.send(Control::Pace(Pace::Manual)).unwrap();
        tx.send(Control::Step).unwrap();
        assert_eq!(gate.open().await, Ok(()));
        drop(tx);
        assert_eq!(gate.open().await, Err(Stopped));
    }
}
