//! The operation deadline: one bound on all attempts of a request and the pauses between them.
//!
//! To a request: starts its clock; the layers below read the deadline ([`current`]) and keep
//! to it: waiting for a slot or for capacity stops there (nothing was sent), a pause that would
//! end after it is not taken, an attempt is cut off there. To an error: those give
//! [`Error::Timeout`]. As a last resort, a request still unanswered [`GRACE`] after its deadline
//! is cut off here: a read with `Timeout`, a write with [`Error::OutcomeUnknown`] around it.

use super::classify;
use crate::error::Error;
use crate::send::{Request, Response};
use futures::future::BoxFuture;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::{Layer, Service};

/// How long after its deadline a request is cut off here, if the layers below did not stop it.
pub const GRACE: Duration = Duration::from_millis(250);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// The deadline of the request being sent, if one is set.
pub fn current() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// The error of a request whose deadline passed before it was sent.
pub fn passed_before_sending(what: &str) -> Error {
    Error::Timeout {
        what: format!("{what} (the operation deadline passed before it was sent)"),
        after: Duration::ZERO,
        may_have_reached: false,
        context: None,
    }
}

/// Layer of [`DeadlineService`].
#[derive(Clone, Copy, Debug)]
pub struct DeadlineLayer {
    timeout: Option<Duration>,
}

impl DeadlineLayer {
    /// Bounds each request, all attempts included, by `timeout` (`None`: no bound).
    pub fn new(timeout: Option<Duration>) -> Self {
        DeadlineLayer { timeout }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;
    fn layer(&self, inner: S) -> DeadlineService<S> {
        DeadlineService {
            inner,
            timeout: self.timeout,
        }
    }
}

/// Gives each request its deadline.
#[derive(Clone, Debug)]
pub struct DeadlineService<S> {
    inner: S,
    timeout: Option<Duration>,
}

impl<S> Service<Request> for DeadlineService<S>
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
        let Some(timeout) = self.timeout else {
            return Box::pin(self.inner.call(request));
        };
        let operation = request.operation_name();
        // Only a write's late error names its table and token.
        let write = classify::idempotency(&request)
            .writes()
            .then(|| request.info());
        let deadline = Instant::now() + timeout;
        let sent = self.inner.call(request);
        Box::pin(DEADLINE.scope(deadline, async move {
            match tokio::time::timeout(timeout + GRACE, sent).await {
                Ok(r) => r,
                Err(_) => {
                    let err = Error::Timeout {
                        what: format!("{operation} (the operation deadline)"),
                        after: timeout,
                        may_have_reached: true,
                        context: None,
                    };
                    Err(match write {
                        Some(info) => info.outcome_unknown(0, err),
                        None => err,
                    })
                }
            }
        }))
    }
}
