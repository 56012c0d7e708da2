//! `stream!` pipelines over borrowed lines (`DStream<&str>`) give the same
//! batches as the same pipelines over `DStream<String>` and as the plain
//! DStream API: over a queue stream (its strings lent in place), a
//! repartitioned one (a computed parent, collected then lent), a persisted
//! and a checkpointed one, and a file stream over real files in a temp dir
//! (each split read into one buffer, its lines sliced out), including a line
//! that is not UTF-8, and a socket receiver's blocks over real TCP.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration as StdDuration, UNIX_EPOCH};

use ember::dstream::testing::run_operation;
use ember::dstream::{DStream, ManualClock, StopOptions, StreamingConf, StreamingContext, Time};
use ember::rdd::{Data, StorageLevel};
use ember::sources::file::{FileStreamOptions, FileStreams};
use ember::sources::prelude::*;
use ember::{Duration, stream};
use proptest::prelude::*;

stream! {
    /// The word count over borrowed lines.
    fn word_count_str(lines: DStream<&str>) -> DStream<(String, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .filter(|w| !w.is_empty())
            .map(|w| (w.to_owned(), 1u64))
            .reduce_by_key(|a, b| a + b)
    }

    /// The same over owned lines.
    fn word_count_string(lines: DStream<String>) -> DStream<(String, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .filter(|w| !w.is_empty())
            .map(|w| (w.to_owned(), 1u64))
            .reduce_by_key(|a, b| a + b)
    }

    /// A narrow chain ending in `count`, over borrowed lines.
    fn narrow_str(lines: DStream<&str>) -> DStream<u64> {
        lines.filter(|l| !l.is_empty()).map(|l| l.len()).filter(|n| n % 2 == 0).count()
    }

    /// The same over owned lines.
    fn narrow_string(lines: DStream<String>) -> DStream<u64> {
        lines.filter(|l| !l.is_empty()).map(|l| l.len()).filter(|n| n % 2 == 0).count()
    }

    /// Borrowed lines read by two stages (each borrows them), no combine in
    /// one of them (owned items collected).
    fn two_reads_str(lines: DStream<&str>) -> DStream<u64> {
        lines.map(|l| l.len() as u64).union(lines.filter(|l| l.contains('a')).count())
    }
}

/// The plain API's word count.
fn word_count_plain(lines: DStream<String>) -> DStream<(String, u64)> {
    lines
        .flat_map(|line: String| {
            line.split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
}

/// The plain API's narrow chain.
fn narrow_plain(lines: DStream<String>) -> DStream<u64> {
    lines
        .filter(|l| !l.is_empty())
        .map(|l| l.len())
        .filter(|n| n % 2 == 0)
        .count()
}

/// The plain API's two reads.
fn two_reads_plain(lines: DStream<String>) -> DStream<u64> {
    lines
        .map(|l| l.len() as u64)
        .union(&lines.filter(|l| l.contains('a')).count())
        .unwrap()
}

fn sorted<T: Ord>(batches: Vec<Vec<T>>) -> Vec<Vec<T>> {
    batches
        .into_iter()
        .map(|mut b| {
            b.sort();
            b
        })
        .collect()
}

/// A line of words from a small vocabulary, with empty words and `\r`.
fn line() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(vec!["a", "b", "", "\u{e9}t\u{e9}", "ab", "\u{1f980}"]),
        0..5,
    )
    .prop_map(|words| words.join(" "))
}

fn batches() -> impl Strategy<Value = Vec<Vec<String>>> {
    proptest::collection::vec(proptest::collection::vec(line(), 0..12), 1..4)
}

/// What every pipeline gives on `input` when the stream is first passed
/// through `prepare` (nothing, a repartition, `persist`, `checkpoint`).
#[derive(Debug, PartialEq)]
struct Outputs {
    words: Vec<Vec<(String, u64)>>,
    narrow: Vec<Vec<u64>>,
    two: Vec<Vec<u64>>,
}

fn outputs(
    input: &[Vec<String>],
    prepare: impl Fn(DStream<String>) -> DStream<String> + Copy,
    words: fn(DStream<String>) -> DStream<(String, u64)>,
    narrow: fn(DStream<String>) -> DStream<u64>,
    two: fn(DStream<String>) -> DStream<u64>,
) -> Outputs {
    let n = input.len() + 1;
    Outputs {
        words: sorted(run_operation(input.to_vec(), |s| words(prepare(s)), n).unwrap()),
        narrow: run_operation(input.to_vec(), |s| narrow(prepare(s)), n).unwrap(),
        two: sorted(run_operation(input.to_vec(), |s| two(prepare(s)), n).unwrap()),
    }
}

fn all_three(input: &[Vec<String>], prepare: impl Fn(DStream<String>) -> DStream<String> + Copy) {
    let plain = outputs(
        input,
        prepare,
        word_count_plain,
        narrow_plain,
        two_reads_plain,
    );
    let owned = outputs(
        input,
        prepare,
        word_count_string,
        narrow_string,
        two_reads_plain,
    );
    let borrowed = outputs(input, prepare, word_count_str, narrow_str, two_reads_str);
    assert_eq!(owned, plain);
    assert_eq!(borrowed, plain);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn borrowed_lines_of_a_queue_stream_equal_owned_and_plain(input in batches()) {
        all_three(&input, |s| s);
    }

    #[test]
    fn borrowed_lines_of_a_repartitioned_stream_equal_owned_and_plain(
        input in batches(),
        n in 1usize..5,
    ) {
        let prepare = move |s: DStream<String>| s.repartition(n);
        all_three(&input, prepare);
    }
}

#[test]
fn a_persisted_and_a_checkpointed_input_through_the_borrowed_path() {
    let input: Vec<Vec<String>> = vec![
        vec!["a b a".into(), "".into(), "\u{e9}t\u{e9} ab".into()],
        vec!["b".into()],
        vec![],
        vec!["ab ab".into(), "a".into()],
    ];
    // Persisted: the stage reads the cached blocks.
    all_three(&input, |s| s.map(|l| l).persist(StorageLevel::MemoryOnly));
    // Checkpointed every batch (in memory: the test context has no
    // checkpoint directory), read from the checkpointed partitions.
    all_three(&input, |s| {
        s.map(|l| l).checkpoint(Duration::from_secs(1)).unwrap()
    });
}

/// Sets a file's modification time (manual clock milliseconds).
fn set_mtime(path: &Path, ms: u64) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(UNIX_EPOCH + StdDuration::from_millis(ms))
        .unwrap();
}

/// Sends each batch of `stream` to a channel.
fn collect<T: Data>(stream: &DStream<T>) -> Receiver<(Time, Vec<T>)> {
    let (tx, rx) = channel();
    stream
        .foreach_rdd(move |rdd, time| {
            let _ = tx.send((time, rdd.collect()?));
            Ok(())
        })
        .unwrap();
    rx
}

/// A file stream over `files` (batch i's file has modification time
/// i·1000 + 500 ms), split in partitions of `partition_bytes`: every
/// pipeline's batches, borrowed, owned and plain.
#[allow(clippy::type_complexity)]
fn file_outputs(files: &[Vec<u8>], partition_bytes: u64) -> [Outputs; 3] {
    let dir = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    for (i, bytes) in files.iter().enumerate() {
        let staged = staging.path().join(format!("f{i}.txt"));
        std::fs::write(&staged, bytes).unwrap();
        set_mtime(&staged, i as u64 * 1000 + 500);
        std::fs::rename(&staged, dir.path().join(format!("f{i}.txt"))).unwrap();
    }
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new().master("local[2]");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone()).unwrap();
    let options = FileStreamOptions::default()
        .with_new_files_only(false)
        .with_max_partition_bytes(partition_bytes);
    let lines = ssc.file_stream(dir.path(), options);
    let words = [
        word_count_str(lines.clone()),
        word_count_string(lines.clone()),
        word_count_plain(lines.clone()),
    ]
    .map(|s| collect(&s));
    let narrow = [
        narrow_str(lines.clone()),
        narrow_string(lines.clone()),
        narrow_plain(lines.clone()),
    ]
    .map(|s| collect(&s));
    let two = [
        two_reads_str(lines.clone()),
        two_reads_plain(lines.clone()),
        two_reads_plain(lines),
    ]
    .map(|s| collect(&s));
    ssc.start().unwrap();
    for _ in 0..files.len() {
        clock.advance(Duration::from_secs(1));
    }
    let patience = StdDuration::from_secs(60);
    let take = |n: usize| -> Vec<usize> { (0..n).collect() };
    let out = [0, 1, 2].map(|k| Outputs {
        words: take(files.len())
            .iter()
            .map(|_| {
                let (_, mut batch) = words[k].recv_timeout(patience).unwrap();
                batch.sort();
                batch
            })
            .collect(),
        narrow: take(files.len())
            .iter()
            .map(|_| narrow[k].recv_timeout(patience).unwrap().1)
            .collect(),
        two: take(files.len())
            .iter()
            .map(|_| {
                let (_, mut batch) = two[k].recv_timeout(patience).unwrap();
                batch.sort();
                batch
            })
            .collect(),
    });
    ssc.stop(StopOptions::default()).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn borrowed_lines_of_a_file_stream_equal_owned_and_plain(
        input in batches(),
        crlf in any::<bool>(),
        partition_bytes in 1u64..40,
    ) {
        let end = if crlf { "\r\n" } else { "\n" };
        let files: Vec<Vec<u8>> = input
            .iter()
            .map(|lines| lines.iter().map(|l| format!("{l}{end}")).collect::<String>().into_bytes())
            .collect();
        let [borrowed, owned, plain] = file_outputs(&files, partition_bytes);
        prop_assert_eq!(&owned, &plain);
        prop_assert_eq!(&borrowed, &plain);
    }
}

#[test]
fn a_line_that_is_not_utf8_reads_the_same_borrowed_and_owned() {
    let files = vec![
        b"a b\n\xff\xfeab a\nb\r\nx\xc3".to_vec(),
        b"\xc3\xa9t\xc3\xa9 a\n\xe9\n".to_vec(),
    ];
    for partition_bytes in [1, 5, 1 << 20] {
        let [borrowed, owned, plain] = file_outputs(&files, partition_bytes);
        assert_eq!(owned, plain);
        assert_eq!(borrowed, plain);
        assert_eq!(
            plain.words[0],
            vec![
                ("a".to_owned(), 2),
                ("b".to_owned(), 2),
                ("x\u{fffd}".to_owned(), 1),
                ("\u{fffd}\u{fffd}ab".to_owned(), 1),
            ]
        );
        assert_eq!(plain.narrow, vec![vec![2], vec![0]]);
    }
}

#[test]
fn borrowed_lines_of_a_receiver_stream_equal_owned_and_plain() {
    use std::collections::BTreeMap;
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let lines_sent = 3000;
    let text: String = (0..lines_sent)
        .map(|i| format!("w{} w{} x\n", i % 7, i % 13))
        .collect();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(text.as_bytes()).unwrap();
        conn.flush().unwrap();
        std::thread::sleep(StdDuration::from_secs(3));
    });
    let conf = StreamingConf::new()
        .master("local[2]")
        .set("spark.streaming.blockInterval", "50ms");
    let ssc = StreamingContext::new(conf, Duration::from_millis(200)).unwrap();
    let lines = ssc.socket_text_stream("127.0.0.1", port);
    let words = [
        word_count_str(lines.clone()),
        word_count_plain(lines.clone()),
    ]
    .map(|s| collect(&s));
    let narrow = [narrow_str(lines.clone()), narrow_plain(lines)].map(|s| collect(&s));
    ssc.start().unwrap();
    let deadline = std::time::Instant::now() + StdDuration::from_secs(60);
    let mut seen = 0;
    let mut batches: [BTreeMap<Time, Vec<(String, u64)>>; 2] = Default::default();
    while seen < 3 * lines_sent && std::time::Instant::now() < deadline {
        if let Ok((time, mut batch)) = words[0].recv_timeout(StdDuration::from_millis(100)) {
            seen += batch.iter().map(|(_, n)| *n).sum::<u64>();
            batch.sort();
            batches[0].insert(time, batch);
        }
    }
    ssc.stop(StopOptions::default()).unwrap();
    server.join().unwrap();
    batches[0].extend(words[0].try_iter().map(|(t, mut b)| {
        b.sort();
        (t, b)
    }));
    batches[1].extend(words[1].try_iter().map(|(t, mut b)| {
        b.sort();
        (t, b)
    }));
    assert_eq!(seen, 3 * lines_sent, "every word arrived");
    assert_eq!(batches[0], batches[1]);
    let narrow: [BTreeMap<Time, Vec<u64>>; 2] = narrow.map(|rx| rx.try_iter().collect());
    assert_eq!(narrow[0], narrow[1]);
    // Lines "wA wB x" are 8 to 9 bytes long: those of 8 bytes are counted.
    let expected = (0..lines_sent)
        .filter(|i| format!("w{} w{} x", i % 7, i % 13).len() % 2 == 0)
        .count() as u64;
    assert_eq!(narrow[0].values().flatten().sum::<u64>(), expected);
}
