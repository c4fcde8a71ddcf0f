//! The client: configuration over aws-config, and the entry to the one send path.

use crate::error::Result;
use crate::layers::{self, Resilience, Shared};
use crate::observe::{Metrics, Observability, Observe, Registry};
use crate::send::Operation;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::interceptors::Intercept as _;
use dynox_iam::Mapping;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A DynamoDB client. Cheap to clone: clones share one connection pool, service stack, retry
/// budget and rate limiter.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    sdk: aws_sdk_dynamodb::Client,
    /// The DynamoDB Streams client: same credentials, region, endpoint, HTTP client and
    /// timeouts; its own retries off as well (`streams.rs` retries with the client's policy).
    /// `None` for a client made with [`Client::from_sdk`] (an SDK client does not expose its
    /// credentials or endpoint) until [`Client::with_streams_sdk`] gives one.
    streams: Option<aws_sdk_dynamodbstreams::Client>,
    /// The S3 client of S3-backed fields (`s3.rs`): made like the streams client, or given by
    /// [`Client::with_s3`]; its retries off too.
    s3: Option<aws_sdk_s3::Client>,
    /// What the layers share: their configuration, the retry budget, the limiter's buckets.
    shared: Arc<Shared>,
    /// The send path: the observing part around the layers (`layers::stack`); it holds the
    /// figures' registry, shared by clones and derived clients.
    stack: Observe,
    encryptor: Option<Arc<dynox_encryption::kms::Encryptor>>,
    mapping: Arc<Mapping>,
    cursor_keys: Option<Arc<crate::query::CursorKeys>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("region", &self.inner.sdk.config().region())
            .field("resilience", &self.inner.shared.config)
            .finish_non_exhaustive()
    }
}

/// The SDK client dynox sends with: its own retries switched off (dynox's retry layer owns
/// every attempt, so none is repeated by a layer that cannot tell whether that is safe), and
/// dynox's connect timeout — unless the SDK's configuration has its own and `replace` is false.
fn sdk_for_dynox(
    sdk: &aws_sdk_dynamodb::Client,
    connect: Option<Duration>,
    replace: bool,
) -> aws_sdk_dynamodb::Client {
    let config = sdk.config();
    let mut timeouts = config
        .timeout_config()
        .cloned()
        .unwrap_or_else(TimeoutConfig::disabled)
        .to_builder();
    let has_own = config
        .timeout_config()
        .and_then(|t| t.connect_timeout())
        .is_some();
    if replace || !has_own {
        timeouts.set_connect_timeout(connect);
    }
    let mut builder = config
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts.build());
    // Once: a client made from a dynox client's SDK already carries it.
    let wire = crate::observe::wire::Wire;
    if !config.interceptors().any(|i| i.name() == wire.name()) {
        builder = builder.interceptor(wire);
    }
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}

/// The streams client over `base` (its credentials, region and endpoint), with the DynamoDB
/// client's timeouts and without retries of its own.
fn streams_for_dynox(
    mut base: aws_sdk_dynamodbstreams::config::Builder,
    sdk: &aws_sdk_dynamodb::Client,
) -> aws_sdk_dynamodbstreams::Client {
    let config = sdk.config();
    base.set_timeout_config(config.timeout_config().cloned());
    base.set_retry_config(Some(RetryConfig::disabled()));
    aws_sdk_dynamodbstreams::Client::from_conf(base.build())
}

/// The S3 client over `base`, with the DynamoDB client's timeouts and without retries of its own.
fn s3_for_dynox(
    mut base: aws_sdk_s3::config::Builder,
    sdk: &aws_sdk_dynamodb::Client,
) -> aws_sdk_s3::Client {
    base.set_timeout_config(sdk.config().timeout_config().cloned());
    base.set_retry_config(Some(RetryConfig::disabled()));
    aws_sdk_s3::Client::from_conf(base.build())
}

impl Client {
    /// A client from a loaded AWS configuration (credentials chain, region, endpoint).
    pub fn new(config: &SdkConfig) -> Client {
        Client::with_parts(
            aws_sdk_dynamodb::Client::new(config),
            Resilience::default(),
            Some(config),
        )
    }

    /// A client around an SDK client that is already configured. Its retry settings are
    /// ignored: dynox's [`RetryPolicy`](crate::layers::RetryPolicy) owns attempts.
    /// To read DynamoDB Streams too, give it a streams client with
    /// [`Client::with_streams_sdk`] (the SDK client does not expose its credentials or
    /// endpoint to make one from); [`Client::new`] and the builder make both.
    pub fn from_sdk(sdk: aws_sdk_dynamodb::Client) -> Client {
        Client::with_parts(sdk, Resilience::default(), None)
    }

    fn with_parts(
        sdk: aws_sdk_dynamodb::Client,
        resilience: Resilience,
        config: Option<&SdkConfig>,
    ) -> Client {
        let sdk = sdk_for_dynox(&sdk, resilience.timeouts.connect, false);
        let streams = config
            .map(|c| streams_for_dynox(aws_sdk_dynamodbstreams::config::Builder::from(c), &sdk));
        let s3 = config.map(|c| s3_for_dynox(aws_sdk_s3::config::Builder::from(c), &sdk));
        let mapping = Arc::new(Mapping::default());
        let shared = Shared::new(resilience);
        let registry = Registry::new(Observability::default());
        Client {
            inner: Arc::new(Inner {
                stack: Observe::new(
                    layers::stack(&shared, layers::core(&mapping)),
                    registry,
                    mapping.clone(),
                    None,
                ),
                sdk,
                streams,
                s3,
                shared,
                encryptor: None,
                mapping,
                cursor_keys: None,
            }),
        }
    }

    /// This client with other parts; the layers' shared state is kept.
    fn derive(
        &self,
        encryptor: Option<Arc<dynox_encryption::kms::Encryptor>>,
        mapping: Arc<Mapping>,
        cursor_keys: Option<Arc<crate::query::CursorKeys>>,
    ) -> Client {
        Client {
            inner: Arc::new(Inner {
                sdk: self.inner.sdk.clone(),
                streams: self.inner.streams.clone(),
                s3: self.inner.s3.clone(),
                shared: self.inner.shared.clone(),
                stack: self.observe_with(&self.inner.shared, &mapping),
                encryptor,
                mapping,
                cursor_keys,
            }),
        }
    }

    /// This client, with retries, timeouts, rate limits, hot-partition detection and load
    /// shedding set by `resilience` (a fresh retry budget and fresh buckets).
    pub fn with_resilience(&self, resilience: Resilience) -> Client {
        let sdk = sdk_for_dynox(&self.inner.sdk, resilience.timeouts.connect, true);
        let shared = Shared::new(resilience);
        Client {
            inner: Arc::new(Inner {
                stack: self.observe_with(&shared, &self.inner.mapping),
                streams: self
                    .inner
                    .streams
                    .as_ref()
                    .map(|s| streams_for_dynox(s.config().to_builder(), &sdk)),
                s3: self
                    .inner
                    .s3
                    .as_ref()
                    .map(|s| s3_for_dynox(s.config().to_builder(), &sdk)),
                sdk,
                shared,
                encryptor: self.inner.encryptor.clone(),
                mapping: self.inner.mapping.clone(),
                cursor_keys: self.inner.cursor_keys.clone(),
            }),
        }
    }

    /// The observing part of the send path over fresh layers: same figures, same correlation.
    fn observe_with(&self, shared: &Arc<Shared>, mapping: &Arc<Mapping>) -> Observe {
        Observe::new(
            layers::stack(shared, layers::core(mapping)),
            self.inner.stack.registry().clone(),
            mapping.clone(),
            self.inner.stack.correlation().cloned(),
        )
    }

    /// This client, recording what `observability` asks for (with fresh figures).
    pub fn with_observability(&self, observability: Observability) -> Client {
        self.with_observe(Observe::new(
            layers::stack(&self.inner.shared, layers::core(&self.inner.mapping)),
            Registry::new(observability),
            self.inner.mapping.clone(),
            self.inner.stack.correlation().cloned(),
        ))
    }

    /// This client, putting `id` on every span and event of its requests as
    /// `dynox.correlation_id` (a call can give its own: [`observe::with_correlation_id`]).
    ///
    /// [`observe::with_correlation_id`]: crate::observe::with_correlation_id
    pub fn with_correlation_id(&self, id: impl Into<Arc<str>>) -> Client {
        self.with_observe(Observe::new(
            layers::stack(&self.inner.shared, layers::core(&self.inner.mapping)),
            self.inner.stack.registry().clone(),
            self.inner.mapping.clone(),
            Some(id.into()),
        ))
    }

    fn with_observe(&self, stack: Observe) -> Client {
        Client {
            inner: Arc::new(Inner {
                sdk: self.inner.sdk.clone(),
                streams: self.inner.streams.clone(),
                s3: self.inner.s3.clone(),
                shared: self.inner.shared.clone(),
                stack,
                encryptor: self.inner.encryptor.clone(),
                mapping: self.inner.mapping.clone(),
                cursor_keys: self.inner.cursor_keys.clone(),
            }),
        }
    }

    /// What this client and its clones sent so far: figures per table, operation and model.
    pub fn metrics(&self) -> Metrics {
        self.inner.stack.registry().metrics()
    }

    /// The observability settings in force.
    pub fn observability(&self) -> &Observability {
        self.inner.stack.registry().config()
    }

    pub(crate) fn observe(&self) -> &Observe {
        &self.inner.stack
    }

    /// The resilience settings in force.
    pub fn resilience(&self) -> &Resilience {
        &self.inner.shared.config
    }

    /// The retry budget's tokens left (`None` when the policy has no budget).
    pub fn retry_budget(&self) -> Option<u32> {
        self.inner.shared.budget.available()
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// What the rate limiter's buckets are doing: rate, tokens, consumption, throttles, waits
    /// (empty without rate limits).
    pub fn rate_limits(&self) -> Vec<crate::layers::BucketState> {
        self.inner
            .shared
            .limiter
            .as_ref()
            .map(|l| l.state())
            .unwrap_or_default()
    }

    /// Whether the client is shedding load now (failing fast while everything is throttled),
    /// and how many requests it refused so far.
    pub fn shedding(&self) -> (bool, u32) {
        let s = &self.inner.shared.shed;
        (s.is_shedding(), s.refused())
    }

    /// This client, encrypting and decrypting model fields declared `encrypted(...)` with
    /// `encryptor` (share one: its caches make bulk writes cheap).
    pub fn with_encryptor(&self, encryptor: Arc<dynox_encryption::kms::Encryptor>) -> Client {
        self.derive(
            Some(encryptor),
            self.inner.mapping.clone(),
            self.inner.cursor_keys.clone(),
        )
    }

    /// This client, sending every logical table name as the deployed name `mapping` gives it
    /// (and reading answers back under logical names). Use the mapping the policy was exported
    /// with, e.g. [`Mapping::from_env`] for `DYNOX_IAM_CONFIG` / `DYNOX_TABLE_PREFIX`. A mapping
    /// with KMS keys needs an encryptor given the same mapping
    /// ([`Encryptor::with_mapping`](dynox_encryption::kms::Encryptor::with_mapping)); encrypted
    /// fields fail with a clear error otherwise.
    pub fn with_mapping(&self, mapping: Mapping) -> Client {
        self.derive(
            self.inner.encryptor.clone(),
            Arc::new(mapping),
            self.inner.cursor_keys.clone(),
        )
    }

    pub(crate) fn with_cursor_keys_arc(&self, keys: Arc<crate::query::CursorKeys>) -> Client {
        self.derive(
            self.inner.encryptor.clone(),
            self.inner.mapping.clone(),
            Some(keys),
        )
    }

    /// The keys that sign cursor tokens, if [`Client::with_cursor_keys`] set them.
    pub fn cursor_keys(&self) -> Option<&crate::query::CursorKeys> {
        self.inner.cursor_keys.as_deref()
    }

    /// The table-name mapping in use (the identity unless [`Client::with_mapping`] set one).
    pub fn mapping(&self) -> &Mapping {
        &self.inner.mapping
    }

    /// The encryptor, if one is configured.
    pub fn encryptor(&self) -> Option<&dynox_encryption::kms::Encryptor> {
        self.inner.encryptor.as_deref()
    }

    /// A builder for what is usually set by hand: region, profile, endpoint, credentials,
    /// AssumeRole, timeouts and retries. Everything else comes from aws-config's usual chain.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// This client, reading DynamoDB Streams with `streams` (its retries are switched off:
    /// the client's retry policy owns attempts).
    pub fn with_streams_sdk(&self, streams: aws_sdk_dynamodbstreams::Client) -> Client {
        Client {
            inner: Arc::new(Inner {
                sdk: self.inner.sdk.clone(),
                streams: Some(streams_for_dynox(
                    streams.config().to_builder(),
                    &self.inner.sdk,
                )),
                s3: self.inner.s3.clone(),
                shared: self.inner.shared.clone(),
                stack: self.observe_with(&self.inner.shared, &self.inner.mapping),
                encryptor: self.inner.encryptor.clone(),
                mapping: self.inner.mapping.clone(),
                cursor_keys: self.inner.cursor_keys.clone(),
            }),
        }
    }

    /// This client, storing the objects of S3-backed fields with `s3` (its retries are switched
    /// off: the client's retry policy owns attempts). [`Client::new`] and the builder make one
    /// from the same configuration; a client from [`Client::from_sdk`] needs this to use S3.
    pub fn with_s3(&self, s3: aws_sdk_s3::Client) -> Client {
        Client {
            inner: Arc::new(Inner {
                sdk: self.inner.sdk.clone(),
                streams: self.inner.streams.clone(),
                s3: Some(s3_for_dynox(s3.config().to_builder(), &self.inner.sdk)),
                shared: self.inner.shared.clone(),
                stack: self.observe_with(&self.inner.shared, &self.inner.mapping),
                encryptor: self.inner.encryptor.clone(),
                mapping: self.inner.mapping.clone(),
                cursor_keys: self.inner.cursor_keys.clone(),
            }),
        }
    }

    /// The observing part of the send path, for requests sent outside the stack (`outside.rs`).
    pub(crate) fn observer(&self) -> &Observe {
        &self.inner.stack
    }

    /// The S3 SDK client, for building S3 requests (`s3.rs`).
    pub(crate) fn s3_sdk(&self) -> Result<&aws_sdk_s3::Client> {
        self.inner.s3.as_ref().ok_or_else(|| {
            crate::Error::validation(
                "this client was made with Client::from_sdk and has no S3 client: give it one \
                 with Client::with_s3",
            )
        })
    }

    /// The DynamoDB Streams SDK client, for building streams requests (`streams.rs`).
    pub(crate) fn streams_sdk(&self) -> Result<aws_sdk_dynamodbstreams::Client> {
        self.inner.streams.clone().ok_or_else(|| {
            crate::Error::validation(
                "this client was made with Client::from_sdk and has no DynamoDB Streams client: \
                 give it one with Client::with_streams_sdk",
            )
        })
    }

    /// The SDK client, for building requests. Requests must still leave through [`Client::send`].
    pub(crate) fn sdk(&self) -> &aws_sdk_dynamodb::Client {
        &self.inner.sdk
    }

    /// Sends one request through the client's service stack.
    pub(crate) async fn send<O: Operation>(&self, op: O) -> Result<O::Output> {
        self.send_for("", op).await
    }

    /// Runs `fut` (encoding or decoding values of `model`) counting its KMS calls for the
    /// model's figures.
    pub(crate) async fn kms_for<F: std::future::Future>(
        &self,
        model: &'static str,
        fut: F,
    ) -> F::Output {
        if self.encryptor().is_none() || !self.observability().keeps_metrics() {
            return fut.await;
        }
        let (out, kms) = dynox_encryption::kms::measure(fut).await;
        self.observe().registry().add_kms(model, &kms);
        out
    }

    /// Sends one request on behalf of model `model` (its `Model::NAME`, for the figures).
    pub(crate) async fn send_for<O: Operation>(
        &self,
        model: &'static str,
        op: O,
    ) -> Result<O::Output> {
        self.send_keyed(model, &[], op).await
    }

    /// [`send_for`](Client::send_for) for a request on one item whose key attributes are
    /// `key_names` (needed only for a `PutItem`, whose item holds more than its key). An error
    /// names the operation, the table (logical and deployed) and the item's key.
    pub(crate) async fn send_keyed<O: Operation>(
        &self,
        model: &'static str,
        key_names: &[&str],
        op: O,
    ) -> Result<O::Output> {
        let request = op.into_request();
        let operation = request.operation_name();
        // Kept for an error: the request itself is consumed by the send.
        let table = request.table_name().map(str::to_owned);
        let key = request.key_for_error(key_names);
        match self.inner.stack.send(request, model).await {
            Ok(response) => O::from_response(response),
            Err(e) => Err(e.in_context(|| {
                let mut ctx = crate::error::ErrorContext::new(operation);
                if let Some(t) = table {
                    let deployed = self.inner.mapping.table(&t).into_owned();
                    ctx = ctx.table(t).deployed_table(deployed);
                }
                if let Some(k) = &key {
                    ctx = ctx.key(k);
                }
                if !model.is_empty() {
                    ctx = ctx.model(model);
                }
                ctx
            })),
        }
    }
}

/// AssumeRole settings.
#[derive(Clone, Debug)]
struct AssumeRole {
    role_arn: String,
    session_name: Option<String>,
    external_id: Option<String>,
}

/// Builds a [`Client`] over aws-config. Unset values come from the environment, profile files,
/// SSO, IMDS and the rest of aws-config's default chain.
///
/// ```no_run
/// # async fn f() {
/// use std::time::Duration;
/// let client = dynox::Client::builder()
///     .region("eu-west-1")
///     .assume_role("arn:aws:iam::123456789012:role/app", Some("app"), None)
///     .connect_timeout(Duration::from_secs(2))
///     .max_attempts(5)
///     .build()
///     .await;
/// # }
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    region: Option<String>,
    profile: Option<String>,
    endpoint_url: Option<String>,
    credentials: Option<Credentials>,
    assume_role: Option<AssumeRole>,
    read_timeout: Option<Duration>,
    resilience: Resilience,
    mapping: Option<Mapping>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials are left out on purpose: they must never reach logs.
        f.debug_struct("ClientBuilder")
            .field("region", &self.region)
            .field("profile", &self.profile)
            .field("endpoint_url", &self.endpoint_url)
            .field("assume_role", &self.assume_role)
            .field("resilience", &self.resilience)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The AWS region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// A named profile from the shared config and credentials files.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// A custom DynamoDB endpoint (a local engine, a VPC endpoint), which DynamoDB Streams
    /// shares. The S3 client of S3-backed fields keeps S3's own endpoint (or
    /// `AWS_ENDPOINT_URL_S3`): a DynamoDB endpoint does not serve S3.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Static credentials instead of the default chain.
    pub fn credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        self.credentials = Some(Credentials::new(
            access_key_id,
            secret_access_key,
            session_token,
            None,
            "dynox-static",
        ));
        self
    }

    /// Assume `role_arn` with STS, starting from the credentials otherwise configured.
    pub fn assume_role(
        mut self,
        role_arn: impl Into<String>,
        session_name: Option<&str>,
        external_id: Option<&str>,
    ) -> Self {
        self.assume_role = Some(AssumeRole {
            role_arn: role_arn.into(),
            session_name: session_name.map(str::to_owned),
            external_id: external_id.map(str::to_owned),
        });
        self
    }

    /// How long to wait for a connection (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.resilience.timeouts.connect = Some(timeout);
        self
    }

    /// How long one attempt waits for the first byte of its answer (the HTTP client's read
    /// timeout; unset by default, the attempt timeout bounds the whole answer).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// How long one attempt may take (default 4 s).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.resilience.timeouts.attempt = Some(timeout);
        self
    }

    /// How long one request may take, all attempts and pauses included (default 12 s).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.resilience.timeouts.operation = Some(timeout);
        self
    }

    /// How many attempts dynox makes per request (default 4; 1 disables retries).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.resilience.retry.max_attempts = attempts.max(1);
        self
    }

    /// How failed requests are retried.
    pub fn retry(mut self, policy: crate::layers::RetryPolicy) -> Self {
        self.resilience.retry = policy;
        self
    }

    /// Retries, timeouts, rate limits, hot-partition detection and load shedding, all at once.
    pub fn resilience(mut self, resilience: Resilience) -> Self {
        self.resilience = resilience;
        self
    }

    /// Deployed table names for the logical ones (see [`Client::with_mapping`]).
    pub fn mapping(mut self, mapping: Mapping) -> Self {
        self.mapping = Some(mapping);
        self
    }

    /// Loads the configuration and builds the client.
    pub async fn build(mut self) -> Client {
        let mapping = self.mapping.take();
        let resilience = self.resilience.clone();
        let dynamodb_endpoint = self.endpoint_url.is_some();
        let config = self.load().await;
        let mut client = Client::with_parts(
            aws_sdk_dynamodb::Client::new(&config),
            resilience,
            Some(&config),
        );
        if dynamodb_endpoint {
            let mut s3 = aws_sdk_s3::config::Builder::from(&config);
            s3.set_endpoint_url(
                std::env::var("AWS_ENDPOINT_URL_S3")
                    .ok()
                    .filter(|u| !u.trim().is_empty()),
            );
            client = client.with_s3(aws_sdk_s3::Client::from_conf(s3.build()));
        }
        match mapping {
            Some(m) => client.with_mapping(m),
            None => client,
        }
    }

    /// Loads the configuration only, e.g. to share it with other AWS clients.
    pub async fn load(self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(r) = self.region {
            loader = loader.region(Region::new(r));
        }
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        if let Some(u) = self.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        if let Some(c) = self.credentials {
            loader = loader.credentials_provider(c);
        }
        // Only what the HTTP client needs: dynox's layers own attempts and their deadlines.
        let mut t = TimeoutConfig::builder();
        if let Some(d) = self.resilience.timeouts.connect {
            t = t.connect_timeout(d);
        }
        if let Some(d) = self.read_timeout {
            t = t.read_timeout(d);
        }
        loader = loader
            .timeout_config(t.build())
            .retry_config(RetryConfig::disabled());
        let config = loader.load().await;
        match self.assume_role {
            None => config,
            Some(role) => {
                let mut b = aws_config::sts::AssumeRoleProvider::builder(role.role_arn)
                    .session_name(role.session_name.unwrap_or_else(|| "dynox".to_owned()));
                if let Some(id) = role.external_id {
                    b = b.external_id(id);
                }
                let provider = b.configure(&config).build().await;
                config
                    .into_builder()
                    .credentials_provider(SharedCredentialsProvider::new(provider))
                    .build()
            }
        }
    }
}
