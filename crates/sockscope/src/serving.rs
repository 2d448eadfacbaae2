//! `sockscope serve` without the screen: `--headless` (JSON Lines) or a
//! readable transcript when stdout is not a terminal.
//!
//! Output must never hold the server up. A reader that stops reading (a
//! paused pager, a stalled pipe) used to block the program in write(2): it
//! stopped serving new peers and ignored SIGTERM for as long as the reader
//! slept. So the lines go to a writer thread through a bounded queue
//! ([`QUEUE_LINES`]): the serving loop only ever tries to queue a line, and
//! a line that finds the queue full is dropped and counted. At the end the
//! writer gets [`DRAIN`] to write what is queued, and then the program says
//! on stderr how many events were not written, and exits, whether or not
//! the writer is still stuck in a write. The server itself counts exactly
//! ([`Server::stats`]), whatever was dropped, and says so at the end too.

use crate::output;
use sockscope_core::engine::EngineMsg;
use sockscope_core::engine::serve::{self, ServeConfig, Server, Stats};
use sockscope_core::ports::Machine;
use sockscope_report::headless::{self, Format};
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::time::Duration;

/// Lines waiting for the writer, at most. A line is an event (about 1 KB
/// of JSON at most): a few MB.
pub const QUEUE_LINES: usize = 4096;
/// At the end, how long the writer may take to write what is queued.
pub const DRAIN: Duration = Duration::from_secs(1);

/// The writer thread's side: lines written, and how it ended.
struct Writer {
    tx: Option<SyncSender<Vec<u8>>>,
    written: Arc<AtomicU64>,
    queued: u64,
    dropped: u64,
    /// The write error that ended the writer, if one did.
    failed: tokio::sync::watch::Receiver<Option<io::ErrorKind>>,
    error_text: Arc<std::sync::Mutex<Option<String>>>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Writer {
    fn start() -> Writer {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE_LINES);
        let written = Arc::new(AtomicU64::new(0));
        let (fail_tx, failed) = tokio::sync::watch::channel(None);
        let error_text = Arc::new(std::sync::Mutex::new(None));
        let (done_tx, done) = mpsc::channel();
        let counter = Arc::clone(&written);
        let text = Arc::clone(&error_text);
        std::thread::spawn(move || {
            let mut out = io::BufWriter::new(output::stdout());
            let result = (|| -> io::Result<()> {
                while let Ok(line) = rx.recv() {
                    out.write_all(&line)?;
                    counter.fetch_add(1, Ordering::Relaxed);
                    // Everything already queued goes out in one write; then
                    // a flush, so a reader sees each event as it happens.
                    while let Ok(line) = rx.try_recv() {
                        out.write_all(&line)?;
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    out.flush()?;
                }
                out.flush()
            })();
            if let Err(e) = result {
                *sockscope_core::sync::lock(&text) = Some(e.to_string());
                let _ = fail_tx.send(Some(e.kind()));
            }
            let _ = done_tx.send(());
        });
        Writer {
            tx: Some(tx),
            written,
            queued: 0,
            dropped: 0,
            failed,
            error_text,
            done,
        }
    }

    /// Queue one message's text, or count it dropped. The waiting notices
    /// are left out: the EAGAIN event before each says what the server
    /// waits for, under the syscall's real name.
    fn push(&mut self, format: Format, msg: &EngineMsg) {
        if matches!(msg, EngineMsg::Waiting(_)) {
            return;
        }
        let mut line = Vec::with_capacity(256);
        if headless::write_msg(&mut line, format, msg).is_err() || line.is_empty() {
            return;
        }
        let Some(tx) = &self.tx else { return };
        match tx.try_send(line) {
            Ok(()) => self.queued += 1,
            Err(TrySendError::Full(_)) => self.dropped += 1,
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Let the writer finish what is queued, for at most [`DRAIN`]; how many
    /// lines never reached stdout.
    fn finish(&mut self) -> u64 {
        self.tx = None;
        let _ = self.done.recv_timeout(DRAIN);
        let written = self.written.load(Ordering::Relaxed);
        self.dropped + self.queued.saturating_sub(written)
    }

    fn error(&self) -> Option<(io::ErrorKind, String)> {
        let kind = (*self.failed.borrow())?;
        let text = sockscope_core::sync::lock(&self.error_text)
            .clone()
            .unwrap_or_default();
        Some((kind, text))
    }
}

/// What ended the serving loop.
enum End {
    Signal,
    ServerDone,
    OutputFailed,
}

/// Serve until SIGINT or SIGTERM, printing events as `format`.
pub fn run(config: ServeConfig, format: Format) -> color_eyre::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve_until_stopped(config, format))
}

async fn serve_until_stopped(config: ServeConfig, format: Format) -> color_eyre::Result<ExitCode> {
    // The handlers first: a SIGTERM that arrives the moment the port is
    // open must stop the server cleanly, not kill the process.
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut server = Server::start(config);
    let mut writer = Writer::start();
    let Some(local) = server.local_addr() else {
        // The failed call is an event like any other: print it, then say
        // why there is nothing to serve, and what to do about it.
        let mut failed_bind = None;
        while let Some(m) = server.next().await {
            if let EngineMsg::Event(e) = &m
                && !e.ok()
            {
                failed_bind = Some(e.result);
            }
            writer.push(format, &m);
        }
        writer.finish();
        output::say(format!(
            "cannot serve on {}: the server socket could not be set up (see the failed call above)",
            config.bind
        ));
        if failed_bind.is_some_and(|r| r.name() == "EACCES")
            && let Some(way) = Machine::read().way_forward(config.bind.port())
        {
            output::say(way);
        }
        return Ok(match writer.error() {
            Some((io::ErrorKind::BrokenPipe, _)) => ExitCode::from(output::BROKEN_PIPE),
            _ => ExitCode::FAILURE,
        });
    };
    if let Some(w) = serve::exposure_warning(local) {
        output::say(w);
    }
    let proto = config.proto;
    output::say_lines(&format!(
        "{} echo server on {local}. Connect with:\n    {}\n  or: {}\n  Stop with Ctrl-C.",
        proto.name(),
        serve::connect_command(proto, local),
        serve::python_command(proto, local),
    ));
    let mut failed = writer.failed.clone();
    let end = loop {
        tokio::select! {
            m = server.next() => match m {
                Some(m) => writer.push(format, &m),
                None => break End::ServerDone,
            },
            _ = int.recv() => break End::Signal,
            _ = term.recv() => break End::Signal,
            Ok(()) = failed.changed() => break End::OutputFailed,
        }
    };
    // The server closes every connection and its own socket; report that
    // too (as far as output still goes). How many were open is read first:
    // after the stop, none is.
    let open_at_stop = server.stats().open;
    server.stop();
    while let Some(m) = server.next().await {
        writer.push(format, &m);
    }
    let lost = writer.finish();
    let stats = server.stats();
    if let Some((kind, text)) = writer.error() {
        if kind == io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::from(output::BROKEN_PIPE));
        }
        output::say(format!("cannot write to stdout: {text}"));
        return Ok(ExitCode::FAILURE);
    }
    output::say(summary(&stats, open_at_stop, lost));
    Ok(match end {
        End::Signal | End::ServerDone => ExitCode::SUCCESS,
        End::OutputFailed => ExitCode::FAILURE,
    })
}

/// The last line on stderr: what the server did, counted exactly, and what
/// output could not keep up with.
#[must_use]
pub fn summary(s: &Stats, open_at_stop: u64, lost: u64) -> String {
    let mut line = format!(
        "served {} peer{} ({open_at_stop} still open at stop, closed by sockscope), {} bytes in, {} echoed",
        s.seen,
        if s.seen == 1 { "" } else { "s" },
        s.bytes_in,
        s.bytes_out
    );
    for (n, what) in [
        (s.refused, "refused at the peer limit"),
        (s.yielded, "yielded a slot to a newcomer"),
        (s.idle_closed, "closed after the idle timeout"),
    ] {
        if n > 0 {
            line.push_str(&format!("; {n} {what}"));
        }
    }
    if lost > 0 {
        line.push_str(&format!(
            "; {lost} of {} events not written: stdout was not read fast enough, and the server does not wait for it",
            s.events
        ));
    }
    line
}
