//! Splitting text into partitions and lines, shared by every text input
//! (`text_file` here, file streams elsewhere): a byte range per partition
//! cut on line boundaries the way Hadoop splits text (a line belongs to the
//! partition its first byte falls in), and an iterator over the lines of a
//! range.

use std::ops::{Deref, Range};
use std::sync::Arc;

/// The start of the first line that begins at or after `pos`.
fn line_start(data: &[u8], pos: usize) -> usize {
    if pos == 0 {
        return 0;
    }
    if pos >= data.len() {
        return data.len();
    }
    data[pos - 1..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(data.len(), |i| pos + i)
}

/// The byte range holding the lines of `partition` out of `partitions`.
///
/// ```
/// let text = b"abcdefgh\nij\n";
/// assert_eq!(ember_rdd::text::split_range(text, 0, 2), 0..9);
/// assert_eq!(ember_rdd::text::split_range(text, 1, 2), 9..12);
/// ```
pub fn split_range(data: &[u8], partition: usize, partitions: usize) -> Range<usize> {
    let len = data.len() as u128;
    let n = partitions.max(1) as u128;
    let at = |p: usize| (p as u128 * len / n) as usize;
    line_start(data, at(partition))..line_start(data, at(partition + 1))
}

/// The lines of a range of shared bytes (`\n` or `\r\n` endings, no
/// terminator kept; a final line without a newline counts). The range is
/// expected to be valid UTF-8 (check it first); anything else is decoded
/// with replacement characters, never a panic.
///
/// ```
/// use std::sync::Arc;
/// let bytes: Arc<Vec<u8>> = Arc::new(b"to be\r\nor not".to_vec());
/// let lines: Vec<String> = ember_rdd::text::TextLines::new(bytes, 0..13).collect();
/// assert_eq!(lines, ["to be", "or not"]);
/// ```
pub struct TextLines<B> {
    data: Arc<B>,
    pos: usize,
    end: usize,
}

impl<B: Deref<Target = [u8]>> TextLines<B> {
    /// The lines of `data[range]` (clamped to the data).
    pub fn new(data: Arc<B>, range: Range<usize>) -> Self {
        let end = range.end.min(data.len());
        TextLines {
            data,
            pos: range.start.min(end),
            end,
        }
    }
}

impl<B: Deref<Target = [u8]>> Iterator for TextLines<B> {
    type Item = String;
    fn next(&mut self) -> Option<String> {
        if self.pos >= self.end {
            return None;
        }
        let rest = &self.data[self.pos..self.end];
        let (line, advance) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // The common case, valid UTF-8, on the fast check (a word at a time
        // over ASCII); only an invalid line is decoded with replacements.
        Some(match std::str::from_utf8(line) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(line).into_owned(),
        })
    }
}

/// The lines of `text`, borrowed, as [`StrLines`] and [`TextLines`] split
/// them: a line ends at a `\n` (a `\r` before it is dropped), a last line
/// without one counts, an empty text has none.
///
/// ```
/// let lines: Vec<&str> = ember_rdd::text::lines("to be\r\nor not\n\nx\r").collect();
/// assert_eq!(lines, ["to be", "or not", "", "x"]);
/// ```
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_terminator('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
}

/// The lines of a range of shared text already known to be UTF-8 (a
/// `String`), as [`TextLines`] splits them, without checking each line
/// again: a line ends at a `\n`, which is never inside a character.
///
/// ```
/// use std::sync::Arc;
/// let text = Arc::new("to be\r\nor not".to_owned());
/// let lines: Vec<String> = ember_rdd::text::StrLines::new(text, 0..13).collect();
/// assert_eq!(lines, ["to be", "or not"]);
/// ```
pub struct StrLines {
    text: Arc<String>,
    pos: usize,
    end: usize,
}

impl StrLines {
    /// The lines of `text[range]` (clamped to the text; a range end that
    /// falls inside a character moves back to its start, a start inside
    /// one to the next line).
    pub fn new(text: Arc<String>, range: Range<usize>) -> Self {
        let mut end = range.end.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut pos = range.start.min(end);
        if !text.is_char_boundary(pos) {
            pos = line_start(text.as_bytes(), pos).min(end);
        }
        StrLines { text, pos, end }
    }
}

impl Iterator for StrLines {
    type Item = String;
    fn next(&mut self) -> Option<String> {
        if self.pos >= self.end {
            return None;
        }
        let rest = self.text.get(self.pos..self.end)?;
        let (line, advance) = match memchr::memchr(b'\n', rest.as_bytes()) {
            // The slice ends before an ASCII `\n`: a character boundary.
            Some(i) => (rest.get(..i)?, i + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        Some(line.strip_suffix('\r').unwrap_or(line).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXTS: [&[u8]; 6] = [
        b"",
        b"\n",
        b"a\nb\r\n\r\nlast",
        b"ends\n",
        "\u{e9}t\u{e9}\n\u{1f980}\r\nx".as_bytes(),
        b"ok\nbad \xff byte\nok\n",
    ];

    #[test]
    fn str_lines_split_as_text_lines_do() {
        for bytes in TEXTS {
            let Ok(text) = std::str::from_utf8(bytes) else {
                continue;
            };
            let len = bytes.len();
            for cut in 0..=len {
                for (range, name) in [(0..cut, "head"), (cut..len, "tail")] {
                    let lines: Vec<String> =
                        TextLines::new(Arc::new(bytes.to_vec()), range.clone()).collect();
                    let str_lines: Vec<String> =
                        StrLines::new(Arc::new(text.to_owned()), range.clone()).collect();
                    if text.is_char_boundary(range.start) && text.is_char_boundary(range.end) {
                        assert_eq!(str_lines, lines, "{text:?} {name} {range:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn borrowed_lines_split_as_str_lines_do() {
        for bytes in TEXTS {
            let Ok(text) = std::str::from_utf8(bytes) else {
                continue;
            };
            let owned: Vec<String> =
                StrLines::new(Arc::new(text.to_owned()), 0..text.len()).collect();
            assert_eq!(lines(text).collect::<Vec<_>>(), owned, "{text:?}");
        }
        for text in ["\r", "a\r\r\n", "\r\n\r\n"] {
            let owned: Vec<String> =
                StrLines::new(Arc::new(text.to_owned()), 0..text.len()).collect();
            assert_eq!(lines(text).collect::<Vec<_>>(), owned, "{text:?}");
        }
    }

    #[test]
    fn text_lines_decode_only_bad_lines_with_replacements() {
        let lines: Vec<String> = TextLines::new(Arc::new(TEXTS[5].to_vec()), 0..18).collect();
        assert_eq!(lines, ["ok", "bad \u{fffd} byte", "ok"]);
        let lines: Vec<String> = TextLines::new(Arc::new(TEXTS[4].to_vec()), 0..13).collect();
        assert_eq!(lines, ["\u{e9}t\u{e9}", "\u{1f980}", "x"]);
    }

    #[test]
    fn str_lines_never_cut_a_character() {
        let text = Arc::new("\u{e9}\u{e9}\nab".to_owned());
        // 1 and 3 fall inside a character: the range moves to boundaries.
        let lines: Vec<String> = StrLines::new(Arc::clone(&text), 0..3).collect();
        assert_eq!(lines, ["\u{e9}"]);
        let lines: Vec<String> = StrLines::new(text, 1..7).collect();
        assert_eq!(lines, ["ab"]);
    }
}
