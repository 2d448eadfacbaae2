//! A call waiting for a peer must sleep in epoll, not spin. A paused lesson
//! (the TUI between key presses) sits at a waiting accept for as long as the
//! presenter talks; a spinning accept would burn a core and, on the engine's
//! single-threaded runtime, starve every other task (the screen included).

use sockscope_core::engine::{Engine, EngineConfig, EngineMsg, Pace};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn a_waiting_accept_lets_the_runtime_run_other_tasks() {
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let got = rt.block_on(async {
            let lesson = sockscope_core::lesson::builtin("tcp").unwrap();
            let mut engine = Engine::start(
                lesson,
                EngineConfig {
                    port: 0,
                    pace: Pace::Manual,
                    capture: false,
                },
            );
            // socket, bind, listen, then accept, which waits: nobody connects.
            let mut last = None;
            for _ in 0..4 {
                engine.step();
                last = engine.next().await;
            }
            assert!(matches!(last, Some(EngineMsg::Waiting(_))), "{last:?}");
            // With accept asleep in epoll the timer fires; with accept
            // spinning on EAGAIN it never would, and this thread would hang.
            tokio::time::timeout(Duration::from_millis(50), engine.next())
                .await
                .is_err()
        });
        let _ = done_tx.send(got);
    });
    let timed_out_quietly = done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the runtime was starved: the waiting accept is spinning");
    assert!(
        timed_out_quietly,
        "nothing should arrive while accept waits"
    );
}
