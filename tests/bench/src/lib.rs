//! The benchmark harness behind `cargo xtask bench`. It measures dynox side by side with what a
//! service would otherwise use, in one process and interleaved, and reports ratios (min and
//! median over rounds), because absolute figures on a shared machine mean little:
//! - [`codec`]: the 20-attribute model through the derive, serde_dynamo and hand-written code;
//! - [`client`]: client CPU per request against a loopback server that answers at once;
//! - [`engine`]: 100,000-item batch writes, paginated queries and scans on the embedded engine,
//!   each in a child process, with its peak memory.
//!
//! The quick mode runs the same code paths with small counts; the test suite runs it as a smoke
//! test, asserting what was measured, never how fast.

pub mod alloc;
pub mod canned;
pub mod client;
pub mod codec;
pub mod engine;
pub mod harness;
pub mod models;
pub mod report;

use harness::Plan;
use report::Report;
use std::path::Path;
use std::time::Duration;

/// How big a run is.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Rounds of the in-process comparisons.
    pub rounds: usize,
    /// Wall time one variant's batch aims at.
    pub batch: Duration,
    /// Rounds of the engine cases (each a child process per case).
    pub engine_rounds: usize,
    /// Items in the engine cases.
    pub items: u64,
    /// `quick` or `full`.
    pub mode: &'static str,
    /// Only this group (`codec`, `client`, `engine`); all when `None`.
    pub only: Option<&'static str>,
}

impl Options {
    /// The full run: 100,000 items.
    pub fn full() -> Options {
        Options {
            rounds: 41,
            batch: Duration::from_millis(20),
            engine_rounds: 5,
            items: 100_000,
            mode: "full",
            only: None,
        }
    }

    /// The smoke run of the test suite: every code path, small counts, no timing claims.
    pub fn quick() -> Options {
        Options {
            rounds: 3,
            batch: Duration::from_millis(2),
            engine_rounds: 1,
            items: 500,
            mode: "quick",
            only: None,
        }
    }
}

/// Runs everything; `exe` is this harness's binary (the engine cases run it as a child).
pub fn run(options: Options, exe: &Path) -> Report {
    let plan = Plan {
        rounds: options.rounds,
        batch: options.batch,
    };
    // A request costs tens of microseconds: longer batches steady its figure.
    let client_plan = Plan {
        rounds: options.rounds,
        batch: options.batch,
    };
    let wanted = |group: &str| options.only.is_none_or(|g| g == group);
    let mut rows = Vec::new();
    if wanted("codec") {
        rows.extend(codec::run(plan));
    }
    if wanted("client") {
        rows.extend(client::run(client_plan));
    }
    if wanted("engine") {
        rows.extend(engine::run(exe, options.engine_rounds, options.items));
    }
    Report {
        mode: options.mode,
        rounds: options.rounds,
        items: options.items,
        rows,
    }
}
