//! The `stream!` pipeline language as a plain library (work in progress: see the macro issue).
