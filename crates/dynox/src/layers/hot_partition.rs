//! The hot-partition detector: reads and writes per (table, partition key) over a sliding
//! window, in bounded memory, with a callback and a `tracing` warning when one partition takes
//! more than its threshold.
//!
//! To a request: counts each partition key it reads or writes (items of batches and
//! transactions one by one) in a count-min sketch per table and kind, one sketch per slice of
//! the window, so memory does not grow with the number of keys. When a key's estimate reaches
//! its threshold, calls the callback and warns once per key and window, with a hash of the key
//! (the key itself only if `log_keys` is set). Never delays or fails a request.

use crate::send::Request;
use crate::{AttributeValue, Item};
use futures::future::BoxFuture;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::{Layer, Service};

pub use super::rate_limit::Capacity;

/// The count-min sketch's rows: each key is counted in one cell per row and estimated by the
/// smallest, so an estimate is never below the true count.
const DEPTH: usize = 4;
/// Cells per row.
const WIDTH: usize = 2048;
/// Slices of the window: the window slides by one slice at a time.
const SLICES: usize = 6;
/// Keys remembered as already reported in this window, per table and kind.
const REPORTED: usize = 256;

/// How many reads or writes of one partition within the window make it hot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Reads (read requests naming the key).
    pub reads: u64,
    /// Writes (items written with the key).
    pub writes: u64,
}

impl Default for Thresholds {
    /// 1,500 reads and 500 writes a minute (with the default window): a third of the 3,000 RCU
    /// and 1,000 WCU per second a partition serves, sustained over a minute, is conservative.
    fn default() -> Self {
        Thresholds {
            reads: 1500,
            writes: 500,
        }
    }
}

/// A partition found hot.
#[derive(Clone, Debug, PartialEq)]
pub struct HotPartition {
    /// The (logical) table.
    pub table: String,
    /// Reads or writes.
    pub capacity: Capacity,
    /// A stable 64-bit hash of the partition key's type and value.
    pub key_hash: u64,
    /// The partition key value, only with [`HotPartitions::log_keys`].
    pub key: Option<AttributeValue>,
    /// The estimated count within the window (never below the true one).
    pub count: u64,
    /// The window.
    pub window: Duration,
}

/// A callback for hot partitions.
pub type OnHot = Arc<dyn Fn(&HotPartition) + Send + Sync>;

/// Hot-partition detection settings.
#[derive(Clone)]
pub struct HotPartitions {
    /// The sliding window (default 60 s).
    pub window: Duration,
    /// Thresholds for tables without their own.
    pub thresholds: Thresholds,
    /// Per-table thresholds, by logical name.
    pub tables: HashMap<String, Thresholds>,
    /// The partition key attribute of tables, by logical name. Tables registered by
    /// [`HotPartitions::model`] are known; others are learned from their requests (a key of one
    /// attribute, a query's key condition).
    pub partition_keys: HashMap<String, String>,
    /// Put the key itself (not only its hash) in warnings and reports. Keys can be personal
    /// data: off by default.
    pub log_keys: bool,
    /// Called once per hot key and window.
    pub on_hot: Option<OnHot>,
}

impl std::fmt::Debug for HotPartitions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotPartitions")
            .field("window", &self.window)
            .field("thresholds", &self.thresholds)
            .field("tables", &self.tables)
            .field("log_keys", &self.log_keys)
            .finish_non_exhaustive()
    }
}

impl Default for HotPartitions {
    fn default() -> Self {
        HotPartitions {
            window: Duration::from_secs(60),
            thresholds: Thresholds::default(),
            tables: HashMap::new(),
            partition_keys: HashMap::new(),
            log_keys: false,
            on_hot: None,
        }
    }
}

impl HotPartitions {
    /// Watches `M`'s table, with its own thresholds if given.
    pub fn model<M: crate::Model>(mut self, thresholds: Option<Thresholds>) -> Self {
        self.partition_keys
            .insert(M::TABLE.to_owned(), M::PARTITION_KEY.name.to_owned());
        if let Some(t) = thresholds {
            self.tables.insert(M::TABLE.to_owned(), t);
        }
        self
    }

    /// Calls `f` for every hot partition found.
    pub fn on_hot(mut self, f: impl Fn(&HotPartition) + Send + Sync + 'static) -> Self {
        self.on_hot = Some(Arc::new(f));
        self
    }
}

/// One table's counts of one kind: a sketch per slice of the window.
struct Counts {
    slices: VecDeque<(u64, Vec<u32>)>,
    reported: VecDeque<u64>,
    reported_in: u64,
}

impl Counts {
    fn new() -> Counts {
        Counts {
            slices: VecDeque::with_capacity(SLICES),
            reported: VecDeque::new(),
            reported_in: 0,
        }
    }

    /// Counts `hash` in slice `slice`; the estimate over the window.
    fn add(&mut self, hash: u64, slice: u64) -> u64 {
        while self
            .slices
            .front()
            .is_some_and(|(s, _)| slice.saturating_sub(*s) >= SLICES as u64)
        {
            self.slices.pop_front();
        }
        if self.slices.back().is_none_or(|(s, _)| *s != slice) {
            self.slices.push_back((slice, vec![0; DEPTH * WIDTH]));
        }
        let cells = cells(hash);
        if let Some((_, sketch)) = self.slices.back_mut() {
            for c in cells {
                sketch[c] = sketch[c].saturating_add(1);
            }
        }
        cells
            .iter()
            .map(|&c| {
                self.slices
                    .iter()
                    .map(|(_, s)| u64::from(s[c]))
                    .sum::<u64>()
            })
            .min()
            .unwrap_or(0)
    }

    /// Whether `hash` is reported for the first time in this window.
    fn first_report(&mut self, hash: u64, window_index: u64) -> bool {
        if self.reported_in != window_index {
            self.reported.clear();
            self.reported_in = window_index;
        }
        if self.reported.contains(&hash) {
            return false;
        }
        if self.reported.len() >= REPORTED {
            self.reported.pop_front();
        }
        self.reported.push_back(hash);
        true
    }
}

/// The cells of `hash`, one per row.
fn cells(hash: u64) -> [usize; DEPTH] {
    let (h1, h2) = (hash as u32 as u64, hash >> 32);
    let mut out = [0; DEPTH];
    for (i, c) in out.iter_mut().enumerate() {
        *c = i * WIDTH + (h1.wrapping_add((i as u64).wrapping_mul(h2 | 1)) % WIDTH as u64) as usize;
    }
    out
}

/// FNV-1a over a key value's type and bytes: stable across runs and machines.
fn key_hash(v: &AttributeValue) -> Option<u64> {
    let (tag, bytes): (u8, &[u8]) = match v {
        AttributeValue::S(s) => (b'S', s.as_bytes()),
        AttributeValue::N(n) => (b'N', n.as_bytes()),
        AttributeValue::B(b) => (b'B', b.as_ref()),
        _ => return None,
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(tag).chain(bytes.iter().copied()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    Some(h)
}

/// The detector a client shares across its clones.
pub struct Detector {
    config: HotPartitions,
    started: Instant,
    state: Mutex<DetectorState>,
}

struct DetectorState {
    counts: HashMap<(String, Capacity), Counts>,
    learned: HashMap<String, String>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Detector {
    /// A detector by `config`.
    pub fn new(config: HotPartitions) -> Detector {
        Detector {
            config,
            started: Instant::now(),
            state: Mutex::new(DetectorState {
                counts: HashMap::new(),
                learned: HashMap::new(),
            }),
        }
    }

    /// Counts the partitions `request` touches.
    pub fn observe(&self, request: &Request) {
        let touched = touched(request);
        if touched.is_empty() {
            return;
        }
        let slice_len = (self.config.window / SLICES as u32).max(Duration::from_millis(1));
        let elapsed = self.started.elapsed();
        let slice = (elapsed.as_nanos() / slice_len.as_nanos()) as u64;
        let window_index = slice / SLICES as u64;
        let mut hot = Vec::new();
        {
            let mut st = self.state.lock().expect("detector lock");
            let DetectorState { counts, learned } = &mut *st;
            for t in touched {
                let pk: &str = match self
                    .config
                    .partition_keys
                    .get(t.table)
                    .or_else(|| learned.get(t.table))
                {
                    Some(pk) => pk,
                    None => match t.learn {
                        Some(name) => learned.entry(t.table.to_owned()).or_insert(name.to_owned()),
                        None => continue,
                    },
                };
                let limits = self
                    .config
                    .tables
                    .get(t.table)
                    .copied()
                    .unwrap_or(self.config.thresholds);
                let threshold = match t.capacity {
                    Capacity::Read => limits.reads,
                    Capacity::Write => limits.writes,
                };
                let counts = counts
                    .entry((t.table.to_owned(), t.capacity))
                    .or_insert_with(Counts::new);
                for key in &t.keys {
                    let Some(value) = key.get(pk) else { continue };
                    let Some(hash) = key_hash(value) else {
                        continue;
                    };
                    let count = counts.add(hash, slice);
                    if count >= threshold && counts.first_report(hash, window_index) {
                        hot.push(HotPartition {
                            table: t.table.to_owned(),
                            capacity: t.capacity,
                            key_hash: hash,
                            key: self.config.log_keys.then(|| value.clone()),
                            count,
                            window: self.config.window,
                        });
                    }
                }
            }
        }
        for h in hot {
            match &h.key {
                Some(key) => tracing::warn!(
                    table = %h.table,
                    capacity = ?h.capacity,
                    key_hash = %format!("{:016x}", h.key_hash),
                    key = ?key,
                    count = h.count,
                    window_s = h.window.as_secs(),
                    "dynox: hot partition"
                ),
                None => tracing::warn!(
                    table = %h.table,
                    capacity = ?h.capacity,
                    key_hash = %format!("{:016x}", h.key_hash),
                    count = h.count,
                    window_s = h.window.as_secs(),
                    "dynox: hot partition"
                ),
            }
            if let Some(f) = &self.config.on_hot {
                f(&h);
            }
        }
    }
}

/// The partition key of one item a request touches: read from its key or item map, or (a
/// query) the one value its key condition names.
enum Touch<'a> {
    Map(&'a Item),
    Value(&'a str, &'a AttributeValue),
}

impl Touch<'_> {
    fn get(&self, name: &str) -> Option<&AttributeValue> {
        match self {
            Touch::Map(m) => m.get(name),
            Touch::Value(n, v) => (*n == name).then_some(*v),
        }
    }
}

/// The items of one table and kind a request touches (borrowed from the request: nothing is
/// copied), with a partition key name to learn.
struct Touched<'a> {
    table: &'a str,
    capacity: Capacity,
    keys: Vec<Touch<'a>>,
    /// A partition key name the request itself shows (a one-attribute key, a key condition).
    learn: Option<&'a str>,
}

fn touched(request: &Request) -> Vec<Touched<'_>> {
    use Capacity::{Read, Write};
    fn one<'a>(
        table: &'a Option<String>,
        capacity: Capacity,
        key: Option<&'a Item>,
    ) -> Vec<Touched<'a>> {
        match (table, key) {
            (Some(t), Some(k)) => vec![Touched {
                table: t,
                capacity,
                learn: (k.len() == 1)
                    .then(|| k.keys().next().map(String::as_str))
                    .flatten(),
                keys: vec![Touch::Map(k)],
            }],
            _ => Vec::new(),
        }
    }
    match request {
        Request::GetItem(b) => one(b.get_table_name(), Read, b.get_key().as_ref()),
        Request::DeleteItem(b) => one(b.get_table_name(), Write, b.get_key().as_ref()),
        Request::UpdateItem(b) => one(b.get_table_name(), Write, b.get_key().as_ref()),
        Request::PutItem(b) => {
            let mut t = one(b.get_table_name(), Write, b.get_item().as_ref());
            // An item's attributes do not tell which is the key.
            t.iter_mut().for_each(|t| t.learn = None);
            t
        }
        Request::Query(b) => {
            let (Some(table), Some(expr)) = (b.get_table_name(), b.get_key_condition_expression())
            else {
                return Vec::new();
            };
            // The partition key's equality: `#n = :v` (dynox writes it first).
            let first = expr.split(" AND ").next().unwrap_or_default();
            let Some((name, value)) = first.split_once(" = ") else {
                return Vec::new();
            };
            let name = match name.trim() {
                n if n.starts_with('#') => b
                    .get_expression_attribute_names()
                    .as_ref()
                    .and_then(|m| m.get(n).map(String::as_str)),
                n => Some(n),
            };
            let value = b
                .get_expression_attribute_values()
                .as_ref()
                .and_then(|m| m.get(value.trim()));
            match (name, value, b.get_index_name()) {
                // An index's partition key is not the table's.
                (Some(name), Some(value), None) => vec![Touched {
                    table,
                    capacity: Read,
                    keys: vec![Touch::Value(name, value)],
                    learn: Some(name),
                }],
                _ => Vec::new(),
            }
        }
        Request::BatchGetItem(b) => b
            .get_request_items()
            .iter()
            .flatten()
            .map(|(t, ka)| Touched {
                table: t,
                capacity: Read,
                keys: ka.keys().iter().map(Touch::Map).collect(),
                learn: None,
            })
            .collect(),
        Request::BatchWriteItem(b) => b
            .get_request_items()
            .iter()
            .flatten()
            .map(|(t, ws)| Touched {
                table: t,
                capacity: Write,
                keys: ws
                    .iter()
                    .filter_map(|w| {
                        w.put_request()
                            .map(|p| Touch::Map(p.item()))
                            .or_else(|| w.delete_request().map(|d| Touch::Map(d.key())))
                    })
                    .collect(),
                learn: None,
            })
            .collect(),
        Request::TransactWriteItems(b) => b
            .get_transact_items()
            .iter()
            .flatten()
            .filter_map(|m| {
                let (table, key) = if let Some(p) = m.put() {
                    (p.table_name(), p.item())
                } else if let Some(u) = m.update() {
                    (u.table_name(), u.key())
                } else if let Some(d) = m.delete() {
                    (d.table_name(), d.key())
                } else {
                    let c = m.condition_check()?;
                    (c.table_name(), c.key())
                };
                Some(Touched {
                    table,
                    capacity: Write,
                    keys: vec![Touch::Map(key)],
                    learn: None,
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Layer of [`HotPartitionService`].
#[derive(Clone, Debug)]
pub struct HotPartitionLayer {
    detector: Option<Arc<Detector>>,
}

impl HotPartitionLayer {
    /// Counts requests with `detector` (`None`: off).
    pub fn new(detector: Option<Arc<Detector>>) -> Self {
        HotPartitionLayer { detector }
    }
}

impl<S> Layer<S> for HotPartitionLayer {
    type Service = HotPartitionService<S>;
    fn layer(&self, inner: S) -> HotPartitionService<S> {
        HotPartitionService {
            inner,
            detector: self.detector.clone(),
        }
    }
}

/// Counts each request's partitions, then sends it on unchanged.
#[derive(Clone, Debug)]
pub struct HotPartitionService<S> {
    inner: S,
    detector: Option<Arc<Detector>>,
}

impl<S> Service<Request> for HotPartitionService<S>
where
    S: Service<Request>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if let Some(d) = &self.detector {
            d.observe(&request);
        }
        Box::pin(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_never_undercount_and_slide_out() {
        let mut c = Counts::new();
        let hot = key_hash(&AttributeValue::S("hot".into())).unwrap();
        let mut last = 0;
        for i in 0..1000u64 {
            last = c.add(hot, 0);
            // 10,000 other keys share the sketch.
            for j in 0..10 {
                let k = key_hash(&AttributeValue::N(format!("{}", i * 10 + j))).unwrap();
                assert!(c.add(k, 0) >= 1);
            }
        }
        assert!(last >= 1000);
        assert!(last < 1100, "a 4x2048 sketch stays close: {last}");
        // Six slices later the counts are gone.
        assert_eq!(c.add(hot, SLICES as u64), 1);
        assert_eq!(c.slices.len(), 1, "memory is bounded by the slices");
    }
}
