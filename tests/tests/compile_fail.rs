//! Misuses of `#[derive(Model)]` fail to compile with a clear message at the offending span.

#[test]
fn derive_misuse_is_a_clear_compile_error() {
    let t = trybuild::TestCases::new();
    t.compile_fail(concat!(env!("CARGO_MANIFEST_DIR"), "/ui/*.rs"));
}
