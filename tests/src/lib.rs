//! Workspace-level end-to-end tests for dynox live in `tests/tests/`; this library only makes the
//! README's example a doctest, so it keeps compiling.

#[doc = include_str!("../../README.md")]
#[allow(dead_code)]
mod readme {}
