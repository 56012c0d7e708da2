//! The operator table: the single source of truth about every operator of the
//! `stream!` language.
//!
//! Each operator is one [`Operator`] constant, kept in the file of its family
//! (the same families as `ember-dstream`: [`transform`], [`aggregate`], [`pair`],
//! [`window`], [`state`]), and listed once in [`OPERATORS`]. The parser reads the
//! table to resolve a method name and to know which arguments are streams,
//! functions or durations; the planner reads how each operator fuses and where it
//! shuffles; the diagnostics read names, signatures and arities. Adding an
//! operator means adding one constant and one line in [`OPERATORS`].

pub mod aggregate;
pub mod pair;
pub mod state;
pub mod transform;
pub mod window;

use std::fmt;

/// Everything the compiler knows about one operator of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operator {
    /// The method name, exactly as in the DStream API (`reduce_by_key`).
    pub name: &'static str,
    /// The operator family, which is also the `ember-dstream` module it lives in.
    pub family: Family,
    /// The arguments, in call order. Optional ones (if any) come last.
    pub params: &'static [Param],
    /// How the operator's output partitions depend on its input partitions.
    pub dependency: Dependency,
    /// Whether (and how) the operator fuses into a stage's per-partition loop.
    pub fusion: Fusion,
    /// Whether the operator keeps state across batches.
    pub stateful: bool,
    /// One line describing what the operator does.
    pub summary: &'static str,
}

/// The operator families, matching the modules of `ember-dstream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Element-wise and partition-wise transformations, union, `transform`.
    Transform,
    /// Whole-batch aggregations (`count`, `reduce`, `count_by_value`).
    Aggregate,
    /// Operations on key-value streams (`reduce_by_key`, joins, `cogroup`).
    Pair,
    /// Window operations (`window`, `reduce_by_key_and_window`, …).
    Window,
    /// Stateful operations (`update_state_by_key`, `map_with_state`).
    State,
}

/// One argument of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Param {
    /// The argument's name as shown in signatures and messages (`f`, `window`).
    pub name: &'static str,
    /// What the argument is.
    pub kind: ParamKind,
    /// Whether the argument may be left out (only trailing arguments may be).
    pub optional: bool,
}

impl Param {
    /// A required argument.
    pub const fn required(name: &'static str, kind: ParamKind) -> Self {
        Param {
            name,
            kind,
            optional: false,
        }
    }
}

/// What an operator argument is, which decides how the parser reads it and how
/// the generator uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// Another stream: the second input of a two-input operator. Written as a
    /// parameter, a binding, a pipeline call or a chain (`a.join(b)`), with or
    /// without a leading `&`.
    Stream,
    /// A function taking `inputs` arguments: a closure literal (inlined into the
    /// fused loop, its parameter patterns bound to the arguments) or any other
    /// expression such as a function path (called).
    Func {
        /// How many parameters the function takes.
        inputs: usize,
    },
    /// The window duration of a window operator.
    Window,
    /// The slide duration of a window operator.
    Slide,
    /// Any other value (a partition count, a `StateSpec`, an `Option`), passed
    /// through unchanged.
    Value,
}

/// How an operator's output partitions depend on its input partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dependency {
    /// Each output partition is computed from one partition of each input (or,
    /// for windows and unions, is one of the input partitions): no data moves
    /// between partitions.
    Narrow,
    /// Output partitions gather records from every input partition (by key, or
    /// all into one partition), so the operator ends a stage.
    Shuffle {
        /// The combine that may run on the map side, inside the stage that feeds
        /// the shuffle, before any record moves; `None` when the operator needs
        /// every value (`group_by_key`, joins, state).
        combine: Option<Combine>,
    },
}

impl Dependency {
    /// Whether this dependency is a shuffle.
    pub const fn is_shuffle(self) -> bool {
        matches!(self, Dependency::Shuffle { .. })
    }

    /// The map-side combine, when the operator is a shuffle that allows one.
    pub const fn combine(self) -> Option<Combine> {
        match self {
            Dependency::Shuffle { combine } => combine,
            Dependency::Narrow => None,
        }
    }
}

/// A map-side combine: the part of a shuffle that runs inside the feeding stage's
/// per-partition loop, so that each partition ships one partial result per key
/// (or one in all) instead of every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Combine {
    /// Merge the values of each key with the function at argument `f`
    /// (`reduce_by_key`, `reduce_by_key_and_window`).
    ByKey {
        /// The argument position of the reduce function.
        f: usize,
    },
    /// Merge all elements with the function at argument `f` (`reduce`).
    All {
        /// The argument position of the reduce function.
        f: usize,
    },
    /// Count the elements (`count`, `count_by_window`).
    Count,
    /// Count each distinct element (`count_by_value`).
    CountByValue,
    /// Fold the values of each key into a combiner: a key's first value
    /// through the function at `create`, later ones through the function at
    /// `merge_value`; the reduce side merges combiners with the function at
    /// `merge_combiners`, into the number of partitions at `partitions` (an
    /// `Option<usize>`) (`combine_by_key`).
    Combiners {
        /// The argument position of the function making a combiner.
        create: usize,
        /// The argument position of the function adding a value to one.
        merge_value: usize,
        /// The argument position of the function merging two.
        merge_combiners: usize,
        /// The argument position of the partition count.
        partitions: usize,
    },
}

/// Whether and how an operator fuses into a stage's per-partition loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fusion {
    /// Works on one element at a time: inlined into the per-partition loop.
    Element(ElementOp),
    /// Narrow but works on a whole partition at once (`map_partitions`, `glom`):
    /// it starts a stage of its own, and what follows it fuses after it.
    Partition,
    /// Does not fuse: it starts a stage of its own (the reduce side of a shuffle,
    /// a window, a union, a state operation, `transform`).
    None,
}

impl Fusion {
    /// Whether the operator is inlined into the per-partition loop.
    pub const fn is_element(self) -> bool {
        matches!(self, Fusion::Element(_))
    }
}

/// What an element-wise operator does to the element in the fused loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElementOp {
    /// One element out per element in: `let out = f(x);`.
    Map,
    /// Any number out per element in: `for out in f(x) { … }`.
    FlatMap,
    /// The element or nothing: `if f(&x) { … }`.
    Filter,
    /// One pair out per pair in, the key kept: `let (k, v) = x; let out = (k, f(v));`.
    MapValues,
    /// Any number of pairs out per pair in, each with a clone of the key:
    /// `let (k, v) = x; for u in f(v) { let out = (k.clone(), u); … }`.
    FlatMapValues,
}

impl ElementOp {
    /// Whether the operator keeps each element's key (and so the partition a
    /// key-partitioned batch put it in): the `_values` operators. A stage
    /// whose operators all keep keys (and filter) keeps its input's
    /// partitioner, as the library's `map_values` does.
    pub const fn keeps_keys(self) -> bool {
        matches!(self, ElementOp::MapValues | ElementOp::FlatMapValues)
    }
}

/// How many arguments an operator takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arity {
    /// The number of required arguments.
    pub min: usize,
    /// The number of arguments including the optional ones.
    pub max: usize,
}

impl Arity {
    /// Whether `n` arguments are accepted.
    pub const fn accepts(self, n: usize) -> bool {
        n >= self.min && n <= self.max
    }
}

impl fmt::Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.max == 1 { "" } else { "s" };
        if self.min == self.max {
            write!(f, "{} argument{plural}", self.min)
        } else {
            write!(f, "{} to {} argument{plural}", self.min, self.max)
        }
    }
}

/// The positions of a window operator's window and slide arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowArgs {
    /// The argument position of the window duration.
    pub window: usize,
    /// The argument position of the slide duration.
    pub slide: usize,
}

impl Operator {
    /// How many arguments the operator takes.
    pub fn arity(&self) -> Arity {
        Arity {
            min: self.params.iter().filter(|p| !p.optional).count(),
            max: self.params.len(),
        }
    }

    /// The number of stream inputs: 1, or 2 for `union`, joins, `cogroup` and
    /// `transform_with` (the receiver plus one stream argument).
    pub fn inputs(&self) -> usize {
        1 + self.stream_params().count()
    }

    /// The argument positions that are streams.
    pub fn stream_params(&self) -> impl Iterator<Item = usize> + 'static {
        self.positions(|k| k == ParamKind::Stream)
    }

    /// The argument positions that are functions (closures or paths).
    pub fn func_params(&self) -> impl Iterator<Item = usize> + 'static {
        self.positions(|k| matches!(k, ParamKind::Func { .. }))
    }

    /// The argument positions of the window and slide durations, for window
    /// operators.
    pub fn window_args(&self) -> Option<WindowArgs> {
        let window = self.positions(|k| k == ParamKind::Window).next()?;
        let slide = self.positions(|k| k == ParamKind::Slide).next()?;
        Some(WindowArgs { window, slide })
    }

    /// The operator's signature as the user writes it: `reduce_by_key(f)`.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| {
                if p.optional {
                    format!("[{}]", p.name)
                } else {
                    p.name.to_owned()
                }
            })
            .collect();
        format!("{}({})", self.name, params.join(", "))
    }

    fn positions(&self, pred: fn(ParamKind) -> bool) -> impl Iterator<Item = usize> + 'static {
        self.params
            .iter()
            .enumerate()
            .filter(move |(_, p)| pred(p.kind))
            .map(|(i, _)| i)
    }
}

/// Every operator of the language, in the order of the DStream API docs.
pub static OPERATORS: &[&Operator] = &[
    &transform::MAP,
    &transform::FLAT_MAP,
    &transform::FILTER,
    &transform::MAP_PARTITIONS,
    &transform::GLOM,
    &transform::REPARTITION,
    &transform::UNION,
    &aggregate::COUNT,
    &aggregate::REDUCE,
    &aggregate::COUNT_BY_VALUE,
    &pair::MAP_VALUES,
    &pair::FLAT_MAP_VALUES,
    &pair::COMBINE_BY_KEY,
    &pair::REDUCE_BY_KEY,
    &pair::GROUP_BY_KEY,
    &pair::JOIN,
    &pair::LEFT_OUTER_JOIN,
    &pair::RIGHT_OUTER_JOIN,
    &pair::FULL_OUTER_JOIN,
    &pair::COGROUP,
    &transform::TRANSFORM,
    &transform::TRANSFORM_WITH,
    &window::WINDOW,
    &window::COUNT_BY_WINDOW,
    &window::REDUCE_BY_WINDOW,
    &window::REDUCE_BY_WINDOW_INV,
    &window::REDUCE_BY_KEY_AND_WINDOW,
    &window::REDUCE_BY_KEY_AND_WINDOW_INV,
    &window::GROUP_BY_KEY_AND_WINDOW,
    &window::COUNT_BY_VALUE_AND_WINDOW,
    &state::UPDATE_STATE_BY_KEY,
    &state::UPDATE_STATE_BY_KEY_WITH,
    &state::MAP_WITH_STATE,
];

/// The DStream output operations. They are not operators of the language (a
/// pipeline returns a stream), so using one in a chain is an error with its own
/// explanation.
pub static OUTPUT_OPERATIONS: &[&str] = &["print", "print_n", "save_as_text_files", "foreach_rdd"];

/// Looks an operator up by its method name.
pub fn lookup(name: &str) -> Option<&'static Operator> {
    OPERATORS.iter().copied().find(|op| op.name == name)
}

/// The names of all operators, in table order.
pub fn names() -> impl Iterator<Item = &'static str> {
    OPERATORS.iter().map(|op| op.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_snake_case() {
        let mut seen = HashSet::new();
        for op in OPERATORS {
            assert!(seen.insert(op.name), "duplicate operator {}", op.name);
            assert!(op.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(!op.summary.is_empty());
        }
        assert_eq!(OPERATORS.len(), 33);
    }

    #[test]
    fn table_is_consistent() {
        for op in OPERATORS {
            // Optional arguments only at the end.
            let first_optional = op.params.iter().position(|p| p.optional);
            if let Some(i) = first_optional {
                assert!(op.params[i..].iter().all(|p| p.optional), "{}", op.name);
            }
            // A combine's function arguments exist and take as many inputs
            // as the combine gives them.
            let func = |f: usize, inputs: usize| {
                assert_eq!(op.params[f].kind, ParamKind::Func { inputs }, "{}", op.name);
            };
            match op.dependency.combine() {
                Some(Combine::ByKey { f } | Combine::All { f }) => func(f, 2),
                Some(Combine::Combiners {
                    create,
                    merge_value,
                    merge_combiners,
                    partitions,
                }) => {
                    func(create, 1);
                    func(merge_value, 2);
                    func(merge_combiners, 2);
                    assert_eq!(op.params[partitions].kind, ParamKind::Value, "{}", op.name);
                }
                Some(Combine::Count | Combine::CountByValue) | None => {}
            }
            // Element-wise operators are narrow single-input operators.
            if op.fusion.is_element() {
                assert_eq!(op.dependency, Dependency::Narrow);
                assert_eq!(op.inputs(), 1);
            }
            // Window and slide come together.
            let w = op
                .params
                .iter()
                .filter(|p| p.kind == ParamKind::Window)
                .count();
            let s = op
                .params
                .iter()
                .filter(|p| p.kind == ParamKind::Slide)
                .count();
            assert_eq!(w, s, "{}", op.name);
            assert_eq!(op.window_args().is_some(), w == 1, "{}", op.name);
            assert_eq!(op.window_args().is_some(), op.family == Family::Window);
        }
    }

    #[test]
    fn reads_the_table() {
        let rbk = lookup("reduce_by_key").unwrap();
        assert_eq!(rbk.arity(), Arity { min: 1, max: 1 });
        assert_eq!(rbk.dependency.combine(), Some(Combine::ByKey { f: 0 }));
        assert_eq!(lookup("join").unwrap().inputs(), 2);
        assert_eq!(lookup("map").unwrap().inputs(), 1);
        let inv = lookup("reduce_by_key_and_window_inv").unwrap();
        assert_eq!(
            inv.window_args(),
            Some(WindowArgs {
                window: 2,
                slide: 3
            })
        );
        assert_eq!(
            inv.signature(),
            "reduce_by_key_and_window_inv(f, inv_f, window, slide, filter)"
        );
        assert_eq!(inv.func_params().collect::<Vec<_>>(), vec![0, 1]);
        assert!(lookup("print").is_none());
        let mv = lookup("map_values").unwrap();
        assert_eq!(mv.fusion, Fusion::Element(ElementOp::MapValues));
        assert_eq!(mv.dependency, Dependency::Narrow);
        assert!(ElementOp::FlatMapValues.keeps_keys());
        assert!(!ElementOp::Map.keeps_keys() && !ElementOp::Filter.keeps_keys());
        let cbk = lookup("combine_by_key").unwrap();
        assert_eq!(
            cbk.signature(),
            "combine_by_key(create, merge_value, merge_combiners, num_partitions)"
        );
        assert_eq!(cbk.func_params().collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(
            cbk.dependency.combine(),
            Some(Combine::Combiners {
                create: 0,
                merge_value: 1,
                merge_combiners: 2,
                partitions: 3
            })
        );
        let rbwi = lookup("reduce_by_window_inv").unwrap();
        assert_eq!(
            rbwi.window_args(),
            Some(WindowArgs {
                window: 2,
                slide: 3
            })
        );
        assert_eq!(rbwi.dependency.combine(), Some(Combine::All { f: 0 }));
        assert!(rbwi.stateful);
        let gbkw = lookup("group_by_key_and_window").unwrap();
        assert_eq!(gbkw.arity(), Arity { min: 2, max: 2 });
        assert_eq!(gbkw.dependency.combine(), None);
        let with = lookup("update_state_by_key_with").unwrap();
        assert_eq!(with.signature(), "update_state_by_key_with(f, options)");
        assert_eq!(with.family, Family::State);
        assert!(with.stateful && with.dependency.is_shuffle());
        assert_eq!(Arity { min: 1, max: 1 }.to_string(), "1 argument");
        assert_eq!(Arity { min: 0, max: 0 }.to_string(), "0 arguments");
        assert_eq!(Arity { min: 1, max: 2 }.to_string(), "1 to 2 arguments");
    }
}
