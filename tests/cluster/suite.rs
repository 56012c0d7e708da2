//! The pipelines the cluster test runs, on local mode and on clusters,
//! over random batches (a proptest strategy draws them, [`cases`]): every shuffle kind, windows (plain, by key,
//! reduced, counted), state (with and without the batch time), joins and
//! `cogroup` (with empty sides), unions of two and three streams,
//! `transform`, `glom`, `map_partitions`, `slice`, and `stream!` pipelines
//! (word count, a windowed filter chain, `combine_by_key`, a plain window).
//! Each case draws its inputs' partition counts too (the queue's default or
//! a random repartition) and the partition count of the shuffles. Each output records every batch's result, sorted
//! (partition counts differ between the layouts, the contents must not;
//! `glom` is taken after a hash partitioner, so partitions' contents must
//! match too).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use ember::dstream::{State, StateSpec, UpdateStateOptions};
use ember::prelude::*;
use ember::rdd::{Data, Rdd};
use proptest::collection::vec;
use proptest::prelude::{Just, Strategy, prop_oneof};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::{Deserialize, Serialize};

/// Batches fed to every pipeline.
pub(crate) const BATCHES: usize = 6;
/// Independent random input sets in one proptest case.
const CASES: usize = 2;
/// The batch interval.
const BATCH_MS: u64 = 150;

stream! {
    /// The word count, fused by `stream!`.
    fn fused_word_count(lines: DStream<String>) -> DStream<(String, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .filter(|w| !w.is_empty())
            .map(|w| (w.to_owned(), 1u64))
            .reduce_by_key(|a, b| a + b)
    }

    /// A windowed word count behind a filter chain, fused by `stream!`.
    fn fused_windowed_words(lines: DStream<String>) -> DStream<(String, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .filter(|w| !w.is_empty())
            .filter(|w| !w.ends_with('3'))
            .map(|w| (w.to_owned(), 1u64))
            .reduce_by_key_and_window(|a, b| a + b, Duration::from_millis(450), Duration::from_millis(150))
    }

    /// Sums and counts per key through `combine_by_key` into three
    /// partitions, after a filter and `map_values`, fused by `stream!`.
    fn fused_combine(pairs: DStream<(String, i64)>) -> DStream<(String, (i64, u64))> {
        pairs
            .filter(|(_, v)| *v != 0)
            .map_values(|v| v * 3)
            .combine_by_key(
                |v| (v, 1u64),
                |(s, n), v| (s + v, n + 1),
                |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2),
                Some(3),
            )
    }

    /// A plain sliding window between narrow stages, fused by `stream!`.
    fn fused_window(pairs: DStream<(String, i64)>) -> DStream<i64> {
        pairs
            .map(|(_, v)| v)
            .filter(|v| v % 2 == 0)
            .window(Duration::from_millis(600), Duration::from_millis(300))
            .map(|v| v + 1)
    }
}

/// proptest's ChaCha generator seeded with `seed`: the same draws in
/// every process and run.
pub(crate) fn test_rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// One case's input batches: keyed values and lines of words.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Inputs {
    pairs: Vec<Vec<(String, i64)>>,
    others: Vec<Vec<(String, i64)>>,
    lines: Vec<Vec<String>>,
    partitions: usize,
    /// The inputs' partition count: `None` keeps the queue's (the default
    /// parallelism, which differs between layouts), `Some(n)` repartitions.
    input_partitions: Option<usize>,
}

/// A batch of keyed values: keys `k0..k11`, values in -50..=50.
fn pairs_batch() -> impl Strategy<Value = Vec<(String, i64)>> {
    vec(
        (0..12u64, -50i64..=50).prop_map(|(k, v)| (format!("k{k}"), v)),
        0..120,
    )
}

/// The strategy of one input set. No `prop_flat_map`: every part shrinks
/// on its own (batches lose records, keys and values move towards `k0`
/// and 0, partition counts towards 1).
fn inputs_strategy() -> impl Strategy<Value = Inputs> {
    let line = vec(0..15u64, 0..8).prop_map(|words| {
        words
            .iter()
            .map(|w| format!("w{w}"))
            .collect::<Vec<_>>()
            .join(" ")
    });
    (
        vec(pairs_batch(), BATCHES),
        vec(pairs_batch(), BATCHES),
        vec(vec(line, 0..40), BATCHES),
        1..=5usize,
        prop_oneof![1 => Just(None), 3 => (1..=6usize).prop_map(Some)],
    )
        .prop_map(
            |(pairs, others, lines, partitions, input_partitions)| Inputs {
                pairs,
                others,
                lines,
                partitions,
                input_partitions,
            },
        )
}

/// The strategy of one proptest case: [`CASES`] independent input sets,
/// all run at once.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Inputs>> {
    vec(inputs_strategy(), CASES)
}

/// What the outputs saw: `(output, batch index) -> sorted result`, and how
/// many batches every output completed.
#[derive(Default)]
struct Record {
    results: Mutex<BTreeMap<(String, usize), String>>,
    outputs: Mutex<usize>,
    done: Mutex<BTreeMap<String, usize>>,
    changed: Condvar,
}

impl Record {
    /// Registers an output named `name` that records each of the first
    /// [`BATCHES`] batches of `stream`, sorted.
    fn output<T: Data + Debug + Ord>(self: &Arc<Self>, name: String, stream: &DStream<T>) {
        self.output_with(name, stream, |rdd, _| Ok(rdd.clone()));
    }

    /// Registers an output named `name` that records, for each of the first
    /// [`BATCHES`] batches of `stream`, the RDD `f` makes of the batch's RDD
    /// and time, sorted.
    fn output_with<T: Data, U: Data + Debug + Ord>(
        self: &Arc<Self>,
        name: String,
        stream: &DStream<T>,
        f: impl Fn(&Rdd<T>, Time) -> Result<Rdd<U>, StreamingError> + Send + Sync + 'static,
    ) {
        *self.outputs.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        let record = Arc::clone(self);
        let batch = Mutex::new(0usize);
        stream
            .foreach_rdd(move |rdd, time| {
                let mut index = batch.lock().unwrap_or_else(PoisonError::into_inner);
                let i = *index;
                *index += 1;
                if i >= BATCHES {
                    return Ok(());
                }
                let mut all = f(rdd, time)?.collect()?;
                all.sort();
                record
                    .results
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert((name.clone(), i), format!("{all:?}"));
                let mut done = record.done.lock().unwrap_or_else(PoisonError::into_inner);
                done.insert(name.clone(), i + 1);
                record.changed.notify_all();
                Ok(())
            })
            .expect("a foreach_rdd output");
    }

    /// Waits until every output recorded [`BATCHES`] batches.
    fn wait(&self, ssc: &StreamingContext) -> Result<(), StreamingError> {
        let outputs = *self.outputs.lock().unwrap_or_else(PoisonError::into_inner);
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        while done.len() < outputs || done.values().any(|&n| n < BATCHES) {
            done = self
                .changed
                .wait_timeout(done, std::time::Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            drop(done);
            if ssc.await_termination_or_timeout(Duration::from_millis(1))? {
                return Err(StreamingError::AlreadyStopped);
            }
            done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        }
        Ok(())
    }
}

/// A queue stream of `batches`, repartitioned into `partitions` if given.
fn queue<T: Data>(
    ssc: &StreamingContext,
    batches: &[Vec<T>],
    partitions: Option<usize>,
) -> DStream<T> {
    let queue = InputQueue::new();
    for batch in batches {
        queue.push(batch.clone());
    }
    let stream = ssc.queue_stream(queue, true);
    match partitions {
        Some(n) => stream.repartition(n),
        None => stream,
    }
}

/// Builds every pipeline of every input set of `case` on `ssc`, runs
/// [`BATCHES`] batches and returns what the outputs saw, one line per
/// output and batch.
pub(crate) fn run(ssc: StreamingContext, case: &[Inputs]) -> Result<Vec<String>, StreamingError> {
    let record = Arc::new(Record::default());
    let batch = Duration::from_millis(BATCH_MS);
    for (case, input) in case.iter().enumerate() {
        let n = input.partitions;
        let spread = input.input_partitions;
        // `map_with_state`'s per-record outputs depend on the order of a
        // key's records in a batch, which a repartition changes with the
        // input's partition count (default parallelism differs between the
        // layouts): they read the queue as it is.
        let in_order = queue(&ssc, &input.pairs, None);
        let pairs = queue(&ssc, &input.pairs, spread);
        let others = queue(&ssc, &input.others, spread);
        let lines = queue(&ssc, &input.lines, spread);
        let empty = queue::<(String, i64)>(&ssc, &[], None);
        let out = |name: &str| format!("case{case}/{name}");
        let sum = |a: i64, b: i64| a + b;
        record.output(out("reduce_by_key"), &pairs.reduce_by_key(sum));
        record.output(
            out("group_by_key"),
            &pairs.group_by_key().map(|(k, mut vs): (String, Vec<i64>)| {
                vs.sort();
                (k, vs)
            }),
        );
        record.output(out("count"), &pairs.count());
        record.output(
            out("reduce"),
            &pairs.map(|(_, v): (String, i64)| v).reduce(sum),
        );
        record.output(
            out("filter_map_values"),
            &pairs
                .filter(|(_, v): &(String, i64)| *v > 0)
                .map_values(|v| v * 2),
        );
        record.output(out("repartition"), &pairs.repartition(n));
        record.output(
            out("combine_by_key"),
            &pairs.combine_by_key_with_partitioner(
                |v| (v, 1u32),
                |(s, c), v| (s + v, c + 1),
                |(s1, c1), (s2, c2)| (s1 + s2, c1 + c2),
                Arc::new(HashPartitioner::new(n)),
            ),
        );
        record.output(out("join"), &pairs.join(&others)?);
        record.output(out("left_outer_join"), &pairs.left_outer_join(&others)?);
        record.output(out("full_outer_join"), &pairs.full_outer_join(&others)?);
        record.output(
            out("cogroup"),
            &pairs.cogroup(&others)?.map(|(k, (mut a, mut b))| {
                a.sort();
                b.sort();
                (k, (a, b))
            }),
        );
        record.output(
            out("union_reduce"),
            &pairs.union(&others)?.reduce_by_key(sum),
        );
        record.output(
            out("reduce_by_key_and_window"),
            &pairs.reduce_by_key_and_window(sum, batch * 3, batch)?,
        );
        record.output(
            out("reduce_by_key_and_window_inv"),
            &pairs.reduce_by_key_and_window_inv(sum, |a, b| a - b, batch * 3, batch, None)?,
        );
        record.output(
            out("count_by_window"),
            &pairs.count_by_window(batch * 2, batch)?,
        );
        record.output(
            out("update_state_by_key"),
            &pairs.update_state_by_key(|values: &[i64], state: Option<i64>| {
                Some(state.unwrap_or(0) + values.iter().sum::<i64>())
            }),
        );
        record.output(
            out("transform_distinct"),
            &pairs.transform(|rdd, _| rdd.map(|(k, _)| k).distinct()),
        );
        record.output(out("count_by_value"), &lines.count_by_value());
        record.output(out("right_outer_join"), &pairs.right_outer_join(&others)?);
        record.output(
            out("transform_with"),
            &pairs.transform_with(&others, |a, b, _| a.subtract_by_key(b))?,
        );
        record.output(
            out("group_by_key_and_window"),
            &pairs.group_by_key_and_window(batch * 2, batch)?.map(
                |(k, mut vs): (String, Vec<i64>)| {
                    vs.sort();
                    (k, vs)
                },
            ),
        );
        record.output(
            out("count_by_value_and_window"),
            &lines.count_by_value_and_window(batch * 3, batch)?,
        );
        let running = in_order.map_with_state(StateSpec::function(
            |key: &String, value: Option<i64>, state: &mut State<i64>| {
                let total = state.get().copied().unwrap_or(0) + value.unwrap_or(0);
                state.update(total);
                (key.clone(), total)
            },
        ));
        record.output(out("map_with_state"), &running);
        record.output(out("map_with_state_snapshots"), &running.state_snapshots());
        record.output(out("stream!_word_count"), &fused_word_count(lines.clone()));
        more_outputs(
            &ssc,
            &record,
            &out,
            n,
            [&pairs, &others, &empty, &in_order],
            &lines,
        )?;
    }
    // `slice` reaches three batches back.
    ssc.remember(batch * 4);
    ssc.start()?;
    let waited = record.wait(&ssc);
    ssc.stop(StopOptions::default())?;
    waited?;
    let results = record
        .results
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    Ok(results
        .iter()
        .map(|((name, batch), result)| format!("{name} batch {batch}: {result}"))
        .collect())
}

/// The outputs added for issue #12's coverage: `glom`, `map_partitions`,
/// `slice`, plain windows, `reduce_by_window`, `count_by_window` with a
/// longer slide, a union of three streams, `cogroup` with empty sides, the
/// time-aware state forms and the `stream!` pipelines beyond word count.
fn more_outputs(
    ssc: &StreamingContext,
    record: &Arc<Record>,
    out: &dyn Fn(&str) -> String,
    n: usize,
    [pairs, others, empty, in_order]: [&DStream<(String, i64)>; 4],
    lines: &DStream<String>,
) -> Result<(), StreamingError> {
    let batch = Duration::from_millis(BATCH_MS);
    let sum = |a: i64, b: i64| a + b;
    record.output(
        out("glom_after_hash_partitioner"),
        &pairs
            .transform(move |rdd, _| rdd.partition_by(Arc::new(HashPartitioner::new(n))))
            .glom()
            .map(|mut part: Vec<(String, i64)>| {
                part.sort();
                part
            }),
    );
    record.output(
        out("map_partitions"),
        &pairs.map_partitions(|it| {
            it.filter(|(k, _)| !k.ends_with('0'))
                .map(|(k, v)| (v, k))
                .collect::<Vec<_>>()
        }),
    );
    let sliced = pairs.clone();
    record.output_with(out("slice_3_batches"), lines, move |_, time| {
        let rdds = sliced.slice(time - batch * 2, time)?;
        Ok(match rdds.first() {
            Some(first) => first.context().union(&rdds),
            None => sliced.rdd_context().parallelize(Vec::new(), 1),
        })
    });
    record.output(out("window"), &pairs.window(batch * 2, batch)?);
    record.output(out("window_sliding"), &lines.window(batch * 4, batch * 2)?);
    record.output(
        out("reduce_by_window"),
        &pairs
            .map(|(_, v): (String, i64)| v)
            .reduce_by_window(sum, batch * 3, batch)?,
    );
    record.output(
        out("count_by_window_sliding"),
        &pairs.count_by_window(batch * 4, batch * 2)?,
    );
    let negated = others.map_values(|v| -v);
    record.output(
        out("union_of_three"),
        &ssc.union(&[pairs.clone(), others.clone(), negated])?,
    );
    record.output(
        out("cogroup_empty_right"),
        &pairs.cogroup(empty)?.map(|(k, (mut a, b))| {
            a.sort();
            (k, (a, b))
        }),
    );
    record.output(
        out("cogroup_empty_left"),
        &empty.cogroup(others)?.map(|(k, (a, mut b))| {
            b.sort();
            (k, (a, b))
        }),
    );
    let few = others.filter(|(k, _): &(String, i64)| k.ends_with('1'));
    record.output(
        out("cogroup_sparse_right"),
        &pairs.cogroup(&few)?.map(|(k, (mut a, mut b))| {
            a.sort();
            b.sort();
            (k, (a, b))
        }),
    );
    // The state forms with the batch time: times are relative to the
    // key's first batch (absolute times differ between runs).
    let ms = BATCH_MS;
    record.output(
        out("update_state_by_key_with_time"),
        &pairs
            .update_state_by_key_with_time(
                move |time: Time, _: &String, values: &[i64], state: Option<(u64, u64, i64)>| {
                    let (first, _, total) = state.unwrap_or((time.milliseconds(), 0, 0));
                    let total = total + values.iter().sum::<i64>();
                    let age = (time.milliseconds() - first) / ms;
                    // An idle key with a negative total is dropped.
                    (!values.is_empty() || total >= 0).then_some((first, age, total))
                },
                UpdateStateOptions::default(),
            )
            .map(|(k, (_, age, total))| (k, (age, total))),
    );
    let timed = in_order.map_with_state(StateSpec::function_with_time(
        move |time: Time, key: &String, value: Option<i64>, state: &mut State<(u64, i64)>| {
            let (first, total) = state.get().copied().unwrap_or((time.milliseconds(), 0));
            let total = total + value.unwrap_or(0);
            state.update((first, total));
            (total % 3 != 0).then(|| (key.clone(), (time.milliseconds() - first) / ms, total))
        },
    ));
    record.output(out("map_with_state_function_with_time"), &timed);
    record.output(
        out("stream!_windowed_filter_chain"),
        &fused_windowed_words(lines.clone()),
    );
    record.output(out("stream!_combine_by_key"), &fused_combine(pairs.clone()));
    record.output(out("stream!_window"), &fused_window(pairs.clone()));
    Ok(())
}

/// The `save_as_text_files` pipeline: one input set's lines (drawn from
/// `seed`) through a
/// word count (a shuffle, so every process owns parts), saved as
/// `<dir>/counts-<time>.txt` each batch; returns once [`BATCHES`] batches
/// are saved.
pub(crate) fn save(ssc: StreamingContext, seed: u64, dir: &str) -> Result<(), crate::Error> {
    let record = Arc::new(Record::default());
    let mut runner = TestRunner::new_with_rng(Config::default(), test_rng(seed));
    let input = inputs_strategy()
        .new_tree(&mut runner)
        .map_err(|reason| reason.to_string())?
        .current();
    let lines = queue(&ssc, &input.lines, input.input_partitions);
    let counts = lines
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .map(|(w, n)| format!("{w} {n}"));
    counts.save_as_text_files(format!("{dir}/counts"), "txt")?;
    // Outputs run in order: once this one saw a batch, it is saved.
    record.output("saved".to_owned(), &counts.count());
    ssc.start()?;
    let waited = record.wait(&ssc);
    ssc.stop(StopOptions::default())?;
    Ok(waited?)
}

/// The batch interval every run uses.
pub(crate) fn batch_interval() -> Duration {
    Duration::from_millis(BATCH_MS)
}
