//! The serve screen in the shell: [`ServeView`] as a [`Screen`], and the
//! [`ServeDriver`] that hands it the real server's events.
//!
//! The server runs on its own (a real echo server); the screen only
//! watches. The one thing the driver carries out is reading the server's
//! counts and peers on the screen's timer ([`ServeEffect::ReadHall`]).

use crate::Options;
use crate::keys::{KeyMap, ScreenKind};
use crate::serve::{HALL_REFRESH, Hall, ServeEffect, ServeFeed, ServeView};
use crate::shell::run::{self, Driver, Outcome};
use crate::shell::term::{self, TerminalGuard};
use crate::shell::{Effect, Handout, Msg, Screen, Shell};
use crate::theme::{Glyphs, Theme, Themes};
use ratatui::Frame;
use ratatui::layout::Rect;
use sockscope_core::engine::EngineMsg;
use sockscope_core::engine::serve::{ServeConfig, Server};
use std::time::{Duration, Instant};

impl Screen for ServeView {
    const KIND: ScreenKind = ScreenKind::Serve;
    // "Handout written" is read by the time the next key is pressed.
    const NOTICE_UNTIL_KEY: bool = true;
    type Feed = ServeFeed;
    type Effect = ServeEffect;

    fn update(&mut self, msg: Msg<ServeFeed>) -> Effect<ServeEffect> {
        ServeView::update(self, msg)
    }

    fn every(&self) -> Option<(Duration, ServeEffect)> {
        Some((HALL_REFRESH, ServeEffect::ReadHall))
    }

    fn render(frame: &mut Frame, area: Rect, shell: &Shell<ServeView>, theme: &Theme) {
        crate::ui::serve::render(frame, area, shell, theme);
    }

    fn keys(&self) -> &KeyMap {
        &self.keys
    }

    fn notice(&mut self) -> &mut Option<String> {
        &mut self.notice
    }

    fn legend(&self, g: &Glyphs) -> Vec<(String, String)> {
        vec![(
            g.waiting.to_string(),
            "the call is waiting in the kernel for a peer".to_string(),
        )]
    }

    fn handout(&self) -> Handout {
        Handout {
            stem: "serve".into(),
            markdown: ServeView::handout(self),
        }
    }
}

/// The running server, as the serve screen's source.
pub struct ServeDriver<'a> {
    server: &'a mut Server,
    /// The server has sent its last message.
    ended: bool,
}

impl Driver<ServeView> for ServeDriver<'_> {
    async fn next(&mut self) -> ServeFeed {
        if !self.ended {
            match self.server.next().await {
                Some(m) => return ServeFeed::Server(m),
                None => self.ended = true,
            }
        }
        std::future::pending().await
    }

    fn try_next(&mut self) -> Option<ServeFeed> {
        self.server.try_next().map(ServeFeed::Server)
    }

    fn perform(&mut self, effect: ServeEffect, _: &ServeView) -> Option<Msg<ServeFeed>> {
        match effect {
            ServeEffect::ReadHall => Some(Msg::Feed(ServeFeed::Hall(Box::new(Hall {
                stats: self.server.stats(),
                peers: self.server.peers(),
                read_at: Instant::now(),
            })))),
        }
    }
}

/// How `sockscope serve` on the screen ended.
pub enum ServeEnd {
    /// The server ran; the presenter quit, or a signal came.
    Ran(Outcome),
    /// The server socket could not be set up: the calls it made, the failed
    /// one last, to print.
    SetupFailed(Vec<EngineMsg>),
}

/// `sockscope serve` with a screen: a real echo server, one lane per peer,
/// until the presenter quits (q) or a signal arrives. The server closes its
/// socket and every connection when this returns.
pub fn run(config: ServeConfig, options: Options) -> color_eyre::Result<ServeEnd> {
    term::check_terminal()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut server = Server::start(config);
    let Some(local) = server.local_addr() else {
        let msgs = runtime.block_on(async {
            let mut msgs = Vec::new();
            while let Some(m) = server.next().await {
                msgs.push(m);
            }
            msgs
        });
        return Ok(ServeEnd::SetupFailed(msgs));
    };
    term::install_panic_hook();
    let themes = Themes::from_env(options.theme, &options.colors, options.ascii);
    let mut view = ServeView::new(config.proto, local, config.bind);
    view.keys = options.keys.clone();
    let mut shell = Shell::new(view, themes);
    shell.present = options.present;
    let mut guard = TerminalGuard::enter(ServeView::MOUSE)?;
    let mut driver = ServeDriver {
        server: &mut server,
        ended: false,
    };
    let outcome = runtime.block_on(run::run(&mut guard, &mut shell, &mut driver));
    drop(guard);
    server.stop();
    drop(server);
    outcome.map(ServeEnd::Ran)
}
