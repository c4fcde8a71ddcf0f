//! Load shedding: a bound on the requests a client has in flight, and failing fast while
//! everything it sends is throttled.
//!
//! To a request: waits for one of `max_concurrency` slots (held through all its attempts); with
//! `fail_fast_when_throttled`, refuses it at once while the client is shedding — after
//! [`Shedding::OPEN_AFTER`] requests in a row gave up throttled and none succeeded — letting one
//! probe through every [`Shedding::PROBE_EVERY`]; the first success ends it. To an error: a
//! refused request is [`Error::Throttled`] with code [`SHED_CODE`] (`is_throttled()` is true),
//! and nothing was sent.

use crate::error::Error;
use crate::send::{Request, Response};
use futures::future::BoxFuture;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tower::{Layer, Service};

/// The code of a request the client refused to send while shedding.
pub const SHED_CODE: &str = "dynox.LoadShed";

/// Load shedding settings. Off by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shedding {
    /// At most this many requests in flight at once; the rest wait their turn.
    pub max_concurrency: Option<usize>,
    /// Refuse requests at once while every request is throttled.
    pub fail_fast_when_throttled: bool,
}

impl Shedding {
    /// Requests in a row that must give up throttled before shedding starts.
    pub const OPEN_AFTER: u32 = 8;
    /// While shedding, one request is let through this often to see whether it is over.
    pub const PROBE_EVERY: Duration = Duration::from_millis(250);
}

/// What shedding shares across a client's clones.
#[derive(Debug)]
pub struct ShedState {
    slots: Option<Arc<Semaphore>>,
    streak: AtomicU32,
    open: AtomicBool,
    last_probe: Mutex<Option<Instant>>,
    shed: AtomicU32,
}

impl ShedState {
    /// The state for `config`.
    pub fn new(config: &Shedding) -> ShedState {
        ShedState {
            slots: config
                .max_concurrency
                .map(|n| Arc::new(Semaphore::new(n.max(1)))),
            streak: AtomicU32::new(0),
            open: AtomicBool::new(false),
            last_probe: Mutex::new(None),
            shed: AtomicU32::new(0),
        }
    }

    /// Whether the client is shedding now.
    pub fn is_shedding(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    /// How many requests were refused so far.
    pub fn refused(&self) -> u32 {
        self.shed.load(Ordering::Relaxed)
    }

    /// Whether a request may go now (while shedding, only a probe may).
    fn admit(&self) -> bool {
        if !self.open.load(Ordering::Relaxed) {
            return true;
        }
        let mut last = self.last_probe.lock().expect("shed lock");
        let now = Instant::now();
        if last.is_none_or(|t| now - t >= Shedding::PROBE_EVERY) {
            *last = Some(now);
            return true;
        }
        false
    }

    fn outcome(&self, throttled: bool) {
        if throttled {
            let n = self.streak.fetch_add(1, Ordering::Relaxed) + 1;
            if n >= Shedding::OPEN_AFTER && !self.open.swap(true, Ordering::Relaxed) {
                // The first probe comes a probe interval after shedding starts.
                *self.last_probe.lock().expect("shed lock") = Some(Instant::now());
                tracing::warn!(
                    throttled_in_a_row = n,
                    "dynox: every request is throttled; failing fast until one succeeds"
                );
            }
        } else {
            self.streak.store(0, Ordering::Relaxed);
            if self.open.swap(false, Ordering::Relaxed) {
                tracing::info!("dynox: requests succeed again; shedding ends");
            }
        }
    }
}

/// Layer of [`ShedService`].
#[derive(Clone, Debug)]
pub struct ShedLayer {
    config: Shedding,
    state: Arc<ShedState>,
}

impl ShedLayer {
    /// Sheds by `config`, with the client's shared `state`.
    pub fn new(config: Shedding, state: Arc<ShedState>) -> Self {
        ShedLayer { config, state }
    }
}

impl<S> Layer<S> for ShedLayer {
    type Service = ShedService<S>;
    fn layer(&self, inner: S) -> ShedService<S> {
        ShedService {
            inner,
            layer: self.clone(),
        }
    }
}

/// Bounds and sheds a client's requests.
#[derive(Clone, Debug)]
pub struct ShedService<S> {
    inner: S,
    layer: ShedLayer,
}

impl<S> Service<Request> for ShedService<S>
where
    S: Service<Request, Response = Response, Error = Error> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let state = self.layer.state.clone();
        let fail_fast = self.layer.config.fail_fast_when_throttled;
        let mut inner = self.inner.clone();
        Box::pin(async move {
            let _slot = match &state.slots {
                Some(s) => {
                    let acquire = s.clone().acquire_owned();
                    let permit = match super::deadline::current() {
                        Some(d) => {
                            tokio::time::timeout_at(d.into(), acquire)
                                .await
                                .map_err(|_| {
                                    super::deadline::passed_before_sending(request.operation_name())
                                })?
                        }
                        None => acquire.await,
                    };
                    Some(permit.expect("the semaphore is never closed"))
                }
                None => None,
            };
            if fail_fast && !state.admit() {
                state.shed.fetch_add(1, Ordering::Relaxed);
                return Err(Error::Throttled {
                    code: SHED_CODE.to_owned(),
                    message: format!(
                        "not sent: every request of this client is throttled, so {} is \
                         refused until one succeeds",
                        request.operation_name()
                    ),
                    source: "load shedding".into(),
                    context: None,
                });
            }
            let result = inner.call(request).await;
            if fail_fast {
                match &result {
                    Ok(_) => state.outcome(false),
                    Err(e) if e.is_throttled() => state.outcome(true),
                    // Other failures say nothing about throttling.
                    Err(_) => {}
                }
            }
            result
        })
    }
}
