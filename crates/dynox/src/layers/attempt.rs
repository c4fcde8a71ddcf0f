//! The attempt timeout: one bound on one attempt's time on the wire.
//!
//! To a request: sends it, and gives up when the attempt timeout or the operation's deadline,
//! whichever comes first, passes without an answer. It sits below the rate limiter, so time
//! spent waiting for capacity is not the request's time on the wire. To an error: a timeout
//! here is [`Error::Timeout`] with `may_have_reached: true` (the request was sent).

use super::deadline;
use crate::error::Error;
use crate::send::{Request, Response};
use futures::future::BoxFuture;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::{Layer, Service};

/// Layer of [`AttemptTimeoutService`].
#[derive(Clone, Copy, Debug)]
pub struct AttemptTimeoutLayer {
    timeout: Option<Duration>,
}

impl AttemptTimeoutLayer {
    /// Bounds each attempt by `timeout` (and always by the deadline, if one is set).
    pub fn new(timeout: Option<Duration>) -> Self {
        AttemptTimeoutLayer { timeout }
    }
}

impl<S> Layer<S> for AttemptTimeoutLayer {
    type Service = AttemptTimeoutService<S>;
    fn layer(&self, inner: S) -> AttemptTimeoutService<S> {
        AttemptTimeoutService {
            inner,
            timeout: self.timeout,
        }
    }
}

/// Bounds each attempt.
#[derive(Clone, Debug)]
pub struct AttemptTimeoutService<S> {
    inner: S,
    timeout: Option<Duration>,
}

impl<S> Service<Request> for AttemptTimeoutService<S>
where
    S: Service<Request, Response = Response, Error = Error>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let remaining = deadline::current().map(|d| d.saturating_duration_since(Instant::now()));
        let limit = match (self.timeout, remaining) {
            (Some(t), Some(r)) => Some(t.min(r)),
            (t, r) => t.or(r),
        };
        let operation = request.operation_name();
        let sent = self.inner.call(request);
        let Some(limit) = limit else {
            return Box::pin(sent);
        };
        Box::pin(async move {
            match tokio::time::timeout(limit, sent).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout {
                    what: format!("an answer to {operation}"),
                    after: limit,
                    may_have_reached: true,
                    context: None,
                }),
            }
        })
    }
}
