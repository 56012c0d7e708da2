//! Compile-time checks of window and slide durations.
//!
//! A stream's batch interval is only known at run time, so the macro checks what
//! literal durations make checkable and leaves the rest to the runtime (which
//! reports a violation when the pipeline is defined, not while it runs). A
//! *literal duration* is `Duration::from_millis(n)`, `Duration::from_secs(n)` or
//! `Duration::minutes(n)` with an integer literal `n` (any path ending in
//! `Duration::…`, parentheses allowed); anything else is not checked.
//!
//! What is checked:
//! 1. A literal window or slide duration must be greater than zero.
//! 2. Every stream gets a *known slide* when it has one at compile time: a
//!    window operator with a literal slide gives its output that slide; any
//!    other operator keeps its input's (the receiver's, for two-input operators,
//!    or the other input's when the receiver's is unknown); a parameter's is
//!    unknown (it is the batch interval or whatever the caller passes), and a
//!    pipeline call's is that of the callee's result, with the callee's
//!    parameters replaced by the call's arguments.
//! 3. A literal window or slide duration must be a multiple of its parent
//!    stream's slide, when that is known (Spark's rule, checkable here when an
//!    earlier window in the chain has a literal slide).
//! 4. The two inputs of a two-input operator (`union`, joins, `cogroup`,
//!    `transform_with`) must slide at the same interval, when both are known.

use syn::{Expr, Lit};

use crate::diagnostic::{Ctxt, DiagnosticKind, DurationRole, Millis};
use crate::ir::{NodeKind, Pipeline, Program};
use crate::parse::strip_group;

/// What is known at compile time about a stream's slide interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slide {
    /// Not known (a non-literal duration, or a parameter of unknown origin).
    Unknown,
    /// The slide of the pipeline parameter at this position.
    Param(usize),
    /// A literal duration, in milliseconds.
    Literal(u128),
}

/// The value in milliseconds of a literal duration: `Duration::from_millis(n)`,
/// `Duration::from_secs(n)` or `Duration::minutes(n)` with an integer literal
/// `n`. `None` for anything else (or for a value that overflows).
pub fn literal_millis(expr: &Expr) -> Option<u128> {
    let expr = match strip_group(expr) {
        Expr::Paren(p) => return literal_millis(&p.expr),
        other => other,
    };
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(func) = strip_group(&call.func) else {
        return None;
    };
    let segments: Vec<String> = func
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let [.., ty, ctor] = segments.as_slice() else {
        return None;
    };
    if ty != "Duration" {
        return None;
    }
    let unit: u128 = match ctor.as_str() {
        "from_millis" => 1,
        "from_secs" => 1_000,
        "minutes" => 60_000,
        _ => return None,
    };
    let mut args = call.args.iter();
    let (Some(arg), None) = (args.next(), args.next()) else {
        return None;
    };
    let Expr::Lit(lit) = strip_group(arg) else {
        return None;
    };
    let Lit::Int(int) = &lit.lit else { return None };
    int.base10_parse::<u128>().ok()?.checked_mul(unit)
}

/// Runs the duration checks over every pipeline, reporting into `cx`.
pub fn check(cx: &Ctxt, program: &Program) {
    let mut checker = Checker {
        cx,
        program,
        summaries: vec![Summary::NotStarted; program.pipelines.len()],
    };
    for i in 0..program.pipelines.len() {
        checker.summary(i);
    }
}

/// The output slide of each pipeline, in terms of its own parameters (for
/// callers), and the same checks as [`check`] without reporting.
pub fn output_slides(program: &Program) -> Vec<Slide> {
    let cx = Ctxt::new();
    let mut checker = Checker {
        cx: &cx,
        program,
        summaries: vec![Summary::NotStarted; program.pipelines.len()],
    };
    let slides = (0..program.pipelines.len())
        .map(|i| checker.summary(i))
        .collect();
    // The errors were (or will be) reported by `check`.
    let _ = cx.check();
    slides
}

#[derive(Clone, Copy)]
enum Summary {
    NotStarted,
    InProgress,
    Done(Slide),
}

struct Checker<'a> {
    cx: &'a Ctxt,
    program: &'a Program,
    summaries: Vec<Summary>,
}

impl Checker<'_> {
    /// The slide of pipeline `i`'s result, checking the pipeline on first use.
    fn summary(&mut self, i: usize) -> Slide {
        match self.summaries[i] {
            Summary::Done(slide) => return slide,
            // Recursion, reported by lowering.
            Summary::InProgress => return Slide::Unknown,
            Summary::NotStarted => {}
        }
        self.summaries[i] = Summary::InProgress;
        let program = self.program;
        let slide = self.pipeline(&program.pipelines[i]);
        self.summaries[i] = Summary::Done(slide);
        slide
    }

    fn pipeline(&mut self, pipeline: &Pipeline) -> Slide {
        let fallible = pipeline.returns_result;
        // A plain-`DStream` pipeline's name: its durations must be literals.
        let plain = (!fallible).then(|| pipeline.name.to_string());
        // Inputs precede their node, so one pass in order sees every input first.
        let mut slides: Vec<Slide> = Vec::with_capacity(pipeline.nodes.len());
        for node in &pipeline.nodes {
            let slide = match &node.kind {
                NodeKind::Param { index, .. } => Slide::Param(*index),
                NodeKind::Call {
                    pipeline: callee,
                    args,
                    name,
                } => {
                    if !fallible && self.program.pipelines[*callee].returns_result {
                        self.cx.error_at(
                            node.span,
                            DiagnosticKind::CallNeedsResult {
                                pipeline: pipeline.name.to_string(),
                                callee: name.to_string(),
                            },
                        );
                    }
                    match self.summary(*callee) {
                        Slide::Param(j) => args.get(j).map_or(Slide::Unknown, |a| slides[a.0]),
                        other => other,
                    }
                }
                NodeKind::Op(op) => {
                    let parent = slides[op.inputs[0].0];
                    if let Some((window, slide)) = op.window_and_slide() {
                        let name = op.op.name;
                        self.duration(DurationRole::Window, window, name, parent, plain.as_deref());
                        match self.duration(
                            DurationRole::Slide,
                            slide,
                            name,
                            parent,
                            plain.as_deref(),
                        ) {
                            Some(ms) if ms > 0 => Slide::Literal(ms),
                            _ => Slide::Unknown,
                        }
                    } else if let Some(other) = op.inputs.get(1) {
                        let other = slides[other.0];
                        match (parent, other) {
                            (Slide::Literal(l), Slide::Literal(r)) if l != r => {
                                self.cx.error_at(
                                    node.span,
                                    DiagnosticKind::SlideMismatch {
                                        operator: op.op.name,
                                        left: Millis(l),
                                        right: Millis(r),
                                    },
                                );
                                parent
                            }
                            (Slide::Unknown, other) => other,
                            (parent, _) => parent,
                        }
                    } else {
                        parent
                    }
                }
            };
            slides.push(slide);
        }
        pipeline.output.map_or(Slide::Unknown, |out| slides[out.0])
    }

    /// Checks one window or slide argument; returns its literal value.
    /// `plain` names the pipeline when it returns a plain `DStream`: a
    /// non-literal duration is then an error (it could only panic).
    fn duration(
        &self,
        role: DurationRole,
        expr: &Expr,
        operator: &'static str,
        parent: Slide,
        plain: Option<&str>,
    ) -> Option<u128> {
        let Some(ms) = literal_millis(expr) else {
            if let Some(pipeline) = plain {
                self.cx.error_spanned_by(
                    expr,
                    DiagnosticKind::DurationNeedsResult {
                        role,
                        operator,
                        pipeline: pipeline.to_owned(),
                    },
                );
            }
            return None;
        };
        if ms == 0 {
            self.cx
                .error_spanned_by(expr, DiagnosticKind::DurationNotPositive { role, operator });
        } else if let Slide::Literal(parent_ms) = parent {
            if ms % parent_ms != 0 {
                self.cx.error_spanned_by(
                    expr,
                    DiagnosticKind::DurationNotMultiple {
                        role,
                        operator,
                        duration: Millis(ms),
                        parent_slide: Millis(parent_ms),
                    },
                );
            }
        }
        Some(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ir, parse};
    use quote::quote;

    fn run(tokens: proc_macro2::TokenStream) -> (Vec<Slide>, Vec<String>) {
        let block = parse::parse_block(tokens).unwrap();
        let cx = Ctxt::new();
        let defs = parse::pipelines(&cx, &block);
        let program = ir::lower(&cx, &defs);
        check(&cx, &program);
        let errors = cx.check().err().map(|d| d.messages()).unwrap_or_default();
        (output_slides(&program), errors)
    }

    #[test]
    fn literal_durations() {
        let ms = |e: Expr| literal_millis(&e);
        assert_eq!(ms(syn::parse_quote!(Duration::from_secs(30))), Some(30_000));
        assert_eq!(
            ms(syn::parse_quote!(Duration::from_millis(1_500))),
            Some(1_500)
        );
        assert_eq!(
            ms(syn::parse_quote!(ember::Duration::minutes(2u64))),
            Some(120_000)
        );
        assert_eq!(ms(syn::parse_quote!((Duration::from_secs(1)))), Some(1_000));
        assert_eq!(ms(syn::parse_quote!(Duration::from_secs(n))), None);
        assert_eq!(ms(syn::parse_quote!(Duration::hours(1))), None);
        assert_eq!(
            ms(syn::parse_quote!(std::time::Instant::from_secs(1))),
            None
        );
        assert_eq!(ms(syn::parse_quote!(slide)), None);
    }

    #[test]
    fn slides_flow_through_chains_and_calls() {
        let (slides, errors) = run(quote! {
            fn plain(x: DStream<u64>) -> DStream<u64> { x.map(|v| v).count() }
            fn windowed(x: DStream<u64>) -> DStream<u64> {
                x.window(Duration::from_secs(30), Duration::from_secs(10)).map(|v| v)
            }
            fn nested(x: DStream<u64>) -> DStream<u64> {
                windowed(x).count_by_window(Duration::minutes(1), Duration::from_secs(20))
            }
            fn dynamic(x: DStream<u64>, s: DStream<u64>) -> StreamResult<u64> {
                plain(s).window(w(), slide())
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            slides,
            [
                Slide::Param(0),
                Slide::Literal(10_000),
                Slide::Literal(20_000),
                Slide::Unknown
            ]
        );
    }

    #[test]
    fn non_literal_durations_need_a_result() {
        let (_, errors) = run(quote! {
            fn dynamic(x: DStream<u64>) -> DStream<u64> {
                x.window(w(), Duration::from_secs(1))
            }
            fn fallible(x: DStream<u64>) -> Result<DStream<u64>, StreamingError> {
                x.window(w(), slide())
            }
            fn caller(x: DStream<u64>) -> DStream<u64> {
                fallible(x).count()
            }
        });
        assert_eq!(
            errors,
            [
                "the window duration of `window` is not a literal, so it can only be checked \
                 when the pipeline is built: declare `dynamic` to return \
                 `Result<DStream<…>, StreamingError>` (or `StreamResult<…>`) to get that error \
                 as a value",
                "pipeline `fallible` returns a `Result`: declare `caller` to return \
                 `Result<DStream<…>, StreamingError>` (or `StreamResult<…>`) too",
            ]
        );
    }

    #[test]
    fn zero_durations() {
        let (_, errors) = run(quote! {
            fn f(x: DStream<u64>) -> DStream<u64> {
                x.window(Duration::from_secs(0), Duration::from_millis(0))
            }
        });
        assert_eq!(
            errors,
            [
                "the window duration of `window` must be greater than zero",
                "the slide duration of `window` must be greater than zero",
            ]
        );
    }

    #[test]
    fn multiples_of_the_parent_slide_across_pipelines() {
        let (_, errors) = run(quote! {
            fn a(x: DStream<u64>) -> DStream<u64> {
                x.window(Duration::from_secs(30), Duration::from_secs(10))
            }
            fn b(x: DStream<u64>) -> DStream<u64> {
                a(x).reduce_by_window(|a, b| a + b, Duration::from_secs(45), Duration::from_secs(25))
                    .window(Duration::from_secs(60), Duration::from_secs(50))
            }
        });
        assert_eq!(
            errors,
            [
                "the window duration of `reduce_by_window` (45 s) must be a multiple of the parent stream's slide (10 s, set by an earlier window)",
                "the slide duration of `reduce_by_window` (25 s) must be a multiple of the parent stream's slide (10 s, set by an earlier window)",
                "the window duration of `window` (1 min) must be a multiple of the parent stream's slide (25 s, set by an earlier window)",
            ]
        );
    }

    #[test]
    fn two_inputs_must_slide_alike() {
        let (_, errors) = run(quote! {
            fn f(x: DStream<u64>, y: DStream<u64>) -> DStream<u64> {
                let a = x.window(Duration::from_secs(4), Duration::from_secs(2));
                let b = y.window(Duration::from_secs(6), Duration::from_secs(3));
                a.union(b).union(x).union(a)
            }
        });
        assert_eq!(
            errors,
            [
                "the two streams of `union` must slide at the same interval, but one slides every 2 s and the other every 3 s"
            ]
        );
    }
}
