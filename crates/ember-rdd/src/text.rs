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
        let (line, advance) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Some(String::from_utf8_lossy(line).into_owned())
    }
}
