//! Local backends for dynox's tests, demos and users' own tests.
//!
//! [`LocalDynamo`] serves dynoxide's embedded DynamoDB-compatible engine over HTTP on
//! `127.0.0.1:0`, with a fresh in-memory database per instance, so tests exercise the real AWS SDK
//! code path with zero setup. Setting `DYNOX_ENDPOINT` (or the standard
//! `AWS_ENDPOINT_URL_DYNAMODB`) points every instance at that endpoint instead: real AWS or any
//! emulator.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let local = dynox_testing::LocalDynamo::start().await?;
//! let client = local.client();
//! # Ok(()) }
//! ```

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials as _, SharedCredentialsProvider};
use dynox::Model;
use std::fmt;
use std::time::Duration;

/// The environment variables that point the local backend at an external endpoint, in order.
pub const ENDPOINT_VARIABLES: [&str; 2] = ["DYNOX_ENDPOINT", "AWS_ENDPOINT_URL_DYNAMODB"];

/// Why the local backend could not start.
#[derive(Debug)]
pub enum StartError {
    /// Binding the loopback port or starting the server thread failed.
    Io(std::io::Error),
    /// The embedded engine could not open its database.
    Engine(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Io(e) => write!(f, "cannot start the embedded DynamoDB server: {e}"),
            StartError::Engine(e) => write!(f, "the embedded DynamoDB engine failed: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Io(e) => Some(e),
            StartError::Engine(_) => None,
        }
    }
}

/// A DynamoDB endpoint for tests: the embedded engine, or the endpoint from the environment.
///
/// Dropping it stops the embedded server.
pub struct LocalDynamo {
    endpoint: String,
    config: SdkConfig,
    embedded: bool,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl fmt::Debug for LocalDynamo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalDynamo")
            .field("endpoint", &self.endpoint)
            .field("embedded", &self.embedded)
            .finish()
    }
}

impl LocalDynamo {
    /// Starts a fresh embedded engine, unless the environment names an endpoint.
    pub async fn start() -> Result<LocalDynamo, StartError> {
        match external_endpoint() {
            Some(endpoint) => Ok(LocalDynamo::external(endpoint).await),
            None => LocalDynamo::embedded(),
        }
    }

    /// Starts a fresh embedded engine, whatever the environment says.
    pub fn embedded() -> Result<LocalDynamo, StartError> {
        let db = dynoxide::Database::memory().map_err(|e| StartError::Engine(e.to_string()))?;
        LocalDynamo::serve(db)
    }

    /// Starts a fresh embedded engine whose clock only moves when told to: for tests of what
    /// takes time (time to live, an index that becomes searchable after a while).
    pub fn embedded_with_clock() -> Result<(LocalDynamo, EngineClock), StartError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let clock = dynoxide::storage_backend::ManualClock::new(now);
        let db = dynoxide::Database::memory_with_clock(clock.arc())
            .map_err(|e| StartError::Engine(e.to_string()))?;
        Ok((LocalDynamo::serve(db)?, EngineClock(clock)))
    }

    fn serve(db: dynoxide::Database) -> Result<LocalDynamo, StartError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(StartError::Io)?;
        listener.set_nonblocking(true).map_err(StartError::Io)?;
        let addr = listener.local_addr().map_err(StartError::Io)?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // The server gets a thread and runtime of its own, so it serves whatever runtime (or none)
        // the test uses, and keeps serving while the test blocks.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StartError::Io)?;
        std::thread::Builder::new()
            .name(format!("dynox-local-dynamodb-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("dynox-testing: embedded server cannot listen: {e}");
                            return;
                        }
                    };
                    let stop = async {
                        let _ = rx.await;
                    };
                    if let Err(e) = dynoxide::server::serve_with_shutdown(listener, db, stop).await
                    {
                        eprintln!("dynox-testing: embedded server stopped: {e}");
                    }
                });
            })
            .map_err(StartError::Io)?;
        let endpoint = format!("http://{addr}");
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "local",
                "local",
                None,
                None,
                "dynox-testing",
            )))
            .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().expect("tokio sleep"))
            .build();
        Ok(LocalDynamo {
            endpoint,
            config,
            embedded: true,
            shutdown: Some(tx),
        })
    }

    /// Uses an external endpoint with aws-config's usual credentials chain (dummy credentials and
    /// `us-east-1` when the environment has none).
    pub async fn external(endpoint: String) -> LocalDynamo {
        let base = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .load()
            .await;
        let mut b = base.to_builder();
        if base.region().is_none() {
            b.set_region(Some(Region::new("us-east-1")));
        }
        let usable = match base.credentials_provider() {
            Some(p) => p.provide_credentials().await.is_ok(),
            None => false,
        };
        if !usable {
            b.set_credentials_provider(Some(SharedCredentialsProvider::new(Credentials::new(
                "local",
                "local",
                None,
                None,
                "dynox-testing",
            ))));
        }
        LocalDynamo {
            endpoint,
            config: b.build(),
            embedded: false,
            shutdown: None,
        }
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether this is the embedded engine (rather than an endpoint from the environment).
    pub fn is_embedded(&self) -> bool {
        self.embedded
    }

    /// An AWS configuration pointed at the endpoint.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// A dynox client pointed at the endpoint.
    pub fn client(&self) -> dynox::Client {
        dynox::Client::new(&self.config)
    }

    /// Creates the model's table (on demand) and waits until it is active.
    pub async fn create_table<M: Model>(&self, client: &dynox::Client) -> dynox::Result<()> {
        client.create_table::<M>().send().await?;
        client.wait_until_active::<M>(Duration::from_secs(60)).await
    }
}

/// The clock of an embedded engine started with [`LocalDynamo::embedded_with_clock`].
#[derive(Debug, Clone)]
pub struct EngineClock(dynoxide::storage_backend::ManualClock);

impl EngineClock {
    /// Moves the engine's time forward.
    pub fn advance(&self, by: Duration) {
        self.0.tick(by);
    }
}

impl Drop for LocalDynamo {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The endpoint named by the environment, if any.
pub fn external_endpoint() -> Option<String> {
    ENDPOINT_VARIABLES
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
}
