//! The plain-API emitter: each pipeline as an ordinary Rust function with its
//! declared signature (attributes, doc comments and visibility kept) whose body
//! is its chain written against the DStream library API. It is the reference
//! the fused code of [`codegen`](crate::codegen) is tested against, and the
//! source of the stubs emitted when a block has errors.
//!
//! The body is the pipeline's own statements and chain, with two rewrites
//! that adapt the language to the library API: a stream argument of a
//! two-input operator is passed by reference, as the API takes it
//! (`a.union(b)` becomes `a.union(&b)`; `&b` stays as is), and a stream passed
//! by name to another pipeline is passed as a clone of its handle
//! (`word_count(lines)` becomes `word_count(Clone::clone(&lines))`), so that
//! the name stays usable after the call. Everything else — closures,
//! durations, turbofishes, value `let`s — is emitted exactly as written, with
//! the user's spans.
//!
//! A `DStream<&str>` parameter is declared `DStream<String>` here, as in
//! the fused function, but the body is kept as written: closures that
//! borrow from a line compile only fused (the library API hands them owned
//! `String`s).
//!
//! On failure, [`stubs`] emits each pipeline's signature with a body that never
//! runs, so that code calling the pipelines reports no error of its own and the
//! user sees only the real ones.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::FnArg;
use syn::spanned::Spanned;

use crate::ops::ParamKind;
use crate::parse::{Chain, PipelineDef, Source, Statement, StreamBlock};

/// The plain-API functions of every pipeline.
pub fn emit(defs: &[PipelineDef]) -> TokenStream {
    defs.iter().map(pipeline_fn).collect()
}

/// One pipeline as a plain-API function.
pub fn pipeline_fn(def: &PipelineDef) -> TokenStream {
    let PipelineDef {
        attrs, vis, sig, ..
    } = def;
    let statements = def.statements.iter().map(statement);
    let result = def.result.as_ref().map(chain);
    quote! {
        #(#attrs)*
        #vis #sig {
            #(#statements)*
            #result
        }
    }
}

fn statement(statement: &Statement) -> TokenStream {
    match statement {
        Statement::Stream { pat, chain: c, .. } => {
            let c = chain(c);
            quote!(let #pat = #c;)
        }
        Statement::Value(local) => local.to_token_stream(),
    }
}

/// A chain as a method-call expression against the library API.
pub fn chain(chain: &Chain) -> TokenStream {
    let mut tokens = match &chain.source {
        Source::Name(name) => name.to_token_stream(),
        Source::Call { name, args } => {
            let args = args
                .iter()
                .map(|arg| match (&arg.source, arg.ops.as_slice()) {
                    // A stream passed by name is cloned (a cheap handle clone), so
                    // that it stays usable after the call.
                    (Source::Name(stream), []) => {
                        quote_spanned!(stream.span()=> ::core::clone::Clone::clone(&#stream))
                    }
                    _ => self::chain(arg),
                });
            quote!(#name(#(#args),*))
        }
    };
    for call in &chain.ops {
        let method = &call.method;
        let turbofish = &call.turbofish;
        let mut streams = call.streams.iter();
        let args = call.op.params.iter().zip(&call.args).map(|(param, arg)| {
            let other = match param.kind {
                ParamKind::Stream => streams.next(),
                _ => None,
            };
            match other {
                Some(other) => {
                    let other = self::chain(other);
                    quote_spanned!(arg.span()=> &#other)
                }
                None => arg.to_token_stream(),
            }
        });
        tokens = quote!(#tokens.#method #turbofish (#(#args),*));
    }
    tokens
}

/// For a block that failed to compile: every pipeline's signature with a body
/// that never runs (methods, which cannot be emitted as free functions, are
/// left out).
pub fn stubs(block: &StreamBlock) -> TokenStream {
    block
        .pipelines
        .iter()
        .filter(|p| !p.sig.inputs.iter().any(|a| matches!(a, FnArg::Receiver(_))))
        .map(|p| {
            let attrs = &p.attrs;
            let vis = &p.vis;
            let sig = crate::parse::owned_signature(&p.sig);
            quote! {
                #(#attrs)*
                #[allow(unused_variables)]
                #vis #sig {
                    ::core::unreachable!("`stream!` reported errors for this pipeline")
                }
            }
        })
        .collect()
}
