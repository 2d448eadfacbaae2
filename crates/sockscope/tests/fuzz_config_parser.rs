//! Property tests for the config parser: whatever a config file holds, it
//! parses or is an error that names the file (and a line inside it), never a
//! panic; key bindings that parse always resolve to a complete key map.

use proptest::prelude::*;
use sockscope_tui::config::{TEMPLATE, parse};
use std::path::Path;

/// The template with every setting uncommented: a full, valid config.
fn full_config() -> String {
    TEMPLATE
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|r| r.contains(" = ") || r.starts_with('['))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn exercise(src: &str) {
    match parse(Path::new("fuzz.toml"), src) {
        Ok(config) => {
            let _ = config.keys.resolve();
        }
        Err(e) => {
            assert_eq!(e.file, Path::new("fuzz.toml"));
            if let Some(line) = e.line {
                assert!(
                    line >= 1 && line <= src.lines().count() + 1,
                    "line {line} outside the file"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,300}") {
        exercise(&src);
    }

    #[test]
    fn a_real_config_with_a_byte_changed_never_panics(pos in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = full_config().into_bytes();
        let i = pos % bytes.len();
        bytes[i] = byte;
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn plausible_settings_never_panic(
        key in "(theme|speed|default_lesson|lessons|keys)",
        value in "(\"[a-z+ -]{0,12}\"|[0-9]{1,12}|-[0-9]{1,6}|true|\\[\\]|\\[\"[A-Za-z]{0,8}\"\\])",
    ) {
        exercise(&format!("{key} = {value}\n"));
    }
}

#[test]
fn the_full_template_parses() {
    parse(Path::new("template.toml"), &full_config()).expect("the uncommented template is valid");
}
