//! The fusion planner: splits each pipeline's graph into stages.
//!
//! A *stage* is what one per-partition loop computes. It starts at a *head*
//! (a parameter, a pipeline call, an operator that cannot fuse — the reduce side
//! of a shuffle, a window, a union, a partition-wise or RDD-level operator — or
//! the materialized output of a shared stage), runs a maximal sequence of
//! element-wise operators (`map`, `flat_map`, `filter`) fused into the loop, and
//! ends, when the next operator is a shuffle that allows it, with that shuffle's
//! map-side combine in the same loop. A stage also ends where its stream is read
//! more than once (a stream binding used twice), so that it is computed once.
//!
//! The plan is plain data: stages in dependency order (a stage's inputs come
//! before it), each naming its nodes by [`NodeId`] together with their
//! operator, so tests assert on it and a code generator walks it.

use std::fmt;

use crate::ir::{Consumer, NodeId, NodeKind, Pipeline, Program};
use crate::ops::{Fusion, Operator};

/// The plan of every pipeline of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One plan per pipeline that has a result, in declaration order.
    pub pipelines: Vec<PipelinePlan>,
}

/// The stages of one pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelinePlan {
    /// The pipeline's index in [`Program::pipelines`].
    pub pipeline: usize,
    /// The pipeline's name.
    pub name: String,
    /// The stages, in dependency order: a stage's inputs precede it.
    pub stages: Vec<Stage>,
    /// The stage whose output the pipeline returns.
    pub output: StageId,
}

/// The index of a stage in [`PipelinePlan::stages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StageId(pub usize);

/// An operator node together with its operator, as the plan refers to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedOp {
    /// The node in the pipeline graph.
    pub node: NodeId,
    /// Its operator.
    pub op: &'static Operator,
}

/// One stage: one per-partition loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Where the loop's elements come from.
    pub head: StageHead,
    /// The element-wise operators fused into the loop, in order.
    pub fused: Vec<PlannedOp>,
    /// The shuffle whose map-side combine ends the loop, if any.
    pub combine: Option<PlannedOp>,
    /// Where the stage's output goes.
    pub end: StageEnd,
}

/// Where a stage's elements come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageHead {
    /// A read of a pipeline parameter.
    Param {
        /// The parameter node.
        node: NodeId,
        /// The parameter's position in the signature.
        index: usize,
        /// Its name.
        name: String,
    },
    /// The result of a call of another pipeline of the block.
    Call {
        /// The call node.
        node: NodeId,
        /// The callee's index in [`Program::pipelines`].
        pipeline: usize,
        /// The callee's name.
        name: String,
        /// The stages whose outputs are passed, one per callee parameter.
        args: Vec<StageId>,
    },
    /// An operator that does not fuse into its input's loop, reading the outputs
    /// of `inputs` (the receiver's stage first). For a shuffle this is its reduce
    /// side; its map-side combine, if any, ended the input stage.
    Op {
        /// The operator.
        op: PlannedOp,
        /// The stages it reads.
        inputs: Vec<StageId>,
    },
    /// The materialized output of a shared stage, read again.
    Stage(StageId),
}

/// Where a stage's output goes: why the stage ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageEnd {
    /// It is the pipeline's result.
    Output,
    /// It feeds a shuffle (through the stage's map-side combine when
    /// [`Stage::combine`] is set; otherwise every record moves).
    Shuffle(NodeId),
    /// It feeds a narrow operator that starts its own stage (a window, a union,
    /// a partition-wise or RDD-level operator).
    Boundary(NodeId),
    /// It is passed to a pipeline call.
    Call(NodeId),
    /// It is read by several consumers (the count), so it is computed once and
    /// materialized.
    Shared(usize),
}

impl Stage {
    fn new(head: StageHead) -> Self {
        Stage {
            head,
            fused: Vec::new(),
            combine: None,
            end: StageEnd::Output,
        }
    }

    /// The node the stage's loop computes last: its combine, else its last fused
    /// operator, else its head's node (`None` for a [`StageHead::Stage`] head
    /// with nothing fused).
    pub fn last_node(&self) -> Option<NodeId> {
        if let Some(c) = self.combine {
            return Some(c.node);
        }
        if let Some(f) = self.fused.last() {
            return Some(f.node);
        }
        match &self.head {
            StageHead::Param { node, .. } | StageHead::Call { node, .. } => Some(*node),
            StageHead::Op { op, .. } => Some(op.node),
            StageHead::Stage(_) => None,
        }
    }

    /// The names of the fused operators, in order.
    pub fn fused_names(&self) -> Vec<&'static str> {
        self.fused.iter().map(|f| f.op.name).collect()
    }

    /// The stages this stage reads.
    pub fn inputs(&self) -> Vec<StageId> {
        match &self.head {
            StageHead::Param { .. } => Vec::new(),
            StageHead::Call { args, .. } => args.clone(),
            StageHead::Op { inputs, .. } => inputs.clone(),
            StageHead::Stage(s) => vec![*s],
        }
    }
}

impl PipelinePlan {
    /// The stage with id `id`.
    pub fn stage(&self, id: StageId) -> &Stage {
        &self.stages[id.0]
    }
}

impl Plan {
    /// The plan of the pipeline named `name`.
    pub fn pipeline(&self, name: &str) -> Option<&PipelinePlan> {
        self.pipelines.iter().find(|p| p.name == name)
    }
}

/// Plans every pipeline of the program that has a result.
pub fn plan(program: &Program) -> Plan {
    let pipelines = program
        .pipelines
        .iter()
        .enumerate()
        .filter_map(|(i, p)| plan_pipeline(i, p))
        .collect();
    Plan { pipelines }
}

/// Plans one pipeline; `None` if it has no result (an erroneous body).
pub fn plan_pipeline(index: usize, pipeline: &Pipeline) -> Option<PipelinePlan> {
    let output = pipeline.output?;
    let mut planner = Planner {
        pipeline,
        consumers: pipeline.consumers(),
        stages: Vec::new(),
        ending_at: vec![None; pipeline.nodes.len()],
    };
    let out = planner.stage_ending_at(output);
    planner.set_ends();
    Some(PipelinePlan {
        pipeline: index,
        name: pipeline.name.to_string(),
        stages: planner.stages,
        output: out,
    })
}

struct Planner<'a> {
    pipeline: &'a Pipeline,
    consumers: Vec<Vec<Consumer>>,
    stages: Vec<Stage>,
    /// For each node planned so far, the stage whose output is its stream.
    ending_at: Vec<Option<StageId>>,
}

impl Planner<'_> {
    fn push(&mut self, stage: Stage) -> StageId {
        self.stages.push(stage);
        StageId(self.stages.len() - 1)
    }

    /// The stage whose output is `id`'s stream, planning it (and everything it
    /// depends on) on first use.
    fn stage_ending_at(&mut self, id: NodeId) -> StageId {
        if let Some(s) = self.ending_at[id.0] {
            return s;
        }
        let pipeline = self.pipeline;
        let node = pipeline.node(id);
        let stage = match &node.kind {
            NodeKind::Param { index, name } => self.push(Stage::new(StageHead::Param {
                node: id,
                index: *index,
                name: name.to_string(),
            })),
            NodeKind::Call {
                pipeline: callee,
                name,
                args,
            } => {
                let args = args.iter().map(|&a| self.stage_ending_at(a)).collect();
                self.push(Stage::new(StageHead::Call {
                    node: id,
                    pipeline: *callee,
                    name: name.to_string(),
                    args,
                }))
            }
            NodeKind::Op(op) => {
                let planned = PlannedOp {
                    node: id,
                    op: op.op,
                };
                if let Fusion::Element(_) = op.op.fusion {
                    let s = self.open_stage_after(op.inputs[0]);
                    self.stages[s.0].fused.push(planned);
                    s
                } else {
                    let combine = op.op.dependency.combine().is_some();
                    let inputs = op
                        .inputs
                        .iter()
                        .map(|&input| {
                            if combine {
                                let s = self.open_stage_after(input);
                                self.stages[s.0].combine = Some(planned);
                                s
                            } else {
                                self.stage_ending_at(input)
                            }
                        })
                        .collect();
                    self.push(Stage::new(StageHead::Op {
                        op: planned,
                        inputs,
                    }))
                }
            }
        };
        self.ending_at[id.0] = Some(stage);
        stage
    }

    /// A stage whose loop currently ends at `input` and may be extended by its
    /// (only) consumer: `input`'s own stage, or, when `input` is read more than
    /// once, a new stage re-reading its materialized output.
    fn open_stage_after(&mut self, input: NodeId) -> StageId {
        let s = self.stage_ending_at(input);
        if self.consumers[input.0].len() == 1 {
            s
        } else {
            self.push(Stage::new(StageHead::Stage(s)))
        }
    }

    /// Records where each stage's output goes.
    fn set_ends(&mut self) {
        for i in 0..self.stages.len() {
            let stage = &self.stages[i];
            let end = if let Some(c) = stage.combine {
                StageEnd::Shuffle(c.node)
            } else {
                let consumers: &[Consumer] = match stage.last_node() {
                    Some(last) => &self.consumers[last.0],
                    None => &[],
                };
                match consumers {
                    [Consumer::Output] | [] => StageEnd::Output,
                    [Consumer::Node(n)] => self.end_for(*n),
                    many => StageEnd::Shared(many.len()),
                }
            };
            self.stages[i].end = end;
        }
    }

    fn end_for(&self, consumer: NodeId) -> StageEnd {
        match &self.pipeline.node(consumer).kind {
            NodeKind::Call { .. } => StageEnd::Call(consumer),
            NodeKind::Op(op) if op.op.dependency.is_shuffle() => StageEnd::Shuffle(consumer),
            _ => StageEnd::Boundary(consumer),
        }
    }
}

impl fmt::Display for PipelinePlan {
    /// One line per stage:
    /// `stage 0: lines -> flat_map -> map | combine reduce_by_key => shuffle`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "pipeline {}:", self.name)?;
        for (i, stage) in self.stages.iter().enumerate() {
            write!(f, "  stage {i}: ")?;
            match &stage.head {
                StageHead::Param { name, .. } => write!(f, "{name}")?,
                StageHead::Call { name, args, .. } => write!(f, "{name}({})", stage_list(args))?,
                StageHead::Op { op, inputs } => {
                    write!(f, "{}({})", op.op.name, stage_list(inputs))?
                }
                StageHead::Stage(s) => write!(f, "stage {}", s.0)?,
            }
            for op in &stage.fused {
                write!(f, " -> {}", op.op.name)?;
            }
            if let Some(c) = stage.combine {
                write!(f, " | combine {}", c.op.name)?;
            }
            let end = match stage.end {
                StageEnd::Output => "output".to_owned(),
                StageEnd::Shuffle(_) => "shuffle".to_owned(),
                StageEnd::Boundary(_) => "boundary".to_owned(),
                StageEnd::Call(_) => "call".to_owned(),
                StageEnd::Shared(n) => format!("shared by {n}"),
            };
            writeln!(f, " => {end}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.pipelines {
            p.fmt(f)?;
        }
        Ok(())
    }
}

fn stage_list(stages: &[StageId]) -> String {
    let names: Vec<String> = stages.iter().map(|s| format!("stage {}", s.0)).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_pipelines::word_count_tokens;
    use quote::quote;

    fn plan_of(tokens: proc_macro2::TokenStream) -> (Program, Plan) {
        let analysis = crate::analyze(tokens).unwrap_or_else(|e| panic!("{e}"));
        (analysis.program, analysis.plan)
    }

    /// The single pipeline's plan and graph.
    fn single(tokens: proc_macro2::TokenStream) -> (Pipeline, PipelinePlan) {
        let (program, plan) = plan_of(tokens);
        (program.pipelines[0].clone(), plan.pipelines[0].clone())
    }

    /// The node of operator `name` (the `nth` one, in creation order).
    fn node(p: &Pipeline, name: &str, nth: usize) -> NodeId {
        let ids: Vec<NodeId> = (0..p.nodes.len())
            .map(NodeId)
            .filter(|&id| p.node(id).op().is_some_and(|o| o.op.name == name))
            .collect();
        ids[nth]
    }

    fn head_op(stage: &Stage) -> (&'static str, Vec<StageId>) {
        match &stage.head {
            StageHead::Op { op, inputs } => (op.op.name, inputs.clone()),
            other => panic!("expected an operator head, found {other:?}"),
        }
    }

    fn head_param(stage: &Stage) -> &str {
        match &stage.head {
            StageHead::Param { name, .. } => name,
            other => panic!("expected a parameter head, found {other:?}"),
        }
    }

    #[test]
    fn a_narrow_chain_is_one_stage() {
        let (_, plan) = single(quote! {
            fn f(lines: DStream<String>) -> DStream<String> {
                lines.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).flat_map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>())
            }
        });
        assert_eq!(plan.stages.len(), 1);
        let s = &plan.stages[0];
        assert_eq!(head_param(s), "lines");
        assert_eq!(s.fused_names(), ["map", "filter", "flat_map"]);
        assert_eq!(s.combine, None);
        assert_eq!(s.end, StageEnd::Output);
        assert_eq!(plan.output, StageId(0));
    }

    #[test]
    fn word_count_fuses_the_map_side_combine() {
        let (p, plan) = single(word_count_tokens());
        let rbk = node(&p, "reduce_by_key", 0);
        assert_eq!(plan.stages.len(), 2);
        let map_side = &plan.stages[0];
        assert_eq!(head_param(map_side), "lines");
        assert_eq!(map_side.fused_names(), ["flat_map", "filter", "map"]);
        assert_eq!(
            map_side.combine.map(|c| (c.node, c.op.name)),
            Some((rbk, "reduce_by_key"))
        );
        assert_eq!(map_side.end, StageEnd::Shuffle(rbk));
        let reduce_side = &plan.stages[1];
        assert_eq!(head_op(reduce_side), ("reduce_by_key", vec![StageId(0)]));
        assert!(reduce_side.fused.is_empty());
        assert_eq!(reduce_side.end, StageEnd::Output);
        assert_eq!(plan.output, StageId(1));
    }

    #[test]
    fn a_window_after_a_shuffle() {
        let (p, plan) = single(quote! {
            fn f(pairs: DStream<(String, u64)>) -> DStream<String> {
                pairs
                    .reduce_by_key(|a, b| a + b)
                    .map(|(k, v)| (k, v * 2))
                    .window(Duration::from_secs(30), Duration::from_secs(10))
                    .filter(|(_, v)| *v > 2)
                    .map(|(k, _)| k)
            }
        });
        let window = node(&p, "window", 0);
        assert_eq!(plan.stages.len(), 3);
        let [s0, s1, s2] = &plan.stages[..] else {
            unreachable!()
        };
        assert_eq!(head_param(s0), "pairs");
        assert!(s0.fused.is_empty());
        assert_eq!(s0.combine.map(|c| c.op.name), Some("reduce_by_key"));
        // The reduce side continues with the narrow map, up to the window.
        assert_eq!(head_op(s1), ("reduce_by_key", vec![StageId(0)]));
        assert_eq!(s1.fused_names(), ["map"]);
        assert_eq!(s1.end, StageEnd::Boundary(window));
        // The windowed stream's loop fuses what follows.
        assert_eq!(head_op(s2), ("window", vec![StageId(1)]));
        assert_eq!(s2.fused_names(), ["filter", "map"]);
        assert_eq!(s2.end, StageEnd::Output);
    }

    #[test]
    fn a_windowed_reduce_combines_on_the_map_side() {
        let (_, plan) = single(quote! {
            fn f(words: DStream<String>) -> DStream<(String, u64)> {
                words.map(|w| (w, 1u64)).reduce_by_key_and_window(|a, b| a + b, Duration::from_secs(30), Duration::from_secs(10))
            }
        });
        assert_eq!(plan.stages.len(), 2);
        assert_eq!(plan.stages[0].fused_names(), ["map"]);
        assert_eq!(
            plan.stages[0].combine.map(|c| c.op.name),
            Some("reduce_by_key_and_window")
        );
        assert_eq!(
            head_op(&plan.stages[1]),
            ("reduce_by_key_and_window", vec![StageId(0)])
        );
    }

    #[test]
    fn a_join_of_two_params() {
        let (p, plan) = single(quote! {
            fn f(a: DStream<(u32, String)>, b: DStream<(u32, u64)>) -> DStream<(u32, (String, u64))> {
                a.join(b)
            }
        });
        let join = node(&p, "join", 0);
        assert_eq!(plan.stages.len(), 3);
        assert_eq!(head_param(&plan.stages[0]), "a");
        assert_eq!(head_param(&plan.stages[1]), "b");
        for s in &plan.stages[..2] {
            assert!(s.fused.is_empty() && s.combine.is_none());
            assert_eq!(s.end, StageEnd::Shuffle(join));
        }
        assert_eq!(
            head_op(&plan.stages[2]),
            ("join", vec![StageId(0), StageId(1)])
        );
        assert_eq!(plan.output, StageId(2));
    }

    #[test]
    fn a_join_of_two_chains_fuses_each_side() {
        let (_, plan) = single(quote! {
            fn f(a: DStream<String>, b: DStream<String>) -> DStream<(String, (usize, usize))> {
                a.map(|s| (s.clone(), s.len())).left_outer_join(&b.filter(|s| s.len() > 1).map(|s| (s, 1)))
            }
        });
        assert_eq!(plan.stages.len(), 3);
        assert_eq!(plan.stages[0].fused_names(), ["map"]);
        assert_eq!(plan.stages[1].fused_names(), ["filter", "map"]);
        assert_eq!(
            head_op(&plan.stages[2]),
            ("left_outer_join", vec![StageId(0), StageId(1)])
        );
    }

    #[test]
    fn a_union_is_a_narrow_boundary() {
        let (p, plan) = single(quote! {
            fn f(a: DStream<u64>, b: DStream<u64>) -> DStream<u64> {
                a.map(|x| x + 1).union(b).filter(|x| x % 2 == 0)
            }
        });
        let union = node(&p, "union", 0);
        assert_eq!(plan.stages.len(), 3);
        assert_eq!(plan.stages[0].fused_names(), ["map"]);
        assert_eq!(plan.stages[0].end, StageEnd::Boundary(union));
        assert_eq!(head_param(&plan.stages[1]), "b");
        assert_eq!(plan.stages[1].end, StageEnd::Boundary(union));
        assert_eq!(
            head_op(&plan.stages[2]),
            ("union", vec![StageId(0), StageId(1)])
        );
        assert_eq!(plan.stages[2].fused_names(), ["filter"]);
    }

    #[test]
    fn a_call_of_another_pipeline() {
        let (program, plan) = plan_of(word_count_tokens());
        let p = program.pipeline("trending").unwrap();
        let plan = plan.pipeline("trending").unwrap();
        assert_eq!(plan.pipeline, 1);
        assert_eq!(plan.stages.len(), 3);
        assert_eq!(head_param(&plan.stages[0]), "lines");
        assert!(matches!(plan.stages[0].end, StageEnd::Call(_)));
        let StageHead::Call {
            pipeline,
            name,
            args,
            ..
        } = &plan.stages[1].head
        else {
            panic!("expected a call head")
        };
        assert_eq!(
            (*pipeline, name.as_str(), args.as_slice()),
            (0, "word_count", &[StageId(0)][..])
        );
        assert_eq!(
            plan.stages[1].combine.map(|c| c.node),
            Some(node(p, "reduce_by_key_and_window", 0))
        );
        assert_eq!(
            head_op(&plan.stages[2]),
            ("reduce_by_key_and_window", vec![StageId(1)])
        );
    }

    #[test]
    fn update_state_by_key_shuffles_without_combine() {
        let (p, plan) = single(quote! {
            fn running(events: DStream<String>) -> DStream<(String, u64)> {
                events
                    .map(|e| (e, 1u64))
                    .update_state_by_key(|new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.len() as u64))
            }
        });
        let update = node(&p, "update_state_by_key", 0);
        assert_eq!(plan.stages.len(), 2);
        assert_eq!(plan.stages[0].fused_names(), ["map"]);
        assert_eq!(plan.stages[0].combine, None);
        assert_eq!(plan.stages[0].end, StageEnd::Shuffle(update));
        assert_eq!(
            head_op(&plan.stages[1]),
            ("update_state_by_key", vec![StageId(0)])
        );
    }

    #[test]
    fn a_shared_binding_is_computed_once() {
        let (_, plan) = single(quote! {
            fn f(lines: DStream<String>) -> DStream<usize> {
                let words = lines.flat_map(|l| l.split(' ').map(str::to_owned).collect::<Vec<_>>());
                words.map(|w| w.len()).union(words.filter(|w| w.len() > 3).count())
            }
        });
        let text = plan.to_string();
        assert_eq!(
            text,
            "pipeline f:\n  \
             stage 0: lines -> flat_map => shared by 2\n  \
             stage 1: stage 0 -> map => boundary\n  \
             stage 2: stage 0 -> filter | combine count => shuffle\n  \
             stage 3: count(stage 2) => boundary\n  \
             stage 4: union(stage 1, stage 3) => output\n"
        );
        assert_eq!(plan.stages[1].head, StageHead::Stage(StageId(0)));
    }

    #[test]
    fn partition_operators_start_a_stage() {
        let (_, plan) = single(quote! {
            fn f(xs: DStream<u64>) -> DStream<usize> {
                xs.map(|x| x + 1).glom().map(|v| v.len()).repartition(4).map(|n| n * 2)
            }
        });
        assert_eq!(
            plan.to_string(),
            "pipeline f:\n  \
             stage 0: xs -> map => boundary\n  \
             stage 1: glom(stage 0) -> map => shuffle\n  \
             stage 2: repartition(stage 1) -> map => output\n"
        );
    }

    #[test]
    fn value_operators_fuse_like_map() {
        let (_, plan) = single(quote! {
            fn f(pairs: DStream<(String, u64)>) -> DStream<(String, u64)> {
                pairs
                    .map_values(|v| v * 2)
                    .filter(|(_, v)| *v > 2)
                    .flat_map_values(|v| [v, v + 1])
                    .reduce_by_key(|a, b| a + b)
                    .map_values(|v| v + 1)
                    .map(|(k, v)| (v, k))
                    .flat_map_values(|k| k.into_bytes())
            }
        });
        assert_eq!(
            plan.to_string(),
            "pipeline f:\n  \
             stage 0: pairs -> map_values -> filter -> flat_map_values | combine reduce_by_key => shuffle\n  \
             stage 1: reduce_by_key(stage 0) -> map_values -> map -> flat_map_values => output\n"
        );
    }

    #[test]
    fn windowed_grouping_combining_and_options_state_are_boundaries() {
        let (_, plan) = plan_of(quote! {
            fn f(xs: DStream<u64>) -> DStream<(u64, usize)> {
                xs.map(|x| (x % 3, x))
                    .combine_by_key(|v| vec![v], |mut c, v| { c.push(v); c }, |mut a, b| { a.extend(b); a }, None)
                    .flat_map_values(|vs| vs)
                    .group_by_key_and_window(Duration::from_secs(2), Duration::from_secs(1))
                    .map_values(|vs| vs.len())
                    .update_state_by_key_with(|new: &[usize], old: Option<usize>| old, UpdateStateOptions::default())
            }
            fn g(xs: DStream<u64>) -> DStream<u64> {
                xs.map(|x| x + 1).reduce_by_window_inv(|a, b| a + b, |a, b| a - b, Duration::from_secs(2), Duration::from_secs(1))
            }
        });
        assert_eq!(
            plan.to_string(),
            "pipeline f:\n  \
             stage 0: xs -> map | combine combine_by_key => shuffle\n  \
             stage 1: combine_by_key(stage 0) -> flat_map_values => shuffle\n  \
             stage 2: group_by_key_and_window(stage 1) -> map_values => shuffle\n  \
             stage 3: update_state_by_key_with(stage 2) => output\n\
             pipeline g:\n  \
             stage 0: xs -> map | combine reduce_by_window_inv => shuffle\n  \
             stage 1: reduce_by_window_inv(stage 0) => output\n"
        );
    }

    #[test]
    fn plan_of_a_block_snapshot() {
        let (_, plan) = plan_of(quote! {
            fn counts(lines: DStream<String>) -> DStream<(String, u64)> {
                lines.flat_map(|l| l.split(' ')).map(|w| (w.to_owned(), 1u64)).reduce_by_key(|a, b| a + b)
            }
            fn top(lines: DStream<String>, stop: DStream<(String, ())>) -> DStream<(String, u64)> {
                let c = counts(lines);
                c.window(Duration::from_secs(60), Duration::from_secs(20))
                    .cogroup(stop)
                    .filter(|(_, (_, s))| s.is_empty())
                    .flat_map(|(k, (v, _))| v.into_iter().map(move |n| (k.clone(), n)))
                    .reduce_by_key(|a, b| a.max(b))
                    .transform(|rdd, _time| rdd)
            }
            fn states(events: DStream<(String, u64)>) -> DStream<(String, u64)> {
                events.filter(|(_, v)| *v > 0).map_with_state(StateSpec::function(track))
            }
        });
        insta::assert_snapshot!("block_plan", plan.to_string());
    }
}
