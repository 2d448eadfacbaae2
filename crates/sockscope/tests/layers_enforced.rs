//! The workspace's rules, checked on every test run:
//!
//! 1. Only `sockscope-tui` and the binary depend on ratatui or crossterm:
//!    the engine, its observers and the headless output must never learn
//!    what a terminal is (`cargo tree` for each lower crate).
//! 2. `unsafe` appears only in `crates/sys` (the compiler forbids it
//!    elsewhere through `[workspace.lints]`; this also catches a crate that
//!    forgot `lints.workspace = true`).
//! 3. No import cycle between the top-level modules of any crate: each
//!    crate's modules form layers too, so a reader can learn one module
//!    from the ones below it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn only_the_tui_and_the_binary_depend_on_terminal_crates() {
    for krate in ["sockscope-sys", "sockscope-core", "sockscope-report"] {
        let out = Command::new(env!("CARGO"))
            .args([
                "tree",
                "--offline",
                "-e",
                "normal,build",
                "--prefix",
                "none",
                "-p",
                krate,
            ])
            .current_dir(workspace())
            .output()
            .expect("cargo tree runs");
        assert!(
            out.status.success(),
            "cargo tree -p {krate} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tree = String::from_utf8_lossy(&out.stdout);
        assert!(
            tree.lines().count() > 1,
            "cargo tree -p {krate} listed nothing"
        );
        for banned in ["ratatui", "crossterm", "tui-big-text"] {
            let hit = tree.lines().find(|l| l.split(' ').next() == Some(banned));
            assert!(hit.is_none(), "{krate} depends on {banned}: {hit:?}");
        }
    }
    // And the rule is not vacuous: the tui really has them.
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            "sockscope-tui",
        ])
        .current_dir(workspace())
        .output()
        .expect("cargo tree runs");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.lines().any(|l| l.starts_with("ratatui ")), "{tree}");
}

/// Strip `//` comments and string literals from one line, roughly: enough
/// that a comment saying "no unsafe here" does not count as code.
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => in_str = !in_str,
            '\\' if in_str => {
                chars.next();
            }
            '/' if !in_str && chars.peek() == Some(&'/') => break,
            _ if !in_str => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn unsafe_only_in_the_sys_crate() {
    let crates = workspace().join("crates");
    let mut seen_in_sys = 0;
    let mut offenders = Vec::new();
    for file in rust_files(&crates) {
        let text = std::fs::read_to_string(&file).unwrap();
        let in_sys = file.starts_with(crates.join("sys"));
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line);
            let has = code
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| w == "unsafe");
            if has && in_sys {
                seen_in_sys += 1;
            } else if has {
                offenders.push(format!("{}:{}: {line}", file.display(), n + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "unsafe outside crates/sys:\n{}",
        offenders.join("\n")
    );
    assert!(
        seen_in_sys > 0,
        "the scan found no unsafe even in crates/sys"
    );
}

/// The top-level modules a crate declares in its root (`mod x;`), without
/// the ones compiled only for tests.
fn top_modules(root: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root).unwrap();
    let mut mods = Vec::new();
    let mut test_only = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("#[cfg(test)]") {
            test_only = true;
            continue;
        }
        let decl = t
            .strip_prefix("pub mod ")
            .or_else(|| t.strip_prefix("pub(crate) mod "))
            .or_else(|| t.strip_prefix("mod "));
        if let Some(name) = decl.and_then(|d| d.strip_suffix(';')) {
            if !test_only {
                mods.push(name.to_string());
            }
        }
        if !t.starts_with("#[") {
            test_only = false;
        }
    }
    mods
}

/// The other top-level modules that module `name`'s code (tests excluded)
/// refers to as `crate::other`.
fn uses_of(src: &Path, name: &str, mods: &[String]) -> BTreeSet<String> {
    let mut files = Vec::new();
    let single = src.join(format!("{name}.rs"));
    if single.exists() {
        files.push(single);
    }
    files.extend(rust_files(&src.join(name)));
    let mut uses = BTreeSet::new();
    for f in files {
        if f.file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with("_tests.rs"))
        {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        // In `src/name.rs` and `src/name/mod.rs`, `super::` is the crate
        // root, so `super::other` is `crate::other`.
        let at_root = f.parent() == Some(src) || f.ends_with(format!("{name}/mod.rs"));
        // Tests sit at the end of a file behind `#[cfg(test)]`; they may
        // reach anywhere (fixtures, other modules' helpers).
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in code.lines() {
            let mut line = code_of(line);
            if at_root {
                line = line.replace("super::", "crate::");
            }
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let word: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if word != name && mods.contains(&word) {
                    uses.insert(word);
                }
            }
            // `use crate::{a, b::c}`
            if let Some(group) = line.split("crate::{").nth(1) {
                for part in group.split([',', '}']) {
                    let word: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if word != name && mods.contains(&word) {
                        uses.insert(word);
                    }
                }
            }
        }
    }
    uses
}

/// One cycle through `graph`, if there is any.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == n) {
            let mut cycle = path[at..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_import_cycle_between_the_modules_of_a_crate() {
    let crates = workspace().join("crates");
    let mut checked = 0;
    for krate in ["sys", "core", "report", "tui", "sockscope"] {
        let src = crates.join(krate).join("src");
        let mods = top_modules(&src.join("lib.rs"));
        let graph: BTreeMap<String, BTreeSet<String>> = mods
            .iter()
            .map(|m| (m.clone(), uses_of(&src, m, &mods)))
            .collect();
        checked += graph.values().map(BTreeSet::len).sum::<usize>();
        if let Some(cycle) = find_cycle(&graph) {
            panic!("import cycle crates/{krate}: {}", cycle.join(" → "));
        }
    }
    assert!(
        checked > 10,
        "the scan found only {checked} uses between modules"
    );
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(find_cycle(&graph).unwrap().len(), 4);
}
