//! Engine overhead: the `tcp` lesson run to the end by sockscope's engine,
//! against a plain tokio program that makes the same syscalls and records
//! nothing. docs/performance.md reports the ratio of their throughputs.

use criterion::{Criterion, criterion_group, criterion_main};
use sockscope::engine::{self, EngineConfig, Observers, Pace};
use sockscope::lesson;
use std::hint::black_box;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

/// The floor: the `tcp` lesson's syscalls (socket, bind, listen, then per
/// client: socket, connect, accept, send, recv, send, recv, close, close; then
/// close the listener) with no actors, no events, no observation.
async fn plain_tcp_lesson() {
    let listener = TcpSocket::new_v4().unwrap();
    listener.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = listener.listen(8).unwrap();
    let addr = listener.local_addr().unwrap();
    for msg in [&b"hello from client"[..], b"hello again"] {
        let client = TcpSocket::new_v4().unwrap();
        let (conn, accepted) = tokio::join!(client.connect(addr), listener.accept());
        let (mut conn, (mut served, _)) = (conn.unwrap(), accepted.unwrap());
        let mut buf = [0u8; 1024];
        conn.write_all(msg).await.unwrap();
        let n = served.read(&mut buf).await.unwrap();
        served.write_all(&buf[..n]).await.unwrap();
        let n = conn.read(&mut buf).await.unwrap();
        black_box(n);
        drop(conn);
        drop(served);
    }
}

fn engine_overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tcp = std::sync::Arc::new(lesson::builtin("tcp").unwrap());
    let mut group = c.benchmark_group("tcp_lesson");
    group.bench_function("plain_tokio_floor", |b| {
        b.iter(|| rt.block_on(plain_tcp_lesson()));
    });
    // The budget case: the engine's own work (actors, stepper, events,
    // checked claims), no observers.
    let bare = EngineConfig {
        port: 0,
        pace: Pace::RunToEnd,
        capture: false,
    };
    let no_kernel = Observers { kernel: false };
    group.bench_function("sockscope_engine", |b| {
        b.iter(|| {
            black_box(rt.block_on(engine::run_to_end_observed(tcp.clone(), bare, no_kernel)))
        });
    });
    // With the kernel observer (TCP_INFO and the kernel's tables after every
    // call, waiting for the peer's ACK where a state is passing).
    group.bench_function("sockscope_engine_with_kernel_view", |b| {
        b.iter(|| {
            black_box(rt.block_on(engine::run_to_end_observed(
                tcp.clone(),
                bare,
                Observers::default(),
            )))
        });
    });
    // With packet capture on (needs CAP_NET_RAW; without it the run
    // degrades to no capture).
    let with_capture = EngineConfig {
        capture: true,
        ..bare
    };
    group.bench_function("sockscope_engine_with_capture", |b| {
        b.iter(|| {
            black_box(rt.block_on(engine::run_to_end_observed(
                tcp.clone(),
                with_capture,
                no_kernel,
            )))
        });
    });
    group.finish();
}

criterion_group!(benches, engine_overhead);
criterion_main!(benches);
