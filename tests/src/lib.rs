//! Workspace-level end-to-end tests for dynox live in `tests/tests/`. This library makes the
//! README and every page of the guide doc tests, so each snippet keeps compiling and, where it
//! can run without AWS, runs against the embedded engine (`tests/tests/guide.rs` checks that no
//! page is left out and that no snippet is skipped).

#[doc = include_str!("../../README.md")]
#[allow(dead_code)]
mod readme {}

/// The guide's pages (`docs/src`), one module each.
#[cfg(doctest)]
mod guide {
    #[doc = include_str!("../../docs/src/introduction.md")]
    mod introduction {}
    #[doc = include_str!("../../docs/src/getting-started.md")]
    mod getting_started {}
    #[doc = include_str!("../../docs/src/client.md")]
    mod client {}
    #[doc = include_str!("../../docs/src/models.md")]
    mod models {}
    #[doc = include_str!("../../docs/src/model-layer.md")]
    mod model_layer {}
    #[doc = include_str!("../../docs/src/items.md")]
    mod items {}
    #[doc = include_str!("../../docs/src/expressions.md")]
    mod expressions {}
    #[doc = include_str!("../../docs/src/queries.md")]
    mod queries {}
    #[doc = include_str!("../../docs/src/batches.md")]
    mod batches {}
    #[doc = include_str!("../../docs/src/transactions.md")]
    mod transactions {}
    #[doc = include_str!("../../docs/src/partiql.md")]
    mod partiql {}
    #[doc = include_str!("../../docs/src/vectors.md")]
    mod vectors {}
    #[doc = include_str!("../../docs/src/streams.md")]
    mod streams {}
    #[doc = include_str!("../../docs/src/leases.md")]
    mod leases {}
    #[doc = include_str!("../../docs/src/s3.md")]
    mod s3 {}
    #[doc = include_str!("../../docs/src/tables.md")]
    mod tables {}
    #[doc = include_str!("../../docs/src/encryption.md")]
    mod encryption {}
    #[doc = include_str!("../../docs/src/resilience.md")]
    mod resilience {}
    #[doc = include_str!("../../docs/src/performance.md")]
    mod performance {}
    #[doc = include_str!("../../docs/src/observability.md")]
    mod observability {}
    #[doc = include_str!("../../docs/src/errors.md")]
    mod errors {}
    #[doc = include_str!("../../docs/src/iam.md")]
    mod iam {}
    #[doc = include_str!("../../docs/src/testing.md")]
    mod testing {}
    #[doc = include_str!("../../docs/src/containers.md")]
    mod containers {}
    #[doc = include_str!("../../docs/architecture.md")]
    mod architecture {}
}
