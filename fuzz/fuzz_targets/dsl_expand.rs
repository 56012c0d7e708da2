//! Fuzz target: the `stream!` language on arbitrary source text.
//!
//! The input, if it is UTF-8 and tokenizes as Rust, is handed to
//! `ember_lang::expand` exactly as the proc-macro would hand it the block's
//! tokens. Invariants: nothing panics, whatever the block holds (malformed
//! pipelines, unknown operators, wrong arities, cycles between pipelines);
//! the result is always a token stream (the fused code or `compile_error!`s),
//! and analysing the same input twice gives the same verdict.
//! Seeds: `fuzz/seeds/dsl_expand/` (README).

#![no_main]

use libfuzzer_sys::fuzz_target;
use proc_macro2::TokenStream;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tokens) = text.parse::<TokenStream>() else {
        return;
    };
    let first = ember_lang::analyze(tokens.clone()).is_ok();
    let again = ember_lang::analyze(tokens.clone()).is_ok();
    assert_eq!(first, again, "analysis is not deterministic");
    let expanded = ember_lang::expand(tokens);
    // Emitted code is itself well-formed tokens: it prints and re-parses.
    let printed = expanded.to_string();
    assert!(
        printed.parse::<TokenStream>().is_ok(),
        "expansion does not re-tokenize: {printed}"
    );
});
