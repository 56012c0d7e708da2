//! Where the borrowed lines of a `DStream<&str>` parameter may go.
//!
//! A parameter declared `DStream<&str>` is a stream of `String`s whose
//! lines the stage reading it borrows in place (`map_partitions_str`): they
//! exist only inside that stage's loop. So the stage must fuse something
//! that turns them into owned items or end in a combine. What the planner's
//! stages show is checked here: the lines themselves passed on unchanged
//! (the parameter used by a non-fusing operator such as a window or a
//! union, passed to another pipeline, returned; or a stage of filters only)
//! is an error at the operator, call or result that would take them. A
//! stage whose closures build borrowed items of their own (`|l|
//! l.split(' ')` with no combine after it) is left to the compiler, which
//! reports the borrow outliving the stage.

use proc_macro2::Span;

use crate::diagnostic::{Ctxt, DiagnosticKind};
use crate::ir::{NodeKind, Pipeline, Program};
use crate::ops::{ElementOp, Fusion};
use crate::plan::{PipelinePlan, Plan, Stage, StageHead, StageId};

/// The name of the `DStream<&str>` parameter whose lines `stage` reads, if
/// any: its head is that parameter, or the re-read of a stage that is only
/// that parameter (a parameter read by several stages).
pub fn borrowed_param<'p>(
    pipeline: &'p Pipeline,
    plan: &PipelinePlan,
    stage: &Stage,
) -> Option<&'p syn::Ident> {
    match &stage.head {
        StageHead::Param { index, .. } => pipeline
            .params
            .iter()
            .find(|p| p.index == *index && p.borrowed)
            .map(|p| &p.name),
        StageHead::Stage(s) => {
            let inner = plan.stage(*s);
            if inner.fused.is_empty() && inner.combine.is_none() {
                borrowed_param(pipeline, plan, inner)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Whether `stage`'s output is still its input's elements: nothing but
/// filters in its loop, and no combine that the generated loop completes
/// (a windowed one is left to the library's operator, which would take
/// the elements).
fn passes_elements_on(stage: &Stage) -> bool {
    crate::codegen::stage_combine(stage).is_none()
        && stage
            .fused
            .iter()
            .all(|f| f.op.fusion == Fusion::Element(ElementOp::Filter))
}

/// Reports every place where a `DStream<&str>` parameter's lines would leave
/// their stage.
pub fn check(cx: &Ctxt, program: &Program, plan: &Plan) {
    for p in &plan.pipelines {
        let pipeline = &program.pipelines[p.pipeline];
        let leaking: Vec<(StageId, &syn::Ident)> = p
            .stages
            .iter()
            .enumerate()
            .filter(|(_, stage)| passes_elements_on(stage))
            .filter_map(|(i, stage)| Some((StageId(i), borrowed_param(pipeline, p, stage)?)))
            .collect();
        for (id, param) in leaking {
            for (span, to) in takers(pipeline, p, id) {
                cx.error_at(
                    span,
                    DiagnosticKind::BorrowedLinesLeave {
                        param: param.to_string(),
                        to,
                    },
                );
            }
        }
    }
}

/// Where the output of stage `id` goes other than into a stage that
/// re-reads it: the operators and calls taking it, and the result.
fn takers(pipeline: &Pipeline, plan: &PipelinePlan, id: StageId) -> Vec<(Span, String)> {
    let mut found = Vec::new();
    for stage in &plan.stages {
        match &stage.head {
            StageHead::Op { op, inputs } if inputs.contains(&id) => {
                let span = match &pipeline.node(op.node).kind {
                    NodeKind::Op(node) => node.method.span(),
                    _ => pipeline.node(op.node).span,
                };
                found.push((span, format!("into `{}`", op.op.name)));
            }
            StageHead::Call {
                node, name, args, ..
            } if args.contains(&id) => {
                found.push((pipeline.node(*node).span, format!("into pipeline `{name}`")));
            }
            _ => {}
        }
    }
    if plan.output == id {
        let stage = plan.stage(id);
        let span = stage
            .last_node()
            .map_or_else(Span::call_site, |n| pipeline.node(n).span);
        found.push((span, "as the pipeline's result".to_owned()));
    }
    found
}
