#[path = "../benches/process/pty_harness.rs"]
#[allow(dead_code)]
mod pty_harness;
use pty_harness::Term;
use std::time::Duration;
#[test]
fn view() {
    let spec = std::env::var("VIEW").unwrap_or("tcp:120:40:6".into());
    let p: Vec<&str> = spec.split(':').collect();
    let mut term = Term::spawn(
        env!("CARGO_BIN_EXE_sockscope"),
        &["lesson", p[0]],
        p[1].parse().unwrap(),
        p[2].parse().unwrap(),
    );
    term.drain_for(Duration::from_millis(500));
    for s in p[3].split(',') {
        for c in s.chars() {
            term.press(c.to_string().replace('S', " ").replace('B', "h").as_bytes());
            term.drain_for(Duration::from_millis(150));
        }
        term.drain_for(Duration::from_millis(2000));
        println!("===== after {s}\n{}", term.contents());
    }
    term.press(b"q");
    term.wait_exit(Duration::from_secs(5));
}
