//! `--help` is for people: the doc comments clap turns into help must not
//! carry rustdoc syntax (`trace --help` once said "see [`crate::handout`]").
//! Every command's short and long help is checked.

mod common;
use common::bin;

#[test]
fn no_help_text_leaks_rustdoc_links_or_paths() {
    let commands: &[&[&str]] = &[
        &[],
        &["lessons"],
        &["lesson"],
        &["trace"],
        &["run"],
        &["check"],
        &["export"],
        &["port"],
        &["serve"],
        &["completions"],
        &["man"],
    ];
    let mut checked = 0;
    for cmd in commands {
        for flag in ["-h", "--help"] {
            let out = bin().args(*cmd).arg(flag).output().unwrap();
            if !out.status.success() {
                // A command this build does not have (yet).
                continue;
            }
            let text = String::from_utf8(out.stdout).unwrap();
            for leak in ["[`", "`]", "crate::", "super::", "](", "[crate"] {
                assert!(
                    !text.contains(leak),
                    "`sockscope {} {flag}` shows {leak:?}:\n{text}",
                    cmd.join(" ")
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 16, "only {checked} help texts ran");
}
