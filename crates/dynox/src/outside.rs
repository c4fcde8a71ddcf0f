//! Requests to the other AWS services dynox calls for a model (DynamoDB Streams, S3). They are
//! not variants of [`Request`](crate::send::Request) and do not pass the layers, so what the
//! layers would do is done here with the client's own settings: its
//! [`RetryPolicy`](crate::layers::RetryPolicy) owns the attempts (the SDK's retries are off),
//! drawing from the client's retry budget; each attempt is bounded by the attempt timeout (or
//! the caller's, for a request whose body takes longer to send) and all of them by the operation
//! timeout. The caller only sends requests that may be repeated: reads, and writes that put the
//! same bytes under the same key.

use crate::Client;
use crate::error::{Error, Result, ServiceDetail};
use crate::layers::classify::{self, Retry};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use std::future::Future;
use std::time::{Duration, Instant};

/// The HTTP answer an SDK error carries.
pub(crate) type HttpResponse = aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// Sends one request, attempt after attempt, as the client's retry policy allows. `attempt_limit`
/// replaces the client's attempt timeout (`None`: the client's); the operation timeout still
/// bounds the whole, unless `attempt_limit` is longer than it, when that limit times each attempt
/// and the operation timeout is not applied (a large upload outlasts any operation timeout meant
/// for DynamoDB requests).
pub(crate) async fn send<O, E, F, Fut>(
    client: &Client,
    what: &'static str,
    attempt_limit: Option<Duration>,
    mut attempt: F,
) -> Result<O>
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
    loop {
        let result = match limit {
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
                return Ok(out);
            }
            Err(e) => e,
        };
        let failure = classify::failure(&err);
        if failure.retry == Retry::Never || n >= policy.max_attempts {
            return Err(err);
        }
        let Some(cost) = budget.acquire(failure.retry) else {
            return Err(err);
        };
        spent += cost;
        let pause = policy.delay(failure.retry, n);
        if operation.is_some_and(|limit| started.elapsed() + pause >= limit) {
            return Err(err);
        }
        tracing::debug!(operation = what, attempt = n, error = %err, "request retried");
        tokio::time::sleep(pause).await;
        n += 1;
    }
}
