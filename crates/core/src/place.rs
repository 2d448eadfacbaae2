//! Where a byte offset falls in a text file, as people count: line and
//! column, both from 1. The config file and lesson files are TOML; when the
//! parser reports a mistake at a byte offset, their errors use this to name
//! the line and column (`lesson.toml:12:9: ...`), so a teacher can go
//! straight to it.

/// 1-based line and column of byte `offset` in `src`. Columns count
/// characters, not bytes, so `é` is one column. An offset past the end means
/// the end; one inside a multi-byte character means that character.
#[must_use]
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(src.len());
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    let before = &src[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_from_one_in_characters() {
        let src = "a = 1\nnamé = x\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 4), (1, 5));
        assert_eq!(line_col(src, 6), (2, 1));
        // `x` is byte 14 but column 8: `é` is two bytes, one column.
        assert_eq!(line_col(src, 14), (2, 8));
        // Past the end: the end. Inside `é`: at `é`.
        assert_eq!(line_col(src, 1000), (3, 1));
        assert_eq!(line_col(src, 10), (2, 4));
    }
}
