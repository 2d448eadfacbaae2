//! The classroom side of the command line, run as a user runs it: a teacher's
//! own lessons folder, the config file, markdown handouts, and snapshots of
//! `--help`, the man page and the shell completions.
//!
//! Snapshots change whenever a flag is added: review the diff and update
//! them with `INSTA_UPDATE=always cargo test --test cli_classroom` (or
//! `cargo insta review`).

mod common;
use common::{bin, json_lines};
use sockscope_core::lesson;
use std::path::Path;
use std::process::Output;

fn run(args: &[&str]) -> Output {
    // An empty config file, so the tester's own config never leaks in.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "").unwrap();
    bin().arg("--config").arg(&cfg).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

const OWN: &str = r#"name = "echo-once"
title = "A teacher's lesson"
summary = "One UDP datagram to itself."

[[actor]]
name = "me"
role = "UDP socket"

[[step]]
actor = "me"
call = "socket"
sock = "s"
proto = "udp"
say = "fd {fd}"

[[step]]
actor = "me"
call = "bind"
sock = "s"
addr = "127.0.0.1:0"
say = "bound to {local}"

[[step]]
actor = "me"
call = "sendto"
sock = "s"
to = "me:s"
data = "ping"
say = "sent {bytes}"
expect = { bytes = 4 }

[[step]]
actor = "me"
call = "recvfrom"
sock = "s"
say = "got {data} from {peer}"
expect = { data = "ping" }
"#;

fn lessons_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (n, t) in files {
        std::fs::write(dir.path().join(n), t).unwrap();
    }
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn lessons_from_a_folder_are_listed_and_run() {
    let dir = lessons_dir(&[("echo-once.toml", OWN)]);
    let o = run(&["--lessons", path(dir.path()), "lessons"]);
    assert!(o.status.success(), "{o:?}");
    let text = stdout(&o);
    assert!(
        text.lines().last().unwrap().starts_with("echo-once"),
        "{text}"
    );
    assert_eq!(text.lines().count(), lesson::builtins().len() + 1);
    let o = run(&[
        "--lessons",
        path(dir.path()),
        "trace",
        "echo-once",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{o:?}");
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[3]["data"], "ping");
    assert!(lines[3]["checks"][0]["ok"].as_bool().unwrap());
}

#[test]
fn the_config_files_lessons_folder_is_used_and_the_flag_wins() {
    let own = lessons_dir(&[("echo-once.toml", OWN)]);
    let other = lessons_dir(&[]);
    let cfgdir = tempfile::tempdir().unwrap();
    let cfg = cfgdir.path().join("config.toml");
    std::fs::write(&cfg, format!("lessons = {:?}\n", path(own.path()))).unwrap();
    let with = |extra: &[&str]| {
        let mut c = bin();
        c.arg("--config").arg(&cfg).args(extra).arg("lessons");
        stdout(&c.output().unwrap())
    };
    assert!(with(&[]).contains("echo-once"));
    assert!(!with(&["--lessons", path(other.path())]).contains("echo-once"));
}

#[test]
fn malformed_and_shadowing_lessons_are_usage_errors_with_a_place() {
    let cases: &[(&str, String, &str)] = &[
        (
            "bad.toml",
            OWN.replace("proto = \"udp\"", "proto = udp"),
            "bad.toml:13:",
        ),
        (
            "typo.toml",
            OWN.replace("say = \"fd {fd}\"", "sya = \"fd\""),
            "typo.toml:14:",
        ),
        (
            "tcp.toml",
            OWN.replace("\"echo-once\"", "\"tcp\""),
            "built-in lesson",
        ),
    ];
    for (file, text, needle) in cases {
        let dir = lessons_dir(&[(file, text)]);
        let o = run(&["--lessons", path(dir.path()), "lessons"]);
        assert_eq!(o.status.code(), Some(2), "{file}: {o:?}");
        let err = stderr(&o);
        assert!(err.contains(needle), "{file}: {err}");
        assert_eq!(err.lines().count(), 1, "one clear line: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn a_bad_config_file_names_file_and_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        ("theme = \"dark\"\nautoplay_ms = \"fast\"\n", ":2:"),
        ("[keys]\nstep = \"hyperspace\"\n", ":2:"),
        ("colour = 1\n", ":1:"),
        ("theme = \"dark\"\n\ndefault_lesson = \"nope\"\n", ":3:"),
    ];
    for (text, place) in cases {
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, text).unwrap();
        let o = bin()
            .arg("--config")
            .arg(&cfg)
            .arg("lessons")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{text}: {o:?}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!("{}{place}", cfg.display())),
            "{text}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn the_config_template_is_a_valid_config() {
    let o = run(&["--print-config-template"]);
    assert!(o.status.success());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, stdout(&o)).unwrap();
    let o = bin()
        .arg("--config")
        .arg(&cfg)
        .arg("lessons")
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
}

#[test]
fn every_lesson_makes_a_markdown_handout_from_its_real_run() {
    for l in lesson::builtins() {
        let o = run(&["trace", &l.name, "--format", "markdown"]);
        assert!(o.status.success(), "{}: {o:?}", l.name);
        let md = stdout(&o);
        assert!(md.starts_with(&format!("# {}\n", l.title)), "{}", l.name);
        // One section per step, each with the call as code; a repeated
        // step shows its first and last call.
        let shown = |s: &lesson::Step| {
            if s.repeat.is_some_and(|r| r > 1) {
                2
            } else {
                1
            }
        };
        let sections: usize = l.steps.iter().map(shown).sum();
        assert_eq!(md.matches("\n### ").count(), sections, "{}", l.name);
        assert_eq!(md.matches("```c\n").count(), sections, "{}", l.name);
        // Every claim was checked in this run and held.
        let claims: usize = l.steps.iter().map(|s| s.expect.len() * shown(s)).sum();
        assert_eq!(md.matches(": holds\n").count(), claims, "{}", l.name);
        assert!(!md.contains("DOES NOT HOLD"), "{}", l.name);
        // Narration placeholders were all filled in.
        for p in ["{fd}", "{local}", "{peer}", "{bytes}", "{data}", "{new_fd}"] {
            assert!(!md.contains(p), "{}: {p} left in the handout", l.name);
        }
        assert!(md.contains("## The run as lanes"), "{}", l.name);
        for a in &l.actors {
            assert!(
                md.contains(&format!("| {}", a.name)),
                "{}: lane {}",
                l.name,
                a.name
            );
        }
    }
}

#[test]
fn the_tcp_handout_shows_real_ports_and_layers() {
    let md = stdout(&run(&["trace", "tcp", "--format", "markdown"]));
    // The port the kernel chose appears in the narration and in the ports
    // section, placed in its range.
    let bound = md
        .lines()
        .find_map(|l| l.strip_prefix("bind gives the socket its local address: 127.0.0.1:"))
        .expect("bind narration filled in");
    let port: u16 = bound.trim_end_matches('.').parse().unwrap();
    assert!(md.contains(&format!("port {port:>5}: ")), "{md}");
    assert!(md.contains("transport          TCP segment: port"));
    assert!(md.contains("network interface  lo"));
}

fn snapshot_of(args: &[&str]) -> String {
    let o = bin().args(args).output().unwrap();
    assert!(o.status.success(), "{args:?}: {o:?}");
    stdout(&o)
}

#[test]
fn help_snapshots() {
    insta::assert_snapshot!("help", snapshot_of(&["--help"]));
    insta::assert_snapshot!("help_serve", snapshot_of(&["serve", "--help"]));
    insta::assert_snapshot!("help_trace", snapshot_of(&["trace", "--help"]));
}

#[test]
fn man_page_snapshot() {
    insta::assert_snapshot!("man", snapshot_of(&["man"]));
}

#[test]
fn completion_snapshots() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let text = snapshot_of(&["completions", shell]);
        assert!(text.contains("serve"), "{shell}");
        insta::assert_snapshot!(format!("completions_{shell}"), text);
    }
}

/// The worked example in docs/lessons.md, taken from the page itself.
#[test]
fn the_worked_example_in_the_docs_runs_and_its_claims_hold() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/lessons.md"
    ))
    .unwrap();
    let start = doc
        .find("```toml\n# echo-once.toml")
        .expect("worked example")
        + 8;
    let len = doc[start..].find("```").unwrap();
    let dir = lessons_dir(&[("echo-once.toml", &doc[start..start + len])]);
    let o = run(&[
        "--lessons",
        path(dir.path()),
        "trace",
        "echo-once",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{o:?}");
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 5);
    let claims: Vec<&serde_json::Value> = lines
        .iter()
        .flat_map(|v| v["checks"].as_array().unwrap())
        .collect();
    assert_eq!(claims.len(), 8);
    assert!(claims.iter().all(|c| c["ok"] == true), "{claims:?}");
    assert_eq!(
        lines[3]["peer"], lines[1]["local"],
        "the datagram came from itself"
    );
}

#[test]
fn a_key_bound_twice_is_a_config_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "[keys]\nhelp = \"h\"\n").unwrap();
    let o = bin()
        .arg("--config")
        .arg(&cfg)
        .arg("lessons")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains(&format!("{}:2:", cfg.display())), "{err}");
    assert!(
        err.contains("`h` is bound to both `back` and `help`"),
        "{err}"
    );
}

/// docs/course-map.md: every `lesson:step:call` it cites is a real step
/// making that call, every course point cites at least one, and every
/// built-in lesson is on the map.
#[test]
fn the_course_map_cites_real_steps_and_every_lesson() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/course-map.md"
    ))
    .unwrap();
    let lessons = lesson::builtins();
    let mut cited = std::collections::BTreeSet::new();
    let mut sections = 0;
    for section in doc.split("\n## ").skip(1) {
        sections += 1;
        let mut refs = 0;
        for quoted in section.split('`').skip(1).step_by(2) {
            let parts: Vec<&str> = quoted.split(':').collect();
            let [name, step, call] = parts[..] else {
                continue;
            };
            let Ok(step) = step.parse::<usize>() else {
                continue;
            };
            let l = lessons
                .iter()
                .find(|l| l.name == name)
                .unwrap_or_else(|| panic!("`{quoted}`: no lesson {name}"));
            let s = l
                .steps
                .get(step - 1)
                .unwrap_or_else(|| panic!("`{quoted}`: {name} has {} steps", l.steps.len()));
            assert_eq!(s.call.to_string(), call, "`{quoted}`");
            cited.insert(name.to_string());
            refs += 1;
        }
        let title = section.lines().next().unwrap_or_default();
        assert!(refs > 0, "course point without a lesson step: {title}");
    }
    assert_eq!(sections, 10, "the ten course points of DESIGN.md");
    for l in &lessons {
        assert!(
            cited.contains(&l.name),
            "lesson {} is not on the course map",
            l.name
        );
    }
}
