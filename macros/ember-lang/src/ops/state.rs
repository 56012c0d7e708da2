//! Stateful operations: `update_state_by_key` (also
//! `update_state_by_key_with`, with options) and `map_with_state`. All
//! partition by key and keep per-key state across batches; none can combine
//! on the map side (the state function sees every new value).

use super::{Dependency, Family, Fusion, Operator, Param, ParamKind};

/// `update_state_by_key(f)`: `f(&[V], Option<S>) -> Option<S>` for every key
/// in the state on every batch.
pub const UPDATE_STATE_BY_KEY: Operator = Operator {
    name: "update_state_by_key",
    family: Family::State,
    params: &[Param::required("f", ParamKind::Func { inputs: 2 })],
    dependency: Dependency::Shuffle { combine: None },
    fusion: Fusion::None,
    stateful: true,
    summary: "updates each key's state with `f(new_values, old_state)`",
};

/// `update_state_by_key_with(f, options)`: `update_state_by_key` with an
/// `UpdateStateOptions` (the state's partition count, an initial state).
pub const UPDATE_STATE_BY_KEY_WITH: Operator = Operator {
    name: "update_state_by_key_with",
    family: Family::State,
    params: &[
        Param::required("f", ParamKind::Func { inputs: 2 }),
        Param::required("options", ParamKind::Value),
    ],
    dependency: Dependency::Shuffle { combine: None },
    fusion: Fusion::None,
    stateful: true,
    summary: "updates each key's state with `f(new_values, old_state)`, given `UpdateStateOptions`",
};

/// `map_with_state(spec)`: calls the spec's function once per record with the
/// key's `State`.
pub const MAP_WITH_STATE: Operator = Operator {
    name: "map_with_state",
    family: Family::State,
    params: &[Param::required("spec", ParamKind::Value)],
    dependency: Dependency::Shuffle { combine: None },
    fusion: Fusion::None,
    stateful: true,
    summary: "maps each record with access to its key's state (`StateSpec`)",
};
