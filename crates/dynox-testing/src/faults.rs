//! A fault-injecting HTTP proxy in front of a DynamoDB endpoint, for resilience tests.
//!
//! Retries, timeouts, rate limits and "outcome unknown" handling can only be proven against a
//! service that misbehaves on purpose, in exactly the ways DynamoDB does: connections that die
//! before or after the write was applied, 500s, throttling, stalls, partial batches, unparsable
//! answers, a table that admits only so many capacity units per second, and throttle storms.
//! [`FaultProxy`] stands between the client and the engine (like the IAM gateway in
//! [`crate::iam`]) and injects those faults per request, chosen by a seeded RNG so that a test
//! that fails can be run again with the same faults.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use dynox_testing::LocalDynamo;
//! use dynox_testing::faults::{FaultPlan, FaultProxy, Faults};
//! let local = LocalDynamo::embedded()?;
//! let plan = FaultPlan::new(42)
//!     .operation("BatchWriteItem", Faults { unprocess: 0.3, reset_after: 0.05, ..Faults::default() })
//!     .write_capacity(500.0, 250.0);
//! let faults = FaultProxy::in_front_of(&local, plan)?;
//! let client = faults.client(); // every request now goes through the proxy
//! // ... drive the client, then check what happened:
//! let stats = faults.stats();
//! assert!(stats.forwarded <= stats.requests);
//! # Ok(()) }
//! ```
//!
//! # Determinism
//!
//! The decision for a request depends only on the plan's seed, the operation and how many
//! requests of that operation the plan has seen before it (its index): the 7th `PutItem` of a
//! plan with seed 42 always gets the same fault. A test that sends its requests one at a time is
//! therefore reproducible; with concurrent senders the faults are the same set, but which request
//! gets which depends on the order in which they arrive.
//!
//! # Limits
//!
//! The upstream is plain HTTP (the embedded engine, an emulator, a container). `unprocess`
//! rewrites the request body before forwarding it, which invalidates its SigV4 signature: it
//! needs an upstream that does not check signatures. Every other fault forwards the request
//! byte for byte.

use crate::{LocalDynamo, StartError};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The content type of DynamoDB's JSON protocol.
const JSON_1_0: &str = "application/x-amz-json-1.0";

/// What one request may suffer, as fractions (0.0 to 1.0) of the requests it applies to.
///
/// At most one fault is injected per request: one draw picks among them in the order of the
/// fields, so the rates add up (a sum above 1.0 starves the later ones). `unprocess` applies to
/// `BatchWriteItem` and `BatchGetItem` only; drawn for another operation, it injects nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct Faults {
    /// Close the connection with a TCP reset without forwarding: the engine never sees the
    /// request, the client sees a connection error and no HTTP response.
    pub reset_before: f64,
    /// Forward, let the engine apply the request, then reset the connection without answering:
    /// the write was applied and the client cannot know.
    pub reset_after: f64,
    /// Answer HTTP 500 `InternalServerError` without forwarding (not applied).
    pub error_before: f64,
    /// Forward (applied), then answer HTTP 500 `InternalServerError` instead of the engine's answer.
    pub error_after: f64,
    /// Answer HTTP 400 `ProvisionedThroughputExceededException` without forwarding.
    pub throttle: f64,
    /// Answer HTTP 400 `ThrottlingException` without forwarding.
    pub throttling_exception: f64,
    /// Hold the request for [`Faults::stall_for`]: for timeout tests.
    pub stall: f64,
    /// For a batch, forward a random non-empty subset of its writes or keys only and return the
    /// others in `UnprocessedItems` / `UnprocessedKeys`, as DynamoDB does (those were not applied).
    pub unprocess: f64,
    /// Forward (applied), then answer 200 with a body that is not JSON.
    pub garbage: f64,
    /// How long a stall holds the request.
    pub stall_for: Duration,
    /// Whether a stall forwards the request first (applied; the engine's answer is sent after the
    /// stall) or never forwards it (not applied; the connection is reset after the stall).
    pub stall_forwards: bool,
}

impl Default for Faults {
    /// No faults; a stall (once given a rate) holds for 10 s without forwarding.
    fn default() -> Faults {
        Faults {
            reset_before: 0.0,
            reset_after: 0.0,
            error_before: 0.0,
            error_after: 0.0,
            throttle: 0.0,
            throttling_exception: 0.0,
            stall: 0.0,
            unprocess: 0.0,
            garbage: 0.0,
            stall_for: Duration::from_secs(10),
            stall_forwards: false,
        }
    }
}

impl Faults {
    /// The fault for one request, from its first draw.
    fn draw(&self, u: f64, batch: bool) -> Option<FaultKind> {
        let bands = [
            (self.reset_before, FaultKind::ResetBefore),
            (self.reset_after, FaultKind::ResetAfter),
            (self.error_before, FaultKind::ErrorBefore),
            (self.error_after, FaultKind::ErrorAfter),
            (self.throttle, FaultKind::Throttle),
            (self.throttling_exception, FaultKind::ThrottlingException),
            (self.stall, FaultKind::Stall),
            (self.unprocess, FaultKind::Unprocess),
            (self.garbage, FaultKind::Garbage),
        ];
        let mut edge = 0.0;
        for (rate, kind) in bands {
            edge += if rate.is_finite() {
                rate.clamp(0.0, 1.0)
            } else {
                0.0
            };
            if u < edge {
                return (kind != FaultKind::Unprocess || batch).then_some(kind);
            }
        }
        None
    }
}

/// A capacity limit: a token bucket that refills at `per_second` units and holds `burst` at most
/// (it starts full). In any one second it admits at most `per_second + burst` units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Capacity {
    /// Units added per second.
    pub per_second: f64,
    /// The most units the bucket holds.
    pub burst: f64,
}

/// What the proxy injects: faults for all operations or per operation, capacity limits and a
/// throttle storm, all under one seed.
#[derive(Clone, Debug, Default)]
pub struct FaultPlan {
    seed: u64,
    all: Faults,
    operations: HashMap<String, Faults>,
    write: Option<Capacity>,
    read: Option<Capacity>,
    storm: Option<(Duration, Duration)>,
}

impl FaultPlan {
    /// A plan that injects nothing yet, with the seed that makes its choices reproducible.
    pub fn new(seed: u64) -> FaultPlan {
        FaultPlan {
            seed,
            ..FaultPlan::default()
        }
    }

    /// The faults of every operation that has no rule of its own.
    pub fn all(mut self, faults: Faults) -> FaultPlan {
        self.all = faults;
        self
    }

    /// The faults of one operation, replacing those of [`FaultPlan::all`] for it. The name is
    /// the operation (`BatchWriteItem`) or the whole `X-Amz-Target` (`DynamoDB_20120810.BatchWriteItem`).
    pub fn operation(mut self, name: &str, faults: Faults) -> FaultPlan {
        self.operations
            .insert(operation_name(name).to_owned(), faults);
        self
    }

    /// Admits at most this many write capacity units per second (1 WCU per started KB of each
    /// written item, twice that in a transaction) and throttles the rest with
    /// `ProvisionedThroughputExceededException`, without forwarding. A request that does not fit
    /// is throttled whole; one larger than `burst` is admitted once the bucket is full (and
    /// leaves it in debt), so it is not refused forever.
    pub fn write_capacity(mut self, per_second: f64, burst: f64) -> FaultPlan {
        self.write = Some(Capacity { per_second, burst });
        self
    }

    /// Admits at most this many read capacity units per second (1 RCU per item read, per query
    /// or scan request, twice that in a transaction), like [`FaultPlan::write_capacity`].
    pub fn read_capacity(mut self, per_second: f64, burst: f64) -> FaultPlan {
        self.read = Some(Capacity { per_second, burst });
        self
    }

    /// Throttles every request from `after` the plan is installed, for `lasting`: a throttle
    /// storm. See also [`FaultProxy::throttle_all`] to switch one on and off at run time.
    pub fn storm(mut self, after: Duration, lasting: Duration) -> FaultPlan {
        self.storm = Some((after, lasting));
        self
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn faults_for(&self, operation: &str) -> &Faults {
        self.operations.get(operation).unwrap_or(&self.all)
    }
}

/// One kind of fault the proxy injects, as counted in [`FaultStats`] and logged in
/// [`FaultProxy::injections`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// See [`Faults::reset_before`].
    ResetBefore,
    /// See [`Faults::reset_after`].
    ResetAfter,
    /// See [`Faults::error_before`].
    ErrorBefore,
    /// See [`Faults::error_after`].
    ErrorAfter,
    /// See [`Faults::throttle`].
    Throttle,
    /// See [`Faults::throttling_exception`].
    ThrottlingException,
    /// See [`Faults::stall`].
    Stall,
    /// See [`Faults::unprocess`].
    Unprocess,
    /// See [`Faults::garbage`].
    Garbage,
    /// Throttled by a storm ([`FaultPlan::storm`], [`FaultProxy::throttle_all`]).
    Storm,
    /// Throttled by a capacity limit ([`FaultPlan::write_capacity`], [`FaultPlan::read_capacity`]).
    Capacity,
}

impl FaultKind {
    fn slot(self) -> usize {
        self as usize
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One injected fault: which request got it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injection {
    /// The operation (`PutItem`).
    pub operation: String,
    /// How many requests of this operation the plan had seen before this one.
    pub index: u64,
    /// What was injected.
    pub kind: FaultKind,
}

/// What the proxy has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Requests received.
    pub requests: u64,
    /// Requests the engine answered (whatever the client then got).
    pub forwarded: u64,
    /// Faults injected, per kind, in [`FaultKind`] order; read it with [`FaultStats::injected`].
    pub by_kind: [u64; 11],
    /// Batch entries (writes or keys) held back by `unprocess`.
    pub unprocessed_entries: u64,
    /// Write capacity units admitted and forwarded.
    pub admitted_wcu: u64,
    /// Read capacity units admitted and forwarded.
    pub admitted_rcu: u64,
}

impl FaultStats {
    /// How many faults of this kind were injected.
    pub fn injected(&self, kind: FaultKind) -> u64 {
        self.by_kind[kind.slot()]
    }

    /// How many faults of any kind were injected.
    pub fn total_injected(&self) -> u64 {
        self.by_kind.iter().sum()
    }
}

/// What one second of the proxy's life admitted and throttled, so a test can check that a
/// limit held in every second (`admitted_wcu <= per_second + burst`) and was used (`>= 85 %`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecondStats {
    /// Seconds since the proxy started.
    pub second: u64,
    /// Write capacity units forwarded in this second.
    pub admitted_wcu: u64,
    /// Read capacity units forwarded in this second.
    pub admitted_rcu: u64,
    /// Write capacity units of the requests throttled in this second (any cause).
    pub throttled_wcu: u64,
    /// Read capacity units of the requests throttled in this second (any cause).
    pub throttled_rcu: u64,
    /// Requests answered with a throttling error in this second (injected, storm or capacity).
    pub throttled_requests: u64,
}

/// A running fault proxy: an HTTP/1 server on `127.0.0.1:0` in a thread of its own, forwarding
/// to its upstream. Dropping it stops the server and cancels the requests it holds.
pub struct FaultProxy {
    endpoint: String,
    config: SdkConfig,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("endpoint", &self.endpoint)
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

type Upstream = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

/// What the server's tasks share with the handle.
struct Shared {
    upstream: String,
    client: Upstream,
    started: Instant,
    installed: Mutex<Arc<Installed>>,
    storm: AtomicBool,
    requests: AtomicU64,
    forwarded: AtomicU64,
    injected: [AtomicU64; 11],
    unprocessed_entries: AtomicU64,
    admitted_wcu: AtomicU64,
    admitted_rcu: AtomicU64,
    seconds: Mutex<Vec<SecondStats>>,
    log: Mutex<Vec<Injection>>,
}

/// A plan as installed: its clock, request counters and buckets start when it is installed.
struct Installed {
    plan: FaultPlan,
    at: Instant,
    sequence: Mutex<HashMap<String, u64>>,
    write: Option<Mutex<Bucket>>,
    read: Option<Mutex<Bucket>>,
}

impl Installed {
    fn new(plan: FaultPlan) -> Installed {
        let now = Instant::now();
        Installed {
            write: plan.write.map(|c| Mutex::new(Bucket::new(c, now))),
            read: plan.read.map(|c| Mutex::new(Bucket::new(c, now))),
            plan,
            at: now,
            sequence: Mutex::new(HashMap::new()),
        }
    }

    fn next_index(&self, operation: &str) -> u64 {
        let mut seq = lock(&self.sequence);
        if let Some(n) = seq.get_mut(operation) {
            *n += 1;
            *n - 1
        } else {
            seq.insert(operation.to_owned(), 1);
            0
        }
    }

    fn in_storm(&self, now: Instant) -> bool {
        self.plan.storm.is_some_and(|(after, lasting)| {
            let t = now.saturating_duration_since(self.at);
            t >= after && t < after + lasting
        })
    }
}

/// A token bucket of capacity units.
#[derive(Debug)]
struct Bucket {
    capacity: Capacity,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(capacity: Capacity, now: Instant) -> Bucket {
        Bucket {
            capacity,
            tokens: capacity.burst,
            last: now,
        }
    }

    /// Takes `cost` units if they are there (or the bucket is full, for a request larger than
    /// the bucket).
    fn take(&mut self, cost: u64, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens =
            (self.tokens + elapsed * self.capacity.per_second).min(self.capacity.burst.max(0.0));
        let cost = cost as f64;
        let need = cost.min(self.capacity.burst);
        if cost == 0.0 || (self.tokens >= need && self.tokens > 0.0) {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }

    /// Gives back what [`Bucket::take`] took for a request that was refused after all.
    fn refund(&mut self, cost: u64) {
        self.tokens += cost as f64;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (an endpoint URL such as
    /// [`LocalDynamo::endpoint`]), with the local backends' dummy credentials and `us-east-1` for
    /// [`FaultProxy::sdk_config`].
    pub fn start(upstream: &str, plan: FaultPlan) -> Result<FaultProxy, StartError> {
        let base = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "local",
                "local",
                None,
                None,
                "dynox-testing",
            )))
            .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().expect("tokio sleep"))
            .build();
        FaultProxy::start_with(upstream, &base, plan)
    }

    /// Starts a proxy in front of `local`, whose configuration (credentials, region) the proxy's
    /// [`FaultProxy::sdk_config`] keeps.
    pub fn in_front_of(local: &LocalDynamo, plan: FaultPlan) -> Result<FaultProxy, StartError> {
        FaultProxy::start_with(local.endpoint(), local.sdk_config(), plan)
    }

    /// Starts a proxy in front of `upstream`, with `base` pointed at it as its configuration.
    pub fn start_with(
        upstream: &str,
        base: &SdkConfig,
        plan: FaultPlan,
    ) -> Result<FaultProxy, StartError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(StartError::Io)?;
        listener.set_nonblocking(true).map_err(StartError::Io)?;
        let addr = listener.local_addr().map_err(StartError::Io)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StartError::Io)?;
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: hyper_util::client::legacy::Client::builder(
                hyper_util::rt::TokioExecutor::new(),
            )
            .build_http(),
            started: Instant::now(),
            installed: Mutex::new(Arc::new(Installed::new(plan))),
            storm: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            injected: Default::default(),
            unprocessed_entries: AtomicU64::new(0),
            admitted_wcu: AtomicU64::new(0),
            admitted_rcu: AtomicU64::new(0),
            seconds: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
        });
        let server = shared.clone();
        std::thread::Builder::new()
            .name(format!("dynox-fault-proxy-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        eprintln!("dynox-testing: the fault proxy cannot listen");
                        return;
                    };
                    loop {
                        let accepted = tokio::select! {
                            _ = &mut rx => break,
                            a = listener.accept() => a,
                        };
                        let Ok((stream, _)) = accepted else { continue };
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(connection(server.clone(), stream));
                    }
                });
            })
            .map_err(StartError::Io)?;
        let endpoint = format!("http://{addr}");
        let config = base.to_builder().endpoint_url(&endpoint).build();
        Ok(FaultProxy {
            endpoint,
            config,
            shared,
            shutdown: Some(tx),
        })
    }

    /// The proxy's endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The endpoint the proxy forwards to.
    pub fn upstream(&self) -> &str {
        &self.shared.upstream
    }

    /// An AWS configuration pointed at the proxy.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// A dynox client pointed at the proxy.
    pub fn client(&self) -> dynox::Client {
        dynox::Client::new(&self.config)
    }

    /// The AWS SDK's own client pointed at the proxy, with the SDK's retries disabled, so each
    /// injected fault reaches the caller as it was sent.
    pub fn raw_client(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&self.config)
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
                .build(),
        )
    }

    /// Replaces the plan. Its storm clock, per-operation request indexes and capacity buckets
    /// (full) start now; statistics and the injection log keep counting.
    pub fn set_plan(&self, plan: FaultPlan) {
        *lock(&self.shared.installed) = Arc::new(Installed::new(plan));
    }

    /// Throttles every request (`ProvisionedThroughputExceededException`, not forwarded) while
    /// on: a storm switched by the test.
    pub fn throttle_all(&self, on: bool) {
        self.shared.storm.store(on, Ordering::Relaxed);
    }

    /// What the proxy has done so far.
    pub fn stats(&self) -> FaultStats {
        let s = &self.shared;
        let mut by_kind = [0; 11];
        for (out, counter) in by_kind.iter_mut().zip(&s.injected) {
            *out = counter.load(Ordering::Relaxed);
        }
        FaultStats {
            requests: s.requests.load(Ordering::Relaxed),
            forwarded: s.forwarded.load(Ordering::Relaxed),
            by_kind,
            unprocessed_entries: s.unprocessed_entries.load(Ordering::Relaxed),
            admitted_wcu: s.admitted_wcu.load(Ordering::Relaxed),
            admitted_rcu: s.admitted_rcu.load(Ordering::Relaxed),
        }
    }

    /// Admitted and throttled capacity per second since the proxy started, one entry per second
    /// up to the last one with traffic.
    pub fn per_second(&self) -> Vec<SecondStats> {
        lock(&self.shared.seconds).clone()
    }

    /// Every fault injected so far, in the order they were decided (kept for the proxy's life:
    /// one small entry per injected fault, throttles included).
    pub fn injections(&self) -> Vec<Injection> {
        lock(&self.shared.log).clone()
    }
}

/// Serves one client connection; a handler that resets it signals `abort`, and the socket is then
/// closed with `SO_LINGER` 0, which sends a TCP reset instead of an orderly close.
async fn connection(shared: Arc<Shared>, mut stream: tokio::net::TcpStream) {
    let abort = Arc::new(Notify::new());
    let service = {
        let abort = abort.clone();
        hyper::service::service_fn(move |req| {
            let shared = shared.clone();
            let abort = abort.clone();
            async move { Ok::<_, std::convert::Infallible>(handle(shared, req, &abort).await) }
        })
    };
    let aborted = {
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(&mut stream), service);
        tokio::select! {
            _ = conn => false,
            () = abort.notified() => true,
        }
    };
    if aborted {
        let _ = stream.set_zero_linger();
    }
}

/// The operation of an `X-Amz-Target` (`DynamoDB_20120810.PutItem` is `PutItem`).
fn operation_name(target: &str) -> &str {
    target.rsplit('.').next().unwrap_or(target)
}

fn is_batch(operation: &str) -> bool {
    matches!(operation, "BatchWriteItem" | "BatchGetItem")
}

/// The seed of one request's RNG: the plan's seed, the operation and its index, mixed.
fn request_seed(seed: u64, operation: &str, index: u64) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in operation.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(seed ^ mix(h ^ mix(index)))
}

fn respond(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_str(content_type).expect("static header value"),
    );
    r
}

/// A DynamoDB error answer, shaped as DynamoDB sends it (the SDK reads the code after the `#`).
fn error(status: StatusCode, kind: &str, message: &str, why: FaultKind) -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "__type": kind,
        "message": format!("{message} (injected by dynox-testing: {why:?})"),
    });
    respond(status, JSON_1_0, body.to_string())
}

fn throttled(why: FaultKind) -> Response<Full<Bytes>> {
    error(
        StatusCode::BAD_REQUEST,
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. \
         Consider increasing your provisioning level with the UpdateTable API.",
        why,
    )
}

fn internal_error(why: FaultKind) -> Response<Full<Bytes>> {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "com.amazon.coral.service#InternalServerError",
        "Internal server error",
        why,
    )
}

/// Capacity units of one request, as estimated before it is forwarded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Units {
    write: u64,
    read: u64,
}

impl Shared {
    fn second(&self, now: Instant, f: impl FnOnce(&mut SecondStats)) {
        let second = now.saturating_duration_since(self.started).as_secs();
        let mut seconds = lock(&self.seconds);
        while seconds.len() as u64 <= second {
            let next = seconds.len() as u64;
            seconds.push(SecondStats {
                second: next,
                ..SecondStats::default()
            });
        }
        if let Some(s) = usize::try_from(second)
            .ok()
            .and_then(|i| seconds.get_mut(i))
        {
            f(s);
        }
    }

    fn inject(&self, operation: &str, index: u64, kind: FaultKind) {
        self.injected[kind.slot()].fetch_add(1, Ordering::Relaxed);
        lock(&self.log).push(Injection {
            operation: operation.to_owned(),
            index,
            kind,
        });
    }

    /// Counts a throttled request, in its kind and in the current second.
    fn throttle(&self, operation: &str, index: u64, kind: FaultKind, units: Units, now: Instant) {
        self.inject(operation, index, kind);
        self.second(now, |s| {
            s.throttled_requests += 1;
            s.throttled_wcu += units.write;
            s.throttled_rcu += units.read;
        });
    }
}

/// Resets the connection: the serving task sees `abort` and drops it; this future never ends.
async fn reset(abort: &Notify) -> Response<Full<Bytes>> {
    abort.notify_one();
    std::future::pending().await
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    abort: &Notify,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return respond(
                StatusCode::BAD_REQUEST,
                "text/plain",
                format!("cannot read the request body: {e}"),
            );
        }
    };
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let now = Instant::now();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(operation_name)
        .unwrap_or("")
        .to_owned();
    let installed = lock(&shared.installed).clone();
    let plan = &installed.plan;
    let index = installed.next_index(&operation);
    let mut rng = fastrand::Rng::with_seed(request_seed(plan.seed, &operation, index));
    let faults = plan.faults_for(&operation);
    let batch = is_batch(&operation);
    let draw = rng.f64();
    let mut kind = if shared.storm.load(Ordering::Relaxed) || installed.in_storm(now) {
        Some(FaultKind::Storm)
    } else {
        faults.draw(draw, batch)
    };
    // Only requests that consume capacity (or may be split) are parsed.
    let mut json = if consumes_capacity(&operation) {
        serde_json::from_slice::<Value>(&body).ok()
    } else {
        None
    };
    let units = json
        .as_ref()
        .map_or_else(Units::default, |j| units_of(&operation, j));

    // The faults that answer without forwarding.
    match kind {
        Some(k @ (FaultKind::Storm | FaultKind::Throttle)) => {
            shared.throttle(&operation, index, k, units, now);
            return throttled(k);
        }
        Some(k @ FaultKind::ThrottlingException) => {
            shared.throttle(&operation, index, k, units, now);
            return error(
                StatusCode::BAD_REQUEST,
                "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
                k,
            );
        }
        Some(k @ FaultKind::ResetBefore) => {
            shared.inject(&operation, index, k);
            return reset(abort).await;
        }
        Some(k @ FaultKind::ErrorBefore) => {
            shared.inject(&operation, index, k);
            return internal_error(k);
        }
        Some(FaultKind::Stall) if !faults.stall_forwards => {
            shared.inject(&operation, index, FaultKind::Stall);
            tokio::time::sleep(faults.stall_for).await;
            return reset(abort).await;
        }
        _ => {}
    }

    // Unprocessed entries: forward the rest only.
    let mut body = body;
    let mut units = units;
    let mut held = None;
    if kind == Some(FaultKind::Unprocess) {
        let split = json
            .as_mut()
            .and_then(|r| hold_back(&operation, r, &mut rng));
        match (split, json.as_ref()) {
            (Some(split), _) if split.all => {
                shared.inject(&operation, index, FaultKind::Unprocess);
                shared
                    .unprocessed_entries
                    .fetch_add(split.count, Ordering::Relaxed);
                let answer = answer_held(&operation, Map::new(), split.held);
                return respond(StatusCode::OK, JSON_1_0, answer.to_string());
            }
            (Some(split), Some(request)) => {
                body = Bytes::from(serde_json::to_vec(request).unwrap_or_default());
                units = units_of(&operation, request);
                held = Some(split);
            }
            // Nothing to hold back (an empty or unreadable batch): no fault.
            _ => kind = None,
        }
    }

    // Admission: both buckets, or neither (a statement batch may read and write).
    let wrote = installed
        .write
        .as_ref()
        .is_none_or(|b| lock(b).take(units.write, now));
    let admitted = wrote
        && installed
            .read
            .as_ref()
            .is_none_or(|b| lock(b).take(units.read, now));
    if !admitted {
        if wrote && let Some(b) = &installed.write {
            lock(b).refund(units.write);
        }
        shared.throttle(&operation, index, FaultKind::Capacity, units, now);
        return throttled(FaultKind::Capacity);
    }
    if let Some(k) = kind {
        shared.inject(&operation, index, k);
    }
    if let Some(split) = &held {
        shared
            .unprocessed_entries
            .fetch_add(split.count, Ordering::Relaxed);
    }
    shared
        .admitted_wcu
        .fetch_add(units.write, Ordering::Relaxed);
    shared.admitted_rcu.fetch_add(units.read, Ordering::Relaxed);
    shared.second(now, |s| {
        s.admitted_wcu += units.write;
        s.admitted_rcu += units.read;
    });

    // Forward in a task of its own, so the engine's work completes even if the client leaves.
    let upstream = tokio::spawn(forward(shared.clone(), parts, body));
    let answer = match upstream.await {
        Ok(Ok(answer)) => answer,
        Ok(Err(bad_gateway)) => return bad_gateway,
        Err(e) => {
            return respond(
                StatusCode::BAD_GATEWAY,
                "text/plain",
                format!("the fault proxy's forwarding task failed: {e}"),
            );
        }
    };
    shared.forwarded.fetch_add(1, Ordering::Relaxed);
    match kind {
        Some(FaultKind::ResetAfter) => reset(abort).await,
        Some(k @ FaultKind::ErrorAfter) => internal_error(k),
        Some(FaultKind::Garbage) => respond(
            StatusCode::OK,
            JSON_1_0,
            "<html><body><h1>502 Bad Gateway</h1></body></html>\n",
        ),
        Some(FaultKind::Stall) => {
            tokio::time::sleep(faults.stall_for).await;
            answer
        }
        _ => match held {
            Some(split) => merge_held(&operation, answer, split.held).await,
            None => answer,
        },
    }
}

/// Sends the request to the upstream and reads its whole answer.
async fn forward(
    shared: Arc<Shared>,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, Response<Full<Bytes>>> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri = format!("{}{path}", shared.upstream);
    let mut out = Request::builder().method(parts.method).uri(&uri);
    for (name, value) in &parts.headers {
        // The body may have been rewritten: the client sets its length from the body.
        if name != "host" && name != "content-length" {
            out = out.header(name, value);
        }
    }
    let out = out.body(Full::new(body)).map_err(|_| {
        respond(
            StatusCode::BAD_GATEWAY,
            "text/plain",
            format!("bad upstream URI {uri}"),
        )
    })?;
    let resp = shared.client.request(out).await.map_err(|e| {
        respond(
            StatusCode::BAD_GATEWAY,
            "text/plain",
            format!("the upstream {} did not answer: {e}", shared.upstream),
        )
    })?;
    let (mut parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| respond(StatusCode::BAD_GATEWAY, "text/plain", e.to_string()))?
        .to_bytes();
    parts.headers.remove("transfer-encoding");
    parts.headers.remove("content-length");
    Ok(Response::from_parts(parts, Full::new(bytes)))
}

/// The entries of a batch held back from the engine.
#[derive(Debug)]
struct Held {
    /// `UnprocessedItems` / `UnprocessedKeys`, per table.
    held: Map<String, Value>,
    /// How many writes or keys.
    count: u64,
    /// Whether nothing is left to forward.
    all: bool,
}

/// Removes a random non-empty subset of a batch's writes (`BatchWriteItem`) or keys
/// (`BatchGetItem`) from `request` and returns them shaped as DynamoDB reports unprocessed ones.
fn hold_back(operation: &str, request: &mut Value, rng: &mut fastrand::Rng) -> Option<Held> {
    let write = operation == "BatchWriteItem";
    let items = request.get_mut("RequestItems")?.as_object_mut()?;
    let entries_of = |v: &Value| -> usize {
        let list = if write { Some(v) } else { v.get("Keys") };
        list.and_then(Value::as_array).map_or(0, Vec::len)
    };
    let mut entries: Vec<(String, usize)> = items
        .iter()
        .flat_map(|(table, v)| (0..entries_of(v)).map(move |i| (table.clone(), i)))
        .collect();
    if entries.is_empty() {
        return None;
    }
    let total = entries.len();
    let count = rng.usize(1..=total);
    rng.shuffle(&mut entries);
    let mut chosen: HashMap<String, Vec<usize>> = HashMap::new();
    for (table, i) in entries.into_iter().take(count) {
        chosen.entry(table).or_default().push(i);
    }
    let mut held = Map::new();
    for (table, mut positions) in chosen {
        positions.sort_unstable();
        let Some(entry) = items.get_mut(&table) else {
            continue;
        };
        let list = if write {
            entry.as_array_mut()
        } else {
            entry.get_mut("Keys").and_then(Value::as_array_mut)
        };
        let Some(list) = list else { continue };
        let mut taken: Vec<Value> = positions.iter().rev().map(|&i| list.remove(i)).collect();
        taken.reverse();
        let now_empty = list.is_empty();
        let reported = if write {
            Value::Array(taken)
        } else {
            // The table's other parameters (projection, names, consistency) go with its keys.
            let mut same = entry.as_object().cloned().unwrap_or_default();
            same.insert("Keys".to_owned(), Value::Array(taken));
            Value::Object(same)
        };
        held.insert(table.clone(), reported);
        if now_empty {
            items.remove(&table);
        }
    }
    Some(Held {
        held,
        count: count as u64,
        all: count == total,
    })
}

/// The field of a batch answer that lists what was not done.
fn unprocessed_field(operation: &str) -> &'static str {
    if operation == "BatchWriteItem" {
        "UnprocessedItems"
    } else {
        "UnprocessedKeys"
    }
}

/// Adds the held-back entries to a batch answer's unprocessed ones.
fn answer_held(operation: &str, mut answer: Map<String, Value>, held: Map<String, Value>) -> Value {
    let field = unprocessed_field(operation);
    if operation == "BatchGetItem" && !answer.contains_key("Responses") {
        answer.insert("Responses".to_owned(), Value::Object(Map::new()));
    }
    let slot = answer
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    let unprocessed = slot.as_object_mut().expect("an object");
    for (table, entries) in held {
        match (unprocessed.get_mut(&table), entries) {
            (Some(Value::Array(have)), Value::Array(more)) => have.extend(more),
            (Some(Value::Object(have)), Value::Object(mut more)) => {
                let more_keys = more.remove("Keys");
                if let (Some(Value::Array(keys)), Some(Value::Array(more_keys))) =
                    (have.get_mut("Keys"), more_keys)
                {
                    keys.extend(more_keys);
                }
            }
            (_, entries) => {
                unprocessed.insert(table, entries);
            }
        }
    }
    Value::Object(answer)
}

/// The engine's answer to the forwarded part of a batch, with the held-back entries added.
async fn merge_held(
    operation: &str,
    answer: Response<Full<Bytes>>,
    held: Map<String, Value>,
) -> Response<Full<Bytes>> {
    if answer.status() != StatusCode::OK {
        return answer;
    }
    let (mut parts, body) = answer.into_parts();
    let Ok(bytes) = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes);
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Full::new(bytes));
    };
    let merged = answer_held(operation, map, held).to_string();
    // The engine's checksum was of its own body.
    parts.headers.remove("x-amz-crc32");
    Response::from_parts(parts, Full::new(Bytes::from(merged)))
}

/// Whether an operation consumes capacity units (and so its request is read).
fn consumes_capacity(operation: &str) -> bool {
    matches!(
        operation,
        "PutItem"
            | "UpdateItem"
            | "DeleteItem"
            | "BatchWriteItem"
            | "TransactWriteItems"
            | "GetItem"
            | "Query"
            | "Scan"
            | "BatchGetItem"
            | "TransactGetItems"
            | "ExecuteStatement"
            | "BatchExecuteStatement"
            | "ExecuteTransaction"
    )
}

/// The capacity units a request consumes, estimated from the request alone.
fn units_of(operation: &str, request: &Value) -> Units {
    let put = |v: &Value| v.get("Item").map_or(1, item_units);
    let write_of = |w: &Value| w.get("PutRequest").map_or(1, put);
    fn list(v: Option<&Value>) -> &[Value] {
        v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
    }
    let tables = || {
        request
            .get("RequestItems")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
    };
    let is_read = |statement: Option<&Value>| {
        statement.and_then(Value::as_str).is_some_and(|s| {
            s.trim_start()
                .get(..6)
                .is_some_and(|w| w.eq_ignore_ascii_case("select"))
        })
    };
    let statement_units = |s: &Value| {
        if is_read(s.get("Statement")) {
            Units { write: 0, read: 1 }
        } else {
            Units { write: 1, read: 0 }
        }
    };
    let sum = |all: Vec<Units>, factor: u64| Units {
        write: all.iter().map(|u| u.write).sum::<u64>() * factor,
        read: all.iter().map(|u| u.read).sum::<u64>() * factor,
    };
    match operation {
        "PutItem" => Units {
            write: put(request),
            read: 0,
        },
        "UpdateItem" | "DeleteItem" => Units { write: 1, read: 0 },
        "BatchWriteItem" => Units {
            write: tables().flat_map(|t| list(Some(t))).map(write_of).sum(),
            read: 0,
        },
        "TransactWriteItems" => Units {
            write: 2 * list(request.get("TransactItems"))
                .iter()
                .map(|t| t.get("Put").map_or(1, put))
                .sum::<u64>(),
            read: 0,
        },
        "GetItem" | "Query" | "Scan" => Units { write: 0, read: 1 },
        "BatchGetItem" => Units {
            write: 0,
            read: tables().map(|t| list(t.get("Keys")).len() as u64).sum(),
        },
        "TransactGetItems" => Units {
            write: 0,
            read: 2 * list(request.get("TransactItems")).len() as u64,
        },
        "ExecuteStatement" => statement_units(request),
        "BatchExecuteStatement" => sum(
            list(request.get("Statements"))
                .iter()
                .map(statement_units)
                .collect(),
            1,
        ),
        "ExecuteTransaction" => sum(
            list(request.get("TransactStatements"))
                .iter()
                .map(statement_units)
                .collect(),
            2,
        ),
        _ => Units::default(),
    }
}

/// Write capacity units of one item: one per started KB, at least one.
fn item_units(item: &Value) -> u64 {
    (item_size(item) as u64).div_ceil(1024).max(1)
}

/// An item's size by DynamoDB's rules (attribute names plus values), from its JSON form.
fn item_size(item: &Value) -> usize {
    item.as_object().map_or(0, |m| {
        m.iter().map(|(name, v)| name.len() + value_size(v)).sum()
    })
}

fn value_size(v: &Value) -> usize {
    let Some((tag, inner)) = v.as_object().and_then(|m| m.iter().next()) else {
        return 0;
    };
    let strings = |f: fn(&str) -> usize| {
        inner
            .as_array()
            .map_or(0, |a| a.iter().filter_map(Value::as_str).map(f).sum())
    };
    match tag.as_str() {
        "S" => inner.as_str().map_or(0, str::len),
        "N" => inner.as_str().map_or(0, number_size),
        "B" => inner.as_str().map_or(0, base64_size),
        "BOOL" | "NULL" => 1,
        "SS" => strings(str::len),
        "NS" => strings(number_size),
        "BS" => strings(base64_size),
        "L" => {
            3 + inner
                .as_array()
                .map_or(0, |a| a.iter().map(|e| 1 + value_size(e)).sum())
        }
        "M" => {
            3 + inner.as_object().map_or(0, |m| {
                m.iter().map(|(n, e)| 1 + n.len() + value_size(e)).sum()
            })
        }
        _ => 0,
    }
}

/// A number's size: about one byte per two significant digits, plus one.
fn number_size(n: &str) -> usize {
    let digits = n
        .trim_start_matches(['-', '+', '0', '.'])
        .chars()
        .take_while(|c| *c != 'e' && *c != 'E')
        .filter(char::is_ascii_digit)
        .count();
    digits.div_ceil(2) + 1
}

/// The length of the bytes a base64 string encodes.
fn base64_size(b: &str) -> usize {
    let padding = b.bytes().rev().take_while(|&c| c == b'=').count();
    (b.len() / 4 * 3).saturating_sub(padding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::SdkError;
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
        KeysAndAttributes, PutRequest, ScalarAttributeType, Select, WriteRequest,
    };

    const TABLE: &str = "faults";

    /// An embedded engine with a table, a proxy in front of it, and the raw client through it
    /// and around it (for checking what the engine holds).
    struct Rig {
        _local: LocalDynamo,
        proxy: FaultProxy,
        through: aws_sdk_dynamodb::Client,
        direct: aws_sdk_dynamodb::Client,
    }

    async fn rig(plan: FaultPlan) -> Rig {
        let local = LocalDynamo::embedded().expect("embedded engine");
        let direct = aws_sdk_dynamodb::Client::new(local.sdk_config());
        direct
            .create_table()
            .table_name(TABLE)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create table");
        let proxy = FaultProxy::in_front_of(&local, plan).expect("proxy");
        Rig {
            through: proxy.raw_client(),
            direct,
            proxy,
            _local: local,
        }
    }

    impl Rig {
        async fn put(
            &self,
            pk: &str,
        ) -> Result<(), SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError>> {
            self.through
                .put_item()
                .table_name(TABLE)
                .item("pk", AttributeValue::S(pk.to_owned()))
                .send()
                .await
                .map(|_| ())
        }

        async fn stored(&self, pk: &str) -> bool {
            self.direct
                .get_item()
                .table_name(TABLE)
                .key("pk", AttributeValue::S(pk.to_owned()))
                .consistent_read(true)
                .send()
                .await
                .expect("get item")
                .item
                .is_some()
        }

        async fn count(&self) -> i32 {
            let mut total = 0;
            let mut start = None;
            loop {
                let page = self
                    .direct
                    .scan()
                    .table_name(TABLE)
                    .select(Select::Count)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .expect("scan");
                total += page.count;
                start = page.last_evaluated_key;
                if start.is_none() {
                    return total;
                }
            }
        }
    }

    fn put_only(faults: Faults) -> FaultPlan {
        FaultPlan::new(7).operation("PutItem", faults)
    }

    fn is_connection_error<E>(e: &SdkError<E>) -> bool {
        matches!(e, SdkError::DispatchFailure(_) | SdkError::ResponseError(_))
    }

    #[tokio::test]
    async fn reset_before_fails_the_connection_and_is_not_applied() {
        let r = rig(put_only(Faults {
            reset_before: 1.0,
            ..Faults::default()
        }))
        .await;
        let e = r.put("a").await.expect_err("reset");
        assert!(is_connection_error(&e), "{e:?}");
        assert!(!r.stored("a").await);
        let s = r.proxy.stats();
        assert_eq!((s.injected(FaultKind::ResetBefore), s.forwarded), (1, 0));
    }

    #[tokio::test]
    async fn reset_after_fails_the_connection_but_is_applied() {
        let r = rig(put_only(Faults {
            reset_after: 1.0,
            ..Faults::default()
        }))
        .await;
        let e = r.put("a").await.expect_err("reset");
        assert!(is_connection_error(&e), "{e:?}");
        assert!(r.stored("a").await);
        let s = r.proxy.stats();
        assert_eq!((s.injected(FaultKind::ResetAfter), s.forwarded), (1, 1));
    }

    #[tokio::test]
    async fn error_before_is_a_500_and_not_applied_error_after_is_applied() {
        let r = rig(put_only(Faults {
            error_before: 1.0,
            ..Faults::default()
        }))
        .await;
        let e = r.put("before").await.expect_err("500");
        assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(500));
        assert!(e.into_service_error().is_internal_server_error());
        assert!(!r.stored("before").await);

        r.proxy.set_plan(put_only(Faults {
            error_after: 1.0,
            ..Faults::default()
        }));
        let e = r.put("after").await.expect_err("500");
        assert!(e.into_service_error().is_internal_server_error());
        assert!(r.stored("after").await);
        let s = r.proxy.stats();
        assert_eq!(s.injected(FaultKind::ErrorBefore), 1);
        assert_eq!(s.injected(FaultKind::ErrorAfter), 1);
        assert_eq!(s.forwarded, 1);
    }

    #[tokio::test]
    async fn throttles_are_the_sdks_throttling_errors() {
        let r = rig(put_only(Faults {
            throttle: 1.0,
            ..Faults::default()
        }))
        .await;
        let e = r.put("a").await.expect_err("throttled");
        assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(400));
        assert!(
            e.into_service_error()
                .is_provisioned_throughput_exceeded_exception()
        );
        r.proxy.set_plan(put_only(Faults {
            throttling_exception: 1.0,
            ..Faults::default()
        }));
        let e = r.put("a").await.expect_err("throttled");
        assert!(e.into_service_error().is_throttling_exception());
        assert!(!r.stored("a").await);
        let s = r.proxy.stats();
        assert_eq!(s.injected(FaultKind::Throttle), 1);
        assert_eq!(s.injected(FaultKind::ThrottlingException), 1);
        assert_eq!(s.forwarded, 0);
        let seconds = r.proxy.per_second();
        assert_eq!(seconds.iter().map(|s| s.throttled_requests).sum::<u64>(), 2);
        assert_eq!(seconds.iter().map(|s| s.throttled_wcu).sum::<u64>(), 2);
    }

    fn write(pk: String) -> WriteRequest {
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .item("pk", AttributeValue::S(pk))
                    .build()
                    .unwrap(),
            )
            .build()
    }

    fn pk_of(item: &HashMap<String, AttributeValue>) -> String {
        item["pk"].as_s().unwrap().clone()
    }

    #[tokio::test]
    async fn unprocessed_items_are_exactly_what_the_table_lacks() {
        let r = rig(FaultPlan::new(3).operation(
            "DynamoDB_20120810.BatchWriteItem",
            Faults {
                unprocess: 1.0,
                ..Faults::default()
            },
        ))
        .await;
        let mut held_total = 0;
        for round in 0..8 {
            let pks: Vec<String> = (0..25).map(|i| format!("r{round}-{i}")).collect();
            let out = r
                .through
                .batch_write_item()
                .request_items(TABLE, pks.iter().cloned().map(write).collect())
                .send()
                .await
                .expect("batch write");
            let held: Vec<String> = out
                .unprocessed_items
                .unwrap_or_default()
                .remove(TABLE)
                .unwrap_or_default()
                .iter()
                .map(|w| pk_of(&w.put_request.as_ref().unwrap().item))
                .collect();
            assert!(!held.is_empty(), "every batch holds something back");
            for pk in &pks {
                assert_eq!(r.stored(pk).await, !held.contains(pk), "{pk}");
            }
            held_total += held.len();
        }
        assert_eq!(r.proxy.stats().unprocessed_entries, held_total as u64);
        assert_eq!(r.count().await as usize, 8 * 25 - held_total);
    }

    #[tokio::test]
    async fn unprocessed_keys_are_exactly_what_the_answer_lacks() {
        let r = rig(FaultPlan::new(5).operation(
            "BatchGetItem",
            Faults {
                unprocess: 1.0,
                ..Faults::default()
            },
        ))
        .await;
        let pks: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        for chunk in pks.chunks(20) {
            r.direct
                .batch_write_item()
                .request_items(TABLE, chunk.iter().cloned().map(write).collect())
                .send()
                .await
                .expect("seed");
        }
        for round in 0..6 {
            let keys = pks
                .iter()
                .map(|pk| HashMap::from([("pk".to_owned(), AttributeValue::S(pk.clone()))]))
                .collect::<Vec<_>>();
            let out = r
                .through
                .batch_get_item()
                .request_items(
                    TABLE,
                    KeysAndAttributes::builder()
                        .set_keys(Some(keys))
                        .consistent_read(true)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .expect("batch get");
            let mut got: Vec<String> = out
                .responses
                .unwrap_or_default()
                .remove(TABLE)
                .unwrap_or_default()
                .iter()
                .map(pk_of)
                .collect();
            let unprocessed = out
                .unprocessed_keys
                .unwrap_or_default()
                .remove(TABLE)
                .expect("something held back");
            assert_eq!(unprocessed.consistent_read, Some(true), "round {round}");
            got.extend(unprocessed.keys.iter().map(pk_of));
            got.sort();
            let mut want = pks.clone();
            want.sort();
            assert_eq!(
                got, want,
                "answered and unprocessed are the request, once each"
            );
        }
    }

    #[tokio::test]
    async fn stalls_time_out_the_client_forwarded_or_not() {
        let plan = FaultPlan::new(1)
            .operation(
                "PutItem",
                Faults {
                    stall: 1.0,
                    stall_for: Duration::from_secs(5),
                    stall_forwards: true,
                    ..Faults::default()
                },
            )
            .operation(
                "DeleteItem",
                Faults {
                    stall: 1.0,
                    stall_for: Duration::from_secs(5),
                    ..Faults::default()
                },
            );
        let r = rig(plan).await;
        r.direct
            .put_item()
            .table_name(TABLE)
            .item("pk", AttributeValue::S("kept".into()))
            .send()
            .await
            .unwrap();
        let impatient = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(r.proxy.sdk_config())
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
                .timeout_config(
                    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                        .operation_timeout(Duration::from_secs(1))
                        .build(),
                )
                .build(),
        );
        let started = Instant::now();
        let put = impatient
            .put_item()
            .table_name(TABLE)
            .item("pk", AttributeValue::S("stalled".into()))
            .send();
        let delete = impatient
            .delete_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S("kept".into()))
            .send();
        let (put, delete) = tokio::join!(put, delete);
        assert!(matches!(put, Err(SdkError::TimeoutError(_))), "{put:?}");
        assert!(
            matches!(delete, Err(SdkError::TimeoutError(_))),
            "{delete:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(
            r.stored("stalled").await,
            "a forwarding stall applies the write"
        );
        assert!(
            r.stored("kept").await,
            "a stall that does not forward applies nothing"
        );
        assert_eq!(r.proxy.stats().injected(FaultKind::Stall), 2);
    }

    #[tokio::test]
    async fn garbage_is_an_unparsable_answer_to_an_applied_write() {
        let r = rig(put_only(Faults {
            garbage: 1.0,
            ..Faults::default()
        }))
        .await;
        let e = r.put("a").await.expect_err("unparsable");
        assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(200));
        match &e {
            SdkError::ServiceError(s) => {
                assert!(
                    s.err().meta().code().is_none(),
                    "not a modeled error: {e:?}"
                )
            }
            SdkError::ResponseError(_) => {}
            other => panic!("expected an unparsable response, got {other:?}"),
        }
        assert!(r.stored("a").await);
        assert_eq!(r.proxy.stats().injected(FaultKind::Garbage), 1);
    }

    #[tokio::test]
    async fn storms_throttle_everything_for_their_window() {
        let r = rig(FaultPlan::new(0).storm(Duration::ZERO, Duration::from_millis(400))).await;
        let e = r.put("a").await.expect_err("storm");
        assert!(
            e.into_service_error()
                .is_provisioned_throughput_exceeded_exception()
        );
        tokio::time::sleep(Duration::from_millis(450)).await;
        r.put("a").await.expect("after the storm");

        r.proxy.throttle_all(true);
        let e = r
            .through
            .get_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S("a".into()))
            .send()
            .await
            .expect_err("switched storm");
        assert!(
            e.into_service_error()
                .is_provisioned_throughput_exceeded_exception()
        );
        r.proxy.throttle_all(false);
        r.put("b").await.expect("storm switched off");
        let s = r.proxy.stats();
        assert_eq!((s.injected(FaultKind::Storm), s.forwarded), (2, 2));
    }

    #[tokio::test]
    async fn admission_holds_the_write_rate_and_sustains_it() {
        const RATE: f64 = 500.0;
        const BURST: f64 = 250.0;
        let r = rig(FaultPlan::new(0).write_capacity(RATE, BURST)).await;
        let run = Duration::from_millis(3200);
        let started = Instant::now();
        let writers = (0..8).map(|w| {
            let client = r.through.clone();
            tokio::spawn(async move {
                let mut written = 0u64;
                let mut n = 0;
                while started.elapsed() < run {
                    let batch: Vec<WriteRequest> =
                        (0..25).map(|i| write(format!("w{w}-{n}-{i}"))).collect();
                    match client
                        .batch_write_item()
                        .request_items(TABLE, batch)
                        .send()
                        .await
                    {
                        Ok(_) => {
                            written += 25;
                            n += 1;
                        }
                        Err(e) => {
                            assert!(
                                e.into_service_error()
                                    .is_provisioned_throughput_exceeded_exception()
                            );
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                    }
                }
                written
            })
        });
        let mut written = 0;
        for w in writers.collect::<Vec<_>>() {
            written += w.await.unwrap();
        }
        let seconds = r.proxy.per_second();
        for s in &seconds {
            assert!(s.admitted_wcu as f64 <= RATE + BURST, "{s:?}");
        }
        // Seconds 1 and 2 are whole seconds past the burst.
        for s in &seconds[1..3] {
            assert!(s.admitted_wcu as f64 >= 0.85 * RATE, "{s:?}");
            assert!(s.throttled_requests > 0, "{s:?}");
        }
        let stats = r.proxy.stats();
        assert_eq!(stats.admitted_wcu, written);
        assert!(stats.injected(FaultKind::Capacity) > 0);
        assert_eq!(r.count().await as u64, written);
    }

    /// Sends 40 puts one at a time and returns what each got.
    async fn outcomes(seed: u64) -> (Vec<String>, Vec<Injection>, usize) {
        let r = rig(FaultPlan::new(seed).all(Faults {
            reset_before: 0.1,
            reset_after: 0.1,
            error_before: 0.1,
            throttle: 0.1,
            garbage: 0.1,
            ..Faults::default()
        }))
        .await;
        let mut got = Vec::new();
        for i in 0..40 {
            got.push(match r.put(&format!("p{i}")).await {
                Ok(()) => "ok".to_owned(),
                Err(SdkError::ServiceError(s)) => {
                    s.err().meta().code().unwrap_or("unparsable").to_owned()
                }
                Err(_) => "connection".to_owned(),
            });
        }
        (got, r.proxy.injections(), r.count().await as usize)
    }

    #[tokio::test]
    async fn the_same_seed_injects_the_same_faults() {
        let (a, b, c) = tokio::join!(outcomes(11), outcomes(11), outcomes(12));
        assert_eq!(a, b);
        assert_ne!(a.0, c.0);
        assert!(a.1.len() > 5 && a.1.len() < 35, "{:?}", a.1);
        assert!(a.0.iter().any(|o| o == "connection"));
        assert!(
            a.0.iter()
                .any(|o| o == "ProvisionedThroughputExceededException")
        );
    }

    #[tokio::test]
    async fn many_concurrent_writers_get_every_item_in_despite_faults() {
        let r = rig(FaultPlan::new(9).operation(
            "BatchWriteItem",
            Faults {
                reset_before: 0.05,
                error_before: 0.05,
                throttle: 0.05,
                unprocess: 0.3,
                ..Faults::default()
            },
        ))
        .await;
        let tasks = (0..16).map(|t| {
            let client = r.through.clone();
            tokio::spawn(async move {
                for b in 0..25 {
                    let mut pending: Vec<WriteRequest> =
                        (0..25).map(|i| write(format!("t{t}-{b}-{i}"))).collect();
                    while !pending.is_empty() {
                        // A failed request is sent again whole; none of these faults applied it.
                        if let Ok(out) = client
                            .batch_write_item()
                            .request_items(TABLE, pending.clone())
                            .send()
                            .await
                        {
                            pending = out
                                .unprocessed_items
                                .unwrap_or_default()
                                .remove(TABLE)
                                .unwrap_or_default();
                        }
                    }
                }
            })
        });
        for t in tasks.collect::<Vec<_>>() {
            t.await.unwrap();
        }
        assert_eq!(r.count().await, 16 * 25 * 25);
        let s = r.proxy.stats();
        assert!(s.unprocessed_entries > 0 && s.injected(FaultKind::ResetBefore) > 0);
        // Every request was forwarded, or refused by a fault that does not forward, or held back
        // whole (an unprocess fault that forwarded nothing).
        let refused = s.injected(FaultKind::ResetBefore)
            + s.injected(FaultKind::ErrorBefore)
            + s.injected(FaultKind::Throttle);
        assert!(s.requests >= s.forwarded + refused, "{s:?}");
        assert!(
            s.requests <= s.forwarded + refused + s.injected(FaultKind::Unprocess),
            "{s:?}"
        );
    }

    #[test]
    fn decisions_follow_the_rates_and_the_seed() {
        let faults = Faults {
            reset_before: 0.2,
            throttle: 0.3,
            unprocess: 0.1,
            ..Faults::default()
        };
        let pick = |seed, op: &str, batch| -> Vec<Option<FaultKind>> {
            (0..2000)
                .map(|i| {
                    let mut rng = fastrand::Rng::with_seed(request_seed(seed, op, i));
                    faults.draw(rng.f64(), batch)
                })
                .collect()
        };
        let a = pick(1, "BatchWriteItem", true);
        assert_eq!(a, pick(1, "BatchWriteItem", true));
        assert_ne!(a, pick(2, "BatchWriteItem", true));
        assert_ne!(a, pick(1, "BatchGetItem", true));
        let share = |k| a.iter().filter(|x| **x == Some(k)).count() as f64 / 2000.0;
        assert!((share(FaultKind::ResetBefore) - 0.2).abs() < 0.04);
        assert!((share(FaultKind::Throttle) - 0.3).abs() < 0.04);
        assert!((share(FaultKind::Unprocess) - 0.1).abs() < 0.03);
        assert!(!pick(1, "PutItem", false).contains(&Some(FaultKind::Unprocess)));
    }

    #[test]
    fn capacity_units_follow_dynamodbs_size_rules() {
        let item =
            |pad: usize| serde_json::json!({"pk": {"S": "a"}, "pad": {"S": "x".repeat(pad)}});
        // "pk" + "a" + "pad" = 6 bytes of overhead.
        assert_eq!(item_size(&item(10)), 16);
        assert_eq!(item_units(&item(1018)), 1);
        assert_eq!(item_units(&item(1019)), 2);
        let put = serde_json::json!({"TableName": "t", "Item": item(3000)});
        assert_eq!(units_of("PutItem", &put), Units { write: 3, read: 0 });
        let batch = serde_json::json!({"RequestItems": {
            "t": [{"PutRequest": {"Item": item(10)}}, {"DeleteRequest": {"Key": item(0)}}],
            "u": [{"PutRequest": {"Item": item(2000)}}],
        }});
        assert_eq!(units_of("BatchWriteItem", &batch).write, 4);
        let get = serde_json::json!({"RequestItems": {"t": {"Keys": [item(0), item(0)]}}});
        assert_eq!(units_of("BatchGetItem", &get), Units { write: 0, read: 2 });
        assert_eq!(number_size("-123.45"), 4);
        assert_eq!(base64_size("AAEC"), 3);
        assert_eq!(
            value_size(&serde_json::json!({"L": [{"BOOL": true}, {"NULL": true}]})),
            7
        );
    }

    #[test]
    fn a_bucket_admits_its_rate_plus_burst_and_big_requests_eventually() {
        let t0 = Instant::now();
        let mut b = Bucket::new(
            Capacity {
                per_second: 100.0,
                burst: 50.0,
            },
            t0,
        );
        assert!(b.take(50, t0));
        assert!(!b.take(1, t0));
        assert!(b.take(10, t0 + Duration::from_millis(100)));
        assert!(!b.take(5, t0 + Duration::from_millis(100)));
        // Larger than the bucket: admitted once it is full, leaving it in debt.
        assert!(!b.take(80, t0 + Duration::from_millis(200)));
        assert!(b.take(80, t0 + Duration::from_millis(700)));
        assert!(!b.take(1, t0 + Duration::from_millis(800)));
    }
}
