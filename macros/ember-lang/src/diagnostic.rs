//! Diagnostics: every error the language reports, as a named value with the
//! span of the user's tokens it is about, and [`Ctxt`], the context that collects
//! them all so the user sees every error at once (as serde_derive_internals'
//! `Ctxt` does). [`Diagnostics::to_compile_error`] turns them into
//! `compile_error!` invocations carrying those spans.

use std::cell::RefCell;
use std::fmt;
use std::thread;

use proc_macro2::{Literal, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};

use crate::ops::{self, Arity};

/// One error, with the span of the tokens it is about.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// What went wrong.
    pub kind: DiagnosticKind,
    start: Span,
    end: Span,
}

impl Diagnostic {
    /// An error about the tokens of `tokens` (the span runs from its first to its
    /// last token).
    pub fn spanned_by(tokens: impl ToTokens, kind: DiagnosticKind) -> Self {
        let mut iter = tokens.into_token_stream().into_iter();
        let start = iter.next().map_or_else(Span::call_site, |t| t.span());
        let end = iter.last().map_or(start, |t: TokenTree| t.span());
        Diagnostic { kind, start, end }
    }

    /// An error at `span`.
    pub fn at(span: Span, kind: DiagnosticKind) -> Self {
        Diagnostic {
            kind,
            start: span,
            end: span,
        }
    }

    /// The span the error points at (from the first to the last offending token
    /// where spans can be joined, otherwise the first token's).
    pub fn span(&self) -> Span {
        self.start.join(self.end).unwrap_or(self.start)
    }

    /// The message the user sees.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }

    /// `::core::compile_error! { "message" }`, spanned so that the compiler
    /// underlines the offending tokens.
    pub fn to_compile_error(&self) -> TokenStream {
        let mut message = Literal::string(&self.message());
        message.set_span(self.end);
        let path = quote_spanned!(self.start=> ::core::compile_error!);
        let body = quote_spanned!(self.end=> { #message });
        quote!(#path #body)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl From<syn::Error> for Diagnostics {
    fn from(err: syn::Error) -> Self {
        Diagnostics(
            err.into_iter()
                .map(|e| Diagnostic::at(e.span(), DiagnosticKind::Syntax(e.to_string())))
                .collect(),
        )
    }
}

/// What the `window` or `slide` argument of a window operator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationRole {
    /// The window duration.
    Window,
    /// The slide duration.
    Slide,
}

impl fmt::Display for DurationRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DurationRole::Window => "window",
            DurationRole::Slide => "slide",
        })
    }
}

/// A duration in milliseconds, displayed in the largest whole unit
/// (`30 s`, `2 min`, `1500 ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u128);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms != 0 && ms % 60_000 == 0 {
            write!(f, "{} min", ms / 60_000)
        } else if ms != 0 && ms % 1_000 == 0 {
            write!(f, "{} s", ms / 1_000)
        } else {
            write!(f, "{ms} ms")
        }
    }
}

/// Every error the language reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiagnosticKind {
    /// The block is not valid Rust syntax for a `stream!` block (syn's message).
    Syntax(String),
    /// A method in a chain is not an operator of the language.
    UnknownOperator {
        /// The method name as written.
        name: String,
        /// The nearest operator name, if one is near enough.
        suggestion: Option<&'static str>,
    },
    /// An output operation (`print`, `foreach_rdd`, …) used inside a chain.
    OutputOperation {
        /// The method name as written.
        name: String,
    },
    /// An operator called with the wrong number of arguments.
    WrongArgCount {
        /// The operator.
        operator: &'static str,
        /// Its signature, e.g. `reduce_by_key(f)`.
        signature: String,
        /// How many arguments it takes.
        expected: Arity,
        /// How many were given.
        found: usize,
    },
    /// A closure literal passed as an operator's function takes the wrong number
    /// of parameters.
    ClosureArity {
        /// The operator.
        operator: &'static str,
        /// The argument's name in the operator's signature.
        param: &'static str,
        /// How many parameters the function must take.
        expected: usize,
        /// How many the closure takes.
        found: usize,
    },
    /// A pipeline without a body, or whose body has no result chain.
    EmptyBody {
        /// The pipeline.
        pipeline: String,
    },
    /// A pipeline parameter whose type is not `DStream<…>`.
    ParamNotDStream {
        /// The parameter.
        param: String,
        /// Its type as written.
        ty: String,
    },
    /// A pipeline whose return type is not `DStream<…>`.
    ReturnNotDStream {
        /// The pipeline.
        pipeline: String,
    },
    /// A pipeline whose result is a stream of references
    /// (`DStream<&str>`).
    ReturnBorrowed {
        /// The pipeline.
        pipeline: String,
        /// The element type as written.
        ty: String,
    },
    /// The borrowed lines of a `DStream<&str>` parameter would leave the
    /// fused stage that reads them.
    BorrowedLinesLeave {
        /// The parameter.
        param: String,
        /// Where they would go: the operator, pipeline or result taking
        /// them.
        to: String,
    },
    /// A pipeline parameter that is a pattern rather than a plain name.
    ParamPattern,
    /// A stream `let` binding whose pattern is not a plain name.
    BindingPattern,
    /// A signature feature pipelines do not support (`self`, `async`, …).
    UnsupportedSignature {
        /// The pipeline.
        pipeline: String,
        /// What is not supported.
        what: &'static str,
    },
    /// A statement other than `let` in a pipeline body, or a `let` without an
    /// initializer.
    UnsupportedStatement,
    /// An item other than a `fn` in the block.
    NotAPipeline,
    /// Two pipelines of the block with the same name.
    DuplicatePipeline {
        /// The name.
        name: String,
    },
    /// An expression where a stream is expected that is not a stream chain.
    NotAStream,
    /// A name where a stream is expected that is no parameter or stream binding.
    UnknownStream {
        /// The name.
        name: String,
        /// The nearest stream name in scope, if one is near enough.
        suggestion: Option<String>,
    },
    /// A call, as the start of a chain, of a function that is no pipeline of the
    /// block.
    UnknownPipeline {
        /// The called name.
        name: String,
    },
    /// A pipeline called with the wrong number of streams.
    PipelineArgCount {
        /// The pipeline.
        pipeline: String,
        /// How many parameters it has.
        expected: usize,
        /// How many arguments were given.
        found: usize,
    },
    /// A pipeline that calls itself, directly or through others.
    RecursivePipeline {
        /// The cycle, starting and ending at the same pipeline.
        cycle: Vec<String>,
    },
    /// A window or slide duration that is not a literal, in a pipeline
    /// that returns a plain `DStream` (it could only panic when invalid).
    DurationNeedsResult {
        /// Which one.
        role: DurationRole,
        /// The operator.
        operator: &'static str,
        /// The pipeline.
        pipeline: String,
    },
    /// A pipeline returning a plain `DStream` calls one returning a
    /// `Result`.
    CallNeedsResult {
        /// The calling pipeline.
        pipeline: String,
        /// The pipeline called.
        callee: String,
    },
    /// A literal window or slide duration that is zero.
    DurationNotPositive {
        /// Which one.
        role: DurationRole,
        /// The operator.
        operator: &'static str,
    },
    /// A literal window or slide duration that is not a multiple of the parent
    /// stream's slide, itself a literal of an earlier window.
    DurationNotMultiple {
        /// Which one.
        role: DurationRole,
        /// The operator.
        operator: &'static str,
        /// The duration given.
        duration: Millis,
        /// The parent stream's slide.
        parent_slide: Millis,
    },
    /// The two inputs of a two-input operator slide at different literal
    /// intervals.
    SlideMismatch {
        /// The operator.
        operator: &'static str,
        /// The slide of the receiver.
        left: Millis,
        /// The slide of the other stream.
        right: Millis,
    },
}

impl fmt::Display for DiagnosticKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiagnosticKind::Syntax(message) => f.write_str(message),
            DiagnosticKind::UnknownOperator { name, suggestion } => {
                write!(f, "unknown operator `{name}`")?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean `{s}`?")?;
                }
                let known: Vec<&str> = ops::names().collect();
                write!(f, "\nknown operators: {}", known.join(", "))
            }
            DiagnosticKind::OutputOperation { name } => write!(
                f,
                "`{name}` is an output operation, not an operator: a pipeline returns its \
                 stream, so call `{name}` on the pipeline's result outside `stream!`"
            ),
            DiagnosticKind::WrongArgCount {
                operator,
                signature,
                expected,
                found,
            } => write!(
                f,
                "`{operator}` takes {expected} (`{signature}`), but {found} {} given",
                if *found == 1 { "was" } else { "were" }
            ),
            DiagnosticKind::ClosureArity {
                operator,
                param,
                expected,
                found,
            } => write!(
                f,
                "the closure passed as `{param}` to `{operator}` must take {expected} \
                 parameter{}, but it takes {found}",
                if *expected == 1 { "" } else { "s" }
            ),
            DiagnosticKind::EmptyBody { pipeline } => write!(
                f,
                "pipeline `{pipeline}` has no body: expected a chain of operators over its \
                 `DStream` parameters, such as `lines.map(|l| l.len())`"
            ),
            DiagnosticKind::ParamNotDStream { param, ty } => write!(
                f,
                "parameter `{param}` of a pipeline must be a `DStream<…>`, found `{ty}`"
            ),
            DiagnosticKind::ReturnNotDStream { pipeline } => write!(
                f,
                "pipeline `{pipeline}` must return a `DStream<…>` or a \
                 `Result<DStream<…>, StreamingError>`"
            ),
            DiagnosticKind::ReturnBorrowed { pipeline, ty } => write!(
                f,
                "pipeline `{pipeline}` cannot return a stream of `{ty}`: borrowed lines live only \
                 inside the fused stage that reads them; return owned items, such as \
                 `DStream<String>` (`.map(|l| l.to_owned())`)"
            ),
            DiagnosticKind::BorrowedLinesLeave { param, to } => write!(
                f,
                "the lines of `{param}` are borrowed (`DStream<&str>`) and would leave their fused \
                 stage {to}: a `DStream<&str>` parameter must be read by element-wise operators \
                 that make owned items (`map`, `flat_map`) or end in a combine (`count`, \
                 `reduce_by_key`, …); or declare it `DStream<String>`"
            ),
            DiagnosticKind::ParamPattern => {
                f.write_str("a pipeline parameter must be a plain name, such as `lines: DStream<String>`")
            }
            DiagnosticKind::BindingPattern => f.write_str(
                "a stream `let` binding must bind a plain name, such as `let words = lines.flat_map(…);`",
            ),
            DiagnosticKind::UnsupportedSignature { pipeline, what } => {
                write!(f, "pipeline `{pipeline}` cannot be {what}")
            }
            DiagnosticKind::UnsupportedStatement => f.write_str(
                "a pipeline body holds only `let` bindings (`let name = chain;` or a plain value) \
                 followed by the result chain",
            ),
            DiagnosticKind::NotAPipeline => {
                f.write_str("a `stream!` block holds only pipeline functions (`fn name(…) -> DStream<…> { … }`)")
            }
            DiagnosticKind::DuplicatePipeline { name } => {
                write!(f, "pipeline `{name}` is defined more than once in this block")
            }
            DiagnosticKind::NotAStream => f.write_str(
                "expected a stream: a `DStream` parameter, a stream `let` binding, a call of a \
                 pipeline of this block, or a chain of operators on one of those",
            ),
            DiagnosticKind::UnknownStream { name, suggestion } => {
                write!(
                    f,
                    "`{name}` is not a stream here: expected a `DStream` parameter or a stream `let` binding"
                )?;
                if let Some(s) = suggestion {
                    write!(f, "; did you mean `{s}`?")?;
                }
                Ok(())
            }
            DiagnosticKind::UnknownPipeline { name } => write!(
                f,
                "`{name}` is not a pipeline of this `stream!` block (a chain may start at a \
                 parameter, a stream binding or a call of a pipeline of the same block)"
            ),
            DiagnosticKind::PipelineArgCount {
                pipeline,
                expected,
                found,
            } => write!(
                f,
                "pipeline `{pipeline}` takes {expected} stream{}, but {found} {} given",
                if *expected == 1 { "" } else { "s" },
                if *found == 1 { "was" } else { "were" }
            ),
            DiagnosticKind::RecursivePipeline { cycle } => write!(
                f,
                "pipeline `{}` calls itself ({}): pipelines cannot be recursive",
                cycle.first().map_or("", String::as_str),
                cycle.join(" -> ")
            ),
            DiagnosticKind::DurationNeedsResult {
                role,
                operator,
                pipeline,
            } => write!(
                f,
                "the {role} duration of `{operator}` is not a literal, so it can only be checked \
                 when the pipeline is built: declare `{pipeline}` to return \
                 `Result<DStream<…>, StreamingError>` (or `StreamResult<…>`) to get that error \
                 as a value"
            ),
            DiagnosticKind::CallNeedsResult { pipeline, callee } => write!(
                f,
                "pipeline `{callee}` returns a `Result`: declare `{pipeline}` to return \
                 `Result<DStream<…>, StreamingError>` (or `StreamResult<…>`) too"
            ),
            DiagnosticKind::DurationNotPositive { role, operator } => {
                write!(f, "the {role} duration of `{operator}` must be greater than zero")
            }
            DiagnosticKind::DurationNotMultiple {
                role,
                operator,
                duration,
                parent_slide,
            } => write!(
                f,
                "the {role} duration of `{operator}` ({duration}) must be a multiple of the \
                 parent stream's slide ({parent_slide}, set by an earlier window)"
            ),
            DiagnosticKind::SlideMismatch {
                operator,
                left,
                right,
            } => write!(
                f,
                "the two streams of `{operator}` must slide at the same interval, but one \
                 slides every {left} and the other every {right}"
            ),
        }
    }
}

/// A non-empty list of diagnostics: what a failed analysis returns.
#[derive(Debug, Clone)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// The diagnostics, in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never the case for one returned by the crate).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages, in order.
    pub fn messages(&self) -> Vec<String> {
        self.0.iter().map(Diagnostic::message).collect()
    }

    /// One `compile_error!` per diagnostic, so the compiler reports them all.
    pub fn to_compile_error(&self) -> TokenStream {
        self.0.iter().map(Diagnostic::to_compile_error).collect()
    }

    /// The diagnostics as a `Vec`.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "error: {d}")?;
        }
        Ok(())
    }
}

/// Collects the errors of one analysis. Every phase reports into it and goes on,
/// so that one run reports every error; [`Ctxt::check`] ends the analysis.
///
/// Dropping a `Ctxt` that still holds errors without calling `check` is a bug in
/// this crate and panics (as serde's does), so no error is ever lost.
#[derive(Debug)]
pub struct Ctxt {
    errors: RefCell<Option<Vec<Diagnostic>>>,
}

impl Ctxt {
    /// A fresh context with no errors.
    pub fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error about the tokens of `tokens`.
    pub fn error_spanned_by(&self, tokens: impl ToTokens, kind: DiagnosticKind) {
        self.push(Diagnostic::spanned_by(tokens, kind));
    }

    /// Records an error at `span`.
    pub fn error_at(&self, span: Span, kind: DiagnosticKind) {
        self.push(Diagnostic::at(span, kind));
    }

    /// Records a syn error (each of its messages).
    pub fn syn_error(&self, err: syn::Error) {
        for d in Diagnostics::from(err) {
            self.push(d);
        }
    }

    /// Records a diagnostic.
    pub fn push(&self, diagnostic: Diagnostic) {
        if let Some(errors) = self.errors.borrow_mut().as_mut() {
            errors.push(diagnostic);
        }
    }

    /// Whether any error was recorded so far.
    pub fn has_errors(&self) -> bool {
        self.errors.borrow().as_ref().is_some_and(|e| !e.is_empty())
    }

    /// Ends the analysis: `Ok` if no error was recorded, else every error.
    pub fn check(self) -> Result<(), Diagnostics> {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Diagnostics(errors))
        }
    }
}

impl Default for Ctxt {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        let unchecked = self.errors.borrow().as_ref().is_some_and(|e| !e.is_empty());
        if unchecked && !thread::panicking() {
            panic!("ember-lang: a Ctxt holding errors was dropped without `check`");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_error_and_emits_one_compile_error_each() {
        let cx = Ctxt::new();
        assert!(!cx.has_errors());
        cx.error_at(Span::call_site(), DiagnosticKind::NotAStream);
        cx.error_spanned_by(
            quote!(a b c),
            DiagnosticKind::EmptyBody {
                pipeline: "p".into(),
            },
        );
        assert!(cx.has_errors());
        let errors = cx.check().unwrap_err();
        assert_eq!(errors.len(), 2);
        let tokens = errors.to_compile_error().to_string();
        assert_eq!(tokens.matches("compile_error").count(), 2);
        assert!(tokens.contains("pipeline `p` has no body"), "{tokens}");
    }

    #[test]
    fn empty_context_checks_ok() {
        assert!(Ctxt::new().check().is_ok());
    }

    #[test]
    fn millis_display() {
        assert_eq!(Millis(30_000).to_string(), "30 s");
        assert_eq!(Millis(120_000).to_string(), "2 min");
        assert_eq!(Millis(1_500).to_string(), "1500 ms");
        assert_eq!(Millis(0).to_string(), "0 ms");
    }
}
