//! What every request did: figures per table, operation and model, spans by the OpenTelemetry
//! conventions for DynamoDB calls, events for slow requests, throttles and batch leftovers, and
//! export through the `metrics` facade (and OpenTelemetry meters, feature `opentelemetry`).
//!
//! Recorded by the crate's `Observe` layer, the outermost part of the send path, so no request
//! escapes it. Attempts are counted where they are sent (`send::Dispatch`), and what the wire
//! carried (request id, status, bytes) where the SDK sees it (an interceptor, `observe::wire`),
//! through a task-local tally the request carries down the stack. Logical operations (a
//! paginated read, a batch) are a span and a scope around their requests (`observe::Logical`).

mod export;
mod figures;
#[cfg(feature = "opentelemetry")]
pub mod otel;
mod span;
pub(crate) mod wire;

pub(crate) use figures::Registry;
pub use figures::{Figures, Metrics, ModelMetrics, Series};

use crate::error::{Error, Result};
use crate::layers::classify;
use crate::send::{Request, Response, Stack};
use dynox_iam::Mapping;
use futures::Stream;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::ServiceExt as _;
use tracing::Instrument as _;

/// The default threshold above which a request is reported as slow: 1 s.
pub const DEFAULT_SLOW_THRESHOLD: Duration = Duration::from_secs(1);

/// What a client records about its requests. Everything is on by default; with no tracing
/// subscriber and no metrics recorder installed, what is left costs a few percent of a request
/// (measured by `cargo xtask bench`).
#[derive(Clone, Debug)]
pub struct Observability {
    metrics: bool,
    export: bool,
    slow_threshold: Option<Duration>,
    #[cfg(feature = "opentelemetry")]
    meters: Option<Arc<otel::Meters>>,
}

impl Default for Observability {
    fn default() -> Self {
        Observability {
            metrics: true,
            export: true,
            slow_threshold: Some(DEFAULT_SLOW_THRESHOLD),
            #[cfg(feature = "opentelemetry")]
            meters: None,
        }
    }
}

impl Observability {
    /// Nothing recorded, nothing exported, no slow-request events (spans stay: they cost nothing
    /// without a subscriber).
    pub fn off() -> Self {
        Observability {
            metrics: false,
            export: false,
            slow_threshold: None,
            #[cfg(feature = "opentelemetry")]
            meters: None,
        }
    }

    /// Keep figures for [`Client::metrics`](crate::Client::metrics), asking DynamoDB for the
    /// consumed capacity of requests whose caller did not (the caller's answer is unchanged).
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Export through the `metrics` facade (to whatever recorder the process installed).
    pub fn export(mut self, on: bool) -> Self {
        self.export = on;
        self
    }

    /// A request that takes longer (all attempts included) is reported by a `warn` event.
    pub fn slow_threshold(mut self, threshold: Option<Duration>) -> Self {
        self.slow_threshold = threshold;
        self
    }

    /// Also record into OpenTelemetry instruments made from `meter`.
    #[cfg(feature = "opentelemetry")]
    pub fn meter(mut self, meter: &opentelemetry::metrics::Meter) -> Self {
        self.meters = Some(Arc::new(otel::Meters::new(meter)));
        self
    }

    /// Whether figures are kept.
    pub fn keeps_metrics(&self) -> bool {
        self.metrics
    }

    /// Whether figures are exported through the `metrics` facade.
    pub fn exports(&self) -> bool {
        self.export
    }

    /// The slow-request threshold.
    pub fn slow(&self) -> Option<Duration> {
        self.slow_threshold
    }

    /// Whether a request needs its capacity asked for.
    fn wants_capacity(&self) -> bool {
        #[cfg(feature = "opentelemetry")]
        if self.meters.is_some() {
            return true;
        }
        self.metrics || self.export
    }
}

/// What one request did, as recorded and exported.
#[derive(Debug)]
pub(crate) struct Sample<'a> {
    pub(crate) operation: &'static str,
    pub(crate) table: &'a str,
    pub(crate) deployed_table: &'a str,
    pub(crate) index: &'a str,
    pub(crate) model: &'static str,
    pub(crate) attempts: u32,
    pub(crate) throttles: u32,
    pub(crate) items_returned: u64,
    pub(crate) items_scanned: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) bytes_received: u64,
    pub(crate) duration: Duration,
    pub(crate) error: Option<&'static str>,
    /// (table, read units, write units) per `ConsumedCapacity` entry.
    pub(crate) capacity: Vec<(Option<String>, f64, f64)>,
}

impl Sample<'_> {
    /// The sample as figures of one request (capacity summed over tables).
    fn figures(&self) -> Figures {
        let mut f = Figures::default();
        f.add_sample(self);
        for (_, r, w) in &self.capacity {
            f.read_units += r;
            f.write_units += w;
        }
        f
    }
}

/// Counts one request's attempts as they are sent, below the retry layer, and what the wire
/// said about them.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    attempts: AtomicU32,
    throttles: AtomicU32,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    /// The latest attempt's `x-amzn-RequestId` and HTTP status.
    answer: Mutex<Option<(Option<String>, u16)>>,
    /// The request's correlation id, for the events of the layers below.
    correlation: Option<Arc<str>>,
}

/// The correlation id of the request being sent (for events below `Observe`).
pub(crate) fn correlation_id() -> Option<Arc<str>> {
    TALLY.try_with(|t| t.correlation.clone()).ok().flatten()
}

tokio::task_local! {
    static TALLY: Arc<Tally>;
    static SCOPE: Scope;
}

/// What the caller's task set around its requests.
#[derive(Clone, Debug, Default)]
struct Scope {
    correlation: Option<Arc<str>>,
    /// Every [`measure`] enclosing this point, innermost last.
    measures: Vec<Arc<Mutex<Figures>>>,
    logical: Option<Arc<Logical>>,
}

impl Scope {
    /// Adds one request's figures to the enclosing measures and logical operation.
    fn add(&self, sample: &Sample<'_>) {
        if self.measures.is_empty() && self.logical.is_none() {
            return;
        }
        let figures = sample.figures();
        for m in &self.measures {
            m.lock().expect("measure lock").add(&figures);
        }
        if let Some(l) = &self.logical {
            l.add(&figures);
        }
    }
}

fn current_scope() -> Scope {
    SCOPE.try_with(Clone::clone).unwrap_or_default()
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
            correlation_id = correlation_id().as_deref(),
            "dynox: throttled"
        );
    }
}

/// Called by `send::Dispatch` as an attempt ends: records on its span what the wire said.
pub(crate) fn attempt_ended(span: &tracing::Span) {
    if span.is_disabled() {
        return;
    }
    let _ = TALLY.try_with(|t| {
        if let Some((id, status)) = t.answer.lock().expect("tally lock").as_ref() {
            if let Some(id) = id {
                span.record("aws.request_id", id.as_str());
            }
            span.record("http.response.status_code", i64::from(*status));
        }
    });
}

fn with_tally(f: impl FnOnce(&Tally)) {
    let _ = TALLY.try_with(|t| f(t));
}

/// The correlation id of what `observe`'s client sends now: the call's (a scope), else the
/// client's, else the caller's trace id.
fn correlation_for(observe: &Observe, scope: Option<&Scope>) -> Option<Arc<str>> {
    scope
        .and_then(|s| s.correlation.clone())
        .or_else(|| observe.correlation.clone())
        .or_else(current_trace_id)
}

/// Without a correlation id given, the trace id of the caller's OpenTelemetry span (feature
/// `opentelemetry`), so that logs and traces join.
fn current_trace_id() -> Option<Arc<str>> {
    #[cfg(feature = "opentelemetry")]
    {
        otel::current_trace_id()
    }
    #[cfg(not(feature = "opentelemetry"))]
    {
        None
    }
}

/// The outermost part of the send path: a span per request, figures, export, slow-request
/// events.
#[derive(Clone)]
pub(crate) struct Observe {
    inner: Stack,
    registry: Arc<Registry>,
    mapping: Arc<Mapping>,
    correlation: Option<Arc<str>>,
}

impl Observe {
    pub(crate) fn new(
        inner: Stack,
        registry: Arc<Registry>,
        mapping: Arc<Mapping>,
        correlation: Option<Arc<str>>,
    ) -> Observe {
        Observe {
            inner,
            registry,
            mapping,
            correlation,
        }
    }

    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub(crate) fn correlation(&self) -> Option<&Arc<str>> {
        self.correlation.as_ref()
    }

    /// Sends `request` on behalf of `model` (`""` for none).
    pub(crate) async fn send(&self, request: Request, model: &'static str) -> Result<Response> {
        let config = self.registry.config();
        let scope = SCOPE.try_with(Clone::clone).ok();
        let operation = request.operation_name();
        let table = request.table_name().unwrap_or_default().to_owned();
        let index = span::index_name(&request).unwrap_or_default().to_owned();
        let model = match (model, scope.as_ref().and_then(|s| s.logical.as_ref())) {
            ("", Some(l)) => l.model,
            (m, _) => m,
        };
        let correlation = correlation_for(self, scope.as_ref());
        let span = span::request(&request, model, correlation.as_deref(), &self.mapping);
        let (request, hide) = if config.wants_capacity() {
            crate::capacity::ask(request)
        } else {
            (request, false)
        };
        let tally = Arc::new(Tally {
            correlation: correlation.clone(),
            ..Tally::default()
        });
        let started = Instant::now();
        let result = TALLY
            .scope(tally.clone(), self.inner.clone().oneshot(request))
            .instrument(span.clone())
            .await;
        let duration = started.elapsed();
        let deployed = figures::deployed(&self.mapping, &table);
        let mut sample = Sample {
            operation,
            table: &table,
            deployed_table: &deployed,
            index: &index,
            model,
            attempts: tally.attempts.load(Ordering::Relaxed),
            throttles: tally.throttles.load(Ordering::Relaxed),
            items_returned: 0,
            items_scanned: 0,
            bytes_sent: tally.bytes_sent.load(Ordering::Relaxed),
            bytes_received: tally.bytes_received.load(Ordering::Relaxed),
            duration,
            error: None,
            capacity: Vec::new(),
        };
        if let Some((Some(id), _)) = tally.answer.lock().expect("tally lock").as_ref() {
            span.record("aws.request_id", id.as_str());
        }
        let result = match result {
            Ok(mut response) => {
                span::read_response(&response, &mut sample);
                if !span.is_disabled() {
                    span::record_response(&span, &response, &self.mapping);
                }
                if hide {
                    crate::capacity::hide(&mut response);
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
        span.record("dynox.attempts", i64::from(sample.attempts));
        if config.slow().is_some_and(|t| duration > t) {
            tracing::warn!(
                target: "dynox",
                parent: &span,
                operation,
                table = table.as_str(),
                model,
                duration_ms = duration.as_millis() as u64,
                attempts = sample.attempts,
                correlation_id = correlation.as_deref(),
                "dynox: slow request"
            );
        }
        let in_logical = scope.as_ref().is_some_and(|s| s.logical.is_some());
        self.registry.record(&sample, in_logical, &self.mapping);
        if let Some(scope) = scope {
            scope.add(&sample);
        }
        result
    }
}

impl Observe {
    /// The correlation id for a request sent outside the stack (`outside.rs`), as `send` finds
    /// its own.
    pub(crate) fn outside_correlation(&self) -> Option<Arc<str>> {
        let scope = SCOPE.try_with(Clone::clone).ok();
        correlation_for(self, scope.as_ref())
    }

    /// Records a request to another AWS service (DynamoDB Streams, S3), which `outside.rs` sends
    /// without the stack, like one of the stack's: the figures, the caller's `measure` scopes and
    /// logical operation.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_outside(
        &self,
        operation: &'static str,
        table: &str,
        model: &'static str,
        attempts: u32,
        throttles: u32,
        duration: std::time::Duration,
        error: Option<&'static str>,
    ) {
        let deployed = figures::deployed(&self.mapping, table);
        let sample = &Sample {
            operation,
            table,
            deployed_table: &deployed,
            index: "",
            model,
            attempts,
            throttles,
            items_returned: 0,
            items_scanned: 0,
            bytes_sent: 0,
            bytes_received: 0,
            duration,
            error,
            capacity: Vec::new(),
        };
        let scope = SCOPE.try_with(Clone::clone).ok();
        let in_logical = scope.as_ref().is_some_and(|s| s.logical.is_some());
        self.registry.record(sample, in_logical, &self.mapping);
        if let Some(scope) = scope {
            scope.add(sample);
        }
    }
}

/// A logical operation: a paginated read, a batch, a parallel scan. Its span is the parent of
/// its requests' spans; its figures are the sum of theirs, and become the model's last figures
/// when it ends.
#[derive(Debug)]
pub(crate) struct Logical {
    span: tracing::Span,
    /// The logical operation this one is part of (a parallel scan's segment reads), which
    /// counts what this one counts.
    parent: Option<Arc<Logical>>,
    model: &'static str,
    figures: Mutex<Figures>,
    registry: Arc<Registry>,
}

impl Logical {
    /// A logical operation `kind` (e.g. `query`) on `table` for `model`, started by `client`.
    pub(crate) fn start(
        client: &crate::Client,
        kind: &'static str,
        table: &str,
        model: &'static str,
    ) -> Arc<Logical> {
        let scope = SCOPE.try_with(Clone::clone).ok();
        let correlation = correlation_for(client.observe(), scope.as_ref());
        Arc::new(Logical {
            span: span::logical(kind, table, model, correlation.as_deref()),
            parent: scope.and_then(|s| s.logical),
            model,
            figures: Mutex::default(),
            registry: client.observe().registry().clone(),
        })
    }

    fn add(&self, figures: &Figures) {
        self.figures.lock().expect("logical lock").add(figures);
        if let Some(p) = &self.parent {
            p.add(figures);
        }
    }

    fn scope(self: &Arc<Self>) -> Scope {
        let mut scope = current_scope();
        scope.logical = Some(self.clone());
        scope
    }

    /// Runs `fut` as this operation.
    pub(crate) async fn run<F: Future>(self: Arc<Self>, fut: F) -> F::Output {
        let span = self.span.clone();
        SCOPE.scope(self.scope(), fut).instrument(span).await
    }

    /// Reads `stream` as this operation: each poll inside its span and scope.
    pub(crate) fn stream<S: Stream + Send + 'static>(
        self: Arc<Self>,
        stream: S,
    ) -> futures::stream::BoxStream<'static, S::Item> {
        Box::pin(LogicalStream {
            logical: self,
            inner: Box::pin(stream),
        })
    }
}

impl Drop for Logical {
    fn drop(&mut self) {
        let figures = std::mem::take(self.figures.get_mut().expect("logical lock"));
        if !self.span.is_disabled() {
            span::record_logical(&self.span, &figures);
        }
        // A read dropped before it sent anything was not an operation.
        if figures.requests > 0 {
            self.registry.set_last(self.model, figures);
        }
    }
}

/// The inner stream is dropped first: reads nested in it end before this one does.
struct LogicalStream<S> {
    inner: Pin<Box<S>>,
    logical: Arc<Logical>,
}

impl<S: Stream> Stream for LogicalStream<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        let scope = this.logical.scope();
        let _entered = this.logical.span.enter();
        SCOPE.sync_scope(scope, || this.inner.as_mut().poll_next(cx))
    }
}

/// Runs `fut` (a request builder, or any future that sends requests) and returns its output
/// with the figures of every request it sent: the figures of one operation, as
/// [`MeasureExt::send_with_metrics`] gives them. Scopes nest: an outer scope counts what the
/// inner ones count.
pub async fn measure<F: IntoFuture>(fut: F) -> (F::Output, Figures) {
    let figures = Arc::new(Mutex::new(Figures::default()));
    let mut scope = current_scope();
    scope.measures.push(figures.clone());
    let (output, kms) = dynox_encryption::kms::measure(SCOPE.scope(scope, fut.into_future())).await;
    let mut figures = std::mem::take(&mut *figures.lock().expect("measure lock"));
    figures.kms = kms;
    (output, figures)
}

/// `send_with_metrics()` on every request builder (anything awaitable that sends requests).
pub trait MeasureExt: IntoFuture + Sized {
    /// Sends the request and returns its result with what it did: requests, attempts,
    /// capacity, items, duration, KMS calls.
    fn send_with_metrics(self) -> impl Future<Output = (Self::Output, Figures)> {
        measure(self)
    }
}

impl<F: IntoFuture> MeasureExt for F {}

/// Runs `fut` with `id` as the correlation id of every span and event its requests make
/// (over the client's own, [`Client::with_correlation_id`](crate::Client::with_correlation_id)).
pub async fn with_correlation_id<F: IntoFuture>(id: impl Into<Arc<str>>, fut: F) -> F::Output {
    let mut scope = current_scope();
    scope.correlation = Some(id.into());
    SCOPE.scope(scope, fut.into_future()).await
}

/// Reports what a batch left undone after its retries: a `warn` event, with counts only.
pub(crate) fn batch_leftovers(
    client: &crate::Client,
    operation: &'static str,
    table: &str,
    leftovers: usize,
) {
    if leftovers > 0 {
        let scope = SCOPE.try_with(Clone::clone).ok();
        let correlation = correlation_for(client.observe(), scope.as_ref());
        tracing::warn!(
            target: "dynox",
            operation,
            table,
            leftovers,
            correlation_id = correlation.as_deref(),
            "dynox: batch leftovers"
        );
    }
}
