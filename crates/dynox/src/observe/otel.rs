//! OpenTelemetry meters (feature `opentelemetry`): the database client duration histogram of
//! the semantic conventions (`db.client.operation.duration`, seconds) and dynox's counters, with
//! the same bounded attributes as the `metrics` export; and the caller's trace id as the
//! correlation id.
//!
//! Spans need nothing here: `tracing-opentelemetry` turns dynox's spans into OpenTelemetry
//! spans, with the caller's span as their parent.

use super::Sample;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};
use std::sync::Arc;
use std::time::Duration;

/// The instruments dynox records into. Made by
/// [`Observability::meter`](super::Observability::meter); also a
/// [`KmsObserver`](dynox_encryption::kms::KmsObserver), for
/// [`Encryptor::with_observer`](dynox_encryption::kms::Encryptor::with_observer).
#[derive(Debug)]
pub struct Meters {
    duration: Histogram<f64>,
    attempts: Counter<u64>,
    retries: Counter<u64>,
    throttles: Counter<u64>,
    items_returned: Counter<u64>,
    items_scanned: Counter<u64>,
    bytes_sent: Counter<u64>,
    bytes_received: Counter<u64>,
    capacity: Counter<f64>,
    kms_duration: Histogram<f64>,
    kms_cache: Counter<u64>,
}

impl Meters {
    /// The instruments, made from `meter`.
    pub fn new(meter: &Meter) -> Meters {
        let count = |name: &'static str, unit: &'static str, what: &'static str| {
            meter
                .u64_counter(name)
                .with_unit(unit)
                .with_description(what)
                .build()
        };
        Meters {
            duration: meter
                .f64_histogram("db.client.operation.duration")
                .with_unit("s")
                .with_description("Duration of DynamoDB requests, attempts and waits included")
                .build(),
            attempts: count(
                "dynox.attempts",
                "{attempt}",
                "Attempts sent, retries included",
            ),
            retries: count("dynox.retries", "{attempt}", "Attempts after the first"),
            throttles: count(
                "dynox.throttles",
                "{attempt}",
                "Attempts DynamoDB throttled",
            ),
            items_returned: count("dynox.items.returned", "{item}", "Items returned"),
            items_scanned: count("dynox.items.scanned", "{item}", "Items read before filters"),
            bytes_sent: count("dynox.bytes.sent", "By", "Request bytes sent"),
            bytes_received: count("dynox.bytes.received", "By", "Answer bytes received"),
            capacity: meter
                .f64_counter("dynox.consumed_capacity")
                .with_unit("{capacity_unit}")
                .with_description("Capacity units DynamoDB reported")
                .build(),
            kms_duration: meter
                .f64_histogram("dynox.kms.duration")
                .with_unit("s")
                .with_description("Duration of KMS calls")
                .build(),
            kms_cache: count("dynox.kms.cache", "{lookup}", "Data key cache lookups"),
        }
    }

    /// One request.
    pub(crate) fn record(&self, s: &Sample<'_>) {
        let mut attributes = attributes_of(s, s.table);
        let base = attributes.len();
        if let Some(kind) = s.error {
            attributes.push(KeyValue::new("error.type", kind));
        }
        self.duration.record(s.duration.as_secs_f64(), &attributes);
        attributes.truncate(base);
        let attempts = u64::from(s.attempts);
        for (counter, n) in [
            (&self.attempts, attempts),
            (&self.retries, attempts.saturating_sub(1)),
            (&self.throttles, u64::from(s.throttles)),
            (&self.items_returned, s.items_returned),
            (&self.items_scanned, s.items_scanned),
            (&self.bytes_sent, s.bytes_sent),
            (&self.bytes_received, s.bytes_received),
        ] {
            if n > 0 {
                counter.add(n, &attributes);
            }
        }
        for (table, read, write) in &s.capacity {
            let mut attributes = attributes_of(s, table.as_deref().unwrap_or(s.table));
            for (which, units) in [("read", *read), ("write", *write)] {
                if units > 0.0 {
                    attributes.push(KeyValue::new("dynox.capacity", which));
                    self.capacity.add(units, &attributes);
                    attributes.pop();
                }
            }
        }
    }
}

fn attributes_of(s: &Sample<'_>, table: &str) -> Vec<KeyValue> {
    let mut a = vec![
        KeyValue::new("db.system.name", "aws.dynamodb"),
        KeyValue::new("db.operation.name", s.operation),
    ];
    if !table.is_empty() {
        a.push(KeyValue::new("db.collection.name", table.to_owned()));
    }
    if !s.index.is_empty() {
        a.push(KeyValue::new("aws.dynamodb.index_name", s.index.to_owned()));
    }
    if !s.model.is_empty() {
        a.push(KeyValue::new("dynox.model", s.model));
    }
    a
}

impl dynox_encryption::kms::KmsObserver for Meters {
    fn kms_call(&self, operation: &'static str, duration: Duration, error: Option<&'static str>) {
        let mut attributes = vec![
            KeyValue::new("rpc.system", "aws-api"),
            KeyValue::new("rpc.system.name", "aws-api"),
            KeyValue::new("rpc.service", "KMS"),
            KeyValue::new("rpc.method", operation),
        ];
        if let Some(kind) = error {
            attributes.push(KeyValue::new("error.type", kind));
        }
        self.kms_duration
            .record(duration.as_secs_f64(), &attributes);
    }

    fn cache(&self, cache: &'static str, hit: bool) {
        self.kms_cache.add(
            1,
            &[
                KeyValue::new("dynox.kms.cache", cache),
                KeyValue::new("dynox.kms.result", if hit { "hit" } else { "miss" }),
            ],
        );
    }
}

impl super::Observability {
    /// The instruments made by [`Observability::meter`](super::Observability::meter), to give
    /// an encryptor as its observer.
    pub fn meters(&self) -> Option<Arc<Meters>> {
        self.meters.clone()
    }
}

/// The trace id of the current span's OpenTelemetry context, if it has a valid one.
pub(super) fn current_trace_id() -> Option<Arc<str>> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let span = tracing::Span::current();
    if span.is_disabled() {
        return None;
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string().into())
}
