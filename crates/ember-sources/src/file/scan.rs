//! Scanning a selected file at batch generation: one pass over its bytes
//! in chunks (memory bounded by a chunk plus the longest line, never the
//! whole file) that counts its lines and cuts it into partitions on line
//! boundaries. It does not look at UTF-8: the bytes are read again by the
//! batch's job, partition by partition, and checked there, once (see
//! `read.rs`, which also reports the lines that are not UTF-8). A batch's
//! files are scanned in parallel, on as many threads as the context has.

use std::io::{self, Read};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::fs::FileSystem;

/// How many bytes a scan reads at a time.
const CHUNK: u64 = 1 << 20;

/// What a scan found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// The bytes scanned (the file's length when it was scanned).
    pub(crate) len: u64,
    /// Its lines (`\n`-terminated, plus a last line without one).
    pub(crate) lines: u64,
    /// The byte ranges of its partitions: consecutive, non-empty, each
    /// starting at a line start, each (but a last long line) at most about
    /// the partition size.
    pub(crate) splits: Vec<Range<u64>>,
}

/// Where the partitions are cut: at the first line start at or after each
/// multiple of the partition size.
struct Cuts {
    size: u64,
    /// The next multiple of `size` to cut at.
    next: u64,
    /// The line starts cut at so far (0 first).
    starts: Vec<u64>,
}

impl Cuts {
    /// Cuts inside `block`, a run of lines starting at file offset `base`:
    /// whole lines ending with a newline, or (`whole` false) the file's
    /// last line, which has none.
    fn take(&mut self, base: u64, block: &[u8], whole: bool) {
        let end = base + block.len() as u64;
        while self.next < end {
            // The first line start at or after `next`: `base` itself, or
            // just after the first newline at or after `next - 1`.
            let start = if self.next <= base {
                base
            } else if !whole {
                end
            } else {
                let from = (self.next - 1 - base) as usize;
                block[from..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(end, |i| base + (from + i) as u64 + 1)
            };
            if self.starts.last().is_none_or(|&last| start > last) {
                self.starts.push(start);
            }
            // Skip the cuts that fall inside the same (long) line.
            while self.next <= start {
                self.next += self.size;
            }
        }
    }
}

/// The lines of `block`: whole lines, the last one possibly without a
/// newline at the end of the file.
fn count_lines(block: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', block).count() as u64;
    newlines + u64::from(block.last().is_some_and(|&b| b != b'\n'))
}

/// Scans `reader` (a file from its start), cutting partitions of about
/// `partition_bytes` (at least 1).
pub(crate) fn scan(mut reader: impl Read, partition_bytes: u64) -> io::Result<Scanned> {
    let mut cuts = Cuts {
        size: partition_bytes.max(1),
        next: partition_bytes.max(1),
        starts: vec![0],
    };
    let mut lines = 0;
    // The bytes read but not yet counted: the start of an unfinished line,
    // then the new chunk. `base` is the file offset of `pending[0]`.
    let mut pending: Vec<u8> = Vec::with_capacity(CHUNK as usize);
    let mut base = 0u64;
    loop {
        let old = pending.len();
        let read = (&mut reader).take(CHUNK).read_to_end(&mut pending)?;
        if read == 0 {
            break;
        }
        let Some(last) = memchr::memrchr(b'\n', &pending[old..]) else {
            continue;
        };
        let whole = old + last + 1;
        lines += count_lines(&pending[..whole]);
        cuts.take(base, &pending[..whole], true);
        pending.drain(..whole);
        base += whole as u64;
    }
    lines += count_lines(&pending);
    cuts.take(base, &pending, false);
    let len = base + pending.len() as u64;
    let mut bounds = cuts.starts;
    bounds.push(len);
    let splits = bounds
        .windows(2)
        .map(|w| w[0]..w[1])
        .filter(|r| !r.is_empty())
        .collect();
    Ok(Scanned { len, lines, splits })
}

/// Scans the files at `paths` from their start on up to `threads` threads
/// (a batch's files are independent), each result in the place of its path.
pub(crate) fn scan_files(
    fs: &dyn FileSystem,
    paths: &[PathBuf],
    partition_bytes: u64,
    threads: usize,
) -> Vec<io::Result<Scanned>> {
    let scan_one = |path: &PathBuf| {
        fs.open_at(path, 0)
            .and_then(|reader| scan(reader, partition_bytes))
    };
    let threads = threads.clamp(1, paths.len().max(1));
    if threads == 1 {
        return paths.iter().map(scan_one).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, io::Result<Scanned>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = paths.get(i) else { break done };
                        done.push((i, scan_one(path)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            // A scan does not panic (it reads and counts bytes); were one
            // to, its files are scanned again below.
            .flat_map(|worker| worker.join().unwrap_or_default())
            .collect()
    });
    let mut results: Vec<Option<io::Result<Scanned>>> = paths.iter().map(|_| None).collect();
    for (i, result) in done.drain(..) {
        results[i] = Some(result);
    }
    results
        .into_iter()
        .zip(paths)
        .map(|(result, path)| result.unwrap_or_else(|| scan_one(path)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of `data`, the way the file stream reads them (lossy).
    fn naive_lines(data: &[u8]) -> Vec<Vec<u8>> {
        let mut lines: Vec<Vec<u8>> = data.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        if data.is_empty() || data.ends_with(b"\n") {
            lines.pop();
        }
        lines
    }

    fn check(data: &[u8], size: u64) {
        let scanned = scan(data, size).unwrap();
        let lines = naive_lines(data);
        assert_eq!(scanned.len, data.len() as u64);
        assert_eq!(scanned.lines, lines.len() as u64, "{data:?}");
        // Consecutive, non-empty, covering the data, cut at line starts.
        let mut at = 0;
        for split in &scanned.splits {
            assert_eq!(split.start, at);
            assert!(split.end > split.start);
            assert!(split.start == 0 || data[split.start as usize - 1] == b'\n');
            at = split.end;
        }
        assert_eq!(at, data.len() as u64);
    }

    #[test]
    fn files_scanned_in_parallel_keep_their_places() {
        let dir = tempfile::tempdir().unwrap();
        let texts: Vec<Vec<u8>> = (0..7u8)
            .map(|i| (0..=i).flat_map(|j| [b'a' + j, b'\n']).chain([i]).collect())
            .collect();
        let mut paths: Vec<PathBuf> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.path().join(format!("f{i}"));
                std::fs::write(&path, text).unwrap();
                path
            })
            .collect();
        paths.insert(3, dir.path().join("missing"));
        let fs = super::super::fs::LocalFileSystem::new();
        for threads in [1, 2, 3, 16] {
            let results = scan_files(&fs, &paths, 4, threads);
            assert_eq!(results.len(), paths.len());
            let mut texts = texts.iter();
            for (i, result) in results.into_iter().enumerate() {
                if i == 3 {
                    assert!(result.is_err(), "the missing file fails in its place");
                    continue;
                }
                let text = texts.next().unwrap();
                assert_eq!(result.unwrap(), scan(&text[..], 4).unwrap(), "file {i}");
            }
        }
    }

    #[test]
    fn small_cases() {
        for data in [
            &b""[..],
            b"a",
            b"a\n",
            b"a\r\nb",
            b"\n\n",
            b"x\ny\r\nz\n",
            b"\xff\n",
        ] {
            for size in 1..6 {
                check(data, size);
            }
        }
        let scanned = scan(&b"ok\nb\xffd\nok\n\xfe"[..], 4).unwrap();
        assert_eq!(scanned.lines, 4);
        assert_eq!(scanned.splits, vec![0..7, 7..10, 10..11]);
    }

    #[test]
    fn chunks_larger_than_a_read() {
        let mut data = Vec::new();
        for i in 0..200_000u32 {
            data.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        data.extend_from_slice(b"bad \xc3 end");
        check(&data, 300_000);
        let scanned = scan(&data[..], 300_000).unwrap();
        assert_eq!(scanned.splits.len(), data.len().div_ceil(300_000));
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_scanned_exactly(
            data in proptest::collection::vec(proptest::sample::select(vec![b'a', b'\n', b'\r', 0xc3, 0xa9, 0xff]), 0..200),
            size in 1u64..40,
        ) {
            check(&data, size);
        }
    }
}
