//! Compile-fail tests: each diagnostic of `stream!` points at the user's
//! tokens (the `.stderr` files beside the cases are the expected output).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
