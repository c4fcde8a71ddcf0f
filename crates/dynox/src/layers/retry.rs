//! The one retry policy: dynox owns every attempt (the SDK's own retries are switched off), so
//! no write is ever repeated by a layer that cannot tell whether repeating it is safe.
//!
//! To a request: sends it, and again after a throttle or a transient failure, with capped
//! exponential backoff and full jitter, while attempts, the retry budget and the operation's
//! deadline allow. To an error: a write whose repeat could apply twice comes back as
//! [`Error::OutcomeUnknown`] as soon as an attempt may have reached DynamoDB; a condition that
//! fails on a repeat after such an attempt is marked possibly applied; a write that gives up
//! after such an attempt is `OutcomeUnknown` too. Batch requests are sent once here:
//! `batch.rs` retries them round by round with the same policy and budget, because only it can
//! tell which entries a lost answer may have written.

use super::classify::{self, Idempotency, Reached};
use super::deadline;
use crate::error::Error;
use crate::send::{Request, RequestInfo, Response};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::{Layer, Service, ServiceExt as _};

/// AWS's DynamoDB default: 4 attempts (the SDKs' 2026 retry rules).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;
/// AWS's base delay for DynamoDB's non-throttling errors: 25 ms.
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(25);
/// AWS's base delay for throttling errors: 1 s.
pub const DEFAULT_THROTTLE_BASE_DELAY: Duration = Duration::from_secs(1);
/// AWS's backoff cap: 20 s, applied before the jitter.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(20);

/// How failed requests are retried. The defaults are AWS's for DynamoDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (1 disables retries).
    pub max_attempts: u32,
    /// The backoff ceiling of the first retry after a transient failure; it doubles per retry.
    pub base_delay: Duration,
    /// The backoff ceiling of the first retry after throttling; it doubles per retry.
    pub throttle_base_delay: Duration,
    /// The largest ceiling.
    pub max_delay: Duration,
    /// The retry budget shared by all requests of a client; `None` never runs out.
    pub budget: Option<BudgetConfig>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_delay: DEFAULT_BASE_DELAY,
            throttle_base_delay: DEFAULT_THROTTLE_BASE_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            budget: Some(BudgetConfig::default()),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The pause before retry `retry` (1 for the first): uniform in `[0, min(max, base·2^(n-1))]`
    /// ("full jitter"), with the base of the failure's kind.
    pub fn delay(&self, kind: classify::Retry, retry: u32) -> Duration {
        let base = match kind {
            classify::Retry::Throttle => self.throttle_base_delay,
            _ => self.base_delay,
        };
        full_jitter(base, self.max_delay, retry.saturating_sub(1))
    }
}

/// Capped exponential backoff with full jitter: uniform in `[0, min(cap, base·2^doublings)]`.
/// The one formula behind the retry policy and the batch rounds.
pub fn full_jitter(base: Duration, cap: Duration, doublings: u32) -> Duration {
    let ceiling = base.saturating_mul(1u32 << doublings.min(20)).min(cap);
    let nanos = ceiling.as_nanos().min(u64::MAX as u128) as u64;
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

/// The retry budget: a token bucket that every retry draws from and successes refill, so a
/// client whose requests mostly fail stops retrying (and stops multiplying its load) instead of
/// retrying every request to its last attempt. The defaults are AWS's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetConfig {
    /// Tokens when full (500).
    pub capacity: u32,
    /// Cost of a retry after throttling (5).
    pub throttle_cost: u32,
    /// Cost of a retry after any other failure, timeouts included (14).
    pub retry_cost: u32,
    /// Refill for a request that succeeds at its first attempt (1); one that succeeds after
    /// retries gives back what its retries took.
    pub success_refill: u32,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            capacity: 500,
            throttle_cost: 5,
            retry_cost: 14,
            success_refill: 1,
        }
    }
}

/// A client's retry budget, shared by its requests (batches and streams included).
#[derive(Debug)]
pub struct Budget {
    config: Option<BudgetConfig>,
    tokens: AtomicU32,
}

impl Budget {
    /// A full budget.
    pub fn new(config: Option<BudgetConfig>) -> Budget {
        Budget {
            config,
            tokens: AtomicU32::new(config.map_or(0, |c| c.capacity)),
        }
    }

    /// The tokens left (`None`: no budget).
    pub fn available(&self) -> Option<u32> {
        self.config.map(|_| self.tokens.load(Ordering::Relaxed))
    }

    /// Takes the cost of one retry after `kind`; `Some(cost)` if it was there.
    pub fn acquire(&self, kind: classify::Retry) -> Option<u32> {
        let Some(c) = self.config else {
            return Some(0);
        };
        let cost = match kind {
            classify::Retry::Throttle => c.throttle_cost,
            _ => c.retry_cost,
        };
        self.tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                t.checked_sub(cost)
            })
            .ok()
            .map(|_| cost)
    }

    /// A request succeeded after spending `spent` tokens on retries.
    pub fn release(&self, spent: u32) {
        let Some(c) = self.config else { return };
        let back = if spent == 0 { c.success_refill } else { spent };
        let _ = self
            .tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some(t.saturating_add(back).min(c.capacity))
            });
    }
}

/// Layer of [`RetryService`].
#[derive(Clone, Debug)]
pub struct RetryLayer {
    policy: RetryPolicy,
    budget: Arc<Budget>,
}

impl RetryLayer {
    /// Retries by `policy`, drawing from `budget`.
    pub fn new(policy: RetryPolicy, budget: Arc<Budget>) -> Self {
        RetryLayer { policy, budget }
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = RetryService<S>;
    fn layer(&self, inner: S) -> RetryService<S> {
        RetryService {
            inner,
            layer: self.clone(),
        }
    }
}

/// Sends each request until it succeeds, fails for good, or may not be repeated.
#[derive(Clone, Debug)]
pub struct RetryService<S> {
    inner: S,
    layer: RetryLayer,
}

impl<S> Service<Request> for RetryService<S>
where
    S: Service<Request, Response = Response, Error = Error> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let inner = self.inner.clone();
        let layer = self.layer.clone();
        Box::pin(attempts(inner, layer, request))
    }
}

async fn attempts<S>(inner: S, layer: RetryLayer, request: Request) -> Result<Response, Error>
where
    S: Service<Request, Response = Response, Error = Error> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let kind = classify::idempotency(&request);
    let deadline = deadline::current();
    let mut policy = layer.policy;
    if matches!(
        request,
        Request::BatchWriteItem(_) | Request::BatchGetItem(_)
    ) {
        policy.max_attempts = 1;
    }
    let operation = request.operation_name();
    let mut spent = 0;
    // Some attempt's answer was lost: it may have been applied.
    let mut ambiguous = false;
    let mut attempt = 0;
    // Every attempt but the last sends a copy (the SDK consumes what it sends); the last sends
    // the request itself, so a request sent once (a batch) is never copied.
    let mut pending = Some(request);
    let mut info = None;
    loop {
        attempt += 1;
        let this = match pending.as_ref() {
            Some(r) if attempt < policy.max_attempts => r.clone(),
            _ => {
                let r = pending
                    .take()
                    .expect("the last attempt is the only one to take it");
                info = Some(r.info());
                r
            }
        };
        let result = inner.clone().oneshot(this).await;
        let err = match result {
            Ok(response) => {
                layer.budget.release(spent);
                return Ok(response);
            }
            Err(e) => e,
        };
        let failure = classify::failure(&err);
        let mut give_up = |err: Error, ambiguous: bool| {
            let info = info
                .take()
                .or_else(|| pending.as_ref().map(Request::info))
                .expect("the request or what it names is kept");
            finish(info, kind, attempt, err, ambiguous)
        };
        if let Error::ConditionFailed { .. } = err {
            return Err(mark_possibly_applied(err, ambiguous));
        }
        if failure.retry == classify::Retry::Never {
            return Err(give_up(err, ambiguous));
        }
        if failure.reached == Reached::Maybe {
            if kind == Idempotency::NotIdempotent {
                return Err(give_up(err, true));
            }
            ambiguous = true;
        }
        if attempt >= policy.max_attempts {
            return Err(give_up(err, ambiguous));
        }
        let pause = policy.delay(failure.retry, attempt);
        if deadline.is_some_and(|d| Instant::now() + pause >= d) {
            return Err(give_up(err, ambiguous));
        }
        match layer.budget.acquire(failure.retry) {
            Some(cost) => spent += cost,
            None => return Err(give_up(err, ambiguous)),
        }
        // The error's kind only: a service message may quote what the request sent.
        tracing::debug!(
            target: "dynox",
            operation,
            attempt,
            pause_ms = pause.as_millis() as u64,
            error.type = err.kind(),
            correlation_id = crate::observe::correlation_id().as_deref(),
            "dynox: retrying"
        );
        tokio::time::sleep(pause).await;
    }
}

/// The error a request gives up with: a write with an attempt that may have been applied has
/// an unknown outcome, whatever its last attempt said.
fn finish(
    info: RequestInfo,
    kind: Idempotency,
    attempts: u32,
    err: Error,
    ambiguous: bool,
) -> Error {
    // A cancellation answered to a transaction's token is its real outcome: a repeat of an
    // applied transaction with the same token would have succeeded.
    let definite =
        matches!(err, Error::TransactionCancelled { .. }) && info.client_request_token.is_some();
    if ambiguous && kind.writes() && !definite && !matches!(err, Error::OutcomeUnknown { .. }) {
        info.outcome_unknown(attempts, err)
    } else {
        err
    }
}

fn mark_possibly_applied(err: Error, ambiguous: bool) -> Error {
    match err {
        Error::ConditionFailed {
            old_item,
            message,
            source,
            context,
            ..
        } => Error::ConditionFailed {
            old_item,
            possibly_applied: ambiguous,
            message,
            source,
            context,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_cap() {
        let p = RetryPolicy::default();
        for retry in 1..=12 {
            let cap = DEFAULT_BASE_DELAY
                .saturating_mul(1 << (retry - 1))
                .min(DEFAULT_MAX_DELAY);
            for _ in 0..200 {
                assert!(p.delay(classify::Retry::Transient, retry) <= cap);
            }
            let throttle_cap = DEFAULT_THROTTLE_BASE_DELAY
                .saturating_mul(1 << (retry - 1))
                .min(DEFAULT_MAX_DELAY);
            assert!(p.delay(classify::Retry::Throttle, retry) <= throttle_cap);
        }
        // Jitter spreads: not all the same.
        let spread: std::collections::BTreeSet<_> = (0..50)
            .map(|_| p.delay(classify::Retry::Throttle, 3))
            .collect();
        assert!(spread.len() > 40);
    }

    #[test]
    fn the_budget_drains_on_retries_and_refills_on_success() {
        let b = Budget::new(Some(BudgetConfig::default()));
        let mut spent = 0;
        while let Some(c) = b.acquire(classify::Retry::Transient) {
            spent += c;
        }
        // 500 tokens, 14 a retry: 35 retries.
        assert_eq!(spent, 35 * 14);
        assert!(
            b.acquire(classify::Retry::Throttle).is_some(),
            "10 left, 5 a throttle"
        );
        b.release(0);
        assert_eq!(b.available(), Some(6));
        b.release(100);
        assert_eq!(b.available(), Some(106));
        b.release(10_000);
        assert_eq!(b.available(), Some(500));
        assert_eq!(
            Budget::new(None).acquire(classify::Retry::Transient),
            Some(0)
        );
    }
}
