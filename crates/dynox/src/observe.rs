//! What every request did: figures per table and operation, a span per request with the
//! OpenTelemetry conventions for DynamoDB calls, and events for slow requests and throttles.
//!
//! Recorded by [`Observe`], the outermost part of the send path, so no request escapes it.
//! Attempts are counted where they are sent (`send::Dispatch`), through a task-local tally
//! the request carries down the stack.

use crate::error::{Error, Result};
use crate::layers::{classify, rate_limit};
use crate::send::{Request, Response, Stack};
use aws_sdk_dynamodb::types::ConsumedCapacity;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower::ServiceExt as _;
use tracing::Instrument as _;

/// The default threshold above which a request is reported as slow: 1 s.
pub const DEFAULT_SLOW_THRESHOLD: Duration = Duration::from_secs(1);

/// What a client records about its requests. On by default.
#[derive(Clone, Debug)]
pub struct Observability {
    /// Keep figures per table and operation ([`Client::metrics`](crate::Client::metrics)),
    /// asking DynamoDB for the consumed capacity of requests whose caller did not (the
    /// answer the caller sees is unchanged).
    pub metrics: bool,
    /// A request that takes longer (all attempts included) is reported by a `warn` event.
    pub slow_threshold: Option<Duration>,
}

impl Default for Observability {
    fn default() -> Self {
        Observability {
            metrics: true,
            slow_threshold: Some(DEFAULT_SLOW_THRESHOLD),
        }
    }
}

/// Figures summed over requests.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    /// Requests sent (each page of a query, each chunk of a batch is one).
    pub requests: u64,
    /// Requests that failed, all kinds.
    pub errors: u64,
    /// Failed requests by [`Error::kind`].
    pub errors_by_kind: BTreeMap<&'static str, u64>,
    /// Attempts sent on the wire (retries included).
    pub attempts: u64,
    /// Attempts after the first.
    pub retries: u64,
    /// Attempts DynamoDB throttled.
    pub throttles: u64,
    /// Read capacity units DynamoDB reported.
    pub read_units: f64,
    /// Write capacity units DynamoDB reported.
    pub write_units: f64,
    /// Items returned.
    pub items_returned: u64,
    /// Items a query or scan read (before its filter).
    pub items_scanned: u64,
    /// Time spent in requests, waits and retries included.
    pub duration: Duration,
    /// The longest request.
    pub max_duration: Duration,
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.requests += o.requests;
        self.errors += o.errors;
        for (k, n) in &o.errors_by_kind {
            *self.errors_by_kind.entry(k).or_insert(0) += n;
        }
        self.attempts += o.attempts;
        self.retries += o.retries;
        self.throttles += o.throttles;
        self.read_units += o.read_units;
        self.write_units += o.write_units;
        self.items_returned += o.items_returned;
        self.items_scanned += o.items_scanned;
        self.duration += o.duration;
        self.max_duration = self.max_duration.max(o.max_duration);
    }
}

/// One series of figures: an operation on a table (and index).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The DynamoDB operation, e.g. `Query`.
    pub operation: &'static str,
    /// The logical table (empty for requests that name none, e.g. `ListTables`).
    pub table: String,
    /// The index a query or scan read (empty for the table itself).
    pub index: String,
    /// What its requests did.
    pub figures: Figures,
}

/// The figures a client (and its clones) recorded. From [`Client::metrics`](crate::Client::metrics).
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Arc<Registry>,
}

impl Metrics {
    /// Every request's figures together.
    pub fn totals(&self) -> Figures {
        self.sum(|_| true)
    }

    /// The requests on logical table `table`.
    pub fn table(&self, table: &str) -> Figures {
        self.sum(|s| s.table == table)
    }

    /// The requests of one operation, e.g. `"PutItem"`.
    pub fn operation(&self, operation: &str) -> Figures {
        self.sum(|s| s.operation == operation)
    }

    /// Figures per logical table.
    pub fn by_table(&self) -> BTreeMap<String, Figures> {
        let mut out: BTreeMap<String, Figures> = BTreeMap::new();
        for s in self.series() {
            out.entry(s.table).or_default().add(&s.figures);
        }
        out
    }

    /// Every series, ordered by table, operation and index.
    pub fn series(&self) -> Vec<Series> {
        let state = self.registry.state.lock().expect("metrics lock");
        let mut out: Vec<Series> = state
            .series
            .iter()
            .map(|((operation, table, index), figures)| Series {
                operation,
                table: table.clone(),
                index: index.clone(),
                figures: figures.clone(),
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.table, a.operation, &a.index).cmp(&(&b.table, b.operation, &b.index))
        });
        out
    }

    /// Forgets every figure recorded so far.
    pub fn reset(&self) {
        self.registry
            .state
            .lock()
            .expect("metrics lock")
            .series
            .clear();
    }

    fn sum(&self, pick: impl Fn(&Series) -> bool) -> Figures {
        let mut out = Figures::default();
        for s in self.series().iter().filter(|s| pick(s)) {
            out.add(&s.figures);
        }
        out
    }
}

/// Where a client's figures are kept, shared by its clones.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    config: Observability,
    state: Mutex<State>,
}

type SeriesKey = (&'static str, String, String);

#[derive(Debug, Default)]
struct State {
    series: HashMap<SeriesKey, Figures>,
}

impl Registry {
    pub(crate) fn new(config: Observability) -> Arc<Registry> {
        Arc::new(Registry {
            config,
            state: Mutex::default(),
        })
    }

    pub(crate) fn config(&self) -> &Observability {
        &self.config
    }

    fn record(&self, operation: &'static str, table: &str, index: &str, sample: Sample) {
        let mut state = self.state.lock().expect("metrics lock");
        fn entry<'s>(
            series: &'s mut HashMap<SeriesKey, Figures>,
            key: (&'static str, &str, &str),
        ) -> &'s mut Figures {
            series
                .entry((key.0, key.1.to_owned(), key.2.to_owned()))
                .or_default()
        }
        let series = &mut state.series;
        let f = entry(series, (operation, table, index));
        f.requests += 1;
        f.attempts += u64::from(sample.attempts);
        f.retries += u64::from(sample.attempts.saturating_sub(1));
        f.throttles += u64::from(sample.throttles);
        f.items_returned += sample.items_returned;
        f.items_scanned += sample.items_scanned;
        f.duration += sample.duration;
        f.max_duration = f.max_duration.max(sample.duration);
        if let Some(kind) = sample.error {
            f.errors += 1;
            *f.errors_by_kind.entry(kind).or_insert(0) += 1;
        }
        // Capacity goes to the table DynamoDB says consumed it (a batch may name several).
        for (t, read, write) in sample.capacity {
            let f = entry(series, (operation, t.as_deref().unwrap_or(table), index));
            f.read_units += read;
            f.write_units += write;
        }
    }

    /// A handle on the figures.
    pub(crate) fn metrics(self: &Arc<Self>) -> Metrics {
        Metrics {
            registry: self.clone(),
        }
    }
}

/// What one request did.
#[derive(Debug, Default)]
struct Sample {
    attempts: u32,
    throttles: u32,
    items_returned: u64,
    items_scanned: u64,
    duration: Duration,
    error: Option<&'static str>,
    /// (table, read units, write units) per `ConsumedCapacity` entry.
    capacity: Vec<(Option<String>, f64, f64)>,
}

/// Counts one request's attempts as they are sent, below the retry layer.
#[derive(Debug, Default)]
struct Tally {
    attempts: AtomicU32,
    throttles: AtomicU32,
}

tokio::task_local! {
    static TALLY: Arc<Tally>;
}

/// Called by `send::Dispatch` as an attempt starts: its number (1 for the first).
pub(crate) fn attempt_started() -> u32 {
    TALLY
        .try_with(|t| t.attempts.fetch_add(1, Ordering::Relaxed) + 1)
        .unwrap_or(1)
}

/// Called by `send::Dispatch` as an attempt fails.
pub(crate) fn attempt_failed(operation: &'static str, attempt: u32, err: &Error) {
    if classify::failure(err).retry == classify::Retry::Throttle {
        let _ = TALLY.try_with(|t| t.throttles.fetch_add(1, Ordering::Relaxed));
        tracing::info!(
            target: "dynox",
            operation,
            attempt,
            error.type = err.kind(),
            "dynox: throttled"
        );
    }
}

/// The outermost part of the send path: a span per request, figures, slow-request events.
#[derive(Clone)]
pub(crate) struct Observe {
    inner: Stack,
    registry: Arc<Registry>,
}

impl Observe {
    pub(crate) fn new(inner: Stack, registry: Arc<Registry>) -> Observe {
        Observe { inner, registry }
    }

    pub(crate) async fn send(&self, request: Request) -> Result<Response> {
        let config = self.registry.config();
        let operation = request.operation_name();
        let table = request.table_name().unwrap_or_default().to_owned();
        let index = index_name(&request).unwrap_or_default().to_owned();
        let span = request_span(&request);
        let (request, hide) = if config.metrics {
            rate_limit::ask_capacity(request)
        } else {
            (request, false)
        };
        let tally = Arc::new(Tally::default());
        let started = Instant::now();
        let result = TALLY
            .scope(tally.clone(), self.inner.clone().oneshot(request))
            .instrument(span.clone())
            .await;
        let duration = started.elapsed();
        let attempts = tally.attempts.load(Ordering::Relaxed);
        let mut sample = Sample {
            attempts,
            throttles: tally.throttles.load(Ordering::Relaxed),
            duration,
            ..Sample::default()
        };
        let reads = !classify_writes(operation);
        let result = match result {
            Ok(mut response) => {
                if config.metrics {
                    read_response(&response, reads, &mut sample);
                }
                if !span.is_disabled() {
                    record_response(&span, &response);
                }
                if hide {
                    rate_limit::hide_capacity(&mut response);
                }
                Ok(response)
            }
            Err(e) => {
                sample.error = Some(e.kind());
                span.record("error.type", e.kind());
                span.record("otel.status_code", "ERROR");
                Err(e)
            }
        };
        span.record("dynox.attempts", attempts);
        if config.slow_threshold.is_some_and(|t| duration > t) {
            tracing::warn!(
                target: "dynox",
                parent: &span,
                operation,
                table = table.as_str(),
                duration_ms = duration.as_millis() as u64,
                attempts,
                "dynox: slow request"
            );
        }
        if config.metrics {
            self.registry.record(operation, &table, &index, sample);
        }
        result
    }
}

/// Whether `operation` writes (its capacity units are write units).
fn classify_writes(operation: &str) -> bool {
    matches!(
        operation,
        "PutItem"
            | "UpdateItem"
            | "DeleteItem"
            | "BatchWriteItem"
            | "TransactWriteItems"
            | "ExecuteTransaction"
    )
}

fn index_name(request: &Request) -> Option<&str> {
    match request {
        Request::Query(b) => b.get_index_name().as_deref(),
        Request::Scan(b) => b.get_index_name().as_deref(),
        _ => None,
    }
}

/// The span of one request, named and attributed by the OpenTelemetry semantic conventions
/// for AWS SDK calls to DynamoDB (`DynamoDB.<Operation>`, `rpc.*`, `aws.dynamodb.*`).
/// Attributes that would carry item values (keys, expressions' values, item collection
/// metrics) are never recorded.
fn request_span(request: &Request) -> tracing::Span {
    let span = tracing::info_span!(
        target: "dynox",
        "dynamodb.request",
        otel.name = tracing::field::Empty,
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        rpc.system = "aws-api",
        rpc.system.name = "aws-api",
        rpc.service = "DynamoDB",
        rpc.method = request.operation_name(),
        db.system.name = "aws.dynamodb",
        db.operation.name = request.operation_name(),
        aws.dynamodb.table_names = tracing::field::Empty,
        aws.dynamodb.index_name = tracing::field::Empty,
        aws.dynamodb.consistent_read = tracing::field::Empty,
        aws.dynamodb.limit = tracing::field::Empty,
        aws.dynamodb.projection = tracing::field::Empty,
        aws.dynamodb.select = tracing::field::Empty,
        aws.dynamodb.scan_forward = tracing::field::Empty,
        aws.dynamodb.segment = tracing::field::Empty,
        aws.dynamodb.total_segments = tracing::field::Empty,
        aws.dynamodb.consumed_capacity = tracing::field::Empty,
        aws.dynamodb.count = tracing::field::Empty,
        aws.dynamodb.scanned_count = tracing::field::Empty,
        aws.dynamodb.table_count = tracing::field::Empty,
        aws.request_id = tracing::field::Empty,
        error.type = tracing::field::Empty,
        dynox.attempts = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    span.record(
        "otel.name",
        format!("DynamoDB.{}", request.operation_name()).as_str(),
    );
    let names = table_names(request);
    if !names.is_empty() {
        span.record("aws.dynamodb.table_names", names.join(",").as_str());
    }
    match request {
        Request::GetItem(b) => {
            opt(
                &span,
                "aws.dynamodb.consistent_read",
                *b.get_consistent_read(),
            );
            if let Some(p) = b.get_projection_expression() {
                span.record("aws.dynamodb.projection", p.as_str());
            }
        }
        Request::Query(b) => {
            read_attributes(
                &span,
                (b.get_index_name(), b.get_projection_expression()),
                (*b.get_consistent_read(), *b.get_limit()),
                b.get_select().as_ref(),
            );
            opt(
                &span,
                "aws.dynamodb.scan_forward",
                *b.get_scan_index_forward(),
            );
        }
        Request::Scan(b) => {
            read_attributes(
                &span,
                (b.get_index_name(), b.get_projection_expression()),
                (*b.get_consistent_read(), *b.get_limit()),
                b.get_select().as_ref(),
            );
            opt(&span, "aws.dynamodb.segment", *b.get_segment());
            opt(
                &span,
                "aws.dynamodb.total_segments",
                *b.get_total_segments(),
            );
        }
        Request::ListTables(b) => opt(&span, "aws.dynamodb.limit", *b.get_limit()),
        _ => {}
    }
    span
}

/// What queries and scans share: index, projection, consistency, limit, select.
fn read_attributes(
    span: &tracing::Span,
    (index, projection): (&Option<String>, &Option<String>),
    (consistent, limit): (Option<bool>, Option<i32>),
    select: Option<&aws_sdk_dynamodb::types::Select>,
) {
    if let Some(i) = index {
        span.record("aws.dynamodb.index_name", i.as_str());
    }
    if let Some(p) = projection {
        span.record("aws.dynamodb.projection", p.as_str());
    }
    opt(span, "aws.dynamodb.consistent_read", consistent);
    opt(span, "aws.dynamodb.limit", limit);
    if let Some(s) = select {
        span.record("aws.dynamodb.select", s.as_str());
    }
}

fn opt<T: tracing::Value>(span: &tracing::Span, field: &'static str, value: Option<T>) {
    if let Some(v) = value {
        span.record(field, v);
    }
}

/// Every table a request names: its table, a batch's tables, a transaction's members' tables.
fn table_names(request: &Request) -> Vec<&str> {
    let mut names: Vec<&str> = match request {
        Request::BatchGetItem(b) => b
            .get_request_items()
            .iter()
            .flat_map(|m| m.keys())
            .map(String::as_str)
            .collect(),
        Request::BatchWriteItem(b) => b
            .get_request_items()
            .iter()
            .flat_map(|m| m.keys())
            .map(String::as_str)
            .collect(),
        Request::TransactWriteItems(b) => b
            .get_transact_items()
            .iter()
            .flatten()
            .filter_map(|t| {
                t.put
                    .as_ref()
                    .map(|p| p.table_name.as_str())
                    .or(t.update.as_ref().map(|u| u.table_name.as_str()))
                    .or(t.delete.as_ref().map(|d| d.table_name.as_str()))
                    .or(t.condition_check.as_ref().map(|c| c.table_name.as_str()))
            })
            .collect(),
        Request::TransactGetItems(b) => b
            .get_transact_items()
            .iter()
            .flatten()
            .filter_map(|t| t.get.as_ref().map(|g| g.table_name.as_str()))
            .collect(),
        other => other.table_name().into_iter().collect(),
    };
    names.sort_unstable();
    names.dedup();
    names
}

/// The answer's `ConsumedCapacity` entries.
fn capacity_of(response: &Response) -> Vec<&ConsumedCapacity> {
    match response {
        Response::GetItem(o) => o.consumed_capacity.iter().collect(),
        Response::PutItem(o) => o.consumed_capacity.iter().collect(),
        Response::UpdateItem(o) => o.consumed_capacity.iter().collect(),
        Response::DeleteItem(o) => o.consumed_capacity.iter().collect(),
        Response::Query(o) => o.consumed_capacity.iter().collect(),
        Response::Scan(o) => o.consumed_capacity.iter().collect(),
        Response::BatchWriteItem(o) => o.consumed_capacity.iter().flatten().collect(),
        Response::BatchGetItem(o) => o.consumed_capacity.iter().flatten().collect(),
        Response::TransactWriteItems(o) => o.consumed_capacity.iter().flatten().collect(),
        Response::TransactGetItems(o) => o.consumed_capacity.iter().flatten().collect(),
        Response::ExecuteStatement(o) => o.consumed_capacity.iter().collect(),
        Response::BatchExecuteStatement(o) => o.consumed_capacity.iter().flatten().collect(),
        Response::ExecuteTransaction(o) => o.consumed_capacity.iter().flatten().collect(),
        _ => Vec::new(),
    }
}

fn read_response(response: &Response, reads: bool, sample: &mut Sample) {
    for c in capacity_of(response) {
        let (r, w) = match (c.read_capacity_units, c.write_capacity_units) {
            (None, None) => {
                let u = c.capacity_units.unwrap_or(0.0);
                if reads { (u, 0.0) } else { (0.0, u) }
            }
            (r, w) => (r.unwrap_or(0.0), w.unwrap_or(0.0)),
        };
        sample.capacity.push((c.table_name.clone(), r, w));
    }
    let (returned, scanned) = match response {
        Response::GetItem(o) => (u64::from(o.item.is_some()), 0),
        Response::Query(o) => (o.count.max(0) as u64, o.scanned_count.max(0) as u64),
        Response::Scan(o) => (o.count.max(0) as u64, o.scanned_count.max(0) as u64),
        Response::BatchGetItem(o) => (
            o.responses
                .iter()
                .flat_map(|m| m.values())
                .map(|v| v.len() as u64)
                .sum(),
            0,
        ),
        Response::TransactGetItems(o) => (
            o.responses
                .iter()
                .flatten()
                .filter(|r| r.item.is_some())
                .count() as u64,
            0,
        ),
        Response::ExecuteStatement(o) => (o.items.as_ref().map_or(0, |i| i.len() as u64), 0),
        _ => (0, 0),
    };
    sample.items_returned = returned;
    sample.items_scanned = scanned;
}

fn record_response(span: &tracing::Span, response: &Response) {
    let capacity = capacity_of(response);
    if !capacity.is_empty() {
        let json: Vec<String> = capacity.iter().map(|c| capacity_json(c)).collect();
        span.record(
            "aws.dynamodb.consumed_capacity",
            format!("[{}]", json.join(",")).as_str(),
        );
    }
    match response {
        Response::Query(o) => {
            span.record("aws.dynamodb.count", o.count);
            span.record("aws.dynamodb.scanned_count", o.scanned_count);
        }
        Response::Scan(o) => {
            span.record("aws.dynamodb.count", o.count);
            span.record("aws.dynamodb.scanned_count", o.scanned_count);
        }
        Response::ListTables(o) => {
            span.record(
                "aws.dynamodb.table_count",
                o.table_names.as_ref().map_or(0, Vec::len) as u64,
            );
        }
        _ => {}
    }
}

/// One `ConsumedCapacity` entry as DynamoDB's JSON (table names and units only).
fn capacity_json(c: &ConsumedCapacity) -> String {
    let mut m = serde_json::Map::new();
    if let Some(t) = &c.table_name {
        m.insert("TableName".into(), t.clone().into());
    }
    for (k, v) in [
        ("CapacityUnits", c.capacity_units),
        ("ReadCapacityUnits", c.read_capacity_units),
        ("WriteCapacityUnits", c.write_capacity_units),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), v.into());
        }
    }
    serde_json::Value::Object(m).to_string()
}
