//! The pipeline block the unit tests of several modules (parser, planner,
//! emitter, `expand`) run on: the crate's running example.

use proc_macro2::TokenStream;

/// `word_count` (with its doc comment) and `trending`, which calls it under
/// a window, as source text: parsed from text, its tokens' spans have real
/// lines and columns.
pub(crate) const WORD_COUNT: &str = r#"
        /// Counts words in each batch.
        pub fn word_count(lines: DStream<String>) -> DStream<(String, u64)> {
            lines
                .flat_map(|line| line.split(' '))
                .filter(|w| !w.is_empty())
                .map(|w| (w.to_owned(), 1u64))
                .reduce_by_key(|a, b| a + b)
        }

        pub fn trending(lines: DStream<String>) -> DStream<(String, u64)> {
            word_count(lines).reduce_by_key_and_window(|a, b| a + b, Duration::from_secs(30), Duration::from_secs(10))
        }
    "#;

/// [`WORD_COUNT`] as tokens.
pub(crate) fn word_count_tokens() -> TokenStream {
    WORD_COUNT.parse().expect("WORD_COUNT tokenizes")
}
