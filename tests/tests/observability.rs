//! What a client records about its requests: figures per table and operation equal to what
//! was sent and what DynamoDB reported, spans by the OpenTelemetry conventions, and no item
//! value in any span or event.

use dynox::{Client, Model};
use dynox_testing::LocalDynamo;
use futures::TryStreamExt as _;
use std::sync::{Arc, Mutex};
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
        field(put, "aws.dynamodb.table_names").as_deref(),
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
