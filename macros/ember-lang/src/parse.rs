//! The parser: a `stream!` block's tokens into its syntax ([`StreamBlock`], via
//! syn) and then into the pipeline AST ([`PipelineDef`]: parameters with their
//! element types, `let` bindings, and chains of resolved operator calls).
//!
//! Syntax errors stop the parse (syn cannot recover); everything else is a
//! diagnostic recorded in the [`Ctxt`] while the parse goes on, so that one run
//! reports every error of the block.

use std::collections::HashSet;

use proc_macro2::Span;
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{
    AngleBracketedGenericArguments, Attribute, Block, Expr, ExprMethodCall, FnArg, GenericArgument,
    Ident, Item, Local, Pat, PathArguments, ReturnType, Safety, Signature, Stmt, Token, Type,
    Visibility,
};

use crate::diagnostic::{Ctxt, DiagnosticKind};
use crate::ops::{self, Operator, ParamKind};
use crate::suggest;

/// A `stream!` block as written: its pipeline functions and, in error, any
/// other items.
#[derive(Debug, Clone)]
pub struct StreamBlock {
    /// The pipeline functions, in order.
    pub pipelines: Vec<PipelineItem>,
    /// Items that are not functions (each one is an error).
    pub others: Vec<Item>,
}

/// A pipeline function as written: attributes (doc comments included),
/// visibility, signature, and body (`None` for `fn f(…) -> …;`).
#[derive(Debug, Clone)]
pub struct PipelineItem {
    /// Outer attributes, doc comments included.
    pub attrs: Vec<Attribute>,
    /// The visibility.
    pub vis: Visibility,
    /// The signature.
    pub sig: Signature,
    /// The body, if any.
    pub body: Option<Block>,
}

impl Parse for StreamBlock {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut block = StreamBlock {
            pipelines: Vec::new(),
            others: Vec::new(),
        };
        while !input.is_empty() {
            if !starts_a_fn(input)? {
                block.others.push(input.parse()?);
                continue;
            }
            let attrs = input.call(Attribute::parse_outer)?;
            let vis = input.parse()?;
            let sig = input.parse()?;
            let body = if input.peek(Token![;]) {
                input.parse::<Token![;]>()?;
                None
            } else {
                Some(input.parse()?)
            };
            block.pipelines.push(PipelineItem {
                attrs,
                vis,
                sig,
                body,
            });
        }
        Ok(block)
    }
}

/// Whether the next item is a function (`fn`, possibly after attributes, a
/// visibility and `const`/`async`/`unsafe`/`extern "…"` qualifiers).
fn starts_a_fn(input: ParseStream<'_>) -> syn::Result<bool> {
    let fork = input.fork();
    fork.call(Attribute::parse_outer)?;
    fork.parse::<Visibility>()?;
    loop {
        if fork.peek(Token![const]) {
            fork.parse::<Token![const]>()?;
        } else if fork.peek(Token![async]) {
            fork.parse::<Token![async]>()?;
        } else if fork.peek(Token![unsafe]) {
            fork.parse::<Token![unsafe]>()?;
        } else if fork.peek(Token![extern]) {
            fork.parse::<Token![extern]>()?;
            if fork.peek(syn::LitStr) {
                fork.parse::<syn::LitStr>()?;
            }
        } else {
            return Ok(fork.peek(Token![fn]));
        }
    }
}

/// A pipeline: the AST the IR is lowered from.
#[derive(Debug, Clone)]
pub struct PipelineDef {
    /// The function name.
    pub name: Ident,
    /// The outer attributes (doc comments included), kept for the emitted function.
    pub attrs: Vec<Attribute>,
    /// The visibility, kept for the emitted function.
    pub vis: Visibility,
    /// The signature, kept for the emitted function.
    pub sig: Signature,
    /// The parameters that are well-formed `name: DStream<T>` parameters.
    pub params: Vec<StreamParam>,
    /// How many parameters the signature declares (well-formed or not).
    pub arity: usize,
    /// The element type `T` of the returned `DStream<T>`, if well-formed.
    pub output: Option<Type>,
    /// Whether the pipeline returns a `Result<DStream<T>, E>` (or
    /// `StreamResult<T>`): then an operator that fails when the pipeline
    /// is built makes the function return the error instead of panicking.
    pub returns_result: bool,
    /// The `let` statements before the result chain, in order.
    pub statements: Vec<Statement>,
    /// The result chain (`None` when the body is missing or erroneous).
    pub result: Option<Chain>,
}

/// A pipeline parameter `name: DStream<T>`.
#[derive(Debug, Clone)]
pub struct StreamParam {
    /// The parameter's name.
    pub name: Ident,
    /// Its position among the pipeline's parameters.
    pub index: usize,
    /// The whole type as written (`DStream<String>`).
    pub ty: Type,
    /// The element type (`String`).
    pub elem: Type,
    /// Whether it is declared `DStream<&str>`: lines borrowed in place by
    /// the fused stage that reads it (the function takes `DStream<String>`).
    pub borrowed: bool,
}

/// A statement of a pipeline body before its result chain.
#[derive(Debug, Clone)]
pub enum Statement {
    /// `let name = chain;`: a stream binding, whose initializer starts at a
    /// stream (a parameter, an earlier stream binding or a pipeline call).
    Stream {
        /// The pattern as written (a name, possibly with a type annotation).
        pat: Pat,
        /// The bound name.
        name: Ident,
        /// The bound chain.
        chain: Chain,
    },
    /// Any other `let` (a plain value used by closures), kept as written.
    Value(Local),
}

/// A chain of operator calls starting at a stream.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Where the chain starts.
    pub source: Source,
    /// The operator calls, in order.
    pub ops: Vec<OpCall>,
}

/// Where a chain starts.
#[derive(Debug, Clone)]
pub enum Source {
    /// A parameter or stream binding (resolved when lowering).
    Name(Ident),
    /// A call of a pipeline of the block (resolved when lowering).
    Call {
        /// The called pipeline's name.
        name: Ident,
        /// The streams passed to it.
        args: Vec<Chain>,
    },
}

/// One operator call of a chain: `.reduce_by_key(|a, b| a + b)`.
#[derive(Debug, Clone)]
pub struct OpCall {
    /// The operator, from the table.
    pub op: &'static Operator,
    /// The method name as written (its span is the operator's span).
    pub method: Ident,
    /// A turbofish, if written (`.map::<u64>(…)`).
    pub turbofish: Option<AngleBracketedGenericArguments>,
    /// The arguments as written, in the order of the operator's parameters.
    pub args: Vec<Expr>,
    /// The stream arguments parsed as chains, in order (one for two-input
    /// operators).
    pub streams: Vec<Chain>,
}

impl OpCall {
    /// The span of the operator's name: where diagnostics about it point.
    pub fn span(&self) -> Span {
        self.method.span()
    }
}

/// Parses a block's tokens into its syntax.
pub fn parse_block(input: proc_macro2::TokenStream) -> syn::Result<StreamBlock> {
    syn::parse2(input)
}

/// Turns the block's syntax into pipelines, recording every problem in `cx`.
/// Returns one [`PipelineDef`] per pipeline function, in order (with `result`
/// `None` where the body could not be read).
pub fn pipelines(cx: &Ctxt, block: &StreamBlock) -> Vec<PipelineDef> {
    for item in &block.others {
        cx.error_spanned_by(item, DiagnosticKind::NotAPipeline);
    }
    let mut names = HashSet::new();
    for p in &block.pipelines {
        let name = p.sig.ident.to_string();
        if !names.insert(name.clone()) {
            cx.error_spanned_by(&p.sig.ident, DiagnosticKind::DuplicatePipeline { name });
        }
    }
    block
        .pipelines
        .iter()
        .map(|item| pipeline(cx, item, &names))
        .collect()
}

fn pipeline(cx: &Ctxt, item: &PipelineItem, pipeline_names: &HashSet<String>) -> PipelineDef {
    let sig = &item.sig;
    let name = sig.ident.clone();
    check_signature(cx, sig);

    let mut params = Vec::new();
    for (index, arg) in sig.inputs.iter().enumerate() {
        match arg {
            FnArg::Receiver(r) => cx.error_spanned_by(
                r,
                DiagnosticKind::UnsupportedSignature {
                    pipeline: name.to_string(),
                    what: "a method (it takes `self`)",
                },
            ),
            FnArg::Typed(pt) => {
                let Some(param_name) = plain_name(&pt.pat) else {
                    cx.error_spanned_by(&pt.pat, DiagnosticKind::ParamPattern);
                    continue;
                };
                match dstream_elem(&pt.ty) {
                    Some(elem) => params.push(StreamParam {
                        name: param_name,
                        index,
                        ty: (*pt.ty).clone(),
                        borrowed: is_borrowed_str(&elem),
                        elem,
                    }),
                    None => cx.error_spanned_by(
                        &pt.ty,
                        DiagnosticKind::ParamNotDStream {
                            param: param_name.to_string(),
                            ty: compact(&pt.ty),
                        },
                    ),
                }
            }
        }
    }

    let (output, returns_result) = match &sig.output {
        ReturnType::Type(_, ty) => match output_stream(ty) {
            Some((elem, _)) if matches!(strip_type_group(&elem), Type::Reference(_)) => {
                cx.error_spanned_by(
                    &elem,
                    DiagnosticKind::ReturnBorrowed {
                        pipeline: name.to_string(),
                        ty: compact(&elem),
                    },
                );
                (None, false)
            }
            Some((elem, result)) => (Some(elem), result),
            None => {
                cx.error_spanned_by(ty, return_not_dstream(&name));
                (None, false)
            }
        },
        ReturnType::Default => {
            cx.error_spanned_by(&sig.ident, return_not_dstream(&name));
            (None, false)
        }
    };

    let mut def = PipelineDef {
        name: name.clone(),
        attrs: item.attrs.clone(),
        vis: item.vis.clone(),
        sig: owned_signature(sig),
        params,
        arity: sig.inputs.len(),
        output,
        returns_result,
        statements: Vec::new(),
        result: None,
    };
    let empty = DiagnosticKind::EmptyBody {
        pipeline: name.to_string(),
    };
    let Some(body) = &item.body else {
        cx.error_spanned_by(&sig.ident, empty);
        return def;
    };

    let mut scope: HashSet<String> = def.params.iter().map(|p| p.name.to_string()).collect();
    let last = body.stmts.len().checked_sub(1);
    let mut result_found = false;
    for (i, stmt) in body.stmts.iter().enumerate() {
        match stmt {
            Stmt::Expr(expr, None) if Some(i) == last => {
                result_found = true;
                def.result = chain(cx, expr);
            }
            Stmt::Local(local) => {
                if let Some(statement) = binding(cx, local, &scope, pipeline_names) {
                    match &statement {
                        Statement::Stream { name, .. } => {
                            scope.insert(name.to_string());
                        }
                        Statement::Value(local) => {
                            // A plain value shadows a stream of the same name.
                            if let Some(n) = plain_name(&local.pat) {
                                scope.remove(&n.to_string());
                            }
                        }
                    }
                    def.statements.push(statement);
                }
            }
            other => cx.error_spanned_by(other, DiagnosticKind::UnsupportedStatement),
        }
    }
    if !result_found {
        cx.error_spanned_by(body, empty);
    }
    def
}

fn return_not_dstream(name: &Ident) -> DiagnosticKind {
    DiagnosticKind::ReturnNotDStream {
        pipeline: name.to_string(),
    }
}

fn check_signature(cx: &Ctxt, sig: &Signature) {
    let unsupported = |tokens: &dyn ToTokens, what| {
        cx.error_spanned_by(
            tokens.to_token_stream(),
            DiagnosticKind::UnsupportedSignature {
                pipeline: sig.ident.to_string(),
                what,
            },
        );
    };
    if let Some(t) = &sig.constness {
        unsupported(t, "`const`");
    }
    if let Some(t) = &sig.asyncness {
        unsupported(t, "`async`");
    }
    match &sig.safety {
        Safety::Unsafe(t) => unsupported(t, "`unsafe`"),
        Safety::Safe(t) => unsupported(t, "`safe`"),
        _ => {}
    }
    if let Some(t) = &sig.abi {
        unsupported(t, "`extern`");
    }
    if let Some(t) = &sig.variadic {
        unsupported(t, "variadic");
    }
}

/// A `let`: a stream binding if its initializer starts at a stream in scope or a
/// pipeline call, else a plain value kept as written.
fn binding(
    cx: &Ctxt,
    local: &Local,
    scope: &HashSet<String>,
    pipeline_names: &HashSet<String>,
) -> Option<Statement> {
    let Some(init) = &local.init else {
        cx.error_spanned_by(local, DiagnosticKind::UnsupportedStatement);
        return None;
    };
    if init.diverge.is_some() {
        cx.error_spanned_by(local, DiagnosticKind::UnsupportedStatement);
        return None;
    }
    if !starts_at_stream(&init.expr, scope, pipeline_names) {
        return Some(Statement::Value(local.clone()));
    }
    let Some(name) = plain_name(&local.pat) else {
        cx.error_spanned_by(&local.pat, DiagnosticKind::BindingPattern);
        return None;
    };
    let chain = chain(cx, &init.expr)?;
    Some(Statement::Stream {
        pat: local.pat.clone(),
        name,
        chain,
    })
}

/// Whether `expr` is a chain whose start is a stream name in `scope` or a call
/// of a pipeline of the block.
fn starts_at_stream(
    expr: &Expr,
    scope: &HashSet<String>,
    pipeline_names: &HashSet<String>,
) -> bool {
    match expr {
        Expr::MethodCall(mc) => starts_at_stream(&mc.receiver, scope, pipeline_names),
        Expr::Paren(p) => starts_at_stream(&p.expr, scope, pipeline_names),
        Expr::Group(g) => starts_at_stream(&g.expr, scope, pipeline_names),
        Expr::Path(p) => p
            .path
            .get_ident()
            .is_some_and(|i| p.qself.is_none() && scope.contains(&i.to_string())),
        Expr::Call(call) => match &*call.func {
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| pipeline_names.contains(&i.to_string())),
            _ => false,
        },
        _ => false,
    }
}

/// Parses a chain, reporting what is wrong in it. `None` when its start is not a
/// stream.
pub fn chain(cx: &Ctxt, expr: &Expr) -> Option<Chain> {
    match expr {
        Expr::MethodCall(mc) => {
            let receiver = chain(cx, &mc.receiver);
            let call = op_call(cx, mc);
            let mut chain = receiver?;
            chain.ops.extend(call);
            Some(chain)
        }
        Expr::Paren(p) => chain(cx, &p.expr),
        Expr::Group(g) => chain(cx, &g.expr),
        Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
            let ident = p.path.get_ident()?.clone();
            Some(Chain {
                source: Source::Name(ident),
                ops: Vec::new(),
            })
        }
        Expr::Call(call) => {
            let name = match &*call.func {
                Expr::Path(p) if p.qself.is_none() => p.path.get_ident().cloned(),
                _ => None,
            };
            let Some(name) = name else {
                cx.error_spanned_by(&call.func, DiagnosticKind::NotAStream);
                return None;
            };
            let args: Vec<Option<Chain>> = call.args.iter().map(|a| chain(cx, a)).collect();
            let args = args.into_iter().collect::<Option<Vec<_>>>()?;
            Some(Chain {
                source: Source::Call { name, args },
                ops: Vec::new(),
            })
        }
        other => {
            cx.error_spanned_by(other, DiagnosticKind::NotAStream);
            None
        }
    }
}

/// Resolves and checks one method call against the operator table.
fn op_call(cx: &Ctxt, mc: &ExprMethodCall) -> Option<OpCall> {
    let name = mc.method.to_string();
    let Some(op) = ops::lookup(&name) else {
        let kind = if ops::OUTPUT_OPERATIONS.contains(&name.as_str()) {
            DiagnosticKind::OutputOperation { name }
        } else {
            let suggestion = suggest::nearest(&name, ops::names());
            DiagnosticKind::UnknownOperator { name, suggestion }
        };
        cx.error_spanned_by(&mc.method, kind);
        return None;
    };
    let args: Vec<Expr> = mc.args.iter().cloned().collect();
    if !op.arity().accepts(args.len()) {
        cx.error_spanned_by(
            &mc.method,
            DiagnosticKind::WrongArgCount {
                operator: op.name,
                signature: op.signature(),
                expected: op.arity(),
                found: args.len(),
            },
        );
        return None;
    }
    let mut streams = Vec::new();
    let mut ok = true;
    for (param, arg) in op.params.iter().zip(&args) {
        match param.kind {
            ParamKind::Stream => match chain(cx, strip_reference(arg)) {
                Some(c) => streams.push(c),
                None => ok = false,
            },
            ParamKind::Func { inputs } => {
                if let Expr::Closure(closure) = strip_group(arg) {
                    if closure.inputs.len() != inputs {
                        cx.error_spanned_by(
                            closure,
                            DiagnosticKind::ClosureArity {
                                operator: op.name,
                                param: param.name,
                                expected: inputs,
                                found: closure.inputs.len(),
                            },
                        );
                    }
                }
            }
            ParamKind::Window | ParamKind::Slide | ParamKind::Value => {}
        }
    }
    ok.then(|| OpCall {
        op,
        method: mc.method.clone(),
        turbofish: mc.turbofish.clone(),
        args,
        streams,
    })
}

/// `&x` → `x` (a stream argument may be written either way).
fn strip_reference(expr: &Expr) -> &Expr {
    match strip_group(expr) {
        Expr::Reference(r) if r.mutability.is_none() => &r.expr,
        other => other,
    }
}

/// Looks through the invisible groups that `macro_rules!` wraps around
/// interpolated expressions.
pub(crate) fn strip_group(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(g) => strip_group(&g.expr),
        other => other,
    }
}

/// The name bound by a plain pattern: `x`, `mut x`, `x: T`.
pub(crate) fn plain_name(pat: &Pat) -> Option<Ident> {
    match pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => Some(p.ident.clone()),
        Pat::Type(t) => plain_name(&t.pat),
        _ => None,
    }
}

/// A type as the user would write it: `Vec<u64>` rather than the token
/// printer's `Vec < u64 >`.
fn compact(tokens: impl ToTokens) -> String {
    let mut text = tokens.to_token_stream().to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        (" ,", ","),
        ("& ", "&"),
    ] {
        text = text.replace(from, to);
    }
    text
}

/// The element type of a pipeline's return type, and whether it is a
/// `Result`: `DStream<T>`, `Result<DStream<T>, E>` (any path ending in
/// `Result`) or `StreamResult<T>`.
pub fn output_stream(ty: &Type) -> Option<(Type, bool)> {
    if let Some(elem) = dstream_elem(ty) {
        return Some((elem, false));
    }
    let Type::Path(p) = strip_type_group(ty) else {
        return None;
    };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    let PathArguments::AngleBracketed(generics) = &last.arguments else {
        return None;
    };
    let first = match generics.args.first()? {
        GenericArgument::Type(first) => first,
        _ => return None,
    };
    if last.ident == "Result" && generics.args.len() == 2 {
        dstream_elem(first).map(|elem| (elem, true))
    } else if last.ident == "StreamResult" && generics.args.len() == 1 {
        Some((first.clone(), true))
    } else {
        None
    }
}

/// A type without the invisible groups and parentheses around it.
fn strip_type_group(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => strip_type_group(&g.elem),
        Type::Paren(p) => strip_type_group(&p.elem),
        other => other,
    }
}

/// Whether `ty` is `&str` (any lifetime): the element type of a parameter
/// whose lines are borrowed in place.
pub fn is_borrowed_str(ty: &Type) -> bool {
    match strip_type_group(ty) {
        Type::Reference(r) if r.mutability.is_none() => {
            matches!(strip_type_group(&r.elem), Type::Path(p) if p.qself.is_none() && p.path.is_ident("str"))
        }
        _ => false,
    }
}

/// `sig` with every `DStream<&str>` parameter declared `DStream<String>`:
/// the function a pipeline with borrowed lines becomes takes any stream of
/// `String`s (its fused stage borrows each line where it is stored).
pub fn owned_signature(sig: &Signature) -> Signature {
    let mut sig = sig.clone();
    for arg in &mut sig.inputs {
        let FnArg::Typed(pt) = arg else { continue };
        if let Some(elem) = dstream_elem_mut(&mut pt.ty)
            && is_borrowed_str(elem)
        {
            let span = elem.span();
            *elem = syn::parse_quote_spanned!(span=> ::std::string::String);
        }
    }
    sig
}

/// The element type of a `DStream<T>` type, to rewrite it.
fn dstream_elem_mut(ty: &mut Type) -> Option<&mut Type> {
    match ty {
        Type::Group(g) => dstream_elem_mut(&mut g.elem),
        Type::Paren(p) => dstream_elem_mut(&mut p.elem),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last_mut()?;
            if last.ident != "DStream" {
                return None;
            }
            let PathArguments::AngleBracketed(generics) = &mut last.arguments else {
                return None;
            };
            if generics.args.len() != 1 {
                return None;
            }
            match generics.args.first_mut() {
                Some(GenericArgument::Type(elem)) => Some(elem),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `T` for a type `DStream<T>` (any path ending in `DStream<T>`).
pub fn dstream_elem(ty: &Type) -> Option<Type> {
    match ty {
        Type::Group(g) => dstream_elem(&g.elem),
        Type::Paren(p) => dstream_elem(&p.elem),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            if last.ident != "DStream" {
                return None;
            }
            let PathArguments::AngleBracketed(generics) = &last.arguments else {
                return None;
            };
            let mut args = generics.args.iter();
            match (args.next(), args.next()) {
                (Some(GenericArgument::Type(elem)), None) => Some(elem.clone()),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_pipelines::word_count_tokens;
    use quote::quote;

    fn parse(tokens: proc_macro2::TokenStream) -> (Vec<PipelineDef>, Vec<String>) {
        let block = parse_block(tokens).unwrap();
        let cx = Ctxt::new();
        let defs = pipelines(&cx, &block);
        let errors = cx.check().err().map(|d| d.messages()).unwrap_or_default();
        (defs, errors)
    }

    fn op_names(chain: &Chain) -> Vec<&'static str> {
        chain.ops.iter().map(|c| c.op.name).collect()
    }

    #[test]
    fn parses_signature_params_and_chain() {
        let (defs, errors) = parse(word_count_tokens());
        assert!(errors.is_empty(), "{errors:?}");
        let def = &defs[0];
        assert_eq!(def.name, "word_count");
        assert_eq!(def.attrs.len(), 1);
        assert!(matches!(def.vis, Visibility::Public(_)));
        assert_eq!(def.params.len(), 1);
        assert_eq!(def.params[0].name, "lines");
        let elem = &def.params[0].elem;
        assert_eq!(quote!(#elem).to_string(), "String");
        let out = def.output.as_ref().unwrap();
        assert_eq!(quote!(#out).to_string(), "(String , u64)");
        let chain = def.result.as_ref().unwrap();
        assert!(matches!(&chain.source, Source::Name(n) if n == "lines"));
        assert_eq!(
            op_names(chain),
            ["flat_map", "filter", "map", "reduce_by_key"]
        );
        assert_eq!(chain.ops[3].args.len(), 1);
    }

    #[test]
    fn stream_and_value_bindings() {
        let (defs, errors) = parse(quote! {
            fn f(a: ember::DStream<u64>, b: DStream<u64>) -> DStream<u64> {
                let limit = 10;
                let small = a.filter(|x| *x < limit);
                let both: DStream<u64> = small.union(&b.map(|x| x + 1));
                both
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
        let def = &defs[0];
        assert!(matches!(def.statements[0], Statement::Value(_)));
        assert!(matches!(&def.statements[1], Statement::Stream { name, .. } if name == "small"));
        let Statement::Stream { chain, .. } = &def.statements[2] else {
            panic!("expected a stream binding")
        };
        assert_eq!(op_names(chain), ["union"]);
        assert_eq!(op_names(&chain.ops[0].streams[0]), ["map"]);
    }

    #[test]
    fn pipeline_calls_start_chains() {
        let (defs, errors) = parse(quote! {
            fn a(x: DStream<u64>) -> DStream<u64> { x }
            fn b(x: DStream<u64>) -> DStream<u64> { a(x.map(|v| v * 2)).count() }
        });
        assert!(errors.is_empty(), "{errors:?}");
        let chain = defs[1].result.as_ref().unwrap();
        let Source::Call { name, args } = &chain.source else {
            panic!("expected a call")
        };
        assert_eq!(name, "a");
        assert_eq!(op_names(&args[0]), ["map"]);
        assert_eq!(op_names(chain), ["count"]);
    }

    #[test]
    fn reports_every_error_of_the_block() {
        let (_, errors) = parse(quote! {
            fn f(x: Vec<u64>, y: DStream<u64>) -> u64 {
                y.mapp(|v| v).reduce_by_key().filter(|a, b| true).print()
            }
            fn g(x: DStream<u64>) -> DStream<u64> {}
            struct S;
        });
        assert_eq!(errors.len(), 8, "{errors:#?}");
    }

    #[test]
    fn pair_window_and_state_operators_of_the_dstream_api() {
        let (defs, errors) = parse(quote! {
            fn f(xs: DStream<(u8, u64)>) -> DStream<(u8, u64)> {
                xs.map_values(|v| v + 1)
                    .flat_map_values(|v| [v, v * 2])
                    .combine_by_key(|v| v, |c, v| c + v, |a, b| a + b, Some(3))
                    .group_by_key_and_window(Duration::from_secs(2), Duration::from_secs(1))
                    .map_values(|vs| vs.len() as u64)
                    .update_state_by_key_with(|new: &[u64], old: Option<u64>| old, UpdateStateOptions::default())
            }
            fn g(xs: DStream<u64>) -> DStream<u64> {
                xs.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, Duration::from_secs(2), Duration::from_secs(1))
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
        let chain = defs[0].result.as_ref().unwrap();
        assert_eq!(
            op_names(chain),
            [
                "map_values",
                "flat_map_values",
                "combine_by_key",
                "group_by_key_and_window",
                "map_values",
                "update_state_by_key_with"
            ]
        );
        assert_eq!(chain.ops[2].args.len(), 4);
        assert_eq!(chain.ops[5].args.len(), 2);
        let chain = defs[1].result.as_ref().unwrap();
        assert_eq!(op_names(chain), ["reduce_by_window_inv"]);
        assert_eq!(chain.ops[0].args.len(), 4);
    }

    #[test]
    fn new_operators_check_arity_and_closure_parameters() {
        let (_, errors) = parse(quote! {
            fn f(xs: DStream<(u8, u64)>) -> DStream<(u8, u64)> {
                xs.map_values(|k, v| v)
                    .combine_by_key(|v| v, |c, v| c + v, |a, b| a + b)
                    .group_by_key_and_window(Duration::from_secs(2))
                    .update_state_by_key_with(|new: &[u64]| None, UpdateStateOptions::default())
            }
        });
        assert_eq!(
            errors,
            [
                "the closure passed as `f` to `map_values` must take 1 parameter, but it takes 2",
                "`combine_by_key` takes 4 arguments (`combine_by_key(create, merge_value, merge_combiners, num_partitions)`), but 3 were given",
                "`group_by_key_and_window` takes 2 arguments (`group_by_key_and_window(window, slide)`), but 1 was given",
                "the closure passed as `f` to `update_state_by_key_with` must take 2 parameters, but it takes 1",
            ]
        );
    }

    #[test]
    fn compact_types() {
        let ty: Type = syn::parse_quote!(std::vec::Vec<(u8, &'static str)>);
        assert_eq!(compact(&ty), "std::vec::Vec<(u8, &'static str)>");
        let ty: Type = syn::parse_quote!(HashMap<K, Vec<V> >);
        assert_eq!(compact(&ty), "HashMap<K, Vec<V>>");
    }

    #[test]
    fn dstream_element_types() {
        let elem = |ty: Type| dstream_elem(&ty).map(|t| quote!(#t).to_string());
        assert_eq!(elem(syn::parse_quote!(DStream<u8>)), Some("u8".into()));
        assert_eq!(
            elem(syn::parse_quote!(ember::DStream<(K, V)>)),
            Some("(K , V)".into())
        );
        assert_eq!(elem(syn::parse_quote!(Vec<u8>)), None);
        assert_eq!(elem(syn::parse_quote!(DStream)), None);
        assert_eq!(elem(syn::parse_quote!(&DStream<u8>)), None);
    }

    #[test]
    fn output_stream_types() {
        let out = |ty: Type| output_stream(&ty).map(|(t, r)| (quote!(#t).to_string(), r));
        assert_eq!(
            out(syn::parse_quote!(DStream<u8>)),
            Some(("u8".into(), false))
        );
        assert_eq!(
            out(syn::parse_quote!(
                Result<DStream<u8>, ember::StreamingError>
            )),
            Some(("u8".into(), true))
        );
        assert_eq!(
            out(syn::parse_quote!(ember::StreamResult<(K, V)>)),
            Some(("(K , V)".into(), true))
        );
        assert_eq!(out(syn::parse_quote!(Result<Vec<u8>, E>)), None);
        assert_eq!(out(syn::parse_quote!(Option<DStream<u8>>)), None);
    }
}
