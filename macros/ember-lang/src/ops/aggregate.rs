//! Whole-batch aggregations: `count`, `reduce`, `count_by_value`. Each is a
//! shuffle with a map-side combine: every partition computes its partial result
//! in the fused loop, and only partial results move.

use super::{Combine, Dependency, Family, Fusion, Operator, Param, ParamKind};

/// `count()`: the number of elements of each batch (`[0]` for an empty batch).
pub const COUNT: Operator = Operator {
    name: "count",
    family: Family::Aggregate,
    params: &[],
    dependency: Dependency::Shuffle {
        combine: Some(Combine::Count),
    },
    fusion: Fusion::None,
    stateful: false,
    summary: "the number of elements of each batch",
};

/// `reduce(f)`: the elements of each batch merged with `f(a, b)`.
pub const REDUCE: Operator = Operator {
    name: "reduce",
    family: Family::Aggregate,
    params: &[Param::required("f", ParamKind::Func { inputs: 2 })],
    dependency: Dependency::Shuffle {
        combine: Some(Combine::All { f: 0 }),
    },
    fusion: Fusion::None,
    stateful: false,
    summary: "merges the elements of each batch with `f(a, b)`",
};

/// `count_by_value()`: `(element, count)` for each distinct element.
pub const COUNT_BY_VALUE: Operator = Operator {
    name: "count_by_value",
    family: Family::Aggregate,
    params: &[],
    dependency: Dependency::Shuffle {
        combine: Some(Combine::CountByValue),
    },
    fusion: Fusion::None,
    stateful: false,
    summary: "counts each distinct element of each batch",
};
