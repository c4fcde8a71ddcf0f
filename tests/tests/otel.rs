//! dynox through a real OpenTelemetry SDK pipeline (tracing-opentelemetry and the SDK's
//! in-memory exporters) and through the Prometheus exporter: the span tree under the caller's
//! span, attributes by the conventions, instruments whose values equal the client's figures and
//! the capacity DynamoDB reported, correlation ids, and no item value anywhere.

use dynox::capacity::Capacity;
use dynox::layers::{Resilience, RetryPolicy};
use dynox::observe::Observability;
use dynox::{Client, Model};
use dynox_testing::LocalDynamo;
use dynox_testing::faults::{FaultPlan, FaultProxy, Faults};
use futures::TryStreamExt as _;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::Instrument as _;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;

const SECRET: &str = "planted-otel-secret-4e1d";

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "otel_orders")]
struct Order {
    #[dynox(partition_key)]
    customer: String,
    #[dynox(sort_key)]
    order_id: u64,
    status: String,
    note: String,
}

fn order(customer: &str, order_id: u64) -> Order {
    Order {
        customer: customer.into(),
        order_id,
        status: "placed".into(),
        note: format!("{SECRET}-{customer}-{order_id}"),
    }
}

/// An OpenTelemetry SDK pipeline with in-memory exporters, and a `tracing` subscriber that
/// feeds it (debug and above: the attempt spans are debug).
struct Otel {
    spans: InMemorySpanExporter,
    metrics: InMemoryMetricExporter,
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
}

impl Otel {
    fn new() -> Otel {
        let spans = InMemorySpanExporter::default();
        let metrics = InMemoryMetricExporter::default();
        Otel {
            tracer_provider: SdkTracerProvider::builder()
                .with_simple_exporter(spans.clone())
                .build(),
            meter_provider: SdkMeterProvider::builder()
                .with_reader(PeriodicReader::builder(metrics.clone()).build())
                .build(),
            spans,
            metrics,
        }
    }

    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let tracer = self.tracer_provider.tracer("dynox-tests");
        tracing_subscriber::registry().with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(LevelFilter::DEBUG),
        )
    }

    /// A client recording into this pipeline's meters.
    fn client(&self, local: &LocalDynamo) -> Client {
        let meter = self.meter_provider.meter("dynox");
        local
            .client()
            .with_observability(Observability::default().meter(&meter))
    }

    fn finished_spans(&self) -> Vec<SpanData> {
        self.tracer_provider.force_flush().unwrap();
        self.spans.get_finished_spans().unwrap()
    }

    /// The cumulative metrics as of now.
    fn collect(&self) -> ResourceMetrics {
        self.meter_provider.force_flush().unwrap();
        self.metrics
            .get_finished_metrics()
            .unwrap()
            .pop()
            .expect("one export")
    }
}

fn attr<'a>(s: &'a SpanData, key: &str) -> Option<&'a Value> {
    s.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn text(s: &SpanData, key: &str) -> Option<String> {
    attr(s, key).map(|v| v.as_str().into_owned())
}

/// An integer attribute: dynox records them signed, so that they are OpenTelemetry integers
/// (an unsigned field would arrive through `Debug`, as a string).
fn int(s: &SpanData, key: &str) -> Option<i64> {
    match attr(s, key)? {
        Value::I64(n) => Some(*n),
        other => panic!("{key} is not an integer: {other:?}"),
    }
}

/// A string-array attribute (`aws.dynamodb.table_names`).
fn strings(s: &SpanData, key: &str) -> Option<Vec<String>> {
    match attr(s, key)? {
        Value::Array(opentelemetry::Array::String(v)) => {
            Some(v.iter().map(|x| x.as_str().to_owned()).collect())
        }
        other => panic!("{key} is not a string array: {other:?}"),
    }
}

/// dynox's request spans. (The AWS SDK's own debug spans are named `DynamoDB.<Op>` too, with
/// `rpc.*` attributes but no `db.system.name`: they are children of dynox's attempt spans.)
fn is_request(s: &SpanData) -> bool {
    s.name.starts_with("DynamoDB.") && text(s, "db.system.name").is_some()
}

fn is_attempt(s: &SpanData) -> bool {
    s.name == "dynamodb.attempt"
}

fn is_logical(s: &SpanData) -> bool {
    attr(s, "db.operation.name").is_some() && !is_request(s) && !is_attempt(s)
}

/// The total of the `CapacityUnits` in a span's `aws.dynamodb.consumed_capacity`.
fn span_capacity(s: &SpanData) -> f64 {
    let json = text(s, "aws.dynamodb.consumed_capacity").unwrap_or_else(|| "[]".into());
    let entries: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    entries
        .iter()
        .map(|e| e["CapacityUnits"].as_f64().expect("CapacityUnits"))
        .sum()
}

fn total(c: &Option<aws_sdk_dynamodb::types::ConsumedCapacity>) -> f64 {
    c.as_ref()
        .and_then(|c| c.capacity_units)
        .expect("capacity asked for")
}

/// What the workload asked DynamoDB to report: (read units, write units).
#[derive(Default, Debug)]
struct Reported {
    read: f64,
    write: f64,
}

/// Like the example service, on one table: create it, put five orders (the secret in each),
/// read one that exists and one that does not, read a customer's orders in pages of two (three
/// pages), write 30 orders in one batch (two requests) and fail one conditional put. Every
/// request that can asks for its capacity, so that `Reported` is what DynamoDB reported.
async fn workload(local: &LocalDynamo, client: &Client) -> Reported {
    let mut reported = Reported::default();
    local.create_table::<Order>(client).await.unwrap();
    for id in 0..5 {
        let out = client
            .put(&order("c-1", id))
            .return_consumed_capacity(Capacity::Total)
            .send_with_capacity()
            .await
            .unwrap();
        reported.write += total(&out.consumed_capacity);
    }
    for (id, found) in [(3, true), (99, false)] {
        let out = client
            .get::<Order>(Order::key("c-1", id))
            .return_consumed_capacity(Capacity::Total)
            .send_with_capacity()
            .await
            .unwrap();
        assert_eq!(out.value.is_some(), found);
        reported.read += total(&out.consumed_capacity);
    }
    let pages: Vec<_> = client
        .query::<Order>("c-1".to_string())
        .page_size(2)
        .return_consumed_capacity(Capacity::Total)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [2, 2, 1]
    );
    for p in &pages {
        reported.read += total(&p.consumed_capacity);
    }
    let many: Vec<Order> = (0..30).map(|id| order("c-2", id)).collect();
    let out = client
        .batch_write()
        .put_all(&many)
        .return_consumed_capacity(Capacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(out.written, 30);
    reported.write += out
        .consumed_capacity
        .iter()
        .map(|c| c.capacity_units.unwrap())
        .sum::<f64>();
    let refused = client
        .put(&order("c-1", 0))
        .if_not_exists()
        .return_consumed_capacity(Capacity::Total)
        .await;
    assert!(refused.unwrap_err().is_condition_failed());
    reported
}

fn metric<'a>(m: &'a ResourceMetrics, name: &str) -> &'a Metric {
    m.scope_metrics()
        .flat_map(|s| s.metrics())
        .find(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no instrument {name}"))
}

fn get<'a>(attributes: impl Iterator<Item = &'a KeyValue>, key: &str) -> Option<String> {
    let mut attributes = attributes;
    attributes
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

#[tokio::test]
async fn spans_and_instruments_through_the_opentelemetry_sdk() {
    let local = LocalDynamo::start().await.unwrap();
    let otel = Otel::new();
    let client = otel.client(&local);
    let guard = tracing::subscriber::set_default(otel.subscriber());
    let reported = workload(&local, &client)
        .instrument(tracing::info_span!("handler"))
        .await;
    drop(guard);

    let spans = otel.finished_spans();
    let by_id: std::collections::HashMap<SpanId, &SpanData> = spans
        .iter()
        .map(|s| (s.span_context.span_id(), s))
        .collect();
    let parent = |s: &SpanData| by_id.get(&s.parent_span_id).copied();
    let handler = spans.iter().find(|s| s.name == "handler").unwrap();
    assert_eq!(handler.parent_span_id, SpanId::INVALID);
    let trace_id = handler.span_context.trace_id();
    assert_ne!(trace_id, TraceId::INVALID);
    let trace_hex = trace_id.to_string();
    assert_eq!(trace_hex.len(), 32);
    for s in &spans {
        assert_eq!(
            s.span_context.trace_id(),
            trace_id,
            "{} left the trace",
            s.name
        );
    }

    // What the client counted, to compare the spans and the instruments with.
    let m = client.metrics();
    let totals = m.totals();
    assert_eq!(totals.errors, 1);
    assert_eq!(totals.attempts, totals.requests, "no retries");

    // One request span per request sent, named `DynamoDB.<Op>`, kind client.
    let requests: Vec<&SpanData> = spans.iter().filter(|s| is_request(s)).collect();
    assert_eq!(requests.len() as u64, totals.requests);
    let mut per_operation: BTreeMap<String, u64> = BTreeMap::new();
    for r in &requests {
        let op = text(r, "rpc.method").unwrap();
        assert_eq!(r.name, format!("DynamoDB.{op}"));
        assert_eq!(r.span_kind, SpanKind::Client);
        assert_eq!(text(r, "rpc.system").as_deref(), Some("aws-api"));
        assert_eq!(text(r, "rpc.system.name").as_deref(), Some("aws-api"));
        assert_eq!(text(r, "db.system.name").as_deref(), Some("aws.dynamodb"));
        assert_eq!(text(r, "db.operation.name"), Some(op.clone()));
        assert_eq!(
            strings(r, "aws.dynamodb.table_names"),
            Some(vec!["otel_orders".to_owned()])
        );
        assert_eq!(text(r, "dynox.tables").as_deref(), Some("otel_orders"));
        assert_eq!(int(r, "dynox.attempts"), Some(1));
        // The embedded engine sends `x-amzn-RequestId` (52 characters) on every answer.
        let id = text(r, "aws.request_id").expect("a request id");
        assert_eq!(id.len(), 52, "{id}");
        assert_eq!(text(r, "dynox.correlation_id"), Some(trace_hex.clone()));
        *per_operation.entry(op).or_default() += 1;
    }
    for s in m.series() {
        assert_eq!(
            per_operation.get(s.operation).copied().unwrap_or(0),
            m.operation(s.operation).requests,
            "{}",
            s.operation
        );
    }
    assert_eq!(per_operation["PutItem"], 6);
    assert_eq!(per_operation["GetItem"], 2);
    assert_eq!(per_operation["Query"], 3);
    assert_eq!(per_operation["BatchWriteItem"], 2);
    assert!(per_operation["CreateTable"] == 1 && per_operation["DescribeTable"] >= 1);

    // Puts and gets are the handler's children; a model's requests say so.
    for r in requests
        .iter()
        .filter(|r| ["PutItem", "GetItem"].contains(&text(r, "rpc.method").unwrap().as_str()))
    {
        assert_eq!(parent(r).unwrap().name, "handler");
        assert_eq!(text(r, "dynox.model").as_deref(), Some("Order"));
    }

    // The query is one logical span, the handler's child, over its three page requests.
    let logical: Vec<&SpanData> = spans.iter().filter(|s| is_logical(s)).collect();
    assert_eq!(logical.len(), 2, "{logical:?}");
    let query = logical
        .iter()
        .find(|s| text(s, "db.operation.name").as_deref() == Some("query"))
        .unwrap();
    assert_eq!(query.name, "query otel_orders");
    assert_eq!(query.span_kind, SpanKind::Internal);
    assert_eq!(parent(query).unwrap().name, "handler");
    assert_eq!(
        text(query, "db.collection.name").as_deref(),
        Some("otel_orders")
    );
    assert_eq!(text(query, "dynox.model").as_deref(), Some("Order"));
    assert_eq!(text(query, "dynox.correlation_id"), Some(trace_hex.clone()));
    assert_eq!(int(query, "dynox.requests"), Some(3));
    assert_eq!(int(query, "dynox.items"), Some(5));
    let pages: Vec<&&SpanData> = requests
        .iter()
        .filter(|r| r.name == "DynamoDB.Query")
        .collect();
    let mut counts = Vec::new();
    for p in &pages {
        assert_eq!(p.parent_span_id, query.span_context.span_id());
        assert_eq!(int(p, "aws.dynamodb.limit"), Some(2));
        let count = int(p, "aws.dynamodb.count").unwrap();
        assert_eq!(int(p, "aws.dynamodb.scanned_count"), Some(count));
        counts.push(count);
    }
    counts.sort_unstable();
    assert_eq!(counts, [1, 2, 2]);

    // The batch: one logical span over its two chunk requests.
    let batch = logical
        .iter()
        .find(|s| text(s, "db.operation.name").as_deref() == Some("batch_write"))
        .unwrap();
    assert_eq!(batch.name, "batch_write");
    assert_eq!(parent(batch).unwrap().name, "handler");
    assert_eq!(int(batch, "dynox.requests"), Some(2));
    let chunks: Vec<&&SpanData> = requests
        .iter()
        .filter(|r| r.name == "DynamoDB.BatchWriteItem")
        .collect();
    assert_eq!(chunks.len(), 2);
    for c in &chunks {
        assert_eq!(c.parent_span_id, batch.span_context.span_id());
    }
    assert_eq!(
        chunks.iter().map(|c| span_capacity(c)).sum::<f64>(),
        30.0,
        "one unit per small item"
    );

    // The failed conditional put: error.type and status Error; everything else is not an error.
    let failed: Vec<&&SpanData> = requests
        .iter()
        .filter(|r| matches!(r.status, Status::Error { .. }))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].name, "DynamoDB.PutItem");
    assert_eq!(
        text(failed[0], "error.type").as_deref(),
        Some("ConditionFailed")
    );
    assert!(text(failed[0], "aws.dynamodb.consumed_capacity").is_none());
    for s in spans.iter().filter(|s| !is_attempt(s)) {
        if s.span_context.span_id() != failed[0].span_context.span_id() {
            assert_eq!(s.status, Status::Unset, "{}", s.name);
            assert!(text(s, "error.type").is_none(), "{}", s.name);
        }
    }

    // The capacity on the spans is what DynamoDB reported.
    let on_spans: f64 = requests.iter().map(|r| span_capacity(r)).sum();
    assert_eq!(on_spans, reported.read + reported.write);
    // A logical span sums its requests' capacity.
    let page_units: f64 = pages.iter().map(|p| span_capacity(p)).sum();
    assert!(page_units > 0.0);
    assert_eq!(
        attr(query, "dynox.read_units"),
        Some(&Value::F64(page_units))
    );
    assert_eq!(attr(batch, "dynox.write_units"), Some(&Value::F64(30.0)));

    // One attempt span per request, its child, with the wire's answer.
    let attempts: Vec<&SpanData> = spans.iter().filter(|s| is_attempt(s)).collect();
    assert_eq!(attempts.len(), requests.len());
    for a in &attempts {
        let request = parent(a).expect("an attempt has a parent");
        assert!(is_request(request), "{}", request.name);
        assert_eq!(a.span_kind, SpanKind::Client);
        assert_eq!(int(a, "dynox.attempt"), Some(1));
        assert_eq!(text(a, "rpc.method"), text(request, "rpc.method"));
        assert_eq!(text(a, "aws.request_id"), text(request, "aws.request_id"));
        let status = int(a, "http.response.status_code").unwrap();
        let failed = request.span_context.span_id() == failed[0].span_context.span_id();
        assert_eq!(status, if failed { 400 } else { 200 });
        assert_eq!(text(a, "error.type").is_some(), failed);
    }
    for r in &requests {
        let children = attempts
            .iter()
            .filter(|a| a.parent_span_id == r.span_context.span_id())
            .count();
        assert_eq!(children, 1, "{}", r.name);
    }

    // The instruments: one duration per request, by operation; capacity as reported.
    let collected = otel.collect();
    let duration = metric(&collected, "db.client.operation.duration");
    assert_eq!(duration.unit(), "s");
    let AggregatedMetrics::F64(MetricData::Histogram(h)) = duration.data() else {
        panic!("{duration:?}")
    };
    let mut counted: BTreeMap<String, u64> = BTreeMap::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for p in h.data_points() {
        assert_eq!(
            get(p.attributes(), "db.system.name").as_deref(),
            Some("aws.dynamodb")
        );
        assert_eq!(
            get(p.attributes(), "db.collection.name").as_deref(),
            Some("otel_orders")
        );
        let op = get(p.attributes(), "db.operation.name").unwrap();
        *counted.entry(op.clone()).or_default() += p.count();
        if let Some(kind) = get(p.attributes(), "error.type") {
            assert_eq!(kind, "ConditionFailed");
            *errors.entry(op).or_default() += p.count();
        }
    }
    assert_eq!(counted, per_operation);
    for (op, n) in &counted {
        assert_eq!(*n, m.operation(op).requests, "{op}");
    }
    assert_eq!(errors, BTreeMap::from([("PutItem".to_string(), 1)]));

    let capacity = metric(&collected, "dynox.consumed_capacity");
    let AggregatedMetrics::F64(MetricData::Sum(sum)) = capacity.data() else {
        panic!("{capacity:?}")
    };
    let (mut read, mut write) = (0.0, 0.0);
    for p in sum.data_points() {
        match get(p.attributes(), "dynox.capacity").as_deref() {
            Some("read") => read += p.value(),
            Some("write") => write += p.value(),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((read, write), (totals.read_units, totals.write_units));
    assert_eq!((read, write), (reported.read, reported.write));
    assert_eq!(write, 5.0 + 30.0);

    let attempts = metric(&collected, "dynox.attempts");
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = attempts.data() else {
        panic!("{attempts:?}")
    };
    assert_eq!(
        sum.data_points().map(|p| p.value()).sum::<u64>(),
        totals.attempts
    );
    let returned = metric(&collected, "dynox.items.returned");
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = returned.data() else {
        panic!("{returned:?}")
    };
    assert_eq!(
        sum.data_points().map(|p| p.value()).sum::<u64>(),
        totals.items_returned
    );

    // No span, attribute or event carries an item's values.
    let everything = format!("{spans:?}{collected:?}");
    if let Some(at) = everything.find(SECRET) {
        panic!(
            "a planted value leaked: {}",
            &everything[at.saturating_sub(400)..at + 40]
        );
    }
}

#[tokio::test]
async fn correlation_ids_given_per_client_and_per_call() {
    let local = LocalDynamo::start().await.unwrap();
    let otel = Otel::new();
    let plain = otel.client(&local);
    local.create_table::<Order>(&plain).await.unwrap();
    let client = plain.with_correlation_id("req-42");
    let guard = tracing::subscriber::set_default(otel.subscriber());
    async {
        client.put(&order("c-1", 1)).await.unwrap();
        dynox::observe::with_correlation_id("call-7", client.put(&order("c-1", 2)))
            .await
            .unwrap();
        // The stream is made inside the call's scope: its logical span takes the id as it starts.
        let all: Vec<Order> = dynox::observe::with_correlation_id("call-7", async {
            client
                .query::<Order>("c-1".to_string())
                .page_size(1)
                .items()
                .try_collect()
                .await
        })
        .await
        .unwrap();
        assert_eq!(all.len(), 2);
        // A client without an id, in a span: the trace id.
        plain.get::<Order>(Order::key("c-1", 1)).await.unwrap();
    }
    .instrument(tracing::info_span!("handler"))
    .await;
    // Neither an id nor a span: no correlation id.
    plain.get::<Order>(Order::key("c-1", 2)).await.unwrap();
    drop(guard);

    let spans = otel.finished_spans();
    let handler = spans.iter().find(|s| s.name == "handler").unwrap();
    let trace_hex = handler.span_context.trace_id().to_string();
    let ids: Vec<(String, Option<String>)> = spans
        .iter()
        .filter(|s| is_request(s) || is_logical(s))
        .map(|s| (s.name.to_string(), text(s, "dynox.correlation_id")))
        .collect();
    let id = |s: &str| Some(s.to_string());
    assert_eq!(
        ids,
        [
            ("DynamoDB.PutItem".to_string(), id("req-42")),
            ("DynamoDB.PutItem".to_string(), id("call-7")),
            ("DynamoDB.Query".to_string(), id("call-7")),
            ("DynamoDB.Query".to_string(), id("call-7")),
            ("DynamoDB.Query".to_string(), id("call-7")),
            ("query otel_orders".to_string(), id("call-7")),
            ("DynamoDB.GetItem".to_string(), Some(trace_hex)),
            ("DynamoDB.GetItem".to_string(), None),
        ]
    );
    // The last get had no caller span: it is a trace of its own.
    let last = spans.iter().rfind(|s| is_request(s)).unwrap();
    assert_eq!(last.parent_span_id, SpanId::INVALID);
    assert_ne!(
        last.span_context.trace_id(),
        handler.span_context.trace_id()
    );
}

/// The events of a span: (name, attributes as text).
fn events(s: &SpanData) -> Vec<(String, BTreeMap<String, String>)> {
    s.events
        .events
        .iter()
        .filter(|e| e.name.starts_with("dynox: "))
        .map(|e| {
            let attributes = e
                .attributes
                .iter()
                .map(|kv| (kv.key.as_str().to_owned(), kv.value.as_str().into_owned()))
                .collect();
            (e.name.to_string(), attributes)
        })
        .collect()
}

#[tokio::test]
async fn throttles_retries_and_slow_requests_are_events_on_their_spans() {
    let local = LocalDynamo::start().await.unwrap();
    local.create_table::<Order>(&local.client()).await.unwrap();
    // Every PutItem is throttled; three attempts, 5 ms backoff.
    let throttle = Faults {
        throttle: 1.0,
        ..Faults::default()
    };
    let proxy =
        FaultProxy::in_front_of(&local, FaultPlan::new(1).operation("PutItem", throttle)).unwrap();
    let otel = Otel::new();
    let meter = otel.meter_provider.meter("dynox");
    let client = proxy
        .client()
        .with_resilience(Resilience {
            retry: RetryPolicy {
                max_attempts: 3,
                throttle_base_delay: Duration::from_millis(5),
                ..RetryPolicy::default()
            },
            ..Resilience::default()
        })
        .with_observability(
            Observability::default()
                .meter(&meter)
                .slow_threshold(Some(Duration::ZERO)),
        );
    let guard = tracing::subscriber::set_default(otel.subscriber());
    async {
        let err = client.put(&order("c-1", 1)).await.unwrap_err();
        assert_eq!(err.kind(), "Throttled");
        assert!(
            client
                .get::<Order>(Order::key("c-1", 1))
                .await
                .unwrap()
                .is_none()
        );
    }
    .instrument(tracing::info_span!("handler"))
    .await;
    drop(guard);

    let put = client.metrics().operation("PutItem");
    assert_eq!((put.attempts, put.retries, put.throttles), (3, 2, 3));
    let spans = otel.finished_spans();
    let handler = spans.iter().find(|s| s.name == "handler").unwrap();
    let trace_hex = handler.span_context.trace_id().to_string();
    let request = spans
        .iter()
        .find(|s| s.name == "DynamoDB.PutItem" && is_request(s))
        .unwrap();
    assert_eq!(int(request, "dynox.attempts"), Some(3));
    assert_eq!(text(request, "error.type").as_deref(), Some("Throttled"));
    assert!(matches!(request.status, Status::Error { .. }));
    // The retry layer's events are the request's; the slow-request event too, with its id.
    let on_request = events(request);
    let names: Vec<&str> = on_request.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["dynox: retrying", "dynox: retrying", "dynox: slow request"]
    );
    for (i, (_, a)) in on_request[..2].iter().enumerate() {
        assert_eq!(a["operation"], "PutItem");
        assert_eq!(a["attempt"], (i + 1).to_string());
        assert_eq!(a["error.type"], "Throttled");
        assert!(a.contains_key("pause_ms"));
    }
    let slow = &on_request[2].1;
    assert_eq!(slow["operation"], "PutItem");
    assert_eq!(slow["table"], "otel_orders");
    assert_eq!(slow["model"], "Order");
    assert_eq!(slow["attempts"], "3");
    assert_eq!(slow["correlation_id"], trace_hex);
    assert!(slow.contains_key("duration_ms"));
    // Each attempt is a span of its own, throttled, with its `dynox: throttled` event.
    let mut attempts: Vec<&SpanData> = spans
        .iter()
        .filter(|s| is_attempt(s) && s.parent_span_id == request.span_context.span_id())
        .collect();
    attempts.sort_by_key(|a| int(a, "dynox.attempt"));
    assert_eq!(attempts.len(), 3);
    for (i, a) in attempts.iter().enumerate() {
        let n = i as i64 + 1;
        assert_eq!(int(a, "dynox.attempt"), Some(n));
        assert_eq!(text(a, "error.type").as_deref(), Some("Throttled"));
        assert_eq!(int(a, "http.response.status_code"), Some(400));
        let throttled = events(a);
        assert_eq!(throttled.len(), 1);
        assert_eq!(throttled[0].0, "dynox: throttled");
        assert_eq!(throttled[0].1["attempt"], n.to_string());
        assert_eq!(throttled[0].1["error.type"], "Throttled");
    }
    // The get went through: one slow-request event, no retries.
    let read = spans
        .iter()
        .find(|s| s.name == "DynamoDB.GetItem" && is_request(s))
        .unwrap();
    let names: Vec<String> = events(read).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["dynox: slow request"]);

    let collected = otel.collect();
    let sum = |name: &str| {
        let AggregatedMetrics::U64(MetricData::Sum(s)) = metric(&collected, name).data() else {
            panic!("{name}")
        };
        s.data_points()
            .filter(|p| get(p.attributes(), "db.operation.name").as_deref() == Some("PutItem"))
            .map(|p| p.value())
            .sum::<u64>()
    };
    assert_eq!(sum("dynox.attempts"), 3);
    assert_eq!(sum("dynox.retries"), 2);
    assert_eq!(sum("dynox.throttles"), 3);
}

struct Phone;
impl dynox::encryption::EncryptedField for Phone {
    const KEY: &'static str = "alias/otel-test";
    const MODE: dynox::encryption::Mode = dynox::encryption::Mode::ReadWrite;
    const VERSION: u8 = dynox_encryption::envelope::V2;
    const TABLE: &'static str = "otel_orders";
    const ATTRIBUTE: &'static str = "phone";
    const CONTEXT: &'static [(&'static str, &'static str)] = &[];
    const BIND_ITEM_KEY: bool = true;
}

#[tokio::test]
async fn the_meters_observe_an_encryptors_kms_calls() {
    use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    let otel = Otel::new();
    let meter = otel.meter_provider.meter("dynox");
    let observability = Observability::default().meter(&meter);
    // A KMS that refuses connections: one failed GenerateDataKey, after one cache miss.
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:1")
            .credentials_provider(Credentials::new("k", "s", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let encryptor = dynox::encryption::Encryptor::new(kms)
        .with_observer(observability.meters().expect("given a meter"));
    let err = encryptor
        .encrypt::<Phone>(SECRET.as_bytes(), Some("c-1"))
        .await
        .unwrap_err();

    let collected = otel.collect();
    let duration = metric(&collected, "dynox.kms.duration");
    let AggregatedMetrics::F64(MetricData::Histogram(h)) = duration.data() else {
        panic!("{duration:?}")
    };
    let points: Vec<_> = h.data_points().collect();
    assert_eq!(points.len(), 1);
    let p = points[0];
    assert_eq!(p.count(), 1);
    assert_eq!(
        get(p.attributes(), "rpc.method").as_deref(),
        Some("GenerateDataKey")
    );
    assert_eq!(get(p.attributes(), "rpc.service").as_deref(), Some("KMS"));
    assert_eq!(
        get(p.attributes(), "rpc.system.name").as_deref(),
        Some("aws-api")
    );
    assert_eq!(
        get(p.attributes(), "error.type").as_deref(),
        Some(err.kind())
    );
    let cache = metric(&collected, "dynox.kms.cache");
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = cache.data() else {
        panic!("{cache:?}")
    };
    let lookups: Vec<(Option<String>, Option<String>, u64)> = sum
        .data_points()
        .map(|p| {
            (
                get(p.attributes(), "dynox.kms.cache"),
                get(p.attributes(), "dynox.kms.result"),
                p.value(),
            )
        })
        .collect();
    assert_eq!(lookups, [(Some("encrypt".into()), Some("miss".into()), 1)]);
    assert!(!format!("{collected:?}").contains(SECRET));
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "prom_items")]
struct PromItem {
    #[dynox(partition_key)]
    id: String,
    body: String,
}

/// The value of the one sample line that starts with `name{` and has all of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    let prefix = format!("{name}{{");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&prefix) && labels.iter().all(|x| l.contains(x)))
        .collect();
    assert_eq!(lines.len(), 1, "{name} {labels:?} in\n{text}");
    lines[0].rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn prometheus_exposition_of_a_known_workload() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let (write_units, figures) = metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let local = LocalDynamo::start().await.unwrap();
                let client = local.client();
                local.create_table::<PromItem>(&client).await.unwrap();
                let mut write_units = 0.0;
                for i in 0..5 {
                    let item = PromItem {
                        id: format!("i-{i}"),
                        body: format!("{SECRET}-{i}"),
                    };
                    let out = client
                        .put(&item)
                        .return_consumed_capacity(Capacity::Total)
                        .send_with_capacity()
                        .await
                        .unwrap();
                    write_units += total(&out.consumed_capacity);
                }
                let again = PromItem {
                    id: "i-0".into(),
                    body: SECRET.into(),
                };
                let refused = client.put(&again).if_not_exists().await;
                assert!(refused.unwrap_err().is_condition_failed());
                let found = client.get::<PromItem>(PromItem::key("i-1")).await.unwrap();
                assert!(found.is_some());
                (write_units, client.metrics())
            })
    });
    let text = handle.render();
    let series = [
        "operation=\"PutItem\"",
        "table=\"prom_items\"",
        "deployed_table=\"prom_items\"",
        "index=\"\"",
        "model=\"PromItem\"",
    ];
    let with = |extra: &'static str| {
        let mut labels = series.to_vec();
        labels.push(extra);
        labels
    };
    assert_eq!(
        sample(&text, "dynox_requests_total", &with("outcome=\"ok\"")),
        5.0
    );
    assert_eq!(
        sample(
            &text,
            "dynox_requests_total",
            &with("outcome=\"ConditionFailed\"")
        ),
        1.0
    );
    assert_eq!(sample(&text, "dynox_attempts_total", &series), 6.0);
    assert_eq!(sample(&text, "dynox_retries_total", &series), 0.0);
    assert_eq!(
        sample(
            &text,
            "dynox_request_duration_seconds_count",
            &with("outcome=\"ok\"")
        ),
        5.0
    );
    // The capacity histogram's sum is the write units DynamoDB reported.
    let wcu = sample(
        &text,
        "dynox_consumed_capacity_units_sum",
        &with("capacity=\"write\""),
    );
    assert_eq!(wcu, write_units);
    assert_eq!(wcu, figures.operation("PutItem").write_units);
    assert_eq!(wcu, 5.0);
    assert_eq!(
        sample(
            &text,
            "dynox_consumed_capacity_units_sum",
            &[
                "operation=\"GetItem\"",
                "model=\"PromItem\"",
                "capacity=\"read\""
            ]
        ),
        figures.operation("GetItem").read_units
    );
    assert_eq!(
        sample(
            &text,
            "dynox_items_returned_total",
            &["operation=\"GetItem\"", "model=\"PromItem\""]
        ),
        1.0
    );
    assert!(!text.contains(SECRET));
    assert!(!text.contains("i-1"), "no keys in labels");
}
