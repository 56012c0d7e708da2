//! Transformations: element-wise (`map`, `flat_map`, `filter`), partition-wise
//! (`map_partitions`, `glom`), `repartition`, `union`, and the RDD-level escape
//! hatches `transform` and `transform_with`.

use super::{Dependency, ElementOp, Family, Fusion, Operator, Param, ParamKind};

const F1: Param = Param::required("f", ParamKind::Func { inputs: 1 });
const OTHER: Param = Param::required("other", ParamKind::Stream);

/// `map(f)`: one output element per input element.
pub const MAP: Operator = Operator {
    name: "map",
    family: Family::Transform,
    params: &[F1],
    dependency: Dependency::Narrow,
    fusion: Fusion::Element(ElementOp::Map),
    stateful: false,
    summary: "applies `f` to every element",
};

/// `flat_map(f)`: any number of output elements per input element.
pub const FLAT_MAP: Operator = Operator {
    name: "flat_map",
    family: Family::Transform,
    params: &[F1],
    dependency: Dependency::Narrow,
    fusion: Fusion::Element(ElementOp::FlatMap),
    stateful: false,
    summary: "applies `f` to every element and flattens the iterables it returns",
};

/// `filter(f)`: keeps the elements for which `f` is true.
pub const FILTER: Operator = Operator {
    name: "filter",
    family: Family::Transform,
    params: &[F1],
    dependency: Dependency::Narrow,
    fusion: Fusion::Element(ElementOp::Filter),
    stateful: false,
    summary: "keeps the elements for which `f` returns true",
};

/// `map_partitions(f)`: `f` maps a whole partition's iterator.
pub const MAP_PARTITIONS: Operator = Operator {
    name: "map_partitions",
    family: Family::Transform,
    params: &[F1],
    dependency: Dependency::Narrow,
    fusion: Fusion::Partition,
    stateful: false,
    summary: "applies `f` to each partition's iterator",
};

/// `glom()`: each partition becomes one `Vec`.
pub const GLOM: Operator = Operator {
    name: "glom",
    family: Family::Transform,
    params: &[],
    dependency: Dependency::Narrow,
    fusion: Fusion::Partition,
    stateful: false,
    summary: "turns each partition into one `Vec` of its elements",
};

/// `repartition(n)`: redistributes the elements over `n` partitions.
pub const REPARTITION: Operator = Operator {
    name: "repartition",
    family: Family::Transform,
    params: &[Param::required("num_partitions", ParamKind::Value)],
    dependency: Dependency::Shuffle { combine: None },
    fusion: Fusion::None,
    stateful: false,
    summary: "redistributes the elements over `num_partitions` partitions",
};

/// `union(other)`: the elements of both streams.
pub const UNION: Operator = Operator {
    name: "union",
    family: Family::Transform,
    params: &[OTHER],
    dependency: Dependency::Narrow,
    fusion: Fusion::None,
    stateful: false,
    summary: "the elements of both streams (the partitions of both, side by side)",
};

/// `transform(f)`: `f(rdd, time)` builds each batch's RDD.
pub const TRANSFORM: Operator = Operator {
    name: "transform",
    family: Family::Transform,
    params: &[Param::required("f", ParamKind::Func { inputs: 2 })],
    dependency: Dependency::Narrow,
    fusion: Fusion::None,
    stateful: false,
    summary: "applies an arbitrary RDD-to-RDD function `f(rdd, time)` to every batch",
};

/// `transform_with(other, f)`: `f(rdd1, rdd2, time)` builds each batch's RDD.
pub const TRANSFORM_WITH: Operator = Operator {
    name: "transform_with",
    family: Family::Transform,
    params: &[OTHER, Param::required("f", ParamKind::Func { inputs: 3 })],
    dependency: Dependency::Narrow,
    fusion: Fusion::None,
    stateful: false,
    summary: "applies `f(rdd1, rdd2, time)` to the batches of both streams",
};
