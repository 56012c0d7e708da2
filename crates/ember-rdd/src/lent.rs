//! Lines lent in place: [`Rdd::map_partitions_str`] hands a function each
//! partition's lines of an `Rdd<String>` as `&str`, borrowed where they are
//! stored (a source's shared vectors, a cached block, a text buffer read
//! for the partition) instead of one owned `String` per line. A source
//! offers its lines so through [`RddCompute::lend_lines`], which returns a
//! [`LentLines`].

use std::any::Any;
use std::ops::Range;
use std::sync::Arc;

use crate::{BoxIter, Data, Dependency, JobError, Rdd, RddCompute, StorageLevel, TaskContext};

/// Strings kept in memory and shared: a vector of them, a receiver's
/// block, anything that can show them as a slice.
pub type SharedStrings = Arc<dyn AsRef<[String]> + Send + Sync>;

/// One partition's lines, held where they are stored, to be lent as `&str`
/// for as long as a function reads them.
#[derive(Clone)]
pub enum LentLines {
    /// Strings stored in memory (an in-memory collection, a cached
    /// partition, a receiver's blocks): the strings of each slice, in order.
    Stored(Vec<(SharedStrings, Range<usize>)>),
    /// Text buffers (a file's byte range read into one `String`): the lines
    /// of each buffer in order, split as [`text::lines`](crate::text::lines)
    /// splits them (`\n` or `\r\n` endings, no terminator kept).
    Text(Vec<String>),
}

impl std::fmt::Debug for LentLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.lines()).finish()
    }
}

impl LentLines {
    /// All the strings of each of `blocks`, in order.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let lent = ember_rdd::LentLines::from_blocks([Arc::new(vec!["a".to_owned()])]);
    /// assert_eq!(lent.lines().collect::<Vec<_>>(), ["a"]);
    /// ```
    pub fn from_blocks<B: AsRef<[String]> + Send + Sync + 'static>(
        blocks: impl IntoIterator<Item = Arc<B>>,
    ) -> LentLines {
        LentLines::Stored(
            blocks
                .into_iter()
                .map(|block| {
                    let len = block.as_ref().as_ref().len();
                    (block as SharedStrings, 0..len)
                })
                .collect(),
        )
    }

    /// The strings of `data[range]` when `data` is a vector of `String`s
    /// (the element type of a generic source, checked at run time), else
    /// `None`: how a source generic over its element type lends its lines.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use ember_rdd::LentLines;
    /// let strings = Arc::new(vec!["a".to_owned(), "b".to_owned()]);
    /// assert!(LentLines::from_shared(&strings, 0..2).is_some());
    /// assert!(LentLines::from_shared(&Arc::new(vec![1u8]), 0..1).is_none());
    /// ```
    pub fn from_shared<T: Send + Sync + 'static>(
        data: &Arc<Vec<T>>,
        range: Range<usize>,
    ) -> Option<LentLines> {
        Self::from_slices([(data, range)])
    }

    /// [`from_shared`](Self::from_shared) over several slices, in order.
    pub fn from_slices<'a, T: Send + Sync + 'static>(
        slices: impl IntoIterator<Item = (&'a Arc<Vec<T>>, Range<usize>)>,
    ) -> Option<LentLines> {
        slices
            .into_iter()
            .map(|(data, range)| {
                let data: Arc<dyn Any + Send + Sync> = Arc::clone(data) as _;
                let strings = data.downcast::<Vec<String>>().ok()?;
                Some((strings as SharedStrings, range))
            })
            .collect::<Option<Vec<_>>>()
            .map(LentLines::Stored)
    }

    /// The lines, borrowed.
    ///
    /// ```
    /// use ember_rdd::LentLines;
    /// let lent = LentLines::Text(vec!["to be\r\nor not\n".to_owned(), "x".to_owned()]);
    /// assert_eq!(lent.lines().collect::<Vec<_>>(), ["to be", "or not", "x"]);
    /// ```
    pub fn lines(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match self {
            LentLines::Stored(slices) => Box::new(slices.iter().flat_map(|(data, range)| {
                let data: &[String] = (**data).as_ref();
                let range = range.start.min(data.len())..range.end.min(data.len());
                data[range].iter().map(String::as_str)
            })),
            LentLines::Text(buffers) => {
                Box::new(buffers.iter().flat_map(|text| crate::text::lines(text)))
            }
        }
    }
}

type StrPartitionFn<U> = dyn Fn(&mut dyn Iterator<Item = &str>) -> BoxIter<U> + Send + Sync;

/// The `MapPartitionsRDD` of [`Rdd::map_partitions_str`].
struct MapPartitionsStrCompute<U> {
    parent: Rdd<String>,
    f: Arc<StrPartitionFn<U>>,
}

impl<U: Data> RddCompute<U> for MapPartitionsStrCompute<U> {
    fn kind(&self) -> &'static str {
        "MapPartitionsRDD"
    }
    fn num_partitions(&self) -> usize {
        self.parent.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::OneToOne(self.parent.info())]
    }
    fn compute(&self, partition: usize, task: &TaskContext) -> Result<BoxIter<U>, JobError> {
        let lent = self.parent.lent_lines(partition, task)?;
        Ok((self.f)(&mut lent.lines()))
    }
}

impl Rdd<String> {
    /// One partition's lines, lent where they are stored, exactly where
    /// [`iterator`](Rdd::iterator) would read them: the cached block when the
    /// RDD is persisted (computed and cached first if missing), else its
    /// compute's [`lend_lines`](RddCompute::lend_lines) (a source of
    /// strings, a file stream's text buffers; a checkpointed RDD's compute
    /// is its checkpoint's), else the compute's owned lines collected into
    /// one vector (lending lines one at a time from an iterator that owns
    /// them is not expressible as an `Iterator<Item = &str>`).
    pub fn lent_lines(&self, partition: usize, task: &TaskContext) -> Result<LentLines, JobError> {
        if self.storage_level() != StorageLevel::None {
            return Ok(LentLines::from_blocks([
                self.cached_partition(partition, task)?
            ]));
        }
        let compute = self.node.current_compute();
        if let Some(lent) = compute.lend_lines(partition, task) {
            return lent;
        }
        let owned: Vec<String> = compute.compute(partition, task)?.collect();
        Ok(LentLines::from_blocks([Arc::new(owned)]))
    }

    /// Applies `f` to each partition's lines, borrowed where they are
    /// stored rather than cloned: a source's strings (`parallelize`, a
    /// queue stream's batches, a receiver's blocks), a cached block, or a
    /// file stream's text buffer (one `String` per byte range read, its
    /// lines sliced out of it). Any other parent's lines (a computed chain)
    /// are collected into one vector per partition first and lent from
    /// there. Persistence, checkpoints and retries behave as with
    /// [`map_partitions`](Rdd::map_partitions): see
    /// [`lent_lines`](Rdd::lent_lines). `f` must be done with the lines
    /// when it returns: its result owns its items.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let lines = ctx.parallelize(vec!["a b".to_owned(), "c".to_owned(), "d e f".to_owned()], 2);
    /// let words = lines.map_partitions_str(|lines| {
    ///     std::iter::once(lines.map(|l| l.split(' ').count()).sum::<usize>())
    /// });
    /// assert_eq!(words.collect()?, vec![2, 4]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn map_partitions_str<U: Data, I>(
        &self,
        f: impl Fn(&mut dyn Iterator<Item = &str>) -> I + Send + Sync + 'static,
    ) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        let f: Arc<StrPartitionFn<U>> = Arc::new(move |lines: &mut dyn Iterator<Item = &str>| {
            Box::new(f(lines).into_iter()) as BoxIter<U>
        });
        self.derive(
            "map_partitions_str",
            MapPartitionsStrCompute {
                parent: self.clone(),
                f,
            },
        )
    }
}
