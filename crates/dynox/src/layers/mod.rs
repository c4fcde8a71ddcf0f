//! The layers every request passes on its way out, one file each, composed in one place
//! (`stack`).
//!
//! ```text
//! Client::send
//!   -> deadline       the operation timeout: one bound on everything below
//!   -> shed           concurrency limit; fail fast while everything is throttled
//!   -> hot_partition  counts reads and writes per partition key (never delays)
//!   -> retry          the one retry policy: attempts, backoff, budget, idempotency
//!   -> rate_limit     token buckets per table and client-wide, charged per attempt
//!   -> attempt        the attempt timeout: time on the wire only
//!   -> Rename         logical -> deployed table names (rename.rs)
//!   -> Dispatch       the only SDK send() (send.rs)
//! ```
//!
//! The deadline is outermost so it bounds waiting for a slot, for capacity and between
//! attempts too; shedding comes next so a refused request costs nothing below it; the detector
//! counts logical requests, not attempts; the limiter is below the retries so every attempt is
//! paid for and throttles seen by any attempt slow the bucket; the attempt timeout is below the
//! limiter so waiting for capacity never looks like a lost answer; renaming is innermost, so
//! every layer sees the logical names the policy and the metrics use.

pub mod attempt;
pub mod classify;
pub mod deadline;
pub mod hot_partition;
pub mod rate_limit;
pub mod retry;
pub mod shed;

use crate::send::{Dispatch, Stack};
use std::sync::Arc;
use std::time::Duration;

pub use hot_partition::{HotPartition, HotPartitions, Thresholds};
pub use rate_limit::{AdaptiveRate, BucketState, FixedRate, RateLimit, RateLimits};
pub use retry::{BudgetConfig, RetryPolicy};
pub use shed::Shedding;

/// The default connect timeout: 2 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The default bound on one attempt: 4 s (DynamoDB answers in milliseconds; a stalled answer
/// is cut off and, where that is safe, sent again).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
/// The default bound on a request, all attempts and pauses included: 12 s.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

/// How long to wait. Every timeout surfaces as an error whose `is_timeout()` is true.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// For a connection (default 2 s). A request that could not connect never left, so it is
    /// retried even when it writes.
    pub connect: Option<Duration>,
    /// For one attempt's answer (default 4 s).
    pub attempt: Option<Duration>,
    /// For a whole request, all attempts and pauses included (default 12 s).
    pub operation: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Some(DEFAULT_CONNECT_TIMEOUT),
            attempt: Some(DEFAULT_ATTEMPT_TIMEOUT),
            operation: Some(DEFAULT_OPERATION_TIMEOUT),
        }
    }
}

/// How a client survives failures and load: retries, timeouts, rate limits, hot-partition
/// detection and load shedding. Every client has the defaults; change them with
/// [`Client::with_resilience`](crate::Client::with_resilience) or the builder.
///
/// ```no_run
/// # async fn f() {
/// use dynox::layers::*;
/// use std::time::Duration;
/// let client = dynox::Client::builder()
///     .region("eu-west-1")
///     .resilience(Resilience {
///         retry: RetryPolicy::default(), // AWS's DynamoDB defaults
///         timeouts: Timeouts {
///             connect: Some(Duration::from_secs(1)),
///             ..Timeouts::default()
///         },
///         rate_limits: Some(
///             RateLimits::client(RateLimit::Adaptive(AdaptiveRate::writes(2_000.0))).table(
///                 "orders",
///                 RateLimit::Fixed(FixedRate { rcu: Some(500.0), wcu: Some(200.0), burst: None }),
///             ),
///         ),
///         hot_partitions: Some(HotPartitions::default().on_hot(|h| eprintln!("hot: {h:?}"))),
///         shedding: Shedding { max_concurrency: Some(256), fail_fast_when_throttled: true },
///     })
///     .build()
///     .await;
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Resilience {
    /// How failed requests are retried.
    pub retry: RetryPolicy,
    /// How long to wait.
    pub timeouts: Timeouts,
    /// Client-side limits on consumed capacity (none by default).
    pub rate_limits: Option<RateLimits>,
    /// Hot-partition detection (off by default).
    pub hot_partitions: Option<HotPartitions>,
    /// Load shedding (off by default).
    pub shedding: Shedding,
}

/// What the layers of one client share across its clones: the retry budget, the limiter's
/// buckets, the detector's counts.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Resilience,
    pub(crate) budget: Arc<retry::Budget>,
    pub(crate) limiter: Option<Arc<rate_limit::Limiter>>,
    pub(crate) detector: Option<Arc<hot_partition::Detector>>,
    pub(crate) shed: Arc<shed::ShedState>,
}

impl Shared {
    pub(crate) fn new(config: Resilience) -> Arc<Shared> {
        Arc::new(Shared {
            budget: Arc::new(retry::Budget::new(config.retry.budget)),
            limiter: config
                .rate_limits
                .as_ref()
                .map(|l| Arc::new(rate_limit::Limiter::new(l))),
            detector: config
                .hot_partitions
                .clone()
                .map(|h| Arc::new(hot_partition::Detector::new(h))),
            shed: Arc::new(shed::ShedState::new(&config.shedding)),
            config,
        })
    }
}

/// The client's stack: the layers around `core` (renaming and dispatch), in their one order.
pub(crate) fn stack(shared: &Shared, core: Stack) -> Stack {
    let c = &shared.config;
    Stack::new(
        tower::ServiceBuilder::new()
            .layer(deadline::DeadlineLayer::new(c.timeouts.operation))
            .layer(shed::ShedLayer::new(c.shedding, shared.shed.clone()))
            // Layers that are off are left out, not passed through: each costs a boxed future.
            .option_layer(
                shared
                    .detector
                    .is_some()
                    .then(|| hot_partition::HotPartitionLayer::new(shared.detector.clone())),
            )
            .layer(retry::RetryLayer::new(c.retry, shared.budget.clone()))
            .option_layer(
                shared
                    .limiter
                    .is_some()
                    .then(|| rate_limit::RateLimitLayer::new(shared.limiter.clone())),
            )
            .layer(attempt::AttemptTimeoutLayer::new(c.timeouts.attempt))
            .service(core),
    )
}

/// The innermost part of the stack: dispatch, behind renaming when the mapping renames.
pub(crate) fn core(mapping: &Arc<dynox_iam::Mapping>) -> Stack {
    if mapping.is_identity() {
        Stack::new(Dispatch)
    } else {
        Stack::new(crate::rename::Rename::new(
            mapping.clone(),
            Stack::new(Dispatch),
        ))
    }
}
