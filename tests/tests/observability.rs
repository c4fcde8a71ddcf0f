//! What a client records about its requests: figures per table and operation equal to what
//! was sent and what DynamoDB reported, spans by the OpenTelemetry conventions, and no item
//! value in any span or event.

use dynox::{Client, Model};
use dynox_testing::LocalDynamo;
use futures::TryStreamExt as _;
use std::sync::{Arc, Mutex};
use tracing::Instrument as _;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "events")]
struct Entry {
    #[dynox(partition_key)]
    stream: String,
    #[dynox(sort_key)]
    seq: u64,
    secret: String,
}

const SECRET: &str = "planted-secret-7f3a9c";

fn entry(seq: u64) -> Entry {
    Entry {
        stream: "s1".into(),
        seq,
        secret: format!("{SECRET}-{seq}"),
    }
}

async fn setup() -> (LocalDynamo, Client) {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Entry>(&client).await.unwrap();
    (local, client)
}

/// Five puts, two gets (one finds nothing), a query read in pages of two, one failure.
async fn workload(client: &Client) {
    for seq in 0..5 {
        client.put(&entry(seq)).await.unwrap();
    }
    assert!(
        client
            .get::<Entry>(Entry::key("s1", 3))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        client
            .get::<Entry>(Entry::key("s1", 99))
            .await
            .unwrap()
            .is_none()
    );
    let all: Vec<Entry> = client
        .query::<Entry>("s1".to_string())
        .page_size(2)
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    let missing = client.with_mapping(dynox::Mapping::parse("prefix = \"nope-\"", None).unwrap());
    assert!(missing.get::<Entry>(Entry::key("s1", 1)).await.is_err());
}

#[tokio::test]
async fn figures_per_table_and_operation_equal_the_known_workload() {
    let (_local, client) = setup().await;
    client.metrics().reset();
    workload(&client).await;
    let m = client.metrics();

    let puts = m.operation("PutItem");
    assert_eq!(puts.requests, 5);
    assert_eq!(puts.attempts, 5);
    assert_eq!(puts.retries, 0);
    assert_eq!(puts.errors, 0);
    // Small items: one write unit each, as DynamoDB reports them.
    assert_eq!(puts.write_units, 5.0);
    assert_eq!(puts.read_units, 0.0);

    let gets = m.operation("GetItem");
    assert_eq!(gets.requests, 3);
    assert_eq!(gets.items_returned, 1);
    assert_eq!(gets.errors, 1, "{gets:?}");
    assert_eq!(gets.errors_by_kind.values().sum::<u64>(), 1);
    assert_eq!(gets.write_units, 0.0);
    // Eventually consistent reads of small items: half a unit each (the failed one is free).
    assert_eq!(gets.read_units, 1.0);

    let queries = m.operation("Query");
    assert_eq!(queries.requests, 3, "pages of 2, 2 and 1");
    assert_eq!(queries.items_returned, 5);
    assert_eq!(queries.items_scanned, 5);
    assert!(queries.read_units > 0.0);

    // Figures are kept under logical names: the renamed client's failed get is on "events".
    let table = m.table("events");
    assert_eq!(table.requests, 11);
    assert_eq!(table.write_units, 5.0);
    assert_eq!(
        m.by_table().len(),
        1,
        "one logical table: {:?}",
        m.by_table().keys()
    );
    let totals = m.totals();
    assert_eq!(totals.requests, 11);
    assert_eq!(totals.errors, 1);
    assert!(totals.max_duration <= totals.duration);

    // Clones and derived clients share the figures; reset forgets them.
    assert_eq!(client.clone().metrics().totals().requests, 11);
    m.reset();
    assert_eq!(
        client.metrics().totals(),
        dynox::observe::Figures::default()
    );
}

#[tokio::test]
async fn asking_for_capacity_does_not_change_what_the_caller_sees() {
    let (_local, client) = setup().await;
    client.put(&entry(1)).await.unwrap();
    let page = client
        .query::<Entry>("s1".to_string())
        .pages()
        .try_next()
        .await
        .unwrap()
        .unwrap();
    assert!(page.consumed_capacity.is_none(), "not asked for, not shown");
    assert!(client.metrics().operation("Query").read_units > 0.0);
    let off = client.with_observability(dynox::observe::Observability::default().metrics(false));
    off.put(&entry(2)).await.unwrap();
    assert_eq!(off.metrics().totals().requests, 0);
}

/// Every span (name, parent, fields) and event (fields) recorded, as text.
#[derive(Default, Clone)]
struct Capture {
    spans: Arc<Mutex<Vec<Captured>>>,
    events: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone, Debug)]
struct Captured {
    name: &'static str,
    parent: Option<u64>,
    fields: Vec<(String, String)>,
}

struct Fields<'a>(&'a mut Vec<(String, String)>);
impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl Subscriber for Capture {
    /// Everything at debug and above from every crate, and dynox's own trace output. (The AWS
    /// SDK's trace-level events carry whole request and response bodies: see the
    /// Observability page.)
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        *m.level() <= tracing::Level::DEBUG || m.target().starts_with("dynox")
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut spans = self.spans.lock().unwrap();
        let mut fields = Vec::new();
        span.record(&mut Fields(&mut fields));
        let parent = span
            .parent()
            .map(Id::into_u64)
            .or_else(|| CURRENT.with(|c| c.borrow().last().copied()));
        spans.push(Captured {
            name: span.metadata().name(),
            parent: if span.is_root() { None } else { parent },
            fields,
        });
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        values.record(&mut Fields(&mut spans[span.into_u64() as usize - 1].fields));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push(format!("{fields:?}"));
    }
    fn enter(&self, span: &Id) {
        CURRENT.with(|c| c.borrow_mut().push(span.into_u64()));
    }
    fn exit(&self, _: &Id) {
        CURRENT.with(|c| c.borrow_mut().pop());
    }
}

thread_local! {
    static CURRENT: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[tokio::test]
async fn spans_follow_the_conventions_and_carry_no_item_values() {
    let (_local, client) = setup().await;
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    workload(&client).await;
    drop(guard);

    let spans = capture.spans.lock().unwrap().clone();
    let field = |s: &Captured, k: &str| {
        s.fields
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let requests: Vec<(usize, &Captured)> = spans
        .iter()
        .enumerate()
        .filter(|(_, s)| s.name == "dynamodb.request")
        .collect();
    assert_eq!(requests.len(), 11);
    let put = requests
        .iter()
        .find(|(_, s)| field(s, "rpc.method").as_deref() == Some("PutItem"))
        .unwrap()
        .1;
    assert_eq!(field(put, "otel.name").as_deref(), Some("DynamoDB.PutItem"));
    assert_eq!(field(put, "rpc.system").as_deref(), Some("aws-api"));
    assert_eq!(field(put, "rpc.service").as_deref(), Some("DynamoDB"));
    assert_eq!(
        field(put, "db.system.name").as_deref(),
        Some("aws.dynamodb")
    );
    assert_eq!(
        // (`aws.dynamodb.table_names` is an OpenTelemetry string array, set on OpenTelemetry
        // spans only: the tests build dynox with its `opentelemetry` feature.)
        field(put, "dynox.tables").as_deref(),
        Some("events")
    );
    assert_eq!(field(put, "dynox.attempts").as_deref(), Some("1"));
    assert!(
        field(put, "aws.dynamodb.consumed_capacity")
            .unwrap()
            .contains("\"CapacityUnits\":1.0")
    );
    let query = requests
        .iter()
        .find(|(_, s)| field(s, "rpc.method").as_deref() == Some("Query"))
        .unwrap()
        .1;
    assert_eq!(field(query, "aws.dynamodb.limit").as_deref(), Some("2"));
    assert_eq!(field(query, "aws.dynamodb.count").as_deref(), Some("2"));
    let failed = requests
        .iter()
        .find(|(_, s)| field(s, "error.type").is_some())
        .unwrap()
        .1;
    assert_eq!(field(failed, "otel.status_code").as_deref(), Some("ERROR"));

    // Every attempt is a child of its request's span.
    let attempts: Vec<&Captured> = spans
        .iter()
        .filter(|s| s.name == "dynamodb.attempt")
        .collect();
    assert_eq!(attempts.len(), 11);
    for a in &attempts {
        let parent = a.parent.expect("an attempt has a parent") as usize;
        assert_eq!(spans[parent - 1].name, "dynamodb.request");
        assert_eq!(field(a, "dynox.attempt").as_deref(), Some("1"));
    }

    // Nothing recorded carries an item's values.
    let everything = format!("{spans:?}{:?}", capture.events.lock().unwrap());
    if let Some(at) = everything.find(SECRET) {
        panic!(
            "a planted value leaked: {}",
            &everything[at.saturating_sub(600)..at + 40]
        );
    }
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "notes")]
struct Note {
    #[dynox(partition_key)]
    id: String,
    text: String,
}

fn field_of(s: &Captured, k: &str) -> Option<String> {
    s.fields
        .iter()
        .rev()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.clone())
}

#[tokio::test]
async fn figures_per_model_and_each_models_last_operation() {
    let (local, client) = setup().await;
    local.create_table::<Note>(&client).await.unwrap();
    client.metrics().reset();
    for seq in 0..5 {
        client.put(&entry(seq)).await.unwrap();
    }
    for id in ["n1", "n2"] {
        let note = Note {
            id: id.into(),
            text: "t".into(),
        };
        client.put(&note).await.unwrap();
    }
    let all: Vec<Entry> = client
        .query::<Entry>("s1".to_string())
        .page_size(2)
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);

    let entries = client.metrics().model::<Entry>();
    assert_eq!(entries.total.requests, 5 + 3, "5 puts, 3 query pages");
    assert_eq!(entries.total.write_units, 5.0);
    assert_eq!(entries.total.items_returned, 5);
    // The last operation is the whole query: its three pages together.
    let last = entries.last.clone().unwrap();
    assert_eq!(last.requests, 3);
    assert_eq!(last.items_returned, 5);
    assert_eq!(last.items_scanned, 5);
    assert_eq!(last.write_units, 0.0);
    assert!(last.read_units > 0.0);
    assert_eq!(
        entries.total.read_units, last.read_units,
        "the query is the only read"
    );

    let notes = client.metrics().model::<Note>();
    assert_eq!(notes.total.requests, 2);
    assert_eq!(notes.total.write_units, 2.0);
    assert_eq!(notes.last.unwrap().requests, 1, "one put");
    assert_eq!(
        client.metrics().model_named("Note"),
        client.metrics().model::<Note>()
    );

    // A get is now the entries' last operation; the totals grow.
    client.get::<Entry>(Entry::key("s1", 1)).await.unwrap();
    let entries = client.metrics().model::<Entry>();
    assert_eq!(entries.total.requests, 9);
    let last = entries.last.unwrap();
    assert_eq!(
        (last.requests, last.items_returned, last.read_units),
        (1, 1, 0.5)
    );

    // Series are per operation, table, index and model.
    let series = client.metrics().series();
    assert!(
        series
            .iter()
            .any(|s| s.model == "Note" && s.table == "notes")
    );
    assert!(series.iter().all(|s| !s.model.is_empty()), "{series:?}");
    client.metrics().reset();
    assert_eq!(
        client.metrics().model::<Entry>(),
        dynox::observe::ModelMetrics::default()
    );
}

#[tokio::test]
async fn send_with_metrics_gives_the_figures_of_one_operation() {
    use dynox::observe::{MeasureExt as _, measure};
    let (_local, client) = setup().await;
    let (put, f) = client.put(&entry(1)).send_with_metrics().await;
    put.unwrap();
    assert_eq!((f.requests, f.attempts, f.retries, f.errors), (1, 1, 0, 0));
    assert_eq!(f.write_units, 1.0);
    assert!(f.bytes_sent > 0 && f.bytes_received > 0, "{f:?}");
    assert!(f.duration > std::time::Duration::ZERO);

    let (got, f) = client
        .get::<Entry>(Entry::key("s1", 1))
        .send_with_metrics()
        .await;
    assert!(got.unwrap().is_some());
    assert_eq!((f.requests, f.items_returned, f.read_units), (1, 1, 0.5));

    // A failed request is measured too.
    let missing = client.with_mapping(dynox::Mapping::parse("prefix = \"nope-\"", None).unwrap());
    let (got, f) = missing
        .get::<Entry>(Entry::key("s1", 1))
        .send_with_metrics()
        .await;
    let err = got.unwrap_err();
    assert_eq!(f.errors, 1);
    assert_eq!(f.errors_by_kind.get(err.kind()), Some(&1));

    // Any future: a whole paginated read, and scopes nest.
    for seq in 2..5 {
        client.put(&entry(seq)).await.unwrap();
    }
    let ((items, inner), outer) = measure(async {
        let inner = measure(
            client
                .query::<Entry>("s1".to_string())
                .page_size(2)
                .items()
                .try_collect::<Vec<Entry>>(),
        )
        .await;
        client.get::<Entry>(Entry::key("s1", 2)).await.unwrap();
        inner
    })
    .await;
    assert_eq!(items.unwrap().len(), 4);
    // Pages of 2, 2 and an empty one (the second page's last key asks for more).
    assert_eq!((inner.requests, inner.items_returned), (3, 4));
    assert_eq!(outer.requests, 4, "the query's pages and the get");
    assert_eq!(outer.items_returned, 5);
}

#[tokio::test]
async fn logical_operations_are_the_parents_of_their_requests() {
    let (local, client) = setup().await;
    local.create_table::<Note>(&client).await.unwrap();
    for seq in 0..5 {
        client.put(&entry(seq)).await.unwrap();
    }
    let notes: Vec<Note> = (0..30)
        .map(|i| Note {
            id: format!("n{i}"),
            text: "t".into(),
        })
        .collect();
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    let caller = tracing::info_span!("handler");
    async {
        let all: Vec<Entry> = client
            .query::<Entry>("s1".to_string())
            .page_size(2)
            .items()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(all.len(), 5);
        client.batch_write().put_all(&notes).send().await.unwrap();
    }
    .instrument(caller)
    .await;
    drop(guard);

    let spans = capture.spans.lock().unwrap().clone();
    let parent = |s: &Captured| s.parent.map(|p| &spans[p as usize - 1]);
    let logical: Vec<&Captured> = spans
        .iter()
        .filter(|s| s.name == "dynox.operation")
        .collect();
    assert_eq!(logical.len(), 2, "{logical:?}");
    for l in &logical {
        assert_eq!(
            parent(l).unwrap().name,
            "handler",
            "the caller's span is the parent"
        );
    }
    let query = logical
        .iter()
        .find(|s| field_of(s, "db.operation.name").as_deref() == Some("query"))
        .unwrap();
    assert_eq!(
        field_of(query, "otel.name").as_deref(),
        Some("query events")
    );
    assert_eq!(field_of(query, "dynox.model").as_deref(), Some("Entry"));
    assert_eq!(field_of(query, "dynox.requests").as_deref(), Some("3"));
    assert_eq!(field_of(query, "dynox.items").as_deref(), Some("5"));
    let batch = logical
        .iter()
        .find(|s| field_of(s, "db.operation.name").as_deref() == Some("batch_write"))
        .unwrap();
    assert_eq!(
        field_of(batch, "dynox.requests").as_deref(),
        Some("2"),
        "30 writes: 2 chunks"
    );
    assert_eq!(
        field_of(batch, "dynox.write_units").as_deref(),
        Some("30.0")
    );

    let requests: Vec<&Captured> = spans
        .iter()
        .filter(|s| s.name == "dynamodb.request")
        .collect();
    assert_eq!(requests.len(), 5);
    for r in &requests {
        let p = parent(r).unwrap();
        assert_eq!(p.name, "dynox.operation");
        let expected = match field_of(r, "rpc.method").as_deref() {
            Some("Query") => "query",
            Some("BatchWriteItem") => "batch_write",
            other => panic!("unexpected request {other:?}"),
        };
        assert_eq!(field_of(p, "db.operation.name").as_deref(), Some(expected));
    }
}

#[tokio::test]
async fn correlation_ids_reach_every_span_and_event() {
    let (_local, client) = setup().await;
    let tagged = client.with_correlation_id("req-42");
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    tagged.put(&entry(1)).await.unwrap();
    dynox::observe::with_correlation_id("call-7", tagged.get::<Entry>(Entry::key("s1", 1)))
        .await
        .unwrap();
    client.get::<Entry>(Entry::key("s1", 1)).await.unwrap();
    drop(guard);
    let spans = capture.spans.lock().unwrap().clone();
    let ids: Vec<Option<String>> = spans
        .iter()
        .filter(|s| s.name == "dynamodb.request")
        .map(|s| field_of(s, "dynox.correlation_id"))
        .collect();
    assert_eq!(
        ids,
        vec![Some("req-42".into()), Some("call-7".into()), None],
        "per client, per call, none"
    );
    // The client with an id keeps its figures with the others'.
    assert_eq!(client.metrics().operation("GetItem").requests, 2);
}

#[tokio::test]
async fn the_wire_gives_each_attempt_its_status_and_request_id() {
    let (_local, client) = setup().await;
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    client.put(&entry(1)).await.unwrap();
    drop(guard);
    let spans = capture.spans.lock().unwrap().clone();
    let attempt = spans.iter().find(|s| s.name == "dynamodb.attempt").unwrap();
    assert_eq!(
        field_of(attempt, "http.response.status_code").as_deref(),
        Some("200")
    );
    let request = spans.iter().find(|s| s.name == "dynamodb.request").unwrap();
    let id = field_of(request, "aws.request_id").expect("the engine sends x-amzn-RequestId");
    assert!(!id.is_empty());
    assert_eq!(field_of(attempt, "aws.request_id"), Some(id));
}

#[test]
fn the_metrics_facade_counts_what_was_sent_and_what_dynamodb_reported() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // The recorder is thread-local: the workload runs on this thread.
    let client = metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let (local, client) = setup().await;
                client.metrics().reset();
                workload(&client).await;
                drop(local);
                client
            })
    });
    let m = client.metrics();
    let mut requests = std::collections::BTreeMap::<(String, String), u64>::new();
    let mut write_units = 0.0;
    let mut attempts = 0;
    let mut renamed = false;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let label = |n: &str| {
            key.labels()
                .find(|l| l.key() == n)
                .map(|l| l.value().to_owned())
                .unwrap_or_default()
        };
        for l in key.labels() {
            assert!(
                !l.value().contains(SECRET),
                "a planted value as a label: {key:?}"
            );
        }
        if label("deployed_table") == "nope-events" {
            renamed = true;
            assert_eq!(
                label("table"),
                "events",
                "logical and deployed names: {key:?}"
            );
        }
        match (key.name(), value) {
            ("dynox_requests_total", DebugValue::Counter(n)) => {
                *requests
                    .entry((label("operation"), label("outcome")))
                    .or_default() += n;
            }
            // The table's creation came before the figures' reset; the recorder saw it.
            ("dynox_attempts_total", DebugValue::Counter(n))
                if ["PutItem", "GetItem", "Query"].contains(&label("operation").as_str()) =>
            {
                attempts += n
            }
            ("dynox_consumed_capacity_units", DebugValue::Histogram(v))
                if label("capacity") == "write" =>
            {
                write_units += v.iter().map(|x| x.into_inner()).sum::<f64>();
            }
            _ => {}
        }
    }
    assert_eq!(requests[&("PutItem".into(), "ok".into())], 5);
    assert_eq!(requests[&("GetItem".into(), "ok".into())], 2);
    assert_eq!(requests[&("Query".into(), "ok".into())], 3);
    let failed: u64 = requests
        .iter()
        .filter(|((op, outcome), _)| op == "GetItem" && outcome != "ok")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(failed, 1);
    assert_eq!(attempts, m.totals().attempts);
    assert_eq!(write_units, m.totals().write_units);
    assert_eq!(write_units, 5.0);
    assert!(
        renamed,
        "the renamed client's request is labelled with its deployed table"
    );
}

#[tokio::test]
async fn throttles_and_retries_are_counted_once_per_attempt() {
    use dynox_testing::faults::{FaultPlan, FaultProxy, Faults};
    let (local, direct) = setup().await;
    direct.put(&entry(1)).await.unwrap();
    let throttled = Faults {
        throttle: 0.5,
        ..Faults::default()
    };
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(21).operation("GetItem", throttled))
        .unwrap();
    let client = proxy.client().with_correlation_id("storm-1");
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    let mut failed = 0;
    for _ in 0..12 {
        if client.get::<Entry>(Entry::key("s1", 1)).await.is_err() {
            failed += 1;
        }
    }
    drop(guard);
    let injected = proxy.stats().total_injected();
    let f = client.metrics().operation("GetItem");
    assert!(injected > 0);
    assert_eq!(f.requests, 12);
    assert_eq!(f.throttles, injected, "every throttled attempt, once");
    assert_eq!(f.attempts, 12 + f.retries);
    assert_eq!(
        f.attempts,
        injected + 12 - failed,
        "each success took one attempt"
    );
    assert_eq!(f.errors, failed);
    let events = capture.events.lock().unwrap();
    let throttled_events = events
        .iter()
        .filter(|e| e.contains("dynox: throttled"))
        .count();
    assert_eq!(throttled_events as u64, injected);
    // Every event of the layers below carries the client's correlation id.
    for e in events
        .iter()
        .filter(|e| e.contains("dynox: throttled") || e.contains("dynox: retrying"))
    {
        assert!(e.contains("\"storm-1\""), "{e}");
    }
}

#[tokio::test]
async fn a_stalled_answer_is_one_timed_out_request_of_several_attempts() {
    use dynox_testing::faults::{FaultPlan, FaultProxy, Faults};
    let (local, _direct) = setup().await;
    let stall = Faults {
        stall: 1.0,
        stall_for: std::time::Duration::from_secs(30),
        ..Faults::default()
    };
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(1).all(stall)).unwrap();
    let mut resilience = dynox::layers::Resilience::default();
    resilience.timeouts.attempt = Some(std::time::Duration::from_millis(300));
    resilience.timeouts.operation = Some(std::time::Duration::from_secs(5));
    resilience.retry.max_attempts = 3;
    let client = proxy.client().with_resilience(resilience);
    let err = client.get::<Entry>(Entry::key("s1", 1)).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let f = client.metrics().operation("GetItem");
    assert_eq!(f.requests, 1);
    assert_eq!(f.errors, 1);
    assert_eq!(f.errors_by_kind.get(err.kind()), Some(&1));
    assert_eq!(f.attempts, 3, "each attempt timed out and was retried");
    assert_eq!(f.retries, 2);
}

mod encrypted {
    use super::{Capture, SECRET};
    use dynox::attr::Secret;
    use dynox::observe::MeasureExt as _;
    use dynox::{Client, Model};
    use dynox_testing::{LocalDynamo, LocalKms};
    use std::sync::Arc;

    #[derive(Model, Debug, Clone)]
    #[dynox(table = "vaults")]
    struct Vault {
        #[dynox(partition_key)]
        owner: String,
        #[dynox(encrypted(key = "alias/dynox-observed"))]
        secret: Secret<String>,
    }

    const KEY_VALUE: &str = "owner-key-51d2e8";

    fn vault(i: u32) -> Vault {
        Vault {
            owner: format!("{KEY_VALUE}-{i}"),
            secret: Secret::new(format!("{SECRET}-{i}")),
        }
    }

    #[tokio::test]
    async fn kms_calls_are_part_of_a_models_figures_and_keys_stay_out_of_traces() {
        let kms = LocalKms::start()
            .await
            .expect("the local KMS (run `cargo xtask setup`)");
        kms.create_key(Some("dynox-observed")).await.unwrap();
        let local = LocalDynamo::start().await.unwrap();
        let plain = local.client();
        local.create_table::<Vault>(&plain).await.unwrap();
        let encryptor = Arc::new(dynox::encryption::Encryptor::new(kms.client()));
        let client: Client = plain.with_encryptor(encryptor.clone());

        let capture = Capture::default();
        let guard = tracing::subscriber::set_default(capture.clone());
        let (put, f) = client.put(&vault(0)).send_with_metrics().await;
        put.unwrap();
        assert_eq!(f.requests, 1);
        assert_eq!(f.kms.generate_data_key_calls, 1, "{f:?}");
        for i in 1..4 {
            client.put(&vault(i)).await.unwrap();
        }
        let (got, f) = client
            .get::<Vault>(Vault::key(format!("{KEY_VALUE}-2")))
            .send_with_metrics()
            .await;
        assert_eq!(
            got.unwrap().unwrap().secret.plain(),
            Some(&format!("{SECRET}-2"))
        );
        assert_eq!(f.kms.decrypt_calls, 1, "{f:?}");
        drop(guard);

        // The model's KMS figures are what the encryptor counted.
        let counted = encryptor.metrics().snapshot();
        let vaults = client.metrics().model::<Vault>();
        assert_eq!(vaults.total.kms, counted);
        assert_eq!(vaults.total.requests, 5);
        assert_eq!(
            vaults.last.unwrap().kms.decrypt_calls,
            1,
            "the get was last"
        );

        // Neither the encrypted values nor the encrypted model's keys are in any span or event.
        let everything = format!(
            "{:?}{:?}",
            capture.spans.lock().unwrap(),
            capture.events.lock().unwrap()
        );
        for planted in [SECRET, KEY_VALUE] {
            if let Some(at) = everything.find(planted) {
                panic!(
                    "a planted value leaked: {}",
                    &everything[at.saturating_sub(600)..at + 40]
                );
            }
        }
    }
}

#[derive(Model, Debug, Clone)]
#[dynox(table = "attachments")]
struct Attachment {
    #[dynox(partition_key)]
    id: String,
    #[dynox(s3(bucket = "dynox-observed", prefix = "files/"))]
    file: dynox::attr::S3Object,
}

#[tokio::test]
async fn s3_requests_have_spans_and_figures_like_dynamodb_ones() {
    let local = LocalDynamo::start().await.unwrap();
    let s3 = dynox_testing::LocalS3::start().await.unwrap();
    s3.create_bucket("dynox-observed").await.unwrap();
    let client = local.client().with_s3(s3.s3_client());
    local.create_table::<Attachment>(&client).await.unwrap();
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    let mut a = Attachment {
        id: "a1".into(),
        file: dynox::attr::S3Object::file("n.txt", b"hello".to_vec()),
    };
    let figures = dynox::observe::measure(client.save(&mut a)).await;
    figures.0.unwrap();
    let missing = Attachment {
        id: "a2".into(),
        file: dynox::attr::S3Object::Stored(dynox::attr::S3Ref {
            key: "files/a2/gone.txt".into(),
            ..a.file.stored().unwrap().clone()
        }),
    };
    let e = missing.file_object().bytes(&client).await.unwrap_err();
    assert!(e.is_object_missing() || e.is_object_changed(), "{e}");
    drop(guard);

    let spans = capture.spans.lock().unwrap().clone();
    let field = |s: &Captured, k: &str| {
        s.fields
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let s3_spans: Vec<&Captured> = spans.iter().filter(|s| s.name == "s3.request").collect();
    assert_eq!(s3_spans.len(), 2, "{spans:?}");
    let put = s3_spans[0];
    assert_eq!(field(put, "otel.name").as_deref(), Some("S3.PutObject"));
    assert_eq!(field(put, "rpc.service").as_deref(), Some("S3"));
    assert_eq!(
        field(put, "aws.s3.bucket").as_deref(),
        Some("dynox-observed")
    );
    assert_eq!(field(put, "aws.s3.key").as_deref(), Some("files/a1/n.txt"));
    assert_eq!(field(put, "dynox.model").as_deref(), Some("Attachment"));
    assert_eq!(field(put, "dynox.attempts").as_deref(), Some("1"));
    assert_eq!(field(put, "error.type"), None);
    let get = s3_spans[1];
    assert_eq!(field(get, "otel.name").as_deref(), Some("S3.GetObject"));
    assert_eq!(field(get, "otel.status_code").as_deref(), Some("ERROR"));
    assert_eq!(field(get, "error.type").as_deref(), Some("Service"));

    // Counted in the figures: the save's own measure (upload and item write), and the client's.
    assert_eq!(figures.1.requests, 2, "{:?}", figures.1);
    let m = client.metrics();
    assert_eq!(m.operation("PutObject").requests, 1);
    assert_eq!(m.operation("GetObject").errors, 1);
    assert_eq!(m.model::<Attachment>().total.requests, 3);
}
