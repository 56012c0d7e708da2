//! The `stream!` procedural macro of ember. This crate is a thin shell: it
//! finds how the calling crate reaches the DStream library (through the
//! facade, the package `ember-streaming` whose library is `ember`, or
//! `ember-dstream` directly) and hands the tokens to
//! [`ember_lang::expand_with`], where parsing, checking, planning and code
//! generation live (and are tested).

use proc_macro::TokenStream;
use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Ident, Span};

/// Declares pipelines: functions from `DStream` parameters to a `DStream`
/// whose bodies are chains of DStream operators, compiled into fused,
/// per-partition loops (see the `ember-lang` crate for the language).
///
/// ```ignore
/// ember::stream! {
///     pub fn word_count(lines: DStream<String>) -> DStream<(String, u64)> {
///         lines
///             .flat_map(|line| line.split(' '))
///             .filter(|w| !w.is_empty())
///             .map(|w| (w.to_owned(), 1u64))
///             .reduce_by_key(|a, b| a + b)
///     }
/// }
/// ```
#[proc_macro]
pub fn stream(input: TokenStream) -> TokenStream {
    ember_lang::expand_with(input.into(), &runtime_path()).into()
}

/// The facade's package name; its library (what code names) is [`FACADE_LIB`].
const FACADE_PACKAGE: &str = "ember-streaming";
/// The facade's library name (`[lib] name` of [`FACADE_PACKAGE`]).
const FACADE_LIB: &str = "ember";

/// The path of the `ember-dstream` API as the calling crate sees it.
fn runtime_path() -> ember_lang::codegen::Runtime {
    let ident = |name: &str| Ident::new(&name.replace('-', "_"), Span::call_site());
    match crate_name(FACADE_PACKAGE) {
        // A dependency under the package's own name (or the facade's own
        // tests and benches) reaches the library by its library name;
        // a renamed dependency (`my_ember = { package = "ember-streaming" }`)
        // by the new name.
        Ok(FoundCrate::Name(name)) if name == FACADE_PACKAGE.replace('-', "_") => {
            ember_lang::codegen::Runtime::facade(ident(FACADE_LIB))
        }
        Ok(FoundCrate::Name(name)) => ember_lang::codegen::Runtime::facade(ident(&name)),
        Ok(FoundCrate::Itself) => ember_lang::codegen::Runtime::facade(ident(FACADE_LIB)),
        Err(_) => match crate_name("ember-dstream") {
            Ok(FoundCrate::Name(name)) => ember_lang::codegen::Runtime::direct(ident(&name)),
            _ => ember_lang::codegen::Runtime::direct(ident("ember_dstream")),
        },
    }
}
