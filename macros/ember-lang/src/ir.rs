//! The pipeline IR: each pipeline as a graph of operator nodes.
//!
//! Lowering resolves names: a chain's start becomes a [`NodeKind::Param`] node
//! (one per mention, so that a parameter read twice is two independent reads)
//! or a [`NodeKind::Call`] of another pipeline of the block; a stream `let`
//! binding becomes the node its chain ends at, shared by every use of the name;
//! every operator call becomes a [`NodeKind::Op`] node whose inputs are the
//! receiver and, for two-input operators, the other stream. Nodes are stored in
//! creation order, so a node's inputs always come before it.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::{
    AngleBracketedGenericArguments, Attribute, Expr, ExprClosure, ExprPath, Ident, Local,
    Signature, Type, Visibility,
};

use crate::diagnostic::{Ctxt, DiagnosticKind};
use crate::ops::{Operator, ParamKind};
use crate::parse::{Chain, PipelineDef, Source, Statement, StreamParam, plain_name, strip_group};
use crate::suggest;

/// Every pipeline of a block, in declaration order.
#[derive(Debug, Clone)]
pub struct Program {
    /// The pipelines; a [`NodeKind::Call`] refers to one by its index here.
    pub pipelines: Vec<Pipeline>,
}

/// One pipeline: its signature and its operator graph.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The function name.
    pub name: Ident,
    /// Outer attributes (doc comments included), for the emitted function.
    pub attrs: Vec<Attribute>,
    /// Visibility, for the emitted function.
    pub vis: Visibility,
    /// The signature as written, for the emitted function.
    pub sig: Signature,
    /// The `DStream<T>` parameters.
    pub params: Vec<StreamParam>,
    /// How many parameters the signature declares.
    pub arity: usize,
    /// The element type of the returned stream.
    pub output_elem: Option<Type>,
    /// Whether the function returns a `Result` of the stream (see
    /// [`PipelineDef::returns_result`](crate::parse::PipelineDef::returns_result)).
    pub returns_result: bool,
    /// The plain-value `let` statements of the body, in order, for the generator
    /// to emit before the graph (closures may use them).
    pub values: Vec<Local>,
    /// The nodes; a node's inputs always precede it.
    pub nodes: Vec<Node>,
    /// The node whose stream the pipeline returns (`None` only when the body
    /// had errors, and then the analysis fails).
    pub output: Option<NodeId>,
}

/// The index of a node in its pipeline's [`Pipeline::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// One node of a pipeline graph.
#[derive(Debug, Clone)]
pub struct Node {
    /// What the node is.
    pub kind: NodeKind,
    /// The span of the user's token that made it (a name or an operator's
    /// method name), for diagnostics and generated code.
    pub span: Span,
}

/// What a node is.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A read of a parameter.
    Param {
        /// The parameter's position in the signature.
        index: usize,
        /// The parameter's name.
        name: Ident,
    },
    /// A call of another pipeline of the block.
    Call {
        /// The callee's index in [`Program::pipelines`].
        pipeline: usize,
        /// The callee's name.
        name: Ident,
        /// The streams passed, one per parameter of the callee.
        args: Vec<NodeId>,
    },
    /// An operator application.
    Op(OpNode),
}

/// An operator application.
#[derive(Debug, Clone)]
pub struct OpNode {
    /// The operator, from the table.
    pub op: &'static Operator,
    /// The method name as written (carries the user's span).
    pub method: Ident,
    /// A turbofish, if written.
    pub turbofish: Option<AngleBracketedGenericArguments>,
    /// All arguments as written, in the order of the operator's parameters
    /// (stream arguments included, as written).
    pub args: Vec<Expr>,
    /// The input streams: the receiver, then the stream arguments in order.
    pub inputs: Vec<NodeId>,
}

/// A function argument of an operator, as the generator will use it.
#[derive(Debug, Clone, Copy)]
pub enum Func<'a> {
    /// A closure literal: inlined, its parameter patterns bound to the values.
    Closure(&'a ExprClosure),
    /// A path such as `parse` or `str::len`: called.
    Path(&'a ExprPath),
    /// Any other expression evaluating to a function: called.
    Other(&'a Expr),
}

impl OpNode {
    /// The function argument at position `i`, if that parameter is a function.
    pub fn func(&self, i: usize) -> Option<Func<'_>> {
        let param = self.op.params.get(i)?;
        if !matches!(param.kind, ParamKind::Func { .. }) {
            return None;
        }
        Some(match strip_group(self.args.get(i)?) {
            Expr::Closure(c) => Func::Closure(c),
            Expr::Path(p) => Func::Path(p),
            other => Func::Other(other),
        })
    }

    /// The window and slide argument expressions, for window operators.
    pub fn window_and_slide(&self) -> Option<(&Expr, &Expr)> {
        let w = self.op.window_args()?;
        Some((self.args.get(w.window)?, self.args.get(w.slide)?))
    }
}

impl Node {
    /// The nodes this node reads.
    pub fn inputs(&self) -> &[NodeId] {
        match &self.kind {
            NodeKind::Param { .. } => &[],
            NodeKind::Call { args, .. } => args,
            NodeKind::Op(op) => &op.inputs,
        }
    }

    /// A short label: the parameter's name, `callee()`, or the operator's name.
    pub fn label(&self) -> String {
        match &self.kind {
            NodeKind::Param { name, .. } => name.to_string(),
            NodeKind::Call { name, .. } => format!("{name}()"),
            NodeKind::Op(op) => op.op.name.to_owned(),
        }
    }

    /// The operator, for an operator node.
    pub fn op(&self) -> Option<&OpNode> {
        match &self.kind {
            NodeKind::Op(op) => Some(op),
            _ => None,
        }
    }
}

/// Who reads a node's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    /// Another node (once per input edge: `x.union(x)` reads `x` twice).
    Node(NodeId),
    /// The pipeline's result.
    Output,
}

impl Pipeline {
    /// The node with id `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }

    /// For every node, who reads it (nodes unreachable from the output included,
    /// with their readers).
    pub fn consumers(&self) -> Vec<Vec<Consumer>> {
        let mut consumers = vec![Vec::new(); self.nodes.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            for input in node.inputs() {
                consumers[input.0].push(Consumer::Node(NodeId(i)));
            }
        }
        if let Some(out) = self.output {
            consumers[out.0].push(Consumer::Output);
        }
        consumers
    }
}

impl Program {
    /// The pipeline named `name`.
    pub fn pipeline(&self, name: &str) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.name == name)
    }
}

/// Lowers the parsed pipelines into the IR, resolving names and reporting
/// unknown streams, unknown pipelines, pipeline calls with the wrong number of
/// streams, and recursive pipelines.
pub fn lower(cx: &Ctxt, defs: &[PipelineDef]) -> Program {
    let mut index = HashMap::new();
    for (i, def) in defs.iter().enumerate() {
        index.entry(def.name.to_string()).or_insert(i);
    }
    let pipelines = defs
        .iter()
        .map(|def| {
            Lowering {
                cx,
                defs,
                index: &index,
                nodes: Vec::new(),
            }
            .pipeline(def)
        })
        .collect();
    let program = Program { pipelines };
    report_recursion(cx, &program);
    program
}

/// A name in scope in a pipeline body.
#[derive(Clone, Copy)]
enum Bound {
    /// A parameter (position in the signature).
    Param(usize),
    /// A stream binding.
    Node(NodeId),
}

struct Lowering<'a> {
    cx: &'a Ctxt,
    defs: &'a [PipelineDef],
    index: &'a HashMap<String, usize>,
    nodes: Vec<Node>,
}

impl Lowering<'_> {
    fn pipeline(mut self, def: &PipelineDef) -> Pipeline {
        let mut scope: HashMap<String, Bound> = def
            .params
            .iter()
            .map(|p| (p.name.to_string(), Bound::Param(p.index)))
            .collect();
        let mut values = Vec::new();
        for statement in &def.statements {
            match statement {
                Statement::Stream { name, chain, .. } => {
                    // A binding whose chain failed to lower still shadows, so
                    // that later uses do not report a second error.
                    if let Some(id) = self.chain(chain, &scope) {
                        scope.insert(name.to_string(), Bound::Node(id));
                    } else {
                        scope.remove(&name.to_string());
                    }
                }
                Statement::Value(local) => {
                    if let Some(name) = plain_name(&local.pat) {
                        scope.remove(&name.to_string());
                    }
                    values.push(local.clone());
                }
            }
        }
        let output = def.result.as_ref().and_then(|c| self.chain(c, &scope));
        Pipeline {
            name: def.name.clone(),
            attrs: def.attrs.clone(),
            vis: def.vis.clone(),
            sig: def.sig.clone(),
            params: def.params.clone(),
            arity: def.arity,
            output_elem: def.output.clone(),
            returns_result: def.returns_result,
            values,
            nodes: self.nodes,
            output,
        }
    }

    fn push(&mut self, kind: NodeKind, span: Span) -> NodeId {
        self.nodes.push(Node { kind, span });
        NodeId(self.nodes.len() - 1)
    }

    fn chain(&mut self, chain: &Chain, scope: &HashMap<String, Bound>) -> Option<NodeId> {
        let mut current = self.source(&chain.source, scope);
        for call in &chain.ops {
            // Lower the stream arguments even when the receiver failed, to
            // report their errors too.
            let others: Vec<Option<NodeId>> =
                call.streams.iter().map(|c| self.chain(c, scope)).collect();
            let inputs: Option<Vec<NodeId>> = std::iter::once(current).chain(others).collect();
            let Some(inputs) = inputs else {
                current = None;
                continue;
            };
            let node = OpNode {
                op: call.op,
                method: call.method.clone(),
                turbofish: call.turbofish.clone(),
                args: call.args.clone(),
                inputs,
            };
            current = Some(self.push(NodeKind::Op(node), call.span()));
        }
        current
    }

    fn source(&mut self, source: &Source, scope: &HashMap<String, Bound>) -> Option<NodeId> {
        match source {
            Source::Name(name) => match scope.get(&name.to_string()) {
                Some(Bound::Node(id)) => Some(*id),
                Some(Bound::Param(index)) => Some(self.push(
                    NodeKind::Param {
                        index: *index,
                        name: name.clone(),
                    },
                    name.span(),
                )),
                None => {
                    let name_str = name.to_string();
                    let mut names: Vec<&str> = scope.keys().map(String::as_str).collect();
                    names.sort_unstable();
                    let suggestion = suggest::nearest(&name_str, names).map(str::to_owned);
                    self.cx.error_spanned_by(
                        name,
                        DiagnosticKind::UnknownStream {
                            name: name_str,
                            suggestion,
                        },
                    );
                    None
                }
            },
            Source::Call { name, args } => {
                let args: Vec<Option<NodeId>> = args.iter().map(|a| self.chain(a, scope)).collect();
                let Some(&pipeline) = self.index.get(&name.to_string()) else {
                    self.cx.error_spanned_by(
                        name,
                        DiagnosticKind::UnknownPipeline {
                            name: name.to_string(),
                        },
                    );
                    return None;
                };
                let expected = self.defs[pipeline].arity;
                if args.len() != expected {
                    self.cx.error_spanned_by(
                        name,
                        DiagnosticKind::PipelineArgCount {
                            pipeline: name.to_string(),
                            expected,
                            found: args.len(),
                        },
                    );
                    return None;
                }
                let args = args.into_iter().collect::<Option<Vec<_>>>()?;
                Some(self.push(
                    NodeKind::Call {
                        pipeline,
                        name: name.clone(),
                        args,
                    },
                    name.span(),
                ))
            }
        }
    }
}

/// Reports every cycle of pipeline calls once, at the call that closes it.
fn report_recursion(cx: &Ctxt, program: &Program) {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        OnStack,
        Done,
    }
    struct Search<'a> {
        cx: &'a Ctxt,
        program: &'a Program,
        state: Vec<State>,
        stack: Vec<usize>,
    }
    impl Search<'_> {
        fn visit(&mut self, i: usize) {
            self.state[i] = State::OnStack;
            self.stack.push(i);
            let program = self.program;
            for node in &program.pipelines[i].nodes {
                let NodeKind::Call { pipeline, name, .. } = &node.kind else {
                    continue;
                };
                match self.state[*pipeline] {
                    State::New => self.visit(*pipeline),
                    State::OnStack => {
                        let from = self.stack.iter().position(|p| p == pipeline).unwrap_or(0);
                        let mut cycle: Vec<String> = self.stack[from..]
                            .iter()
                            .map(|&p| program.pipelines[p].name.to_string())
                            .collect();
                        cycle.push(name.to_string());
                        self.cx
                            .error_at(node.span, DiagnosticKind::RecursivePipeline { cycle });
                    }
                    State::Done => {}
                }
            }
            self.stack.pop();
            self.state[i] = State::Done;
        }
    }
    let mut search = Search {
        cx,
        program,
        state: vec![State::New; program.pipelines.len()],
        stack: Vec::new(),
    };
    for i in 0..program.pipelines.len() {
        if search.state[i] == State::New {
            search.visit(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;
    use quote::quote;

    fn lower_tokens(tokens: proc_macro2::TokenStream) -> (Program, Vec<String>) {
        let block = parse::parse_block(tokens).unwrap();
        let cx = Ctxt::new();
        let defs = parse::pipelines(&cx, &block);
        let program = lower(&cx, &defs);
        let errors = cx.check().err().map(|d| d.messages()).unwrap_or_default();
        (program, errors)
    }

    fn labels(p: &Pipeline) -> Vec<String> {
        p.nodes.iter().map(Node::label).collect()
    }

    #[test]
    fn lowers_a_chain_into_nodes_in_order() {
        let (program, errors) = lower_tokens(quote! {
            fn f(lines: DStream<String>) -> DStream<usize> {
                lines.map(|l| l.len()).filter(|n| *n > 0)
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
        let p = &program.pipelines[0];
        assert_eq!(labels(p), ["lines", "map", "filter"]);
        assert_eq!(p.output, Some(NodeId(2)));
        assert_eq!(p.node(NodeId(2)).inputs(), [NodeId(1)]);
        let map = p.node(NodeId(1)).op().unwrap();
        assert!(matches!(map.func(0), Some(Func::Closure(_))));
    }

    #[test]
    fn bindings_are_shared_and_params_read_per_mention() {
        let (program, errors) = lower_tokens(quote! {
            fn f(a: DStream<(u8, u8)>) -> DStream<(u8, (u8, u8))> {
                let k = a.map(key);
                k.join(k.filter(|x| true)).union(a.map(key))
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
        let p = &program.pipelines[0];
        assert_eq!(
            labels(p),
            ["a", "map", "filter", "join", "a", "map", "union"]
        );
        let join = p.node(NodeId(3)).op().unwrap();
        assert_eq!(join.inputs, [NodeId(1), NodeId(2)]);
        assert!(matches!(join.op.name, "join"));
        let consumers = p.consumers();
        assert_eq!(consumers[1].len(), 2);
        assert_eq!(consumers[6], [Consumer::Output]);
        assert!(matches!(
            p.node(NodeId(1)).op().unwrap().func(0),
            Some(Func::Path(_))
        ));
    }

    #[test]
    fn calls_resolve_to_pipelines() {
        let (program, errors) = lower_tokens(quote! {
            fn twice(x: DStream<u64>) -> DStream<u64> { x.map(|v| v * 2) }
            fn four(x: DStream<u64>) -> DStream<u64> { twice(twice(x)) }
        });
        assert!(errors.is_empty(), "{errors:?}");
        let p = &program.pipelines[1];
        assert_eq!(labels(p), ["x", "twice()", "twice()"]);
        assert!(
            matches!(&p.node(NodeId(2)).kind, NodeKind::Call { pipeline: 0, args, .. } if args == &[NodeId(1)])
        );
    }

    #[test]
    fn name_errors() {
        let (_, errors) = lower_tokens(quote! {
            fn f(lines: DStream<String>) -> DStream<String> {
                let n = 3;
                lnes.union(n).union(g(lines)).union(f2(lines, lines))
            }
            fn f2(x: DStream<String>) -> DStream<String> { x }
        });
        assert_eq!(
            errors,
            [
                "`lnes` is not a stream here: expected a `DStream` parameter or a stream `let` binding; did you mean `lines`?",
                "`n` is not a stream here: expected a `DStream` parameter or a stream `let` binding",
                "`g` is not a pipeline of this `stream!` block (a chain may start at a parameter, a stream binding or a call of a pipeline of the same block)",
                "pipeline `f2` takes 1 stream, but 2 were given",
            ]
        );
    }

    #[test]
    fn recursion_is_an_error() {
        let (_, errors) = lower_tokens(quote! {
            fn a(x: DStream<u64>) -> DStream<u64> { b(x) }
            fn b(x: DStream<u64>) -> DStream<u64> { a(x).map(|v| v) }
            fn c(x: DStream<u64>) -> DStream<u64> { c(x) }
        });
        assert_eq!(
            errors,
            [
                "pipeline `a` calls itself (a -> b -> a): pipelines cannot be recursive",
                "pipeline `c` calls itself (c -> c): pipelines cannot be recursive",
            ]
        );
    }
}
