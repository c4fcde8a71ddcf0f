//! Requests to the other AWS services dynox calls for a model (DynamoDB Streams, S3). They are
//! not variants of [`Request`](crate::send::Request) and do not pass the layers, so what the
//! layers would do is done here with the client's own settings: its
//! [`RetryPolicy`](crate::layers::RetryPolicy) owns the attempts (the SDK's retries are off),
//! drawing from the client's retry budget; each attempt is bounded by the attempt timeout (or
//! the caller's, for a request whose body takes longer to send) and all of them by the operation
//! timeout. The caller only sends requests that may be repeated: reads, and writes that put the
//! same bytes under the same key. Each request has a span (`s3.request`,
//! `dynamodbstreams.request`, named and attributed like the DynamoDB ones) and is counted in the
//! client's figures under its operation and model.

use crate::Client;
use crate::error::{Error, Result, ServiceDetail};
use crate::layers::classify::{self, Retry};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use std::future::Future;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

/// The HTTP answer an SDK error carries.
pub(crate) type HttpResponse = aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// What a request outside the stack is, for its span and figures.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Call<'a> {
    /// The operation (`GetRecords`, `PutObject`, ...).
    pub(crate) operation: &'static str,
    /// The model it is for (`""`: none).
    pub(crate) model: &'static str,
    /// The service and what it names.
    pub(crate) target: Target<'a>,
}

/// The service of a [`Call`] and the resource it names.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target<'a> {
    /// DynamoDB Streams, reading the stream of a (logical) table.
    Streams {
        /// The logical table.
        table: &'a str,
    },
    /// S3, an object of an S3-backed field.
    S3 {
        /// The deployed bucket.
        bucket: &'a str,
        /// The object key.
        key: &'a str,
    },
}

impl Call<'_> {
    fn span(&self, client: &Client) -> tracing::Span {
        let correlation = client.observer().outside_correlation();
        let model = (!self.model.is_empty()).then_some(self.model);
        let span = match self.target {
            Target::Streams { .. } => tracing::info_span!(
                target: "dynox",
                "dynamodbstreams.request",
                otel.name = tracing::field::Empty,
                otel.kind = "client",
                otel.status_code = tracing::field::Empty,
                rpc.system = "aws-api",
                rpc.system.name = "aws-api",
                rpc.service = "DynamoDB Streams",
                rpc.method = self.operation,
                error.type = tracing::field::Empty,
                dynox.attempts = tracing::field::Empty,
                dynox.model = model,
                dynox.tables = tracing::field::Empty,
                dynox.correlation_id = correlation.as_deref(),
            ),
            Target::S3 { bucket, key } => tracing::info_span!(
                target: "dynox",
                "s3.request",
                otel.name = tracing::field::Empty,
                otel.kind = "client",
                otel.status_code = tracing::field::Empty,
                rpc.system = "aws-api",
                rpc.system.name = "aws-api",
                rpc.service = "S3",
                rpc.method = self.operation,
                aws.s3.bucket = bucket,
                aws.s3.key = key,
                error.type = tracing::field::Empty,
                dynox.attempts = tracing::field::Empty,
                dynox.model = model,
                dynox.correlation_id = correlation.as_deref(),
            ),
        };
        if span.is_disabled() {
            return span;
        }
        let service = match self.target {
            Target::Streams { table } => {
                span.record("dynox.tables", table);
                "DynamoDBStreams"
            }
            Target::S3 { .. } => "S3",
        };
        span.record(
            "otel.name",
            format!("{service}.{}", self.operation).as_str(),
        );
        span
    }

    /// The table the figures count the request under: the stream's, or none for S3 (its
    /// requests are counted by operation and model).
    fn table(&self) -> &str {
        match self.target {
            Target::Streams { table } => table,
            Target::S3 { .. } => "",
        }
    }
}

/// Sends one request, attempt after attempt, as the client's retry policy allows. `attempt_limit`
/// replaces the client's attempt timeout (`None`: the client's); the operation timeout still
/// bounds the whole, unless `attempt_limit` is longer than it, when that limit times each attempt
/// and the operation timeout is not applied (a large upload outlasts any operation timeout meant
/// for DynamoDB requests).
pub(crate) async fn send<O, E, F, Fut>(
    client: &Client,
    call: Call<'_>,
    attempt_limit: Option<Duration>,
    attempt: F,
) -> Result<O>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<O, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + ServiceDetail + std::error::Error + Send + Sync + 'static,
{
    let span = call.span(client);
    let started = Instant::now();
    let (result, attempts, throttles) = attempts(client, call.operation, attempt_limit, attempt)
        .instrument(span.clone())
        .await;
    let error = result.as_ref().err().map(Error::kind);
    span.record("dynox.attempts", i64::from(attempts));
    if let Some(kind) = error {
        span.record("error.type", kind);
        span.record("otel.status_code", "ERROR");
    }
    client.observer().record_outside(
        call.operation,
        call.table(),
        call.model,
        attempts,
        throttles,
        started.elapsed(),
        error,
    );
    result
}

/// The attempts of one request: its result, how many were sent and how many were throttled.
async fn attempts<O, E, F, Fut>(
    client: &Client,
    what: &'static str,
    attempt_limit: Option<Duration>,
    mut attempt: F,
) -> (Result<O>, u32, u32)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<O, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + ServiceDetail + std::error::Error + Send + Sync + 'static,
{
    let resilience = client.resilience();
    let policy = resilience.retry;
    let timeouts = resilience.timeouts;
    let limit = attempt_limit.or(timeouts.attempt);
    let operation = match (attempt_limit, timeouts.operation) {
        (Some(a), Some(o)) if a >= o => None,
        (_, o) => o,
    };
    let budget = &client.shared().budget;
    let started = Instant::now();
    let mut spent = 0;
    let mut n = 1;
    let mut throttles = 0;
    loop {
        // An attempt ends by its own limit, and by the operation's when that comes first.
        let left = operation.map(|o| o.saturating_sub(started.elapsed()));
        let bound = match (limit, left) {
            (Some(l), Some(o)) => Some(l.min(o)),
            (l, o) => l.or(o),
        };
        let result = match bound {
            Some(limit) => match tokio::time::timeout(limit, attempt()).await {
                Ok(r) => r.map_err(crate::error::from_sdk),
                Err(_) => Err(Error::Timeout {
                    what: format!("the answer to {what}"),
                    after: limit,
                    may_have_reached: true,
                    context: None,
                }),
            },
            None => attempt().await.map_err(crate::error::from_sdk),
        };
        let err = match result {
            Ok(out) => {
                budget.release(spent);
                return (Ok(out), n, throttles);
            }
            Err(e) => e,
        };
        let failure = classify::failure(&err);
        if failure.retry == Retry::Throttle {
            throttles += 1;
        }
        if failure.retry == Retry::Never || n >= policy.max_attempts {
            return (Err(err), n, throttles);
        }
        let pause = policy.delay(failure.retry, n);
        if operation.is_some_and(|limit| started.elapsed() + pause >= limit) {
            return (Err(err), n, throttles);
        }
        let Some(cost) = budget.acquire(failure.retry) else {
            return (Err(err), n, throttles);
        };
        spent += cost;
        tracing::debug!(operation = what, attempt = n, error = %err, "request retried");
        tokio::time::sleep(pause).await;
        n += 1;
    }
}
