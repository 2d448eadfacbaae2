//! Property tests for the lesson parser: whatever bytes a teacher's lesson
//! file holds, parsing returns a lesson or an error that names the file,
//! never a panic.

use proptest::prelude::*;
use sockscope_core::lesson::parse_lesson;

const TCP: &str = include_str!("../../core/assets/lessons/tcp.toml");

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,400}") {
        if let Err(e) = parse_lesson("fuzz.toml", &src) {
            prop_assert_eq!(e.file.as_str(), "fuzz.toml");
        }
    }

    #[test]
    fn a_real_lesson_with_a_byte_changed_never_panics(pos in 0usize..TCP.len(), byte in any::<u8>()) {
        let mut bytes = TCP.as_bytes().to_vec();
        bytes[pos] = byte;
        let src = String::from_utf8_lossy(&bytes);
        if let Err(e) = parse_lesson("fuzz.toml", &src) {
            // An error with a place must point inside the file.
            if let Some(line) = e.line {
                prop_assert!(line >= 1 && line <= src.lines().count() + 1);
            }
        }
    }

    #[test]
    fn a_real_lesson_cut_short_never_panics(len in 0usize..TCP.len()) {
        let src = &TCP[..TCP.floor_char_boundary(len)];
        let _ = parse_lesson("fuzz.toml", src);
    }
}
