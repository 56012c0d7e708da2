//! Operations on key-value streams: `reduce_by_key`, `group_by_key`, the joins
//! and `cogroup`. All shuffle by key; only `reduce_by_key` can combine on the map
//! side.

use super::{Combine, Dependency, Family, Fusion, Operator, Param, ParamKind};

const OTHER: Param = Param::required("other", ParamKind::Stream);
const SHUFFLE: Dependency = Dependency::Shuffle { combine: None };

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
