//! State operations: `update_state_by_key` and `map_with_state` (with
//! [`StateSpec`](crate::StateSpec) and `state_snapshots`). State lives in an
//! RDD per batch whose lineage is cut after every batch.
