//! Compile tests: each diagnostic of `stream!` points at the user's tokens
//! (the `.stderr` files beside the cases in `ui/` are the expected output),
//! and the programs in `ui-pass/` compile and run as written (no type
//! annotations a user should not need).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui-pass/*.rs");
}
