//! Window operations. Each takes a window and a slide duration (which must be
//! multiples of the parent stream's slide). `window` itself is narrow (a window's
//! batch is the union of the parent's batches); the reducing ones shuffle and
//! combine each batch on the map side first.

use super::{Combine, Dependency, Family, Fusion, Operator, Param, ParamKind};

const WINDOW_ARG: Param = Param::required("window", ParamKind::Window);
const SLIDE_ARG: Param = Param::required("slide", ParamKind::Slide);
const F2: Param = Param::required("f", ParamKind::Func { inputs: 2 });

/// `window(w, s)`: every `s`, the elements of the last `w`.
pub const WINDOW: Operator = Operator {
    name: "window",
    family: Family::Window,
    params: &[WINDOW_ARG, SLIDE_ARG],
    dependency: Dependency::Narrow,
    fusion: Fusion::None,
    stateful: false,
    summary: "every `slide`, the elements of the last `window`",
};

/// `count_by_window(w, s)`: the number of elements in each window.
pub const COUNT_BY_WINDOW: Operator = Operator {
    name: "count_by_window",
    family: Family::Window,
    params: &[WINDOW_ARG, SLIDE_ARG],
    dependency: Dependency::Shuffle {
        combine: Some(Combine::Count),
    },
    fusion: Fusion::None,
    stateful: false,
    summary: "the number of elements in each window",
};

/// `reduce_by_window(f, w, s)`: the elements of each window merged with `f`.
pub const REDUCE_BY_WINDOW: Operator = Operator {
    name: "reduce_by_window",
    family: Family::Window,
    params: &[F2, WINDOW_ARG, SLIDE_ARG],
    dependency: Dependency::Shuffle {
        combine: Some(Combine::All { f: 0 }),
    },
    fusion: Fusion::None,
    stateful: false,
    summary: "merges the elements of each window with `f(a, b)`",
};

/// `reduce_by_window_inv(f, inv_f, w, s)`: incremental `reduce_by_window`,
/// adding the new batch with `f` and removing the batch that left the window
/// with `inv_f` (the inverse's zero for an empty window once data was seen).
pub const REDUCE_BY_WINDOW_INV: Operator = Operator {
    name: "reduce_by_window_inv",
    family: Family::Window,
    params: &[
        F2,
        Param::required("inv_f", ParamKind::Func { inputs: 2 }),
        WINDOW_ARG,
        SLIDE_ARG,
    ],
    dependency: Dependency::Shuffle {
        combine: Some(Combine::All { f: 0 }),
    },
    fusion: Fusion::None,
    stateful: true,
    summary: "incremental windowed reduce with an inverse function",
};

/// `reduce_by_key_and_window(f, w, s)`: per key, the values of each window
/// merged with `f`.
pub const REDUCE_BY_KEY_AND_WINDOW: Operator = Operator {
    name: "reduce_by_key_and_window",
    family: Family::Window,
    params: &[F2, WINDOW_ARG, SLIDE_ARG],
    dependency: Dependency::Shuffle {
        combine: Some(Combine::ByKey { f: 0 }),
    },
    fusion: Fusion::None,
    stateful: false,
    summary: "merges the values of each key over each window with `f(a, b)`",
};

/// `reduce_by_key_and_window_inv(f, inv_f, w, s, filter)`: incremental
/// `reduce_by_key_and_window`, adding the new batch with `f` and removing the
/// batch that left the window with `inv_f`.
pub const REDUCE_BY_KEY_AND_WINDOW_INV: Operator = Operator {
    name: "reduce_by_key_and_window_inv",
    family: Family::Window,
    params: &[
        F2,
        Param::required("inv_f", ParamKind::Func { inputs: 2 }),
        WINDOW_ARG,
        SLIDE_ARG,
        Param::required("filter", ParamKind::Value),
    ],
    dependency: Dependency::Shuffle {
        combine: Some(Combine::ByKey { f: 0 }),
    },
    fusion: Fusion::None,
    stateful: true,
    summary: "incremental windowed reduce by key with an inverse function",
};

/// `group_by_key_and_window(w, s)`: per key, all values of each window.
pub const GROUP_BY_KEY_AND_WINDOW: Operator = Operator {
    name: "group_by_key_and_window",
    family: Family::Window,
    params: &[WINDOW_ARG, SLIDE_ARG],
    dependency: Dependency::Shuffle { combine: None },
    fusion: Fusion::None,
    stateful: false,
    summary: "collects the values of each key over each window",
};

/// `count_by_value_and_window(w, s)`: `(element, count)` over each window.
pub const COUNT_BY_VALUE_AND_WINDOW: Operator = Operator {
    name: "count_by_value_and_window",
    family: Family::Window,
    params: &[WINDOW_ARG, SLIDE_ARG],
    dependency: Dependency::Shuffle {
        combine: Some(Combine::CountByValue),
    },
    fusion: Fusion::None,
    stateful: true,
    summary: "counts each distinct element over each window",
};
