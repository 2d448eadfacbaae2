//! A program in a pseudo-terminal, seen through a vt100 screen: what the
//! process-level benchmarks use to start sockscope as a user would, press
//! keys, and watch what is drawn.

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Term {
    child: Box<dyn Child + Send + Sync>,
    bytes: mpsc::Receiver<Vec<u8>>,
    writer: Box<dyn Write + Send>,
    pub parser: vt100::Parser,
    /// Kept so the pty stays open while the child runs.
    master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Term {
    pub fn spawn(program: &str, args: &[&str], cols: u16, rows: u16) -> Term {
        Term::spawn_with_env(program, args, &[], cols, rows)
    }

    pub fn spawn_with_env(
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        cols: u16,
        rows: u16,
    ) -> Term {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn in pty");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let (tx, bytes) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Term {
            child,
            bytes,
            writer,
            parser: vt100::Parser::new(
                std::num::NonZero::new(rows).expect("rows > 0"),
                std::num::NonZero::new(cols).expect("cols > 0"),
                0,
            ),
            master: pair.master,
        }
    }

    /// Resize the terminal, as dragging the window's corner does: the pty
    /// sends the program SIGWINCH, and the screen model gets the new size.
    #[allow(dead_code)] // used by tests/tui_pty.rs, not by the benchmarks
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize pty");
        self.parser.set_size(
            std::num::NonZero::new(rows).expect("rows > 0"),
            std::num::NonZero::new(cols).expect("cols > 0"),
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("child pid")
    }

    pub fn press(&mut self, keys: &[u8]) {
        self.writer.write_all(keys).expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    /// Feed output to the screen until `done` holds; the time it took.
    ///
    /// A frame can reach the pty in several reads, so once `done` holds the
    /// rest of the frame is read too (until the output pauses briefly):
    /// whatever the caller checks next sees a whole frame, not half of one.
    /// The time returned is when `done` first held.
    pub fn wait_for(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&vt100::Screen) -> bool,
    ) -> Option<Duration> {
        let start = Instant::now();
        loop {
            if done(self.parser.screen()) {
                let took = start.elapsed();
                self.settle();
                return Some(took);
            }
            let left = timeout.checked_sub(start.elapsed())?;
            match self.bytes.recv_timeout(left) {
                Ok(b) => self.parser.process(&b),
                Err(_) => return None,
            }
        }
    }

    /// Read until the output pauses for a moment (bounded), so the screen
    /// holds a whole frame.
    fn settle(&mut self) {
        const QUIET: Duration = Duration::from_millis(30);
        const AT_MOST: Duration = Duration::from_millis(500);
        let start = Instant::now();
        while start.elapsed() < AT_MOST {
            match self.bytes.recv_timeout(QUIET) {
                Ok(b) => self.parser.process(&b),
                Err(_) => break,
            }
        }
    }

    /// Read whatever output arrives within `d` (to let the screen settle).
    pub fn drain_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.bytes.recv_timeout(left) {
                Ok(b) => self.parser.process(&b),
                Err(_) => break,
            }
        }
    }

    pub fn contents(&self) -> String {
        self.parser.screen().contents()
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<portable_pty::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            self.drain_for(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
