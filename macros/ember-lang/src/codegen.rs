//! The fused code generator: each pipeline as an ordinary Rust function with
//! its declared signature whose body builds the pipeline stage by stage, as
//! [`plan`](crate::plan) cut it.
//!
//! # What each stage becomes
//!
//! A stage's *head* is the stream its loop reads: a parameter (a cheap clone
//! of the handle), a call of another pipeline of the block, the materialized
//! output of a shared stage, or an operator that does not fuse, emitted as the
//! plain DStream API call with the user's arguments (windows, state, joins,
//! `union`, `transform`, `map_partitions`, `glom`, `repartition`, …).
//!
//! When the stage fuses something — element-wise operators and/or the
//! map-side combine of `reduce_by_key`, `combine_by_key`, `count`, `reduce`
//! or `count_by_value` — the generator emits one closure per stage, created once when the
//! pipeline is defined:
//!
//! ```text
//! move |iter: Box<dyn Iterator<Item = T>>| {
//!     let mut combined = HashMap::new();
//!     for e0 in iter {
//!         let line = e0;                                  // flat_map's pattern
//!         for e1 in line.split(' ') {                     // its body, in place
//!             if { let w = &e1; !w.is_empty() } {         // filter, inlined
//!                 let e2 = { let w = e1; (w.to_owned(), 1u64) };   // map
//!                 let (k, v) = e2;                        // the combine
//!                 /* merge v into combined[k] with the inlined reduce body */
//!             }
//!         }
//!     }
//!     combined.into_iter() /* … */
//! }
//! ```
//!
//! and the stage's stream is `head.transform(move |rdd, _| rdd.map_partitions(
//! move |iter| stage.run(iter)).reduce_by_key_without_map_side_combine(f, n))`,
//! with `n` the context's default parallelism (as `DStream::reduce_by_key`):
//! the loop has combined each partition already, so the shuffle moves its
//! entries as they are and only the reduce side merges. The RDD
//! executor runs the partitions in parallel on rayon; inside a partition the
//! loop is monomorphic: no boxed iterator beyond the partition's input, no
//! dynamic dispatch, no collection per operator. A stage without a combine
//! collects its loop's output into one `Vec` per partition.
//!
//! `stage` is the closure wrapped in `Loop`, a type the generator declares
//! beside the pipeline's function in a module of the stage's own
//! (`__ember_{pipeline}_stage{i}`), whose `run` (never inlined) calls the
//! closure. rustc compiles a method in the codegen unit of its `Self` type's
//! module, so each loop is compiled in a unit of its own instead of inlined
//! into the RDD library's generic `map_partitions`, whose unit every stage of
//! the crate would share; LLVM inlines a function called once in its unit
//! (such as `str::split`'s `next`) where one called from several loops stays
//! out of line. rustc merges units below a minimum size unless the profile
//! sets `codegen-units`, so the effect needs that setting (the benches set
//! it; README, "Performance").
//!
//! A stage that reads a `DStream<&str>` parameter (see
//! [`borrow`](crate::borrow)) is the same loop over `&mut dyn Iterator<Item
//! = &str>`, applied with `rdd.map_partitions_str(…)` instead of
//! `rdd.map_partitions(…)`: its lines are borrowed where they are stored.
//!
//! `combine_by_key(create, merge_value, merge_combiners, num_partitions)`
//! fuses the same way: a new key's entry is `create` inlined on its value,
//! later values are added with `merge_value` inlined, and the reduce side is
//! `reduce_by_key_without_map_side_combine(merge_combiners, n)` (each key's combiners
//! merged, as `DStream::combine_by_key` merges them), with `n` the
//! `num_partitions` argument, evaluated once when the pipeline is defined,
//! or the default parallelism.
//!
//! A `reduce_by_key` or `combine_by_key` whose stage ends in a `map` building its key with
//! `to_owned`, `|w| (X.to_owned(), VALUE)` (inlined, `VALUE` naming nothing
//! `X` names), builds the key only when it is new: `X` is borrowed, `VALUE`
//! evaluated, the entry looked up by the borrowed `X` (through a local trait
//! whose method resolves to the same `Self` as `ToOwned::to_owned`, whose
//! `Owned` always borrows as `Self`), and `X.to_owned()` inserted when
//! missing; so a word count allocates per distinct word, not per word.
//!
//! `count` keeps `DStream::count`'s semantics (`[0]` for an empty batch),
//! `reduce` gives nothing for an empty batch.
//!
//! # Inlining
//!
//! A closure literal is inlined: its parameter patterns are bound to the
//! element and its body is evaluated in place. `map`'s and the reduce
//! function's patterns are bound in a block of their own; a `flat_map`'s
//! pattern is bound around the loop over its body, so the body may borrow
//! from the element (`|line| line.split(' ')`) and the following operators
//! work on the borrowed items. If a name that pattern binds is also used by a
//! later closure of the stage (which, in the library API, would see the outer
//! variable), the binding is kept inside the body's block instead, so that
//! names mean what they mean in the library API. A filter's pattern is bound
//! to a reference to the element, as `DStream::filter` passes one.
//! `map_values` and `flat_map_values` split the pair, bind their pattern to
//! the value and pair the key with each result (`flat_map_values` clones the
//! key per result and binds its pattern around the loop, as `flat_map`
//! does); a stage of only those and filters keeps its input's partitioner
//! (`map_partitions_preserving_partitioning`), as the library's
//! `map_values` does. A closure
//! whose body contains `return` or `?`, or an `async` closure, is called, not
//! inlined. A function path (`.map(parse)`) is called; any other expression
//! is evaluated once, when the pipeline is defined, and called.
//!
//! Values a closure captures (a `let` of the pipeline, a variable of the
//! enclosing scope) are moved into the stage's closure, as a `move` closure
//! passed to the library API would move them. A reduce function is used on
//! both sides of the shuffle (inlined on the map side, passed to
//! `reduce_by_key_without_map_side_combine` on the reduce side), so what it captures
//! must be `Copy` (or captured through a reference-counted handle).
//!
//! Generated code carries the user's spans: a type error inside a closure
//! points at the closure's tokens; a mismatch between an operator and its
//! input (such as `reduce_by_key` on a stream that is not of pairs) points at
//! the operator's name.

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{ExprClosure, GenericArgument, Pat, ReturnType};

use crate::ir::{Func, NodeKind, OpNode, Pipeline, Program};
use crate::ops::{Combine, ElementOp, Family, Fusion, Operator, ParamKind};
use crate::plan::{PipelinePlan, Plan, Stage, StageHead, StageId};

/// How generated code reaches the DStream library.
#[derive(Debug, Clone)]
pub struct Runtime {
    dstream: TokenStream,
}

impl Runtime {
    /// Through the facade crate (`::ember::dstream`), named `krate` in the
    /// user's `Cargo.toml`.
    pub fn facade(krate: Ident) -> Self {
        Runtime {
            dstream: quote!(::#krate::dstream),
        }
    }

    /// Through `ember-dstream` itself, named `krate` in the user's
    /// `Cargo.toml`.
    pub fn direct(krate: Ident) -> Self {
        Runtime {
            dstream: quote!(::#krate),
        }
    }

    /// The path of the DStream library, as tokens.
    pub fn path(&self) -> &TokenStream {
        &self.dstream
    }
}

impl Default for Runtime {
    /// `::ember_dstream`.
    fn default() -> Self {
        Runtime::direct(Ident::new("ember_dstream", Span::call_site()))
    }
}

/// What the generator emits for a stage's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadCode {
    /// A clone of a parameter's handle.
    Param,
    /// A call of another pipeline of the block.
    Call,
    /// A clone of a shared stage's stream.
    Shared,
    /// The plain DStream API call of a non-fusing operator.
    Plain(&'static str),
    /// The reduce side of a shuffle that the input stage's code already
    /// completed (its map-side combine and its reduce side).
    Completed(&'static str),
}

/// What the generator emits for a stage's loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopCode {
    /// No loop: the stage is its head.
    None,
    /// One fused loop per partition, its output collected per partition.
    Collect,
    /// One fused loop per partition whose operators all keep the keys
    /// (`map_values`, `flat_map_values`, with any `filter`): collected per
    /// partition, and the input's partitioner kept, as the library's
    /// `map_values` keeps it.
    CollectKeyed,
    /// One fused loop per partition ending in the map-side combine of the
    /// named operator, followed by that operator's reduce side.
    Combine(&'static str),
}

/// The generator's decision for one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageCode {
    /// The head.
    pub head: HeadCode,
    /// The loop.
    pub body: LoopCode,
    /// How many operators the loop inlines (element-wise ones).
    pub fused: usize,
}

/// The combine the generator completes itself (map side and reduce side):
/// those of the per-batch aggregations. Windowed ones are left to the
/// library's window operators.
fn owned_combine(op: &Operator) -> Option<Combine> {
    match op.family {
        Family::Pair | Family::Aggregate => op.dependency.combine(),
        _ => None,
    }
}

/// Whether a stage's loop keeps every key where it was: at least one
/// `_values` operator, and only those and filters.
fn keeps_keys(stage: &Stage) -> bool {
    let elements = || {
        stage.fused.iter().map(|f| match f.op.fusion {
            Fusion::Element(e) => Some(e),
            _ => None,
        })
    };
    elements().any(|e| e.is_some_and(ElementOp::keeps_keys))
        && elements().all(|e| e.is_some_and(|e| e.keeps_keys() || e == ElementOp::Filter))
}

/// The shuffle whose map-side combine and reduce side a stage's generated
/// code completes, if any.
pub(crate) fn stage_combine(stage: &Stage) -> Option<(&'static Operator, Combine)> {
    let c = stage.combine?;
    owned_combine(c.op).map(|combine| (c.op, combine))
}

/// Whether a stage's generated code runs a loop over each partition: it
/// fuses element operators or a map-side combine.
fn has_loop(stage: &Stage) -> bool {
    !stage.fused.is_empty() || stage_combine(stage).is_some()
}

/// The decision for every stage of a pipeline plan.
pub fn decisions(plan: &PipelinePlan) -> Vec<StageCode> {
    plan.stages
        .iter()
        .map(|stage| {
            let head = match &stage.head {
                StageHead::Param { .. } => HeadCode::Param,
                StageHead::Call { .. } => HeadCode::Call,
                StageHead::Stage(_) => HeadCode::Shared,
                StageHead::Op { op, inputs } => {
                    if completed_upstream(plan, op.op, op.node, inputs) {
                        HeadCode::Completed(op.op.name)
                    } else {
                        HeadCode::Plain(op.op.name)
                    }
                }
            };
            let body = match stage_combine(stage) {
                Some((op, _)) => LoopCode::Combine(op.name),
                None if stage.fused.is_empty() => LoopCode::None,
                None if keeps_keys(stage) => LoopCode::CollectKeyed,
                None => LoopCode::Collect,
            };
            StageCode {
                head,
                body,
                fused: stage.fused.len(),
            }
        })
        .collect()
}

fn completed_upstream(
    plan: &PipelinePlan,
    op: &Operator,
    node: crate::ir::NodeId,
    inputs: &[StageId],
) -> bool {
    owned_combine(op).is_some()
        && inputs.len() == 1
        && plan
            .stage(inputs[0])
            .combine
            .is_some_and(|c| c.node == node)
}

/// The fused functions of every pipeline.
pub fn emit(program: &Program, plan: &Plan, rt: &Runtime) -> TokenStream {
    plan.pipelines
        .iter()
        .map(|p| Gen::new(rt, program, &program.pipelines[p.pipeline], p).pipeline_fn())
        .collect()
}

/// A generated (hygienic) identifier.
fn gen_ident(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

struct Gen<'a> {
    rt: &'a Runtime,
    program: &'a Program,
    pipeline: &'a Pipeline,
    plan: &'a PipelinePlan,
}

impl<'a> Gen<'a> {
    fn new(
        rt: &'a Runtime,
        program: &'a Program,
        pipeline: &'a Pipeline,
        plan: &'a PipelinePlan,
    ) -> Self {
        Gen {
            rt,
            program,
            pipeline,
            plan,
        }
    }

    /// `expr` (a `Result` of a stream) unwrapped: in a pipeline returning a
    /// `Result`, an error returns from it (converted with `From`); in one
    /// returning a plain `DStream` (whose durations the checks proved
    /// literal) it panics with `what`.
    fn unwrap_stream(&self, expr: TokenStream, what: TokenStream, span: Span) -> TokenStream {
        let stream = gen_ident("__ember_stream");
        let err = gen_ident("__ember_err");
        let on_err = if self.pipeline.returns_result {
            quote!(return ::core::result::Result::Err(::core::convert::From::from(#err)))
        } else {
            quote!(::core::panic!("{} failed: {}", #what, #err))
        };
        quote_spanned! {span=>
            match #expr {
                ::core::result::Result::Ok(#stream) => #stream,
                ::core::result::Result::Err(#err) => #on_err,
            }
        }
    }

    fn stage_var(&self, id: StageId) -> Ident {
        gen_ident(&format!("__ember_s{}", id.0))
    }

    fn clone_of(&self, id: StageId) -> TokenStream {
        let var = self.stage_var(id);
        quote!(::core::clone::Clone::clone(&#var))
    }

    fn op_node(&self, node: crate::ir::NodeId) -> &'a OpNode {
        match &self.pipeline.node(node).kind {
            NodeKind::Op(op) => op,
            _ => unreachable!("the plan names an operator node"),
        }
    }

    fn pipeline_fn(&self) -> TokenStream {
        let Pipeline {
            attrs,
            vis,
            sig,
            values,
            ..
        } = self.pipeline;
        let dstream = self.rt.path();
        let stages = self.plan.stages.iter().enumerate().map(|(i, stage)| {
            let var = self.stage_var(StageId(i));
            let expr = self.stage_expr(stage, &self.loop_mod(i));
            quote!(let #var = #expr;)
        });
        // One module per stage loop (see `loop_mod`).
        let loop_mods = self
            .plan
            .stages
            .iter()
            .enumerate()
            .filter(|(_, s)| has_loop(s))
            .map(|(i, _)| loop_mod_item(&self.loop_mod(i)));
        let output = self.stage_var(self.plan.output);
        let output = if self.pipeline.returns_result {
            quote!(::core::result::Result::Ok(#output))
        } else {
            quote!(#output)
        };
        // The helpers typing the stages' closures, those used.
        let loops = || {
            self.plan
                .stages
                .iter()
                .filter(|s| has_loop(s))
                .map(|s| crate::borrow::borrowed_param(self.pipeline, self.plan, s).is_some())
        };
        let fuses = loops().any(|borrowed| !borrowed);
        let borrows = loops().any(|borrowed| borrowed);
        let str_helper = borrows.then(|| {
            let stage_fn = gen_ident("__ember_stage_str");
            quote! {
                /// Types a stage's per-partition closure over borrowed lines.
                fn #stage_fn<R, F>(_: &#dstream::DStream<::std::string::String>, f: F) -> F
                where
                    F: ::core::ops::Fn(&mut dyn ::core::iter::Iterator<Item = &str>) -> R
                        + ::core::marker::Send
                        + ::core::marker::Sync
                        + 'static,
                {
                    f
                }
            }
        });
        let helper = fuses.then(|| {
            let stage_fn = gen_ident("__ember_stage");
            quote! {
                /// Types a stage's per-partition closure by the stream it reads.
                fn #stage_fn<T, R, F>(_: &#dstream::DStream<T>, f: F) -> F
                where
                    F: ::core::ops::Fn(::std::boxed::Box<dyn ::core::iter::Iterator<Item = T>>) -> R
                        + ::core::marker::Send
                        + ::core::marker::Sync
                        + 'static,
                {
                    f
                }
            }
        });
        quote! {
            #(#attrs)*
            #vis #sig {
                #helper
                #str_helper
                #(#values)*
                #(#stages)*
                #output
            }
            #(#loop_mods)*
        }
    }

    /// The module holding stage `i`'s loop runner: a module of its own puts
    /// the loop in a codegen unit of its own, where LLVM inlines what the
    /// loop calls once (such as `str::split`'s `next`) as it would in a
    /// hand-written function; loops sharing a unit call it out of line.
    fn loop_mod(&self, i: usize) -> Ident {
        let name = self.pipeline.name.unraw();
        gen_ident(&format!("__ember_{name}_stage{i}"))
    }

    fn head_expr(&self, stage: &Stage) -> TokenStream {
        match &stage.head {
            StageHead::Param { node, .. } => match &self.pipeline.node(*node).kind {
                NodeKind::Param { name, .. } => {
                    quote_spanned!(name.span()=> ::core::clone::Clone::clone(&#name))
                }
                _ => unreachable!("a parameter head names a parameter node"),
            },
            StageHead::Call { node, args, .. } => {
                let (name, callee) = match &self.pipeline.node(*node).kind {
                    NodeKind::Call { name, pipeline, .. } => (name, *pipeline),
                    _ => unreachable!("a call head names a call node"),
                };
                let args = args.iter().map(|a| self.clone_of(*a));
                let call = quote!(#name(#(#args),*));
                if self.program.pipelines[callee].returns_result {
                    let what = format!("pipeline `{name}`");
                    self.unwrap_stream(call, quote!(#what), name.span())
                } else {
                    call
                }
            }
            StageHead::Stage(s) => self.clone_of(*s),
            StageHead::Op { op, inputs } => {
                if completed_upstream(self.plan, op.op, op.node, inputs) {
                    return self.clone_of(inputs[0]);
                }
                self.plain_call(self.op_node(op.node), inputs)
            }
        }
    }

    /// A non-fusing operator as the library API call, its result turned into
    /// a stream (see [`unwrap_stream`](Self::unwrap_stream) for operators
    /// that can fail at definition).
    fn plain_call(&self, node: &OpNode, inputs: &[StageId]) -> TokenStream {
        let dstream = self.rt.path();
        let receiver = self.stage_var(inputs[0]);
        let method = &node.method;
        let turbofish = &node.turbofish;
        let mut others = inputs[1..].iter();
        let args = node.op.params.iter().zip(&node.args).map(|(param, arg)| {
            let other = match param.kind {
                ParamKind::Stream => others.next(),
                _ => None,
            };
            match other {
                Some(other) => {
                    let other = self.stage_var(*other);
                    quote_spanned!(arg.span()=> &#other)
                }
                _ => arg.to_token_stream(),
            }
        });
        let what = format!("`{}` in pipeline `{}`", node.op.name, self.pipeline.name);
        self.unwrap_stream(
            quote_spanned! {method.span()=>
                #dstream::testing::IntoStream::into_stream(#receiver.#method #turbofish (#(#args),*))
            },
            quote!(#what),
            method.span(),
        )
    }

    fn stage_expr(&self, stage: &Stage, loop_mod: &Ident) -> TokenStream {
        let head = self.head_expr(stage);
        if !has_loop(stage) {
            return head;
        }
        let combine = stage_combine(stage);
        let input = gen_ident("__ember_in");
        let part = gen_ident("__ember_part");
        let iter = gen_ident("__ember_iter");
        let rdd = gen_ident("__ember_rdd");
        // A stage reading a `DStream<&str>` parameter borrows its lines.
        let borrowed = crate::borrow::borrowed_param(self.pipeline, self.plan, stage).is_some();
        let (stage_fn, map) = if borrowed {
            (
                gen_ident("__ember_stage_str"),
                Ident::new("map_partitions_str", Span::call_site()),
            )
        } else {
            (
                gen_ident("__ember_stage"),
                Ident::new("map_partitions", Span::call_site()),
            )
        };

        // Function arguments that are neither closures nor paths: evaluated
        // once, shared by the map side and the reduce side.
        let mut shared = Vec::new();
        let mut ops: Vec<(&OpNode, Option<ElementOp>)> = stage
            .fused
            .iter()
            .map(|f| {
                let node = self.op_node(f.node);
                let element = match f.op.fusion {
                    Fusion::Element(e) => Some(e),
                    _ => None,
                };
                (node, element)
            })
            .collect();
        if let Some(c) = stage.combine.filter(|_| combine.is_some()) {
            ops.push((self.op_node(c.node), None));
        }
        let funcs: Vec<Option<FuncCode>> = ops
            .iter()
            .enumerate()
            .map(|(i, (node, _))| {
                let p = node.op.func_params().next()?;
                func_code(node, p, &i.to_string(), &mut shared)
            })
            .collect();

        let (init, mut sink, result, tail) = match combine {
            None => {
                // A keyed stage's partitioner-keeping call is typed by its
                // first `_values` operator: a stream that is not of pairs
                // is reported there.
                let keyed = (keeps_keys(stage) && !borrowed)
                    .then(|| {
                        ops.iter()
                            .find(|(_, e)| e.is_some_and(ElementOp::keeps_keys))
                            .map(|(node, _)| node.method.span())
                    })
                    .flatten();
                self.collect_parts(keyed, &map)
            }
            Some((op, c)) => {
                let node = ops.last().map(|(n, _)| *n).expect("the combine was pushed");
                let func = funcs.last().and_then(Option::as_ref);
                let tag = ops.len() - 1;
                self.combine_parts(op, c, node, func, tag, &map, &mut shared)
            }
        };
        let n_elems = stage.fused.len();
        let mut lookup = None;
        if let Sink::ByKey { deferred, .. } = &mut sink {
            *deferred = n_elems
                .checked_sub(1)
                .is_some_and(|last| deferred_key(&ops, &funcs, last).is_some());
            lookup = deferred.then(lookup_trait);
        }
        let body = self.chain(&ops, &funcs, n_elems, 0, &sink);
        let e0 = gen_ident("__ember_e0");
        quote! {
            {
                #lookup
                let #input = #head;
                #(#shared)*
                let #part = ::std::sync::Arc::new(#loop_mod::Loop(#stage_fn(&#input, move |#iter| {
                    #init
                    for #e0 in #iter {
                        #body
                    }
                    #result
                })));
                #input.transform(move |#rdd, _| {
                    let #part = ::std::sync::Arc::clone(&#part);
                    #tail
                })
            }
        }
    }

    /// init, sink (taking `__ember_e{n}`), result and reduce-side tail of a
    /// stage that collects its loop's output; `keyed` (the span of the first
    /// `_values` operator) when the loop keeps every key, so the batch keeps
    /// its partitioner. `map` is the RDD method applying the loop to each
    /// partition (`map_partitions`, or `map_partitions_str` for borrowed
    /// lines).
    fn collect_parts(
        &self,
        keyed: Option<Span>,
        map: &Ident,
    ) -> (TokenStream, Sink<'static>, TokenStream, TokenStream) {
        let out = gen_ident("__ember_out");
        let part = gen_ident("__ember_part");
        let rdd = gen_ident("__ember_rdd");
        let it = gen_ident("__ember_it");
        let tail = match keyed {
            Some(span) => quote_spanned! {span=>
                #rdd.map_partitions_preserving_partitioning(move |#it| #part.run(#it))
            },
            None => quote!(#rdd.#map(move |#it| #part.run(#it))),
        };
        (
            quote!(let mut #out = ::std::vec::Vec::new();),
            Sink::Push(out.clone()),
            quote!(#out),
            tail,
        )
    }

    /// init, sink, result and reduce-side tail of a stage that ends in the
    /// map-side combine of `op` (`node`, the stage's operator number `tag`);
    /// `func` is the combine's first function argument. Arguments evaluated
    /// once, when the pipeline is defined, go to `shared`; `mapper` is the RDD
    /// method applying the loop to each partition.
    #[allow(clippy::too_many_arguments)]
    fn combine_parts<'f>(
        &self,
        op: &Operator,
        combine: Combine,
        node: &'f OpNode,
        func: Option<&FuncCode<'f>>,
        tag: usize,
        mapper: &Ident,
        shared: &mut Vec<TokenStream>,
    ) -> (TokenStream, Sink<'f>, TokenStream, TokenStream) {
        let span = node.method.span();
        let part = gen_ident("__ember_part");
        let rdd = gen_ident("__ember_rdd");
        let it = gen_ident("__ember_it");
        let n = gen_ident("__ember_n");
        let map = gen_ident("__ember_map");
        let dstream = self.rt.path();
        let hasher = quote!(#dstream::fused::CombineHasher);
        let (k, v) = (gen_ident("__ember_k"), gen_ident("__ember_v"));
        let partitions = quote!(let #n = #rdd.context().default_parallelism(););
        let reduce_side = |func: Option<&FuncCode>| match func {
            Some(FuncCode::Inline(c)) => c.to_token_stream(),
            Some(FuncCode::Call(f)) => f.clone(),
            Some(FuncCode::Shared { reduce_side, .. }) => {
                let (a, b) = (gen_ident("__ember_a"), gen_ident("__ember_b"));
                quote! {{
                    let #reduce_side = ::std::sync::Arc::clone(&#reduce_side);
                    move |#a, #b| (*#reduce_side)(#a, #b)
                }}
            }
            None => quote!(|a, b| a + b),
        };
        match combine {
            Combine::Combiners {
                merge_value,
                merge_combiners,
                partitions,
                ..
            } => {
                let np = gen_ident(&format!("__ember_np{tag}"));
                let arg = node.args.get(partitions);
                shared.push(quote_spanned! {arg.span()=>
                    let #np: ::core::option::Option<usize> = #arg;
                });
                let merge_value = func_code(node, merge_value, &format!("{tag}v"), shared);
                let merge_combiners = func_code(node, merge_combiners, &format!("{tag}c"), shared);
                let f = reduce_side(merge_combiners.as_ref());
                (
                    quote! {
                        let mut #map = ::std::collections::HashMap::with_hasher(
                            <#hasher as ::core::default::Default>::default(),
                        );
                    },
                    Sink::ByKey {
                        map: map.clone(),
                        create: func.cloned(),
                        func: merge_value,
                        span,
                        deferred: false,
                    },
                    quote!(::core::iter::Iterator::filter_map(
                        ::core::iter::IntoIterator::into_iter(#map),
                        |(#k, #v)| ::core::option::Option::map(#v, |#v| (#k, #v)),
                    )),
                    quote_spanned! {span=>
                        let #n = ::core::option::Option::unwrap_or_else(
                            #np,
                            || #rdd.context().default_parallelism(),
                        );
                        #rdd.#mapper(move |#it| #part.run(#it)).reduce_by_key_without_map_side_combine(#f, #n)
                    },
                )
            }
            Combine::ByKey { .. } => {
                let f = reduce_side(func);
                (
                    quote! {
                        let mut #map = ::std::collections::HashMap::with_hasher(
                            <#hasher as ::core::default::Default>::default(),
                        );
                    },
                    Sink::ByKey {
                        map: map.clone(),
                        create: None,
                        func: func.cloned(),
                        span,
                        deferred: false,
                    },
                    quote!(::core::iter::Iterator::filter_map(
                        ::core::iter::IntoIterator::into_iter(#map),
                        |(#k, #v)| ::core::option::Option::map(#v, |#v| (#k, #v)),
                    )),
                    quote_spanned! {span=>
                        #partitions
                        #rdd.#mapper(move |#it| #part.run(#it)).reduce_by_key_without_map_side_combine(#f, #n)
                    },
                )
            }
            Combine::CountByValue => (
                quote! {
                    let mut #map = ::std::collections::HashMap::with_hasher(
                        <#hasher as ::core::default::Default>::default(),
                    );
                },
                Sink::CountByValue(map.clone()),
                quote!(#map),
                quote_spanned! {span=>
                    #partitions
                    #rdd.#mapper(move |#it| #part.run(#it))
                        .reduce_by_key_without_map_side_combine(|#k: u64, #v: u64| #k + #v, #n)
                },
            ),
            Combine::Count => {
                let count = gen_ident("__ember_count");
                (
                    quote!(let mut #count: u64 = 0;),
                    Sink::Count(count.clone()),
                    quote!(#count),
                    quote_spanned! {span=>
                        #rdd.#mapper(move |#it| ::core::iter::once(#part.run(#it)))
                            .repartition(1)
                            .map_partitions(|#it| ::core::iter::once(::core::iter::Iterator::sum::<u64>(#it)))
                    },
                )
            }
            Combine::All { .. } => {
                let acc = gen_ident("__ember_acc");
                let f = reduce_side(func);
                let _ = op;
                (
                    quote!(let mut #acc = ::core::option::Option::None;),
                    Sink::All {
                        acc: acc.clone(),
                        func: func.cloned(),
                        span,
                    },
                    quote!(#acc),
                    quote_spanned! {span=>
                        #rdd.#mapper(move |#it| #part.run(#it))
                            .repartition(1)
                            .map_partitions(move |#it| ::core::iter::Iterator::reduce(#it, #f))
                    },
                )
            }
        }
    }

    /// The nested loop body for the element operators `ops[i..n]` applied to
    /// `__ember_e{i}` (`ops[n..]` is the combine, if any).
    fn chain(
        &self,
        ops: &[(&OpNode, Option<ElementOp>)],
        funcs: &[Option<FuncCode>],
        n: usize,
        i: usize,
        sink: &Sink,
    ) -> TokenStream {
        let elem = gen_ident(&format!("__ember_e{i}"));
        let Some(((node, element), func)) = ops[..n].get(i).zip(funcs.get(i)) else {
            return sink.emit(&elem);
        };
        let next = gen_ident(&format!("__ember_e{}", i + 1));
        let rest = self.chain(ops, funcs, n, i + 1, sink);
        let span = node.method.span();
        let Some(func) = func else {
            return quote_spanned!(span=> ::core::compile_error!("operator without a function"));
        };
        if let Sink::ByKey {
            map,
            create,
            func: reduce,
            span: combine_span,
            deferred: true,
        } = sink
            && i + 1 == n
            && let Some((c, owned, value)) = deferred_key(ops, funcs, i)
        {
            let combine = DeferredCombine {
                map,
                create: create.as_ref(),
                merge: reduce.as_ref(),
                span: *combine_span,
            };
            return deferred_combine(c, &elem, owned, value, &combine);
        }
        match element {
            Some(ElementOp::Map) => {
                let value = func.apply(&[elem.to_token_stream()]);
                let ty = node
                    .turbofish
                    .as_ref()
                    .and_then(|t| t.args.first())
                    .and_then(|a| match a {
                        GenericArgument::Type(t) => Some(quote!(: #t)),
                        _ => None,
                    });
                quote_spanned!(span=> let #next #ty = #value; #rest)
            }
            Some(ElementOp::Filter) => {
                let cond = func.apply(&[quote!(&#elem)]);
                quote_spanned!(span=> if #cond { let #next = #elem; #rest })
            }
            Some(ElementOp::FlatMap) => match func {
                FuncCode::Inline(c) if !shadows_later(c, ops, i) => {
                    let binds = bindings(c, &[elem.to_token_stream()]);
                    let body = closure_body(c);
                    quote_spanned!(span=> { #binds for #next in #body { #rest } })
                }
                _ => {
                    let items = func.apply(&[elem.to_token_stream()]);
                    quote_spanned!(span=> for #next in #items { #rest })
                }
            },
            Some(ElementOp::MapValues) => {
                let (k, v) = (
                    gen_ident(&format!("__ember_k{i}")),
                    gen_ident(&format!("__ember_v{i}")),
                );
                let value = func.apply(&[v.to_token_stream()]);
                quote_spanned!(span=> let (#k, #v) = #elem; let #next = (#k, #value); #rest)
            }
            Some(ElementOp::FlatMapValues) => {
                let (k, v, u) = (
                    gen_ident(&format!("__ember_k{i}")),
                    gen_ident(&format!("__ember_v{i}")),
                    gen_ident(&format!("__ember_u{i}")),
                );
                let pair = quote_spanned! {span=>
                    let #next = (::core::clone::Clone::clone(&#k), #u);
                };
                match func {
                    FuncCode::Inline(c) if !shadows_later(c, ops, i) => {
                        let binds = bindings(c, &[v.to_token_stream()]);
                        let body = closure_body(c);
                        quote_spanned! {span=>
                            let (#k, #v) = #elem;
                            { #binds for #u in #body { #pair #rest } }
                        }
                    }
                    _ => {
                        let items = func.apply(&[v.to_token_stream()]);
                        quote_spanned! {span=>
                            let (#k, #v) = #elem;
                            for #u in #items { #pair #rest }
                        }
                    }
                }
            }
            None => quote_spanned!(span=> ::core::compile_error!("not an element operator")),
        }
    }
}

/// How a function argument is used in the generated loop.
#[derive(Clone)]
enum FuncCode<'a> {
    /// A closure literal, inlined.
    Inline(&'a ExprClosure),
    /// A path or a closure that cannot be inlined: called.
    Call(TokenStream),
    /// Any other expression: evaluated once into an `Arc`, called.
    Shared { map_side: Ident, reduce_side: Ident },
}

impl FuncCode<'_> {
    /// The function applied to `args`, as an expression.
    fn apply(&self, args: &[TokenStream]) -> TokenStream {
        match self {
            FuncCode::Inline(c) => {
                let binds = bindings(c, args);
                let body = closure_body(c);
                quote_spanned!(c.span()=> { #binds #body })
            }
            FuncCode::Call(f) => quote_spanned!(f.span()=> (#f)(#(#args),*)),
            FuncCode::Shared { map_side, .. } => quote!((*#map_side)(#(#args),*)),
        }
    }
}

/// How the function argument at `param` of `node` is used in the loop. An
/// argument that is neither a closure nor a path is evaluated once, when the
/// pipeline is defined, into `__ember_f{tag}` (pushed to `shared`), which the
/// map side and the reduce side share.
fn func_code<'n>(
    node: &'n OpNode,
    param: usize,
    tag: &str,
    shared: &mut Vec<TokenStream>,
) -> Option<FuncCode<'n>> {
    Some(match node.func(param)? {
        Func::Closure(c) if inlinable(c) => FuncCode::Inline(c),
        Func::Closure(c) => FuncCode::Call(c.to_token_stream()),
        Func::Path(p) => FuncCode::Call(p.to_token_stream()),
        Func::Other(e) => {
            let var = gen_ident(&format!("__ember_f{tag}"));
            let map_side = gen_ident(&format!("__ember_fm{tag}"));
            shared.push(quote_spanned! {e.span()=>
                let #var = ::std::sync::Arc::new(#e);
                let #map_side = ::std::sync::Arc::clone(&#var);
            });
            FuncCode::Shared {
                map_side,
                reduce_side: var,
            }
        }
    })
}

/// `let <pattern> = <arg>;` for each parameter of a closure.
fn bindings(c: &ExprClosure, args: &[TokenStream]) -> TokenStream {
    c.inputs
        .iter()
        .zip(args)
        .map(|(pat, arg)| quote_spanned!(pat.span()=> let #pat = #arg;))
        .collect()
}

/// A closure's body as an expression, with its declared return type if any.
fn closure_body(c: &ExprClosure) -> TokenStream {
    let body = &c.body;
    match &c.output {
        ReturnType::Default => body.to_token_stream(),
        ReturnType::Type(_, ty) => {
            let r = gen_ident("__ember_r");
            quote_spanned!(ty.span()=> { let #r: #ty = #body; #r })
        }
    }
}

/// Whether a closure literal can be inlined: not `async`, and no `return` or
/// `?` in its body (which would mean something else in place).
fn inlinable(c: &ExprClosure) -> bool {
    fn plain(tokens: TokenStream) -> bool {
        tokens.into_iter().all(|t| match t {
            TokenTree::Ident(i) => i != "return",
            TokenTree::Punct(p) => p.as_char() != '?',
            TokenTree::Group(g) => plain(g.stream()),
            TokenTree::Literal(_) => true,
        })
    }
    c.asyncness.is_none() && plain(c.body.to_token_stream())
}

/// The names a pattern binds (conservatively: every identifier in it that is
/// not a path or type).
fn pattern_names(pat: &Pat, out: &mut Vec<String>) {
    match pat {
        Pat::Ident(p) => {
            out.push(p.ident.to_string());
            if let Some((_, sub)) = &p.subpat {
                pattern_names(sub, out);
            }
        }
        Pat::Type(t) => pattern_names(&t.pat, out),
        Pat::Reference(r) => pattern_names(&r.pat, out),
        Pat::Paren(p) => pattern_names(&p.pat, out),
        Pat::Tuple(t) => t.elems.iter().for_each(|p| pattern_names(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| pattern_names(p, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| pattern_names(p, out)),
        Pat::Or(o) => o.cases.iter().for_each(|p| pattern_names(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| pattern_names(&f.pat, out)),
        _ => {}
    }
}

fn idents_in(tokens: TokenStream, out: &mut Vec<String>) {
    for t in tokens {
        match t {
            TokenTree::Ident(i) => out.push(i.to_string()),
            TokenTree::Group(g) => idents_in(g.stream(), out),
            _ => {}
        }
    }
}

/// Whether binding `c`'s pattern around the rest of the stage would hide a
/// name a later closure of the stage uses from outside.
fn shadows_later(c: &ExprClosure, ops: &[(&OpNode, Option<ElementOp>)], i: usize) -> bool {
    let mut bound = Vec::new();
    c.inputs.iter().for_each(|p| pattern_names(p, &mut bound));
    ops[i + 1..].iter().any(|(node, _)| {
        node.args.iter().any(|arg| {
            let mut own = Vec::new();
            if let syn::Expr::Closure(later) = crate::parse::strip_group(arg) {
                later.inputs.iter().for_each(|p| pattern_names(p, &mut own));
            }
            let mut used = Vec::new();
            idents_in(arg.to_token_stream(), &mut used);
            bound
                .iter()
                .any(|name| !own.contains(name) && used.contains(name))
        })
    })
}

/// What the innermost point of the loop does with an element.
enum Sink<'a> {
    /// Collect it.
    Push(Ident),
    /// Merge its value into its key's entry: a new key's value becomes its
    /// entry through `create` (as it is when `None`: the checks saw that
    /// `combine_by_key` has its `create`), later ones are merged into it
    /// with `func`.
    ByKey {
        map: Ident,
        create: Option<FuncCode<'a>>,
        func: Option<FuncCode<'a>>,
        span: Span,
        /// Whether the stage's last `map` builds its key with `to_owned`,
        /// deferred until the key is missing (see [`deferred_key`]).
        deferred: bool,
    },
    /// Count it.
    Count(Ident),
    /// Count its value.
    CountByValue(Ident),
    /// Merge it into the partition's one accumulator.
    All {
        acc: Ident,
        func: Option<FuncCode<'a>>,
        span: Span,
    },
}

impl Sink<'_> {
    fn emit(&self, elem: &Ident) -> TokenStream {
        match self {
            Sink::Push(out) => quote!(#out.push(#elem);),
            Sink::Count(n) => quote!({ let _ = #elem; #n += 1; }),
            Sink::CountByValue(map) => quote! {
                *::std::collections::HashMap::entry(&mut #map, #elem).or_insert(0u64) += 1;
            },
            Sink::ByKey {
                map,
                create,
                func,
                span,
                ..
            } => {
                let (k, v) = (gen_ident("__ember_k"), gen_ident("__ember_v"));
                let (slot, prev) = (gen_ident("__ember_slot"), gen_ident("__ember_prev"));
                let merged = merge(func.as_ref(), &prev, &v);
                let created = created(create.as_ref(), &v);
                let typing = typing_hint(create.as_ref(), &slot, &v);
                quote_spanned! {*span=>
                    let (#k, #v) = #elem;
                    match ::std::collections::HashMap::entry(&mut #map, #k) {
                        ::std::collections::hash_map::Entry::Vacant(#slot) => {
                            #slot.insert(::core::option::Option::Some(#created));
                        }
                        ::std::collections::hash_map::Entry::Occupied(mut #slot) => {
                            let #slot = #slot.get_mut();
                            #typing
                            let #v = match ::core::option::Option::take(#slot) {
                                ::core::option::Option::Some(#prev) => #merged,
                                ::core::option::Option::None => #created,
                            };
                            *#slot = ::core::option::Option::Some(#v);
                        }
                    }
                }
            }
            Sink::All { acc, func, span } => {
                let prev = gen_ident("__ember_prev");
                let merged = merge(func.as_ref(), &prev, elem);
                quote_spanned! {*span=>
                    #acc = ::core::option::Option::Some(match ::core::option::Option::take(&mut #acc) {
                        ::core::option::Option::Some(#prev) => #merged,
                        ::core::option::Option::None => #elem,
                    });
                }
            }
        }
    }
}

/// The key and value of a `map` whose key construction the map-side combine
/// can defer: a closure literal, inlined, without a declared return type or
/// a turbofish, whose body is the tuple `(X.to_owned(), VALUE)`, where
/// `VALUE` names nothing `X` names (`X` stays borrowed while `VALUE` is
/// evaluated, in the order of the tuple) and where the later closures of the
/// stage (the reduce function) do not use a name the map's pattern binds
/// (they are inlined in its scope).
fn deferred_key<'c>(
    ops: &[(&OpNode, Option<ElementOp>)],
    funcs: &[Option<FuncCode<'c>>],
    i: usize,
) -> Option<(&'c ExprClosure, &'c syn::ExprMethodCall, &'c syn::Expr)> {
    let (node, element) = ops.get(i)?;
    let Some(FuncCode::Inline(c)) = funcs.get(i)? else {
        return None;
    };
    if *element != Some(ElementOp::Map)
        || node.turbofish.is_some()
        || !matches!(c.output, ReturnType::Default)
        || shadows_later(c, ops, i)
    {
        return None;
    }
    fn bare(mut e: &syn::Expr) -> &syn::Expr {
        e = crate::parse::strip_group(e);
        while let syn::Expr::Paren(p) = e {
            e = crate::parse::strip_group(&p.expr);
        }
        e
    }
    let syn::Expr::Tuple(t) = bare(&c.body) else {
        return None;
    };
    let (Some(key), Some(value), 2) = (t.elems.first(), t.elems.get(1), t.elems.len()) else {
        return None;
    };
    let syn::Expr::MethodCall(owned) = bare(key) else {
        return None;
    };
    if owned.method != "to_owned" || owned.turbofish.is_some() || !owned.args.is_empty() {
        return None;
    }
    let (mut in_key, mut in_value) = (Vec::new(), Vec::new());
    idents_in(owned.receiver.to_token_stream(), &mut in_key);
    idents_in(value.to_token_stream(), &mut in_value);
    if in_value.iter().any(|name| in_key.contains(name)) {
        return None;
    }
    Some((c, owned, value))
}

/// The module `name` of one stage's loop runner: `Loop(f).run(partition)`
/// calls the stage's closure `f` from a function placed in that module's
/// codegen unit (rustc places a method with its `Self` type's module), not
/// inlined into the RDD library's generic code, whose unit every stage of
/// the crate shares.
fn loop_mod_item(name: &Ident) -> TokenStream {
    quote! {
        #[doc(hidden)]
        mod #name {
            /// A stage's per-partition closure, run from this module.
            pub(super) struct Loop<F>(pub(super) F);

            impl<F> Loop<F> {
                /// Runs the stage's loop over one partition.
                #[inline(never)]
                pub(super) fn run<I, R>(&self, partition: I) -> R
                where
                    F: ::core::ops::Fn(I) -> R,
                {
                    (self.0)(partition)
                }
            }
        }
    }
}

/// The local trait through which a deferred key is looked up by reference:
/// called as a method on the `to_owned` receiver, it resolves (auto-ref and
/// auto-deref) to the same `Self` as `ToOwned::to_owned` does, and the map's
/// key, `<Self as ToOwned>::Owned`, always borrows as `Self`.
fn lookup_trait() -> TokenStream {
    let name = gen_ident("__EmberLookup");
    let method = gen_ident("__ember_lookup");
    quote! {
        trait #name: ::std::borrow::ToOwned {
            #[inline]
            fn #method<'m, V, S>(
                &self,
                map: &'m mut ::std::collections::HashMap<Self::Owned, V, S>,
            ) -> ::core::option::Option<&'m mut V>
            where
                Self: ::core::hash::Hash + ::core::cmp::Eq,
                Self::Owned: ::core::hash::Hash + ::core::cmp::Eq,
                S: ::core::hash::BuildHasher,
            {
                map.get_mut(self)
            }
        }
        impl<T: ?::core::marker::Sized + ::std::borrow::ToOwned> #name for T {}
    }
}

/// The map-side combine a deferred key feeds (see [`Sink::ByKey`]).
struct DeferredCombine<'s, 'a> {
    map: &'s Ident,
    create: Option<&'s FuncCode<'a>>,
    merge: Option<&'s FuncCode<'a>>,
    span: Span,
}

/// The map-side combine of `(X.to_owned(), VALUE)` with the key built only
/// when it is missing: `X` is evaluated once (borrowed), then `VALUE`, then
/// the entry is looked up by reference; a new key is `X.to_owned()`, the
/// user's call on the same receiver.
fn deferred_combine(
    c: &ExprClosure,
    elem: &Ident,
    owned: &syn::ExprMethodCall,
    value: &syn::Expr,
    combine: &DeferredCombine<'_, '_>,
) -> TokenStream {
    let DeferredCombine {
        map,
        create,
        merge: reduce,
        span,
    } = *combine;
    let binds = bindings(c, &[elem.to_token_stream()]);
    let (x, v) = (gen_ident("__ember_x"), gen_ident("__ember_v"));
    let (slot, prev) = (gen_ident("__ember_slot"), gen_ident("__ember_prev"));
    let lookup = gen_ident("__ember_lookup");
    let receiver = &owned.receiver;
    let method = &owned.method;
    let merged = merge(reduce, &prev, &v);
    let created = created(create, &v);
    let typing = typing_hint(create, &slot, &v);
    let new_key = quote_spanned!(owned.span()=> (*#x).#method());
    let get = quote_spanned!(span=> (*#x).#lookup(&mut #map));
    quote_spanned! {c.span()=>
        {
            #binds
            let #x = &#receiver;
            let #v = #value;
            match #get {
                ::core::option::Option::None => {
                    ::std::collections::HashMap::insert(
                        &mut #map,
                        #new_key,
                        ::core::option::Option::Some(#created),
                    );
                }
                ::core::option::Option::Some(#slot) => {
                    #typing
                    let #v = match ::core::option::Option::take(#slot) {
                        ::core::option::Option::Some(#prev) => #merged,
                        ::core::option::Option::None => #created,
                    };
                    *#slot = ::core::option::Option::Some(#v);
                }
            }
        }
    }
}

/// A new key's entry made from its first value `v`: `v` itself, or
/// `create(v)` for `combine_by_key`. The arm that inserts it comes first, so
/// that the entry's type is known when the merge function is inlined on it.
fn created(create: Option<&FuncCode<'_>>, v: &Ident) -> TokenStream {
    match create {
        None => v.to_token_stream(),
        Some(f) => f.apply(&[v.to_token_stream()]),
    }
}

/// Where values are merged as they are (`reduce_by_key`): types the map's
/// entry by the value before the reduce function is inlined on them.
fn typing_hint(create: Option<&FuncCode<'_>>, slot: &Ident, v: &Ident) -> TokenStream {
    match create {
        None => quote! {
            let _ = [::core::option::Option::as_ref(#slot), ::core::option::Option::Some(&#v)];
        },
        Some(_) => TokenStream::new(),
    }
}

fn merge(func: Option<&FuncCode<'_>>, a: &Ident, b: &Ident) -> TokenStream {
    match func {
        Some(f) => f.apply(&[a.to_token_stream(), b.to_token_stream()]),
        None => quote!(#a + #b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_pipelines::word_count_tokens;
    use quote::quote;

    fn codes(tokens: TokenStream, name: &str) -> Vec<StageCode> {
        let analysis = crate::analyze(tokens).unwrap_or_else(|e| panic!("{e}"));
        decisions(analysis.plan.pipeline(name).expect("pipeline"))
    }

    fn stage(head: HeadCode, body: LoopCode, fused: usize) -> StageCode {
        StageCode { head, body, fused }
    }

    #[test]
    fn word_count_is_one_fused_stage_with_its_combine() {
        let c = codes(word_count_tokens(), "word_count");
        assert_eq!(
            c,
            [
                stage(HeadCode::Param, LoopCode::Combine("reduce_by_key"), 3),
                stage(HeadCode::Completed("reduce_by_key"), LoopCode::None, 0),
            ]
        );
    }

    #[test]
    fn aggregates_complete_their_shuffle() {
        for (op, name) in [
            ("count()", "count"),
            ("reduce(|a, b| a + b)", "reduce"),
            ("count_by_value()", "count_by_value"),
        ] {
            let src = format!("fn f(x: DStream<u64>) -> DStream<u64> {{ x.map(|v| v + 1).{op} }}");
            let c = codes(src.parse().unwrap(), "f");
            assert_eq!(
                c,
                [
                    stage(HeadCode::Param, LoopCode::Combine(name), 1),
                    stage(HeadCode::Completed(name), LoopCode::None, 0),
                ],
                "{op}"
            );
        }
    }

    #[test]
    fn combine_by_key_fuses_its_map_side() {
        let src = quote! {
            fn f(lines: DStream<String>) -> DStream<(String, (u64, u32))> {
                lines
                    .flat_map(|line| line.split(' '))
                    .map(|w| (w.to_owned(), 1u64))
                    .combine_by_key(|v| (v, 1u32), |(s, n), v| (s + v, n + 1), |(a, m), (b, k)| (a + b, m + k), Some(3))
            }
        };
        assert_eq!(
            codes(src.clone(), "f"),
            [
                stage(HeadCode::Param, LoopCode::Combine("combine_by_key"), 2),
                stage(HeadCode::Completed("combine_by_key"), LoopCode::None, 0),
            ]
        );
        let text = crate::expand_with(src, &Runtime::default()).to_string();
        // The key is built only when missing; a new key's entry is `create`,
        // inlined, and later values are merged with `merge_value`, inlined;
        // the reduce side merges combiners, into the given partition count.
        assert!(text.contains("__ember_lookup"), "{text}");
        assert!(
            text.contains("{ let v = __ember_v ; (v , 1u32) }"),
            "{text}"
        );
        assert!(
            text.contains("let (s , n) = __ember_prev ; let v = __ember_v ; (s + v , n + 1)"),
            "{text}"
        );
        assert!(
            text.contains("let __ember_np2 : :: core :: option :: Option < usize > = Some (3) ;"),
            "{text}"
        );
        assert!(
            text.contains(
                "reduce_by_key_without_map_side_combine (| (a , m) , (b , k) | (a + b , m + k) , __ember_n)"
            ),
            "{text}"
        );
        assert!(!text.contains(". combine_by_key ("), "{text}");
    }

    #[test]
    fn windows_state_and_joins_are_plain_calls_after_a_collected_loop() {
        let c = codes(
            quote! {
                fn f(a: DStream<(u8, u64)>, b: DStream<(u8, u64)>) -> DStream<(u8, u64)> {
                    a.map(|(k, v)| (k, v * 2))
                        .reduce_by_key_and_window(|x, y| x + y, Duration::from_secs(2), Duration::from_secs(1))
                        .union(b)
                        .filter(|(_, v)| *v > 0)
                        .update_state_by_key(|new: &[u64], old: Option<u64>| old)
                }
            },
            "f",
        );
        assert_eq!(
            c,
            [
                stage(HeadCode::Param, LoopCode::Collect, 1),
                stage(
                    HeadCode::Plain("reduce_by_key_and_window"),
                    LoopCode::None,
                    0
                ),
                stage(HeadCode::Param, LoopCode::None, 0),
                stage(HeadCode::Plain("union"), LoopCode::Collect, 1),
                stage(HeadCode::Plain("update_state_by_key"), LoopCode::None, 0),
            ]
        );
    }

    #[test]
    fn value_operators_keep_the_partitioner_when_every_key_stays() {
        let src = quote! {
            fn f(pairs: DStream<(String, u64)>) -> DStream<(String, u64)> {
                pairs
                    .map_values(|v| v * 2)
                    .reduce_by_key(|a, b| a + b)
                    .filter(|(_, v)| *v > 2)
                    .flat_map_values(|v| [v, v + 1])
                    .group_by_key_and_window(Duration::from_secs(2), Duration::from_secs(1))
                    .map(|(k, vs)| (k, vs.len() as u64))
                    .map_values(|n| n + 1)
            }
        };
        assert_eq!(
            codes(src.clone(), "f"),
            [
                stage(HeadCode::Param, LoopCode::Combine("reduce_by_key"), 1),
                stage(
                    HeadCode::Completed("reduce_by_key"),
                    LoopCode::CollectKeyed,
                    2
                ),
                stage(
                    HeadCode::Plain("group_by_key_and_window"),
                    LoopCode::Collect,
                    2
                ),
            ]
        );
        let text = crate::expand_with(src, &Runtime::default()).to_string();
        assert_eq!(
            text.matches("map_partitions_preserving_partitioning")
                .count(),
            1,
            "{text}"
        );
        // map_values binds its pattern to the value and keeps the key; the
        // flat_map_values pattern is bound around the loop over its body,
        // each result paired with a clone of the key.
        assert!(
            text.contains("let (__ember_k0 , __ember_v0) = __ember_e0 ; let __ember_e1 = (__ember_k0 , { let v = __ember_v0 ; v * 2 }) ;"),
            "{text}"
        );
        assert!(
            text.contains("let (__ember_k1 , __ember_v1) = __ember_e1 ; { let v = __ember_v1 ; for __ember_u1 in [v , v + 1] { let __ember_e2 = (:: core :: clone :: Clone :: clone (& __ember_k1) , __ember_u1) ;"),
            "{text}"
        );
        assert!(
            text.contains(
                ". group_by_key_and_window (Duration :: from_secs (2) , Duration :: from_secs (1))"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_shared_binding_is_computed_once_and_calls_stay_calls() {
        let c = codes(
            quote! {
                fn twice(x: DStream<u64>) -> DStream<u64> { x.map(|v| v * 2) }
                fn f(x: DStream<u64>) -> DStream<u64> {
                    let y = twice(x).filter(|v| *v > 3);
                    y.map(|v| v + 1).union(y.map(|v| v + 2))
                }
            },
            "f",
        );
        assert_eq!(
            c,
            [
                stage(HeadCode::Param, LoopCode::None, 0),
                stage(HeadCode::Call, LoopCode::Collect, 1),
                stage(HeadCode::Shared, LoopCode::Collect, 1),
                stage(HeadCode::Shared, LoopCode::Collect, 1),
                stage(HeadCode::Plain("union"), LoopCode::None, 0),
            ]
        );
    }

    #[test]
    fn inlining_decisions() {
        let closure = |src: &str| syn::parse_str::<ExprClosure>(src).unwrap();
        assert!(inlinable(&closure("|line| line.split(' ')")));
        assert!(!inlinable(&closure("|l| l.parse::<u64>().ok()?")));
        assert!(!inlinable(&closure("|x| { if x > 1 { return 0; } x }")));
        assert!(!inlinable(&closure("async |x| x")));
        let mut names = Vec::new();
        pattern_names(&syn::parse_quote!((a, Some(ref b), [c, ..])), &mut names);
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn owned_keys_are_built_only_when_missing() {
        let expand = |map: &str, reduce: &str| {
            let src = format!(
                "fn f(lines: DStream<String>) -> DStream<(String, u64)> {{ \
                 lines.flat_map(|line| line.split(' ')).map({map}).reduce_by_key({reduce}) }}"
            );
            crate::expand_with(src.parse().unwrap(), &Runtime::default()).to_string()
        };
        let deferred = |map: &str, reduce: &str| expand(map, reduce).contains("__ember_lookup");
        let add = "|a, b| a + b";
        assert!(deferred("|w| (w.to_owned(), 1u64)", add));
        assert!(deferred("|w| ((w.trim().to_owned()), 1u64)", add));
        assert!(deferred("|w| (w.to_owned(), 1u64)", "add"));
        let text = expand("|w| (w.to_owned(), 1u64)", add);
        assert!(
            text.contains("let __ember_x = & w ; let __ember_v = 1u64 ;"),
            "{text}"
        );
        assert!(text.contains("(* __ember_x) . to_owned ()"), "{text}");
        // The value uses the key's receiver, the key is not `to_owned`, the
        // closure declares its type, the reduce function would see the map's
        // pattern: the key is built eagerly.
        assert!(!deferred("|w| (w.to_owned(), w.len() as u64)", add));
        assert!(!deferred("|w| (w.to_string(), 1u64)", add));
        assert!(!deferred("|w| (String::from(w), 1u64)", add));
        assert!(!deferred("|w| -> (String, u64) { (w.to_owned(), 1) }", add));
        assert!(!deferred(
            "|w| (w.to_owned(), 1u64)",
            "|a, b| a + b + w.len() as u64"
        ));
        assert!(!deferred("|w| (w.to_owned(), 1u64, 2)", add));
        assert!(!deferred("to_pair", add));
    }

    #[test]
    fn emitted_code_is_valid_rust_using_the_given_runtime() {
        let tokens = quote! {
            pub fn wc(lines: DStream<String>) -> DStream<(String, u64)> {
                lines.flat_map(|line| line.split(' ')).map(|w| (w.to_owned(), 1u64)).reduce_by_key(|a, b| a + b)
            }
        };
        let out = crate::expand_with(
            tokens,
            &Runtime::facade(Ident::new("ember", Span::call_site())),
        );
        let file: syn::File = syn::parse2(out.clone()).expect("valid Rust");
        // The function, and the module its stage's loop runs from.
        assert_eq!(file.items.len(), 2);
        assert!(
            matches!(&file.items[1], syn::Item::Mod(m) if m.ident == "__ember_wc_stage0"),
            "{out}"
        );
        let text = out.to_string();
        assert!(
            text.contains("__ember_wc_stage0 :: Loop (__ember_stage (&"),
            "{text}"
        );
        assert!(text.contains("__ember_part . run (__ember_it)"), "{text}");
        assert!(text.contains(":: ember :: dstream :: DStream"), "{text}");
        assert!(
            text.contains("reduce_by_key_without_map_side_combine"),
            "{text}"
        );
        // The flat_map's pattern is bound around the loop over its body.
        assert!(
            text.contains("let line = __ember_e0 ; for __ember_e1 in line . split (' ')"),
            "{text}"
        );
    }
}
