//! Text files on disk: `text_file` (read or memory-mapped, split on line
//! boundaries, every line exactly once and in order, invalid UTF-8 and I/O
//! failures reported as `JobError`s) and `save_as_text_file` (Hadoop's
//! `part-NNNNN` + `_SUCCESS` layout, written atomically).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use ember_rdd::{JobError, Rdd, RddContext};
use proptest::prelude::*;

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, content).unwrap();
    path
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Reads a saved output back: the part files in order, through `text_file`.
fn read_back(ctx: &RddContext, dir: &Path) -> Rdd<String> {
    let parts: Vec<Rdd<String>> = listing(dir)
        .into_iter()
        .filter(|name| name.starts_with("part-"))
        .map(|name| ctx.text_file(dir.join(name), 1).unwrap())
        .collect();
    ctx.union(&parts)
}

/// `count` lines of about 40 bytes, some with multi-byte characters.
fn numbered_lines(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("line {i:07} ünïcödé {}", "x".repeat(i % 13)))
        .collect()
}

#[test]
fn a_small_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "in.txt", "to be\nor not\nto be\n");
    let ctx = ctx();
    let lines = ctx.text_file(&path, 1).unwrap();
    assert_eq!(lines.num_partitions(), 1);
    assert_eq!(lines.collect().unwrap(), vec!["to be", "or not", "to be"]);
    let two = ctx.text_file(&path, 2).unwrap();
    assert_eq!(two.num_partitions(), 2);
    assert_eq!(two.collect().unwrap(), vec!["to be", "or not", "to be"]);
    // A word count over it.
    let mut counts = two
        .flat_map(|l| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1))
        .reduce_by_key(|a, b| a + b)
        .collect()
        .unwrap();
    counts.sort();
    assert_eq!(
        counts,
        vec![
            ("be".to_owned(), 2),
            ("not".to_owned(), 1),
            ("or".to_owned(), 1),
            ("to".to_owned(), 2)
        ]
    );
}

#[test]
fn crlf_line_endings_are_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "crlf.txt", "alpha\r\nbeta\r\n\r\ngamma\r\n");
    let lines = ctx().text_file(&path, 3).unwrap().collect().unwrap();
    assert_eq!(lines, vec!["alpha", "beta", "", "gamma"]);
    let mixed = write(dir.path(), "mixed.txt", "a\r\nb\nc\r\n");
    assert_eq!(
        ctx().text_file(&mixed, 2).unwrap().collect().unwrap(),
        vec!["a", "b", "c"]
    );
}

#[test]
fn a_last_line_without_newline_counts() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let path = write(dir.path(), "a.txt", "first\nsecond");
    assert_eq!(
        ctx.text_file(&path, 2).unwrap().collect().unwrap(),
        vec!["first", "second"]
    );
    let single = write(dir.path(), "b.txt", "only line");
    assert_eq!(
        ctx.text_file(&single, 4).unwrap().collect().unwrap(),
        vec!["only line"]
    );
    let crlf = write(dir.path(), "c.txt", "x\r\ny\r");
    assert_eq!(
        ctx.text_file(&crlf, 1).unwrap().collect().unwrap(),
        vec!["x", "y"]
    );
}

#[test]
fn an_empty_file_and_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let empty = write(dir.path(), "empty.txt", "");
    let rdd = ctx.text_file(&empty, 3).unwrap();
    assert_eq!(rdd.num_partitions(), 3);
    assert_eq!(rdd.collect().unwrap(), Vec::<String>::new());
    assert_eq!(rdd.count().unwrap(), 0);
    assert_eq!(ctx.text_file(&empty, 0).unwrap().num_partitions(), 1);
    let blanks = write(dir.path(), "blanks.txt", "\n\n\n");
    assert_eq!(
        ctx.text_file(&blanks, 2).unwrap().collect().unwrap(),
        vec!["", "", ""]
    );
}

#[test]
fn many_partitions_see_every_line_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let lines = numbered_lines(1000);
    let path = write(dir.path(), "many.txt", lines.join("\n") + "\n");
    for partitions in [2, 7, 37, 1000, 5000] {
        let rdd = ctx.text_file(&path, partitions).unwrap();
        assert_eq!(rdd.num_partitions(), partitions);
        let parts = rdd.collect_partitions().unwrap();
        assert_eq!(parts.len(), partitions);
        assert_eq!(parts.concat(), lines, "{partitions} partitions");
        if partitions <= 37 {
            assert!(parts.iter().all(|p| !p.is_empty()), "splits by bytes");
        }
    }
    // More partitions than bytes.
    let tiny = write(dir.path(), "tiny.txt", "a\nb\n");
    let rdd = ctx.text_file(&tiny, 10).unwrap();
    assert_eq!(rdd.collect().unwrap(), vec!["a", "b"]);
    assert_eq!(rdd.glom().collect().unwrap().len(), 10);
}

#[test]
fn a_large_file_is_memory_mapped_and_read_correctly() {
    // Over 1 MiB: the memmap2 path (the crate's one `unsafe` block).
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let lines = numbered_lines(40_000);
    let content = lines.join("\n");
    assert!(content.len() > 1 << 20, "{} bytes", content.len());
    let path = write(dir.path(), "large.txt", &content);
    let rdd = ctx.text_file(&path, 5).unwrap();
    assert_eq!(rdd.num_partitions(), 5);
    assert_eq!(rdd.collect().unwrap(), lines);
    assert_eq!(rdd.count().unwrap(), 40_000);
    let parts = rdd.collect_partitions().unwrap();
    assert!(parts.iter().all(|p| (6_000..=10_000).contains(&p.len())));
    // The same with CRLF endings and a trailing newline.
    let crlf = write(dir.path(), "large-crlf.txt", lines.join("\r\n") + "\r\n");
    assert_eq!(ctx.text_file(&crlf, 3).unwrap().collect().unwrap(), lines);
}

#[test]
fn a_file_over_32_mib_gets_a_partition_per_32_mib() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let line = "y".repeat(1023);
    let count = 33 * 1024; // 33 MiB of 1 KiB lines
    let content = format!("{line}\n").repeat(count);
    let path = write(dir.path(), "huge.txt", content);
    let rdd = ctx.text_file(&path, 1).unwrap();
    assert_eq!(rdd.num_partitions(), 2);
    let lengths = rdd.map(|l| l.len()).count_by_value().unwrap();
    assert_eq!(
        lengths,
        std::collections::HashMap::from([(1023, count as u64)])
    );
    assert_eq!(ctx.text_file(&path, 3).unwrap().num_partitions(), 3);
}

#[test]
fn invalid_utf8_names_the_file_and_the_exact_offset() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let path = write(dir.path(), "bad.txt", b"ok line\nbad \xff here\nfine\n");
    for partitions in [1, 2, 3] {
        match ctx
            .text_file(&path, partitions)
            .unwrap()
            .collect()
            .unwrap_err()
        {
            JobError::InvalidUtf8 { path: p, offset } => {
                assert_eq!(p, path);
                assert_eq!(offset, 12, "8 bytes of the first line + `bad `");
            }
            other => panic!("expected InvalidUtf8, got {other:?}"),
        }
    }
    // A multi-byte sequence cut short: the offset is its first byte.
    let cut = write(dir.path(), "cut.txt", b"caf\xc3(\n");
    assert!(matches!(
        ctx.text_file(&cut, 1).unwrap().count().unwrap_err(),
        JobError::InvalidUtf8 { offset: 3, .. }
    ));
}

#[test]
fn invalid_utf8_deep_in_a_large_file() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let mut content = numbered_lines(40_000).join("\n").into_bytes();
    let bad_at = content.len() - 1000;
    content[bad_at] = 0xfe;
    let path = write(dir.path(), "large-bad.txt", &content);
    let rdd = ctx.text_file(&path, 4).unwrap();
    match rdd.collect().unwrap_err() {
        JobError::InvalidUtf8 { path: p, offset } => {
            assert_eq!(p, path);
            assert_eq!(offset, bad_at as u64);
        }
        other => panic!("expected InvalidUtf8, got {other:?}"),
    }
    // Earlier partitions are fine on their own.
    assert_eq!(rdd.take(2).unwrap(), numbered_lines(2));
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let missing = dir.path().join("missing.txt");
    match ctx.text_file(&missing, 2).unwrap_err() {
        JobError::Io { path, source } => {
            assert_eq!(path, missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(matches!(
        ctx.text_file(dir.path(), 1).unwrap_err(),
        JobError::Io { .. }
    ));
    // Deleted between definition and job: the job fails with Io.
    let path = write(dir.path(), "gone.txt", "x\n");
    let rdd = ctx.text_file(&path, 1).unwrap();
    fs::remove_file(&path).unwrap();
    match rdd.collect().unwrap_err() {
        JobError::Io { path: p, .. } => assert_eq!(p, path),
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn save_as_text_file_writes_parts_and_success() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("numbers");
    let ctx = ctx();
    ctx.parallelize(vec![1, 2, 3], 2)
        .save_as_text_file(&dir)
        .unwrap();
    assert_eq!(listing(&dir), vec!["_SUCCESS", "part-00000", "part-00001"]);
    assert_eq!(fs::read_to_string(dir.join("part-00000")).unwrap(), "1\n");
    assert_eq!(
        fs::read_to_string(dir.join("part-00001")).unwrap(),
        "2\n3\n"
    );
    assert_eq!(fs::read(dir.join("_SUCCESS")).unwrap(), b"");
    assert_eq!(listing(out.path()), vec!["numbers"], "no temporary left");
}

#[test]
fn save_as_text_file_names_many_parts_and_empty_ones() {
    let out = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let many = out.path().join("many");
    ctx.parallelize((0..5).collect::<Vec<i32>>(), 12)
        .save_as_text_file(&many)
        .unwrap();
    let names = listing(&many);
    assert_eq!(names.len(), 13);
    assert_eq!(names[0], "_SUCCESS");
    assert_eq!(names[1], "part-00000");
    assert_eq!(names[12], "part-00011");
    let blank = out.path().join("blank");
    ctx.parallelize(Vec::<i32>::new(), 2)
        .save_as_text_file(&blank)
        .unwrap();
    assert_eq!(
        listing(&blank),
        vec!["_SUCCESS", "part-00000", "part-00001"]
    );
    assert_eq!(fs::read(blank.join("part-00001")).unwrap(), b"");
    let none = out.path().join("none");
    ctx.empty::<i32>().save_as_text_file(&none).unwrap();
    assert_eq!(listing(&none), vec!["_SUCCESS"]);
    let nested = out.path().join("a").join("b").join("c");
    ctx.parallelize(vec!["x".to_owned()], 1)
        .save_as_text_file(&nested)
        .unwrap();
    assert_eq!(
        fs::read_to_string(nested.join("part-00000")).unwrap(),
        "x\n"
    );
    assert_eq!(listing(out.path()), vec!["a", "blank", "many", "none"]);
}

#[test]
fn save_then_text_file_round_trips() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("lines");
    let ctx = ctx();
    let lines = numbered_lines(500);
    let rdd = ctx.parallelize(lines.clone(), 3);
    rdd.save_as_text_file(&dir).unwrap();
    let back = read_back(&ctx, &dir);
    assert_eq!(back.num_partitions(), 3);
    assert_eq!(back.collect().unwrap(), lines);
    assert_eq!(
        back.collect_partitions().unwrap(),
        rdd.collect_partitions().unwrap(),
        "partition by partition"
    );
}

#[test]
fn saving_into_an_existing_path_is_refused() {
    let out = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let dir = out.path().join("exists");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("keep.txt"), "precious").unwrap();
    match ctx
        .parallelize(vec![1], 1)
        .save_as_text_file(&dir)
        .unwrap_err()
    {
        JobError::OutputExists { path } => assert_eq!(path, dir),
        other => panic!("expected OutputExists, got {other:?}"),
    }
    assert_eq!(listing(&dir), vec!["keep.txt"], "left untouched");
    let file = write(out.path(), "a-file", "data");
    assert!(matches!(
        ctx.parallelize(vec![1], 1)
            .save_as_text_file(&file)
            .unwrap_err(),
        JobError::OutputExists { .. }
    ));
    assert_eq!(fs::read_to_string(&file).unwrap(), "data");
    // Saving the same RDD twice into one place: the second is refused.
    let twice = out.path().join("twice");
    let rdd = ctx.parallelize(vec![1, 2], 2);
    rdd.save_as_text_file(&twice).unwrap();
    assert!(matches!(
        rdd.save_as_text_file(&twice).unwrap_err(),
        JobError::OutputExists { .. }
    ));
    assert_eq!(listing(out.path()), vec!["a-file", "exists", "twice"]);
}

#[test]
fn a_failing_save_leaves_nothing_behind() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("doomed");
    let ctx = ctx();
    let rdd = ctx.parallelize((0..100).collect::<Vec<i32>>(), 4).map(|x| {
        assert_ne!(x, 80, "cannot write record 80");
        x
    });
    match rdd.save_as_text_file(&dir).unwrap_err() {
        JobError::TaskFailed {
            partition,
            attempts,
            message,
            ..
        } => {
            assert_eq!((partition, attempts), (3, 4));
            assert!(message.contains("cannot write record 80"));
        }
        other => panic!("expected TaskFailed, got {other:?}"),
    }
    assert!(!dir.exists());
    assert_eq!(
        listing(out.path()),
        Vec::<String>::new(),
        "no temporary left"
    );
    // The same place can be written by a job that succeeds.
    ctx.parallelize(vec![1], 1).save_as_text_file(&dir).unwrap();
    assert_eq!(listing(out.path()), vec!["doomed"]);
}

/// Any text, any line ending, any partition count: the lines come back
/// exactly as `str::lines` sees them.
#[test]
fn text_file_matches_str_lines() {
    let ctx = ctx();
    proptest!(common::config(), |(
        lines in common::lines(),
        crlf in any::<bool>(),
        trailing in any::<bool>(),
        partitions in common::partitions(),
    )| {
        let dir = tempfile::tempdir().unwrap();
        let sep = if crlf { "\r\n" } else { "\n" };
        let mut content = lines.join(sep);
        if trailing && !lines.is_empty() {
            content.push_str(sep);
        }
        let path = write(dir.path(), "in.txt", &content);
        let rdd = ctx.text_file(&path, partitions).unwrap();
        prop_assert_eq!(rdd.num_partitions(), partitions);
        let expected: Vec<String> = content.lines().map(str::to_owned).collect();
        prop_assert_eq!(rdd.collect().unwrap(), expected);
    });
}

/// Saving and reading back keeps every line, partition by partition.
#[test]
fn save_and_read_back() {
    let ctx = ctx();
    proptest!(common::config(), |(lines in common::lines(), partitions in common::partitions())| {
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("out");
        let rdd = ctx.parallelize(lines.clone(), partitions);
        rdd.save_as_text_file(&dir).unwrap();
        prop_assert_eq!(listing(&dir).len(), partitions + 1);
        let back = read_back(&ctx, &dir);
        prop_assert_eq!(back.collect_partitions().unwrap(), rdd.collect_partitions().unwrap());
        prop_assert_eq!(back.collect().unwrap(), lines);
        prop_assert_eq!(listing(out.path()), vec!["out".to_owned()]);
    });
}
