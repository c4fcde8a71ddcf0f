//! Spans named and attributed by the OpenTelemetry semantic conventions for AWS SDK calls to
//! DynamoDB (`docs/db/dynamodb.md`, `docs/cloud-providers/aws-sdk.md` of
//! open-telemetry/semantic-conventions), and what answers say for figures.

use super::{Figures, Sample};
use crate::send::{Request, Response};
use aws_sdk_dynamodb::types::ConsumedCapacity;
use dynox_iam::Mapping;

/// Whether `operation` writes (its capacity units are write units).
fn writes(operation: &str) -> bool {
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

/// The span of a logical operation (`kind` is e.g. `query`, `batch_write`), named like a
/// database operation, `{kind} {table}`; the requests it sends are its children.
pub(super) fn logical(
    kind: &'static str,
    table: &str,
    model: &'static str,
    correlation: Option<&str>,
) -> tracing::Span {
    let span = tracing::info_span!(
        target: "dynox",
        "dynox.operation",
        otel.name = tracing::field::Empty,
        otel.kind = "internal",
        otel.status_code = tracing::field::Empty,
        db.system.name = "aws.dynamodb",
        db.operation.name = kind,
        db.collection.name = tracing::field::Empty,
        dynox.model = tracing::field::Empty,
        dynox.correlation_id = correlation,
        dynox.requests = tracing::field::Empty,
        dynox.attempts = tracing::field::Empty,
        dynox.items = tracing::field::Empty,
        dynox.read_units = tracing::field::Empty,
        dynox.write_units = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    if table.is_empty() {
        span.record("otel.name", kind);
    } else {
        span.record("otel.name", format!("{kind} {table}").as_str());
        span.record("db.collection.name", table);
    }
    if !model.is_empty() {
        span.record("dynox.model", model);
    }
    span
}

/// What a logical operation did, on its span as it ends.
pub(super) fn record_logical(span: &tracing::Span, f: &Figures) {
    // Signed: OpenTelemetry has no unsigned integers (an u64 would arrive as a string).
    span.record("dynox.requests", f.requests as i64);
    span.record("dynox.attempts", f.attempts as i64);
    span.record("dynox.items", f.items_returned as i64);
    span.record("dynox.read_units", f.read_units);
    span.record("dynox.write_units", f.write_units);
    if let Some(kind) = f.errors_by_kind.keys().next() {
        span.record("error.type", *kind);
        span.record("otel.status_code", "ERROR");
    }
}

pub(super) fn index_name(request: &Request) -> Option<&str> {
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
pub(super) fn request(
    request: &Request,
    model: &'static str,
    correlation: Option<&str>,
    mapping: &Mapping,
) -> tracing::Span {
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
        dynox.model = tracing::field::Empty,
        dynox.tables = tracing::field::Empty,
        dynox.correlation_id = correlation,
    );
    if span.is_disabled() {
        return span;
    }
    span.record(
        "otel.name",
        format!("DynamoDB.{}", request.operation_name()).as_str(),
    );
    if !model.is_empty() {
        span.record("dynox.model", model);
    }
    let names = table_names(request);
    if !names.is_empty() {
        // The conventions' names are the tables DynamoDB sees (deployed); dynox's, the logical.
        span.record("dynox.tables", names.join(",").as_str());
        let deployed: Vec<String> = names
            .iter()
            .map(|n| mapping.table(n).into_owned())
            .collect();
        table_names_attribute(&span, deployed);
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

/// `aws.dynamodb.table_names`: a string array for OpenTelemetry (feature `opentelemetry`),
/// the names joined by commas for other subscribers.
fn table_names_attribute(span: &tracing::Span, names: Vec<String>) {
    #[cfg(feature = "opentelemetry")]
    {
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        let names: Vec<opentelemetry::StringValue> = names.into_iter().map(Into::into).collect();
        span.set_attribute(
            "aws.dynamodb.table_names",
            opentelemetry::Value::Array(names.into()),
        );
    }
    #[cfg(not(feature = "opentelemetry"))]
    span.record("aws.dynamodb.table_names", names.join(",").as_str());
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

pub(super) fn read_response(response: &Response, sample: &mut Sample<'_>) {
    let reads = !writes(sample.operation);
    for c in crate::capacity::entries(response) {
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

pub(super) fn record_response(span: &tracing::Span, response: &Response, mapping: &Mapping) {
    let capacity = crate::capacity::entries(response);
    if !capacity.is_empty() {
        let json: Vec<String> = capacity.iter().map(|c| capacity_json(c, mapping)).collect();
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
                o.table_names.as_ref().map_or(0, Vec::len) as i64,
            );
        }
        _ => {}
    }
}

/// One `ConsumedCapacity` entry as DynamoDB's JSON (table names and units only).
fn capacity_json(c: &ConsumedCapacity, mapping: &Mapping) -> String {
    let mut m = serde_json::Map::new();
    if let Some(t) = &c.table_name {
        // As DynamoDB answered: the deployed name (the caller's answer has the logical one).
        m.insert("TableName".into(), mapping.table(t).into_owned().into());
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
