//! Engine overhead: the `tcp` lesson run to the end by sockscope's engine,
//! against plain tokio programs that make the lesson's calls and record
//! nothing. docs/performance.md reports the ratio of their throughputs.
//!
//! Three floors. `blocking_threads_floor` is the lesson as a student writes
//! it in C with a thread per endpoint: blocking sockets, the same calls the
//! engine makes (`socket(AF_INET, SOCK_STREAM, 0)`, accept, connect, send,
//! recv, close), each endpoint in a thread of its own started for the run,
//! as the engine starts one per actor. It is the floor for the engine since
//! lessons make blocking calls (issue 15). The two event-driven floors from
//! before stay for comparison: `same_syscalls_floor` makes the syscalls the
//! engine made when it was non-blocking, `plain_tokio_floor` is idiomatic
//! tokio.

use criterion::{Criterion, criterion_group, criterion_main};
use socket2::{Domain, SockAddr, Socket, Type};
use sockscope_core::engine::{self, EngineConfig, Observers, Pace};
use sockscope_core::lesson;
use sockscope_report::headless::{self, Format};
use sockscope_sys as sys;
use std::hint::black_box;
use std::io::Read;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
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

/// The event-driven floor of the engine before lessons blocked: the
/// syscalls `strace` showed then for one run of `sockscope trace tcp
/// --no-kernel --no-capture`, in the same order, on tokio's reactor
/// (`AsyncFd`) with no actors, no events, no checks. The server tries accept
/// before each client connects and hears EAGAIN; addresses are read back
/// with getsockname after bind, connect and accept, and connect is confirmed
/// with getpeername; a socket joins epoll only when a call has to wait.
async fn same_syscalls_tcp_lesson() {
    let tcp = || Socket::new(Domain::IPV4, Type::STREAM.nonblocking().cloexec(), None).unwrap();
    let accept = |l: &Socket| l.accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC);
    let listener = tcp();
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    listener.bind(&SockAddr::from(any_port)).unwrap();
    let addr = listener.local_addr().unwrap();
    listener.listen(8).unwrap();
    // Registered with epoll (the same way sockscope registers) the first
    // time accept has to wait; dropped before the socket it watches.
    let mut listening = None;
    for msg in [&b"hello from client"[..], b"hello again"] {
        // The server's accept: nobody has connected yet.
        assert!(accept(&listener).is_err());
        let watch = match &listening {
            Some(watch) => watch,
            None => listening.insert(sys::register(&listener).unwrap()),
        };
        let client = tcp();
        assert!(client.connect(&addr).is_err());
        black_box(client.local_addr().unwrap());
        let connecting = sys::register(&client).unwrap();
        loop {
            let mut ready = connecting.writable().await.unwrap();
            ready.clear_ready();
            assert!(client.take_error().unwrap().is_none());
            if client.peer_addr().is_ok() {
                break;
            }
        }
        let (conn, _) = loop {
            let mut ready = watch.readable().await.unwrap();
            if let Ok(done) = ready.try_io(|_| accept(&listener)) {
                break done.unwrap();
            }
        };
        black_box(conn.local_addr().unwrap());
        let mut buf = [0u8; 1024];
        client.send(msg).unwrap();
        black_box((&conn).read(&mut buf).unwrap());
        conn.send(b"hello from server").unwrap();
        black_box((&client).read(&mut buf).unwrap());
        drop(connecting);
        drop(client);
        drop(conn);
    }
    drop(listening);
}

/// The floor since lessons block: the `tcp` lesson's calls on blocking
/// sockets, one thread per endpoint (a server, then two clients one after
/// the other), started and joined within the run, as the engine's actors
/// are, and in the lesson's order: the server's accept sleeps in the kernel
/// until each client's connect completes the handshake, and the client
/// closes before the server does (so, as in the lesson, the TIME_WAIT is
/// the client's and each run frees its listener's port).
fn blocking_threads_tcp_lesson() {
    let (addr_tx, addr_rx) = std::sync::mpsc::sync_channel(1);
    let (closed_tx, closed_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let server = std::thread::spawn(move || {
        // socket2's new_raw and accept_raw: socket(2) and accept(2) with no
        // flags, the calls the engine makes.
        let listener = Socket::new_raw(Domain::IPV4, Type::STREAM, None).unwrap();
        listener
            .bind(&SockAddr::from(SocketAddr::from(([127, 0, 0, 1], 0))))
            .unwrap();
        listener.listen(8).unwrap();
        addr_tx.send(listener.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 1024];
        for _ in 0..2 {
            let (conn, _) = listener.accept_raw().unwrap();
            let n = (&conn).read(&mut buf).unwrap();
            black_box(n);
            conn.send(b"hello from server").unwrap();
            // The client closes first.
            closed_rx.recv().unwrap();
            drop(conn);
        }
    });
    let addr = addr_rx.recv().unwrap();
    for msg in [&b"hello from client"[..], b"hello again"] {
        let addr = addr.clone();
        let closed = closed_tx.clone();
        std::thread::spawn(move || {
            let client = Socket::new_raw(Domain::IPV4, Type::STREAM, None).unwrap();
            client.connect(&addr).unwrap();
            client.send(msg).unwrap();
            let mut buf = [0u8; 1024];
            black_box((&client).read(&mut buf).unwrap());
            drop(client);
            closed.send(()).unwrap();
        })
        .join()
        .unwrap();
    }
    server.join().unwrap();
}

/// The floor for a stepped lesson: the same blocking calls in threads, one
/// per endpoint, started for the run, made in the lesson's order: each call
/// waits for a go from the main thread, which waits for it to return before
/// it lets the next one run, except the server's accept, which is left
/// waiting (as the engine parks it) until the client's connect has
/// returned. What it leaves out is all of sockscope's own work: events,
/// addresses read back, claims checked, the watch on a sleeping call.
fn stepped_threads_tcp_lesson() {
    use std::sync::mpsc::{Sender, channel};
    // Each endpoint makes its calls in order, one per go, and says when
    // each has returned.
    let (done_tx, done) = channel::<usize>();
    let addr = std::sync::Arc::new(std::sync::Mutex::new(None::<SockAddr>));
    let (go_server, server_go) = channel::<()>();
    let server = {
        let (done, addr) = (done_tx.clone(), addr.clone());
        std::thread::spawn(move || {
            let go = &server_go;
            go.recv().unwrap();
            let listener = Socket::new_raw(Domain::IPV4, Type::STREAM, None).unwrap();
            done.send(0).unwrap();
            go.recv().unwrap();
            listener
                .bind(&SockAddr::from(SocketAddr::from(([127, 0, 0, 1], 0))))
                .unwrap();
            *addr.lock().unwrap() = Some(listener.local_addr().unwrap());
            done.send(0).unwrap();
            go.recv().unwrap();
            listener.listen(8).unwrap();
            done.send(0).unwrap();
            let mut buf = [0u8; 1024];
            for _ in 0..2 {
                go.recv().unwrap();
                let (conn, _) = listener.accept_raw().unwrap();
                done.send(0).unwrap();
                go.recv().unwrap();
                black_box((&conn).read(&mut buf).unwrap());
                done.send(0).unwrap();
                go.recv().unwrap();
                conn.send(b"hello from server").unwrap();
                done.send(0).unwrap();
                go.recv().unwrap();
                drop(conn);
                done.send(0).unwrap();
            }
            go.recv().unwrap();
            drop(listener);
            done.send(0).unwrap();
        })
    };
    let clients: Vec<(Sender<()>, std::thread::JoinHandle<()>)> =
        [&b"hello from client"[..], b"hello again"]
            .into_iter()
            .enumerate()
            .map(|(i, msg)| {
                let (go_tx, go) = channel::<()>();
                let (done, addr) = (done_tx.clone(), addr.clone());
                let me = i + 1;
                let thread = std::thread::spawn(move || {
                    go.recv().unwrap();
                    let client = Socket::new_raw(Domain::IPV4, Type::STREAM, None).unwrap();
                    done.send(me).unwrap();
                    go.recv().unwrap();
                    let to = addr.lock().unwrap().clone().unwrap();
                    client.connect(&to).unwrap();
                    done.send(me).unwrap();
                    go.recv().unwrap();
                    client.send(msg).unwrap();
                    done.send(me).unwrap();
                    go.recv().unwrap();
                    let mut buf = [0u8; 1024];
                    black_box((&client).read(&mut buf).unwrap());
                    done.send(me).unwrap();
                    go.recv().unwrap();
                    drop(client);
                    done.send(me).unwrap();
                });
                (go_tx, thread)
            })
            .collect();
    // One call: let it run, and wait for it to return.
    let run = |go: &Sender<()>| {
        go.send(()).unwrap();
        done.recv().unwrap();
    };
    run(&go_server); // socket
    run(&go_server); // bind
    run(&go_server); // listen
    for (go_client, _) in &clients {
        go_server.send(()).unwrap(); // accept: left waiting
        run(go_client); // socket
        run(go_client); // connect
        done.recv().unwrap(); // the accept returns
        run(go_client); // send
        run(&go_server); // recv
        run(&go_server); // send
        run(go_client); // recv
        run(go_client); // close
        run(&go_server); // close
    }
    run(&go_server); // close the listener
    for (_, t) in clients {
        t.join().unwrap();
    }
    server.join().unwrap();
}

/// The budget case for both measurements: a current-thread runtime (as
/// `trace` uses), the `tcp` lesson, run to the end with no capture and no
/// kernel view, so what is measured is the engine's own work (actors,
/// stepper, events, checked claims).
fn setup() -> (
    tokio::runtime::Runtime,
    std::sync::Arc<lesson::Lesson>,
    EngineConfig,
    Observers,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tcp = std::sync::Arc::new(lesson::builtin("tcp").unwrap());
    let bare = EngineConfig {
        port: 0,
        pace: Pace::RunToEnd,
        capture: false,
    };
    (rt, tcp, bare, Observers { kernel: false })
}

fn engine_overhead(c: &mut Criterion) {
    let (rt, tcp, bare, no_kernel) = setup();
    let mut group = c.benchmark_group("tcp_lesson");
    group.bench_function("blocking_threads_floor", |b| {
        b.iter(blocking_threads_tcp_lesson);
    });
    group.bench_function("stepped_threads_floor", |b| {
        b.iter(stepped_threads_tcp_lesson);
    });
    group.bench_function("plain_tokio_floor", |b| {
        b.iter(|| rt.block_on(plain_tcp_lesson()));
    });
    group.bench_function("same_syscalls_floor", |b| {
        b.iter(|| rt.block_on(same_syscalls_tcp_lesson()));
    });
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

/// The ratios, measured interleaved: one lesson of each kind in turn, five
/// thousand times, then the median of each kind. Criterion times each
/// function in a block of its own, seconds apart, and on loopback the
/// machine changes under a long run (the kernel's TIME_WAIT table fills, and
/// once full, closing a connection takes a different path), so two blocks
/// can differ by more than the engine does. Interleaving gives every kind
/// the same machine. "trace" is what `sockscope trace tcp --format json`
/// does per lesson: the run, then its JSON lines written (to a sink).
fn interleaved_ratios(_: &mut Criterion) {
    const ROUNDS: usize = 5_000;
    let (rt, tcp, config, no_kernel) = setup();
    let engine = || engine::run_to_end_observed(tcp.clone(), config, no_kernel);
    let mut times: [Vec<Duration>; 6] = Default::default();
    let mut time = |kind: usize, run: &mut dyn FnMut()| {
        let started = Instant::now();
        run();
        times[kind].push(started.elapsed());
    };
    for _ in 0..ROUNDS {
        time(0, &mut || rt.block_on(plain_tcp_lesson()));
        time(1, &mut || rt.block_on(same_syscalls_tcp_lesson()));
        time(2, &mut || drop(black_box(rt.block_on(engine()))));
        time(3, &mut || {
            let (msgs, _) = rt.block_on(engine());
            let mut out = std::io::sink();
            for m in &msgs {
                headless::write_msg(&mut out, Format::Json, m).unwrap();
            }
        });
        time(4, &mut blocking_threads_tcp_lesson);
        time(5, &mut stepped_threads_tcp_lesson);
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let [plain, same, engine, trace, blocking, stepped] = times.map(|mut t| {
        t.sort();
        let mean = t.iter().sum::<Duration>() / t.len() as u32;
        (us(t[t.len() / 2]), us(mean))
    });
    // The median leaves out the rare lesson the machine interrupted; the
    // mean keeps it, as a long `trace --repeat` does.
    for (stat, pick) in [("median", 0), ("mean", 1)] {
        let at = |(median, mean): (f64, f64)| if pick == 0 { median } else { mean };
        let (plain, same, blocking, stepped) = (at(plain), at(same), at(blocking), at(stepped));
        println!("interleaved, {stat} of {ROUNDS} lessons each (µs):");
        println!(
            "  stepped_threads_floor {stepped:.1}, blocking_threads_floor {blocking:.1}, plain_tokio_floor {plain:.1}, same_syscalls_floor {same:.1}"
        );
        for (name, t) in [
            ("engine", at(engine)),
            ("engine + JSON lines (trace)", at(trace)),
        ] {
            println!(
                "  {name} {t:.1}: ratio {:.3} to stepped_threads_floor (budget 0.8), {:.3} to blocking_threads_floor, {:.3} to same_syscalls_floor, {:.3} to plain_tokio_floor",
                stepped / t,
                blocking / t,
                same / t,
                plain / t
            );
        }
    }
}

criterion_group!(benches, engine_overhead, interleaved_ratios);
criterion_main!(benches);
