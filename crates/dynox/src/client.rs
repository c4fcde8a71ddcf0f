//! The client: configuration over aws-config, and the entry to the one send path.

use crate::error::Result;
use crate::rename::Rename;
use crate::send::{Dispatch, Operation, Stack};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use dynox_iam::Mapping;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

/// A DynamoDB client. Cheap to clone: clones share one connection pool and service stack.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    sdk: aws_sdk_dynamodb::Client,
    /// The stack without the mapping's renaming, so a new mapping replaces the old one.
    base: Stack,
    stack: Stack,
    encryptor: Option<Arc<dynox_encryption::kms::Encryptor>>,
    mapping: Arc<Mapping>,
    cursor_keys: Option<Arc<crate::query::CursorKeys>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("region", &self.inner.sdk.config().region())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client from a loaded AWS configuration (credentials chain, region, endpoint).
    pub fn new(config: &SdkConfig) -> Client {
        Client::from_sdk(aws_sdk_dynamodb::Client::new(config))
    }

    /// A client around an SDK client that is already configured.
    pub fn from_sdk(sdk: aws_sdk_dynamodb::Client) -> Client {
        Client {
            inner: Arc::new(Inner {
                sdk,
                base: Stack::new(Dispatch),
                stack: Stack::new(Dispatch),
                encryptor: None,
                mapping: Arc::new(Mapping::default()),
                cursor_keys: None,
            }),
        }
    }

    /// This client, encrypting and decrypting model fields declared `encrypted(...)` with
    /// `encryptor` (share one: its caches make bulk writes cheap).
    pub fn with_encryptor(&self, encryptor: Arc<dynox_encryption::kms::Encryptor>) -> Client {
        Client {
            inner: Arc::new(Inner {
                sdk: self.inner.sdk.clone(),
                base: self.inner.base.clone(),
                stack: self.inner.stack.clone(),
                encryptor: Some(encryptor),
                mapping: self.inner.mapping.clone(),
                cursor_keys: self.inner.cursor_keys.clone(),
            }),
        }
    }

    /// This client, sending every logical table name as the deployed name `mapping` gives it
    /// (and reading answers back under logical names). Use the mapping the policy was exported
    /// with, e.g. [`Mapping::from_env`] for `DYNOX_IAM_CONFIG` / `DYNOX_TABLE_PREFIX`. A mapping
    /// with KMS keys needs an encryptor given the same mapping
    /// ([`Encryptor::with_mapping`](dynox_encryption::kms::Encryptor::with_mapping)); encrypted
    /// fields fail with a clear error otherwise.
    pub fn with_mapping(&self, mapping: Mapping) -> Client {
        let mapping = Arc::new(mapping);
        let base = self.inner.base.clone();
        let stack = if mapping.is_identity() {
            base.clone()
        } else {
            Stack::new(Rename::new(mapping.clone(), base.clone()))
        };
        Client {
            inner: Arc::new(Inner {
                sdk: self.inner.sdk.clone(),
                base,
                stack,
                encryptor: self.inner.encryptor.clone(),
                mapping,
                cursor_keys: self.inner.cursor_keys.clone(),
            }),
        }
    }

    pub(crate) fn with_cursor_keys_arc(&self, keys: Arc<crate::query::CursorKeys>) -> Client {
        Client {
            inner: Arc::new(Inner {
                sdk: self.inner.sdk.clone(),
                base: self.inner.base.clone(),
                stack: self.inner.stack.clone(),
                encryptor: self.inner.encryptor.clone(),
                mapping: self.inner.mapping.clone(),
                cursor_keys: Some(keys),
            }),
        }
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
    /// AssumeRole, timeouts and attempts. Everything else comes from aws-config's usual chain.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The SDK client, for building requests. Requests must still leave through [`Client::send`].
    pub(crate) fn sdk(&self) -> &aws_sdk_dynamodb::Client {
        &self.inner.sdk
    }

    /// Sends one request through the client's service stack.
    pub(crate) async fn send<O: Operation>(&self, op: O) -> Result<O::Output> {
        let response = self.inner.stack.clone().oneshot(op.into_request()).await?;
        O::from_response(response)
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
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    operation_timeout: Option<Duration>,
    max_attempts: Option<u32>,
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
            .field("max_attempts", &self.max_attempts)
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

    /// A custom endpoint (a local engine, a VPC endpoint).
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

    /// How long to wait for a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long to wait for the first byte of a response.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// How long one operation may take, all attempts included.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = Some(timeout);
        self
    }

    /// How many attempts the SDK makes per request (1 disables retries).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
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
        let client = Client::new(&self.load().await);
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
        if self.connect_timeout.is_some()
            || self.read_timeout.is_some()
            || self.operation_timeout.is_some()
        {
            let mut t = TimeoutConfig::builder();
            if let Some(d) = self.connect_timeout {
                t = t.connect_timeout(d);
            }
            if let Some(d) = self.read_timeout {
                t = t.read_timeout(d);
            }
            if let Some(d) = self.operation_timeout {
                t = t.operation_timeout(d);
            }
            loader = loader.timeout_config(t.build());
        }
        if let Some(n) = self.max_attempts {
            loader = loader.retry_config(RetryConfig::standard().with_max_attempts(n.max(1)));
        }
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
