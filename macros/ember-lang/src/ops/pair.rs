//! Operations on key-value streams: `map_values` and `flat_map_values`
//! (narrow, element-wise, keeping the keys), and `combine_by_key`,
//! `reduce_by_key`, `group_by_key`, the joins and `cogroup`, which shuffle by
//! key. The map-side combines of `reduce_by_key` and `combine_by_key` are
//! fused into the feeding stage's loop.

use super::{Combine, Dependency, ElementOp, Family, Fusion, Operator, Param, ParamKind};

const OTHER: Param = Param::required("other", ParamKind::Stream);
const SHUFFLE: Dependency = Dependency::Shuffle { combine: None };

/// `map_values(f)`: `(k, f(v))` for every pair `(k, v)`.
pub const MAP_VALUES: Operator = Operator {
    name: "map_values",
    family: Family::Pair,
    params: &[Param::required("f", ParamKind::Func { inputs: 1 })],
    dependency: Dependency::Narrow,
    fusion: Fusion::Element(ElementOp::MapValues),
    stateful: false,
    summary: "applies `f` to the value of every pair, keeping the key",
};

/// `flat_map_values(f)`: `(k, u)` for every `u` of `f(v)`, for every pair
/// `(k, v)`.
pub const FLAT_MAP_VALUES: Operator = Operator {
    name: "flat_map_values",
    family: Family::Pair,
    params: &[Param::required("f", ParamKind::Func { inputs: 1 })],
    dependency: Dependency::Narrow,
    fusion: Fusion::Element(ElementOp::FlatMapValues),
    stateful: false,
    summary: "applies `f` to the value of every pair and pairs the key with each result",
};

/// `combine_by_key(create, merge_value, merge_combiners, num_partitions)`:
/// per key, a combiner built from the first value with `create`, values
/// added with `merge_value`, combiners of different partitions merged with
/// `merge_combiners`, into `num_partitions` (an `Option<usize>`) partitions.
/// Its map side (`create` and `merge_value`) is fused into the feeding
/// stage's loop.
pub const COMBINE_BY_KEY: Operator = Operator {
    name: "combine_by_key",
    family: Family::Pair,
    params: &[
        Param::required("create", ParamKind::Func { inputs: 1 }),
        Param::required("merge_value", ParamKind::Func { inputs: 2 }),
        Param::required("merge_combiners", ParamKind::Func { inputs: 2 }),
        Param::required("num_partitions", ParamKind::Value),
    ],
    dependency: Dependency::Shuffle {
        combine: Some(Combine::Combiners {
            create: 0,
            merge_value: 1,
            merge_combiners: 2,
            partitions: 3,
        }),
    },
    fusion: Fusion::None,
    stateful: false,
    summary: "combines the values of each key with `create`, `merge_value` and `merge_combiners`",
};

/// `reduce_by_key(f)`: the values of each key merged with `f(a, b)`.
pub const REDUCE_BY_KEY: Operator = Operator {
    name: "reduce_by_key",
    family: Family::Pair,
    params: &[Param::required("f", ParamKind::Func { inputs: 2 })],
    dependency: Dependency::Shuffle {
        combine: Some(Combine::ByKey { f: 0 }),
    },
    fusion: Fusion::None,
    stateful: false,
    summary: "merges the values of each key with `f(a, b)`",
};

/// `group_by_key()`: `(key, Vec<value>)` for each key.
pub const GROUP_BY_KEY: Operator = Operator {
    name: "group_by_key",
    family: Family::Pair,
    params: &[],
    dependency: SHUFFLE,
    fusion: Fusion::None,
    stateful: false,
    summary: "collects the values of each key",
};

/// `join(other)`: `(k, (v, w))` for the keys present in both streams.
pub const JOIN: Operator = Operator {
    name: "join",
    family: Family::Pair,
    params: &[OTHER],
    dependency: SHUFFLE,
    fusion: Fusion::None,
    stateful: false,
    summary: "inner join by key",
};

/// `left_outer_join(other)`: `(k, (v, Option<w>))`.
pub const LEFT_OUTER_JOIN: Operator = Operator {
    name: "left_outer_join",
    family: Family::Pair,
    params: &[OTHER],
    dependency: SHUFFLE,
    fusion: Fusion::None,
    stateful: false,
    summary: "left outer join by key",
};

/// `right_outer_join(other)`: `(k, (Option<v>, w))`.
pub const RIGHT_OUTER_JOIN: Operator = Operator {
    name: "right_outer_join",
    family: Family::Pair,
    params: &[OTHER],
    dependency: SHUFFLE,
    fusion: Fusion::None,
    stateful: false,
    summary: "right outer join by key",
};

/// `full_outer_join(other)`: `(k, (Option<v>, Option<w>))`.
pub const FULL_OUTER_JOIN: Operator = Operator {
    name: "full_outer_join",
    family: Family::Pair,
    params: &[OTHER],
    dependency: SHUFFLE,
    fusion: Fusion::None,
    stateful: false,
    summary: "full outer join by key",
};

/// `cogroup(other)`: `(k, (Vec<v>, Vec<w>))` for every key of either stream.
pub const COGROUP: Operator = Operator {
    name: "cogroup",
    family: Family::Pair,
    params: &[OTHER],
    dependency: SHUFFLE,
    fusion: Fusion::None,
    stateful: false,
    summary: "groups the values of each key from both streams",
};
