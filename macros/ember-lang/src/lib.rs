//! The `stream!` pipeline language of ember, as a plain library: parser,
//! pipeline IR, checks, fusion planner and emitter. The `ember-macros` crate's
//! `stream!` only calls [`expand`]; everything else here is ordinary code,
//! tested without a compiler plugin.
//!
//! # The language
//!
//! A `stream!` block declares one or more *pipelines*: functions from
//! `DStream` parameters to a `DStream`, whose body is a chain of DStream
//! operators. Doc comments, attributes, visibility and generics are kept.
//!
//! ```text
//! stream! {
//!     /// Counts words in each batch.
//!     pub fn word_count(lines: DStream<String>) -> DStream<(String, u64)> {
//!         lines
//!             .flat_map(|line| line.split(' '))
//!             .filter(|w| !w.is_empty())
//!             .map(|w| (w.to_owned(), 1u64))
//!             .reduce_by_key(|a, b| a + b)
//!     }
//!
//!     pub fn trending(lines: DStream<String>) -> DStream<(String, u64)> {
//!         word_count(lines).reduce_by_key_and_window(
//!             |a, b| a + b,
//!             Duration::from_secs(30),
//!             Duration::from_secs(10),
//!         )
//!     }
//! }
//! ```
//!
//! ## Grammar
//!
//! ```text
//! block     := pipeline*
//! pipeline  := attribute* visibility? "fn" NAME generics? "(" params? ")"
//!              "->" dstream where-clause? body
//! params    := param ("," param)* ","?
//! param     := NAME ":" dstream               -- e.g. `lines: DStream<String>`,
//!                                                 or `lines: DStream<&str>` (borrowed lines)
//! dstream   := path-ending-in-DStream "<" TYPE ">"
//! body      := "{" statement* chain "}"
//! statement := "let" NAME (":" TYPE)? "=" chain ";"   -- a stream binding
//!            | "let" PATTERN (":" TYPE)? "=" EXPR ";" -- a plain value, kept as written
//! chain     := source ("." operator)*
//! source    := NAME                             -- a parameter or stream binding
//!            | NAME "(" (chain ("," chain)*)? ")" -- a call of a pipeline of this block
//!            | "(" chain ")"
//! operator  := OPERATOR-NAME turbofish? "(" (argument ("," argument)*)? ")"
//! argument  := "&"? chain     -- where the operator takes another stream
//!            | EXPR           -- a closure, a function path, a duration, a value
//! ```
//!
//! A `let` is a stream binding when its initializer starts at a parameter, an
//! earlier stream binding or a pipeline call; any other `let` is a plain value
//! (a threshold, a lookup table) that closures of the chain may use. A stream
//! binding may be used several times; its stream is then computed once.
//!
//! The operators are those of the DStream API, listed in [`ops::OPERATORS`]:
//! `map, flat_map, filter, map_partitions, glom, repartition(n), union(other),
//! count, reduce(f), count_by_value, map_values(f), flat_map_values(f),
//! combine_by_key(create, merge_value, merge_combiners, num_partitions),
//! reduce_by_key(f), group_by_key, join(other), left_outer_join(other),
//! right_outer_join(other), full_outer_join(other), cogroup(other),
//! transform(f), transform_with(other, f), window(w, s), count_by_window(w, s),
//! reduce_by_window(f, w, s), reduce_by_window_inv(f, inv_f, w, s),
//! reduce_by_key_and_window(f, w, s), reduce_by_key_and_window_inv(f, inv_f, w,
//! s, filter), group_by_key_and_window(w, s), count_by_value_and_window(w, s),
//! update_state_by_key(f), update_state_by_key_with(f, options),
//! map_with_state(spec)`. A two-input operator takes the other stream as a
//! parameter, binding, pipeline call or chain, with or without `&`
//! (`a.join(b)`, `a.union(&b.map(f))`). Output operations (`print`,
//! `foreach_rdd`, …) are called on a pipeline's result, outside the block.
//!
//! ## Fusion
//!
//! The planner ([`plan`]) splits each pipeline into *stages* at shuffle
//! boundaries. Inside a stage, every element-wise operator (`map`, `flat_map`,
//! `filter`, `map_values`, `flat_map_values`) and the map-side combine of the shuffle that ends the stage (such
//! as `reduce_by_key`'s) become one per-partition loop, closures inlined: a
//! closure literal's parameter pattern is bound to the element and its body
//! evaluated in place, so fused closures may borrow from the element; a
//! function path (`.map(parse)`) is called.
//!
//! ```
//! let analysis = ember_lang::analyze(quote::quote! {
//!     pub fn word_count(lines: DStream<String>) -> DStream<(String, u64)> {
//!         lines
//!             .flat_map(|line| line.split(' '))
//!             .filter(|w| !w.is_empty())
//!             .map(|w| (w.to_owned(), 1u64))
//!             .reduce_by_key(|a, b| a + b)
//!     }
//! })
//! .unwrap();
//! let plan = analysis.plan.pipeline("word_count").unwrap();
//! assert_eq!(
//!     plan.to_string(),
//!     "pipeline word_count:\n  \
//!        stage 0: lines -> flat_map -> filter -> map | combine reduce_by_key => shuffle\n  \
//!        stage 1: reduce_by_key(stage 0) => output\n"
//! );
//! ```
//!
//! ## Borrowed lines
//!
//! A parameter declared `DStream<&str>` is a stream of lines that the stage
//! reading it borrows in place: the generated function takes a
//! `DStream<String>` (any stream of lines), and that stage's loop runs on
//! `Rdd::map_partitions_str`, binding each line as a `&str` read where it is
//! stored (a file stream's partition buffer, a queue stream's or a
//! receiver's strings, a cached or checkpointed batch; a computed stream's
//! lines are collected per partition first) instead of an owned `String`
//! per line. The lines live only inside that stage: it must turn them into
//! owned items or end in a combine. Lines passed on as they are, which
//! [`borrow`] finds in the plan, are compile errors; a stage that builds
//! borrowed items of its own without a combine after it gets the
//! compiler's borrow error.
//!
//! ```
//! let analysis = ember_lang::analyze(quote::quote! {
//!     fn even_lines(lines: DStream<&str>) -> DStream<u64> {
//!         lines.filter(|l| l.len() % 2 == 0).count()
//!     }
//! })
//! .unwrap();
//! assert!(analysis.plan.pipeline("even_lines").is_some());
//! let errors = ember_lang::analyze(quote::quote! {
//!     fn lines_again(lines: DStream<&str>) -> DStream<String> {
//!         lines.filter(|l| !l.is_empty())
//!     }
//! })
//! .unwrap_err();
//! assert!(errors.messages()[0].starts_with("the lines of `lines` are borrowed"));
//! ```
//!
//! ## Diagnostics
//!
//! Errors point at the user's tokens and are all reported at once: an unknown
//! operator (with the known ones and the nearest by edit distance), a wrong
//! number of arguments, a closure with the wrong number of parameters, a
//! pipeline without a body, a parameter or result that is not `DStream<…>`, a
//! result of borrowed lines, borrowed lines leaving their stage, an
//! unknown stream or pipeline, a recursive pipeline, and the duration checks
//! described in [`check`] (literal windows and slides must be positive and
//! multiples of the parent's slide where that is known).
//!
//! ## Errors at definition
//!
//! A pipeline returns `DStream<T>`, or `Result<DStream<T>, E>` /
//! `StreamResult<T>`. A window whose duration is not a literal can only be
//! checked when the pipeline is built, so it needs the `Result` form: there,
//! an operator that fails at definition (a window or slide that is not a
//! multiple of its parent's slide, streams of different slides) makes the
//! function return the library's `StreamingError` (converted with `From`)
//! instead of panicking, and so does a call of another `Result` pipeline. A
//! plain-`DStream` pipeline with a non-literal duration, or calling a
//! `Result` pipeline, is a compile error.
//!
//! ```
//! let errors = ember_lang::analyze(quote::quote! {
//!     fn f(lines: DStream<String>, w: DStream<u64>) -> DStream<String> {
//!         lines.window(window_length(), Duration::from_secs(1))
//!     }
//! })
//! .unwrap_err();
//! assert!(errors.messages()[0].starts_with("the window duration of `window` is not a literal"));
//! ```
//!
//! ```
//! let errors = ember_lang::analyze(quote::quote! {
//!     fn f(lines: DStream<String>) -> DStream<String> {
//!         lines.fliter(|l| !l.is_empty())
//!     }
//! })
//! .unwrap_err();
//! assert!(errors.messages()[0].starts_with("unknown operator `fliter`; did you mean `filter`?"));
//! ```

pub mod borrow;
pub mod check;
pub mod codegen;
pub mod diagnostic;
pub mod fallback;
pub mod ir;
pub mod ops;
pub mod parse;
pub mod plan;
pub mod suggest;
#[cfg(test)]
mod test_pipelines;

use proc_macro2::TokenStream;

use crate::diagnostic::{Ctxt, Diagnostics};
use crate::ir::Program;
use crate::parse::{PipelineDef, StreamBlock};
use crate::plan::Plan;

/// The result of analyzing a block without errors.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The pipelines as parsed.
    pub pipelines: Vec<PipelineDef>,
    /// The pipelines as operator graphs.
    pub program: Program,
    /// The fusion plan of every pipeline.
    pub plan: Plan,
}

/// Parses, checks and plans a block's tokens. On failure, returns every error
/// found.
pub fn analyze(input: TokenStream) -> Result<Analysis, Diagnostics> {
    let block = parse::parse_block(input)?;
    analyze_block(&block)
}

/// Checks and plans a parsed block. On failure, returns every error found.
pub fn analyze_block(block: &StreamBlock) -> Result<Analysis, Diagnostics> {
    let cx = Ctxt::new();
    let pipelines = parse::pipelines(&cx, block);
    let program = ir::lower(&cx, &pipelines);
    check::check(&cx, &program);
    cx.check()?;
    let plan = plan::plan(&program);
    let cx = Ctxt::new();
    borrow::check(&cx, &program, &plan);
    cx.check()?;
    Ok(Analysis {
        pipelines,
        program,
        plan,
    })
}

/// The `stream!` macro with the generated code reaching the library through
/// `::ember_dstream`: see [`expand_with`].
pub fn expand(input: TokenStream) -> TokenStream {
    expand_with(input, &codegen::Runtime::default())
}

/// The `stream!` macro: expands a block into one function per pipeline.
///
/// On success each pipeline becomes an ordinary function with its declared
/// signature whose body is the fused code of [`codegen`], reaching the
/// DStream library through `runtime` (the facade `ember` or `ember-dstream`
/// itself, whichever the calling crate depends on). On failure the result is
/// one `compile_error!` per error, spanned at the user's tokens, plus a stub
/// of each pipeline so that callers report nothing more.
pub fn expand_with(input: TokenStream, runtime: &codegen::Runtime) -> TokenStream {
    let block = match parse::parse_block(input) {
        Ok(block) => block,
        Err(err) => return Diagnostics::from(err).to_compile_error(),
    };
    match analyze_block(&block) {
        Ok(analysis) => codegen::emit(&analysis.program, &analysis.plan, runtime),
        Err(errors) => {
            let mut tokens = errors.to_compile_error();
            tokens.extend(fallback::stubs(&block));
            tokens
        }
    }
}

#[cfg(test)]
mod tests {
    //! End to end: one test per diagnostic (message and span), and `expand`.

    use super::*;
    use crate::diagnostic::DiagnosticKind;
    use crate::test_pipelines::WORD_COUNT;

    /// Analyzes `src` (parsed from text, so spans have real lines and columns)
    /// and returns its diagnostics.
    fn errors(src: &str) -> Vec<diagnostic::Diagnostic> {
        let tokens: TokenStream = src.parse().expect("test source tokenizes");
        match analyze(tokens) {
            Ok(_) => Vec::new(),
            Err(d) => d.into_vec(),
        }
    }

    /// The (1-based line, 0-based column) of the `nth` occurrence of `needle`.
    fn position(src: &str, needle: &str, nth: usize) -> (usize, usize) {
        let offset = src
            .match_indices(needle)
            .nth(nth)
            .unwrap_or_else(|| panic!("`{needle}` not in source"))
            .0;
        let before = &src[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count();
        (line, column)
    }

    /// Asserts that diagnostic `d` starts at the `nth` occurrence of `needle`.
    fn assert_points_at(d: &diagnostic::Diagnostic, src: &str, needle: &str, nth: usize) {
        let start = d.span().start();
        assert_eq!(
            (start.line, start.column),
            position(src, needle, nth),
            "{} should point at `{needle}`",
            d.message()
        );
    }

    #[test]
    fn the_issue_example_analyzes() {
        assert!(errors(WORD_COUNT).is_empty());
    }

    #[test]
    fn unknown_operator_lists_the_known_and_suggests_the_nearest() {
        let src = "fn f(lines: DStream<String>) -> DStream<(String, u64)> {\n    lines.map(|w| (w, 1u64)).reduce_by_kye(|a, b| a + b)\n}";
        let errs = errors(src);
        assert_eq!(errs.len(), 1);
        let message = errs[0].message();
        assert!(
            message
                .starts_with("unknown operator `reduce_by_kye`; did you mean `reduce_by_key`?\n"),
            "{message}"
        );
        assert!(message.contains("known operators: map, flat_map, filter, map_partitions, glom"));
        assert!(message.contains("count_by_value, map_values, flat_map_values, combine_by_key"));
        assert!(message.contains("update_state_by_key, update_state_by_key_with, map_with_state"));
        assert_eq!(
            errs[0].kind,
            DiagnosticKind::UnknownOperator {
                name: "reduce_by_kye".into(),
                suggestion: Some("reduce_by_key")
            }
        );
        assert_points_at(&errs[0], src, "reduce_by_kye", 0);
    }

    #[test]
    fn unknown_operator_without_a_near_name() {
        let src = "fn f(x: DStream<u8>) -> DStream<u8> { x.frobnicate() }";
        let errs = errors(src);
        assert!(
            errs[0]
                .message()
                .starts_with("unknown operator `frobnicate`\nknown operators: map,")
        );
        assert_points_at(&errs[0], src, "frobnicate", 0);
    }

    #[test]
    fn output_operation_in_a_chain() {
        let src = "fn f(x: DStream<u8>) -> DStream<u8> { x.map(|v| v).print() }";
        let errs = errors(src);
        assert_eq!(
            errs[0].message(),
            "`print` is an output operation, not an operator: a pipeline returns its stream, so call `print` on the pipeline's result outside `stream!`"
        );
        assert_points_at(&errs[0], src, "print", 0);
    }

    #[test]
    fn wrong_number_of_arguments() {
        let src = "fn f(x: DStream<u8>) -> DStream<u8> {\n  x.window(Duration::from_secs(30))\n    .reduce_by_key(|a, b| a + b, 4)\n    .count(1)\n}";
        let errs = errors(src);
        let messages: Vec<String> = errs.iter().map(|e| e.message()).collect();
        assert_eq!(
            messages,
            [
                "`window` takes 2 arguments (`window(window, slide)`), but 1 was given",
                "`reduce_by_key` takes 1 argument (`reduce_by_key(f)`), but 2 were given",
                "`count` takes 0 arguments (`count()`), but 1 was given",
            ]
        );
        assert_points_at(&errs[0], src, "window", 0);
        assert_points_at(&errs[1], src, "reduce_by_key", 0);
        assert_points_at(&errs[2], src, "count", 0);
    }

    #[test]
    fn closure_with_the_wrong_number_of_parameters() {
        let src = "fn f(x: DStream<(u8, u8)>) -> DStream<(u8, u8)> { x.reduce_by_key(|a| a) }";
        let errs = errors(src);
        assert_eq!(
            errs[0].message(),
            "the closure passed as `f` to `reduce_by_key` must take 2 parameters, but it takes 1"
        );
        assert_points_at(&errs[0], src, "|a|", 0);
    }

    #[test]
    fn pipeline_without_a_body() {
        let src = "fn empty(x: DStream<u8>) -> DStream<u8> {}\nfn bodiless(x: DStream<u8>) -> DStream<u8>;\nfn only_lets(x: DStream<u8>) -> DStream<u8> { let y = x.map(|v| v); }";
        let errs = errors(src);
        let messages: Vec<String> = errs.iter().map(|e| e.message()).collect();
        assert_eq!(
            messages,
            [
                "pipeline `empty` has no body: expected a chain of operators over its `DStream` parameters, such as `lines.map(|l| l.len())`",
                "pipeline `bodiless` has no body: expected a chain of operators over its `DStream` parameters, such as `lines.map(|l| l.len())`",
                "pipeline `only_lets` has no body: expected a chain of operators over its `DStream` parameters, such as `lines.map(|l| l.len())`",
            ]
        );
        assert_points_at(&errs[0], src, "{}", 0);
        assert_points_at(&errs[1], src, "bodiless", 0);
        assert_points_at(&errs[2], src, "{ let", 0);
    }

    #[test]
    fn parameter_that_is_not_a_dstream() {
        let src = "fn f(lines: DStream<String>, n: Vec<u64>) -> DStream<String> { lines }";
        let errs = errors(src);
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].message(),
            "parameter `n` of a pipeline must be a `DStream<…>`, found `Vec<u64>`"
        );
        assert_points_at(&errs[0], src, "Vec", 0);
    }

    #[test]
    fn borrowed_lines_are_read_in_place_and_the_function_takes_strings() {
        let src = "fn f(lines: ember::DStream<&str>) -> DStream<u64> {\n    lines.flat_map(|l| l.split(' ')).count()\n}";
        assert!(errors(src).is_empty());
        let out = expand(src.parse().unwrap());
        let file: syn::File = syn::parse2(out.clone()).expect("valid Rust");
        let syn::Item::Fn(f) = &file.items[0] else {
            panic!("expected a fn")
        };
        let param = quote::ToTokens::to_token_stream(&f.sig.inputs).to_string();
        assert_eq!(
            param,
            "lines : ember :: DStream < :: std :: string :: String >"
        );
        let text = out.to_string();
        assert!(text.contains("map_partitions_str"), "{text}");
        assert!(!text.contains("map_partitions (move"), "{text}");
        // Only the helper that is used is emitted (no dead code warning).
        assert!(!text.contains("fn __ember_stage <"), "{text}");
    }

    #[test]
    fn borrowed_lines_that_would_leave_their_stage() {
        let src = "fn f(lines: DStream<&str>, other: DStream<String>) -> DStream<String> {\n    let kept = lines.filter(|l| !l.is_empty());\n    other.union(kept).union(lines.window(Duration::from_secs(2), Duration::from_secs(1))).union(g(lines))\n}\nfn g(x: DStream<String>) -> DStream<String> { x }\nfn h(lines: DStream<&str>) -> DStream<String> { lines }\nfn k(lines: DStream<&'static str>) -> DStream<&str> { lines.map(|l| l) }";
        let errs = errors(src);
        let messages: Vec<String> = errs.iter().map(|e| e.message()).collect();
        let leave = |to: &str| {
            format!(
                "the lines of `lines` are borrowed (`DStream<&str>`) and would leave their fused stage {to}: a `DStream<&str>` parameter must be read by element-wise operators that make owned items (`map`, `flat_map`) or end in a combine (`count`, `reduce_by_key`, …); or declare it `DStream<String>`"
            )
        };
        assert_eq!(
            messages,
            [
                "pipeline `k` cannot return a stream of `&str`: borrowed lines live only inside the fused stage that reads them; return owned items, such as `DStream<String>` (`.map(|l| l.to_owned())`)".to_owned(),
            ]
        );
        assert_points_at(&errs[0], src, "&str", 2);
        let src = src.rsplit_once("\nfn k").unwrap().0;
        let errs = errors(src);
        let messages: Vec<String> = errs.iter().map(|e| e.message()).collect();
        assert_eq!(
            messages,
            [
                leave("into `union`"),
                leave("into `window`"),
                leave("into pipeline `g`"),
                leave("as the pipeline's result"),
            ]
        );
        assert_points_at(&errs[0], src, "union", 0);
        assert_points_at(&errs[1], src, "window", 0);
        assert_points_at(&errs[2], src, "g(lines)", 0);
        assert_points_at(&errs[3], src, "lines }", 0);
    }

    #[test]
    fn result_that_is_not_a_dstream() {
        let src = "fn f(lines: DStream<String>) -> Vec<String> { lines }";
        let errs = errors(src);
        assert_eq!(
            errs[0].message(),
            "pipeline `f` must return a `DStream<…>` or a `Result<DStream<…>, StreamingError>`"
        );
        assert_points_at(&errs[0], src, "Vec", 0);
    }

    #[test]
    fn zero_window_or_slide() {
        let src = "fn f(x: DStream<u8>) -> DStream<u8> {\n    x.window(Duration::from_secs(0), Duration::from_millis(500))\n     .count_by_window(Duration::minutes(1), Duration::from_secs(0))\n}";
        let errs = errors(src);
        let messages: Vec<String> = errs.iter().map(|e| e.message()).collect();
        assert_eq!(
            messages,
            [
                "the window duration of `window` must be greater than zero",
                "the slide duration of `count_by_window` must be greater than zero",
            ]
        );
        assert_points_at(&errs[0], src, "Duration::from_secs(0)", 0);
        assert_points_at(&errs[1], src, "Duration::from_secs(0)", 1);
    }

    #[test]
    fn window_not_a_multiple_of_the_parent_slide() {
        let src = "fn f(x: DStream<u8>) -> DStream<u8> {\n    x.window(Duration::from_secs(30), Duration::from_secs(10))\n     .map(|v| v)\n     .window(Duration::from_secs(45), Duration::from_secs(20))\n}";
        let errs = errors(src);
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].kind,
            DiagnosticKind::DurationNotMultiple {
                role: diagnostic::DurationRole::Window,
                operator: "window",
                duration: diagnostic::Millis(45_000),
                parent_slide: diagnostic::Millis(10_000),
            }
        );
        assert_eq!(
            errs[0].message(),
            "the window duration of `window` (45 s) must be a multiple of the parent stream's slide (10 s, set by an earlier window)"
        );
        assert_points_at(&errs[0], src, "Duration::from_secs(45)", 0);
    }

    #[test]
    fn streams_of_different_slides() {
        let src = "fn f(x: DStream<u8>, y: DStream<u8>) -> DStream<u8> {\n    x.window(Duration::from_secs(4), Duration::from_secs(2))\n     .union(y.window(Duration::from_secs(4), Duration::from_secs(4)))\n}";
        let errs = errors(src);
        assert_eq!(
            errs[0].message(),
            "the two streams of `union` must slide at the same interval, but one slides every 2 s and the other every 4 s"
        );
        assert_points_at(&errs[0], src, "union", 0);
    }

    #[test]
    fn names_that_are_not_streams_or_pipelines() {
        let src = "fn f(lines: DStream<String>) -> DStream<String> {\n    lnes.union(other(lines))\n}\nfn g(x: DStream<u8>) -> DStream<u8> { g(x) }";
        let errs = errors(src);
        let messages: Vec<String> = errs.iter().map(|e| e.message()).collect();
        assert_eq!(messages.len(), 3, "{messages:#?}");
        assert!(messages[0].ends_with("did you mean `lines`?"));
        assert_points_at(&errs[0], src, "lnes", 0);
        assert!(messages[1].starts_with("`other` is not a pipeline of this `stream!` block"));
        assert_points_at(&errs[1], src, "other", 0);
        assert_eq!(
            messages[2],
            "pipeline `g` calls itself (g -> g): pipelines cannot be recursive"
        );
        assert_points_at(&errs[2], src, "g(x)", 0);
    }

    #[test]
    fn signatures_and_items_that_are_not_pipelines() {
        let src = "async fn f(x: DStream<u8>) -> DStream<u8> { x }\nfn g((a, b): DStream<u8>) -> DStream<u8> { a }\nconst N: usize = 3;\nfn f(x: DStream<u8>) -> DStream<u8> { x }";
        let messages: Vec<String> = errors(src).iter().map(|e| e.message()).collect();
        assert_eq!(
            messages,
            [
                "a `stream!` block holds only pipeline functions (`fn name(…) -> DStream<…> { … }`)",
                "pipeline `f` is defined more than once in this block",
                "pipeline `f` cannot be `async`",
                "a pipeline parameter must be a plain name, such as `lines: DStream<String>`",
                "`a` is not a stream here: expected a `DStream` parameter or a stream `let` binding",
            ]
        );
    }

    #[test]
    fn syntax_errors_are_diagnostics_not_panics() {
        for src in [
            "fn f(x: DStream<u8>) -> DStream<u8> { x.map(|v| }",
            "fn",
            "fn f(x: DStream<u8>) -> DStream<u8> { x.map(|v| v) } garbage",
            "fn f(x: DStream<u8>) -> DStream<u8> { x.map(|v| v); }",
            "fn f(x: DStream<u8>) -> DStream<u8> { println!(); x }",
            "fn f(x: DStream<u8>) -> DStream<u8> { 42 }",
            "fn f(x: DStream<u8>) -> DStream<u8> { x.join() }",
            "fn f(x: DStream<u8>) -> DStream<u8> { x.union(5) }",
            "fn f(x: DStream<u8>) -> DStream<u8> { (|| x)().map(|v| v) }",
            "fn f(self, x: DStream<u8>) -> DStream<u8> { x }",
        ] {
            let Ok(tokens) = src.parse::<TokenStream>() else {
                continue;
            };
            let out = expand(tokens).to_string();
            assert!(out.contains("compile_error"), "{src}: {out}");
        }
    }

    #[test]
    fn malformed_variants_never_panic() {
        // Every variant of the example with one word (or one character) left
        // out: a diagnostic or an expansion, never a panic.
        let words: Vec<&str> = WORD_COUNT.split_whitespace().collect();
        let mut variants: Vec<String> = (0..words.len())
            .map(|i| {
                let mut w = words.clone();
                w.remove(i);
                w.join(" ")
            })
            .collect();
        variants.extend(WORD_COUNT.char_indices().step_by(7).map(|(i, c)| {
            let mut s = WORD_COUNT.to_owned();
            s.replace_range(i..i + c.len_utf8(), "");
            s
        }));
        for src in variants {
            if let Ok(tokens) = src.parse::<TokenStream>() {
                let _ = expand(tokens);
            }
        }
    }

    /// The plain-API functions of `src`, as [`fallback::emit`] writes them.
    fn fallback_of(src: &str) -> TokenStream {
        let block = parse::parse_block(src.parse().unwrap()).unwrap();
        fallback::emit(&analyze_block(&block).unwrap().pipelines)
    }

    /// Asserts that `out` is valid Rust holding one function per pipeline of
    /// [`WORD_COUNT`], the first its `pub fn word_count` with the doc comment;
    /// returns the names of the other items (the stage loops' modules).
    fn assert_word_count_functions(out: TokenStream) -> Vec<String> {
        let file: syn::File = syn::parse2(out).expect("valid Rust");
        let (fns, others): (Vec<_>, Vec<_>) = file
            .items
            .iter()
            .partition(|item| matches!(item, syn::Item::Fn(_)));
        assert_eq!(fns.len(), 2);
        let syn::Item::Fn(word_count) = fns[0] else {
            panic!("expected a fn")
        };
        assert_eq!(word_count.sig.ident, "word_count");
        assert!(matches!(word_count.vis, syn::Visibility::Public(_)));
        assert_eq!(word_count.attrs.len(), 1, "the doc comment is kept");
        others
            .iter()
            .map(|item| match item {
                syn::Item::Mod(m) => m.ident.to_string(),
                other => panic!("expected a module, got {}", quote::quote!(#other)),
            })
            .collect()
    }

    #[test]
    fn expand_emits_one_function_per_pipeline() {
        let mods = assert_word_count_functions(expand(WORD_COUNT.parse().unwrap()));
        // `word_count`'s fused stage runs from a module of its own;
        // `trending` fuses nothing.
        assert_eq!(mods, ["__ember_word_count_stage0"]);
    }

    #[test]
    fn fallback_emits_the_plain_api_functions() {
        let out = fallback_of(WORD_COUNT);
        assert!(assert_word_count_functions(out.clone()).is_empty());
        let text = out.to_string();
        assert!(
            text.contains(
                "lines . flat_map (| line | line . split (' ')) . filter (| w | ! w . is_empty ()) . map (| w | (w . to_owned () , 1u64)) . reduce_by_key (| a , b | a + b)"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "word_count (:: core :: clone :: Clone :: clone (& lines)) . reduce_by_key_and_window"
            ),
            "{text}"
        );
    }

    #[test]
    fn fallback_passes_other_streams_by_reference() {
        let src = "fn f(a: DStream<(u8, u8)>, b: DStream<(u8, u8)>) -> DStream<(u8, (u8, u8))> {\n  let k = 2;\n  let c = b.map(|(x, y)| (x, y * k));\n  a.union(&c).join(c.filter(|_| true))\n}";
        let text = fallback_of(src).to_string();
        assert!(text.contains("let k = 2 ;"), "{text}");
        assert!(text.contains("let c = b . map"), "{text}");
        assert!(
            text.contains("a . union (& c) . join (& c . filter (| _ | true))"),
            "{text}"
        );
    }

    #[test]
    fn expand_reports_every_error_with_stubs() {
        let src = "pub fn f(x: DStream<u8>) -> DStream<u8> { x.mapp(|v| v) }\nfn g(x: DStream<u8>) -> DStream<u8> { x.filter(|a, b| true) }";
        let tokens: TokenStream = src.parse().unwrap();
        let out = expand(tokens);
        let text = out.to_string();
        assert_eq!(text.matches("compile_error").count(), 2, "{text}");
        assert_eq!(text.matches("unreachable").count(), 2, "{text}");
        // The first error's tokens carry the span of the offending method name.
        let first = out.into_iter().next().unwrap();
        let start = first.span().start();
        assert_eq!((start.line, start.column), position(src, "mapp", 0));
        // The stubs are valid items.
        let stubs = fallback::stubs(&parse::parse_block(src.parse().unwrap()).unwrap());
        let file: syn::File = syn::parse2(stubs).expect("valid Rust");
        assert_eq!(file.items.len(), 2);
    }
}
