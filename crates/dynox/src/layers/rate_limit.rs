//! Client-side rate limits on consumed capacity: token buckets per table and client-wide,
//! fixed or adaptive.
//!
//! To a request: before each attempt, waits until every bucket it draws from (its table's and
//! the client's, read or write) holds its estimated cost — from the item's size for a put, one
//! unit per key or item otherwise — and takes it; asks DynamoDB for `ReturnConsumedCapacity`
//! (and hides it again from a caller who did not ask), and corrects each bucket by what the
//! answer says was consumed. To an error: a throttle slows an adaptive bucket down. Batch
//! writers, parallel scans and streams send through here, so they draw from the same buckets.

use super::classify;
use crate::Item;
use crate::error::Error;
use crate::send::{Request, Response};
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::{Layer, Service};

/// A fixed limit: at most `rcu` read and `wcu` write capacity units per second, with bursts of
/// up to `burst` units (default: one second's worth).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FixedRate {
    /// Read capacity units per second (`None`: reads are not limited).
    pub rcu: Option<f64>,
    /// Write capacity units per second (`None`: writes are not limited).
    pub wcu: Option<f64>,
    /// The most units spent at once after a quiet spell (default: one second's rate).
    pub burst: Option<f64>,
}

/// An adaptive limit that finds the capacity DynamoDB grants: it starts at half of `max_*`,
/// cuts its rate on a throttle (to 80%, but never below 90% of what demonstrably went through
/// in the last two seconds, and never below `min_*`), and after [`AdaptiveRate::QUIET`] without
/// a throttle raises it by 5% a second, up to `max_*`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaptiveRate {
    /// The highest read rate (`None`: reads are not limited).
    pub max_rcu: Option<f64>,
    /// The highest write rate (`None`: writes are not limited).
    pub max_wcu: Option<f64>,
    /// The lowest read rate (default 1).
    pub min_rcu: f64,
    /// The lowest write rate (default 1).
    pub min_wcu: f64,
}

impl AdaptiveRate {
    /// How long without a throttle before the rate rises again.
    pub const QUIET: Duration = Duration::from_secs(5);
    /// The share of the maximum it starts at.
    pub const START: f64 = 0.5;
    /// The cut on a throttle.
    pub const DECREASE: f64 = 0.8;
    /// The rise per second after a quiet spell.
    pub const INCREASE: f64 = 1.05;
    /// At most one cut per this long: throttles of requests that were in flight together are one
    /// signal, not many.
    pub const COOLDOWN: Duration = Duration::from_secs(1);

    /// An adaptive limit on writes only.
    pub fn writes(max_wcu: f64) -> AdaptiveRate {
        AdaptiveRate {
            max_rcu: None,
            max_wcu: Some(max_wcu),
            min_rcu: 1.0,
            min_wcu: 1.0,
        }
    }

    /// An adaptive limit on reads only.
    pub fn reads(max_rcu: f64) -> AdaptiveRate {
        AdaptiveRate {
            max_rcu: Some(max_rcu),
            max_wcu: None,
            min_rcu: 1.0,
            min_wcu: 1.0,
        }
    }
}

/// One limit, fixed or adaptive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RateLimit {
    /// See [`FixedRate`].
    Fixed(FixedRate),
    /// See [`AdaptiveRate`].
    Adaptive(AdaptiveRate),
}

/// The limits of a client: one for all its requests, and one per (logical) table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RateLimits {
    /// Drawn from by every request.
    pub client: Option<RateLimit>,
    /// Drawn from by the requests on one table, by logical name.
    pub tables: HashMap<String, RateLimit>,
}

impl RateLimits {
    /// A client-wide limit.
    pub fn client(limit: RateLimit) -> RateLimits {
        RateLimits {
            client: Some(limit),
            tables: HashMap::new(),
        }
    }

    /// Adds a limit for `table`.
    pub fn table(mut self, table: impl Into<String>, limit: RateLimit) -> RateLimits {
        self.tables.insert(table.into(), limit);
        self
    }
}

/// The smallest rate a bucket runs at: a limit of zero (or not a number) would stop its
/// requests for good.
pub const MIN_RATE: f64 = 0.01;

/// Whether a cost is read or write capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capacity {
    /// Read capacity units.
    Read,
    /// Write capacity units.
    Write,
}

/// What one bucket is doing, for [`Client::rate_limits`](crate::Client::rate_limits).
#[derive(Clone, Debug, PartialEq)]
pub struct BucketState {
    /// `None` for the client-wide bucket, else the table.
    pub table: Option<String>,
    /// Read or write.
    pub capacity: Capacity,
    /// Units per second it admits now.
    pub rate: f64,
    /// Units it holds now (negative: spent ahead, to be earned back).
    pub tokens: f64,
    /// Units taken in all.
    pub consumed: f64,
    /// Throttles seen by requests that drew from it.
    pub throttles: u64,
    /// How long requests waited for it in all.
    pub waited: Duration,
}

#[derive(Debug)]
struct Adaptive {
    max: f64,
    min: f64,
    last_throttle: Option<Instant>,
    last_cut: Option<Instant>,
    last_change: Instant,
    /// Units that went through, per 100 ms slot, over the last two seconds.
    recent: [(u64, f64); 20],
}

#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
    consumed: f64,
    throttles: u64,
    waited: Duration,
    adaptive: Option<Adaptive>,
}

impl Bucket {
    fn fixed(rate: f64, burst: Option<f64>) -> Bucket {
        // A rate that is not a positive number would never refill: the smallest one instead.
        let rate = if rate.is_finite() && rate > MIN_RATE {
            rate
        } else {
            MIN_RATE
        };
        let burst = burst.filter(|b| b.is_finite()).unwrap_or(rate).max(1.0);
        Bucket {
            rate,
            burst,
            tokens: burst,
            at: Instant::now(),
            consumed: 0.0,
            throttles: 0,
            waited: Duration::ZERO,
            adaptive: None,
        }
    }

    fn adaptive(max: f64, min: f64) -> Bucket {
        let min = if min.is_finite() {
            min.max(MIN_RATE)
        } else {
            MIN_RATE
        };
        let max = if max.is_finite() { max.max(min) } else { min };
        let rate = (max * AdaptiveRate::START).max(min);
        let mut b = Bucket::fixed(rate, Some(rate));
        b.adaptive = Some(Adaptive {
            max,
            min,
            last_throttle: None,
            last_cut: None,
            last_change: Instant::now(),
            recent: [(0, 0.0); 20],
        });
        b
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if let Some(a) = &mut self.adaptive {
            let quiet = a
                .last_throttle
                .is_none_or(|t| now - t >= AdaptiveRate::QUIET);
            let step = now.saturating_duration_since(a.last_change);
            if quiet && step >= Duration::from_secs(1) && self.rate < a.max {
                self.rate = (self.rate * AdaptiveRate::INCREASE).min(a.max);
                self.burst = self.rate;
                a.last_change = now;
            }
        }
    }

    /// How long until `cost` can be taken (zero: take it now).
    fn wait_for(&mut self, cost: f64, now: Instant) -> Duration {
        self.refill(now);
        // A cost above the burst waits for a full bucket, then goes into debt.
        let need = cost.min(self.burst);
        if self.tokens >= need {
            Duration::ZERO
        } else {
            Duration::try_from_secs_f64((need - self.tokens) / self.rate)
                .unwrap_or(Duration::from_secs(3600))
        }
    }

    fn take(&mut self, cost: f64) {
        self.tokens -= cost;
        self.consumed += cost;
    }

    /// `units` went through (an answer that was not a throttle).
    fn went_through(&mut self, units: f64, now: Instant) {
        if let Some(a) = &mut self.adaptive {
            let tick = epoch_tick(now);
            let i = (tick % 20) as usize;
            if a.recent[i].0 != tick {
                a.recent[i] = (tick, 0.0);
            }
            a.recent[i].1 += units;
        }
    }

    fn throttled(&mut self, now: Instant) {
        self.throttles += 1;
        let Some(a) = &mut self.adaptive else { return };
        a.last_throttle = Some(now);
        // Throttles of requests that were in flight before the last cut are not news.
        if a.last_cut.is_some_and(|t| now - t < AdaptiveRate::COOLDOWN) {
            return;
        }
        a.last_cut = Some(now);
        // What went through in the last two seconds, per second.
        let tick = epoch_tick(now);
        let through: f64 = a
            .recent
            .iter()
            .filter(|(t, _)| tick.saturating_sub(*t) < 20)
            .map(|(_, u)| u)
            .sum::<f64>()
            / 2.0;
        self.rate = (self.rate * AdaptiveRate::DECREASE)
            .max(0.9 * through)
            .min(self.rate)
            .max(a.min);
        self.burst = self.rate.max(1.0);
        self.tokens = self.tokens.min(self.burst);
        a.last_change = now;
    }
}

/// 100 ms ticks since the process's first use of the limiter.
fn epoch_tick(now: Instant) -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    (now.saturating_duration_since(start).as_millis() / 100) as u64
}

fn buckets(limit: &RateLimit) -> [Option<Bucket>; 2] {
    match limit {
        RateLimit::Fixed(f) => [
            f.rcu.map(|r| Bucket::fixed(r, f.burst)),
            f.wcu.map(|r| Bucket::fixed(r, f.burst)),
        ],
        RateLimit::Adaptive(a) => [
            a.max_rcu.map(|m| Bucket::adaptive(m, a.min_rcu)),
            a.max_wcu.map(|m| Bucket::adaptive(m, a.min_wcu)),
        ],
    }
}

/// Units of one table's cost drawn from one bucket.
#[derive(Debug)]
struct Draw {
    bucket: (Option<String>, Capacity),
    table: String,
    cost: f64,
}

/// A client's buckets.
#[derive(Debug)]
pub struct Limiter {
    /// `(table or None, capacity)` to its bucket.
    buckets: Mutex<HashMap<(Option<String>, Capacity), Bucket>>,
}

impl Limiter {
    /// The buckets of `limits`.
    pub fn new(limits: &RateLimits) -> Limiter {
        let mut map = HashMap::new();
        let mut add = |table: Option<String>, limit: &RateLimit| {
            let [r, w] = buckets(limit);
            if let Some(b) = r {
                map.insert((table.clone(), Capacity::Read), b);
            }
            if let Some(b) = w {
                map.insert((table, Capacity::Write), b);
            }
        };
        if let Some(c) = &limits.client {
            add(None, c);
        }
        for (t, l) in &limits.tables {
            add(Some(t.clone()), l);
        }
        Limiter {
            buckets: Mutex::new(map),
        }
    }

    /// What every bucket is doing.
    pub fn state(&self) -> Vec<BucketState> {
        let now = Instant::now();
        let mut out: Vec<BucketState> = self
            .buckets
            .lock()
            .expect("limiter lock")
            .iter_mut()
            .map(|((table, capacity), b)| {
                b.refill(now);
                BucketState {
                    table: table.clone(),
                    capacity: *capacity,
                    rate: b.rate,
                    tokens: b.tokens,
                    consumed: b.consumed,
                    throttles: b.throttles,
                    waited: b.waited,
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.table, a.capacity as u8).cmp(&(&b.table, b.capacity as u8)));
        out
    }

    /// The buckets a request's costs are drawn from: its table's and the client's.
    fn keys(&self, costs: Vec<(String, Capacity, f64)>) -> Vec<Draw> {
        let map = self.buckets.lock().expect("limiter lock");
        let mut out = Vec::new();
        for (table, capacity, cost) in costs {
            for key in [(Some(table.clone()), capacity), (None, capacity)] {
                if map.contains_key(&key) {
                    out.push(Draw {
                        bucket: key,
                        table: table.clone(),
                        cost,
                    });
                }
            }
        }
        out
    }

    /// Waits until every bucket holds its cost, then takes it from all of them at once; `false`
    /// if that would be after `deadline` (nothing is taken).
    async fn acquire(&self, costs: &[Draw], deadline: Option<Instant>) -> bool {
        let started = Instant::now();
        loop {
            let now = Instant::now();
            let wait = {
                let mut map = self.buckets.lock().expect("limiter lock");
                let wait = costs
                    .iter()
                    .filter_map(|d| map.get_mut(&d.bucket).map(|b| b.wait_for(d.cost, now)))
                    .max()
                    .unwrap_or_default();
                if wait.is_zero() {
                    let waited = now - started;
                    for d in costs {
                        if let Some(b) = map.get_mut(&d.bucket) {
                            b.take(d.cost);
                            b.waited += waited;
                        }
                    }
                }
                wait
            };
            if wait.is_zero() {
                return true;
            }
            if deadline.is_some_and(|d| now + wait >= d) {
                return false;
            }
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }

    /// Corrects the buckets by what was consumed instead of the estimate.
    fn settle(&self, draws: &[Draw], actual: Option<&HashMap<String, f64>>) {
        let mut map = self.buckets.lock().expect("limiter lock");
        let now = Instant::now();
        for d in draws {
            let used = actual.and_then(|a| a.get(&d.table)).copied();
            if let Some(b) = map.get_mut(&d.bucket) {
                if let Some(used) = used {
                    b.tokens -= used - d.cost;
                    b.consumed += used - d.cost;
                }
                b.went_through(used.unwrap_or(d.cost), now);
            }
        }
    }

    /// A throttle slows the most specific bucket of each table drawn from: the table's own if
    /// it has one (a table's throttle says nothing of the others), else the client's.
    fn throttled(&self, draws: &[Draw]) {
        let mut map = self.buckets.lock().expect("limiter lock");
        let now = Instant::now();
        let mut seen = Vec::new();
        for d in draws {
            let own = (Some(d.table.clone()), d.bucket.1);
            let key = if map.contains_key(&own) {
                own
            } else {
                d.bucket.clone()
            };
            if !seen.contains(&key) {
                if let Some(b) = map.get_mut(&key) {
                    b.throttled(now);
                }
                seen.push(key);
            }
        }
    }
}

/// Write units of an item: one per started kilobyte.
fn write_units(item: &Item) -> f64 {
    (crate::size::item_size(item).div_ceil(1024)).max(1) as f64
}

/// The estimated cost of a request, per table: read or write units.
fn estimate(request: &Request) -> Vec<(String, Capacity, f64)> {
    use Capacity::{Read, Write};
    let one = |table: &Option<String>, capacity, units: f64| {
        table
            .iter()
            .map(|t| (t.clone(), capacity, units))
            .collect::<Vec<_>>()
    };
    let read_units = |consistent: &Option<bool>| if consistent == &Some(true) { 1.0 } else { 0.5 };
    match request {
        Request::GetItem(b) => one(
            b.get_table_name(),
            Read,
            read_units(b.get_consistent_read()),
        ),
        Request::Query(b) => one(
            b.get_table_name(),
            Read,
            read_units(b.get_consistent_read()),
        ),
        Request::Scan(b) => one(
            b.get_table_name(),
            Read,
            read_units(b.get_consistent_read()),
        ),
        Request::PutItem(b) => one(
            b.get_table_name(),
            Write,
            b.get_item().as_ref().map_or(1.0, write_units),
        ),
        Request::UpdateItem(b) => one(b.get_table_name(), Write, 1.0),
        Request::DeleteItem(b) => one(b.get_table_name(), Write, 1.0),
        Request::BatchWriteItem(b) => b
            .get_request_items()
            .iter()
            .flatten()
            .map(|(t, ws)| {
                let units = ws
                    .iter()
                    .map(|w| w.put_request().map_or(1.0, |p| write_units(&p.item)))
                    .sum();
                (t.clone(), Write, units)
            })
            .collect(),
        Request::BatchGetItem(b) => b
            .get_request_items()
            .iter()
            .flatten()
            .map(|(t, ka)| {
                let per = if ka.consistent_read() == Some(true) {
                    1.0
                } else {
                    0.5
                };
                (t.clone(), Read, per * ka.keys().len() as f64)
            })
            .collect(),
        // Transactions cost twice: a prepare and a commit per member.
        Request::TransactWriteItems(b) => b
            .get_transact_items()
            .iter()
            .flatten()
            .filter_map(|m| {
                let (table, units) = if let Some(p) = m.put() {
                    (p.table_name(), write_units(p.item()))
                } else if let Some(u) = m.update() {
                    (u.table_name(), 1.0)
                } else if let Some(d) = m.delete() {
                    (d.table_name(), 1.0)
                } else {
                    (m.condition_check()?.table_name(), 1.0)
                };
                Some((table.to_owned(), Write, 2.0 * units))
            })
            .collect(),
        Request::TransactGetItems(b) => b
            .get_transact_items()
            .iter()
            .flatten()
            .filter_map(|m| Some((m.get()?.table_name().to_owned(), Read, 2.0)))
            .collect(),
        Request::ExecuteStatement(b) => b
            .get_statement()
            .as_deref()
            .and_then(|text| dynox_iam::statement::read(text).ok())
            .map(|s| {
                let capacity = match s.verb {
                    dynox_iam::statement::Verb::Select => Read,
                    _ => Write,
                };
                vec![(s.table, capacity, 1.0)]
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Whether an answer left entries unprocessed: DynamoDB throttled part of the batch.
fn partly_throttled(response: &Response) -> bool {
    match response {
        Response::BatchWriteItem(o) => o
            .unprocessed_items
            .as_ref()
            .is_some_and(|u| u.values().any(|w| !w.is_empty())),
        Response::BatchGetItem(o) => o
            .unprocessed_keys
            .as_ref()
            .is_some_and(|u| u.values().any(|k| !k.keys.is_empty())),
        _ => false,
    }
}

/// What an answer says was consumed, per table (`None` for operations the limiter does not
/// settle from the answer).
pub(crate) fn consumed(response: &Response) -> Option<HashMap<String, f64>> {
    if !matches!(
        response,
        Response::GetItem(_)
            | Response::PutItem(_)
            | Response::UpdateItem(_)
            | Response::DeleteItem(_)
            | Response::Query(_)
            | Response::Scan(_)
            | Response::BatchWriteItem(_)
            | Response::BatchGetItem(_)
    ) {
        return None;
    }
    let mut out = HashMap::new();
    for c in crate::capacity::entries(response) {
        if let (Some(t), Some(u)) = (c.table_name(), c.capacity_units()) {
            *out.entry(t.to_owned()).or_insert(0.0) += u;
        }
    }
    Some(out)
}

/// Layer of [`RateLimitService`].
#[derive(Clone, Debug)]
pub struct RateLimitLayer {
    limiter: Option<Arc<Limiter>>,
}

impl RateLimitLayer {
    /// Draws from `limiter`'s buckets (`None`: no limits).
    pub fn new(limiter: Option<Arc<Limiter>>) -> Self {
        RateLimitLayer { limiter }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;
    fn layer(&self, inner: S) -> RateLimitService<S> {
        RateLimitService {
            inner,
            limiter: self.limiter.clone(),
        }
    }
}

/// Paces each attempt by the buckets it draws from.
#[derive(Clone, Debug)]
pub struct RateLimitService<S> {
    inner: S,
    limiter: Option<Arc<Limiter>>,
}

impl<S> Service<Request> for RateLimitService<S>
where
    S: Service<Request, Response = Response, Error = Error> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let Some(limiter) = self.limiter.clone() else {
            return Box::pin(self.inner.call(request));
        };
        let costs = limiter.keys(estimate(&request));
        if costs.is_empty() {
            return Box::pin(self.inner.call(request));
        }
        let mut inner = self.inner.clone();
        Box::pin(async move {
            if !limiter.acquire(&costs, super::deadline::current()).await {
                return Err(super::deadline::passed_before_sending(
                    request.operation_name(),
                ));
            }
            let (request, hide) = crate::capacity::ask(request);
            match inner.call(request).await {
                Ok(mut response) => {
                    limiter.settle(&costs, consumed(&response).as_ref());
                    if partly_throttled(&response) {
                        limiter.throttled(&costs);
                    }
                    if hide {
                        crate::capacity::hide(&mut response);
                    }
                    Ok(response)
                }
                Err(e) => {
                    if classify::failure(&e).retry == classify::Retry::Throttle {
                        limiter.throttled(&costs);
                    }
                    Err(e)
                }
            }
        })
    }
}
