//! `map_partitions_str`: lines lent in place equal the owned lines of
//! `map_partitions`, for every kind of parent (in-memory sources, a
//! computed chain, a cached one, a locally checkpointed one, a compute that
//! lends text buffers), and the lending respects persistence (a cached
//! block is read, not recomputed) and retries (a retried task reads again).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ember_rdd::{
    BoxIter, Dependency, JobError, LentLines, Rdd, RddCompute, RddContext, StorageLevel,
    TaskContext,
};
use proptest::prelude::*;

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

/// Each partition's lines as owned strings, through the borrowed path.
fn lent_glom(rdd: &Rdd<String>) -> Vec<Vec<String>> {
    rdd.map_partitions_str(|lines| std::iter::once(lines.map(str::to_owned).collect::<Vec<_>>()))
        .collect()
        .unwrap()
}

/// A word count through the borrowed path, sorted.
fn lent_word_count(rdd: &Rdd<String>) -> Vec<(String, u64)> {
    let mut counts = rdd
        .map_partitions_str(|lines| {
            let mut words = std::collections::HashMap::new();
            for line in lines {
                for word in line.split(' ') {
                    *words.entry(word.to_owned()).or_insert(0u64) += 1;
                }
            }
            words
        })
        .reduce_by_key(|a, b| a + b)
        .collect()
        .unwrap();
    counts.sort();
    counts
}

/// The model: the same word count over a plain `Vec`.
fn model_word_count(lines: &[String]) -> Vec<(String, u64)> {
    let mut counts = std::collections::BTreeMap::new();
    for line in lines {
        for word in line.split(' ') {
            *counts.entry(word.to_owned()).or_insert(0u64) += 1;
        }
    }
    counts.into_iter().collect()
}

/// Splits `lines` into `n` contiguous parts.
fn parts(lines: &[String], n: usize) -> Vec<Vec<String>> {
    (0..n)
        .map(|i| lines[i * lines.len() / n..(i + 1) * lines.len() / n].to_vec())
        .collect()
}

/// Serves a partition's lines as one text buffer through `lend_lines`,
/// and as owned lines through `compute`; counts each.
struct Buffers {
    texts: Vec<String>,
    lent: Arc<AtomicUsize>,
    computed: Arc<AtomicUsize>,
}

impl RddCompute<String> for Buffers {
    fn kind(&self) -> &'static str {
        "BuffersRDD"
    }
    fn num_partitions(&self) -> usize {
        self.texts.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn compute(&self, partition: usize, _: &TaskContext) -> Result<BoxIter<String>, JobError> {
        self.computed.fetch_add(1, Ordering::SeqCst);
        let lines: Vec<String> = ember_rdd::text::lines(&self.texts[partition])
            .map(str::to_owned)
            .collect();
        Ok(Box::new(lines.into_iter()))
    }
    fn lend_lines(&self, partition: usize, _: &TaskContext) -> Option<Result<LentLines, JobError>> {
        self.lent.fetch_add(1, Ordering::SeqCst);
        Some(Ok(LentLines::Text(vec![self.texts[partition].clone()])))
    }
}

fn line() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(vec!["a", "b", "", "\u{e9}t\u{e9}", "x y", "\r"]),
        0..4,
    )
    .prop_map(|words| words.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn lent_lines_equal_the_owned_lines(
        lines in proptest::collection::vec(line(), 0..40),
        n in 1usize..6,
    ) {
        let ctx = ctx();
        let expected = parts(&lines, n);
        let parallel = ctx.parallelize(lines.clone(), n);
        let given = ctx.from_partitions(expected.clone());
        let chain = ctx.parallelize(lines.clone(), n).map(|l| l);
        let cached = ctx.parallelize(lines.clone(), n).map(|l| l);
        cached.persist(StorageLevel::MemoryOnly);
        let checkpointed = ctx.parallelize(lines.clone(), n).map(|l| l);
        checkpointed.local_checkpoint().unwrap();
        let half = lines.len() / 2;
        let union = ctx.union(&[
            ctx.parallelize(lines[..half].to_vec(), n),
            ctx.parallelize(lines[half..].to_vec(), 1),
        ]);
        for (name, rdd) in [
            ("parallelize", &parallel),
            ("from_partitions", &given),
            ("computed chain", &chain),
            ("cached", &cached),
            ("locally checkpointed", &checkpointed),
            ("union", &union),
        ] {
            if name != "union" {
                prop_assert_eq!(&lent_glom(rdd), &expected, "{}", name);
            }
            prop_assert_eq!(&lent_glom(rdd), &rdd.glom().collect().unwrap(), "{}", name);
            prop_assert_eq!(lent_word_count(rdd), model_word_count(&lines), "{}", name);
        }
    }

    #[test]
    fn text_buffers_are_lent_as_their_lines(
        texts in proptest::collection::vec(
            proptest::collection::vec(proptest::sample::select(vec!["a", "b c", "\n", "\r\n", "\u{1f980}"]), 0..8)
                .prop_map(|pieces| pieces.concat()),
            1..5,
        ),
    ) {
        let ctx = ctx();
        let lent = Arc::new(AtomicUsize::new(0));
        let computed = Arc::new(AtomicUsize::new(0));
        let rdd = Rdd::from_compute(&ctx, "buffers", Buffers {
            texts: texts.clone(),
            lent: Arc::clone(&lent),
            computed: Arc::clone(&computed),
        });
        let owned = rdd.glom().collect().unwrap();
        prop_assert_eq!(computed.swap(0, Ordering::SeqCst), texts.len());
        prop_assert_eq!(lent_glom(&rdd), owned);
        prop_assert_eq!(
            (lent.load(Ordering::SeqCst), computed.load(Ordering::SeqCst)),
            (texts.len(), 0)
        );
    }
}

#[test]
fn a_cached_parent_is_read_from_its_blocks_not_recomputed() {
    let ctx = ctx();
    let computed = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&computed);
    let lines: Vec<String> = (0..10).map(|i| format!("line {i}")).collect();
    let rdd = ctx.parallelize(lines.clone(), 3).map(move |l| {
        c.fetch_add(1, Ordering::SeqCst);
        l
    });
    rdd.cache();
    // The borrowed path computes and caches the blocks …
    assert_eq!(lent_glom(&rdd).concat(), lines);
    assert_eq!(computed.load(Ordering::SeqCst), 10);
    // … which the owned path and the borrowed path then read.
    assert_eq!(rdd.collect().unwrap(), lines);
    assert_eq!(lent_glom(&rdd).concat(), lines);
    assert_eq!(computed.load(Ordering::SeqCst), 10);
    // Unpersisted, each job computes the lines again.
    rdd.unpersist();
    assert_eq!(lent_glom(&rdd).concat(), lines);
    assert_eq!(computed.load(Ordering::SeqCst), 20);
}

#[test]
fn a_locally_checkpointed_parent_is_lent_from_its_checkpoint() {
    let ctx = ctx();
    let computed = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&computed);
    let lines: Vec<String> = (0..7).map(|i| format!("{i}")).collect();
    let rdd = ctx.parallelize(lines.clone(), 2).map(move |l| {
        c.fetch_add(1, Ordering::SeqCst);
        l
    });
    rdd.local_checkpoint().unwrap();
    assert_eq!(computed.load(Ordering::SeqCst), 7);
    assert_eq!(
        lent_glom(&rdd),
        vec![lines[..3].to_vec(), lines[3..].to_vec()]
    );
    assert_eq!(computed.load(Ordering::SeqCst), 7);
}

#[test]
fn a_retried_task_reads_its_lines_again() {
    let ctx = ctx();
    let lines: Vec<String> = (0..6).map(|i| format!("l{i}")).collect();
    let failed = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&failed);
    let counts = ctx
        .parallelize(lines.clone(), 2)
        .map_partitions_str(move |lines| {
            let all: Vec<String> = lines.map(str::to_owned).collect();
            assert!(
                all.first().is_none_or(|l| l != "l3") || f.swap(true, Ordering::SeqCst),
                "the first attempt at the second partition fails"
            );
            all
        })
        .collect()
        .unwrap();
    assert!(failed.load(Ordering::SeqCst));
    assert_eq!(counts, lines);
}
