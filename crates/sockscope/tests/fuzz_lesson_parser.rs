//! Property tests for the lesson parser: whatever bytes a teacher's lesson
//! file holds, parsing returns a lesson or an error, never a panic; and
//! each is what a parser must guarantee. An error names the file, says what
//! is wrong, and when it has a place, the place is inside the text (a line
//! that exists, a column within that line). A lesson round-trips: written
//! back as TOML and parsed again, it is the same lesson, so nothing was
//! half-read.

use proptest::prelude::*;
use sockscope_core::lesson::{Lesson, LessonError, parse_lesson};

const TCP: &str = include_str!("../../core/assets/lessons/tcp.toml");

/// What every outcome of `parse_lesson` must satisfy.
fn holds(src: &str, parsed: &Result<Lesson, LessonError>) -> Result<(), TestCaseError> {
    match parsed {
        Err(e) => {
            prop_assert_eq!(e.file.as_str(), "fuzz.toml");
            prop_assert!(!e.message.trim().is_empty(), "an error says what is wrong");
            // Line and column come together or not at all.
            prop_assert_eq!(e.line.is_some(), e.column.is_some(), "{:?}", e);
            if let (Some(line), Some(col)) = (e.line, e.column) {
                let lines: Vec<&str> = src.split('\n').collect();
                prop_assert!(
                    line >= 1 && line <= lines.len(),
                    "line {} of {}",
                    line,
                    lines.len()
                );
                let width = lines[line - 1].chars().count();
                prop_assert!(
                    col >= 1 && col <= width + 1,
                    "column {} of a {}-char line",
                    col,
                    width
                );
            }
            // The message printed for a teacher carries the place.
            let shown = e.to_string();
            prop_assert!(shown.starts_with("fuzz.toml"), "{}", shown);
        }
        Ok(lesson) => {
            let text = toml::to_string(lesson).expect("a lesson can be written back");
            let again = parse_lesson("fuzz.toml", &text);
            prop_assert_eq!(again.as_ref(), Ok(lesson), "round trip of\n{}", text);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_is_a_lesson_or_a_placed_error(src in "\\PC{0,400}") {
        holds(&src, &parse_lesson("fuzz.toml", &src))?;
    }

    #[test]
    fn a_real_lesson_with_a_byte_changed_is_a_lesson_or_a_placed_error(pos in 0usize..TCP.len(), byte in any::<u8>()) {
        let mut bytes = TCP.as_bytes().to_vec();
        bytes[pos] = byte;
        let src = String::from_utf8_lossy(&bytes);
        holds(&src, &parse_lesson("fuzz.toml", &src))?;
    }

    #[test]
    fn a_real_lesson_cut_short_is_a_lesson_or_a_placed_error(len in 0usize..TCP.len()) {
        let src = &TCP[..TCP.floor_char_boundary(len)];
        holds(src, &parse_lesson("fuzz.toml", src))?;
    }
}

/// The property's other half is reachable: the intact file parses and
/// round-trips, and a broken one is an error at its line.
#[test]
fn the_intact_lesson_round_trips_and_a_broken_one_is_placed() {
    let parsed = parse_lesson("fuzz.toml", TCP);
    assert!(parsed.is_ok(), "{parsed:?}");
    holds(TCP, &parsed).unwrap();
    let broken = TCP.replacen("call = \"bind\"", "call = \"bnid\"", 1);
    let line = broken
        .lines()
        .position(|l| l.contains("bnid"))
        .expect("the edit landed")
        + 1;
    let err = parse_lesson("fuzz.toml", &broken).expect_err("an unknown call");
    assert_eq!(err.line, Some(line), "{err}");
    holds(&broken, &Err(err)).unwrap();
}
