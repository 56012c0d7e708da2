//! The pipelines the cluster test runs, on local mode and on clusters,
//! over seeded random batches: every shuffle kind, windows, state, joins,
//! unions, `transform` and a `stream!` pipeline. Each output records every
//! batch's result, sorted (partition counts differ between the layouts,
//! the contents must not).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use ember::dstream::{State, StateSpec};
use ember::prelude::*;
use ember::rdd::Data;

/// Batches fed to every pipeline.
pub(crate) const BATCHES: usize = 6;
/// Independent random cases in one run.
const CASES: u64 = 2;
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
}

/// A small seeded generator (SplitMix64), so every process and the local
/// run draw the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One case's input batches: keyed values and lines of words.
struct Inputs {
    pairs: Vec<Vec<(String, i64)>>,
    others: Vec<Vec<(String, i64)>>,
    lines: Vec<Vec<String>>,
    partitions: usize,
}

fn inputs(rng: &mut Rng) -> Inputs {
    let keys = 1 + rng.below(12);
    let pairs_batch = |rng: &mut Rng| -> Vec<(String, i64)> {
        (0..rng.below(120))
            .map(|_| (format!("k{}", rng.below(keys)), rng.below(101) as i64 - 50))
            .collect()
    };
    let pairs = (0..BATCHES).map(|_| pairs_batch(rng)).collect();
    let others = (0..BATCHES).map(|_| pairs_batch(rng)).collect();
    let lines = (0..BATCHES)
        .map(|_| {
            (0..rng.below(40))
                .map(|_| {
                    (0..rng.below(8))
                        .map(|_| format!("w{}", rng.below(15)))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        })
        .collect();
    Inputs {
        pairs,
        others,
        lines,
        partitions: 1 + rng.below(5) as usize,
    }
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
        *self.outputs.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        let record = Arc::clone(self);
        let batch = Mutex::new(0usize);
        stream
            .foreach_rdd(move |rdd, _| {
                let mut index = batch.lock().unwrap_or_else(PoisonError::into_inner);
                let i = *index;
                *index += 1;
                if i >= BATCHES {
                    return Ok(());
                }
                let mut all = rdd.collect()?;
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

fn queue<T: Data>(ssc: &StreamingContext, batches: &[Vec<T>]) -> DStream<T> {
    let queue = InputQueue::new();
    for batch in batches {
        queue.push(batch.clone());
    }
    ssc.queue_stream(queue, true)
}

/// Builds every pipeline of `CASES` random cases drawn from `seed` on
/// `ssc`, runs [`BATCHES`] batches and returns what the outputs saw, one
/// line per output and batch.
pub(crate) fn run(ssc: StreamingContext, seed: u64) -> Result<Vec<String>, StreamingError> {
    let record = Arc::new(Record::default());
    let batch = Duration::from_millis(BATCH_MS);
    for case in 0..CASES {
        let mut rng = Rng(seed ^ (case + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
        let input = inputs(&mut rng);
        let n = input.partitions;
        let pairs = queue(&ssc, &input.pairs);
        let others = queue(&ssc, &input.others);
        let lines = queue(&ssc, &input.lines);
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
        let running = pairs.map_with_state(StateSpec::function(
            |key: &String, value: Option<i64>, state: &mut State<i64>| {
                let total = state.get().copied().unwrap_or(0) + value.unwrap_or(0);
                state.update(total);
                (key.clone(), total)
            },
        ));
        record.output(out("map_with_state"), &running);
        record.output(out("map_with_state_snapshots"), &running.state_snapshots());
        record.output(out("stream!_word_count"), &fused_word_count(lines));
    }
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

/// The batch interval every run uses.
pub(crate) fn batch_interval() -> Duration {
    Duration::from_millis(BATCH_MS)
}
